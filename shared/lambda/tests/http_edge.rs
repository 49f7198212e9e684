//! The API Gateway HTTP API edge with real payload 2.0 event JSON: good events become the
//! request lambda_http builds; each bad input is answered 400 naming what was wrong, without
//! reaching the handler and without echoing the value; responses become the document API
//! Gateway expects.

use std::cell::Cell;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Context, Request, RequestExt, Response};
use lambda_runtime::LambdaEvent;
use relay_lambda::http_edge::{EdgeError, answer, event_response, read_event, request_from_event};
use relay_tests::webhooks::EVENT_FIXTURE;
use serde_json::{Value, json};

/// A HubSpot-like event: binary body (base64), cookies, a raw query with a repeated name,
/// path parameters and stage variables.
const BINARY_FIXTURE: &str = include_str!("resources/apigw-v2-binary-body.json");
const BINARY_BODY: &[u8] = b"\x00\x01\x02\xff\xfebinary";

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

fn convert(event: Value) -> Result<Request, EdgeError> {
    read_event(event).and_then(request_from_event)
}

fn text(body: &Body) -> &str {
    match body {
        Body::Text(text) => text,
        other => panic!("expected a text body, got {other:?}"),
    }
}

/// Runs `event` through [`answer`] with a handler that must not be called and a bad-request
/// answer carrying the error's message; returns the document and the error.
async fn refused(event: Value) -> (ApiGatewayV2httpResponse, EdgeError) {
    let handled = Cell::new(false);
    let seen = Cell::new(None);
    let handler = |_request: Request| {
        handled.set(true);
        async { Ok::<_, lambda_runtime::Error>(Response::new(Body::Empty)) }
    };
    let bad_request = |error: &EdgeError| {
        seen.set(Some(error.clone()));
        Response::builder()
            .status(400)
            .header("content-type", "text/plain")
            .body(Body::from(error.to_string()))
            .expect("a valid response")
    };
    let document = answer(
        LambdaEvent::new(event, Context::default()),
        &handler,
        &bad_request,
    )
    .await
    .expect("refusals are answers, not errors");
    assert!(!handled.get(), "the handler saw a request the edge refused");
    (document, seen.take().expect("bad_request was called"))
}

/// Asserts the refusal is 400, names `names` and does not contain `value`.
fn assert_refused(document: &ApiGatewayV2httpResponse, names: &str, value: &str) {
    assert_eq!(document.status_code, 400);
    let message = text(document.body.as_ref().expect("a body"));
    assert!(message.contains(names), "{message:?} names {names}");
    let whole = serde_json::to_string(document).expect("serialises");
    assert!(!whole.contains(value), "{whole} echoes {value:?}");
}

fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    event["headers"][name] = value.into();
    event
}

#[test]
fn when_a_webhook_event_is_converted_then_it_is_the_request_lambda_http_builds() {
    let ours = convert(fixture(EVENT_FIXTURE)).expect("a good event");
    let theirs = lambda_http::request::from_str(EVENT_FIXTURE).expect("lambda_http reads it");
    assert_eq!(ours.method(), theirs.method());
    assert_eq!(ours.uri(), theirs.uri());
    assert_eq!(ours.headers(), theirs.headers());
    assert_eq!(ours.body(), theirs.body());
    assert_eq!(ours.raw_http_path(), theirs.raw_http_path());
    assert_eq!(ours.path_parameters(), theirs.path_parameters());
    assert_eq!(
        ours.query_string_parameters(),
        theirs.query_string_parameters()
    );
    assert_eq!(ours.stage_variables(), theirs.stage_variables());
    let (Some(RequestContext::ApiGatewayV2(ours)), Some(RequestContext::ApiGatewayV2(theirs))) =
        (ours.request_context_ref(), theirs.request_context_ref())
    else {
        panic!("both carry an API Gateway v2 request context");
    };
    assert_eq!(ours, theirs);
}

#[test]
fn when_a_binary_event_is_converted_then_path_query_headers_cookies_and_body_round_trip() {
    let request = convert(fixture(BINARY_FIXTURE)).expect("a good event");
    assert_eq!(request.method(), "POST");
    assert_eq!(
        request.uri().to_string(),
        "https://relay.example.com/webhooks/hubspot?parameter1=value1&parameter1=value2&parameter2=a%20b"
    );
    assert_eq!(request.raw_http_path(), "/webhooks/hubspot");
    assert_eq!(request.path_parameters().first("source"), Some("hubspot"));
    let query = request.query_string_parameters();
    assert_eq!(query.all("parameter1"), Some(vec!["value1", "value2"]));
    assert_eq!(query.first("parameter2"), Some("a b"));
    assert_eq!(request.stage_variables().first("environment"), Some("test"));
    assert_eq!(request.headers()["cookie"], "cookie1=one; cookie2=two");
    assert_eq!(request.headers()["header2"], "value1,value2");
    assert_eq!(
        request.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(request.body(), &Body::Binary(BINARY_BODY.to_vec()));
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        panic!("an API Gateway v2 request context");
    };
    assert_eq!(context.request_id.as_deref(), Some("Cw8kLg2AoAMEV4A="));
}

