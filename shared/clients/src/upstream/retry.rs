//! The retry decision: a pure function from what one attempt observed (status and headers, or
//! a transport error), the attempt number, the time spent so far and a jitter sample to a
//! [`Decision`]: succeed, retry after a delay, or give up with a [`FailureClass`].

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use super::headers::server_retry_after;

/// How a failure should be treated by whoever called the vendor.
///
/// The class, decided once here, is what functions map to HTTP answers, parking, or SQS
/// batch-item failures: transient and throttled failures are worth another try later,
/// permanent ones are not, and misconfigured ones need an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// 5xx, 408, connection and body-read errors: the same request may work later.
    Transient,
    /// 429: the vendor asked us to slow down.
    Throttled,
    /// Other 4xx: the request itself is wrong and retrying cannot help.
    Permanent,
    /// 401/403: wrong key, wrong cluster, missing permission; an operator must fix config.
    Misconfigured,
}

impl FailureClass {
    /// Whether a later attempt (a redelivery, a parked job) may succeed.
    pub fn is_retryable_later(self) -> bool {
        matches!(self, FailureClass::Transient | FailureClass::Throttled)
    }

    /// Classifies a final HTTP status; `None` for success (2xx).
    pub fn of_status(status: StatusCode) -> Option<FailureClass> {
        match status.as_u16() {
            200..=299 => None,
            429 => Some(FailureClass::Throttled),
            408 | 500..=599 => Some(FailureClass::Transient),
            401 | 403 => Some(FailureClass::Misconfigured),
            _ => Some(FailureClass::Permanent),
        }
    }
}

/// Why the loop stopped trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The class is never retried (permanent, misconfigured, or unsafe to repeat).
    NotRetryable,
    /// `max_attempts` were made.
    AttemptsExhausted,
    /// Waiting for the next attempt would pass the overall deadline.
    DeadlineExceeded,
}

/// The outcome of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 2xx: hand the response to the caller.
    Success,
    /// Wait `after`, then send the same request again.
    Retry {
        /// How long to wait first (the vendor's hint, else the backoff).
        after: Duration,
        /// What the failed attempt was.
        class: FailureClass,
    },
    /// Stop. `retry_after` carries the vendor's hint (if any) for whoever parks the work.
    GiveUp {
        /// What the last attempt's failure means for the caller.
        class: FailureClass,
        /// Why no further attempt is made.
        reason: GiveUpReason,
        /// The vendor's retry hint, if it gave one.
        retry_after: Option<Duration>,
    },
}

/// What one attempt observed.
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// The vendor answered with a status line and headers (body not yet read).
    Response {
        /// The status line's code.
        status: StatusCode,
        /// The response headers (rate-limit hints).
        headers: &'a HeaderMap,
    },
    /// No usable response. `connected` is false when the request provably never left
    /// (connection refused, DNS), which makes even a non-idempotent request safe to repeat.
    Transport {
        /// Whether the connection was made (so the vendor may have acted on the request).
        connected: bool,
    },
}

/// Whether repeating a request can duplicate its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Upserts, deletes, reads: repeating is harmless.
    Idempotent,
    /// E.g. Userflow `POST /events`: only retried when the vendor provably did not act on it
    /// (429, or the connection was never made).
    NotIdempotent,
}

/// Bounded exponential backoff with jitter, an attempt limit and an overall deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Ceiling for one computed backoff (a vendor's own `Retry-After` may exceed it).
    pub max_delay: Duration,
    /// Time budget from the first attempt; no retry is scheduled past it.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            deadline: Duration::from_secs(60),
        }
    }
}

/// Inputs to a decision that are not part of the response: attempt bookkeeping, the wall
/// clock (for epoch reset headers) and a jitter sample in `[0, 1)`. Passing them in keeps
/// [`RetryPolicy::decide`] pure and testable as a table.
#[derive(Debug, Clone, Copy)]
pub struct AttemptContext {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// Wall-clock time of the observation.
    pub now: SystemTime,
    /// Uniform sample in `[0, 1)`; scales the backoff between 50% and 100%.
    pub jitter: f64,
    /// Whether the request may be repeated after an ambiguous failure.
    pub idempotency: Idempotency,
}

