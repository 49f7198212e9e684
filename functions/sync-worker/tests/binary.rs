//! The real sync-worker binary against a loopback Lambda Runtime API: a configuration error
//! at cold start is reported to Lambda's `/init/error` and printed as one readable line.

use std::time::Duration;

use relay_tests::runtime_api::{Call, FunctionProcess, RuntimeApi};
use relay_tests::webhooks::relay_variables;
use sandbox::SandboxConfig;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_sync-worker");
/// Far above a cold start (milliseconds); only reached when something is broken.
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn when_state_bucket_is_missing_then_init_error_names_it_and_one_readable_line_is_printed() {
    let sandbox = sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let mut vars = relay_variables(sandbox.info());
    vars.remove("STATE_BUCKET");
    let mut api = RuntimeApi::start([]).await;
    let mut function = FunctionProcess::spawn(BINARY, &api, &vars);
    let exited = function.wait_exit(WAIT).await;
    let output = function.stop().await;
    let calls = api.calls_so_far();

    let status = exited.unwrap_or_else(|| panic!("still running after {WAIT:?}: {output:?}"));
    assert!(!status.success(), "exit status {status}");
    let [Call::InitError { error_type, body }] = calls.as_slice() else {
        panic!(
            "expected exactly one /init/error, got {calls:?}; stderr: {}",
            output.stderr
        );
    };
    assert_eq!(error_type, "Runtime.ConfigError");
    let document: Value = serde_json::from_slice(body).expect("JSON error document");
    assert_eq!(document["errorType"], "Runtime.ConfigError");
    let message = document["errorMessage"].as_str().expect("errorMessage");
    assert!(message.contains("STATE_BUCKET"), "{message}");
    let lines: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", output.stderr);
    assert!(lines[0].contains("STATE_BUCKET"), "{}", lines[0]);
    assert!(
        !lines[0].contains('{'),
        "a readable line, not Debug: {}",
        lines[0]
    );
}
