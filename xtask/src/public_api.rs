//! The Rust API a crate offers, as stable text for a snapshot: every `pub`
//! item of its sources (functions with their signatures, types with their
//! derives, public fields and variants, traits, constants, re-exports, and
//! the impls of public types), file by file in a fixed order. A change to
//! what users compile against — a generator upgrade that renames a type, a
//! hand edit that changes a signature — then shows as a diff, and
//! [`semver`] says whether it breaks existing code.

use std::fmt::Write;
use std::path::Path;

use quote::ToTokens;
use syn::{Attribute, ImplItem, Item, TraitItem, Visibility};

/// The listing of every `.rs` file under `src` (a crate's `src` directory),
/// each file's items under its path relative to `src`.
pub fn listing(src: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    collect(src, src, &mut files)?;
    files.sort();
    let mut out = String::new();
    for (relative, path) in files {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let items = listing_of(&text).map_err(|e| format!("{relative}: {e}"))?;
        if !items.is_empty() {
            let _ = writeln!(out, "file {relative}");
            out.push_str(&items);
        }
    }
    Ok(out)
}

fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, std::path::PathBuf)>,
) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            files.push((relative.to_string_lossy().replace('\\', "/"), path));
        }
    }
    Ok(())
}

/// The listing of one source file's text.
pub fn listing_of(text: &str) -> Result<String, String> {
    let file = syn::parse_file(text).map_err(|e| format!("not Rust: {e}"))?;
    let mut out = String::new();
    items(&file.items, "", &mut out);
    Ok(out)
}

fn items(items: &[Item], indent: &str, out: &mut String) {
    for item in items {
        if let Some(line) = item_line(item, indent, out) {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
}

/// Writes what `item` offers (nested lines included) and returns its head
/// line, or `None` for what is not public.
fn item_line(item: &Item, indent: &str, out: &mut String) -> Option<String> {
    let deeper = format!("{indent}  ");
    match item {
        Item::Fn(f) if public(&f.vis) && !test_only(&f.attrs) => {
            Some(format!("{}{}", features(&f.attrs), signature(&f.sig)))
        }
        Item::Struct(s) if public(&s.vis) && !test_only(&s.attrs) => {
            let _ = writeln!(
                out,
                "{indent}{}struct {}{}",
                derives(&s.attrs),
                s.ident,
                tokens(&s.generics)
            );
            for field in &s.fields {
                if public(&field.vis) {
                    let name = field
                        .ident
                        .as_ref()
                        .map_or(String::new(), |i| format!("{i}: "));
                    let _ = writeln!(out, "{deeper}{name}{}", tokens(&field.ty));
                }
            }
            None
        }
        Item::Enum(e) if public(&e.vis) && !test_only(&e.attrs) => {
            let _ = writeln!(
                out,
                "{indent}{}enum {}{}",
                derives(&e.attrs),
                e.ident,
                tokens(&e.generics)
            );
            for variant in &e.variants {
                let fields = tokens(&variant.fields);
                let _ = writeln!(out, "{deeper}{}{fields}", variant.ident);
            }
            None
        }
        Item::Trait(t) if public(&t.vis) && !test_only(&t.attrs) => {
            let _ = writeln!(
                out,
                "{indent}trait {}{}{}",
                t.ident,
                tokens(&t.generics),
                if t.supertraits.is_empty() {
                    String::new()
                } else {
                    format!(": {}", tokens(&t.supertraits))
                }
            );
            for member in &t.items {
                match member {
                    TraitItem::Fn(f) => {
                        let _ = writeln!(out, "{deeper}{}", signature(&f.sig));
                    }
                    TraitItem::Type(t) => {
                        let _ = writeln!(out, "{deeper}type {}", t.ident);
                    }
                    TraitItem::Const(c) => {
                        let _ = writeln!(out, "{deeper}const {}: {}", c.ident, tokens(&c.ty));
                    }
                    _ => {}
                }
            }
            None
        }
        Item::Const(c) if public(&c.vis) => Some(format!(
            "const {}: {} = {}",
            c.ident,
            tokens(&c.ty),
            tokens(&c.expr)
        )),
        Item::Static(s) if public(&s.vis) => Some(format!("static {}: {}", s.ident, tokens(&s.ty))),
        Item::Type(t) if public(&t.vis) => Some(format!(
            "type {}{} = {}",
            t.ident,
            tokens(&t.generics),
            tokens(&t.ty)
        )),
        Item::Use(u) if public(&u.vis) => Some(format!("use {}", tokens(&u.tree))),
        Item::Mod(m) if public(&m.vis) && !test_only(&m.attrs) => {
            let _ = writeln!(out, "{indent}mod {}", m.ident);
            if let Some((_, inner)) = &m.content {
                items(inner, &deeper, out);
            }
            None
        }
        Item::Impl(i) if !test_only(&i.attrs) => {
            let members: Vec<String> = i
                .items
                .iter()
                .filter_map(|member| match member {
                    ImplItem::Fn(f) if public(&f.vis) || i.trait_.is_some() => i
                        .trait_
                        .is_none()
                        .then(|| format!("{}{}", features(&f.attrs), signature(&f.sig))),
                    ImplItem::Const(c) if public(&c.vis) => {
                        Some(format!("const {}: {}", c.ident, tokens(&c.ty)))
                    }
                    _ => None,
                })
                .collect();
            let head = match &i.trait_ {
                Some((bang, path, _)) => format!(
                    "impl{} {}{} for {}",
                    tokens(&i.generics),
                    if bang.is_some() { "!" } else { "" },
                    tokens(path),
                    tokens(&i.self_ty)
                ),
                None if members.is_empty() => return None,
                None => format!("impl{} {}", tokens(&i.generics), tokens(&i.self_ty)),
            };
            let _ = writeln!(out, "{indent}{head}");
            for member in members {
                let _ = writeln!(out, "{deeper}{member}");
            }
            None
        }
        _ => None,
    }
}

fn public(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// `#[cfg(test)]` items are not part of the API.
fn test_only(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.meta.to_token_stream().to_string().contains("test"))
}

/// `cfg(feature = "x") ` for an item only some features have.
fn features(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .map(|a| a.meta.to_token_stream().to_string())
        .filter(|cfg| cfg.contains("feature"))
        .map(|cfg| {
            format!(
                "{} ",
                cfg.replace(" (", "(").replace("( ", "(").replace(" )", ")")
            )
        })
        .collect()
}

/// `derive(A, B) ` for the derives on an item (what users may rely on).
fn derives(attrs: &[Attribute]) -> String {
    let mut all = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            all.push(tokens(&meta.path));
            Ok(())
        });
    }
    if all.is_empty() {
        String::new()
    } else {
        format!("derive({}) ", all.join(", "))
    }
}

