//! Typed request and response bodies of the Braze REST endpoints the relay uses.
//!
//! Requests: optional fields are omitted when `None` (Braze treats a present `null` as
//! "remove"), and [`Update`] says explicitly whether a profile field is left alone, set or
//! removed. Responses: decoding is tolerant (unknown fields ignored, missing fields default,
//! numbers that arrive as strings accepted), because Braze documents little of its answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A Braze user alias: a (name, label) pair that identifies a profile without an external id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserAlias {
    /// The alias value (case-sensitive), e.g. a CRM record id.
    #[serde(default, deserialize_with = "lenient::string")]
    pub alias_name: String,
    /// The namespace of the alias, e.g. `hubspot_contact_id`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub alias_label: String,
}

impl UserAlias {
    /// An alias `name` under `label`.
    pub fn new(name: impl Into<String>, label: impl Into<String>) -> UserAlias {
        UserAlias {
            alias_name: name.into(),
            alias_label: label.into(),
        }
    }
}

/// The one primary identifier of a `/users/track` object. Braze rejects an object carrying
/// more than one, so the type allows exactly one. Serialised inline: `"external_id": ".."`,
/// `"user_alias": {..}` or `"braze_id": ".."`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserIdentifier {
    /// The id the customer's systems use (at most 987 bytes).
    ExternalId(String),
    /// An alias (name + label).
    UserAlias(UserAlias),
    /// Braze's own id for the profile.
    BrazeId(String),
}

impl UserIdentifier {
    /// Identifies the profile by external id.
    pub fn external_id(id: impl Into<String>) -> UserIdentifier {
        UserIdentifier::ExternalId(id.into())
    }

    /// Identifies the profile by alias.
    pub fn alias(name: impl Into<String>, label: impl Into<String>) -> UserIdentifier {
        UserIdentifier::UserAlias(UserAlias::new(name, label))
    }

    /// Identifies the profile by Braze id.
    pub fn braze_id(id: impl Into<String>) -> UserIdentifier {
        UserIdentifier::BrazeId(id.into())
    }

    /// The JSON key the identifier is sent under.
    pub fn key(&self) -> &'static str {
        match self {
            UserIdentifier::ExternalId(_) => "external_id",
            UserIdentifier::UserAlias(_) => "user_alias",
            UserIdentifier::BrazeId(_) => "braze_id",
        }
    }
}

/// What to do with one profile field: leave it (omitted from the JSON), set it, or remove it
/// (`null`, which is how Braze deletes an attribute; an empty string does not).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Update<T> {
    /// Not sent: Braze keeps the current value.
    #[default]
    Unchanged,
    /// Sent with this value.
    Set(T),
    /// Sent as `null`: Braze removes the value.
    Remove,
}

impl<T> Update<T> {
    /// Whether the field is left out of the request.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Update::Unchanged)
    }

    /// The value being set, if any.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Update::Set(value) => Some(value),
            _ => None,
        }
    }
}

impl<T> From<T> for Update<T> {
    fn from(value: T) -> Self {
        Update::Set(value)
    }
}

impl<T: Serialize> Serialize for Update<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Update::Set(value) => value.serialize(serializer),
            // `Unchanged` is skipped by `skip_serializing_if`; if it is ever serialised
            // directly, `null` would remove data, so fail loudly instead.
            Update::Unchanged => Err(serde::ser::Error::custom(
                "Update::Unchanged must be skipped (skip_serializing_if = \"Update::is_unchanged\")",
            )),
            Update::Remove => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Update<T> {
    /// `null` is `Remove`, a value is `Set`; a missing field is `Unchanged` via
    /// `#[serde(default)]`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Update::Remove, Update::Set))
    }
}

