//! The export job's manifest, `exports/<job>/manifest.json` in the state bucket, and the
//! other keys of a job.
//!
//! `relay export start` writes the manifest (`requested`); the callback moves it to
//! `dispatching` and then `dispatched` with the list of files; the last file to finish moves
//! it to `completed` with the totals; `relay export cancel` and a `success:false` callback end
//! it as `cancelled` / `failed`. Every change is a compare-and-swap on the object's version
//! ([`ObjectStore::put_if_match`]), so two writers (two files finishing at once, a cancel
//! racing a completion) never lose each other's change.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use relay_clients::braze::models::OutputFormat;
use serde::{Deserialize, Serialize};

use super::progress::FileCounts;
use crate::store::{ObjectStore, PutIfAbsent, PutIfMatch, StoreError, Version};

/// Manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// Key prefix of every export job in the state bucket.
pub const EXPORTS_PREFIX: &str = "exports/";

/// Longest job id.
const MAX_JOB_ID: usize = 64;

/// An export job's id: 1 to 64 ASCII letters, digits, `-` or `_`, since it becomes part of S3
/// keys and of the callback URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

/// A job id that breaks [`JobId`]'s rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an export job id is 1 to {MAX_JOB_ID} ASCII letters, digits, '-' or '_'")]
pub struct BadJobId;

impl JobId {
    /// Checks `id` against the rule.
    pub fn parse(id: &str) -> Result<JobId, BadJobId> {
        let ok = !id.is_empty()
            && id.len() <= MAX_JOB_ID
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| JobId(id.to_owned())).ok_or(BadJobId)
    }

    /// A fresh id that sorts by time: `20261206T160000Z-1a2b3c4d`.
    pub fn generate(now: DateTime<Utc>) -> JobId {
        let random = uuid::Uuid::new_v4().simple().to_string();
        JobId(format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &random[..8]))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `exports/<job>/manifest.json`.
    pub fn manifest_key(&self) -> String {
        format!("{EXPORTS_PREFIX}{}/manifest.json", self.0)
    }

    /// `exports/<job>/files/`: one progress document per file.
    pub fn progress_prefix(&self) -> String {
        format!("{EXPORTS_PREFIX}{}/files/", self.0)
    }

    /// `exports/<job>/finished/`: one empty marker per file that reached an end.
    pub fn finished_prefix(&self) -> String {
        format!("{EXPORTS_PREFIX}{}/finished/", self.0)
    }

    /// `exports/<job>/rejects/`: the bad lines, as JSON Lines.
    pub fn rejects_prefix(&self) -> String {
        format!("{EXPORTS_PREFIX}{}/rejects/", self.0)
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for JobId {
    type Error = BadJobId;
    fn try_from(id: String) -> Result<JobId, BadJobId> {
        JobId::parse(&id)
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> String {
        id.0
    }
}

/// What the export's users are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportAction {
    /// Upsert every user with an external id into Userflow.
    UserflowSync,
    /// Turn every user into a GDPR erasure request on the erasure queue.
    Erase,
}

impl ExportAction {
    /// The action's name on the wire and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportAction::UserflowSync => "userflow_sync",
            ExportAction::Erase => "erase",
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// Asked of Braze; waiting for the callback.
    Requested,
    /// The callback is listing the files and enqueueing them.
    Dispatching,
    /// One `export_file` job per file is on the sync queue.
    Dispatched,
    /// Every file reached an end; the totals are final.
    Completed,
    /// Braze reported failure, or the export could not be started or dispatched.
    Failed,
    /// Cancelled by an operator: files not yet started are not read.
    Cancelled,
}

impl ExportState {
    /// Whether nothing more will happen to the job.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ExportState::Completed | ExportState::Failed | ExportState::Cancelled
        )
    }

    /// The state's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Requested => "requested",
            ExportState::Dispatching => "dispatching",
            ExportState::Dispatched => "dispatched",
            ExportState::Completed => "completed",
            ExportState::Failed => "failed",
            ExportState::Cancelled => "cancelled",
        }
    }
}

