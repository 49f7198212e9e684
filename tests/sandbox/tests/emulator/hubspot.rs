//! HubSpot CRM contacts: batch read (200 / 207), single read, token, limits, faults, admin
//! seeding.

use reqwest::Method;
use sandbox::{Api, Bucket, FaultKind, FaultRule, HubspotContactSeed, RateLimit, SettingsPatch};
use serde_json::{Value, json};

use crate::common::{Answer, Env, send};

const BATCH_READ: &str = "/crm/v3/objects/contacts/batch/read";

fn contact(id: &str, email: &str, first: &str) -> HubspotContactSeed {
    HubspotContactSeed::new(id)
        .property("email", email)
        .property("firstname", first)
}

/// A sandbox with contacts 101 (Ada) and 102 (Grace).
async fn seeded() -> Env {
    let env = Env::start().await;
    env.admin
        .seed_hubspot_contacts(&[
            contact("101", "Ada@Example.com", "Ada").property("lifecyclestage", "lead"),
            contact("102", "grace@example.com", "Grace"),
        ])
        .await
        .expect("seeded");
    env
}

impl Env {
    /// A HubSpot request with the private app token.
    fn hubspot_request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.info.hubspot_url))
            .bearer_auth(&self.info.hubspot_token)
            .header("content-type", "application/json")
    }

    /// A batch read with this body.
    async fn batch_read(&self, body: Value) -> Answer {
        send(
            self.hubspot_request(Method::POST, BATCH_READ)
                .body(body.to_string()),
        )
        .await
    }
}

fn inputs(ids: &[&str]) -> Value {
    ids.iter().map(|id| json!({"id": id})).collect()
}

/// The names of a result's `properties`, sorted.
fn property_names(properties: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = properties
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

fn result_ids(answer: &Answer) -> Vec<String> {
    answer.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn when_the_token_is_missing_or_wrong_then_401_invalid_authentication() {
    let env = seeded().await;
    let body = json!({"inputs": inputs(&["101"])}).to_string();
    let missing = send(
        env.http
            .post(format!("{}{BATCH_READ}", env.info.hubspot_url))
            .header("content-type", "application/json")
            .body(body.clone()),
    )
    .await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["category"], "INVALID_AUTHENTICATION");
    assert_eq!(missing.json()["status"], "error");
    assert!(missing.json()["correlationId"].is_string());

    let wrong = send(
        env.http
            .post(format!("{}{BATCH_READ}", env.info.hubspot_url))
            .bearer_auth(&env.info.userflow_key)
            .body(body),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        env.admin
            .count(Api::Hubspot, "POST", BATCH_READ, Some(401))
            .await
            .expect("count"),
        2
    );
}

#[tokio::test]
async fn when_every_id_is_found_then_200_with_only_the_requested_properties_as_strings() {
    let env = seeded().await;
    env.admin
        .seed_hubspot_contacts(&[HubspotContactSeed::new("103")
            .property("email", "n@example.com")
            .property("num_employees", 42)
            .property("is_vip", true)])
        .await
        .expect("seeded");

    let answer = env
        .batch_read(json!({
            "properties": ["email", "num_employees", "is_vip", "phone"],
            "propertiesWithHistory": [],
            "inputs": inputs(&["103", "101"])
        }))
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["status"], "COMPLETE");
    assert!(body.get("errors").is_none());
    assert!(body["startedAt"].is_string() && body["completedAt"].is_string());
    assert_eq!(result_ids(&answer), vec!["103", "101"]);
    let first = &body["results"][0];
    let names = property_names(&first["properties"]);
    assert_eq!(
        names,
        vec![
            "createdate",
            "email",
            "hs_object_id",
            "is_vip",
            "lastmodifieddate",
            "num_employees",
            "phone"
        ]
    );
    assert_eq!(first["properties"]["num_employees"], "42");
    assert_eq!(first["properties"]["is_vip"], "true");
    assert_eq!(first["properties"]["hs_object_id"], "103");
    assert_eq!(first["properties"]["phone"], Value::Null);
    assert_eq!(first["archived"], false);
    assert!(
        first["createdAt"]
            .as_str()
            .expect("createdAt")
            .ends_with('Z')
    );
    // Lead 101 has a lifecycle stage, but it was not asked for.
    assert!(
        body["results"][1]["properties"]
            .get("lifecyclestage")
            .is_none()
    );
}

