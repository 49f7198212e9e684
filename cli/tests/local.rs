//! `relay local` end to end: the binary starts moto and the sandbox, prints its line, turns a
//! signed webhook into a Braze profile through crm-signup, writes `--env-out`, and stops
//! everything it started on SIGTERM, or when startup fails halfway.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relay_tests::webhooks::{STANDARD_SECRET, contact_json, eventually, standard_webhook};
use serde_json::{Value, json};

mod common;

const RELAY: &str = env!("CARGO_BIN_EXE_relay");

/// The Python moto runs with: `RELAY_PYTHON`, else the workspace's `.venv`.
fn python() -> String {
    relay_tests::python().display().to_string()
}

/// A marker in the environment of `relay local` and so of every process it starts.
fn marker() -> String {
    relay_tests::unique_name("relay-local-test")
}

/// Process ids whose environment holds `marker` (relay and whatever it started).
fn processes_with(marker: &str) -> Vec<u32> {
    let needle = format!("RELAY_LOCAL_TEST_MARKER={marker}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| !stat.contains(") Z "))
                .unwrap_or(false);
            alive
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .map(|environ| {
                        environ
                            .split(|b| *b == 0)
                            .any(|entry| entry == needle.as_bytes())
                    })
                    .unwrap_or(false)
        })
        .collect()
}

fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

/// `relay local` with `args`, its stdout piped, and the startup line read (up to 90 s).
/// `relay local` with `python` for moto, and no AWS endpoint or vendor settings from the
/// environment running the tests (the stack must choose moto and the sandbox itself).
fn relay_local(python: &str) -> Command {
    let mut command = Command::new(RELAY);
    command
        .arg("local")
        .env("RELAY_PYTHON", python)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("BRAZE_REST_ENDPOINT")
        .env_remove("BRAZE_API_KEY")
        .env_remove("USERFLOW_API_KEY");
    command
}

