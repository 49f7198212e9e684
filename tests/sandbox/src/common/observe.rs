//! Request counts per (api, method, route, status) and a bounded log of recent requests.
//! Neither ever holds bodies, query strings or credentials.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use http::HeaderMap;

use crate::admin::types::{Api, RequestCount, RequestRecord};

/// Request headers copied into the log.
const LOGGED_HEADERS: [&str; 5] = [
    "content-type",
    "userflow-version",
    "x-request-origin",
    "accept",
    "user-agent",
];

/// What one handled request looked like.
pub(crate) struct Observation {
    pub at: DateTime<Utc>,
    pub api: Api,
    pub method: String,
    pub path: String,
    pub route: &'static str,
    pub status: u16,
    pub fault: Option<&'static str>,
    pub duration_ms: u64,
    pub headers: BTreeMap<String, String>,
}

#[derive(Default)]
struct Inner {
    counts: BTreeMap<(Api, String, &'static str, u16), u64>,
    log: VecDeque<RequestRecord>,
    seq: u64,
}

/// Shared recorder.
#[derive(Default)]
pub(crate) struct Observer {
    inner: Mutex<Inner>,
}

impl Observer {
    /// Records one request, keeping at most `capacity` log entries.
    pub(crate) fn record(&self, o: Observation, capacity: usize) {
        tracing::debug!(api = o.api.as_str(), method = %o.method, route = o.route, status = o.status, fault = ?o.fault, "request");
        let mut inner = self.inner.lock().expect("observer lock");
        *inner
            .counts
            .entry((o.api, o.method.clone(), o.route, o.status))
            .or_default() += 1;
        inner.seq += 1;
        let record = RequestRecord {
            seq: inner.seq,
            at: o.at,
            api: o.api,
            method: o.method,
            path: o.path,
            route: o.route.to_owned(),
            status: o.status,
            fault: o.fault.map(str::to_owned),
            duration_ms: o.duration_ms,
            headers: o.headers,
        };
        inner.log.push_back(record);
        while inner.log.len() > capacity {
            inner.log.pop_front();
        }
    }

    /// Counts, optionally for one API.
    pub(crate) fn counts(&self, api: Option<Api>) -> Vec<RequestCount> {
        let inner = self.inner.lock().expect("observer lock");
        inner
            .counts
            .iter()
            .filter(|((a, ..), _)| api.is_none_or(|x| x == *a))
            .map(|((api, method, route, status), count)| RequestCount {
                api: *api,
                method: method.clone(),
                route: (*route).to_owned(),
                status: *status,
                count: *count,
            })
            .collect()
    }

    /// The most recent `limit` log entries (oldest first), optionally for one API.
    pub(crate) fn log(&self, api: Option<Api>, limit: usize) -> Vec<RequestRecord> {
        let inner = self.inner.lock().expect("observer lock");
        let matching: Vec<&RequestRecord> = inner
            .log
            .iter()
            .filter(|r| api.is_none_or(|x| x == r.api))
            .collect();
        let skip = matching.len().saturating_sub(limit);
        matching.into_iter().skip(skip).cloned().collect()
    }

    /// Forgets counts and log.
    pub(crate) fn reset(&self) {
        *self.inner.lock().expect("observer lock") = Inner::default();
    }
}

/// The request headers worth logging.
pub(crate) fn selected_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    LOGGED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect()
}
