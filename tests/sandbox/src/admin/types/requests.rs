//! Request counts and the request log (`GET /requests/counts`, `GET /requests/log`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Api;

/// Number of requests per (api, method, route, status).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestCount {
    /// API.
    pub api: Api,
    /// HTTP method.
    pub method: String,
    /// Route template (`/users/{id}`), or `(unmatched)`.
    pub route: String,
    /// Status sent; `0` when the connection was dropped by a `drop` fault.
    pub status: u16,
    /// How many.
    pub count: u64,
}

/// One entry of the bounded request log. Never holds bodies, query strings or credentials.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    /// Monotonic sequence number.
    pub seq: u64,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// API.
    pub api: Api,
    /// HTTP method.
    pub method: String,
    /// Path as sent (without the query string).
    pub path: String,
    /// Route template.
    pub route: String,
    /// Status sent (`0` for a dropped connection).
    pub status: u16,
    /// The fault kind applied, if any (`status`, `throttle`, `latency`, `drop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// Time spent answering.
    pub duration_ms: u64,
    /// Selected request headers, lowercase names: `content-type`, `userflow-version`,
    /// `x-request-origin`, `accept`, `user-agent`.
    pub headers: BTreeMap<String, String>,
}
