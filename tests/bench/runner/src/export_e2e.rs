//! End to end on moto + the sandbox with Userflow's rate known: the sandbox's Userflow limits
//! `POST /users` to R per 1 s window and the relay's `USERFLOW_RATE` is R. The export files
//! (5,000 users each) are written straight into the export bucket by the sandbox's synthetic
//! route, a `requested` manifest names the export, its signed callback goes through
//! export-callback as an API Gateway event, and sync-worker's `handle_messages` drains the
//! sync queue as Lambda's event source mapping would: up to [`INVOCATIONS`] concurrent
//! invocations of up to 10 messages, sharing one `Deps` (one Userflow limiter: one instance).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Context, LambdaEvent};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{s3_client, sqs_client};
use relay_core::env::Env;
use relay_core::export::callback::CallbackSigner;
use relay_core::export::manifest::{ExportState, JobId, Manifests};
use relay_core::export::progress::FileCounts;
use relay_core::export::status::export_status;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use relay_lambda::http_edge::{EdgeError, answer};
use relay_lambda::problem::Problem;
use relay_tests::exports::{callback_event, query_of};
use relay_tests::sqs::lambda_message;
use sandbox::{Api, Bucket, ExportFormat, ExportStorage, RateLimit, SyntheticExport};
use secrecy::SecretString;
use serde_json::Value;
use tokio::time::Instant;

use crate::export_setup::{CALLBACK_SECRET, create_manifest, relay_env};
use crate::stack::Stack;

/// Concurrent sync-worker invocations sharing one `Deps`.
pub const INVOCATIONS: usize = 4;
/// Messages per invocation (SQS's most per receive).
pub const BATCH: i32 = 10;
/// Each invocation's time budget (sync-worker's `SYNC_MAX_BATCH_MS` default).
pub const BUDGET: Duration = Duration::from_secs(60);
/// Users per export file, as Braze writes them.
pub const USERS_PER_FILE: usize = 5_000;
/// The goal: achieved Userflow rate at least this fraction of R.
pub const RATE_GOAL: f64 = 0.9;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Users exported.
    pub users: usize,
    /// R: Userflow's limit per second and the relay's `USERFLOW_RATE`.
    pub rate: u32,
    /// The sync queue's visibility timeout: how long a message handed back (a batch item
    /// failure) stays hidden. Lambda needs at least the function's timeout.
    pub visibility_secs: u32,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// Files written.
    pub files: usize,
    /// Writing the files (sandbox generator into moto), seconds.
    pub write_seconds: f64,
    /// The callback's answer (export-callback), milliseconds.
    pub callback_ms: f64,
    /// First upsert seen by the sandbox to the manifest's `completed`, seconds.
    pub elapsed: f64,
    /// Userflow `POST /users` answered 2xx.
    pub posts_ok: u64,
    /// Userflow `POST /users`, every status.
    pub posts_all: u64,
    /// Userflow `POST /users` answered 429.
    pub posts_429: u64,
    /// Sync-worker invocations.
    pub invocations: usize,
    /// Batch item failures returned (messages SQS would redeliver).
    pub item_failures: usize,
    /// The manifest's final state.
    pub state: ExportState,
    /// The job's counts.
    pub counts: FileCounts,
    /// Whether the bench gave up waiting before the job ended (the counts are then partial).
    pub timed_out: bool,
    /// Files done.
    pub files_done: usize,
    /// Files failed.
    pub files_failed: usize,
}

impl Outcome {
    /// Users generated and not accounted for (neither upserted, nor skipped for want of an
    /// external id, nor a duplicate), plus lines rejected: what 429s could have left behind
    /// (goal 0). Counted against the users generated, not the job's `users`: a line read
    /// but not finished before an invocation stops is counted again when its file resumes.
    pub fn unhandled(&self) -> u64 {
        let accounted = self.counts.upserted + self.counts.skipped + self.counts.duplicates;
        (self.plan.users as u64).saturating_sub(accounted) + self.counts.rejected
    }

    /// Accepted upserts per second over [`Outcome::elapsed`].
    pub fn achieved_rate(&self) -> f64 {
        self.posts_ok as f64 / self.elapsed.max(f64::EPSILON)
    }
}

fn sandbox_error(e: impl std::fmt::Display) -> String {
    format!("sandbox: {e}")
}

