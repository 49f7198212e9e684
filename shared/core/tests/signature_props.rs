//! Properties of the signature schemes over generated requests: a request signed with the
//! right secret always verifies; any single-byte change to the body or the signature is
//! refused; a timestamp outside the tolerance is refused as expired (inside it is not); and
//! arbitrary header values never panic and are refused with a 401.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use relay_core::crm::signature::{
    DEFAULT_TOLERANCE, HubspotVersion, basic_authorization, hubspot_request_uri,
    hubspot_v1_signature, hubspot_v2_signature, hubspot_v3_signature, standard_webhooks_signature,
    verify_basic, verify_hubspot, verify_standard_webhooks,
};
use relay_core::crm::{AuthError, InboundRequest, Verified};

const KEY: &[u8] = b"a standard webhooks key of 32 b.";
const SECRET: &str = "hubspot-client-secret-for-props";
const URL: &str = "https://relay.example.com/webhooks/hubspot";
const NOW: u64 = 1_700_000_000;
const ALL_VERSIONS: [HubspotVersion; 3] =
    [HubspotVersion::V3, HubspotVersion::V2, HubspotVersion::V1];

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("a visible ASCII value"),
        );
    }
    map
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

fn standard(id: &str, timestamp: u64, signature: &str, body: &[u8]) -> Result<(), AuthError> {
    let timestamp = timestamp.to_string();
    let sent = headers(&[
        ("webhook-id", id),
        ("webhook-timestamp", &timestamp),
        ("webhook-signature", signature),
    ]);
    verify_standard_webhooks(&request(&sent, "", body), KEY, DEFAULT_TOLERANCE)
}