impl RetryPolicy {
    /// Decides what to do after one attempt. Pure: the same inputs give the same decision.
    pub fn decide(&self, observed: Observed<'_>, ctx: AttemptContext) -> Decision {
        let (class, vendor_delay) = match observed {
            Observed::Response { status, headers } => match FailureClass::of_status(status) {
                None => return Decision::Success,
                Some(class) => (class, server_retry_after(status, headers, ctx.now)),
            },
            Observed::Transport { .. } => (FailureClass::Transient, None),
        };
        let give_up = |reason| Decision::GiveUp {
            class,
            reason,
            retry_after: vendor_delay,
        };
        let safe_to_repeat = match (ctx.idempotency, observed) {
            (Idempotency::Idempotent, _) => true,
            (_, Observed::Transport { connected }) => !connected,
            (_, Observed::Response { status, .. }) => status == StatusCode::TOO_MANY_REQUESTS,
        };
        if !class.is_retryable_later() || !safe_to_repeat {
            return give_up(GiveUpReason::NotRetryable);
        }
        if ctx.attempt >= self.max_attempts {
            return give_up(GiveUpReason::AttemptsExhausted);
        }
        let after = vendor_delay.unwrap_or_else(|| self.backoff(ctx.attempt, ctx.jitter));
        if ctx.elapsed.saturating_add(after) > self.deadline {
            return give_up(GiveUpReason::DeadlineExceeded);
        }
        Decision::Retry { after, class }
    }

    /// "Equal jitter" backoff: `min(max_delay, base * 2^(attempt-1))`, scaled into 50-100%
    /// so retries from many callers spread out but never collapse to zero.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        ceiling.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::test_support::{NOW_EPOCH, headers};

