//! Braze state as the admin API seeds and reads it: segments, profiles, segment exports and
//! SCIM dashboard users.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Request to seed a segment with synthetic users (`POST /braze/segments`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SeedSegment {
    /// Segment id used by `/users/export/segment`.
    pub segment_id: String,
    /// Synthetic profiles to create (they become real Braze profiles).
    #[serde(default)]
    pub count: usize,
    /// RNG seed; the same seed and count give the same users.
    #[serde(default)]
    pub seed: u64,
    /// Prefix of generated external_ids (default `"<segment_id>-"`), followed by a
    /// zero-padded index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id_prefix: Option<String>,
    /// Existing profiles (by external_id) to add to the segment as well; unknown ones are
    /// reported in `unknown_external_ids`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<String>,
}

impl SeedSegment {
    /// `count` synthetic users in `segment_id` with seed 0.
    pub fn new(segment_id: &str, count: usize) -> Self {
        SeedSegment {
            segment_id: segment_id.into(),
            count,
            seed: 0,
            external_id_prefix: None,
            external_ids: Vec::new(),
        }
    }
}

/// What seeding created.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeedSummary {
    /// Segment id.
    pub segment_id: String,
    /// Members of the segment after seeding.
    pub size: usize,
    /// Synthetic profiles created or refreshed.
    pub generated: usize,
    /// Of those, profiles with an external_id.
    pub with_external_id: usize,
    /// Of those, alias-only profiles (including email duplicates).
    pub alias_only: usize,
    /// Of the alias-only profiles, those sharing the email of a profile with an external_id.
    pub email_duplicates: usize,
    /// `external_ids` asked for that do not exist.
    #[serde(default)]
    pub unknown_external_ids: Vec<String>,
}

/// A segment and its size (`GET /braze/segments`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Segment id.
    pub segment_id: String,
    /// Member count (including members deleted since).
    pub size: usize,
}

/// Filters for `GET /braze/users` (all optional; combined with AND).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrazeUserQuery {
    /// Exact external_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Exact braze_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub braze_id: Option<String>,
    /// Email, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Alias name (with `alias_label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_name: Option<String>,
    /// Alias label (with `alias_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_label: Option<String>,
    /// Skip this many matches (in creation order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Return at most this many (default: all; 0 returns only `total`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Answer of `GET /braze/users`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BrazeUserPage {
    /// Matches before offset/limit.
    pub total: usize,
    /// The page.
    pub users: Vec<crate::BrazeProfile>,
}

/// State of a segment export.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// Files are being written.
    Running,
    /// All files written and the callback (if any) attempted.
    Completed,
    /// Stopped by `/export/segment/cancel`.
    Cancelled,
    /// Writing a file failed; see `error`.
    Failed,
}

/// A segment export as recorded (`GET /braze/exports`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExportRecord {
    /// Segment id.
    pub segment_id: String,
    /// The object_prefix answered (`<uuid>-<unix seconds>`).
    pub object_prefix: String,
    /// `zip` or `gzip`.
    pub output_format: String,
    /// Bucket written to.
    pub bucket: String,
    /// Key prefix of the files (`segment-export/<id>/<date>/<object_prefix>/`).
    pub key_prefix: String,
    /// Current state.
    pub state: ExportState,
    /// Keys written so far.
    pub files: Vec<String>,
    /// Distinct users written.
    pub users: u64,
    /// Lines written (users + duplicates).
    pub lines: u64,
    /// Callback URL given, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_endpoint: Option<String>,
    /// Status the callback answered, if it was sent and answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_status: Option<u16>,
    /// Failure of the export or of the callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the export was requested.
    pub requested_at: DateTime<Utc>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Malformed lines injected (`malformed_every`), in the order written.
    #[serde(default)]
    pub injected: Vec<InjectedLine>,
    /// Keys of the files cut to half their bytes (`truncate_files`); also in `files`.
    #[serde(default)]
    pub truncated: Vec<String>,
    /// Keys of the files with no lines (`empty_files`); also in `files`.
    #[serde(default)]
    pub empty: Vec<String>,
}

