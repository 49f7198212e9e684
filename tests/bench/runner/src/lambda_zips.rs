//! The deployable Lambda zips, cold: each function's `target/lambda/<function>/bootstrap.zip`
//! as `make build` (cargo lambda) writes it, its `bootstrap` extracted with mode 0755 into a
//! temporary folder as Lambda unpacks it, then run by the cold-start machinery
//! ([`cold_start::measure`]): exec against a fresh loopback Runtime API with the function's
//! configuration against the sandbox and moto, one realistic event, the response checked,
//! `VmHWM` read, the process killed by its PID. The four functions alternate, after one
//! unrecorded warm-up each. The peak RSS figures are what the SAM template's memory sizes
//! rest on.
//!
//! After the runs, the bench checks the workers did the work their empty `batchItemFailures`
//! claims: the sync-worker's contacts are in the sandbox's Braze and Userflow, and the
//! deletion-worker's receipts are in the state bucket.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use relay_core::aws::s3_client;
use relay_core::contact::{Company, Contact};
use relay_core::erasure::receipt::receipt_key;
use relay_core::erasure::{ErasureRequest, RequestId, Subject};
use relay_core::jobs::{ContactsJob, Job, ParkedContact};
use relay_core::store::{ObjectStore, S3Store};
use relay_lambda::problem::PROBLEM_TYPE_PREFIX;
use relay_tests::exports::callback_event;
use relay_tests::lambda_zip::{read_bootstrap, write_executable, zip_path};
use relay_tests::sqs::sqs_event;
use serde_json::Value;

use crate::cold_start::{self, Check, Sample, Target};
use crate::export_setup::CALLBACK_SECRET;
use crate::report::ms;
use crate::stack::Stack;
use crate::stats::Samples;

/// The functions `make build` zips, in the report's order.
pub const FUNCTIONS: [Function; 4] = [
    Function::CrmSignup,
    Function::ExportCallback,
    Function::SyncWorker,
    Function::DeletionWorker,
];

/// One of the relay's four Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The CRM webhooks (API Gateway).
    CrmSignup,
    /// Braze's export callback (API Gateway).
    ExportCallback,
    /// The sync queue (SQS).
    SyncWorker,
    /// The erasure queue (SQS).
    DeletionWorker,
}

impl Function {
    /// Its package and zip folder name, and `AWS_LAMBDA_FUNCTION_NAME` here.
    pub fn name(self) -> &'static str {
        match self {
            Function::CrmSignup => "crm-signup",
            Function::ExportCallback => "export-callback",
            Function::SyncWorker => "sync-worker",
            Function::DeletionWorker => "deletion-worker",
        }
    }

    /// The event each run hands it and the answer required, for the report.
    pub fn event_described(self) -> &'static str {
        match self {
            Function::CrmSignup => {
                "API Gateway v2 `POST /webhooks/standard-webhooks`, the cold-start event (1 \
                 contact, Standard Webhooks-signed): 200, `accepted` 1"
            }
            Function::ExportCallback => {
                "API Gateway v2 `POST /braze/export-callback`, unsigned: 401 problem \
                 `callback-unauthorized`"
            }
            Function::SyncWorker => {
                "SQS, 1 record: a `contacts` job of 2 new contacts (a signup, an update; with \
                 company): Braze, 3 Userflow requests, marker on moto; no `batchItemFailures`"
            }
            Function::DeletionWorker => {
                "SQS, 1 record: an erasure of an unknown external id: 1 Braze lookup, 1 \
                 Userflow delete, receipt on moto; no `batchItemFailures`"
            }
        }
    }
}

/// One function's deployable zip, found.
#[derive(Debug, Clone)]
pub struct LambdaZip {
    /// The function.
    pub function: Function,
    /// `<target>/lambda/<function>/bootstrap.zip`.
    pub path: PathBuf,
    /// The zip's size in bytes.
    pub bytes: u64,
    /// When it was written (its modification time): which build it is.
    pub written: Option<DateTime<Utc>>,
}

/// Finds every function's zip in `lambda_dir` (`<target>/lambda`). A missing zip is an error
/// saying to run `make build`.
pub fn find(lambda_dir: &Path) -> Result<Vec<LambdaZip>, String> {
    FUNCTIONS
        .iter()
        .map(|&function| {
            let path = zip_path(lambda_dir, function.name());
            let metadata = std::fs::metadata(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    format!("`{}` not found: run make build first", shown(&path))
                } else {
                    format!("cannot read `{}`: {e}", shown(&path))
                }
            })?;
            Ok(LambdaZip {
                function,
                bytes: metadata.len(),
                written: metadata.modified().ok().map(DateTime::<Utc>::from),
                path,
            })
        })
        .collect()
}

