//! Runtime settings (`GET`/`PATCH /settings`): rate-limit buckets, segment export
//! behaviour, the `/users/track` object limit, and where exports are written
//! (`/export-storage`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A rate-limit bucket.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// `/users/track` (Braze default 3,000 per 3 s).
    BrazeTrack,
    /// `/users/delete`, `/users/alias/new`, `/users/identify`, `/users/merge` (20,000/min).
    BrazeUsers,
    /// `/users/export/ids` (250/min).
    BrazeExportIds,
    /// `/users/export/segment` (250,000/h).
    BrazeExportSegment,
    /// Other Braze routes (`/export/segment/cancel`).
    BrazeOther,
    /// SCIM (5,000/day).
    Scim,
    /// Userflow (off by default).
    Userflow,
    /// Every HubSpot route (batch read, single read): 100 per 10 s, a private app's
    /// Free/Starter budget.
    Hubspot,
}

impl Bucket {
    /// Every bucket.
    pub const ALL: [Bucket; 8] = [
        Bucket::BrazeTrack,
        Bucket::BrazeUsers,
        Bucket::BrazeExportIds,
        Bucket::BrazeExportSegment,
        Bucket::BrazeOther,
        Bucket::Scim,
        Bucket::Userflow,
        Bucket::Hubspot,
    ];

    /// The default limit (`None` = unlimited).
    pub fn default_limit(self) -> Option<RateLimit> {
        let l = |limit, window_secs| Some(RateLimit { limit, window_secs });
        match self {
            Bucket::BrazeTrack => l(3_000, 3),
            Bucket::BrazeUsers => l(20_000, 60),
            Bucket::BrazeExportIds => l(250, 60),
            Bucket::BrazeExportSegment => l(250_000, 3_600),
            Bucket::BrazeOther => l(250_000, 3_600),
            Bucket::Scim => l(5_000, 86_400),
            Bucket::Userflow => None,
            Bucket::Hubspot => l(100, 10),
        }
    }
}

/// A fixed-window limit: `limit` requests per `window_secs`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u64,
    /// Window length in seconds.
    pub window_secs: u64,
}

/// Segment export behaviour.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportSettings {
    /// Users per file (Braze: about 5,000).
    pub users_per_file: usize,
    /// Days added to the date folder (`segment-export/<id>/<date>/...`), to emulate a date
    /// folder that differs from the object_prefix timestamp's day. May be negative.
    pub date_shift_days: i64,
    /// Every Nth segment member is written twice (the second line lands in the next file when
    /// there is one); 0 disables duplicates.
    pub duplicate_every: u64,
    /// Pause after each file, to keep an export running (for 429 / cancel tests).
    pub file_delay_ms: u64,
    /// Every Nth line written (counted across the export's files, injected lines included)
    /// is a malformed line instead (cycling through truncated JSON, a JSON array, plain text
    /// and an object whose `external_id` is an object); the user it displaced follows on the
    /// next line, so no user is lost. 0 disables; 1 is refused (no user would ever be written).
    /// Each one is recorded in [`crate::ExportRecord::injected`].
    #[serde(default)]
    pub malformed_every: u64,
    /// JSON members per zip file (gzip files always hold one stream). Above 1 the zip starts
    /// with a `data/` directory entry and its lines are split across members named
    /// `data/part-<n>.json` (odd n) or `data/part-<n>.txt` (even n).
    #[serde(default = "one")]
    pub members_per_zip: usize,
    /// Extra files with no lines, written after the others (zip: one empty member; gzip: a
    /// valid gzip of zero bytes), listed in [`crate::ExportRecord::empty`].
    #[serde(default)]
    pub empty_files: usize,
    /// Extra files holding a few lines of users that the intact files hold too, cut to half
    /// their bytes before upload (a truncated archive), listed in
    /// [`crate::ExportRecord::truncated`].
    #[serde(default)]
    pub truncate_files: usize,
}

fn one() -> usize {
    1
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            users_per_file: 5_000,
            date_shift_days: 0,
            duplicate_every: 1_000,
            file_delay_ms: 0,
            malformed_every: 0,
            members_per_zip: 1,
            empty_files: 0,
            truncate_files: 0,
        }
    }
}

/// All runtime settings (`GET /settings`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// Limit per bucket; `null` = unlimited.
    pub rate_limits: BTreeMap<Bucket, Option<RateLimit>>,
    /// Segment export behaviour.
    pub export: ExportSettings,
    /// Maximum objects (attributes + events + purchases) per `/users/track` request.
    pub track_max_objects: usize,
    /// Capacity of the request log.
    pub request_log_capacity: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate_limits: Bucket::ALL
                .iter()
                .map(|b| (*b, b.default_limit()))
                .collect(),
            export: ExportSettings::default(),
            track_max_objects: 75,
            request_log_capacity: 2_000,
        }
    }
}

/// A partial update of [`Settings`] (`PATCH /settings`): only present fields change.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// Buckets to change; `null` disables a bucket's limit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_limits: BTreeMap<Bucket, Option<RateLimit>>,
    /// Export settings to change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportSettingsPatch>,
    /// New `/users/track` object limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_max_objects: Option<usize>,
    /// New request log capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_log_capacity: Option<usize>,
}

/// A partial update of [`ExportSettings`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportSettingsPatch {
    /// See [`ExportSettings::users_per_file`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_per_file: Option<usize>,
    /// See [`ExportSettings::date_shift_days`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_shift_days: Option<i64>,
    /// See [`ExportSettings::duplicate_every`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_every: Option<u64>,
    /// See [`ExportSettings::file_delay_ms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_delay_ms: Option<u64>,
    /// See [`ExportSettings::malformed_every`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_every: Option<u64>,
    /// See [`ExportSettings::members_per_zip`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_per_zip: Option<usize>,
    /// See [`ExportSettings::empty_files`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_files: Option<usize>,
    /// See [`ExportSettings::truncate_files`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_files: Option<usize>,
}

/// Where segment exports are written (`PUT /export-storage`; `GET` reads it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportStorage {
    /// The bucket.
    pub bucket: String,
    /// S3 endpoint (moto); `localhost` is rewritten to 127.0.0.1, path-style addressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Signing region.
    #[serde(default = "default_region")]
    pub region: String,
}

fn default_region() -> String {
    "us-east-1".into()
}
