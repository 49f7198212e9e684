//! Who may call: the signature and credential schemes of the CRM webhook sources.
//!
//! Everything here is pure: a function of the configured secret, the raw request (method,
//! raw query, headers, body bytes exactly as sent) and the receive time. Nothing is
//! re-serialised before it is verified, every comparison of a secret-derived value runs in
//! constant time, and no error message carries a secret, an expected value or request data;
//! messages say what was wrong and in which header.
//!
//! - Standard Webhooks ([`verify_standard_webhooks`]): HMAC-SHA256 over `id.timestamp.body`.
//! - HubSpot ([`verify_hubspot`]): v3 (HMAC-SHA256, millisecond timestamp), v2 and v1
//!   (plain SHA-256 over the secret and the request).
//! - Salesforce Outbound Messages ([`verify_url_token`], [`check_salesforce_organization`]):
//!   no signature; an optional secret `token` query parameter, then the organization id
//!   the message carries (checked once the body is parsed).
//! - HTTP Basic ([`verify_basic`]): Pipedrive's optional credentials.
//!
//! [`SchemeSettings::verify`] picks the scheme a source is configured with. Every [`AuthError`] is a
//! 401; [`AuthError::problem_type`] gives the stable slug for problem responses. A request that
//! verifies yields [`Verified`]: HubSpot v1 / v2 sign no time, so such a request carries a
//! [`ReplayKey`] the caller checks against the requests already handled
//! ([`crate::crm::replay`]).
//!
//! The sending side's primitives sit beside their verifiers, so each scheme's rules are in one
//! place: [`standard_webhooks_signature`], [`hubspot_v3_signature`] (and v2 / v1),
//! [`url_token_query`], [`basic_authorization`]; [`crate::crm::outbound`] builds whole
//! requests with them.
//!
//! Each scheme is a module of its own (`standard_webhooks`, `hubspot`, `salesforce`,
//! `basic`), re-exported here; this module holds [`AuthError`], the header names, the
//! dispatch on [`SchemeSettings`] and the helpers the schemes share (header reading,
//! constant-time comparison, timestamp tolerance).

mod basic;
mod hubspot;
mod salesforce;
mod standard_webhooks;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Hmac;
use http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::InboundRequest;
use super::sources::SchemeSettings;

pub use basic::{basic_authorization, verify_basic};
pub use hubspot::{
    HubspotVersion, decode_hubspot_uri, hubspot_request_uri, hubspot_v1_signature,
    hubspot_v2_signature, hubspot_v3_signature, verify_hubspot,
};
pub use salesforce::{
    check_salesforce_organization, is_salesforce_id, redact_url_token, url_token_query,
    verify_url_token,
};
pub use standard_webhooks::{
    SecretFormatError, decode_standard_webhooks_secret, standard_webhooks_signature,
    verify_standard_webhooks,
};

type HmacSha256 = Hmac<Sha256>;

/// The clock difference accepted by default for timestamped schemes (Standard Webhooks and
/// HubSpot v3 both recommend 5 minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Standard Webhooks: the message id header (stable across retries, an idempotency key).
pub const WEBHOOK_ID: &str = "webhook-id";
/// Standard Webhooks: the Unix-seconds timestamp header.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks: the space-separated `v1,<base64>` signatures header.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// HubSpot v3 signature header.
pub const HUBSPOT_SIGNATURE_V3: &str = "X-HubSpot-Signature-v3";
/// HubSpot v3 timestamp header (milliseconds since the Unix epoch).
pub const HUBSPOT_REQUEST_TIMESTAMP: &str = "X-HubSpot-Request-Timestamp";
/// HubSpot v1 / v2 signature header.
pub const HUBSPOT_SIGNATURE: &str = "X-HubSpot-Signature";
/// HubSpot v1 / v2 version header (`v1` or `v2`).
pub const HUBSPOT_SIGNATURE_VERSION: &str = "X-HubSpot-Signature-Version";
/// The HTTP Basic credentials header.
pub const AUTHORIZATION: &str = "Authorization";
/// The query parameter that carries a Salesforce source's URL token.
pub const URL_TOKEN_PARAMETER: &str = "token";
/// The `WWW-Authenticate` challenge HTTP Basic senders (Pipedrive) get with a 401.
pub const BASIC_CHALLENGE: &str = r#"Basic realm="relay""#;

/// What a successful verification established. `#[must_use]`: dropping it would skip the
/// replay check an untimed signature needs.
#[must_use = "a request signed without a time (HubSpot v1 / v2) must go through the replay check"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Nothing more to check: the signature covers a time within the tolerance (Standard
    /// Webhooks, HubSpot v3), or the scheme's credentials are not bound to one request (HTTP
    /// Basic, the Salesforce URL token; Salesforce notifications are deduplicated by id).
    Complete,
    /// Signed without a time (HubSpot v1 / v2): the same bytes verify forever, so the request
    /// is processed only if it was not handled before.
    Untimed(ReplayKey),
}

