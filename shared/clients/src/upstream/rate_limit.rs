//! The client-side rate limiter: a configured [`Rate`] per API, slowed down further when the
//! vendor's `X-RateLimit-Remaining` runs low, and paused for every caller after a 429.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota};
use http::HeaderMap;
use tokio::time::Instant;

use super::headers::Budget;

/// A configured request rate for one API (or one endpoint family of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained pace from this process: one request per `interval`. A duration rather than
    /// a count per second, so that a limit per minute (Braze's 250/min) is kept exactly
    /// instead of rounded up to whole requests per second.
    pub interval: Duration,
    /// Requests that may go at once after a quiet period.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second` sustained with an equal burst.
    pub fn per_second(per_second: NonZeroU32) -> Rate {
        Rate {
            interval: Duration::from_secs(1) / per_second.get(),
            burst: per_second,
        }
    }

    /// At most `limit` requests in any one-second interval, however it is aligned, even when
    /// the vendor sees them a little late or early: for an API that counts requests in
    /// windows the client cannot see (Userflow publishes neither its limit nor its windows).
    /// [`Rate::within_any_window`] of one second.
    pub fn within_any_second(limit: NonZeroU32) -> Rate {
        Rate::within_any_window(limit, Duration::from_secs(1))
    }

    /// At most `limit` requests in any interval of length `window`, however it is aligned
    /// (Braze's 250 per minute for `/users/export/ids`, counted in windows the client cannot
    /// see).
    ///
    /// A rate of `limit` per window with a burst of `limit` lets up to twice `limit` into
    /// one window, and every excess request costs a 429 and its retry hint, for every
    /// caller. Here a fortieth of `limit` (rounded up) is the burst, which absorbs timer
    /// lateness, another fortieth is kept free for network and scheduling jitter (a
    /// fortieth of the window), and the sustained rate is what is left:
    /// `burst + jitter + rate * window = limit` (1000 per second: a burst of 25, then
    /// 950/s; 250 per minute: a burst of 7, then 236/min).
    pub fn within_any_window(limit: NonZeroU32, window: Duration) -> Rate {
        let share = limit.get().div_ceil(WINDOW_SHARE_DIVISOR);
        let sustained = limit.get().saturating_sub(2 * share).max(1);
        Rate {
            interval: window / sustained,
            burst: NonZeroU32::new(share).unwrap_or(NonZeroU32::MIN),
        }
    }

    /// A budget expressed per minute, spread evenly (one request every minute / `per_minute`),
    /// with a burst of one second's worth (at least 1).
    pub fn per_minute(per_minute: NonZeroU32) -> Rate {
        let burst = NonZeroU32::new(per_minute.get().div_ceil(60)).unwrap_or(NonZeroU32::MIN);
        Rate {
            interval: Duration::from_secs(60) / per_minute.get(),
            burst,
        }
    }

    /// The sustained rate in requests per second (for reports and arithmetic).
    pub fn requests_per_second(&self) -> f64 {
        1.0 / self.interval.as_secs_f64()
    }
}

/// [`Rate::within_any_window`]'s burst, and its jitter allowance, as a fraction of the limit
/// (1/40: 25 ms of requests each in a one-second window).
const WINDOW_SHARE_DIVISOR: u32 = 40;

/// Client-side rate limiter for one API: a governor quota at the configured rate, plus a gate
/// that every caller passes through. The gate spaces requests out when the vendor's remaining
/// budget is low and holds everyone back after a 429, so concurrent tasks share one view.
#[derive(Debug)]
pub struct RateLimiter {
    quota: Option<DefaultDirectRateLimiter>,
    gate: Mutex<Gate>,
    low_water: f64,
}

#[derive(Debug)]
struct Gate {
    not_before: Instant,
    spacing: Duration,
    spacing_until: Instant,
    /// The vendor's `X-RateLimit-Limit` from the last response that carried it.
    vendor_limit: Option<u64>,
}

impl RateLimiter {
    /// Fraction of the vendor's limit below which requests are spaced out.
    pub const DEFAULT_LOW_WATER: f64 = 0.1;

