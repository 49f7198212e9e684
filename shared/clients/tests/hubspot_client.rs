//! The HubSpot contacts client against a wiremock server: request shape, chunking and
//! concurrency, 207 Multi-Status, tolerant decoding, error classes and the shared retry rules.

mod support;

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use relay_clients::hubspot::{
    BATCH_READ_CONCURRENCY, ContactsRead, HubspotClient, HubspotConfig, HubspotError,
};
use relay_clients::upstream::{
    FailureClass, HttpTimeouts, Rate, RetryPolicy, UpstreamError, http_client,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "pat-na1-00000000-test-token";
const BATCH_READ: &str = "/crm/v3/objects/contacts/batch/read";

fn fixture_text(name: &str) -> String {
    support::fixture_text("hubspot", name)
}

fn fixture(name: &str) -> Value {
    support::fixture_json("hubspot", name)
}

fn config(base_url: impl Into<String>) -> HubspotConfig {
    HubspotConfig {
        rate: Rate::per_second(NonZeroU32::new(1000).unwrap()),
        retry: support::fast_retry(),
        ..HubspotConfig::new(base_url, TOKEN.to_owned().into())
    }
}

fn client_for(base_url: impl Into<String>) -> HubspotClient {
    HubspotClient::new(config(base_url), http_client(HttpTimeouts::default())).unwrap()
}

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

/// A mock of `POST /crm/v3/objects/contacts/batch/read`, to be given its answer.
fn batch_read() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path(BATCH_READ))
}

/// The error of reading contacts 101 and 102 from a HubSpot that always gives `answer`,
/// checked to have been asked exactly `requests` times.
async fn read_error(answer: ResponseTemplate, requests: u64) -> HubspotError {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(answer)
        .expect(requests)
        .mount(&server)
        .await;
    client_for(server.uri())
        .read_contacts(&ids(101..103), &[])
        .await
        .unwrap_err()
}

fn props(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn header_value<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

fn found_ids(read: &ContactsRead) -> Vec<&str> {
    read.found.iter().map(|c| c.id.as_str()).collect()
}

/// Answers a batch read like HubSpot: one result per input id except `missing` ones, which
/// are listed in a 207's `OBJECT_NOT_FOUND` error.
struct EchoContacts {
    missing: HashSet<String>,
    delay: Duration,
    max_in_flight: Arc<AtomicUsize>,
}

impl EchoContacts {
    fn new(missing: &[&str]) -> EchoContacts {
        EchoContacts {
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
            delay: Duration::ZERO,
            max_in_flight: Arc::default(),
        }
    }
}

impl Respond for EchoContacts {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = json_body(request);
        let (found, missing): (Vec<String>, Vec<String>) = body["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|input| input["id"].as_str().unwrap().to_owned())
            .partition(|id| !self.missing.contains(id));
        let results: Vec<Value> = found
            .iter()
            .map(|id| {
                json!({
                    "id": id,
                    "properties": {"hs_object_id": id, "email": format!("user{id}@example.com")},
                    "archived": false
                })
            })
            .collect();
        let mut answer = json!({"status": "COMPLETE", "results": results});
        let status = if missing.is_empty() {
            200
        } else {
            answer["numErrors"] = json!(1);
            answer["errors"] = json!([{
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some CONTACT objects",
                "context": {"ids": missing}
            }]);
            207
        };
        ResponseTemplate::new(status)
            .set_body_json(answer)
            .set_delay(self.delay)
    }
}

/// Wraps [`EchoContacts`] to count concurrent requests: wiremock calls `respond` when a
/// request arrives and sends the answer after the delay, so arrivals within one delay of
/// each other overlap.
struct Overlap {
    echo: EchoContacts,
    arrivals: std::sync::Mutex<Vec<Instant>>,
}

impl Respond for Overlap {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = Instant::now();
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.push(now);
        let overlapping = arrivals
            .iter()
            .filter(|t| now.duration_since(**t) < self.echo.delay)
            .count();
        self.echo
            .max_in_flight
            .fetch_max(overlapping, Ordering::SeqCst);
        self.echo.respond(request)
    }
}

