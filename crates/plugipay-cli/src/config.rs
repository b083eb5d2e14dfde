//! Profiles, as Plugipay's own CLI keeps them: `~/.plugipay/config.json`
//! (the default profile) and `~/.plugipay/config-NAME.json` (a named one,
//! chosen with `--profile NAME` or `PLUGIPAY_PROFILE`), each a JSON object
//! of the connection settings, readable by its owner only.
//!
//! Precedence: a flag, then its environment variable, then the profile's
//! file, then the default. The file fills in only what the flags and the
//! environment leave out, and never mixes credential kinds: its key id and
//! secret are not used when a flag or variable gives an API key, nor its
//! API key when one gives a key id or a secret.
//!
//! The file may also be the one Plugipay's own CLI writes: `token` (a
//! `<keyId>:<secret>` pair or a Bearer key, read as `apiKey`), `api_url`
//! (read as `baseUrl`), `default_account` and `default_mode`. Where a file
//! holds both spellings of one setting, ours (`apiKey`, `baseUrl`) wins.
//! `default_mode` (or `PLUGIPAY_MODE`) must agree with the mode the key's
//! prefix names (exit 2 when not). `default_account` (or
//! `PLUGIPAY_ACCOUNT_ID`) is shown but not sent: the customers API acts on
//! the key's own workspace, and a platform key acts for another with
//! `onBehalfOf` (sent as `X-Plugipay-On-Behalf-Of`, which other keys are
//! refused).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use plugipay::{ClientBuilder, Mode};
use serde_json::{Map, Value};

use crate::cli::{ConfigCommand, Connection};
use crate::failure::Failure;
use crate::settings::{DIR_ENV, MODE_ENV, PROFILE_ENV, Setting};

/// Where one setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Flag(Setting),
    Variable(&'static str),
    File,
    Default,
}

/// The profile in use and its file.
#[derive(Debug)]
pub struct Profile {
    /// `None` for the default profile.
    name: Option<String>,
    /// Its file (which may not exist yet).
    path: PathBuf,
}

impl Profile {
    /// The profile `--profile` (or else `PLUGIPAY_PROFILE`) names, or the
    /// default one.
    pub fn chosen(flag: Option<&str>) -> Result<Profile, Failure> {
        let name = match flag {
            Some(name) => Some(name.to_owned()),
            None => match std::env::var(PROFILE_ENV) {
                Ok(name) if name.trim().is_empty() => {
                    return Err(Failure::Other(format!(
                        "{PROFILE_ENV} is set but empty: give it a value or unset it"
                    )));
                }
                Ok(name) => Some(name),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Failure::Other(format!(
                        "{PROFILE_ENV} is not valid UTF-8: give it a text value or unset it"
                    )));
                }
            },
        };
        // "default" is the default profile's own name.
        let name = name.filter(|name| name != "default");
        if let Some(name) = &name {
            check_name(name)?;
        }
        let file = match &name {
            Some(name) => format!("config-{name}.json"),
            None => "config.json".to_owned(),
        };
        Ok(Profile {
            path: directory()?.join(file),
            name,
        })
    }

    fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("default")
    }

    /// The file's JSON object; `None` when there is no file.
    fn read(&self) -> Result<Option<Map<String, Value>>, Failure> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Failure::Other(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )));
            }
        };
        warn_if_others_can_read(&self.path);
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(_) => Err(Failure::Other(format!(
                "{} is not a JSON object (see `plugipay config --help`)",
                self.path.display()
            ))),
            Err(e) => Err(Failure::Other(format!(
                "{} is not valid JSON: {e}",
                self.path.display()
            ))),
        }
    }

    /// The settings the file holds (none when there is no file, unless the
    /// profile was named: a named profile must exist).
    pub fn settings(&self) -> Result<Settings, Failure> {
        match self.read()? {
            Some(map) => Settings::from_map(&map, &self.path),
            None if self.name.is_some() => Err(Failure::Other(format!(
                "no profile {:?}: {} does not exist (create it with `plugipay --profile {} config set KEY VALUE`)",
                self.label(),
                self.path.display(),
                self.label()
            ))),
            None => Ok(Settings::default()),
        }
    }

    /// Writes `map` as the file: to a new file readable by its owner only
    /// (0600, in a 0700 directory), synced, then renamed over the old one,
    /// so a failed write leaves the old file whole.
    fn write(&self, map: &Map<String, Value>) -> Result<(), Failure> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| Failure::Other(format!("cannot create {}: {e}", dir.display())))?;
        let (temp, mut file) = crate::files::TempFile::beside(&self.path)?;
        let mut text = serde_json::to_string_pretty(map).expect("a JSON map serialises");
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Failure::Other(format!("cannot write {}: {e}", self.path.display())))?;
        drop(file);
        temp.rename_to(&self.path)
            .map_err(|e| Failure::Other(format!("cannot write {}: {e}", self.path.display())))?;
        crate::files::sync_dir(dir);
        Ok(())
    }
}

