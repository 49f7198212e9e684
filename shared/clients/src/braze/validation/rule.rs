//! What a failed check reports: the [`Rule`] broken and where ([`ValidationError`]).

use std::fmt;

use serde::Serialize;

/// The rule a value broke. Serialised in snake_case for API reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// An identifier, name or key is empty.
    Required,
    /// The external id is longer than 987 bytes.
    ExternalIdTooLong,
    /// An identifier (external id, Braze id, alias name or label) contains a control
    /// character (C0, DEL or C1, e.g. NUL, tab, CR, LF): it would reach the vendors as part of
    /// the user id.
    ControlCharacter,
    /// A custom attribute or property key is longer than 255 characters.
    KeyTooLong,
    /// A custom attribute or property key starts with `$`.
    KeyStartsWithDollar,
    /// A custom attribute key is one the object sends itself (an identifier or standard field).
    KeyReserved,
    /// A string value is longer than 255 characters.
    StringTooLong,
    /// An array, at any depth and whatever its items, has more than 500 items.
    ArrayTooLong,
    /// A nested object or array is larger than 100 KB serialized.
    NestedTooLarge,
    /// An array holds arrays: not one of Braze's shapes (scalar, array of scalars, object,
    /// array of objects).
    ArrayOfArrays,
    /// An array mixes scalars and objects: neither an array of scalars nor an array of
    /// objects.
    MixedArray,
    /// Objects and arrays are nested deeper than 50 levels.
    NestedTooDeep,
    /// An operator object (`inc`, `add`, `remove`, `$add`, `$remove`, `$update`) has the
    /// wrong argument.
    Operator,
    /// A standard field has the wrong JSON type (e.g. a number for `email`).
    WrongType,
    /// Not an email address.
    Email,
    /// Not an E.164 phone number.
    Phone,
    /// Not an ISO 3166-1 alpha-2 country code.
    Country,
    /// Not an ISO 639-1 language code.
    Language,
    /// Not an IANA time zone.
    TimeZone,
    /// Not a real date in `YYYY-MM-DD` form.
    Date,
    /// Not one of Braze's gender codes.
    Gender,
    /// Not `opted_in`, `subscribed` or `unsubscribed`.
    SubscriptionState,
    /// Not an http(s) URL.
    Url,
    /// Not an ISO 4217 currency code (three capital letters).
    Currency,
    /// A price that is not a finite number.
    Price,
    /// A purchase quantity outside 1..=100.
    Quantity,
    /// The object alone is larger than one Braze request may be.
    RequestTooLarge,
}

