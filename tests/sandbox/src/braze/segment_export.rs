//! `POST /users/export/segment` and `/export/segment/cancel`.
//!
//! The request answers at once with `object_prefix`; a background task writes JSON Lines
//! files of about `users_per_file` users to
//! `segment-export/<segment>/<YYYY-MM-dd>/<object_prefix>/<random>.zip|.gz` with S3
//! `PutObject`, then POSTs `{"success": true}` to `callback_endpoint`. Every
//! `duplicate_every`-th member is written twice (the copy lands in the next file when there is
//! one), like Braze's rare duplicates.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_compression::tokio::write::GzipEncoder;
use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;
use tokio::task::AbortHandle;

use super::render::{self, Fields, Style};
use super::routes::{Answer, bad, message, typed};
use crate::admin::types::{ExportRecord, ExportSettings, ExportState, ExportStorage};
use crate::common::state::App;

/// The error answered when no bucket is configured.
pub(crate) const NO_BUCKET: &str = "The sandbox has no S3 export bucket configured: start it with --export-bucket (env SANDBOX_EXPORT_BUCKET), plus --s3-endpoint (env SANDBOX_S3_ENDPOINT) for moto, or set it through the admin API (PUT /export-storage)";

struct Storage {
    config: ExportStorage,
    client: aws_sdk_s3::Client,
}

/// Export storage, records and running tasks.
pub(crate) struct Exports {
    storage: Mutex<Option<Arc<Storage>>>,
    records: Mutex<Vec<ExportRecord>>,
    /// Segment id -> cancel flag of its running export.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Exports {
    pub(crate) fn new(storage: Option<ExportStorage>) -> Self {
        Exports {
            storage: Mutex::new(storage.map(connect)),
            records: Mutex::default(),
            running: Mutex::default(),
            tasks: Mutex::default(),
        }
    }

    /// Points exports at another bucket / endpoint.
    pub(crate) fn set_storage(&self, storage: Option<ExportStorage>) {
        *self.storage.lock().expect("storage lock") = storage.map(connect);
    }

    /// The configured storage.
    pub(crate) fn storage(&self) -> Option<ExportStorage> {
        let guard = self.storage.lock().expect("storage lock");
        guard.as_ref().map(|s| s.config.clone())
    }

    /// Every export requested since the last reset.
    pub(crate) fn records(&self) -> Vec<ExportRecord> {
        self.records.lock().expect("records lock").clone()
    }

    fn update(&self, prefix: &str, f: impl FnOnce(&mut ExportRecord)) {
        let mut records = self.records.lock().expect("records lock");
        if let Some(r) = records.iter_mut().find(|r| r.object_prefix == prefix) {
            f(r);
        }
    }

    /// Stops every running export.
    pub(crate) fn abort_all(&self) {
        for task in self.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
        self.running.lock().expect("running lock").clear();
    }

    /// Stops everything and forgets the records.
    pub(crate) fn reset(&self, storage: Option<ExportStorage>) {
        self.abort_all();
        self.records.lock().expect("records lock").clear();
        self.set_storage(storage);
    }
}

fn connect(config: ExportStorage) -> Arc<Storage> {
    let env = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_owned());
    let credentials = Credentials::new(
        env("AWS_ACCESS_KEY_ID", "testing"),
        env("AWS_SECRET_ACCESS_KEY", "testing"),
        std::env::var("AWS_SESSION_TOKEN").ok(),
        None,
        "sandbox",
    );
    let mut builder = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(credentials)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = &config.endpoint {
        // Loopback by address: "localhost" may resolve to ::1 where moto does not listen.
        let endpoint = endpoint.replacen("://localhost", "://127.0.0.1", 1);
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    Arc::new(Storage {
        client: aws_sdk_s3::Client::from_conf(builder.build()),
        config,
    })
}

#[derive(Deserialize)]
struct SegmentExportRequest {
    segment_id: Option<String>,
    callback_endpoint: Option<String>,
    fields_to_export: Option<Vec<String>>,
    custom_attributes_to_export: Option<Vec<String>>,
    output_format: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Gzip,
}

struct Job {
    segment_id: String,
    object_prefix: String,
    key_prefix: String,
    format: Format,
    fields: Fields,
    members: Arc<[String]>,
    callback: Option<String>,
    settings: ExportSettings,
    storage: Arc<Storage>,
    cancel: Arc<AtomicBool>,
}

