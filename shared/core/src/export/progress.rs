//! Per-file progress of an export job: `exports/<job>/files/<index>.json`, a lease so one
//! worker reads a file at a time, and the end of the job once every file reached an end.
//!
//! The progress document is the file's checkpoint: every line up to `lines_done` is finished
//! (sent, skipped or rejected), and so is every line in `finished_above` (lines finished out
//! of order by concurrent sends, at most the send concurrency). A redelivered message reads it
//! and sends nothing it lists. Writes are compare-and-swaps on the document's version: a
//! worker whose lease ran out and was taken over learns so at its next checkpoint and stops.
//!
//! When a file ends (done or failed) its worker writes the final document, then an empty
//! marker `exports/<job>/finished/<index>`, then lists the markers: when there are as many
//! as the manifest has files, it adds up every file's counts and moves the manifest to
//! `completed`. Two files ending at once may both see the full count; both compute the same
//! totals and the manifest's compare-and-swap lets the first one win, the second keep it.

use std::ops::AddAssign;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use super::manifest::{Change, ExportState, JobId, ManifestError, Manifests};
use crate::store::{ObjectStore, PutIfAbsent, PutIfMatch, StoreError, Version};

/// What happened to a file's lines, or a job's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    /// Lines read (blank lines not counted).
    pub lines: u64,
    /// Lines that were users: decoded and not rejected
    /// (`upserted + skipped + duplicates + erasures`; `users + rejected = lines`).
    pub users: u64,
    /// Users upserted into Userflow.
    pub upserted: u64,
    /// Users left out because they have no external id (Userflow's id must be the one the
    /// front end passes to `identify()`).
    pub skipped: u64,
    /// Users whose Braze id appeared earlier in the same file.
    pub duplicates: u64,
    /// Lines recorded under `rejects/`: not a user, too long, or refused by Userflow.
    pub rejected: u64,
    /// Attribute values left out because Userflow cannot hold them (nested objects).
    pub dropped_attributes: u64,
    /// Users turned into erasure requests (an export whose action is `erase`).
    #[serde(default)]
    pub erasures: u64,
}

impl FileCounts {
    /// Counts one finished line that was a user (not a reject), with `what` became of it.
    pub fn user(&mut self, what: impl FnOnce(&mut FileCounts)) {
        self.lines += 1;
        self.users += 1;
        what(self);
    }

    /// What was counted after `earlier` (these counts as they stood before): one attempt's
    /// share of a file's counts.
    pub fn since(&self, earlier: &FileCounts) -> FileCounts {
        FileCounts {
            lines: self.lines.saturating_sub(earlier.lines),
            users: self.users.saturating_sub(earlier.users),
            upserted: self.upserted.saturating_sub(earlier.upserted),
            skipped: self.skipped.saturating_sub(earlier.skipped),
            duplicates: self.duplicates.saturating_sub(earlier.duplicates),
            rejected: self.rejected.saturating_sub(earlier.rejected),
            dropped_attributes: self
                .dropped_attributes
                .saturating_sub(earlier.dropped_attributes),
            erasures: self.erasures.saturating_sub(earlier.erasures),
        }
    }
}

impl AddAssign for FileCounts {
    fn add_assign(&mut self, other: FileCounts) {
        self.lines += other.lines;
        self.users += other.users;
        self.upserted += other.upserted;
        self.skipped += other.skipped;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        self.dropped_attributes += other.dropped_attributes;
        self.erasures += other.erasures;
    }
}

/// Where a file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Being read, or waiting for its message to come back.
    Reading,
    /// Every line finished.
    Done,
    /// The file cannot be read (truncated, corrupt, refused by a guard); `error` says why.
    Failed,
}

impl FileState {
    /// The state's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Reading => "reading",
            FileState::Done => "done",
            FileState::Failed => "failed",
        }
    }
}

/// Who is reading a file, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The SQS message id of the reader's message.
    pub owner: String,
    /// When the lease lapses (the invocation's deadline).
    pub until: DateTime<Utc>,
}

/// `exports/<job>/files/<index>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileProgress {
    /// The file's key in the export bucket.
    pub key: String,
    /// Where the file stands.
    pub state: FileState,
    /// Every line up to this number is finished.
    pub lines_done: u64,
    /// Finished lines after `lines_done` (out of order), ascending.
    #[serde(default)]
    pub finished_above: Vec<u64>,
    /// What happened to the finished lines.
    pub counts: FileCounts,
    /// Why the file failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The current reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// When this document was written.
    pub updated_at: DateTime<Utc>,
}

