//! Parked contacts keep whether they signed up. With Userflow down, crm-signup parks every
//! contact of HubSpot and Pipedrive webhooks on the real (moto) sync queue; once Userflow is
//! back, the sync-worker replays them against the sandbox. Creations get exactly one signup
//! event; updates (HubSpot `contact.propertyChange`, Pipedrive `change`) get none.

use std::collections::BTreeMap;
use std::time::Duration;

use lambda_http::Body;
use relay_core::jobs::Job;
use relay_core::queue::SqsQueue;
use relay_core::store::S3Store;
use relay_tests::Moto;
use relay_tests::webhooks::*;
use sandbox::{Api, FaultKind, FaultRule, HubspotContactSeed, SandboxConfig};
use serde_json::{Value, json};
use support::{Functions, functions_on_moto, sqs_event};

mod support;

const HUBSPOT_CREATED: &str = "700001";
const HUBSPOT_UPDATED: &str = "700002";
const PIPEDRIVE_CREATED: &str = "800001";
const PIPEDRIVE_UPDATED: &str = "800002";

fn hubspot_event(subscription: &str, object_id: &str, event_id: u64) -> Value {
    json!({
        "eventId": event_id, "subscriptionId": 1, "portalId": 62515, "appId": 7,
        "occurredAt": 1795342530000u64, "subscriptionType": subscription,
        "attemptNumber": 0, "objectId": object_id.parse::<u64>().unwrap(),
        "changeSource": "CRM_UI", "propertyName": "email", "propertyValue": "x"
    })
}

fn pipedrive_body(action: &str, id: &str) -> String {
    json!({
        "meta": {"action": action, "entity": "person", "entity_id": id, "company_id": "7",
                 "timestamp": "2026-11-22T10:00:00Z", "version": "2.0", "webhook_id": "9",
                 "attempt": 1, "correlation_id": format!("c-{id}")},
        "data": {"id": id.parse::<u64>().unwrap(), "first_name": "Pip", "last_name": "Drive",
                 "emails": [{"value": format!("{id}@example.com"), "primary": true}],
                 "add_time": "2026-11-22T10:00:00Z"},
        "previous": null
    })
    .to_string()
}

async fn send(deps: &crm_signup::Deps<S3Store, SqsQueue>, event: Event) -> (u16, Value) {
    let response = crm_signup::handler(deps, event.request())
        .await
        .expect("the handler answers");
    let status = response.status().as_u16();
    let body = match response.into_body() {
        Body::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a JSON report, got {other:?}"),
    };
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_parked_updates_and_creations_are_replayed_then_only_creations_send_the_signup_event()
{
    let moto = Moto::start();
    let bucket = moto.create_bucket("state").await;
    let queue_url = moto.create_queue("sync").await;
    let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let seeds: Vec<HubspotContactSeed> = [HUBSPOT_CREATED, HUBSPOT_UPDATED]
        .into_iter()
        .map(|id| {
            let mut seed = HubspotContactSeed::new(id);
            seed.properties
                .insert("email".into(), format!("{id}@example.com").into());
            seed
        })
        .collect();
    admin.seed_hubspot_contacts(&seeds).await.unwrap();

    let mut vars = relay_variables(sandbox.info());
    let sources = json!({"pipedrive": {"actions": ["create", "change"]}});
    vars.insert("RELAY_SOURCES".into(), sources.to_string());
    // Userflow is down: nothing finishes before this short deadline, so everything parks.
    vars.insert("WEBHOOK_DEADLINE_MS".into(), "600".into());
    let Functions { signup, worker } = functions_on_moto(&moto, vars, &bucket, &queue_url).await;
    admin
        .add_fault(&FaultRule::new(
            Api::Userflow,
            "POST",
            "/users",
            FaultKind::status(503, true),
        ))
        .await
        .unwrap();

    let hubspot_events = json!([
        hubspot_event("contact.creation", HUBSPOT_CREATED, 1),
        hubspot_event("contact.propertyChange", HUBSPOT_UPDATED, 2),
    ]);
    let webhooks = [
        hubspot_webhook(&hubspot_events.to_string()),
        pipedrive_webhook(
            &pipedrive_body("create", PIPEDRIVE_CREATED),
            PIPEDRIVE_PASSWORD,
        ),
        pipedrive_webhook(
            &pipedrive_body("change", PIPEDRIVE_UPDATED),
            PIPEDRIVE_PASSWORD,
        ),
    ];
    let mut parked = 0;
    for webhook in webhooks {
        let (status, report) = send(&signup, webhook).await;
        assert_eq!(status, 202, "parked, not delivered: {report}");
        parked += report["parked"].as_u64().unwrap();
    }
    assert_eq!(parked, 4);

    // The jobs say which contacts signed up.
    let bodies = moto.receive_all(&queue_url).await;
    let is_signup: BTreeMap<String, bool> = bodies
        .iter()
        .flat_map(|body| {
            let Job::Contacts(job) = Job::decode(body).unwrap() else {
                panic!("a contacts job");
            };
            job.contacts
        })
        .map(|parked| (parked.contact.external_id, parked.is_signup))
        .collect();
    assert_eq!(
        is_signup,
        BTreeMap::from([
            (HUBSPOT_CREATED.to_owned(), true),
            (HUBSPOT_UPDATED.to_owned(), false),
            (PIPEDRIVE_CREATED.to_owned(), true),
            (PIPEDRIVE_UPDATED.to_owned(), false),
        ])
    );
    assert!(
        admin
            .userflow_events(None, Some("signed_up"))
            .await
            .unwrap()
            .is_empty(),
        "no event before the replay"
    );

    // Userflow is back; the sync-worker replays the parked jobs (twice, as a redelivery would).
    admin.clear_faults().await.unwrap();
    let ids: Vec<String> = (0..bodies.len()).map(|at| format!("m-{at}")).collect();
    let event = sqs_event(
        ids.iter()
            .zip(&bodies)
            .map(|(id, body)| (id.as_str(), id.as_str(), body.as_str())),
    );
    for _ in 0..2 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let response = sync_worker::handle_messages(&worker, &event.records, deadline).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "every parked contact is delivered"
        );
    }

    let mut events: BTreeMap<String, usize> = BTreeMap::new();
    for event in admin
        .userflow_events(None, Some("signed_up"))
        .await
        .unwrap()
    {
        *events.entry(event.user_id.unwrap_or_default()).or_default() += 1;
    }
    assert_eq!(
        events,
        BTreeMap::from([
            (HUBSPOT_CREATED.to_owned(), 1),
            (PIPEDRIVE_CREATED.to_owned(), 1)
        ]),
        "exactly one event per creation, none for updates"
    );
    for id in [
        HUBSPOT_CREATED,
        HUBSPOT_UPDATED,
        PIPEDRIVE_CREATED,
        PIPEDRIVE_UPDATED,
    ] {
        assert!(
            admin.userflow_user(id).await.unwrap().is_some(),
            "{id} is in Userflow"
        );
    }
}
