//! `relay check` end to end: the relay binary against the sandbox (Braze, Userflow, HubSpot)
//! and moto (the state bucket, the sync queue and its dead-letter queue).

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use common::{code, json, queue_with_dlq, relay};
use relay_tests::Moto;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// The sandbox plus, in moto, a state bucket and a sync queue with a dead-letter queue.
struct Stack {
    sandbox: Sandbox,
    env: HashMap<String, String>,
}

async fn stack() -> Stack {
    let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
    let moto = moto();
    let sqs = moto.sqs_client().await;
    let source = queue_with_dlq(&sqs, "relay-check-sync", 5).await.queue_url;
    let bucket = moto.create_bucket("relay-check-state").await;
    let info = sandbox.info();
    let env = [
        ("BRAZE_REST_ENDPOINT", info.braze.clone()),
        ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true".into()),
        ("BRAZE_API_KEY", info.braze_key.clone()),
        ("USERFLOW_API_KEY", info.userflow_key.clone()),
        ("USERFLOW_BASE_URL", info.userflow.clone()),
        ("HUBSPOT_ACCESS_TOKEN", info.hubspot_token.clone()),
        ("HUBSPOT_API_BASE_URL", info.hubspot_url.clone()),
        ("STATE_BUCKET", bucket),
        ("SYNC_QUEUE_URL", source),
        ("AWS_ENDPOINT_URL", moto.endpoint().to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Stack { sandbox, env }
}

impl Stack {
    fn with(&self, name: &str, value: &str) -> HashMap<String, String> {
        let mut env = self.env.clone();
        env.insert(name.into(), value.into());
        env
    }

    fn without(&self, names: &[&str]) -> HashMap<String, String> {
        let mut env = self.env.clone();
        for name in names {
            env.remove(*name);
        }
        env
    }
}

/// Runs `relay --json check` with exactly `env`: its exit code and rows.
async fn check(env: &HashMap<String, String>) -> (i32, Vec<Value>) {
    let output = relay(&["--json", "check"], env).await;
    let rows = json(&output)["checks"].as_array().expect("checks").clone();
    (code(&output), rows)
}

fn row<'r>(rows: &'r [Value], name: &str) -> &'r Value {
    rows.iter()
        .find(|row| row["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` row in {rows:?}"))
}

fn failing(rows: &[Value]) -> Vec<&str> {
    rows.iter()
        .filter(|row| row["ok"] == false)
        .map(|row| row["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn when_everything_is_configured_then_every_row_passes_and_it_exits_0() {
    let stack = stack().await;

    let (code, rows) = check(&stack.env).await;

    assert_eq!(failing(&rows), Vec::<&str>::new(), "{rows:?}");
    assert_eq!(code, 0);
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "braze endpoint",
            "braze key",
            "userflow key",
            "hubspot token",
            "state bucket",
            "sync queue",
            "sync dead-letter queue"
        ]
    );
    assert!(
        row(&rows, "sync dead-letter queue")["reason"]
            .as_str()
            .unwrap()
            .contains("maxReceiveCount 5"),
        "{rows:?}"
    );
    let admin = stack.sandbox.admin();
    assert!(
        admin
            .braze_user(relay_clients::braze::KEY_CHECK_EXTERNAL_ID)
            .await
            .unwrap()
            .is_none(),
        "the key check creates nothing"
    );
}

#[tokio::test]
async fn when_the_braze_key_is_wrong_then_that_row_fails_as_wrong_cluster_or_key_and_it_exits_1() {
    let stack = stack().await;

    let (code, rows) = check(&stack.with("BRAZE_API_KEY", "not-the-key")).await;

    assert_eq!(code, 1);
    assert_eq!(failing(&rows), ["braze key"]);
    let reason = row(&rows, "braze key")["reason"].as_str().unwrap();
    assert!(reason.contains("wrong cluster or wrong key"), "{reason}");
}

#[tokio::test]
async fn when_the_userflow_key_and_the_hubspot_token_are_wrong_then_their_rows_fail() {
    let stack = stack().await;
    let mut env = stack.with("USERFLOW_API_KEY", "ak_wrong");
    env.insert("HUBSPOT_ACCESS_TOKEN".into(), "pat-wrong".into());

    let (code, rows) = check(&env).await;

    assert_eq!(code, 1);
    assert_eq!(failing(&rows), ["userflow key", "hubspot token"]);
    assert!(
        row(&rows, "hubspot token")["reason"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn when_settings_are_missing_then_their_rows_name_them_and_it_exits_2() {
    let stack = stack().await;

    let (code, rows) =
        check(&stack.without(&["BRAZE_API_KEY", "STATE_BUCKET", "HUBSPOT_ACCESS_TOKEN"])).await;

    assert_eq!(code, 2);
    assert!(
        row(&rows, "braze key")["reason"]
            .as_str()
            .unwrap()
            .contains("BRAZE_API_KEY"),
        "{rows:?}"
    );
    assert!(
        row(&rows, "state bucket")["reason"]
            .as_str()
            .unwrap()
            .contains("STATE_BUCKET"),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|row| row["name"] != "hubspot token"),
        "no HubSpot token set: no HubSpot row"
    );
    assert_eq!(row(&rows, "sync queue")["ok"], true, "the others still run");
    assert_eq!(
        row(&rows, "userflow key")["ok"],
        true,
        "a missing Braze key does not hide the Userflow check: {rows:?}"
    );
}

#[tokio::test]
async fn when_the_endpoint_is_not_a_braze_cluster_and_not_allowed_then_it_fails_as_configuration() {
    let stack = stack().await;

    let (code, rows) = check(&stack.without(&["BRAZE_ALLOW_CUSTOM_ENDPOINT"])).await;

    assert_eq!(code, 2);
    let reason = row(&rows, "braze endpoint")["reason"].as_str().unwrap();
    assert!(reason.contains("not a Braze REST host"), "{reason}");
    assert!(reason.contains("BRAZE_ALLOW_CUSTOM_ENDPOINT"), "{reason}");
}

#[tokio::test]
async fn when_the_bucket_and_queue_do_not_exist_then_their_rows_fail_and_it_exits_1() {
    let stack = stack().await;
    let mut env = stack.with("STATE_BUCKET", "relay-no-such-bucket");
    let missing = format!("{}/123456789012/relay-no-such-queue", moto().endpoint());
    env.insert("SYNC_QUEUE_URL".into(), missing);

    let (code, rows) = check(&env).await;

    assert_eq!(code, 1);
    assert_eq!(
        failing(&rows),
        ["state bucket", "sync queue", "sync dead-letter queue"]
    );
    assert!(
        row(&rows, "state bucket")["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{rows:?}"
    );
}
