//! The connection settings: the flags, variables and profile keys that
//! name them, and how a value given on the command line is read.

use std::time::Duration;

use plugipay::env;

/// The variable naming the profile when `--profile` is not given.
pub const PROFILE_ENV: &str = "PLUGIPAY_PROFILE";
/// The variable naming the directory of the profiles' files, instead of
/// `~/.plugipay` (for tests, or a machine without a home directory).
pub const DIR_ENV: &str = "PLUGIPAY_CONFIG_DIR";
/// The variable of the workspace Plugipay's own CLI defaults to
/// (`default_account`): shown, never sent.
pub const ACCOUNT_ENV: &str = "PLUGIPAY_ACCOUNT_ID";
/// The variable of the mode the key must be of (`default_mode`).
pub const MODE_ENV: &str = "PLUGIPAY_MODE";

/// A setting a profile's file may hold, named in the file as
/// [`Setting::name`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// `keyId`: the HMAC key id.
    KeyId,
    /// `secret`: the HMAC secret.
    Secret,
    /// `apiKey`: a dashboard API key, or the pair as `<keyId>:<secret>`.
    ApiKey,
    /// `baseUrl`: where the API is.
    BaseUrl,
    /// `onBehalfOf`: the workspace a platform key acts for.
    OnBehalfOf,
    /// `maxRetries`: retries of a failed call.
    MaxRetries,
    /// `timeout`: seconds each attempt may take.
    Timeout,
    /// `deadline`: seconds a whole call may take.
    Deadline,
    /// `default_mode`: `test` or `live`, which the key's prefix must name
    /// (Plugipay's own CLI's key).
    DefaultMode,
    /// `default_account`: the workspace Plugipay's own CLI defaults to
    /// (shown, never sent: the key decides the workspace).
    DefaultAccount,
    /// `rateShare`: the share of the rate limits bulk work uses.
    RateShare,
}

impl Setting {
    /// Every key, in the order `config show` lists them.
    pub const ALL: [Setting; 11] = [
        Setting::KeyId,
        Setting::Secret,
        Setting::ApiKey,
        Setting::BaseUrl,
        Setting::OnBehalfOf,
        Setting::MaxRetries,
        Setting::Timeout,
        Setting::Deadline,
        Setting::RateShare,
        Setting::DefaultMode,
        Setting::DefaultAccount,
    ];

    /// The key's name in the file.
    pub fn name(self) -> &'static str {
        match self {
            Setting::KeyId => "keyId",
            Setting::Secret => "secret",
            Setting::ApiKey => "apiKey",
            Setting::BaseUrl => "baseUrl",
            Setting::OnBehalfOf => "onBehalfOf",
            Setting::MaxRetries => "maxRetries",
            Setting::Timeout => "timeout",
            Setting::Deadline => "deadline",
            Setting::DefaultMode => "default_mode",
            Setting::DefaultAccount => "default_account",
            Setting::RateShare => "rateShare",
        }
    }

    /// The key's name in the files Plugipay's own CLI writes, where it
    /// differs (read when the file lacks [`name`](Self::name)).
    pub fn official_name(self) -> Option<&'static str> {
        match self {
            Setting::ApiKey => Some("token"),
            Setting::BaseUrl => Some("api_url"),
            _ => None,
        }
    }

    /// The flag that overrides it, if any.
    pub fn flag(self) -> Option<&'static str> {
        Some(match self {
            Setting::KeyId => "--key-id",
            Setting::Secret => "--secret",
            Setting::ApiKey => "--api-key",
            Setting::BaseUrl => "--base-url",
            Setting::OnBehalfOf => "--on-behalf-of",
            Setting::MaxRetries => "--max-retries",
            Setting::Timeout => "--timeout",
            Setting::Deadline => "--deadline",
            Setting::RateShare => "--rate-share",
            Setting::DefaultMode | Setting::DefaultAccount => return None,
        })
    }

    /// The environment variable that overrides it, if any.
    pub fn variable(self) -> Option<&'static str> {
        match self {
            Setting::KeyId => Some(env::KEY_ID),
            Setting::Secret => Some(env::SECRET),
            Setting::ApiKey => Some(env::API_KEY),
            Setting::BaseUrl => Some(env::BASE_URL),
            Setting::OnBehalfOf => Some(env::ON_BEHALF_OF),
            Setting::DefaultMode => Some(MODE_ENV),
            Setting::DefaultAccount => Some(ACCOUNT_ENV),
            Setting::MaxRetries | Setting::Timeout | Setting::Deadline | Setting::RateShare => None,
        }
    }

    /// Whether its value is never shown.
    pub fn is_secret(self) -> bool {
        matches!(self, Setting::Secret | Setting::ApiKey)
    }
}

/// `config set KEY`: the file's name (`keyId`), or the flag's (`key-id`),
/// in any case.
pub fn parse_key(s: &str) -> Result<Setting, String> {
    let folded: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect();
    let fold = |name: &str| name.replace('_', "").to_lowercase();
    Setting::ALL
        .into_iter()
        .find(|key| {
            fold(key.name()) == folded || key.official_name().map(fold) == Some(folded.clone())
        })
        .ok_or_else(|| {
            let names: Vec<_> = Setting::ALL.iter().map(|k| k.name()).collect();
            format!("{s:?} is not a setting: one of {}", names.join(", "))
        })
}

/// `--rate-share`: `0.8`, `80%` or `15/s`.
pub fn rate_share(s: &str) -> Result<plugipay::RateShare, String> {
    s.parse().map_err(|e: plugipay::Error| match e {
        plugipay::Error::InvalidArgument { reason, .. } => reason,
        other => other.to_string(),
    })
}

/// How a secret flag shows in `Debug`: whether it was given, never its value.
pub fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

/// The longest timeout or deadline accepted: a day.
const MAX_SECONDS: f64 = 86_400.0;

/// A number of seconds above 0 and at most a day.
pub fn seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= MAX_SECONDS => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "{s:?} is not a number of seconds above 0 and at most {MAX_SECONDS}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_either_spelling() {
        assert_eq!(parse_key("keyId"), Ok(Setting::KeyId));
        assert_eq!(parse_key("key-id"), Ok(Setting::KeyId));
        assert_eq!(parse_key("ON_BEHALF_OF"), Ok(Setting::OnBehalfOf));
        assert!(parse_key("password").unwrap_err().contains("baseUrl"));
    }
}
