//! One cell, start to end: a fresh stack, the workload sent while the fault lasts, the fault
//! lifted, the queues drained, then every input looked for.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_core::delivery::{SignupEventMarker, signup_event_marker_key};
use relay_core::erasure::RequestId;
use relay_core::erasure::status::{ErasureStatus, erasure_status};
use relay_core::export::manifest::JobId;
use relay_core::export::status::export_status;
use relay_core::queue::dead_letters::{DeadLetterQueue, queue_depth};
use relay_core::store::{ObjectStore, S3Store};
use sandbox::{
    AdminClient, Api, BrazeUserQuery, ExportSettingsPatch, FaultKind, FaultRule, SeedSegment,
};
use serde_json::Value;
use tokio::sync::RwLock;

use super::cell::Cell;
use super::crm;
use super::reconcile::{
    ErasureObserved, ErasureTally, ExportObserved, ExportTally, SignupInputs, SignupObserved,
    SignupTally,
};
use super::report::Row;
use super::stack::{ChaosStack, Polling};
use super::workload::{self, Workload};
use crate::demo::cli::RelayCommands;
use crate::demo::signals::StopSignals;
use crate::{CliError, Settings};

/// The segment whose members the erasure requests name.
const ERASE_SEGMENT: &str = "chaos-erase";
/// The segment exported.
const EXPORT_SEGMENT: &str = "chaos-export";
/// Times the operator runs `relay export start` before giving up.
const EXPORT_START_ATTEMPTS: usize = 20;
/// The event the relay sends once per new user.
const SIGNUP_EVENT: &str = relay_core::delivery::DEFAULT_SIGNUP_EVENT_NAME;

/// What a cell is run with.
pub struct CellPlan<'a> {
    /// The cell.
    pub cell: Cell,
    /// Seeds the fault rules and the sandbox's users.
    pub seed: u64,
    /// The workload.
    pub workload: Workload,
    /// The `relay` binary.
    pub relay_exe: &'a Path,
    /// The cell's folder (settings, `relay local`'s logs).
    pub dir: &'a Path,
    /// The caller's settings (`PATH`, `RELAY_PYTHON`).
    pub caller: &'a Settings,
    /// How long the queues may take to drain once the fault is lifted.
    pub drain_limit: Duration,
}

/// Plays one cell on a stack of its own and reconciles it.
pub async fn play(plan: &CellPlan<'_>, signals: &mut StopSignals) -> Result<Row, CliError> {
    let started = Instant::now();
    // The deleted-file cell needs a gap between the callback and the worker's read: the
    // poller gathers for 3 s (under the visibility timeout, as Lambda requires).
    let gap = plan.cell == Cell::ExportFileDeleted;
    let polling = Polling {
        visibility_secs: if gap { 6 } else { 3 },
        max_receive_count: 10,
        batch_window_ms: if gap { 3_000 } else { 0 },
    };
    let mut stack =
        ChaosStack::start(plan.relay_exe, plan.dir, plan.caller, polling, signals).await?;
    let played = run_on(plan, &mut stack, signals).await;
    stack.stop().await;
    let mut row = played?;
    row.seconds = started.elapsed().as_secs();
    Ok(row)
}

