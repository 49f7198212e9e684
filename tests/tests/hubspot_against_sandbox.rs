//! relay-core's HubSpot client against the sandbox's HubSpot listener: real HTTP, the
//! emulator's 100-input limit and 207 answers, injected faults. Each test starts its own
//! sandbox.

use std::num::NonZeroU32;

use relay_clients::hubspot::{HubspotClient, HubspotConfig, HubspotError};
use relay_clients::upstream::{FailureClass, HttpTimeouts, Rate, http_client};
use sandbox::{Api, FaultKind, FaultRule, HubspotContactSeed, Sandbox, SandboxConfig};
use secrecy::SecretString;

const BATCH_READ: &str = "/crm/v3/objects/contacts/batch/read";

async fn start() -> (Sandbox, HubspotClient) {
    let sandbox = sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let info = sandbox.info().clone();
    let mut config = HubspotConfig::new(
        &info.hubspot_url,
        SecretString::from(info.hubspot_token.clone()),
    );
    config.rate = Rate::per_second(NonZeroU32::new(100).unwrap());
    config.retry = relay_tests::fast_retry();
    let client =
        HubspotClient::new(config, http_client(HttpTimeouts::default())).expect("hubspot client");
    (sandbox, client)
}

/// Seeds contacts `1000..1000+count` with an email and a first name.
async fn seed(sandbox: &Sandbox, count: u32) -> Vec<String> {
    let ids: Vec<String> = (1000..1000 + count).map(|i| i.to_string()).collect();
    let contacts: Vec<HubspotContactSeed> = ids
        .iter()
        .map(|id| {
            HubspotContactSeed::new(id)
                .property("email", format!("user{id}@example.com"))
                .property("firstname", format!("User {id}"))
        })
        .collect();
    let summary = sandbox
        .admin()
        .seed_hubspot_contacts(&contacts)
        .await
        .expect("seeded");
    assert_eq!(summary.total, count as usize);
    ids
}

fn properties() -> Vec<String> {
    vec!["email".to_owned(), "firstname".to_owned()]
}

#[tokio::test]
async fn when_253_ids_are_read_then_three_requests_find_250_and_report_3_missing() {
    let (sandbox, client) = start().await;
    let mut ids = seed(&sandbox, 250).await;
    ids.extend(["9000001", "9000002", "9000003"].map(String::from));

    let read = client
        .read_contacts(&ids, &properties())
        .await
        .expect("read");

    assert_eq!(read.found.len(), 250);
    assert_eq!(read.missing, vec!["9000001", "9000002", "9000003"]);
    let first = &read.found[0];
    assert_eq!(first.id, "1000");
    let record = first.to_record();
    assert_eq!(record["email"], "user1000@example.com");
    assert_eq!(record["firstname"], "User 1000");
    assert_eq!(record["hs_object_id"], "1000");
    assert!(record["createdate"].is_string());
    let admin = sandbox.admin();
    assert_eq!(
        admin
            .count(Api::Hubspot, "POST", BATCH_READ, None)
            .await
            .expect("count"),
        3
    );
    // The last chunk (50 known + 3 unknown ids) is the only Multi-Status answer.
    assert_eq!(
        admin
            .count(Api::Hubspot, "POST", BATCH_READ, Some(207))
            .await
            .expect("count"),
        1
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn when_two_html_502s_are_injected_then_the_read_still_succeeds() {
    let (sandbox, client) = start().await;
    let ids = seed(&sandbox, 250).await;
    let admin = sandbox.admin();
    let rule = FaultRule::new(
        Api::Hubspot,
        "POST",
        BATCH_READ,
        FaultKind::status(502, true),
    )
    .times(2);
    admin.add_fault(&rule).await.expect("fault added");

    let read = client
        .read_contacts(&ids, &properties())
        .await
        .expect("read");

    assert_eq!(read.found.len(), 250);
    assert!(read.missing.is_empty());
    assert_eq!(
        admin
            .count(Api::Hubspot, "POST", BATCH_READ, Some(502))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        admin
            .count(Api::Hubspot, "POST", BATCH_READ, Some(200))
            .await
            .expect("count"),
        3
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn when_the_token_is_wrong_then_the_read_fails_as_misconfigured_without_retrying() {
    let (sandbox, _) = start().await;
    let info = sandbox.info().clone();
    let mut config = HubspotConfig::new(&info.hubspot_url, SecretString::from("pat-wrong"));
    config.retry = relay_tests::fast_retry();
    let client =
        HubspotClient::new(config, http_client(HttpTimeouts::default())).expect("hubspot client");

    let error = client
        .read_contacts(&["1000".to_owned()], &properties())
        .await
        .expect_err("refused");

    assert!(
        matches!(&error, HubspotError::Unauthorized { category: Some(c), .. } if c == "INVALID_AUTHENTICATION"),
        "{error:?}"
    );
    assert_eq!(error.class(), FailureClass::Misconfigured);
    assert_eq!(
        sandbox
            .admin()
            .count(Api::Hubspot, "POST", BATCH_READ, Some(401))
            .await
            .expect("count"),
        1
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn when_a_contact_is_read_alone_then_get_finds_it_and_an_unknown_id_is_none() {
    let (sandbox, client) = start().await;
    seed(&sandbox, 3).await;

    let contact = client
        .get_contact("1001", &properties())
        .await
        .expect("read")
        .expect("found");
    assert_eq!(contact.properties["firstname"], "User 1001");
    assert!(
        client
            .get_contact("42", &properties())
            .await
            .expect("read")
            .is_none()
    );
    sandbox.shutdown().await;
}
