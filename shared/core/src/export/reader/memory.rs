//! [`MemorySource`]: an [`ExportSource`] in memory for unit tests, which counts its GETs and
//! hands bodies out in small chunks so the streaming paths are exercised.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use super::{ByteChunks, ExportSource, ReaderError};

/// [`ExportSource`] over bytes in memory (tests only: `cfg(test)` or feature `test-util`).
#[derive(Debug, Clone)]
pub struct MemorySource {
    name: String,
    body: Bytes,
    chunk: usize,
    gets: Arc<AtomicUsize>,
}

impl MemorySource {
    /// `body` named `name`, delivered in chunks of 1,000 bytes.
    pub fn new(name: impl Into<String>, body: impl Into<Bytes>) -> MemorySource {
        MemorySource {
            name: name.into(),
            body: body.into(),
            chunk: 1000,
            gets: Arc::default(),
        }
    }

    /// The same source delivering chunks of `chunk` bytes (at least 1).
    pub fn chunked(mut self, chunk: usize) -> MemorySource {
        self.chunk = chunk.max(1);
        self
    }

    /// GETs made so far (ranged and whole), shared by clones.
    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    fn stream(&self, body: Bytes) -> ByteChunks {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let chunk = self.chunk;
        let chunks: Vec<Result<Bytes, ReaderError>> = (0..body.len())
            .step_by(chunk)
            .map(|at| Ok(body.slice(at..(at + chunk).min(body.len()))))
            .collect();
        Box::pin(futures::stream::iter(chunks))
    }
}

impl ExportSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn size(&self) -> Result<u64, ReaderError> {
        Ok(self.body.len() as u64)
    }

    async fn read_range(&self, start: u64, end: u64) -> Result<ByteChunks, ReaderError> {
        let len = self.body.len();
        let start = usize::try_from(start).unwrap_or(len).min(len);
        let end = usize::try_from(end).unwrap_or(len).clamp(start, len);
        Ok(self.stream(self.body.slice(start..end)))
    }

    async fn read_all(&self) -> Result<ByteChunks, ReaderError> {
        Ok(self.stream(self.body.clone()))
    }
}
