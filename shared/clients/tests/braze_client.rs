//! The Braze REST client against a wiremock server: chunking, partial errors, retries,
//! error mapping, headers and endpoint normalisation.

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
use relay_clients::upstream::{FailureClass, Rate, http_client};
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

// ---------------------------------------------------------------------------------------------
// /users/track: chunking
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_160_attributes_are_tracked_then_three_requests_of_75_75_10_are_sent() {
    let server = MockServer::start().await;
    mount_track(&server).await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(160))
        .send()
        .await
        .unwrap();

    let mut sizes: Vec<usize> = received(&server)
        .await
        .iter()
        .map(|r| len_of(&body_of(r), "attributes"))
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![10, 75, 75]);
    assert_eq!(report.requests, 3);
    assert_eq!(report.sent, 160);
    assert_eq!(report.attributes_processed, 160);
    assert!(report.is_success(), "{report:?}");
}

#[tokio::test]
async fn when_arrays_are_mixed_then_chunks_combine_them_up_to_75_objects() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let events: Vec<Event> = (0..40).map(|i| event(i, &format!("u-{i}"))).collect();
    let purchases: Vec<Purchase> = (0..10).map(purchase).collect();

    let report = client_for(&server)
        .track()
        .attributes(attrs(50))
        .events(events)
        .purchases(purchases)
        .send()
        .await
        .unwrap();

    let mut shapes: Vec<(usize, usize, usize)> = received(&server)
        .await
        .iter()
        .map(|r| {
            let body = body_of(r);
            (
                len_of(&body, "attributes"),
                len_of(&body, "events"),
                len_of(&body, "purchases"),
            )
        })
        .collect();
    shapes.sort_unstable();
    // 100 objects: 50 attributes + 25 events, then 15 events + 10 purchases.
    assert_eq!(shapes, vec![(0, 15, 10), (50, 25, 0)]);
    assert_eq!(
        (
            report.attributes_processed,
            report.events_processed,
            report.purchases_processed
        ),
        (50, 40, 10)
    );
}

#[tokio::test]
async fn when_the_batch_is_configured_smaller_then_chunks_follow_it_and_bad_sizes_are_refused() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let endpoint = BrazeEndpoint::parse(&server.uri(), true).unwrap();
    let client = build(BrazeConfig {
        track_batch: 50,
        ..config(endpoint.clone())
    });

    let report = client.track().attributes(attrs(120)).send().await.unwrap();
    assert_eq!(report.requests, 3);
    assert!(
        received(&server)
            .await
            .iter()
            .all(|r| len_of(&body_of(r), "attributes") <= 50)
    );

    for bad in [0, 76] {
        let err = BrazeClient::new(
            BrazeConfig {
                track_batch: bad,
                ..config(endpoint.clone())
            },
            http_client(Default::default()),
        )
        .unwrap_err();
        assert!(matches!(err, BrazeError::InvalidConfig(_)), "{bad}: {err}");
        assert_eq!(err.class(), FailureClass::Misconfigured);
    }
}

// ---------------------------------------------------------------------------------------------
// /users/track: per-item results
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_braze_reports_partial_errors_then_they_map_to_the_callers_items_across_chunks() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let mut attributes = attrs(160);
    for bad in [3, 80, 159] {
        attributes[bad].id = UserIdentifier::external_id(format!("bad-{bad}"));
    }
    let events: Vec<Event> = (0..5)
        .map(|i| event(i, if i == 2 { "bad-event" } else { "u-0" }))
        .collect();

    let report = client_for(&server)
        .track()
        .attributes(attributes)
        .events(events)
        .send()
        .await
        .unwrap();

    let rejected: Vec<ItemRef> = report.rejected.iter().map(|r| r.item).collect();
    let at = |array, index| ItemRef { array, index };
    assert_eq!(
        rejected,
        vec![
            at(TrackArray::Attributes, 3),
            at(TrackArray::Attributes, 80),
            at(TrackArray::Attributes, 159),
            at(TrackArray::Events, 2),
        ]
    );
    assert_eq!(report.rejected[0].error_type, "'external_id' is invalid");
    assert!(matches!(
        report.outcome(at(TrackArray::Attributes, 80)),
        ItemOutcome::Rejected(_)
    ));
    assert!(matches!(
        report.outcome(at(TrackArray::Attributes, 81)),
        ItemOutcome::Accepted
    ));
    assert_eq!(report.accepted(), 165 - 4);
    assert_eq!(report.attributes_processed, 157);
    assert!(report.unmapped_errors.is_empty());
}

