//! A sandbox started in-process plus raw HTTP helpers that send what a real client sends.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use sandbox::{
    AdminClient, BrazeProfile, Sandbox, SandboxConfig, SeedSegment, StartInfo, UserflowUserRecord,
};
use serde_json::Value;

/// What one raw call answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    /// The body as JSON (panics with the text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `message` of a Braze answer (panics when there is none).
    pub fn message(&self) -> String {
        self.text_at("/message")
    }

    /// The `detail` of a SCIM error (panics when there is none).
    pub fn detail(&self) -> String {
        self.text_at("/detail")
    }

    fn text_at(&self, pointer: &str) -> String {
        match self.json().pointer(pointer) {
            Some(Value::String(text)) => text.clone(),
            _ => panic!("no text at {pointer}: {}", self.text),
        }
    }
}

/// A running sandbox with its clients.
pub struct Env {
    pub sandbox: Sandbox,
    pub info: StartInfo,
    pub http: reqwest::Client,
    pub admin: AdminClient,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(SandboxConfig::default()).await
    }

    pub async fn start_with(config: SandboxConfig) -> Env {
        let sandbox = sandbox::start(config).await.expect("sandbox starts");
        let info = sandbox.info().clone();
        let admin = sandbox.admin();
        Env {
            sandbox,
            info,
            http: reqwest::Client::new(),
            admin,
        }
    }

    /// A sandbox with segment `seg` seeded with `count` profiles.
    pub async fn seeded(count: usize) -> Env {
        let env = Env::start().await;
        env.admin
            .seed_segment(&SeedSegment::new("seg", count))
            .await
            .expect("seeded");
        env
    }

    /// The Braze profile with this external_id, if any.
    pub async fn braze_user(&self, external_id: &str) -> Option<BrazeProfile> {
        self.admin.braze_user(external_id).await.expect("admin")
    }

    /// Number of Braze profiles.
    pub async fn braze_count(&self) -> usize {
        self.admin.braze_user_count().await.expect("admin")
    }

    /// The Userflow user with this id, if any.
    pub async fn userflow_user(&self, id: &str) -> Option<UserflowUserRecord> {
        self.admin.userflow_user(id).await.expect("admin")
    }

    /// A Braze REST request with the right key and content type.
    pub fn braze_request(&self, path: &str) -> RequestBuilder {
        self.http
            .post(format!("{}{path}", self.info.braze))
            .bearer_auth(&self.info.braze_key)
            .header("content-type", "application/json")
    }

    /// POSTs a JSON body to Braze REST.
    pub async fn braze(&self, path: &str, body: Value) -> Answer {
        send(self.braze_request(path).body(body.to_string())).await
    }

    /// A SCIM request with token and origin.
    pub fn scim_request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.info.braze))
            .bearer_auth(&self.info.scim_token)
            .header("x-request-origin", &self.info.scim_origin)
            .header("content-type", "application/json")
    }

    /// A SCIM call with an optional JSON body.
    pub async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.scim_request(method, path);
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        send(req).await
    }

    /// A Userflow request with key and version header.
    pub fn userflow_request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.info.userflow))
            .bearer_auth(&self.info.userflow_key)
            .header("userflow-version", "2020-01-03")
            .header("content-type", "application/json")
    }

    /// A Userflow call with an optional JSON body.
    pub async fn userflow(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.userflow_request(method, path);
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        send(req).await
    }
}

/// Sends and reads the whole answer.
pub async fn send(req: RequestBuilder) -> Answer {
    let resp = req.send().await.expect("request reaches the sandbox");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body readable");
    Answer {
        status,
        headers,
        text,
    }
}
