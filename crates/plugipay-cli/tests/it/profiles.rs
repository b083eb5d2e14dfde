//! `config` and profiles: precedence, file modes, a failed change that loses nothing.

use std::process::Output;

use crate::common::{sandbox, stderr};
use plugipay_sandbox::{TEST_ACCOUNT_ID, TEST_KEY_ID, TEST_SECRET};
use serde_json::Value;

/// Runs `plugipay` with its profiles in `dir`, no credentials in its
/// environment but `env`, and `stdin` on its standard input.
async fn with_profiles(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    use tokio::io::AsyncWriteExt as _;
    let mut command = crate::common::plugipay_bare();
    command
        .args(args)
        .env("PLUGIPAY_CONFIG_DIR", dir)
        .env_remove("PLUGIPAY_KEY_ID")
        .env_remove("PLUGIPAY_SECRET")
        .env_remove("PLUGIPAY_API_KEY")
        .env_remove("PLUGIPAY_BASE_URL")
        .env_remove("PLUGIPAY_ON_BEHALF_OF")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command refused before it reads its input may have exited already:
    // the pipe is then closed, which says nothing about the command.
    match input.write_all(stdin.as_bytes()).await {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
        _ => {}
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Profiles as Plugipay's CLI keeps them: `config.json` and
/// `config-NAME.json`, written 0600 in a 0700 directory; precedence flag >
/// variable > file > default; `config show` never prints a secret.
#[tokio::test(flavor = "multi_thread")]
async fn profiles_and_their_precedence() {
    let sb = sandbox(0).await;
    let dir = crate::common::config_dir().join("nested");
    let base: &'static str = sb.base_url().to_owned().leak();
    let run = |args: &[&str], env: Vec<(&'static str, String)>, stdin: &'static str| {
        let dir = dir.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            with_profiles(&dir, &args, &env, stdin).await
        }
    };
    let ok = |out: &Output| {
        assert!(out.status.success(), "{}", stderr(out));
        String::from_utf8(out.stdout.clone()).unwrap()
    };

    // Paths: the default profile, a named one by flag or by variable.
    let path = ok(&run(&["config", "path"], vec![], "").await);
    assert_eq!(path.trim(), dir.join("config.json").to_str().unwrap());
    let named = ok(&run(&["--profile", "staging", "config", "path"], vec![], "").await);
    assert_eq!(
        named.trim(),
        dir.join("config-staging.json").to_str().unwrap()
    );
    let by_env = ok(&run(
        &["config", "path"],
        vec![("PLUGIPAY_PROFILE", "staging".into())],
        "",
    )
    .await);
    assert_eq!(by_env, named);
    let bad = run(&["--profile", "../x", "config", "path"], vec![], "").await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));

    // Nothing anywhere: exit 3, naming the profile as a way out.
    let none = run(&["customers", "list"], vec![], "").await;
    assert_eq!(none.status.code(), Some(3), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("plugipay config set"),
        "{}",
        stderr(&none)
    );

    // The default profile: the secret from stdin, never on the command line.
    ok(&run(&["config", "set", "keyId", TEST_KEY_ID], vec![], "").await);
    ok(&run(&["config", "set", "secret", "-"], vec![], "sk_test_wrong\n").await);
    ok(&run(&["config", "set", "base-url", base], vec![], "").await);
    let file = dir.join("config.json");
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["keyId"], TEST_KEY_ID);
    assert_eq!(saved["baseUrl"], sb.base_url());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "config.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The file's secret is wrong: the variable's wins over it, a flag's
    // over the variable's.
    let out = run(&["customers", "list"], vec![], "").await;
    assert!(
        stderr(&out).contains("signature_invalid"),
        "{}",
        stderr(&out)
    );
    ok(&run(
        &["customers", "list"],
        vec![("PLUGIPAY_SECRET", TEST_SECRET.into())],
        "",
    )
    .await);
    let out = run(
        &["customers", "list"],
        vec![("PLUGIPAY_SECRET", "sk_test_also_wrong".into())],
        "",
    )
    .await;
    assert!(
        stderr(&out).contains("signature_invalid"),
        "{}",
        stderr(&out)
    );
    ok(&run(
        &["--secret", TEST_SECRET, "customers", "list"],
        vec![("PLUGIPAY_SECRET", "sk_test_also_wrong".into())],
        "",
    )
    .await);
    // --secret-stdin: one line of standard input.
    ok(&run(
        &["--secret-stdin", "customers", "list"],
        vec![],
        "sk_test_sandbox\n",
    )
    .await);
    let both = run(
        &["--secret-stdin", "customers", "import", "-"],
        vec![],
        "x\n",
    )
    .await;
    // Two readers of one stdin: a bad invocation.
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    // A setting's value it cannot take: a bad invocation (and the next
    // commands still read the profile as it was).
    for (key, value) in [("maxRetries", "many"), ("timeout", "soon"), ("keyId", " ")] {
        let out = run(&["config", "set", key, value], vec![], "").await;
        assert_eq!(out.status.code(), Some(2), "{key}: {}", stderr(&out));
    }
    ok(&run(&["config", "set", "secret", TEST_SECRET], vec![], "").await);
    ok(&run(&["customers", "list"], vec![], "").await);
    // The base URL likewise: a variable over the file, a flag over both.
    let dead = "http://127.0.0.1:9";
    let out = run(
        &["customers", "list", "--max-retries", "0"],
        vec![("PLUGIPAY_BASE_URL", dead.into())],
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    ok(&run(
        &["--base-url", base, "customers", "list"],
        vec![("PLUGIPAY_BASE_URL", dead.into())],
        "",
    )
    .await);

    // show: each setting, where it comes from; no secret.
    let shown = ok(&run(
        &["--base-url", base, "config", "show"],
        vec![("PLUGIPAY_ON_BEHALF_OF", TEST_ACCOUNT_ID.into())],
        "",
    )
    .await);
    assert!(!shown.contains(TEST_SECRET), "{shown}");
    let line = |key: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("{key}: {shown}"))
            .to_owned()
    };
    assert!(
        line("keyId").contains(TEST_KEY_ID) && line("keyId").ends_with("file"),
        "{shown}"
    );
    assert!(line("secret").contains("(redacted)"), "{shown}");
    assert!(line("baseUrl").ends_with("--base-url"), "{shown}");
    assert!(
        line("onBehalfOf").ends_with("PLUGIPAY_ON_BEHALF_OF"),
        "{shown}"
    );
    assert!(line("maxRetries").ends_with("default"), "{shown}");

    // A named profile with an API key; the default profile is untouched.
    ok(&run(
        &["--profile", "bearer", "config", "set", "apiKey", "-"],
        vec![],
        "pk_test_sandbox\n",
    )
    .await);
    ok(&run(
        &["config", "set", "baseUrl", base],
        vec![("PLUGIPAY_PROFILE", "bearer".into())],
        "",
    )
    .await);
    ok(&run(
        &["customers", "list"],
        vec![("PLUGIPAY_PROFILE", "bearer".into())],
        "",
    )
    .await);
    let bearer: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config-bearer.json")).unwrap())
            .unwrap();
    assert_eq!(bearer["apiKey"], "pk_test_sandbox");
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("config-bearer.json")), 0o600);
    let shown = ok(&run(&["--profile", "bearer", "config", "show"], vec![], "").await);
    assert!(
        shown.contains("pk_test_(redacted)") && !shown.contains("pk_test_sandbox"),
        "{shown}"
    );
    // Credentials of the other kind from the environment are not mixed
    // with the file's.
    ok(&run(
        &["--profile", "bearer", "customers", "list"],
        vec![
            ("PLUGIPAY_KEY_ID", TEST_KEY_ID.into()),
            ("PLUGIPAY_SECRET", TEST_SECRET.into()),
        ],
        "",
    )
    .await);
    // A profile that does not exist is an error, not the default.
    let out = run(&["--profile", "nope", "customers", "list"], vec![], "").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no profile \"nope\""),
        "{}",
        stderr(&out)
    );

    // unset; a file others can read is warned about.
    ok(&run(&["config", "unset", "secret"], vec![], "").await);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(saved.get("secret").is_none() && saved["keyId"] == TEST_KEY_ID);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(&["config", "show"], vec![], "").await;
        assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
        ok(&run(&["config", "set", "maxRetries", "1"], vec![], "").await);
        assert_eq!(mode(&file), 0o600, "a rewrite makes it private again");
    }
}

