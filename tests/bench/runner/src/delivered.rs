//! Whether every contact a load run sent reached the sandbox: one Braze profile and one
//! Userflow user per external id, and its `signed_up` event, read through the admin API.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sandbox::{AdminClient, BrazeUserQuery};
use tokio::time::Instant;

/// Braze profiles read per admin call.
const PAGE: usize = 5_000;

/// What the sandbox holds of the contacts sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Contacts sent.
    pub expected: usize,
    /// Sent ids with exactly one Braze profile.
    pub braze_once: usize,
    /// Sent ids with more than one Braze profile.
    pub braze_duplicated: usize,
    /// Sent ids in Userflow (its users are keyed by id: at most once).
    pub userflow: usize,
    /// Sent ids with exactly one `signed_up` event.
    pub events_once: usize,
    /// Sent ids with more than one `signed_up` event.
    pub events_duplicated: usize,
}

impl Delivery {
    /// Every contact is in Braze and Userflow exactly once.
    pub fn complete(&self) -> bool {
        self.braze_once == self.expected
            && self.braze_duplicated == 0
            && self.userflow == self.expected
    }

    /// Contacts missing from Braze or Userflow (the larger of the two).
    pub fn lost(&self) -> usize {
        let braze = self.expected - self.braze_once - self.braze_duplicated;
        braze.max(self.expected - self.userflow)
    }

    /// One line for errors and progress.
    pub fn summary(&self) -> String {
        format!(
            "of {} contacts: {} in Braze once ({} more than once), {} in Userflow, \
             `signed_up` once for {} ({} more than once)",
            self.expected,
            self.braze_once,
            self.braze_duplicated,
            self.userflow,
            self.events_once,
            self.events_duplicated
        )
    }
}

/// Counts the sent `ids` in the sandbox's Braze and Userflow state.
pub async fn check(admin: &AdminClient, ids: &[String]) -> Result<Delivery, String> {
    let sent: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let admin_error = |e: sandbox::AdminError| format!("sandbox admin API: {e}");
    let mut profiles: HashMap<String, usize> = HashMap::new();
    let mut offset = 0;
    loop {
        let page = admin
            .braze_users(&BrazeUserQuery {
                offset: Some(offset),
                limit: Some(PAGE),
                ..BrazeUserQuery::default()
            })
            .await
            .map_err(admin_error)?;
        let read = page.users.len();
        for id in page.users.into_iter().filter_map(|p| p.external_id) {
            *profiles.entry(id).or_default() += 1;
        }
        offset += read;
        if read == 0 || offset >= page.total {
            break;
        }
    }
    let users: HashSet<String> = admin
        .userflow_users()
        .await
        .map_err(admin_error)?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut events: HashMap<String, usize> = HashMap::new();
    let signup_event = relay_core::delivery::DEFAULT_SIGNUP_EVENT_NAME;
    for event in admin
        .userflow_events(None, Some(signup_event))
        .await
        .map_err(admin_error)?
    {
        if let Some(user) = event.user_id {
            *events.entry(user).or_default() += 1;
        }
    }
    let count = |map: &HashMap<String, usize>, wanted: fn(usize) -> bool| {
        sent.iter()
            .filter(|id| map.get(**id).is_some_and(|n| wanted(*n)))
            .count()
    };
    Ok(Delivery {
        expected: sent.len(),
        braze_once: count(&profiles, |n| n == 1),
        braze_duplicated: count(&profiles, |n| n > 1),
        userflow: sent.iter().filter(|id| users.contains(**id)).count(),
        events_once: count(&events, |n| n == 1),
        events_duplicated: count(&events, |n| n > 1),
    })
}

/// Checks every few seconds until every contact is delivered (with its event) or `timeout`
/// passes; returns the last count and how long it took.
pub async fn wait(
    admin: &AdminClient,
    ids: &[String],
    timeout: Duration,
) -> Result<(Delivery, Duration), String> {
    let started = Instant::now();
    loop {
        let delivery = check(admin, ids).await?;
        let done = delivery.complete()
            && delivery.events_once + delivery.events_duplicated == delivery.expected;
        if done || started.elapsed() >= timeout {
            return Ok((delivery, started.elapsed()));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_contacts_are_missing_then_the_delivery_is_incomplete_and_counts_them_lost() {
        let delivery = Delivery {
            expected: 10,
            braze_once: 9,
            braze_duplicated: 0,
            userflow: 7,
            events_once: 7,
            events_duplicated: 0,
        };
        assert!(!delivery.complete());
        assert_eq!(delivery.lost(), 3);
        let whole = Delivery {
            braze_once: 10,
            userflow: 10,
            ..delivery
        };
        assert!(whole.complete());
        assert_eq!(whole.lost(), 0);
    }
}