/// `path` relative to the workspace root when it is inside it (`target/lambda/...`).
fn shown(path: &Path) -> String {
    let root = relay_tests::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One function's measurement.
#[derive(Debug, Clone)]
pub struct ZipResult {
    /// The zip measured.
    pub zip: LambdaZip,
    /// One sample per run.
    pub samples: Vec<Sample>,
}

/// What the benchmark measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Recorded runs per function.
    pub runs: usize,
    /// Per function, in [`FUNCTIONS`] order.
    pub results: Vec<ZipResult>,
}

/// A temporary folder, removed with what it holds when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> Result<ScratchDir, String> {
        let path = std::env::temp_dir().join(relay_tests::unique_name("relay-bench-zips"));
        std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs every zip `runs` times cold (after one unrecorded warm-up each), then checks the
/// workers' work reached the sandbox and moto.
pub async fn measure(stack: &Stack, zips: Vec<LambdaZip>, runs: usize) -> Result<Outcome, String> {
    let scratch = ScratchDir::create()?;
    let export_bucket = stack.moto.create_bucket("relay-bench-zip-exports").await;
    // Ids unique to this run of the bench: a failed check cannot be satisfied by an earlier
    // run's contacts or receipts.
    let nonce = crate::events::now_millis();
    let mut targets = Vec::with_capacity(zips.len());
    for zip in &zips {
        let folder = scratch.0.join(zip.function.name());
        let bootstrap = extract_bootstrap(&zip.path, &folder)
            .await
            .map_err(|e| format!("{}: {e}", shown(&zip.path)))?;
        targets.push(target(
            zip.function,
            bootstrap,
            stack,
            &export_bucket,
            nonce,
        ));
    }
    // One unrecorded run each: checks the setup end to end and warms the page cache.
    for target in &targets {
        cold_start::run_once(target, 0)
            .await
            .map_err(|e| format!("{} (zip) warm-up run: {e}", target.label))?;
    }
    eprintln!(
        "relay-bench: lambda zips, {runs} cold runs each of {}",
        FUNCTIONS.map(Function::name).join(", ")
    );
    let samples = cold_start::measure(&targets, runs)
        .await
        .map_err(|e| format!("(zip) {e}"))?;
    check_deliveries(stack, nonce, runs).await?;
    check_receipts(stack, nonce, runs).await?;
    let results = zips
        .into_iter()
        .zip(samples)
        .map(|(zip, samples)| ZipResult { zip, samples })
        .collect();
    Ok(Outcome { runs, results })
}

