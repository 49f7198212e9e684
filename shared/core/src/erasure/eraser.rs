//! Erasing a batch of requests: the deletion-worker's whole job, step by step.
//!
//! For the requests of one SQS batch, each request's steps in order, each step for all
//! requests at once:
//! 1. a request whose receipt exists is done: nothing is sent;
//! 2. its progress is read (a retry resumes where the last attempt stopped);
//! 3. discovery, for the requests that have none yet ([`Discovery`]); with archiving on, the
//!    exported profiles are archived before the targets are recorded;
//! 4. Braze: every profile not yet deleted, of every request, in as few `/users/delete`
//!    calls as the rules allow (by Braze id, 50 per call; a profile Braze gave no Braze id for
//!    by external id);
//! 5. Userflow: `DELETE /users/{id}` for every user not yet deleted, each id once; 404 means
//!    already gone;
//! 6. the receipt, written last; then the progress document is removed.
//!
//! Progress is saved after each step, so a request that fails at step 5 is retried from step
//! 5. A request that fails a step stops there (the others go on) and its outcome says which
//! step and why; the caller reports it as a batch item failure. Each step starts only before
//! the deadline.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::Utc;
use futures::{StreamExt, stream};
use relay_clients::braze::{BrazeClient, DeleteTarget};
use relay_clients::upstream::{FailureClass, ThrottleWatch};
use relay_clients::userflow::{UserflowClient, UserflowError};
use tokio::time::Instant;

use super::archive::ComplianceArchive;
use super::discovery::{BrazeProfile, Discovery, Found, IDENTITY_FIELDS};
use super::progress::{
    ArchiveRecord, BrazeTarget, Discovered, ProgressError, Tracked, UserflowResult, UserflowTarget,
};
use super::receipt::{Receipt, ReceiptCounts, Receipts};
use super::request::ErasureRequest;
use crate::store::{ObjectStore, PutIfAbsent, StoreError};
use relay_clients::braze::DEFAULT_EXPORT_FIELDS;

/// The step an unfinished request stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Reading the receipt or the progress document.
    Load,
    /// Looking the subject up in Braze and Userflow.
    Discovery,
    /// Writing the compliance archive.
    Archive,
    /// Deleting in Braze.
    Braze,
    /// Deleting in Userflow.
    Userflow,
    /// Saving progress or writing the receipt.
    Record,
    /// The invocation's deadline came first.
    Deadline,
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Erasure {
    /// Every target is done and the receipt exists.
    Done {
        /// Written by an earlier attempt: nothing was sent this time.
        earlier: bool,
        /// The receipt's totals (zero when `earlier`).
        counts: ReceiptCounts,
    },
    /// Not finished; the progress document holds what was done. Retry.
    Unfinished {
        /// Where it stopped.
        step: Step,
        /// Transient, throttled, permanent or misconfigured.
        class: FailureClass,
        /// Why (no personal data).
        reason: String,
    },
}

impl Erasure {
    fn unfinished(step: Step, class: FailureClass, reason: impl Into<String>) -> Erasure {
        Erasure::Unfinished {
            step,
            class,
            reason: reason.into(),
        }
    }

    fn progress_failed(step: Step, error: &ProgressError) -> Erasure {
        let class = match error {
            ProgressError::Store(store) => store.class,
            ProgressError::Corrupt { .. } => FailureClass::Permanent,
            ProgressError::Contended => FailureClass::Transient,
        };
        Erasure::unfinished(step, class, error.to_string())
    }
}

/// Everything an erasure needs.
#[derive(Debug)]
pub struct Eraser<S, A> {
    /// Braze.
    pub braze: BrazeClient,
    /// Userflow.
    pub userflow: UserflowClient,
    /// The state bucket: progress and receipts.
    pub state: S,
    /// The compliance archive; `None` when archiving is off.
    pub archive: Option<ComplianceArchive<A>>,
    /// Userflow deletions in flight at once (each waits for the Userflow limiter too).
    pub userflow_concurrency: usize,
}

