//! crm-signup's handler, called with real API Gateway v2 events, against the sandbox.

mod common;

use std::time::Duration;

use common::*;
use relay_core::jobs::Job;
use relay_tests::webhooks::*;
use sandbox::{Api, FaultKind, FaultRule, HubspotContactSeed};
use serde_json::{Value, json};

#[tokio::test]
async fn when_a_signed_contact_arrives_then_braze_userflow_and_the_event_have_it() {
    let stack = Stack::start().await;
    let body = contact_json("u-1").to_string();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(
        answer.json,
        json!({"accepted": 1, "parked": 0, "rejected": [], "duplicates": 0, "ignored": 0, "not_found": 0})
    );
    let admin = stack.sandbox.admin();
    let profile = admin.braze_user("u-1").await.unwrap().expect("in Braze");
    assert_eq!(profile.attributes["email"], "u-1@example.com");
    assert_eq!(profile.custom_attributes["company_plan"], "pro");
    let user = admin
        .userflow_user("u-1")
        .await
        .unwrap()
        .expect("in Userflow");
    assert_eq!(user.attributes["name"], "Ada Lovelace");
    assert!(
        user.memberships.contains_key("acme"),
        "{:?}",
        user.memberships
    );
    let events = admin
        .userflow_events(Some("u-1"), Some("signed_up"))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn when_the_body_is_base64_encoded_and_headers_vary_in_case_then_it_is_accepted() {
    let stack = Stack::start().await;
    let body = contact_json("u-b64").to_string();
    let mut event = standard_webhook(&body).base64();
    // API Gateway passes header names as the client sent them.
    let renamed: Vec<(String, String)> = event
        .headers
        .iter()
        .map(|(name, value)| {
            let name = match name.as_str() {
                "webhook-signature" => "Webhook-Signature".to_owned(),
                "webhook-timestamp" => "WEBHOOK-TIMESTAMP".to_owned(),
                "content-type" => "Content-Type".to_owned(),
                other => other.to_owned(),
            };
            (name, value.clone())
        })
        .collect();
    event.headers = renamed;
    let json = event.to_json();
    assert!(json.contains(r#""isBase64Encoded":true"#));
    let answer = stack.call(event.request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 1);
}

#[tokio::test]
async fn when_the_same_webhook_is_delivered_twice_then_the_signup_event_is_sent_once() {
    let stack = Stack::start().await;
    let body = json!([contact_json("u-1"), contact_json("u-2")]).to_string();
    for _ in 0..2 {
        let answer = stack.call(standard_webhook(&body).request()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["accepted"], 2);
    }
    let admin = stack.sandbox.admin();
    for id in ["u-1", "u-2"] {
        let events = admin
            .userflow_events(Some(id), Some("signed_up"))
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{id}");
    }
    assert_eq!(admin.userflow_users().await.unwrap().len(), 2);
}

#[tokio::test]
async fn when_n_contacts_arrive_in_one_request_then_braze_gets_ceil_n_over_75_requests() {
    for n in [1usize, 75, 76, 160] {
        let stack = Stack::start().await;
        let contacts: Vec<Value> = (0..n).map(|i| contact_json(&format!("n{i}"))).collect();
        let answer = stack
            .call(standard_webhook(&json!({"contacts": contacts}).to_string()).request())
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["accepted"], n);
        let requests = stack
            .sandbox
            .admin()
            .count(Api::Braze, "POST", "/users/track", None)
            .await
            .unwrap();
        assert_eq!(requests as usize, n.div_ceil(75), "for {n} contacts");
    }
}

#[tokio::test]
async fn when_an_external_id_repeats_then_the_last_one_wins_and_it_is_counted() {
    let stack = Stack::start().await;
    let mut first = contact_json("dup");
    first["first_name"] = "First".into();
    let mut last = contact_json("dup");
    last["first_name"] = "Last".into();
    let answer = stack
        .call(standard_webhook(&json!([first, last]).to_string()).request())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        (
            answer.json["accepted"].clone(),
            answer.json["duplicates"].clone()
        ),
        (json!(1), json!(1))
    );
    let profile = stack
        .sandbox
        .admin()
        .braze_user("dup")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.attributes["first_name"], "Last");
}

#[tokio::test]
async fn when_some_contacts_are_invalid_then_they_are_reported_and_the_rest_delivered() {
    let stack = Stack::start().await;
    let mut bad = contact_json("bad");
    bad["email"] = "not-an-email".into();
    bad["country"] = "Britain".into();
    let body = json!([contact_json("good"), bad]).to_string();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 1);
    let rejected = &answer.json["rejected"][0];
    assert_eq!(rejected["index"], 1);
    assert_eq!(rejected["location"], "/1");
    assert_eq!(rejected["external_id"], "bad");
    let fields: Vec<&str> = rejected["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "country"]);
    assert!(!answer.text.contains("not-an-email"), "values never echoed");
    let admin = stack.sandbox.admin();
    assert!(
        admin.braze_user("bad").await.unwrap().is_none(),
        "never sent"
    );
    assert!(
        admin.userflow_user("bad").await.unwrap().is_none(),
        "never sent"
    );
}

