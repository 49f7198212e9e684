//! HubSpot contacts by object id, with an email index for `idProperty=email`. Contacts exist
//! only through the admin API's seeding.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::admin::types::{HubspotContactRecord, HubspotContactSeed, HubspotSeedSummary};

/// Contacts by object id, with an email index for `idProperty=email`.
#[derive(Default)]
pub(crate) struct HubspotStore {
    contacts: BTreeMap<String, HubspotContactRecord>,
    /// Lower-cased email -> object id.
    by_email: HashMap<String, String>,
}

impl HubspotStore {
    /// Creates or replaces contacts. Every seed is checked before any is stored; the error
    /// names the JSON path of the first bad one (never its value).
    pub(crate) fn seed(
        &mut self,
        seeds: Vec<HubspotContactSeed>,
        now: DateTime<Utc>,
    ) -> Result<HubspotSeedSummary, String> {
        let mut prepared = Vec::with_capacity(seeds.len());
        for (index, seed) in seeds.into_iter().enumerate() {
            if seed.id.trim().is_empty() {
                return Err(format!("contacts[{index}].id must not be empty"));
            }
            let mut properties = BTreeMap::new();
            for (name, value) in seed.properties {
                let text = match value {
                    Value::Null => continue,
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Array(_) | Value::Object(_) => {
                        return Err(format!(
                            "contacts[{index}].properties.{name}: HubSpot property values are strings, numbers or booleans"
                        ));
                    }
                };
                properties.insert(name, text);
            }
            prepared.push((seed.id, properties));
        }
        let seeded = prepared.len();
        let mut created = HashSet::new();
        for (id, mut properties) in prepared {
            let previous = self.contacts.remove(&id);
            if let Some(old) = &previous {
                self.unindex(old);
            } else {
                created.insert(id.clone());
            }
            let created_at = previous.as_ref().map_or(now, |p| p.created_at);
            let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
            properties.insert("hs_object_id".into(), id.clone());
            properties
                .entry("createdate".into())
                .or_insert_with(|| stamp(created_at));
            properties
                .entry("lastmodifieddate".into())
                .or_insert_with(|| stamp(now));
            let record = HubspotContactRecord {
                id: id.clone(),
                properties,
                created_at,
                updated_at: now,
            };
            if let Some(email) = record.properties.get("email") {
                self.by_email.insert(email.to_lowercase(), id.clone());
            }
            self.contacts.insert(id, record);
        }
        Ok(HubspotSeedSummary {
            seeded,
            created: created.len(),
            total: self.contacts.len(),
        })
    }

    fn unindex(&mut self, record: &HubspotContactRecord) {
        if let Some(email) = record.properties.get("email") {
            let key = email.to_lowercase();
            if self.by_email.get(&key) == Some(&record.id) {
                self.by_email.remove(&key);
            }
        }
    }

    /// Every contact ordered by id, or the one with `id`.
    pub(crate) fn list(&self, id: Option<&str>) -> Vec<HubspotContactRecord> {
        match id {
            Some(id) => self.contacts.get(id).cloned().into_iter().collect(),
            None => self.contacts.values().cloned().collect(),
        }
    }

    /// The contact `key` names: an object id, or a value of `id_property` (emails match
    /// case-insensitively).
    pub(super) fn find(
        &self,
        key: &str,
        id_property: Option<&str>,
    ) -> Option<&HubspotContactRecord> {
        match id_property {
            None | Some("hs_object_id") => self.contacts.get(key),
            Some("email") => self
                .by_email
                .get(&key.to_lowercase())
                .and_then(|id| self.contacts.get(id)),
            Some(name) => self
                .contacts
                .values()
                .find(|c| c.properties.get(name).is_some_and(|v| v == key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn seed(id: &str, email: &str) -> HubspotContactSeed {
        HubspotContactSeed::new(id).property("email", email)
    }

    #[test]
    fn when_a_contact_is_reseeded_then_the_email_index_follows_it() {
        let mut store = HubspotStore::default();
        let now = Utc::now();
        let summary = store
            .seed(
                vec![seed("1", "A@example.com"), seed("2", "b@example.com")],
                now,
            )
            .unwrap();
        assert_eq!((summary.seeded, summary.created, summary.total), (2, 2, 2));
        assert_eq!(store.find("a@EXAMPLE.com", Some("email")).unwrap().id, "1");

        let summary = store.seed(vec![seed("1", "c@example.com")], now).unwrap();
        assert_eq!((summary.created, summary.total), (0, 2));
        assert!(store.find("a@example.com", Some("email")).is_none());
        assert_eq!(store.find("c@example.com", Some("email")).unwrap().id, "1");
        assert_eq!(
            store.find("2", None).unwrap().properties["hs_object_id"],
            "2"
        );
    }

    #[test]
    fn when_a_seed_has_an_object_value_then_nothing_is_stored_and_the_path_is_named() {
        let mut store = HubspotStore::default();
        let bad = HubspotContactSeed::new("2").property("address", json!({"city": "X"}));
        let error = store
            .seed(vec![seed("1", "a@example.com"), bad], Utc::now())
            .unwrap_err();
        assert!(
            error.starts_with("contacts[1].properties.address"),
            "{error}"
        );
        assert!(store.list(None).is_empty());
    }
}
