//! relay-core's real clients against the sandbox: real HTTP, the emulator's rules, injected
//! faults. Each test starts its own sandbox, so they run in parallel without sharing state.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use relay_clients::braze::scim::{
    NewScimUser, ScimClient, ScimConfig, ScimError, ScimName, ScimUserUpdate,
};
use relay_clients::braze::{
    BrazeClient, BrazeConfig, BrazeEndpoint, BrazeError, BrazeRates, DeleteTarget, ItemOutcome,
    ItemRef, NewAlias, TrackArray, Update, UserAlias, UserAttributes, UserIdentifier,
};
use relay_clients::upstream::{FailureClass, HttpTimeouts, Rate, RetryPolicy, http_client};
use relay_clients::userflow::{
    EventSubject, GroupUpsert, ListUsers, UserflowClient, UserflowConfig, UserflowError,
};
use sandbox::{Api, Bucket, FaultKind, FaultRule, RateLimit, Sandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::json;

fn generous(per_second: u32) -> Rate {
    Rate::per_second(NonZeroU32::new(per_second).unwrap())
}

struct Stack {
    sandbox: Sandbox,
    braze: BrazeClient,
    userflow: UserflowClient,
    scim: ScimClient,
}

impl Stack {
    async fn start() -> Stack {
        Stack::start_with(SandboxConfig::default()).await
    }

    async fn start_with(config: SandboxConfig) -> Stack {
        let sandbox = sandbox::start(config).await.expect("sandbox starts");
        let info = sandbox.info().clone();
        let http = http_client(HttpTimeouts::default());
        let braze = braze_client(&info.braze, &info.braze_key, http.clone());
        let mut userflow_config = UserflowConfig::with_base_url(
            &info.userflow,
            SecretString::from(info.userflow_key.clone()),
        );
        userflow_config.rate = generous(500);
        userflow_config.retry = relay_tests::fast_retry();
        let userflow = UserflowClient::new(userflow_config, http.clone()).expect("userflow client");
        let mut scim_config = ScimConfig::new(
            &info.braze,
            SecretString::from(info.scim_token.clone()),
            &info.scim_origin,
        );
        scim_config.rate = generous(100);
        scim_config.retry = relay_tests::fast_retry();
        let scim = ScimClient::new(scim_config, http).expect("scim client");
        Stack {
            sandbox,
            braze,
            userflow,
            scim,
        }
    }

    fn admin(&self) -> sandbox::AdminClient {
        self.sandbox.admin()
    }
}

fn braze_client(endpoint: &str, key: &str, http: reqwest::Client) -> BrazeClient {
    let endpoint = BrazeEndpoint::parse(endpoint, true).expect("sandbox endpoint allowed");
    let mut config = BrazeConfig::new(endpoint, SecretString::from(key.to_owned()));
    config.rates = BrazeRates {
        track: generous(1_000),
        users: generous(1_000),
        export_ids: generous(1_000),
        export_segment: generous(100),
    };
    config.retry = relay_tests::fast_retry();
    BrazeClient::new(config, http).expect("braze client")
}

fn profile(i: usize) -> UserAttributes {
    let mut attributes = UserAttributes::new(UserIdentifier::external_id(format!("user-{i}")))
        .with_custom("plan", "pro")
        .with_custom("seats", i as i64);
    attributes.email = Update::Set(format!("user{i}@example.com"));
    attributes.country = Update::Set("DE".into());
    attributes
}

#[tokio::test]
async fn when_160_profiles_are_tracked_then_three_requests_create_every_profile() {
    let stack = Stack::start().await;
    let report = stack
        .braze
        .track()
        .attributes((0..160).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.requests, 3);
    assert_eq!(report.attributes_processed, 160);
    let admin = stack.admin();
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(201))
            .await
            .unwrap(),
        3
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 160);
    let stored = admin
        .braze_user("user-42")
        .await
        .unwrap()
        .expect("profile exists");
    assert_eq!(stored.attributes["email"], json!("user42@example.com"));
    assert_eq!(stored.custom_attributes["seats"], json!(42));
    assert_eq!(stored.custom_attributes["plan"], json!("pro"));
}

