//! Peak RSS of the worker reading one export file: the bench uploads a synthetic zip (5,000
//! and 100,000 realistic users) into moto with a `dispatched` manifest naming it, then runs
//! ITSELF as a child process (`--export-rss-child`) configured like sync-worker (its
//! environment, `Config::from_env`, `into_deps`, a `current_thread` runtime as its `main`),
//! which runs relay-core's `FileSync::run` on the file against the sandbox's Userflow (in the
//! parent's process) and prints its own `VmHWM` as one JSON line. The parent's memory
//! (the sandbox, the generated file) is not in the number.

use std::process::{ExitCode, Stdio};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{aws_sdk_config, s3_client};
use relay_core::env::Env;
use relay_core::export::manifest::JobId;
use relay_core::export::reader::S3Source;
use relay_core::export::status::export_status;
use relay_core::export::sync::{FileOutcome, FileSync};
use relay_core::jobs::ExportFileJob;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::{ObjectStore, S3Store};
use sandbox::{Api, ExportFormat};
use serde_json::{Value, json};

use crate::export_setup::{create_manifest, peak_rss_kib, relay_env, rss_kib};
use crate::stack::Stack;

/// The child's flag.
pub const CHILD_FLAG: &str = "--export-rss-child";
/// The job and file key the child reads (environment).
const JOB_VARIABLE: &str = "RELAY_BENCH_RSS_JOB";
const KEY_VARIABLE: &str = "RELAY_BENCH_RSS_KEY";
/// Userflow's rate for the child: high, so the run is quick.
pub const USERFLOW_RATE: u32 = 5_000;
/// The goal: peak RSS under this many MiB for every file size.
pub const GOAL_MIB: f64 = 64.0;

/// One file's measurement.
#[derive(Debug, Clone)]
pub struct RssResult {
    /// Users in the file.
    pub users: usize,
    /// The zip's size.
    pub file_bytes: u64,
    /// The child's `VmHWM` once configured, before reading (KiB).
    pub init_peak_kib: u64,
    /// The child's `VmHWM` after the file (KiB).
    pub peak_kib: u64,
    /// Time in `FileSync::run`.
    pub seconds: f64,
    /// Users upserted (the job's counts).
    pub upserted: u64,
}

/// Measures each of `sizes` (users per file) in a fresh child.
pub async fn measure(stack: &Stack, sizes: &[usize]) -> Result<Vec<RssResult>, String> {
    let sdk = stack.moto.sdk_config().await;
    let export_bucket = stack.moto.create_bucket("relay-bench-rss-exports").await;
    let exports = S3Store::new(s3_client(&sdk), export_bucket.clone());
    let state = S3Store::new(s3_client(&sdk), stack.bucket.clone());
    let exe = std::env::current_exe().map_err(|e| format!("the bench's own path: {e}"))?;
    let mut results = Vec::new();
    for (n, &users) in sizes.iter().enumerate() {
        let body = tokio::task::spawn_blocking(move || {
            sandbox::synthetic_export_file(0, users, 23 + n as u64, ExportFormat::Zip, 1)
        })
        .await
        .map_err(|e| format!("generating the file: {e}"))?;
        let file_bytes = body.len() as u64;
        let object_prefix = format!("rss-{n}-{}", Utc::now().timestamp());
        let key = format!("segment-export/bench-rss/2026-01-01/{object_prefix}/bench-{users}.zip");
        exports
            .put(&key, Bytes::from(body), "application/zip")
            .await
            .map_err(|e| format!("uploading {key}: {e}"))?;
        let job = create_manifest(&state, "bench-rss", &object_prefix, vec![key.clone()]).await?;
        stack
            .sandbox
            .admin()
            .reset_requests()
            .await
            .map_err(|e| format!("sandbox: {e}"))?;
        eprintln!(
            "relay-bench: export RSS: {users} users ({:.1} MiB zip) in a child process",
            file_bytes as f64 / (1024.0 * 1024.0)
        );
        let env = relay_env(stack, &export_bucket, &stack.queue_url, USERFLOW_RATE);
        let output = tokio::process::Command::new(&exe)
            .arg(CHILD_FLAG)
            .env_clear()
            .envs(env)
            .env(JOB_VARIABLE, job.as_str())
            .env(KEY_VARIABLE, &key)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .await
            .map_err(|e| format!("running the child: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "the RSS child for {users} users failed ({})",
                output.status
            ));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| format!("the RSS child printed no JSON report: {stdout}"))?;
        let number = |name: &str| {
            report[name]
                .as_u64()
                .ok_or_else(|| format!("the RSS child's report has no `{name}`: {report}"))
        };
        let status = export_status(&state, &job)
            .await
            .map_err(|e| format!("status of {job}: {e}"))?
            .ok_or_else(|| format!("job {job} vanished"))?;
        if status.files_done != 1 || status.counts.rejected != 0 {
            return Err(format!(
                "the RSS child did not finish the file cleanly: {} ({:?})",
                report["outcome"], status.counts
            ));
        }
        let posts = stack
            .sandbox
            .admin()
            .count(Api::Userflow, "POST", "/users", None)
            .await
            .map_err(|e| format!("sandbox: {e}"))?;
        if posts < status.counts.upserted {
            return Err(format!(
                "Userflow saw {posts} upserts, the job counts {}",
                status.counts.upserted
            ));
        }
        eprintln!(
            "relay-bench: export RSS: {users} users: peak {} KiB (configured: {} KiB), {report}",
            number("peak_kib")?,
            number("init_peak_kib")?
        );
        results.push(RssResult {
            users,
            file_bytes,
            init_peak_kib: number("init_peak_kib")?,
            peak_kib: number("peak_kib")?,
            seconds: report["seconds"].as_f64().unwrap_or(f64::NAN),
            upserted: status.counts.upserted,
        });
    }
    Ok(results)
}

