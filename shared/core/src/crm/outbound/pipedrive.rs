//! Pipedrive: a webhooks v2 person event with HTTP Basic credentials.

use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{OutboundError, OutboundRequest, Stamp, set_header};
use crate::crm::signature::{AUTHORIZATION, basic_authorization};

/// The action a signup is: a person created.
const CREATE: &str = "create";

/// The body: `{"meta": {action, entity: "person", entity_id, timestamp, version: "2.0",
/// attempt, correlation_id}, "data": <record>, "previous": null}`. The action is `create`
/// when the source syncs creations (the default), else the first action it syncs, so the
/// event is never one the source ignores.
pub(super) fn body(record: Value, actions: &[String], stamp: &Stamp) -> Vec<u8> {
    let action = actions
        .iter()
        .find(|action| action.eq_ignore_ascii_case(CREATE))
        .or_else(|| actions.first())
        .map_or(CREATE, String::as_str);
    let timestamp = DateTime::<Utc>::from(stamp.now).to_rfc3339_opts(SecondsFormat::Millis, true);
    json!({
        "meta": {
            "action": action,
            "entity": "person",
            "entity_id": record.get("id").cloned().unwrap_or(Value::Null),
            "timestamp": timestamp,
            "version": "2.0",
            "attempt": 1,
            "correlation_id": stamp.id,
        },
        "data": record,
        "previous": null,
    })
    .to_string()
    .into_bytes()
}

/// Puts the HTTP Basic credentials on `request`.
pub(super) fn sign(
    request: &mut OutboundRequest,
    username: &str,
    password: &SecretString,
) -> Result<(), OutboundError> {
    set_header(
        &mut request.headers,
        AUTHORIZATION,
        &basic_authorization(username, password.expose_secret()),
    )
}
