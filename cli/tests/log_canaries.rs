//! No personal data and no secret in any log: `relay local` (the four functions' handlers and
//! the stack's own lines, at debug level for the relay's crates) and the CLI commands run
//! against it, while canary contacts go through every path: signups from all four sources,
//! an invalid contact, a wrong signature, Braze and Userflow refusing with the email echoed
//! back, a contact parked during an outage and delivered by the sync-worker, a segment export
//! synced by export-callback and the sync-worker, and an erasure by the deletion-worker.
//! Every captured byte is scanned for the canaries and for every secret the stack holds.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use relay_core::crm::signature::{
    basic_authorization, hubspot_v3_signature, standard_webhooks_signature,
};
use relay_tests::webhooks::{eventually, salesforce_xml};
use sandbox::{AdminClient, Api, FaultKind, FaultRule, SeedSegment};
use serde_json::{Value, json};

mod common;

use common::{code, json as document, relay, stderr};

const EMAIL: &str = "canary.person+zq7@example.org";
const BAD_EMAIL: &str = "canary.broken+zq7@";
const PHONE: &str = "+15550001234";
const FIRST: &str = "Zebulon";
const LAST: &str = "Quarrington";
/// Decodes to `zq7-canary-standard-webhooks-key`.
const STANDARD_SECRET: &str = "whsec_enE3LWNhbmFyeS1zdGFuZGFyZC13ZWJob29rcy1rZXk=";
const HUBSPOT_SECRET: &str = "zq7-canary-hubspot-client-secret";
const PIPEDRIVE_PASSWORD: &str = "zq7-canary-pipedrive-password";
const SALESFORCE_TOKEN: &str = "zq7-canary-salesforce-url-token";
const SALESFORCE_ORG: &str = "00D5e000000AbCdEAK";

/// What must never be logged, besides the secrets the stack itself chose.
const CANARIES: &[&str] = &[
    EMAIL,
    "canary.person",
    "canary.broken",
    PHONE,
    "5550001234",
    FIRST,
    LAST,
    "enE3LWNhbmFyeS1zdGFuZGFyZC13ZWJob29rcy1rZXk",
];

/// Each canary or secret found in `captured`, with the line it is on.
fn leaks<'c>(captured: &str, needles: &'c [String]) -> Vec<(&'c str, String)> {
    let lower = captured.to_lowercase();
    needles
        .iter()
        .filter_map(|needle| {
            let at = lower.find(&needle.to_lowercase())?;
            let line_start = captured[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = captured[at..].find('\n').map_or(captured.len(), |i| at + i);
            Some((needle.as_str(), captured[line_start..line_end].to_owned()))
        })
        .collect()
}

fn contact(id: &str, email: &str) -> Value {
    json!({
        "external_id": id, "email": email, "first_name": FIRST, "last_name": LAST,
        "phone": PHONE, "company": {"id": "zq7-co", "name": "Quarrington Ltd"}
    })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Stack {
    child: Child,
    log: std::path::PathBuf,
    env_out: std::path::PathBuf,
    webhooks: String,
    admin: AdminClient,
    _dir: tempfile::TempDir,
}

impl Stack {
    fn start() -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("relay-local.log");
        let env_out = dir.path().join("stack.env");
        let filter = "info,relay=debug,relay_core=debug,relay_clients=debug,relay_lambda=debug,\
                      crm_signup=debug,sync_worker=debug,export_callback=debug,deletion_worker=debug";
        let sets = [
            format!("RELAY_STANDARD_WEBHOOKS_SECRET={STANDARD_SECRET}"),
            format!("HUBSPOT_CLIENT_SECRET={HUBSPOT_SECRET}"),
            format!("PIPEDRIVE_WEBHOOK_PASSWORD={PIPEDRIVE_PASSWORD}"),
            format!("SALESFORCE_URL_TOKEN={SALESFORCE_TOKEN}"),
            format!("SALESFORCE_ORGANIZATION_ID={SALESFORCE_ORG}"),
            "UPSTREAM_RETRY_DEADLINE_MS=1500".to_owned(),
        ];
        let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
        command
            .arg("local")
            .args(["--env-out", env_out.to_str().unwrap()])
            .env("RELAY_PYTHON", relay_tests::python())
            .env("RUST_LOG", filter)
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("BRAZE_REST_ENDPOINT")
            .env_remove("BRAZE_API_KEY")
            .env_remove("USERFLOW_API_KEY")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for set in &sets {
            command.args(["--set", set]);
        }
        let mut child = command.spawn().expect("relay runs");
        let ready = common::ready_line(&mut child);
        Stack {
            child,
            log,
            env_out,
            webhooks: ready["webhooks"].as_str().unwrap().to_owned(),
            admin: AdminClient::new(ready["sandbox"]["admin"].as_str().unwrap()),
            _dir: dir,
        }
    }

    async fn post(&self, source: &str, query: &str, headers: &[(&str, String)], body: &str) -> u16 {
        let mut request = reqwest::Client::new()
            .post(format!("{}/webhooks/{source}?{query}", self.webhooks))
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request
            .send()
            .await
            .expect("the gateway answers")
            .status()
            .as_u16()
    }

    async fn standard(&self, body: &str, key: &[u8]) -> u16 {
        let (id, timestamp) = (format!("msg_{}", now_secs()), now_secs().to_string());
        let signature = standard_webhooks_signature(key, &id, &timestamp, body.as_bytes());
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("webhook-id", id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        ];
        self.post("standard-webhooks", "", &headers, body).await
    }

    /// The variables of `--env-out`, as the CLI commands read them.
    fn env(&self) -> HashMap<String, String> {
        std::fs::read_to_string(&self.env_out)
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.trim_matches('\'').to_owned()))
            .collect()
    }

    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

