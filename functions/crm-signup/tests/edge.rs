//! Events that cannot become a request, answered as `main` wires it: relay-lambda's edge in
//! front of the real handler, `EdgeError` turned into crm-signup's problem+json.

mod common;

use common::Stack;
use crm_signup::{Problem, handler};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::{Body, Context, LambdaEvent};
use relay_lambda::http_edge::{EdgeError, answer};
use relay_tests::webhooks::{Event, contact_json, standard_webhook};
use serde_json::Value;

/// `event` (JSON) through the edge and the handler, as `main` serves it.
async fn serve(stack: &Stack, event: Value) -> ApiGatewayV2httpResponse {
    answer(
        LambdaEvent::new(event, Context::default()),
        &|request| handler(&stack.deps, request),
        &|error: &EdgeError| Problem::from(error).into_response(),
    )
    .await
    .expect("crm-signup always answers")
}

fn json(event: &Event) -> Value {
    serde_json::from_str(&event.to_json()).expect("event JSON")
}

/// A signed webhook with one contact: well-formed in every other way.
fn signed() -> Event {
    standard_webhook(&contact_json("edge-1").to_string())
}

/// Asserts a 400 `malformed-request` problem at `location` whose detail names `names` and
/// that nowhere repeats `value`.
fn assert_malformed(document: &ApiGatewayV2httpResponse, location: &str, names: &str, value: &str) {
    let whole = serde_json::to_string(document).expect("serialises");
    assert_eq!(document.status_code, 400, "{whole}");
    assert_eq!(
        document.headers["content-type"], "application/problem+json",
        "{whole}"
    );
    let Some(Body::Text(text)) = &document.body else {
        panic!("a text body: {whole}");
    };
    let body: Value = serde_json::from_str(text).expect("a problem+json body");
    assert_eq!(
        body["type"], "urn:lifecycle-relay:problem:malformed-request",
        "{body}"
    );
    assert_eq!(body["title"], "Malformed request");
    assert_eq!(body["status"], 400);
    assert_eq!(body["location"], location, "{body}");
    let detail = body["detail"].as_str().expect("a detail");
    assert!(detail.contains(names), "{detail:?} names {names}");
    assert!(!whole.contains(value), "{whole} echoes {value:?}");
}

#[tokio::test]
async fn when_the_host_has_a_space_then_crm_signup_answers_400_naming_host() {
    let stack = Stack::start().await;
    let document = serve(&stack, json(&signed().header("host", "exa mple.com"))).await;
    assert_malformed(&document, "Host", "Host", "exa mple.com");
}

#[tokio::test]
async fn when_the_host_has_a_slash_then_crm_signup_answers_400_naming_host() {
    let stack = Stack::start().await;
    let document = serve(&stack, json(&signed().header("host", "a/b"))).await;
    assert_malformed(&document, "Host", "Host", "a/b");
}

#[tokio::test]
async fn when_x_forwarded_proto_is_not_a_scheme_then_crm_signup_answers_400_naming_it() {
    let stack = Stack::start().await;
    for proto in ["ht tp", "1http"] {
        let document = serve(&stack, json(&signed().header("x-forwarded-proto", proto))).await;
        assert_malformed(&document, "X-Forwarded-Proto", "X-Forwarded-Proto", proto);
    }
}

#[tokio::test]
async fn when_a_base64_body_is_not_base64_then_crm_signup_answers_400_naming_the_encoding() {
    let stack = Stack::start().await;
    let mut event = json(&signed().base64());
    event["body"] = "@@@".into();
    let document = serve(&stack, event).await;
    assert_malformed(&document, "body", "base64", "@@@");
}

#[tokio::test]
async fn when_the_event_is_well_formed_then_the_handler_answers_it() {
    let stack = Stack::start().await;
    let document = serve(&stack, json(&signed().base64())).await;
    let whole = serde_json::to_string(&document).unwrap();
    assert_eq!(document.status_code, 200, "{whole}");
}
