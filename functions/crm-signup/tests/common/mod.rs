//! Shared by crm-signup's handler tests: the sandbox started in-process and the handler's
//! real configuration path (`Config::from_env` over a variable map), with an in-memory store
//! and queue. Events and signatures come from `relay_tests::webhooks`.

#![allow(dead_code)]

use std::collections::HashMap;

use crm_signup::{Config, Deps, handler};
use lambda_http::{Body, Request};
use relay_core::config::Env;
use relay_core::queue::MemoryQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::MemoryStore;
use relay_core::upstream::{HttpTimeouts, http_client};
use relay_tests::webhooks::relay_variables;
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
