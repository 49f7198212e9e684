//! API Gateway HTTP API (payload 2.0) events to `lambda_http` requests, every step checked.
//!
//! The result is the request `lambda_http` 1.3 builds (same URI, headers, cookies, body and
//! extensions), except that input its conversion would panic on (`Url::parse(..).unwrap()`,
//! `Body::from_maybe_encoded`'s `expect`, `.expect("failed to build request")`) is an
//! [`EdgeError`] here.

use std::str::FromStr;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::query_map::QueryMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{COOKIE, HOST, HeaderName};
use http::uri::Authority;
use http::{HeaderValue, Uri};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Context, Request, RequestExt};
use url::Url;

use super::EdgeError;

/// `lambda_http`'s switch to leave the stage out of the request path; honoured the same way.
pub const IGNORE_STAGE_IN_PATH: &str = "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH";

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// Reads the invocation payload as an API Gateway HTTP API event. A payload of another shape
/// is an [`EdgeError::Event`] naming the field, never a deserialisation failure of the
/// invocation.
pub fn read_event(payload: serde_json::Value) -> Result<ApiGatewayV2httpRequest, EdgeError> {
    serde_path_to_error::deserialize(payload).map_err(|error| EdgeError::Event {
        field: error.path().to_string(),
    })
}

/// Turns `event` into the request `lambda_http` would build from it, with the same extensions
/// (raw path, query string parameters, path parameters, stage variables, request context),
/// or says which header or field makes that impossible.
pub fn request_from_event(event: ApiGatewayV2httpRequest) -> Result<Request, EdgeError> {
    let ignore_stage = std::env::var_os(IGNORE_STAGE_IN_PATH).is_some();
    let mut headers = event.headers;
    let host = match headers.get(HOST) {
        Some(value) => Some(checked_host(value.to_str().ok(), EdgeError::Host)?),
        None => match event.request_context.domain_name.as_deref() {
            Some(domain) => Some(checked_host(Some(domain), EdgeError::DomainName)?),
            None => None,
        },
    };
    let scheme = match headers.get(X_FORWARDED_PROTO) {
        None => "https",
        Some(value) => scheme(value)?,
    };
    let raw_path = event.raw_path.unwrap_or_default();
    let path = if ignore_stage {
        raw_path.clone()
    } else {
        path_with_stage(event.request_context.stage.as_deref(), &raw_path)
    };
    let has_raw_query = event.raw_query_string.is_some();
    let raw_query = event.raw_query_string.unwrap_or_default();
    let uri = uri(scheme, host.as_deref(), &path, &raw_query)?;

    // As lambda_http: the parameters come from the raw query string when there is one (the
    // event's map does not decode the way browsers encode).
    let query_parameters = if has_raw_query {
        QueryMap::from_str(&raw_query).unwrap_or_default()
    } else {
        event.query_string_parameters
    };
    if let Some(cookies) = event.cookies {
        let value = HeaderValue::from_str(&cookies.join("; ")).map_err(|_| EdgeError::Cookies)?;
        headers.insert(COOKIE, value);
    }
    let body = match event.body {
        None => Body::Empty,
        Some(body) if event.is_base64_encoded => {
            Body::Binary(BASE64.decode(body).map_err(|_| EdgeError::Base64Body)?)
        }
        Some(body) => Body::Text(body),
    };

    let mut request = Request::new(body);
    *request.method_mut() = event.request_context.http.method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request
        .with_raw_http_path(raw_path)
        .with_query_string_parameters(query_parameters)
        .with_path_parameters(event.path_parameters)
        .with_stage_variables(event.stage_variables)
        .with_request_context(RequestContext::ApiGatewayV2(event.request_context)))
}

/// Adds what the invocation knows to `request`, as lambda_http does: the Lambda context, and
/// its X-Ray trace id as `x-amzn-trace-id`.
pub fn with_invocation(mut request: Request, context: Context) -> Request {
    if let Some(trace_id) = context.xray_trace_id.as_deref()
        && let Ok(value) = HeaderValue::from_str(trace_id)
    {
        request.headers_mut().insert(X_AMZN_TRACE_ID, value);
    }
    request.with_lambda_context(context)
}

/// `host` if it is an authority without user information that a URL accepts (IDNA, port
/// range), else `error`.
fn checked_host(host: Option<&str>, error: EdgeError) -> Result<String, EdgeError> {
    let host = host.ok_or(error.clone())?;
    let authority = Authority::from_str(host).map_err(|_| error.clone())?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err(error);
    }
    Url::parse(&format!("http://{host}/")).map_err(|_| error)?;
    Ok(host.to_owned())
}

/// `http` or `https` (any case), as given by `X-Forwarded-Proto`.
fn scheme(value: &HeaderValue) -> Result<&'static str, EdgeError> {
    let value = value.to_str().map_err(|_| EdgeError::ForwardedProto)?;
    if value.eq_ignore_ascii_case("https") {
        Ok("https")
    } else if value.eq_ignore_ascii_case("http") {
        Ok("http")
    } else {
        Err(EdgeError::ForwardedProto)
    }
}

/// The path API Gateway was called with: the stage is in it unless it is `$default`.
fn path_with_stage(stage: Option<&str>, path: &str) -> String {
    match stage {
        None | Some("$default") => path.to_owned(),
        Some(stage) if path.starts_with(&format!("/{stage}/")) => path.to_owned(),
        Some(stage) => format!("/{stage}{path}"),
    }
}

/// The absolute URI (relative when no host is known), normalised by `url` as lambda_http
/// does, with the raw query appended untouched (signatures cover it byte for byte).
fn uri(scheme: &str, host: Option<&str>, path: &str, raw_query: &str) -> Result<Uri, EdgeError> {
    // A path that does not start with `/` would be read as part of the host.
    if !(path.is_empty() || path.starts_with('/')) {
        return Err(EdgeError::Path);
    }
    let base = match host {
        Some(host) => Url::parse(&format!("{scheme}://{host}{path}"))
            .map_err(|_| EdgeError::Path)?
            .to_string(),
        None => Url::parse(&format!("http://localhost{path}"))
            .map_err(|_| EdgeError::Path)?
            .path()
            .to_owned(),
    };
    if raw_query.is_empty() {
        return Uri::try_from(base).map_err(|_| EdgeError::Path);
    }
    Uri::try_from(base.as_str()).map_err(|_| EdgeError::Path)?;
    Uri::try_from(format!("{base}?{raw_query}")).map_err(|_| EdgeError::Query)
}
