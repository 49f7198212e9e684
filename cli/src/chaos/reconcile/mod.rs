//! Reconciliation: where every input of a cell went, from what the run observed. Pure, so
//! every rule is tested as a table.
//!
//! - A signup is **delivered** (one Braze profile, one Userflow user, a signup event),
//!   delivered with its **event unknown** (no event, and the marker says its request was
//!   started: it ended without an answer, or its process died during it; at most once means
//!   it is not sent again), **dead-lettered** (its parked job is in the sync DLQ), **rejected** with a reason in the
//!   webhook's answer, **not acknowledged** (the CRM gave up on its request), or **lost**.
//!   More than one profile, user or signup event for one id is a **duplicate**.
//! - An erasure is **receipted**, **dead-lettered**, or **lost**; a receipted subject Braze or
//!   Userflow still holds is **not erased**.
//! - An export file is **done**, **failed** with a recorded reason, or **unfinished**.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// The signups a cell sent, by external id.
#[derive(Debug, Clone, Default)]
pub struct SignupInputs {
    /// Contacts that pass validation.
    pub valid: Vec<String>,
    /// Contacts built to be refused (a malformed email).
    pub invalid: Vec<String>,
}

/// What the run saw of the signups afterwards.
#[derive(Debug, Clone, Default)]
pub struct SignupObserved {
    /// Contacts of requests the CRM gave up on (never answered 2xx).
    pub not_acknowledged: BTreeSet<String>,
    /// Contacts a 2xx answer listed as rejected, with the rules they broke.
    pub rejected: BTreeMap<String, String>,
    /// Braze profiles per external id.
    pub braze: BTreeMap<String, usize>,
    /// Userflow users per id.
    pub userflow: BTreeMap<String, usize>,
    /// Signup events per Userflow user id.
    pub signed_up: BTreeMap<String, usize>,
    /// Contacts in a job on the sync dead-letter queue.
    pub dead_lettered: BTreeSet<String>,
    /// Contacts whose signup event marker says the request was started (no event seen).
    pub event_unknown: BTreeSet<String>,
}

/// Where the signups went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignupTally {
    /// Contacts sent.
    pub inputs: usize,
    /// In Braze and Userflow, with the signup event.
    pub delivered: usize,
    /// In Braze and Userflow; the signup event's request was started and its outcome is
    /// unknown (no answer, or the process died during it).
    pub event_unknown: usize,
    /// In the sync dead-letter queue.
    pub dead_lettered: usize,
    /// Refused with a reason.
    pub rejected: usize,
    /// Requests never acknowledged (the CRM's retries ran out).
    pub not_acknowledged: usize,
    /// Accounted for nowhere.
    pub lost: usize,
    /// Ids with more than one profile, user or signup event.
    pub duplicated: usize,
    /// Invalid contacts that reached a vendor anyway.
    pub leaked: usize,
    /// The first few lost or duplicated ids, to look them up.
    pub examples: Vec<String>,
}

const EXAMPLES: usize = 5;

impl SignupTally {
    /// Classifies every input.
    pub fn of(inputs: &SignupInputs, seen: &SignupObserved) -> SignupTally {
        let count = |map: &BTreeMap<String, usize>, id: &str| map.get(id).copied().unwrap_or(0);
        let mut tally = SignupTally {
            inputs: inputs.valid.len() + inputs.invalid.len(),
            ..SignupTally::default()
        };
        let example = |tally: &mut SignupTally, id: &str, counts: (usize, usize, usize)| {
            if tally.examples.len() < EXAMPLES {
                tally.examples.push(format!(
                    "{id} (braze {}, userflow {}, signed_up {})",
                    counts.0, counts.1, counts.2
                ));
            }
        };
        let valid = inputs.valid.iter().map(|id| (id, true));
        let invalid = inputs.invalid.iter().map(|id| (id, false));
        for (id, is_valid) in valid.chain(invalid) {
            let counts = (
                count(&seen.braze, id),
                count(&seen.userflow, id),
                count(&seen.signed_up, id),
            );
            let (braze, userflow, events) = counts;
            if braze > 1 || userflow > 1 || events > 1 {
                tally.duplicated += 1;
                example(&mut tally, id, counts);
            }
            if !is_valid && braze + userflow + events > 0 {
                tally.leaked += 1;
                example(&mut tally, id, counts);
            }
            let in_both = is_valid && braze > 0 && userflow > 0;
            if in_both && events > 0 {
                tally.delivered += 1;
            } else if in_both && seen.event_unknown.contains(id) {
                tally.event_unknown += 1;
            } else if seen.rejected.contains_key(id) {
                tally.rejected += 1;
            } else if is_valid && seen.dead_lettered.contains(id) {
                tally.dead_lettered += 1;
            } else if seen.not_acknowledged.contains(id) {
                tally.not_acknowledged += 1;
            } else {
                tally.lost += 1;
                example(&mut tally, id, counts);
            }
        }
        tally
    }