/// `POST /users/export/segment`.
pub(crate) fn request(app: &Arc<App>, body: Map<String, Value>) -> Answer {
    let req: SegmentExportRequest = match typed(body) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let Some(segment_id) = req.segment_id.filter(|s| !s.is_empty()) else {
        return bad("'segment_id' is required");
    };
    let Some(fields) = req.fields_to_export.filter(|f| !f.is_empty()) else {
        return bad("'fields_to_export' is required");
    };
    if req
        .custom_attributes_to_export
        .as_ref()
        .is_some_and(|c| c.len() > 500)
    {
        return bad("'custom_attributes_to_export' may name at most 500 attributes");
    }
    let format = match req.output_format.as_deref() {
        None | Some("zip") => Format::Zip,
        Some("gzip") => Format::Gzip,
        Some(_) => return bad("'output_format' must be 'zip' or 'gzip'"),
    };
    if let Some(cb) = &req.callback_endpoint {
        let ok = url::Url::parse(cb).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return bad("'callback_endpoint' must be an http(s) URL");
        }
    }
    let Some(members) = app.braze().segments.get(&segment_id).cloned() else {
        return bad("Invalid segment_id: no such segment");
    };
    let Some(storage) = app.exports.storage.lock().expect("storage lock").clone() else {
        return bad(NO_BUCKET);
    };
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut running = app.exports.running.lock().expect("running lock");
        if running.contains_key(&segment_id) {
            return message(
                StatusCode::TOO_MANY_REQUESTS,
                "An export of this segment is already running",
            );
        }
        running.insert(segment_id.clone(), cancel.clone());
    }

    let now = Utc::now();
    let settings = app.settings().export.clone();
    let object_prefix = format!("{}-{}", uuid::Uuid::new_v4(), now.timestamp());
    let date = (now + chrono::Duration::days(settings.date_shift_days)).format("%Y-%m-%d");
    let key_prefix = format!("segment-export/{segment_id}/{date}/{object_prefix}/");
    let format_name = if format == Format::Zip { "zip" } else { "gzip" };
    app.exports
        .records
        .lock()
        .expect("records lock")
        .push(ExportRecord {
            segment_id: segment_id.clone(),
            object_prefix: object_prefix.clone(),
            output_format: format_name.into(),
            bucket: storage.config.bucket.clone(),
            key_prefix: key_prefix.clone(),
            state: ExportState::Running,
            files: Vec::new(),
            users: 0,
            lines: 0,
            callback_endpoint: req.callback_endpoint.clone(),
            callback_status: None,
            error: None,
            requested_at: now,
            finished_at: None,
        });
    tracing::info!(segment = %segment_id, %object_prefix, format = format_name, members = members.len(), "segment export started");
    let job = Job {
        segment_id,
        object_prefix: object_prefix.clone(),
        key_prefix,
        format,
        fields: Fields::new(fields, req.custom_attributes_to_export),
        members,
        callback: req.callback_endpoint,
        settings,
        storage,
        cancel,
    };
    let task = tokio::spawn(run(app.clone(), job));
    let mut tasks = app.exports.tasks.lock().expect("tasks lock");
    tasks.retain(|t| !t.is_finished());
    tasks.push(task.abort_handle());
    (
        StatusCode::CREATED,
        json!({ "message": "success", "object_prefix": object_prefix, "url": null }),
    )
}

/// `POST /export/segment/cancel`.
pub(crate) fn cancel(app: &Arc<App>, body: Map<String, Value>) -> Answer {
    let Some(segment_id) = body.get("segment_id").and_then(Value::as_str) else {
        return bad("'segment_id' is required");
    };
    match app
        .exports
        .running
        .lock()
        .expect("running lock")
        .get(segment_id)
    {
        Some(flag) => {
            flag.store(true, Ordering::SeqCst);
            (StatusCode::OK, json!({ "message": "success" }))
        }
        None => bad("No export of this segment is running"),
    }
}

