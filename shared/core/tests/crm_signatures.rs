//! Webhook authentication through the public API: the official test vectors of each scheme,
//! then `SchemeSettings::verify` on whole requests (tampering, wrong secrets, clocks, missing headers).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderName, HeaderValue};
use relay_core::crm::InboundRequest;
use relay_core::crm::Verified;
use relay_core::crm::signature::{
    AuthError, HubspotVersion, check_salesforce_organization, decode_hubspot_uri,
    decode_standard_webhooks_secret, hubspot_request_uri, hubspot_v1_signature,
    hubspot_v2_signature, hubspot_v3_signature, standard_webhooks_signature,
};
use relay_core::crm::sources::SchemeSettings;
use secrecy::{SecretSlice, SecretString};

// Standard Webhooks official vector.
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const MSG_TS: u64 = 1_614_265_330;
const MSG_BODY: &[u8] = br#"{"test": 2432232314}"#;
const MSG_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// HubSpot official SDK vectors.
const HS_SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const HS_URI: &str = "https://www.example.com/webhook_uri";
const HS_BODY: &[u8] = b"{'example_field':'example_value'}";

const TOLERANCE: Duration = Duration::from_secs(300);

fn at_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn at_millis(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn request<'a>(
    method: &'a str,
    raw_query: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
    now: SystemTime,
) -> InboundRequest<'a> {
    InboundRequest {
        method,
        raw_query,
        headers,
        body,
        now,
    }
}

fn standard_auth(secret: &str) -> SchemeSettings {
    SchemeSettings::StandardWebhooks {
        key: SecretSlice::from(decode_standard_webhooks_secret(secret).unwrap()),
        tolerance: TOLERANCE,
    }
}

fn standard_headers(signature: &str, timestamp: u64) -> HeaderMap {
    headers(&[
        ("webhook-id", MSG_ID),
        ("webhook-timestamp", &timestamp.to_string()),
        ("webhook-signature", signature),
    ])
}

fn hubspot_auth(versions: &[HubspotVersion]) -> SchemeSettings {
    SchemeSettings::Hubspot {
        client_secret: SecretString::from(HS_SECRET),
        public_url: HS_URI.to_owned(),
        versions: versions.to_vec(),
        tolerance: TOLERANCE,
        api: None,
    }
}

fn basic_auth() -> SchemeSettings {
    SchemeSettings::Pipedrive {
        username: "pipedrive".into(),
        password: SecretString::from("s3cret pass:word"),
        actions: vec!["create".into()],
    }
}

fn basic_header(user: &str, pass: &str) -> HeaderMap {
    let encoded = BASE64.encode(format!("{user}:{pass}"));
    headers(&[("Authorization", &format!("Basic {encoded}"))])
}

fn salesforce_auth(token: Option<&str>) -> SchemeSettings {
    SchemeSettings::SalesforceOutbound {
        organization_id: "00D000000000062EAA".into(),
        url_token: token.map(SecretString::from),
    }
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks

#[test]
fn when_signing_the_official_standard_webhooks_vector_then_the_signature_matches() {
    let key = decode_standard_webhooks_secret(WHSEC).unwrap();
    assert_eq!(
        standard_webhooks_signature(&key, MSG_ID, &MSG_TS.to_string(), MSG_BODY),
        MSG_SIG
    );
}

#[test]
fn when_verifying_the_official_standard_webhooks_vector_then_it_passes() {
    let headers = standard_headers(MSG_SIG, MSG_TS);
    let req = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS + 10));
    assert_eq!(standard_auth(WHSEC).verify(&req), Ok(Verified::Complete));
}

#[test]
fn when_secret_has_no_whsec_prefix_then_it_decodes_to_the_same_key() {
    assert_eq!(
        decode_standard_webhooks_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        decode_standard_webhooks_secret(WHSEC).unwrap()
    );
    assert!(decode_standard_webhooks_secret("whsec_not base64!").is_err());
    assert!(decode_standard_webhooks_secret("whsec_").is_err());
}

