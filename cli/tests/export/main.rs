//! `relay export start|status|cancel` end to end: the relay binary against moto (the state
//! bucket and the export bucket) and the sandbox's Braze in process, whose segment exports
//! write real files to moto and call back a [`CallbackCatcher`].

#[path = "../common/mod.rs"]
mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use async_compression::tokio::bufread::GzipDecoder;
use bytes::Bytes;
use chrono::Utc;
use common::{code, json, relay, stderr};
use relay_clients::braze::models::OutputFormat;
use relay_core::env::Env;
use relay_core::export::callback::{CallbackAuthError, CallbackQuery, CallbackSigner};
use relay_core::export::line::ExportMapping;
use relay_core::export::manifest::{
    Change, ExportAction, ExportManifest, ExportState, JobId, MANIFEST_VERSION, Manifests,
};
use relay_core::export::progress::{FileCounts, FileProgress, FileState, progress_key};
use relay_core::store::{ObjectStore, S3Store};
use relay_tests::Moto;
use sandbox::{
    CallbackCatcher, ExportSettingsPatch, ExportState as SandboxExportState, ExportStorage,
    Sandbox, SandboxConfig, SeedSegment,
};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// The callback secret of every test (at least 16 bytes).
const SECRET: &str = "export-callback-secret-of-the-tests";

/// One moto for the whole file (it stops when this process ends); buckets are unique per test.
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// A sandbox whose exports go to a fresh moto bucket, a fresh state bucket, and a catcher
/// standing in for the callback route.
struct Stack {
    sandbox: Sandbox,
    catcher: CallbackCatcher,
    state_bucket: String,
    export_bucket: String,
    s3: aws_sdk_s3::Client,
}

impl Stack {
    async fn start() -> Stack {
        let moto = moto();
        let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
        let export_bucket = moto.create_bucket("braze-exports").await;
        sandbox
            .admin()
            .set_export_storage(&ExportStorage {
                bucket: export_bucket.clone(),
                endpoint: Some(moto.endpoint().to_owned()),
                region: "us-east-1".into(),
            })
            .await
            .unwrap();
        Stack {
            sandbox,
            catcher: CallbackCatcher::start().await.unwrap(),
            state_bucket: moto.create_bucket("relay-state").await,
            export_bucket,
            s3: moto.s3_client().await,
        }
    }

    /// The settings of an operator's relay for this stack.
    fn env(&self) -> HashMap<String, String> {
        let info = self.sandbox.info();
        [
            ("AWS_ENDPOINT_URL", moto().endpoint()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("STATE_BUCKET", self.state_bucket.as_str()),
            ("BRAZE_REST_ENDPOINT", info.braze.as_str()),
            ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true"),
            ("BRAZE_API_KEY", info.braze_key.as_str()),
            (
                "EXPORT_CALLBACK_URL",
                &format!("{}/braze/export-callback", self.catcher.url()),
            ),
            ("EXPORT_CALLBACK_SECRET", SECRET),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn store(&self) -> S3Store {
        S3Store::new(self.s3.clone(), self.state_bucket.clone())
    }

    async fn manifest(&self, job: &JobId) -> ExportManifest {
        Manifests::new(&self.store())
            .load(job)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no manifest for {job}"))
    }

    /// Seeds `count` users into `segment`.
    async fn seed(&self, segment: &str, count: usize) {
        self.sandbox
            .admin()
            .seed_segment(&SeedSegment::new(segment, count))
            .await
            .unwrap();
    }

    /// The JSON Lines of one gzip export file.
    async fn gzip_lines(&self, key: &str) -> Vec<Value> {
        let body = self
            .s3
            .get_object()
            .bucket(&self.export_bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let mut decoder = GzipDecoder::new(&body[..]);
        decoder.multiple_members(true);
        let mut text = String::new();
        decoder.read_to_string(&mut text).await.unwrap();
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// A manifest of `state` with `files` files, written straight to the state bucket.
async fn put_manifest(stack: &Stack, job: &JobId, state: ExportState, files: usize) {
    let now = Utc::now();
    Manifests::new(&stack.store())
        .create(&ExportManifest {
            v: MANIFEST_VERSION,
            job: job.clone(),
            segment_id: "seg-status".into(),
            action: ExportAction::UserflowSync,
            output_format: OutputFormat::Gzip,
            fields: vec!["external_id".into(), "braze_id".into()],
            custom_attributes: vec![],
            object_prefix: Some("prefix-1".into()),
            requested_at: now,
            callback_expires_at: now + chrono::Duration::hours(24),
            state,
            updated_at: now,
            files: (0..files)
                .map(|i| format!("segment-export/seg-status/2026-12-06/prefix-1/{i}.gz"))
                .collect(),
            error: (state == ExportState::Failed).then(|| "Braze reported failure".to_owned()),
            totals: None,
        })
        .await
        .unwrap();
}

/// File `index`'s progress document, as the worker writes it.
async fn put_progress(
    stack: &Stack,
    job: &JobId,
    index: usize,
    state: FileState,
    counts: FileCounts,
) {
    let progress = FileProgress {
        key: format!("segment-export/seg-status/2026-12-06/prefix-1/{index}.gz"),
        state,
        lines_done: counts.lines,
        finished_above: vec![],
        counts,
        error: (state == FileState::Failed).then(|| "the zip is truncated".to_owned()),
        lease: None,
        updated_at: Utc::now(),
    };
    stack
        .store()
        .put(
            &progress_key(job, index),
            Bytes::from(serde_json::to_vec(&progress).unwrap()),
            "application/json",
        )
        .await
        .unwrap();
}

fn counts(lines: u64, upserted: u64, skipped: u64, duplicates: u64, rejected: u64) -> FileCounts {
    FileCounts {
        lines,
        users: lines - rejected,
        upserted,
        skipped,
        duplicates,
        rejected,
        dropped_attributes: 1,
        erasures: 0,
    }
}

/// A job for the status test: its id, manifest state, files' end states and counts, and the
/// exit `relay export status` must give.
type StatusCase = (&'static str, ExportState, Vec<(FileState, FileCounts)>, i32);

fn text(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

mod cancel;
mod start;
mod status;