    /// Nothing lost, duplicated or leaked, and every contact somewhere.
    pub fn holds(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.leaked == 0
            && self.not_acknowledged == 0
            && self.delivered + self.event_unknown + self.dead_lettered + self.rejected
                == self.inputs
    }
}

/// What the run saw of the erasure requests.
#[derive(Debug, Clone, Default)]
pub struct ErasureObserved {
    /// Requests with a receipt.
    pub receipted: BTreeSet<String>,
    /// Requests in the erasure dead-letter queue.
    pub dead_lettered: BTreeSet<String>,
    /// Receipted requests whose subject Braze or Userflow still holds.
    pub still_held: BTreeSet<String>,
}

/// Where the erasure requests went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureTally {
    /// Requests enqueued.
    pub requested: usize,
    /// With a receipt.
    pub receipted: usize,
    /// In the dead-letter queue (no receipt).
    pub dead_lettered: usize,
    /// Neither.
    pub lost: usize,
    /// Receipted, yet the subject is still held.
    pub not_erased: usize,
}

impl ErasureTally {
    /// Classifies every request id.
    pub fn of(requested: &[String], seen: &ErasureObserved) -> ErasureTally {
        let mut tally = ErasureTally {
            requested: requested.len(),
            ..ErasureTally::default()
        };
        for id in requested {
            if seen.receipted.contains(id) {
                tally.receipted += 1;
                if seen.still_held.contains(id) {
                    tally.not_erased += 1;
                }
            } else if seen.dead_lettered.contains(id) {
                tally.dead_lettered += 1;
            } else {
                tally.lost += 1;
            }
        }
        tally
    }

    /// Every request receipted (and its subject gone) or dead-lettered.
    pub fn holds(&self) -> bool {
        self.lost == 0 && self.not_erased == 0
    }
}

/// What the run saw of the export.
#[derive(Debug, Clone, Default)]
pub struct ExportObserved {
    /// Files Braze (the sandbox) wrote.
    pub written: usize,
    /// Files the relay's manifest lists.
    pub listed: usize,
    /// Files finished.
    pub done: usize,
    /// Failed files with their recorded reasons.
    pub failed: Vec<(String, String)>,
    /// Lines Braze wrote.
    pub lines_written: u64,
    /// Lines the done files' counts account for.
    pub lines_counted: u64,
}

/// Where the export's files went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportTally {
    /// Files written.
    pub files: usize,
    /// Files finished.
    pub done: usize,
    /// Files failed with a reason.
    pub failed: usize,
    /// The reasons, one per failed file.
    pub reasons: Vec<String>,
    /// Files neither done nor failed with a reason (or never listed).
    pub unfinished: usize,
    /// Lines written minus lines counted, when every file is done (else 0).
    pub lines_unaccounted: i64,
}

impl ExportTally {
    /// Classifies the files.
    pub fn of(seen: &ExportObserved) -> ExportTally {
        let with_reason: Vec<String> = seen
            .failed
            .iter()
            .filter(|(_, reason)| !reason.trim().is_empty())
            .map(|(_, reason)| reason.clone())
            .collect();
        let ended = seen.done + with_reason.len();
        let lines_unaccounted = if seen.failed.is_empty() {
            seen.lines_written as i64 - seen.lines_counted as i64
        } else {
            0
        };
        ExportTally {
            files: seen.written,
            done: seen.done,
            failed: with_reason.len(),
            reasons: with_reason,
            unfinished: seen.written.max(seen.listed).saturating_sub(ended),
            lines_unaccounted,
        }
    }

    /// Every file done or failed with a reason, and every line of a complete export counted.
    pub fn holds(&self) -> bool {
        self.files > 0 && self.unfinished == 0 && self.lines_unaccounted == 0
    }
}

#[cfg(test)]
mod tests;
