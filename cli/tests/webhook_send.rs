//! `relay webhook send` end to end: the binary posts to an in-test server on a free loopback
//! port, which records the request and hands it, as the API Gateway event Lambda would get,
//! to the real crm-signup handler (configured like a deployment, against the sandbox); the
//! handler's answer goes back to the binary.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crm_signup::{Config, Deps, handler};
use lambda_http::Body;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::env::Env;
use relay_core::queue::MemoryQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::MemoryStore;
use relay_tests::webhooks::{
    Event, HUBSPOT_SECRET, SALESFORCE_TOKEN, STANDARD_SECRET, contact_json, hmac_sha256,
    hubspot_webhook_signed, relay_variables,
};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// The sandbox, crm-signup's handler over it behind a loopback server, and every request
/// that server received.
struct Relay {
    sandbox: Sandbox,
    /// `http://127.0.0.1:<port>`.
    base: String,
    /// The receiver's variables (what the relay is deployed with).
    vars: HashMap<String, String>,
    received: Arc<Mutex<Vec<Event>>>,
}

#[derive(Clone)]
struct Receiver {
    deps: Arc<Deps<MemoryStore, MemoryQueue>>,
    received: Arc<Mutex<Vec<Event>>>,
}

impl Relay {
    async fn start() -> Relay {
        let sandbox = sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        let vars = relay_variables(sandbox.info());
        let secrets = SecretResolver::from_env_map(vars.clone());
        let deps = Config::from_env(&Env::from_map(vars.clone()), &secrets)
            .await
            .expect("configuration is valid")
            .into_deps(
                http_client(HttpTimeouts::default()),
                MemoryStore::new(),
                MemoryQueue::new(),
            )
            .expect("deps build");
        let received = Arc::new(Mutex::new(Vec::new()));
        let receiver = Receiver {
            deps: Arc::new(deps),
            received: received.clone(),
        };
        let app = Router::new()
            .route("/webhooks/{source}", axum::routing::any(receive))
            .with_state(receiver);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Relay {
            sandbox,
            base,
            vars,
            received,
        }
    }

    fn url(&self, source: &str) -> String {
        format!("{}/webhooks/{source}", self.base)
    }

    /// Runs `relay <args>` with the relay's variables changed by `set` (the sender's view).
    async fn send(&self, set: &[(&str, &str)], args: &[&str]) -> Run {
        let mut vars = self.vars.clone();
        for (name, value) in set {
            vars.insert((*name).to_owned(), (*value).to_owned());
        }
        run(vars, args).await
    }

    /// The last request the server received.
    fn last(&self) -> Event {
        self.received
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request was received")
    }
}

/// The server's one route: records the request, calls the handler with the API Gateway
/// event it makes, answers with the handler's response.
async fn receive(
    State(receiver): State<Receiver>,
    Path(source): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = Event {
        source,
        method: method.to_string(),
        query: query.unwrap_or_default(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                let value = value.to_str().expect("visible ASCII headers");
                (name.as_str().to_owned(), value.to_owned())
            })
            .collect(),
        base64: std::str::from_utf8(&body).is_err(),
        body: body.to_vec(),
    };
    receiver.received.lock().unwrap().push(event.clone());
    let answer = handler(&receiver.deps, event.request())
        .await
        .expect("the handler answers");
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_owned();
    let body = match answer.into_body() {
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    (status, [("content-type", content_type)], body).into_response()
}

/// One run of the binary.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("not one JSON document ({error}): {self:?}"))
    }
}

/// Runs `relay <args>` with exactly `vars` as its environment, off the async runtime (the
/// server keeps serving meanwhile).
async fn run(vars: HashMap<String, String>, args: &[&str]) -> Run {
    let output = common::relay(args, &vars).await;
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Each source, the external id it sends, and the variable holding its secret with a wrong
/// value for it.
const SOURCES: [(&str, &str, &str, &str); 4] = [
    (
        "standard-webhooks",
        "sw-1",
        "RELAY_STANDARD_WEBHOOKS_SECRET",
        "whsec_YW5vdGhlciBrZXk=",
    ),
    ("hubspot", "901", "HUBSPOT_CLIENT_SECRET", "another-secret"),
    (
        "salesforce-outbound",
        "0035e00000AbCdE",
        "SALESFORCE_URL_TOKEN",
        "another-token",
    ),
    (
        "pipedrive",
        "4711",
        "PIPEDRIVE_WEBHOOK_PASSWORD",
        "another-password",
    ),
];

fn contact_args<'a>(url: &'a str, source: &'a str, pairs: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["webhook", "send", "--source", source, "--url", url];
    for pair in pairs {
        args.push("--contact");
        args.push(pair);
    }
    args
}

