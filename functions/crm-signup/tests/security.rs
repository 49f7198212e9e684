//! crm-signup's security model, through the handler: no source is enabled without its secret,
//! HubSpot's untimed v2 signature is refused unless configured and then never replayed, and
//! every HubSpot setting a deployment needs has a variable of its own.

mod common;

use std::collections::HashMap;

use common::*;
use relay_core::crm::signature::hubspot_v2_signature;
use relay_tests::webhooks::*;
use sandbox::{Api, FaultKind, FaultRule, HubspotContactSeed};
use serde_json::{Value, json};

/// A HubSpot workflow body (flat properties) signed with v2, as HubSpot signs it for
/// `/webhooks/hubspot`: no timestamp, so the same bytes verify forever.
fn hubspot_v2_webhook(body: &str) -> Event {
    let uri = format!("{PUBLIC_URL}/webhooks/hubspot");
    let signature = hubspot_v2_signature(HUBSPOT_SECRET, "POST", &uri, body.as_bytes());
    Event::new("hubspot", "application/json", body)
        .header("x-hubspot-signature", signature)
        .header("x-hubspot-signature-version", "v2")
}

fn workflow_body(id: &str) -> String {
    json!({"hs_object_id": id, "email": format!("{id}@example.com"), "firstname": "Wanda"})
        .to_string()
}

/// Lays `patch` over the `RELAY_SOURCES` the variables already have, source by source.
fn patch_sources(vars: &mut HashMap<String, String>, source: &str, field: &str, value: Value) {
    let mut sources: Value = vars
        .get("RELAY_SOURCES")
        .map_or(json!({}), |raw| serde_json::from_str(raw).unwrap());
    sources[source][field] = value;
    vars.insert("RELAY_SOURCES".into(), sources.to_string());
}

async fn braze_tracks(stack: &Stack) -> u64 {
    let admin = stack.sandbox.admin();
    admin
        .count(Api::Braze, "POST", "/users/track", None)
        .await
        .unwrap()
}

#[tokio::test]
async fn when_the_default_hubspot_source_gets_a_v2_signature_then_it_is_refused() {
    let stack = Stack::start().await;
    let answer = stack
        .call(hubspot_v2_webhook(&workflow_body("v2-default")).request())
        .await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_eq!(answer.problem(), Some("missing-signature"));
    assert_eq!(braze_tracks(&stack).await, 0, "nothing was sent");
}

#[tokio::test]
async fn when_v2_is_configured_and_the_same_request_comes_twice_then_the_second_does_nothing() {
    let stack = Stack::start_with(|vars| {
        patch_sources(vars, "hubspot", "signature_versions", json!(["v3", "v2"]));
    })
    .await;
    let event = hubspot_v2_webhook(&workflow_body("v2-once"));
    let first = stack.call(event.request()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["accepted"], 1);
    let tracked = braze_tracks(&stack).await;
    assert_eq!(tracked, 1);

    let replayed = stack.call(event.request()).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);
    assert_eq!(
        (
            replayed.json["accepted"].clone(),
            replayed.json["ignored"].clone()
        ),
        (json!(0), json!(1))
    );
    assert_eq!(braze_tracks(&stack).await, tracked, "no second upsert");
    let admin = stack.sandbox.admin();
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users", None)
            .await
            .unwrap(),
        1,
        "no second Userflow upsert"
    );
}

#[tokio::test]
async fn when_a_v2_request_was_not_handled_then_hubspots_retry_is_processed() {
    let stack = Stack::start_with(|vars| {
        patch_sources(vars, "hubspot", "signature_versions", json!(["v3", "v2"]));
        vars.insert("WEBHOOK_DEADLINE_MS".into(), "300".into());
    })
    .await;
    let slow = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/track",
        FaultKind::Latency { ms: 2_000 },
    )
    .times(1);
    stack.sandbox.admin().add_fault(&slow).await.unwrap();
    stack.deps.queue.fail_next_sends(1);
    let event = hubspot_v2_webhook(&workflow_body("v2-retry"));
    let failed = stack.call(event.request()).await;
    assert_eq!(failed.status, 503, "{}", failed.text);

    // Processed again: delivered, or parked if this short deadline runs out again.
    let retried = stack.call(event.request()).await;
    assert!(matches!(retried.status, 200 | 202), "{}", retried.text);
    let processed =
        retried.json["accepted"].as_u64().unwrap() + retried.json["parked"].as_u64().unwrap();
    assert_eq!(processed, 1, "{}", retried.text);
    assert_eq!(retried.json["ignored"], 0, "{}", retried.text);
}

#[tokio::test]
async fn when_salesforce_has_no_url_token_then_it_is_not_enabled() {
    let stack = Stack::start_with(|vars| {
        vars.remove("SALESFORCE_URL_TOKEN");
    })
    .await;
    let xml = salesforce_xml(SALESFORCE_ORG, &[("04l1", "0035e00000A1", "a@example.com")]);
    let answer = stack
        .call(salesforce_message(&xml).query("").request())
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert_eq!(answer.problem(), Some("unknown-source"));
    assert!(
        !answer.text.contains("SALESFORCE_URL_TOKEN"),
        "{}",
        answer.text
    );
    assert_eq!(braze_tracks(&stack).await, 0, "nothing was sent");
    let reasons: Vec<(&str, &str)> = stack.deps.sources.disabled().collect();
    assert!(
        reasons
            .iter()
            .any(|(name, reason)| *name == "salesforce-outbound"
                && reason.contains("SALESFORCE_URL_TOKEN")),
        "the cold start tells the operator what to set: {reasons:?}"
    );
}

#[tokio::test]
async fn when_hubspot_api_base_url_is_set_then_events_are_read_there_without_relay_sources() {
    let stack = Stack::start_with(|vars| {
        // The shared variables point HUBSPOT_API_BASE_URL at the sandbox; nothing else says
        // where HubSpot is.
        assert!(vars.contains_key("HUBSPOT_API_BASE_URL"));
        assert!(!vars.contains_key("RELAY_SOURCES"));
    })
    .await;
    let admin = stack.sandbox.admin();
    let mut seed = HubspotContactSeed::new("701");
    seed.properties
        .insert("email".into(), "h701@example.com".into());
    admin.seed_hubspot_contacts(&[seed]).await.unwrap();
    let events = json!([
        {"eventId": 1, "subscriptionId": 9, "portalId": 62515, "appId": 7, "occurredAt": 1795342530000u64,
         "subscriptionType": "contact.creation", "attemptNumber": 0, "objectId": 701, "changeSource": "CRM_UI"}
    ])
    .to_string();
    let answer = stack.call(hubspot_webhook(&events).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 1);
    assert!(admin.braze_user("701").await.unwrap().is_some());
}
