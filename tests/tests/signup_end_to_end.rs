//! End to end on moto (S3 + SQS) and the sandbox: 1,000 contacts arrive over many webhook
//! requests from all four CRM sources while Braze and Userflow fail 30% of requests with HTML
//! 503s and throttle in bursts. crm-signup delivers or parks; the sync-worker drains the real
//! SQS queue with partial batch failures. Then every webhook is delivered a second time.
//!
//! Afterwards every valid contact is in Braze and Userflow exactly once, every invalid one was
//! reported to its CRM, and no user has more than one `signed_up` event.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use lambda_http::Body;
use relay_core::aws::s3_client;
use relay_core::queue::SqsQueue;
use relay_core::store::{ObjectStore, S3Store};
use relay_tests::Moto;
use relay_tests::webhooks::*;
use sandbox::{Api, FaultKind, FaultRule, HubspotContactSeed, SandboxConfig};
use serde_json::{Value, json};
use support::{Functions, functions_on_moto, sqs_event};

mod support;

const CONTACTS: usize = 1_000;

/// One webhook as a CRM would send it (signed anew at each delivery).
#[derive(Clone)]
enum Webhook {
    Standard(String),
    Hubspot(String),
    Salesforce(String),
    Pipedrive(String),
}

impl Webhook {
    fn event(&self) -> Event {
        match self {
            Webhook::Standard(body) => standard_webhook(body),
            Webhook::Hubspot(body) => hubspot_webhook(body),
            Webhook::Salesforce(xml) => salesforce_message(xml),
            Webhook::Pipedrive(body) => pipedrive_webhook(body, PIPEDRIVE_PASSWORD),
        }
    }
}

/// The test's plan: webhooks to send, HubSpot contacts to seed, and who is valid.
struct Plan {
    webhooks: Vec<Webhook>,
    hubspot: Vec<HubspotContactSeed>,
    valid: BTreeSet<String>,
    invalid: BTreeSet<String>,
}

/// Contact `i` goes through source `i % 10`: 0-4 Standard Webhooks, 5-6 HubSpot events,
/// 7-8 Salesforce, 9 Pipedrive. Every 20th contact has an invalid email.
fn plan() -> Plan {
    let mut plan = Plan {
        webhooks: Vec::new(),
        hubspot: Vec::new(),
        valid: BTreeSet::new(),
        invalid: BTreeSet::new(),
    };
    let mut standard = Vec::new();
    let mut hubspot_events = Vec::new();
    let mut salesforce = Vec::new();
    for i in 0..CONTACTS {
        let bad = i % 20 == 13;
        let email = |id: &str| {
            if bad {
                format!("{id}-at-example.com")
            } else {
                format!("{id}@example.com")
            }
        };
        let id = match i % 10 {
            0..=4 => {
                let id = format!("sw-{i}");
                let mut contact = contact_json(&id);
                contact["email"] = email(&id).into();
                standard.push(contact);
                id
            }
            5 | 6 => {
                let id = format!("{}", 500_000 + i);
                let mut seed = HubspotContactSeed::new(&id);
                seed.properties.insert("email".into(), email(&id).into());
                seed.properties.insert("firstname".into(), "Hub".into());
                plan.hubspot.push(seed);
                hubspot_events.push(json!({
                    "eventId": i, "subscriptionId": 1, "portalId": 62515, "appId": 7,
                    "occurredAt": 1795342530000u64, "subscriptionType": "contact.creation",
                    "attemptNumber": 0, "objectId": 500_000 + i, "changeSource": "CRM_UI"
                }));
                id
            }
            7 | 8 => {
                let id = format!("0035e{i:08}");
                salesforce.push((format!("04l{i:08}"), id.clone(), email(&id)));
                id
            }
            _ => {
                let id = format!("{}", 900_000 + i);
                let body = json!({
                    "meta": {"action": "create", "entity": "person", "entity_id": id,
                             "company_id": "7", "timestamp": "2026-11-22T10:00:00Z",
                             "version": "2.0", "webhook_id": "9", "attempt": 1,
                             "correlation_id": format!("c-{i}")},
                    "data": {"id": 900_000 + i, "first_name": "Pip", "last_name": "Drive",
                             "emails": [{"value": email(&id), "primary": true, "label": "work"}],
                             "org_id": 7, "add_time": "2026-11-22T10:00:00Z"},
                    "previous": null
                });
                plan.webhooks.push(Webhook::Pipedrive(body.to_string()));
                id
            }
        };
        if bad {
            plan.invalid.insert(id);
        } else {
            plan.valid.insert(id);
        }
    }
    for chunk in standard.chunks(25) {
        plan.webhooks
            .push(Webhook::Standard(json!({"contacts": chunk}).to_string()));
    }
    for chunk in hubspot_events.chunks(40) {
        plan.webhooks
            .push(Webhook::Hubspot(Value::from(chunk.to_vec()).to_string()));
    }
    for chunk in salesforce.chunks(20) {
        let notifications: Vec<(&str, &str, &str)> = chunk
            .iter()
            .map(|(n, c, e)| (n.as_str(), c.as_str(), e.as_str()))
            .collect();
        plan.webhooks.push(Webhook::Salesforce(salesforce_xml(
            SALESFORCE_ORG,
            &notifications,
        )));
    }
    plan
}

/// What the CRMs were told.
#[derive(Default)]
struct Answers {
    statuses: BTreeMap<u16, usize>,
    rejected: BTreeSet<String>,
    parked: usize,
}

