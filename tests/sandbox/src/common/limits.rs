//! Fixed-window rate limits per bucket, reported the way Braze does
//! (`X-RateLimit-Limit`, `-Remaining`, `-Reset` in epoch seconds) or the way HubSpot does
//! (`X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::response::Response;

use super::http_util::set_header;
use crate::admin::types::{Bucket, RateLimit};

/// A bucket's state as seen by one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot {
    pub limit: u64,
    pub remaining: u64,
    /// Epoch seconds at which the window resets.
    pub reset_epoch: u64,
    /// Seconds until the reset, at least 1.
    pub retry_after: u64,
    /// Length of the window in milliseconds.
    pub window_ms: u64,
}

impl Snapshot {
    /// Adds the Braze rate-limit headers.
    pub(crate) fn apply_braze(&self, resp: &mut Response) {
        set_header(resp, "x-ratelimit-limit", &self.limit.to_string());
        set_header(resp, "x-ratelimit-remaining", &self.remaining.to_string());
        set_header(resp, "x-ratelimit-reset", &self.reset_epoch.to_string());
    }

    /// Adds HubSpot's rate-limit headers.
    pub(crate) fn apply_hubspot(&self, resp: &mut Response) {
        set_header(resp, "x-hubspot-ratelimit-max", &self.limit.to_string());
        set_header(
            resp,
            "x-hubspot-ratelimit-remaining",
            &self.remaining.to_string(),
        );
        set_header(
            resp,
            "x-hubspot-ratelimit-interval-milliseconds",
            &self.window_ms.to_string(),
        );
    }
}

/// The outcome of taking one request from a bucket.
pub(crate) enum Take {
    /// Allowed; headers describe the budget left.
    Allowed(Snapshot),
    /// Over the limit.
    Limited(Snapshot),
    /// The bucket has no limit.
    Unlimited,
}

struct Window {
    started_ms: u64,
    used: u64,
}

/// The windows of every bucket.
#[derive(Default)]
pub(crate) struct Limits {
    windows: Mutex<HashMap<Bucket, Window>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Limits {
    /// Counts one request against `bucket` under `limit`.
    pub(crate) fn take(&self, bucket: Bucket, limit: Option<RateLimit>) -> Take {
        self.step(bucket, limit, 1)
    }

    /// The bucket's state without counting a request.
    pub(crate) fn peek(&self, bucket: Bucket, limit: Option<RateLimit>) -> Option<Snapshot> {
        match self.step(bucket, limit, 0) {
            Take::Allowed(s) | Take::Limited(s) => Some(s),
            Take::Unlimited => None,
        }
    }

    fn step(&self, bucket: Bucket, limit: Option<RateLimit>, cost: u64) -> Take {
        let Some(limit) = limit else {
            return Take::Unlimited;
        };
        let now = now_ms();
        let window_ms = limit.window_secs.max(1) * 1000;
        let mut windows = self.windows.lock().expect("limits lock");
        let w = windows.entry(bucket).or_insert(Window {
            started_ms: now,
            used: 0,
        });
        if now >= w.started_ms + window_ms {
            *w = Window {
                started_ms: now,
                used: 0,
            };
        }
        let reset_ms = w.started_ms + window_ms;
        let snapshot = |used: u64| Snapshot {
            limit: limit.limit,
            remaining: limit.limit.saturating_sub(used),
            reset_epoch: reset_ms.div_ceil(1000),
            retry_after: (reset_ms - now).div_ceil(1000).max(1),
            window_ms,
        };
        if cost > 0 && w.used + cost > limit.limit {
            return Take::Limited(snapshot(limit.limit));
        }
        w.used += cost;
        Take::Allowed(snapshot(w.used))
    }

    /// Starts a fresh window for `bucket` (after its limit changed).
    pub(crate) fn reset_bucket(&self, bucket: Bucket) {
        self.windows.lock().expect("limits lock").remove(&bucket);
    }

    /// Starts fresh windows everywhere.
    pub(crate) fn reset(&self) {
        self.windows.lock().expect("limits lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_limit_is_used_up_then_take_answers_limited_until_the_window_resets() {
        let limits = Limits::default();
        let limit = Some(RateLimit {
            limit: 2,
            window_secs: 60,
        });
        let Take::Allowed(first) = limits.take(Bucket::BrazeTrack, limit) else {
            panic!("first request limited");
        };
        assert_eq!(first.remaining, 1);
        assert!(matches!(
            limits.take(Bucket::BrazeTrack, limit),
            Take::Allowed(s) if s.remaining == 0
        ));
        let Take::Limited(over) = limits.take(Bucket::BrazeTrack, limit) else {
            panic!("third request allowed");
        };
        assert_eq!(over.remaining, 0);
        assert!(over.retry_after >= 1 && over.retry_after <= 60);
        limits.reset_bucket(Bucket::BrazeTrack);
        assert!(matches!(
            limits.take(Bucket::BrazeTrack, limit),
            Take::Allowed(_)
        ));
    }
}
