//! Fault injection: rules set through the admin API decide, before any handler runs, whether a
//! request is delayed, answered with an error, throttled, or has its connection dropped.
//!
//! Rules are checked in the order they were added. `latency` rules add up and let the request
//! continue; the first other rule that fires decides the answer. A fired `status`, `throttle`
//! or `drop` rule answers without reaching the handler, so state never changes.

use std::sync::Mutex;

use axum::response::Response;
use http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::http_util::{self, set_header};
use super::limits::Snapshot;
use crate::admin::types::{Api, FaultKind, FaultRule, FaultStatus};
use crate::braze::{self, scim};
use crate::{hubspot, userflow};

struct Active {
    id: String,
    rule: FaultRule,
    matched: u64,
    fired: u64,
    rng: StdRng,
}

impl Active {
    fn exhausted(&self) -> bool {
        self.rule.count.is_some_and(|n| self.fired >= n)
    }

    fn status(&self) -> FaultStatus {
        FaultStatus {
            id: self.id.clone(),
            rule: self.rule.clone(),
            matched: self.matched,
            fired: self.fired,
            exhausted: self.exhausted(),
        }
    }
}

/// What the fault rules decided for one request.
#[derive(Default)]
pub(crate) struct Plan {
    /// Added delay before anything else happens.
    pub delay_ms: u64,
    /// The answer that replaces the handler's, if any.
    pub action: Option<FaultKind>,
}

/// Why a rule was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RuleError {
    #[error("probability must be between 0 and 1")]
    Probability,
    #[error("status must be a valid HTTP status (100..=999)")]
    Status,
}

/// The rule list.
#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<Rules>,
}

#[derive(Default)]
struct Rules {
    /// Rules ever added (ids are `f<n>`).
    added: u64,
    active: Vec<Active>,
}

impl Faults {
    /// Adds a rule and returns its stored form.
    pub(crate) fn add(&self, rule: FaultRule) -> Result<FaultStatus, RuleError> {
        if rule
            .probability
            .is_some_and(|p| !(0.0..=1.0).contains(&p) || p.is_nan())
        {
            return Err(RuleError::Probability);
        }
        if let FaultKind::Status { status, .. } = &rule.kind
            && StatusCode::from_u16(*status).is_err()
        {
            return Err(RuleError::Status);
        }
        let mut guard = self.rules.lock().expect("faults lock");
        guard.added += 1;
        let active = Active {
            id: format!("f{}", guard.added),
            rng: StdRng::seed_from_u64(rule.seed.unwrap_or(0)),
            rule,
            matched: 0,
            fired: 0,
        };
        let status = active.status();
        guard.active.push(active);
        Ok(status)
    }

    /// Every rule with its counters.
    pub(crate) fn list(&self) -> Vec<FaultStatus> {
        let guard = self.rules.lock().expect("faults lock");
        guard.active.iter().map(Active::status).collect()
    }

    /// Removes one rule; false when unknown.
    pub(crate) fn remove(&self, id: &str) -> bool {
        let mut guard = self.rules.lock().expect("faults lock");
        let before = guard.active.len();
        guard.active.retain(|a| a.id != id);
        guard.active.len() != before
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        self.rules.lock().expect("faults lock").active.clear();
    }

    /// Decides the faults for one request.
    pub(crate) fn plan(&self, api: Api, method: &str, path: &str) -> Plan {
        let mut plan = Plan::default();
        let mut guard = self.rules.lock().expect("faults lock");
        for active in guard.active.iter_mut() {
            let rule = &active.rule;
            if rule.api != api
                || !(rule.method == "*" || rule.method.eq_ignore_ascii_case(method))
                || !glob_match(&rule.path, path)
                || active.exhausted()
            {
                continue;
            }
            let is_latency = matches!(rule.kind, FaultKind::Latency { .. });
            if plan.action.is_some() && !is_latency {
                continue;
            }
            active.matched += 1;
            // Each matching request draws once, so a seeded sequence is reproducible.
            let fires = match rule.probability {
                Some(p) => active.rng.random::<f64>() < p,
                None => true,
            };
            if !fires {
                continue;
            }
            active.fired += 1;
            match &active.rule.kind {
                FaultKind::Latency { ms } => plan.delay_ms += ms,
                other => plan.action = Some(other.clone()),
            }
        }
        plan
    }
}

/// `*` matches any run of characters (including `/`); everything else is literal.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// The short name of a kind, as recorded in the request log.
pub(crate) fn kind_name(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::Status { .. } => "status",
        FaultKind::Throttle { .. } => "throttle",
        FaultKind::Latency { .. } => "latency",
        FaultKind::Drop => "drop",
    }
}