/// Sends every webhook (four at a time, as CRMs do), resending on 5xx like a CRM would.
async fn deliver_all(deps: &crm_signup::Deps<S3Store, SqsQueue>, webhooks: &[Webhook]) -> Answers {
    let results: Vec<(u16, Value, String)> = futures::stream::iter(0..webhooks.len())
        .map(|index| async move {
            for _ in 0..6 {
                let response = crm_signup::handler(deps, webhooks[index].event().request())
                    .await
                    .expect("the handler answers");
                let status = response.status().as_u16();
                let text = match response.into_body() {
                    Body::Text(text) => text,
                    Body::Binary(bytes) => String::from_utf8(bytes).unwrap(),
                    _ => String::new(),
                };
                if status < 500 {
                    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
                    return (status, json, text);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            panic!("webhook {index} kept failing with 5xx");
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut answers = Answers::default();
    for (status, json, text) in results {
        *answers.statuses.entry(status).or_default() += 1;
        assert!(
            matches!(status, 200 | 202 | 422),
            "unexpected answer {status}: {text}"
        );
        answers.parked += json["parked"].as_u64().unwrap_or(0) as usize;
        for rejected in json["rejected"].as_array().into_iter().flatten() {
            answers
                .rejected
                .insert(rejected["external_id"].as_str().unwrap().to_owned());
        }
    }
    answers
}

/// Runs the sync-worker like an SQS event source mapping: batches of 10, partial batch
/// failures stay on the queue and come back after the (1 s) visibility timeout.
async fn drain(
    moto: &Moto,
    queue_url: &str,
    worker: &sync_worker::Deps<S3Store, SqsQueue>,
) -> usize {
    let sqs = moto.sqs_client().await;
    let mut handled = 0;
    let mut idle_rounds = 0;
    for _ in 0..2_000 {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(1)
            .send()
            .await
            .expect("receive");
        let messages = received.messages();
        if messages.is_empty() {
            idle_rounds += 1;
            if idle_rounds == 4 {
                return handled;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        idle_rounds = 0;
        let event = sqs_event(messages.iter().map(|m| {
            (
                m.message_id().unwrap_or_default(),
                m.receipt_handle().unwrap_or_default(),
                m.body().unwrap_or_default(),
            )
        }));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let response = sync_worker::handle_messages(worker, &event.records, deadline).await;
        let failed: BTreeSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for message in messages {
            if !failed.contains(message.message_id().unwrap()) {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .expect("delete");
                handled += 1;
            }
        }
    }
    panic!("the sync queue never drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_1000_contacts_arrive_through_faults_then_each_lands_exactly_once() {
    let moto = Moto::start();
    let bucket = moto.create_bucket("state").await;
    let queue_url = moto.create_queue("sync").await;
    let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let plan = plan();
    admin.seed_hubspot_contacts(&plan.hubspot).await.unwrap();

    let Functions { signup, worker } =
        functions_on_moto(&moto, relay_variables(sandbox.info()), &bucket, &queue_url).await;
    let sdk = moto.sdk_config().await;

    let html_503 = FaultKind::status(503, true);
    for (api, path, seed) in [
        (Api::Braze, "/users/track", 1),
        (Api::Userflow, "/users", 2),
        (Api::Userflow, "/events", 3),
    ] {
        admin
            .add_fault(
                &FaultRule::new(api, "POST", path, html_503.clone()).with_probability(0.3, seed),
            )
            .await
            .unwrap();
        admin
            .add_fault(
                &FaultRule::new(api, "POST", path, FaultKind::Throttle { retry_after: 1 }).times(8),
            )
            .await
            .unwrap();
    }

    let first = deliver_all(&signup, &plan.webhooks).await;
    assert_eq!(
        first.rejected, plan.invalid,
        "every invalid contact is reported"
    );
    assert!(
        first.parked > 0,
        "30% faults park some contacts: {:?}",
        first.statuses
    );
    drain(&moto, &queue_url, &worker).await;

    // Every CRM delivers every webhook again (HubSpot and Salesforce retry; so may anyone).
    let second = deliver_all(&signup, &plan.webhooks).await;
    assert!(second.statuses.keys().all(|s| matches!(s, 200 | 202 | 422)));
    drain(&moto, &queue_url, &worker).await;

    let braze_ids: BTreeSet<String> = {
        let mut ids = BTreeSet::new();
        for id in plan.valid.iter().chain(&plan.invalid) {
            if admin.braze_user(id).await.unwrap().is_some() {
                ids.insert(id.clone());
            }
        }
        ids
    };
    assert_eq!(
        braze_ids, plan.valid,
        "Braze has exactly the valid contacts"
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), plan.valid.len());
    let userflow_ids: BTreeSet<String> = admin
        .userflow_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(
        userflow_ids, plan.valid,
        "Userflow has exactly the valid contacts"
    );

    let mut events_per_user: BTreeMap<String, usize> = BTreeMap::new();
    for event in admin
        .userflow_events(None, Some("signed_up"))
        .await
        .unwrap()
    {
        *events_per_user
            .entry(event.user_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let duplicated: Vec<_> = events_per_user.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "signed_up sent twice: {duplicated:?}"
    );
    let missing: Vec<_> = plan
        .valid
        .iter()
        .filter(|id| !events_per_user.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "signed_up never sent for {missing:?}");

    let store = S3Store::new(s3_client(&sdk), &bucket);
    // `failed/attempts/` records the retries the faults caused; nothing else is failed.
    let mut failed = store.list("failed/contacts/").await.unwrap();
    failed.extend(store.list("failed/messages/").await.unwrap());
    assert!(
        failed.is_empty(),
        "nothing was refused for good: {failed:?}"
    );
    let faults_hit = admin
        .count(Api::Userflow, "POST", "/users", Some(503))
        .await
        .unwrap();
    assert!(
        faults_hit > 100,
        "the faults really fired ({faults_hit} Userflow 503s)"
    );
}
