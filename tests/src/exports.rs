//! Export callback events, as API Gateway HTTP API (payload 2.0) delivers Braze's callback.

use serde_json::Value;

const CALLBACK_FIXTURE: &str = include_str!("../resources/apigw-v2-export-callback.json");

/// The event for `POST /braze/export-callback?<query>` with `body`: the fixture with the
/// query (raw and parsed, as API Gateway sends both) and the body replaced.
pub fn callback_event(query: &str, body: &str) -> Value {
    let mut event: Value = serde_json::from_str(CALLBACK_FIXTURE).expect("fixture is JSON");
    event["rawQueryString"] = query.into();
    let parameters: serde_json::Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), Value::from(value.into_owned())))
        .collect();
    event["queryStringParameters"] = Value::Object(parameters);
    event["headers"]["content-length"] = body.len().to_string().into();
    event["body"] = body.into();
    event
}

/// The query of a signed callback URL (what follows `?`).
pub fn query_of(url: &str) -> &str {
    url.split_once('?').map_or("", |(_, query)| query)
}
