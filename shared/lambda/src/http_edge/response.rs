//! HTTP responses to the API Gateway HTTP API (payload 2.0) response document.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use lambda_http::{Body, IntoResponse};

/// The response document API Gateway expects for `response`.
///
/// The body goes through `lambda_http`'s public [`IntoResponse`], so it is text or binary by
/// the same content-type rules as under `lambda_http::run`; binary bodies are sent base64
/// (`isBase64Encoded`), text bodies as they are. `Set-Cookie` headers become `cookies`.
/// Other repeated headers are joined with `, ` (the document holds one value per name, and
/// lambda_http would keep only the first). A header value that is not UTF-8 cannot be put
/// in the JSON document and is left out, with a warning naming the header.
pub async fn event_response(response: impl IntoResponse) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_response().await.into_parts();
    let mut document = ApiGatewayV2httpResponse::default();
    document.status_code = i64::from(parts.status.as_u16());
    (document.is_base64_encoded, document.body) = match body {
        Body::Empty => (false, None),
        body @ Body::Text(_) => (false, Some(body)),
        body @ Body::Binary(_) => (true, Some(body)),
        // `Body` is non-exhaustive; nothing else exists in aws_lambda_events 1.2.
        _ => (false, None),
    };
    document.cookies = parts
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| utf8(SET_COOKIE.as_str(), value))
        .collect();
    document.headers = single_valued(&parts.headers);
    document
}

/// One value per header name, repeated values joined with `, `; `Set-Cookie` left out.
fn single_valued(headers: &HeaderMap) -> HeaderMap {
    let mut joined = HeaderMap::with_capacity(headers.keys_len());
    for name in headers.keys().filter(|name| **name != SET_COOKIE) {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .filter_map(|value| utf8(name.as_str(), value))
            .collect();
        if values.is_empty() {
            continue;
        }
        match HeaderValue::from_str(&values.join(", ")) {
            Ok(value) => {
                joined.insert(name.clone(), value);
            }
            Err(_) => tracing::warn!(header = %name, "response header left out: not a valid value"),
        }
    }
    joined
}

fn utf8(name: &str, value: &HeaderValue) -> Option<String> {
    match std::str::from_utf8(value.as_bytes()) {
        Ok(text) => Some(text.to_owned()),
        Err(_) => {
            tracing::warn!(header = %name, "response header value left out: not UTF-8");
            None
        }
    }
}