#[test]
fn when_the_stage_is_named_then_the_path_starts_with_it_as_under_lambda_http() {
    let mut event = fixture(EVENT_FIXTURE);
    event["requestContext"]["stage"] = "live".into();
    let ours = convert(event.clone()).expect("a good event");
    let theirs = lambda_http::request::from_str(&event.to_string()).expect("lambda_http reads it");
    assert_eq!(ours.uri().path(), "/live/webhooks/standard-webhooks");
    assert_eq!(ours.uri(), theirs.uri());
    assert_eq!(ours.raw_http_path(), "/webhooks/standard-webhooks");
}

#[test]
fn when_there_is_no_host_header_then_the_domain_name_is_the_host() {
    let mut event = fixture(EVENT_FIXTURE);
    event["headers"].as_object_mut().unwrap().remove("host");
    event["requestContext"]["domainName"] = "api.example.org".into();
    let request = convert(event).expect("a good event");
    assert_eq!(request.uri().host(), Some("api.example.org"));
}

#[test]
fn when_x_forwarded_proto_is_http_then_the_uri_scheme_is_http() {
    let event = with_header(fixture(EVENT_FIXTURE), "x-forwarded-proto", "http");
    let request = convert(event).expect("a good event");
    assert_eq!(request.uri().scheme_str(), Some("http"));
}

#[tokio::test]
async fn when_the_host_has_a_space_then_the_answer_is_400_naming_host() {
    let event = with_header(fixture(EVENT_FIXTURE), "host", "exa mple.com");
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::Host);
    assert_refused(&document, "Host", "exa mple.com");
}

#[tokio::test]
async fn when_the_host_has_a_slash_then_the_answer_is_400_naming_host() {
    let event = with_header(fixture(EVENT_FIXTURE), "host", "evil.example/a");
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::Host);
    assert_refused(&document, "Host", "evil.example/a");
}

#[tokio::test]
async fn when_the_host_carries_user_information_then_the_answer_is_400_naming_host() {
    let event = with_header(fixture(EVENT_FIXTURE), "host", "user@relay.example.com");
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::Host);
    assert_refused(&document, "Host", "user@");
}

#[tokio::test]
async fn when_there_is_no_host_header_and_the_domain_name_is_bad_then_the_answer_is_400_naming_it()
{
    let mut event = fixture(EVENT_FIXTURE);
    event["headers"].as_object_mut().unwrap().remove("host");
    event["requestContext"]["domainName"] = "bad domain".into();
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::DomainName);
    assert_refused(&document, "requestContext.domainName", "bad domain");
}

#[tokio::test]
async fn when_x_forwarded_proto_has_a_space_then_the_answer_is_400_naming_it() {
    let event = with_header(fixture(EVENT_FIXTURE), "x-forwarded-proto", "ht tp");
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::ForwardedProto);
    assert_refused(&document, "X-Forwarded-Proto", "ht tp");
}

#[tokio::test]
async fn when_x_forwarded_proto_starts_with_a_digit_then_the_answer_is_400_naming_it() {
    let event = with_header(fixture(EVENT_FIXTURE), "x-forwarded-proto", "1http");
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::ForwardedProto);
    assert_refused(&document, "X-Forwarded-Proto", "1http");
}

#[tokio::test]
async fn when_x_forwarded_proto_is_another_scheme_then_the_answer_is_400_naming_it() {
    let event = with_header(fixture(EVENT_FIXTURE), "x-forwarded-proto", "ftp");
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::ForwardedProto);
    assert_refused(&document, "X-Forwarded-Proto", "ftp");
}

#[tokio::test]
async fn when_a_base64_body_is_not_base64_then_the_answer_is_400_naming_the_encoding() {
    let mut event = fixture(BINARY_FIXTURE);
    event["body"] = "@@@".into();
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::Base64Body);
    assert_refused(&document, "base64", "@@@");
}

#[tokio::test]
async fn when_the_raw_query_is_not_a_uri_query_then_the_answer_is_400_naming_it() {
    let mut event = fixture(EVENT_FIXTURE);
    event["rawQueryString"] = "a=b c".into();
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::Query);
    assert_refused(&document, "rawQueryString", "b c");
}