const KEY: &[u8] = b"zq7-canary-standard-webhooks-key";

async fn signups(stack: &Stack) {
    let body = json!([contact("zq7-one", EMAIL)]).to_string();
    assert_eq!(
        stack.standard(&body, KEY).await,
        200,
        "a valid canary signs up"
    );
    let body = json!([contact("zq7-bad", BAD_EMAIL)]).to_string();
    assert_eq!(
        stack.standard(&body, KEY).await,
        422,
        "an invalid contact is refused"
    );
    assert_eq!(
        stack.standard(&body, b"another key").await,
        401,
        "a wrong signature"
    );

    let uri = format!("{}/webhooks/hubspot", stack.webhooks);
    let body = json!({"hs_object_id": "zq7-hub", "email": EMAIL, "firstname": FIRST, "lastname": LAST, "phone": PHONE}).to_string();
    let millis = (now_secs() * 1000).to_string();
    let headers = [
        ("content-type", "application/json".to_owned()),
        (
            "x-hubspot-signature-v3",
            hubspot_v3_signature(HUBSPOT_SECRET, "POST", &uri, body.as_bytes(), &millis),
        ),
        ("x-hubspot-request-timestamp", millis),
    ];
    assert_eq!(stack.post("hubspot", "", &headers, &body).await, 200);

    let body = json!({
        "meta": {"action": "create", "entity": "person", "entity_id": "71", "version": "2.0"},
        "data": {"id": 71, "first_name": FIRST, "last_name": LAST,
                 "emails": [{"value": EMAIL, "primary": true}], "phones": [{"value": PHONE, "primary": true}]}
    })
    .to_string();
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        (
            "authorization",
            basic_authorization("pipedrive", PIPEDRIVE_PASSWORD),
        ),
    ];
    assert_eq!(stack.post("pipedrive", "", &headers, &body).await, 200);
    headers[1].1 = basic_authorization("pipedrive", "zq7-wrong-password");
    assert_eq!(stack.post("pipedrive", "", &headers, &body).await, 401);

    let xml = salesforce_xml(SALESFORCE_ORG, &[("04lzq7", "0035e00000Zq7A", EMAIL)])
        .replace("Grace", FIRST)
        .replace("Hopper", LAST);
    let headers = [("content-type", "text/xml; charset=utf-8".to_owned())];
    let query = format!("token={SALESFORCE_TOKEN}");
    assert_eq!(
        stack
            .post("salesforce-outbound", &query, &headers, &xml)
            .await,
        200
    );
    assert_eq!(
        stack
            .post("salesforce-outbound", "token=zq7-wrong", &headers, &xml)
            .await,
        401
    );
}

/// Braze and Userflow refuse, echoing the email and the phone back in their bodies.
async fn refusals(stack: &Stack) {
    let echo = format!(
        r#"{{"message":"invalid {EMAIL} {PHONE}","errors":[{{"type":"{EMAIL}","input_array":"attributes","index":0}}]}}"#
    );
    for (api, path) in [(Api::Braze, "/users/track"), (Api::Userflow, "/users")] {
        let kind = FaultKind::Status {
            status: 400,
            html: false,
            body: Some(echo.clone()),
            content_type: None,
        };
        stack
            .admin
            .add_fault(&FaultRule::new(api, "POST", path, kind).times(1))
            .await
            .unwrap();
        let body = json!([contact(&format!("zq7-refused-{path}"), EMAIL)]).to_string();
        let status = stack.standard(&body, KEY).await;
        assert!(
            matches!(status, 200 | 202 | 422),
            "{api:?} refusal answered {status}"
        );
    }
}

