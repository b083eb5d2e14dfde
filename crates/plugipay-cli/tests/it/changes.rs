//! `plugipay customers changes`: the book's changes since a checkpoint as
//! JSON lines, each with the checkpoint to resume from; a checkpoint the
//! events log has dropped fails instead of skipping changes.

use crate::common::{plugipay, sandbox_speaking, stderr, stdout_json, unpaced};
use plugipay_sandbox::{Dialect, Sandbox};

#[tokio::test(flavor = "multi_thread")]
async fn changes_since_a_checkpoint_come_once() {
    for dialect in Dialect::ALL {
        let sandbox = sandbox_speaking(3, dialect).await;
        let out = plugipay(&sandbox, &["customers", "changes", "--since", "latest"]).await;
        assert!(stdout_json(&out).is_empty(), "{dialect}");
        let note = stderr(&out);
        let since = note
            .split("--since '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{dialect}: no checkpoint in {note}"))
            .to_owned();

        let created = plugipay(&sandbox, &["customers", "create", "--name", "Ada"]).await;
        let id = stdout_json(&created)[0]["id"].as_str().unwrap().to_owned();
        let deleted = plugipay(&sandbox, &["customers", "delete", &id]).await;
        assert!(deleted.status.success(), "{}", stderr(&deleted));

        let out = plugipay(&sandbox, &["customers", "changes", "--since", &since]).await;
        let lines = stdout_json(&out);
        assert_eq!(lines.len(), 2, "{dialect}: {lines:?}");
        assert_eq!(lines[0]["change"], "upsert");
        assert_eq!(lines[0]["customer"]["id"], id.as_str());
        assert_eq!(lines[0]["customer"]["name"], "Ada");
        assert_eq!(lines[1]["change"], "deleted");
        assert_eq!(lines[1]["id"], id.as_str());
        let last = lines[1]["checkpoint"].as_str().unwrap();
        assert!(
            stderr(&out).contains(&format!("--since '{last}'")),
            "{}",
            stderr(&out)
        );

        let rest = plugipay(&sandbox, &["customers", "changes", "--since", last]).await;
        assert!(stdout_json(&rest).is_empty(), "{dialect}");
        let resumed = lines[0]["checkpoint"].as_str().unwrap();
        let one = plugipay(&sandbox, &["customers", "changes", "--since", resumed]).await;
        assert_eq!(stdout_json(&one), lines[1..], "{dialect}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_checkpoint_fails_and_a_bad_one_is_refused() {
    let sandbox = Sandbox::start(unpaced().keep_events(2)).await.unwrap();
    let create = |name: &'static str| {
        let sandbox = &sandbox;
        async move {
            let out = plugipay(sandbox, &["customers", "create", "--name", name]).await;
            assert!(out.status.success(), "{}", stderr(&out));
        }
    };
    create("first").await;
    let out = plugipay(&sandbox, &["customers", "changes", "--since", "start"]).await;
    let since = stdout_json(&out)[0]["checkpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    for name in ["second", "third", "fourth"] {
        create(name).await;
    }
    let out = plugipay(&sandbox, &["customers", "changes", "--since", &since]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no longer holds"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    let out = plugipay(&sandbox, &["customers", "changes", "--since", "yesterday"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("RFC3339~EVENT_ID"),
        "{}",
        stderr(&out)
    );
}
