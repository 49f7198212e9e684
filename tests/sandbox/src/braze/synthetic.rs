//! Synthetic export files for benchmarks: realistic ~1 KB users generated straight into export
//! files, without seeding profiles ([`synthetic_export_file`]), and `POST
//! /braze/exports/synthetic`, which writes them under Braze's key layout into the export bucket.
//!
//! Each user depends only on its index and the seed, so the same users come out whatever the
//! file split.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::archive;
use super::segment_export;
use crate::admin::types::{
    ExportFormat, ExportRecord, ExportState, SyntheticExport, SyntheticExportStarted,
};
use crate::common::state::App;

/// Files built and uploaded at once by the synthetic route.
const PARALLEL_FILES: usize = 4;

/// Why `POST /braze/exports/synthetic` failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyntheticError {
    /// The request cannot be served (400).
    #[error("{0}")]
    Invalid(String),
    /// Writing a file failed (502).
    #[error("{0}")]
    Storage(String),
}

const FIRST: [&str; 12] = [
    "Ada", "Bruno", "Chloe", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kavya",
    "Liam",
];
const LAST: [&str; 12] = [
    "Lovelace", "Silva", "Martin", "Ivanov", "Yilmaz", "Adeyemi", "Berg", "Tanaka", "Garcia",
    "Muller", "Rao", "Chen",
];
/// (country, language, Rails time zone name, home city, phone prefix).
const PLACES: [(&str, &str, &str, &str, &str); 8] = [
    ("US", "en", "Eastern Time (US & Canada)", "Boston", "+1617"),
    (
        "US",
        "es",
        "Pacific Time (US & Canada)",
        "San Diego",
        "+1619",
    ),
    ("GB", "en", "London", "Leeds", "+44113"),
    ("DE", "de", "Berlin", "Cologne", "+49221"),
    ("FR", "fr", "Paris", "Lyon", "+33478"),
    ("BR", "pt", "Brasilia", "Recife", "+5581"),
    ("JP", "ja", "Tokyo", "Osaka", "+816"),
    ("IN", "hi", "Chennai", "Pune", "+9120"),
];
const PLANS: [&str; 4] = ["free", "starter", "pro", "enterprise"];
const INTERESTS: [&str; 6] = [
    "analytics",
    "onboarding",
    "billing",
    "mobile",
    "api",
    "security",
];
const INDUSTRIES: [&str; 5] = ["software", "retail", "finance", "health", "media"];
const EVENTS: [&str; 6] = [
    "session_started",
    "report_viewed",
    "invite_sent",
    "export_downloaded",
    "checklist_completed",
    "integration_connected",
];
const PRODUCTS: [&str; 3] = ["seat_pack", "pro_upgrade", "onboarding_call"];
const GENDERS: [&str; 4] = ["M", "F", "O", "U"];
const SUBSCRIBE: [&str; 3] = ["opted_in", "subscribed", "unsubscribed"];
const DEVICES: [(&str, &str, &str); 4] = [
    ("iPhone 15", "iOS 17.4", "ios"),
    ("Pixel 8", "Android 14", "android"),
    ("Galaxy S23", "Android 13", "android"),
    ("iPad Air", "iOS 16.6", "ios"),
];
const CARRIERS: [&str; 4] = ["Verizon", "Vodafone", "T-Mobile", "Orange"];

/// One export file of synthetic users `first_index..first_index + users`, with external_ids
/// `bench-<index:08>`: the bytes of a zip (`members_per_zip` members, see
/// [`crate::ExportSettings::members_per_zip`]; a single member is named
/// `bench-<first_index:08>.json`) or of a gzip stream. Pure and deterministic: the same
/// arguments give the same bytes. Each line is about 1.3 KB: braze_id, user_aliases, names,
/// email, phone, country, language, Rails time zone, dob, gender, home_city, `created_at` as
/// `2020-07-10 15:00:00.000 UTC`, custom attributes (plan, seats sometimes a string,
/// lifetime_value, is_trial, interests, a nested company, a date), 2-4 custom events, 0-2
/// purchases, 1-2 apps, 1-2 devices, push tokens, subscription states and random_bucket.
pub fn synthetic_export_file(
    first_index: usize,
    users: usize,
    seed: u64,
    format: ExportFormat,
    members_per_zip: usize,
) -> Vec<u8> {
    let lines: Vec<String> = (first_index..first_index + users)
        .map(|i| synthetic_user(i, seed).to_string())
        .collect();
    let name = format!("bench-{first_index:08}");
    let members = archive::layout(format, &name, lines.len(), members_per_zip.max(1));
    archive::encode(format, &members, &lines)
}

