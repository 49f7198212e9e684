//! The sandbox's segment exports against a real S3 (moto): Braze's key layout, zip and gzip
//! JSON Lines files, duplicates, requested fields only, the callback, 429 while running, cancel
//! ([`layout`]); the injected faults (malformed lines, multi-member zips, empty and truncated
//! files) exactly as recorded ([`faults`]); and the synthetic bulk generator's files
//! ([`synthetic`]). This file holds what they share: the stack and the line readers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_compression::tokio::bufread::GzipDecoder;
use async_zip::base::read1::seek::ZipArchiveReader;
use relay_tests::Moto;
use sandbox::{
    CallbackCatcher, ExportFormat, ExportRecord, ExportSettingsPatch, ExportState, Sandbox,
    SandboxConfig, SeedSegment, SyntheticExport,
};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

struct Stack {
    moto: Moto,
    bucket: String,
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl Stack {
    async fn start() -> Stack {
        let moto = Moto::start();
        let bucket = moto.create_bucket("braze-exports").await;
        let sandbox = sandbox::start(SandboxConfig {
            s3_endpoint: Some(moto.endpoint().to_owned()),
            export_bucket: Some(bucket.clone()),
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox starts");
        Stack {
            moto,
            bucket,
            sandbox,
            http: reqwest::Client::new(),
        }
    }

    async fn braze(&self, path: &str, body: Value) -> (u16, Value) {
        let info = self.sandbox.info();
        let resp = self
            .http
            .post(format!("{}{path}", info.braze))
            .bearer_auth(&info.braze_key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("braze answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    /// Every object key under `prefix`, sorted.
    async fn keys(&self, prefix: &str) -> Vec<String> {
        let listed = self
            .moto
            .s3_client()
            .await
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("list objects");
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    async fn download(&self, key: &str) -> Vec<u8> {
        self.moto
            .s3_client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .expect("get object")
            .body
            .collect()
            .await
            .expect("object body")
            .into_bytes()
            .to_vec()
    }
}

/// The JSON Lines inside one zip (every entry) or gzip file.
async fn lines_of(key: &str, bytes: Vec<u8>) -> Vec<Value> {
    let text = if key.ends_with(".zip") {
        use futures::io::AsyncReadExt as _;
        let mut zip = ZipArchiveReader::open(futures::io::Cursor::new(bytes))
            .await
            .expect("valid zip");
        let names: Vec<String> = zip
            .cdrs()
            .iter()
            .map(|cdr| {
                cdr.insecure_file_name
                    .as_str()
                    .expect("utf-8 name")
                    .to_owned()
            })
            .collect();
        assert!(!names.is_empty(), "{key} has no entry");
        let mut text = String::new();
        for (index, name) in names.iter().enumerate() {
            assert!(
                name.ends_with(".json") || name.ends_with(".jsonl"),
                "{name}"
            );
            let mut entry = zip.file(index).await.expect("entry");
            entry.read_to_string(&mut text).await.expect("entry text");
        }
        text
    } else {
        assert!(key.ends_with(".gz"), "{key}");
        let mut text = String::new();
        GzipDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .await
            .expect("valid gzip");
        text
    };
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// `YYYY-MM-DD` of a Unix time (UTC), days shifted.
fn utc_date(unix: i64, shift_days: i64) -> String {
    chrono::DateTime::from_timestamp(unix + shift_days * 86_400, 0)
        .expect("a representable time")
        .format("%Y-%m-%d")
        .to_string()
}

/// Checks `<uuid>-<unix seconds>` and returns the seconds.
fn prefix_timestamp(object_prefix: &str) -> i64 {
    let (uuid, seconds) = object_prefix.rsplit_once('-').expect("uuid-timestamp");
    assert_eq!(uuid.len(), 36, "{object_prefix}");
    seconds.parse().expect("unix seconds")
}

fn is_braze_timestamp(s: &str) -> bool {
    // "2020-07-10 15:00:00.000 UTC"
    let b = s.as_bytes();
    s.len() == 27
        && s.ends_with(" UTC")
        && b[4] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[19] == b'.'
}

/// Every entry of a zip in central-directory order: (name, text); a directory's text is empty.
async fn zip_entries(bytes: Vec<u8>) -> Result<Vec<(String, String)>, async_zip::error::ZipError> {
    use futures::io::AsyncReadExt as _;
    let mut zip = ZipArchiveReader::open(futures::io::Cursor::new(bytes)).await?;
    let names: Vec<String> = zip
        .cdrs()
        .iter()
        .map(|cdr| String::from_utf8_lossy(cdr.insecure_file_name.as_bytes()).into_owned())
        .collect();
    let mut entries = Vec::new();
    for (index, name) in names.into_iter().enumerate() {
        let mut text = String::new();
        zip.file(index)
            .await?
            .read_to_string(&mut text)
            .await
            .expect("entry text");
        entries.push((name, text));
    }
    Ok(entries)
}

/// Python's `zipfile` view of an archive: (name, is_dir) per entry, or None when it refuses it.
fn python_zip_listing(bytes: &[u8]) -> Option<Vec<(String, bool)>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = "import io, json, sys, zipfile\n\
        z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\n\
        print(json.dumps([[i.filename, i.is_dir()] for i in z.infolist()]))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("archive piped");
    let out = child.wait_with_output().expect("python3 ends");
    if !out.status.success() {
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).expect("listing JSON"))
}

/// A gzip file's text, or the error that stopped it.
async fn gunzip(bytes: &[u8]) -> Result<String, std::io::Error> {
    let mut text = String::new();
    GzipDecoder::new(bytes).read_to_string(&mut text).await?;
    Ok(text)
}

/// One line of an intact export file: where it is and what it says.
struct Line {
    key: String,
    number: u64,
    member: Option<String>,
    text: String,
}

/// The lines of one intact file, numbered across its members in member order.
async fn numbered_lines(key: &str, bytes: Vec<u8>) -> Vec<Line> {
    let members: Vec<(Option<String>, String)> = if key.ends_with(".zip") {
        zip_entries(bytes)
            .await
            .expect("intact zip")
            .into_iter()
            .filter(|(name, _)| !name.ends_with('/'))
            .map(|(name, text)| (Some(name), text))
            .collect()
    } else {
        vec![(None, gunzip(&bytes).await.expect("intact gzip"))]
    };
    let mut lines = Vec::new();
    for (member, text) in members {
        for line in text.lines() {
            lines.push(Line {
                key: key.to_owned(),
                number: lines.len() as u64 + 1,
                member: member.clone(),
                text: line.to_owned(),
            });
        }
    }
    lines
}

/// Starts an export of `segment` and waits for its finished record and callback.
async fn export_and_wait(stack: &Stack, segment: &str, format: &str) -> ExportRecord {
    let catcher = CallbackCatcher::start().await.expect("callback server");
    let (status, answer) = stack
        .braze(
            "/users/export/segment",
            json!({
                "segment_id": segment,
                "callback_endpoint": catcher.url(),
                "fields_to_export": ["external_id", "braze_id"],
                "output_format": format,
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert!(catcher.next(Duration::from_secs(30)).await.is_some());
    let record = stack
        .sandbox
        .admin()
        .wait_for_export(
            answer["object_prefix"].as_str().expect("prefix"),
            Duration::from_secs(30),
        )
        .await
        .expect("export finishes");
    assert_eq!(record.state, ExportState::Completed, "{:?}", record.error);
    record
}

/// Checks every line of the intact files against `record.injected`: an injected line is there
/// with its text and member, every other line is a user; returns the braze_ids seen (with
/// repeats) and the export-wide positions of the bad lines.
async fn check_intact_files(stack: &Stack, record: &ExportRecord) -> (Vec<String>, Vec<u64>) {
    let mut users = Vec::new();
    let mut bad_positions = Vec::new();
    let mut matched = 0;
    let mut position = 0u64;
    for key in &record.files {
        if record.empty.contains(key) || record.truncated.contains(key) {
            continue;
        }
        for line in numbered_lines(key, stack.download(key).await).await {
            position += 1;
            let injected = record
                .injected
                .iter()
                .find(|i| i.key == line.key && i.line == line.number);
            match injected {
                Some(i) => {
                    assert_eq!(i.text, line.text, "{key} line {}", line.number);
                    assert_eq!(i.member, line.member, "{key} line {}", line.number);
                    matched += 1;
                    bad_positions.push(position);
                }
                None => {
                    let user: Value = serde_json::from_str(&line.text).unwrap_or_else(|e| {
                        panic!("{key} line {} not injected yet bad ({e})", line.number)
                    });
                    assert!(user["external_id"].is_string() || user["external_id"].is_null());
                    users.push(user["braze_id"].as_str().expect("braze_id").to_owned());
                }
            }
        }
    }
    assert_eq!(matched, record.injected.len(), "every injected line found");
    (users, bad_positions)
}

mod faults;
mod layout;
mod synthetic;