fn hubspot(
    pairs: &[(&'static str, &str)],
    query: &str,
    body: &[u8],
) -> Result<Verified, AuthError> {
    let sent = headers(pairs);
    verify_hubspot(
        &request(&sent, query, body),
        SECRET,
        URL,
        &ALL_VERSIONS,
        DEFAULT_TOLERANCE,
    )
}

fn v3(body: &[u8], query: &str, millis: u64, signature: &str) -> Result<Verified, AuthError> {
    let millis = millis.to_string();
    let pairs = [
        ("x-hubspot-signature-v3", signature),
        ("x-hubspot-request-timestamp", millis.as_str()),
    ];
    hubspot(&pairs, query, body)
}

/// A message id as senders make them: visible ASCII, no spaces at the ends.
fn id() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

/// A raw query string: pairs of visible characters.
fn query() -> impl Strategy<Value = String> {
    "([a-z%0-9A-F]{1,6}=[!-~&&[^#&]]{0,8}&){0,3}"
        .prop_map(|query| query.trim_end_matches('&').to_owned())
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

/// `text` with the byte at `index` replaced by another visible ASCII byte.
fn altered(text: &str, index: prop::sample::Index, by: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = index.index(bytes.len());
    let replacement = b'!' + (bytes[at] - b'!' + 1 + by % 93) % 94;
    bytes[at] = if replacement == bytes[at] {
        b'#'
    } else {
        replacement
    };
    String::from_utf8(bytes).expect("ASCII")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn when_a_request_is_signed_with_the_right_secret_then_every_scheme_verifies_it(
        id in id(), query in query(), body in body(), skew in -300i64..=300,
        user in "[!-9;-~]{1,20}", password in "[ -~]{0,20}",
    ) {
        let timestamp = NOW.checked_add_signed(skew).unwrap();
        let signature = standard_webhooks_signature(KEY, &id, &timestamp.to_string(), &body);
        prop_assert_eq!(standard(&id, timestamp, &signature, &body), Ok(()));

        let uri = hubspot_request_uri(URL, &query);
        let millis = timestamp * 1000;
        let signature = hubspot_v3_signature(SECRET, "POST", &uri, &body, &millis.to_string());
        prop_assert_eq!(v3(&body, &query, millis, &signature), Ok(Verified::Complete));
        for (version, signature) in [
            ("v2", hubspot_v2_signature(SECRET, "POST", &uri, &body)),
            ("v1", hubspot_v1_signature(SECRET, &body)),
        ] {
            let pairs = [("x-hubspot-signature", signature.as_str()), ("x-hubspot-signature-version", version)];
            prop_assert!(matches!(hubspot(&pairs, &query, &body), Ok(Verified::Untimed(_))));
        }

        let sent = headers(&[("authorization", &basic_authorization(&user, &password))]);
        prop_assert_eq!(verify_basic(&sent, &user, &password), Ok(()));
    }

    #[test]
    fn when_one_byte_of_the_body_changes_then_every_scheme_refuses_it(
        id in id(), query in query(), body in prop::collection::vec(any::<u8>(), 1..300),
        at in any::<prop::sample::Index>(), flip in 1..=255u8,
    ) {
        let mut changed = body.clone();
        changed[at.index(body.len())] ^= flip;
        let timestamp = NOW.to_string();
        let signature = standard_webhooks_signature(KEY, &id, &timestamp, &body);
        prop_assert_eq!(
            standard(&id, NOW, &signature, &changed),
            Err(AuthError::SignatureMismatch { header: "webhook-signature" })
        );
        let uri = hubspot_request_uri(URL, &query);
        let millis = NOW * 1000;
        let signature = hubspot_v3_signature(SECRET, "POST", &uri, &body, &millis.to_string());
        prop_assert_eq!(
            v3(&changed, &query, millis, &signature),
            Err(AuthError::SignatureMismatch { header: "X-HubSpot-Signature-v3" })
        );
        for (version, signature) in [
            ("v2", hubspot_v2_signature(SECRET, "POST", &uri, &body)),
            ("v1", hubspot_v1_signature(SECRET, &body)),
        ] {
            let pairs = [("x-hubspot-signature", signature.as_str()), ("x-hubspot-signature-version", version)];
            prop_assert_eq!(
                hubspot(&pairs, &query, &changed),
                Err(AuthError::SignatureMismatch { header: "X-HubSpot-Signature" })
            );
        }
    }

    #[test]
    fn when_one_byte_of_the_signature_changes_then_it_is_refused(
        id in id(), body in body(), at in any::<prop::sample::Index>(), by in any::<u8>(),
    ) {
        let timestamp = NOW.to_string();
        let signature = standard_webhooks_signature(KEY, &id, &timestamp, &body);
        // Only the base64 after `v1,` is the signature.
        let (prefix, encoded) = signature.split_at(3);
        let changed = format!("{prefix}{}", altered(encoded, at, by));
        prop_assert!(standard(&id, NOW, &changed, &body).is_err());

        let millis = (NOW * 1000).to_string();
        let signature = hubspot_v3_signature(SECRET, "POST", URL, &body, &millis);
        let changed = altered(&signature, at, by);
        prop_assert!(v3(&body, "", NOW * 1000, &changed).is_err());

        let signature = hubspot_v1_signature(SECRET, &body);
        let changed = altered(&signature, at, by);
        let pairs = [("x-hubspot-signature", changed.as_str()), ("x-hubspot-signature-version", "v1")];
        let refused = hubspot(&pairs, "", &body);
        // Changing a hex digit's case is the same signature; any other change is refused.
        prop_assert!(refused.is_err() || changed.eq_ignore_ascii_case(&signature));
    }

    #[test]
    fn when_the_timestamp_is_outside_the_tolerance_then_it_is_refused_as_expired(
        id in id(), body in body(), beyond in 1u64..10_000_000, future in any::<bool>(),
    ) {
        let tolerance = DEFAULT_TOLERANCE.as_secs();
        let timestamp = if future { NOW + tolerance + beyond } else { NOW - tolerance - beyond };
        let signature = standard_webhooks_signature(KEY, &id, &timestamp.to_string(), &body);
        let refused = standard(&id, timestamp, &signature, &body).unwrap_err();
        prop_assert_eq!(refused.problem_type(), "expired-signature");
        let millis = timestamp * 1000;
        let signature = hubspot_v3_signature(SECRET, "POST", URL, &body, &millis.to_string());
        let refused = v3(&body, "", millis, &signature).unwrap_err();
        prop_assert_eq!(refused.problem_type(), "expired-signature");
        let expired = matches!(
            refused,
            AuthError::TimestampTooOld { .. } | AuthError::TimestampInFuture { .. }
        );
        prop_assert!(expired, "{:?}", refused);
    }

    #[test]
    fn when_header_values_are_arbitrary_then_verification_refuses_with_a_401_without_panicking(
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..60), 7),
        body in body(),
    ) {
        let names = [
            "webhook-id", "webhook-timestamp", "webhook-signature", "x-hubspot-signature-v3",
            "x-hubspot-request-timestamp", "x-hubspot-signature", "authorization",
        ];
        let mut sent = HeaderMap::new();
        for (name, value) in names.iter().zip(&values) {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                sent.insert(HeaderName::from_static(name), value);
            }
        }
        let request = request(&sent, "", &body);
        for result in [
            verify_standard_webhooks(&request, KEY, DEFAULT_TOLERANCE).map(|()| Verified::Complete),
            verify_hubspot(&request, SECRET, URL, &ALL_VERSIONS, DEFAULT_TOLERANCE),
            verify_basic(&sent, "user", "password").map(|()| Verified::Complete),
        ] {
            let error = result.expect_err("random values never verify");
            prop_assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
        }
    }
}
