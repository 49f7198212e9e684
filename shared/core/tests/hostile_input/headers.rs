//! Signature headers sent twice, joined by a proxy, future-dated, replayed, or not ASCII.
//!
//! The rule (`relay_core::crm::signature`): every header a scheme reads is sent once; a
//! second one is refused as malformed, never read first-wins or any-passes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use relay_core::crm::signature::{
    DEFAULT_TOLERANCE, HubspotVersion, basic_authorization, hubspot_v2_signature,
    hubspot_v3_signature, standard_webhooks_signature, verify_basic, verify_hubspot,
    verify_standard_webhooks,
};
use relay_core::crm::{AuthError, InboundRequest, Verified};

const KEY: &[u8] = b"standard-webhooks-key";
const SECRET: &str = "hubspot-secret";
const URL: &str = "https://relay.example.com/webhooks/hubspot";
const NOW: u64 = 1_700_000_000;
const BODY: &[u8] = br#"{"external_id":"u1"}"#;
const OTHER: &str = "v1,c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZSwgMzIgYnl0ZXMh";

fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

fn at(headers: &HeaderMap, now: u64) -> InboundRequest<'_> {
    InboundRequest {
        method: "POST",
        raw_query: "",
        headers,
        body: BODY,
        now: UNIX_EPOCH + Duration::from_secs(now),
    }
}

fn standard(signatures: &[&str], timestamp: u64) -> Result<(), AuthError> {
    let timestamp = timestamp.to_string();
    let mut pairs = vec![
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", timestamp.as_str()),
    ];
    pairs.extend(signatures.iter().map(|s| ("webhook-signature", *s)));
    let headers = map(&pairs);
    verify_standard_webhooks(&at(&headers, NOW), KEY, DEFAULT_TOLERANCE)
}

fn good_standard(timestamp: u64) -> String {
    standard_webhooks_signature(KEY, "msg_1", &timestamp.to_string(), BODY)
}

fn malformed(header: &'static str, reason: &'static str) -> AuthError {
    AuthError::MalformedHeader { header, reason }
}

#[test]
fn when_webhook_signature_is_sent_twice_then_it_is_refused_whichever_comes_first() {
    let good = good_standard(NOW);
    let twice = malformed("webhook-signature", "it is sent more than once");
    assert_eq!(standard(&[&good, OTHER], NOW), Err(twice.clone()));
    assert_eq!(standard(&[OTHER, &good], NOW), Err(twice.clone()));
    assert_eq!(standard(&[&good, &good], NOW), Err(twice));
    // One header with several entries is the scheme's key rotation: any entry may match.
    assert_eq!(standard(&[&format!("{OTHER} {good}")], NOW), Ok(()));
}

#[test]
fn when_a_proxy_joins_two_signature_headers_with_a_comma_then_no_signature_is_readable() {
    // API Gateway joins repeated headers with `,`: one entry, not base64, so no signature.
    let good = good_standard(NOW);
    let reason = "it holds no v1,<base64> signature";
    for joined in [format!("{OTHER},{good}"), format!("{good},{OTHER}")] {
        assert_eq!(
            standard(&[&joined], NOW),
            Err(malformed("webhook-signature", reason)),
            "{joined}"
        );
    }
    // Joined with `, ` the value is entries of one header (key rotation): the one that is
    // not base64 is ignored, as the reference libraries do, and the sender's matches.
    assert_eq!(standard(&[&format!("{OTHER}, {good}")], NOW), Ok(()));
}

#[test]
fn when_a_timestamp_or_id_is_sent_twice_then_it_is_refused() {
    let good = good_standard(NOW);
    let now = NOW.to_string();
    let headers = map(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", &now),
        ("webhook-timestamp", &now),
        ("webhook-signature", &good),
    ]);
    assert_eq!(
        verify_standard_webhooks(&at(&headers, NOW), KEY, DEFAULT_TOLERANCE),
        Err(malformed("webhook-timestamp", "it is sent more than once"))
    );
    let headers = map(&[
        ("webhook-id", "msg_1"),
        ("webhook-id", "msg_2"),
        ("webhook-timestamp", &now),
        ("webhook-signature", &good),
    ]);
    assert_eq!(
        verify_standard_webhooks(&at(&headers, NOW), KEY, DEFAULT_TOLERANCE),
        Err(malformed("webhook-id", "it is sent more than once"))
    );
}

