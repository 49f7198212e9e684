//! Deterministic synthetic Braze profiles for a segment.
//!
//! Of every 100 profiles about 88 have an external_id (`<prefix><index:06>`; a third of them
//! also carry a `crm_lead` alias), 8 are alias-only with their own email, and 4 are alias-only
//! duplicates sharing the email (in another letter case) of an earlier profile that has an
//! external_id. Standard fields vary (phones are not always normalised, some fields are
//! missing); custom attributes mix strings, numbers (sometimes stored as strings), booleans,
//! arrays, nested objects and dates.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use super::profiles::{Profiles, UserAlias};
use crate::admin::types::{SeedSegment, SeedSummary};

const FIRST: [&str; 16] = [
    "Ada", "Bruno", "Chloé", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kavya",
    "Liam", "Mei", "Nadia", "Omar", "Priya",
];
const LAST: [&str; 16] = [
    "Lovelace", "Silva", "Martin", "Ivanov", "Yilmaz", "Adeyemi", "Berg", "Tanaka", "García",
    "Müller", "Rao", "O'Brien", "Chen", "Haddad", "Farouk", "Nair",
];
const PLACES: [(&str, &str, &str, &str); 8] = [
    ("US", "en", "America/New_York", "Boston"),
    ("US", "es", "America/Los_Angeles", "San Diego"),
    ("GB", "en", "Europe/London", "Leeds"),
    ("DE", "de", "Europe/Berlin", "Köln"),
    ("FR", "fr", "Europe/Paris", "Lyon"),
    ("BR", "pt", "America/Sao_Paulo", "Recife"),
    ("JP", "ja", "Asia/Tokyo", "Osaka"),
    ("IN", "hi", "Asia/Kolkata", "Pune"),
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
const GENDERS: [&str; 6] = ["M", "F", "O", "N", "P", "U"];
const SUBSCRIBE: [&str; 3] = ["opted_in", "subscribed", "unsubscribed"];

/// Seeds `req.count` profiles (plus the named existing ones) into the segment, replacing its
/// membership.
pub(crate) fn seed(store: &mut Profiles, req: &SeedSegment, now: DateTime<Utc>) -> SeedSummary {
    let mut rng = StdRng::seed_from_u64(req.seed);
    let prefix = req
        .external_id_prefix
        .clone()
        .unwrap_or_else(|| format!("{}-", req.segment_id));
    let mut members = Vec::with_capacity(req.count + req.external_ids.len());
    // braze_ids of the identified profiles generated so far: duplicates copy their names.
    let mut identified: Vec<String> = Vec::new();
    let (mut with_external_id, mut alias_only, mut email_duplicates) = (0, 0, 0);
    let base = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(now);

    for i in 0..req.count {
        let roll = rng.random_range(0..100u32);
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        let duplicate_of = (roll < 4 && !identified.is_empty())
            .then(|| &identified[rng.random_range(0..identified.len())])
            .and_then(|id| store.get(id));
        let mut attributes = standard(&mut rng, i, first, last);
        let custom = custom(&mut rng, base);
        let created_at = base + Duration::seconds(rng.random_range(0..126_000_000));

        let (external_id, aliases) = match duplicate_of {
            Some(original) => {
                // Same person, captured earlier as a lead: alias-only, same email in upper case.
                let copy = |field: &str| {
                    let value = original.attributes.get(field).and_then(Value::as_str);
                    value.unwrap_or_default().to_owned()
                };
                attributes.insert("email".into(), json!(copy("email").to_uppercase()));
                attributes.insert("first_name".into(), json!(copy("first_name")));
                attributes.insert("last_name".into(), json!(copy("last_name")));
                email_duplicates += 1;
                alias_only += 1;
                (None, vec![alias(&req.segment_id, "crm_lead", i)])
            }
            None if roll < 12 => {
                alias_only += 1;
                (None, vec![alias(&req.segment_id, "anonymous_visitor", i)])
            }
            None => {
                with_external_id += 1;
                let aliases = if rng.random_bool(0.33) {
                    vec![alias(&req.segment_id, "crm_lead", i)]
                } else {
                    Vec::new()
                };
                (Some(format!("{prefix}{i:06}")), aliases)
            }
        };

        // Re-seeding refreshes the same profiles instead of duplicating them.
        let existing = match &external_id {
            Some(ext) => store.by_external_id(ext),
            None => aliases.first().and_then(|a| store.by_alias(a)),
        };
        let id = existing.unwrap_or_else(|| store.create(now));
        if external_id.is_some() {
            identified.push(id.clone());
        }
        store.update(&id, now, |p| {
            p.external_id = external_id;
            for a in aliases {
                if !p.user_aliases.contains(&a) {
                    p.user_aliases.push(a);
                }
            }
            p.attributes = attributes;
            p.custom_attributes = custom;
            p.created_at = created_at;
        });
        members.push(id);
    }

    let mut unknown_external_ids = Vec::new();
    for ext in &req.external_ids {
        match store.by_external_id(ext) {
            Some(id) => members.push(id),
            None => unknown_external_ids.push(ext.clone()),
        }
    }
    let size = members.len();
    store
        .segments
        .insert(req.segment_id.clone(), members.into());
    SeedSummary {
        segment_id: req.segment_id.clone(),
        size,
        generated: req.count,
        with_external_id,
        alias_only,
        email_duplicates,
        unknown_external_ids,
    }
}

fn alias(segment: &str, label: &str, i: usize) -> UserAlias {
    UserAlias {
        alias_name: format!("{segment}-{label}-{i:06}"),
        alias_label: label.into(),
    }
}

fn standard(rng: &mut StdRng, i: usize, first: &str, last: &str) -> Map<String, Value> {
    let mut a = Map::new();
    let (country, language, time_zone, city) = PLACES[rng.random_range(0..PLACES.len())];
    let ascii = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_lowercase()
    };
    let domain = ["example.com", "example.org", "example.net"][i % 3];
    a.insert("first_name".into(), json!(first));
    a.insert("last_name".into(), json!(last));
    a.insert(
        "email".into(),
        json!(format!("{}.{}.{i}@{domain}", ascii(first), ascii(last))),
    );
    let digits = 1000 + (i % 9000);
    let phone = match rng.random_range(0..5u8) {
        0 => format!("+1415555{digits:04}"),
        1 => format!("(415) 555-{digits:04}"),
        2 => format!("+44 20 7946 {digits:04}"),
        3 => format!("0049 30 1234{digits:04}"),
        _ => String::new(),
    };
    if !phone.is_empty() {
        a.insert("phone".into(), json!(phone));
    }
    a.insert("country".into(), json!(country));
    a.insert("language".into(), json!(language));
    a.insert("time_zone".into(), json!(time_zone));
    a.insert("home_city".into(), json!(city));
    if rng.random_bool(0.8) {
        let dob = format!(
            "{}-{:02}-{:02}",
            rng.random_range(1950..2006),
            rng.random_range(1..13),
            rng.random_range(1..29)
        );
        a.insert("dob".into(), json!(dob));
    }
    if rng.random_bool(0.7) {
        a.insert(
            "gender".into(),
            json!(GENDERS[rng.random_range(0..GENDERS.len())]),
        );
    }
    a.insert(
        "email_subscribe".into(),
        json!(SUBSCRIBE[rng.random_range(0..SUBSCRIBE.len())]),
    );
    a
}