#[tokio::test]
async fn when_userflow_is_slower_than_the_deadline_then_contacts_are_parked_and_202() {
    let stack = Stack::start_with(|vars| {
        vars.insert("WEBHOOK_DEADLINE_MS".into(), "400".into());
    })
    .await;
    let slow = FaultRule::new(
        Api::Userflow,
        "POST",
        "/users",
        FaultKind::Latency { ms: 2_000 },
    );
    stack.sandbox.admin().add_fault(&slow).await.unwrap();
    let body = json!([contact_json("p1"), contact_json("p2")]).to_string();
    let started = std::time::Instant::now();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "answered at the deadline"
    );
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(
        (
            answer.json["accepted"].clone(),
            answer.json["parked"].clone()
        ),
        (json!(0), json!(2))
    );
    let parked: Vec<Job> = stack
        .deps
        .queue
        .messages()
        .iter()
        .map(|body| Job::decode(body).expect("a contact job"))
        .collect();
    assert_eq!(parked.len(), 1, "both contacts in one message");
    let Job::Contacts(job) = &parked[0] else {
        panic!("crm-signup parks contacts jobs");
    };
    let ids: Vec<&str> = job
        .contacts
        .iter()
        .map(|parked| parked.contact.external_id.as_str())
        .collect();
    assert_eq!(ids, ["p1", "p2"]);
    assert_eq!(job.source, "standard-webhooks");
    assert!(job.contacts.iter().all(|parked| parked.is_signup));
}

#[tokio::test]
async fn when_parking_fails_then_503_so_the_crm_retries() {
    let stack = Stack::start_with(|vars| {
        vars.insert("WEBHOOK_DEADLINE_MS".into(), "300".into());
    })
    .await;
    let slow = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/track",
        FaultKind::Latency { ms: 2_000 },
    );
    stack.sandbox.admin().add_fault(&slow).await.unwrap();
    stack.deps.queue.fail_next_sends(1);
    let answer = stack
        .call(standard_webhook(&contact_json("x").to_string()).request())
        .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.problem(), Some("parking-failed"));
    assert!(answer.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn when_hubspot_events_name_contacts_then_they_are_read_and_delivered() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    let seeds: Vec<HubspotContactSeed> = (1..=3)
        .map(|i| {
            let mut seed = HubspotContactSeed::new(format!("{i}01"));
            seed.properties
                .insert("email".into(), format!("h{i}@example.com").into());
            seed.properties.insert("firstname".into(), "Hub".into());
            seed
        })
        .collect();
    admin.seed_hubspot_contacts(&seeds).await.unwrap();
    let events = json!([
        {"eventId": 1, "subscriptionId": 9, "portalId": 62515, "appId": 7, "occurredAt": 1795342530000u64,
         "subscriptionType": "contact.creation", "attemptNumber": 0, "objectId": 101, "changeSource": "CRM_UI"},
        {"eventId": 2, "subscriptionId": 9, "portalId": 62515, "appId": 7, "occurredAt": 1795342530000u64,
         "subscriptionType": "object.creation", "objectTypeId": "0-1", "attemptNumber": 0, "objectId": 201, "changeSource": "CRM_UI"},
        {"eventId": 3, "subscriptionId": 9, "portalId": 62515, "appId": 7, "occurredAt": 1795342530000u64,
         "subscriptionType": "contact.propertyChange", "propertyName": "email", "propertyValue": "h3@example.com",
         "attemptNumber": 0, "objectId": 301, "changeSource": "CRM_UI"},
        {"eventId": 4, "subscriptionId": 9, "portalId": 62515, "appId": 7, "occurredAt": 1795342530000u64,
         "subscriptionType": "company.creation", "attemptNumber": 0, "objectId": 999, "changeSource": "CRM_UI"},
        {"eventId": 5, "subscriptionId": 9, "portalId": 62515, "appId": 7, "occurredAt": 1795342530000u64,
         "subscriptionType": "contact.creation", "attemptNumber": 0, "objectId": 404, "changeSource": "CRM_UI"}
    ])
    .to_string();
    let answer = stack.call(hubspot_webhook(&events).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 3);
    assert_eq!(answer.json["ignored"], 1);
    assert_eq!(answer.json["not_found"], 1);
    for id in ["101", "201", "301"] {
        assert!(
            admin.braze_user(id).await.unwrap().is_some(),
            "{id} in Braze"
        );
    }
    let signed_up = |id: &'static str| {
        let admin = admin.clone();
        async move {
            let events = admin.userflow_events(Some(id), Some("signed_up"));
            events.await.unwrap().len()
        }
    };
    assert_eq!(
        signed_up("101").await,
        1,
        "created: the signup event is due"
    );
    assert_eq!(
        signed_up("201").await,
        1,
        "object.creation of a contact: due too"
    );
    assert_eq!(
        signed_up("301").await,
        0,
        "a property change is not a signup"
    );
    assert_eq!(
        admin
            .count(
                Api::Hubspot,
                "POST",
                "/crm/v3/objects/contacts/batch/read",
                None
            )
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn when_salesforce_redelivers_a_message_then_it_is_acked_and_processed_once() {
    let stack = Stack::start().await;
    let xml = salesforce_xml(
        SALESFORCE_ORG,
        &[
            ("04l1", "0035e00000A1", "g1@example.com"),
            ("04l2", "0035e00000A2", "g2@example.com"),
        ],
    );
    let first = stack.call(salesforce_message(&xml).request()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.content_type.starts_with("text/xml"));
    assert!(first.text.contains("<Ack>true</Ack>"));
    let admin = stack.sandbox.admin();
    let tracked = admin
        .count(Api::Braze, "POST", "/users/track", None)
        .await
        .unwrap();
    let again = stack.call(salesforce_message(&xml).request()).await;
    assert_eq!(again.status, 200);
    assert!(again.text.contains("<Ack>true</Ack>"));
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", None)
            .await
            .unwrap(),
        tracked,
        "a redelivered message sends nothing again"
    );
    let profile = admin
        .braze_user("0035e00000A1")
        .await
        .unwrap()
        .expect("in Braze");
    assert_eq!(profile.attributes["last_name"], "Hopper");
}

