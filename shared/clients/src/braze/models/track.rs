//! `/users/track` bodies: attributes objects (standard fields as [`Update`]s, custom
//! attributes), events, purchases, and the answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::identifiers::UserIdentifier;
use super::lenient;

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
    fn when_unchanged_is_serialised_directly_then_it_fails_instead_of_sending_null() {
        assert!(serde_json::to_value(Update::<String>::Unchanged).is_err());
    }
}
