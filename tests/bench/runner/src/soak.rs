//! Soak: `relay local` (the release binary) for a long while with a steady trickle of signups
//! and a fault injected into the sandbox every minute (a Braze 503 storm with HTML bodies, a
//! Braze 429 storm, slow Userflow answers, in turn), `relay local`'s RSS sampled every second.
//! Memory should stay flat: the slope over the second half is what is reported. Once the
//! trickle stops and the last fault is lifted, every contact must be delivered exactly once.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use sandbox::{Api, FaultKind, FaultRule};
use tokio::time::Instant;

use crate::delivered::{self, Delivery};
use crate::load_stack::LoadStack;
use crate::proc_memory::{Sampler, Trace};
use crate::series;
use crate::signups::{SOURCES, Sender, Tally};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// How long the trickle runs, seconds.
    pub seconds: u64,
    /// Signups per second.
    pub rate: u32,
}

/// A fault is injected every this many seconds (the first after one period).
pub const FAULT_EVERY_SECS: u64 = 60;
/// Each fault lasts this long.
pub const FAULT_SECS: u64 = 10;
/// How often RSS is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// One fault window, seconds since the trickle started.
#[derive(Debug, Clone)]
pub struct FaultWindow {
    /// What it was.
    pub kind: &'static str,
    /// When it was injected.
    pub from: f64,
    /// When it was lifted.
    pub to: f64,
    /// Requests it fired on.
    pub fired: u64,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// Signups sent.
    pub sent: usize,
    /// Every answer.
    pub tally: Tally,
    /// The faults, in order.
    pub faults: Vec<FaultWindow>,
    /// `relay local`'s memory from the first signup to the end of the drain.
    pub relay: Trace,
    /// Seconds from the end of the trickle until every contact was delivered.
    pub drain_secs: f64,
    /// What the sandbox holds at the end.
    pub delivery: Delivery,
}

impl Outcome {
    /// The RSS samples taken while the trickle ran.
    pub fn trickle_samples(&self) -> Vec<(f64, f64)> {
        let end = self.plan.seconds as f64;
        self.relay
            .rss_mib
            .iter()
            .copied()
            .filter(|s| s.0 <= end)
            .collect()
    }

    /// Least-squares RSS slope over the trickle's second half, MiB per minute.
    pub fn slope_mib_per_minute(&self) -> Option<f64> {
        series::slope(series::second_half(&self.trickle_samples())).map(|s| s * 60.0)
    }
}

/// The fault injected at the `n`th period (1-based), in turn.
fn fault(n: u64) -> (&'static str, FaultRule) {
    match n % 3 {
        1 => (
            "Braze 503 (HTML)",
            FaultRule::new(
                Api::Braze,
                "POST",
                "/users/track",
                FaultKind::status(503, true),
            ),
        ),
        2 => (
            "Braze 429",
            FaultRule::new(
                Api::Braze,
                "POST",
                "/users/track",
                FaultKind::Throttle { retry_after: 2 },
            ),
        ),
        _ => (
            "Userflow +3 s",
            FaultRule::new(Api::Userflow, "*", "*", FaultKind::Latency { ms: 3_000 }),
        ),
    }
}

/// Runs the plan against a fresh stack started from `binary`.
pub async fn measure(binary: &Path, plan: Plan) -> Result<Outcome, String> {
    let stack = LoadStack::start(binary, "soak").await?;
    let result = run(&stack, plan).await;
    let _ = stack.admin().clear_faults().await;
    let stopped = stack.stop().await;
    let outcome = result?;
    stopped?;
    if !outcome.delivery.complete() {
        return Err(format!(
            "the soak lost contacts: {}",
            outcome.delivery.summary()
        ));
    }
    Ok(outcome)
}

async fn run(stack: &LoadStack, plan: Plan) -> Result<Outcome, String> {
    let relay_pid = stack.relay.pid();
    let mut tally = Tally::default();
    stack.check_each_source(&mut tally).await?;
    eprintln!(
        "relay-bench: soak: {} signups/s for {} s, a {FAULT_SECS} s fault every {FAULT_EVERY_SECS} s",
        plan.rate, plan.seconds
    );
    let memory = Sampler::start(relay_pid, SAMPLE_EVERY);
    let started = Instant::now();
    let faults = faults(stack, plan, started);
    let (trickle, faults) = tokio::join!(trickle(&stack.sender, plan, started), faults);
    let (sent, trickle_tally) = trickle?;
    tally.merge(trickle_tally);
    let faults = faults?;
    let trickle_end = Instant::now();
    eprintln!(
        "relay-bench: soak: {sent} signups sent ({} not 2xx); waiting for delivery",
        tally.non_2xx()
    );
    let ids: Vec<String> = (0..sent).map(|n| Sender::contact(n).1).collect();
    let (delivery, _) = delivered::wait(&stack.admin(), &ids, Duration::from_secs(600)).await?;
    let drain_secs = trickle_end.elapsed().as_secs_f64();
    Ok(Outcome {
        plan,
        sent,
        tally,
        faults,
        relay: memory.stop(relay_pid),
        drain_secs,
        delivery,
    })
}

/// Sends `plan.rate` signups a second (after the first one per source) until the plan's
/// time is up, without waiting for one answer before the next request; returns how many
/// were sent in all and their answers.
async fn trickle(sender: &Sender, plan: Plan, started: Instant) -> Result<(usize, Tally), String> {
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / plan.rate.max(1));
    let end = started + Duration::from_secs(plan.seconds);
    let mut in_flight = FuturesUnordered::new();
    let mut tally = Tally::default();
    let mut next = SOURCES.len();
    loop {
        tokio::select! {
            _ = ticks.tick(), if Instant::now() < end => {
                let n = next;
                next += 1;
                in_flight.push(async move { (n, sender.send(n).await) });
            }
            Some((n, sent)) = in_flight.next(), if !in_flight.is_empty() => tally.add(n, sent?),
            else => break,
        }
    }
    Ok((next, tally))
}

/// Injects [`fault`]s every [`FAULT_EVERY_SECS`] for [`FAULT_SECS`] each, while the trickle
/// runs, and returns their windows.
async fn faults(
    stack: &LoadStack,
    plan: Plan,
    started: Instant,
) -> Result<Vec<FaultWindow>, String> {
    let admin = stack.admin();
    let admin_error = |e: sandbox::AdminError| format!("sandbox admin API: {e}");
    let mut windows = Vec::new();
    let mut period = 1;
    while period * FAULT_EVERY_SECS + FAULT_SECS <= plan.seconds {
        tokio::time::sleep_until(started + Duration::from_secs(period * FAULT_EVERY_SECS)).await;
        let (kind, rule) = fault(period);
        let from = started.elapsed().as_secs_f64();
        let added = admin.add_fault(&rule).await.map_err(admin_error)?;
        tokio::time::sleep(Duration::from_secs(FAULT_SECS)).await;
        let fired = admin
            .faults()
            .await
            .map_err(admin_error)?
            .into_iter()
            .find(|f| f.id == added.id)
            .map_or(0, |f| f.fired);
        admin.remove_fault(&added.id).await.map_err(admin_error)?;
        windows.push(FaultWindow {
            kind,
            from,
            to: started.elapsed().as_secs_f64(),
            fired,
        });
        period += 1;
    }
    Ok(windows)
}
