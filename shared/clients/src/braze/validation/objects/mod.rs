//! Checks of whole objects: identifiers, attributes objects, single attributes as raw JSON,
//! events and purchases. Paths in the errors are relative to the object.
//!
//! - this module: the objects, and how paths are written;
//! - `custom`: one custom attribute or property value, whatever its shape (scalar, array,
//!   nested object, array of objects, operator object).

use serde_json::{Map, Value};

use super::MAX_PURCHASE_QUANTITY;
use super::rule::{Rule, ValidationError};
use super::values::{
    check_country, check_currency, check_custom_key, check_date, check_email, check_external_id,
    check_gender, check_identifier, check_language, check_phone, check_string_length,
    check_subscription_state, check_time_zone, check_url,
};
use crate::braze::models::{Event, Purchase, Update, UserAttributes, UserIdentifier};

mod custom;

use custom::check_value;
#[cfg(test)]
pub(crate) use custom::serialized_len;

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

/// Checks one identifier: every part non-empty and free of control characters (an id is
/// sent upstream as it is, so a NUL or a line break would become part of the user's id), and
/// the external id at most 987 bytes. Paths: `external_id`, `braze_id`,
/// `user_alias.alias_name`, `user_alias.alias_label`.
pub fn validate_identifier(id: &UserIdentifier) -> Vec<ValidationError> {
    let checks: Vec<(&str, &str, StringCheck)> = match id {
        UserIdentifier::ExternalId(external_id) => {
            vec![("external_id", external_id, check_external_id)]
        }
        UserIdentifier::BrazeId(braze_id) => vec![("braze_id", braze_id, check_identifier)],
        UserIdentifier::UserAlias(alias) => vec![
            ("user_alias.alias_name", &alias.alias_name, check_identifier),
            (
                "user_alias.alias_label",
                &alias.alias_label,
                check_identifier,
            ),
        ],
    };
    checks
        .into_iter()
        .filter_map(|(field, value, check)| check(value).err().map(|rule| (field, rule)))
        .map(|(field, rule)| ValidationError::new(field, rule))
        .collect()
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

/// Checks a custom attribute: the key rules, then the value rules of the `custom` module
/// (Braze's shapes only, strings at most 255 characters and arrays at most 500 items at any
/// depth, at most 50 levels of nesting, nested values at most 100 KB, operator objects well
/// formed). Paths start with `custom.<key>`.
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
mod tests;
