//! The built-in mappings deliver a typical contact with its company: by id when the CRM
//! gives one, by name alone otherwise.

mod common;

use common::*;
use relay_tests::webhooks::*;
use sandbox::HubspotContactSeed;
use serde_json::json;

fn seed(id: &str, properties: serde_json::Value) -> HubspotContactSeed {
    let mut seed = HubspotContactSeed::new(id);
    seed.properties = properties.as_object().unwrap().clone();
    seed
}

fn created(object_ids: &[u64]) -> String {
    let events: Vec<_> = object_ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            json!({"eventId": n, "subscriptionId": 9, "portalId": 62515, "appId": 7,
                   "occurredAt": now_millis(), "subscriptionType": "contact.creation",
                   "attemptNumber": 0, "objectId": id, "changeSource": "CRM_UI"})
        })
        .collect();
    json!(events).to_string()
}

#[tokio::test]
async fn when_hubspot_contacts_have_a_company_then_the_default_mapping_delivers_them() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .seed_hubspot_contacts(&[
            seed(
                "5001",
                json!({"email": "a@example.com", "company": "Acme", "associatedcompanyid": "9001"}),
            ),
            seed(
                "5002",
                json!({"email": "b@example.com", "company": "Solo Ltd"}),
            ),
            seed("5003", json!({"email": "c@example.com"})),
        ])
        .await
        .unwrap();

    let answer = stack
        .call(hubspot_webhook(&created(&[5001, 5002, 5003])).request())
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["accepted"], 3, "{}", answer.text);
    assert_eq!(answer.json["rejected"], json!([]));

    let with_id = admin.userflow_user("5001").await.unwrap().unwrap();
    assert!(
        with_id.memberships.contains_key("9001"),
        "the company is a group"
    );
    let groups = admin.userflow_groups().await.unwrap();
    let acme = groups
        .iter()
        .find(|g| g.id == "9001")
        .expect("the group exists");
    assert_eq!(acme.attributes["name"], "Acme");
    let braze = admin.braze_user("5001").await.unwrap().unwrap();
    assert_eq!(braze.custom_attributes["company_id"], "9001");
    assert_eq!(braze.custom_attributes["company_name"], "Acme");

    let name_only = admin.userflow_user("5002").await.unwrap().unwrap();
    assert!(name_only.memberships.is_empty(), "a name alone is no group");
    assert_eq!(name_only.attributes["company_name"], "Solo Ltd");
    let braze = admin.braze_user("5002").await.unwrap().unwrap();
    assert_eq!(braze.custom_attributes["company_name"], "Solo Ltd");
    assert!(braze.custom_attributes.get("company_id").is_none());
}