#[tokio::test]
async fn when_one_chunk_fails_then_its_items_are_reported_and_the_other_chunks_stand() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(|request: &Request| {
            let poisoned = body_of(request)["attributes"]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i["external_id"] == "poison"));
            if poisoned {
                ResponseTemplate::new(400)
                    .set_body_raw(fixture("error_max_input_length.json"), "application/json")
            } else {
                braze_track(request)
            }
        })
        .mount(&server)
        .await;
    let endpoint = BrazeEndpoint::parse(&server.uri(), true).unwrap();
    let client = build(BrazeConfig {
        track_batch: 10,
        ..config(endpoint)
    });
    let mut attributes = attrs(30);
    attributes[15].id = UserIdentifier::external_id("poison");

    let report = client.track().attributes(attributes).send().await.unwrap();

    assert_eq!(report.requests, 3);
    assert_eq!(received(&server).await.len(), 3, "a 400 is not retried");
    assert_eq!(report.failed_chunks.len(), 1);
    let failed = &report.failed_chunks[0];
    let indices: Vec<usize> = failed.items.iter().map(|i| i.index).collect();
    assert_eq!(indices, (10..20).collect::<Vec<_>>());
    assert_eq!(failed.error.class(), FailureClass::Permanent);
    assert_eq!(
        failed.error.braze_message(),
        Some("Max Input Length Exceeded")
    );
    assert_eq!(report.attributes_processed, 20);
    assert_eq!(report.sent, 20);
    let item = ItemRef {
        array: TrackArray::Attributes,
        index: 12,
    };
    assert!(matches!(report.outcome(item), ItemOutcome::Failed(_)));
}

#[tokio::test]
async fn when_items_are_invalid_then_they_are_not_sent_and_are_reported_with_their_paths() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let mut attributes = attrs(3);
    attributes[1].email = Update::Set("not-an-email".into());
    attributes[2] = attributes[2].clone().with_custom("$plan", "pro");
    let mut events = vec![event(0, "u-0")];
    events[0].name = String::new();

    let report = client_for(&server)
        .track()
        .attributes(attributes)
        .events(events)
        .send()
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    let body = body_of(&requests[0]);
    assert_eq!(len_of(&body, "attributes"), 1);
    assert_eq!(body["attributes"][0]["external_id"], "u-0");
    assert!(body.get("events").is_none());
    assert!(!String::from_utf8_lossy(&requests[0].body).contains("not-an-email"));

    let found: Vec<(String, Rule)> = report
        .invalid
        .iter()
        .flat_map(|i| i.errors.iter().map(|e| (e.path.clone(), e.rule)))
        .collect();
    assert_eq!(
        found,
        vec![
            ("attributes[1].email".to_owned(), Rule::Email),
            (
                "attributes[2].custom.$plan".to_owned(),
                Rule::KeyStartsWithDollar
            ),
            ("events[0].name".to_owned(), Rule::Required),
        ]
    );
    let item = ItemRef {
        array: TrackArray::Attributes,
        index: 1,
    };
    assert!(matches!(report.outcome(item), ItemOutcome::Invalid([e]) if e.rule == Rule::Email));
    assert_eq!(report.sent, 1);
}

#[tokio::test]
async fn when_braze_answers_202_queued_then_the_chunk_is_a_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_raw(fixture("track_queued.json"), "application/json"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(2))
        .send()
        .await
        .unwrap();

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.sent, 2);
}

// ---------------------------------------------------------------------------------------------
// Status handling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_braze_answers_401_then_key_rejected_names_the_cluster_and_nothing_else_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(fixture("error_invalid_key.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cluster = Cluster::by_name("US-03").unwrap();
    let endpoint = BrazeEndpoint::proxied(&server.uri(), cluster).unwrap();
    let client = build(BrazeConfig {
        concurrency: 1,
        ..config(endpoint)
    });

    let err = client
        .track()
        .attributes(attrs(160))
        .send()
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "key rejected by US-03 (rest.iad-03.braze.com); check the workspace's cluster"
    );
    assert!(matches!(err, BrazeError::KeyRejected { .. }));
    assert_eq!(err.class(), FailureClass::Misconfigured);
    assert_eq!(
        received(&server).await.len(),
        1,
        "not retried, later chunks not sent"
    );
}

