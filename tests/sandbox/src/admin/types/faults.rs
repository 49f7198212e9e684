//! Fault injection rules (`GET`/`POST`/`DELETE /faults`).

use serde::{Deserialize, Serialize};

use super::Api;

/// A fault injection rule: which requests it matches, what it does, and how often.
/// Unknown fields are refused, so a misspelt limit never silently becomes "always".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The API whose requests the rule matches.
    pub api: Api,
    /// HTTP method (`POST`, case-insensitive) or `*`.
    #[serde(default = "any")]
    pub method: String,
    /// The request path, with `*` matching any run of characters (`/users/*`), or `*` alone.
    #[serde(default = "any")]
    pub path: String,
    /// What happens to a request the rule fires on (JSON field `fault`).
    #[serde(rename = "fault")]
    pub kind: FaultKind,
    /// Fire on at most this many requests (then the rule is exhausted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Fire on each matching request with this probability (0..=1); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the rule's own random sequence (used with `probability`); default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn any() -> String {
    "*".into()
}

impl FaultRule {
    /// A rule matching every request of `api` with the given kind, unlimited.
    pub fn new(api: Api, method: &str, path: &str, kind: FaultKind) -> Self {
        FaultRule {
            api,
            method: method.into(),
            path: path.into(),
            kind,
            count: None,
            probability: None,
            seed: None,
        }
    }

    /// Limits the rule to the first `n` requests it fires on.
    pub fn times(mut self, n: u64) -> Self {
        self.count = Some(n);
        self
    }

    /// Fires with probability `p`, drawn from a sequence seeded with `seed`.
    pub fn with_probability(mut self, p: f64, seed: u64) -> Self {
        self.probability = Some(p);
        self.seed = Some(seed);
        self
    }
}

/// What a fault does. Every kind except `latency` answers without touching state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// Answer with this status. `html: true` sends a load balancer's HTML page
    /// (`Content-Type: text/html`); `body` / `content_type` override the body entirely.
    Status {
        /// The HTTP status to answer.
        status: u16,
        /// Send an HTML error page instead of the API's JSON error.
        #[serde(default)]
        html: bool,
        /// A literal body to send instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// Content type for `body` (default `application/json`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
    },
    /// Answer 429 with the API's rate-limit headers (`X-Ratelimit-Retry-After` for Braze and
    /// SCIM, `Retry-After` for Userflow, `Retry-After` and `X-HubSpot-RateLimit-*` for
    /// HubSpot).
    Throttle {
        /// Seconds the client is told to wait.
        #[serde(default = "one")]
        retry_after: u64,
    },
    /// Delay the request by `ms` milliseconds, then handle it normally.
    Latency {
        /// Added delay in milliseconds.
        ms: u64,
    },
    /// Break the connection: the response head is never completed, the client sees a
    /// transport error.
    Drop,
}

impl FaultKind {
    /// Answer `status` with the API's own error body, or a load balancer's HTML page when
    /// `html` (the 502/503 pages clients must never parse as JSON).
    pub fn status(status: u16, html: bool) -> FaultKind {
        FaultKind::Status {
            status,
            html,
            body: None,
            content_type: None,
        }
    }
}

fn one() -> u64 {
    1
}

/// A fault rule as stored, with its counters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FaultStatus {
    /// Id for `DELETE /faults/{id}`.
    pub id: String,
    /// The rule.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Requests that matched api + method + path.
    pub matched: u64,
    /// Requests the rule fired on.
    pub fired: u64,
    /// True once `count` is reached.
    pub exhausted: bool,
}
