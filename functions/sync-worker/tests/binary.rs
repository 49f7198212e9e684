//! The real sync-worker binary against a loopback Lambda Runtime API: a configuration error
//! at cold start is reported to Lambda's `/init/error` and printed as one readable line.

use relay_tests::runtime_api::assert_config_error_reported;
use relay_tests::webhooks::relay_variables;
use sandbox::SandboxConfig;

const BINARY: &str = env!("CARGO_BIN_EXE_sync-worker");

#[tokio::test]
async fn when_state_bucket_is_missing_then_init_error_names_it_and_one_readable_line_is_printed() {
    let sandbox = sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let mut vars = relay_variables(sandbox.info());
    vars.remove("STATE_BUCKET");
    assert_config_error_reported(BINARY, &vars, "STATE_BUCKET").await;
}
