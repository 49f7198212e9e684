//! GDPR erasure under the sandbox's default Braze limits: N erasures (half by external id,
//! half by email), each person with an email and every other one with an alias-only duplicate
//! sharing it, handed to the deletion-worker's `handle_messages` in batches of 10 in the order
//! `relay erase --file` would enqueue them (the external ids, then the emails), as Lambda's
//! event source mapping would ([`INVOCATIONS`] concurrent invocations, one `Deps`: one
//! instance, one limiter). A message reported as a batch item failure is handed out again.
//! The state bucket is on moto; SQS itself is left out (moto's SQS slows down with 10,000
//! messages queued, and a queue is not what is measured).
//!
//! The lower bound is what Braze's rules and limits allow: `/users/export/ids` takes 50
//! external ids per call but one email per call, and finding a person's alias-only
//! duplicates takes a lookup of their email, so the calls can be no fewer than
//! `ceil(by_id / 50) + by_id + by_email`; at 250 a minute (the sandbox's default, Braze's for
//! workspaces since 2024-08-22) they take at least `calls / 250` minutes. Deletes (50 per
//! call, 20,000 a minute) and Userflow (no limit in the sandbox) are not what bounds it.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::Utc;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::env::Env;
use relay_core::erasure::{ErasureRequest, RequestId, Subject};
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use relay_tests::erasure::{Person, seed_people};
use sandbox::Api;
use tokio::time::Instant;

use crate::stack::Stack;

/// Concurrent deletion-worker invocations sharing one `Deps`.
pub const INVOCATIONS: usize = 4;
/// The goal: wall time within this multiple of the lower bound.
pub const GOAL: f64 = 1.2;
/// Braze's `/users/export/ids` limit per minute (the sandbox's default).
pub const EXPORT_IDS_PER_MINUTE: f64 = 250.0;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Erasures; half by external id, half by email.
    pub erasures: usize,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// Erasures by external id.
    pub by_id: usize,
    /// Erasures by email.
    pub by_email: usize,
    /// Braze profiles seeded for the subjects.
    pub profiles: usize,
    /// First batch handed out to the last acknowledgement, seconds.
    pub elapsed: f64,
    /// `/users/export/ids` answered 2xx.
    pub lookups: u64,
    /// `/users/delete` answered 2xx.
    pub deletes: u64,
    /// Braze answers 429, any route.
    pub throttled: u64,
    /// Profiles Braze deleted, and identifiers named that matched none.
    pub deleted: u64,
    /// Identifiers a delete named that matched no profile (a repeated step).
    pub missed: u64,
    /// Userflow `DELETE /users/{id}` answered 2xx.
    pub userflow_deletes: u64,
    /// Invocations, and batch item failures returned.
    pub invocations: usize,
    /// Batch item failures returned.
    pub item_failures: usize,
}

impl Outcome {
    /// The fewest `/users/export/ids` calls the rules allow.
    pub fn lookups_bound(&self) -> u64 {
        (self.by_id.div_ceil(50) + self.by_id + self.by_email) as u64
    }

    /// The shortest time those calls take at Braze's limit, seconds.
    pub fn seconds_bound(&self) -> f64 {
        self.lookups_bound() as f64 / EXPORT_IDS_PER_MINUTE * 60.0
    }
}

fn sandbox_error(e: impl std::fmt::Display) -> String {
    format!("sandbox: {e}")
}

