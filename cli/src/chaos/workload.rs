//! What every cell plays: signups from a CRM (some invalid), erasure requests, and a segment
//! export, sized by the scale.

use std::time::Duration;

use serde_json::{Value, json};

use super::reconcile::SignupInputs;

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// Seconds per cell: the seeded version `make test` runs.
    Short,
    /// About a minute per cell: `make chaos`.
    Full,
}

/// One cell's workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Contacts sent.
    pub signups: usize,
    /// Contacts per webhook request.
    pub per_request: usize,
    /// Every this many contacts, one has a malformed email (to be rejected).
    pub invalid_every: usize,
    /// Requests in flight at once.
    pub senders: usize,
    /// How long the fault lasts; the signups are spread over it.
    pub window: Duration,
    /// Erasure requests enqueued.
    pub erasures: usize,
    /// Users in the exported segment.
    pub export_users: usize,
    /// Users per export file.
    pub users_per_file: usize,
}

impl Scale {
    /// The workload of this scale.
    pub fn workload(self) -> Workload {
        match self {
            Scale::Short => Workload {
                signups: 60,
                per_request: 10,
                invalid_every: 15,
                senders: 4,
                window: Duration::from_secs(6),
                erasures: 6,
                export_users: 300,
                users_per_file: 100,
            },
            Scale::Full => Workload {
                signups: 2_000,
                per_request: 20,
                invalid_every: 50,
                senders: 8,
                window: Duration::from_secs(30),
                erasures: 100,
                export_users: 10_000,
                users_per_file: 2_000,
            },
        }
    }
}

/// The signup prefix of a cell's contacts: ids say which cell and run made them.
pub fn id_prefix(cell: &str, seed: u64) -> String {
    format!("chaos-{cell}-{seed}-")
}

/// The contacts of one cell, in request-sized batches, and which of them are invalid.
pub fn signups(workload: &Workload, prefix: &str) -> (Vec<Vec<Value>>, SignupInputs) {
    let mut inputs = SignupInputs::default();
    let contacts: Vec<Value> = (1..=workload.signups)
        .map(|n| {
            let id = format!("{prefix}{n:05}");
            let invalid = n % workload.invalid_every == 0;
            let email = if invalid {
                format!("{id}.example.com")
            } else {
                format!("{id}@example.com")
            };
            if invalid {
                inputs.invalid.push(id.clone());
            } else {
                inputs.valid.push(id.clone());
            }
            json!({
                "external_id": id,
                "email": email,
                "first_name": "Chaos",
                "last_name": "Monkey",
                "signed_up_at": "2026-12-07T10:00:00Z",
            })
        })
        .collect();
    let batches = contacts
        .chunks(workload.per_request)
        .map(<[Value]>::to_vec)
        .collect();
    (batches, inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_signups_are_made_then_every_contact_is_in_one_batch_and_one_input_list() {
        let workload = Scale::Short.workload();
        let (batches, inputs) = signups(&workload, "p-");
        let sent: Vec<&str> = batches
            .iter()
            .flatten()
            .filter_map(|c| c["external_id"].as_str())
            .collect();
        assert_eq!(sent.len(), workload.signups);
        assert!(batches.iter().all(|b| b.len() <= workload.per_request));
        assert_eq!(inputs.valid.len() + inputs.invalid.len(), workload.signups);
        assert_eq!(
            inputs.invalid.len(),
            workload.signups / workload.invalid_every
        );
        for batch in &batches {
            for contact in batch {
                let id = contact["external_id"].as_str().unwrap_or_default();
                let email = contact["email"].as_str().unwrap_or_default();
                assert_eq!(inputs.invalid.iter().any(|i| i == id), !email.contains('@'));
            }
        }
    }
}
