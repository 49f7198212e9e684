//! [`ExportSource`]: one export object as the reader needs it (its size, ranged reads and the
//! whole body, streamed), and [`S3Source`] over S3.

use std::future::Future;
use std::pin::Pin;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bytes::Bytes;
use futures::Stream;

use super::ReaderError;
use crate::aws::classify_sdk_error;
use relay_clients::upstream::FailureClass;

/// A streamed body: chunks as the network delivers them, never the whole object at once.
pub type ByteChunks = Pin<Box<dyn Stream<Item = Result<Bytes, ReaderError>> + Send>>;

/// One export object: what the reader asks of S3 (and of the in-memory double in tests).
pub trait ExportSource: Send + Sync {
    /// The object's name (its key), for format detection and error messages.
    fn name(&self) -> &str;

    /// The object's size in bytes (S3 `HeadObject`).
    fn size(&self) -> impl Future<Output = Result<u64, ReaderError>> + Send;

    /// Bytes `start..end` (end exclusive, within the size), streamed: one ranged GET.
    fn read_range(
        &self,
        start: u64,
        end: u64,
    ) -> impl Future<Output = Result<ByteChunks, ReaderError>> + Send;

    /// The whole object, streamed: one GET.
    fn read_all(&self) -> impl Future<Output = Result<ByteChunks, ReaderError>> + Send;
}

/// [`ExportSource`] over one S3 object; the size is asked once (`HeadObject`) and kept.
#[derive(Debug)]
pub struct S3Source {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    size: tokio::sync::OnceCell<u64>,
}

impl S3Source {
    /// The object at `key` in `bucket`; build the client with [`crate::aws::s3_client`].
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
    ) -> S3Source {
        S3Source {
            client,
            bucket: bucket.into(),
            key: key.into(),
            size: tokio::sync::OnceCell::new(),
        }
    }

    /// The same object with its size already known (from a listing): no `HeadObject`.
    pub fn with_size(mut self, size: u64) -> S3Source {
        self.size = tokio::sync::OnceCell::new_with(Some(size));
        self
    }

    fn error<E>(&self, operation: &'static str, err: &SdkError<E, HttpResponse>) -> ReaderError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (class, detail) = classify_sdk_error(err);
        ReaderError::Source {
            file: self.key.clone(),
            operation,
            class,
            detail,
        }
    }

    async fn get(&self, range: Option<String>) -> Result<ByteChunks, ReaderError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_range(range)
            .send()
            .await
            .map_err(|e| self.error("get", &e))?;
        let file = self.key.clone();
        let chunks = futures::stream::unfold((output.body, file), |(mut body, file)| async move {
            let next = body.next().await?;
            let item = next.map_err(|e| ReaderError::Source {
                file: file.clone(),
                operation: "body",
                class: FailureClass::Transient,
                detail: format!("reading the body failed: {}", DisplayErrorContext(&e)),
            });
            Some((item, (body, file)))
        });
        Ok(Box::pin(chunks))
    }
}

impl ExportSource for S3Source {
    fn name(&self) -> &str {
        &self.key
    }

    async fn size(&self) -> Result<u64, ReaderError> {
        let size = self
            .size
            .get_or_try_init(|| async {
                let head = self
                    .client
                    .head_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| self.error("head", &e))?;
                Ok::<u64, ReaderError>(
                    head.content_length()
                        .and_then(|n| u64::try_from(n).ok())
                        .unwrap_or_default(),
                )
            })
            .await?;
        Ok(*size)
    }

    async fn read_range(&self, start: u64, end: u64) -> Result<ByteChunks, ReaderError> {
        if end <= start {
            return Ok(Box::pin(futures::stream::empty()));
        }
        // HTTP ranges are inclusive.
        self.get(Some(format!("bytes={start}-{}", end - 1))).await
    }

    async fn read_all(&self) -> Result<ByteChunks, ReaderError> {
        self.get(None).await
    }
}
