//! Where a list answer says the list goes next, read from either shape
//! Plugipay publishes, or why that cannot be told.
//!
//! The official SDKs read `meta.cursor` and `meta.hasMore`; Plugipay's
//! pagination reference page shows `meta.page = {limit, hasMore,
//! nextCursor}`. A client that bets on one shape ends its walk after the
//! first page when the server speaks the other, and reports a partial list
//! as whole. [`continuation`] reads both, and where an answer hints that
//! more may follow in a way neither shape explains (a `hasMore: true`
//! elsewhere, a paging object of another form) it says so as an
//! [`Unclear`] instead of guessing that the list ended.
//!
//! ```
//! use plugipay_api::paging::{Continuation, continuation};
//! use plugipay_api::wire::Envelope;
//!
//! let sdk: Envelope<Vec<u8>> =
//!     serde_json::from_str(r#"{"data":[],"meta":{"cursor":"c2","hasMore":true}}"#).unwrap();
//! assert_eq!(continuation(&sdk), Ok(Continuation::Next("c2".into())));
//!
//! let docs: Envelope<Vec<u8>> = serde_json::from_str(
//!     r#"{"data":[],"meta":{"page":{"limit":50,"hasMore":true,"nextCursor":"c2"}}}"#,
//! )
//! .unwrap();
//! assert_eq!(continuation(&docs), Ok(Continuation::Next("c2".into())));
//!
//! let odd: Envelope<Vec<u8>> =
//!     serde_json::from_str(r#"{"data":[],"meta":{"pagination":{"has_next":true}}}"#).unwrap();
//! assert!(continuation(&odd).is_err());
//! ```

use std::fmt;

use serde_json::{Map, Value};

use crate::wire::{Envelope, Meta};

/// The key of the published pages' paging object inside `meta`.
pub const PAGE_KEY: &str = "page";

/// Where a list goes after a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Continuation {
    /// This page is the last.
    End,
    /// The next page is asked for with this cursor.
    Next(String),
}

/// An answer whose paging cannot be read with certainty: it may say that
/// more items follow, but gives no cursor a client can use. Its text says
/// what was seen, by where it was (`meta.pagination.has_next`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unclear(pub String);

impl fmt::Display for Unclear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unclear {}

/// Where the list continues after the page `envelope` carries (see the
/// [module](self)): the rules, in order.
///
/// 1. A `hasMore: true` in either published place (`meta.hasMore`,
///    `meta.page.hasMore`) needs a cursor (`meta.cursor` or
///    `meta.page.nextCursor`; two different ones are unclear).
/// 2. An explicit `hasMore: false` ends the list, unless a flag saying
///    more (`hasMore`, `has_next`, …) is true somewhere else in the answer.
/// 3. With no `hasMore` anywhere, a cursor is followed (the next page
///    settles it); without one, any hint of more (such a flag, a cursor or
///    a paging object in a place neither shape uses) is unclear, and an
///    answer with none ends the list, as the official SDKs read a missing
///    `hasMore`.
pub fn continuation<T>(envelope: &Envelope<T>) -> Result<Continuation, Unclear> {
    judge(envelope.meta.as_ref(), &envelope.other)
}

/// [`continuation`] from the parts of an envelope: its `meta` and its
/// top-level members other than `data`, `error` and `meta`.
pub fn judge(meta: Option<&Meta>, top: &Map<String, Value>) -> Result<Continuation, Unclear> {
    let mut seen = Seen::default();
    if let Some(meta) = meta {
        seen.known_flag("meta.hasMore", meta.has_more.map(Value::Bool).as_ref());
        if let Some(Some(cursor)) = &meta.cursor {
            seen.known_cursor("meta.cursor", cursor);
        }
        for (key, value) in &meta.other {
            let at = format!("meta.{key}");
            match (key.as_str(), value) {
                (PAGE_KEY, Value::Object(page)) => {
                    for (key, value) in page {
                        let at = format!("meta.page.{key}");
                        match key.as_str() {
                            "hasMore" => seen.known_flag(&at, Some(value)),
                            "nextCursor" => match value {
                                Value::String(cursor) => seen.known_cursor(&at, cursor),
                                Value::Null => {}
                                other => seen.hint(&at, other),
                            },
                            "limit" => {}
                            _ => seen.scan(&at, key, value, 0),
                        }
                    }
                }
                _ => seen.scan(&at, key, value, 0),
            }
        }
    }
    for (key, value) in top {
        seen.scan(key, key, value, 0);
    }
    seen.decide()
}

/// What one answer says about its paging.
#[derive(Default)]
struct Seen {
    /// `hasMore` in a published place: `(where, value)`.
    flags: Vec<(String, bool)>,
    /// Non-empty cursors in a published place.
    cursors: Vec<(String, String)>,
    /// Flags saying more, true, in an unknown place.
    more_elsewhere: Vec<String>,
    /// Cursors, links or paging objects in an unknown place.
    hints: Vec<String>,
}