impl Rule {
    /// The rule's name as serialised in API reports (`snake_case`, e.g. `key_too_long`), so a
    /// caller can name a rule without a JSON round-trip.
    pub fn as_str(&self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::ExternalIdTooLong => "external_id_too_long",
            Rule::ControlCharacter => "control_character",
            Rule::KeyTooLong => "key_too_long",
            Rule::KeyStartsWithDollar => "key_starts_with_dollar",
            Rule::KeyReserved => "key_reserved",
            Rule::StringTooLong => "string_too_long",
            Rule::ArrayTooLong => "array_too_long",
            Rule::NestedTooLarge => "nested_too_large",
            Rule::ArrayOfArrays => "array_of_arrays",
            Rule::MixedArray => "mixed_array",
            Rule::NestedTooDeep => "nested_too_deep",
            Rule::Operator => "operator",
            Rule::WrongType => "wrong_type",
            Rule::Email => "email",
            Rule::Phone => "phone",
            Rule::Country => "country",
            Rule::Language => "language",
            Rule::TimeZone => "time_zone",
            Rule::Date => "date",
            Rule::Gender => "gender",
            Rule::SubscriptionState => "subscription_state",
            Rule::Url => "url",
            Rule::Currency => "currency",
            Rule::Price => "price",
            Rule::Quantity => "quantity",
            Rule::RequestTooLarge => "request_too_large",
        }
    }

    /// A human description of the rule, without any value.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::Required => "must not be empty",
            Rule::ExternalIdTooLong => "is longer than 987 bytes",
            Rule::ControlCharacter => {
                "contains a control character (NUL, tab, CR, LF, DEL, ...); identifiers must not"
            }
            Rule::KeyTooLong => "key is longer than 255 characters",
            Rule::KeyStartsWithDollar => "key must not start with `$`",
            Rule::KeyReserved => {
                "key is an identifier or standard field; set it through its own field"
            }
            Rule::StringTooLong => "is longer than 255 characters",
            Rule::ArrayTooLong => "has more than 500 items",
            Rule::NestedTooLarge => "is larger than 100 KB serialized",
            Rule::ArrayOfArrays => {
                "is an array holding arrays; Braze takes arrays of scalars or of objects only"
            }
            Rule::MixedArray => "mixes scalars and objects in one array",
            Rule::NestedTooDeep => "is nested deeper than 50 levels of objects and arrays",
            Rule::Operator => "operator object has the wrong argument",
            Rule::WrongType => "has the wrong type",
            Rule::Email => "is not a valid email address",
            Rule::Phone => {
                "is not an E.164 phone number (`+` then 2 to 15 digits, not starting with 0)"
            }
            Rule::Country => "is not an ISO 3166-1 alpha-2 country code (e.g. `US`)",
            Rule::Language => "is not an ISO 639-1 language code (e.g. `en`)",
            Rule::TimeZone => "is not an IANA time zone (e.g. `Europe/Berlin`)",
            Rule::Date => "is not a real date in YYYY-MM-DD form",
            Rule::Gender => "is not one of M, F, O, N, P, U",
            Rule::SubscriptionState => "is not one of opted_in, subscribed, unsubscribed",
            Rule::Url => "is not an http(s) URL",
            Rule::Currency => "is not an ISO 4217 currency code (three capital letters)",
            Rule::Price => "is not a finite number",
            Rule::Quantity => "is not between 1 and 100",
            Rule::RequestTooLarge => "is larger than one Braze request may be (4 MB)",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One value that Braze would reject or silently drop.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ValidationError {
    /// JSON path of the field, e.g. `email`, `custom.plan`, `attributes[3].custom.plan`.
    pub path: String,
    /// The rule it broke.
    pub rule: Rule,
    /// What is wrong, for people; never quotes the value.
    pub message: String,
}

impl ValidationError {
    /// An error at `path` for `rule`, with the rule's description as message.
    pub fn new(path: impl Into<String>, rule: Rule) -> ValidationError {
        let path = path.into();
        ValidationError {
            message: format!("{path} {}", rule.describe()),
            path,
            rule,
        }
    }

    /// The same error under `prefix` (e.g. `attributes[3]`): `email` becomes
    /// `attributes[3].email`.
    pub fn under(mut self, prefix: &str) -> ValidationError {
        if !prefix.is_empty() {
            let joined = if self.path.starts_with('[') {
                format!("{prefix}{}", self.path)
            } else {
                format!("{prefix}.{}", self.path)
            };
            if let Some(rest) = self.message.strip_prefix(self.path.as_str()) {
                self.message = format!("{joined}{rest}");
            }
            self.path = joined;
        }
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_a_rule_is_named_then_as_str_is_its_serde_name() {
        let every_rule = [
            Rule::Required,
            Rule::ExternalIdTooLong,
            Rule::ControlCharacter,
            Rule::KeyTooLong,
            Rule::KeyStartsWithDollar,
            Rule::KeyReserved,
            Rule::StringTooLong,
            Rule::ArrayTooLong,
            Rule::NestedTooLarge,
            Rule::ArrayOfArrays,
            Rule::MixedArray,
            Rule::NestedTooDeep,
            Rule::Operator,
            Rule::WrongType,
            Rule::Email,
            Rule::Phone,
            Rule::Country,
            Rule::Language,
            Rule::TimeZone,
            Rule::Date,
            Rule::Gender,
            Rule::SubscriptionState,
            Rule::Url,
            Rule::Currency,
            Rule::Price,
            Rule::Quantity,
            Rule::RequestTooLarge,
        ];
        for rule in every_rule {
            assert_eq!(json!(rule.as_str()), json!(rule), "{rule:?}");
        }
    }
}