async fn run_on(
    plan: &CellPlan<'_>,
    stack: &mut ChaosStack,
    signals: &mut StopSignals,
) -> Result<Row, CliError> {
    let admin = stack.admin();
    let workload = plan.workload;
    let subjects = seed_sandbox(&admin, plan).await?;
    let settings = Settings::load(Some(&stack.env_file), &[])?;
    let relay = RelayCommands::new(plan.relay_exe.to_path_buf(), stack.env_file.clone());
    let source = crm::source(&settings).await?;
    let prefix = workload::id_prefix(plan.cell.name(), plan.seed);
    let (batches, inputs) = workload::signups(&workload, &prefix);
    let gateway = Arc::new(RwLock::new(stack.info.webhooks.clone()));

    for rule in plan.cell.rules(plan.seed) {
        admin.add_fault(&rule).await.map_err(admin_error)?;
    }
    if plan.cell == Cell::ExportFileDeleted {
        stack.proxy().delete_after_next_callback();
    }
    let erasures = enqueue_erasures(&relay, &subjects, plan.dir).await?;
    let (job, export_attempts) = start_export(&relay).await?;
    if plan.cell == Cell::MotoStopped {
        // Braze's callback is sent once: let it through before S3 and SQS stop.
        wait_for_callback(&admin).await?;
        stack.stop_moto(true)?;
    }
    if plan.cell == Cell::PollerKilled {
        // Everything parks first, so the sync-worker has batches to be killed in.
        let down = FaultRule::new(Api::Braze, "*", "*", FaultKind::status(503, true));
        admin.add_fault(&down).await.map_err(admin_error)?;
    }
    let sending = crm::send_all(
        &source,
        Arc::clone(&gateway),
        batches,
        workload.senders,
        workload.window,
    );
    // The fault ends with the window, whether or not the CRM is still retrying.
    let lift = async {
        tokio::time::sleep(workload.window).await;
        let cleared = admin.clear_faults().await.map_err(admin_error);
        stack.stop_moto(false).and(cleared)
    };
    let (sent, lifted) = tokio::join!(sending, lift);
    let sent = sent?;
    lifted?;
    if plan.cell == Cell::PollerKilled {
        kill_mid_batch(stack, &admin, signals).await?;
        *gateway.write().await = stack.info.webhooks.clone();
    }

    let drained = drain(stack, &job, plan.drain_limit).await?;
    let signups =
        observe_signups(stack, &admin, &inputs, sent.not_acknowledged, sent.rejected).await?;
    let requested: Vec<String> = erasures.iter().map(|(id, _)| id.clone()).collect();
    let erasures = observe_erasures(stack, &admin, &erasures).await?;
    let export = observe_export(stack, &admin, &job).await?;
    let mut notes = vec![format!(
        "{} requests, {} CRM retries, export started on attempt {export_attempts}",
        sent.requests, sent.retries
    )];
    if !drained {
        notes.push(format!(
            "not drained within {} s",
            plan.drain_limit.as_secs()
        ));
    }
    let deleted = stack.proxy().deleted();
    if plan.cell == Cell::ExportFileDeleted {
        notes.push(format!("deleted {}", deleted.len()));
    }
    Ok(Row::new(
        plan.cell,
        plan.cell.fault(workload.window),
        SignupTally::of(&inputs, &signups),
        ErasureTally::of(&requested, &erasures),
        ExportTally::of(&export),
        notes,
    )
    .require_deleted(plan.cell == Cell::ExportFileDeleted, deleted.len()))
}

/// Seeds the erasure subjects and the export segment; the subjects' external ids.
async fn seed_sandbox(admin: &AdminClient, plan: &CellPlan<'_>) -> Result<Vec<String>, CliError> {
    let workload = plan.workload;
    let segment = |id: &str, count| SeedSegment {
        seed: plan.seed,
        ..SeedSegment::new(id, count)
    };
    admin
        .seed_segment(&segment(ERASE_SEGMENT, workload.erasures * 2))
        .await
        .map_err(admin_error)?;
    admin
        .seed_segment(&segment(EXPORT_SEGMENT, workload.export_users))
        .await
        .map_err(admin_error)?;
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(workload.users_per_file),
            ..ExportSettingsPatch::default()
        })
        .await
        .map_err(admin_error)?;
    let erase_prefix = format!("{ERASE_SEGMENT}-");
    let subjects: Vec<String> = admin
        .braze_users(&BrazeUserQuery::default())
        .await
        .map_err(admin_error)?
        .users
        .into_iter()
        .filter_map(|profile| profile.external_id)
        .filter(|id| id.starts_with(&erase_prefix))
        .take(workload.erasures)
        .collect();
    if subjects.len() < workload.erasures {
        return Err(CliError::failed(format!(
            "the sandbox seeded {} erasure subjects, {} wanted",
            subjects.len(),
            workload.erasures
        )));
    }
    Ok(subjects)
}