/// The synthetic user with this index, as one export line.
pub(crate) fn synthetic_user(index: usize, seed: u64) -> Value {
    let mut rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let base = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let at = |rng: &mut StdRng| base + Duration::seconds(rng.random_range(0..160_000_000));
    let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let hex = |rng: &mut StdRng, chars: usize| -> String {
        (0..chars)
            .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    };
    let pick = |rng: &mut StdRng, items: &[&'static str]| items[rng.random_range(0..items.len())];

    let first = pick(&mut rng, &FIRST);
    let last = pick(&mut rng, &LAST);
    let (country, language, zone, city, dial) = PLACES[rng.random_range(0..PLACES.len())];
    let created = at(&mut rng);
    let braze_id = hex(&mut rng, 24);

    let seats = rng.random_range(1..500u32);
    let interests: Vec<&str> = (0..rng.random_range(1..=2))
        .map(|_| pick(&mut rng, &INTERESTS))
        .collect();
    let custom = json!({
        "plan": pick(&mut rng, &PLANS),
        "seats": if rng.random_bool(0.2) { json!(seats.to_string()) } else { json!(seats) },
        "lifetime_value": (rng.random_range(0..2_000_000u32) as f64) / 100.0,
        "is_trial": rng.random_bool(0.3),
        "interests": interests,
        "company": {
            "name": format!("{last} {}", pick(&mut rng, &["Labs", "GmbH", "Inc", "Ltd"])),
            "size": rng.random_range(1..5_000u32),
            "industry": pick(&mut rng, &INDUSTRIES),
        },
        "signed_up_at": iso(created + Duration::hours(rng.random_range(0..48))),
    });
    // 2-4 events (2.2 on average), 0-2 purchases (0.35), 1-2 devices and apps (1.1 each):
    // about 1.3 KB a line, like an active user's export.
    let event_count = 2 + usize::from(rng.random_bool(0.15)) + usize::from(rng.random_bool(0.05));
    let purchase_count = usize::from(rng.random_bool(0.25)) + usize::from(rng.random_bool(0.05));
    let device_count = 1 + usize::from(rng.random_bool(0.1));
    let app_count = 1 + usize::from(rng.random_bool(0.1));
    let events: Vec<Value> = (0..event_count)
        .map(|k| {
            let first_at = at(&mut rng);
            json!({
                "name": EVENTS[(k + rng.random_range(0..2)) % EVENTS.len()],
                "first": iso(first_at),
                "last": iso(first_at + Duration::days(rng.random_range(0..400))),
                "count": rng.random_range(1..300u32),
            })
        })
        .collect();
    let purchases: Vec<Value> = (0..purchase_count)
        .map(|k| {
            let first_at = at(&mut rng);
            json!({
                "name": PRODUCTS[k],
                "first": iso(first_at),
                "last": iso(first_at + Duration::days(rng.random_range(0..200))),
                "count": rng.random_range(1..5u32),
            })
        })
        .collect();
    let devices: Vec<(&str, &str, &str)> = (0..device_count)
        .map(|_| DEVICES[rng.random_range(0..DEVICES.len())])
        .collect();
    let apps: Vec<Value> = devices
        .iter()
        .cycle()
        .take(app_count)
        .map(|(_, _, platform)| {
            let first_used = at(&mut rng);
            json!({
                "name": "Acme",
                "platform": platform,
                "version": format!("4.{}.{}", rng.random_range(0..20), rng.random_range(0..10)),
                "sessions": rng.random_range(1..900u32),
                "first_used": iso(first_used),
                "last_used": iso(first_used + Duration::days(rng.random_range(0..300))),
            })
        })
        .collect();
    let device_lines: Vec<Value> = devices
        .iter()
        .map(|(model, os, _)| {
            json!({
                "model": model,
                "os": os,
                "carrier": pick(&mut rng, &CARRIERS),
                "idfv": hex(&mut rng, 32),
                "ad_tracking_enabled": rng.random_bool(0.5),
            })
        })
        .collect();
    let mut push_tokens: Vec<Value> = Vec::new();
    if rng.random_bool(0.3) {
        let platform = devices[0].2;
        push_tokens.push(json!({"app": "Acme", "platform": platform, "token": hex(&mut rng, 64)}));
    }

    let mut user = json!({
        "external_id": format!("bench-{index:08}"),
        "braze_id": braze_id,
        "first_name": first,
        "last_name": last,
        "email": format!("{}.{}.{index}@example.com", first.to_lowercase(), last.to_lowercase()),
        "phone": format!("{dial}{:07}", rng.random_range(0..10_000_000u32)),
        "country": country,
        "language": language,
        "time_zone": zone,
        "dob": format!("{}-{:02}-{:02}", rng.random_range(1950..2006), rng.random_range(1..13), rng.random_range(1..29)),
        "gender": pick(&mut rng, &GENDERS),
        "home_city": city,
        "created_at": created.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
        "custom_attributes": custom,
        "custom_events": events,
        "purchases": purchases,
        "apps": apps,
        "devices": device_lines,
        "push_tokens": push_tokens,
        "email_subscribe": pick(&mut rng, &SUBSCRIBE),
        "push_subscribe": pick(&mut rng, &SUBSCRIBE),
        "random_bucket": rng.random_range(0..10_000u32),
    });
    if rng.random_bool(0.4) {
        user["user_aliases"] =
            json!([{"alias_name": format!("lead-{index:08}"), "alias_label": "crm_lead"}]);
    }
    user
}

/// `POST /braze/exports/synthetic`: writes the files ([`PARALLEL_FILES`] at a time), records
/// the export, answers once every file is written and then sends the callback in the
/// background.
pub(crate) async fn run(
    app: &Arc<App>,
    req: SyntheticExport,
) -> Result<SyntheticExportStarted, SyntheticError> {
    if req.segment_id.is_empty() {
        return Err(SyntheticError::Invalid("segment_id is required".into()));
    }
    if req.users_per_file == 0 || req.members_per_zip == 0 {
        return Err(SyntheticError::Invalid(
            "users_per_file and members_per_zip must be at least 1".into(),
        ));
    }
    if let Some(cb) = &req.callback_endpoint {
        let ok = url::Url::parse(cb).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(SyntheticError::Invalid(
                "callback_endpoint must be an http(s) URL".into(),
            ));
        }
    }
    let Some(storage) = app.exports.bucket() else {
        return Err(SyntheticError::Invalid(segment_export::NO_BUCKET.into()));
    };
    let now = Utc::now();
    let date_shift = app.settings().export.date_shift_days;
    let object_prefix = format!("{}-{}", uuid::Uuid::new_v4(), now.timestamp());
    let date = (now + Duration::days(date_shift)).format("%Y-%m-%d");
    let key_prefix = format!("segment-export/{}/{date}/{object_prefix}/", req.segment_id);
    app.exports.push(ExportRecord::running(
        &req.segment_id,
        &object_prefix,
        req.output_format.as_str(),
        &storage.config.bucket,
        &key_prefix,
        req.callback_endpoint.clone(),
        now,
    ));
    tracing::info!(segment = %req.segment_id, %object_prefix, users = req.users, "synthetic export started");

    let starts: Vec<usize> = (0..req.users).step_by(req.users_per_file).collect();
    let written = futures::stream::iter(starts)
        .map(|first| {
            let storage = storage.clone();
            let key_prefix = key_prefix.clone();
            let (count, seed, format, members) = (
                req.users_per_file.min(req.users - first),
                req.seed,
                req.output_format,
                req.members_per_zip,
            );
            async move {
                let bytes = tokio::task::spawn_blocking(move || {
                    synthetic_export_file(first, count, seed, format, members)
                })
                .await
                .map_err(|e| format!("building file {first}: {e}"))?;
                let key = format!(
                    "{key_prefix}bench-{first:08}-{}{}",
                    uuid::Uuid::new_v4().simple(),
                    archive::extension(format)
                );
                storage.put(&key, bytes, format).await?;
                Ok::<_, String>((first, key, count))
            }
        })
        .buffer_unordered(PARALLEL_FILES)
        .try_collect::<Vec<_>>()
        .await;
    let mut written = match written {
        Ok(w) => w,
        Err(e) => {
            app.exports.update(&object_prefix, |r| {
                r.state = ExportState::Failed;
                r.error = Some(e.clone());
                r.finished_at = Some(Utc::now());
            });
            return Err(SyntheticError::Storage(e));
        }
    };
    written.sort_by_key(|(first, _, _)| *first);
    let files: Vec<String> = written.iter().map(|(_, key, _)| key.clone()).collect();
    app.exports.update(&object_prefix, |r| {
        r.files = files.clone();
        r.users = req.users as u64;
        r.lines = req.users as u64;
        if req.callback_endpoint.is_none() {
            r.state = ExportState::Completed;
            r.finished_at = Some(Utc::now());
        }
    });
    if let Some(url) = req.callback_endpoint {
        let app = app.clone();
        let prefix = object_prefix.clone();
        tokio::spawn(async move {
            let (status, error) = segment_export::callback(&app.http, &url).await;
            app.exports.update(&prefix, |r| {
                r.state = ExportState::Completed;
                r.callback_status = status;
                r.error = error;
                r.finished_at = Some(Utc::now());
            });
        });
    }
    Ok(SyntheticExportStarted {
        object_prefix,
        files,
        users: req.users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_users_are_generated_then_lines_average_800_to_1400_bytes_with_every_field() {
        let lines: Vec<String> = (0..500).map(|i| synthetic_user(i, 7).to_string()).collect();
        let average = lines.iter().map(String::len).sum::<usize>() / lines.len();
        assert!(
            (800..1400).contains(&average),
            "average line {average} bytes"
        );
        let user: Value = serde_json::from_str(&lines[42]).expect("JSON line");
        assert_eq!(user["external_id"], "bench-00000042");
        let braze_id = user["braze_id"].as_str().expect("braze_id");
        assert!(braze_id.len() == 24 && braze_id.chars().all(|c| c.is_ascii_hexdigit()));
        for field in [
            "first_name",
            "last_name",
            "email",
            "phone",
            "country",
            "language",
            "time_zone",
            "dob",
            "gender",
            "home_city",
            "created_at",
            "custom_attributes",
            "custom_events",
            "purchases",
            "apps",
            "devices",
            "push_tokens",
            "email_subscribe",
            "push_subscribe",
            "random_bucket",
        ] {
            assert!(user.get(field).is_some(), "{field} missing");
        }
        assert!(lines.iter().any(|l| l.contains("\"user_aliases\"")));
        assert!(
            lines.iter().any(|l| l.contains("\"seats\":\"")),
            "seats as a string sometimes"
        );
    }

    #[test]
    fn when_the_same_seed_is_used_then_files_are_identical_and_another_seed_differs() {
        let a = synthetic_export_file(100, 20, 3, ExportFormat::Zip, 2);
        assert_eq!(a, synthetic_export_file(100, 20, 3, ExportFormat::Zip, 2));
        assert_ne!(a, synthetic_export_file(100, 20, 4, ExportFormat::Zip, 2));
        let gz = synthetic_export_file(0, 5, 3, ExportFormat::Gzip, 1);
        assert_eq!(gz, synthetic_export_file(0, 5, 3, ExportFormat::Gzip, 1));
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
        assert_eq!(&a[..4], b"PK\x03\x04", "zip local header");
    }

    #[test]
    fn when_a_user_is_generated_then_it_depends_only_on_index_and_seed() {
        assert_eq!(synthetic_user(12_345, 9), synthetic_user(12_345, 9));
        assert_ne!(synthetic_user(12_345, 9), synthetic_user(12_346, 9));
        assert_ne!(synthetic_user(12_345, 9), synthetic_user(12_345, 10));
    }
}