#[tokio::test]
async fn when_pipedrive_sends_a_person_then_other_actions_are_ignored_with_2xx() {
    let stack = Stack::start().await;
    let person = |action: &str| {
        json!({
            "meta": {"action": action, "entity": "person", "entity_id": "42", "company_id": "7",
                     "timestamp": "2026-11-22T10:00:00Z", "version": "2.0", "webhook_id": "9",
                     "attempt": 1, "correlation_id": "c-1"},
            "data": {"id": 42, "name": "Lin Chen", "first_name": "Lin", "last_name": "Chen",
                     "emails": [{"value": "lin@example.com", "primary": true, "label": "work"}],
                     "phones": [], "org_id": 7, "add_time": "2026-11-22T10:00:00Z"},
            "previous": null
        })
        .to_string()
    };
    let created = stack
        .call(pipedrive_webhook(&person("create"), PIPEDRIVE_PASSWORD).request())
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.json["accepted"], 1);
    let changed = stack
        .call(pipedrive_webhook(&person("change"), PIPEDRIVE_PASSWORD).request())
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        (
            changed.json["accepted"].clone(),
            changed.json["ignored"].clone()
        ),
        (json!(0), json!(1))
    );
    let profile = stack
        .sandbox
        .admin()
        .braze_user("42")
        .await
        .unwrap()
        .expect("in Braze");
    assert_eq!(profile.custom_attributes["company_id"], "7");
}