/// How deep the scan for paging hints goes below `meta` or the envelope.
const MAX_DEPTH: usize = 4;

/// A key with its case, `_` and `-` folded away.
fn folded(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Names of flags that say more items follow.
const MORE_FLAGS: [&str; 5] = ["hasmore", "hasnext", "hasnextpage", "more", "moreavailable"];

/// Names of values that lead to the next page.
const NEXT_KEYS: [&str; 11] = [
    "cursor",
    "nextcursor",
    "next",
    "nextpage",
    "nextpagetoken",
    "pagetoken",
    "nexttoken",
    "nexturl",
    "nextlink",
    "endcursor",
    "continuationtoken",
];

/// Names of objects that describe paging.
fn paging_object(folded: &str) -> bool {
    folded.contains("pag") || folded == "links" || folded == "cursors"
}

/// Whether a value says "yes" or leads somewhere: `true`, a non-empty
/// string other than `"false"`, a non-zero number, a non-empty object.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => !s.trim().is_empty() && !s.trim().eq_ignore_ascii_case("false"),
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Null => false,
    }
}

impl Seen {
    /// A `hasMore` in a published place (absent: nothing to record).
    fn known_flag(&mut self, at: &str, value: Option<&Value>) {
        match value {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => self.flags.push((at.to_owned(), *b)),
            // Not a boolean: the shape is not the published one.
            Some(other) => self.hint(at, other),
        }
    }

    fn known_cursor(&mut self, at: &str, cursor: &str) {
        if !cursor.is_empty() {
            self.cursors.push((at.to_owned(), cursor.to_owned()));
        }
    }

    /// A value in a place neither shape uses: a hint when it says more.
    fn hint(&mut self, at: &str, value: &Value) {
        if truthy(value) {
            self.hints.push(format!("{at} = {}", excerpt(value)));
        }
    }

    /// Looks through `value`, member `key` at `at` in an unknown place, for
    /// paging hints.
    fn scan(&mut self, at: &str, key: &str, value: &Value, depth: usize) {
        let name = folded(key);
        if MORE_FLAGS.contains(&name.as_str()) {
            if truthy(value) {
                self.more_elsewhere
                    .push(format!("{at} = {}", excerpt(value)));
            }
            return;
        }
        if NEXT_KEYS.contains(&name.as_str()) {
            self.hint(at, value);
            return;
        }
        match value {
            Value::Object(map) => {
                if paging_object(&name) && !map.is_empty() {
                    self.hints
                        .push(format!("a paging object {at} of an unknown form"));
                }
                if depth < MAX_DEPTH {
                    for (key, value) in map {
                        self.scan(&format!("{at}.{key}"), key, value, depth + 1);
                    }
                }
            }
            // A page number, say: paging of another kind.
            other if paging_object(&name) => self.hint(at, other),
            _ => {}
        }
    }

    fn decide(self) -> Result<Continuation, Unclear> {
        let says_more = self.flags.iter().any(|(_, more)| *more);
        let says_end = self.flags.iter().any(|(_, more)| !*more);
        let cursor = match self.cursors.as_slice() {
            [] => None,
            [(_, first), rest @ ..] => {
                if let Some((at, other)) = rest.iter().find(|(_, c)| c != first) {
                    return Err(Unclear(format!(
                        "two different cursors: {} = {} and {at} = {}",
                        self.cursors[0].0,
                        excerpt(&Value::String(first.clone())),
                        excerpt(&Value::String(other.clone()))
                    )));
                }
                Some(first.clone())
            }
        };
        if says_more {
            return match cursor {
                Some(cursor) => Ok(Continuation::Next(cursor)),
                None => {
                    let (at, _) = self
                        .flags
                        .iter()
                        .find(|(_, more)| *more)
                        .expect("one says more");
                    let mut seen = format!("{at} is true but no cursor was given");
                    if let Some(hint) = self.hints.first() {
                        seen.push_str(&format!(" (seen: {hint})"));
                    }
                    Err(Unclear(seen))
                }
            };
        }
        if says_end {
            if let Some(more) = self.more_elsewhere.first() {
                let (at, _) = &self.flags[0];
                return Err(Unclear(format!("{at} is false but {more}")));
            }
            return Ok(Continuation::End);
        }
        if let Some(cursor) = cursor {
            return Ok(Continuation::Next(cursor));
        }
        match self.more_elsewhere.first().or(self.hints.first()) {
            Some(seen) => Err(Unclear(format!(
                "no hasMore in meta or meta.page, but {seen}"
            ))),
            None => Ok(Continuation::End),
        }
    }
}

