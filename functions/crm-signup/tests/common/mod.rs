//! Shared by crm-signup's handler tests: the sandbox started in-process and the handler's
//! real configuration path (`Config::from_env` over a variable map), with an in-memory store
//! and queue. Events and signatures come from `relay_tests::webhooks`.

#![allow(dead_code)]

use std::collections::HashMap;

use crm_signup::{Config, Deps, handler};
use lambda_http::{Body, Request};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::env::Env;
use relay_core::queue::MemoryQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::MemoryStore;
use relay_tests::webhooks::*;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// The sandbox plus crm-signup's dependencies over it (in-memory store and queue).
pub struct Stack {
    pub sandbox: Sandbox,
    pub deps: Deps<MemoryStore, MemoryQueue>,
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with(|_| {}).await
    }

    /// Starts the sandbox, lets `adjust` change the variables, builds the deps.
    pub async fn start_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> Stack {
        let sandbox = sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        let mut vars = relay_variables(sandbox.info());
        adjust(&mut vars);
        let secrets = SecretResolver::from_env_map(vars.clone());
        let config = Config::from_env(&Env::from_map(vars), &secrets)
            .await
            .expect("configuration is valid");
        let deps = config
            .into_deps(
                http_client(HttpTimeouts::default()),
                MemoryStore::new(),
                MemoryQueue::new(),
            )
            .expect("deps build");
        Stack { sandbox, deps }
    }

    /// Calls the handler; returns status, content type and the body as JSON (or a string).
    pub async fn call(&self, request: Request) -> Answer {
        let response = handler(&self.deps, request).await.expect("handler answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let headers = response.headers().clone();
        let text = match response.into_body() {
            Body::Text(text) => text,
            Body::Binary(bytes) => String::from_utf8(bytes).expect("utf-8 body"),
            Body::Empty => String::new(),
            _ => String::new(),
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            headers,
            text,
            json,
        }
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The problem type's slug (`bad-signature`), when the answer is a problem.
    pub fn problem(&self) -> Option<&str> {
        self.json["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("urn:lifecycle-relay:problem:"))
    }
}

/// One bad request and the answer it must get.
pub struct Case {
    pub name: &'static str,
    pub event: Event,
    pub status: u16,
    pub problem: &'static str,
}

fn case(name: &'static str, event: Event, status: u16, problem: &'static str) -> Case {
    Case {
        name,
        event,
        status,
        problem,
    }
}

pub fn bad_input_cases() -> Vec<Case> {
    let contact = contact_json("t-1").to_string();
    let now = unix_now();
    let mut invalid_email = contact_json("t-2");
    invalid_email["email"] = "nope".into();
    let mut no_id = contact_json("t-3");
    no_id.as_object_mut().unwrap().remove("external_id");
    let wrong_org = salesforce_xml(
        "00D000000000001AAA",
        &[("04l1", "0035e00000A1", "a@example.com")],
    );
    let good_xml = salesforce_xml(SALESFORCE_ORG, &[("04l1", "0035e00000A1", "a@example.com")]);
    let big = format!(
        r#"{{"external_id":"big","pad":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    vec![
        case(
            "body over 1 MiB",
            standard_webhook(&big),
            413,
            "body-too-large",
        ),
        case(
            "more contacts than the default cap of 1,000",
            standard_webhook(
                &serde_json::Value::Array(
                    (0..1001)
                        .map(|n| serde_json::json!({"external_id": format!("cap-{n}")}))
                        .collect(),
                )
                .to_string(),
            ),
            413,
            "too-many-contacts",
        ),
        case(
            "unknown source",
            Event::new("zoho", "application/json", "{}"),
            404,
            "unknown-source",
        ),
        case(
            "GET instead of POST",
            standard_webhook(&contact).method("GET"),
            405,
            "method-not-allowed",
        ),
        case(
            "missing webhook-signature",
            standard_webhook(&contact).without_header("webhook-signature"),
            401,
            "missing-signature",
        ),
        case(
            "missing webhook-id",
            standard_webhook(&contact).without_header("webhook-id"),
            401,
            "missing-signature",
        ),
        case(
            "missing webhook-timestamp",
            standard_webhook(&contact).without_header("webhook-timestamp"),
            401,
            "missing-signature",
        ),
        case(
            "signature of another body",
            {
                let mut event = standard_webhook(&contact);
                event.body = contact_json("t-9").to_string().into_bytes();
                event
            },
            401,
            "bad-signature",
        ),
        case(
            "signature of another secret",
            standard_webhook(&contact).header(
                "webhook-signature",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
            401,
            "bad-signature",
        ),
        case(
            "timestamp 10 minutes old",
            standard_webhook_at(&contact, now - 600, "msg_old"),
            401,
            "expired-signature",
        ),
        case(
            "timestamp 10 minutes ahead",
            standard_webhook_at(&contact, now + 600, "msg_new"),
            401,
            "expired-signature",
        ),
        case(
            "timestamp not a number",
            standard_webhook(&contact).header("webhook-timestamp", "yesterday"),
            401,
            "malformed-signature",
        ),
        case(
            "HubSpot without signature",
            hubspot_webhook("[]").without_header("x-hubspot-signature-v3"),
            401,
            "missing-signature",
        ),
        case(
            "HubSpot signed with another secret",
            hubspot_webhook_signed("[]", "not-the-secret", now_millis()),
            401,
            "bad-signature",
        ),
        case(
            "HubSpot timestamp 6 minutes old",
            hubspot_webhook_signed("[]", HUBSPOT_SECRET, now_millis() - 360_000),
            401,
            "expired-signature",
        ),
        case(
            "Pipedrive without credentials",
            pipedrive_webhook("{}", PIPEDRIVE_PASSWORD).without_header("authorization"),
            401,
            "missing-signature",
        ),
        case(
            "Pipedrive with a wrong password",
            pipedrive_webhook("{}", "guess"),
            401,
            "bad-signature",
        ),
        case(
            "Salesforce without the URL token",
            salesforce_message(&good_xml).query(""),
            401,
            "missing-signature",
        ),
        case(
            "Salesforce from another org",
            salesforce_message(&wrong_org),
            401,
            "wrong-organization",
        ),
        case(
            "text/plain body",
            standard_webhook(&contact).header("content-type", "text/plain"),
            415,
            "unsupported-media-type",
        ),
        case(
            "no content type",
            standard_webhook(&contact).without_header("content-type"),
            415,
            "unsupported-media-type",
        ),
        case(
            "Salesforce sent as JSON",
            salesforce_message(&good_xml).header("content-type", "application/json"),
            415,
            "unsupported-media-type",
        ),
        case(
            "truncated JSON",
            standard_webhook(r#"{"external_id": "t-1", "email": "#),
            400,
            "malformed-body",
        ),
        case("empty body", standard_webhook(""), 400, "malformed-body"),
        case(
            "array of strings",
            standard_webhook(r#"["t-1", "t-2"]"#),
            400,
            "malformed-body",
        ),
        case(
            "HubSpot event without objectId",
            hubspot_webhook(r#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#),
            400,
            "malformed-body",
        ),
        case(
            "broken XML",
            salesforce_message("<soapenv:Envelope><soapenv:Body>"),
            400,
            "malformed-body",
        ),
        case(
            "Salesforce without notifications",
            salesforce_message(&salesforce_xml(SALESFORCE_ORG, &[])),
            400,
            "malformed-body",
        ),
        case(
            "Pipedrive body without meta",
            pipedrive_webhook(r#"{"data":{"id":1}}"#, PIPEDRIVE_PASSWORD),
            400,
            "malformed-body",
        ),
        case(
            "only contact lacks external_id",
            standard_webhook(&no_id.to_string()),
            422,
            "all-contacts-rejected",
        ),
        case(
            "only contact has a bad email",
            standard_webhook(&invalid_email.to_string()),
            422,
            "all-contacts-rejected",
        ),
    ]
}

/// Collects everything the handler logs, as JSON lines would reach CloudWatch: give a clone
/// to `tracing_subscriber::fmt().with_writer(..)` and read [`Captured::text`].
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