/// Braze's gender values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gender {
    /// Male.
    #[serde(rename = "M", alias = "m")]
    Male,
    /// Female.
    #[serde(rename = "F", alias = "f")]
    Female,
    /// Other.
    #[serde(rename = "O", alias = "o")]
    Other,
    /// Not applicable.
    #[serde(rename = "N", alias = "n")]
    NotApplicable,
    /// Prefer not to say.
    #[serde(rename = "P", alias = "p")]
    PreferNotToSay,
    /// Unknown.
    #[serde(rename = "U", alias = "u")]
    Unknown,
}

impl Gender {
    /// Braze's one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "M",
            Gender::Female => "F",
            Gender::Other => "O",
            Gender::NotApplicable => "N",
            Gender::PreferNotToSay => "P",
            Gender::Unknown => "U",
        }
    }

    /// Parses Braze's one-letter code (case-insensitive).
    pub fn from_code(code: &str) -> Option<Gender> {
        [
            Gender::Male,
            Gender::Female,
            Gender::Other,
            Gender::NotApplicable,
            Gender::PreferNotToSay,
            Gender::Unknown,
        ]
        .into_iter()
        .find(|g| g.code().eq_ignore_ascii_case(code))
    }
}

/// Global email / push subscription state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    /// Explicitly opted in.
    OptedIn,
    /// Subscribed (the default for new profiles).
    Subscribed,
    /// Unsubscribed.
    Unsubscribed,
}

impl SubscriptionState {
    /// Braze's wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionState::OptedIn => "opted_in",
            SubscriptionState::Subscribed => "subscribed",
            SubscriptionState::Unsubscribed => "unsubscribed",
        }
    }

    /// Parses Braze's wire value.
    pub fn parse(value: &str) -> Option<SubscriptionState> {
        [
            SubscriptionState::OptedIn,
            SubscriptionState::Subscribed,
            SubscriptionState::Unsubscribed,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// One attributes object of `/users/track`: an identifier, the standard profile fields, and
/// custom attributes at the top level.
///
/// Values are checked by [`crate::braze::validation::validate_attributes`] before the client
/// sends them; the strings here are Braze's wire formats (E.164 phone, ISO codes, IANA zone,
/// `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAttributes {
    /// Which profile (exactly one identifier).
    #[serde(flatten)]
    pub id: UserIdentifier,
    /// `true`: only update an existing profile. Omitted with an external id: create if
    /// missing. With an alias Braze defaults to `true`.
    #[serde(
        rename = "_update_existing_only",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub update_existing_only: Option<bool>,
    /// `true`: deep-merge nested custom attribute objects instead of replacing them.
    #[serde(
        rename = "_merge_objects",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merge_objects: Option<bool>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub first_name: Update<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub last_name: Update<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub email: Update<String>,
    /// Phone number, E.164 (`+14155550100`).
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub phone: Update<String>,
    /// ISO 3166-1 alpha-2 country code (`US`).
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub country: Update<String>,
    /// ISO 639-1 language code (`en`).
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub language: Update<String>,
    /// IANA time zone (`Europe/Berlin`).
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub time_zone: Update<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub dob: Update<String>,
    /// Gender code.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub gender: Update<Gender>,
    /// Home city.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub home_city: Update<String>,
    /// Global email subscription state.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub email_subscribe: Update<SubscriptionState>,
    /// Global push subscription state.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub push_subscribe: Update<SubscriptionState>,
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Update::is_unchanged")]
    pub image_url: Update<String>,
    /// Custom attributes (and any Braze field not modelled above), sent at the top level.
    /// A `null` value removes the attribute.
    #[serde(flatten)]
    pub custom: Map<String, Value>,
}

impl UserAttributes {
    /// An object for `id` that changes nothing yet.
    pub fn new(id: UserIdentifier) -> UserAttributes {
        UserAttributes {
            id,
            update_existing_only: None,
            merge_objects: None,
            first_name: Update::Unchanged,
            last_name: Update::Unchanged,
            email: Update::Unchanged,
            phone: Update::Unchanged,
            country: Update::Unchanged,
            language: Update::Unchanged,
            time_zone: Update::Unchanged,
            dob: Update::Unchanged,
            gender: Update::Unchanged,
            home_city: Update::Unchanged,
            email_subscribe: Update::Unchanged,
            push_subscribe: Update::Unchanged,
            image_url: Update::Unchanged,
            custom: Map::new(),
        }
    }

    /// Sets custom attribute `key` to `value` (`Value::Null` removes it).
    pub fn with_custom(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom.insert(key.into(), value.into());
        self
    }

    /// The JSON keys this struct emits itself; a custom attribute must not reuse them.
    pub const OWN_KEYS: &'static [&'static str] = &[
        "external_id",
        "user_alias",
        "braze_id",
        "_update_existing_only",
        "_merge_objects",
        "first_name",
        "last_name",
        "email",
        "phone",
        "country",
        "language",
        "time_zone",
        "dob",
        "gender",
        "home_city",
        "email_subscribe",
        "push_subscribe",
        "image_url",
    ];
}

