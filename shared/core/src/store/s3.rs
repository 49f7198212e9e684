//! [`ObjectStore`] over S3.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use bytes::Bytes;

use super::{ObjectStore, PutIfAbsent, PutIfMatch, StoreError, Version, Versioned};
use crate::aws::{classify_sdk_error, http_status};
use relay_clients::upstream::FailureClass;

/// [`ObjectStore`] over one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    encryption: Encryption,
}

/// The server-side encryption every write asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Encryption {
    /// Whatever the bucket's default is (S3 encrypts with its own keys at least).
    #[default]
    BucketDefault,
    /// SSE-KMS with this key (an id, ARN or alias), or with the account's `aws/s3` key when
    /// `None`: for records whose reads must be audited and revocable (the compliance archive).
    Kms(Option<String>),
}

impl S3Store {
    /// A store over `bucket`; build the client with [`crate::aws::s3_client`].
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> S3Store {
        S3Store {
            client,
            bucket: bucket.into(),
            encryption: Encryption::BucketDefault,
        }
    }

    /// The same store, with every write asking for `encryption`.
    pub fn with_encryption(self, encryption: Encryption) -> S3Store {
        S3Store { encryption, ..self }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A PutObject of `body` at `key`, with the store's encryption.
    fn put_object(&self, key: &str, body: Bytes, content_type: &str) -> PutObjectFluentBuilder {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        match &self.encryption {
            Encryption::BucketDefault => request,
            Encryption::Kms(key_id) => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key_id.clone()),
        }
    }
}

impl S3Store {
    /// GetObject, the body collected, with its ETag.
    async fn read(
        &self,
        operation: &'static str,
        key: &str,
    ) -> Result<Option<Versioned>, StoreError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                return Ok(None);
            }
            Err(e) => return Err(s3_error(operation, key, &e)),
        };
        let version = Version(output.e_tag().unwrap_or_default().to_owned());
        let body = output.body.collect().await.map_err(|e| {
            StoreError::new(
                operation,
                key,
                FailureClass::Transient,
                format!("reading the body failed: {}", DisplayErrorContext(&e)),
            )
        })?;
        Ok(Some(Versioned {
            body: body.into_bytes(),
            version,
        }))
    }
}

fn s3_error<E>(operation: &'static str, key: &str, err: &SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (class, detail) = classify_sdk_error(err);
    StoreError::new(operation, key, class, detail)
}

impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StoreError> {
        self.put_object(key, body, content_type)
            .send()
            .await
            .map_err(|e| s3_error("put", key, &e))?;
        Ok(())
    }

    async fn put_if_absent(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<PutIfAbsent, StoreError> {
        let result = self
            .put_object(key, body, content_type)
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(output) => Ok(PutIfAbsent::Created(Version(
                output.e_tag().unwrap_or_default().to_owned(),
            ))),
            Err(e) if e.code() == Some("PreconditionFailed") || http_status(&e) == Some(412) => {
                Ok(PutIfAbsent::AlreadyExists)
            }
            // 409 ConditionalRequestConflict (a concurrent write to the key) is transient.
            Err(e) => Err(s3_error("put_if_absent", key, &e)),
        }
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        version: &Version,
    ) -> Result<PutIfMatch, StoreError> {
        let result = self
            .put_object(key, body, content_type)
            .if_match(&version.0)
            .send()
            .await;
        match result {
            Ok(output) => Ok(PutIfMatch::Written(Version(
                output.e_tag().unwrap_or_default().to_owned(),
            ))),
            // 412: another version; 404: deleted since it was read.
            Err(e)
                if e.code() == Some("PreconditionFailed")
                    || e.code() == Some("NoSuchKey")
                    || matches!(http_status(&e), Some(412 | 404)) =>
            {
                Ok(PutIfMatch::Changed)
            }
            // 409 ConditionalRequestConflict (a concurrent write to the key) is transient.
            Err(e) => Err(s3_error("put_if_match", key, &e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self.read("get", key).await?.map(|versioned| versioned.body))
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.read("get_versioned", key).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("delete", key, &e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error("list", prefix, &e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .map(str::to_owned),
            );
        }
        // S3 lists in UTF-8 binary order already; sorting keeps the promise for look-alikes.
        keys.sort_unstable();
        Ok(keys)
    }

    async fn list_folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        let mut folders = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error("list_folders", prefix, &e))?;
            folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|common| common.prefix())
                    .map(str::to_owned),
            );
        }
        folders.sort_unstable();
        Ok(folders)
    }
}
