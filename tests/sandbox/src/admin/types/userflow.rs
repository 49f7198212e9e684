//! Userflow state as the admin API reads it: users, groups and events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Userflow user as stored (`GET /userflow/users`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserflowUserRecord {
    /// User id.
    pub id: String,
    /// Attributes.
    pub attributes: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Memberships by group id: membership attributes.
    pub memberships: BTreeMap<String, Map<String, Value>>,
}

/// A Userflow group as stored (`GET /userflow/groups`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserflowGroupRecord {
    /// Group id.
    pub id: String,
    /// Attributes.
    pub attributes: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A Userflow event as stored (`GET /userflow/events`), duplicates included.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserflowEventRecord {
    /// Generated event id.
    pub id: String,
    /// Event name (case-sensitive).
    pub name: String,
    /// User id, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Group id, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Event attributes.
    pub attributes: Map<String, Value>,
    /// When it was received.
    pub created_at: DateTime<Utc>,
}