/// The answer a fired fault gives, shaped like the API's own errors. `budget` is the
/// request's rate-limit bucket (Braze and SCIM headers).
pub(crate) fn respond(api: Api, kind: &FaultKind, budget: Option<Snapshot>) -> Response {
    match kind {
        FaultKind::Status {
            status,
            html,
            body,
            content_type,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            if let Some(body) = body {
                let ct = content_type.as_deref().unwrap_or("application/json");
                return http_util::raw(status, ct, body.clone());
            }
            if *html {
                return http_util::html_error_page(status);
            }
            api_error(
                api,
                status,
                "internal_error",
                status.canonical_reason().unwrap_or("Error"),
            )
        }
        FaultKind::Throttle { retry_after } => throttled(api, *retry_after, budget),
        FaultKind::Drop => http_util::dropped_connection(),
        // Latency never becomes an action; answer like a plain 503 should it ever happen.
        FaultKind::Latency { .. } => http_util::html_error_page(StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// The error body each API sends (`code` is Userflow's error code).
fn api_error(api: Api, status: StatusCode, code: &str, text: &str) -> Response {
    match api {
        Api::Braze => {
            let (status, body) = braze::message(status, text);
            http_util::json(status, &body)
        }
        Api::Scim => scim::error(status, text),
        Api::Userflow => userflow::error(status, code, text),
        Api::Hubspot => hubspot::error(status, hubspot::category_of(status), text),
    }
}

/// A 429 with the API's headers: Braze/SCIM get `X-RateLimit-*` and `X-Ratelimit-Retry-After`,
/// Userflow gets `Retry-After`, HubSpot gets `Retry-After` and `X-HubSpot-RateLimit-*`.
pub(crate) fn throttled(api: Api, retry_after: u64, budget: Option<Snapshot>) -> Response {
    let retry = retry_after.max(1).to_string();
    let text = match api {
        Api::Braze => "Too Many Requests: rate limit exceeded",
        Api::Scim => "Rate limit exceeded",
        Api::Userflow => "Too many requests; retry later",
        Api::Hubspot => return hubspot::throttled(retry_after, budget),
    };
    let mut resp = api_error(api, StatusCode::TOO_MANY_REQUESTS, "rate_limited", text);
    if api == Api::Userflow {
        set_header(&mut resp, "retry-after", &retry);
        return resp;
    }
    if let Some(mut b) = budget {
        b.remaining = 0;
        b.apply_braze(&mut resp);
    }
    set_header(&mut resp, "x-ratelimit-retry-after", &retry);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_pattern_has_wildcards_then_glob_match_follows_them() {
        assert!(glob_match("*", "/users/track"));
        assert!(glob_match("/users/*", "/users/track"));
        assert!(glob_match("/users/*", "/users/export/ids"));
        assert!(!glob_match("/users/*", "/groups/1"));
        assert!(glob_match("/users/track", "/users/track"));
        assert!(!glob_match("/users/track", "/users/track/"));
        assert!(glob_match("/scim/*/Users/*", "/scim/v2/Users/abc"));
        assert!(!glob_match("/a*a", "/a"));
    }

    #[test]
    fn when_rule_has_count_then_it_fires_only_that_many_times() {
        let faults = Faults::default();
        let rule = FaultRule::new(Api::Braze, "POST", "/users/track", FaultKind::Drop).times(2);
        faults.add(rule).expect("valid rule");
        let fired: Vec<bool> = (0..4)
            .map(|_| {
                faults
                    .plan(Api::Braze, "POST", "/users/track")
                    .action
                    .is_some()
            })
            .collect();
        assert_eq!(fired, vec![true, true, false, false]);
        assert!(faults.list()[0].exhausted);
    }

    #[test]
    fn when_rule_has_probability_and_seed_then_the_sequence_repeats() {
        let run = || {
            let faults = Faults::default();
            let rule =
                FaultRule::new(Api::Userflow, "*", "*", FaultKind::Drop).with_probability(0.5, 42);
            faults.add(rule).expect("valid rule");
            (0..64)
                .map(|_| faults.plan(Api::Userflow, "GET", "/users").action.is_some())
                .collect::<Vec<bool>>()
        };
        let a = run();
        assert_eq!(a, run());
        let fired = a.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&fired), "fired {fired} of 64");
    }

    #[test]
    fn when_probability_is_out_of_range_then_the_rule_is_refused() {
        let faults = Faults::default();
        let rule = FaultRule::new(Api::Braze, "*", "*", FaultKind::Drop).with_probability(1.5, 1);
        assert!(faults.add(rule).is_err());
        assert!(faults.list().is_empty());
    }
}
