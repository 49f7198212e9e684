//! The optional compliance archive: what discovery exported of a subject, written to the
//! compliance bucket before anything is deleted (Braze deletes for good, with no way back, so
//! a record a regulator or a dispute may need must be taken first).
//!
//! `erasure/<request_id>/archive.json` in the compliance bucket, written through a store that
//! asks for SSE-KMS on every write ([`crate::store::Encryption::Kms`]). It holds the exported
//! profiles in full: that is its purpose, and why the bucket's access, retention and key are
//! the deployment's to restrict.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use relay_clients::braze::ExportedUser;
use serde::Serialize;

use super::progress::{ArchiveRecord, request_folder};
use super::request::{RequestId, SubjectDigest};
use crate::store::{ObjectStore, StoreError};

/// The compliance bucket, where archives go.
#[derive(Debug, Clone)]
pub struct ComplianceArchive<A> {
    /// The store over the compliance bucket (with SSE-KMS).
    pub store: A,
    /// The bucket's name, for the record.
    pub bucket: String,
}

/// The archive's key.
pub fn archive_key(id: &RequestId) -> String {
    format!("{}archive.json", request_folder(id))
}

#[derive(Serialize)]
struct ArchiveDocument<'a> {
    request_id: &'a RequestId,
    subject: &'a SubjectDigest,
    archived_at: DateTime<Utc>,
    profiles: &'a [ExportedUser],
}

impl<A: ObjectStore> ComplianceArchive<A> {
    /// Writes the profiles exported for `id` and says where.
    pub async fn write(
        &self,
        id: &RequestId,
        subject: &SubjectDigest,
        profiles: &[ExportedUser],
    ) -> Result<ArchiveRecord, StoreError> {
        let at = Utc::now();
        let key = archive_key(id);
        let document = ArchiveDocument {
            request_id: id,
            subject,
            archived_at: at,
            profiles,
        };
        let body = Bytes::from(serde_json::to_vec(&document).expect("archives serialise"));
        self.store.put(&key, body, "application/json").await?;
        Ok(ArchiveRecord {
            bucket: self.bucket.clone(),
            key,
            profiles: profiles.len(),
            at,
        })
    }
}