#[tokio::test]
async fn when_a_custom_endpoint_answers_401_then_key_rejected_names_the_host() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let host = server.address().to_string();

    let err = client_for(&server)
        .delete()
        .external_ids(["u-1"])
        .send()
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        format!("key rejected by {host} ({host}); check the workspace's cluster")
    );
}

#[tokio::test]
async fn when_braze_answers_403_then_the_error_names_the_missing_permission() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_ids()
        .emails(["a@example.com"])
        .send()
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            BrazeError::PermissionDenied {
                permission: "users.export.ids",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("users.export.ids"), "{err}");
    assert!(!err.to_string().contains("a@example.com"));
}

#[tokio::test]
async fn when_braze_answers_an_html_502_then_it_is_retried_without_decoding_the_html() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw(fixture("bad_gateway.html"), "text/html"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_track(&server).await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(3))
        .send()
        .await
        .unwrap();

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.attributes_processed, 3);
    assert_eq!(report.requests, 1);
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn when_html_502s_persist_then_the_chunk_fails_as_transient_without_a_braze_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw(fixture("bad_gateway.html"), "text/html"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(3))
        .send()
        .await
        .unwrap();

    assert_eq!(received(&server).await.len(), 3, "max_attempts");
    let error = &report.failed_chunks[0].error;
    assert_eq!(error.class(), FailureClass::Transient);
    assert_eq!(error.braze_message(), None);
    assert!(!error.to_string().contains("nginx"), "{error}");
}