#[tokio::test]
async fn when_an_item_is_invalid_then_it_is_never_sent_and_the_report_names_its_index() {
    let stack = Stack::start().await;
    let mut items: Vec<UserAttributes> = (0..10).map(profile).collect();
    items[7].email = Update::Set("not-an-email".into());
    items[3] = items[3].clone().with_custom("$reserved", "x");

    let report = stack
        .braze
        .track()
        .attributes(items)
        .send()
        .await
        .expect("track");

    let invalid: Vec<usize> = report.invalid.iter().map(|i| i.item.index).collect();
    assert_eq!(invalid, vec![3, 7]);
    let item = |index| ItemRef {
        array: TrackArray::Attributes,
        index,
    };
    assert!(
        matches!(report.outcome(item(7)), ItemOutcome::Invalid(errors) if errors[0].path.contains("email"))
    );
    assert!(matches!(report.outcome(item(0)), ItemOutcome::Accepted));
    let admin = stack.admin();
    assert_eq!(admin.braze_user_count().await.unwrap(), 8);
    assert!(admin.braze_user("user-7").await.unwrap().is_none());
    assert!(admin.braze_user("user-3").await.unwrap().is_none());
}

#[tokio::test]
async fn when_braze_answers_html_503_twice_then_the_chunk_is_retried_and_applied_once() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let html_503 = FaultKind::status(503, true);
    admin
        .add_fault(&FaultRule::new(Api::Braze, "POST", "/users/track", html_503).times(2))
        .await
        .unwrap();

    let report = stack
        .braze
        .track()
        .attributes((0..10).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(503))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(201))
            .await
            .unwrap(),
        1
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 10);
}

#[tokio::test]
async fn when_braze_throttles_then_the_client_waits_as_told_and_succeeds() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    admin
        .add_fault(
            &FaultRule::new(
                Api::Braze,
                "POST",
                "/users/track",
                FaultKind::Throttle { retry_after: 1 },
            )
            .times(1),
        )
        .await
        .unwrap();

    let started = Instant::now();
    let report = stack
        .braze
        .track()
        .attributes((0..5).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "X-Ratelimit-Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/track", Some(429))
            .await
            .unwrap(),
        1
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 5);
}

#[tokio::test]
async fn when_the_connection_drops_then_the_request_is_retried() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    admin
        .add_fault(&FaultRule::new(Api::Braze, "POST", "/users/track", FaultKind::Drop).times(1))
        .await
        .unwrap();

    let report = stack
        .braze
        .track()
        .attributes((0..3).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(admin.braze_user_count().await.unwrap(), 3);
}

#[tokio::test]
async fn when_braze_keeps_failing_then_the_chunk_is_reported_transient_with_its_items() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let status_500 = FaultKind::status(500, false);
    admin
        .add_fault(&FaultRule::new(
            Api::Braze,
            "POST",
            "/users/track",
            status_500,
        ))
        .await
        .unwrap();

    let report = stack
        .braze
        .track()
        .attributes((0..80).map(profile))
        .send()
        .await
        .expect("report");

    assert_eq!(report.failed_chunks.len(), 2);
    let failed: usize = report.failed_chunks.iter().map(|c| c.items.len()).sum();
    assert_eq!(failed, 80);
    assert!(
        report
            .failed_chunks
            .iter()
            .all(|c| c.error.class() == FailureClass::Transient)
    );
    assert_eq!(
        admin.braze_user_count().await.unwrap(),
        0,
        "faulted requests change nothing"
    );
}