#[tokio::test]
async fn when_some_ids_are_missing_then_207_with_object_not_found_listing_them() {
    let env = seeded().await;
    let answer = env
        .batch_read(json!({
            "properties": ["email"],
            "inputs": inputs(&["404", "102", "405", "404"])
        }))
        .await;

    assert_eq!(answer.status, 207, "{}", answer.text);
    let body = answer.json();
    assert_eq!(result_ids(&answer), vec!["102"]);
    assert_eq!(body["numErrors"], 1);
    let error = &body["errors"][0];
    assert_eq!(error["status"], "error");
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(error["context"]["ids"], json!(["404", "405"]));

    let none = env.batch_read(json!({"inputs": inputs(&["1"])})).await;
    assert_eq!(none.status, 207);
    assert!(result_ids(&none).is_empty());
}

#[tokio::test]
async fn when_no_properties_are_named_then_hubspots_defaults_come_back() {
    let env = seeded().await;
    let answer = env.batch_read(json!({"inputs": inputs(&["102"])})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let properties = &answer.json()["results"][0]["properties"];
    let names = property_names(properties);
    assert_eq!(
        names,
        vec![
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ]
    );
    assert_eq!(properties["lastname"], Value::Null);
}

#[tokio::test]
async fn when_reading_by_email_then_the_id_property_matches_without_case() {
    let env = seeded().await;
    let answer = env
        .batch_read(json!({
            "idProperty": "email",
            "properties": ["email", "firstname"],
            "inputs": inputs(&["ada@example.COM", "nobody@example.com"])
        }))
        .await;
    assert_eq!(answer.status, 207, "{}", answer.text);
    assert_eq!(result_ids(&answer), vec!["101"]);
    assert_eq!(
        answer.json()["errors"][0]["context"]["ids"],
        json!(["nobody@example.com"])
    );
}

#[tokio::test]
async fn when_more_than_100_inputs_are_sent_then_400_validation_error() {
    let env = seeded().await;
    let ids: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let answer = env.batch_read(json!({"inputs": inputs(&refs)})).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json()["category"], "VALIDATION_ERROR");
    assert_eq!(answer.json()["status"], "error");

    let exactly = env
        .batch_read(json!({"inputs": inputs(&refs[..100])}))
        .await;
    assert_eq!(exactly.status, 207, "{}", exactly.text);
}

