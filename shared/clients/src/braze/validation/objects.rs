//! Checks of whole objects: identifiers, attributes objects, single attributes as raw JSON,
//! events and purchases. Paths in the errors are relative to the object.

use serde::Serialize;
use serde_json::{Map, Value};

use super::rule::{Rule, ValidationError};
use super::values::{
    check_country, check_currency, check_custom_key, check_date, check_email, check_external_id,
    check_gender, check_language, check_phone, check_string_length, check_subscription_state,
    check_time_zone, check_url,
};
use super::{MAX_ARRAY_ITEMS, MAX_NESTED_BYTES, MAX_PURCHASE_QUANTITY};
use crate::braze::models::{Event, Purchase, Update, UserAttributes, UserIdentifier};

/// A check of one string value.
type StringCheck = fn(&str) -> Result<(), Rule>;

/// The standard attribute fields, with the check for their (string) value.
const STANDARD_STRING_FIELDS: &[(&str, StringCheck)] = &[
    ("first_name", check_string_length),
    ("last_name", check_string_length),
    ("email", check_email),
    ("phone", check_phone),
    ("country", check_country),
    ("language", check_language),
    ("time_zone", check_time_zone),
    ("dob", check_date),
    ("gender", check_gender),
    ("home_city", check_string_length),
    ("email_subscribe", check_subscription_state),
    ("push_subscribe", check_subscription_state),
    ("image_url", check_url),
];

/// Checks one identifier: external id non-empty and at most 987 bytes; alias name and label
/// and Braze id non-empty. Paths: `external_id`, `user_alias.alias_name`, ...
pub fn validate_identifier(id: &UserIdentifier) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    match id {
        UserIdentifier::ExternalId(external_id) => {
            if let Err(rule) = check_external_id(external_id) {
                errors.push(ValidationError::new("external_id", rule));
            }
        }
        UserIdentifier::BrazeId(braze_id) if braze_id.is_empty() => {
            errors.push(ValidationError::new("braze_id", Rule::Required));
        }
        UserIdentifier::BrazeId(_) => {}
        UserIdentifier::UserAlias(alias) => {
            for (field, value) in [
                ("user_alias.alias_name", &alias.alias_name),
                ("user_alias.alias_label", &alias.alias_label),
            ] {
                if value.is_empty() {
                    errors.push(ValidationError::new(field, Rule::Required));
                }
            }
        }
    }
    errors
}

/// Checks one attributes object: identifier, every standard field being set, every custom
/// attribute. Paths are relative to the object (`email`, `custom.plan`).
pub fn validate_attributes(attributes: &UserAttributes) -> Vec<ValidationError> {
    let mut errors = validate_identifier(&attributes.id);
    let text_fields: [(&str, &Update<String>); 10] = [
        ("first_name", &attributes.first_name),
        ("last_name", &attributes.last_name),
        ("email", &attributes.email),
        ("phone", &attributes.phone),
        ("country", &attributes.country),
        ("language", &attributes.language),
        ("time_zone", &attributes.time_zone),
        ("dob", &attributes.dob),
        ("home_city", &attributes.home_city),
        ("image_url", &attributes.image_url),
    ];
    for (field, update) in text_fields {
        if let Some(value) = update.as_set() {
            errors.extend(validate_attribute(field, &Value::String(value.clone())));
        }
    }
    // gender and subscription states are enums: valid by construction.
    for (key, value) in &attributes.custom {
        if UserAttributes::OWN_KEYS.contains(&key.as_str()) {
            errors.push(ValidationError::new(custom_path(key), Rule::KeyReserved));
        } else {
            errors.extend(validate_custom_attribute(key, value));
        }
    }
    errors
}