#[tokio::test]
async fn when_the_key_is_wrong_then_the_error_says_which_endpoint_rejected_it() {
    let stack = Stack::start().await;
    let info = stack.sandbox.info();
    let wrong = braze_client(
        &info.braze,
        "not-the-key",
        http_client(HttpTimeouts::default()),
    );

    let error = wrong
        .track()
        .attributes([profile(1)])
        .send()
        .await
        .expect_err("401");

    assert!(matches!(error, BrazeError::KeyRejected { .. }), "{error:?}");
    assert_eq!(error.class(), FailureClass::Misconfigured);
    let host = info.braze.trim_start_matches("http://");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("key rejected by {host}")),
        "{message}"
    );
    assert!(
        message.contains("check the workspace's cluster"),
        "{message}"
    );
    assert_eq!(
        stack
            .admin()
            .count(Api::Braze, "POST", "/users/track", Some(401))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn when_deleting_mixed_identifiers_then_each_type_goes_in_its_own_requests_of_50() {
    let stack = Stack::start().await;
    stack
        .braze
        .track()
        .attributes((0..70).map(profile))
        .send()
        .await
        .expect("track");
    let aliases = [
        UserAlias::new("crm-1", "hubspot"),
        UserAlias::new("crm-2", "hubspot"),
    ];
    let report = stack
        .braze
        .new_aliases()
        .aliases(aliases.iter().map(|a| NewAlias {
            external_id: None,
            alias_name: a.alias_name.clone(),
            alias_label: a.alias_label.clone(),
        }))
        .send()
        .await
        .expect("aliases");
    assert!(report.is_success());
    let admin = stack.admin();
    assert_eq!(admin.braze_user_count().await.unwrap(), 72);
    let braze_id = admin.braze_user("user-69").await.unwrap().unwrap().braze_id;

    let mut targets: Vec<DeleteTarget> = (0..60)
        .map(|i| DeleteTarget::ExternalId(format!("user-{i}")))
        .collect();
    targets.extend(aliases.iter().cloned().map(DeleteTarget::UserAlias));
    targets.push(DeleteTarget::BrazeId(braze_id));
    let report = stack
        .braze
        .delete()
        .targets(targets)
        .send()
        .await
        .expect("delete");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        report.requests, 4,
        "60 external ids in 2 requests, aliases in 1, braze ids in 1"
    );
    assert_eq!(report.deleted(), 63);
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/delete", None)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/delete", Some(400))
            .await
            .unwrap(),
        0
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 72 - 63);
}

#[tokio::test]
async fn when_exporting_by_email_then_alias_only_duplicates_are_found_too() {
    let stack = Stack::start().await;
    let mut known = profile(1);
    known.email = Update::Set("shared@example.com".into());
    let mut anonymous = UserAttributes::new(UserIdentifier::alias("anon-1", "web"));
    anonymous.update_existing_only = Some(false);
    anonymous.email = Update::Set("shared@example.com".into());
    let report = stack
        .braze
        .track()
        .attributes([known, anonymous])
        .send()
        .await
        .expect("track");
    assert!(report.is_success(), "{report:?}");

    let found = stack
        .braze
        .export_ids()
        .emails(["shared@example.com"])
        .fields(["braze_id", "external_id", "user_aliases", "email"])
        .send()
        .await
        .expect("export ids");

    assert_eq!(found.users.len(), 2, "{:?}", found.users);
    let external: BTreeSet<Option<String>> =
        found.users.iter().map(|u| u.external_id.clone()).collect();
    assert_eq!(external, BTreeSet::from([None, Some("user-1".to_owned())]));
    assert!(
        found
            .users
            .iter()
            .any(|u| u.user_aliases == vec![UserAlias::new("anon-1", "web")])
    );
}

#[tokio::test]
async fn when_exporting_120_external_ids_then_three_requests_return_every_profile() {
    let stack = Stack::start().await;
    stack
        .braze
        .track()
        .attributes((0..120).map(profile))
        .send()
        .await
        .expect("track");

    let found = stack
        .braze
        .export_ids()
        .external_ids((0..120).map(|i| format!("user-{i}")))
        .fields(["external_id", "email"])
        .send()
        .await
        .expect("export ids");

    assert_eq!(found.requests, 3);
    assert_eq!(found.users.len(), 120);
    assert_eq!(
        stack
            .admin()
            .count(Api::Braze, "POST", "/users/export/ids", Some(201))
            .await
            .unwrap()
            + stack
                .admin()
                .count(Api::Braze, "POST", "/users/export/ids", Some(200))
                .await
                .unwrap(),
        3
    );
}