    /// Shortest window over which requests resume after a 429: a hint of 0 s must not turn
    /// into a burst.
    pub const MIN_RESUME_WINDOW: Duration = Duration::from_secs(1);

    /// A limiter at `rate`.
    pub fn new(rate: Rate) -> RateLimiter {
        // A zero interval (a rate too high to express) means no spacing: governor refuses
        // a zero period, so it becomes the finest it accepts.
        let interval = rate.interval.max(Duration::from_nanos(1));
        let quota = Quota::with_period(interval)
            .expect("the interval is above zero")
            .allow_burst(rate.burst);
        RateLimiter::build(Some(DefaultDirectRateLimiter::direct(quota)))
    }

    /// No client-side quota; still honours the vendor's headers and 429s.
    pub fn unlimited() -> RateLimiter {
        RateLimiter::build(None)
    }

    fn build(quota: Option<DefaultDirectRateLimiter>) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            quota,
            gate: Mutex::new(Gate {
                not_before: now,
                spacing: Duration::ZERO,
                spacing_until: now,
                vendor_limit: None,
            }),
            low_water: Self::DEFAULT_LOW_WATER,
        }
    }

    /// Waits until this caller may send one request.
    pub async fn acquire(&self) {
        if let Some(quota) = &self.quota {
            quota.until_ready().await;
        }
        let wait = {
            let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = gate.not_before.max(now);
            if slot < gate.spacing_until {
                gate.not_before = slot + gate.spacing;
            }
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Adapts to the vendor's rate-limit headers on any response. Pacing set here lasts until
    /// the vendor's reset; a later response with budget to spare does not cut it short (it may
    /// be older than the one that reported the shortage).
    pub fn observe(&self, headers: &HeaderMap, now: SystemTime) {
        let Some(budget) = Budget::from_headers(headers, now) else {
            return;
        };
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        gate.vendor_limit = Some(budget.limit);
        if let Some(spacing) = budget.pacing(self.low_water) {
            gate.spacing = spacing;
            gate.spacing_until = gate.spacing_until.max(Instant::now() + budget.resets_in);
        }
    }

    /// Holds every caller back for `delay` (after a 429 with a retry hint), then lets them go
    /// one by one at the vendor's limit spread over a window, instead of all at once into the
    /// next refusal.
    pub fn pause(&self, delay: Duration) {
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        gate.not_before = gate.not_before.max(Instant::now() + delay);
        if let Some(limit) = gate.vendor_limit.filter(|limit| *limit > 0) {
            let window = delay.max(Self::MIN_RESUME_WINDOW);
            gate.spacing = window / u32::try_from(limit).unwrap_or(u32::MAX);
            gate.spacing_until = gate.not_before + window;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::test_support::headers;

    #[test]
    fn when_budget_is_per_minute_then_it_is_spread_exactly_over_the_minute() {
        let rate = Rate::per_minute(NonZeroU32::new(250).unwrap());
        assert_eq!(
            (rate.interval, rate.burst.get()),
            (Duration::from_millis(240), 5)
        );
        let rate = Rate::per_minute(NonZeroU32::new(10).unwrap());
        assert_eq!(
            (rate.interval, rate.burst.get()),
            (Duration::from_secs(6), 1)
        );
    }

    #[test]
    fn when_a_limit_holds_in_any_minute_then_burst_plus_a_minute_of_rate_stay_under_it() {
        // (limit per minute, burst, sustained per minute)
        let table = [
            (250, 7, 236),
            (2_500, 63, 2_374),
            (20_000, 500, 19_000),
            (1, 1, 1),
        ];
        for (limit, burst, per_minute) in table {
            let rate =
                Rate::within_any_window(NonZeroU32::new(limit).unwrap(), Duration::from_secs(60));
            assert_eq!(rate.burst.get(), burst, "limit {limit}");
            assert_eq!(
                rate.interval,
                Duration::from_secs(60) / per_minute,
                "limit {limit}"
            );
            // A minute and a fortieth of lateness still holds no more than the limit.
            let most = f64::from(burst) + rate.requests_per_second() * 61.5;
            assert!(
                most <= f64::from(limit) + 1e-9 || per_minute == 1,
                "limit {limit}: {rate:?}"
            );
        }
    }

    #[test]
    fn when_a_limit_holds_in_any_second_then_burst_plus_rate_never_exceed_it() {
        // (limit, burst, sustained rate)
        let table = [
            (1, 1, 1),
            (2, 1, 1),
            (3, 1, 1),
            (10, 1, 8),
            (70, 2, 66),
            (80, 2, 76),
            (1_000, 25, 950),
            (5_000, 125, 4_750),
        ];
        for (limit, burst, per_second) in table {
            let rate = Rate::within_any_second(NonZeroU32::new(limit).unwrap());
            assert_eq!(
                (rate.burst.get(), rate.interval),
                (burst, Duration::from_secs(1) / per_second),
                "limit {limit}"
            );
            // GCRA lets `burst + rate * t` through in any span t: with 25 ms of lateness
            // (t = 1.025 s) still within the limit. Below 3 nothing is slower than one
            // request a second.
            let most = f64::from(burst) + f64::from(per_second) * 1.025;
            assert!(
                most <= f64::from(limit) || per_second == 1,
                "limit {limit}: {rate:?}"
            );
        }
    }

    // Real clock: governor keeps its own time. Requests as fast as the limiter allows, counted
    // in every one-second interval that starts at a request.
    #[tokio::test]
    async fn when_requests_run_flat_out_then_no_second_holds_more_than_the_limit() {
        let limit = NonZeroU32::new(200).unwrap();
        let limiter = RateLimiter::new(Rate::within_any_second(limit));
        let started = std::time::Instant::now();
        let mut sent = Vec::new();
        while started.elapsed() < Duration::from_millis(2_500) {
            limiter.acquire().await;
            sent.push(started.elapsed());
        }
        let busiest = sent
            .iter()
            .enumerate()
            .map(|(first, at)| {
                sent[first..]
                    .iter()
                    .take_while(|later| **later - *at < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0);
        assert!(busiest <= 200, "{busiest} requests within one second");
        // Flat out, the limiter is not much slower than its sustained rate (190/s) either
        // (the margin is for a loaded CI machine's timer lateness).
        assert!(
            busiest >= 150,
            "only {busiest} requests in the busiest second"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_limiter_is_paused_then_every_caller_waits() {
        let limiter = RateLimiter::unlimited();
        limiter.pause(Duration::from_secs(2));
        let started = tokio::time::Instant::now();
        limiter.acquire().await;
        assert!(
            started.elapsed() >= Duration::from_millis(1900),
            "{:?}",
            started.elapsed()
        );
    }

    // Real clock: governor keeps its own time, which tokio's paused clock does not drive.
    #[tokio::test]
    async fn when_a_rate_is_configured_then_requests_beyond_the_burst_wait_their_turn() {
        let limiter = RateLimiter::new(Rate {
            interval: Duration::from_millis(50),
            burst: NonZeroU32::MIN,
        });
        let started = std::time::Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        // One at once, then ten more at 20 per second: at least 500 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(480),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_callers_resume_after_a_429_then_they_go_at_the_vendors_rate_not_at_once() {
        let limiter = RateLimiter::unlimited();
        limiter.observe(
            &headers(&[
                ("x-ratelimit-limit", "10"),
                ("x-ratelimit-remaining", "5"),
                ("x-ratelimit-reset", "1"),
            ]),
            SystemTime::now(),
        );
        limiter.pause(Duration::from_secs(1));
        let started = tokio::time::Instant::now();
        for _ in 0..10 {
            limiter.acquire().await;
        }
        // 1 s paused, then 10 requests 100 ms apart (10 per 1 s window).
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(2_100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn when_vendor_budget_runs_low_then_requests_are_spaced() {
        let limiter = RateLimiter::unlimited();
        let now = SystemTime::now();
        limiter.observe(
            &headers(&[
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "4"),
                ("x-ratelimit-reset", "5"),
            ]),
            now,
        );
        let started = tokio::time::Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        // 5 s spread over 5 remaining slots: 1 s apart, the first immediately.
        assert!(
            started.elapsed() >= Duration::from_millis(2900),
            "{:?}",
            started.elapsed()
        );
    }
}
