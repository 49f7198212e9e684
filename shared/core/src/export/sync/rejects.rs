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

/// Rejected text held in memory before it is written, at most: a file of long bad lines
/// (up to the line limit each) is written out as it goes instead of piling up until the next
/// checkpoint.
pub const FLUSH_BYTES: usize = 4 * 1024 * 1024;

/// Rejects waiting for the next checkpoint.
#[derive(Debug, Default)]
pub struct RejectBuffer {
    pending: Vec<Reject>,
    bytes: usize,
}

impl RejectBuffer {
    /// Keeps `reject` until [`RejectBuffer::flush`].
    pub fn push(&mut self, reject: Reject) {
        self.bytes += reject.text.len()
            + reject.detail.len()
            + reject.file.len()
            + reject.member.as_ref().map_or(0, String::len);
        self.pending.push(reject);
    }

    /// Whether the held text passed [`FLUSH_BYTES`]: write it now.
    pub fn is_full(&self) -> bool {
        self.bytes >= FLUSH_BYTES
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
        self.bytes = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn reject(line: u64, text_len: usize) -> Reject {
        Reject {
            file: "segment-export/s/2026-12-06/p/a.zip".into(),
            member: Some("a.json".into()),
            line,
            member_line: line,
            reason: "invalid_json",
            detail: "not valid JSON (column 3)".into(),
            text: "x".repeat(text_len),
            length: text_len as u64,
        }
    }

    #[tokio::test]
    async fn when_rejects_pile_up_then_the_buffer_asks_to_be_written_and_writes_one_object() {
        let store = MemoryStore::new();
        let job = JobId::parse("job-rejects").unwrap();
        let mut buffer = RejectBuffer::default();
        buffer.push(reject(7, 10));
        assert!(!buffer.is_full());
        for line in 8..12 {
            buffer.push(reject(line, FLUSH_BYTES / 4));
        }
        assert!(buffer.is_full());
        buffer.flush(&store, &job, 3).await.unwrap();
        assert!(!buffer.is_full());
        let key = "exports/job-rejects/rejects/00003-000000007.jsonl";
        assert_eq!(store.keys(), [key]);
        let body = store.get_now(key).unwrap();
        let lines: Vec<serde_json::Value> = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            (lines[0]["line"].as_u64(), lines[0]["reason"].as_str()),
            (Some(7), Some("invalid_json"))
        );
        // Nothing waiting: nothing written.
        buffer.flush(&store, &job, 3).await.unwrap();
        assert_eq!(store.keys().len(), 1);
    }
}