async fn run(app: Arc<App>, job: Job) {
    let (state, callback_status, error) = match write_files(&app, &job).await {
        Ok(false) => (ExportState::Cancelled, None, None),
        Err(e) => (ExportState::Failed, None, Some(e)),
        Ok(true) => match &job.callback {
            Some(url) => {
                let (status, error) = callback(&app.http, url).await;
                (ExportState::Completed, status, error)
            }
            None => (ExportState::Completed, None, None),
        },
    };
    tracing::info!(object_prefix = %job.object_prefix, ?state, ?callback_status, error = ?error, "segment export finished");
    app.exports.update(&job.object_prefix, |r| {
        r.state = state;
        r.callback_status = callback_status;
        r.error = error;
        r.finished_at = Some(Utc::now());
    });
    let mut running = app.exports.running.lock().expect("running lock");
    if running
        .get(&job.segment_id)
        .is_some_and(|flag| Arc::ptr_eq(flag, &job.cancel))
    {
        running.remove(&job.segment_id);
    }
}

async fn callback(http: &reqwest::Client, url: &str) -> (Option<u16>, Option<String>) {
    match http
        .post(url)
        .json(&json!({ "success": true }))
        .send()
        .await
    {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let error =
                (!resp.status().is_success()).then(|| format!("callback answered {status}"));
            (Some(status), error)
        }
        // The URL carries the caller's token: keep it out of records and logs.
        Err(e) => (None, Some(format!("callback failed: {}", e.without_url()))),
    }
}

/// Writes every file; `Ok(false)` when cancelled.
async fn write_files(app: &App, job: &Job) -> Result<bool, String> {
    let per_file = job.settings.users_per_file.max(1);
    let every = job.settings.duplicate_every;
    let chunks: Vec<&[String]> = job.members.chunks(per_file).collect();
    let mut carry: Vec<String> = Vec::new();
    for (n, chunk) in chunks.iter().enumerate() {
        if job.cancel.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let last = n + 1 == chunks.len();
        let (text, users, lines) = {
            let store = app.braze();
            let mut text = String::new();
            let mut users = 0u64;
            let mut lines = 0u64;
            let mut push = |text: &mut String, profile| {
                let line = Value::Object(render::user(profile, &job.fields, Style::Segment));
                text.push_str(&line.to_string());
                text.push('\n');
                lines += 1;
            };
            for id in carry.drain(..) {
                if let Some(p) = store.get(&id) {
                    push(&mut text, p);
                }
            }
            let mut next_carry = Vec::new();
            for (i, id) in chunk.iter().enumerate() {
                let Some(p) = store.get(id) else { continue };
                push(&mut text, p);
                users += 1;
                let position = (n * per_file + i + 1) as u64;
                if every > 0 && position.is_multiple_of(every) {
                    if last {
                        push(&mut text, p);
                    } else {
                        next_carry.push(id.clone());
                    }
                }
            }
            carry = next_carry;
            (text, users, lines)
        };
        if text.is_empty() {
            continue;
        }
        let name = uuid::Uuid::new_v4().simple().to_string();
        let (bytes, key, content_type) = match job.format {
            Format::Zip => (
                zip(&name, text.as_bytes()).await?,
                format!("{}{name}.zip", job.key_prefix),
                "application/zip",
            ),
            Format::Gzip => (
                gzip(text.as_bytes()).await?,
                format!("{}{name}.gz", job.key_prefix),
                "application/gzip",
            ),
        };
        job.storage
            .client
            .put_object()
            .bucket(&job.storage.config.bucket)
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "PutObject {key} failed: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
        app.exports.update(&job.object_prefix, |r| {
            r.files.push(key.clone());
            r.users += users;
            r.lines += lines;
        });
        if job.settings.file_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job.settings.file_delay_ms)).await;
        }
    }
    Ok(!job.cancel.load(Ordering::SeqCst))
}

/// A zip holding one `<name>.json` JSON Lines entry.
async fn zip(name: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut writer = ZipFileWriter::new(Vec::new());
    let entry = ZipEntryBuilder::new(format!("{name}.json").into(), Compression::Deflate);
    writer
        .write_entry_whole(entry, data)
        .await
        .map_err(|e| format!("zip: {e}"))?;
    writer.close().await.map_err(|e| format!("zip: {e}"))
}

async fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = GzipEncoder::new(Vec::new());
    encoder
        .write_all(data)
        .await
        .map_err(|e| format!("gzip: {e}"))?;
    encoder.shutdown().await.map_err(|e| format!("gzip: {e}"))?;
    Ok(encoder.into_inner())
}