/// `relay erase --file`: one request per subject; (request id, subject) pairs.
async fn enqueue_erasures(
    relay: &RelayCommands,
    subjects: &[String],
    dir: &Path,
) -> Result<Vec<(String, String)>, CliError> {
    let file = dir.join("erasures.txt");
    std::fs::write(&file, subjects.join("\n") + "\n")
        .map_err(|error| CliError::failed(format!("cannot write {}: {error}", file.display())))?;
    let file = file.to_string_lossy().into_owned();
    let answer = relay
        .run(&["erase", "--file", &file, "--origin", "relay chaos"])
        .await?;
    let requests: Vec<(String, String)> = answer
        .document
        .pointer("/requests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["request_id"].as_str().map(str::to_owned))
        .zip(subjects.iter().cloned())
        .collect();
    if answer.code != 0 || requests.len() != subjects.len() {
        return Err(CliError::failed(format!(
            "relay erase exited {} with {} of {} request ids",
            answer.code,
            requests.len(),
            subjects.len()
        )));
    }
    Ok(requests)
}

/// `relay export start`, as an operator runs it: again when it fails (Braze refusing is the
/// fault some cells inject), at most [`EXPORT_START_ATTEMPTS`] times. The job id, and the
/// attempts it took.
async fn start_export(relay: &RelayCommands) -> Result<(String, usize), CliError> {
    let mut last = String::new();
    for attempt in 1..=EXPORT_START_ATTEMPTS {
        let answer = relay
            .run(&["export", "start", "--segment", EXPORT_SEGMENT])
            .await?;
        match answer.document.pointer("/job").and_then(Value::as_str) {
            Some(job) if answer.code == 0 => return Ok((job.to_owned(), attempt)),
            _ => last = format!("exit {}: {}", answer.code, answer.document),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(CliError::failed(format!(
        "relay export start failed {EXPORT_START_ATTEMPTS} times, the last: {last}"
    )))
}

/// Waits until the sandbox's export has called back (at most 30 s).
async fn wait_for_callback(admin: &AdminClient) -> Result<(), CliError> {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let exports = admin.exports().await.map_err(admin_error)?;
        if exports
            .iter()
            .any(|e| e.callback_status.is_some() || e.error.is_some())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(CliError::failed("the sandbox's export never called back"))
}

/// Braze slowed so the sync-worker's batches take seconds; once one is in flight, `relay
/// local` is killed and started again.
async fn kill_mid_batch(
    stack: &mut ChaosStack,
    admin: &AdminClient,
    signals: &mut StopSignals,
) -> Result<(), CliError> {
    admin
        .add_fault(&FaultRule::new(
            Api::Braze,
            "*",
            "*",
            FaultKind::Latency { ms: 2_000 },
        ))
        .await
        .map_err(admin_error)?;
    let sqs = relay_core::aws::sqs_client(&stack.sdk);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let depth = queue_depth(&sqs, &stack.info.sync_queue_url)
            .await
            .map_err(|error| CliError::failed(format!("cannot read the sync queue: {error}")))?;
        if depth.in_flight > 0 {
            break;
        }
        if Instant::now() > until {
            return Err(CliError::failed("no sync-worker batch was ever in flight"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.kill_relay().await?;
    admin.clear_faults().await.map_err(admin_error)?;
    stack.restart_relay(signals).await
}

/// Waits until both queues hold nothing (visible or in flight) and the export reached an end;
/// false when `limit` passed first (the reconciliation then shows what is missing).
async fn drain(stack: &ChaosStack, job: &str, limit: Duration) -> Result<bool, CliError> {
    let sqs = relay_core::aws::sqs_client(&stack.sdk);
    let state = state_store(stack);
    let job = JobId::parse(job).map_err(|error| CliError::failed(error.to_string()))?;
    let until = Instant::now() + limit;
    while Instant::now() < until {
        let mut empty = true;
        for queue in [&stack.info.sync_queue_url, &stack.info.erasure_queue_url] {
            let depth = queue_depth(&sqs, queue)
                .await
                .map_err(|error| CliError::failed(format!("cannot read a queue: {error}")))?;
            empty &= depth.visible + depth.in_flight == 0;
        }
        let ended = export_status(&state, &job)
            .await
            .map_err(|error| CliError::failed(format!("cannot read the export: {error}")))?
            .is_some_and(|s| s.files_total > 0 && s.files_done + s.files_failed == s.files_total);
        if empty && ended {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(false)
}

/// Whether the contact's signup event marker says its request was started (so the event may
/// have been sent): its outcome recorded as unknown, or left *sending* by a process that died
/// during the request.
async fn event_outcome_unknown(state: &S3Store, external_id: &str) -> Result<bool, CliError> {
    let key = signup_event_marker_key(external_id);
    let body = state
        .get(&key)
        .await
        .map_err(|error| CliError::failed(format!("cannot read a signup marker: {error}")))?;
    Ok(body
        .and_then(|body| SignupEventMarker::decode(&body))
        .is_some_and(|marker| marker.started()))
}

fn state_store(stack: &ChaosStack) -> S3Store {
    S3Store::new(
        relay_core::aws::s3_client(&stack.sdk),
        stack.info.state_bucket.clone(),
    )
}

/// The bodies of a dead-letter queue (read without consuming).
async fn dead_letters(
    stack: &ChaosStack,
    source: &str,
    dlq: &str,
) -> Result<Vec<String>, CliError> {
    let queue = DeadLetterQueue::at(relay_core::aws::sqs_client(&stack.sdk), source, dlq);
    let letters = queue
        .list()
        .await
        .map_err(|error| CliError::failed(format!("cannot list {dlq}: {error}")))?;
    Ok(letters.into_iter().map(|letter| letter.body).collect())
}

async fn observe_signups(
    stack: &ChaosStack,
    admin: &AdminClient,
    inputs: &SignupInputs,
    not_acknowledged: std::collections::BTreeSet<String>,
    rejected: BTreeMap<String, String>,
) -> Result<SignupObserved, CliError> {
    let mut seen = SignupObserved {
        not_acknowledged,
        rejected,
        ..SignupObserved::default()
    };
    let tally = |map: &mut BTreeMap<String, usize>, id: String| *map.entry(id).or_default() += 1;
    for profile in admin
        .braze_users(&BrazeUserQuery::default())
        .await
        .map_err(admin_error)?
        .users
    {
        if let Some(id) = profile.external_id {
            tally(&mut seen.braze, id);
        }
    }
    for user in admin.userflow_users().await.map_err(admin_error)? {
        tally(&mut seen.userflow, user.id);
    }
    for event in admin
        .userflow_events(None, Some(SIGNUP_EVENT))
        .await
        .map_err(admin_error)?
    {
        if let Some(user) = event.user_id {
            tally(&mut seen.signed_up, user);
        }
    }
    let bodies = dead_letters(stack, &stack.info.sync_queue_url, &stack.info.sync_dlq_url).await?;
    let state = state_store(stack);
    for id in &inputs.valid {
        let quoted = format!("\"{id}\"");
        if bodies.iter().any(|body| body.contains(&quoted)) {
            seen.dead_lettered.insert(id.clone());
        }
        if !seen.signed_up.contains_key(id) && event_outcome_unknown(&state, id).await? {
            seen.event_unknown.insert(id.clone());
        }
    }
    Ok(seen)
}

/// Where each erasure request stands: receipted, dead-lettered, its subject still held.
async fn observe_erasures(
    stack: &ChaosStack,
    admin: &AdminClient,
    requests: &[(String, String)],
) -> Result<ErasureObserved, CliError> {
    let state = state_store(stack);
    let bodies = dead_letters(
        stack,
        &stack.info.erasure_queue_url,
        &stack.info.erasure_dlq_url,
    )
    .await?;
    let mut seen = ErasureObserved::default();
    for (id, subject) in requests {
        let request =
            RequestId::new(id.clone()).map_err(|error| CliError::failed(error.to_string()))?;
        let status = erasure_status(&state, &request)
            .await
            .map_err(|error| CliError::failed(format!("cannot read erasure {id}: {error}")))?;
        if matches!(status, ErasureStatus::Done { .. }) {
            seen.receipted.insert(id.clone());
        }
        if bodies.iter().any(|body| body.contains(id.as_str())) {
            seen.dead_lettered.insert(id.clone());
        }
        if admin
            .braze_user(subject)
            .await
            .map_err(admin_error)?
            .is_some()
            || admin
                .userflow_user(subject)
                .await
                .map_err(admin_error)?
                .is_some()
        {
            seen.still_held.insert(id.clone());
        }
    }
    Ok(seen)
}

async fn observe_export(
    stack: &ChaosStack,
    admin: &AdminClient,
    job: &str,
) -> Result<ExportObserved, CliError> {
    let state = state_store(stack);
    let job = JobId::parse(job).map_err(|error| CliError::failed(error.to_string()))?;
    let status = export_status(&state, &job)
        .await
        .map_err(|error| CliError::failed(format!("cannot read the export: {error}")))?;
    let record = admin
        .exports()
        .await
        .map_err(admin_error)?
        .into_iter()
        .find(|record| record.segment_id == EXPORT_SEGMENT);
    let mut seen = ExportObserved {
        written: record.as_ref().map_or(0, |r| r.files.len()),
        lines_written: record.as_ref().map_or(0, |r| r.lines),
        ..ExportObserved::default()
    };
    if let Some(status) = status {
        seen.listed = status.files_total;
        seen.done = status.files_done;
        seen.failed = status
            .failed
            .into_iter()
            .map(|failed| (failed.key, failed.error))
            .collect();
        seen.lines_counted = status.counts.lines;
    }
    Ok(seen)
}

/// The sandbox's admin API failed: the cell cannot be checked.
fn admin_error(error: sandbox::AdminError) -> CliError {
    CliError::failed(format!("the sandbox's admin API failed: {error}"))
}