#[test]
fn when_standard_webhooks_body_is_tampered_then_the_signature_mismatches() {
    let headers = standard_headers(MSG_SIG, MSG_TS);
    let req = request(
        "POST",
        "",
        &headers,
        br#"{"test": 2432232315}"#,
        at_secs(MSG_TS),
    );
    let error = standard_auth(WHSEC).verify(&req).unwrap_err();
    assert_eq!(
        error,
        AuthError::SignatureMismatch {
            header: "webhook-signature"
        }
    );
    assert_eq!(error.problem_type(), "bad-signature");
}

#[test]
fn when_standard_webhooks_secret_is_wrong_then_the_signature_mismatches() {
    let headers = standard_headers(MSG_SIG, MSG_TS);
    let req = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS));
    let other = format!("whsec_{}", BASE64.encode(b"another key entirely"));
    assert!(matches!(
        standard_auth(&other).verify(&req),
        Err(AuthError::SignatureMismatch { .. })
    ));
}

#[test]
fn when_standard_webhooks_timestamp_is_too_old_or_in_the_future_then_it_is_expired() {
    let headers = standard_headers(MSG_SIG, MSG_TS);
    let late = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS + 301));
    let error = standard_auth(WHSEC).verify(&late).unwrap_err();
    assert_eq!(
        error,
        AuthError::TimestampTooOld {
            header: "webhook-timestamp",
            age_secs: 301,
            tolerance_secs: 300
        }
    );
    assert_eq!(error.problem_type(), "expired-signature");

    let early = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS - 301));
    let error = standard_auth(WHSEC).verify(&early).unwrap_err();
    assert!(matches!(
        error,
        AuthError::TimestampInFuture {
            ahead_secs: 301,
            ..
        }
    ));
    assert_eq!(error.problem_type(), "expired-signature");

    let edge = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS - 300));
    assert_eq!(standard_auth(WHSEC).verify(&edge), Ok(Verified::Complete));
}

#[test]
fn when_one_of_several_signatures_matches_then_it_passes() {
    let other = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    let value = format!("v1a,AAAA {other}  v2,abc {MSG_SIG} v1,notbase64!!");
    let headers = standard_headers(&value, MSG_TS);
    let req = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS));
    assert_eq!(standard_auth(WHSEC).verify(&req), Ok(Verified::Complete));
}

#[test]
fn when_only_v1a_and_unknown_versions_are_sent_then_no_signature_is_usable() {
    // The matching digest under a v1a or v2 label is not a v1 signature.
    let digest = MSG_SIG.trim_start_matches("v1,");
    let value = format!("v1a,{digest} v2,{digest}");
    let headers = standard_headers(&value, MSG_TS);
    let req = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS));
    let error = standard_auth(WHSEC).verify(&req).unwrap_err();
    assert!(matches!(
        error,
        AuthError::MalformedHeader {
            header: "webhook-signature",
            ..
        }
    ));
    assert_eq!(error.problem_type(), "malformed-signature");
}

#[test]
fn when_standard_webhooks_headers_are_missing_then_the_error_names_each() {
    let full = [
        ("webhook-id", MSG_ID),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", MSG_SIG),
    ];
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let pairs: Vec<_> = full
            .iter()
            .copied()
            .filter(|(n, _)| *n != missing)
            .collect();
        let headers = headers(&pairs);
        let req = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS));
        let error = standard_auth(WHSEC).verify(&req).unwrap_err();
        assert_eq!(error, AuthError::MissingHeader { header: missing });
        assert_eq!(error.problem_type(), "missing-signature");
        assert!(error.to_string().contains(missing));
    }
}

#[test]
fn when_standard_webhooks_timestamp_is_not_unix_seconds_then_it_is_malformed() {
    for timestamp in ["2021-02-26T00:00:00Z", "+1614265330", "1614265330.5"] {
        let headers = headers(&[
            ("webhook-id", MSG_ID),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", MSG_SIG),
        ]);
        let req = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS));
        assert!(matches!(
            standard_auth(WHSEC).verify(&req),
            Err(AuthError::MalformedHeader {
                header: "webhook-timestamp",
                ..
            })
        ));
    }
}