impl Verified {
    /// The key to check against handled requests, for untimed signatures.
    pub fn replay_key(&self) -> Option<&ReplayKey> {
        match self {
            Verified::Complete => None,
            Verified::Untimed(key) => Some(key),
        }
    }
}

/// Identifies an untimed HubSpot request: lowercase hex SHA-256 of the signature version and
/// the decoded signature bytes (so upper- and lower-case hex of one signature are one key).
/// The signature covers the secret and the request (v2: method, URL, body; v1: body), so equal
/// keys mean the same request; it reveals neither.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplayKey(String);

impl ReplayKey {
    /// The key of a request whose `version` signature decoded to `signature`.
    pub(crate) fn of_signature(version: &str, signature: &[u8]) -> ReplayKey {
        let digest = Sha256::new()
            .chain_update(version.as_bytes())
            .chain_update(b":")
            .chain_update(signature)
            .finalize();
        ReplayKey(hex::encode(digest))
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a request is not trusted. Always a 401 ([`AuthError::status`]); the message names the
/// header or parameter at fault, never a secret, an expected value or what the request sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A header the scheme needs is absent.
    #[error("missing the {header} header")]
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// A header is present but cannot be read.
    #[error("the {header} header is malformed: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it (a fixed description, never the value).
        reason: &'static str,
    },
    /// The signed timestamp is older than the tolerance (a replay, or a very late retry).
    #[error("the {header} timestamp is {age_secs} s old; at most {tolerance_secs} s is accepted")]
    TimestampTooOld {
        /// The timestamp header.
        header: &'static str,
        /// How old it is, in whole seconds.
        age_secs: u64,
        /// The accepted age, in seconds.
        tolerance_secs: u64,
    },
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error(
        "the {header} timestamp is {ahead_secs} s in the future; at most {tolerance_secs} s of clock skew is accepted"
    )]
    TimestampInFuture {
        /// The timestamp header.
        header: &'static str,
        /// How far ahead it is, in whole seconds.
        ahead_secs: u64,
        /// The accepted skew, in seconds.
        tolerance_secs: u64,
    },
    /// No signature in the header matches the request.
    #[error("the {header} signature does not match the request")]
    SignatureMismatch {
        /// The signature header.
        header: &'static str,
    },
    /// No HTTP Basic credentials were sent.
    #[error("missing HTTP Basic credentials (the Authorization header)")]
    MissingCredentials,
    /// The HTTP Basic user name or password is wrong.
    #[error("the HTTP Basic credentials are wrong")]
    BadCredentials,
    /// The source expects a `token` query parameter and the request has none.
    #[error("missing the token query parameter")]
    MissingUrlToken,
    /// The `token` query parameter is wrong.
    #[error("the token query parameter is wrong")]
    BadUrlToken,
    /// A Salesforce message carries no `OrganizationId`.
    #[error("the message carries no OrganizationId")]
    MissingOrganization,
    /// A Salesforce message comes from another organization than the configured one.
    #[error("the message's OrganizationId is not the organization this source accepts")]
    WrongOrganization,
}

impl AuthError {
    /// The HTTP status to answer with: always 401.
    pub fn status(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    /// A stable kebab-case slug for the problem response's `type`, so callers and dashboards
    /// can tell the failures apart without parsing messages.
    pub fn problem_type(&self) -> &'static str {
        match self {
            AuthError::MissingHeader { .. }
            | AuthError::MissingCredentials
            | AuthError::MissingUrlToken => "missing-signature",
            AuthError::MalformedHeader { .. } => "malformed-signature",
            AuthError::TimestampTooOld { .. } | AuthError::TimestampInFuture { .. } => {
                "expired-signature"
            }
            AuthError::SignatureMismatch { .. }
            | AuthError::BadCredentials
            | AuthError::BadUrlToken => "bad-signature",
            AuthError::MissingOrganization | AuthError::WrongOrganization => "wrong-organization",
        }
    }
}

impl SchemeSettings {
    /// Verifies `request` against this source's scheme: everything that can be checked before
    /// the body is parsed. Salesforce's organization id is checked afterwards with
    /// [`SchemeSettings::check_organization`]; an untimed HubSpot signature yields
    /// [`Verified::Untimed`], whose key the caller checks for replays.
    pub fn verify(&self, request: &InboundRequest<'_>) -> Result<Verified, AuthError> {
        let complete = |result: Result<(), AuthError>| result.map(|()| Verified::Complete);
        match self {
            SchemeSettings::StandardWebhooks { key, tolerance } => complete(
                verify_standard_webhooks(request, key.expose_secret(), *tolerance),
            ),
            SchemeSettings::Hubspot {
                client_secret,
                public_url,
                versions,
                tolerance,
                ..
            } => verify_hubspot(
                request,
                client_secret.expose_secret(),
                public_url,
                versions,
                *tolerance,
            ),
            SchemeSettings::SalesforceOutbound { url_token, .. } => complete(verify_url_token(
                request.raw_query,
                url_token.as_ref().map(|token| token.expose_secret()),
            )),
            SchemeSettings::Pipedrive {
                username, password, ..
            } => complete(verify_basic(
                request.headers,
                username,
                password.expose_secret(),
            )),
        }
    }

