//! What the vendor's response headers say: how long it asked us to wait (`Retry-After` and
//! friends) and how much of its rate-limit budget is left (`X-RateLimit-*`).

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// Epoch values above this are absolute UTC seconds; smaller ones are deltas (Braze documents
/// `X-RateLimit-Reset` both ways).
const EPOCH_THRESHOLD: u64 = 1_000_000_000;

/// The delay the vendor asked for, in order of precedence: Braze's `X-Ratelimit-Retry-After`,
/// the standard `Retry-After` (seconds or HTTP date), and, for a 429 only,
/// `X-RateLimit-Reset` (epoch or delta). Header names match case-insensitively.
pub fn server_retry_after(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    header_str(headers, "x-ratelimit-retry-after")
        .and_then(parse_seconds)
        .or_else(|| header_str(headers, "retry-after").and_then(|v| parse_retry_after(v, now)))
        .or_else(|| {
            (status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| rate_limit_reset(headers, now))
                .flatten()
        })
}

/// `X-RateLimit-Reset` as a delay from `now`: values above 1e9 are epoch seconds, others
/// seconds remaining. A reset in the past is zero.
pub fn rate_limit_reset(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value: f64 = header_str(headers, "x-ratelimit-reset")?
        .trim()
        .parse()
        .ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    if value >= EPOCH_THRESHOLD as f64 {
        let now_secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        Some(Duration::from_secs_f64((value - now_secs).max(0.0)))
    } else {
        Some(Duration::from_secs_f64(value))
    }
}

fn parse_seconds(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_seconds(value).or_else(|| {
        let when = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
        let when =
            SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(when.timestamp()).ok()?);
        Some(when.duration_since(now).unwrap_or(Duration::ZERO))
    })
}

pub(super) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The vendor's view of our remaining budget, from `X-RateLimit-Limit`, `-Remaining` and
/// `-Reset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// `X-RateLimit-Limit`: requests allowed in the current window.
    pub limit: u64,
    /// `X-RateLimit-Remaining`: requests left in the window.
    pub remaining: u64,
    /// `X-RateLimit-Reset`, as a delay from now.
    pub resets_in: Duration,
}

impl Budget {
    /// Reads the three headers; `None` when any is missing or unreadable.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Budget> {
        let number = |name| header_str(headers, name)?.trim().parse::<u64>().ok();
        Some(Budget {
            limit: number("x-ratelimit-limit")?,
            remaining: number("x-ratelimit-remaining")?,
            resets_in: rate_limit_reset(headers, now)?,
        })
    }

    /// Minimum spacing between requests that spends what is left evenly until the reset,
    /// once the remaining budget falls to `low_water` (a fraction of the limit) or below.
    pub fn pacing(&self, low_water: f64) -> Option<Duration> {
        let threshold = (self.limit as f64 * low_water).ceil() as u64;
        (self.limit > 0 && self.remaining <= threshold).then(|| {
            self.resets_in / (self.remaining.saturating_add(1).min(u32::MAX as u64) as u32)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::test_support::{NOW_EPOCH, headers};

    #[test]
    fn when_retry_after_is_an_http_date_then_the_delay_is_measured_from_now() {
        // Fri, 15 Jan 2027 08:00:03 GMT = 1800000003.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let map = headers(&[("retry-after", "Fri, 15 Jan 2027 08:00:03 GMT")]);
        assert_eq!(
            server_retry_after(StatusCode::TOO_MANY_REQUESTS, &map, now),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn when_remaining_budget_is_low_then_pacing_spreads_it_until_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_EPOCH);
        let low = headers(&[
            ("x-ratelimit-limit", "3000"),
            ("x-ratelimit-remaining", "99"),
            ("x-ratelimit-reset", "2"),
        ]);
        let budget = Budget::from_headers(&low, now).unwrap();
        assert_eq!(budget.pacing(0.1), Some(Duration::from_millis(20)));

        let plenty = headers(&[
            ("X-RateLimit-Limit", "3000"),
            ("X-RateLimit-Remaining", "2999"),
            ("X-RateLimit-Reset", &(NOW_EPOCH + 3).to_string()),
        ]);
        let budget = Budget::from_headers(&plenty, now).unwrap();
        assert_eq!(budget.resets_in, Duration::from_secs(3));
        assert_eq!(budget.pacing(0.1), None);

        let missing = headers(&[("x-ratelimit-limit", "3000")]);
        assert_eq!(Budget::from_headers(&missing, now), None);
    }
}