impl ExportRecord {
    /// A record of an export that starts now: running, nothing written yet.
    pub fn running(
        segment_id: &str,
        object_prefix: &str,
        output_format: &str,
        bucket: &str,
        key_prefix: &str,
        callback_endpoint: Option<String>,
        requested_at: DateTime<Utc>,
    ) -> ExportRecord {
        ExportRecord {
            segment_id: segment_id.into(),
            object_prefix: object_prefix.into(),
            output_format: output_format.into(),
            bucket: bucket.into(),
            key_prefix: key_prefix.into(),
            state: ExportState::Running,
            files: Vec::new(),
            users: 0,
            lines: 0,
            callback_endpoint,
            callback_status: None,
            error: None,
            requested_at,
            finished_at: None,
            injected: Vec::new(),
            truncated: Vec::new(),
            empty: Vec::new(),
        }
    }
}

/// One malformed line an export injected, so a test can match the relay's rejects exactly.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InjectedLine {
    /// Object key of the file holding it.
    pub key: String,
    /// 1-based line number across the file's members, in member order.
    pub line: u64,
    /// Zip member holding it (`null` for gzip).
    pub member: Option<String>,
    /// The line's text, without its newline.
    pub text: String,
}

/// Format of segment export files.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// A zip archive of JSON Lines members (`.zip`), Braze's default.
    #[default]
    Zip,
    /// One gzip stream of JSON Lines (`.gz`).
    Gzip,
}

impl ExportFormat {
    /// The name used in JSON (`zip`, `gzip`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Zip => "zip",
            ExportFormat::Gzip => "gzip",
        }
    }
}

/// Request of `POST /braze/exports/synthetic`: export files of generated users written straight
/// to the export bucket, without seeding profiles (benchmarks of 200,000+ users).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SyntheticExport {
    /// Segment id used in the key layout (need not exist).
    pub segment_id: String,
    /// Users to generate (`bench-00000000` onwards).
    pub users: usize,
    /// Users per file (at least 1; default 5,000 like Braze).
    #[serde(default = "default_users_per_file")]
    pub users_per_file: usize,
    /// File format (default zip).
    #[serde(default)]
    pub output_format: ExportFormat,
    /// RNG seed; the same seed gives the same users.
    #[serde(default)]
    pub seed: u64,
    /// JSON members per zip (default 1; see [`crate::ExportSettings::members_per_zip`]).
    #[serde(default = "default_members")]
    pub members_per_zip: usize,
    /// Where `{"success": true}` is POSTed once every file is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_endpoint: Option<String>,
}

fn default_users_per_file() -> usize {
    5_000
}

fn default_members() -> usize {
    1
}

impl SyntheticExport {
    /// `users` users in `segment_id`, 5,000 per zip file, seed 0, no callback.
    pub fn new(segment_id: &str, users: usize) -> Self {
        SyntheticExport {
            segment_id: segment_id.into(),
            users,
            users_per_file: default_users_per_file(),
            output_format: ExportFormat::Zip,
            seed: 0,
            members_per_zip: 1,
            callback_endpoint: None,
        }
    }
}

/// Answer of `POST /braze/exports/synthetic`, sent once every file is written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyntheticExportStarted {
    /// The export's object_prefix (`<uuid>-<unix seconds>`), as `GET /braze/exports` shows it.
    pub object_prefix: String,
    /// Keys written, in user order.
    pub files: Vec<String>,
    /// Users written.
    pub users: usize,
}

/// A SCIM dashboard user as stored (`GET /scim/users`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScimUserRecord {
    /// Resource id.
    pub id: String,
    /// userName (email).
    #[serde(rename = "userName")]
    pub user_name: String,
    /// `{givenName, familyName}`.
    pub name: Value,
    /// Department.
    pub department: Value,
    /// Permissions object as last sent.
    pub permissions: Value,
    /// Creation time (opaque string like Braze's).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// Last sign-in (opaque string like Braze's).
    #[serde(rename = "lastSignInAt")]
    pub last_sign_in_at: String,
}

/// What Braze's `/users/delete` did since the last reset (`GET /braze/deletions`): a repeated
/// deletion shows as a miss, so a test can prove nothing was deleted twice.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrazeDeletions {
    /// Requests answered with success.
    pub requests: u64,
    /// Profiles deleted.
    pub deleted: u64,
    /// Identifiers named that matched no profile (already deleted, or never there).
    pub missed: u64,
}
