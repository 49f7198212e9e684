//! What the CLI's end-to-end tests share: running the
//! relay binary, reading its JSON document and exit code, and a queue with its dead-letter
//! queue made as the stack makes it.

// Each test file uses its own part of these helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Output};
use std::sync::mpsc;
use std::time::Duration;

use relay_core::queue::setup::{QueuePair, QueueWithDlq, ensure_queue_with_dlq};
use relay_tests::unique_name;
use serde_json::Value;

/// How long one `relay` run may take before it is killed (the test then fails).
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Runs `relay <args>` with exactly `env` and an empty stdin (not a terminal), off the
/// runtime (the sandbox serves on it); killed after [`RUN_LIMIT`].
pub async fn relay(args: &[&str], env: &HashMap<String, String>) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env = env.clone();
    tokio::task::spawn_blocking(move || {
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(&args)
            .env_clear()
            .envs(&env)
            .write_stdin("")
            .timeout(RUN_LIMIT)
            .output()
            .unwrap_or_else(|e| panic!("relay {args:?} did not finish: {e}"))
    })
    .await
    .unwrap()
}

/// The one JSON document on stdout.
pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The exit code (a run killed by a signal fails the test).
pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("relay was killed: {output:?}"))
}

/// Stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A queue named after `prefix` and its dead-letter queue, linked by a `RedrivePolicy` with
/// `max_receive_count`, made by relay-core's setup (what `relay local` and the deployment
/// run).
pub async fn queue_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
    max_receive_count: u32,
) -> QueuePair {
    let name = unique_name(prefix);
    ensure_queue_with_dlq(
        sqs,
        &QueueWithDlq {
            dlq_name: format!("{name}-dlq"),
            name,
            visibility_timeout: Duration::from_secs(30),
            max_receive_count,
        },
    )
    .await
    .expect("queue and dead-letter queue made")
}

/// The JSON line a started `relay local` prints once it is ready (within 90 s), read from its
/// piped stdout.
pub fn ready_line(child: &mut Child) -> Value {
    let stdout = child.stdout.take().expect("relay local's stdout is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(90))
        .expect("relay local printed its line");
    serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the startup line {line:?} is not JSON: {e}"))
}
