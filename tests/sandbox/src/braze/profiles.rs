//! Braze user profiles in memory, indexed by braze_id, external_id, alias, email and phone.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A user alias (`alias_name` is case-sensitive).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserAlias {
    /// Alias name.
    pub alias_name: String,
    /// Alias label.
    pub alias_label: String,
}

/// A custom event recorded through `/users/track`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoredEvent {
    /// Event name.
    pub name: String,
    /// `time` as sent.
    pub time: Value,
    /// `properties` as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
}

/// A purchase recorded through `/users/track`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoredPurchase {
    /// Product id.
    pub product_id: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Price as sent.
    pub price: Value,
    /// Quantity, if sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Value>,
    /// `time` as sent.
    pub time: Value,
    /// `properties` as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
}

/// One Braze user profile as the sandbox stores it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BrazeProfile {
    /// Braze's own id (24 hex characters, increasing in creation order).
    pub braze_id: String,
    /// External id, absent for alias-only profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Aliases.
    #[serde(default)]
    pub user_aliases: Vec<UserAlias>,
    /// Standard fields (`first_name`, `email`, `phone`, `country`, ...), values as stored.
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Custom attributes, values with the types they were stored with.
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// Custom events, in arrival order.
    #[serde(default)]
    pub events: Vec<StoredEvent>,
    /// Purchases, in arrival order.
    #[serde(default)]
    pub purchases: Vec<StoredPurchase>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Braze's random bucket number (0..10000), derived from the braze_id.
    pub random_bucket: u32,
}

/// Standard profile fields: stored in [`BrazeProfile::attributes`], everything else in
/// `custom_attributes`.
pub(crate) const STANDARD_FIELDS: [&str; 15] = [
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
    "email_subscribe",
    "push_subscribe",
    "image_url",
    "date_of_first_session",
    "date_of_last_session",
];