    fn ctx(attempt: u32, elapsed_ms: u64) -> AttemptContext {
        AttemptContext {
            attempt,
            elapsed: Duration::from_millis(elapsed_ms),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_EPOCH),
            jitter: 1.0,
            idempotency: Idempotency::Idempotent,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            deadline: Duration::from_secs(10),
        }
    }

    fn decide(status: u16, pairs: &[(&'static str, &str)], ctx: AttemptContext) -> Decision {
        let map = headers(pairs);
        policy().decide(
            Observed::Response {
                status: StatusCode::from_u16(status).unwrap(),
                headers: &map,
            },
            ctx,
        )
    }

    fn retry(ms: u64, class: FailureClass) -> Decision {
        Decision::Retry {
            after: Duration::from_millis(ms),
            class,
        }
    }

    fn give_up(class: FailureClass, reason: GiveUpReason, hint_ms: Option<u64>) -> Decision {
        Decision::GiveUp {
            class,
            reason,
            retry_after: hint_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn when_status_and_headers_vary_then_the_decision_follows_the_table() {
        use FailureClass::*;
        use GiveUpReason::*;
        let reset_epoch = (NOW_EPOCH + 7).to_string();
        let date = "Fri, 15 Jan 2027 08:00:03 GMT";
        type Row<'a> = (
            &'a str,
            u16,
            Vec<(&'static str, &'a str)>,
            AttemptContext,
            Decision,
        );
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            ("201 success", 201, vec![], ctx(1, 0), Decision::Success),
            ("202 queued is success", 202, vec![], ctx(1, 0), Decision::Success),
            ("500 retried with backoff", 500, vec![], ctx(1, 0), retry(100, Transient)),
            ("503 third attempt backs off 4x", 503, vec![], ctx(3, 0), retry(400, Transient)),
            ("504 backoff capped at max_delay", 504, vec![], ctx(5 - 1, 0), retry(800, Transient)),
            ("408 is transient", 408, vec![], ctx(1, 0), retry(100, Transient)),
            ("429 with Braze retry header", 429, vec![("x-ratelimit-retry-after", "3")], ctx(1, 0), retry(3000, Throttled)),
            ("429 header names are case-insensitive", 429, vec![("X-RateLimit-Retry-After", "1.5")], ctx(1, 0), retry(1500, Throttled)),
            ("429 with Retry-After seconds", 429, vec![("retry-after", "2")], ctx(1, 0), retry(2000, Throttled)),
            ("Braze header wins over Retry-After", 429, vec![("retry-after", "9"), ("x-ratelimit-retry-after", "1")], ctx(1, 0), retry(1000, Throttled)),
            ("429 with reset as epoch", 429, vec![("x-ratelimit-reset", &reset_epoch)], ctx(1, 0), retry(7000, Throttled)),
            ("429 with reset as delta", 429, vec![("x-ratelimit-reset", "4")], ctx(1, 0), retry(4000, Throttled)),
            ("429 with reset in the past retries now", 429, vec![("x-ratelimit-reset", "1700000000")], ctx(1, 0), retry(0, Throttled)),
            ("429 without hints backs off", 429, vec![], ctx(2, 0), retry(200, Throttled)),
            ("503 honours Retry-After", 503, vec![("retry-after", "1")], ctx(1, 0), retry(1000, Transient)),
            ("reset ignored on 5xx", 500, vec![("x-ratelimit-reset", "9")], ctx(1, 0), retry(100, Transient)),
            ("garbage hint falls back to backoff", 429, vec![("retry-after", "soon")], ctx(1, 0), retry(100, Throttled)),
            ("negative hint falls back to backoff", 429, vec![("x-ratelimit-retry-after", "-5")], ctx(1, 0), retry(100, Throttled)),
            ("400 never retried", 400, vec![], ctx(1, 0), give_up(Permanent, NotRetryable, None)),
            ("404 never retried", 404, vec![], ctx(1, 0), give_up(Permanent, NotRetryable, None)),
            ("413 never retried", 413, vec![], ctx(1, 0), give_up(Permanent, NotRetryable, None)),
            ("401 is misconfiguration", 401, vec![], ctx(1, 0), give_up(Misconfigured, NotRetryable, None)),
            ("403 is misconfiguration", 403, vec![], ctx(1, 0), give_up(Misconfigured, NotRetryable, None)),
            ("attempts exhausted", 500, vec![], ctx(5, 0), give_up(Transient, AttemptsExhausted, None)),
            ("attempts exhausted keeps the hint", 429, vec![("retry-after", "2")], ctx(5, 0), give_up(Throttled, AttemptsExhausted, Some(2000))),
            ("hint past the deadline gives up", 429, vec![("retry-after", "30")], ctx(1, 0), give_up(Throttled, DeadlineExceeded, Some(30_000))),
            ("backoff past the deadline gives up", 500, vec![], ctx(2, 9_900), give_up(Transient, DeadlineExceeded, None)),
            ("HTTP-date Retry-After", 429, vec![("retry-after", date)], ctx(1, 0), retry(3000, Throttled)),
        ];
        for (name, status, pairs, ctx, expected) in table {
            assert_eq!(decide(status, &pairs, ctx), expected, "{name}");
        }
    }

    #[test]
    fn when_the_request_is_not_idempotent_then_only_unsent_or_throttled_attempts_repeat() {
        let map = HeaderMap::new();
        let unsafe_ctx = AttemptContext {
            idempotency: Idempotency::NotIdempotent,
            ..ctx(1, 0)
        };
        let p = policy();
        let status = |s| Observed::Response {
            status: StatusCode::from_u16(s).unwrap(),
            headers: &map,
        };
        assert!(matches!(
            p.decide(status(502), unsafe_ctx),
            Decision::GiveUp {
                reason: GiveUpReason::NotRetryable,
                class: FailureClass::Transient,
                ..
            }
        ));
        assert!(matches!(
            p.decide(status(429), unsafe_ctx),
            Decision::Retry { .. }
        ));
        assert!(matches!(
            p.decide(Observed::Transport { connected: false }, unsafe_ctx),
            Decision::Retry { .. }
        ));
        assert!(matches!(
            p.decide(Observed::Transport { connected: true }, unsafe_ctx),
            Decision::GiveUp {
                reason: GiveUpReason::NotRetryable,
                ..
            }
        ));
        assert!(matches!(
            p.decide(Observed::Transport { connected: true }, ctx(1, 0)),
            Decision::Retry {
                class: FailureClass::Transient,
                ..
            }
        ));
    }

    #[test]
    fn when_jitter_varies_then_backoff_stays_between_half_and_full_ceiling() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(150));
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(40, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn when_a_status_is_final_then_its_class_decides_later_retries() {
        assert_eq!(FailureClass::of_status(StatusCode::OK), None);
        assert!(FailureClass::Throttled.is_retryable_later());
        assert!(FailureClass::Transient.is_retryable_later());
        assert!(!FailureClass::Permanent.is_retryable_later());
        assert!(!FailureClass::Misconfigured.is_retryable_later());
    }
}
