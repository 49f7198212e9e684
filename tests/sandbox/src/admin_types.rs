//! JSON types of the admin API, shared by the server ([`crate::admin`]) and [`crate::AdminClient`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One emulated API, as named in fault rules, request counts and the request log.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// Braze REST (`/users/...`, `/export/...`).
    Braze,
    /// Braze SCIM (`/scim/v2/...` on the Braze listener).
    Scim,
    /// Userflow.
    Userflow,
    /// HubSpot CRM (`/crm/v3/objects/contacts/...` on the HubSpot listener).
    Hubspot,
}

impl Api {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Braze => "braze",
            Api::Scim => "scim",
            Api::Userflow => "userflow",
            Api::Hubspot => "hubspot",
        }
    }
}

/// A fault injection rule: which requests it matches, what it does, and how often.
/// Unknown fields are refused, so a misspelt limit never silently becomes "always".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The API whose requests the rule matches.
    pub api: Api,
    /// HTTP method (`POST`, case-insensitive) or `*`.
    #[serde(default = "any")]
    pub method: String,
    /// The request path, with `*` matching any run of characters (`/users/*`), or `*` alone.
    #[serde(default = "any")]
    pub path: String,
    /// What happens to a request the rule fires on (JSON field `fault`).
    #[serde(rename = "fault")]
    pub kind: FaultKind,
    /// Fire on at most this many requests (then the rule is exhausted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Fire on each matching request with this probability (0..=1); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the rule's own random sequence (used with `probability`); default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn any() -> String {
    "*".into()
}

impl FaultRule {
    /// A rule matching every request of `api` with the given kind, unlimited.
    pub fn new(api: Api, method: &str, path: &str, kind: FaultKind) -> Self {
        FaultRule {
            api,
            method: method.into(),
            path: path.into(),
            kind,
            count: None,
            probability: None,
            seed: None,
        }
    }

    /// Limits the rule to the first `n` requests it fires on.
    pub fn times(mut self, n: u64) -> Self {
        self.count = Some(n);
        self
    }

    /// Fires with probability `p`, drawn from a sequence seeded with `seed`.
    pub fn with_probability(mut self, p: f64, seed: u64) -> Self {
        self.probability = Some(p);
        self.seed = Some(seed);
        self
    }
}

/// What a fault does. Every kind except `latency` answers without touching state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// Answer with this status. `html: true` sends a load balancer's HTML page
    /// (`Content-Type: text/html`); `body` / `content_type` override the body entirely.
    Status {
        /// The HTTP status to answer.
        status: u16,
        /// Send an HTML error page instead of the API's JSON error.
        #[serde(default)]
        html: bool,
        /// A literal body to send instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// Content type for `body` (default `application/json`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
    },
    /// Answer 429 with the API's rate-limit headers (`X-Ratelimit-Retry-After` for Braze and
    /// SCIM, `Retry-After` for Userflow, `Retry-After` and `X-HubSpot-RateLimit-*` for
    /// HubSpot).
    Throttle {
        /// Seconds the client is told to wait.
        #[serde(default = "one")]
        retry_after: u64,
    },
    /// Delay the request by `ms` milliseconds, then handle it normally.
    Latency {
        /// Added delay in milliseconds.
        ms: u64,
    },
    /// Break the connection: the response head is never completed, the client sees a
    /// transport error.
    Drop,
}

impl FaultKind {
    /// Answer `status` with the API's own error body, or a load balancer's HTML page when
    /// `html` (the 502/503 pages clients must never parse as JSON).
    pub fn status(status: u16, html: bool) -> FaultKind {
        FaultKind::Status {
            status,
            html,
            body: None,
            content_type: None,
        }
    }
}

fn one() -> u64 {
    1
}

/// A fault rule as stored, with its counters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FaultStatus {
    /// Id for `DELETE /faults/{id}`.
    pub id: String,
    /// The rule.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Requests that matched api + method + path.
    pub matched: u64,
    /// Requests the rule fired on.
    pub fired: u64,
    /// True once `count` is reached.
    pub exhausted: bool,
}

/// Number of requests per (api, method, route, status).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestCount {
    /// API.
    pub api: Api,
    /// HTTP method.
    pub method: String,
    /// Route template (`/users/{id}`), or `(unmatched)`.
    pub route: String,
    /// Status sent; `0` when the connection was dropped by a `drop` fault.
    pub status: u16,
    /// How many.
    pub count: u64,
}

/// One entry of the bounded request log. Never holds bodies, query strings or credentials.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    /// Monotonic sequence number.
    pub seq: u64,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// API.
    pub api: Api,
    /// HTTP method.
    pub method: String,
    /// Path as sent (without the query string).
    pub path: String,
    /// Route template.
    pub route: String,
    /// Status sent (`0` for a dropped connection).
    pub status: u16,
    /// The fault kind applied, if any (`status`, `throttle`, `latency`, `drop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// Time spent answering.
    pub duration_ms: u64,
    /// Selected request headers, lowercase names: `content-type`, `userflow-version`,
    /// `x-request-origin`, `accept`, `user-agent`.
    pub headers: BTreeMap<String, String>,
}

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
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            users_per_file: 5_000,
            date_shift_days: 0,
            duplicate_every: 1_000,
            file_delay_ms: 0,
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

/// A Userflow user as stored (`GET /userflow/users`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserflowUserRecord {
    /// User id.
    pub id: String,
    /// Attributes.
    pub attributes: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Memberships by group id: membership attributes.
    pub memberships: BTreeMap<String, Map<String, Value>>,
}

/// A Userflow group as stored (`GET /userflow/groups`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserflowGroupRecord {
    /// Group id.
    pub id: String,
    /// Attributes.
    pub attributes: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A Userflow event as stored (`GET /userflow/events`), duplicates included.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserflowEventRecord {
    /// Generated event id.
    pub id: String,
    /// Event name (case-sensitive).
    pub name: String,
    /// User id, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Group id, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Event attributes.
    pub attributes: Map<String, Value>,
    /// When it was received.
    pub created_at: DateTime<Utc>,
}

/// One HubSpot contact to seed (`POST /hubspot/contacts`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubspotContactSeed {
    /// The object id (`hs_object_id`), e.g. `"101"`.
    pub id: String,
    /// Properties by internal name. Strings, numbers and booleans are stored as HubSpot's
    /// strings; `null` leaves a property unset. `createdate` and `lastmodifieddate` default
    /// to now.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl HubspotContactSeed {
    /// A contact with this id and no properties yet.
    pub fn new(id: impl Into<String>) -> Self {
        HubspotContactSeed {
            id: id.into(),
            properties: Map::new(),
        }
    }

    /// Sets one property.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }
}

/// Body of `POST /hubspot/contacts`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeedHubspotContacts {
    /// Contacts to create, or to replace when the id exists.
    pub contacts: Vec<HubspotContactSeed>,
}

/// What seeding HubSpot contacts did.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HubspotSeedSummary {
    /// Contacts in the body.
    pub seeded: usize,
    /// Of those, ids that did not exist before.
    pub created: usize,
    /// Contacts stored after seeding.
    pub total: usize,
}

/// A HubSpot contact as stored (`GET /hubspot/contacts`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HubspotContactRecord {
    /// The object id.
    pub id: String,
    /// Every property as HubSpot's string, `hs_object_id`, `createdate` and
    /// `lastmodifieddate` included.
    pub properties: BTreeMap<String, String>,
    /// When it was first seeded (`createdAt`).
    pub created_at: DateTime<Utc>,
    /// When it was last seeded (`updatedAt`).
    pub updated_at: DateTime<Utc>,
}