/// Runs the erasures once.
pub async fn measure(stack: &Stack, plan: Plan) -> Result<Outcome, String> {
    let admin = stack.sandbox.admin();
    // Default limits, nothing from the other benchmarks.
    admin.reset().await.map_err(sandbox_error)?;
    let by_id = plan.erasures / 2;
    let by_email = plan.erasures - by_id;
    let people: Vec<Person> = (0..plan.erasures)
        .map(|i| Person::new(&format!("erase-{i:06}"), i % 2))
        .collect();
    let profiles = people.iter().map(Person::profiles).sum();
    let mut vars = relay_tests::webhooks::relay_variables(stack.sandbox.info());
    vars.remove("UPSTREAM_RETRY_DEADLINE_MS");
    for (name, value) in [
        ("STATE_BUCKET", stack.bucket.clone()),
        ("USERFLOW_RATE", "5000".to_owned()),
        ("BRAZE_TRACK_RATE", "900".to_owned()),
        ("AWS_ENDPOINT_URL", stack.moto.endpoint().to_owned()),
        ("AWS_REGION", relay_tests::TEST_REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ] {
        vars.insert(name.to_owned(), value);
    }
    let env = Env::from_map(vars.clone());
    let secrets = SecretResolver::from_env_map(vars);
    let (braze, userflow) = relay_core::config::VendorConfig::from_env(&env, &secrets)
        .await
        .map_err(|e| e.to_string())?
        .clients(http_client(HttpTimeouts::default()))
        .map_err(|e| e.to_string())?;
    eprintln!(
        "relay-bench: erasure: seeding {} people ({profiles} Braze profiles)",
        people.len()
    );
    seed_people(&braze, &userflow, &people).await;

    let requested_at = Utc::now();
    // By id first, then by email, in the order the two files would be enqueued.
    let messages: VecDeque<SqsMessage> = people
        .iter()
        .enumerate()
        .map(|(i, person)| {
            let subject = if i < by_id {
                Subject::ExternalId(person.external_id.clone().unwrap_or_default())
            } else {
                Subject::Email(person.email.clone())
            };
            let body = ErasureRequest {
                request_id: RequestId::random(),
                subject,
                requested_at,
                origin: "relay-bench".into(),
            }
            .encode();
            serde_json::from_value(serde_json::json!({
                "messageId": format!("m-{i}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs",
            }))
            .expect("an SQS record")
        })
        .collect();
    let queue = Mutex::new(messages);
    let sdk = stack.moto.sdk_config().await;
    let eraser = deletion_worker::Config::from_env(&env, &secrets)
        .await
        .map_err(|e| format!("deletion-worker configuration: {e}"))?
        .into_deps(
            http_client(HttpTimeouts::default()),
            S3Store::new(relay_core::aws::s3_client(&sdk), stack.bucket.clone()),
            |_| S3Store::new(relay_core::aws::s3_client(&sdk), stack.bucket.clone()),
        )
        .map_err(|e| format!("deletion-worker deps: {e}"))?;
    admin.reset_requests().await.map_err(sandbox_error)?;
    eprintln!(
        "relay-bench: erasure: {} erasures ({by_id} by external id, {by_email} by email), \
         {INVOCATIONS} concurrent invocations; at least {:.1} min at Braze's limit",
        plan.erasures,
        (by_id.div_ceil(50) + by_id + by_email) as f64 / EXPORT_IDS_PER_MINUTE
    );
    let acked = AtomicUsize::new(0);
    let started = Instant::now();
    let give_up = started + Duration::from_secs(600 + (plan.erasures as u64) * 6 / 10);
    let runs = futures::future::join_all(
        (0..INVOCATIONS).map(|_| drain(&eraser, &queue, plan.erasures, &acked, give_up)),
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let (mut invocations, mut item_failures) = (0, 0);
    for run in runs {
        let (i, f) = run?;
        invocations += i;
        item_failures += f;
    }
    if acked.load(Ordering::SeqCst) < plan.erasures {
        return Err(format!(
            "only {} of {} erasures finished before the bench gave up",
            acked.load(Ordering::SeqCst),
            plan.erasures
        ));
    }
    let counts = admin.request_counts(None).await.map_err(sandbox_error)?;
    let sum = |api: Api, route: &str, ok: bool| -> u64 {
        counts
            .iter()
            .filter(|c| c.api == api && c.route == route && (200..300).contains(&c.status) == ok)
            .filter(|c| ok || c.status == 429)
            .map(|c| c.count)
            .sum()
    };
    let throttled = counts
        .iter()
        .filter(|c| c.api == Api::Braze && c.status == 429)
        .map(|c| c.count)
        .sum();
    let deletions = admin.braze_deletions().await.map_err(sandbox_error)?;
    Ok(Outcome {
        plan,
        by_id,
        by_email,
        profiles,
        elapsed,
        lookups: sum(Api::Braze, "/users/export/ids", true),
        deletes: sum(Api::Braze, "/users/delete", true),
        throttled,
        deleted: deletions.deleted,
        missed: deletions.missed,
        userflow_deletes: sum(Api::Userflow, "/users/{id}", true),
        invocations,
        item_failures,
    })
}

/// One concurrent "Lambda invocation" slot: take up to 10 messages, `handle_messages`, put
/// back what it reported as failed; until every erasure is acknowledged. Returns
/// (invocations, batch item failures).
async fn drain(
    eraser: &deletion_worker::Deps<S3Store, S3Store>,
    queue: &Mutex<VecDeque<SqsMessage>>,
    total: usize,
    acked: &AtomicUsize,
    give_up: Instant,
) -> Result<(usize, usize), String> {
    let (mut invocations, mut failures) = (0, 0);
    while acked.load(Ordering::SeqCst) < total && Instant::now() < give_up {
        let batch: Vec<SqsMessage> = {
            let mut queue = queue.lock().expect("queue lock");
            let take = queue.len().min(10);
            queue.drain(..take).collect()
        };
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        invocations += 1;
        let response = deletion_worker::handle_messages(
            eraser,
            &batch,
            Instant::now() + Duration::from_secs(600),
        )
        .await;
        failures += response.batch_item_failures.len();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let (again, done): (Vec<SqsMessage>, Vec<SqsMessage>) = batch
            .into_iter()
            .partition(|m| failed.contains(&m.message_id.as_deref().unwrap_or_default()));
        acked.fetch_add(done.len(), Ordering::SeqCst);
        queue.lock().expect("queue lock").extend(again);
    }
    Ok((invocations, failures))
}

/// The report's section.
pub fn render(w: &mut String, outcome: &Outcome, command: &str) {
    let ratio = outcome.elapsed / outcome.seconds_bound();
    let verdict = if ratio <= GOAL { "PASS" } else { "MISS" };
    let _ = writeln!(
        w,
        "\n## GDPR erasure under Braze's default limits\n\n\
         `{command}`\n\n\
         {n} erasures ({by_id} by external id, {by_email} by email; {profiles} Braze \
         profiles, every other person with an alias-only duplicate sharing the email), \
         handed out by external id then by email to {INVOCATIONS} concurrent \
         deletion-worker invocations of up to 10 messages sharing one limiter (SQS event \
         JSON; the state bucket on moto), against the \
         sandbox's default limits (`/users/export/ids` 250 per minute) and the relay's default \
         `BRAZE_EXPORT_IDS_PER_MINUTE` (250: at most 250 in any minute, 236/min after a burst \
         of 7). Lower bound: `ceil(by_id / 50) + by_id + by_email` lookups (an email per call; \
         each person's email looked up to find duplicates) at 250 per minute.\n\n\
         | figure | measured | lower bound |\n| --- | ---: | ---: |\n\
         | `/users/export/ids` calls | {lookups} | {lookups_bound} |\n\
         | wall time (first batch to last acknowledgement) | {elapsed:.0} s | {bound:.0} s |\n\
         | **wall time / lower bound** (goal <= {GOAL}) | **{ratio:.3}x {verdict}** | |\n\
         | `/users/delete` calls (50 per call at most) | {deletes} | {deletes_bound} |\n\
         | Braze 429 answers | {throttled} | 0 |\n\
         | profiles deleted / deletes naming a gone profile | {deleted} / {missed} | {profiles} / 0 |\n\
         | Userflow users deleted | {userflow} | {n} |\n\
         | invocations / batch item failures | {invocations} / {failures} | |",
        n = outcome.plan.erasures,
        by_id = outcome.by_id,
        by_email = outcome.by_email,
        profiles = outcome.profiles,
        lookups = outcome.lookups,
        lookups_bound = outcome.lookups_bound(),
        elapsed = outcome.elapsed,
        bound = outcome.seconds_bound(),
        deletes = outcome.deletes,
        deletes_bound = outcome.profiles.div_ceil(50),
        throttled = outcome.throttled,
        deleted = outcome.deleted,
        missed = outcome.missed,
        userflow = outcome.userflow_deletes,
        invocations = outcome.invocations,
        failures = outcome.item_failures,
    );
}
