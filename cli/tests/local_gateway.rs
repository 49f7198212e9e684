//! The local gateway: the request a handler sees is the one API Gateway's event gives it on
//! Lambda (compared with the request lambda_http builds from the real event fixture), and
//! what matches no route or is too large is answered as API Gateway answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use relay_cli::local::gateway::{Gateway, HttpFunction};
use relay_cli::local::invocation::Function;
use relay_tests::webhooks::Event;

type Seen = Arc<Mutex<Vec<Request>>>;

/// A gateway whose handler keeps every request and answers 202 `{"ok":true}` with a cookie.
async fn gateway() -> (Gateway, Seen) {
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let function = HttpFunction {
        function: Function {
            name: "crm-signup",
            region: "us-east-1".into(),
            timeout: Duration::from_secs(5),
        },
        handler: Arc::new(move |request: Request| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(request);
                let response = Response::builder()
                    .status(202)
                    .header("content-type", "application/json")
                    .header("set-cookie", "session=1")
                    .body(Body::Text("{\"ok\":true}".into()))
                    .unwrap();
                Ok(response)
            }
            .boxed()
        }),
        bad_request: Arc::new(|_| {
            Response::builder()
                .status(400)
                .body(Body::Text("bad".into()))
                .unwrap()
        }),
    };
    (Gateway::start(0, function).await.unwrap(), seen)
}

#[tokio::test]
async fn when_a_binary_webhook_with_query_and_cookies_is_posted_then_the_handler_sees_the_api_gateway_request()
 {
    let (gateway, seen) = gateway().await;
    let body = vec![0u8, 159, 146, 150, b'{'];
    let response = reqwest::Client::new()
        .post(format!(
            "{}/webhooks/standard-webhooks?token=a%20b&x=1&x=2",
            gateway.url()
        ))
        .header("content-type", "application/octet-stream")
        .header("webhook-id", "msg_1")
        .header("X-Custom-Header", "Value")
        .header("cookie", "a=1; b=2")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(response.headers().contains_key("apigw-requestid"));
    assert_eq!(response.headers()["set-cookie"], "session=1");
    assert_eq!(response.text().await.unwrap(), "{\"ok\":true}");

    // The request Lambda's handler gets from the same request as API Gateway's event.
    let on_lambda = Event::new(
        "standard-webhooks",
        "application/octet-stream",
        body.clone(),
    )
    .query("token=a%20b&x=1&x=2")
    .header("webhook-id", "msg_1")
    .header("x-custom-header", "Value")
    .base64()
    .request();
    let local = seen.lock().unwrap().pop().expect("the handler ran");
    assert_eq!(local.method(), on_lambda.method());
    assert_eq!(local.uri().path(), on_lambda.uri().path());
    assert_eq!(local.uri().query(), on_lambda.uri().query());
    assert_eq!(local.raw_http_path(), on_lambda.raw_http_path());
    assert_eq!(local.path_parameters(), on_lambda.path_parameters());
    assert_eq!(
        local.query_string_parameters(),
        on_lambda.query_string_parameters()
    );
    assert_eq!(
        local.query_string_parameters().all("x").unwrap_or_default(),
        ["1", "2"]
    );
    assert!(matches!(local.body(), Body::Binary(bytes) if *bytes == body));
    assert!(matches!(on_lambda.body(), Body::Binary(bytes) if *bytes == body));
    for name in ["content-type", "webhook-id", "x-custom-header"] {
        assert_eq!(
            local.headers().get(name),
            on_lambda.headers().get(name),
            "{name}"
        );
    }
    assert_eq!(local.headers()["cookie"], "a=1; b=2");
    for name in ["x-forwarded-for", "x-forwarded-port", "x-amzn-trace-id"] {
        assert!(local.headers().contains_key(name), "{name}");
    }
    assert_eq!(local.headers()["x-forwarded-proto"], "http");
    match (local.request_context(), on_lambda.request_context()) {
        (RequestContext::ApiGatewayV2(local), RequestContext::ApiGatewayV2(lambda)) => {
            assert_eq!(local.route_key, lambda.route_key);
            assert_eq!(local.stage, lambda.stage);
            assert_eq!(local.http.method, lambda.http.method);
            assert_eq!(local.http.path, lambda.http.path);
            assert_eq!(local.http.source_ip.as_deref(), Some("127.0.0.1"));
            assert!(local.request_id.is_some() && local.time_epoch > 0);
        }
        other => panic!("not API Gateway v2 contexts: {other:?}"),
    }
    let context = local.lambda_context();
    assert!(!context.request_id.is_empty());
    assert!(
        context
            .invoked_function_arn
            .ends_with(":function:crm-signup")
    );
    gateway.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn when_a_json_webhook_is_posted_then_its_body_is_text() {
    let (gateway, seen) = gateway().await;
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/hubspot", gateway.url()))
        .header("content-type", "application/json; charset=utf-8")
        .body("{\"é\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let local = seen.lock().unwrap().pop().expect("the handler ran");
    assert!(matches!(local.body(), Body::Text(text) if text == "{\"é\":1}"));
    assert_eq!(local.path_parameters().first("source"), Some("hubspot"));
}

#[tokio::test]
async fn when_no_route_matches_then_api_gateways_404_is_answered_without_an_invocation() {
    let (gateway, seen) = gateway().await;
    let client = reqwest::Client::new();
    for request in [
        client.get(format!("{}/webhooks/hubspot", gateway.url())),
        client.post(format!("{}/webhooks", gateway.url())),
        client.post(format!("{}/webhooks/a/b", gateway.url())),
        client.post(format!("{}/elsewhere", gateway.url())),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"message": "Not Found"}));
    }
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn when_the_payload_is_over_10_mb_then_413_is_answered_without_an_invocation() {
    let (gateway, seen) = gateway().await;
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/hubspot", gateway.url()))
        .header("content-type", "application/json")
        .body(vec![b' '; 10 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(seen.lock().unwrap().is_empty());
    let ok = reqwest::Client::new()
        .post(format!("{}/webhooks/hubspot", gateway.url()))
        .header("content-type", "application/json")
        .body(vec![b' '; 10 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202, "exactly 10 MB is accepted");
}

#[tokio::test]
async fn when_the_client_stops_sending_mid_body_then_400_is_answered_without_an_invocation() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (gateway, seen) = gateway().await;
    let address = gateway.url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /webhooks/standard-webhooks HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"partial\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The client stops sending: 12 of 100 bytes.
    stream.shutdown().await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the gateway answers or closes")
        .unwrap();
    let status = answer.lines().next().unwrap_or_default();
    assert!(status.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(seen.lock().unwrap().is_empty(), "no invocation");
    gateway.stop(Duration::from_secs(1)).await;
}