/// Checks one attribute given as raw JSON, as a CRM mapping produces it: a standard field
/// (`email`, `gender`, ...) gets its format rule (path = the field), anything else the custom
/// attribute rules (path `custom.<key>`). `null` (remove) is always valid.
pub fn validate_attribute(key: &str, value: &Value) -> Vec<ValidationError> {
    let Some((_, check)) = STANDARD_STRING_FIELDS.iter().find(|(name, _)| *name == key) else {
        return validate_custom_attribute(key, value);
    };
    let outcome = match value {
        Value::Null => Ok(()),
        Value::String(text) => check(text),
        _ => Err(Rule::WrongType),
    };
    outcome
        .err()
        .map(|rule| ValidationError::new(key, rule))
        .into_iter()
        .collect()
}

/// Checks a custom attribute: the key rules, then the value rules (strings at most 255
/// characters, scalar arrays at most 500 items, nested objects and arrays of objects at most
/// 100 KB, operator objects well formed). Paths start with `custom.<key>`.
pub fn validate_custom_attribute(key: &str, value: &Value) -> Vec<ValidationError> {
    let path = custom_path(key);
    let mut errors = Vec::new();
    if let Err(rule) = check_custom_key(key) {
        errors.push(ValidationError::new(path.clone(), rule));
    }
    check_value(&path, value, &mut errors);
    errors
}

/// Checks one event: identifier, name (1..=255 characters), properties (keys and values like
/// custom attributes). Paths: `name`, `properties.<key>`.
pub fn validate_event(event: &Event) -> Vec<ValidationError> {
    let mut errors = validate_identifier(&event.id);
    check_name("name", &event.name, &mut errors);
    if let Some(properties) = &event.properties {
        check_properties(properties, &mut errors);
    }
    errors
}

/// Checks one purchase: identifier, product id (1..=255 characters), currency, a finite
/// price, quantity 1..=100, properties. Paths: `product_id`, `currency`, ...
pub fn validate_purchase(purchase: &Purchase) -> Vec<ValidationError> {
    let mut errors = validate_identifier(&purchase.id);
    check_name("product_id", &purchase.product_id, &mut errors);
    if let Err(rule) = check_currency(&purchase.currency) {
        errors.push(ValidationError::new("currency", rule));
    }
    if !purchase.price.is_finite() {
        errors.push(ValidationError::new("price", Rule::Price));
    }
    if purchase
        .quantity
        .is_some_and(|q| !(1..=MAX_PURCHASE_QUANTITY).contains(&q))
    {
        errors.push(ValidationError::new("quantity", Rule::Quantity));
    }
    if let Some(properties) = &purchase.properties {
        check_properties(properties, &mut errors);
    }
    errors
}

fn check_name(field: &str, name: &str, errors: &mut Vec<ValidationError>) {
    let outcome = if name.is_empty() {
        Err(Rule::Required)
    } else {
        check_string_length(name)
    };
    if let Err(rule) = outcome {
        errors.push(ValidationError::new(field, rule));
    }
}

fn check_properties(properties: &Map<String, Value>, errors: &mut Vec<ValidationError>) {
    for (key, value) in properties {
        let path = join_key("properties", key);
        if let Err(rule) = check_custom_key(key) {
            errors.push(ValidationError::new(path.clone(), rule));
        }
        check_value(&path, value, errors);
    }
}