impl FileProgress {
    fn new(key: &str) -> FileProgress {
        FileProgress {
            key: key.to_owned(),
            state: FileState::Reading,
            lines_done: 0,
            finished_above: Vec::new(),
            counts: FileCounts::default(),
            error: None,
            lease: None,
            updated_at: Utc::now(),
        }
    }

    /// Whether line `number` was finished before.
    pub fn is_finished(&self, number: u64) -> bool {
        number <= self.lines_done || self.finished_above.binary_search(&number).is_ok()
    }
}

/// A file's progress key: `exports/<job>/files/<index:05>.json`.
pub fn progress_key(job: &JobId, index: usize) -> String {
    format!("{}{index:05}.json", job.progress_prefix())
}

fn finished_key(job: &JobId, index: usize) -> String {
    format!("{}{index:05}", job.finished_prefix())
}

/// What [`FileLedger::claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// The file is ours to read from its checkpoint (fresh files start at line 0).
    Reading(FileProgress),
    /// Another reader holds the file until then.
    Busy(DateTime<Utc>),
    /// The file reached an end before.
    Ended(FileProgress),
}

/// Result of [`FileLedger::save`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Written.
    Saved,
    /// Another reader took the file over: stop without sending more.
    Lost,
}

/// Errors of the progress documents.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// The state bucket failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The manifest failed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A progress document that does not decode.
    #[error("{key} is not a readable progress document: {detail}")]
    Unreadable {
        /// Its key.
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// The document kept changing under us.
    #[error("{0} kept changing while being claimed")]
    Contended(String),
}

/// One file's progress document, as one reader holds it.
#[derive(Debug)]
pub struct FileLedger<'s, S> {
    store: &'s S,
    job: JobId,
    index: usize,
    key: String,
    version: Option<Version>,
    /// The counts of the document as this reader last claimed or wrote it.
    saved: FileCounts,
}

const CLAIM_ATTEMPTS: usize = 5;