/// One distinct request of the batch, while it is being worked on.
enum Slot {
    Working(Box<Tracked>),
    Ended(Erasure),
}

impl<S: ObjectStore, A: ObjectStore> Eraser<S, A> {
    /// Starts counting the 429s Braze and Userflow answer the eraser's clients: taken when an
    /// invocation starts, read for its `UpstreamThrottles` metric when it ends.
    pub fn watch_throttles(&self) -> ThrottleWatch {
        ThrottleWatch::start([
            self.braze.throttles().clone(),
            self.userflow.throttles().clone(),
        ])
    }

    /// Erases `requests` (one SQS batch); the outcomes are in the same order. Requests that
    /// share a request id are worked on once and share the outcome.
    pub async fn erase(&self, requests: &[&ErasureRequest], deadline: Instant) -> Vec<Erasure> {
        let mut distinct: Vec<&ErasureRequest> = Vec::new();
        let mut position: HashMap<&str, usize> = HashMap::new();
        let order: Vec<usize> = requests
            .iter()
            .map(|request| {
                *position
                    .entry(request.request_id.as_str())
                    .or_insert_with(|| {
                        distinct.push(request);
                        distinct.len() - 1
                    })
            })
            .collect();

        let mut slots = self.load(&distinct).await;
        self.discover(&distinct, &mut slots, deadline).await;
        self.delete_in_braze(&mut slots, deadline).await;
        self.delete_in_userflow(&mut slots, deadline).await;
        self.write_receipts(&mut slots).await;

        let outcomes: Vec<Erasure> = slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Ended(outcome) => outcome,
                // Every step ends a request or leaves it working; the receipt step ends all.
                Slot::Working(_) => Erasure::unfinished(
                    Step::Record,
                    FailureClass::Transient,
                    "the erasure did not reach its receipt",
                ),
            })
            .collect();
        order.into_iter().map(|at| outcomes[at].clone()).collect()
    }

    /// Steps 1 and 2 for every request.
    async fn load(&self, requests: &[&ErasureRequest]) -> Vec<Slot> {
        // Collected first: a stream over the borrowing closure would not be `Send` for every
        // lifetime, which a spawned handler needs.
        let loads: Vec<_> = requests
            .iter()
            .map(|request| self.load_one(request))
            .collect();
        stream::iter(loads)
            .buffered(STORE_CONCURRENCY)
            .collect()
            .await
    }

    /// Steps 1 and 2: done before, or the progress to resume.
    async fn load_one(&self, request: &ErasureRequest) -> Slot {
        match Receipts::new(&self.state).exists(&request.request_id).await {
            Ok(true) => {
                return Slot::Ended(Erasure::Done {
                    earlier: true,
                    counts: ReceiptCounts::default(),
                });
            }
            Ok(false) => {}
            Err(error) => {
                return Slot::Ended(Erasure::unfinished(
                    Step::Load,
                    error.class,
                    error.to_string(),
                ));
            }
        }
        match Tracked::load(&self.state, request).await {
            Ok(mut tracked) => {
                tracked.progress.attempts += 1;
                Slot::Working(Box::new(tracked))
            }
            Err(error) => Slot::Ended(Erasure::progress_failed(Step::Load, &error)),
        }
    }

    /// Step 3: discovery (and the archive) for every request that has none yet.
    async fn discover(&self, requests: &[&ErasureRequest], slots: &mut [Slot], deadline: Instant) {
        let needed: Vec<usize> = (0..slots.len())
            .filter(|&at| matches!(&slots[at], Slot::Working(t) if t.progress.discovered.is_none()))
            .collect();
        if needed.is_empty() {
            return;
        }
        if past(deadline, slots, &needed) {
            return;
        }
        let fields: Vec<String> = match self.archive {
            Some(_) => DEFAULT_EXPORT_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            None => IDENTITY_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
        };
        let discovery = Discovery {
            braze: &self.braze,
            userflow: &self.userflow,
            fields: &fields,
        };
        let subjects: Vec<_> = needed.iter().map(|&at| &requests[at].subject).collect();
        let found = discovery.discover(&subjects).await;
        let mut discovered = Vec::new();
        for (&at, found) in needed.iter().zip(found) {
            match found {
                Ok(found) => discovered.push((at, found)),
                Err(error) => {
                    slots[at] = Slot::Ended(Erasure::unfinished(
                        Step::Discovery,
                        error.class(),
                        error.to_string(),
                    ));
                }
            }
        }
        let archives = self.archive_all(slots, &discovered).await;
        for ((at, found), archive) in discovered.into_iter().zip(archives) {
            let Slot::Working(tracked) = &mut slots[at] else {
                continue;
            };
            let archive = match archive {
                Ok(archive) => archive,
                Err(error) => {
                    slots[at] = Slot::Ended(Erasure::unfinished(
                        Step::Archive,
                        error.class,
                        error.to_string(),
                    ));
                    continue;
                }
            };
            tracked.progress.discovered = Some(Discovered {
                at: Utc::now(),
                braze: found
                    .profiles
                    .into_iter()
                    .map(|profile| BrazeTarget {
                        profile,
                        deleted_at: None,
                    })
                    .collect(),
                userflow: found
                    .userflow_ids
                    .into_iter()
                    .map(|user_id| UserflowTarget {
                        user_id,
                        result: None,
                        at: None,
                    })
                    .collect(),
                archive,
            });
        }
        self.save(slots, &needed, Step::Discovery).await;
    }

    /// The archive of each discovered request (concurrently), when archiving is on; in the
    /// order of `discovered`.
    async fn archive_all(
        &self,
        slots: &[Slot],
        discovered: &[(usize, Found)],
    ) -> Vec<Result<Option<ArchiveRecord>, StoreError>> {
        let Some(archive) = &self.archive else {
            return discovered.iter().map(|_| Ok(None)).collect();
        };
        let writes: Vec<_> = discovered
            .iter()
            .map(|(at, found)| async move {
                let Slot::Working(tracked) = &slots[*at] else {
                    return Ok(None);
                };
                let progress = &tracked.progress;
                archive
                    .write(&progress.request_id, &progress.subject, &found.exported)
                    .await
                    .map(Some)
            })
            .collect();
        stream::iter(writes)
            .buffered(STORE_CONCURRENCY)
            .collect()
            .await
    }

    /// Step 4: every pending Braze profile of the batch in as few calls as the rules allow.
    async fn delete_in_braze(&self, slots: &mut [Slot], deadline: Instant) {
        let mut holders: BTreeMap<DeleteKey, Vec<usize>> = BTreeMap::new();
        for (at, slot) in slots.iter().enumerate() {
            if let Slot::Working(tracked) = slot {
                for profile in tracked.progress.braze_pending() {
                    if let Some(key) = DeleteKey::of(profile) {
                        holders.entry(key).or_default().push(at);
                    }
                }
            }
        }
        let touched = requests_holding(&holders);
        if touched.is_empty() || past(deadline, slots, &touched) {
            return;
        }
        let targets: Vec<DeleteTarget> = holders.keys().map(DeleteKey::target).collect();
        let mut failed: HashMap<usize, Erasure> = HashMap::new();
        let mut refused: BTreeSet<DeleteKey> = BTreeSet::new();
        match self.braze.delete().targets(targets).send().await {
            Ok(report) => {
                for batch in &report.failed_batches {
                    let outcome = Erasure::unfinished(
                        Step::Braze,
                        batch.error.class(),
                        batch.error.to_string(),
                    );
                    for key in batch.items.iter().filter_map(DeleteKey::from_target) {
                        for &at in holders.get(&key).into_iter().flatten() {
                            failed.entry(at).or_insert_with(|| outcome.clone());
                        }
                        refused.insert(key);
                    }
                }
            }
            Err(error) => {
                let outcome = Erasure::unfinished(Step::Braze, error.class(), error.to_string());
                for &at in &touched {
                    failed.insert(at, outcome.clone());
                }
                refused.extend(holders.keys().cloned());
            }
        }
        let now = Utc::now();
        for &at in &touched {
            if let Slot::Working(tracked) = &mut slots[at]
                && let Some(found) = &mut tracked.progress.discovered
            {
                for target in found.braze.iter_mut().filter(|t| t.deleted_at.is_none()) {
                    if DeleteKey::of(&target.profile).is_some_and(|key| !refused.contains(&key)) {
                        target.deleted_at = Some(now);
                    }
                }
            }
        }
        // What Braze accepted is recorded even for a request that failed another call.
        self.save(slots, &touched, Step::Braze).await;
        end(slots, failed);
    }

    /// Step 5: every pending Userflow user of the batch, each id once.
    async fn delete_in_userflow(&self, slots: &mut [Slot], deadline: Instant) {
        let mut holders: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (at, slot) in slots.iter().enumerate() {
            if let Slot::Working(tracked) = slot {
                for id in tracked.progress.userflow_pending() {
                    holders.entry(id.to_owned()).or_default().push(at);
                }
            }
        }
        let touched = requests_holding(&holders);
        if touched.is_empty() || past(deadline, slots, &touched) {
            return;
        }
        let results: HashMap<String, Result<UserflowResult, UserflowError>> =
            stream::iter(holders.keys().cloned())
                .map(|id| async move {
                    let result = match self.userflow.delete_user(&id).await {
                        Ok(()) => Ok(UserflowResult::Deleted),
                        Err(UserflowError::NotFound { .. }) => Ok(UserflowResult::AlreadyGone),
                        Err(error) => Err(error),
                    };
                    (id, result)
                })
                .buffer_unordered(self.userflow_concurrency.max(1))
                .collect()
                .await;
        let now = Utc::now();
        let mut failed: HashMap<usize, Erasure> = HashMap::new();
        for &at in &touched {
            let Slot::Working(tracked) = &mut slots[at] else {
                continue;
            };
            let Some(found) = &mut tracked.progress.discovered else {
                continue;
            };
            for target in found.userflow.iter_mut().filter(|t| t.result.is_none()) {
                match results.get(&target.user_id) {
                    Some(Ok(result)) => {
                        target.result = Some(*result);
                        target.at = Some(now);
                    }
                    Some(Err(error)) => {
                        failed.entry(at).or_insert_with(|| {
                            Erasure::unfinished(Step::Userflow, error.class(), error.to_string())
                        });
                    }
                    None => {}
                }
            }
        }
        self.save(slots, &touched, Step::Userflow).await;
        end(slots, failed);
    }

    /// Step 6: the receipt of every request whose targets are all done, then its progress
    /// document is removed (best effort: a leftover one is never read again, the receipt
    /// answering first). Requests are written concurrently.
    async fn write_receipts(&self, slots: &mut [Slot]) {
        let receipts = Receipts::new(&self.state);
        let writes: Vec<_> = slots
            .iter()
            .enumerate()
            .filter_map(|(at, slot)| match slot {
                Slot::Working(tracked) => Some((at, tracked)),
                Slot::Ended(_) => None,
            })
            .filter_map(|(at, tracked)| {
                Receipt::of(&tracked.progress, Utc::now()).map(|receipt| (at, tracked, receipt))
            })
            .map(|(at, tracked, receipt)| async move {
                let outcome = match receipts.create(&receipt).await {
                    Ok(written) => {
                        if let Err(error) = tracked.remove(&self.state).await {
                            tracing::warn!(request_id = %tracked.progress.request_id, error = %error, "progress document left after the receipt");
                        }
                        Erasure::Done {
                            earlier: written == PutIfAbsent::AlreadyExists,
                            counts: receipt.counts,
                        }
                    }
                    Err(error) => Erasure::unfinished(Step::Record, error.class, error.to_string()),
                };
                (at, outcome)
            })
            .collect();
        let outcomes: Vec<(usize, Erasure)> = stream::iter(writes)
            .buffer_unordered(STORE_CONCURRENCY)
            .collect()
            .await;
        for (at, outcome) in outcomes {
            slots[at] = Slot::Ended(outcome);
        }
    }

    /// Saves the progress of the working requests among `which`, concurrently; a request
    /// whose save fails ends there.
    async fn save(&self, slots: &mut [Slot], which: &[usize], step: Step) {
        let which: BTreeSet<usize> = which.iter().copied().collect();
        let saves: Vec<_> = slots
            .iter_mut()
            .enumerate()
            .filter(|(at, _)| which.contains(at))
            .filter_map(|(at, slot)| match slot {
                Slot::Working(tracked) => Some((at, tracked)),
                Slot::Ended(_) => None,
            })
            .map(|(at, tracked)| async move { (at, tracked.save(&self.state).await) })
            .collect();
        let results: Vec<(usize, Result<(), ProgressError>)> = stream::iter(saves)
            .buffer_unordered(STORE_CONCURRENCY)
            .collect()
            .await;
        for (at, result) in results {
            if let Err(error) = result {
                let outcome = match error {
                    ProgressError::Contended => Erasure::progress_failed(step, &error),
                    other => Erasure::progress_failed(Step::Record, &other),
                };
                slots[at] = Slot::Ended(outcome);
            }
        }
    }
}

