//! Userflow attribute updates, for users, groups and memberships alike: `null` removes a key,
//! a plain value sets it, an operation object (`set`, `set_once`, `add`, `subtract`, `append`,
//! `prepend`, `remove`, with an optional `data_type`) edits it.

use serde_json::{Map, Value, json};

/// Applies attribute updates: `null` removes, plain values set, operation objects
/// (`set`, `set_once`, `add`, `subtract`, `append`, `prepend`, `remove`) edit.
pub(super) fn apply_attributes(
    target: &mut Map<String, Value>,
    updates: &Map<String, Value>,
) -> Result<(), String> {
    let mut next = target.clone();
    for (key, value) in updates {
        match value {
            Value::Null => {
                next.remove(key);
            }
            Value::Object(op) => apply_operation(&mut next, key, op)?,
            other => {
                next.insert(key.clone(), other.clone());
            }
        }
    }
    *target = next;
    Ok(())
}

fn apply_operation(
    attrs: &mut Map<String, Value>,
    key: &str,
    op: &Map<String, Value>,
) -> Result<(), String> {
    let ops: Vec<&String> = op.keys().filter(|k| *k != "data_type").collect();
    let [name] = ops.as_slice() else {
        return Err(format!(
            "attribute '{key}': an operation object needs exactly one of set, set_once, add, subtract, append, prepend, remove"
        ));
    };
    let arg = &op[name.as_str()];
    let current = attrs.get(key).cloned();
    let as_list = |v: Option<Value>| match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let items = |arg: &Value| match arg {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let number = |v: Option<Value>| v.and_then(|v| v.as_f64()).unwrap_or(0.0);
    let value = match name.as_str() {
        "set" => arg.clone(),
        "set_once" => match current {
            Some(v) => v,
            None => arg.clone(),
        },
        "add" | "subtract" => {
            let delta = arg
                .as_f64()
                .ok_or_else(|| format!("attribute '{key}': '{name}' needs a number"))?;
            let sign = if name.as_str() == "add" { 1.0 } else { -1.0 };
            let result = number(current) + sign * delta;
            if result.fract() == 0.0 && result.abs() < 9e15 {
                json!(result as i64)
            } else {
                json!(result)
            }
        }
        "append" => {
            let mut list = as_list(current);
            list.extend(items(arg));
            Value::Array(list)
        }
        "prepend" => {
            let mut list = items(arg);
            list.extend(as_list(current));
            Value::Array(list)
        }
        "remove" => {
            let drop = items(arg);
            Value::Array(
                as_list(current)
                    .into_iter()
                    .filter(|v| !drop.contains(v))
                    .collect(),
            )
        }
        other => return Err(format!("attribute '{key}': unknown operation '{other}'")),
    };
    attrs.insert(key.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_operations_are_sent_then_attributes_are_edited() {
        let mut attrs = Map::new();
        attrs.insert("n".into(), json!(5));
        attrs.insert("tags".into(), json!(["a"]));
        attrs.insert("gone".into(), json!(1));
        let updates = json!({
            "n": {"add": 2},
            "tags": {"append": ["b", "c"]},
            "first": {"set_once": "x"},
            "gone": null,
            "plain": "v",
        });
        apply_attributes(&mut attrs, updates.as_object().expect("object")).expect("valid");
        assert_eq!(
            Value::Object(attrs.clone()),
            json!({"n": 7, "tags": ["a", "b", "c"], "first": "x", "plain": "v"})
        );
        let again =
            json!({"first": {"set_once": "y"}, "tags": {"remove": "a"}, "n": {"subtract": 10}});
        apply_attributes(&mut attrs, again.as_object().expect("object")).expect("valid");
        assert_eq!(attrs["first"], json!("x"));
        assert_eq!(attrs["tags"], json!(["b", "c"]));
        assert_eq!(attrs["n"], json!(-3));
    }

    #[test]
    fn when_operation_is_unknown_then_nothing_changes() {
        let mut attrs = Map::new();
        attrs.insert("a".into(), json!(1));
        let updates = json!({"a": 2, "b": {"explode": 1}});
        assert!(apply_attributes(&mut attrs, updates.as_object().expect("object")).is_err());
        assert_eq!(attrs["a"], json!(1));
    }
}
