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
//! 401; [`AuthError::problem_type`] gives the stable slug for problem responses.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::InboundRequest;
use super::sources::SchemeSettings;

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

/// Standard Webhooks secrets may carry this prefix before the base64 key.
const WHSEC_PREFIX: &str = "whsec_";

/// HubSpot signature versions a source accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HubspotVersion {
    /// `X-HubSpot-Signature-v3` (HMAC-SHA256, timestamped).
    V3,
    /// `X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v2` (SHA-256 of secret + request).
    V2,
    /// `X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v1` (SHA-256 of secret + body):
    /// legacy apps only; it signs neither the URL nor a time, so it is never on by default.
    V1,
}

impl HubspotVersion {
    /// The header that carries this version's signature, for "missing header" answers.
    pub fn signature_header(self) -> &'static str {
        match self {
            HubspotVersion::V3 => HUBSPOT_SIGNATURE_V3,
            HubspotVersion::V2 | HubspotVersion::V1 => HUBSPOT_SIGNATURE,
        }
    }

    /// The `X-HubSpot-Signature-Version` value of v1 / v2 (`None` for v3, which has its own
    /// header).
    fn version_value(self) -> Option<&'static str> {
        match self {
            HubspotVersion::V3 => None,
            HubspotVersion::V2 => Some("v2"),
            HubspotVersion::V1 => Some("v1"),
        }
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
    /// [`SchemeSettings::check_organization`].
    pub fn verify(&self, request: &InboundRequest<'_>) -> Result<(), AuthError> {
        match self {
            SchemeSettings::StandardWebhooks { key, tolerance } => {
                verify_standard_webhooks(request, key.expose_secret(), *tolerance)
            }
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
            SchemeSettings::SalesforceOutbound { url_token, .. } => verify_url_token(
                request.raw_query,
                url_token.as_ref().map(|token| token.expose_secret()),
            ),
            SchemeSettings::Pipedrive {
                username, password, ..
            } => verify_basic(request.headers, username, password.expose_secret()),
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
// Standard Webhooks

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

/// Verifies a Standard Webhooks request: the three headers present, the timestamp within
/// `tolerance` of `request.now` (past or future), and at least one `v1` entry of
/// `webhook-signature` matching. Other versions (`v1a`, unknown) are ignored.
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
    if !headers.contains_key(WEBHOOK_SIGNATURE) {
        return Err(AuthError::MissingHeader {
            header: WEBHOOK_SIGNATURE,
        });
    }
    check_freshness(
        WEBHOOK_TIMESTAMP,
        i128::from(seconds) * 1000,
        request.now,
        tolerance,
    )?;

    let mut candidates = Vec::new();
    for value in headers.get_all(WEBHOOK_SIGNATURE) {
        let value = value.to_str().map_err(|_| {
            malformed(
                WEBHOOK_SIGNATURE,
                "it contains characters other than visible ASCII",
            )
        })?;
        for entry in value.split(' ').filter(|entry| !entry.is_empty()) {
            if let Some(("v1", encoded)) = entry.split_once(',')
                && let Ok(signature) = BASE64.decode(encoded)
            {
                candidates.push(signature);
            }
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

// ---------------------------------------------------------------------------------------------
// HubSpot

/// The URI HubSpot signs: the configured public URL, plus `?` and the raw query when there is
/// one. Used as it is by v2; v3 decodes some escapes first ([`decode_hubspot_uri`]).
pub fn hubspot_request_uri(public_url: &str, raw_query: &str) -> String {
    if raw_query.is_empty() {
        public_url.to_owned()
    } else {
        format!("{public_url}?{raw_query}")
    }
}

/// HubSpot v3's URI rule: decode only `%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B`
/// (hex in either case) and keep every other escape (`%20`, `%26`, ...) as it is.
pub fn decode_hubspot_uri(uri: &str) -> Cow<'_, str> {
    if !uri.contains('%') {
        return Cow::Borrowed(uri);
    }
    let bytes = uri.as_bytes();
    let mut decoded = String::with_capacity(uri.len());
    let mut copied = 0;
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = uri.get(index + 1..index + 3)
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(value) = u8::from_str_radix(hex, 16)
            && b":/?@!$'()*,;".contains(&value)
        {
            decoded.push_str(&uri[copied..index]);
            decoded.push(char::from(value));
            index += 3;
            copied = index;
        } else {
            index += 1;
        }
    }
    decoded.push_str(&uri[copied..]);
    Cow::Owned(decoded)
}

fn hubspot_v3_mac(
    secret: &str,
    method: &str,
    uri: &str,
    body: &[u8],
    timestamp: &str,
) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(method.as_bytes());
    mac.update(decode_hubspot_uri(uri).as_bytes());
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac
}

/// The `X-HubSpot-Signature-v3` value for a request: base64 of HMAC-SHA256 with the client
/// secret over `method + uri + body + timestamp`, where `uri` is decoded with
/// [`decode_hubspot_uri`] first and `timestamp` is the `X-HubSpot-Request-Timestamp` text
/// (milliseconds) as sent.
pub fn hubspot_v3_signature(
    secret: &str,
    method: &str,
    uri: &str,
    body: &[u8],
    timestamp: &str,
) -> String {
    BASE64.encode(
        hubspot_v3_mac(secret, method, uri, body, timestamp)
            .finalize()
            .into_bytes(),
    )
}

fn hubspot_v2_digest(secret: &str, method: &str, uri: &str, body: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(secret.as_bytes())
        .chain_update(method.as_bytes())
        .chain_update(uri.as_bytes())
        .chain_update(body)
        .finalize()
        .into()
}

fn hubspot_v1_digest(secret: &str, body: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(secret.as_bytes())
        .chain_update(body)
        .finalize()
        .into()
}

/// The `X-HubSpot-Signature` value of a v2 request: lowercase hex of
/// SHA-256(`secret + method + uri + body`), `uri` as in [`hubspot_request_uri`] (not decoded).
pub fn hubspot_v2_signature(secret: &str, method: &str, uri: &str, body: &[u8]) -> String {
    hex::encode(hubspot_v2_digest(secret, method, uri, body))
}

/// The `X-HubSpot-Signature` value of a v1 request: lowercase hex of SHA-256(`secret + body`).
pub fn hubspot_v1_signature(secret: &str, body: &[u8]) -> String {
    hex::encode(hubspot_v1_digest(secret, body))
}

/// Verifies a HubSpot request with the first signature it carries that `versions` accepts:
/// v3 when `X-HubSpot-Signature-v3` is present, else v2 / v1 by `X-HubSpot-Signature-Version`.
/// `public_url` is the configured URL HubSpot calls; `tolerance` bounds the v3 timestamp's
/// age (and how far ahead of `request.now` it may be).
pub fn verify_hubspot(
    request: &InboundRequest<'_>,
    client_secret: &str,
    public_url: &str,
    versions: &[HubspotVersion],
    tolerance: Duration,
) -> Result<(), AuthError> {
    let headers = request.headers;
    let accepts = |version| versions.contains(&version);
    if accepts(HubspotVersion::V3) && headers.contains_key(HUBSPOT_SIGNATURE_V3) {
        return verify_hubspot_v3(request, client_secret, public_url, tolerance);
    }
    if headers.contains_key(HUBSPOT_SIGNATURE) {
        let version = optional_header(headers, HUBSPOT_SIGNATURE_VERSION)?;
        let chosen = [HubspotVersion::V2, HubspotVersion::V1]
            .into_iter()
            .find(|candidate| accepts(*candidate) && version == candidate.version_value());
        if let Some(chosen) = chosen {
            return verify_hubspot_legacy(request, chosen, client_secret, public_url);
        }
    }
    Err(AuthError::MissingHeader {
        header: versions
            .first()
            .copied()
            .unwrap_or(HubspotVersion::V3)
            .signature_header(),
    })
}

fn verify_hubspot_v3(
    request: &InboundRequest<'_>,
    client_secret: &str,
    public_url: &str,
    tolerance: Duration,
) -> Result<(), AuthError> {
    let headers = request.headers;
    let signature = required_header(headers, HUBSPOT_SIGNATURE_V3)?;
    let signature = BASE64
        .decode(signature)
        .map_err(|_| malformed(HUBSPOT_SIGNATURE_V3, "expected standard base64"))?;
    let timestamp = required_header(headers, HUBSPOT_REQUEST_TIMESTAMP)?;
    let millis = parse_unsigned(timestamp).ok_or_else(|| {
        malformed(
            HUBSPOT_REQUEST_TIMESTAMP,
            "expected milliseconds since the Unix epoch",
        )
    })?;
    check_freshness(
        HUBSPOT_REQUEST_TIMESTAMP,
        i128::from(millis),
        request.now,
        tolerance,
    )?;
    let uri = hubspot_request_uri(public_url, request.raw_query);
    hubspot_v3_mac(client_secret, request.method, &uri, request.body, timestamp)
        .verify_slice(&signature)
        .map_err(|_| AuthError::SignatureMismatch {
            header: HUBSPOT_SIGNATURE_V3,
        })
}

fn verify_hubspot_legacy(
    request: &InboundRequest<'_>,
    version: HubspotVersion,
    client_secret: &str,
    public_url: &str,
) -> Result<(), AuthError> {
    let signature = required_header(request.headers, HUBSPOT_SIGNATURE)?;
    let signature = hex::decode(signature)
        .map_err(|_| malformed(HUBSPOT_SIGNATURE, "expected a hexadecimal SHA-256"))?;
    let expected = match version {
        HubspotVersion::V1 => hubspot_v1_digest(client_secret, request.body),
        _ => {
            let uri = hubspot_request_uri(public_url, request.raw_query);
            hubspot_v2_digest(client_secret, request.method, &uri, request.body)
        }
    };
    if bool::from(expected.as_slice().ct_eq(&signature)) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch {
            header: HUBSPOT_SIGNATURE,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Salesforce

/// Checks the `token` query parameter against `expected` (constant time); `Ok` when no token
/// is configured. Every `token` parameter present must match.
pub fn verify_url_token(raw_query: &str, expected: Option<&str>) -> Result<(), AuthError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let mut found = false;
    let mut all_match = subtle::Choice::from(1);
    for (name, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        if name == URL_TOKEN_PARAMETER {
            found = true;
            all_match &= secret_eq(value.as_bytes(), expected.as_bytes());
        }
    }
    if !found {
        Err(AuthError::MissingUrlToken)
    } else if bool::from(all_match) {
        Ok(())
    } else {
        Err(AuthError::BadUrlToken)
    }
}

/// Checks a Salesforce message's `OrganizationId` against the configured one, case-sensitively
/// on the first 15 characters: Salesforce ids come as 15 characters or as 18 (the same 15
/// plus a 3-character case checksum), and either form may be configured or sent.
pub fn check_salesforce_organization(expected: &str, found: Option<&str>) -> Result<(), AuthError> {
    let found = found
        .map(str::trim)
        .filter(|found| !found.is_empty())
        .ok_or(AuthError::MissingOrganization)?;
    if bool::from(salesforce_id_key(expected).ct_eq(salesforce_id_key(found))) {
        Ok(())
    } else {
        Err(AuthError::WrongOrganization)
    }
}

/// The case-sensitive 15-character form of a Salesforce id (other lengths are kept whole,
/// so they never equal a valid id).
fn salesforce_id_key(id: &str) -> &[u8] {
    let bytes = id.as_bytes();
    if bytes.len() == 18 {
        &bytes[..15]
    } else {
        bytes
    }
}

/// Whether `id` is a well-formed Salesforce id: 15 ASCII letters and digits, or 18 whose last
/// three are the case checksum of the first 15. Used to validate configuration.
pub fn is_salesforce_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    if !(bytes.len() == 15 || bytes.len() == 18) || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    if bytes.len() == 15 {
        return true;
    }
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let checksum: Vec<u8> = bytes[..15]
        .chunks(5)
        .map(|chunk| {
            let bits = chunk.iter().enumerate().fold(0usize, |bits, (i, b)| {
                if b.is_ascii_uppercase() {
                    bits | (1 << i)
                } else {
                    bits
                }
            });
            ALPHABET[bits]
        })
        .collect();
    checksum == bytes[15..]
}

// ---------------------------------------------------------------------------------------------
// HTTP Basic

/// Checks `Authorization: Basic base64(user:pass)` against the expected user name and
/// password, both compared in constant time (the password check runs even when the user
/// name is wrong).
pub fn verify_basic(headers: &HeaderMap, username: &str, password: &str) -> Result<(), AuthError> {
    let value = optional_header(headers, AUTHORIZATION)?.ok_or(AuthError::MissingCredentials)?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| malformed(AUTHORIZATION, "expected `Basic <base64 user:password>`"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed(AUTHORIZATION, "expected the Basic scheme"));
    }
    let decoded = BASE64
        .decode(encoded.trim())
        .map_err(|_| malformed(AUTHORIZATION, "the credentials are not standard base64"))?;
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or_else(|| malformed(AUTHORIZATION, "the credentials have no `:` separator"))?;
    let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
    let matches = secret_eq(user, username.as_bytes()) & secret_eq(pass, password.as_bytes());
    if bool::from(matches) {
        Ok(())
    } else {
        Err(AuthError::BadCredentials)
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

fn optional_header<'h>(
    headers: &'h HeaderMap,
    header: &'static str,
) -> Result<Option<&'h str>, AuthError> {
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
    fn when_uri_has_reserved_escapes_then_only_the_listed_ones_are_decoded() {
        assert_eq!(
            decode_hubspot_uri(
                "https://x.test/a%3Ab%3ac%20d%2Fe%26f%40%21%24%27%28%29%2A%2C%3B%3F"
            ),
            "https://x.test/a:b:c%20d/e%26f@!$'()*,;?"
        );
    }

    #[test]
    fn when_uri_has_a_truncated_or_non_hex_escape_then_it_is_kept() {
        assert_eq!(decode_hubspot_uri("https://x.test/%3"), "https://x.test/%3");
        assert_eq!(
            decode_hubspot_uri("https://x.test/%zz%+3"),
            "https://x.test/%zz%+3"
        );
        assert_eq!(
            decode_hubspot_uri("https://x.test/é%3A"),
            "https://x.test/é:"
        );
    }

    #[test]
    fn when_salesforce_id_has_a_valid_checksum_then_it_is_accepted() {
        assert!(is_salesforce_id("00D000000000062"));
        assert!(is_salesforce_id("00D000000000062EAA"));
        assert!(!is_salesforce_id("00D000000000062EAB"));
        assert!(!is_salesforce_id("00D00000000006"));
        assert!(!is_salesforce_id("00D00000000006-EAA"));
    }

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