/// The requests (slots) holding any of `holders`' targets, each once, in order.
fn requests_holding<K>(holders: &BTreeMap<K, Vec<usize>>) -> Vec<usize> {
    let requests: BTreeSet<usize> = holders.values().flatten().copied().collect();
    requests.into_iter().collect()
}

/// Ends the requests that failed a step (those still working).
fn end(slots: &mut [Slot], failed: HashMap<usize, Erasure>) {
    for (at, outcome) in failed {
        if matches!(slots[at], Slot::Working(_)) {
            slots[at] = Slot::Ended(outcome);
        }
    }
}

/// Calls to the state bucket (and the compliance bucket) in flight at once.
const STORE_CONCURRENCY: usize = 8;

/// Ends the working requests among `which` when the deadline has passed; whether it had.
fn past(deadline: Instant, slots: &mut [Slot], which: &[usize]) -> bool {
    if Instant::now() < deadline {
        return false;
    }
    for &at in which {
        if matches!(slots[at], Slot::Working(_)) {
            slots[at] = Slot::Ended(Erasure::unfinished(
                Step::Deadline,
                FailureClass::Transient,
                "the invocation's deadline came before this step",
            ));
        }
    }
    true
}

/// What a Braze profile is deleted by: its Braze id, or its external id when Braze gave
/// none. Discovery keeps no profile with neither.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum DeleteKey {
    BrazeId(String),
    ExternalId(String),
}

impl DeleteKey {
    fn of(profile: &BrazeProfile) -> Option<DeleteKey> {
        match (&profile.braze_id, &profile.external_id) {
            (Some(id), _) => Some(DeleteKey::BrazeId(id.clone())),
            (None, Some(id)) => Some(DeleteKey::ExternalId(id.clone())),
            (None, None) => None,
        }
    }

    fn target(&self) -> DeleteTarget {
        match self {
            DeleteKey::BrazeId(id) => DeleteTarget::BrazeId(id.clone()),
            DeleteKey::ExternalId(id) => DeleteTarget::ExternalId(id.clone()),
        }
    }

    /// The key a sent target was made from (only Braze and external ids are sent).
    fn from_target(target: &DeleteTarget) -> Option<DeleteKey> {
        match target {
            DeleteTarget::BrazeId(id) => Some(DeleteKey::BrazeId(id.clone())),
            DeleteTarget::ExternalId(id) => Some(DeleteKey::ExternalId(id.clone())),
            _ => None,
        }
    }
}
