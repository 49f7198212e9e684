//! The real export-callback binary against a loopback Lambda Runtime API: a configuration
//! error at cold start is reported to Lambda's `/init/error` and printed as one readable line
//! that names the variable and never the secret.

use std::collections::HashMap;

use relay_tests::runtime_api::assert_config_error_reported;

const BINARY: &str = env!("CARGO_BIN_EXE_export-callback");

fn variables() -> HashMap<String, String> {
    [
        ("STATE_BUCKET", "state"),
        ("EXPORT_BUCKET", "exports"),
        ("SYNC_QUEUE_URL", "http://127.0.0.1:9/queue/sync"),
        ("EXPORT_CALLBACK_SECRET", "a-long-enough-callback-secret"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

#[tokio::test]
async fn when_export_bucket_is_missing_then_init_error_names_it() {
    let mut vars = variables();
    vars.remove("EXPORT_BUCKET");
    assert_config_error_reported(BINARY, &vars, "EXPORT_BUCKET").await;
}

#[tokio::test]
async fn when_the_callback_secret_is_too_short_then_init_error_names_it() {
    let mut vars = variables();
    vars.insert("EXPORT_CALLBACK_SECRET".into(), "short".into());
    assert_config_error_reported(BINARY, &vars, "EXPORT_CALLBACK_SECRET").await;
}
