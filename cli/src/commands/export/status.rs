//! `relay export status [JOB] [--watch]`: a job's state and counts, from relay-core's
//! [`export_status`] (the manifest plus every file's progress document, added up); without
//! JOB, every job in the state bucket.
//!
//! Exit codes: `completed` with no failed file and no rejected line 0; `completed` with failed
//! files or rejected lines 3 (partly done); `failed` or `cancelled` 1; not ended yet 0 (with
//! `--watch` the command waits for the end).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use relay_core::export::manifest::{ExportState, JobId, Manifests};
use relay_core::export::status::{ExportStatus, export_status};
use relay_core::store::S3Store;
use serde::Serialize;

use super::{job_id, state_store, unknown_job};
use crate::output::{Exit, progress, table};
use crate::{CliError, Context, Outcome};

/// Arguments of `relay export status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The export job; without it, every job is listed (oldest first).
    job: Option<String>,
    /// Poll until the job ends, with a progress bar of its files on a terminal.
    #[arg(long)]
    watch: bool,
    /// Time between two polls of --watch, in milliseconds.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    interval_ms: u64,
    /// With `--watch`: give up after this many seconds (exit 1, the status so far printed).
    #[arg(long, value_name = "SECS", requires = "watch")]
    timeout_secs: Option<u64>,
}

/// The `--json` document of one job: [`ExportStatus`] and where its rejected lines are.
#[derive(Debug, Serialize)]
struct StatusView<'a> {
    #[serde(flatten)]
    status: &'a ExportStatus,
    /// `s3://<state bucket>/exports/<job>/rejects/`.
    rejects: String,
}

/// The `--json` document of the listing.
#[derive(Debug, Serialize)]
struct Listing {
    jobs: Vec<Listed>,
}

/// One job of the listing.
#[derive(Debug, Serialize)]
struct Listed {
    job: JobId,
    segment_id: String,
    state: ExportState,
    requested_at: DateTime<Utc>,
}

/// Runs `relay export status`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let job = args.job.as_deref().map(job_id).transpose()?;
    let Some(job) = job else {
        if args.watch {
            return Err(CliError::usage("--watch needs a JOB"));
        }
        let (bucket, store) = state_store(&context.settings).await?;
        return list(&bucket, &store).await;
    };
    let (bucket, store) = state_store(&context.settings).await?;
    let status = if args.watch {
        let until = args
            .timeout_secs
            .map(|secs| tokio::time::Instant::now() + Duration::from_secs(secs));
        let (status, ended) = watch(
            &store,
            &job,
            Duration::from_millis(args.interval_ms),
            until,
            context.json,
        )
        .await?;
        if !ended {
            let view = StatusView {
                rejects: format!("s3://{bucket}/{}", job.rejects_prefix()),
                status: &status,
            };
            let text = format!(
                "{}\ngave up watching after {} s: the job is still {}",
                text(&view),
                args.timeout_secs.unwrap_or_default(),
                status.manifest.state.as_str()
            );
            return Ok(Outcome::new(Exit::Failed, &view, text));
        }
        status
    } else {
        load(&store, &job).await?
    };
    let view = StatusView {
        rejects: format!("s3://{bucket}/{}", job.rejects_prefix()),
        status: &status,
    };
    Ok(Outcome::new(exit(&status), &view, text(&view)))
}

/// The job's status, or `no export job <job>`.
async fn load(store: &S3Store, job: &JobId) -> Result<ExportStatus, CliError> {
    export_status(store, job)
        .await
        .map_err(|error| CliError::failed(format!("state bucket: {error}")))?
        .ok_or_else(|| unknown_job(job))
}