#[tokio::test]
async fn when_contacts_are_read_then_batch_read_is_posted_with_bearer_and_json_body() {
    let server = MockServer::start().await;
    batch_read()
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({
            "properties": ["email", "firstname"],
            "inputs": [{"id": "101"}, {"id": "102"}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("batch_read_200.json")))
        .expect(1)
        .mount(&server)
        .await;

    let read = client_for(server.uri())
        .read_contacts(&ids(101..103), &props(&["email", "firstname", "email"]))
        .await
        .unwrap();

    assert_eq!(found_ids(&read), vec!["101", "102"]);
    assert!(read.missing.is_empty());
    assert_eq!(read.found[0].properties["email"], "ada@example.com");
    let sent = requests(&server).await;
    assert_eq!(
        header_value(&sent[0], "content-type"),
        Some("application/json")
    );
    assert_eq!(header_value(&sent[0], "accept"), Some("application/json"));
    let body = json_body(&sent[0]);
    assert!(body.get("propertiesWithHistory").is_none(), "{body}");
    assert!(body.get("idProperty").is_none(), "{body}");
}

#[tokio::test]
async fn when_150_ids_are_read_then_two_requests_of_100_and_50_are_sent() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(EchoContacts::new(&[]))
        .expect(2)
        .mount(&server)
        .await;
    // 150 distinct ids, ten of them repeated: repeats are sent once.
    let mut requested = ids(1000..1150);
    requested.extend(ids(1000..1010));

    let read = client_for(server.uri())
        .read_contacts(&requested, &props(&["email"]))
        .await
        .unwrap();

    assert_eq!(read.found.len(), 150);
    assert!(read.missing.is_empty());
    assert_eq!(found_ids(&read), ids(1000..1150));
    let mut sizes: Vec<usize> = requests(&server)
        .await
        .iter()
        .map(|r| json_body(r)["inputs"].as_array().unwrap().len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![50, 100]);
    let mut sent: Vec<String> = requests(&server)
        .await
        .iter()
        .flat_map(|r| {
            json_body(r)["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 150, "every id sent exactly once");
}

#[tokio::test]
async fn when_ten_chunks_are_read_then_at_most_four_are_in_flight_at_once() {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(300);
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let echo = EchoContacts {
        delay,
        max_in_flight: max_in_flight.clone(),
        ..EchoContacts::new(&[])
    };
    batch_read()
        .respond_with(Overlap {
            echo,
            arrivals: std::sync::Mutex::default(),
        })
        .expect(10)
        .mount(&server)
        .await;

    let started = Instant::now();
    let read = client_for(server.uri())
        .read_contacts(&ids(0..1000), &[])
        .await
        .unwrap();
    let elapsed = started.elapsed();

    assert_eq!(read.found.len(), 1000);
    let most = max_in_flight.load(Ordering::SeqCst);
    assert!(
        (2..=BATCH_READ_CONCURRENCY).contains(&most),
        "at most {BATCH_READ_CONCURRENCY} in flight, saw {most}"
    );
    // Ten chunks, four at a time: three rounds, well under ten sequential ones.
    assert!(elapsed >= delay * 3, "{elapsed:?}");
    assert!(elapsed < delay * 9, "{elapsed:?}");
}

#[tokio::test]
async fn when_hubspot_answers_207_then_the_ids_not_found_are_missing() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(ResponseTemplate::new(207).set_body_json(fixture("batch_read_207.json")))
        .expect(1)
        .mount(&server)
        .await;

    let requested = vec!["999".to_owned(), "101".to_owned(), "998".to_owned()];
    let read = client_for(server.uri())
        .read_contacts(&requested, &props(&["email", "firstname"]))
        .await
        .unwrap();

    assert_eq!(found_ids(&read), vec!["101"]);
    assert_eq!(read.missing, vec!["999", "998"]);
}

#[tokio::test]
async fn when_results_leave_ids_out_without_any_error_then_those_ids_are_missing() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("batch_read_200.json")))
        .mount(&server)
        .await;
    let requested = vec!["101".to_owned(), "103".to_owned(), "102".to_owned()];

    let read = client_for(server.uri())
        .read_contacts(&requested, &[])
        .await
        .unwrap();

    assert_eq!(found_ids(&read), vec!["101", "102"]);
    assert_eq!(read.missing, vec!["103"]);
}

#[tokio::test]
async fn when_no_ids_or_only_empty_ids_are_given_then_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let client = client_for(server.uri());

    let none = client.read_contacts(&[], &[]).await.unwrap();
    assert_eq!(none, ContactsRead::default());
    let empty = client
        .read_contacts(&["".to_owned(), "  ".to_owned()], &[])
        .await
        .unwrap();
    assert!(empty.found.is_empty());
    assert_eq!(empty.missing, vec!["", "  "]);
}