/// A value as an error shows it: short, on one line.
fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        return text;
    }
    let cut: String = text.chars().take(57).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(body: &str) -> Result<Continuation, Unclear> {
        let envelope: Envelope<serde_json::Value> = serde_json::from_str(body).unwrap();
        continuation(&envelope)
    }

    fn next(cursor: &str) -> Result<Continuation, Unclear> {
        Ok(Continuation::Next(cursor.into()))
    }

    #[test]
    fn the_sdks_shape() {
        assert_eq!(
            judged(r#"{"data":[],"meta":{"cursor":"c","hasMore":true}}"#),
            next("c")
        );
        assert_eq!(
            judged(r#"{"data":[],"meta":{"cursor":null,"hasMore":false}}"#),
            Ok(Continuation::End)
        );
        // hasMore is the end signal even beside a cursor.
        assert_eq!(
            judged(r#"{"data":[],"meta":{"cursor":"c","hasMore":false}}"#),
            Ok(Continuation::End)
        );
        // The official SDKs read a missing hasMore as false.
        assert_eq!(judged(r#"{"data":[]}"#), Ok(Continuation::End));
        assert_eq!(
            judged(r#"{"data":[],"meta":{"requestId":"r"}}"#),
            Ok(Continuation::End)
        );
    }

    #[test]
    fn the_published_pages_shape() {
        assert_eq!(
            judged(r#"{"data":[],"meta":{"page":{"limit":50,"hasMore":true,"nextCursor":"c"}}}"#),
            next("c")
        );
        assert_eq!(
            judged(r#"{"data":[],"meta":{"page":{"limit":50,"hasMore":false,"nextCursor":null}}}"#),
            Ok(Continuation::End)
        );
    }

    #[test]
    fn more_without_a_usable_cursor_is_unclear() {
        for body in [
            r#"{"data":[],"meta":{"hasMore":true}}"#,
            r#"{"data":[],"meta":{"hasMore":true,"cursor":""}}"#,
            r#"{"data":[],"meta":{"page":{"hasMore":true}}}"#,
            r#"{"data":[],"meta":{"page":{"hasMore":true,"next_cursor":"c"}}}"#,
            r#"{"data":[],"meta":{"pagination":{"has_next":true,"next":"c"}}}"#,
            r#"{"data":[],"meta":{"pagination":{"total":500,"offset":0}}}"#,
            r#"{"data":[],"links":{"next":"/api/v1/customers?cursor=c"}}"#,
            r#"{"data":[],"meta":{"page":{"hasMore":"yes"}}}"#,
            r#"{"data":[],"meta":{"page":{"hasMore":true,"nextCursor":7}}}"#,
            r#"{"data":[],"meta":{"page":2}}"#,
            // Contradictions.
            r#"{"data":[],"meta":{"hasMore":false,"pagination":{"hasMore":true}}}"#,
            r#"{"data":[],"meta":{"cursor":"a","hasMore":true,"page":{"nextCursor":"b"}}}"#,
        ] {
            let judged = judged(body);
            assert!(judged.is_err(), "{body}: {judged:?}");
        }
        let Err(Unclear(seen)) = judged(r#"{"data":[],"meta":{"pagination":{"has_next":true}}}"#)
        else {
            panic!("unclear")
        };
        assert!(seen.contains("meta.pagination.has_next"), "{seen}");
    }

    #[test]
    fn a_cursor_without_any_flag_is_followed() {
        assert_eq!(judged(r#"{"data":[],"meta":{"cursor":"c"}}"#), next("c"));
        assert_eq!(
            judged(r#"{"data":[],"meta":{"page":{"nextCursor":"c"}}}"#),
            next("c")
        );
        // A flag of the wrong type beside a cursor: the cursor settles it.
        assert_eq!(
            judged(r#"{"data":[],"meta":{"page":{"hasMore":"yes","nextCursor":"c"}}}"#),
            next("c")
        );
        // Both places, the same cursor.
        assert_eq!(
            judged(
                r#"{"data":[],"meta":{"cursor":"c","hasMore":true,"page":{"hasMore":true,"nextCursor":"c"}}}"#
            ),
            next("c")
        );
    }

    #[test]
    fn unrelated_members_change_nothing() {
        assert_eq!(
            judged(
                r#"{"data":[],"meta":{"hasMore":false,"rateLimit":{"remaining":3},"timestamp":"t"},"links":{}}"#
            ),
            Ok(Continuation::End)
        );
        let long = "x".repeat(500);
        let Err(Unclear(seen)) = judged(&format!(
            r#"{{"data":[],"meta":{{"pagination":{{"next":"{long}"}}}}}}"#
        )) else {
            panic!("unclear")
        };
        assert!(seen.len() < 200, "{seen}");
    }
}
