//! What the export benchmarks on moto + the sandbox share: an export bucket, the relay's
//! environment for sync-worker and export-callback, a job manifest for files written
//! straight into the bucket, and peak RSS from `/proc`.

use std::collections::HashMap;

use chrono::Utc;
use relay_clients::braze::models::OutputFormat;
use relay_core::export::line::ExportMapping;
use relay_core::export::manifest::{
    ExportAction, ExportManifest, ExportState, JobId, MANIFEST_VERSION, Manifests,
};
use relay_core::store::S3Store;

use crate::export_reader::CUSTOM_ATTRIBUTES;
use crate::stack::Stack;

/// The callback secret export-callback is configured with.
pub const CALLBACK_SECRET: &str = "relay-bench-export-callback-secret";

/// The relay's environment for the export functions against `stack`: the sandbox's vendors,
/// `export_bucket`, `queue_url`, the custom attributes `plan` and `seats`, Userflow at
/// `userflow_rate` per second. Retry deadline and concurrencies are the relay's defaults.
pub fn relay_env(
    stack: &Stack,
    export_bucket: &str,
    queue_url: &str,
    userflow_rate: u32,
) -> HashMap<String, String> {
    let mut vars = relay_tests::webhooks::relay_variables(stack.sandbox.info());
    // The test harness shortens these; the benchmark runs with the relay's defaults.
    vars.remove("UPSTREAM_RETRY_DEADLINE_MS");
    vars.remove("USERFLOW_CONCURRENCY");
    for (name, value) in [
        ("STATE_BUCKET", stack.bucket.clone()),
        ("EXPORT_BUCKET", export_bucket.to_owned()),
        ("SYNC_QUEUE_URL", queue_url.to_owned()),
        ("EXPORT_CALLBACK_SECRET", CALLBACK_SECRET.to_owned()),
        ("EXPORT_CUSTOM_ATTRIBUTES", CUSTOM_ATTRIBUTES.join(",")),
        ("USERFLOW_RATE", userflow_rate.to_string()),
        ("AWS_ENDPOINT_URL", stack.moto.endpoint().to_owned()),
        ("AWS_REGION", relay_tests::TEST_REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ] {
        vars.insert(name.to_owned(), value);
    }
    vars
}

/// Writes a manifest for `segment`'s export under `object_prefix`, as `relay export start`
/// does once Braze answered: `requested` with no files (the callback lists them), or
/// `dispatched` with `files` (one file read directly, without a callback).
pub async fn create_manifest(
    state: &S3Store,
    segment: &str,
    object_prefix: &str,
    files: Vec<String>,
) -> Result<JobId, String> {
    let now = Utc::now();
    let mapping = ExportMapping::default()
        .with_custom_attributes(CUSTOM_ATTRIBUTES)
        .map_err(|e| format!("the bench mapping: {e}"))?;
    let job = JobId::generate(now);
    let state_now = if files.is_empty() {
        ExportState::Requested
    } else {
        ExportState::Dispatched
    };
    Manifests::new(state)
        .create(&ExportManifest {
            v: MANIFEST_VERSION,
            job: job.clone(),
            segment_id: segment.to_owned(),
            action: ExportAction::UserflowSync,
            output_format: OutputFormat::Zip,
            fields: mapping.fields_to_export(),
            custom_attributes: mapping.custom_attributes_to_export(),
            object_prefix: Some(object_prefix.to_owned()),
            requested_at: now,
            callback_expires_at: now + chrono::Duration::hours(2),
            state: state_now,
            updated_at: now,
            files,
            error: None,
            totals: None,
        })
        .await
        .map_err(|e| format!("writing the manifest of {job}: {e}"))?;
    Ok(job)
}

/// This process's peak resident set (`VmHWM`) in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// This process's resident set now (`VmRSS`) in KiB.
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