#[tokio::test]
async fn when_the_body_is_malformed_or_lacks_inputs_then_400_validation_error() {
    let env = seeded().await;
    let malformed = send(
        env.hubspot_request(Method::POST, BATCH_READ)
            .body("{\"inputs\": ["),
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["category"], "VALIDATION_ERROR");
    for body in [
        json!({"properties": ["email"]}),
        json!({"inputs": [{"id": ["101"]}]}),
        json!({"inputs": inputs(&["101"]), "properties": "email"}),
    ] {
        let answer = env.batch_read(body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(answer.json()["category"], "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn when_one_contact_is_read_then_the_properties_query_is_honoured_and_unknown_ids_are_404() {
    let env = seeded().await;
    let answer = send(env.hubspot_request(
        Method::GET,
        "/crm/v3/objects/contacts/101?properties=firstname,lifecyclestage",
    ))
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["id"], "101");
    assert_eq!(body["properties"]["firstname"], "Ada");
    assert_eq!(body["properties"]["lifecyclestage"], "lead");
    assert!(body["properties"].get("email").is_none());

    let by_email = send(env.hubspot_request(
        Method::GET,
        "/crm/v3/objects/contacts/grace%40example.com?idProperty=email",
    ))
    .await;
    assert_eq!(by_email.status, 200, "{}", by_email.text);
    assert_eq!(by_email.json()["id"], "102");

    let missing = send(env.hubspot_request(Method::GET, "/crm/v3/objects/contacts/999")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        env.admin
            .count(Api::Hubspot, "GET", "/crm/v3/objects/contacts/{id}", None)
            .await
            .expect("count"),
        3
    );
}

#[tokio::test]
async fn when_the_route_is_unknown_then_404_and_a_wrong_method_is_405() {
    let env = seeded().await;
    let unknown = send(env.hubspot_request(Method::GET, "/crm/v3/objects/deals/1")).await;
    assert_eq!(unknown.status, 404);
    let wrong = send(env.hubspot_request(Method::GET, BATCH_READ)).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(
        env.admin
            .count(Api::Hubspot, "GET", "(unmatched)", Some(404))
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn when_a_status_fault_targets_hubspot_then_html_502_is_answered_counted_and_logged() {
    let env = seeded().await;
    let rule = FaultRule::new(
        Api::Hubspot,
        "POST",
        BATCH_READ,
        FaultKind::status(502, true),
    )
    .times(2);
    env.admin.add_fault(&rule).await.expect("fault added");
    let body = json!({"inputs": inputs(&["101"])});

    for _ in 0..2 {
        let faulted = env.batch_read(body.clone()).await;
        assert_eq!(faulted.status, 502);
        assert_eq!(faulted.header("content-type"), Some("text/html"));
    }
    let next = env.batch_read(body).await;
    assert_eq!(next.status, 200, "{}", next.text);

    let admin = &env.admin;
    assert_eq!(
        admin
            .count(Api::Hubspot, "POST", BATCH_READ, Some(502))
            .await
            .expect("count"),
        2
    );
    let log = admin
        .request_log(Some(Api::Hubspot), 10)
        .await
        .expect("log");
    let faults: Vec<Option<&str>> = log.iter().map(|r| r.fault.as_deref()).collect();
    assert_eq!(faults, vec![Some("status"), Some("status"), None]);
    assert!(log.iter().all(|r| r.api == Api::Hubspot));
    assert!(
        admin
            .request_counts(Some(Api::Userflow))
            .await
            .expect("counts")
            .is_empty()
    );
}

#[tokio::test]
async fn when_a_json_status_fault_targets_hubspot_then_hubspots_error_shape_is_used() {
    let env = seeded().await;
    let rule = FaultRule::new(Api::Hubspot, "*", "*", FaultKind::status(500, false));
    env.admin.add_fault(&rule).await.expect("fault added");
    let answer = env.batch_read(json!({"inputs": inputs(&["101"])})).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.json()["status"], "error");
    assert!(answer.json()["category"].is_string());
}

#[tokio::test]
async fn when_a_throttle_fault_targets_hubspot_then_429_rate_limit_with_retry_after() {
    let env = seeded().await;
    let rule = FaultRule::new(
        Api::Hubspot,
        "POST",
        "/crm/*",
        FaultKind::Throttle { retry_after: 3 },
    )
    .times(1);
    env.admin.add_fault(&rule).await.expect("fault added");
    let answer = env.batch_read(json!({"inputs": inputs(&["101"])})).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), Some("3"));
    assert_eq!(answer.json()["errorType"], "RATE_LIMIT");
    assert_eq!(answer.json()["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(answer.header("x-hubspot-ratelimit-remaining"), Some("0"));
    assert_eq!(answer.header("x-hubspot-ratelimit-max"), Some("100"));
}

#[tokio::test]
async fn when_the_hubspot_limit_is_used_up_then_429_until_the_window_resets() {
    let env = seeded().await;
    let first = env.batch_read(json!({"inputs": inputs(&["101"])})).await;
    assert_eq!(first.header("x-hubspot-ratelimit-max"), Some("100"));
    assert_eq!(
        first.header("x-hubspot-ratelimit-interval-milliseconds"),
        Some("10000")
    );
    assert_eq!(first.header("x-hubspot-ratelimit-remaining"), Some("99"));

    env.admin
        .set_rate_limit(
            Bucket::Hubspot,
            Some(RateLimit {
                limit: 2,
                window_secs: 60,
            }),
        )
        .await
        .expect("limit set");
    let body = json!({"inputs": inputs(&["101"])});
    assert_eq!(env.batch_read(body.clone()).await.status, 200);
    let get = send(env.hubspot_request(Method::GET, "/crm/v3/objects/contacts/102")).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("x-hubspot-ratelimit-remaining"), Some("0"));
    let over = env.batch_read(body.clone()).await;
    assert_eq!(over.status, 429);
    let retry: u64 = over
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");

    let mut patch = SettingsPatch::default();
    patch.rate_limits.insert(Bucket::Hubspot, None);
    env.admin.update_settings(&patch).await.expect("limit off");
    let free = env.batch_read(body).await;
    assert_eq!(free.status, 200);
    assert_eq!(free.header("x-hubspot-ratelimit-max"), None);
}

#[tokio::test]
async fn when_contacts_are_seeded_then_admin_lists_them_with_hubspots_own_properties() {
    let env = seeded().await;
    let summary = env
        .admin
        .seed_hubspot_contacts(&[
            contact("102", "grace.h@example.com", "Grace"),
            contact("104", "lin@example.com", "Lin").property("phone", Value::Null),
        ])
        .await
        .expect("seeded");
    assert_eq!((summary.seeded, summary.created, summary.total), (2, 1, 3));

    let all = env.admin.hubspot_contacts().await.expect("contacts");
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec!["101", "102", "104"]);
    let grace = env
        .admin
        .hubspot_contact("102")
        .await
        .expect("admin")
        .expect("102");
    assert_eq!(grace.properties["email"], "grace.h@example.com");
    assert_eq!(grace.properties["hs_object_id"], "102");
    assert!(grace.properties.contains_key("createdate"));
    assert!(grace.properties.contains_key("lastmodifieddate"));
    assert!(grace.updated_at >= grace.created_at);
    let lin = &all[2];
    assert!(!lin.properties.contains_key("phone"));
    assert!(
        env.admin
            .hubspot_contact("999")
            .await
            .expect("admin")
            .is_none()
    );

    // The old email no longer finds 102; the new one does.
    let answer = env
        .batch_read(json!({
            "idProperty": "email",
            "inputs": inputs(&["grace@example.com", "grace.h@example.com"])
        }))
        .await;
    assert_eq!(answer.status, 207);
    assert_eq!(result_ids(&answer), vec!["102"]);
}

#[tokio::test]
async fn when_a_seed_body_has_an_unknown_field_or_a_bad_value_then_400_and_nothing_is_stored() {
    let env = Env::start().await;
    let unknown = send(
        env.http
            .post(format!("{}/hubspot/contacts", env.info.admin))
            .json(&json!({"contacts": [{"id": "1", "propertys": {"email": "a@example.com"}}]})),
    )
    .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    let error = unknown.json()["error"].as_str().expect("error").to_owned();
    assert!(error.contains("propertys"), "{error}");
    assert!(error.contains("contacts[0]"), "{error}");

    let nested = send(
        env.http
            .post(format!("{}/hubspot/contacts", env.info.admin))
            .json(&json!({"contacts": [
                {"id": "1", "properties": {"email": "a@example.com"}},
                {"id": "2", "properties": {"address": {"city": "Berlin"}}}
            ]})),
    )
    .await;
    assert_eq!(nested.status, 400, "{}", nested.text);
    assert!(nested.text.contains("contacts[1].properties.address"));
    assert!(!nested.text.contains("Berlin"));

    let empty_id = send(
        env.http
            .post(format!("{}/hubspot/contacts", env.info.admin))
            .json(&json!({"contacts": [{"id": ""}]})),
    )
    .await;
    assert_eq!(empty_id.status, 400);
    assert!(
        env.admin
            .hubspot_contacts()
            .await
            .expect("contacts")
            .is_empty()
    );
}

#[tokio::test]
async fn when_the_sandbox_is_reset_then_hubspot_contacts_are_gone() {
    let env = seeded().await;
    env.admin.reset().await.expect("reset");
    assert!(
        env.admin
            .hubspot_contacts()
            .await
            .expect("contacts")
            .is_empty()
    );
    let answer = env.batch_read(json!({"inputs": inputs(&["101"])})).await;
    assert_eq!(answer.status, 207);
}
