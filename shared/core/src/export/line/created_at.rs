//! Braze's `created_at`: `2020-07-10 15:00:00.000 UTC` in segment exports (not ISO 8601),
//! ISO 8601 elsewhere. Both become one instant, sent to Userflow as ISO 8601 UTC with
//! milliseconds (`2020-07-10T15:00:00.000Z`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Braze's export form exactly as it writes it: `2020-07-10 15:00:00.000 UTC`.
const BRAZE_FORM_LEN: usize = "2020-07-10 15:00:00.000 UTC".len();

/// `text` as Userflow gets it (ISO 8601 UTC with milliseconds), `None` when it is none of the
/// accepted forms (see [`parse_created_at`]). Braze's own form, one per exported user, is
/// rewritten in place after its date and time are checked; every other form goes through
/// chrono.
pub fn created_at_iso(text: &str) -> Option<String> {
    match braze_form_iso(text) {
        Some(iso) => Some(iso),
        None => parse_created_at(text).map(to_iso),
    }
}

/// Braze's exact form rewritten as ISO 8601 (`T` for the space, `Z` for ` UTC`), when its
/// date exists and its time is in range; `None` sends the text to the general parser (which
/// also takes leap seconds, other fractions and surrounding whitespace).
fn braze_form_iso(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() != BRAZE_FORM_LEN || !text.ends_with(" UTC") {
        return None;
    }
    let punctuation = [
        (4, b'-'),
        (7, b'-'),
        (10, b' '),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if punctuation.iter().any(|(at, byte)| bytes[*at] != *byte) {
        return None;
    }
    let number = |from: usize, to: usize| {
        bytes[from..to].iter().try_fold(0u32, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?;
    let in_range = number(11, 13)? < 24 && number(14, 16)? < 60 && number(17, 19)? < 60;
    number(20, 23)?;
    if !in_range {
        return None;
    }
    let mut iso = String::with_capacity(BRAZE_FORM_LEN - 3);
    iso.push_str(&text[..10]);
    iso.push('T');
    iso.push_str(&text[11..23]);
    iso.push('Z');
    Some(iso)
}

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
    fn when_braze_form_then_the_fast_path_answers_as_chrono_does() {
        for text in [
            "2020-07-10 15:00:00.000 UTC",
            "2024-02-29 23:59:59.999 UTC",
            "0001-01-01 00:00:00.000 UTC",
            "9999-12-31 23:59:59.999 UTC",
        ] {
            assert_eq!(braze_form_iso(text), iso(text), "{text}");
            assert!(braze_form_iso(text).is_some(), "{text}");
        }
    }

    #[test]
    fn when_braze_form_names_no_real_time_then_the_fast_path_leaves_it_to_chrono() {
        for text in [
            "2023-02-29 10:00:00.000 UTC",
            "2020-13-10 15:00:00.000 UTC",
            "2020-07-32 15:00:00.000 UTC",
            "2020-07-10 24:00:00.000 UTC",
            "2020-07-10 15:60:00.000 UTC",
            "2020-07-10 15:00:60.000 UTC",
            "2020-07-10 15:00:00.0x0 UTC",
            "2020-07-10T15:00:00.000 UTC",
            "2020-07-10 15:00:00.000 GMT",
            "+020-07-10 15:00:00.000 UTC",
        ] {
            assert_eq!(braze_form_iso(text), None, "{text}");
            assert_eq!(created_at_iso(text), iso(text), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn when_any_braze_form_then_fast_and_general_paths_agree(
            year in 0u32..10_000,
            month in 0u32..14,
            day in 0u32..33,
            hour in 0u32..26,
            minute in 0u32..62,
            second in 0u32..62,
            milli in 0u32..1_000,
        ) {
            let text = format!(
                "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{milli:03} UTC"
            );
            proptest::prop_assert_eq!(created_at_iso(&text), iso(&text), "{}", text);
        }
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
