//! Braze's `created_at`: `2020-07-10 15:00:00.000 UTC` in segment exports (not ISO 8601),
//! ISO 8601 elsewhere. Both become one instant, sent to Userflow as ISO 8601 UTC with
//! milliseconds (`2020-07-10T15:00:00.000Z`).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// The instant `text` names, in any of the accepted forms: `YYYY-MM-DD HH:MM:SS UTC` with an
/// optional fraction, or ISO 8601 / RFC 3339 with `Z` or an offset, with or without a
/// fraction. Surrounding whitespace is ignored; a time without a zone is refused (guessing
/// one would shift the date by hours).
pub fn parse_created_at(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(naive) = text.strip_suffix(" UTC") {
        return NaiveDateTime::parse_from_str(naive.trim_end(), "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|at| at.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// `at` as Userflow gets it: ISO 8601 UTC with milliseconds, `2020-07-10T15:00:00.000Z`.
pub fn to_iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> Option<String> {
        parse_created_at(text).map(to_iso)
    }

    #[test]
    fn when_braze_export_format_with_millis_then_iso_utc() {
        assert_eq!(
            iso("2020-07-10 15:00:00.000 UTC").as_deref(),
            Some("2020-07-10T15:00:00.000Z")
        );
        assert_eq!(
            iso("2020-07-10 15:00:00.250 UTC").as_deref(),
            Some("2020-07-10T15:00:00.250Z")
        );
    }

    #[test]
    fn when_braze_export_format_without_fraction_then_iso_utc() {
        assert_eq!(
            iso("2020-07-10 15:00:00 UTC").as_deref(),
            Some("2020-07-10T15:00:00.000Z")
        );
    }

    #[test]
    fn when_iso_with_z_or_offset_then_converted_to_utc() {
        assert_eq!(
            iso("2020-07-10T15:00:00Z").as_deref(),
            Some("2020-07-10T15:00:00.000Z")
        );
        assert_eq!(
            iso("2020-07-10T15:00:00.123456Z").as_deref(),
            Some("2020-07-10T15:00:00.123Z")
        );
        assert_eq!(
            iso("2020-07-10T17:30:00+02:30").as_deref(),
            Some("2020-07-10T15:00:00.000Z")
        );
        assert_eq!(
            iso("2020-07-10T10:00:00.5-05:00").as_deref(),
            Some("2020-07-10T15:00:00.500Z")
        );
    }

    #[test]
    fn when_no_zone_or_not_a_date_then_refused() {
        for text in [
            "2020-07-10T15:00:00",
            "2020-07-10 15:00:00",
            "2020-07-10",
            "10/07/2020 15:00 UTC",
            "2020-13-10 15:00:00 UTC",
            "",
            "UTC",
        ] {
            assert_eq!(parse_created_at(text), None, "{text}");
        }
    }
}
