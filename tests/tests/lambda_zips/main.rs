//! Every Lambda zip `make build` writes (`target/lambda/<function>/bootstrap.zip`, by cargo
//! lambda) is deployable as it is:
//!
//! - the zip holds exactly one entry, `bootstrap`, a regular file Lambda can execute;
//! - `bootstrap` is an ELF executable for the architecture the functions deploy on
//!   (`LAMBDA_ARCH`: `x86_64`, the default, or `arm64`) and needs no glibc symbol version
//!   newer than Amazon Linux 2023's ([`glibc::LIMIT`]);
//! - extracted (mode 0755) and started under the loopback Lambda Runtime API with the
//!   environment the function needs, it cold-starts and answers one event as the function
//!   does: crm-signup an unsigned webhook with 401 `missing-signature`, export-callback an
//!   unsigned callback with 401 `callback-unauthorized`, each worker an empty batch with no
//!   batch item failures and an unreadable message by recording it in the state bucket (on
//!   moto) and acknowledging it.
//!
//! The zips are not built here (a release build takes minutes): a missing zip is a failure
//! telling you to run `make build`; `make test` builds them first. `LAMBDA_ZIP_DIR` reads them
//! from another folder.

mod bundle;
mod glibc;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bundle::{Arch, ElfFacts};
use relay_tests::Moto;
use relay_tests::exports::callback_event;
use relay_tests::lambda_zip::{read_bootstrap, write_executable, zip_dir, zip_path};
use relay_tests::runtime_api::{Call, FunctionProcess, Invocation, RuntimeApi};
use relay_tests::sqs::sqs_event;
use relay_tests::webhooks::{Event, relay_variables};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// Far above a cold start and one answer (milliseconds); only reached when something is
/// broken.
const WAIT: Duration = Duration::from_secs(30);

/// The SQS message id of the unreadable message handed to the workers.
const UNREADABLE_ID: &str = "0b6a3c52-5d0e-4a4e-9d51-7c2f3f1e9a10";

/// Held while a `bootstrap` is open for writing and while a process is started. A process
/// forked by another test while this one still holds `bootstrap` open for writing inherits
/// that descriptor until its own exec, and exec'ing `bootstrap` meanwhile fails with
/// `ETXTBSY` ("Text file busy").
static WRITE_OR_SPAWN: Mutex<()> = Mutex::new(());

fn write_or_spawn() -> MutexGuard<'static, ()> {
    WRITE_OR_SPAWN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Reads `function`'s zip and checks it ([`read_bootstrap`]), then checks the ELF inside for
/// `LAMBDA_ARCH` and [`glibc::LIMIT`]; returns `bootstrap`'s bytes.
async fn checked_bootstrap(function: &str) -> Vec<u8> {
    let bytes = read_bootstrap(&zip_path(&zip_dir(), function))
        .await
        .unwrap_or_else(|e| panic!("{function}: {e}"));
    let arch = Arch::from_env();
    let elf = ElfFacts::parse(&bytes).unwrap_or_else(|e| panic!("{function}: bootstrap: {e}"));
    assert_eq!(
        elf.machine,
        arch.machine(),
        "{function}: bootstrap is for {:?}, but LAMBDA_ARCH is {} ({:?})",
        elf.machine,
        arch.name(),
        arch.machine()
    );
    assert!(
        elf.is_executable(),
        "{function}: bootstrap is not an executable: {:?}{}",
        elf.file_type,
        match &elf.interpreter {
            Some(interpreter) => format!(" with interpreter {interpreter}"),
            None => " without an interpreter (a shared library)".into(),
        }
    );
    let mut too_new: Vec<&(String, String)> = elf
        .needed_versions
        .iter()
        .filter(|(_, name)| !glibc::runs_on(name, glibc::LIMIT))
        .collect();
    too_new.sort_by_key(|(library, name)| (glibc::glibc_version(name), library.clone()));
    let too_new: Vec<String> = too_new
        .iter()
        .map(|(library, name)| format!("{name} (from {library})"))
        .collect();
    let newest = glibc::newest(elf.needed_versions.iter().map(|(_, name)| name.as_str()));
    assert!(
        too_new.is_empty(),
        "{function}: bootstrap needs {}, newer than the limit {} (Amazon Linux 2023's glibc): {}",
        newest.unwrap_or("?"),
        glibc::LIMIT,
        too_new.join(", ")
    );
    eprintln!(
        "{function}: {:?} {:?}, newest glibc needed: {}",
        elf.machine,
        elf.file_type,
        newest.unwrap_or("none")
    );
    bytes
}

