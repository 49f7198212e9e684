//! Requests built here are verified by the schemes' own verifiers and read by their own
//! parsers and the sources' default mappings: the sending side and the receiving side agree.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::crm::payload;
use crate::crm::signature::{AuthError, HubspotVersion, Verified};
use crate::crm::sources::{SourceLookup, Sources};
use crate::secrets::SecretResolver;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ORG: &str = "00D000000000062EAA";

/// The variables that enable the four built-in sources, with `overrides` applied.
fn variables(overrides: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("RELAY_STANDARD_WEBHOOKS_SECRET", WHSEC),
        ("HUBSPOT_CLIENT_SECRET", "hubspot-secret"),
        ("RELAY_PUBLIC_URL", "https://relay.example.com"),
        ("SALESFORCE_ORGANIZATION_ID", ORG),
        ("SALESFORCE_URL_TOKEN", "sf token&more"),
        ("PIPEDRIVE_WEBHOOK_PASSWORD", "pipedrive-password"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (name, value) in overrides {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    vars
}

async fn sources(overrides: &[(&str, &str)]) -> Sources {
    Sources::load(&SecretResolver::from_env_map(variables(overrides)))
        .await
        .expect("sources load")
}

fn source<'a>(sources: &'a Sources, name: &str) -> &'a Source {
    match sources.get(name) {
        SourceLookup::Found(source) => source,
        other => panic!("{name}: {other:?}"),
    }
}

/// A fixed send time, far from the clock: a request that verifies at it used the stamp.
fn stamp(id: &str) -> Stamp {
    Stamp {
        now: UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        id: id.to_owned(),
    }
}

fn contact(pairs: &[&str]) -> OutboundBody {
    OutboundBody::Contact(ContactFields::from_pairs(pairs).expect("valid pairs"))
}

const ALL: [&str; 4] = [
    "standard-webhooks",
    "hubspot",
    "salesforce-outbound",
    "pipedrive",
];

/// The contact every scheme can carry with its default mapping.
const PAIRS: &[&str] = &[
    "external_id=u-42",
    "email=ada@example.com",
    "first_name=Ada",
    "last_name=Lovelace",
    "company_id=acme",
];

/// Verifies, parses and maps `request` as crm-signup does, at `now`.
fn receive(source: &Source, request: &OutboundRequest, now: SystemTime) -> crate::contact::Contact {
    let verified = source.settings.verify(&request.inbound(now));
    assert!(verified.is_ok(), "{}: {verified:?}", source.name);
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok());
    let payload = payload::parse(
        source.scheme(),
        content_type,
        &request.body,
        &source.settings.parse_options(),
    )
    .unwrap_or_else(|error| panic!("{}: {error}", source.name));
    source
        .settings
        .check_organization(payload.organization_id.as_deref())
        .expect("organization");
    assert_eq!(payload.records.len(), 1, "{}: {payload:?}", source.name);
    assert!(payload.records[0].signup, "{}", source.name);
    source
        .mapping
        .apply(&payload.records[0].value)
        .unwrap_or_else(|errors| panic!("{}: {errors:?}", source.name))
}