#[tokio::test]
async fn when_input_is_bad_then_the_answer_is_the_specific_problem() {
    let stack = Stack::start().await;
    let cases = bad_input_cases();
    assert!(cases.len() >= 25, "the table covers at least 25 bad inputs");
    let mut wrong = Vec::new();
    for case in &cases {
        let answer = stack.call(case.event.request()).await;
        let ok = answer.status == case.status
            && answer.problem() == Some(case.problem)
            && answer.content_type == "application/problem+json"
            && answer.json["status"] == case.status
            && answer.json["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty());
        if !ok {
            wrong.push(format!(
                "{}: expected {} {}, got {} {}",
                case.name, case.status, case.problem, answer.status, answer.text
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let admin = stack.sandbox.admin();
    assert_eq!(
        admin.braze_user_count().await.unwrap(),
        0,
        "nothing bad reached Braze"
    );
    assert!(
        admin.userflow_users().await.unwrap().is_empty(),
        "nor Userflow"
    );
}

#[tokio::test]
async fn when_a_problem_names_a_position_then_it_is_in_the_answer() {
    let stack = Stack::start().await;
    let answer = stack
        .call(standard_webhook("{\n  \"external_id\": \"t-1\",\n  \"email\": \n").request())
        .await;
    assert_eq!(answer.status, 400);
    let location = answer.json["location"].as_str().expect("a location");
    assert!(location.contains("line"), "{location}");
    let rejected = stack
        .call(standard_webhook(&json!([{"email": "a@example.com"}]).to_string()).request())
        .await;
    assert_eq!(rejected.status, 422);
    assert_eq!(
        rejected.json["rejected"][0]["errors"][0]["field"],
        "external_id"
    );
}

#[tokio::test]
async fn when_a_source_has_no_secret_then_it_answers_as_an_unknown_name_and_the_operator_learns_why()
 {
    let stack = Stack::start_with(|vars| {
        vars.remove("PIPEDRIVE_WEBHOOK_PASSWORD");
    })
    .await;
    let disabled = stack
        .call(pipedrive_webhook("{}", PIPEDRIVE_PASSWORD).request())
        .await;
    let unknown = stack
        .call(Event::new("zoho", "application/json", "{}").request())
        .await;

    assert_eq!(disabled.status, 404, "{}", disabled.text);
    assert_eq!(
        disabled.text.replace("pipedrive", "zoho"),
        unknown.text,
        "a caller cannot tell a source not enabled from an unknown name"
    );
    let (name, reason) = stack.deps.sources.disabled().next().expect("listed");
    assert_eq!(name, "pipedrive");
    assert!(reason.contains("PIPEDRIVE_WEBHOOK_PASSWORD"), "{reason}");
}

#[tokio::test]
async fn when_userflow_refuses_the_event_with_503_then_the_marker_is_freed_and_the_contact_parked()
{
    let stack = Stack::start().await;
    let down = FaultRule::new(
        Api::Userflow,
        "POST",
        "/events",
        FaultKind::status(503, true),
    );
    stack.sandbox.admin().add_fault(&down).await.unwrap();
    let answer = stack
        .call(standard_webhook(&contact_json("e-1").to_string()).request())
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.json["parked"], 1);
    let marker = relay_core::delivery::signup_event_marker_key("e-1");
    assert!(
        stack.deps.deliverer.store().get_now(&marker).is_none(),
        "a 503 proves the event was not recorded: the marker is freed for the replay"
    );
}

#[tokio::test]
async fn when_the_event_outcome_is_ambiguous_then_it_is_never_sent_again() {
    let stack = Stack::start().await;
    let broken = FaultRule::new(
        Api::Userflow,
        "POST",
        "/events",
        FaultKind::status(500, false),
    )
    .times(1);
    stack.sandbox.admin().add_fault(&broken).await.unwrap();
    let body = contact_json("e-2").to_string();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let marker = relay_core::delivery::signup_event_marker_key("e-2");
    let kept = stack
        .deps
        .deliverer
        .store()
        .get_now(&marker)
        .expect("marker kept");
    let kept = relay_core::delivery::SignupEventMarker::decode(&kept).expect("a marker");
    assert!(
        kept.unknown_since.is_some(),
        "the marker records that the event may be missing: {kept:?}"
    );
    let again = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(again.status, 200);
    let admin = stack.sandbox.admin();
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/events", None)
            .await
            .unwrap(),
        1,
        "at most once"
    );
}

#[tokio::test]
async fn when_every_salesforce_contact_is_invalid_then_the_message_is_still_acked() {
    let stack = Stack::start().await;
    let xml = salesforce_xml(SALESFORCE_ORG, &[("04l9", "0035e00000Z9", "not-an-email")]);
    let answer = stack.call(salesforce_message(&xml).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.text.contains("<Ack>true</Ack>"));
    let admin = stack.sandbox.admin();
    assert!(
        admin.braze_user("0035e00000Z9").await.unwrap().is_none(),
        "never sent"
    );
}

#[tokio::test]
async fn when_braze_rejects_one_object_then_that_contact_is_reported_and_the_rest_accepted() {
    let stack = Stack::start().await;
    let partial = FaultKind::Status {
        status: 201,
        html: false,
        body: Some(
            json!({"message": "success", "attributes_processed": 2,
                   "errors": [{"type": "'email' is not valid", "input_array": "attributes", "index": 1}]})
            .to_string(),
        ),
        content_type: None,
    };
    let fault = FaultRule::new(Api::Braze, "POST", "/users/track", partial).times(1);
    stack.sandbox.admin().add_fault(&fault).await.unwrap();
    let body = json!([
        contact_json("a-0"),
        contact_json("a-1"),
        contact_json("a-2")
    ])
    .to_string();
    let answer = stack.call(standard_webhook(&body).request()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 2);
    let rejected = &answer.json["rejected"];
    assert_eq!(rejected.as_array().unwrap().len(), 1, "{rejected}");
    assert_eq!(rejected[0]["external_id"], "a-1");
    assert_eq!(rejected[0]["index"], 1);
    assert_eq!(rejected[0]["errors"][0]["field"], "braze");
    assert_eq!(rejected[0]["errors"][0]["rule"], "vendor_rejected");
}
