//! B12, dependency weight: what an app that depends on `plugipay` alone
//! pulls in and how long its first build takes, beside an app that talks to
//! the API with plain reqwest + serde + tokio.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One measured app: the packages it builds and its cold build time.
struct Weight {
    packages: usize,
    seconds: f64,
}

/// The manifest and `main.rs` of the two apps. The SDK app uses the SDK's
/// default features (rustls), the plain one the same TLS stack.
fn apps(root: &Path) -> [(&'static str, String, &'static str); 2] {
    let sdk = root.join("crates/plugipay");
    [
        (
            "an app on `plugipay` (default features) + tokio",
            format!(
                "[package]\nname = \"app-sdk\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
                 [dependencies]\nplugipay = {{ path = {:?} }}\n\
                 tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\n\
                 [workspace]\n",
                sdk.display().to_string()
            ),
            "#[tokio::main]\nasync fn main() {\n    \
             let client = plugipay::Client::from_env();\n    \
             println!(\"{}\", client.is_ok());\n}\n",
        ),
        (
            "the same app on reqwest (json, rustls) + serde + tokio",
            "[package]\nname = \"app-plain\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             [dependencies]\n\
             reqwest = { version = \"0.13\", default-features = false, features = [\"json\", \"rustls\"] }\n\
             serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n\
             tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }\n\
             [workspace]\n"
                .to_owned(),
            "#[derive(serde::Deserialize)]\nstruct Customer {\n    #[allow(dead_code)]\n    id: String,\n}\n\
             #[tokio::main]\nasync fn main() {\n    \
             let answer = reqwest::get(\"http://127.0.0.1:1/\").await;\n    \
             if let Ok(answer) = answer {\n        let _ = answer.json::<Customer>().await;\n    }\n}\n",
        ),
    ]
}

/// Writes both apps under `target/dep-weight`, counts their packages
/// (`cargo tree`, normal and build edges, the app itself excluded) and times
/// one cold debug build of each with a fresh target directory. Returns the
/// section for BENCHMARKS.md.
pub fn measure(root: &Path) -> Result<String, String> {
    let base = root.join("target/dep-weight");
    let mut rows = String::new();
    let mut weights = Vec::new();
    for (index, (label, manifest, main)) in apps(root).into_iter().enumerate() {
        let dir = base.join(format!("app-{index}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("src/main.rs"), main).map_err(|e| e.to_string())?;
        let tree = Command::new(env!("CARGO"))
            .current_dir(&dir)
            .args(["tree", "-e", "normal,build", "--prefix", "none"])
            .output()
            .map_err(|e| format!("cargo tree: {e}"))?;
        if !tree.status.success() {
            return Err(format!(
                "cargo tree failed: {}",
                String::from_utf8_lossy(&tree.stderr)
            ));
        }
        let packages = count_packages(&String::from_utf8_lossy(&tree.stdout));
        let target = dir.join("target");
        let start = Instant::now();
        let built = Command::new(env!("CARGO"))
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--quiet"])
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !built.success() {
            return Err(format!("the build of {} failed", dir.display()));
        }
        let seconds = start.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&target);
        rows.push_str(&format!("| {label} | {packages} | {seconds:.1} |\n"));
        weights.push(Weight { packages, seconds });
    }
    let (sdk, plain) = (&weights[0], &weights[1]);
    Ok(format!(
        "## B12 dependency weight\n\n\
         A new binary crate that calls `plugipay::Client::from_env()` beside one that sends a GET \
         with reqwest and decodes it with serde, both on tokio with rustls. Packages are those \
         `cargo tree -e normal,build` lists, the app excluded; the build is one cold `cargo build` \
         (debug, a fresh target directory, the registry already downloaded).\n\n\
         | app | packages | cold build s |\n|---|---|---|\n{rows}\n\
         **The SDK adds {} packages and {:.0} % to the first build** ({:.2}× its time). \
         Optional features stay off by default: `mock` (httpmock for tests), `schema` \
         (schemars).\n\n",
        sdk.packages as isize - plain.packages as isize,
        (sdk.seconds / plain.seconds - 1.0) * 100.0,
        sdk.seconds / plain.seconds,
    ))
}

/// Distinct packages (name and version) in `cargo tree --prefix none`
/// output, less the root (its first line).
fn count_packages(tree: &str) -> usize {
    let packages: std::collections::BTreeSet<(&str, &str)> = tree
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?, words.next()?))
        })
        .collect();
    packages.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn packages_are_counted_once_without_the_root() {
        let tree = "app v0.1.0 (/tmp/app)\nserde v1.0.1\nserde_derive v1.0.1 (proc-macro)\n\
                    serde v1.0.1 (*)\nitoa v1.0.0\n\n";
        assert_eq!(super::count_packages(tree), 3);
    }
}