/// One custom event of `/users/track`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Whose event (exactly one identifier).
    #[serde(flatten)]
    pub id: UserIdentifier,
    /// Event name.
    pub name: String,
    /// When it happened (ISO 8601).
    pub time: DateTime<Utc>,
    /// Event properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// The app the event belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// `true`: drop the event when the profile does not exist.
    #[serde(
        rename = "_update_existing_only",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub update_existing_only: Option<bool>,
}

impl Event {
    /// Event `name` for `id` at `time`, without properties.
    pub fn new(id: UserIdentifier, name: impl Into<String>, time: DateTime<Utc>) -> Event {
        Event {
            id,
            name: name.into(),
            time,
            properties: None,
            app_id: None,
            update_existing_only: None,
        }
    }
}

/// One purchase of `/users/track`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purchase {
    /// Who bought (exactly one identifier).
    #[serde(flatten)]
    pub id: UserIdentifier,
    /// Product identifier.
    pub product_id: String,
    /// ISO 4217 currency code (`USD`).
    pub currency: String,
    /// Unit price.
    pub price: f64,
    /// Quantity (Braze defaults to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// When it happened (ISO 8601).
    pub time: DateTime<Utc>,
    /// Purchase properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// The app the purchase belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// `true`: drop the purchase when the profile does not exist.
    #[serde(
        rename = "_update_existing_only",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub update_existing_only: Option<bool>,
}

/// The 2xx answer of `/users/track`. `errors` holds per-object failures of a partially
/// successful request; their inner shape is undocumented, so they stay raw JSON here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TrackResponse {
    /// `"success"` (or `"queued"` during maintenance).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Attribute objects Braze processed.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub attributes_processed: Option<u64>,
    /// Events Braze processed.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub events_processed: Option<u64>,
    /// Purchases Braze processed.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub purchases_processed: Option<u64>,
    /// Per-object errors, observed as `{"type", "input_array", "index"}`.
    #[serde(default, deserialize_with = "lenient::vec")]
    pub errors: Vec<Value>,
}

/// How Braze picks among several profiles sharing an email address or phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prioritization {
    /// Profiles with an external id.
    Identified,
    /// Profiles without an external id.
    Unidentified,
    /// The most recently updated profile.
    MostRecentlyUpdated,
    /// The least recently updated profile.
    LeastRecentlyUpdated,
}

/// An email address to delete, with the prioritization Braze applies when several profiles
/// share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailToDelete {
    /// The address.
    pub email: String,
    /// Which profiles to pick; Braze requires at least one entry.
    pub prioritization: Vec<Prioritization>,
}

/// One profile to delete, by any identifier `/users/delete` accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeleteTarget {
    /// By external id.
    ExternalId(String),
    /// By alias.
    UserAlias(UserAlias),
    /// By Braze id.
    BrazeId(String),
    /// By email (+ prioritization).
    Email(EmailToDelete),
    /// By phone number.
    Phone(String),
}

