//! The instants a flag takes (`--created-after`, `--occurred-after`, …): an
//! RFC 3339 time, a bare date (midnight UTC), or a span back from now.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// What a refused value is told to look like.
const FORMS: &str = "an RFC 3339 time (2026-12-04T10:00:00Z, or with an offset: \
                     2026-12-04T17:00:00+07:00), a date (2026-12-04: midnight UTC), or a span \
                     back from now (90s, 30m, 24h, 7d, 2w)";

/// Reads `text` as an instant: RFC 3339, a date (midnight UTC), or `N`
/// seconds, minutes, hours, days or weeks before now (`24h`).
pub fn instant(text: &str) -> Result<DateTime<Utc>, String> {
    instant_at(text, Utc::now())
}

/// [`instant`] with `now` given (for spans).
fn instant_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    if let Some(span) = span(text) {
        return now
            .checked_sub_signed(span)
            .ok_or_else(|| format!("{text:?} reaches too far back: give a date instead"));
    }
    Err(format!("{text:?} is not a time: give {FORMS}"))
}

/// `90s`, `30m`, `24h`, `7d`, `2w` as a duration.
fn span(text: &str) -> Option<TimeDelta> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    match unit {
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        "w" => TimeDelta::try_weeks(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_and_what_a_refusal_says() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |text: &str| instant_at(text, now).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2026-12-04T10:00:00Z").unwrap(),
            "2026-12-04T10:00:00+00:00"
        );
        assert_eq!(
            at("2026-12-04T17:00:00+07:00").unwrap(),
            "2026-12-04T10:00:00+00:00"
        );
        assert_eq!(at("2026-12-04").unwrap(), "2026-12-04T00:00:00+00:00");
        assert_eq!(at("24h").unwrap(), "2026-12-03T12:00:00+00:00");
        assert_eq!(at("2w").unwrap(), "2026-11-20T12:00:00+00:00");
        assert_eq!(at(" 90s ").unwrap(), "2026-12-04T11:58:30+00:00");
        for bad in ["yesterday", "2026-12-04 10:00", "24", "h", "-3d", "3y", ""] {
            let refused = at(bad).unwrap_err();
            assert!(
                refused.contains("RFC 3339") || refused.contains("too far"),
                "{bad}: {refused}"
            );
        }
        assert!(at("99999999999w").is_err());
    }
}
