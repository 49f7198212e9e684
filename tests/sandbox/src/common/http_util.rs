//! Small HTTP helpers shared by the emulated APIs.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use serde_json::{Map, Value};

/// Braze rejects bodies over 4 MB; the sandbox uses the stricter decimal reading.
pub(crate) const MAX_BODY_BYTES: usize = 4_000_000;

/// A JSON response with the given status.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    raw(status, "application/json", body.to_string())
}

/// A response with an explicit content type.
pub(crate) fn raw(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// An empty response (e.g. 204).
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// The HTML page a load balancer sends for a 5xx (or any status).
pub(crate) fn html_error_page(status: StatusCode) -> Response {
    let line = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    raw(status, "text/html", body)
}

/// A response whose body fails before its first byte: hyper aborts the connection, so the
/// client sees a broken connection instead of an answer.
pub(crate) fn dropped_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox drop fault",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// Sets a header from a string, ignoring values that are not valid header text.
pub(crate) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// True when `Content-Type` is `application/json` (parameters such as charset allowed).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

/// Why a request body is not a usable JSON object. The text is the message every API sends.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Over [`MAX_BODY_BYTES`].
    #[error("Request Entity Too Large: the body must not exceed 4 MB")]
    TooLarge,
    /// The connection failed while reading.
    #[error("Could not read the request body")]
    Read,
    /// Not JSON at all.
    #[error("Invalid JSON: {0}")]
    NotJson(serde_json::Error),
    /// JSON, but not an object.
    #[error("The request body must be a JSON object")]
    NotObject,
}

impl BodyError {
    /// 413 for a body over the limit, else 400.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads the whole body (at most [`MAX_BODY_BYTES`]) and decodes it as a JSON object.
pub(crate) async fn json_object(req: Request) -> Result<Map<String, Value>, BodyError> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(BodyError::TooLarge);
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            // to_bytes reports the limit through a boxed `LengthLimitError`.
            if e.to_string().contains("length limit") {
                BodyError::TooLarge
            } else {
                BodyError::Read
            }
        })?;
    match serde_json::from_slice(&bytes).map_err(BodyError::NotJson)? {
        Value::Object(map) => Ok(map),
        _ => Err(BodyError::NotObject),
    }
}

/// Decodes `%XX` escapes of a path segment (not `+`, which is literal in paths).
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decoded query pairs in order (repeated keys kept).
pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The first value of a query parameter.
pub(crate) fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Percent-encodes a value for a query string.
pub(crate) fn query_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_segment_has_escapes_then_percent_decode_decodes_them() {
        assert_eq!(percent_decode("a%2Fb%20c+d"), "a/b c+d");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