impl<'s, S: ObjectStore> FileLedger<'s, S> {
    /// The ledger of file `index` of `job`.
    pub fn new(store: &'s S, job: JobId, index: usize) -> FileLedger<'s, S> {
        let key = progress_key(&job, index);
        FileLedger {
            store,
            job,
            index,
            key,
            version: None,
            saved: FileCounts::default(),
        }
    }

    /// The file's counts as this reader last wrote them, or found them when it claimed the
    /// file (zero before a claim). A write another reader's takeover refused, or one that
    /// failed, leaves them as they were: they are what the document holds on this reader's
    /// behalf, so `saved_counts().since(&claimed)` is exactly what this reader's checkpoints
    /// saved (the share the next reader will not count again).
    pub fn saved_counts(&self) -> FileCounts {
        self.saved
    }

    /// Takes the file for `lease.owner` until `lease.until`, unless another reader's lease
    /// still runs or the file already ended.
    pub async fn claim(&mut self, file_key: &str, lease: Lease) -> Result<Claim, ProgressError> {
        for _ in 0..CLAIM_ATTEMPTS {
            let Some(current) = self.store.get_versioned(&self.key).await? else {
                let mut progress = FileProgress::new(file_key);
                progress.lease = Some(lease.clone());
                match self
                    .store
                    .put_if_absent(&self.key, encode(&progress), "application/json")
                    .await?
                {
                    PutIfAbsent::Created(version) => {
                        self.version = Some(version);
                        self.saved = progress.counts;
                        return Ok(Claim::Reading(progress));
                    }
                    PutIfAbsent::AlreadyExists => continue,
                }
            };
            let mut progress = self.decode(&current.body)?;
            if progress.state != FileState::Reading {
                return Ok(Claim::Ended(progress));
            }
            if let Some(held) = &progress.lease
                && held.owner != lease.owner
                && held.until > Utc::now()
            {
                return Ok(Claim::Busy(held.until));
            }
            progress.lease = Some(lease.clone());
            progress.updated_at = Utc::now();
            match self
                .store
                .put_if_match(
                    &self.key,
                    encode(&progress),
                    "application/json",
                    &current.version,
                )
                .await?
            {
                PutIfMatch::Written(version) => {
                    self.version = Some(version);
                    self.saved = progress.counts;
                    return Ok(Claim::Reading(progress));
                }
                PutIfMatch::Changed => continue,
            }
        }
        Err(ProgressError::Contended(self.key.clone()))
    }

    /// Writes a checkpoint; [`Saved::Lost`] when another reader took the file over.
    pub async fn save(&mut self, progress: &mut FileProgress) -> Result<Saved, ProgressError> {
        let Some(version) = self.version.clone() else {
            return Ok(Saved::Lost);
        };
        progress.updated_at = Utc::now();
        match self
            .store
            .put_if_match(&self.key, encode(progress), "application/json", &version)
            .await?
        {
            PutIfMatch::Written(version) => {
                self.version = Some(version);
                self.saved = progress.counts;
                Ok(Saved::Saved)
            }
            // Changed, or our own write answered twice (the SDK retried a PutObject whose
            // first answer was lost): only another reader's lease means the file was taken.
            PutIfMatch::Changed => match self.store.get_versioned(&self.key).await? {
                Some(current) if self.decode(&current.body)? == *progress => {
                    self.version = Some(current.version);
                    self.saved = progress.counts;
                    Ok(Saved::Saved)
                }
                _ => {
                    self.version = None;
                    Ok(Saved::Lost)
                }
            },
        }
    }

    /// Records the file's end (`progress.state` is `Done` or `Failed`), then completes the
    /// job if this was its last file. Returns the job's state afterwards.
    pub async fn finish(&mut self, progress: &mut FileProgress) -> Result<Saved, ProgressError> {
        progress.lease = None;
        if self.save(progress).await? == Saved::Lost {
            return Ok(Saved::Lost);
        }
        self.mark_finished().await?;
        Ok(Saved::Saved)
    }

    /// Writes the file's `finished/` marker and completes the job if this was its last file.
    /// Repeatable: a file found ended may have lost its marker to a crash or an S3 error
    /// between its final checkpoint and the marker, and would hold the job open for good.
    pub async fn mark_finished(&self) -> Result<(), ProgressError> {
        self.store
            .put(
                &finished_key(&self.job, self.index),
                Bytes::new(),
                "text/plain",
            )
            .await?;
        complete_if_last(self.store, &self.job).await?;
        Ok(())
    }

    fn decode(&self, body: &[u8]) -> Result<FileProgress, ProgressError> {
        serde_json::from_slice(body).map_err(|e| ProgressError::Unreadable {
            key: self.key.clone(),
            detail: e.to_string(),
        })
    }
}

/// Moves the job to `completed` with its totals when every file of the manifest reached an
/// end. Safe to call any number of times, from any number of places at once.
pub async fn complete_if_last<S: ObjectStore>(
    store: &S,
    job: &JobId,
) -> Result<Option<ExportState>, ProgressError> {
    let manifests = Manifests::new(store);
    let Some(manifest) = manifests.load(job).await? else {
        return Ok(None);
    };
    let dispatching = matches!(
        manifest.state,
        ExportState::Dispatching | ExportState::Dispatched
    );
    if !dispatching {
        return Ok(Some(manifest.state));
    }
    let finished = store.list(&job.finished_prefix()).await?.len();
    if finished < manifest.files.len() {
        return Ok(Some(manifest.state));
    }
    let totals = job_totals(store, job, manifest.files.len()).await?;
    let updated = manifests
        .update(job, |m| {
            if matches!(m.state, ExportState::Dispatching | ExportState::Dispatched) {
                m.state = ExportState::Completed;
                m.totals = Some(totals);
                Change::Write
            } else {
                Change::Keep
            }
        })
        .await?;
    Ok(updated.map(|m| m.state))
}

/// Every file's progress document (files not yet started are absent), by index.
pub async fn file_progress<S: ObjectStore>(
    store: &S,
    job: &JobId,
    files: usize,
) -> Result<Vec<Option<FileProgress>>, ProgressError> {
    stream::iter(0..files)
        .map(|index| async move {
            let key = progress_key(job, index);
            match store.get(&key).await? {
                None => Ok(None),
                Some(body) => {
                    serde_json::from_slice(&body)
                        .map(Some)
                        .map_err(|e| ProgressError::Unreadable {
                            key,
                            detail: e.to_string(),
                        })
                }
            }
        })
        .buffered(16)
        .try_collect()
        .await
}

/// The counts of every file added up.
pub async fn job_totals<S: ObjectStore>(
    store: &S,
    job: &JobId,
    files: usize,
) -> Result<FileCounts, ProgressError> {
    let mut totals = FileCounts::default();
    for progress in file_progress(store, job, files)
        .await?
        .into_iter()
        .flatten()
    {
        totals += progress.counts;
    }
    Ok(totals)
}

fn encode(progress: &FileProgress) -> Bytes {
    Bytes::from(serde_json::to_vec(progress).expect("progress serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::manifest::tests::manifest;
    use crate::export::manifest::{ExportManifest, Manifests};
    use crate::store::MemoryStore;
    use chrono::Duration;

    fn lease(owner: &str, seconds: i64) -> Lease {
        Lease {
            owner: owner.into(),
            until: Utc::now() + Duration::seconds(seconds),
        }
    }

    async fn dispatched(store: &MemoryStore, job: &str, files: usize) -> JobId {
        let mut m: ExportManifest = manifest(job);
        m.state = ExportState::Dispatched;
        m.files = (0..files).map(|n| format!("f{n}.zip")).collect();
        Manifests::new(store).create(&m).await.unwrap();
        m.job
    }

    #[test]
    fn when_an_attempt_adds_to_a_files_counts_then_since_gives_its_share() {
        let mut counts = FileCounts::default();
        counts.user(|c| c.upserted += 1);
        counts.rejected += 1;
        counts.lines += 1;
        let before = counts;
        counts.user(|c| c.upserted += 1);
        counts.user(|c| c.skipped += 1);
        counts.user(|c| c.erasures += 1);
        let share = counts.since(&before);
        assert_eq!(
            (share.lines, share.users, share.upserted, share.skipped),
            (3, 3, 1, 1)
        );
        assert_eq!((share.rejected, share.erasures), (0, 1));
    }

    #[tokio::test]
    async fn when_a_file_is_claimed_then_others_are_busy_until_the_lease_lapses() {
        let store = MemoryStore::new();
        let job = dispatched(&store, "job-lease", 1).await;
        let mut first = FileLedger::new(&store, job.clone(), 0);
        let Claim::Reading(_) = first.claim("f0.zip", lease("msg-1", 60)).await.unwrap() else {
            panic!("a fresh file is ours");
        };
        let mut second = FileLedger::new(&store, job.clone(), 0);
        assert!(matches!(
            second.claim("f0.zip", lease("msg-2", 60)).await.unwrap(),
            Claim::Busy(_)
        ));
        // The same message delivered again takes its own lease back.
        let mut again = FileLedger::new(&store, job.clone(), 0);
        assert!(matches!(
            again.claim("f0.zip", lease("msg-1", 60)).await.unwrap(),
            Claim::Reading(_)
        ));
        // The first ledger's version is stale now: its next checkpoint learns it lost.
        let mut progress = FileProgress::new("f0.zip");
        assert_eq!(first.save(&mut progress).await.unwrap(), Saved::Lost);
        assert_eq!(again.save(&mut progress).await.unwrap(), Saved::Saved);
    }

    #[tokio::test]
    async fn when_a_save_is_lost_then_the_saved_counts_stay_those_of_the_last_write() {
        let store = MemoryStore::new();
        let job = dispatched(&store, "job-saved", 1).await;
        let mut first = FileLedger::new(&store, job.clone(), 0);
        let Claim::Reading(mut progress) = first.claim("f0.zip", lease("m1", -1)).await.unwrap()
        else {
            panic!("fresh");
        };
        progress.counts.user(|c| c.upserted += 1);
        assert_eq!(first.save(&mut progress).await.unwrap(), Saved::Saved);
        assert_eq!(first.saved_counts().upserted, 1);
        let mut second = FileLedger::new(&store, job, 0);
        let Claim::Reading(_) = second.claim("f0.zip", lease("m2", 60)).await.unwrap() else {
            panic!("a lapsed lease is taken over");
        };
        progress.counts.user(|c| c.upserted += 1);
        assert_eq!(first.save(&mut progress).await.unwrap(), Saved::Lost);
        assert_eq!(
            first.saved_counts().upserted,
            1,
            "the second user was never saved by this reader"
        );
        assert_eq!(second.saved_counts().upserted, 1, "as its claim found it");
    }

    #[tokio::test]
    async fn when_a_lease_lapsed_then_another_reader_resumes_from_the_checkpoint() {
        let store = MemoryStore::new();
        let job = dispatched(&store, "job-lapse", 1).await;
        let mut first = FileLedger::new(&store, job.clone(), 0);
        let Claim::Reading(mut progress) = first.claim("f0.zip", lease("msg-1", -1)).await.unwrap()
        else {
            panic!("fresh");
        };
        progress.lines_done = 120;
        progress.finished_above = vec![122];
        progress.counts.upserted = 118;
        first.save(&mut progress).await.unwrap();
        let mut second = FileLedger::new(&store, job, 0);
        let Claim::Reading(resumed) = second.claim("f0.zip", lease("msg-2", 60)).await.unwrap()
        else {
            panic!("a lapsed lease is taken over");
        };
        assert_eq!((resumed.lines_done, resumed.counts.upserted), (120, 118));
        assert!(resumed.is_finished(120) && resumed.is_finished(122));
        assert!(!resumed.is_finished(121));
    }

    #[tokio::test]
    async fn when_the_last_files_finish_at_once_then_the_job_completes_once_with_all_counts() {
        let store = MemoryStore::new();
        let job = dispatched(&store, "job-race", 3).await;
        let mut ledgers: Vec<_> = (0..3)
            .map(|n| FileLedger::new(&store, job.clone(), n))
            .collect();
        let mut files = Vec::new();
        for (n, ledger) in ledgers.iter_mut().enumerate() {
            let Claim::Reading(mut progress) = ledger
                .claim(&format!("f{n}.zip"), lease(&format!("m{n}"), 60))
                .await
                .unwrap()
            else {
                panic!("fresh");
            };
            progress.state = FileState::Done;
            progress.counts.lines = 10 * (n as u64 + 1);
            progress.counts.upserted = n as u64 + 1;
            files.push(progress);
        }
        let (last, rest) = ledgers.split_at_mut(1);
        let (mut p0, mut p1, mut p2) = (files[0].clone(), files[1].clone(), files[2].clone());
        last[0].finish(&mut p0).await.unwrap();
        assert_eq!(
            Manifests::new(&store)
                .load(&job)
                .await
                .unwrap()
                .unwrap()
                .state,
            ExportState::Dispatched,
            "one of three files is not the end"
        );
        let (a, b) = rest.split_at_mut(1);
        let (x, y) = tokio::join!(a[0].finish(&mut p1), b[0].finish(&mut p2));
        x.unwrap();
        y.unwrap();
        let done = Manifests::new(&store).load(&job).await.unwrap().unwrap();
        assert_eq!(done.state, ExportState::Completed);
        let totals = done.totals.unwrap();
        assert_eq!((totals.lines, totals.upserted), (60, 6));
        // Calling it again changes nothing.
        assert_eq!(
            complete_if_last(&store, &job).await.unwrap(),
            Some(ExportState::Completed)
        );
    }

    #[tokio::test]
    async fn when_the_finished_marker_was_lost_then_the_next_claim_writes_it_and_completes_the_job()
    {
        let store = MemoryStore::new();
        let job = dispatched(&store, "job-marker", 1).await;
        let mut ledger = FileLedger::new(&store, job.clone(), 0);
        let Claim::Reading(mut progress) = ledger.claim("f0.zip", lease("m", 60)).await.unwrap()
        else {
            panic!("fresh");
        };
        progress.state = FileState::Done;
        store.fail_next("put", relay_clients::upstream::FailureClass::Transient);
        assert!(
            ledger.finish(&mut progress).await.is_err(),
            "the marker write fails"
        );
        let manifests = Manifests::new(&store);
        assert_eq!(
            manifests.load(&job).await.unwrap().unwrap().state,
            ExportState::Dispatched
        );
        // The message comes back: the file is found ended, its marker written, the job done.
        let mut again = FileLedger::new(&store, job.clone(), 0);
        let Claim::Ended(_) = again.claim("f0.zip", lease("m2", 60)).await.unwrap() else {
            panic!("the file had ended");
        };
        again.mark_finished().await.unwrap();
        assert_eq!(
            manifests.load(&job).await.unwrap().unwrap().state,
            ExportState::Completed
        );
    }

    #[tokio::test]
    async fn when_a_file_ended_then_claiming_it_again_says_so() {
        let store = MemoryStore::new();
        let job = dispatched(&store, "job-ended", 2).await;
        let mut ledger = FileLedger::new(&store, job.clone(), 1);
        let Claim::Reading(mut progress) = ledger.claim("f1.zip", lease("m", 60)).await.unwrap()
        else {
            panic!("fresh");
        };
        progress.state = FileState::Failed;
        progress.error = Some("truncated".into());
        ledger.finish(&mut progress).await.unwrap();
        let mut again = FileLedger::new(&store, job, 1);
        match again.claim("f1.zip", lease("m2", 60)).await.unwrap() {
            Claim::Ended(progress) => assert_eq!(progress.state, FileState::Failed),
            other => panic!("{other:?}"),
        }
    }
}
