//! Signup load: N signed one-contact signup webhooks (the four CRM sources in turn) at a
//! fixed concurrency against `relay local`, the release binary, through its API Gateway
//! emulation; throughput, latency, every answer's status, the peak memory of `relay local`
//! and of its moto, and every contact in the sandbox's Braze and Userflow exactly once after
//! the queues drain (the run fails otherwise).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sandbox::Api;
use tokio::time::Instant;

use crate::delivered::{self, Delivery};
use crate::load_stack::LoadStack;
use crate::proc_memory::{Sampler, Trace};
use crate::signups::{SOURCES, Sender, Tally};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Signups, one contact each.
    pub signups: usize,
    /// Requests in flight.
    pub concurrency: usize,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// Every answer (the first one per source included).
    pub tally: Tally,
    /// The concurrent phase: first request sent to last answer, seconds.
    pub wall_secs: f64,
    /// Signups sent in the concurrent phase.
    pub timed: usize,
    /// Last answer to every contact delivered, seconds.
    pub drain_secs: f64,
    /// What the sandbox holds at the end.
    pub delivery: Delivery,
    /// `relay local`'s memory.
    pub relay: Trace,
    /// moto's memory.
    pub moto: Option<Trace>,
    /// Braze and Userflow answers 429 (the sandbox's limits at work).
    pub throttled: u64,
    /// Braze `/users/track` and Userflow requests the sandbox answered.
    pub upstream_requests: (u64, u64),
}

/// How often memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Runs the plan against a fresh stack started from `binary`.
pub async fn measure(binary: &Path, plan: Plan) -> Result<Outcome, String> {
    let stack = LoadStack::start(binary, "signup-load").await?;
    let result = run(&stack, plan).await;
    let stopped = stack.stop().await;
    let outcome = result?;
    stopped?;
    if !outcome.delivery.complete() {
        return Err(format!(
            "signup-load lost contacts: {}",
            outcome.delivery.summary()
        ));
    }
    Ok(outcome)
}

async fn run(stack: &LoadStack, plan: Plan) -> Result<Outcome, String> {
    let relay_pid = stack.relay.pid();
    let moto_pid = stack.relay.info.moto_pid;
    let relay_memory = Sampler::start(relay_pid, SAMPLE_EVERY);
    let moto_memory = moto_pid.map(|pid| Sampler::start(pid, SAMPLE_EVERY));
    let mut tally = Tally::default();
    stack.check_each_source(&mut tally).await?;

    eprintln!(
        "relay-bench: signup-load: {} signups at concurrency {}",
        plan.signups, plan.concurrency
    );
    let next = Arc::new(AtomicUsize::new(SOURCES.len()));
    let started = Instant::now();
    let workers = (0..plan.concurrency).map(|_| {
        let next = Arc::clone(&next);
        let sender = &stack.sender;
        async move {
            let mut tally = Tally::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= plan.signups {
                    return Ok::<Tally, String>(tally);
                }
                tally.add(n, sender.send(n).await?);
            }
        }
    });
    for worker in futures::future::join_all(workers).await {
        tally.merge(worker?);
    }
    let wall_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "relay-bench: signup-load: sent in {wall_secs:.1} s ({} not 2xx); waiting for delivery",
        tally.non_2xx()
    );

    let admin = stack.admin();
    let ids: Vec<String> = (0..plan.signups).map(|n| Sender::contact(n).1).collect();
    let timeout = Duration::from_secs(300 + plan.signups as u64 / 50);
    let (delivery, drain) = delivered::wait(&admin, &ids, timeout).await?;
    let relay = relay_memory.stop(relay_pid);
    let moto = moto_memory.zip(moto_pid).map(|(s, pid)| s.stop(pid));
    let counts = admin
        .request_counts(None)
        .await
        .map_err(|e| format!("sandbox admin API: {e}"))?;
    let sum = |keep: &dyn Fn(&sandbox::RequestCount) -> bool| -> u64 {
        counts.iter().filter(|c| keep(c)).map(|c| c.count).sum()
    };
    Ok(Outcome {
        plan,
        tally,
        wall_secs,
        timed: plan.signups.saturating_sub(SOURCES.len()),
        drain_secs: drain.as_secs_f64(),
        delivery,
        relay,
        moto,
        throttled: sum(&|c| c.status == 429),
        upstream_requests: (
            sum(&|c| c.api == Api::Braze && c.route == "/users/track"),
            sum(&|c| c.api == Api::Userflow),
        ),
    })
}
