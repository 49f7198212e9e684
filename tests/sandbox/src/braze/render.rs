//! A profile as Braze exports it: only the requested fields, missing ones omitted.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::profiles::{BrazeProfile, STANDARD_FIELDS};

/// Which export renders the user; they differ in the `created_at` format.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `/users/export/ids`: ISO 8601.
    Ids,
    /// Segment export files: `2020-07-10 15:00:00.000 UTC`.
    Segment,
}

/// What to put in each exported user.
pub(crate) struct Fields {
    fields: Vec<String>,
    /// Custom attributes to keep when `custom_attributes` itself is not requested.
    custom_only: Option<Vec<String>>,
}

impl Fields {
    pub(crate) fn new(
        fields: Vec<String>,
        custom_attributes_to_export: Option<Vec<String>>,
    ) -> Self {
        let custom_only = if fields.iter().any(|f| f == "custom_attributes") {
            None
        } else {
            custom_attributes_to_export.filter(|c| !c.is_empty())
        };
        Fields {
            fields,
            custom_only,
        }
    }
}

/// Renders one user.
pub(crate) fn user(profile: &BrazeProfile, fields: &Fields, style: Style) -> Map<String, Value> {
    let mut out = Map::new();
    for field in &fields.fields {
        let value = match field.as_str() {
            "external_id" => profile.external_id.clone().map(Value::String),
            "braze_id" => Some(Value::String(profile.braze_id.clone())),
            "user_aliases" => (!profile.user_aliases.is_empty())
                .then(|| serde_json::to_value(&profile.user_aliases).unwrap_or(Value::Null)),
            "created_at" => Some(Value::String(match style {
                Style::Ids => profile
                    .created_at
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string(),
                Style::Segment => profile
                    .created_at
                    .format("%Y-%m-%d %H:%M:%S%.3f UTC")
                    .to_string(),
            })),
            "random_bucket" => Some(json!(profile.random_bucket)),
            "custom_attributes" => (!profile.custom_attributes.is_empty())
                .then(|| Value::Object(profile.custom_attributes.clone())),
            "custom_events" => aggregate(
                profile
                    .events
                    .iter()
                    .map(|e| (e.name.as_str(), time_text(&e.time))),
            ),
            "purchases" => aggregate(
                profile
                    .purchases
                    .iter()
                    .map(|p| (p.product_id.as_str(), time_text(&p.time))),
            ),
            name if STANDARD_FIELDS.contains(&name) => profile.attributes.get(name).cloned(),
            // apps, devices, push_tokens, ...: the sandbox has none; missing fields are omitted.
            _ => None,
        };
        if let Some(v) = value {
            out.insert(field.clone(), v);
        }
    }
    if let Some(names) = &fields.custom_only {
        let picked: Map<String, Value> = names
            .iter()
            .filter_map(|n| Some((n.clone(), profile.custom_attributes.get(n)?.clone())))
            .collect();
        if !picked.is_empty() {
            out.insert("custom_attributes".into(), Value::Object(picked));
        }
    }
    out
}

fn time_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `[{name, first, last, count}]` per name, as Braze summarises events and purchases.
fn aggregate<'a>(items: impl Iterator<Item = (&'a str, String)>) -> Option<Value> {
    let mut by_name: BTreeMap<&str, (String, String, u64)> = BTreeMap::new();
    for (name, time) in items {
        let entry = by_name
            .entry(name)
            .or_insert_with(|| (time.clone(), time.clone(), 0));
        if time < entry.0 {
            entry.0 = time.clone();
        }
        if time > entry.1 {
            entry.1 = time;
        }
        entry.2 += 1;
    }
    (!by_name.is_empty()).then(|| {
        Value::Array(
            by_name
                .into_iter()
                .map(|(name, (first, last, count))| {
                    json!({ "name": name, "first": first, "last": last, "count": count })
                })
                .collect(),
        )
    })
}