/// The identifier types of `/users/delete`; a request carries exactly one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeleteIdKind {
    /// `external_ids`
    ExternalId,
    /// `user_aliases`
    UserAlias,
    /// `braze_ids`
    BrazeId,
    /// `email_addresses`
    Email,
    /// `phone_numbers`
    Phone,
}

impl DeleteTarget {
    /// The identifier type, which decides the request the target goes into.
    pub fn kind(&self) -> DeleteIdKind {
        match self {
            DeleteTarget::ExternalId(_) => DeleteIdKind::ExternalId,
            DeleteTarget::UserAlias(_) => DeleteIdKind::UserAlias,
            DeleteTarget::BrazeId(_) => DeleteIdKind::BrazeId,
            DeleteTarget::Email(_) => DeleteIdKind::Email,
            DeleteTarget::Phone(_) => DeleteIdKind::Phone,
        }
    }
}

/// The body of one `/users/delete` request: one identifier type, at most 50 ids. Built with
/// [`DeleteBody::new`], which enforces both rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteBody {
    /// `{"external_ids": [..]}`
    ExternalIds(Vec<String>),
    /// `{"user_aliases": [..]}`
    UserAliases(Vec<UserAlias>),
    /// `{"braze_ids": [..]}`
    BrazeIds(Vec<String>),
    /// `{"email_addresses": [{email, prioritization}]}`
    EmailAddresses(Vec<EmailToDelete>),
    /// `{"phone_numbers": [..]}`
    PhoneNumbers(Vec<String>),
}

/// The most identifiers one user-management request may carry (delete, export ids, merge,
/// alias, identify).
pub const MAX_IDS_PER_REQUEST: usize = 50;

impl DeleteBody {
    /// One request's body from `targets`; `None` unless there are 1..=50 targets of a single
    /// identifier type.
    pub fn new(targets: &[DeleteTarget]) -> Option<DeleteBody> {
        let kind = targets.first()?.kind();
        if targets.len() > MAX_IDS_PER_REQUEST || targets.iter().any(|t| t.kind() != kind) {
            return None;
        }
        macro_rules! collect {
            ($variant:ident) => {
                targets
                    .iter()
                    .filter_map(|t| match t {
                        DeleteTarget::$variant(v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect()
            };
        }
        Some(match kind {
            DeleteIdKind::ExternalId => DeleteBody::ExternalIds(collect!(ExternalId)),
            DeleteIdKind::UserAlias => DeleteBody::UserAliases(collect!(UserAlias)),
            DeleteIdKind::BrazeId => DeleteBody::BrazeIds(collect!(BrazeId)),
            DeleteIdKind::Email => DeleteBody::EmailAddresses(collect!(Email)),
            DeleteIdKind::Phone => DeleteBody::PhoneNumbers(collect!(Phone)),
        })
    }
}

/// The answer of `/users/delete`: how many profiles were queued for deletion.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DeleteResponse {
    /// Profiles queued for (asynchronous, irreversible) deletion.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub deleted: Option<u64>,
    /// `"success"`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
}

/// The body of one `/users/export/ids` request: up to 50 external ids and 50 aliases, or
/// exactly one email / phone / Braze id / device id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExportIdsBody {
    /// Up to 50 external ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<String>,
    /// Up to 50 aliases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_aliases: Vec<UserAlias>,
    /// One email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// One phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// One Braze id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub braze_id: Option<String>,
    /// One device id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Fields to return (required by newer workspaces; always sent).
    pub fields_to_export: Vec<String>,
}

/// Fields requested from the export endpoints when the caller names none: identifiers,
/// the standard profile fields, subscription states and custom attributes.
pub const DEFAULT_EXPORT_FIELDS: &[&str] = &[
    "external_id",
    "braze_id",
    "user_aliases",
    "email",
    "phone",
    "first_name",
    "last_name",
    "country",
    "language",
    "time_zone",
    "dob",
    "gender",
    "home_city",
    "created_at",
    "email_subscribe",
    "push_subscribe",
    "custom_attributes",
];

/// The answer of `/users/export/ids`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ExportIdsResponse {
    /// `"success"`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// The profiles found (empty for deleted users).
    #[serde(default, deserialize_with = "lenient::vec")]
    pub users: Vec<ExportedUser>,
    /// Ids that matched no profile.
    #[serde(default, deserialize_with = "lenient::string_vec")]
    pub invalid_user_ids: Vec<String>,
}

