//! `/users/export/ids` and `/users/export/segment` bodies, and the exported profiles.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::identifiers::UserAlias;
use super::lenient;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
