//! Braze `/users/track` against a known limit: the sandbox's track bucket set to L requests a
//! second in Braze's shape (3 L per 3 s fixed window, with `X-RateLimit-*` headers and 429s),
//! relay-clients' `BrazeClient` built by relay-core's configuration with `BRAZE_TRACK_RATE` =
//! L (one instance: 1 x L <= L, the README's rate-budget formula), and many concurrent track
//! calls sharing it, flat out for a fixed time. So the shared limiter, the send loop's retries
//! and the vendor headers' pacing are what is measured. The sandbox's request log gives the
//! rate it accepted each second; every 429 it sent is counted, and every one that reached a
//! caller as a failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use relay_clients::braze::{BrazeClient, BrazeError, UserAttributes, UserIdentifier};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::config::VendorConfig;
use relay_core::env::Env;
use relay_core::secrets::SecretResolver;
use sandbox::{Api, Bucket, RateLimit, SandboxConfig, SettingsPatch};
use tokio::time::Instant;

use crate::series;

/// The sandbox's window, seconds: Braze counts `/users/track` per 3 s.
pub const WINDOW_SECS: u64 = 3;
/// Concurrent track calls sharing the client.
pub const SENDERS: usize = 32;
/// Profiles per track call (one request each): a webhook batch's size.
pub const OBJECTS_PER_REQUEST: usize = 10;
/// Distinct profiles updated over and over, so the sandbox's store stays small.
const PROFILES: usize = 5_000;
/// Seconds left out at the start: the first two windows (the client's initial burst, the
/// first 429 and the pause after it).
pub const SKIP_SECS: usize = 2 * WINDOW_SECS as usize;
/// The goal: the steady rate at least this fraction of L.
pub const GOAL: f64 = 0.9;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// L: the sandbox's limit, requests per second (`BRAZE_TRACK_RATE` too).
    pub limit: u32,
    /// How long the callers keep sending, seconds.
    pub seconds: u64,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// Track requests the sandbox accepted (2xx), per second since the first request.
    pub accepted: Vec<u64>,
    /// 429 answers the sandbox sent, per second.
    pub throttled: Vec<u64>,
    /// Track calls made.
    pub calls: u64,
    /// 429s the sandbox sent in total (the run's tail included).
    pub sandbox_429s: u64,
    /// 429s the client counted (`BrazeClient::throttles`).
    pub client_429s: u64,
    /// Calls that failed with a 429: the unhandled ones.
    pub surfaced_429s: u64,
    /// Calls that failed otherwise.
    pub other_failures: u64,
}

impl Outcome {
    /// The mean accepted rate after [`SKIP_SECS`], requests per second.
    pub fn steady_rate(&self) -> f64 {
        series::steady_mean(&self.accepted, SKIP_SECS).unwrap_or(0.0)
    }

    /// The steady rate as a fraction of L.
    pub fn ratio(&self) -> f64 {
        self.steady_rate() / f64::from(self.plan.limit)
    }
}

/// Counts of what the callers saw.
#[derive(Default)]
struct Calls {
    made: AtomicU64,
    surfaced_429s: AtomicU64,
    other_failures: AtomicU64,
}

