//! What relay-core's integration tests share: fixtures under `tests/resources/<kind>/`.

/// The bytes of `tests/resources/<kind>/<name>`.
pub fn fixture_bytes(kind: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/resources/{kind}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