#[tokio::test]
async fn when_hubspot_answers_429_with_retry_after_then_the_read_is_retried_and_succeeds() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(fixture("error_429.json")),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    batch_read()
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("batch_read_200.json")))
        .expect(1)
        .mount(&server)
        .await;

    let started = Instant::now();
    let read = client_for(server.uri())
        .read_contacts(&ids(101..103), &[])
        .await
        .unwrap();

    assert_eq!(found_ids(&read), vec!["101", "102"]);
    assert_eq!(requests(&server).await.len(), 2);
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn when_429_persists_then_the_error_is_throttled_with_the_rate_limit_decoded() {
    let error = read_error(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "0")
            .set_body_json(fixture("error_429.json")),
        3,
    )
    .await;

    assert_eq!(error.class(), FailureClass::Throttled);
    let vendor = error.vendor_error().unwrap();
    assert_eq!(vendor.error_type.as_deref(), Some("RATE_LIMIT"));
    assert_eq!(vendor.policy_name.as_deref(), Some("TEN_SECONDLY_ROLLING"));
}

#[tokio::test]
async fn when_hubspot_answers_401_then_the_error_is_unauthorized_and_misconfigured() {
    let error = read_error(
        ResponseTemplate::new(401).set_body_json(fixture("error_401.json")),
        1,
    )
    .await;

    match &error {
        HubspotError::Unauthorized {
            status, category, ..
        } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(category.as_deref(), Some("INVALID_AUTHENTICATION"));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(error.class(), FailureClass::Misconfigured);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    let shown = error.to_string();
    assert!(shown.contains("crm.objects.contacts.read"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test]
async fn when_hubspot_answers_403_missing_scopes_then_the_error_names_the_category_and_scope() {
    let error = read_error(
        ResponseTemplate::new(403).set_body_json(fixture("error_403_missing_scopes.json")),
        1,
    )
    .await;

    assert!(
        matches!(error, HubspotError::Unauthorized { .. }),
        "{error:?}"
    );
    assert_eq!(error.class(), FailureClass::Misconfigured);
    let shown = error.to_string();
    assert!(shown.contains("HTTP 403, MISSING_SCOPES"), "{shown}");
    assert!(
        shown.contains("9e0c2b7a-5f41-4c1e-8d33-2a6f0e9b4c52"),
        "{shown}"
    );
}

#[tokio::test]
async fn when_a_502_html_page_persists_then_the_error_is_transient_and_the_body_is_never_decoded() {
    let error = read_error(
        ResponseTemplate::new(502).set_body_raw(fixture_text("bad_gateway.html"), "text/html"),
        3,
    )
    .await;

    assert_eq!(error.class(), FailureClass::Transient);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
    assert!(error.vendor_error().is_none());
    match error.upstream() {
        Some(UpstreamError::Status { attempts, .. }) => assert_eq!(*attempts, 3),
        other => panic!("expected a status error, got {other:?}"),
    }
    assert!(!format!("{error:?}").contains("nginx"));
}

#[tokio::test]
async fn when_a_502_html_page_precedes_success_then_the_read_succeeds() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(
            ResponseTemplate::new(502).set_body_raw(fixture_text("bad_gateway.html"), "text/html"),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    batch_read()
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("batch_read_200.json")))
        .mount(&server)
        .await;

    let read = client_for(server.uri())
        .read_contacts(&ids(101..103), &[])
        .await
        .unwrap();

    assert_eq!(read.found.len(), 2);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn when_hubspot_answers_400_then_the_error_is_permanent_and_not_retried() {
    let error = read_error(
        ResponseTemplate::new(400).set_body_json(fixture("error_400_validation.json")),
        1,
    )
    .await;

    assert_eq!(error.class(), FailureClass::Permanent);
    assert_eq!(
        error.vendor_error().unwrap().category.as_deref(),
        Some("VALIDATION_ERROR")
    );
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("HubSpot category `VALIDATION_ERROR`"),
        "{shown}"
    );
    assert!(!shown.contains("ada@example.com"), "{shown}");
}

#[tokio::test]
async fn when_the_response_has_extra_fields_and_nulls_then_decoding_tolerates_them() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("batch_read_extra_fields.json")),
        )
        .mount(&server)
        .await;

    let read = client_for(server.uri())
        .read_contacts(&ids(101..103), &props(&["email", "firstname", "phone"]))
        .await
        .unwrap();

    assert_eq!(found_ids(&read), vec!["101", "102"]);
    assert!(read.missing.is_empty());
    let ada = &read.found[0];
    assert_eq!(ada.properties["firstname"], "Ada");
    assert!(!ada.properties.contains_key("phone"), "null is left out");
    assert!(read.found[1].properties.is_empty());
    assert_eq!(read.found[1].to_record(), json!({"hs_object_id": "102"}));
}