#[test]
fn when_header_names_use_other_cases_then_they_are_still_found() {
    let headers = headers(&[
        ("Webhook-Id", MSG_ID),
        ("WEBHOOK-TIMESTAMP", "1614265330"),
        ("Webhook-Signature", MSG_SIG),
    ]);
    let req = request("POST", "", &headers, MSG_BODY, at_secs(MSG_TS));
    assert_eq!(standard_auth(WHSEC).verify(&req), Ok(Verified::Complete));
}

// ---------------------------------------------------------------------------------------------
// HubSpot

#[test]
fn when_signing_the_official_hubspot_v3_vectors_then_the_signatures_match() {
    assert_eq!(
        hubspot_v3_signature(HS_SECRET, "POST", HS_URI, HS_BODY, "15000000"),
        "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    );
    assert_eq!(
        hubspot_v3_signature(HS_SECRET, "POST", HS_URI, HS_BODY, "1693657560000"),
        "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="
    );
}

#[test]
fn when_verifying_the_official_hubspot_v3_vector_then_it_passes() {
    let headers = headers(&[
        (
            "X-HubSpot-Signature-v3",
            "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
        ),
        ("X-HubSpot-Request-Timestamp", "1693657560000"),
    ]);
    let req = request(
        "POST",
        "",
        &headers,
        HS_BODY,
        at_millis(1_693_657_560_000 + 2_000),
    );
    assert_eq!(
        hubspot_auth(&[HubspotVersion::V3]).verify(&req),
        Ok(Verified::Complete)
    );
}

#[test]
fn when_hubspot_uri_has_escapes_then_only_reserved_ones_are_decoded() {
    assert_eq!(
        decode_hubspot_uri("https://x.test/a%3Ab?c=%2f%20d"),
        "https://x.test/a:b?c=/%20d"
    );
    assert_eq!(
        hubspot_v3_signature(HS_SECRET, "POST", "https://x.test/a%3Ab", HS_BODY, "1"),
        hubspot_v3_signature(HS_SECRET, "POST", "https://x.test/a:b", HS_BODY, "1")
    );
    assert_ne!(
        hubspot_v3_signature(HS_SECRET, "POST", "https://x.test/a%20b", HS_BODY, "1"),
        hubspot_v3_signature(HS_SECRET, "POST", "https://x.test/a b", HS_BODY, "1")
    );
}

#[test]
fn when_hubspot_request_has_a_query_then_it_is_signed_with_the_public_url() {
    let now_ms = 1_700_000_000_000_u64;
    let timestamp = now_ms.to_string();
    let query = "portal=1&redirect=https%3A%2F%2Fa.test%2Fb%20c";
    let uri = hubspot_request_uri(HS_URI, query);
    assert_eq!(uri, format!("{HS_URI}?{query}"));
    let signature = hubspot_v3_signature(HS_SECRET, "POST", &uri, HS_BODY, &timestamp);
    let headers = headers(&[
        ("x-hubspot-signature-v3", &signature),
        ("x-hubspot-request-timestamp", &timestamp),
    ]);
    let auth = hubspot_auth(&[HubspotVersion::V3]);
    let ok = request("POST", query, &headers, HS_BODY, at_millis(now_ms));
    assert_eq!(auth.verify(&ok), Ok(Verified::Complete));
    let other_query = request("POST", "portal=2", &headers, HS_BODY, at_millis(now_ms));
    assert!(matches!(
        auth.verify(&other_query),
        Err(AuthError::SignatureMismatch { .. })
    ));
}

#[test]
fn when_hubspot_v3_is_tampered_signed_with_another_secret_or_stale_then_it_fails() {
    let now_ms = 1_700_000_000_000_u64;
    let timestamp = now_ms.to_string();
    let good = hubspot_v3_signature(HS_SECRET, "POST", HS_URI, HS_BODY, &timestamp);
    let wrong_secret = hubspot_v3_signature("other", "POST", HS_URI, HS_BODY, &timestamp);
    let auth = hubspot_auth(&[HubspotVersion::V3, HubspotVersion::V2]);

    let signed = |signature: &str, ts: &str| {
        headers(&[
            ("X-HubSpot-Signature-v3", signature),
            ("X-HubSpot-Request-Timestamp", ts),
        ])
    };
    let good_headers = signed(&good, &timestamp);
    let tampered = request(
        "POST",
        "",
        &good_headers,
        b"{'example_field':'other'}",
        at_millis(now_ms),
    );
    assert_eq!(
        auth.verify(&tampered),
        Err(AuthError::SignatureMismatch {
            header: "X-HubSpot-Signature-v3"
        })
    );
    let wrong_method = request("PUT", "", &good_headers, HS_BODY, at_millis(now_ms));
    assert!(auth.verify(&wrong_method).is_err());

    let wrong_headers = signed(&wrong_secret, &timestamp);
    let wrong = request("POST", "", &wrong_headers, HS_BODY, at_millis(now_ms));
    assert!(matches!(
        auth.verify(&wrong),
        Err(AuthError::SignatureMismatch { .. })
    ));

    let stale = request(
        "POST",
        "",
        &good_headers,
        HS_BODY,
        at_millis(now_ms + 300_001),
    );
    let error = auth.verify(&stale).unwrap_err();
    assert!(matches!(
        error,
        AuthError::TimestampTooOld {
            header: "X-HubSpot-Request-Timestamp",
            tolerance_secs: 300,
            ..
        }
    ));
    let future = request(
        "POST",
        "",
        &good_headers,
        HS_BODY,
        at_millis(now_ms - 300_001),
    );
    assert!(matches!(
        auth.verify(&future),
        Err(AuthError::TimestampInFuture { .. })
    ));

    // The official vector's timestamp (1970) is long expired against a real clock.
    let old_headers = signed("HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", "15000000");
    let old = request("POST", "", &old_headers, HS_BODY, at_millis(now_ms));
    assert_eq!(
        auth.verify(&old).unwrap_err().problem_type(),
        "expired-signature"
    );

    let no_timestamp = headers(&[("X-HubSpot-Signature-v3", good.as_str())]);
    let missing = request("POST", "", &no_timestamp, HS_BODY, at_millis(now_ms));
    assert_eq!(
        auth.verify(&missing),
        Err(AuthError::MissingHeader {
            header: "X-HubSpot-Request-Timestamp"
        })
    );
}

#[test]
fn when_hubspot_v2_is_accepted_then_it_verifies_the_sha256_of_secret_and_request() {
    let query = "a=1";
    let uri = hubspot_request_uri(HS_URI, query);
    let signature = hubspot_v2_signature(HS_SECRET, "POST", &uri, HS_BODY);
    assert_eq!(signature.len(), 64);
    assert_eq!(signature, signature.to_lowercase());
    let headers = headers(&[
        ("X-HubSpot-Signature", &signature),
        ("X-HubSpot-Signature-Version", "v2"),
    ]);
    let now = at_secs(1_700_000_000);
    let auth = hubspot_auth(&[HubspotVersion::V3, HubspotVersion::V2]);
    let verified = auth
        .verify(&request("POST", query, &headers, HS_BODY, now))
        .unwrap();
    let key = verified.replay_key().expect("v2 signs no time").clone();
    assert_eq!(key.as_str().len(), 64);
    assert_ne!(key.as_str(), signature, "the key is not the signature");
    assert_eq!(
        auth.verify(&request("POST", query, &headers, b"{}", now)),
        Err(AuthError::SignatureMismatch {
            header: "X-HubSpot-Signature"
        })
    );
    // Upper-case hex is the same digest, so the same request: the same replay key.
    let upper = headers_with(&signature.to_uppercase(), "v2");
    assert_eq!(
        auth.verify(&request("POST", query, &upper, HS_BODY, now)),
        Ok(Verified::Untimed(key))
    );
}

fn headers_with(signature: &str, version: &str) -> HeaderMap {
    headers(&[
        ("X-HubSpot-Signature", signature),
        ("X-HubSpot-Signature-Version", version),
    ])
}

#[test]
fn when_hubspot_v2_is_not_accepted_then_the_v3_header_is_reported_missing() {
    let uri = hubspot_request_uri(HS_URI, "");
    let signature = hubspot_v2_signature(HS_SECRET, "POST", &uri, HS_BODY);
    let headers = headers_with(&signature, "v2");
    let req = request("POST", "", &headers, HS_BODY, at_secs(1_700_000_000));
    let error = hubspot_auth(&[HubspotVersion::V3])
        .verify(&req)
        .unwrap_err();
    assert_eq!(
        error,
        AuthError::MissingHeader {
            header: "X-HubSpot-Signature-v3"
        }
    );
    assert_eq!(error.problem_type(), "missing-signature");
}

#[test]
fn when_hubspot_v1_is_sent_then_it_passes_only_when_v1_is_accepted() {
    let signature = hubspot_v1_signature(HS_SECRET, HS_BODY);
    let headers = headers_with(&signature, "v1");
    let req = request("POST", "", &headers, HS_BODY, at_secs(1_700_000_000));
    assert!(
        hubspot_auth(&[HubspotVersion::V3, HubspotVersion::V2])
            .verify(&req)
            .is_err()
    );
    let v1 = hubspot_auth(&[HubspotVersion::V3, HubspotVersion::V1])
        .verify(&req)
        .unwrap();
    assert!(v1.replay_key().is_some(), "v1 signs no time");

    // Another body is another request: another replay key.
    let other_body = b"{'example_field':'other'}";
    let other_headers = headers_with(&hubspot_v1_signature(HS_SECRET, other_body), "v1");
    let other = request(
        "POST",
        "",
        &other_headers,
        other_body,
        at_secs(1_700_000_000),
    );
    let other = hubspot_auth(&[HubspotVersion::V1]).verify(&other).unwrap();
    assert_ne!(other.replay_key(), v1.replay_key());
}

#[test]
fn when_hubspot_sends_no_signature_then_the_preferred_header_is_named() {
    let empty = HeaderMap::new();
    let req = request("POST", "", &empty, HS_BODY, at_secs(1_700_000_000));
    assert_eq!(
        hubspot_auth(&[HubspotVersion::V2]).verify(&req),
        Err(AuthError::MissingHeader {
            header: "X-HubSpot-Signature"
        })
    );
    let error = hubspot_auth(&[HubspotVersion::V3, HubspotVersion::V2])
        .verify(&req)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "missing the X-HubSpot-Signature-v3 header"
    );
}

