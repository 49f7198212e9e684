//! Every signature header parser and verifier of `relay_core::crm::signature`, on request
//! fields read from the bytes (`input::split_fields`: header values first, the body last).
//!
//! Whatever the fields: a refusal is a 401 with a known problem type and a short message that
//! never echoes a signature; a request verifies only when it carries exactly the signature
//! (or credentials, or token) the secret gives for it; and, as an oracle, the same fields
//! signed with the right secret always verify (so the sender's and the verifier's reading of
//! an odd id, query or body cannot part).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use relay_core::crm::signature::{
    HubspotVersion, basic_authorization, check_salesforce_organization, hubspot_request_uri,
    hubspot_v1_signature, hubspot_v2_signature, hubspot_v3_signature, is_salesforce_id,
    redact_url_token, standard_webhooks_signature as sign_standard_webhooks, url_token_query,
    verify_basic, verify_hubspot, verify_standard_webhooks, verify_url_token,
};
use relay_core::crm::{AuthError, InboundRequest, Verified};

use crate::input::{headers, split_fields, text};

/// The receive time every body uses: Standard Webhooks' own test vector time.
pub const NOW_SECS: u64 = 1_614_265_330;
/// The tolerance every body uses (the default).
pub const TOLERANCE: Duration = Duration::from_secs(300);
/// The Standard Webhooks key (`whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw` decoded).
pub const STANDARD_KEY_BASE64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The HubSpot client secret.
pub const HUBSPOT_SECRET: &str = "fuzz-hubspot-client-secret";
/// The URL HubSpot is configured to call.
pub const PUBLIC_URL: &str = "https://relay.example.com/webhooks/hubspot";

const PROBLEM_TYPES: &[&str] = &[
    "missing-signature",
    "malformed-signature",
    "expired-signature",
    "bad-signature",
    "wrong-organization",
];

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn standard_key() -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(STANDARD_KEY_BASE64)
        .expect("the key is base64")
}

/// A refusal: 401, a known problem type, a short printable message (built from the header
/// name, a fixed reason and numbers: it cannot carry a value sent).
///
/// (Whether the message echoes a value is not checked by substring: the fuzzer soon finds a
/// "signature" that is a piece of a fixed message, `0 s old; at most 300 s`.)
fn check_refusal(error: &AuthError) {
    assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
    assert!(PROBLEM_TYPES.contains(&error.problem_type()), "{error:?}");
    let message = error.to_string();
    assert!(message.len() <= 160, "message too long: {message}");
    assert!(
        message.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
        "a message holds bytes a header could have sent: {message:?}"
    );
}

/// Whether `timestamp` (text) is digits within the tolerance of [`NOW_SECS`], in `unit`s
/// per second.
fn fresh(timestamp: &str, unit: u64) -> bool {
    let digits = !timestamp.is_empty()
        && timestamp.len() <= 19
        && timestamp.bytes().all(|b| b.is_ascii_digit());
    let now = i128::from(NOW_SECS) * i128::from(unit);
    let tolerance = TOLERANCE.as_secs() as i128 * i128::from(unit);
    digits
        && timestamp
            .parse::<i128>()
            .is_ok_and(|t| (t - now).abs() <= tolerance)
}