impl Calls {
    fn failed(&self, error: &BrazeError) {
        let counter = if error.status().is_some_and(|s| s.as_u16() == 429) {
            &self.surfaced_429s
        } else {
            &self.other_failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn admin_error(e: sandbox::AdminError) -> String {
    format!("sandbox admin API: {e}")
}

/// Runs the plan against a fresh sandbox in this process.
pub async fn measure(plan: Plan) -> Result<Outcome, String> {
    let sandbox = sandbox::start(SandboxConfig::default())
        .await
        .map_err(|e| format!("starting the sandbox: {e}"))?;
    let result = run(&sandbox, plan).await;
    sandbox.shutdown().await;
    result
}

async fn run(sandbox: &sandbox::Sandbox, plan: Plan) -> Result<Outcome, String> {
    let admin = sandbox.admin();
    // Room for every request of the run in the log (429s included).
    let log_capacity = plan.limit as usize * plan.seconds as usize * 4 + 10_000;
    let mut patch = SettingsPatch {
        request_log_capacity: Some(log_capacity),
        ..SettingsPatch::default()
    };
    patch.rate_limits.insert(
        Bucket::BrazeTrack,
        Some(RateLimit {
            limit: u64::from(plan.limit) * WINDOW_SECS,
            window_secs: WINDOW_SECS,
        }),
    );
    admin.update_settings(&patch).await.map_err(admin_error)?;
    let braze = client(sandbox.info(), plan.limit).await?;
    admin.reset_requests().await.map_err(admin_error)?;

    eprintln!(
        "relay-bench: braze-rate: {SENDERS} callers for {} s against {} /users/track a second",
        plan.seconds, plan.limit
    );
    let calls = Arc::new(Calls::default());
    let stop_at = Instant::now() + Duration::from_secs(plan.seconds);
    let senders = (0..SENDERS).map(|sender| {
        let (braze, calls) = (braze.clone(), Arc::clone(&calls));
        async move {
            let mut round = 0usize;
            while Instant::now() < stop_at {
                let first = (round * SENDERS + sender) * OBJECTS_PER_REQUEST;
                round += 1;
                let profiles = (first..first + OBJECTS_PER_REQUEST).map(|k| {
                    UserAttributes::new(UserIdentifier::external_id(format!(
                        "rate-{:05}",
                        k % PROFILES
                    )))
                    .with_custom("bench_round", round as u64)
                });
                calls.made.fetch_add(1, Ordering::Relaxed);
                match braze.track().attributes(profiles).send().await {
                    Ok(report) => {
                        for chunk in &report.failed_chunks {
                            calls.failed(&chunk.error);
                        }
                    }
                    Err(error) => calls.failed(&error),
                }
            }
        }
    });
    futures::future::join_all(senders).await;

    let log = admin
        .request_log(Some(Api::Braze), log_capacity)
        .await
        .map_err(admin_error)?;
    let track: Vec<_> = log.iter().filter(|r| r.route == "/users/track").collect();
    let start = track
        .first()
        .map(|r| r.at)
        .ok_or("the sandbox saw no track request")?;
    let offsets = |wanted: fn(u16) -> bool| {
        track
            .iter()
            .filter(move |r| wanted(r.status))
            .map(move |r| (r.at - start).num_microseconds().unwrap_or(0) as f64 / 1e6)
    };
    let seconds = plan.seconds as usize;
    Ok(Outcome {
        plan,
        accepted: series::per_second(offsets(|s| (200..300).contains(&s)), seconds),
        throttled: series::per_second(offsets(|s| s == 429), seconds),
        calls: calls.made.load(Ordering::Relaxed),
        sandbox_429s: track.iter().filter(|r| r.status == 429).count() as u64,
        client_429s: braze.throttles().total(),
        surfaced_429s: calls.surfaced_429s.load(Ordering::Relaxed),
        other_failures: calls.other_failures.load(Ordering::Relaxed),
    })
}

/// The Braze client as every function builds it (relay-core's configuration), at L a second.
async fn client(sandbox: &sandbox::StartInfo, limit: u32) -> Result<BrazeClient, String> {
    let vars: std::collections::HashMap<String, String> = [
        ("BRAZE_REST_ENDPOINT", sandbox.braze.clone()),
        ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true".to_owned()),
        ("BRAZE_API_KEY", sandbox.braze_key.clone()),
        ("BRAZE_TRACK_RATE", limit.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = VendorConfig::braze_from_env(
        &Env::from_map(vars.clone()),
        &SecretResolver::from_env_map(vars),
    )
    .await
    .map_err(|e| format!("the Braze configuration: {e}"))?;
    BrazeClient::new(config, http_client(HttpTimeouts::default()))
        .map_err(|e| format!("the Braze client: {e}"))
}
