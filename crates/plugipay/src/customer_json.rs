//! A customer as the server sent it: its JSON text, with the few fields a
//! walk needs read out of it. For exports, which copy customers through
//! without building (and re-encoding) the typed record.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::archive::ARCHIVED_VALUE;
use crate::customer::Customer;
use crate::error::Error;

/// One customer of a list, kept as the JSON text the server sent (every
/// field, those this SDK does not know included; on one line, see
/// [`json`](Self::json)), with its id, creation
/// time and archive flag read out: what
/// [`Request::json_items`](crate::Request::json_items) yields.
///
/// ```
/// use plugipay::CustomerJson;
///
/// let text = r#"{"id":"cus_1","accountId":"acct_1","createdAt":"2026-11-25T08:00:00.120Z","updatedAt":"2026-11-25T08:00:00.120Z","loyaltyTier":"gold"}"#;
/// let customer = CustomerJson::from_json(text).unwrap();
/// assert_eq!(customer.id(), "cus_1");
/// assert_eq!(customer.created_at().timestamp_subsec_millis(), 120);
/// assert_eq!(customer.json(), text, "kept as sent, unknown fields too");
/// assert_eq!(customer.decode().unwrap().id, "cus_1");
/// ```
#[derive(Clone, Debug)]
pub struct CustomerJson {
    id: String,
    created_at: DateTime<Utc>,
    archived: bool,
    json: Box<RawValue>,
}

/// The fields read out of a customer's JSON (the others are skipped).
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "createdAt", borrow)]
    created_at: Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: Option<MetadataHead<'a>>,
}

#[derive(Deserialize)]
struct MetadataHead<'a> {
    /// The archive convention's key (`ARCHIVED_KEY`).
    #[serde(rename = "archived", default, borrow)]
    archived: Option<Cow<'a, str>>,
}

impl CustomerJson {
    /// Reads `json`, one customer object: it must have a string `id` and a
    /// string `createdAt` (ISO-8601).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        // Valid as given first: taking whitespace out of text that is not
        // JSON could make other JSON of it (`tr\nue`).
        let mut json = RawValue::from_string(json.to_owned())?;
        if let Cow::Owned(line) = one_line(json.get()) {
            json = RawValue::from_string(line)?;
        }
        let (id, created_at, archived) = read(&json)?;
        Ok(Self {
            id,
            created_at,
            archived,
            json,
        })
    }

    /// One item of a list answer, or the [`Error::Decode`] of an item that
    /// is not a customer. `line_breaks`: whether the answer's body has any
    /// (if not, no item needs putting on one line).
    pub(crate) fn from_raw(mut json: Box<RawValue>, line_breaks: bool) -> Result<Self, Error> {
        if line_breaks
            && let Cow::Owned(line) = one_line(json.get())
            && let Ok(line) = RawValue::from_string(line)
        {
            json = line;
        }
        match read(&json) {
            Ok((id, created_at, archived)) => Ok(Self {
                id,
                created_at,
                archived,
                json,
            }),
            Err(e) => Err(crate::transport::decode::unreadable_item(
                format!("a list item is not a customer: {e}"),
                json.get(),
            )),
        }
    }

    /// The customer's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When the customer was created, as the server serves it.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// Whether its metadata says `archived = "true"`.
    pub fn is_archived(&self) -> bool {
        self.archived
    }

    /// The customer's JSON text as the server sent it, on one line: when
    /// it spans lines (a pretty-printed answer), the whitespace between its
    /// tokens is taken out; the tokens themselves are never changed.
    pub fn json(&self) -> &str {
        self.json.get()
    }

    /// The typed customer, read as leniently as every response is.
    pub fn decode(&self) -> Result<Customer, Error> {
        serde_json::from_str(self.json.get()).map_err(|e| {
            crate::transport::decode::unreadable_item(
                format!("not a customer: {e}"),
                self.json.get(),
            )
        })
    }
}