/// Extracts `bootstrap` into a fresh folder, starts it as `function` under a loopback Runtime
/// API with `vars`, hands it `events` (`(request id, event JSON)`) in order, and returns the
/// response documents it posted. Panics (with the function's stderr) unless each event got a
/// `/response` under its own request id, nothing else was posted, and the process was still
/// waiting for the next event when it was stopped (by its PID).
async fn invoke(
    function: &str,
    bootstrap: &[u8],
    mut vars: HashMap<String, String>,
    events: &[(&str, String)],
) -> Vec<Value> {
    let folder = tempfile::tempdir().expect("a temp folder");
    let path = folder.path().join("bootstrap");
    let mut api = RuntimeApi::start(
        events
            .iter()
            .map(|(id, event)| Invocation::new(*id, event.clone()).for_function(function)),
    )
    .await;
    // The runtime's own name for the function, not the file's (`bootstrap`).
    vars.insert("AWS_LAMBDA_FUNCTION_NAME".into(), function.into());
    vars.insert(
        "AWS_LAMBDA_LOG_GROUP_NAME".into(),
        format!("/aws/lambda/{function}"),
    );
    let mut process = {
        let _exclusive = write_or_spawn();
        write_executable(&path, bootstrap).unwrap_or_else(|e| panic!("{function}: {e}"));
        FunctionProcess::spawn(&path, &api, &vars)
    };

    let mut responses = Vec::new();
    let mut unexpected = None;
    for (id, _) in events {
        // A process that dies is reported at once, not after WAIT.
        let call = tokio::select! {
            call = api.next_call(WAIT) => Ok(call),
            exited = process.wait_exit(WAIT) => Err(exited),
        };
        match call {
            Ok(Some(Call::Response {
                request_id, body, ..
            })) if request_id == *id => responses.push(body),
            Ok(other) => {
                unexpected = Some(format!("expected a /response to {id}, got {other:?}"));
                break;
            }
            Err(exited) => {
                let posted = api.calls_so_far();
                unexpected = Some(format!(
                    "exited ({exited:?}) before answering {id}; it posted {posted:?}"
                ));
                break;
            }
        }
    }
    let later = api.calls_so_far();
    let output = process.stop().await;
    if let Some(unexpected) = unexpected {
        panic!("{function}: {unexpected}; stderr:\n{}", output.stderr);
    }
    assert!(
        later.is_empty(),
        "{function}: posted more than the answers: {later:?}; stderr:\n{}",
        output.stderr
    );
    assert!(
        output.exited.is_none(),
        "{function}: exited ({:?}) instead of waiting for the next event; stderr:\n{}",
        output.exited,
        output.stderr
    );
    assert!(
        !output.stderr.contains("panicked"),
        "{function}: panicked: {}",
        output.stderr
    );
    responses
        .iter()
        .map(|body| {
            serde_json::from_slice(body).unwrap_or_else(|e| {
                panic!(
                    "{function}: the response is not JSON ({e}): {}",
                    String::from_utf8_lossy(body)
                )
            })
        })
        .collect()
}