/// Polls every `interval` until the job ends or `until` passes, drawing its files on a
/// progress bar (only on a terminal and not with `--json`); the last status, and whether the
/// job ended.
async fn watch(
    store: &S3Store,
    job: &JobId,
    interval: Duration,
    until: Option<tokio::time::Instant>,
    json: bool,
) -> Result<(ExportStatus, bool), CliError> {
    let bar = progress(0, "waiting", json);
    loop {
        let status = load(store, job).await?;
        let ended = status.manifest.state.is_final();
        if ended || until.is_some_and(|until| tokio::time::Instant::now() >= until) {
            bar.finish_and_clear();
            return Ok((status, ended));
        }
        bar.set_length(status.files_total as u64);
        bar.set_position((status.files_done + status.files_failed) as u64);
        bar.set_message(format!(
            "{}: {} users upserted",
            status.manifest.state.as_str(),
            status.counts.upserted
        ));
        tokio::time::sleep(interval).await;
    }
}

/// The exit code of a status: see the module documentation.
fn exit(status: &ExportStatus) -> Exit {
    match status.manifest.state {
        ExportState::Completed if status.files_failed > 0 || status.counts.rejected > 0 => {
            Exit::Partial
        }
        ExportState::Failed | ExportState::Cancelled => Exit::Failed,
        ExportState::Completed
        | ExportState::Requested
        | ExportState::Dispatching
        | ExportState::Dispatched => Exit::Done,
    }
}

/// The text form of one job's status.
fn text(view: &StatusView<'_>) -> String {
    let status = view.status;
    let manifest = &status.manifest;
    let counts = &status.counts;
    let mut lines = vec![
        format!(
            "export {} of segment {}: {}",
            manifest.job,
            manifest.segment_id,
            manifest.state.as_str()
        ),
        format!(
            "requested {}, last change {}",
            manifest
                .requested_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            manifest
                .updated_at
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
    ];
    if let Some(error) = &manifest.error {
        lines.push(format!("reason: {error}"));
    }
    lines.push(format!(
        "files: {} done, {} failed, {} total",
        status.files_done, status.files_failed, status.files_total
    ));
    lines.push(format!(
        "lines {}, users {}, upserted {}, skipped without external id {}, duplicates {}, \
         rejected {}, dropped attributes {}",
        counts.lines,
        counts.users,
        counts.upserted,
        counts.skipped,
        counts.duplicates,
        counts.rejected,
        counts.dropped_attributes
    ));
    if !status.failed.is_empty() {
        lines.push("failed files:".into());
        lines.extend(
            status
                .failed
                .iter()
                .map(|file| format!("  {}: {}", file.key, file.error)),
        );
    }
    if counts.rejected > 0 {
        lines.push(format!("rejected lines: {}", view.rejects));
    }
    lines.join("\n")
}

/// Every job in the state bucket, oldest first.
async fn list(bucket: &str, store: &S3Store) -> Result<Outcome, CliError> {
    let manifests = Manifests::new(store);
    let ids = manifests
        .jobs()
        .await
        .map_err(|error| CliError::failed(format!("state bucket: {error}")))?;
    let jobs: Vec<Listed> = futures::stream::iter(ids)
        .map(|job| {
            let manifests = &manifests;
            async move {
                let manifest = manifests
                    .load(&job)
                    .await
                    .map_err(|error| CliError::failed(format!("state bucket: {error}")))?
                    .ok_or_else(|| unknown_job(&job))?;
                Ok::<_, CliError>(Listed {
                    job,
                    segment_id: manifest.segment_id,
                    state: manifest.state,
                    requested_at: manifest.requested_at,
                })
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let text = if jobs.is_empty() {
        format!("no export jobs in s3://{bucket}")
    } else {
        let rows: Vec<Vec<String>> = jobs
            .iter()
            .map(|listed| {
                vec![
                    listed.job.to_string(),
                    listed.segment_id.clone(),
                    listed.state.as_str().to_owned(),
                    listed
                        .requested_at
                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                ]
            })
            .collect();
        table(&["job", "segment", "state", "requested_at"], &rows)
    };
    Ok(Outcome::done(&Listing { jobs }, text))
}