fn signature(sig: &syn::Signature) -> String {
    tokens(sig)
}

/// Tokens as text, with the spaces `quote` puts between all of them kept
/// only where Rust would write them (`Result<(), String>`, not
/// `Result < () , String >`).
fn tokens(t: &impl ToTokens) -> String {
    let raw = t.to_token_stream().to_string();
    let pieces: Vec<&str> = raw.split(' ').filter(|p| !p.is_empty()).collect();
    let mut out = String::with_capacity(raw.len());
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 && !tight(pieces[i - 1], piece) {
            out.push(' ');
        }
        out.push_str(piece);
    }
    out
}

/// Whether `next` follows `prev` with no space between.
fn tight(prev: &str, next: &str) -> bool {
    let before = next.starts_with([',', ';', ':', '>', ')', ']', '?', '.', '<'])
        || (next.starts_with(['(', '[']) && !matches!(prev, "->" | "," | "=" | ":" | "|" | "dyn"));
    let after = ["::", "<", "(", "[", "&", "#", "!", "."]
        .iter()
        .any(|end| prev.ends_with(end));
    before || after
}

/// Whether going from listing `before` to listing `after` breaks code
/// written against `before`: a line that went away (an item removed, a
/// signature or a derive changed) may; lines only added do not.
///
/// Where an item is defined is not part of the API: `file` lines are left
/// out, and a `use` (a re-export) counts by the names it exports, so moving
/// a file into a folder (its re-exports now `use folder::file::{..}`) is no
/// change.
pub fn semver(before: &str, after: &str) -> Semver {
    let old = api_lines(before);
    let new = api_lines(after);
    let gone: Vec<String> = old.difference(&new).map(|l| l.trim().to_owned()).collect();
    let added = new.difference(&old).count();
    match (gone.is_empty(), added) {
        (true, 0) => Semver::Same,
        (true, _) => Semver::Additive,
        (false, _) => Semver::Breaking(gone),
    }
}