/// Extracts the zip's `bootstrap` ([`read_bootstrap`]: the zip's one entry, executable by
/// everyone, its CRC checked) to `folder/bootstrap` (`folder` is created) with mode 0755, as
/// Lambda unpacks it; returns its path.
async fn extract_bootstrap(zip: &Path, folder: &Path) -> Result<PathBuf, String> {
    let bootstrap = read_bootstrap(zip).await?;
    std::fs::create_dir(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let path = folder.join("bootstrap");
    write_executable(&path, &bootstrap)?;
    Ok(path)
}

/// The function's configuration against `stack` (on top of what Lambda sets): the vendors,
/// the state bucket, the sync queue and crm-signup's sources as in the cold-start benchmark,
/// plus the export bucket and the callback secret.
fn function_env(stack: &Stack, export_bucket: &str) -> Vec<(String, String)> {
    let mut env = stack.crm_signup_env();
    env.push(("EXPORT_BUCKET".to_owned(), export_bucket.to_owned()));
    env.push((
        "EXPORT_CALLBACK_SECRET".to_owned(),
        CALLBACK_SECRET.to_owned(),
    ));
    env
}

/// The cold-start target of `function`'s extracted `bootstrap`: its event and its check.
fn target(
    function: Function,
    bootstrap: PathBuf,
    stack: &Stack,
    export_bucket: &str,
    nonce: u128,
) -> Target {
    let (event, check): (Box<dyn Fn(usize) -> Value>, Check) = match function {
        Function::CrmSignup => (
            crate::standard_event(stack, "zip"),
            crate::crm_signup_check(),
        ),
        Function::ExportCallback => (
            Box::new(|_| callback_event("", r#"{"success": true}"#)),
            problem_check(401, "callback-unauthorized"),
        ),
        Function::SyncWorker => (
            Box::new(move |run| {
                let body = contacts_job(&contact_ids(nonce, run), nonce, run);
                sqs_event(&[(&message_id(nonce, run), &body)])
            }),
            no_batch_item_failures(),
        ),
        Function::DeletionWorker => (
            Box::new(move |run| {
                let body = ErasureRequest {
                    request_id: erasure_id(nonce, run),
                    subject: Subject::ExternalId(format!("zip-unknown-{nonce}-{run}")),
                    requested_at: Utc::now(),
                    origin: "relay-bench lambda-zips".to_owned(),
                }
                .encode();
                sqs_event(&[(&message_id(nonce, run), &body)])
            }),
            no_batch_item_failures(),
        ),
    };
    Target {
        label: function.name().to_owned(),
        function_name: function.name(),
        path: bootstrap,
        env: function_env(stack, export_bucket),
        event,
        check,
    }
}

/// An SQS message id (a UUID's shape) for run `run`.
fn message_id(nonce: u128, run: usize) -> String {
    format!("{:08x}-0000-4000-8000-{run:012x}", nonce as u32)
}

/// The external ids of the sync-worker's two contacts in run `run`.
fn contact_ids(nonce: u128, run: usize) -> [String; 2] {
    ["signup", "update"].map(|kind| format!("zip-{nonce}-{run}-{kind}"))
}

/// The deletion-worker's request id in run `run`.
fn erasure_id(nonce: u128, run: usize) -> RequestId {
    RequestId::new(format!("zip-{nonce}-{run}")).expect("letters, digits and `-` only")
}

/// A `contacts` job as crm-signup parks it: a HubSpot signup and an update of another
/// contact of the same company.
fn contacts_job(ids: &[String; 2], nonce: u128, run: usize) -> String {
    let now = Utc::now();
    let contacts = ids
        .iter()
        .zip([true, false])
        .map(|(id, is_signup)| {
            let mut contact = Contact::new(id.as_str());
            contact.email = Some(format!("{id}@example.com"));
            contact.first_name = Some("Bench".to_owned());
            contact.last_name = Some(if is_signup { "Signup" } else { "Update" }.to_owned());
            contact.country = Some("DE".to_owned());
            contact.language = Some("de".to_owned());
            contact.time_zone = Some("Europe/Berlin".to_owned());
            contact.company = Some(Company {
                id: Some(format!("company-{nonce}")),
                name: Some("Bench GmbH".to_owned()),
                plan: Some("team".to_owned()),
            });
            contact.signed_up_at = is_signup.then_some(now);
            ParkedContact { is_signup, contact }
        })
        .collect();
    Job::Contacts(ContactsJob {
        source: "hubspot".to_owned(),
        request_id: format!("bench-zip-{nonce}-{run}"),
        received_at: now,
        contacts,
    })
    .encode()
}

/// An SQS function's answer must be `{"batchItemFailures": []}`.
fn no_batch_item_failures() -> Check {
    Box::new(
        |payload| match payload.get("batchItemFailures").and_then(Value::as_array) {
            Some(failures) if failures.is_empty() => Ok(()),
            Some(failures) => Err(format!(
                "expected no batch item failures, got {}",
                failures.len()
            )),
            None => Err("expected `batchItemFailures` in the response".into()),
        },
    )
}

/// An API Gateway v2 answer must be the `application/problem+json` problem `slug` with
/// `status`.
fn problem_check(status: u16, slug: &'static str) -> Check {
    Box::new(move |payload| {
        let got = payload.get("statusCode").and_then(Value::as_u64);
        if got != Some(u64::from(status)) {
            return Err(format!("expected statusCode {status}, got {got:?}"));
        }
        let content_type = payload
            .pointer("/headers/content-type")
            .and_then(Value::as_str);
        if content_type != Some("application/problem+json") {
            return Err(format!(
                "expected content-type application/problem+json, got {content_type:?}"
            ));
        }
        let body = payload.get("body").and_then(Value::as_str).unwrap_or("");
        let problem: Value =
            serde_json::from_str(body).map_err(|e| format!("the body is not problem JSON: {e}"))?;
        let expected = format!("{PROBLEM_TYPE_PREFIX}{slug}");
        if problem.get("type").and_then(Value::as_str) != Some(expected.as_str()) {
            return Err(format!("expected problem type {expected}"));
        }
        Ok(())
    })
}

/// Every contact the sync-worker was handed (warm-up included) is in the sandbox's Braze and
/// Userflow: the empty `batchItemFailures` did not come from parking them again.
async fn check_deliveries(stack: &Stack, nonce: u128, runs: usize) -> Result<(), String> {
    let admin = stack.sandbox.admin();
    let sandbox = |e: sandbox::AdminError| format!("sandbox: {e}");
    let mut missing = Vec::new();
    for run in 0..=runs {
        for id in contact_ids(nonce, run) {
            let in_braze = admin.braze_user(&id).await.map_err(sandbox)?.is_some();
            let in_userflow = admin.userflow_user(&id).await.map_err(sandbox)?.is_some();
            if !(in_braze && in_userflow) {
                missing.push(id);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "sync-worker (zip): {} of {} contacts did not reach both the sandbox's Braze and \
             Userflow: {}",
            missing.len(),
            2 * (runs + 1),
            missing.join(", ")
        ))
    }
}

/// Every erasure the deletion-worker was handed (warm-up included) has its receipt in the
/// state bucket.
async fn check_receipts(stack: &Stack, nonce: u128, runs: usize) -> Result<(), String> {
    let sdk = stack.moto.sdk_config().await;
    let state = S3Store::new(s3_client(&sdk), stack.bucket.clone());
    let keys = state
        .list("erasure/")
        .await
        .map_err(|e| format!("listing erasure/ in the state bucket: {e}"))?;
    let missing: Vec<String> = (0..=runs)
        .map(|run| receipt_key(&erasure_id(nonce, run)))
        .filter(|key| !keys.contains(key))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "deletion-worker (zip): {} of {} receipts are not in the state bucket: {}",
            missing.len(),
            runs + 1,
            missing.join(", ")
        ))
    }
}

