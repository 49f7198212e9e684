//! The Braze REST client against a wiremock server: chunking, partial errors, retries,
//! error mapping, headers and endpoint normalisation.

mod answers;
mod delete;
mod export;
mod identity;
mod status;
mod track_chunks;
mod track_results;

#[path = "../support/mod.rs"]
mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use relay_clients::braze::{
    AliasToIdentify, BrazeClient, BrazeConfig, BrazeEndpoint, BrazeError, BrazeRates, Cluster,
    DeleteTarget, EmailToDelete, Event, ItemOutcome, ItemRef, NewAlias, OutputFormat,
    Prioritization, Purchase, Rule, TrackArray, Update, UserAlias, UserAttributes, UserIdentifier,
};
use relay_clients::upstream::{FailureClass, Rate, ThrottleWatch, http_client};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "test-rest-key";

fn fixture(name: &str) -> Vec<u8> {
    support::fixture_bytes("braze", name)
}

fn fast_rates() -> BrazeRates {
    let rate = Rate::per_second(NonZeroU32::new(10_000).unwrap());
    BrazeRates {
        track: rate,
        users: rate,
        export_ids: rate,
        export_segment: rate,
    }
}

fn config(endpoint: BrazeEndpoint) -> BrazeConfig {
    BrazeConfig {
        retry: support::fast_retry(),
        rates: fast_rates(),
        ..BrazeConfig::new(endpoint, SecretString::from(KEY))
    }
}

fn build(config: BrazeConfig) -> BrazeClient {
    BrazeClient::new(config, http_client(Default::default())).unwrap()
}

fn client_for(server: &MockServer) -> BrazeClient {
    build(config(BrazeEndpoint::parse(&server.uri(), true).unwrap()))
}

fn attr(i: usize) -> UserAttributes {
    UserAttributes::new(UserIdentifier::external_id(format!("u-{i}"))).with_custom("seq", i)
}

fn attrs(n: usize) -> Vec<UserAttributes> {
    (0..n).map(attr).collect()
}

fn event(i: usize, external_id: &str) -> Event {
    let time = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let mut event = Event::new(UserIdentifier::external_id(external_id), "signed_up", time);
    event.properties = Some(json!({"seq": i}).as_object().unwrap().clone());
    event
}

fn purchase(i: usize) -> Purchase {
    Purchase {
        id: UserIdentifier::external_id(format!("p-{i}")),
        product_id: "seat".into(),
        currency: "USD".into(),
        price: 9.5,
        quantity: Some(1),
        time: Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
        properties: None,
        app_id: None,
        update_existing_only: None,
    }
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("request body is JSON")
}

fn len_of(body: &Value, array: &str) -> usize {
    body.get(array)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// Answers like Braze: counts per array, and a partial error for every object whose
/// `external_id` starts with `bad-`, naming its index in this request's array.
fn braze_track(request: &Request) -> ResponseTemplate {
    let body = body_of(request);
    let mut errors = Vec::new();
    let mut processed = serde_json::Map::new();
    processed.insert("message".into(), json!("success"));
    for array in ["attributes", "events", "purchases"] {
        let items = body
            .get(array)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut ok = 0;
        for (index, item) in items.iter().enumerate() {
            if item["external_id"]
                .as_str()
                .unwrap_or_default()
                .starts_with("bad-")
            {
                errors.push(json!({"type": "'external_id' is invalid", "input_array": array, "index": index}));
            } else {
                ok += 1;
            }
        }
        if !items.is_empty() {
            processed.insert(format!("{array}_processed"), json!(ok));
        }
    }
    if !errors.is_empty() {
        processed.insert("errors".into(), Value::Array(errors));
    }
    ResponseTemplate::new(201).set_body_json(Value::Object(processed))
}

async fn mount_track(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(braze_track)
        .mount(server)
        .await;
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording is on")
}