fn custom(rng: &mut StdRng, base: DateTime<Utc>) -> Map<String, Value> {
    let mut c = Map::new();
    let date = |rng: &mut StdRng| {
        (base + Duration::seconds(rng.random_range(0..150_000_000)))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    c.insert(
        "plan".into(),
        json!(PLANS[rng.random_range(0..PLANS.len())]),
    );
    let seats: u32 = rng.random_range(1..500);
    // Braze keeps the type a value was first stored with: some numbers arrive as strings.
    c.insert(
        "seats".into(),
        if rng.random_bool(0.2) {
            json!(seats.to_string())
        } else {
            json!(seats)
        },
    );
    let ltv = f64::from(rng.random_range(0..1_000_000u32)) / 100.0;
    c.insert(
        "lifetime_value".into(),
        if rng.random_bool(0.25) {
            json!(format!("{ltv:.2}"))
        } else {
            json!(ltv)
        },
    );
    c.insert("is_trial".into(), json!(rng.random_bool(0.3)));
    let interests: Vec<&str> = INTERESTS
        .iter()
        .filter(|_| rng.random_bool(0.35))
        .copied()
        .collect();
    c.insert("interests".into(), json!(interests));
    c.insert(
        "company".into(),
        json!({
            "name": format!("Company {}", rng.random_range(1..5000)),
            "size": rng.random_range(1..10_000),
            "billing": { "country": PLACES[rng.random_range(0..PLACES.len())].0, "vat": rng.random_bool(0.5) },
        }),
    );
    c.insert("signed_up_at".into(), json!(date(rng)));
    if rng.random_bool(0.6) {
        c.insert("last_login_at".into(), json!(date(rng)));
    }
    if rng.random_bool(0.5) {
        c.insert("nps_score".into(), json!(rng.random_range(0..11)));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(count: usize, seed: u64) -> (Profiles, SeedSummary) {
        let mut store = Profiles::default();
        let mut req = SeedSegment::new("seg", count);
        req.seed = seed;
        let summary = super::seed(&mut store, &req, Utc::now());
        (store, summary)
    }

    #[test]
    fn when_the_same_seed_is_used_then_the_same_users_are_generated() {
        let (a, sa) = seeded(300, 7);
        let (b, sb) = seeded(300, 7);
        assert_eq!(sa, sb);
        let view = |s: &Profiles| {
            s.iter()
                .map(|p| {
                    (
                        p.external_id.clone(),
                        p.attributes.clone(),
                        p.custom_attributes.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(view(&a), view(&b));
        let (c, _) = seeded(300, 8);
        assert_ne!(view(&a), view(&c));
    }

    #[test]
    fn when_a_segment_is_seeded_then_it_mixes_identified_alias_only_and_email_duplicates() {
        let (store, summary) = seeded(1_000, 1);
        assert_eq!(summary.size, 1_000);
        assert_eq!(store.len(), 1_000);
        assert_eq!(summary.with_external_id + summary.alias_only, 1_000);
        assert!(summary.with_external_id > 800, "{summary:?}");
        assert!(summary.alias_only > 50, "{summary:?}");
        assert!(summary.email_duplicates > 10, "{summary:?}");
        let duplicate = store
            .iter()
            .find(|p| {
                p.external_id.is_none()
                    && p.user_aliases.iter().any(|a| a.alias_label == "crm_lead")
            })
            .expect("an alias-only duplicate");
        let email = duplicate.attributes["email"].as_str().expect("email");
        let sharing = store.by_email(email);
        assert!(sharing.len() >= 2, "email shared by {sharing:?}");
        assert!(
            sharing
                .iter()
                .any(|id| store.get(id).is_some_and(|p| p.external_id.is_some()))
        );
    }

    #[test]
    fn when_a_segment_is_seeded_twice_then_profiles_are_refreshed_not_duplicated() {
        let mut store = Profiles::default();
        let req = SeedSegment::new("seg", 200);
        super::seed(&mut store, &req, Utc::now());
        super::seed(&mut store, &req, Utc::now());
        assert_eq!(store.len(), 200);
    }
}