/// Checks an API Gateway v2 response document is the problem answer `status` of `slug`.
fn assert_problem(function: &str, answer: &Value, status: u16, slug: &str) {
    assert_eq!(answer["statusCode"], status, "{function}: {answer}");
    assert_eq!(
        answer["headers"]["content-type"], "application/problem+json",
        "{function}: {answer}"
    );
    let body = answer["body"]
        .as_str()
        .unwrap_or_else(|| panic!("{function}: a text body: {answer}"));
    let problem: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{function}: the body is not problem JSON ({e}): {body}"));
    assert_eq!(
        problem["type"],
        format!("{}{slug}", relay_lambda::problem::PROBLEM_TYPE_PREFIX),
        "{function}: {problem}"
    );
    assert_eq!(problem["status"], status, "{function}: {problem}");
}

async fn sandbox() -> Sandbox {
    sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts")
}

#[tokio::test]
async fn when_the_crm_signup_zip_gets_an_unsigned_webhook_then_it_answers_401_missing_signature() {
    let bootstrap = checked_bootstrap("crm-signup").await;
    let sandbox = sandbox().await;
    let unsigned = Event::new("standard-webhooks", "application/json", "{}").to_json();
    let answers = invoke(
        "crm-signup",
        &bootstrap,
        relay_variables(sandbox.info()),
        &[("unsigned-webhook", unsigned)],
    )
    .await;
    assert_problem("crm-signup", &answers[0], 401, "missing-signature");
}

#[tokio::test]
async fn when_the_export_callback_zip_gets_an_unsigned_callback_then_it_answers_401_unauthorized() {
    let bootstrap = checked_bootstrap("export-callback").await;
    let vars = [
        ("STATE_BUCKET", "state"),
        ("EXPORT_BUCKET", "exports"),
        // Never called: the signature is checked first.
        (
            "SYNC_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/relay-sync",
        ),
        ("EXPORT_CALLBACK_SECRET", "a-long-enough-callback-secret"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let unsigned = callback_event("", r#"{"success":true}"#).to_string();
    let answers = invoke(
        "export-callback",
        &bootstrap,
        vars,
        &[("unsigned-callback", unsigned)],
    )
    .await;
    assert_problem("export-callback", &answers[0], 401, "callback-unauthorized");
}

/// A worker's zip, on a state bucket in moto: an empty batch, then an unreadable message.
/// Both are answered with no batch item failure, and the unreadable message is recorded as
/// `<record_prefix><message id>.json` (the only object written).
async fn worker_zip_case(function: &str, record_prefix: &str) {
    let bootstrap = checked_bootstrap(function).await;
    let sandbox = sandbox().await;
    let moto = {
        // Moto is a process started by this test binary too.
        let _exclusive = write_or_spawn();
        Moto::start()
    };
    let bucket = moto.create_bucket("state").await;
    let mut vars = relay_variables(sandbox.info());
    vars.insert("STATE_BUCKET".into(), bucket.clone());
    vars.insert("AWS_ENDPOINT_URL".into(), moto.endpoint().to_owned());
    let unreadable = sqs_event(&[(UNREADABLE_ID, "not a job")]).to_string();
    let answers = invoke(
        function,
        &bootstrap,
        vars,
        &[
            ("empty-batch", json!({"Records": []}).to_string()),
            ("unreadable-message", unreadable),
        ],
    )
    .await;
    let no_failures = json!({"batchItemFailures": []});
    assert_eq!(answers[0], no_failures, "{function}: the empty batch");
    assert_eq!(
        answers[1], no_failures,
        "{function}: an unreadable message is recorded and acknowledged"
    );
    let listed = moto
        .s3_client()
        .await
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("list {bucket} on moto: {e:?}"));
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [format!("{record_prefix}{UNREADABLE_ID}.json")],
        "{function}: what the state bucket holds"
    );
}

#[tokio::test]
async fn when_the_sync_worker_zip_gets_an_empty_batch_and_an_unreadable_message_then_none_is_redelivered()
 {
    worker_zip_case("sync-worker", sync_worker::FAILED_MESSAGES_PREFIX).await;
}

#[tokio::test]
async fn when_the_deletion_worker_zip_gets_an_empty_batch_and_an_unreadable_message_then_none_is_redelivered()
 {
    worker_zip_case(
        "deletion-worker",
        &relay_core::erasure::rejected::rejected_prefix(),
    )
    .await;
}