/// Appends the benchmark's section; `command` is how the run was started.
pub fn render(w: &mut String, outcome: &Outcome, command: &str) {
    let _ = writeln!(
        w,
        "\n## Lambda zips: cold start and peak RSS of each deployable function\n\n\
         `{command}`\n\n\
         Each function's `target/lambda/<function>/bootstrap.zip` as `make build` wrote it \
         (cargo lambda, release; {written}), its `bootstrap` extracted (mode 0755) and exec'd \
         as in the cold-start benchmark: Lambda's environment (128 MB announced, not \
         enforced), the function's configuration against the sandbox and moto (plain values, \
         no Secrets Manager), a fresh loopback Runtime API, one event, the response checked, \
         `VmHWM` read right after the response, the process killed by its PID. {runs} runs \
         each, the four functions alternating, after one unrecorded warm-up each. *init* is \
         exec to the first `/invocation/next`; *first invocation* is the event handed out to \
         its `/response`; it includes the relay's default pacing (`USERFLOW_RATE` 10: \
         one request at once, then one every 125 ms, so about 250 ms for the sync-worker's 3 \
         Userflow requests). crm-signup's contact is the same in every run (the cold-start \
         benchmark's), so its signup event goes out at most once per bench. After the runs, every contact handed to the sync-worker was found \
         in the sandbox's Braze and Userflow and every erasure's receipt in the state bucket. \
         MB = 10^6 bytes, MiB = 2^20 bytes.\n",
        written = written_range(&outcome.results),
        runs = outcome.runs,
    );
    let _ = writeln!(
        w,
        "| function | zip size | init p50 | first invocation p50 | peak RSS p50 / max | event |\n\
         |---|---:|---:|---:|---:|---|"
    );
    for result in &outcome.results {
        let millis = |get: fn(&Sample) -> std::time::Duration| {
            Samples::millis(result.samples.iter().map(get)).median()
        };
        let rss = Samples::new(
            result
                .samples
                .iter()
                .map(|s| s.peak_rss_kib as f64 / 1024.0)
                .collect(),
        );
        let _ = writeln!(
            w,
            "| {} | {} bytes ({:.2} MB) | {} | {} | {:.1} / {:.1} MiB | {} |",
            result.zip.function.name(),
            thousands(result.zip.bytes),
            result.zip.bytes as f64 / 1e6,
            ms(millis(|s| s.init)),
            ms(millis(|s| s.first_invoke)),
            rss.median(),
            rss.max(),
            result.zip.function.event_described(),
        );
    }
}

