//! The fuzz bodies of Lifecycle Relay's hostile-input surface: one public function per
//! target, each taking arbitrary bytes, running the production code on them and asserting
//! what must hold whatever the input (a panic is a finding).
//!
//! Two runners call them:
//! - cargo-fuzz (`fuzz/`, nightly, `make fuzz`): `fuzz/fuzz_targets/<name>.rs` is one
//!   `fuzz_target!` calling the function of the same name;
//! - the stable test `tests/replay.rs` (`make test`): every seed under `fuzz/seeds/<name>/`
//!   through its body, then a short seeded proptest run of arbitrary bytes and of mutated
//!   seeds.
//!
//! [`TARGETS`] lists them all, so both runners and the seed folders cannot drift apart.
//!
//! Modules: [`payloads`] (the webhook body parsers, the XML reader), [`signatures`] (every
//! signature header parser and verifier), [`exports`] (the zip and gzip export reader, the
//! export line decoder), `input` (how a body splits its bytes into fields).

pub mod exports;
mod input;
pub mod payloads;
pub mod signatures;

/// A fuzz body: runs the code under test on `data` and panics when an invariant breaks.
pub type Body = fn(&[u8]);

/// Every target: its name (the cargo-fuzz target and the seed folder) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    (
        "standard_webhooks_payload",
        payloads::standard_webhooks_payload,
    ),
    ("hubspot_payload", payloads::hubspot_payload),
    ("pipedrive_payload", payloads::pipedrive_payload),
    ("salesforce_payload", payloads::salesforce_payload),
    ("xml_reader", payloads::xml_reader),
    (
        "standard_webhooks_signature",
        signatures::standard_webhooks_signature,
    ),
    ("hubspot_signature", signatures::hubspot_signature),
    ("basic_credentials", signatures::basic_credentials),
    ("salesforce_url_token", signatures::salesforce_url_token),
    ("zip_reader", exports::zip_reader),
    ("gzip_reader", exports::gzip_reader),
    ("export_line", exports::export_line),
];