/// The child: configured as sync-worker's `main` is, runs `FileSync::run` on the file named
/// by the environment, prints `{"init_peak_kib", "peak_kib", "rss_kib", "seconds",
/// "outcome"}`.
pub fn child_main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("relay-bench child: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(child()) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("relay-bench child: FAILED: {problem}");
            ExitCode::FAILURE
        }
    }
}

async fn child() -> Result<Value, String> {
    let env = Env::process();
    let job = env
        .get(JOB_VARIABLE)
        .and_then(|j| JobId::parse(&j).ok())
        .ok_or_else(|| format!("{JOB_VARIABLE} is not a job id"))?;
    let key = env
        .get(KEY_VARIABLE)
        .ok_or_else(|| format!("{KEY_VARIABLE} is not set"))?;
    let sdk = aws_sdk_config().await;
    let secrets = SecretResolver::with_secrets_manager_from(&sdk);
    let config = sync_worker::Config::from_env(&env, &secrets)
        .await
        .map_err(|e| e.to_string())?;
    let s3 = s3_client(&sdk);
    let store = S3Store::new(s3.clone(), config.state_bucket.clone());
    let queue = SqsQueue::connect_on_first_send(&sdk, config.sync_queue_url.clone());
    let deps = config
        .into_deps(
            http_client(HttpTimeouts::default()),
            store,
            queue,
            s3,
            |url| SqsQueue::connect_on_first_send(&sdk, url),
        )
        .map_err(|e| e.to_string())?;
    let exports = deps.exports.as_ref().ok_or("EXPORT_BUCKET is not set")?;
    let sync = FileSync {
        state: deps.deliverer.store(),
        userflow: deps.deliverer.userflow(),
        erasures: deps.erasures.as_ref(),
        mapping: &exports.mapping,
        settings: &exports.settings,
    };
    let init_peak_kib = peak_rss_kib().unwrap_or(0);
    let source = S3Source::new(exports.s3.clone(), exports.bucket.clone(), key.clone());
    let file_job = ExportFileJob {
        export: job,
        index: 0,
        key,
    };
    let started = std::time::Instant::now();
    let outcome = sync
        .run(
            &file_job,
            source,
            "relay-bench-rss",
            tokio::time::Instant::now() + Duration::from_secs(900),
            Utc::now() + chrono::Duration::minutes(20),
        )
        .await
        .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if !matches!(
        outcome,
        FileOutcome::Ended(relay_core::export::progress::FileState::Done)
    ) {
        return Err(format!("the file did not end done: {outcome:?}"));
    }
    Ok(json!({
        "init_peak_kib": init_peak_kib,
        "peak_kib": peak_rss_kib().unwrap_or(0),
        "rss_kib": rss_kib().unwrap_or(0),
        "seconds": seconds,
        "outcome": format!("{outcome:?}"),
    }))
}
