//! The Rust API users compile against, as insta snapshots beside the spec
//! surface: every public item of `plugipay-api` (the generated client
//! included) and of `plugipay`, from the source. A generator upgrade or
//! setting that renames a generated type, or a hand edit that changes a
//! signature, shows in `cargo insta review` as a diff; the test's output
//! says whether the change breaks code written against the last snapshot.

use xtask::public_api::{Semver, listing, listing_of, semver};

/// Snapshots `crate_dir`'s listing as `name`, first saying what the change
/// from the committed snapshot means for semver.
fn check(crate_dir: &str, name: &str) {
    let root = xtask::workspace_root();
    let listing = listing(&root.join(crate_dir).join("src")).unwrap_or_else(|e| panic!("{e}"));
    let committed = std::fs::read_to_string(
        root.join("tests/snapshots")
            .join(format!("public_api__{name}.snap")),
    )
    .unwrap_or_default();
    // The snapshot file starts with insta's header, ended by `---`.
    let committed = committed.splitn(3, "---\n").nth(2).unwrap_or_default();
    match semver(committed, &listing) {
        Semver::Same => {}
        Semver::Additive => eprintln!("{name}: public API grew (additive: a minor release)"),
        Semver::Breaking(gone) => eprintln!(
            "{name}: public API BREAKS semver: these lines went away or changed:\n  {}",
            gone.join("\n  ")
        ),
    }
    // Named as when this was a test binary of its own (`public_api__…`).
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("public_api__{name}"), listing);
    });
}

#[test]
fn plugipay_api() {
    check("crates/plugipay-api", "plugipay_api");
}

#[test]
fn plugipay() {
    check("crates/plugipay", "plugipay");
}

/// A generated name that changes (here a schema renamed in a copy of the
/// spec, as a generator upgrade or setting could) changes the Rust API, and
/// the listing says it breaks code written against the old one.
#[test]
fn a_renamed_generated_type_shows_as_a_breaking_change() {
    let root = xtask::workspace_root();
    let spec = std::fs::read_to_string(root.join(xtask::SPEC_PATH)).unwrap();
    let committed = std::fs::read_to_string(root.join(xtask::OUTPUT_PATH)).unwrap();
    let renamed = spec.replace("CustomerEnvelope", "CustomerAnswer");
    let regenerated = xtask::generate(&renamed, "renamed.yaml").unwrap();
    let before = listing_of(&committed).unwrap();
    let after = listing_of(&regenerated).unwrap();
    let Semver::Breaking(gone) = semver(&before, &after) else {
        panic!("a renamed type must break semver")
    };
    assert!(
        gone.iter()
            .any(|line| line.contains("struct CustomerEnvelope")),
        "{gone:?}"
    );
    assert!(after.contains("struct CustomerAnswer"));
    // The same spec gives the same listing.
    let same = xtask::generate(&spec, "same.yaml").unwrap();
    assert_eq!(semver(&before, &listing_of(&same).unwrap()), Semver::Same);
}
