//! Bad lines, recorded under `exports/<job>/rejects/` as JSON Lines: one object per
//! checkpoint, named by the file's index and the first rejected line it holds, so a retried
//! stretch of a file writes the same object again instead of a second copy.

use bytes::Bytes;
use serde::Serialize;

use crate::export::manifest::JobId;
use crate::store::{ObjectStore, StoreError};

/// One rejected line. It holds the line itself (up to the reader's excerpt for a too-long
/// line), so it lives only in the state bucket, never in logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// The export file's key.
    pub file: String,
    /// The zip member, if any.
    pub member: Option<String>,
    /// 1-based line number across the file.
    pub line: u64,
    /// 1-based line number within the member.
    pub member_line: u64,
    /// A stable code: `invalid_json`, `not_an_object`, `bad_external_id`, `bad_email`,
    /// `bad_created_at`, `line_too_long`, `userflow_refused`.
    pub reason: &'static str,
    /// What is wrong, in words.
    pub detail: String,
    /// The line (lossy UTF-8); for `line_too_long`, its first bytes.
    pub text: String,
    /// The line's length in bytes.
    pub length: u64,
}

/// Rejects waiting for the next checkpoint.
#[derive(Debug, Default)]
pub struct RejectBuffer {
    pending: Vec<Reject>,
}

impl RejectBuffer {
    /// Keeps `reject` until [`RejectBuffer::flush`].
    pub fn push(&mut self, reject: Reject) {
        self.pending.push(reject);
    }

    /// Writes the waiting rejects as one object (nothing when none waits); they must be
    /// stored before a checkpoint counts their lines as finished.
    pub async fn flush<S: ObjectStore>(
        &mut self,
        store: &S,
        job: &JobId,
        file: usize,
    ) -> Result<(), StoreError> {
        let Some(first) = self.pending.iter().map(|r| r.line).min() else {
            return Ok(());
        };
        let mut body = Vec::new();
        for reject in &self.pending {
            serde_json::to_writer(&mut body, reject).expect("rejects serialise");
            body.push(b'\n');
        }
        let key = format!("{}{file:05}-{first:09}.jsonl", job.rejects_prefix());
        store
            .put(&key, Bytes::from(body), "application/x-ndjson")
            .await?;
        self.pending.clear();
        Ok(())
    }
}
