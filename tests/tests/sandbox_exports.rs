//! The sandbox's segment exports against a real S3 (moto): Braze's key layout, zip and gzip
//! JSON Lines files, duplicates, requested fields only, the callback, 429 while running, cancel;
//! the injected faults (malformed lines, multi-member zips, empty and truncated files) exactly as
//! recorded; and the synthetic bulk generator's files.

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

#[tokio::test]
async fn when_a_zip_export_completes_then_files_follow_brazes_layout_and_hold_every_user() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(40),
            duplicate_every: Some(25),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-zip", 100))
        .await
        .expect("seeded");
    let catcher = CallbackCatcher::start().await.expect("callback server");
    let fields = [
        "external_id",
        "braze_id",
        "user_aliases",
        "email",
        "created_at",
        "custom_attributes",
    ];

    let (status, answer) = stack
        .braze(
            "/users/export/segment",
            json!({
                "segment_id": "seg-zip",
                "callback_endpoint": format!("{}/braze/export-callback?job=j1&sig=abc", catcher.url()),
                "fields_to_export": fields,
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["message"], "success");
    assert!(answer["url"].is_null());
    let object_prefix = answer["object_prefix"]
        .as_str()
        .expect("object_prefix")
        .to_owned();
    let timestamp = prefix_timestamp(&object_prefix);

    let callback = catcher
        .next(Duration::from_secs(30))
        .await
        .expect("callback arrives");
    assert_eq!(
        callback.path_and_query,
        "/braze/export-callback?job=j1&sig=abc"
    );
    assert_eq!(callback.content_type.as_deref(), Some("application/json"));
    assert_eq!(callback.json().expect("JSON"), json!({"success": true}));

    let keys = stack.keys("segment-export/seg-zip/").await;
    assert_eq!(keys.len(), 3, "100 users at 40 per file: {keys:?}");
    let folder = format!(
        "segment-export/seg-zip/{}/{object_prefix}/",
        utc_date(timestamp, 0)
    );
    for key in &keys {
        let name = key
            .strip_prefix(&folder)
            .unwrap_or_else(|| panic!("{key} not under {folder}"));
        assert!(name.ends_with(".zip") && !name.contains('/'), "{key}");
    }

    let record = admin
        .wait_for_export(&object_prefix, Duration::from_secs(10))
        .await
        .expect("export finishes");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.callback_status, Some(200));
    let mut recorded = record.files.clone();
    recorded.sort();
    assert_eq!(recorded, keys);

    // Read the files in the order they were written.
    let mut per_file: Vec<Vec<Value>> = Vec::new();
    for key in &record.files {
        per_file.push(lines_of(key, stack.download(key).await).await);
    }
    let all: Vec<&Value> = per_file.iter().flatten().collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &all {
        *seen
            .entry(line["braze_id"].as_str().expect("braze_id"))
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 100, "every member once");
    assert_eq!(all.len(), 104, "members 25, 50, 75 and 100 appear twice");
    assert_eq!(seen.values().filter(|n| **n == 2).count(), 4);
    assert_eq!(record.users, 100);
    assert_eq!(record.lines, 104);
    // The duplicate of member 25 (file 1) lands in file 2.
    let member_25 = per_file[0][24]["braze_id"].clone();
    assert!(per_file[1].iter().any(|l| l["braze_id"] == member_25));

    let allowed: BTreeSet<&str> = fields.into_iter().collect();
    for line in &all {
        let obj = line.as_object().expect("object line");
        assert!(obj.keys().all(|k| allowed.contains(k.as_str())), "{line}");
        assert!(
            is_braze_timestamp(line["created_at"].as_str().expect("created_at")),
            "{line}"
        );
        assert!(
            obj.contains_key("external_id") || obj.contains_key("user_aliases"),
            "{line}"
        );
    }
    assert!(
        all.iter().any(|l| l.get("external_id").is_none()),
        "alias-only users exported"
    );
    let seats: BTreeSet<&str> = all
        .iter()
        .filter_map(|l| l["custom_attributes"].get("seats"))
        .map(|v| if v.is_string() { "string" } else { "number" })
        .collect();
    assert_eq!(
        seats,
        BTreeSet::from(["number", "string"]),
        "stored types kept"
    );
}