fn pairs(id: &str) -> Vec<String> {
    vec![
        format!("external_id={id}"),
        format!("email={id}@example.com"),
        "first_name=Ada".to_owned(),
        "last_name=Lovelace".to_owned(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn when_each_source_sends_a_contact_then_the_handler_accepts_it_and_the_sandbox_has_it() {
    let relay = Relay::start().await;
    for (source, id, _, _) in SOURCES {
        let url = relay.url(source);
        let pairs = pairs(id);
        let mut args = contact_args(&url, source, &pairs);
        args.push("--json");
        let sent = relay.send(&[], &args).await;
        assert_eq!(sent.code, Some(0), "{source}: {sent:?}");
        let document = sent.json();
        assert_eq!(document["status"], 200, "{source}: {document}");
        if source == "salesforce-outbound" {
            // Salesforce waits for its SOAP Ack, not a report.
            let ack = document["response"].as_str().unwrap();
            assert!(ack.contains("<Ack>true</Ack>"), "{ack}");
            assert_eq!(
                document["url"],
                format!("{url}?token=***"),
                "the URL token is not shown"
            );
            assert!(!sent.stdout.contains(SALESFORCE_TOKEN), "{}", sent.stdout);
            assert_eq!(relay.last().query, format!("token={SALESFORCE_TOKEN}"));
        } else {
            assert_eq!(document["response"]["accepted"], 1, "{source}: {document}");
            assert_eq!(document["url"], url);
        }
        let profile = relay
            .sandbox
            .admin()
            .braze_user(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{source}: {id} is in Braze"));
        assert_eq!(
            profile.attributes["email"],
            format!("{id}@example.com"),
            "{source}"
        );
        assert_eq!(profile.attributes["first_name"], "Ada", "{source}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_sender_has_another_secret_then_the_handler_answers_401_and_it_exits_1() {
    let relay = Relay::start().await;
    for (source, id, variable, wrong) in SOURCES {
        let url = relay.url(source);
        let pairs = pairs(id);
        let mut args = contact_args(&url, source, &pairs);
        args.push("--json");
        let sent = relay.send(&[(variable, wrong)], &args).await;
        assert_eq!(sent.code, Some(1), "{source}: {sent:?}");
        let document = sent.json();
        assert_eq!(document["status"], 401, "{source}: {document}");
        assert_eq!(
            document["response"]["type"], "urn:lifecycle-relay:problem:bad-signature",
            "{source}: {document}"
        );
        assert!(
            relay
                .sandbox
                .admin()
                .braze_user(id)
                .await
                .unwrap()
                .is_none(),
            "{source}: nothing reached Braze"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_answer_is_a_problem_then_the_text_shows_its_status_title_and_detail() {
    let relay = Relay::start().await;
    let url = relay.url("pipedrive");
    let pairs = pairs("p-9");
    let sent = relay
        .send(
            &[("PIPEDRIVE_WEBHOOK_PASSWORD", "guess")],
            &contact_args(&url, "pipedrive", &pairs),
        )
        .await;
    assert_eq!(sent.code, Some(1), "{sent:?}");
    let mut lines = sent.stdout.lines();
    assert_eq!(lines.next(), Some(format!("POST {url}").as_str()));
    assert_eq!(lines.next(), Some("401 Unauthorized"));
    let problem = lines.next().unwrap_or_default();
    assert!(problem.contains(": "), "title: detail, got {problem}");
    assert!(
        sent.stdout
            .contains("(type urn:lifecycle-relay:problem:bad-signature)"),
        "{}",
        sent.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn when_hubspot_is_posted_to_a_local_port_then_it_is_signed_for_the_public_url() {
    let relay = Relay::start().await;
    let url = relay.url("hubspot");
    let pairs = pairs("902");
    let sent = relay
        .send(&[], &contact_args(&url, "hubspot", &pairs))
        .await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    // The independent test signer, which signs for https://relay.example.com/webhooks/hubspot.
    let event = relay.last();
    let header = |name: &str| {
        event
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} sent"))
    };
    let timestamp: u64 = header("x-hubspot-request-timestamp").parse().unwrap();
    let body = String::from_utf8(event.body.clone()).unwrap();
    let expected = hubspot_webhook_signed(&body, HUBSPOT_SECRET, timestamp);
    let (_, signature) = expected
        .headers
        .iter()
        .find(|(n, _)| n == "x-hubspot-signature-v3")
        .unwrap();
    assert_eq!(&header("x-hubspot-signature-v3"), signature);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_a_file_is_sent_to_the_default_url_then_its_bytes_are_signed_as_they_are() {
    let relay = Relay::start().await;
    let file = tempfile::NamedTempFile::new().unwrap();
    // Odd spacing on purpose: a re-serialised body would not match these bytes.
    let body = format!("{}\n", contact_json("file-1")).replace(",", ",  ");
    std::fs::write(file.path(), &body).unwrap();
    let path = file.path().to_str().unwrap();
    let sent = relay
        .send(
            &[("RELAY_PUBLIC_URL", &relay.base)],
            &[
                "webhook",
                "send",
                "--source",
                "standard-webhooks",
                "--file",
                path,
            ],
        )
        .await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    assert!(
        sent.stdout.starts_with(&format!(
            "POST {}/webhooks/standard-webhooks\n200 OK\n",
            relay.base
        )),
        "{}",
        sent.stdout
    );
    let event = relay.last();
    assert_eq!(event.body, body.as_bytes());
    // The independent test signer agrees with the signature sent.
    let header = |name: &str| {
        event
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let key = BASE64
        .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let signed = format!(
        "{}.{}.{body}",
        header("webhook-id"),
        header("webhook-timestamp")
    );
    assert_eq!(
        header("webhook-signature"),
        format!("v1,{}", BASE64.encode(hmac_sha256(&key, signed.as_bytes())))
    );
    assert!(
        relay
            .sandbox
            .admin()
            .braze_user("file-1")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_source_is_unknown_or_disabled_then_it_exits_2_saying_which_and_why() {
    let relay = Relay::start().await;
    let unknown = relay
        .send(
            &[],
            &[
                "webhook",
                "send",
                "--source",
                "zoho",
                "--contact",
                "external_id=1",
            ],
        )
        .await;
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(
        unknown.stderr.contains("unknown source zoho"),
        "{}",
        unknown.stderr
    );
    let mut vars = relay.vars.clone();
    vars.remove("PIPEDRIVE_WEBHOOK_PASSWORD");
    let disabled = run(
        vars,
        &[
            "--json",
            "webhook",
            "send",
            "--source",
            "pipedrive",
            "--contact",
            "external_id=1",
        ],
    )
    .await;
    assert_eq!(disabled.code, Some(2), "{disabled:?}");
    let message = disabled.json()["error"]["message"].clone();
    assert_eq!(
        message,
        "source pipedrive is not enabled: set PIPEDRIVE_WEBHOOK_PASSWORD"
    );
    assert!(
        relay.received.lock().unwrap().is_empty(),
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn when_arguments_are_wrong_then_it_exits_2_and_sends_nothing() {
    let relay = Relay::start().await;
    let url = relay.url("standard-webhooks");
    let base = [
        "webhook",
        "send",
        "--source",
        "standard-webhooks",
        "--url",
        &url,
    ];
    let cases: [(&[&str], &str); 5] = [
        (&["--contact", "ada@example.com"], "not field=value"),
        (
            &["--contact", "mail=ada@example.com"],
            "`mail` is not a contact field",
        ),
        (
            &["--contact", "country=GB", "--contact", "country=FR"],
            "given twice",
        ),
        (
            &["--contact", "external_id=1", "--file", "x.json"],
            "cannot be used with",
        ),
        (&[], "required"),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let sent = relay.send(&[], &args).await;
        assert_eq!(sent.code, Some(2), "{extra:?}: {sent:?}");
        assert!(sent.stderr.contains(expected), "{extra:?}: {}", sent.stderr);
        assert!(
            !sent.stderr.contains("ada@example.com"),
            "values are not echoed: {}",
            sent.stderr
        );
    }
    let unmapped = relay
        .send(
            &[],
            &[
                "webhook",
                "send",
                "--source",
                "pipedrive",
                "--url",
                &url,
                "--contact",
                "external_id=1",
                "--contact",
                "country=GB",
            ],
        )
        .await;
    assert_eq!(unmapped.code, Some(2), "{unmapped:?}");
    assert!(
        unmapped
            .stderr
            .contains("source pipedrive's mapping does not read `country`"),
        "{}",
        unmapped.stderr
    );
    assert!(
        relay.received.lock().unwrap().is_empty(),
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn when_nothing_listens_at_the_url_then_it_exits_1() {
    let relay = Relay::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = format!("http://{closed}/webhooks/standard-webhooks");
    let pairs = pairs("gone");
    let mut args = contact_args(&url, "standard-webhooks", &pairs);
    args.push("--json");
    let sent = relay.send(&[], &args).await;
    assert_eq!(sent.code, Some(1), "{sent:?}");
    assert_eq!(sent.json()["error"]["kind"], "failed");
}
