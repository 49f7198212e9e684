//! Checks of one custom attribute or event / purchase property value, whatever its shape.
//!
//! Braze stores four shapes: a scalar (string, number, boolean, `null`, a date string), an
//! array of scalars, a nested object, and an array of objects. A value may also be an operator
//! object: `{"inc": n}`, `{"add": [..]}` / `{"remove": [..]}` on arrays of scalars, and
//! `{"$add": [..]}` / `{"$remove": [..]}` / `{"$update": [..]}` on arrays of objects.
//!
//! Anything else is refused, because Braze drops it silently (one invalid nested value drops
//! every nested update of the request while the call answers success):
//! - an array holding arrays ([`Rule::ArrayOfArrays`]) and an array mixing scalars and
//!   objects ([`Rule::MixedArray`]), at any depth;
//! - an array of more than 500 items ([`Rule::ArrayTooLong`]), at any depth and whatever its
//!   items: arrays of objects are counted like arrays of scalars;
//! - a string of more than 255 characters ([`Rule::StringTooLong`]), at any depth (Braze
//!   applies the limit to string values inside nested objects too);
//! - more than [`MAX_NESTING_DEPTH`] levels of objects and arrays ([`Rule::NestedTooDeep`]):
//!   Braze documents no depth, but serde_json refuses to parse more than 128 levels, so a
//!   value deeper than that could not even be read back from a parked job; 50 leaves room for
//!   the request around it and keeps every recursive walk here short (Userflow, which gets
//!   the same custom attributes, takes no nested value at all: its client refuses them);
//! - a nested value (object, array, operator argument) over 100 KB serialised
//!   ([`Rule::NestedTooLarge`]);
//! - an operator object with the wrong argument ([`Rule::Operator`]).

use serde::Serialize;
use serde_json::{Map, Value};

use super::join_key;
use crate::braze::validation::rule::{Rule, ValidationError};
use crate::braze::validation::values::check_string_length;
use crate::braze::validation::{MAX_ARRAY_ITEMS, MAX_NESTED_BYTES, MAX_NESTING_DEPTH};

/// Checks one custom attribute or property value found at `path`; every problem found is
/// pushed to `errors`. A value nested too deeply is reported once and not looked into.
pub(super) fn check_value(path: &str, value: &Value, errors: &mut Vec<ValidationError>) {
    if deeper_than(value, MAX_NESTING_DEPTH) {
        errors.push(ValidationError::new(path, Rule::NestedTooDeep));
        return;
    }
    match value {
        Value::Object(map) => match operator(map) {
            Some((name, kind, argument)) => {
                check_operator(&join_key(path, name), kind, argument, errors);
            }
            None => check_shape(path, value, errors),
        },
        _ => check_shape(path, value, errors),
    }
    if matches!(value, Value::Array(_) | Value::Object(_))
        && serialized_len(value) > MAX_NESTED_BYTES
    {
        errors.push(ValidationError::new(path, Rule::NestedTooLarge));
    }
}

/// What an operator object applies to, which decides the argument it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OperatorKind {
    /// `inc`: a number.
    Increment,
    /// `add`, `remove`: an array of scalars.
    ScalarArray,
    /// `$add`, `$remove`, `$update`: an array of objects.
    ObjectArray,
}

/// The operator of a single-key object, with its argument; `None` for a nested object.
fn operator(map: &Map<String, Value>) -> Option<(&str, OperatorKind, &Value)> {
    let mut entries = map.iter();
    let (Some((name, argument)), None) = (entries.next(), entries.next()) else {
        return None;
    };
    let kind = match name.as_str() {
        "inc" => OperatorKind::Increment,
        "add" | "remove" => OperatorKind::ScalarArray,
        "$add" | "$remove" | "$update" => OperatorKind::ObjectArray,
        _ => return None,
    };
    Some((name, kind, argument))
}

fn check_operator(
    path: &str,
    kind: OperatorKind,
    argument: &Value,
    errors: &mut Vec<ValidationError>,
) {
    let well_formed = match (kind, argument) {
        (OperatorKind::Increment, argument) => argument.is_number(),
        (OperatorKind::ScalarArray, Value::Array(items)) => items.iter().all(is_scalar),
        (OperatorKind::ObjectArray, Value::Array(items)) => items.iter().all(Value::is_object),
        _ => false,
    };
    if !well_formed {
        errors.push(ValidationError::new(path, Rule::Operator));
    } else if let Value::Array(items) = argument {
        check_array(path, items, errors);
    }
}

/// Checks a plain value (not an operator object) and everything inside it.
fn check_shape(path: &str, value: &Value, errors: &mut Vec<ValidationError>) {
    match value {
        Value::String(text) => {
            if let Err(rule) = check_string_length(text) {
                errors.push(ValidationError::new(path, rule));
            }
        }
        Value::Array(items) => check_array(path, items, errors),
        Value::Object(map) => {
            for (key, inner) in map {
                check_shape(&join_key(path, key), inner, errors);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Checks one array at any depth: its length, that it is an array of scalars or an array of
/// objects, then its items (arrays inside an array are reported, not looked into).
fn check_array(path: &str, items: &[Value], errors: &mut Vec<ValidationError>) {
    if items.len() > MAX_ARRAY_ITEMS {
        errors.push(ValidationError::new(path, Rule::ArrayTooLong));
    }
    let objects = items.iter().filter(|item| item.is_object()).count();
    if items.iter().any(Value::is_array) {
        errors.push(ValidationError::new(path, Rule::ArrayOfArrays));
    } else if objects != 0 && objects != items.len() {
        errors.push(ValidationError::new(path, Rule::MixedArray));
    }
    for (index, item) in items.iter().enumerate() {
        if !item.is_array() {
            check_shape(&format!("{path}[{index}]"), item, errors);
        }
    }
}

fn is_scalar(value: &Value) -> bool {
    !(value.is_array() || value.is_object())
}

/// Whether `value` nests objects and arrays more than `limit` levels deep (`{"a": [1]}` is 2
/// levels). Looks at most `limit + 1` levels down, so the recursion is bounded by the limit,
/// not by the input.
fn deeper_than(value: &Value, limit: usize) -> bool {
    match value {
        Value::Array(items) => limit == 0 || items.iter().any(|v| deeper_than(v, limit - 1)),
        Value::Object(map) => limit == 0 || map.values().any(|v| deeper_than(v, limit - 1)),
        _ => false,
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