/// Valid JSON `json` on one line: unchanged when it has no line break,
/// otherwise without any whitespace between its tokens. A line break
/// inside a JSON string is always escaped, so only whitespace goes.
fn one_line(json: &str) -> Cow<'_, str> {
    // memchr's vectorised scan: this runs on every customer of a walk, and
    // a `char` pattern search cost a tenth of an export's CPU.
    if memchr::memchr2(b'\n', b'\r', json.as_bytes()).is_none() {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The id, creation time and archive flag of a customer's JSON.
fn read(json: &RawValue) -> Result<(String, DateTime<Utc>, bool), serde_json::Error> {
    use serde::de::Error as _;
    let head: Head<'_> = serde_json::from_str(json.get())?;
    let created_at = parse_instant(&head.created_at).ok_or_else(|| {
        serde_json::Error::custom(format!(
            "createdAt {:?} is not an ISO-8601 instant",
            head.created_at
        ))
    })?;
    let archived = head
        .metadata
        .and_then(|m| m.archived)
        .is_some_and(|v| v == ARCHIVED_VALUE);
    Ok((head.id.into_owned(), created_at, archived))
}

/// An RFC 3339 instant; the common `YYYY-MM-DDTHH:MM:SS[.fff…]Z` form is
/// read without chrono's general parser, anything else with it.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    fast_utc(text).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` exactly, or `None`.
fn fast_utc(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &b[19..];
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            let value = num(20..20 + digits.len())?;
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pretty_printed_customer_is_kept_on_one_line() {
        let pretty = "{\n  \"id\": \"cus_1\",\r\n  \"name\": \"A \\\"quoted\\\" name,\\nsecond\",\n  \"createdAt\": \"2026-11-25T08:00:00Z\"\n}";
        let customer = CustomerJson::from_json(pretty).unwrap();
        assert_eq!(
            customer.json(),
            r#"{"id":"cus_1","name":"A \"quoted\" name,\nsecond","createdAt":"2026-11-25T08:00:00Z"}"#
        );
        let raw = RawValue::from_string(pretty.to_owned()).unwrap();
        let customer = CustomerJson::from_raw(raw, true).unwrap();
        assert!(!customer.json().contains('\n'));
        let same: serde_json::Value = serde_json::from_str(customer.json()).unwrap();
        assert_eq!(
            same,
            serde_json::from_str::<serde_json::Value>(pretty).unwrap()
        );
        // Not JSON as given stays an error, whatever taking whitespace
        // out would make of it.
        assert!(CustomerJson::from_json("{\"id\": \"cus_1\", \"x\": tr\nue}").is_err());
        // One line already: kept byte for byte, spaces included.
        let spaced = r#"{"id": "cus_2", "createdAt": "2026-11-25T08:00:00Z"}"#;
        assert_eq!(CustomerJson::from_json(spaced).unwrap().json(), spaced);
    }

    #[test]
    fn the_fast_path_agrees_with_chrono() {
        for text in [
            "2026-11-25T08:00:00Z",
            "2026-11-25T08:00:00.1Z",
            "2026-11-25T08:00:00.120Z",
            "2026-02-28T23:59:59.999999999Z",
            "1970-01-01T00:00:00.000Z",
        ] {
            let slow = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(fast_utc(text), Some(slow), "{text}");
        }
        for text in [
            "2026-11-25T08:00:00+07:00",
            "2026-11-25 08:00:00Z",
            "2026-13-25T08:00:00Z",
            "2026-11-25T08:00:00.Z",
            "2026-11-25T08:00:00.1234567890Z",
            "2026-11-25T08:00:60Z",
        ] {
            assert_eq!(fast_utc(text), None, "{text}");
        }
        assert_eq!(
            parse_instant("2026-11-25T15:00:00+07:00"),
            parse_instant("2026-11-25T08:00:00Z")
        );
    }

    #[test]
    fn bad_customers_are_errors() {
        for text in [
            r#"{"createdAt":"2026-11-25T08:00:00Z"}"#,
            r#"{"id":"cus_1"}"#,
            r#"{"id":"cus_1","createdAt":"yesterday"}"#,
            r#"{"id":1,"createdAt":"2026-11-25T08:00:00Z"}"#,
            "[]",
        ] {
            assert!(CustomerJson::from_json(text).is_err(), "{text}");
        }
        let archived = CustomerJson::from_json(
            r#"{"id":"c","createdAt":"2026-11-25T08:00:00Z","metadata":{"plan":"p","archived":"true"}}"#,
        )
        .unwrap();
        assert!(archived.is_archived());
        let null_metadata = CustomerJson::from_json(
            r#"{"id":"c","createdAt":"2026-11-25T08:00:00Z","metadata":null}"#,
        )
        .unwrap();
        assert!(!null_metadata.is_archived());
    }
}
