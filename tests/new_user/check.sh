#!/usr/bin/env bash
# The "new user" check: does the README give an application developer all they need?
#
# Makes a fresh crate outside this workspace holding only what the README and the pages of
# docs/ show: their [dependencies] and [dev-dependencies] blocks (`path = "crates/…"` pointed
# at this clone), the README's quickstart (its first `fn main`) as src/main.rs, every other
# example with a `fn main` as examples/readme_N.rs, every `#[tokio::test]` example as
# tests/readme_N.rs and the remaining snippets as modules of src/lib.rs (doc-hidden `# ` lines
# unhidden). Then `cargo build --offline --all-targets` (an import the dependency blocks do
# not cover fails here) and the quickstart's binary: it runs as written.
#
# Uses this workspace's Cargo.lock (the same versions, no network), its target directory and
# its dev profile's debug settings, so the dependencies the workspace has built (with the
# same features) are reused rather than built again. Not linted: a user's crate is not.
# NEW_USER_KEEP=1 keeps the crate and prints where it is.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
crate=$(mktemp -d "${TMPDIR:-/tmp}/plugipay-new-user.XXXXXX")
if [[ "${NEW_USER_KEEP:-}" == 1 ]]; then
  echo "the crate: $crate"
else
  trap 'rm -rf "$crate"' EXIT
fi

python3 - "$root" "$crate" <<'PY'
import os, re, sys

root, crate = sys.argv[1], sys.argv[2]
readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
docs_dir = os.path.join(root, "docs")
pages = [readme] + [open(os.path.join(docs_dir, name), encoding="utf-8").read()
                    for name in sorted(os.listdir(docs_dir)) if name.endswith(".md")]
text = "\n".join(pages)

# Dependency blocks: every ```toml block holding [dependencies] or [dev-dependencies].
sections = {"dependencies": [], "dev-dependencies": []}
for block in re.findall(r"```toml\n(.*?)```", text, re.S):
    current = None
    for line in block.splitlines():
        header = re.fullmatch(r"\s*\[([a-z-]+)\]\s*", line)
        if header:
            current = header.group(1) if header.group(1) in sections else None
            continue
        if current and line.strip() and not line.lstrip().startswith("#"):
            line = re.sub(r'path = "(crates/[^"]+)"',
                          lambda m: 'path = "%s"' % os.path.join(root, m.group(1)), line)
            sections[current].append(line)
if not sections["dependencies"]:
    sys.exit("check.sh: the README has no [dependencies] block")

manifest = ['[package]', 'name = "plugipay-new-user"', 'version = "0.1.0"',
            'edition = "2024"', 'publish = false', '']
for name, lines in sections.items():
    manifest += ["[%s]" % name] + lines + [""]
os.makedirs(os.path.join(crate, "src"))
open(os.path.join(crate, "Cargo.toml"), "w").write("\n".join(manifest))

def unhide(code):
    out = []
    for line in code.splitlines():
        if line == "#" or line.startswith("# "):
            line = line[2:]
        out.append(line)
    return "\n".join(out) + "\n"

# The README's blocks first: its first `fn main` is the quickstart.
blocks = [unhide(b) for b in re.findall(r"```rust[^\n]*\n(.*?)```", text, re.S)]
lib, mains, tests = [], [], []
for i, code in enumerate(blocks):
    if "#[tokio::test]" in code:
        tests.append((i, code))
    elif re.search(r"^(async )?fn main\(", code, re.M):
        mains.append((i, code))
    else:
        lib.append((i, code))
if not mains:
    sys.exit("check.sh: the README has no example with a main")

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)

first, rest = mains[0], mains[1:]
write(os.path.join(crate, "src/main.rs"), first[1])
for i, code in rest:
    write(os.path.join(crate, "examples/readme_%d.rs" % i), code)
for i, code in tests:
    write(os.path.join(crate, "tests/readme_%d.rs" % i), code)
write(os.path.join(crate, "src/lib.rs"),
      "//! The README's snippets without a main.\n#![allow(dead_code, unused_imports)]\n\n"
      + "".join("mod readme_%d {\n%s}\n\n" % (i, code) for i, code in lib))
print("README: %d dependencies, %d dev-dependencies; src/main.rs (example %d), "
      "%d examples, %d tests, %d snippets in src/lib.rs"
      % (len(sections["dependencies"]), len(sections["dev-dependencies"]), first[0],
         len(rest), len(tests), len(lib)))
PY

cp "$root/Cargo.lock" "$crate/Cargo.lock"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
cd "$crate"
cargo build --offline --all-targets --quiet \
  --config 'profile.dev.debug="line-tables-only"' --config 'profile.dev.package."*".debug=false'
echo "new user: the dependency blocks build the README's and docs/'s examples"
"$CARGO_TARGET_DIR/debug/plugipay-new-user" > /dev/null
echo "new user: the quickstart runs as written"