fn check_value(path: &str, value: &Value, errors: &mut Vec<ValidationError>) {
    match value {
        Value::String(text) => {
            if let Err(rule) = check_string_length(text) {
                errors.push(ValidationError::new(path, rule));
            }
        }
        Value::Array(items) => check_array(path, value, items, errors),
        Value::Object(map) => check_object(path, value, map, errors),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn is_scalar(value: &Value) -> bool {
    !(value.is_array() || value.is_object())
}

fn check_array(path: &str, whole: &Value, items: &[Value], errors: &mut Vec<ValidationError>) {
    if items.iter().all(is_scalar) {
        if items.len() > MAX_ARRAY_ITEMS {
            errors.push(ValidationError::new(path, Rule::ArrayTooLong));
        }
        for (index, item) in items.iter().enumerate() {
            if let Value::String(text) = item
                && let Err(rule) = check_string_length(text)
            {
                errors.push(ValidationError::new(format!("{path}[{index}]"), rule));
            }
        }
    }
    check_nested_size(path, whole, errors);
}

fn check_object(
    path: &str,
    whole: &Value,
    map: &Map<String, Value>,
    errors: &mut Vec<ValidationError>,
) {
    let mut entries = map.iter();
    if let (Some((operator, argument)), None) = (entries.next(), entries.next()) {
        let operator_path = join_key(path, operator);
        let well_formed = match operator.as_str() {
            "inc" => Some(argument.is_number()),
            "add" | "remove" => {
                Some(matches!(argument, Value::Array(items) if items.iter().all(is_scalar)))
            }
            "$add" | "$remove" | "$update" => Some(argument.is_array()),
            _ => None,
        };
        match well_formed {
            Some(false) => errors.push(ValidationError::new(operator_path, Rule::Operator)),
            Some(true) => {
                if let Value::Array(items) = argument {
                    check_array(&operator_path, argument, items, errors);
                }
                return;
            }
            None => {}
        }
    }
    check_nested_size(path, whole, errors);
}

fn check_nested_size(path: &str, value: &Value, errors: &mut Vec<ValidationError>) {
    if serialized_len(value) > MAX_NESTED_BYTES {
        errors.push(ValidationError::new(path, Rule::NestedTooLarge));
    }
}

/// Bytes `value` takes as compact JSON, counted without allocating the text.
pub(crate) fn serialized_len(value: &impl Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Serialising a serde_json::Value or our models into a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

fn custom_path(key: &str) -> String {
    join_key("custom", key)
}

/// `parent.key` for simple keys, `parent["key with.dots"]` otherwise.
fn join_key(parent: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if simple {
        format!("{parent}.{key}")
    } else {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| "\"?\"".to_owned());
        format!("{parent}[{quoted}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::braze::models::UserAlias;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn rules(errors: &[ValidationError]) -> Vec<Rule> {
        errors.iter().map(|e| e.rule).collect()
    }

    #[test]
    fn when_each_attribute_rule_is_met_or_broken_then_the_table_holds() {
        let long = "x".repeat(256);
        let max = "x".repeat(255);
        let many: Vec<Value> = (0..501).map(|i| json!(i)).collect();
        let enough: Vec<Value> = (0..500).map(|i| json!(i)).collect();
        let big_object = json!({ "blob": "y".repeat(MAX_NESTED_BYTES) });
        let big_objects = json!([{ "blob": "y".repeat(MAX_NESTED_BYTES) }]);
        #[rustfmt::skip]
        let table: Vec<(&str, &str, Value, Option<Rule>)> = vec![
            ("email ok", "email", json!("ada@example.com"), None),
            ("email plus tag ok", "email", json!("ada+news@mail.example.co.uk"), None),
            ("email without at", "email", json!("ada.example.com"), Some(Rule::Email)),
            ("email without tld", "email", json!("ada@localhost"), Some(Rule::Email)),
            ("email display name", "email", json!("Ada <ada@example.com>"), Some(Rule::Email)),
            ("email removed", "email", Value::Null, None),
            ("email as number", "email", json!(42), Some(Rule::WrongType)),
            ("phone ok", "phone", json!("+14155550100"), None),
            ("phone shortest", "phone", json!("+12"), None),
            ("phone longest", "phone", json!("+123456789012345"), None),
            ("phone too long", "phone", json!("+1234567890123456"), Some(Rule::Phone)),
            ("phone too short", "phone", json!("+1"), Some(Rule::Phone)),
            ("phone without plus", "phone", json!("14155550100"), Some(Rule::Phone)),
            ("phone leading zero", "phone", json!("+04155550100"), Some(Rule::Phone)),
            ("phone with spaces", "phone", json!("+1 415 555 0100"), Some(Rule::Phone)),
            ("country ok", "country", json!("DE"), None),
            ("country lower case", "country", json!("de"), Some(Rule::Country)),
            ("country alpha-3", "country", json!("DEU"), Some(Rule::Country)),
            ("country unassigned", "country", json!("XX"), Some(Rule::Country)),
            ("language ok", "language", json!("pt"), None),
            ("language upper case", "language", json!("EN"), Some(Rule::Language)),
            ("language alpha-3", "language", json!("eng"), Some(Rule::Language)),
            ("language unassigned", "language", json!("qq"), Some(Rule::Language)),
            ("time zone ok", "time_zone", json!("America/New_York"), None),
            ("time zone utc ok", "time_zone", json!("UTC"), None),
            ("time zone offset", "time_zone", json!("+02:00"), Some(Rule::TimeZone)),
            ("time zone made up", "time_zone", json!("Mars/Olympus_Mons"), Some(Rule::TimeZone)),
            ("dob ok", "dob", json!("1990-02-28"), None),
            ("dob leap day ok", "dob", json!("2000-02-29"), None),
            ("dob not a leap year", "dob", json!("1999-02-29"), Some(Rule::Date)),
            ("dob unpadded", "dob", json!("1990-2-28"), Some(Rule::Date)),
            ("dob other format", "dob", json!("28/02/1990"), Some(Rule::Date)),
            ("dob with time", "dob", json!("1990-02-28T00:00:00Z"), Some(Rule::Date)),
            ("gender ok", "gender", json!("P"), None),
            ("gender lower case ok", "gender", json!("f"), None),
            ("gender word", "gender", json!("female"), Some(Rule::Gender)),
            ("email_subscribe ok", "email_subscribe", json!("opted_in"), None),
            ("push_subscribe ok", "push_subscribe", json!("unsubscribed"), None),
            ("subscription unknown", "email_subscribe", json!("opted-in"), Some(Rule::SubscriptionState)),
            ("image_url ok", "image_url", json!("https://cdn.example.com/a.png"), None),
            ("image_url not http", "image_url", json!("ftp://cdn.example.com/a.png"), Some(Rule::Url)),
            ("first_name at limit", "first_name", json!(max), None),
            ("first_name too long", "first_name", json!(long), Some(Rule::StringTooLong)),
            ("home_city too long", "home_city", json!(long), Some(Rule::StringTooLong)),
            ("custom string at limit", "plan", json!(max), None),
            ("custom string too long", "plan", json!(long), Some(Rule::StringTooLong)),
            ("custom key at limit", &max, json!(1), None),
            ("custom key too long", &long, json!(1), Some(Rule::KeyTooLong)),
            ("custom key with dollar", "$plan", json!(1), Some(Rule::KeyStartsWithDollar)),
            ("custom key empty", "", json!(1), Some(Rule::Required)),
            ("custom remove", "plan", Value::Null, None),
            ("array at limit", "tags", Value::Array(enough), None),
            ("array too long", "tags", Value::Array(many), Some(Rule::ArrayTooLong)),
            ("array item too long", "tags", json!(["ok", long]), Some(Rule::StringTooLong)),
            ("nested object ok", "address", json!({"city": "Berlin", "zip": "10115"}), None),
            ("nested object too large", "address", big_object, Some(Rule::NestedTooLarge)),
            ("array of objects too large", "pets", big_objects, Some(Rule::NestedTooLarge)),
            ("inc ok", "logins", json!({"inc": 1}), None),
            ("inc not a number", "logins", json!({"inc": "1"}), Some(Rule::Operator)),
            ("add ok", "tags", json!({"add": ["a", "b"]}), None),
            ("add of objects", "tags", json!({"add": [{"a": 1}]}), Some(Rule::Operator)),
            ("remove item too long", "tags", json!({"remove": [long]}), Some(Rule::StringTooLong)),
            ("$add ok", "pets", json!({"$add": [{"name": "Rex"}]}), None),
            ("$update not an array", "pets", json!({"$update": {"name": "Rex"}}), Some(Rule::Operator)),
        ];
        for (name, key, value, expected) in table {
            let errors = validate_attribute(key, &value);
            assert_eq!(
                rules(&errors),
                expected.into_iter().collect::<Vec<_>>(),
                "{name}"
            );
        }
    }

    #[test]
    fn when_an_attributes_object_is_checked_then_paths_name_the_fields() {
        let mut attrs = UserAttributes::new(UserIdentifier::external_id("u-1"))
            .with_custom("plan", "x".repeat(300))
            .with_custom("email", "dup@example.com")
            .with_custom("weird key.with dots", "y".repeat(300));
        attrs.email = Update::Set("not-an-email".into());
        attrs.country = Update::Set("XX".into());
        attrs.dob = Update::Remove;
        let errors = validate_attributes(&attrs);
        let found: Vec<(&str, Rule)> = errors.iter().map(|e| (e.path.as_str(), e.rule)).collect();
        assert_eq!(
            found,
            vec![
                ("email", Rule::Email),
                ("country", Rule::Country),
                ("custom.email", Rule::KeyReserved),
                ("custom.plan", Rule::StringTooLong),
                ("custom[\"weird key.with dots\"]", Rule::StringTooLong),
            ]
        );
        let prefixed = errors[3].clone().under("attributes[3]");
        assert_eq!(prefixed.path, "attributes[3].custom.plan");
        assert!(
            prefixed.message.starts_with("attributes[3].custom.plan "),
            "{}",
            prefixed.message
        );
        assert!(
            !errors.iter().any(|e| e.message.contains("not-an-email")),
            "messages quote no value"
        );
    }

    #[test]
    fn when_identifiers_are_checked_then_empty_and_oversized_ids_fail() {
        #[rustfmt::skip]
        let table: Vec<(&str, UserIdentifier, Vec<Rule>)> = vec![
            ("external id ok", UserIdentifier::external_id("u-1"), vec![]),
            ("external id at 987 bytes", UserIdentifier::external_id("é".repeat(493) + "x"), vec![]),
            ("external id over 987 bytes", UserIdentifier::external_id("é".repeat(494)), vec![Rule::ExternalIdTooLong]),
            ("external id empty", UserIdentifier::external_id(""), vec![Rule::Required]),
            ("braze id empty", UserIdentifier::braze_id(""), vec![Rule::Required]),
            ("alias ok", UserIdentifier::alias("n", "l"), vec![]),
            ("alias empty", UserIdentifier::UserAlias(UserAlias::new("", "")), vec![Rule::Required, Rule::Required]),
        ];
        for (name, id, expected) in table {
            assert_eq!(rules(&validate_identifier(&id)), expected, "{name}");
        }
    }

    #[test]
    fn when_events_and_purchases_are_checked_then_their_rules_apply() {
        let time = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let id = UserIdentifier::external_id("u-1");
        let mut event = Event::new(id.clone(), "signed_up", time);
        assert!(validate_event(&event).is_empty());
        event.name = String::new();
        event.properties = Some(
            json!({"$source": "crm", "note": "z".repeat(256)})
                .as_object()
                .unwrap()
                .clone(),
        );
        let found: Vec<(String, Rule)> = validate_event(&event)
            .into_iter()
            .map(|e| (e.path, e.rule))
            .collect();
        assert_eq!(
            found,
            vec![
                ("name".to_owned(), Rule::Required),
                ("properties.$source".to_owned(), Rule::KeyStartsWithDollar),
                ("properties.note".to_owned(), Rule::StringTooLong),
            ]
        );

        let mut purchase = Purchase {
            id,
            product_id: "seat".into(),
            currency: "USD".into(),
            price: 12.5,
            quantity: Some(3),
            time,
            properties: None,
            app_id: None,
            update_existing_only: None,
        };
        assert!(validate_purchase(&purchase).is_empty());
        purchase.currency = "usd".into();
        purchase.price = f64::NAN;
        purchase.quantity = Some(101);
        assert_eq!(
            rules(&validate_purchase(&purchase)),
            vec![Rule::Currency, Rule::Price, Rule::Quantity]
        );
    }
}
