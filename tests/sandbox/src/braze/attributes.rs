//! The attribute objects of `POST /users/track`: validation of standard fields and custom
//! attributes, and Braze's update operators on custom attribute values.
//!
//! Braze accepts custom attribute names that do not start with `$` and are at most 255
//! characters, string values of at most 255 characters and arrays of at most 500 items.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::profiles::STANDARD_FIELDS;

/// Custom attribute names and string values.
const MAX_CUSTOM_CHARS: usize = 255;
/// Items of a custom scalar array.
const MAX_ARRAY_ITEMS: usize = 500;

/// Keys that identify or steer, never stored as attributes.
fn is_control_key(key: &str) -> bool {
    matches!(key, "external_id" | "user_alias" | "braze_id") || key.starts_with('_')
}

/// Checks an attributes object before anything changes: the standard fields with a fixed
/// format (`email_subscribe`, `push_subscribe`, `gender`, `dob`) and every custom attribute's
/// name and value. The error is the item's error type.
pub(super) fn validate_attributes(obj: &Map<String, Value>) -> Result<(), String> {
    for (key, value) in obj {
        if is_control_key(key) || value.is_null() {
            continue;
        }
        match key.as_str() {
            "email_subscribe" | "push_subscribe" => {
                let ok = value
                    .as_str()
                    .is_some_and(|s| matches!(s, "opted_in" | "subscribed" | "unsubscribed"));
                if !ok {
                    return Err(format!(
                        "'{key}' must be one of 'opted_in', 'subscribed' or 'unsubscribed'"
                    ));
                }
            }
            "gender" => {
                let ok = value.as_str().is_some_and(|s| {
                    matches!(
                        s.to_ascii_uppercase().as_str(),
                        "M" | "F" | "O" | "N" | "P" | "U"
                    )
                });
                if !ok {
                    return Err("'gender' must be one of M, F, O, N, P or U".into());
                }
            }
            "dob" => {
                let ok = value.as_str().is_some_and(|s| {
                    s.is_empty() || NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
                });
                if !ok {
                    return Err("'dob' must be a date formatted YYYY-MM-DD".into());
                }
            }
            k if STANDARD_FIELDS.contains(&k) => {}
            k if k.starts_with('$') => {
                return Err(format!("custom attribute '{k}' must not start with '$'"));
            }
            k if k.chars().count() > MAX_CUSTOM_CHARS => {
                return Err("custom attribute names must be at most 255 characters".into());
            }
            k => custom_value_fits(k, value)?,
        }
    }
    Ok(())
}

/// Braze's limits on a custom attribute value: strings of at most 255 characters, scalar
/// arrays of at most 500 items.
fn custom_value_fits(key: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::String(s) if s.chars().count() > MAX_CUSTOM_CHARS => Err(format!(
            "custom attribute '{key}': string values must be at most {MAX_CUSTOM_CHARS} characters"
        )),
        Value::Array(items) if items.len() > MAX_ARRAY_ITEMS => Err(format!(
            "custom attribute '{key}': arrays must hold at most {MAX_ARRAY_ITEMS} items"
        )),
        _ => Ok(()),
    }
}

type Attributes = Map<String, Value>;

/// The standard and custom attribute maps of a profile after an attributes object: standard
/// fields are set or (with `null`) removed, custom ones go through [`custom_value`].
pub(super) fn updated_maps(
    mut attributes: Attributes,
    mut custom: Attributes,
    obj: &Map<String, Value>,
    merge_objects: bool,
) -> Result<(Attributes, Attributes), String> {
    for (key, value) in obj {
        if is_control_key(key) {
            continue;
        }
        if STANDARD_FIELDS.contains(&key.as_str()) {
            if value.is_null() {
                attributes.remove(key);
            } else {
                attributes.insert(key.clone(), value.clone());
            }
            continue;
        }
        match custom_value(custom.get(key), value, merge_objects)? {
            Some(v) => custom.insert(key.clone(), v),
            None => custom.remove(key),
        };
    }
    Ok((attributes, custom))
}