#[tokio::test]
async fn when_the_raw_path_does_not_start_with_a_slash_then_the_answer_is_400_naming_it() {
    let mut event = fixture(EVENT_FIXTURE);
    event["rawPath"] = "webhooks".into();
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::Path);
    assert_refused(&document, "rawPath", "\"webhooks\"");
}

#[tokio::test]
async fn when_a_cookie_holds_a_control_character_then_the_answer_is_400_naming_cookies() {
    let mut event = fixture(BINARY_FIXTURE);
    event["cookies"] = json!(["a=\u{1}b"]);
    let (document, error) = refused(event).await;
    assert_eq!(error, EdgeError::Cookies);
    assert_refused(&document, "cookies", "\\u0001b");
}

#[tokio::test]
async fn when_a_header_value_holds_a_control_character_then_the_answer_is_400_naming_the_event_field()
 {
    let event = with_header(fixture(EVENT_FIXTURE), "x-custom", "a\u{1}b");
    let (document, error) = refused(event).await;
    assert!(matches!(error, EdgeError::Event { .. }), "{error:?}");
    assert_refused(&document, "headers", "\\u0001b");
}

#[tokio::test]
async fn when_the_payload_is_not_an_http_api_event_then_the_answer_is_400_naming_the_event() {
    let (document, error) = refused(json!({"Records": []})).await;
    assert!(matches!(error, EdgeError::Event { .. }), "{error:?}");
    assert_refused(&document, "API Gateway HTTP API", "Records");
}

#[tokio::test]
async fn when_a_good_event_is_answered_then_the_handler_gets_the_lambda_context_and_trace_id() {
    let mut context = Context::default();
    context.request_id = "invocation-1".into();
    context.xray_trace_id = Some("Root=1-5759e988-bd862e3fe1be46a994272793".into());
    let handler = |request: Request| async move {
        let trace = request.headers()["x-amzn-trace-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let request_id = request.lambda_context_ref().unwrap().request_id.clone();
        Ok::<_, lambda_runtime::Error>(
            Response::builder()
                .header("content-type", "text/plain")
                .body(Body::from(format!("{request_id} {trace}")))
                .unwrap(),
        )
    };
    let bad_request = |_: &EdgeError| -> Response<Body> { panic!("a good event is not refused") };
    let document = answer(
        LambdaEvent::new(fixture(EVENT_FIXTURE), context),
        &handler,
        &bad_request,
    )
    .await
    .expect("answered");
    assert_eq!(document.status_code, 200);
    assert_eq!(
        text(document.body.as_ref().unwrap()),
        "invocation-1 Root=1-5759e988-bd862e3fe1be46a994272793"
    );
}

#[tokio::test]
async fn when_the_response_is_binary_then_the_document_carries_it_base64() {
    let response = Response::builder()
        .status(201)
        .header("content-type", "application/octet-stream")
        .body(Body::from(BINARY_BODY.to_vec()))
        .unwrap();
    let document = event_response(response).await;
    assert_eq!(document.status_code, 201);
    assert!(document.is_base64_encoded);
    let json = serde_json::to_value(&document).unwrap();
    assert_eq!(json["body"], BASE64.encode(BINARY_BODY));
    assert_eq!(json["isBase64Encoded"], true);
}

#[tokio::test]
async fn when_the_response_is_problem_json_then_the_document_carries_it_as_text() {
    let problem = r#"{"type":"urn:x","status":400}"#;
    let response = Response::builder()
        .status(400)
        .header("content-type", "application/problem+json")
        .body(Body::from(problem))
        .unwrap();
    let document = event_response(response).await;
    assert!(!document.is_base64_encoded);
    let json = serde_json::to_value(&document).unwrap();
    assert_eq!(json["body"], problem);
    assert_eq!(json["headers"]["content-type"], "application/problem+json");
}

#[tokio::test]
async fn when_the_response_sets_cookies_and_repeats_a_header_then_cookies_are_listed_and_values_joined()
 {
    let response = Response::builder()
        .header("set-cookie", "a=1; Secure")
        .header("set-cookie", "b=2")
        .header("vary", "accept")
        .header("vary", "origin")
        .body(Body::Empty)
        .unwrap();
    let document = event_response(response).await;
    assert_eq!(document.cookies, vec!["a=1; Secure", "b=2"]);
    let json = serde_json::to_value(&document).unwrap();
    assert_eq!(json["headers"]["vary"], "accept, origin");
    assert!(json["headers"].get("set-cookie").is_none(), "{json}");
    // As under lambda_http, IntoResponse turns an empty body without a content type into "".
    assert_eq!(json["body"], "", "{json}");
}