/// When the zips were written, from their file times: `written <time>`, or `written
/// <first> to <last>`.
fn written_range(results: &[ZipResult]) -> String {
    let times: Vec<DateTime<Utc>> = results.iter().filter_map(|r| r.zip.written).collect();
    let format = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    match (times.iter().min(), times.iter().max()) {
        (Some(first), Some(last)) if format(first) == format(last) => {
            format!("written {}", format(first))
        }
        (Some(first), Some(last)) => format!("written {} to {}", format(first), format(last)),
        _ => "file times unknown".to_owned(),
    }
}

/// `6061601` as `6,061,601`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_sizes_are_printed_then_thousands_are_separated_by_commas() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (6_061_601, "6,061,601"),
            (123_456_789_012, "123,456,789,012"),
        ];
        for (value, expected) in cases {
            assert_eq!(thousands(value), expected, "{value}");
        }
    }

    #[test]
    fn when_a_zip_is_missing_then_the_error_names_it_and_says_to_run_make_build() {
        let dir = ScratchDir::create().expect("a scratch folder");
        let error = find(&dir.0).expect_err("no zip exists there");
        let expected = format!(
            "`{}` not found: run make build first",
            dir.0.join("crm-signup/bootstrap.zip").display()
        );
        assert_eq!(error, expected);
    }

    #[test]
    fn when_a_zip_is_under_the_workspace_then_its_path_is_shown_from_the_root() {
        let path = relay_tests::workspace_root().join("target/lambda/sync-worker/bootstrap.zip");
        assert_eq!(shown(&path), "target/lambda/sync-worker/bootstrap.zip");
    }

    #[test]
    fn when_every_zip_exists_then_all_four_are_found_in_order_with_their_sizes() {
        let dir = ScratchDir::create().expect("a scratch folder");
        for (size, function) in FUNCTIONS.iter().enumerate() {
            let folder = dir.0.join(function.name());
            std::fs::create_dir(&folder).expect("a function folder");
            std::fs::write(folder.join("bootstrap.zip"), vec![0u8; size + 1]).expect("a zip");
        }
        let zips = find(&dir.0).expect("every zip exists");
        let found: Vec<(Function, u64)> = zips.iter().map(|z| (z.function, z.bytes)).collect();
        assert_eq!(
            found,
            [
                (Function::CrmSignup, 1),
                (Function::ExportCallback, 2),
                (Function::SyncWorker, 3),
                (Function::DeletionWorker, 4),
            ]
        );
    }

    #[test]
    fn when_an_sqs_function_answers_then_only_an_empty_failure_list_passes() {
        let check = no_batch_item_failures();
        assert_eq!(check(&json!({"batchItemFailures": []})), Ok(()));
        let failed = json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]});
        assert!(check(&failed).is_err());
        assert!(check(&json!({})).is_err());
    }

    #[test]
    fn when_the_callback_answers_then_only_the_401_unauthorized_problem_passes() {
        let check = problem_check(401, "callback-unauthorized");
        let answer = |status: u16, content_type: &str, slug: &str| {
            json!({
                "statusCode": status,
                "headers": {"content-type": content_type},
                "body": json!({"type": format!("{PROBLEM_TYPE_PREFIX}{slug}"), "status": status})
                    .to_string(),
            })
        };
        let problem = "application/problem+json";
        assert_eq!(
            check(&answer(401, problem, "callback-unauthorized")),
            Ok(())
        );
        assert!(check(&answer(200, problem, "callback-unauthorized")).is_err());
        assert!(check(&answer(401, "application/json", "callback-unauthorized")).is_err());
        assert!(check(&answer(401, problem, "missing-signature")).is_err());
    }

    #[test]
    fn when_the_sync_workers_job_is_built_then_it_decodes_as_two_valid_contacts() {
        let ids = contact_ids(7, 3);
        let Job::Contacts(job) = Job::decode(&contacts_job(&ids, 7, 3)).expect("a job") else {
            panic!("a contacts job");
        };
        let decoded: Vec<(&str, bool)> = job
            .contacts
            .iter()
            .map(|c| (c.contact.external_id.as_str(), c.is_signup))
            .collect();
        assert_eq!(decoded, [(ids[0].as_str(), true), (ids[1].as_str(), false)]);
        for parked in &job.contacts {
            assert!(parked.contact.validate().is_empty(), "{:?}", parked.contact);
        }
    }

    #[test]
    fn when_the_deletion_workers_request_ids_are_made_then_each_run_has_its_own() {
        assert_ne!(erasure_id(7, 1), erasure_id(7, 2));
        assert_ne!(erasure_id(7, 1), erasure_id(8, 1));
        assert_ne!(message_id(7, 1), message_id(7, 2));
    }
}
