//! Hostile requests through the real handler (API Gateway v2 events, the sandbox behind):
//! JSON nested 10,000 deep, invalid UTF-8 in the body and in a signature header, XML entity
//! expansion and external entities, signature headers joined by a proxy, a HubSpot v3
//! request replayed inside its window. Each gets its specific answer, and nothing is sent.

mod common;

use common::*;
use relay_core::crm::signature::{decode_standard_webhooks_secret, standard_webhooks_signature};
use relay_tests::webhooks::*;
use sandbox::Api;
use serde_json::json;

async fn braze_calls(stack: &Stack) -> u64 {
    stack
        .sandbox
        .admin()
        .count(Api::Braze, "POST", "/users/track", None)
        .await
        .unwrap()
}

#[tokio::test]
async fn when_a_body_nests_10000_deep_then_it_is_a_400_and_nothing_is_sent() {
    let stack = Stack::start().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let nested_contact = format!(r#"{{"external_id":"d-1","custom":{deep}}}"#);
    let events = [
        standard_webhook(&deep),
        standard_webhook(&nested_contact),
        hubspot_webhook(&deep),
        pipedrive_webhook(&deep, PIPEDRIVE_PASSWORD),
    ];
    for event in events {
        let answer = stack.call(event.request()).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.problem(), Some("malformed-body"));
        assert!(
            answer.json["detail"]
                .as_str()
                .unwrap()
                .contains("recursion limit")
        );
    }
    assert_eq!(braze_calls(&stack).await, 0);
}

#[tokio::test]
async fn when_the_body_is_not_utf8_then_it_is_a_400_naming_the_position_not_the_bytes() {
    let stack = Stack::start().await;
    let mut body = br#"{"external_id":"u-8","email":""#.to_vec();
    body.extend_from_slice(b"\xff\xfe\xfd@example.com\"}");
    let key = decode_standard_webhooks_secret(STANDARD_SECRET).unwrap();
    let timestamp = unix_now().to_string();
    let signature = standard_webhooks_signature(&key, "msg_utf8", &timestamp, &body);
    let event = Event::new("standard-webhooks", "application/json", body)
        .header("webhook-id", "msg_utf8")
        .header("webhook-timestamp", timestamp)
        .header("webhook-signature", signature)
        .base64();
    let answer = stack.call(event.request()).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.problem(), Some("malformed-body"));
    assert!(!answer.text.contains("example.com"), "{}", answer.text);
    assert_eq!(braze_calls(&stack).await, 0);
}

#[tokio::test]
async fn when_a_signature_header_is_not_ascii_or_two_are_joined_then_it_is_a_401() {
    let stack = Stack::start().await;
    let body = contact_json("h-1").to_string();
    let good = standard_webhook(&body);
    let signature = good
        .headers
        .iter()
        .find(|(name, _)| name == "webhook-signature")
        .map(|(_, value)| value.clone())
        .unwrap();
    for (name, value) in [
        ("not ASCII", "v1,é".to_owned()),
        ("joined after", format!("{signature},v1,c2Vjb25k")),
        ("joined before", format!("v1,c2Vjb25k,{signature}")),
    ] {
        let answer = stack
            .call(good.clone().header("webhook-signature", value).request())
            .await;
        assert_eq!(answer.status, 401, "{name}: {}", answer.text);
        assert_eq!(answer.problem(), Some("malformed-signature"), "{name}");
    }
    let joined = hubspot_webhook("[]");
    let v3 = joined
        .headers
        .iter()
        .find(|(name, _)| name == "x-hubspot-signature-v3")
        .map(|(_, value)| value.clone())
        .unwrap();
    let answer = stack
        .call(
            joined
                .header("x-hubspot-signature-v3", format!("{v3},{v3}"))
                .request(),
        )
        .await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_eq!(answer.problem(), Some("malformed-signature"));
    assert_eq!(braze_calls(&stack).await, 0);
}

#[tokio::test]
async fn when_salesforce_sends_entity_expansion_or_an_external_entity_then_it_is_a_400() {
    let stack = Stack::start().await;
    let good = salesforce_xml(SALESFORCE_ORG, &[("04l1", "0035e00000A1", "a@example.com")]);
    let declaration = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    let laughs = (1..10).fold(r#"<!ENTITY l0 "lol">"#.to_owned(), |dtd, n| {
        format!(
            r#"{dtd}<!ENTITY l{n} "{}">"#,
            format!("&l{};", n - 1).repeat(10)
        )
    });
    for doctype in [
        format!("<!DOCTYPE soapenv:Envelope [{laughs}]>"),
        r#"<!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#.to_owned(),
    ] {
        let body = good.replacen(declaration, &format!("{declaration}{doctype}"), 1);
        let body = body.replace("a@example.com", "&xxe;");
        let answer = stack.call(salesforce_message(&body).request()).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.problem(), Some("malformed-body"));
        assert!(
            answer.text.contains("DTDs are not accepted"),
            "{}",
            answer.text
        );
        assert!(!answer.text.contains("root:"), "{}", answer.text);
    }
    assert_eq!(braze_calls(&stack).await, 0);
}

#[tokio::test]
async fn when_a_hubspot_v3_request_is_replayed_inside_its_window_then_it_is_processed_again_idempotently()
 {
    // The documented promise (docs/sources.md): a v3 copy inside the tolerance re-upserts
    // the same contact; the signup event is still sent once.
    let stack = Stack::start().await;
    let body =
        json!({"hs_object_id": "901", "email": "r@example.com", "firstname": "R"}).to_string();
    let event = hubspot_webhook(&body);
    for _ in 0..2 {
        let answer = stack.call(event.request()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["accepted"], 1);
    }
    let admin = stack.sandbox.admin();
    let events = admin
        .userflow_events(Some("901"), Some("signed_up"))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(admin.userflow_users().await.unwrap().len(), 1);
    // Six minutes later the same copy is refused.
    let stale = hubspot_webhook_signed(&body, HUBSPOT_SECRET, now_millis() - 360_000);
    let answer = stack.call(stale.request()).await;
    assert_eq!(answer.problem(), Some("expired-signature"));
}