#[tokio::test]
async fn when_braze_answers_429_with_a_retry_header_then_the_client_waits_that_long() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(ResponseTemplate::new(429).insert_header("X-Ratelimit-Retry-After", "0.4"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_track(&server).await;

    let started = Instant::now();
    let report = client_for(&server)
        .track()
        .attributes(attrs(1))
        .send()
        .await
        .unwrap();

    assert!(report.is_success(), "{report:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn when_braze_answers_400_then_it_is_not_retried_and_its_message_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_raw(fixture("error_max_input_length.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(1))
        .send()
        .await
        .unwrap();

    let error = &report.failed_chunks[0].error;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(error.class(), FailureClass::Permanent);
    assert!(
        error
            .to_string()
            .contains("(Braze: Max Input Length Exceeded)"),
        "{error}"
    );
    server.verify().await;
}

#[tokio::test]
async fn when_any_request_is_sent_then_it_carries_the_bearer_key_and_json_content_type() {
    let server = MockServer::start().await;
    let ok = |status: u16, body: Value| {
        Mock::given(method("POST"))
            .and(header("authorization", format!("Bearer {KEY}").as_str()))
            .and(header("content-type", "application/json"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
    };
    ok(
        201,
        json!({"message": "success", "attributes_processed": 1}),
    )
    .named("track")
    .mount(&server)
    .await;
    // Anything without the headers falls through to wiremock's 404: a permanent failure.
    let client = client_for(&server);

    let track = client.track().attributes(attrs(1)).send().await.unwrap();
    let delete = client.delete().external_ids(["u-1"]).send().await.unwrap();
    let export = client
        .export_ids()
        .external_ids(["u-1"])
        .send()
        .await
        .unwrap();
    client.cancel_segment_export("seg-1").await.unwrap();

    assert!(track.is_success(), "{track:?}");
    assert!(delete.is_success(), "{delete:?}");
    assert_eq!(export.requests, 1);
    let requests = received(&server).await;
    assert_eq!(requests.len(), 4);
    for request in requests {
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {KEY}").as_str()
        );
        assert_eq!(request.headers["content-type"], "application/json");
    }
}

#[tokio::test]
async fn when_the_endpoint_has_trailing_slashes_or_a_pasted_path_then_requests_use_the_exact_path()
{
    let server = MockServer::start().await;
    mount_track(&server).await;
    for configured in [
        format!("{}//", server.uri()),
        format!("{}/users/track/", server.uri()),
    ] {
        let client = build(config(BrazeEndpoint::parse(&configured, true).unwrap()));
        let report = client.track().attributes(attrs(1)).send().await.unwrap();
        assert!(report.is_success(), "{configured}: {report:?}");
    }
    for request in received(&server).await {
        assert_eq!(request.url.path(), "/users/track");
    }
}

// ---------------------------------------------------------------------------------------------
// /users/delete
// ---------------------------------------------------------------------------------------------

/// Answers `deleted` = the number of ids, after checking the one-type rule like Braze should.
fn braze_delete(request: &Request) -> ResponseTemplate {
    let body = body_of(request);
    let object = body.as_object().unwrap();
    let ids = object
        .values()
        .next()
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if object.len() != 1 || ids > 50 {
        return ResponseTemplate::new(400)
            .set_body_json(json!({"message": "one identifier type, 50 ids"}));
    }
    ResponseTemplate::new(200).set_body_json(json!({"deleted": ids, "message": "success"}))
}

#[tokio::test]
async fn when_deleting_mixed_identifiers_then_requests_are_split_by_type_and_by_50() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/delete"))
        .respond_with(braze_delete)
        .mount(&server)
        .await;
    let mut external: Vec<String> = (0..120).map(|i| format!("u-{i}")).collect();
    external.push("u-7".into()); // a duplicate is sent once

    let report = client_for(&server)
        .delete()
        .external_ids(external)
        .user_aliases((0..3).map(|i| UserAlias::new(format!("crm-{i}"), "hubspot")))
        .braze_ids(["b-1", "b-2"])
        .emails([EmailToDelete {
            email: "ada@example.com".into(),
            prioritization: vec![
                Prioritization::Unidentified,
                Prioritization::MostRecentlyUpdated,
            ],
        }])
        .phones(["+14155550100"])
        .send()
        .await
        .unwrap();

    let mut shapes: Vec<(String, usize)> = received(&server)
        .await
        .iter()
        .map(|r| {
            let body = body_of(r);
            let object = body.as_object().unwrap();
            assert_eq!(object.len(), 1, "one identifier type per request: {body}");
            let (key, ids) = object.iter().next().unwrap();
            (key.clone(), ids.as_array().unwrap().len())
        })
        .collect();
    shapes.sort();
    let expected: Vec<(String, usize)> = [
        ("braze_ids", 2),
        ("email_addresses", 1),
        ("external_ids", 20),
        ("external_ids", 50),
        ("external_ids", 50),
        ("phone_numbers", 1),
        ("user_aliases", 3),
    ]
    .iter()
    .map(|(k, n)| ((*k).to_owned(), *n))
    .collect();
    assert_eq!(shapes, expected);
    assert_eq!(report.requests, 7);
    assert_eq!(report.deleted(), 127);
    assert!(report.is_success());
}

#[tokio::test]
async fn when_a_delete_batch_keeps_failing_then_it_is_reported_with_its_ids() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/delete"))
        .respond_with(|request: &Request| {
            if body_of(request).get("braze_ids").is_some() {
                ResponseTemplate::new(503)
            } else {
                braze_delete(request)
            }
        })
        .mount(&server)
        .await;

    let report = client_for(&server)
        .delete()
        .external_ids(["u-1", "u-2"])
        .braze_ids(["b-1", "b-2"])
        .send()
        .await
        .unwrap();

    assert_eq!(report.deleted(), 2);
    assert_eq!(report.failed_batches.len(), 1);
    let failed = &report.failed_batches[0];
    assert_eq!(
        failed.items,
        vec![
            DeleteTarget::BrazeId("b-1".into()),
            DeleteTarget::BrazeId("b-2".into())
        ]
    );
    assert_eq!(failed.error.class(), FailureClass::Transient);
}

#[tokio::test]
async fn when_a_delete_target_is_empty_then_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(braze_delete)
        .expect(0)
        .mount(&server)
        .await;

    let err = client_for(&server)
        .delete()
        .external_ids(["u-1", ""])
        .send()
        .await
        .unwrap_err();

    assert!(matches!(err, BrazeError::InvalidRequest(_)), "{err}");
    assert!(err.to_string().contains("target 1"), "{err}");
    server.verify().await;
}

