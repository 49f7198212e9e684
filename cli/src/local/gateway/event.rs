//! An HTTP request as the API Gateway HTTP API (payload 2.0) event its route
//! (`POST /webhooks/{source}`, `POST /braze/export-callback`) would deliver to Lambda.
//!
//! As API Gateway does: header names lower-case, repeated headers joined with `,`, cookies
//! moved from `Cookie` into `cookies`, `X-Forwarded-For` / `-Port` / `-Proto` and
//! `X-Amzn-Trace-Id` added, the raw path and raw query string as received, the path
//! parameter decoded, and the body as text when it is text, otherwise base64 with
//! `isBase64Encoded` (see [`is_text`]).

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use http::{HeaderMap, Method, Uri};
use serde_json::{Map, Value, json};

/// The route key of the webhook route.
pub const WEBHOOK_ROUTE_KEY: &str = "POST /webhooks/{source}";
/// The route key of the export callback route.
pub const EXPORT_CALLBACK_ROUTE_KEY: &str = "POST /braze/export-callback";

/// What the gateway knows of one request.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The method.
    pub method: &'a Method,
    /// The URI as received (path and query raw).
    pub uri: &'a Uri,
    /// The headers as received.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
    /// The caller's address.
    pub peer: SocketAddr,
    /// The gateway's own address (its port is `X-Forwarded-Port`).
    pub local: SocketAddr,
    /// The matched route's key (`POST /webhooks/{source}`).
    pub route_key: &'a str,
    /// The route's path parameters, decoded (`source`); none for a route without any.
    pub path_parameters: &'a [(&'a str, &'a str)],
    /// API Gateway's request id (`requestContext.requestId`).
    pub request_id: &'a str,
    /// The X-Ray trace header to add.
    pub trace_id: &'a str,
}

/// Whether API Gateway passes a body of `content_type` as text: a `text/*` type, JSON, XML
/// or JavaScript (including `+json` / `+xml` suffixes), and only when the bytes are UTF-8.
/// Anything else (no content type, `application/octet-stream`, form posts, images) arrives
/// base64-encoded with `isBase64Encoded: true`, as API Gateway HTTP APIs encode it.
pub fn is_text(content_type: Option<&str>, body: &[u8]) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let textual = essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json" | "application/xml" | "application/javascript"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml");
    textual && std::str::from_utf8(body).is_ok()
}

/// The event JSON for `incoming`.
pub fn event(incoming: &Incoming<'_>) -> Value {
    let (headers, cookies) = headers_and_cookies(incoming);
    let raw_query = incoming.uri.query().unwrap_or_default();
    let host = incoming
        .headers
        .get(http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(|host| {
            host.rsplit_once(':')
                .map_or(host, |(name, _)| name)
                .to_owned()
        })
        .unwrap_or_else(|| incoming.local.ip().to_string());
    let user_agent = incoming
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let now = Utc::now();
    let content_type = incoming
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let mut event = json!({
        "version": "2.0",
        "routeKey": incoming.route_key,
        "rawPath": incoming.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": super::super::invocation::LOCAL_ACCOUNT,
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": incoming.method.as_str(),
                "path": incoming.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": incoming.peer.ip().to_string(),
                "userAgent": user_agent,
            },
            "requestId": incoming.request_id,
            "routeKey": incoming.route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !incoming.path_parameters.is_empty() {
        let parameters: Map<String, Value> = incoming
            .path_parameters
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
            .collect();
        event["pathParameters"] = parameters.into();
    }
    if !cookies.is_empty() {
        event["cookies"] = cookies.into();
    }
    let parameters = query_parameters(raw_query);
    if !parameters.is_empty() {
        event["queryStringParameters"] = parameters.into();
    }
    if !incoming.body.is_empty() {
        if is_text(content_type, incoming.body) {
            event["body"] = String::from_utf8_lossy(incoming.body).into_owned().into();
        } else {
            event["body"] = BASE64.encode(incoming.body).into();
            event["isBase64Encoded"] = true.into();
        }
    }
    event
}

/// The headers as API Gateway forwards them, and the cookies it moves out of `Cookie`.
fn headers_and_cookies(incoming: &Incoming<'_>) -> (Map<String, Value>, Vec<String>) {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for name in incoming.headers.keys() {
        let values: Vec<String> = incoming
            .headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        if *name == http::header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|value| value.split(';'))
                    .map(str::trim)
                    .filter(|cookie| !cookie.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        // `HeaderName`s are lower-case already.
        headers.insert(name.as_str().to_owned(), values.join(",").into());
    }
    let peer = incoming.peer.ip().to_string();
    let forwarded_for = match headers.get("x-forwarded-for").and_then(Value::as_str) {
        Some(earlier) => format!("{earlier}, {peer}"),
        None => peer,
    };
    headers.insert("x-forwarded-for".into(), forwarded_for.into());
    headers.insert(
        "x-forwarded-port".into(),
        incoming.local.port().to_string().into(),
    );
    headers.insert("x-forwarded-proto".into(), "http".into());
    headers.insert("x-amzn-trace-id".into(), incoming.trace_id.into());
    (headers, cookies)
}

/// `queryStringParameters`: decoded, repeated names joined with `,` (as API Gateway does).
fn query_parameters(raw_query: &str) -> Map<String, Value> {
    let mut parameters: Map<String, Value> = Map::new();
    let Ok(url) = reqwest::Url::parse(&format!("http://query/?{raw_query}")) else {
        return parameters;
    };
    for (name, value) in url.query_pairs() {
        match parameters.get_mut(name.as_ref()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                parameters.insert(name.into_owned(), value.into_owned().into());
            }
        }
    }
    parameters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_content_type_is_textual_and_utf8_then_the_body_is_text() {
        assert!(is_text(Some("application/json"), b"{}"));
        assert!(is_text(Some("text/xml; charset=utf-8"), b"<a/>"));
        assert!(is_text(Some("application/soap+xml"), b"<a/>"));
        assert!(is_text(Some("Application/JSON"), b"{}"));
        assert!(!is_text(Some("application/json"), &[0xff, 0xfe]));
        assert!(!is_text(Some("application/octet-stream"), b"abc"));
        assert!(!is_text(Some("application/x-www-form-urlencoded"), b"a=b"));
        assert!(!is_text(None, b"{}"));
    }

    #[test]
    fn when_a_query_repeats_a_name_then_the_values_are_joined() {
        let parameters = query_parameters("a=1&b=x%20y&a=2");
        assert_eq!(parameters["a"], "1,2");
        assert_eq!(parameters["b"], "x y");
    }
}
