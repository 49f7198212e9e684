//! What relay-clients' integration tests share: fixtures under `tests/resources/<api>/`, and a
//! retry policy fast enough that tests spend their time on behaviour, not on backoff.

// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::time::Duration;

use relay_clients::upstream::RetryPolicy;

/// The bytes of `tests/resources/<api>/<name>`.
pub fn fixture_bytes(api: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/resources/{api}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `tests/resources/<api>/<name>` as text.
pub fn fixture_text(api: &str, name: &str) -> String {
    String::from_utf8(fixture_bytes(api, name))
        .unwrap_or_else(|e| panic!("{api}/{name} is not UTF-8: {e}"))
}

/// `tests/resources/<api>/<name>` as JSON.
pub fn fixture_json(api: &str, name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture_bytes(api, name))
        .unwrap_or_else(|e| panic!("{api}/{name} is not JSON: {e}"))
}

/// Three attempts, 5 to 20 ms apart, within 5 s.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        deadline: Duration::from_secs(5),
    }
}