/// Userflow down: the contact is parked, then the sync-worker delivers it.
async fn parked(stack: &Stack) {
    let outage = FaultRule::new(
        Api::Userflow,
        "POST",
        "/users",
        FaultKind::status(503, true),
    );
    let fault = stack.admin.add_fault(&outage).await.unwrap();
    let body = json!([contact("zq7-parked", EMAIL)]).to_string();
    assert_eq!(
        stack.standard(&body, KEY).await,
        202,
        "parked during the outage"
    );
    stack.admin.remove_fault(&fault.id).await.unwrap();
    let delivered = eventually(Duration::from_secs(60), || async {
        stack
            .admin
            .userflow_user("zq7-parked")
            .await
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    assert!(delivered, "the sync-worker delivers the parked contact");
}

async fn export(stack: &Stack, env_file: &str) {
    let mut segment = SeedSegment::new("zq7-segment", 0);
    segment.external_ids = vec!["zq7-one".to_owned()];
    stack.admin.seed_segment(&segment).await.unwrap();
    let args = [
        "--json",
        "--env-file",
        env_file,
        "export",
        "start",
        "--segment",
        "zq7-segment",
    ];
    let started = relay(&args, &HashMap::new()).await;
    assert_eq!(code(&started), 0, "{}", stderr(&started));
    let job = document(&started)["job"]
        .as_str()
        .expect("a job id")
        .to_owned();
    let args = [
        "--json",
        "--env-file",
        env_file,
        "export",
        "status",
        &job,
        "--watch",
        "--timeout-secs",
        "90",
    ];
    let watched = relay(&args, &HashMap::new()).await;
    assert_eq!(code(&watched), 0, "{}", stderr(&watched));
    for output in [started, watched] {
        scan(&stderr(&output), &[]);
    }
}

async fn erasure(stack: &Stack, env_file: &str) {
    let present = stack.admin.userflow_user("zq7-one").await.unwrap();
    assert!(
        present.is_some(),
        "the canary is in Userflow before its erasure"
    );
    let args = [
        "--json",
        "--env-file",
        env_file,
        "erase",
        "--email",
        EMAIL,
        "--origin",
        "zq7 ticket",
    ];
    let enqueued = relay(&args, &HashMap::new()).await;
    assert_eq!(code(&enqueued), 0, "{}", stderr(&enqueued));
    scan(&stderr(&enqueued), &[]);
    let erased = eventually(Duration::from_secs(60), || async {
        stack
            .admin
            .userflow_user("zq7-one")
            .await
            .ok()
            .flatten()
            .is_none()
    })
    .await;
    assert!(erased, "the deletion-worker erases the canary");
}

/// Fails naming each canary or secret found in `captured`.
fn scan(captured: &str, secrets: &[String]) {
    let mut needles: Vec<String> = CANARIES.iter().map(|c| (*c).to_owned()).collect();
    needles.extend([HUBSPOT_SECRET, PIPEDRIVE_PASSWORD, SALESFORCE_TOKEN].map(str::to_owned));
    needles.extend(secrets.iter().cloned());
    let found = leaks(captured, &needles);
    assert!(found.is_empty(), "logged: {found:#?}");
}

#[test]
fn when_a_canary_is_logged_then_the_scan_finds_it() {
    let secret = "sandbox-secret-value".to_owned();
    let line = format!(
        "INFO contact {} delivered\nDEBUG key={secret}\n",
        EMAIL.to_uppercase()
    );
    let needles = [EMAIL.to_owned(), secret.clone(), "absent".to_owned()];
    let found = leaks(&line, &needles);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1].1, format!("DEBUG key={secret}"));
    assert!(std::panic::catch_unwind(|| scan(&line, &[])).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_canaries_go_through_every_function_and_the_cli_then_no_log_holds_them_or_a_secret() {
    let stack = Stack::start();
    let env_file = stack.env_out.to_str().unwrap().to_owned();
    signups(&stack).await;
    refusals(&stack).await;
    parked(&stack).await;
    export(&stack, &env_file).await;
    erasure(&stack, &env_file).await;
    let secrets: Vec<String> = stack
        .env()
        .into_iter()
        .filter(|(name, _)| {
            ["KEY", "SECRET", "TOKEN", "PASSWORD"]
                .iter()
                .any(|s| name.contains(s))
        })
        .map(|(_, value)| value)
        .filter(|value| value.len() >= 8)
        .collect();
    assert!(
        secrets.len() >= 4,
        "the stack's secrets are known: {}",
        secrets.len()
    );
    let log = stack.stop();
    for function in [
        "crm-signup",
        "sync-worker",
        "export-callback",
        "deletion-worker",
    ] {
        assert!(log.contains(function), "{function} logged nothing:\n{log}");
    }
    assert!(log.contains("upstream"), "the refusals were logged:\n{log}");
    if std::env::var_os("LOG_CANARIES_SHOW").is_some() {
        eprintln!("{log}");
    }
    scan(&log, &secrets);
}