/// `exports/<job>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// [`MANIFEST_VERSION`].
    pub v: u32,
    /// The job.
    pub job: JobId,
    /// The Braze segment exported.
    pub segment_id: String,
    /// What the users are for.
    pub action: ExportAction,
    /// Zip or gzip, as requested.
    pub output_format: OutputFormat,
    /// `fields_to_export` as requested.
    pub fields: Vec<String>,
    /// `custom_attributes_to_export` as requested (empty: none named).
    #[serde(default)]
    pub custom_attributes: Vec<String>,
    /// The folder Braze names in its answer; `None` until Braze answered.
    #[serde(default)]
    pub object_prefix: Option<String>,
    /// When the export was requested.
    pub requested_at: DateTime<Utc>,
    /// When the callback URL stops being accepted.
    pub callback_expires_at: DateTime<Utc>,
    /// Where the job stands.
    pub state: ExportState,
    /// When `state` last changed.
    pub updated_at: DateTime<Utc>,
    /// The export's files (keys in the export bucket), in dispatch order; a file's index here
    /// names its progress document.
    #[serde(default)]
    pub files: Vec<String>,
    /// Why the job failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The files' counts added up, once `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<FileCounts>,
}

/// A manifest that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The state bucket failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object is not a manifest this relay reads.
    #[error("{key} is not a readable export manifest: {detail}")]
    Unreadable {
        /// The manifest's key.
        key: String,
        /// What is wrong, with its JSON path.
        detail: String,
    },
    /// A job with this id already exists (ids are random: this is a bug or a replay).
    #[error("export job {0} already exists")]
    Exists(JobId),
    /// The manifest kept changing under us.
    #[error("{key} changed {attempts} times while being updated; try again")]
    Contended {
        /// The manifest's key.
        key: String,
        /// Attempts made.
        attempts: usize,
    },
}

impl ManifestError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ManifestError::Store(e) => e.class.is_retryable_later(),
            ManifestError::Contended { .. } => true,
            ManifestError::Unreadable { .. } | ManifestError::Exists(_) => false,
        }
    }
}

/// What an update decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Write the changed manifest.
    Write,
    /// Leave it as it is.
    Keep,
}

/// Reads and changes manifests in the state bucket.
#[derive(Debug)]
pub struct Manifests<'s, S> {
    store: &'s S,
}

/// Most compare-and-swap attempts of one [`Manifests::update`].
const MAX_UPDATE_ATTEMPTS: usize = 10;

impl<'s, S: ObjectStore> Manifests<'s, S> {
    /// Manifests in `store` (the state bucket).
    pub fn new(store: &'s S) -> Manifests<'s, S> {
        Manifests { store }
    }

    /// Writes a new job's manifest; refuses to replace an existing one.
    pub async fn create(&self, manifest: &ExportManifest) -> Result<(), ManifestError> {
        let key = manifest.job.manifest_key();
        match self
            .store
            .put_if_absent(&key, encode(manifest), "application/json")
            .await?
        {
            PutIfAbsent::Created(_) => Ok(()),
            PutIfAbsent::AlreadyExists => Err(ManifestError::Exists(manifest.job.clone())),
        }
    }

    /// The job's manifest; `None` for an unknown job.
    pub async fn load(&self, job: &JobId) -> Result<Option<ExportManifest>, ManifestError> {
        Ok(self
            .load_versioned(job)
            .await?
            .map(|(manifest, _)| manifest))
    }

    async fn load_versioned(
        &self,
        job: &JobId,
    ) -> Result<Option<(ExportManifest, Version)>, ManifestError> {
        let key = job.manifest_key();
        let Some(object) = self.store.get_versioned(&key).await? else {
            return Ok(None);
        };
        let mut decoder = serde_json::Deserializer::from_slice(&object.body);
        let manifest: ExportManifest =
            serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
                ManifestError::Unreadable {
                    key: key.clone(),
                    detail: e.to_string(),
                }
            })?;
        if manifest.v != MANIFEST_VERSION {
            return Err(ManifestError::Unreadable {
                key,
                detail: format!(
                    "version {} (this relay reads {MANIFEST_VERSION})",
                    manifest.v
                ),
            });
        }
        Ok(Some((manifest, object.version)))
    }

    /// Applies `change` to the job's current manifest and writes it if `change` says so,
    /// starting over from a fresh read when somebody else wrote in between. Returns the
    /// manifest as it now stands (`None` for an unknown job).
    pub async fn update(
        &self,
        job: &JobId,
        mut change: impl FnMut(&mut ExportManifest) -> Change,
    ) -> Result<Option<ExportManifest>, ManifestError> {
        let key = job.manifest_key();
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let Some((mut manifest, version)) = self.load_versioned(job).await? else {
                return Ok(None);
            };
            if change(&mut manifest) == Change::Keep {
                return Ok(Some(manifest));
            }
            manifest.updated_at = Utc::now();
            match self
                .store
                .put_if_match(&key, encode(&manifest), "application/json", &version)
                .await?
            {
                PutIfMatch::Written(_) => return Ok(Some(manifest)),
                PutIfMatch::Changed => continue,
            }
        }
        Err(ManifestError::Contended {
            key,
            attempts: MAX_UPDATE_ATTEMPTS,
        })
    }

    /// Moves the job from state `from` to `to`; a job in any other state is left as it is.
    /// Returns the manifest as it now stands.
    pub async fn transition(
        &self,
        job: &JobId,
        from: ExportState,
        to: ExportState,
    ) -> Result<Option<ExportManifest>, ManifestError> {
        self.update(job, |m| {
            if m.state == from {
                m.state = to;
                Change::Write
            } else {
                Change::Keep
            }
        })
        .await
    }

    /// Every job id in the state bucket, oldest first (ids sort by time): the job folders
    /// only, not the progress documents and rejects inside them.
    pub async fn jobs(&self) -> Result<Vec<JobId>, ManifestError> {
        let folders = self.store.list_folders(EXPORTS_PREFIX).await?;
        Ok(folders
            .iter()
            .filter_map(|folder| folder.strip_prefix(EXPORTS_PREFIX)?.strip_suffix('/'))
            .filter_map(|id| JobId::parse(id).ok())
            .collect())
    }
}