/// A profile name is part of a file name: letters, digits, `-`, `_`.
fn check_name(name: &str) -> Result<(), Failure> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Failure::Other(format!(
            "{:?} is not a profile name: use letters, digits, - and _ (at most 64)",
            crate::terminal::terminal_safe(name)
        )))
    }
}

/// `PLUGIPAY_CONFIG_DIR`, or `~/.plugipay`.
fn directory() -> Result<PathBuf, Failure> {
    match std::env::var_os(DIR_ENV) {
        Some(dir) if dir.is_empty() => Err(Failure::Other(format!(
            "{DIR_ENV} is set but empty: give it a directory or unset it"
        ))),
        Some(dir) => Ok(PathBuf::from(dir)),
        None => std::env::home_dir()
            .filter(|home| !home.as_os_str().is_empty())
            .map(|home| home.join(".plugipay"))
            .ok_or_else(|| {
                Failure::Other(format!(
                    "no home directory to keep profiles in: set {DIR_ENV} to a directory"
                ))
            }),
    }
}

/// A file of credentials others can read is said so, as ssh does.
#[cfg(unix)]
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            report!(
                "warning: {} can be read by others (mode {mode:03o}): run chmod 600 on it",
                crate::terminal::terminal_safe(&path.display().to_string())
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_others_can_read(_path: &Path) {}

/// What a profile's file holds. Its `Debug` never shows the secret or the
/// API key.
#[derive(Default)]
pub struct Settings {
    key_id: Option<String>,
    secret: Option<String>,
    api_key: Option<String>,
    base_url: Option<String>,
    on_behalf_of: Option<String>,
    max_retries: Option<u32>,
    timeout: Option<Duration>,
    deadline: Option<Duration>,
    mode: Option<Mode>,
    account: Option<String>,
    rate_share: Option<plugipay::RateShare>,
}

/// Why a share was refused, without the error's framing.
fn share_reason(error: plugipay::Error) -> String {
    match error {
        plugipay::Error::InvalidArgument { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// The value of `key` in a profile's file: under its name, or else under
/// the name Plugipay's own CLI gives it.
fn file_value(map: &Map<String, Value>, key: Setting) -> Option<&Value> {
    map.get(key.name())
        .filter(|v| !v.is_null())
        .or_else(|| map.get(key.official_name()?))
}

impl Settings {
    /// Reads the known keys (others are kept in the file but not used);
    /// a known key of the wrong type, or empty, is an error naming it.
    fn from_map(map: &Map<String, Value>, path: &Path) -> Result<Settings, Failure> {
        let bad = |key: Setting, what: &str| {
            Failure::Other(format!(
                "{}: {} {what} (see `plugipay config --help`)",
                path.display(),
                key.name()
            ))
        };
        let text = |key: Setting| -> Result<Option<String>, Failure> {
            match file_value(map, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Err(bad(key, "is empty")),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(key, "is not a string")),
            }
        };
        let number = |key: Setting| -> Result<Option<f64>, Failure> {
            match file_value(map, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(_) => Err(bad(key, "is not a number")),
            }
        };
        let seconds = |key: Setting| -> Result<Option<Duration>, Failure> {
            number(key)?
                .map(|secs| {
                    crate::settings::seconds(&secs.to_string())
                        .map_err(|e| bad(key, &format!(": {e}")))
                })
                .transpose()
        };
        let max_retries = number(Setting::MaxRetries)?
            .map(|n| {
                if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
                    Ok(n as u32)
                } else {
                    Err(bad(Setting::MaxRetries, "is not a whole number of retries"))
                }
            })
            .transpose()?;
        let mut settings = Settings {
            key_id: text(Setting::KeyId)?,
            secret: text(Setting::Secret)?,
            api_key: text(Setting::ApiKey)?,
            base_url: text(Setting::BaseUrl)?,
            on_behalf_of: text(Setting::OnBehalfOf)?,
            max_retries,
            timeout: seconds(Setting::Timeout)?,
            deadline: seconds(Setting::Deadline)?,
            mode: text(Setting::DefaultMode)?
                .map(|mode| mode.parse::<Mode>())
                .transpose()
                .map_err(|e| bad(Setting::DefaultMode, &format!(": {e}")))?,
            account: text(Setting::DefaultAccount)?,
            rate_share: match file_value(map, Setting::RateShare) {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(
                    plugipay::RateShare::fraction(n.as_f64().unwrap_or(f64::NAN))
                        .map_err(|e| bad(Setting::RateShare, &format!(": {}", share_reason(e))))?,
                ),
                Some(Value::String(s)) => Some(
                    s.parse::<plugipay::RateShare>()
                        .map_err(|e| bad(Setting::RateShare, &format!(": {}", share_reason(e))))?,
                ),
                Some(_) => {
                    return Err(bad(
                        Setting::RateShare,
                        "is not a share (0.8, \"80%\", \"15/s\")",
                    ));
                }
            },
        };
        // Plugipay's own CLI keeps an HMAC pair as `apiKey: "<keyId>:<secret>"`.
        if let Some((key_id, secret)) = settings
            .api_key
            .as_deref()
            .and_then(plugipay::env::key_pair)
            && settings.key_id.is_none()
            && settings.secret.is_none()
        {
            settings.key_id = Some(key_id.to_owned());
            settings.secret = Some(secret.to_owned());
            settings.api_key = None;
        }
        Ok(settings)
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::settings::redacted;
        f.debug_struct("Settings")
            .field("key_id", &self.key_id)
            .field("secret", &redacted(&self.secret))
            .field("api_key", &redacted(&self.api_key))
            .field("base_url", &self.base_url)
            .field("on_behalf_of", &self.on_behalf_of)
            .field("max_retries", &self.max_retries)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("mode", &self.mode)
            .field("account", &self.account)
            .field("rate_share", &self.rate_share)
            .finish()
    }
}

/// The connection settings the flags give, with the secret read once
/// (from `--secret` or `--secret-stdin`).
pub struct Given<'a> {
    connection: &'a Connection,
    secret: Option<String>,
}

impl<'a> Given<'a> {
    /// Reads `--secret-stdin`'s line if asked to.
    pub fn read(connection: &'a Connection) -> Result<Given<'a>, Failure> {
        let secret = if connection.secret_stdin {
            Some(read_line_from_stdin("--secret-stdin")?)
        } else {
            connection.secret.clone()
        };
        Ok(Given { connection, secret })
    }

    /// Where `key`'s value comes from when the file is not needed.
    fn over_file(&self, key: Setting) -> Option<Source> {
        let c = self.connection;
        let flag = match key {
            Setting::KeyId => c.key_id.is_some(),
            Setting::Secret => self.secret.is_some(),
            Setting::ApiKey => c.api_key.is_some(),
            Setting::BaseUrl => c.base_url.is_some(),
            Setting::OnBehalfOf => c.on_behalf_of.is_some(),
            Setting::MaxRetries => c.max_retries.is_some(),
            Setting::Timeout => c.timeout.is_some(),
            Setting::Deadline => c.deadline.is_some(),
            Setting::RateShare => c.rate_share.is_some(),
            Setting::DefaultMode | Setting::DefaultAccount => false,
        };
        if flag {
            return Some(Source::Flag(key));
        }
        key.variable()
            .filter(|name| std::env::var_os(name).is_some())
            .map(Source::Variable)
    }

    /// Whether the file's `key` is used: nothing above gives it, and it is
    /// not a credential of the other kind than one given above.
    fn file_fills(&self, key: Setting) -> bool {
        let above = |k: Setting| self.over_file(k).is_some();
        match key {
            Setting::KeyId | Setting::Secret => !above(key) && !above(Setting::ApiKey),
            Setting::ApiKey => {
                !above(Setting::ApiKey) && !above(Setting::KeyId) && !above(Setting::Secret)
            }
            _ => !above(key),
        }
    }
}

/// Reads one line from standard input (without its line ending); an empty
/// one is refused.
fn read_line_from_stdin(what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Other(format!("{what}: cannot read standard input: {e}")))?;
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        return Err(Failure::Other(format!(
            "{what}: standard input gave no value (one line expected)"
        )));
    }
    Ok(line.to_owned())
}