#[tokio::test]
async fn when_a_2xx_body_has_the_wrong_shape_then_decode_names_the_path_but_not_the_value() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "COMPLETE",
            "results": [{"id": "101", "properties": "ada@example.com"}]
        })))
        .mount(&server)
        .await;

    let error = client_for(server.uri())
        .read_contacts(&ids(101..102), &[])
        .await
        .unwrap_err();

    match &error {
        HubspotError::Decode(source) => assert_eq!(source.path, "results[0].properties"),
        other => panic!("expected Decode, got {other:?}"),
    }
    assert_eq!(error.class(), FailureClass::Transient);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("ada@example.com"), "{shown}");
}

#[tokio::test]
async fn when_an_id_property_is_given_then_the_body_carries_it_and_results_match_by_it() {
    let server = MockServer::start().await;
    batch_read()
        .and(body_json(json!({
            "properties": ["firstname", "email"],
            "idProperty": "email",
            "inputs": [{"id": "ADA@example.com"}, {"id": "nobody@example.com"}]
        })))
        .respond_with(ResponseTemplate::new(207).set_body_json(json!({
            "status": "COMPLETE",
            "results": [{"id": "101", "properties": {"email": "ada@example.com", "firstname": "Ada"}}],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                        "context": {"ids": ["nobody@example.com"]}}]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let read = client_for(server.uri())
        .read_contacts_by(
            "email",
            &[
                "ADA@example.com".to_owned(),
                "nobody@example.com".to_owned(),
            ],
            &props(&["firstname"]),
        )
        .await
        .unwrap();

    assert_eq!(found_ids(&read), vec!["101"]);
    assert_eq!(read.missing, vec!["nobody@example.com"]);
    let shown = format!("{read:?}");
    assert!(!shown.contains("example.com"), "{shown}");
    assert!(shown.contains("<1 ids>"), "{shown}");
}

#[tokio::test]
async fn when_an_id_property_is_given_without_properties_then_the_defaults_are_kept() {
    let server = MockServer::start().await;
    batch_read()
        .and(body_json(json!({
            "properties": ["email", "firstname", "lastname", "external_key"],
            "idProperty": "external_key",
            "inputs": [{"id": "k-1"}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{"id": "101", "properties": {"external_key": "k-1"}}]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let read = client_for(server.uri())
        .batch_read(["k-1"])
        .id_property("external_key")
        .send()
        .await
        .unwrap();

    assert_eq!(found_ids(&read), vec!["101"]);
}

#[tokio::test]
async fn when_a_contact_is_read_by_id_then_get_sends_the_properties_and_404_is_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/contacts/101"))
        .and(query_param("properties", "email,firstname"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("contact.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/contacts/999"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(server.uri());

    let contact = client
        .get_contact("101", &props(&["email", "firstname"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.id, "101");
    assert!(!contact.properties.contains_key("lastname"));
    assert_eq!(contact.to_record()["hs_object_id"], "101");

    assert!(client.get_contact("999", &[]).await.unwrap().is_none());
    let error = client.get_contact("..", &[]).await.unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_contacts_become_records_then_the_properties_keep_their_values_and_id() {
    let server = MockServer::start().await;
    batch_read()
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("batch_read_200.json")))
        .mount(&server)
        .await;

    let read = client_for(server.uri())
        .read_contacts(&ids(101..103), &[])
        .await
        .unwrap();

    let record = read.found[1].to_record();
    assert_eq!(record["hs_object_id"], "102");
    assert_eq!(record["email"], "grace@example.com");
    assert_eq!(record["createdate"], "2025-03-02T10:00:00.000Z");
    let shown = format!("{read:?}");
    assert!(!shown.contains("grace@example.com"), "{shown}");
}

#[test]
fn when_a_config_or_client_is_debug_printed_then_the_token_is_redacted() {
    let shown = format!("{:?}", config("https://api.hubapi.com"));
    assert!(!shown.contains(TOKEN), "{shown}");
    let client = client_for("https://api.hubapi.com");
    let shown = format!("{client:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[test]
fn when_the_token_is_empty_then_the_client_is_misconfigured() {
    let config = HubspotConfig::new("https://api.hubapi.com", String::new().into());
    let error = HubspotClient::new(config, http_client(HttpTimeouts::default())).unwrap_err();
    assert!(matches!(error, HubspotError::InvalidConfig(_)), "{error:?}");
    assert_eq!(error.class(), FailureClass::Misconfigured);
}

#[test]
fn when_the_default_config_is_used_then_it_targets_hubapi_at_ten_per_second() {
    let config = HubspotConfig::hubapi(TOKEN.to_owned().into());
    assert_eq!(config.base_url, "https://api.hubapi.com");
    assert_eq!(config.rate, Rate::per_second(NonZeroU32::new(10).unwrap()));
    assert_eq!(config.retry, RetryPolicy::default());
}
