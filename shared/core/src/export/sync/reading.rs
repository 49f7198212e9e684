//! One attempt at one export file ([`Reading`]): the line loop of [`FileSync`], with sends in
//! flight, checkpoints and rejects.

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use relay_clients::upstream::FailureClass;
use tokio::time::Instant;

use super::super::line::{BrazeId, LineError, MappedLine, SeenIds, identity_of};
use super::super::manifest::{ExportAction, JobId, Manifests};
use super::super::progress::{FileLedger, FileProgress, FileState, ProgressError, Saved};
use super::super::reader::{ExportLine, ExportReader, ExportSource, LineContent, ReaderError};
use super::rejects::{Reject, RejectBuffer};
use super::sink::{Delivery, SinkError, deliver, erasure_of};
use super::watermark::Watermark;
use super::{FileOutcome, FileSync, not_readable};
use crate::queue::JobQueue;
use crate::store::ObjectStore;

/// Where a line is, for its reject record.
#[derive(Debug, Clone)]
struct Place {
    number: u64,
    member: Option<std::sync::Arc<str>>,
    member_line: u64,
}

impl Place {
    fn of(line: &ExportLine) -> Place {
        Place {
            number: line.number,
            member: line.member.clone(),
            member_line: line.member_line,
        }
    }
}

/// A send that completed: the line it was for and the answer (`None`: no answer by the
/// deadline's grace).
struct Sent {
    place: Place,
    text: Bytes,
    erasure: bool,
    dropped: u64,
    result: Option<Result<(), SinkError>>,
}

/// One attempt at one file.
pub(super) struct Reading<'r, 'a, S, Q> {
    pub(super) sync: &'r FileSync<'a, S, Q>,
    /// What the users are for.
    pub(super) action: ExportAction,
    pub(super) job: &'r JobId,
    pub(super) file: usize,
    pub(super) key: &'r str,
    pub(super) mark: Watermark,
    /// Braze ids seen in this file (rebuilt on resume from the lines every one of which up to
    /// them was finished).
    pub(super) seen: SeenIds,
    pub(super) rejects: RejectBuffer,
    /// The checkpoint when the attempt began.
    pub(super) started_at: (u64, Vec<u64>),
}