#[tokio::test]
async fn when_a_gzip_export_runs_with_a_shifted_date_then_the_folder_is_that_day() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            date_shift_days: Some(1),
            duplicate_every: Some(0),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-gz", 30))
        .await
        .expect("seeded");
    let removed = admin
        .braze_users(&sandbox::BrazeUserQuery {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .expect("users");
    let removed_ids: Vec<String> = removed.users.iter().map(|u| u.braze_id.clone()).collect();
    let (status, _) = stack
        .braze("/users/delete", json!({"braze_ids": removed_ids}))
        .await;
    assert_eq!(status, 201);
    let catcher = CallbackCatcher::start().await.expect("callback server");

    let (status, answer) = stack
        .braze(
            "/users/export/segment",
            json!({
                "segment_id": "seg-gz",
                "callback_endpoint": catcher.url(),
                "fields_to_export": ["braze_id", "first_name"],
                "custom_attributes_to_export": ["plan"],
                "output_format": "gzip",
            }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let object_prefix = answer["object_prefix"]
        .as_str()
        .expect("object_prefix")
        .to_owned();
    let callback = catcher
        .next(Duration::from_secs(30))
        .await
        .expect("callback");
    assert_eq!(callback.json().expect("JSON"), json!({"success": true}));

    let keys = stack.keys("segment-export/seg-gz/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let tomorrow = utc_date(prefix_timestamp(&object_prefix), 1);
    assert!(
        keys[0].starts_with(&format!(
            "segment-export/seg-gz/{tomorrow}/{object_prefix}/"
        )),
        "{} vs {tomorrow}",
        keys[0]
    );
    let lines = lines_of(&keys[0], stack.download(&keys[0]).await).await;
    assert_eq!(lines.len(), 28, "deleted members are left out");
    for line in &lines {
        let custom = line["custom_attributes"]
            .as_object()
            .expect("custom_attributes");
        assert_eq!(custom.keys().collect::<Vec<_>>(), vec!["plan"]);
        assert!(line["first_name"].is_string());
        assert!(!removed_ids.iter().any(|id| line["braze_id"] == id.as_str()));
    }
}

#[tokio::test]
async fn when_an_export_is_running_then_a_second_one_gets_429_and_cancel_stops_it() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(10),
            file_delay_ms: Some(400),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-slow", 60))
        .await
        .expect("seeded");
    let catcher = CallbackCatcher::start().await.expect("callback server");
    let request = json!({
        "segment_id": "seg-slow",
        "callback_endpoint": catcher.url(),
        "fields_to_export": ["braze_id"],
    });

    let (status, first) = stack.braze("/users/export/segment", request.clone()).await;
    assert_eq!(status, 201);
    let (status, second) = stack.braze("/users/export/segment", request.clone()).await;
    assert_eq!(status, 429, "{second}");
    let (status, cancelled) = stack
        .braze("/export/segment/cancel", json!({"segment_id": "seg-slow"}))
        .await;
    assert_eq!(status, 200, "{cancelled}");

    let object_prefix = first["object_prefix"].as_str().expect("object_prefix");
    let record = admin
        .wait_for_export(object_prefix, Duration::from_secs(10))
        .await
        .expect("export stops");
    assert_eq!(record.state, ExportState::Cancelled);
    assert!(record.files.len() < 6, "{:?}", record.files);
    assert!(
        catcher.next(Duration::from_millis(800)).await.is_none(),
        "no callback"
    );

    admin
        .set_export_settings(ExportSettingsPatch {
            file_delay_ms: Some(0),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    let (status, _) = stack.braze("/users/export/segment", request).await;
    assert_eq!(status, 201, "a new export may start once the first stopped");
    assert!(catcher.next(Duration::from_secs(30)).await.is_some());
}

#[tokio::test]
async fn when_the_callback_endpoint_fails_then_the_export_still_completes_and_records_it() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .seed_segment(&SeedSegment::new("seg-cb", 5))
        .await
        .expect("seeded");
    let catcher = CallbackCatcher::start_answering(reqwest::StatusCode::UNAUTHORIZED)
        .await
        .expect("callback server");
    let (status, answer) = stack
        .braze(
            "/users/export/segment",
            json!({"segment_id": "seg-cb", "callback_endpoint": catcher.url(), "fields_to_export": ["braze_id"]}),
        )
        .await;
    assert_eq!(status, 201);
    let record = admin
        .wait_for_export(
            answer["object_prefix"].as_str().expect("prefix"),
            Duration::from_secs(30),
        )
        .await
        .expect("finishes");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.callback_status, Some(401));
    assert!(record.error.as_deref().is_some_and(|e| e.contains("401")));
    assert_eq!(record.files.len(), 1);
}

/// relay-core's Braze client starts the export the way `relay export start` will: files land
/// under the prefix Braze answered, the callback arrives, and a running export can be cancelled.
#[tokio::test]
async fn when_the_braze_client_starts_an_export_then_its_files_and_callback_follow() {
    use relay_clients::braze::{BrazeClient, BrazeConfig, BrazeEndpoint, OutputFormat};
    use secrecy::SecretString;

    let stack = Stack::start().await;
    let info = stack.sandbox.info();
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(50),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-client", 120))
        .await
        .expect("seeded");
    let endpoint = BrazeEndpoint::parse(&info.braze, true).expect("sandbox endpoint");
    let config = BrazeConfig::new(endpoint, SecretString::from(info.braze_key.clone()));
    let braze = BrazeClient::new(config, reqwest::Client::new()).expect("client");
    let catcher = CallbackCatcher::start().await.expect("callback server");

    let started = braze
        .export_segment("seg-client")
        .fields(["external_id", "braze_id", "email"])
        .output_format(OutputFormat::Gzip)
        .callback_endpoint(catcher.url())
        .send()
        .await
        .expect("export started");

    prefix_timestamp(&started.object_prefix);
    let callback = catcher
        .next(Duration::from_secs(20))
        .await
        .expect("callback arrives");
    assert_eq!(
        callback.json().expect("JSON callback"),
        json!({"success": true})
    );
    let keys = stack.keys("segment-export/seg-client/").await;
    assert_eq!(keys.len(), 3, "120 users at 50 per file: {keys:?}");
    for key in &keys {
        let folder = key.rsplit('/').nth(1).expect("prefix folder");
        assert_eq!(folder, started.object_prefix, "{key}");
        assert!(key.ends_with(".gz"), "{key}");
    }

    admin
        .set_export_settings(ExportSettingsPatch {
            file_delay_ms: Some(2_000),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    let running = braze
        .export_segment("seg-client")
        .fields(["external_id"])
        .send()
        .await
        .expect("second export started");
    braze
        .cancel_segment_export("seg-client")
        .await
        .expect("cancelled");
    let record = admin
        .wait_for_export(&running.object_prefix, Duration::from_secs(20))
        .await
        .expect("export record");
    assert_eq!(record.state, ExportState::Cancelled);
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

#[tokio::test]
async fn when_zip_faults_are_set_then_files_hold_them_exactly_as_recorded() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(25),
            duplicate_every: Some(0),
            malformed_every: Some(7),
            members_per_zip: Some(3),
            empty_files: Some(1),
            truncate_files: Some(1),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-faults", 60))
        .await
        .expect("seeded");

    let record = export_and_wait(&stack, "seg-faults", "zip").await;
    assert_eq!(record.files.len(), 5, "3 intact + 1 empty + 1 truncated");
    assert_eq!((record.empty.len(), record.truncated.len()), (1, 1));
    assert!(record.files.contains(&record.empty[0]));
    assert!(record.files.contains(&record.truncated[0]));
    let mut recorded = record.files.clone();
    recorded.sort();
    assert_eq!(stack.keys("segment-export/seg-faults/").await, recorded);

    // 60 users + k bad lines, a bad line at every 7th position: k = 9 (69 lines).
    let (users, bad_positions) = check_intact_files(&stack, &record).await;
    assert_eq!(record.injected.len(), 9);
    assert_eq!(bad_positions, (1..=9).map(|k| k * 7).collect::<Vec<u64>>());
    let kinds: Vec<&str> = record.injected[..4]
        .iter()
        .map(|i| i.text.as_str())
        .collect();
    assert_eq!(&kinds[..3], [r#"{"external_id":"x"#, "[1,2]", "not json"]);
    assert!(kinds[3].starts_with(r#"{"external_id":{"a":1},"braze_id":""#));
    assert_eq!(users.len(), 60, "no user lost to a bad line");
    assert_eq!(users.iter().collect::<BTreeSet<_>>().len(), 60);
    assert_eq!(record.lines, 60);
    assert_eq!(record.users, 60);

    let intact = &record.files[0];
    let bytes = stack.download(intact).await;
    let entries = zip_entries(bytes.clone()).await.expect("zip");
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "data/",
            "data/part-1.json",
            "data/part-2.txt",
            "data/part-3.json"
        ]
    );
    assert_eq!(
        python_zip_listing(&bytes).expect("python reads it"),
        vec![
            ("data/".to_owned(), true),
            ("data/part-1.json".to_owned(), false),
            ("data/part-2.txt".to_owned(), false),
            ("data/part-3.json".to_owned(), false),
        ]
    );

    let empty = zip_entries(stack.download(&record.empty[0]).await)
        .await
        .expect("empty zip is valid");
    assert_eq!(empty.len(), 1);
    assert!(empty[0].0.ends_with(".json") && empty[0].1.is_empty());

    let truncated = stack.download(&record.truncated[0]).await;
    assert!(!truncated.is_empty());
    assert!(zip_entries(truncated.clone()).await.is_err(), "cut archive");
    assert_eq!(python_zip_listing(&truncated), None);
}

#[tokio::test]
async fn when_gzip_faults_are_set_then_bad_lines_empty_and_cut_files_match_the_record() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(10),
            duplicate_every: Some(0),
            malformed_every: Some(5),
            members_per_zip: Some(4),
            empty_files: Some(2),
            truncate_files: Some(2),
            ..ExportSettingsPatch::default()
        })
        .await
        .expect("settings");
    admin
        .seed_segment(&SeedSegment::new("seg-gz-faults", 30))
        .await
        .expect("seeded");

    let record = export_and_wait(&stack, "seg-gz-faults", "gzip").await;
    assert_eq!(record.files.len(), 7, "3 intact + 2 empty + 2 truncated");
    let (users, bad_positions) = check_intact_files(&stack, &record).await;
    assert!(
        record.injected.iter().all(|i| i.member.is_none()),
        "gzip has no members"
    );
    // 30 users + 7 bad lines (37 lines): positions 5, 10, .., 35.
    assert_eq!(bad_positions, (1..=7).map(|k| k * 5).collect::<Vec<u64>>());
    let intact: BTreeSet<String> = users.iter().cloned().collect();
    assert_eq!((users.len(), intact.len()), (30, 30));

    for key in &record.empty {
        let bytes = stack.download(key).await;
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a real gzip");
        assert_eq!(gunzip(&bytes).await.expect("valid gzip"), "");
    }
    for key in &record.truncated {
        let bytes = stack.download(key).await;
        assert!(gunzip(&bytes).await.is_err(), "{key} is cut");
        // Whatever inflates before the cut is users the intact files hold too.
        let mut partial = Vec::new();
        let _ = GzipDecoder::new(&bytes[..]).read_to_end(&mut partial).await;
        for line in String::from_utf8_lossy(&partial).lines() {
            if let Ok(user) = serde_json::from_str::<Value>(line) {
                let id = user["braze_id"].as_str().expect("braze_id");
                assert!(intact.contains(id), "{id} only in a truncated file");
            }
        }
    }
}

#[tokio::test]
async fn when_a_synthetic_export_is_written_then_files_records_and_callback_follow() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    let catcher = CallbackCatcher::start().await.expect("callback server");
    let request = SyntheticExport {
        users_per_file: 400,
        seed: 11,
        members_per_zip: 2,
        callback_endpoint: Some(format!("{}/cb?job=bench", catcher.url())),
        ..SyntheticExport::new("bench-seg", 1_050)
    };
    let started = admin.synthetic_export(&request).await.expect("written");
    assert_eq!(started.users, 1_050);
    assert_eq!(started.files.len(), 3, "400 + 400 + 250");
    let mut keys = started.files.clone();
    keys.sort();
    assert_eq!(stack.keys("segment-export/bench-seg/").await, keys);
    let timestamp = prefix_timestamp(&started.object_prefix);
    let folder = format!(
        "segment-export/bench-seg/{}/{}/",
        utc_date(timestamp, 0),
        started.object_prefix
    );
    assert!(
        started
            .files
            .iter()
            .all(|k| k.starts_with(&folder) && k.ends_with(".zip"))
    );

    let callback = catcher
        .next(Duration::from_secs(20))
        .await
        .expect("callback");
    assert_eq!(callback.path_and_query, "/cb?job=bench");
    assert_eq!(callback.json().expect("JSON"), json!({"success": true}));
    let record = admin
        .wait_for_export(&started.object_prefix, Duration::from_secs(10))
        .await
        .expect("recorded");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.callback_status, Some(200));
    assert_eq!(record.files, started.files);
    assert_eq!((record.users, record.lines), (1_050, 1_050));
    assert_eq!(record.output_format, "zip");

    let first = stack.download(&started.files[0]).await;
    assert_eq!(
        first,
        sandbox::synthetic_export_file(0, 400, 11, ExportFormat::Zip, 2),
        "the route writes what the pure generator makes"
    );
    let mut ids = Vec::new();
    let mut bytes = 0;
    for key in &started.files {
        for line in numbered_lines(key, stack.download(key).await).await {
            bytes += line.text.len();
            let user: Value = serde_json::from_str(&line.text).expect("JSON user");
            assert!(is_braze_timestamp(
                user["created_at"].as_str().expect("created_at")
            ));
            ids.push(
                user["external_id"]
                    .as_str()
                    .expect("external_id")
                    .to_owned(),
            );
        }
    }
    let expected: Vec<String> = (0..1_050).map(|i| format!("bench-{i:08}")).collect();
    assert_eq!(ids, expected);
    assert!(
        (800..1400).contains(&(bytes / ids.len())),
        "{} bytes a line",
        bytes / ids.len()
    );
}

#[tokio::test]
async fn when_a_synthetic_gzip_export_has_no_callback_then_it_is_completed_when_answered() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    let request = SyntheticExport {
        users_per_file: 100,
        output_format: ExportFormat::Gzip,
        ..SyntheticExport::new("bench-gz", 250)
    };
    let started = admin.synthetic_export(&request).await.expect("written");
    let record = admin
        .exports()
        .await
        .expect("exports")
        .into_iter()
        .find(|r| r.object_prefix == started.object_prefix)
        .expect("recorded");
    assert_eq!(record.state, ExportState::Completed);
    assert_eq!(record.files.len(), 3);
    let mut lines = 0;
    for key in &started.files {
        assert!(key.ends_with(".gz"), "{key}");
        lines += gunzip(&stack.download(key).await)
            .await
            .expect("gzip")
            .lines()
            .count();
    }
    assert_eq!(lines, 250);
}