    /// Checks the organization id a parsed Salesforce message carries; `Ok` for every other
    /// scheme (they have no such notion).
    pub fn check_organization(&self, found: Option<&str>) -> Result<(), AuthError> {
        match self {
            SchemeSettings::SalesforceOutbound {
                organization_id, ..
            } => check_salesforce_organization(organization_id, found),
            _ => Ok(()),
        }
    }

    /// The `WWW-Authenticate` challenge a refused request is answered with, for schemes whose
    /// senders expect one (HTTP Basic).
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            SchemeSettings::Pipedrive { .. } => Some(BASIC_CHALLENGE),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// Constant-time equality that also hides the length: compares SHA-256 digests.
fn secret_eq(found: &[u8], expected: &[u8]) -> subtle::Choice {
    Sha256::digest(found)
        .as_slice()
        .ct_eq(Sha256::digest(expected).as_slice())
}

fn malformed(header: &'static str, reason: &'static str) -> AuthError {
    AuthError::MalformedHeader { header, reason }
}

/// The one value of `header`, trimmed; `None` when absent.
///
/// Every header a scheme reads must be sent once. A second `webhook-signature`,
/// `X-HubSpot-Signature-v3`, timestamp or `Authorization` header is refused as malformed
/// rather than read first-wins or any-passes: which of two values a sender meant is not
/// knowable, and a proxy that adds one must not change what is verified. (API Gateway joins
/// repeated headers into one comma-separated value; no scheme's value reads as such a list,
/// so that is refused by the header's own syntax.) Several signatures *inside* one
/// `webhook-signature` value are the scheme's key rotation and stay accepted.
fn optional_header<'h>(
    headers: &'h HeaderMap,
    header: &'static str,
) -> Result<Option<&'h str>, AuthError> {
    if headers.get_all(header).iter().nth(1).is_some() {
        return Err(malformed(header, "it is sent more than once"));
    }
    headers
        .get(header)
        .map(|value| {
            value
                .to_str()
                .map(str::trim)
                .map_err(|_| malformed(header, "it contains characters other than visible ASCII"))
        })
        .transpose()
}

fn required_header<'h>(headers: &'h HeaderMap, header: &'static str) -> Result<&'h str, AuthError> {
    optional_header(headers, header)?.ok_or(AuthError::MissingHeader { header })
}

/// Digits only (no sign, no spaces), at most 19 of them, so that the text signed is exactly
/// the number checked.
fn parse_unsigned(raw: &str) -> Option<u64> {
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

fn millis_since_epoch(now: SystemTime) -> i128 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_millis() as i128,
        Err(before) => -(before.duration().as_millis() as i128),
    }
}

fn check_freshness(
    header: &'static str,
    timestamp_ms: i128,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), AuthError> {
    let age_ms = millis_since_epoch(now) - timestamp_ms;
    let tolerance_ms = tolerance.as_millis() as i128;
    let secs = |ms: i128| u64::try_from(ms / 1000).unwrap_or(u64::MAX);
    if age_ms > tolerance_ms {
        Err(AuthError::TimestampTooOld {
            header,
            age_secs: secs(age_ms),
            tolerance_secs: tolerance.as_secs(),
        })
    } else if -age_ms > tolerance_ms {
        Err(AuthError::TimestampInFuture {
            header,
            ahead_secs: secs(-age_ms),
            tolerance_secs: tolerance.as_secs(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_timestamp_is_exactly_at_the_tolerance_then_it_is_accepted() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let tolerance = Duration::from_secs(300);
        assert_eq!(check_freshness("h", 700_000, now, tolerance), Ok(()));
        assert_eq!(check_freshness("h", 1_300_000, now, tolerance), Ok(()));
        assert!(check_freshness("h", 699_999, now, tolerance).is_err());
        assert!(check_freshness("h", 1_300_001, now, tolerance).is_err());
    }

    #[test]
    fn when_timestamp_has_a_sign_or_spaces_then_it_is_not_a_number() {
        assert_eq!(parse_unsigned("1614265330"), Some(1_614_265_330));
        assert_eq!(parse_unsigned("+1614265330"), None);
        assert_eq!(parse_unsigned("-1"), None);
        assert_eq!(parse_unsigned(""), None);
        assert_eq!(parse_unsigned("99999999999999999999"), None);
    }
}