#[tokio::test]
async fn when_250_userflow_users_are_upserted_then_the_list_stream_returns_each_once_over_3_pages()
{
    let stack = Stack::start().await;
    futures::stream::iter(0..250)
        .map(|i| {
            stack
                .userflow
                .upsert_user(format!("uf-{i:03}"))
                .attribute("email", format!("u{i}@example.com"))
                .attribute("rank", i)
                .send()
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("upserts");

    let listed: Vec<String> = stack
        .userflow
        .list_users(ListUsers::default())
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .expect("list");

    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(listed.len(), 250);
    assert_eq!(unique.len(), 250);
    let admin = stack.admin();
    assert_eq!(
        admin
            .count(Api::Userflow, "GET", "/users", Some(200))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users", Some(200))
            .await
            .unwrap(),
        250
    );
    let log = admin.request_log(Some(Api::Userflow), 1_000).await.unwrap();
    assert!(log.len() >= 253);
    assert!(
        log.iter()
            .all(|r| r.headers.get("userflow-version").map(String::as_str) == Some("2020-01-03")),
        "every Userflow request carries the version header"
    );
}

#[tokio::test]
async fn when_a_userflow_user_is_updated_then_attributes_merge_null_removes_and_groups_attach() {
    let stack = Stack::start().await;
    let uf = &stack.userflow;
    uf.upsert_user("u1")
        .attribute("email", "a@example.com")
        .attribute("plan", "pro")
        .groups([GroupUpsert::new("acme").attribute("name", "Acme")])
        .send()
        .await
        .expect("create");
    uf.upsert_user("u1")
        .attribute("plan", serde_json::Value::Null)
        .attribute("seats", 3)
        .send()
        .await
        .expect("update");

    let user = uf.get_user("u1").await.expect("get");
    assert_eq!(user.attributes.get("email"), Some(&json!("a@example.com")));
    assert_eq!(user.attributes.get("seats"), Some(&json!(3)));
    assert!(
        !user.attributes.contains_key("plan"),
        "null removes: {:?}",
        user.attributes
    );
    let admin = stack.admin();
    let stored = admin.userflow_user("u1").await.unwrap().expect("stored");
    assert!(
        stored.memberships.contains_key("acme"),
        "membership kept across upserts"
    );
    let groups = admin.userflow_groups().await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        vec!["acme"]
    );
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users/{id}", None)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn when_a_userflow_user_is_deleted_then_get_and_delete_answer_not_found() {
    let stack = Stack::start().await;
    let uf = &stack.userflow;
    uf.upsert_user("gone")
        .attribute("plan", "free")
        .send()
        .await
        .expect("create");

    uf.delete_user("gone").await.expect("delete");

    assert!(matches!(
        uf.get_user("gone").await,
        Err(UserflowError::NotFound { .. })
    ));
    assert!(matches!(
        uf.delete_user("gone").await,
        Err(UserflowError::NotFound { .. })
    ));
    assert!(stack.admin().userflow_user("gone").await.unwrap().is_none());
}

#[tokio::test]
async fn when_30_percent_of_userflow_upserts_fail_with_html_then_every_user_still_lands_once() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let html_502 = FaultKind::status(502, true);
    admin
        .add_fault(
            &FaultRule::new(Api::Userflow, "POST", "/users", html_502).with_probability(0.3, 7),
        )
        .await
        .unwrap();

    futures::stream::iter(0..60)
        .map(|i| {
            stack
                .userflow
                .upsert_user(format!("storm-{i}"))
                .attribute("i", i)
                .send()
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("every upsert eventually succeeds");

    assert_eq!(admin.userflow_users().await.unwrap().len(), 60);
    let failed = admin
        .count(Api::Userflow, "POST", "/users", Some(502))
        .await
        .unwrap();
    assert!(failed > 5, "the fault fired ({failed} times)");
}

#[tokio::test]
async fn when_an_event_meets_a_502_then_it_is_not_repeated_but_a_429_is_retried() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let status_502 = FaultKind::status(502, true);
    admin
        .add_fault(&FaultRule::new(Api::Userflow, "POST", "/events", status_502).times(1))
        .await
        .unwrap();
    let error = stack
        .userflow
        .track_event("signed_up", EventSubject::User("u1".into()))
        .send()
        .await
        .expect_err("a 502 on a non-idempotent call is not retried");
    assert_eq!(error.class(), FailureClass::Transient);
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/events", None)
            .await
            .unwrap(),
        1
    );

    admin
        .add_fault(
            &FaultRule::new(
                Api::Userflow,
                "POST",
                "/events",
                FaultKind::Throttle { retry_after: 0 },
            )
            .times(1),
        )
        .await
        .unwrap();
    stack
        .userflow
        .track_event("signed_up", EventSubject::User("u1".into()))
        .send()
        .await
        .expect("a 429 is retried: Userflow did not act on it");
    let events = admin.userflow_events(None, None).await.unwrap();
    assert_eq!(events.len(), 1, "exactly one event recorded: {events:?}");
}