fn encode(manifest: &ExportManifest) -> Bytes {
    Bytes::from(serde_json::to_vec_pretty(manifest).expect("manifests serialise"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::MemoryStore;

    pub(crate) fn manifest(job: &str) -> ExportManifest {
        let now = Utc::now();
        ExportManifest {
            v: MANIFEST_VERSION,
            job: JobId::parse(job).unwrap(),
            segment_id: "seg-1".into(),
            action: ExportAction::UserflowSync,
            output_format: OutputFormat::Zip,
            fields: vec!["external_id".into()],
            custom_attributes: vec![],
            object_prefix: None,
            requested_at: now,
            callback_expires_at: now + chrono::Duration::hours(1),
            state: ExportState::Requested,
            updated_at: now,
            files: vec![],
            error: None,
            totals: None,
        }
    }

    #[test]
    fn when_job_ids_are_checked_then_only_key_safe_ids_pass() {
        let cases = [
            ("20261206T160000Z-1a2b3c4d", true),
            ("job_1", true),
            ("", false),
            ("a/b", false),
            ("a b", false),
            ("../x", false),
            (&"x".repeat(65), false),
        ];
        for (id, ok) in cases {
            assert_eq!(JobId::parse(id).is_ok(), ok, "{id:?}");
        }
        let generated = JobId::generate(Utc::now());
        assert!(JobId::parse(generated.as_str()).is_ok());
    }

    #[tokio::test]
    async fn when_two_updates_race_then_both_changes_survive() {
        let store = MemoryStore::new();
        let manifests = Manifests::new(&store);
        let job = JobId::parse("job-race").unwrap();
        manifests.create(&manifest(job.as_str())).await.unwrap();
        let (a, b) = tokio::join!(
            manifests.update(&job, |m| {
                m.files.push("a".into());
                Change::Write
            }),
            manifests.update(&job, |m| {
                m.files.push("b".into());
                Change::Write
            }),
        );
        a.unwrap();
        b.unwrap();
        let mut files = manifests.load(&job).await.unwrap().unwrap().files;
        files.sort();
        assert_eq!(files, ["a", "b"]);
    }

    #[tokio::test]
    async fn when_a_job_exists_then_create_refuses_and_unknown_jobs_load_as_none() {
        let store = MemoryStore::new();
        let manifests = Manifests::new(&store);
        manifests.create(&manifest("job-1")).await.unwrap();
        assert!(matches!(
            manifests.create(&manifest("job-1")).await,
            Err(ManifestError::Exists(_))
        ));
        let unknown = JobId::parse("job-2").unwrap();
        assert!(manifests.load(&unknown).await.unwrap().is_none());
        assert!(
            manifests
                .update(&unknown, |_| Change::Write)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            manifests.jobs().await.unwrap(),
            [JobId::parse("job-1").unwrap()]
        );
    }

    #[tokio::test]
    async fn when_a_manifest_is_not_ours_then_the_error_names_its_key_and_path() {
        let store = MemoryStore::new();
        store
            .put(
                "exports/job-x/manifest.json",
                Bytes::from_static(br#"{"v":1,"job":"job-x","segment_id":7}"#),
                "application/json",
            )
            .await
            .unwrap();
        let err = Manifests::new(&store)
            .load(&JobId::parse("job-x").unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("exports/job-x/manifest.json"), "{err}");
        assert!(err.contains("segment_id"), "{err}");
    }
}