// ---------------------------------------------------------------------------------------------
// /users/export/ids and /users/export/segment
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_exporting_ids_then_ids_are_chunked_by_50_and_each_email_gets_its_own_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/ids"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(fixture("export_ids_users.json"), "application/json"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .export_ids()
        .external_ids((0..60).map(|i| format!("u-{i}")))
        .user_aliases([UserAlias::new("crm-1", "hubspot")])
        .emails(["ada@example.com", "ada@example.org"])
        .phones(["+14155550100"])
        .send()
        .await
        .unwrap();

    let bodies: Vec<Value> = received(&server).await.iter().map(body_of).collect();
    assert_eq!(bodies.len(), 5);
    assert_eq!(report.requests, 5);
    let mut shapes: Vec<(usize, usize, bool, bool)> = bodies
        .iter()
        .map(|b| {
            assert!(
                b["fields_to_export"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty()),
                "fields_to_export always sent: {b}"
            );
            (
                len_of(b, "external_ids"),
                len_of(b, "user_aliases"),
                b.get("email_address").is_some(),
                b.get("phone").is_some(),
            )
        })
        .collect();
    shapes.sort();
    assert_eq!(
        shapes,
        vec![
            (0, 0, false, true),
            (0, 0, true, false),
            (0, 0, true, false),
            (10, 0, false, false),
            (50, 1, false, false),
        ]
    );
    for b in bodies.iter().filter(|b| b.get("email_address").is_some()) {
        assert!(
            b["email_address"].is_string(),
            "exactly one email per request: {b}"
        );
    }
    // Every request found the same two profiles: deduplicated by braze_id.
    assert_eq!(report.users.len(), 2);
    assert_eq!(report.invalid_user_ids.len(), 10);
}

#[tokio::test]
async fn when_exported_users_carry_numbers_as_strings_then_they_decode() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/ids"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(fixture("export_ids_users.json"), "application/json"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .export_ids()
        .external_ids(["u-1"])
        .fields(["external_id", "braze_id", "custom_attributes"])
        .send()
        .await
        .unwrap();

    let sent = body_of(&received(&server).await[0]);
    assert_eq!(
        sent["fields_to_export"],
        json!(["external_id", "braze_id", "custom_attributes"])
    );
    let ada = &report.users[0];
    assert_eq!(ada.random_bucket, Some(2784));
    assert_eq!(ada.total_revenue, Some(42.5));
    assert_eq!(ada.custom_attributes["seats"], "12");
    assert_eq!(ada.custom_events[0].count, Some(1));
    assert_eq!(ada.user_aliases, vec![UserAlias::new("crm-1", "hubspot")]);
    assert!(ada.other.contains_key("devices") && ada.other.contains_key("unknown_future_field"));
    assert_eq!(report.users[1].external_id.as_deref(), Some("20002"));
    assert_eq!(
        report.invalid_user_ids,
        vec!["u-gone".to_owned(), "404".to_owned()]
    );
}

#[tokio::test]
async fn when_one_export_ids_request_fails_then_the_whole_lookup_fails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/ids"))
        .respond_with(|request: &Request| {
            if body_of(request).get("email_address").is_some() {
                ResponseTemplate::new(400).set_body_json(json!({"message": "bad email"}))
            } else {
                ResponseTemplate::new(201)
                    .set_body_raw(fixture("export_ids_users.json"), "application/json")
            }
        })
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_ids()
        .external_ids(["u-1"])
        .emails(["ada@example.com"])
        .send()
        .await
        .unwrap_err();

    assert_eq!(err.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_a_segment_export_starts_then_the_body_is_typed_and_the_prefix_is_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/segment"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_raw(fixture("export_segment_started.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let callback = "https://relay.example.com/braze/export-callback?job=j1&exp=1&sig=abc";

    let started = client_for(&server)
        .export_segment("seg-1")
        .fields(["external_id", "braze_id", "email"])
        .callback_endpoint(callback)
        .custom_attributes(["plan"])
        .output_format(OutputFormat::Gzip)
        .send()
        .await
        .unwrap();

    assert_eq!(
        started.object_prefix,
        "bb8e2a91-c4aa-478b-b3f2-a3ee3ff3ac4b-1464728599"
    );
    assert_eq!(started.url, None);
    assert_eq!(
        body_of(&received(&server).await[0]),
        json!({
            "segment_id": "seg-1",
            "fields_to_export": ["external_id", "braze_id", "email"],
            "callback_endpoint": callback,
            "custom_attributes_to_export": ["plan"],
            "output_format": "gzip",
        })
    );
}

#[tokio::test]
async fn when_a_segment_export_lists_over_500_custom_attributes_then_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_segment("seg-1")
        .custom_attributes((0..501).map(|i| format!("attr_{i}")))
        .send()
        .await
        .unwrap_err();

    assert!(matches!(err, BrazeError::InvalidRequest(_)), "{err}");
    server.verify().await;
}

