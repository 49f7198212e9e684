//! HubSpot contacts as the admin API seeds and reads them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One HubSpot contact to seed (`POST /hubspot/contacts`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubspotContactSeed {
    /// The object id (`hs_object_id`), e.g. `"101"`.
    pub id: String,
    /// Properties by internal name. Strings, numbers and booleans are stored as HubSpot's
    /// strings; `null` leaves a property unset. `createdate` and `lastmodifieddate` default
    /// to now.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl HubspotContactSeed {
    /// A contact with this id and no properties yet.
    pub fn new(id: impl Into<String>) -> Self {
        HubspotContactSeed {
            id: id.into(),
            properties: Map::new(),
        }
    }

    /// Sets one property.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }
}

/// Body of `POST /hubspot/contacts`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeedHubspotContacts {
    /// Contacts to create, or to replace when the id exists.
    pub contacts: Vec<HubspotContactSeed>,
}

/// What seeding HubSpot contacts did.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HubspotSeedSummary {
    /// Contacts in the body.
    pub seeded: usize,
    /// Of those, ids that did not exist before.
    pub created: usize,
    /// Contacts stored after seeding.
    pub total: usize,
}

/// A HubSpot contact as stored (`GET /hubspot/contacts`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HubspotContactRecord {
    /// The object id.
    pub id: String,
    /// Every property as HubSpot's string, `hs_object_id`, `createdate` and
    /// `lastmodifieddate` included.
    pub properties: BTreeMap<String, String>,
    /// When it was first seeded (`createdAt`).
    pub created_at: DateTime<Utc>,
    /// When it was last seeded (`updatedAt`).
    pub updated_at: DateTime<Utc>,
}
