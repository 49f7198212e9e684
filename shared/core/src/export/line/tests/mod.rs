//! Tests of the line mapping: realistic and malformed lines, the mapping settings, and
//! properties over generated lines.

mod lines;
mod mapping;
mod props;

use relay_clients::userflow::{AttributeValue, Attributes, UserUpsert, UserUpsertBody};
use serde_json::Value;

use super::{BrazeId, ExportMapping, LineError, MappedLine};

/// A realistic segment export line: ids, aliases as an array, standard fields (a Rails time
/// zone, numbers as strings), custom attributes of mixed types (a nested `company` object, a
/// list of objects, a `null`), and the heavy parts the mapping never reads (events,
/// purchases, devices with nested objects, apps, push tokens, canvases).
pub(super) const REALISTIC: &str = r#"{"created_at":"2020-07-10 15:00:00.000 UTC","external_id":"A8i3mkd99","user_aliases":[{"alias_name":"user_123","alias_label":"amplitude_id"}],"braze_id":"5fbd99bac125ca40511f2cb1","first_name":"Jane","last_name":"Doe","email":"jane@example.com","phone":"+442086661124","country":"GB","language":"en","time_zone":"Eastern Time (US & Canada)","dob":"1980-12-21","gender":"F","home_city":"London","email_subscribe":"opted_in","push_subscribe":"subscribed","random_bucket":"2365","total_revenue":"65","custom_attributes":{"plan":"pro","seats":"12","trial":true,"score":4.5,"tags":["a","b"],"company":{"name":"Acme","size":50},"teams":[{"id":1}],"renewal":"2024-01-01T00:00:00.000Z","nothing":null},"custom_events":[{"name":"signed_up","first":"2020-07-10T15:00:00.000Z","last":"2020-07-10T15:00:00.000Z","count":"1"}],"purchases":[{"name":"plan","first":"2020-07-11T00:00:00Z","last":"2020-07-11T00:00:00Z","count":1}],"devices":[{"model":"iPhone","os":"iOS 14","carrier":null,"idfv":"x","ad_tracking_enabled":true,"nested":{"deep":[1,{"a":[]}]}}],"apps":[{"name":"App","platform":"ios","version":"1.0","sessions":"12","first_used":"2020-07-10T15:00:00.000Z","last_used":"2020-07-10T15:00:00.000Z"}],"push_tokens":[{"app":"App","platform":"ios","token":"abc","notifications_enabled":true}],"campaigns_received":[],"canvases_received":[{"name":"c","api_canvas_id":"x","last_received_message":"2020-07-10T15:00:00.000Z","is_in_control":false,"steps_received":[{"name":"s"}]}]}"#;

/// The upsert, dropped names and Braze id of a line that must map to an upsert.
pub(super) fn upsert(
    mapping: &ExportMapping,
    line: &str,
) -> (UserUpsert, Vec<String>, Option<BrazeId>) {
    match mapping.map_line(line.as_bytes()) {
        Ok(MappedLine::Upsert {
            braze_id,
            body,
            dropped,
        }) => (sent(&body), dropped, braze_id),
        other => panic!("expected an upsert, got {other:?}"),
    }
}

/// The upsert a body carries, read back: an `id` and plain `attributes`, nothing else.
pub(super) fn sent(body: &UserUpsertBody) -> UserUpsert {
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body.json()) else {
        panic!("the body is not a JSON object: {body:?}");
    };
    let Some(Value::String(id)) = object.remove("id") else {
        panic!("the body has no string id: {body:?}");
    };
    let mut upsert = UserUpsert::new(id);
    upsert.attributes = object
        .remove("attributes")
        .map(|attributes| match attributes {
            Value::Object(attributes) => attributes
                .into_iter()
                .map(|(name, value)| (name, AttributeValue::Plain(value)))
                .collect(),
            other => panic!("attributes is not an object: {other}"),
        });
    assert!(object.is_empty(), "unexpected keys in the body: {body:?}");
    upsert
}

/// The error of a line that must be rejected.
pub(super) fn rejected(mapping: &ExportMapping, line: &str) -> LineError {
    match mapping.map_line(line.as_bytes()) {
        Err(error) => error,
        Ok(mapped) => panic!("expected a rejection, got {mapped:?}"),
    }
}

/// Plain attributes from pairs.
pub(super) fn attributes(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), AttributeValue::Plain(value.clone())))
        .collect()
}

/// A mapping from its JSON document (tests only: panics on a bad one).
pub(super) fn mapping_of(document: &str) -> ExportMapping {
    ExportMapping::from_json(document).expect("a valid mapping document")
}
