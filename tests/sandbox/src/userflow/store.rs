//! Userflow's state: users (with their memberships), groups and events.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Map;

use crate::admin::types::{UserflowEventRecord, UserflowGroupRecord, UserflowUserRecord};

/// Users, groups and events.
#[derive(Default)]
pub(crate) struct UserflowStore {
    pub(crate) users: BTreeMap<String, UserflowUserRecord>,
    pub(crate) groups: BTreeMap<String, UserflowGroupRecord>,
    /// Events by sequence number (arrival order).
    pub(super) events: BTreeMap<u64, UserflowEventRecord>,
    /// user_id -> sequence numbers of its events, so deleting a user stays cheap.
    events_by_user: HashMap<String, Vec<u64>>,
    pub(super) next_event: u64,
}

impl UserflowStore {
    /// Every event in arrival order, duplicates included.
    pub(crate) fn events(&self) -> impl Iterator<Item = &UserflowEventRecord> {
        self.events.values()
    }

    /// A copy of the group to change, or a new one.
    pub(super) fn group_or_new(&self, id: &str, now: DateTime<Utc>) -> UserflowGroupRecord {
        self.groups
            .get(id)
            .cloned()
            .unwrap_or_else(|| UserflowGroupRecord {
                id: id.to_owned(),
                attributes: Map::new(),
                created_at: now,
            })
    }

    pub(super) fn add_event(&mut self, event: UserflowEventRecord) {
        if let Some(user) = &event.user_id {
            let seqs = self.events_by_user.entry(user.clone()).or_default();
            seqs.push(self.next_event);
        }
        self.events.insert(self.next_event, event);
    }

    pub(super) fn remove_events_of(&mut self, user_id: &str) {
        for seq in self.events_by_user.remove(user_id).unwrap_or_default() {
            self.events.remove(&seq);
        }
    }
}