/// One exported profile (`/users/export/ids`, and the lines of segment export files).
///
/// Every field is optional and decoded leniently: numbers may arrive as strings and vice
/// versa, `null` means absent. Fields not modelled are kept in `other`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportedUser {
    /// External id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub external_id: Option<String>,
    /// Braze's id (deduplicate by it).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub braze_id: Option<String>,
    /// Aliases of the profile.
    #[serde(default, deserialize_with = "lenient::vec")]
    pub user_aliases: Vec<UserAlias>,
    /// Given name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub last_name: Option<String>,
    /// Email address.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// Phone number as imported (not normalised).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub phone: Option<String>,
    /// Country.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub country: Option<String>,
    /// Language.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub language: Option<String>,
    /// Time zone.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub time_zone: Option<String>,
    /// Date of birth.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub dob: Option<String>,
    /// Gender code (kept as text: Braze may send values outside the request enum).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub gender: Option<String>,
    /// Home city.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub home_city: Option<String>,
    /// Creation time, opaque (`"2020-07-10 15:00:00.000 UTC"`, not ISO 8601).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub created_at: Option<String>,
    /// Email subscription state, as text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email_subscribe: Option<String>,
    /// Push subscription state, as text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub push_subscribe: Option<String>,
    /// Random bucket number.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub random_bucket: Option<u64>,
    /// Lifetime revenue.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub total_revenue: Option<f64>,
    /// Custom attributes with their stored types (a number may be a string).
    #[serde(default, deserialize_with = "lenient::map")]
    pub custom_attributes: Map<String, Value>,
    /// Custom events of the last 90 days.
    #[serde(default, deserialize_with = "lenient::vec")]
    pub custom_events: Vec<ExportedActivity>,
    /// Purchases of the last 90 days.
    #[serde(default, deserialize_with = "lenient::vec")]
    pub purchases: Vec<ExportedActivity>,
    /// Everything else (apps, devices, push_tokens, ...), as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A custom event or purchase summary in an export: name, first and last time, count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportedActivity {
    /// Event name or product id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// First occurrence, opaque.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub first: Option<String>,
    /// Last occurrence, opaque.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub last: Option<String>,
    /// Occurrences.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub count: Option<u64>,
    /// Anything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Export file format of `/users/export/segment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// Zip archives (Braze's default).
    #[default]
    Zip,
    /// Gzip files (own S3 bucket only).
    Gzip,
}

/// The body of `/users/export/segment`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentExportBody {
    /// Segment to export.
    pub segment_id: String,
    /// Fields to export (required).
    pub fields_to_export: Vec<String>,
    /// URL Braze POSTs to when the export is complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_endpoint: Option<String>,
    /// Custom attribute names to export (at most 500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes_to_export: Option<Vec<String>>,
    /// File format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
}

/// Most custom attribute names one segment export may list.
pub const MAX_CUSTOM_ATTRIBUTES_TO_EXPORT: usize = 500;

/// The answer of `/users/export/segment`: where the files will appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentExportStarted {
    /// `<uuid>-<unix seconds>`: the folder name under `segment-export/<segment>/<date>/`.
    #[serde(deserialize_with = "lenient::string")]
    pub object_prefix: String,
    /// Download URL when Braze stores the files; absent with the workspace's own bucket.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub url: Option<String>,
}