#[tokio::test]
async fn when_a_segment_export_answer_lacks_the_prefix_then_the_decode_error_names_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/export/segment"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"message": "success", "url": 7})),
        )
        .mount(&server)
        .await;

    let err = client_for(&server)
        .export_segment("seg-1")
        .send()
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            BrazeError::Decode {
                endpoint: "/users/export/segment",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("missing field `object_prefix`"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// /users/merge, /users/alias/new, /users/identify
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn when_aliases_and_identifications_exceed_50_then_they_are_chunked() {
    let server = MockServer::start().await;
    let count = |key: &'static str| {
        move |request: &Request| {
            let n = len_of(&body_of(request), key);
            ResponseTemplate::new(201)
                .set_body_json(json!({"message": "success", "aliases_processed": n}))
        }
    };
    Mock::given(method("POST"))
        .and(path("/users/alias/new"))
        .respond_with(count("user_aliases"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/users/identify"))
        .respond_with(count("aliases_to_identify"))
        .mount(&server)
        .await;
    let merges = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&merges);
    Mock::given(method("POST"))
        .and(path("/users/merge"))
        .respond_with(move |request: &Request| {
            seen.fetch_add(len_of(&body_of(request), "merge_updates"), Ordering::SeqCst);
            ResponseTemplate::new(202).set_body_json(json!({"message": "success"}))
        })
        .mount(&server)
        .await;
    let client = client_for(&server);

    let aliases = client
        .new_aliases()
        .aliases((0..120).map(|i| NewAlias {
            external_id: Some(format!("u-{i}")),
            alias_name: format!("crm-{i}"),
            alias_label: "hubspot".into(),
        }))
        .send()
        .await
        .unwrap();
    let identified = client
        .identify()
        .aliases((0..51).map(|i| AliasToIdentify {
            external_id: format!("u-{i}"),
            user_alias: UserAlias::new(format!("crm-{i}"), "hubspot"),
        }))
        .send()
        .await
        .unwrap();
    let merged = client
        .merge()
        .updates((0..60).map(|i| relay_clients::braze::MergeUpdate {
            identifier_to_merge: relay_clients::braze::MergeIdentifier::UserAlias {
                user_alias: UserAlias::new(format!("crm-{i}"), "hubspot"),
            },
            identifier_to_keep: relay_clients::braze::MergeIdentifier::ExternalId {
                external_id: format!("u-{i}"),
            },
        }))
        .send()
        .await
        .unwrap();

    assert_eq!((aliases.requests, aliases.processed), (3, 120));
    assert_eq!((identified.requests, identified.processed), (2, 51));
    assert_eq!((merged.requests, merged.processed), (2, 60));
    assert_eq!(merges.load(Ordering::SeqCst), 60);
    let mut sizes: Vec<usize> = received(&server)
        .await
        .iter()
        .filter(|r| r.url.path() == "/users/alias/new")
        .map(|r| len_of(&body_of(r), "user_aliases"))
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![20, 50, 50]);
}

#[tokio::test]
async fn when_an_unknown_host_is_configured_without_opt_in_then_no_client_can_be_built() {
    let err = BrazeEndpoint::parse("https://rest.iad-09.braze.com", false).unwrap_err();
    assert!(matches!(err, BrazeError::EndpointNotAllowed { .. }));
    assert!(err.to_string().contains("rest.iad-09.braze.com"), "{err}");
    let ok = BrazeEndpoint::parse("https://rest.fra-02.braze.eu/", false).unwrap();
    assert_eq!(
        ok.url("/users/track"),
        "https://rest.fra-02.braze.eu/users/track"
    );
}

#[test]
fn when_the_key_is_empty_or_not_header_safe_then_the_client_is_misconfigured() {
    let endpoint = BrazeEndpoint::for_cluster(Cluster::by_name("US-01").unwrap());
    for key in ["", "   ", "key\nwith-newline"] {
        let config = BrazeConfig {
            api_key: SecretString::from(key),
            ..config(endpoint.clone())
        };
        let err = BrazeClient::new(config, http_client(Default::default())).unwrap_err();
        assert!(
            matches!(err, BrazeError::InvalidConfig(_)),
            "{key:?}: {err}"
        );
        assert_eq!(err.class(), FailureClass::Misconfigured);
        assert!(!err.to_string().contains("newline"), "{err}");
    }
}