/// Phones are matched on their digits only (`+1 (415) 555-0100` = `14155550100`).
pub(crate) fn phone_key(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// Emails are matched case-insensitively.
pub(crate) fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// The profile store.
#[derive(Default)]
pub(crate) struct Profiles {
    users: BTreeMap<String, BrazeProfile>,
    by_external: HashMap<String, String>,
    by_alias: HashMap<UserAlias, String>,
    by_email: HashMap<String, Ids>,
    by_phone: HashMap<String, Ids>,
    /// Segment id -> member braze_ids, in seeding order (shared with running exports).
    pub(crate) segments: BTreeMap<String, Arc<[String]>>,
    next: u64,
    /// What `/users/delete` did, for the admin API.
    pub(crate) deletions: crate::admin::types::BrazeDeletions,
}

/// braze_ids sharing an email or phone, sorted (oldest first). Nearly always one id: a plain
/// vector costs a fraction of a B-tree set's node.
type Ids = Vec<String>;

/// Identity fields before a change, to fix the indexes afterwards.
struct Keys {
    external_id: Option<String>,
    aliases: Vec<UserAlias>,
    email: Option<String>,
    phone: Option<String>,
}

fn keys_of(p: &BrazeProfile) -> Keys {
    Keys {
        external_id: p.external_id.clone(),
        aliases: p.user_aliases.clone(),
        email: p
            .attributes
            .get("email")
            .and_then(Value::as_str)
            .map(email_key),
        phone: p
            .attributes
            .get("phone")
            .and_then(Value::as_str)
            .map(phone_key),
    }
}

impl Profiles {
    /// Number of profiles.
    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }

    /// Every profile in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &BrazeProfile> {
        self.users.values()
    }

    /// A profile by braze_id.
    pub(crate) fn get(&self, braze_id: &str) -> Option<&BrazeProfile> {
        self.users.get(braze_id)
    }

    /// Creates an empty profile and returns its braze_id.
    pub(crate) fn create(&mut self, now: DateTime<Utc>) -> String {
        self.next += 1;
        // Looks like a Mongo ObjectId, sorts in creation order.
        let braze_id = format!(
            "{:024x}",
            0x64a1_0000_0000_0000_0000_0000_u128 + self.next as u128
        );
        let random_bucket = (self.next.wrapping_mul(2_654_435_761) % 10_000) as u32;
        self.users.insert(
            braze_id.clone(),
            BrazeProfile {
                braze_id: braze_id.clone(),
                external_id: None,
                user_aliases: Vec::new(),
                attributes: Map::new(),
                custom_attributes: Map::new(),
                events: Vec::new(),
                purchases: Vec::new(),
                created_at: now,
                updated_at: now,
                random_bucket,
            },
        );
        braze_id
    }

    /// Changes a profile through `f` and keeps the indexes right. The caller must not give an
    /// external_id or alias that another profile already holds (see the lookups).
    pub(crate) fn update<R>(
        &mut self,
        braze_id: &str,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut BrazeProfile) -> R,
    ) -> Option<R> {
        let profile = self.users.get_mut(braze_id)?;
        let before = keys_of(profile);
        let result = f(profile);
        profile.updated_at = now;
        let after = keys_of(profile);
        self.unindex(braze_id, &before);
        self.index(braze_id, &after);
        Some(result)
    }

    /// Removes a profile; returns it when it existed.
    pub(crate) fn remove(&mut self, braze_id: &str) -> Option<BrazeProfile> {
        let profile = self.users.remove(braze_id)?;
        self.unindex(braze_id, &keys_of(&profile));
        Some(profile)
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        *self = Profiles::default();
    }

    fn unindex(&mut self, braze_id: &str, keys: &Keys) {
        if let Some(ext) = &keys.external_id
            && self.by_external.get(ext).is_some_and(|id| id == braze_id)
        {
            self.by_external.remove(ext);
        }
        for alias in &keys.aliases {
            if self.by_alias.get(alias).is_some_and(|id| id == braze_id) {
                self.by_alias.remove(alias);
            }
        }
        remove_from(&mut self.by_email, keys.email.as_deref(), braze_id);
        remove_from(&mut self.by_phone, keys.phone.as_deref(), braze_id);
    }

    fn index(&mut self, braze_id: &str, keys: &Keys) {
        if let Some(ext) = &keys.external_id {
            self.by_external.insert(ext.clone(), braze_id.to_owned());
        }
        for alias in &keys.aliases {
            self.by_alias.insert(alias.clone(), braze_id.to_owned());
        }
        add_to(&mut self.by_email, keys.email.as_deref(), braze_id);
        add_to(&mut self.by_phone, keys.phone.as_deref(), braze_id);
    }

    /// braze_id of the profile with this external_id.
    pub(crate) fn by_external_id(&self, external_id: &str) -> Option<String> {
        self.by_external.get(external_id).cloned()
    }

    /// braze_id of the profile holding this alias.
    pub(crate) fn by_alias(&self, alias: &UserAlias) -> Option<String> {
        self.by_alias.get(alias).cloned()
    }

    /// braze_ids of every profile with this email (case-insensitive), oldest first.
    pub(crate) fn by_email(&self, email: &str) -> Vec<String> {
        self.by_email
            .get(&email_key(email))
            .cloned()
            .unwrap_or_default()
    }

    /// braze_ids of every profile with this phone (digits compared), oldest first.
    pub(crate) fn by_phone(&self, phone: &str) -> Vec<String> {
        self.by_phone
            .get(&phone_key(phone))
            .cloned()
            .unwrap_or_default()
    }

    /// Among several profiles, the most recently updated one.
    pub(crate) fn most_recent(&self, ids: &[String]) -> Option<String> {
        ids.iter()
            .filter_map(|id| self.users.get(id))
            .max_by_key(|p| (p.updated_at, p.braze_id.clone()))
            .map(|p| p.braze_id.clone())
    }
}

fn add_to(index: &mut HashMap<String, Ids>, key: Option<&str>, braze_id: &str) {
    let Some(key) = key else { return };
    let ids = index.entry(key.to_owned()).or_default();
    if let Err(at) = ids.binary_search_by(|id| id.as_str().cmp(braze_id)) {
        ids.insert(at, braze_id.to_owned());
    }
}

fn remove_from(index: &mut HashMap<String, Ids>, key: Option<&str>, braze_id: &str) {
    if let Some(key) = key
        && let Some(ids) = index.get_mut(key)
    {
        ids.retain(|id| id != braze_id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_email_changes_then_the_email_index_follows() {
        let mut store = Profiles::default();
        let now = Utc::now();
        let id = store.create(now);
        store.update(&id, now, |p| {
            p.attributes.insert("email".into(), json!("A@Example.com"));
        });
        assert_eq!(store.by_email("a@example.com"), vec![id.clone()]);
        store.update(&id, now, |p| {
            p.attributes.insert("email".into(), json!("b@example.com"));
        });
        assert!(store.by_email("a@example.com").is_empty());
        assert_eq!(store.by_email("B@EXAMPLE.COM"), vec![id.clone()]);
        store.remove(&id);
        assert!(store.by_email("b@example.com").is_empty());
    }

    #[test]
    fn when_profiles_are_created_then_braze_ids_sort_in_creation_order() {
        let mut store = Profiles::default();
        let now = Utc::now();
        let a = store.create(now);
        let b = store.create(now);
        assert_eq!(a.len(), 24);
        assert!(a < b);
        let order: Vec<&str> = store.iter().map(|p| p.braze_id.as_str()).collect();
        assert_eq!(order, vec![a.as_str(), b.as_str()]);
    }
}
