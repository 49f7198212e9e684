//! `POST /users/export/segment` and `/export/segment/cancel`.
//!
//! The request answers at once with `object_prefix`; a background task writes JSON Lines
//! files of about `users_per_file` users to
//! `segment-export/<segment>/<YYYY-MM-dd>/<object_prefix>/<random>.zip|.gz` with S3
//! `PutObject`, then POSTs `{"success": true}` to `callback_endpoint`. Every
//! `duplicate_every`-th member is written twice (the copy lands in the next file when there is
//! one), like Braze's rare duplicates.
//!
//! Fault injection (settings `malformed_every`, `members_per_zip`, `empty_files`,
//! `truncate_files`) adds malformed lines, multi-member zips, empty files and truncated
//! archives, each recorded in the [`ExportRecord`] so tests can assert on exactly what was
//! injected.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::task::AbortHandle;

use super::archive;
use super::inject::Injector;
use super::render::{self, Fields, Style};
use super::routes::{Answer, bad, message, typed};
use crate::admin::types::{
    ExportFormat, ExportRecord, ExportSettings, ExportState, ExportStorage, InjectedLine,
};
use crate::common::state::App;

/// The error answered when no bucket is configured.
pub(crate) const NO_BUCKET: &str = "The sandbox has no S3 export bucket configured: start it with --export-bucket (env SANDBOX_EXPORT_BUCKET), plus --s3-endpoint (env SANDBOX_S3_ENDPOINT) for moto, or set it through the admin API (PUT /export-storage)";

/// The export bucket and a client for it.
pub(crate) struct Storage {
    /// Where files go.
    pub(crate) config: ExportStorage,
    client: aws_sdk_s3::Client,
}

impl Storage {
    /// Uploads one export file.
    pub(crate) async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        format: ExportFormat,
    ) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(&self.config.bucket)
            .key(key)
            .content_type(archive::content_type(format))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "PutObject {key} failed: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }
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

    /// The configured bucket with its client.
    pub(crate) fn bucket(&self) -> Option<Arc<Storage>> {
        self.storage.lock().expect("storage lock").clone()
    }

    /// Records a new export.
    pub(crate) fn push(&self, record: ExportRecord) {
        self.records.lock().expect("records lock").push(record);
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

    /// Changes the record of the export with this object_prefix.
    pub(crate) fn update(&self, prefix: &str, f: impl FnOnce(&mut ExportRecord)) {
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

struct Job {
    segment_id: String,
    object_prefix: String,
    key_prefix: String,
    format: ExportFormat,
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
        None | Some("zip") => ExportFormat::Zip,
        Some("gzip") => ExportFormat::Gzip,
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
    let Some(storage) = app.exports.bucket() else {
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
    let format_name = format.as_str();
    app.exports.push(ExportRecord::running(
        &segment_id,
        &object_prefix,
        format_name,
        &storage.config.bucket,
        &key_prefix,
        req.callback_endpoint.clone(),
        now,
    ));
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

/// POSTs `{"success": true}` to an export's callback: the status answered, or why it failed.
pub(crate) async fn callback(http: &reqwest::Client, url: &str) -> (Option<u16>, Option<String>) {
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

/// Writes every file, then the extra empty and truncated ones; `Ok(false)` when cancelled.
async fn write_files(app: &App, job: &Job) -> Result<bool, String> {
    let per_file = job.settings.users_per_file.max(1);
    let every = job.settings.duplicate_every;
    let chunks: Vec<&[String]> = job.members.chunks(per_file).collect();
    let mut carry: Vec<String> = Vec::new();
    let mut injector = Injector::new(job.settings.malformed_every);
    for (n, chunk) in chunks.iter().enumerate() {
        if job.cancel.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let last = n + 1 == chunks.len();
        let (lines, users) = {
            let store = app.braze();
            let mut lines: Vec<String> = Vec::new();
            let mut users = 0u64;
            let render = |profile| {
                Value::Object(render::user(profile, &job.fields, Style::Segment)).to_string()
            };
            for id in carry.drain(..) {
                if let Some(p) = store.get(&id) {
                    lines.push(render(p));
                }
            }
            let mut next_carry = Vec::new();
            for (i, id) in chunk.iter().enumerate() {
                let Some(p) = store.get(id) else { continue };
                lines.push(render(p));
                users += 1;
                let position = (n * per_file + i + 1) as u64;
                if every > 0 && position.is_multiple_of(every) {
                    if last {
                        lines.push(render(p));
                    } else {
                        next_carry.push(id.clone());
                    }
                }
            }
            carry = next_carry;
            (lines, users)
        };
        if lines.is_empty() {
            continue;
        }
        let user_lines = lines.len() as u64;
        let (lines, bad) = injector.mix(lines);
        let name = uuid::Uuid::new_v4().simple().to_string();
        let members = archive::layout(job.format, &name, lines.len(), job.settings.members_per_zip);
        let bytes = archive::encode(job.format, &members, &lines);
        let key = format!("{}{name}{}", job.key_prefix, archive::extension(job.format));
        job.storage.put(&key, bytes, job.format).await?;
        let injected: Vec<InjectedLine> = bad
            .into_iter()
            .map(|(index, text)| InjectedLine {
                key: key.clone(),
                line: index as u64 + 1,
                member: archive::member_of(&members, index),
                text,
            })
            .collect();
        app.exports.update(&job.object_prefix, |r| {
            r.files.push(key.clone());
            r.users += users;
            r.lines += user_lines;
            r.injected.extend(injected);
        });
        if job.settings.file_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job.settings.file_delay_ms)).await;
        }
    }
    for _ in 0..job.settings.empty_files {
        if job.cancel.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let key = write_extra(job, &[], false).await?;
        app.exports.update(&job.object_prefix, |r| {
            r.files.push(key.clone());
            r.empty.push(key);
        });
    }
    for t in 0..job.settings.truncate_files {
        if job.cancel.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let lines = repeated_users(app, job, t);
        let key = write_extra(job, &lines, true).await?;
        app.exports.update(&job.object_prefix, |r| {
            r.files.push(key.clone());
            r.truncated.push(key);
        });
    }
    Ok(!job.cancel.load(Ordering::SeqCst))
}

/// Users per truncated file.
const TRUNCATED_USERS: usize = 3;

/// The lines of the `t`-th truncated file: a few members that the intact files hold too.
fn repeated_users(app: &App, job: &Job, t: usize) -> Vec<String> {
    let store = app.braze();
    let present: Vec<&String> = job
        .members
        .iter()
        .filter(|id| store.get(id).is_some())
        .collect();
    if present.is_empty() {
        return Vec::new();
    }
    (0..TRUNCATED_USERS.min(present.len()))
        .filter_map(|k| store.get(present[(t * TRUNCATED_USERS + k) % present.len()]))
        .map(|p| Value::Object(render::user(p, &job.fields, Style::Segment)).to_string())
        .collect()
}

/// Writes an extra one-member file holding `lines`, cut to half its bytes when `truncate`.
async fn write_extra(job: &Job, lines: &[String], truncate: bool) -> Result<String, String> {
    let name = uuid::Uuid::new_v4().simple().to_string();
    let members = archive::layout(job.format, &name, lines.len(), 1);
    let mut bytes = archive::encode(job.format, &members, lines);
    if truncate {
        bytes.truncate(bytes.len() / 2);
    }
    let key = format!("{}{name}{}", job.key_prefix, archive::extension(job.format));
    job.storage.put(&key, bytes, job.format).await?;
    Ok(key)
}