fn start(marker: &str, args: &[&str]) -> (Child, Value) {
    let mut child = relay_local(&python())
        .args(args)
        .env("RELAY_LOCAL_TEST_MARKER", marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("relay runs");
    let ready = common::ready_line(&mut child);
    (child, ready)
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test]
async fn when_a_signed_webhook_is_posted_to_relay_local_then_it_reaches_the_sandbox_and_sigterm_stops_everything()
 {
    let marker = marker();
    let dir = tempfile::tempdir().unwrap();
    let env_out = dir.path().join("stack.env");
    let (mut child, ready) = start(
        &marker,
        &[
            "--set",
            &format!("RELAY_STANDARD_WEBHOOKS_SECRET={STANDARD_SECRET}"),
            "--env-out",
            env_out.to_str().unwrap(),
        ],
    );
    let webhooks = ready["webhooks"].as_str().expect("webhooks URL").to_owned();
    let admin = ready["sandbox"]["admin"]
        .as_str()
        .expect("sandbox admin URL");
    let moto_pid = ready["moto_pid"].as_u64().expect("moto pid") as u32;
    assert!(
        is_running(moto_pid),
        "moto {moto_pid} runs while relay does"
    );
    for key in [
        "aws_endpoint",
        "state_bucket",
        "export_bucket",
        "export_callback",
        "sync_queue_url",
        "sync_dlq_url",
    ] {
        assert!(ready[key].is_string(), "{key} in {ready}");
    }
    let line = ready.to_string();
    assert!(
        !line.contains(STANDARD_SECRET) && !line.contains("sandbox-braze-rest-key"),
        "no secret in the startup line: {line}"
    );

    // The export callback route is served, and refuses an unsigned callback.
    let callback = ready["export_callback"].as_str().unwrap();
    assert_eq!(callback, format!("{webhooks}/braze/export-callback"));
    let forged = reqwest::Client::new()
        .post(format!(
            "{callback}?job=20261206T160000Z-00000000&exp=9999999999&sig=00"
        ))
        .header("content-type", "application/json")
        .body(r#"{"success":true}"#)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(forged.status(), 401);

    let body = json!({ "contacts": [contact_json("local-e2e-1")] }).to_string();
    let event = standard_webhook(&body);
    let mut request = reqwest::Client::new()
        .post(format!("{webhooks}/webhooks/standard-webhooks"))
        .body(event.body.clone());
    for (name, value) in &event.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status();
    let answer = response.text().await.unwrap();
    assert!(status.is_success(), "{status}: {answer}");
    let sandbox = sandbox::AdminClient::new(admin);
    assert!(
        eventually(Duration::from_secs(10), || async {
            sandbox
                .braze_user("local-e2e-1")
                .await
                .ok()
                .flatten()
                .is_some()
        })
        .await,
        "the contact is in the sandbox's Braze"
    );

    let written = std::fs::read_to_string(&env_out).unwrap();
    for expected in [
        "AWS_ENDPOINT_URL=",
        "SYNC_QUEUE_URL=",
        "SYNC_DLQ_URL=",
        "STATE_BUCKET=",
        "EXPORT_BUCKET=",
        "EXPORT_CALLBACK_SECRET=",
        &format!("EXPORT_CALLBACK_URL='{webhooks}/braze/export-callback'"),
        &format!("RELAY_PUBLIC_URL='{webhooks}'"),
        "BRAZE_API_KEY=",
        "BRAZE_SCIM_TOKEN=",
        &format!("RELAY_STANDARD_WEBHOOKS_SECRET='{STANDARD_SECRET}'"),
    ] {
        assert!(written.contains(expected), "{expected} in {written}");
    }

    terminate(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60)).expect("relay stops on SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(!is_running(moto_pid), "moto {moto_pid} is gone");
    assert!(
        processes_with(&marker).is_empty(),
        "nothing relay started is left"
    );
}

#[test]
fn when_a_function_setting_is_bad_then_startup_fails_naming_it_and_leaves_no_moto() {
    let marker = marker();
    let output = assert_cmd::Command::from_std(relay_local(&python()))
        .args(["--json", "--set", "WEBHOOK_MAX_CONTACTS=0"])
        .env("RELAY_LOCAL_TEST_MARKER", &marker)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let document: Value = serde_json::from_str(stdout.trim()).expect("one JSON document");
    assert_eq!(document["error"]["variable"], "WEBHOOK_MAX_CONTACTS");
    // The sandbox starts after moto: its log line shows the failure came after moto ran.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sandbox started"), "{stderr}");
    assert!(
        processes_with(&marker).is_empty(),
        "moto was left running after a failed start"
    );
}

#[test]
fn when_vendor_settings_are_partial_then_it_exits_2_naming_the_missing_ones_before_starting_moto() {
    // A Python that cannot run: reaching moto would fail with exit 1 instead.
    let output = assert_cmd::Command::from_std(relay_local("/nonexistent/relay-test/python"))
        .args(["--set", "BRAZE_REST_ENDPOINT=https://rest.iad-01.braze.com"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("BRAZE_API_KEY, USERFLOW_API_KEY"),
        "{stderr}"
    );
}

#[test]
fn when_relay_python_is_given_with_set_then_moto_is_started_with_it() {
    let output = assert_cmd::Command::from_std(relay_local(&python()))
        .args(["--set", "RELAY_PYTHON=/nonexistent/relay-test/python"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/relay-test/python"),
        "{stderr}"
    );
}

#[test]
fn when_sigterm_comes_during_startup_then_it_exits_1_saying_so_and_leaves_nothing() {
    let marker = marker();
    let mut child = relay_local(&python())
        .env("RELAY_LOCAL_TEST_MARKER", &marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("relay runs");
    // moto runs (a second process with the marker) before the stack is ready.
    let until = Instant::now() + Duration::from_secs(30);
    while processes_with(&marker).len() < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    terminate(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60)).expect("relay stops on SIGTERM");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopped by SIGTERM before the stack was ready"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no startup line");
    assert!(processes_with(&marker).is_empty(), "nothing is left");
}