#[tokio::test]
async fn when_a_dashboard_user_goes_through_its_lifecycle_then_scim_answers_like_braze() {
    let stack = Stack::start().await;
    let scim = &stack.scim;
    let new_user = NewScimUser {
        user_name: "ops@example.com".into(),
        name: ScimName::new("Op", "Erator"),
        department: "engineering".into(),
        permissions: None,
    };

    let created = scim.create(&new_user).await.expect("create");
    let conflict = scim.create(&new_user).await.expect_err("second create");
    assert!(
        matches!(conflict, ScimError::Conflict { .. }),
        "{conflict:?}"
    );
    let found = scim
        .find_by_user_name("ops@example.com")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(found.id, created.id);
    assert!(
        scim.find_by_user_name("nobody@example.com")
            .await
            .expect("find")
            .is_none()
    );

    let update = ScimUserUpdate {
        name: ScimName::new("Op", "Renamed"),
        department: "finance".into(),
        permissions: Default::default(),
    };
    let replaced = scim.replace(&created.id, &update).await.expect("replace");
    assert_eq!(replaced.user_name, "ops@example.com");
    assert_eq!(
        scim.get(&created.id)
            .await
            .expect("get")
            .department
            .as_deref(),
        Some("finance")
    );

    scim.delete(&created.id).await.expect("delete");
    assert!(matches!(
        scim.get(&created.id).await,
        Err(ScimError::NotFound { .. })
    ));
    assert!(stack.admin().scim_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn when_the_scim_origin_is_wrong_then_the_client_reports_unauthorized() {
    let stack = Stack::start().await;
    let info = stack.sandbox.info();
    let config = ScimConfig::new(
        &info.braze,
        SecretString::from(info.scim_token.clone()),
        "elsewhere",
    );
    let scim = ScimClient::new(config, http_client(HttpTimeouts::default())).unwrap();

    let error = scim
        .find_by_user_name("ops@example.com")
        .await
        .expect_err("401");

    assert!(matches!(error, ScimError::Unauthorized { .. }), "{error:?}");
    assert_eq!(error.class(), FailureClass::Misconfigured);
}

/// Braze allows 10 track requests per 1 s window here; 40 one-object chunks go out 16 at a
/// time. The first burst meets 429s; after that the shared limiter pauses every task and
/// resumes them at the vendor's rate, so refusals stay bounded and every profile lands once.
/// (The exact resume spacing is pinned by upstream's unit tests on a paused clock.)
#[tokio::test]
async fn when_braze_budget_is_tight_then_the_client_paces_itself_and_loses_nothing() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    admin
        .set_rate_limit(
            Bucket::BrazeTrack,
            Some(RateLimit {
                limit: 10,
                window_secs: 1,
            }),
        )
        .await
        .unwrap();
    let info = stack.sandbox.info();
    let endpoint = BrazeEndpoint::parse(&info.braze, true).unwrap();
    let mut config = BrazeConfig::new(endpoint, SecretString::from(info.braze_key.clone()));
    config.track_batch = 1;
    config.concurrency = 16;
    config.rates.track = generous(1_000);
    config.retry = RetryPolicy {
        max_attempts: 20,
        ..relay_tests::fast_retry()
    };
    let braze = BrazeClient::new(config, http_client(HttpTimeouts::default())).unwrap();

    let report = braze
        .track()
        .attributes((0..40).map(profile))
        .send()
        .await
        .expect("track");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.requests, 40);
    assert_eq!(admin.braze_user_count().await.unwrap(), 40);
    let refused = admin
        .count(Api::Braze, "POST", "/users/track", Some(429))
        .await
        .unwrap();
    assert!(
        refused >= 1,
        "the tight budget was never hit: the test proves nothing"
    );
    assert!(
        refused <= 24,
        "{refused} refusals for 40 requests: the client is hammering"
    );
}