fn hubspot(
    pairs: &[(&'static str, &str)],
    versions: &[HubspotVersion],
) -> Result<Verified, AuthError> {
    let headers = map(pairs);
    verify_hubspot(&at(&headers, NOW), SECRET, URL, versions, DEFAULT_TOLERANCE)
}

#[test]
fn when_hubspot_signature_headers_are_sent_twice_then_they_are_refused() {
    let millis = (NOW * 1000).to_string();
    let v3 = hubspot_v3_signature(SECRET, "POST", URL, BODY, &millis);
    let v2 = hubspot_v2_signature(SECRET, "POST", URL, BODY);
    let zeros = "0".repeat(64);
    // Joined by a proxy: not base64.
    let joined = format!("{v3},{v3}");
    let v3_signature = "x-hubspot-signature-v3";
    let timestamp = "x-hubspot-request-timestamp";
    type Case<'a> = (
        Vec<(&'static str, &'a str)>,
        HubspotVersion,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            vec![
                (v3_signature, "bm90IHRoZSBzaWduYXR1cmU="),
                (v3_signature, &v3),
                (timestamp, &millis),
            ],
            HubspotVersion::V3,
            "X-HubSpot-Signature-v3",
            "it is sent more than once",
        ),
        (
            vec![(v3_signature, &v3), (timestamp, &millis), (timestamp, "1")],
            HubspotVersion::V3,
            "X-HubSpot-Request-Timestamp",
            "it is sent more than once",
        ),
        (
            vec![
                ("x-hubspot-signature", &v2),
                ("x-hubspot-signature", &zeros),
                ("x-hubspot-signature-version", "v2"),
            ],
            HubspotVersion::V2,
            "X-HubSpot-Signature",
            "it is sent more than once",
        ),
        (
            vec![(v3_signature, &joined), (timestamp, &millis)],
            HubspotVersion::V3,
            "X-HubSpot-Signature-v3",
            "expected standard base64",
        ),
    ];
    for (headers, version, header, reason) in cases {
        let result = hubspot(&headers, &[version]);
        assert_eq!(result, Err(malformed(header, reason)), "{headers:?}");
    }
}

#[test]
fn when_basic_credentials_are_sent_twice_then_they_are_refused() {
    let good = basic_authorization("pipedrive", "secret-pw");
    let headers = map(&[("authorization", "Basic eDp5"), ("authorization", &good)]);
    assert_eq!(
        verify_basic(&headers, "pipedrive", "secret-pw"),
        Err(malformed("Authorization", "it is sent more than once"))
    );
}

#[test]
fn when_a_timestamp_is_dated_beyond_the_tolerance_in_the_future_then_it_is_refused() {
    let ahead = NOW + DEFAULT_TOLERANCE.as_secs() + 1;
    assert_eq!(
        standard(&[&good_standard(ahead)], ahead),
        Err(AuthError::TimestampInFuture {
            header: "webhook-timestamp",
            ahead_secs: 301,
            tolerance_secs: 300
        })
    );
    let millis = (ahead * 1000).to_string();
    let v3 = hubspot_v3_signature(SECRET, "POST", URL, BODY, &millis);
    let result = hubspot(
        &[
            ("x-hubspot-signature-v3", &v3),
            ("x-hubspot-request-timestamp", &millis),
        ],
        &[HubspotVersion::V3],
    );
    assert!(
        matches!(
            result,
            Err(AuthError::TimestampInFuture {
                ahead_secs: 301,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn when_a_timed_request_is_replayed_within_the_tolerance_then_it_verifies_again() {
    // Documented (docs/sources.md): Standard Webhooks ids and HubSpot v3 requests are not
    // remembered; a copy inside the window re-upserts (idempotent), and the signup event
    // has its own once-only marker. Outside the window the copy is refused.
    let sent = NOW - 100;
    let good = good_standard(sent);
    assert_eq!(standard(&[&good], sent), Ok(()));
    assert_eq!(standard(&[&good], sent), Ok(()));
    let millis = (sent * 1000).to_string();
    let v3 = hubspot_v3_signature(SECRET, "POST", URL, BODY, &millis);
    let pairs = [
        ("x-hubspot-signature-v3", v3.as_str()),
        ("x-hubspot-request-timestamp", millis.as_str()),
    ];
    assert_eq!(
        hubspot(&pairs, &[HubspotVersion::V3]),
        Ok(Verified::Complete)
    );
    assert_eq!(
        hubspot(&pairs, &[HubspotVersion::V3]),
        Ok(Verified::Complete)
    );
    let headers = map(&pairs);
    let later = verify_hubspot(
        &at(&headers, sent + 301),
        SECRET,
        URL,
        &[HubspotVersion::V3],
        DEFAULT_TOLERANCE,
    );
    assert!(
        matches!(later, Err(AuthError::TimestampTooOld { .. })),
        "{later:?}"
    );
}

#[test]
fn when_an_untimed_request_is_replayed_then_both_copies_carry_the_same_replay_key() {
    let v2 = hubspot_v2_signature(SECRET, "POST", URL, BODY);
    let key = |signature: &str| match hubspot(
        &[
            ("x-hubspot-signature", signature),
            ("x-hubspot-signature-version", "v2"),
        ],
        &[HubspotVersion::V2],
    ) {
        Ok(Verified::Untimed(key)) => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(key(&v2), key(&v2));
    assert_eq!(
        key(&v2),
        key(&v2.to_ascii_uppercase()),
        "the hex case is not a new request"
    );
}

#[test]
fn when_a_signature_header_is_not_visible_ascii_then_it_is_malformed() {
    let mut headers = map(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", &NOW.to_string()),
    ]);
    headers.insert(
        "webhook-signature",
        HeaderValue::from_bytes(b"v1,\xff\xfe").unwrap(),
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    let request = InboundRequest {
        now,
        ..at(&headers, NOW)
    };
    assert_eq!(
        verify_standard_webhooks(&request, KEY, DEFAULT_TOLERANCE),
        Err(malformed(
            "webhook-signature",
            "it contains characters other than visible ASCII"
        ))
    );
}