#[test]
fn when_hubspot_signature_is_not_base64_then_it_is_malformed() {
    let headers = headers(&[
        ("X-HubSpot-Signature-v3", "%%%"),
        ("X-HubSpot-Request-Timestamp", "1700000000000"),
    ]);
    let req = request("POST", "", &headers, HS_BODY, at_millis(1_700_000_000_000));
    let error = hubspot_auth(&[HubspotVersion::V3])
        .verify(&req)
        .unwrap_err();
    assert_eq!(error.problem_type(), "malformed-signature");
    assert!(!error.to_string().contains("%%%"));
}

// ---------------------------------------------------------------------------------------------
// Salesforce

#[test]
fn when_salesforce_token_matches_then_it_passes_and_otherwise_it_is_rejected() {
    let auth = salesforce_auth(Some("t0k/en+="));
    let empty = HeaderMap::new();
    let now = at_secs(1_700_000_000);
    let ok = request("POST", "a=1&token=t0k%2Fen%2B%3D", &empty, b"", now);
    assert_eq!(auth.verify(&ok), Ok(Verified::Complete));

    let wrong = request("POST", "token=t0k", &empty, b"", now);
    let error = auth.verify(&wrong).unwrap_err();
    assert_eq!(error, AuthError::BadUrlToken);
    assert_eq!(error.problem_type(), "bad-signature");

    let missing = request("POST", "a=1", &empty, b"", now);
    let error = auth.verify(&missing).unwrap_err();
    assert_eq!(error, AuthError::MissingUrlToken);
    assert_eq!(error.problem_type(), "missing-signature");

    let repeated = request("POST", "token=t0k%2Fen%2B%3D&token=x", &empty, b"", now);
    assert_eq!(auth.verify(&repeated), Err(AuthError::BadUrlToken));

    assert_eq!(
        salesforce_auth(None).verify(&missing),
        Ok(Verified::Complete)
    );
}