/// Runs the whole pipeline once.
pub async fn measure(stack: &Stack, plan: Plan) -> Result<Outcome, String> {
    let admin = stack.sandbox.admin();
    let sdk = stack.moto.sdk_config().await;
    let export_bucket = stack.moto.create_bucket("relay-bench-e2e-exports").await;
    let queue_url = stack.moto.create_queue("relay-bench-e2e-sync").await;
    admin
        .set_export_storage(&ExportStorage {
            bucket: export_bucket.clone(),
            endpoint: Some(stack.moto.endpoint().to_owned()),
            region: relay_tests::TEST_REGION.to_owned(),
        })
        .await
        .map_err(sandbox_error)?;
    admin
        .set_rate_limit(
            Bucket::Userflow,
            Some(RateLimit {
                limit: u64::from(plan.rate),
                window_secs: 1,
            }),
        )
        .await
        .map_err(sandbox_error)?;
    let vars = relay_env(stack, &export_bucket, &queue_url, plan.rate);
    let env = Env::from_map(vars.clone());
    let secrets = SecretResolver::from_env_map(vars);
    let state = S3Store::new(s3_client(&sdk), stack.bucket.clone());
    let worker = sync_worker::Config::from_env(&env, &secrets)
        .await
        .map_err(|e| format!("sync-worker configuration: {e}"))?
        .into_deps(
            http_client(HttpTimeouts::default()),
            S3Store::new(s3_client(&sdk), stack.bucket.clone()),
            SqsQueue::new(sqs_client(&sdk), queue_url.clone()),
            s3_client(&sdk),
            |url| SqsQueue::new(sqs_client(&sdk), url),
        )
        .map_err(|e| format!("sync-worker deps: {e}"))?;
    let callback = export_callback::Config::from_env(&env, &secrets)
        .await
        .map_err(|e| format!("export-callback configuration: {e}"))?
        .into_deps(
            S3Store::new(s3_client(&sdk), stack.bucket.clone()),
            S3Store::new(s3_client(&sdk), export_bucket.clone()),
            SqsQueue::new(sqs_client(&sdk), queue_url.clone()),
        );

    eprintln!(
        "relay-bench: export end to end: writing {} users ({} per file) into moto",
        plan.users, USERS_PER_FILE
    );
    let started = std::time::Instant::now();
    let written = admin
        .synthetic_export(&SyntheticExport {
            segment_id: "bench-e2e".into(),
            users: plan.users,
            users_per_file: USERS_PER_FILE,
            output_format: ExportFormat::Zip,
            seed: 5,
            members_per_zip: 1,
            callback_endpoint: None,
        })
        .await
        .map_err(sandbox_error)?;
    let write_seconds = started.elapsed().as_secs_f64();
    let job = create_manifest(&state, "bench-e2e", &written.object_prefix, Vec::new()).await?;

    // Braze's callback, through export-callback as API Gateway delivers it.
    admin.reset_requests().await.map_err(sandbox_error)?;
    let signer = CallbackSigner::new(SecretString::from(CALLBACK_SECRET));
    let url = signer.url(
        "https://relay.bench.example.com/braze/export-callback",
        &job,
        Utc::now() + chrono::Duration::hours(1),
    );
    let started = std::time::Instant::now();
    let answered = answer(
        LambdaEvent::new(
            callback_event(query_of(&url), r#"{"success":true}"#),
            Context::default(),
        ),
        &|request| export_callback::handler(&callback, request),
        &|error: &EdgeError| Problem::from(error).into_response(),
    )
    .await
    .map_err(|e| format!("export-callback: {e}"))?;
    let callback_ms = started.elapsed().as_secs_f64() * 1e3;
    let body = match &answered.body {
        Some(Body::Text(text)) => serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    if answered.status_code != 200 || body["outcome"] != "dispatched" {
        return Err(format!(
            "export-callback answered {}: {body}",
            answered.status_code
        ));
    }
    if body["files"].as_u64() != Some(written.files.len() as u64) {
        return Err(format!(
            "export-callback dispatched {} files, {} were written",
            body["files"],
            written.files.len()
        ));
    }

    eprintln!(
        "relay-bench: export end to end: draining {} files with up to {INVOCATIONS} concurrent \
         invocations, Userflow at {}/s",
        written.files.len(),
        plan.rate
    );
    let give_up = Instant::now()
        + Duration::from_secs(120 + 3 * (plan.users as u64 / u64::from(plan.rate.max(1))));
    let done = AtomicBool::new(false);
    let first_upsert = first_upsert(stack, &done);
    let invocations = futures::future::join_all((0..INVOCATIONS).map(|_| {
        invoke_until_done(
            stack,
            &worker,
            (&state, &queue_url, &job),
            plan.visibility_secs,
            &done,
            give_up,
        )
    }));
    let (first, runs) = tokio::join!(first_upsert, invocations);
    let mut totals = (0usize, 0usize);
    for run in runs {
        let (invocations, failures) = run?;
        totals.0 += invocations;
        totals.1 += failures;
    }
    let first = first.ok_or("the sandbox saw no Userflow upsert")?;
    let status = export_status(&state, &job)
        .await
        .map_err(|e| format!("status of {job}: {e}"))?
        .ok_or_else(|| format!("job {job} vanished"))?;
    let timed_out = !status.manifest.state.is_final();
    let completed_at: DateTime<Utc> = if timed_out {
        Utc::now()
    } else {
        status.manifest.updated_at
    };
    let elapsed = (completed_at - first)
        .to_std()
        .map_err(|_| "the job completed before its first upsert".to_owned())?
        .as_secs_f64();
    let count = |status: Option<u16>| admin.count(Api::Userflow, "POST", "/users", status);
    let posts_all = count(None).await.map_err(sandbox_error)?;
    let posts_429 = count(Some(429)).await.map_err(sandbox_error)?;
    let posts_ok = admin
        .request_counts(Some(Api::Userflow))
        .await
        .map_err(sandbox_error)?
        .iter()
        .filter(|c| c.method == "POST" && c.route == "/users" && (200..300).contains(&c.status))
        .map(|c| c.count)
        .sum();
    admin
        .set_rate_limit(Bucket::Userflow, None)
        .await
        .map_err(sandbox_error)?;
    Ok(Outcome {
        plan,
        files: written.files.len(),
        write_seconds,
        callback_ms,
        elapsed,
        posts_ok,
        posts_all,
        posts_429,
        invocations: totals.0,
        item_failures: totals.1,
        state: status.manifest.state,
        counts: status.counts,
        timed_out,
        files_done: status.files_done,
        files_failed: status.files_failed,
    })
}

/// When the sandbox first counts a Userflow `POST /users` (polled every 20 ms).
async fn first_upsert(stack: &Stack, done: &AtomicBool) -> Option<DateTime<Utc>> {
    let admin = stack.sandbox.admin();
    while !done.load(Ordering::SeqCst) {
        if admin
            .count(Api::Userflow, "POST", "/users", None)
            .await
            .is_ok_and(|n| n > 0)
        {
            return Some(Utc::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// One concurrent "Lambda invocation" slot: receive a batch, `handle_messages` with
/// [`BUDGET`], delete what it acknowledged; until the job is final. Returns (invocations,
/// batch item failures).
async fn invoke_until_done(
    stack: &Stack,
    worker: &sync_worker::Deps<S3Store, SqsQueue>,
    (state, queue_url, job): (&S3Store, &str, &JobId),
    visibility_secs: u32,
    done: &AtomicBool,
    give_up: Instant,
) -> Result<(usize, usize), String> {
    let sqs = stack.moto.sqs_client().await;
    let mut invocations = 0;
    let mut failures = 0;
    while !done.load(Ordering::SeqCst) {
        if Instant::now() > give_up {
            done.store(true, Ordering::SeqCst);
            break;
        }
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(BATCH)
            .visibility_timeout(i32::try_from(visibility_secs).unwrap_or(i32::MAX))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| format!("receiving from the sync queue: {e:?}"))?;
        let messages: Vec<SqsMessage> = received.messages().iter().map(lambda_message).collect();
        if !messages.is_empty() {
            invocations += 1;
            let response =
                sync_worker::handle_messages(worker, &messages, Instant::now() + BUDGET).await;
            let failed: BTreeSet<&str> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            failures += failed.len();
            for message in &messages {
                let id = message.message_id.as_deref().unwrap_or("");
                if failed.contains(id) {
                    continue;
                }
                if let Some(handle) = &message.receipt_handle {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(|e| format!("deleting a message: {e:?}"))?;
                }
            }
        }
        let manifest = Manifests::new(state)
            .load(job)
            .await
            .map_err(|e| format!("manifest of {job}: {e}"))?;
        if manifest.is_some_and(|m| m.state.is_final()) {
            done.store(true, Ordering::SeqCst);
        }
    }
    Ok((invocations, failures))
}
