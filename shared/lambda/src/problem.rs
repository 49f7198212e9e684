//! RFC 9457 problem details: every error answer of the relay's HTTP functions, as
//! `application/problem+json` with a stable `type` per failure and the specifics (field,
//! position, header) in `detail` and extension members.

use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// Prefix of every problem `type`; the slugs are listed in the README.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:lifecycle-relay:problem:";

/// One error answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// `urn:lifecycle-relay:problem:<slug>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short, fixed summary of the type.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong and where (never a secret or a contact's data).
    pub detail: String,
    /// Extension members (`location`, `rejected`, ...).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
    /// Headers to send along (`Retry-After`, `WWW-Authenticate`).
    #[serde(skip)]
    pub headers: Vec<(&'static str, String)>,
}

impl Problem {
    /// A problem of type `slug`.
    pub fn new(status: u16, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{slug}"),
            title,
            status,
            detail: detail.into(),
            extensions: Map::new(),
            headers: Vec::new(),
        }
    }

    /// The slug of the type (`bad-signature`).
    pub fn slug(&self) -> &str {
        self.problem_type
            .strip_prefix(PROBLEM_TYPE_PREFIX)
            .unwrap_or(&self.problem_type)
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("extension members serialise");
        self.extensions.insert(key.to_owned(), value);
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The HTTP response.
    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::to_string(&self).expect("problems serialise");
        let mut response = Response::builder()
            .status(self.status)
            .header("content-type", "application/problem+json");
        for (name, value) in &self.headers {
            response = response.header(*name, value);
        }
        response
            .body(Body::from(body))
            .expect("a problem response is always valid")
    }
}

impl From<&crate::http_edge::EdgeError> for Problem {
    /// 400 `malformed-request` for an event that cannot become an HTTP request (a bad `Host`
    /// or `X-Forwarded-Proto`, a body that is not the base64 it claims to be), with
    /// `location` naming the header or field. The value itself is never repeated.
    fn from(error: &crate::http_edge::EdgeError) -> Problem {
        Problem::new(
            400,
            "malformed-request",
            "Malformed request",
            error.to_string(),
        )
        .with("location", error.location())
    }
}

impl Problem {
    /// The same problem with `Retry-After: <seconds>`: the caller should try again later.
    pub fn retry_after(self, seconds: u32) -> Problem {
        self.with_header("retry-after", seconds.to_string())
    }
}