/// The lines of a listing that name the API, for [`semver`].
fn api_lines(listing: &str) -> std::collections::BTreeSet<String> {
    let mut lines = std::collections::BTreeSet::new();
    for line in listing.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("file ") {
            continue;
        }
        let Some(path) = trimmed.strip_prefix("use ") else {
            lines.insert(line.to_owned());
            continue;
        };
        let indent = &line[..line.len() - trimmed.len()];
        let leaves = match (path.find('{'), path.rfind('}')) {
            (Some(open), Some(close)) if open < close => &path[open + 1..close],
            _ => path,
        };
        for leaf in leaves.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            let name = match leaf.rsplit_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => leaf.rsplit("::").next().unwrap_or(leaf).trim(),
            };
            lines.insert(format!("{indent}use {name}"));
        }
    }
    lines
}

/// What a change of listing means for users.
#[derive(Debug, PartialEq, Eq)]
pub enum Semver {
    /// Nothing changed.
    Same,
    /// Only new items: a minor release.
    Additive,
    /// These lines went away or changed: code using them may no longer
    /// compile (a major release before 1.0 bumps the minor).
    Breaking(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_file_is_no_change_but_a_lost_export_is() {
        let before = "file pacing.rs\nenum RateShare\nuse pacing::{ RateBudget, RateShare }\n";
        let moved = "file transport/pacing.rs\nenum RateShare\nuse transport::pacing::{ RateShare, RateBudget }\n";
        assert_eq!(semver(before, moved), Semver::Same);
        let lost = "file transport/pacing.rs\nenum RateShare\nuse transport::pacing::RateShare\n";
        assert_eq!(
            semver(before, lost),
            Semver::Breaking(vec!["use RateBudget".into()])
        );
        let renamed =
            "file pacing.rs\nenum RateShare\nuse pacing::{ RateBudget as Budget, RateShare }\n";
        assert_eq!(
            semver(before, renamed),
            Semver::Breaking(vec!["use RateBudget".into()])
        );
    }

    #[test]
    fn public_items_are_listed_and_private_ones_not() {
        let listing = listing_of(
            r#"
            /// doc
            #[derive(Clone, Debug)]
            pub struct A { pub x: Vec<u8>, y: u8 }
            struct Hidden;
            pub(crate) fn internal() {}
            pub fn f<T: Clone>(a: &str, b: Option<T>) -> Result<(), String> { Ok(()) }
            impl A { pub fn new() -> Self { todo!() } fn private(&self) {} }
            impl Clone for Hidden { fn clone(&self) -> Self { Hidden } }
            pub enum E { One, Two(u8), Three { x: u8 } }
            pub const N: usize = 3;
            pub use std::fmt::Write as W;
            #[cfg(test)]
            pub fn only_in_tests() {}
            pub mod inner { pub fn g() {} fn h() {} }
            "#,
        )
        .unwrap();
        for expected in [
            "derive(Clone, Debug) struct A",
            "  x: Vec<u8>",
            "fn f<T: Clone>(a: &str, b: Option<T>) -> Result<(), String>",
            "impl A",
            "  fn new() -> Self",
            "impl Clone for Hidden",
            "enum E",
            "  Two(u8)",
            "const N: usize = 3",
            "use std::fmt::Write as W",
            "mod inner",
            "  fn g()",
        ] {
            assert!(
                listing.lines().any(|l| l == expected),
                "{expected:?} not in\n{listing}"
            );
        }
        for absent in ["internal", "private", "only_in_tests", "fn h", "y: u8"] {
            assert!(!listing.contains(absent), "{absent:?} in\n{listing}");
        }
    }

    #[test]
    fn removals_and_changes_break_additions_do_not() {
        assert_eq!(semver("a\nb\n", "a\nb\n"), Semver::Same);
        assert_eq!(semver("a\n", "a\nb\n"), Semver::Additive);
        assert_eq!(
            semver("a\nb\n", "a\nc\n"),
            Semver::Breaking(vec!["b".into()])
        );
    }
}