#[test]
fn when_salesforce_organization_is_15_or_18_characters_then_the_first_15_are_compared() {
    let short = "00D000000000062";
    let long = "00D000000000062EAA";
    for (expected, found) in [(short, long), (long, short), (short, short), (long, long)] {
        assert_eq!(check_salesforce_organization(expected, Some(found)), Ok(()));
    }
    let error = check_salesforce_organization(long, Some("00d000000000062")).unwrap_err();
    assert_eq!(error, AuthError::WrongOrganization, "case-sensitive");
    assert_eq!(error.problem_type(), "wrong-organization");
    assert!(!error.to_string().contains(long));
    assert_eq!(
        check_salesforce_organization(long, Some("00D000000000063")),
        Err(AuthError::WrongOrganization)
    );
    assert_eq!(
        check_salesforce_organization(long, Some("00D00000000006")),
        Err(AuthError::WrongOrganization)
    );
    let missing = check_salesforce_organization(long, None).unwrap_err();
    assert_eq!(missing.problem_type(), "wrong-organization");
    assert_eq!(
        salesforce_auth(None).check_organization(Some(short)),
        Ok(())
    );
    assert_eq!(basic_auth().check_organization(None), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// HTTP Basic

#[test]
fn when_basic_credentials_match_then_it_passes() {
    let headers = basic_header("pipedrive", "s3cret pass:word");
    let req = request("POST", "", &headers, b"{}", at_secs(0));
    assert_eq!(basic_auth().verify(&req), Ok(Verified::Complete));
    let lower_scheme = headers_from_authorization(&format!(
        "basic {}",
        BASE64.encode("pipedrive:s3cret pass:word")
    ));
    let req = request("POST", "", &lower_scheme, b"{}", at_secs(0));
    assert_eq!(basic_auth().verify(&req), Ok(Verified::Complete));
}

fn headers_from_authorization(value: &str) -> HeaderMap {
    headers(&[("authorization", value)])
}

#[test]
fn when_basic_password_or_user_is_wrong_then_credentials_are_bad() {
    for (user, pass) in [
        ("pipedrive", "wrong"),
        ("pipedrive", "s3cret pass:wor"),
        ("someone", "s3cret pass:word"),
        ("", ""),
    ] {
        let headers = basic_header(user, pass);
        let req = request("POST", "", &headers, b"{}", at_secs(0));
        let error = basic_auth().verify(&req).unwrap_err();
        assert_eq!(error, AuthError::BadCredentials);
        assert_eq!(error.problem_type(), "bad-signature");
        assert!(!error.to_string().contains("s3cret"));
    }
}

#[test]
fn when_basic_credentials_are_missing_or_malformed_then_the_error_says_which() {
    let empty = HeaderMap::new();
    let req = request("POST", "", &empty, b"{}", at_secs(0));
    let error = basic_auth().verify(&req).unwrap_err();
    assert_eq!(error, AuthError::MissingCredentials);
    assert_eq!(error.problem_type(), "missing-signature");

    for value in [
        "Bearer abc",
        "Basic !!!",
        &format!("Basic {}", BASE64.encode("no-colon")),
        "Basic",
    ] {
        let headers = headers_from_authorization(value);
        let req = request("POST", "", &headers, b"{}", at_secs(0));
        let error = basic_auth().verify(&req).unwrap_err();
        assert!(
            matches!(
                error,
                AuthError::MalformedHeader {
                    header: "Authorization",
                    ..
                }
            ),
            "{value}: {error:?}"
        );
    }
}

#[test]
fn when_any_auth_error_is_built_then_it_is_a_401() {
    for error in [
        AuthError::MissingCredentials,
        AuthError::BadUrlToken,
        AuthError::WrongOrganization,
        AuthError::MissingHeader {
            header: "webhook-id",
        },
    ] {
        assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
    }
}