/// The body of `/export/segment/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelSegmentExportBody {
    /// The segment whose running export to cancel.
    pub segment_id: String,
}

/// A profile reference in a merge: `/users/merge` accepts an external id, an alias, or an
/// email address / phone number with a prioritization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MergeIdentifier {
    /// `{"external_id": ..}`
    ExternalId {
        /// The external id.
        external_id: String,
    },
    /// `{"user_alias": {..}}`
    UserAlias {
        /// The alias.
        user_alias: UserAlias,
    },
    /// `{"email": .., "prioritization": [..]}`
    Email {
        /// The address.
        email: String,
        /// Which profile to pick among several.
        prioritization: Vec<Prioritization>,
    },
    /// `{"phone": .., "prioritization": [..]}`
    Phone {
        /// The number.
        phone: String,
        /// Which profile to pick among several.
        prioritization: Vec<Prioritization>,
    },
}

/// One merge: `identifier_to_merge` is folded into `identifier_to_keep`, then deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeUpdate {
    /// The profile that disappears.
    pub identifier_to_merge: MergeIdentifier,
    /// The profile that stays.
    pub identifier_to_keep: MergeIdentifier,
}

/// One new alias (`/users/alias/new`); with `external_id` it is added to that profile,
/// without it an alias-only profile is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAlias {
    /// The profile to attach the alias to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Alias value.
    pub alias_name: String,
    /// Alias namespace.
    pub alias_label: String,
}

/// One identification (`/users/identify`): the alias-only profile gets `external_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasToIdentify {
    /// The external id to give the profile.
    pub external_id: String,
    /// The alias that finds the profile (alias_name is case-sensitive).
    pub user_alias: UserAlias,
}

/// The answer of the user-management endpoints (merge, alias/new, identify).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProcessedResponse {
    /// `"success"` (merge answers 202 with `"success"` or `"queued"`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Aliases processed (alias/new, identify).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub aliases_processed: Option<u64>,
}