#[tokio::test]
async fn when_a_contact_is_sent_from_each_source_then_its_verifier_parser_and_mapping_read_it() {
    let sources = sources(&[]).await;
    for name in ALL {
        let source = source(&sources, name);
        let request = build_request(source, contact(PAIRS), &stamp("msg-1")).unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path, format!("/webhooks/{name}"));
        let contact = receive(source, &request, stamp("msg-1").now);
        assert_eq!(contact.external_id, "u-42", "{name}");
        assert_eq!(contact.email.as_deref(), Some("ada@example.com"), "{name}");
        assert_eq!(contact.first_name.as_deref(), Some("Ada"), "{name}");
        assert_eq!(contact.last_name.as_deref(), Some("Lovelace"), "{name}");
        assert_eq!(
            contact.company.and_then(|company| company.id).as_deref(),
            Some("acme"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn when_the_sender_has_another_secret_then_each_verifier_refuses_the_request() {
    let receiving = sources(&[]).await;
    let sending = sources(&[
        ("RELAY_STANDARD_WEBHOOKS_SECRET", "whsec_YW5vdGhlciBrZXk="),
        ("HUBSPOT_CLIENT_SECRET", "another-secret"),
        ("SALESFORCE_URL_TOKEN", "another-token"),
        ("PIPEDRIVE_WEBHOOK_PASSWORD", "another-password"),
    ])
    .await;
    for name in ALL {
        let request = build_request(source(&sending, name), contact(PAIRS), &stamp("m")).unwrap();
        let refused = source(&receiving, name)
            .settings
            .verify(&request.inbound(stamp("m").now));
        assert!(
            matches!(
                refused,
                Err(AuthError::SignatureMismatch { .. }
                    | AuthError::BadUrlToken
                    | AuthError::BadCredentials)
            ),
            "{name}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn when_a_timed_request_is_received_long_after_its_stamp_then_it_has_expired() {
    let sources = sources(&[]).await;
    for name in ["standard-webhooks", "hubspot"] {
        let source = source(&sources, name);
        let request = build_request(source, contact(PAIRS), &stamp("m")).unwrap();
        let later = stamp("m").now + Duration::from_secs(600);
        let refused = source.settings.verify(&request.inbound(later));
        assert!(
            matches!(refused, Err(AuthError::TimestampTooOld { .. })),
            "{name}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn when_a_raw_body_is_sent_then_it_is_signed_as_it_is() {
    let sources = sources(&[]).await;
    let source = source(&sources, "standard-webhooks");
    // The Standard Webhooks specification's own test vector.
    let body = br#"{"test": 2432232314}"#.to_vec();
    let at = Stamp {
        now: UNIX_EPOCH + Duration::from_secs(1_614_265_330),
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
    };
    let request = build_request(source, OutboundBody::Raw(body.clone()), &at).unwrap();
    assert_eq!(request.body, body);
    assert_eq!(
        request.headers["webhook-signature"],
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    assert_eq!(request.headers["webhook-timestamp"], "1614265330");
    assert_eq!(
        request.headers["webhook-id"],
        "msg_p5jXN8AQM9LWM0D4loKWxJek"
    );
}

#[tokio::test]
async fn when_hubspot_is_signed_then_the_configured_public_url_is_the_signed_uri() {
    let configured = r#"{"hubspot": {"public_url": "https://edge.example.net/hooks/hs"}}"#;
    let sources = sources(&[("RELAY_SOURCES", configured)]).await;
    let source = source(&sources, "hubspot");
    let request = build_request(source, contact(PAIRS), &stamp("m")).unwrap();
    let timestamp = request.headers["x-hubspot-request-timestamp"]
        .to_str()
        .unwrap();
    assert_eq!(timestamp, "1767225600000");
    let expected = crate::crm::signature::hubspot_v3_signature(
        "hubspot-secret",
        "POST",
        "https://edge.example.net/hooks/hs",
        &request.body,
        timestamp,
    );
    assert_eq!(request.headers["x-hubspot-signature-v3"], expected.as_str());
    assert_eq!(
        source
            .webhook_url(Some("https://relay.example.com"))
            .as_deref(),
        Some("https://edge.example.net/hooks/hs")
    );
}

#[tokio::test]
async fn when_hubspot_accepts_only_v2_then_the_request_is_signed_v2_and_verifies_untimed() {
    let configured = r#"{"hubspot": {"signature_versions": ["v2"]}}"#;
    let sources = sources(&[("RELAY_SOURCES", configured)]).await;
    let source = source(&sources, "hubspot");
    let request = build_request(source, contact(PAIRS), &stamp("m")).unwrap();
    assert_eq!(request.headers["x-hubspot-signature-version"], "v2");
    let verified = source
        .settings
        .verify(&request.inbound(SystemTime::now()))
        .unwrap();
    assert!(matches!(verified, Verified::Untimed(_)), "{verified:?}");
    assert!(matches!(
        source.settings,
        SchemeSettings::Hubspot { ref versions, .. } if versions == &[HubspotVersion::V2]
    ));
}

#[tokio::test]
async fn when_the_hubspot_body_is_built_then_it_is_the_legacy_workflow_shape() {
    let sources = sources(&[]).await;
    let request = build_request(
        source(&sources, "hubspot"),
        contact(&["external_id=901", "email=ada@example.com"]),
        &stamp("m"),
    )
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "vid": 901,
            "properties": {
                "hs_object_id": {"value": "901"},
                "email": {"value": "ada@example.com"},
            }
        })
    );
}

#[tokio::test]
async fn when_salesforce_has_a_url_token_then_it_travels_in_the_query_and_shows_redacted() {
    let sources = sources(&[]).await;
    let request = build_request(
        source(&sources, "salesforce-outbound"),
        contact(PAIRS),
        &stamp("04l000000000001AAA"),
    )
    .unwrap();
    assert_eq!(request.query, "token=sf+token%26more");
    assert_eq!(request.redacted_query(), "token=***");
    assert_eq!(
        request.path_and_query(),
        "/webhooks/salesforce-outbound?token=sf+token%26more"
    );
    let body = String::from_utf8(request.body.clone()).unwrap();
    assert!(
        body.contains("<Notification><Id>04l000000000001AAA</Id>"),
        "{body}"
    );
    assert!(
        body.contains(&format!("<OrganizationId>{ORG}</OrganizationId>")),
        "{body}"
    );
}

#[tokio::test]
async fn when_a_value_has_xml_markup_then_salesforce_escapes_it() {
    let sources = sources(&[]).await;
    let source = source(&sources, "salesforce-outbound");
    let request = build_request(
        source,
        contact(&["external_id=u<1>&\"x\"", "last_name=O'Brien </sf:LastName>"]),
        &stamp("n1"),
    )
    .unwrap();
    let contact = receive(source, &request, stamp("n1").now);
    assert_eq!(contact.external_id, "u<1>&\"x\"");
    assert_eq!(contact.last_name.as_deref(), Some("O'Brien </sf:LastName>"));
}

#[tokio::test]
async fn when_pipedrive_syncs_only_changes_then_the_event_is_a_change_it_reads() {
    let configured = r#"{"pipedrive": {"actions": ["change"]}}"#;
    let sources = sources(&[("RELAY_SOURCES", configured)]).await;
    let source = source(&sources, "pipedrive");
    let request = build_request(source, contact(PAIRS), &stamp("c-1")).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["meta"]["action"], "change");
    assert_eq!(body["meta"]["entity"], "person");
    assert_eq!(body["meta"]["correlation_id"], "c-1");
    assert_eq!(body["data"]["emails"][0]["value"], "ada@example.com");
    let payload = payload::parse(
        source.scheme(),
        Some("application/json"),
        &request.body,
        &source.settings.parse_options(),
    )
    .unwrap();
    assert_eq!(payload.records.len(), 1);
}

#[tokio::test]
async fn when_the_mapping_does_not_read_a_field_or_cannot_hold_it_then_it_is_refused() {
    let sources = sources(&[(
        "RELAY_SOURCES",
        r#"{"salesforce-outbound": {"mapping": {"external_id": "/Id", "email": "/Emails/0"}}}"#,
    )])
    .await;
    let error = build_request(
        source(&sources, "salesforce-outbound"),
        contact(&["external_id=1", "country=GB"]),
        &stamp("m"),
    )
    .unwrap_err();
    assert_eq!(
        error,
        OutboundError::NotMapped {
            source_name: "salesforce-outbound".into(),
            field: "country".into()
        }
    );
    let error = build_request(
        source(&sources, "salesforce-outbound"),
        contact(&["external_id=1", "email=a@example.com"]),
        &stamp("m"),
    )
    .unwrap_err();
    assert!(
        matches!(error, OutboundError::Unplaceable { ref field, .. } if field == "email"),
        "{error:?}"
    );
    assert!(!error.to_string().contains("a@example.com"), "{error}");
}

#[tokio::test]
async fn when_a_custom_attribute_is_mapped_then_it_is_sent_where_the_mapping_reads_it() {
    let configured = r#"{"standard-webhooks": {"mapping": {"external_id": "/user/id", "custom": {"plan": "/billing/plan"}}}}"#;
    let sources = sources(&[("RELAY_SOURCES", configured)]).await;
    let source = source(&sources, "standard-webhooks");
    let request = build_request(
        source,
        contact(&["external_id=u-7", "custom.plan=pro"]),
        &stamp("m"),
    )
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"user": {"id": "u-7"}, "billing": {"plan": "pro"}})
    );
    let contact = receive(source, &request, stamp("m").now);
    assert_eq!(contact.custom["plan"], "pro");
}

#[test]
fn when_a_webhook_url_is_built_then_a_trailing_slash_is_not_doubled() {
    assert_eq!(
        webhook_url("https://relay.example.com/", "hubspot"),
        "https://relay.example.com/webhooks/hubspot"
    );
    assert_eq!(with_query("/a", ""), "/a");
    assert_eq!(with_query("/a", "b=1"), "/a?b=1");
}
