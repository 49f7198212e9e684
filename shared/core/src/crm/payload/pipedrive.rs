//! Pipedrive bodies: webhooks v2 (`meta.entity`, `data`) and v1 (`meta.object`, `current`,
//! past-tense actions), filtered by [`ParseOptions::pipedrive_actions`].

use serde_json::Value;

use super::{ParseOptions, Payload, PayloadError, Record, kind, malformed};

/// Reads a Pipedrive webhook (v2 or v1): the person of a wanted event, or `ignored: 1`.
pub(super) fn parse(body: Value, options: &ParseOptions) -> Result<Payload, PayloadError> {
    let Value::Object(mut body) = body else {
        return Err(malformed(
            "",
            format!("body must be an object, found {}", kind(&body)),
        ));
    };
    let Some(Value::Object(meta)) = body.get("meta") else {
        return Err(malformed("/meta", "no `meta` object"));
    };
    // v2 names the entity `entity`; v1 names it `object` and uses past-tense actions.
    let v1 = !meta.contains_key("entity") && meta.contains_key("object");
    let entity_key = if v1 { "object" } else { "entity" };
    let Some(entity) = meta.get(entity_key).and_then(Value::as_str) else {
        return Err(malformed(
            format!("/meta/{entity_key}"),
            "no entity name string",
        ));
    };
    let Some(action) = meta.get("action").and_then(Value::as_str) else {
        return Err(malformed("/meta/action", "no action string"));
    };
    let action = if v1 {
        match action {
            "added" => "create",
            "updated" => "change",
            "deleted" => "delete",
            other => other,
        }
    } else {
        action
    };
    let signup = action == "create";
    let wanted = entity == "person"
        && options
            .pipedrive_actions
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(action));
    if !wanted {
        return Ok(Payload {
            ignored: 1,
            ..Payload::default()
        });
    }
    // A deletion carries the person in `previous` (v2) when `data` is null.
    let candidates: &[&str] = if v1 {
        &["current", "previous"]
    } else {
        &["data", "previous"]
    };
    for key in candidates {
        match body.remove(*key) {
            Some(Value::Object(person)) => {
                return Ok(Payload {
                    records: vec![Record {
                        value: Value::Object(person),
                        location: format!("/{key}"),
                        dedupe_key: None,
                        signup,
                    }],
                    ..Payload::default()
                });
            }
            None | Some(Value::Null) => continue,
            Some(other) => {
                return Err(malformed(
                    format!("/{key}"),
                    format!("the person must be an object, found {}", kind(&other)),
                ));
            }
        }
    }
    Err(malformed(
        format!("/{}", candidates[0]),
        "no person object in the event",
    ))
}