impl<S: ObjectStore, Q: JobQueue> Reading<'_, '_, S, Q> {
    pub(super) async fn read<Src: ExportSource>(
        &mut self,
        reader: ExportReader<Src>,
        ledger: &mut FileLedger<'_, S>,
        progress: &mut FileProgress,
        deadline: Instant,
    ) -> Result<FileOutcome, ProgressError> {
        let settings = self.sync.settings;
        let userflow = self.sync.userflow;
        let erasures = self.sync.erasures;
        let mut in_flight = FuturesUnordered::new();
        let mut since_checkpoint = 0u64;
        let mut last_checkpoint = Instant::now();
        let mut stop: Option<String> = None;
        let mut read_error: Option<ReaderError> = None;
        // The reader as a stream: a line being read when a send completes first stays in the
        // stream's state (a `next_line` future dropped half way could lose a zip member).
        let mut lines = std::pin::pin!(reader.into_stream());
        let send_by = deadline + settings.send_grace;
        loop {
            while in_flight.len() >= settings.concurrency.max(1) {
                if let Some(sent) = in_flight.next().await {
                    self.sent(sent, progress, &mut stop);
                }
            }
            if stop.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                stop = Some("the invocation's deadline is near".into());
                break;
            }
            if self.rejects.is_full() {
                self.flush_rejects().await?;
            }
            if since_checkpoint >= settings.checkpoint_lines
                || last_checkpoint.elapsed() >= settings.checkpoint_interval
            {
                if let Some(outcome) = self.checkpoint(ledger, progress).await? {
                    drain(&mut in_flight).await;
                    return Ok(outcome);
                }
                since_checkpoint = 0;
                last_checkpoint = Instant::now();
            }
            // Take a line while sends complete.
            let line = tokio::select! {
                biased;
                Some(sent) = in_flight.next(), if !in_flight.is_empty() => {
                    self.sent(sent, progress, &mut stop);
                    continue;
                }
                line = lines.next() => line,
            };
            let line = match line {
                Some(Ok(line)) => line,
                None => break,
                Some(Err(error)) => {
                    read_error = Some(error);
                    break;
                }
            };
            since_checkpoint += 1;
            if let Some(send) = self.line(line, progress) {
                in_flight.push(async move {
                    let result = tokio::time::timeout_at(
                        send_by,
                        deliver(userflow, erasures, &send.delivery),
                    )
                    .await
                    .ok();
                    Sent {
                        place: send.place,
                        text: send.text,
                        erasure: matches!(send.delivery, Delivery::Erasure(_)),
                        dropped: send.dropped,
                        result,
                    }
                });
            }
        }
        while let Some(sent) = in_flight.next().await {
            self.sent(sent, progress, &mut stop);
        }
        if let Some(error) = read_error {
            self.record(progress);
            self.flush_rejects().await?;
            let progressed = self.progressed(progress);
            return self
                .sync
                .read_failed(ledger, progress, error, progressed)
                .await;
        }
        if let Some(reason) = stop {
            // The next attempt may start at once: this one sends nothing more.
            progress.lease = None;
            if let Some(outcome) = self.checkpoint(ledger, progress).await? {
                return Ok(outcome);
            }
            return Ok(FileOutcome::Unfinished {
                progressed: self.progressed(progress),
                reason,
            });
        }
        self.record(progress);
        self.flush_rejects().await?;
        progress.state = FileState::Done;
        Ok(match ledger.finish(progress).await? {
            Saved::Saved => FileOutcome::Ended(FileState::Done),
            Saved::Lost => FileOutcome::TakenOver,
        })
    }

    /// Handles one line read: skipped when finished before, else finished here (counted) or
    /// returned as an upsert to send.
    fn line(&mut self, line: ExportLine, progress: &mut FileProgress) -> Option<Send> {
        let place = Place::of(&line);
        if progress.is_finished(place.number) {
            self.mark.read(place.number);
            // Rebuild the Braze ids seen from the lines up to the resumed checkpoint's
            // watermark only, as the first attempt saw them: a user line (not a reject). A line
            // finished out of order above it may be a duplicate of a line left unfinished,
            // which must still be sent.
            if place.number <= self.started_at.0
                && let LineContent::Text(text) = &line.content
                && let Some(id) = self.braze_id_of(text)
            {
                self.seen.insert(id);
            }
            return None;
        }
        let text = match line.content {
            LineContent::Text(text) => text,
            LineContent::TooLong { len, excerpt } => {
                let limit = self.sync.settings.limits.max_line_bytes;
                let detail = format!("the line is {len} bytes, over the limit of {limit}");
                self.reject(place, progress, "line_too_long", detail, &excerpt, len);
                return None;
            }
        };
        if self.action == ExportAction::Erase {
            return self.erasure_line(place, text, progress);
        }
        let mapped = match self.sync.mapping.map_line(&text) {
            Ok(mapped) => mapped,
            Err(error) => {
                self.reject_line(place, progress, &error, &text);
                return None;
            }
        };
        if self.is_duplicate(mapped.braze_id().cloned(), &place, progress) {
            return None;
        }
        match mapped {
            MappedLine::Upsert { body, dropped, .. } => {
                self.mark.start(place.number);
                Some(Send {
                    place,
                    text,
                    delivery: Delivery::Upsert(body),
                    dropped: dropped.len() as u64,
                })
            }
            MappedLine::NoExternalId { .. } => {
                progress.counts.user(|counts| counts.skipped += 1);
                self.mark.finish(place.number);
                None
            }
        }
    }

    /// A line of an `erase` export: its erasure request, or a reject, or a duplicate.
    fn erasure_line(
        &mut self,
        place: Place,
        text: Bytes,
        progress: &mut FileProgress,
    ) -> Option<Send> {
        let request = identity_of(&text).and_then(|identity| {
            let request = erasure_of(self.job, &identity, Utc::now())?;
            Ok((identity.braze_id.as_deref().map(BrazeId::new), request))
        });
        let (braze_id, request) = match request {
            Ok(found) => found,
            Err(error) => {
                self.reject_line(place, progress, &error, &text);
                return None;
            }
        };
        if self.is_duplicate(braze_id, &place, progress) {
            return None;
        }
        self.mark.start(place.number);
        Some(Send {
            place,
            text,
            delivery: Delivery::Erasure(request.encode()),
            dropped: 0,
        })
    }

    /// Records a line that is not a user (or that Userflow's checks refuse) as a reject.
    fn reject_line(
        &mut self,
        place: Place,
        progress: &mut FileProgress,
        error: &LineError,
        text: &[u8],
    ) {
        let length = text.len() as u64;
        self.reject(
            place,
            progress,
            error.reason(),
            error.to_string(),
            text,
            length,
        );
    }

    /// Whether the line's user was seen earlier in the file: then it is counted as a
    /// duplicate and finished.
    fn is_duplicate(
        &mut self,
        braze_id: Option<BrazeId>,
        place: &Place,
        progress: &mut FileProgress,
    ) -> bool {
        let Some(id) = braze_id else {
            return false;
        };
        if self.seen.insert(id) {
            return false;
        }
        progress.counts.user(|counts| counts.duplicates += 1);
        self.mark.finish(place.number);
        true
    }

    /// The Braze id of a line (rebuilding the ids seen on resume), as the action reads it.
    fn braze_id_of(&self, text: &[u8]) -> Option<BrazeId> {
        match self.action {
            ExportAction::UserflowSync => {
                self.sync.mapping.map_line(text).ok()?.braze_id().cloned()
            }
            ExportAction::Erase => identity_of(text)
                .ok()?
                .braze_id
                .as_deref()
                .map(BrazeId::new),
        }
    }

    /// Records what a send's answer means for its line. A line is counted once it is
    /// finished, so a line given up and read again by the next attempt is counted once.
    fn sent(&mut self, sent: Sent, progress: &mut FileProgress, stop: &mut Option<String>) {
        match sent.result {
            Some(Ok(())) if sent.erasure => {
                progress.counts.user(|counts| counts.erasures += 1);
                self.mark.finish(sent.place.number);
            }
            Some(Ok(())) => {
                progress.counts.user(|counts| {
                    counts.upserted += 1;
                    counts.dropped_attributes += sent.dropped;
                });
                self.mark.finish(sent.place.number);
            }
            None => {
                self.mark.give_up(sent.place.number);
                if stop.is_none() {
                    *stop = Some("a request was still unanswered at the deadline".into());
                }
            }
            Some(Err(error)) if error.class() == FailureClass::Permanent => {
                let length = sent.text.len() as u64;
                self.reject(
                    sent.place,
                    progress,
                    error.reason(),
                    error.to_string(),
                    &sent.text,
                    length,
                );
            }
            Some(Err(error)) => {
                self.mark.give_up(sent.place.number);
                if stop.is_none() {
                    *stop = Some(error.to_string());
                }
            }
        }
    }

    /// Records a bad line as a reject; the line is finished.
    fn reject(
        &mut self,
        place: Place,
        progress: &mut FileProgress,
        reason: &'static str,
        detail: String,
        text: &[u8],
        length: u64,
    ) {
        progress.counts.lines += 1;
        progress.counts.rejected += 1;
        self.mark.finish(place.number);
        self.rejects.push(Reject {
            file: self.key.to_owned(),
            member: place.member.map(|m| m.to_string()),
            line: place.number,
            member_line: place.member_line,
            reason,
            detail,
            text: String::from_utf8_lossy(text).into_owned(),
            length,
        });
    }

    /// Copies the watermark into the progress document.
    fn record(&mut self, progress: &mut FileProgress) {
        self.mark.prune();
        let (lines_done, above) = self.mark.checkpoint();
        progress.lines_done = lines_done;
        progress.finished_above = above;
    }

    fn progressed(&self, progress: &FileProgress) -> bool {
        (progress.lines_done, &progress.finished_above) != (self.started_at.0, &self.started_at.1)
    }

    async fn flush_rejects(&mut self) -> Result<(), ProgressError> {
        self.rejects
            .flush(self.sync.state, self.job, self.file)
            .await
            .map_err(ProgressError::from)
    }

    /// Writes the rejects, then the checkpoint; stops the file (`Some`) when the job was
    /// cancelled or another reader took the file over.
    async fn checkpoint(
        &mut self,
        ledger: &mut FileLedger<'_, S>,
        progress: &mut FileProgress,
    ) -> Result<Option<FileOutcome>, ProgressError> {
        self.record(progress);
        self.flush_rejects().await?;
        if ledger.save(progress).await? == Saved::Lost {
            return Ok(Some(FileOutcome::TakenOver));
        }
        let state = Manifests::new(self.sync.state)
            .load(self.job)
            .await?
            .map(|m| m.state);
        Ok(match state {
            None => Some(FileOutcome::NotRead(format!(
                "export job {} is unknown",
                self.job
            ))),
            Some(state) => not_readable(state).map(FileOutcome::NotRead),
        })
    }
}

/// A line to send: where it is, its text (for a reject), what it sends, the attributes left
/// out.
struct Send {
    place: Place,
    text: Bytes,
    delivery: Delivery,
    dropped: u64,
}

/// Lets the sends in flight finish, their results unused: the file stops here and the lines
/// are not counted finished, so the next reader sends them again (an upsert is idempotent).
async fn drain<F: std::future::Future>(in_flight: &mut FuturesUnordered<F>) {
    while in_flight.next().await.is_some() {}
}