/// The new value of a custom attribute (`None` removes it): plain values replace, `null`
/// removes, `{"add"|"remove": [..]}` edit arrays, `{"inc": n}` adds, `$add`/`$remove`/`$update`
/// edit arrays of objects, objects replace or deep-merge with `_merge_objects`.
fn custom_value(
    existing: Option<&Value>,
    new: &Value,
    merge_objects: bool,
) -> Result<Option<Value>, String> {
    let Value::Object(ops) = new else {
        return Ok((!new.is_null()).then(|| new.clone()));
    };
    let keys: Vec<&str> = ops.keys().map(String::as_str).collect();
    let existing_array = || match existing {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    if !keys.is_empty() && keys.iter().all(|k| matches!(*k, "add" | "remove")) {
        let mut array = existing_array();
        if let Some(add) = ops.get("add") {
            for item in add.as_array().ok_or("'add' must be an array")? {
                if !array.contains(item) {
                    array.push(item.clone());
                }
            }
        }
        if let Some(remove) = ops.get("remove") {
            let remove = remove.as_array().ok_or("'remove' must be an array")?;
            array.retain(|item| !remove.contains(item));
        }
        return Ok(Some(Value::Array(array)));
    }
    if keys == ["inc"] {
        let by = &ops["inc"];
        let base = existing.cloned().unwrap_or(json!(0));
        return match (base.as_i64(), by.as_i64()) {
            (Some(a), Some(b)) => Ok(Some(json!(a + b))),
            _ => match (base.as_f64(), by.as_f64()) {
                (Some(a), Some(b)) => Ok(Some(json!(a + b))),
                _ => Err("'inc' needs a numeric value and a numeric attribute".into()),
            },
        };
    }
    if !keys.is_empty()
        && keys
            .iter()
            .all(|k| matches!(*k, "$add" | "$remove" | "$update"))
    {
        return object_array_ops(existing_array(), ops).map(|a| Some(Value::Array(a)));
    }
    match existing {
        Some(Value::Object(old)) if merge_objects => {
            let mut merged = old.clone();
            deep_merge(&mut merged, ops);
            Ok(Some(Value::Object(merged)))
        }
        _ => Ok(Some(new.clone())),
    }
}

fn deep_merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (_, Value::Null) => {
                target.remove(key);
            }
            (Some(Value::Object(t)), Value::Object(p)) => deep_merge(t, p),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn object_array_ops(mut array: Vec<Value>, ops: &Map<String, Value>) -> Result<Vec<Value>, String> {
    let selector = |spec: &Value| -> Result<(String, Value), String> {
        let key = spec
            .get("$identifier_key")
            .and_then(Value::as_str)
            .ok_or("'$identifier_key' is required")?;
        let value = spec
            .get("$identifier_value")
            .cloned()
            .ok_or("'$identifier_value' is required")?;
        Ok((key.to_owned(), value))
    };
    if let Some(add) = ops.get("$add") {
        array.extend(
            add.as_array()
                .ok_or("'$add' must be an array")?
                .iter()
                .cloned(),
        );
    }
    if let Some(remove) = ops.get("$remove") {
        for spec in remove.as_array().ok_or("'$remove' must be an array")? {
            let (key, value) = selector(spec)?;
            array.retain(|item| item.get(&key) != Some(&value));
        }
    }
    if let Some(update) = ops.get("$update") {
        for spec in update.as_array().ok_or("'$update' must be an array")? {
            let (key, value) = selector(spec)?;
            let patch = spec
                .get("$new_object")
                .and_then(Value::as_object)
                .ok_or("'$new_object' must be an object")?;
            for item in array.iter_mut() {
                if item.get(&key) == Some(&value)
                    && let Value::Object(target) = item
                {
                    deep_merge(target, patch);
                }
            }
        }
    }
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_array_operators_are_used_then_values_are_added_and_removed() {
        let old = json!(["a", "b"]);
        let new = custom_value(
            Some(&old),
            &json!({"add": ["b", "c"], "remove": ["a"]}),
            false,
        );
        assert_eq!(new, Ok(Some(json!(["b", "c"]))));
    }

    #[test]
    fn when_inc_is_used_then_the_number_grows() {
        assert_eq!(
            custom_value(Some(&json!(4)), &json!({"inc": 3}), false),
            Ok(Some(json!(7)))
        );
        assert_eq!(
            custom_value(None, &json!({"inc": 2}), false),
            Ok(Some(json!(2)))
        );
    }

    #[test]
    fn when_merge_objects_is_set_then_nested_objects_are_deep_merged() {
        let old = json!({"a": {"x": 1, "y": 2}, "b": 1});
        let new = custom_value(Some(&old), &json!({"a": {"y": 3}, "c": 4}), true);
        assert_eq!(
            new,
            Ok(Some(json!({"a": {"x": 1, "y": 3}, "b": 1, "c": 4})))
        );
        let replaced = custom_value(Some(&old), &json!({"c": 4}), false);
        assert_eq!(replaced, Ok(Some(json!({"c": 4}))));
    }

    #[test]
    fn when_object_array_operators_are_used_then_items_are_edited_by_identifier() {
        let old = json!([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]);
        let ops = json!({
            "$add": [{"id": 3, "v": "c"}],
            "$remove": [{"$identifier_key": "id", "$identifier_value": 1}],
            "$update": [{"$identifier_key": "id", "$identifier_value": 2, "$new_object": {"v": "B"}}],
        });
        let new = custom_value(Some(&old), &ops, false);
        assert_eq!(
            new,
            Ok(Some(json!([{"id": 2, "v": "B"}, {"id": 3, "v": "c"}])))
        );
    }
}