/// A settings file that cannot be read or written is an error saying so,
/// and destroys nothing: the directory and its files are as they were,
/// with no temporary file left behind. (File modes are no obstacle to
/// root, so the failures come from what the paths are.)
#[tokio::test(flavor = "multi_thread")]
async fn a_config_change_that_fails_loses_nothing() {
    // The profile's file is a directory (with a file in it).
    let dir = crate::common::config_dir().join("blocked");
    std::fs::create_dir_all(dir.join("config.json")).unwrap();
    std::fs::write(dir.join("config.json").join("keep"), "mine").unwrap();
    std::fs::write(
        dir.join("config-other.json"),
        "{\"keyId\": \"ak_test_other\"}\n",
    )
    .unwrap();
    let before = listing(&dir);
    let out = with_profiles(&dir, &["config", "set", "keyId", "ak_test_x"], &[], "").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("config.json"), "{}", stderr(&out));
    assert_eq!(listing(&dir), before, "nothing added, removed or changed");

    // The settings directory's parent is a file.
    let base = crate::common::config_dir();
    std::fs::create_dir_all(&base).unwrap();
    let file = base.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let out = with_profiles(
        &file.join("sub"),
        &["config", "set", "keyId", "ak_test_x"],
        &[],
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("a-file"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

/// Every path under `dir` with its contents (files) or `/` (directories).
fn listing(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                all.push((name, "/".to_owned()));
                todo.push(path);
            } else {
                all.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    all.sort();
    all
}