/// Standard Webhooks: fields `webhook-id`, `webhook-timestamp`, `webhook-signature` (`\x1e`
/// separates repeated headers), then the body.
pub fn standard_webhooks_signature(data: &[u8]) {
    let (fields, body) = split_fields(data, 3);
    let (id, timestamp, signature) = (fields[0], fields[1], fields[2]);
    let key = standard_key();
    let sent = headers(&[
        ("webhook-id", id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ]);
    let verify = |headers: &HeaderMap| {
        verify_standard_webhooks(&request(headers, "", body), &key, TOLERANCE)
    };
    match verify(&sent) {
        Ok(()) => {
            let (id, timestamp) = (
                header(&sent, "webhook-id"),
                header(&sent, "webhook-timestamp"),
            );
            assert!(fresh(timestamp, 1), "a stale timestamp verified");
            assert_eq!(sent.get_all("webhook-signature").iter().count(), 1);
            let expected = sign_standard_webhooks(&key, id, timestamp, body);
            let entries = header(&sent, "webhook-signature");
            assert!(
                entries.split(' ').any(|entry| entry == expected),
                "verified without the right signature"
            );
        }
        Err(error) => check_refusal(&error),
    }
    // The oracle: the same id, timestamp and body signed with the key.
    // Signed over the header values as sent (a field may split into several headers).
    let mut good = headers(&[("webhook-id", id), ("webhook-timestamp", timestamp)]);
    let readable = good.len() == 2 && good.values().all(|value| value.to_str().is_ok());
    let (id, timestamp) = (
        header(&good, "webhook-id").to_owned(),
        header(&good, "webhook-timestamp").to_owned(),
    );
    if !readable || id.is_empty() || !fresh(&timestamp, 1) {
        return;
    }
    let signed = sign_standard_webhooks(&key, &id, &timestamp, body);
    let signature = headers(&[("webhook-signature", signed.as_bytes())]);
    good.extend(signature);
    assert_eq!(
        verify(&good),
        Ok(()),
        "a correctly signed request is refused"
    );
}

/// HubSpot: fields `X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp`,
/// `X-HubSpot-Signature`, `X-HubSpot-Signature-Version`, the raw query, then the body; every
/// version accepted.
pub fn hubspot_signature(data: &[u8]) {
    let (fields, body) = split_fields(data, 5);
    let sent = headers(&[
        ("x-hubspot-signature-v3", fields[0]),
        ("x-hubspot-request-timestamp", fields[1]),
        ("x-hubspot-signature", fields[2]),
        ("x-hubspot-signature-version", fields[3]),
    ]);
    let query = text(fields[4]).unwrap_or("");
    let versions = [HubspotVersion::V3, HubspotVersion::V2, HubspotVersion::V1];
    let verify = |headers: &HeaderMap| {
        verify_hubspot(
            &request(headers, query, body),
            HUBSPOT_SECRET,
            PUBLIC_URL,
            &versions,
            TOLERANCE,
        )
    };
    let uri = hubspot_request_uri(PUBLIC_URL, query);
    match verify(&sent) {
        Ok(Verified::Complete) => {
            let timestamp = header(&sent, "x-hubspot-request-timestamp");
            assert!(fresh(timestamp, 1000), "a stale v3 timestamp verified");
            let expected = hubspot_v3_signature(HUBSPOT_SECRET, "POST", &uri, body, timestamp);
            assert_eq!(header(&sent, "x-hubspot-signature-v3"), expected);
            assert_eq!(sent.get_all("x-hubspot-signature-v3").iter().count(), 1);
        }
        Ok(Verified::Untimed(key)) => {
            assert!(!sent.contains_key("x-hubspot-signature-v3"));
            assert_eq!(key.as_str().len(), 64);
            let expected = match header(&sent, "x-hubspot-signature-version") {
                "v1" => hubspot_v1_signature(HUBSPOT_SECRET, body),
                "v2" => hubspot_v2_signature(HUBSPOT_SECRET, "POST", &uri, body),
                other => panic!("verified under version {other:?}"),
            };
            let found = header(&sent, "x-hubspot-signature").to_ascii_lowercase();
            assert_eq!(found, expected, "verified without the right signature");
            assert_eq!(sent.get_all("x-hubspot-signature").iter().count(), 1);
        }
        Err(error) => check_refusal(&error),
    }
    // The oracle: v3 over the same query, body and timestamp.
    let Some(timestamp) = text(fields[1]).map(str::trim) else {
        return;
    };
    if fresh(timestamp, 1000) {
        let signed = hubspot_v3_signature(HUBSPOT_SECRET, "POST", &uri, body, timestamp);
        let good = headers(&[
            ("x-hubspot-signature-v3", signed.as_bytes()),
            ("x-hubspot-request-timestamp", timestamp.as_bytes()),
        ]);
        assert_eq!(
            verify(&good),
            Ok(Verified::Complete),
            "a signed request is refused"
        );
    }
}

/// HTTP Basic: fields user name, password, then the `Authorization` value(s) as the rest.
pub fn basic_credentials(data: &[u8]) {
    let (fields, authorization) = split_fields(data, 2);
    let (Some(user), Some(password)) = (text(fields[0]), text(fields[1])) else {
        return;
    };
    let sent = headers(&[("authorization", authorization)]);
    match verify_basic(&sent, user, password) {
        Ok(()) => {
            use base64::Engine as _;
            assert_eq!(sent.get_all("authorization").iter().count(), 1);
            let value = header(&sent, "authorization").trim();
            let (scheme, encoded) = value.split_once(' ').expect("a scheme and credentials");
            assert!(scheme.eq_ignore_ascii_case("basic"));
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .expect("credentials are base64");
            assert_eq!(decoded, format!("{user}:{password}").into_bytes());
        }
        Err(error) => check_refusal(&error),
    }
    let good = headers(&[(
        "authorization",
        basic_authorization(user, password).as_bytes(),
    )]);
    if !user.contains(':') {
        assert_eq!(
            verify_basic(&good, user, password),
            Ok(()),
            "right credentials refused"
        );
    }
}

/// Salesforce: fields the configured token, then the raw query; the organization id check
/// and the id syntax on the token field too.
pub fn salesforce_url_token(data: &[u8]) {
    let (fields, query) = split_fields(data, 1);
    let (Some(token), Some(query)) = (text(fields[0]), text(query)) else {
        return;
    };
    let tokens: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .collect();
    match verify_url_token(query, Some(token)) {
        Ok(()) => assert!(!tokens.is_empty() && tokens.iter().all(|t| t == token)),
        Err(error) => check_refusal(&error),
    }
    assert_eq!(verify_url_token(query, None), Ok(()), "no token configured");
    let signed = url_token_query(token);
    assert_eq!(verify_url_token(&signed, Some(token)), Ok(()));
    let twice = format!("{signed}&{signed}");
    assert_eq!(verify_url_token(&twice, Some(token)), Ok(()));
    let redacted = redact_url_token(query);
    for (name, value) in url::form_urlencoded::parse(redacted.as_bytes()) {
        assert!(
            name != "token" || value == "***",
            "a token survives redaction"
        );
    }
    if tokens.is_empty() {
        assert_eq!(redacted, query, "redaction changed a query without a token");
    }
    if is_salesforce_id(token) {
        let short = &token[..15];
        assert_eq!(check_salesforce_organization(token, Some(short)), Ok(()));
        assert_eq!(check_salesforce_organization(short, Some(token)), Ok(()));
    }
}

fn request<'a>(headers: &'a HeaderMap, query: &'a str, body: &'a [u8]) -> InboundRequest<'a> {
    InboundRequest {
        method: "POST",
        raw_query: query,
        headers,
        body,
        now: now(),
    }
}

/// A header the verifier accepted, trimmed as it reads it.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .unwrap_or("")
}
