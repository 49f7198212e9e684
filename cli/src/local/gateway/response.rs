//! The function's response document (`ApiGatewayV2httpResponse`) as the HTTP response API
//! Gateway sends, and API Gateway's own answers (`{"message": ...}`).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use axum::body::Body as HttpBody;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::Body;

/// The header carrying API Gateway's request id on every answer.
pub const APIGW_REQUEST_ID: HeaderName = HeaderName::from_static("apigw-requestid");

/// API Gateway's own answer: `{"message": message}` with `status`.
pub fn gateway_answer(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(HttpBody::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// 404 `{"message":"Not Found"}`: no route matches.
pub fn not_found() -> Response {
    gateway_answer(StatusCode::NOT_FOUND, "Not Found")
}

/// 500 `{"message":"Internal Server Error"}`: the invocation failed (an `Err`, a panic) or
/// its response document is unusable.
pub fn internal_error() -> Response {
    gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// The HTTP response for `document`: status, headers, `cookies` as `Set-Cookie`, the body
/// base64-decoded when `isBase64Encoded`. A status outside 100-599 or a body that is not the
/// base64 it claims is a 500, as API Gateway answers a malformed Lambda response.
pub fn from_document(document: ApiGatewayV2httpResponse) -> Response {
    let Ok(status) = u16::try_from(document.status_code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(())
    else {
        return internal_error();
    };
    let body = match document.body {
        None | Some(Body::Empty) => Vec::new(),
        Some(Body::Binary(bytes)) => bytes,
        Some(Body::Text(text)) if document.is_base64_encoded => match BASE64.decode(text) {
            Ok(bytes) => bytes,
            Err(_) => return internal_error(),
        },
        Some(Body::Text(text)) => text.into_bytes(),
        Some(_) => Vec::new(),
    };
    let mut response = Response::new(HttpBody::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in document.headers.iter() {
        headers.insert(name.clone(), value.clone());
    }
    for (name, value) in document.multi_value_headers.iter() {
        headers.append(name.clone(), value.clone());
    }
    for cookie in &document.cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_document_is_base64_then_the_body_is_decoded_and_cookies_are_set() {
        let mut document = ApiGatewayV2httpResponse::default();
        document.status_code = 202;
        document.is_base64_encoded = true;
        document.body = Some(Body::Text(BASE64.encode([0u8, 1, 2])));
        document.cookies = vec!["a=1".into(), "b=2".into()];
        document
            .headers
            .insert("x-one", HeaderValue::from_static("1"));
        let response = from_document(document);
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers().get_all(SET_COOKIE).iter().count(), 2);
        assert_eq!(response.headers()["x-one"], "1");
    }

    #[test]
    fn when_the_status_is_not_http_then_it_is_a_500() {
        let mut document = ApiGatewayV2httpResponse::default();
        document.status_code = 9999;
        assert_eq!(
            from_document(document).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