/// What the settings resolve to.
pub struct Resolved {
    /// The client's builder.
    pub builder: ClientBuilder,
    /// Whether any credential was given anywhere.
    pub credentials_given: bool,
    /// The mode the key must be of, and where that was said
    /// (`PLUGIPAY_MODE`, or the file's `default_mode`).
    pub mode: Option<(Mode, &'static str)>,
}

/// Refuses a client whose key's prefix names another mode than the one
/// the settings ask for, `wanted` (a bad invocation: exit 2).
pub fn check_mode(
    wanted: Option<(Mode, &'static str)>,
    client: &plugipay::Client,
) -> Result<(), Failure> {
    {
        match (wanted, client.mode()) {
            (Some((wanted, from)), Some(key)) if wanted != key => Err(Failure::Usage(format!(
                "{from} is {wanted}, but the key is a {key} key (its prefix decides the mode): \
                 use a {wanted} key or change {from}"
            ))),
            _ => Ok(()),
        }
    }
}

/// The mode `PLUGIPAY_MODE` asks for, if set (refused when it names none).
fn mode_from_env() -> Result<Option<Mode>, Failure> {
    match std::env::var(MODE_ENV) {
        Ok(mode) => mode
            .parse::<Mode>()
            .map(Some)
            .map_err(|e| Failure::Usage(format!("{MODE_ENV}: {e}"))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Usage(format!(
            "{MODE_ENV} is not valid UTF-8: test or live"
        ))),
    }
}

/// The client's builder: the environment's settings, each flag overriding
/// its variable, and the profile's file filling in what is left; whether
/// any credential was given anywhere, and the mode asked for.
pub fn builder(given: &Given<'_>) -> Result<Resolved, Failure> {
    let c = given.connection;
    let mut builder = ClientBuilder::from_env()?;
    let file = Profile::chosen(c.profile.as_deref())?.settings()?;
    let from_file = |key: Setting| given.file_fills(key);
    let pick = |flag: &Option<String>, key: Setting, file: &Option<String>| {
        flag.clone()
            .or_else(|| from_file(key).then(|| file.clone()).flatten())
    };
    if let Some(v) = pick(&c.key_id, Setting::KeyId, &file.key_id) {
        builder = builder.key_id(v);
    }
    if let Some(v) = pick(&given.secret, Setting::Secret, &file.secret) {
        builder = builder.secret(v);
    }
    if let Some(v) = pick(&c.api_key, Setting::ApiKey, &file.api_key) {
        builder = builder.api_key(v);
    }
    if let Some(v) = pick(&c.base_url, Setting::BaseUrl, &file.base_url) {
        builder = builder.base_url(v);
    }
    if let Some(v) = pick(&c.on_behalf_of, Setting::OnBehalfOf, &file.on_behalf_of) {
        builder = builder.on_behalf_of(v);
    }
    if let Some(retries) = c.max_retries.or(file.max_retries) {
        builder = builder.max_retries(retries);
    }
    if let Some(timeout) = c.timeout.or(file.timeout) {
        builder = builder.timeout(timeout);
    }
    if let Some(deadline) = c.deadline.or(file.deadline) {
        builder = builder.deadline(deadline);
    }
    if let Some(share) = c.rate_share.or(file.rate_share) {
        builder = builder.bulk_share(share);
    }
    let given_anywhere = [Setting::KeyId, Setting::Secret, Setting::ApiKey]
        .into_iter()
        .any(|key| given.over_file(key).is_some())
        || (file.key_id.is_some() && from_file(Setting::KeyId))
        || (file.secret.is_some() && from_file(Setting::Secret))
        || (file.api_key.is_some() && from_file(Setting::ApiKey));
    let mode = match mode_from_env()? {
        Some(mode) => Some((mode, MODE_ENV)),
        None => file.mode.map(|mode| (mode, "the profile's default_mode")),
    };
    Ok(Resolved {
        builder,
        credentials_given: given_anywhere,
        mode,
    })
}

/// Runs `plugipay config …`.
pub fn config(connection: &Connection, command: ConfigCommand) -> Result<(), Failure> {
    let profile = Profile::chosen(connection.profile.as_deref())?;
    match command {
        ConfigCommand::Path => print_line(&profile.path.display().to_string()),
        ConfigCommand::Show => show(connection, &profile),
        ConfigCommand::Set { key, value } => {
            let value = if value == "-" {
                read_line_from_stdin("config set")?
            } else {
                value
            };
            let value = check_value(key, &value)?;
            let mut map = profile.read()?.unwrap_or_default();
            // One kind of credential in a file.
            let others: &[Setting] = match key {
                Setting::ApiKey => &[Setting::KeyId, Setting::Secret],
                Setting::KeyId | Setting::Secret => &[Setting::ApiKey],
                _ => &[],
            };
            for other in others {
                if map.remove(other.name()).is_some() {
                    note!(
                        "removed {} (one kind of credential in a profile)",
                        other.name()
                    );
                }
            }
            map.insert(key.name().to_owned(), value);
            profile.write(&map)?;
            note!(
                "set {} in profile {} ({})",
                key.name(),
                profile.label(),
                crate::terminal::terminal_safe(&profile.path.display().to_string())
            );
            Ok(())
        }
        ConfigCommand::Unset { key } => {
            let Some(mut map) = profile.read()? else {
                return Ok(());
            };
            if map.remove(key.name()).is_some() {
                profile.write(&map)?;
                note!("removed {} from profile {}", key.name(), profile.label());
            }
            Ok(())
        }
    }
}

/// A value for `config set`, as the file holds it.
fn check_value(key: Setting, value: &str) -> Result<Value, Failure> {
    if value.trim().is_empty() {
        return Err(Failure::Usage(format!(
            "an empty {}: to remove it, use `plugipay config unset {}`",
            key.name(),
            key.name()
        )));
    }
    let bad = |e: String| Failure::Usage(format!("{}: {e}", key.name()));
    match key {
        Setting::MaxRetries => value
            .parse::<u32>()
            .map(Value::from)
            .map_err(|_| bad(format!("{value:?} is not a whole number"))),
        Setting::Timeout | Setting::Deadline => {
            let secs = crate::settings::seconds(value).map_err(bad)?;
            Ok(Value::from(secs.as_secs_f64()))
        }
        Setting::DefaultMode => value
            .parse::<Mode>()
            .map(|mode| Value::from(mode.as_str()))
            .map_err(bad),
        Setting::RateShare => crate::settings::rate_share(value)
            .map(|share| Value::from(share.to_string()))
            .map_err(bad),
        _ => Ok(Value::from(value)),
    }
}

/// Prints one line on stdout.
fn print_line(line: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    crate::terminal::text_line(&mut out, line)?;
    crate::terminal::flush(&mut out)
}

/// `config show`: each setting as it would be used, where it comes from,
/// secrets redacted.
fn show(connection: &Connection, profile: &Profile) -> Result<(), Failure> {
    // Show reads no stdin: what --secret-stdin would give is only "a flag".
    let given = Given {
        connection,
        secret: connection
            .secret
            .clone()
            .or_else(|| connection.secret_stdin.then(String::new)),
    };
    let file = profile.read()?;
    if let Some(map) = &file {
        Settings::from_map(map, &profile.path)?;
    }
    let exists = if file.is_some() {
        ""
    } else {
        ", not created yet"
    };
    let mut lines = vec![format!(
        "profile     {} ({}{exists})",
        profile.label(),
        profile.path.display()
    )];
    let file = file.unwrap_or_default();
    for key in Setting::ALL {
        let (value, source) = match given.over_file(key) {
            Some(Source::Flag(key)) => (flag_value(&given, key), Source::Flag(key)),
            Some(Source::Variable(name)) => (std::env::var(name).ok(), Source::Variable(name)),
            _ => match file_value(&file, key) {
                Some(v) if given.file_fills(key) => (
                    Some(match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }),
                    Source::File,
                ),
                _ => (None, Source::Default),
            },
        };
        let shown = match (&value, source) {
            (Some(v), _) if key.is_secret() => redact(key, v),
            (Some(v), _) if key == Setting::BaseUrl => without_userinfo(v),
            (Some(v), _) => v.clone(),
            (None, _) => default_of(key).to_owned(),
        };
        let from = match source {
            Source::Flag(key) => key.flag().unwrap_or_default().to_owned(),
            Source::Variable(name) => name.to_owned(),
            Source::File => "file".to_owned(),
            Source::Default => "default".to_owned(),
        };
        lines.push(format!("{:<11} {:<40} {from}", key.name(), shown));
    }
    for line in lines {
        print_line(&crate::terminal::terminal_safe(&line))?;
    }
    Ok(())
}

/// A flag's value, as text.
fn flag_value(given: &Given<'_>, key: Setting) -> Option<String> {
    let c = given.connection;
    match key {
        Setting::KeyId => c.key_id.clone(),
        Setting::Secret => given.secret.clone(),
        Setting::ApiKey => c.api_key.clone(),
        Setting::BaseUrl => c.base_url.clone(),
        Setting::OnBehalfOf => c.on_behalf_of.clone(),
        Setting::MaxRetries => c.max_retries.map(|n| n.to_string()),
        Setting::Timeout => c.timeout.map(|d| d.as_secs_f64().to_string()),
        Setting::Deadline => c.deadline.map(|d| d.as_secs_f64().to_string()),
        Setting::RateShare => c.rate_share.map(|share| share.to_string()),
        Setting::DefaultMode | Setting::DefaultAccount => None,
    }
}

/// What an unset setting means.
fn default_of(key: Setting) -> &'static str {
    match key {
        Setting::BaseUrl => plugipay::api::DEFAULT_BASE_URL,
        Setting::MaxRetries => "2",
        Setting::Timeout => "30",
        Setting::Deadline => "(none)",
        Setting::RateShare => "80%",
        Setting::DefaultMode => "(the key's)",
        Setting::DefaultAccount => "(the key's workspace; informational)",
        _ => "(not set)",
    }
}

