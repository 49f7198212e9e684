//! Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, keyed with the decoded
//! `whsec_` secret; the three `webhook-*` headers and the timestamp tolerance.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

use super::{
    AuthError, HmacSha256, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, check_freshness,
    malformed, parse_unsigned, required_header,
};
use crate::crm::InboundRequest;

/// Standard Webhooks secrets may carry this prefix before the base64 key.
const WHSEC_PREFIX: &str = "whsec_";

/// Why a Standard Webhooks secret cannot be used as a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    /// The text after the optional `whsec_` prefix is not standard base64.
    #[error("a Standard Webhooks secret must be `whsec_` followed by standard base64")]
    NotBase64,
    /// The key decodes to nothing.
    #[error("a Standard Webhooks secret must not be empty")]
    Empty,
}

/// Decodes a Standard Webhooks secret (`whsec_<base64>`, the prefix optional) into the HMAC
/// key bytes. The error never quotes the secret.
pub fn decode_standard_webhooks_secret(raw: &str) -> Result<Vec<u8>, SecretFormatError> {
    let raw = raw.trim();
    let encoded = raw.strip_prefix(WHSEC_PREFIX).unwrap_or(raw);
    let key = BASE64
        .decode(encoded)
        .map_err(|_| SecretFormatError::NotBase64)?;
    if key.is_empty() {
        return Err(SecretFormatError::Empty);
    }
    Ok(key)
}

fn standard_webhooks_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` entry (`v1,<base64>`) a Standard Webhooks sender puts on a message:
/// HMAC-SHA256 with the decoded `key` over `{id}.{timestamp}.{body}`. For tests and tools that
/// sign requests.
pub fn standard_webhooks_signature(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let tag = standard_webhooks_mac(key, id, timestamp, body)
        .finalize()
        .into_bytes();
    format!("v1,{}", BASE64.encode(tag))
}

/// Verifies a Standard Webhooks request: the three headers present, each once, the timestamp
/// within `tolerance` of `request.now` (past or future), and at least one `v1` entry of the
/// one `webhook-signature` header matching (several entries are the scheme's key rotation).
/// Other versions (`v1a`, unknown) and entries that are not base64 are ignored, as the
/// scheme's reference libraries do. A second `webhook-signature` header is refused, never
/// searched (two headers joined by a proxy with `,` read as one entry that is not base64).
///
/// A message id is not remembered: the same request verifies again while its timestamp is
/// within the tolerance (the contact upserts are idempotent, and the one-time `signed_up`
/// event has its own marker).
pub fn verify_standard_webhooks(
    request: &InboundRequest<'_>,
    key: &[u8],
    tolerance: Duration,
) -> Result<(), AuthError> {
    let headers = request.headers;
    let id = required_header(headers, WEBHOOK_ID)?;
    if id.is_empty() {
        return Err(malformed(WEBHOOK_ID, "it is empty"));
    }
    let timestamp = required_header(headers, WEBHOOK_TIMESTAMP)?;
    let seconds = parse_unsigned(timestamp)
        .ok_or_else(|| malformed(WEBHOOK_TIMESTAMP, "expected Unix seconds"))?;
    let signatures = required_header(headers, WEBHOOK_SIGNATURE)?;
    check_freshness(
        WEBHOOK_TIMESTAMP,
        i128::from(seconds) * 1000,
        request.now,
        tolerance,
    )?;

    let mut candidates = Vec::new();
    for entry in signatures.split(' ').filter(|entry| !entry.is_empty()) {
        if let Some(("v1", encoded)) = entry.split_once(',')
            && let Ok(signature) = BASE64.decode(encoded)
        {
            candidates.push(signature);
        }
    }
    if candidates.is_empty() {
        return Err(malformed(
            WEBHOOK_SIGNATURE,
            "it holds no v1,<base64> signature",
        ));
    }

    let expected = standard_webhooks_mac(key, id, timestamp, request.body)
        .finalize()
        .into_bytes();
    // Compare against every candidate (no early exit) so timing does not reveal which matched.
    let matched = candidates
        .iter()
        .fold(subtle::Choice::from(0), |found, candidate| {
            found | expected.as_slice().ct_eq(candidate)
        });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch {
            header: WEBHOOK_SIGNATURE,
        })
    }
}