/// Lenient decoders for vendor bodies: a value of an unexpected type becomes "absent"
/// rather than failing the whole response.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::{Map, Value};

    fn scalar_text(value: Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A string, number or bool as text; anything else is `None`.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(scalar_text(Value::deserialize(d)?))
    }

    /// Like [`opt_string`], with `""` for absent.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(opt_string(d)?.unwrap_or_default())
    }

    /// A non-negative integer from a number (integral float accepted) or a numeric string.
    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            }),
            Value::String(s) => {
                let s = s.trim();
                s.parse::<u64>().ok().or_else(|| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                        .map(|f| f as u64)
                })
            }
            _ => None,
        })
    }

    /// A finite float from a number or a numeric string.
    pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|f| f.is_finite()))
    }

    /// An object; anything else is empty.
    pub fn map<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Object(map) => map,
            _ => Map::new(),
        })
    }

    /// An array whose elements decode as `T`; `null` is empty. Elements that do not fit
    /// fail the decode (with their path), since dropping them silently could lose users.
    pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }

    /// An array of ids as text (numbers accepted); other elements are skipped.
    pub fn string_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items.into_iter().filter_map(scalar_text).collect(),
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_fields_are_set_removed_or_unchanged_then_json_has_value_null_or_nothing() {
        let mut attrs = UserAttributes::new(UserIdentifier::external_id("u-1"))
            .with_custom("plan", "pro")
            .with_custom("old_flag", Value::Null);
        attrs.first_name = Update::Set("Ada".into());
        attrs.last_name = Update::Remove;
        attrs.gender = Update::Set(Gender::PreferNotToSay);
        attrs.email_subscribe = Update::Set(SubscriptionState::OptedIn);
        attrs.update_existing_only = Some(true);
        assert_eq!(
            serde_json::to_value(&attrs).unwrap(),
            json!({
                "external_id": "u-1",
                "_update_existing_only": true,
                "first_name": "Ada",
                "last_name": null,
                "gender": "P",
                "email_subscribe": "opted_in",
                "plan": "pro",
                "old_flag": null,
            })
        );
    }

    #[test]
    fn when_an_attributes_object_is_decoded_then_identifier_standard_and_custom_fields_separate() {
        let attrs: UserAttributes = serde_json::from_value(json!({
            "user_alias": {"alias_name": "crm-7", "alias_label": "hubspot"},
            "email": null,
            "country": "DE",
            "plan": "free",
        }))
        .unwrap();
        assert_eq!(attrs.id, UserIdentifier::alias("crm-7", "hubspot"));
        assert_eq!(attrs.email, Update::Remove);
        assert_eq!(attrs.country, Update::Set("DE".into()));
        assert_eq!(attrs.first_name, Update::Unchanged);
        assert_eq!(attrs.custom.len(), 1, "{:?}", attrs.custom);
        assert_eq!(attrs.custom["plan"], "free");
    }

    #[test]
    fn when_delete_targets_mix_types_or_exceed_fifty_then_no_body_is_built() {
        let ext = |i: usize| DeleteTarget::ExternalId(format!("u{i}"));
        assert!(DeleteBody::new(&[ext(1), DeleteTarget::BrazeId("b".into())]).is_none());
        assert!(DeleteBody::new(&(0..51).map(ext).collect::<Vec<_>>()).is_none());
        assert!(DeleteBody::new(&[]).is_none());
        let body = DeleteBody::new(&(0..50).map(ext).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap()["external_ids"]
                .as_array()
                .unwrap()
                .len(),
            50
        );
        let email = DeleteBody::new(&[DeleteTarget::Email(EmailToDelete {
            email: "a@example.com".into(),
            prioritization: vec![
                Prioritization::Unidentified,
                Prioritization::MostRecentlyUpdated,
            ],
        })])
        .unwrap();
        assert_eq!(
            serde_json::to_value(&email).unwrap(),
            json!({"email_addresses": [{"email": "a@example.com", "prioritization": ["unidentified", "most_recently_updated"]}]})
        );
    }

    #[test]
    fn when_exported_numbers_arrive_as_strings_then_decoding_still_succeeds() {
        let user: ExportedUser = serde_json::from_value(json!({
            "external_id": 12345,
            "braze_id": "5f1",
            "random_bucket": "4821",
            "total_revenue": "12.50",
            "custom_events": [{"name": "signed_up", "count": "3", "first": "2024-01-01T00:00:00Z"}],
            "custom_attributes": {"seats": "12"},
            "devices": [{"model": "x"}],
            "phone": null,
            "user_aliases": null,
        }))
        .unwrap();
        assert_eq!(user.external_id.as_deref(), Some("12345"));
        assert_eq!(user.random_bucket, Some(4821));
        assert_eq!(user.total_revenue, Some(12.5));
        assert_eq!(user.custom_events[0].count, Some(3));
        assert_eq!(user.custom_attributes["seats"], "12");
        assert!(user.other.contains_key("devices"));
        assert_eq!(user.phone, None);
        assert!(user.user_aliases.is_empty());
    }

    #[test]
    fn when_merge_identifiers_serialise_then_each_has_its_documented_shape() {
        let update = MergeUpdate {
            identifier_to_merge: MergeIdentifier::Email {
                email: "a@example.com".into(),
                prioritization: vec![Prioritization::Unidentified],
            },
            identifier_to_keep: MergeIdentifier::ExternalId {
                external_id: "u-1".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({
                "identifier_to_merge": {"email": "a@example.com", "prioritization": ["unidentified"]},
                "identifier_to_keep": {"external_id": "u-1"},
            })
        );
    }

    #[test]
    fn when_unchanged_is_serialised_directly_then_it_fails_instead_of_sending_null() {
        assert!(serde_json::to_value(Update::<String>::Unchanged).is_err());
    }
}