/// A URL shown without the password or token a `user:pass@` part may hold.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://(redacted)@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// A secret shown without itself: only the public part of a key (its
/// `pk_live_` / `pk_test_` prefix, or the key id of a `<keyId>:<secret>`
/// pair).
fn redact(key: Setting, value: &str) -> String {
    const HIDDEN: &str = "(redacted)";
    if key == Setting::ApiKey {
        if let Some((key_id, _)) = plugipay::env::key_pair(value) {
            return format!("{key_id}:{HIDDEN}");
        }
        for prefix in ["pk_live_", "pk_test_"] {
            if value.starts_with(prefix) {
                return format!("{prefix}{HIDDEN}");
            }
        }
    }
    HIDDEN.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_base_url_is_shown_without_its_userinfo() {
        use super::without_userinfo;
        assert_eq!(
            without_userinfo("https://u:tok3n@proxy.example/x@y"),
            "https://(redacted)@proxy.example/x@y"
        );
        assert_eq!(
            without_userinfo("http://127.0.0.1:8080/a"),
            "http://127.0.0.1:8080/a"
        );
        assert_eq!(without_userinfo("not a url"), "not a url");
    }

    use super::*;

    #[test]
    fn redaction_keeps_only_public_parts() {
        assert_eq!(redact(Setting::Secret, "sk_test_abc"), "(redacted)");
        assert_eq!(
            redact(Setting::ApiKey, "pk_live_abcdef"),
            "pk_live_(redacted)"
        );
        assert_eq!(
            redact(Setting::ApiKey, "ak_test_1:sk_test_2"),
            "ak_test_1:(redacted)"
        );
        assert_eq!(redact(Setting::ApiKey, "whatever"), "(redacted)");
    }

    #[test]
    fn profile_names_are_file_name_safe() {
        assert!(check_name("staging-2").is_ok());
        assert!(check_name("../etc").is_err());
        assert!(check_name("").is_err());
    }
}
