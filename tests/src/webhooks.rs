//! Building CRM webhooks as Lambda receives them: API Gateway HTTP API (payload 2.0) events
//! from a real event JSON, signed the way each CRM signs, plus the variables a deployed
//! relay function would have, pointing at a sandbox. Shared by the handler tests and the
//! end-to-end tests.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use lambda_http::Request;
use sandbox::StartInfo;
use serde_json::Value;

/// A real API Gateway HTTP API (payload 2.0) event, as Lambda receives it.
pub const EVENT_FIXTURE: &str = include_str!("../resources/apigw-v2-webhook.json");

pub const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const HUBSPOT_SECRET: &str = "hubspot-client-secret-for-tests";
pub const PUBLIC_URL: &str = "https://relay.example.com";
pub const SALESFORCE_ORG: &str = "00D5e000000AbCdEAK";
pub const SALESFORCE_TOKEN: &str = "sf-url-token-for-tests";
pub const PIPEDRIVE_USER: &str = "pipedrive";
pub const PIPEDRIVE_PASSWORD: &str = "pipedrive-password-for-tests";

/// The variables a deployed crm-signup would have, pointing at `sandbox`: plain variables
/// only, no `RELAY_SOURCES` (tests that need one add it).
pub fn relay_variables(info: &StartInfo) -> HashMap<String, String> {
    [
        ("BRAZE_REST_ENDPOINT", info.braze.clone()),
        ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true".into()),
        ("BRAZE_API_KEY", info.braze_key.clone()),
        ("BRAZE_TRACK_RATE", "1000".into()),
        ("USERFLOW_API_KEY", info.userflow_key.clone()),
        ("USERFLOW_BASE_URL", info.userflow.clone()),
        ("USERFLOW_RATE", "1000".into()),
        ("USERFLOW_CONCURRENCY", "16".into()),
        ("UPSTREAM_RETRY_DEADLINE_MS", "3000".into()),
        ("STATE_BUCKET", "state".into()),
        ("SYNC_QUEUE_URL", "memory".into()),
        ("RELAY_STANDARD_WEBHOOKS_SECRET", STANDARD_SECRET.into()),
        ("HUBSPOT_CLIENT_SECRET", HUBSPOT_SECRET.into()),
        ("HUBSPOT_ACCESS_TOKEN", info.hubspot_token.clone()),
        ("HUBSPOT_API_BASE_URL", info.hubspot_url.clone()),
        ("RELAY_PUBLIC_URL", PUBLIC_URL.into()),
        ("SALESFORCE_ORGANIZATION_ID", SALESFORCE_ORG.into()),
        ("SALESFORCE_URL_TOKEN", SALESFORCE_TOKEN.into()),
        ("PIPEDRIVE_WEBHOOK_PASSWORD", PIPEDRIVE_PASSWORD.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// An API Gateway v2 event for `POST /webhooks/{source}` built from the fixture.
#[derive(Clone)]
pub struct Event {
    pub source: String,
    pub method: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub base64: bool,
}

impl Event {
    pub fn new(source: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Event {
        Event {
            source: source.into(),
            method: "POST".into(),
            query: String::new(),
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            base64: false,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Event {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Event {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn query(mut self, query: &str) -> Event {
        self.query = query.into();
        self
    }

    pub fn method(mut self, method: &str) -> Event {
        self.method = method.into();
        self
    }

    pub fn base64(mut self) -> Event {
        self.base64 = true;
        self
    }

    /// The event JSON Lambda would deliver.
    pub fn to_json(&self) -> String {
        let mut event: Value = serde_json::from_str(EVENT_FIXTURE).expect("fixture is JSON");
        let path = format!("/webhooks/{}", self.source);
        event["rawPath"] = path.clone().into();
        event["rawQueryString"] = self.query.clone().into();
        event["requestContext"]["http"]["path"] = path.into();
        event["requestContext"]["http"]["method"] = self.method.clone().into();
        event["routeKey"] = format!("{} /webhooks/{{source}}", self.method).into();
        event["pathParameters"]["source"] = self.source.clone().into();
        let headers = event["headers"].as_object_mut().expect("headers object");
        headers.retain(|name, _| {
            !(name.starts_with("webhook-") || name == "content-type" || name == "content-length")
        });
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone().into());
        }
        headers.insert("content-length".into(), self.body.len().to_string().into());
        if self.base64 {
            event["body"] = BASE64.encode(&self.body).into();
            event["isBase64Encoded"] = true.into();
        } else {
            event["body"] = String::from_utf8(self.body.clone())
                .expect("text body")
                .into();
        }
        event.to_string()
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.to_json()).expect("a valid API Gateway v2 event")
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn hmac_sha256(key: &[u8], content: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(content);
    mac.finalize().into_bytes().to_vec()
}

/// A Standard Webhooks request for `standard-webhooks`, signed now.
pub fn standard_webhook(body: &str) -> Event {
    standard_webhook_at(body, unix_now(), "msg_test")
}

pub fn standard_webhook_at(body: &str, timestamp: u64, id: &str) -> Event {
    let key = BASE64
        .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let signed = format!("{id}.{timestamp}.{body}");
    let signature = BASE64.encode(hmac_sha256(&key, signed.as_bytes()));
    Event::new("standard-webhooks", "application/json", body)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", format!("v1,{signature}"))
}

/// A HubSpot v3 request for `hubspot`, signed now with `secret`.
pub fn hubspot_webhook(body: &str) -> Event {
    hubspot_webhook_signed(body, HUBSPOT_SECRET, now_millis())
}

pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn hubspot_webhook_signed(body: &str, secret: &str, timestamp_ms: u64) -> Event {
    let uri = format!("{PUBLIC_URL}/webhooks/hubspot");
    let content = format!("POST{uri}{body}{timestamp_ms}");
    let signature = BASE64.encode(hmac_sha256(secret.as_bytes(), content.as_bytes()));
    Event::new("hubspot", "application/json", body)
        .header("x-hubspot-signature-v3", signature)
        .header("x-hubspot-request-timestamp", timestamp_ms.to_string())
}

/// A Pipedrive request with HTTP Basic credentials.
pub fn pipedrive_webhook(body: &str, password: &str) -> Event {
    let credentials = BASE64.encode(format!("{PIPEDRIVE_USER}:{password}"));
    Event::new("pipedrive", "application/json", body)
        .header("authorization", format!("Basic {credentials}"))
}

/// A Salesforce Outbound Message with the URL token.
pub fn salesforce_message(xml: &str) -> Event {
    Event::new("salesforce-outbound", "text/xml; charset=utf-8", xml)
        .query(&format!("token={SALESFORCE_TOKEN}"))
}

/// A SOAP Outbound Message body with one Contact notification per `(notification id,
/// contact id, email)`.
pub fn salesforce_xml(organization: &str, notifications: &[(&str, &str, &str)]) -> String {
    let items: String = notifications
        .iter()
        .map(|(id, contact, email)| {
            format!(
                r#"<Notification><Id>{id}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{contact}</sf:Id><sf:Email>{email}</sf:Email><sf:FirstName>Grace</sf:FirstName><sf:LastName>Hopper</sf:LastName></sObject></Notification>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{organization}</OrganizationId><ActionId>04k5e000000AbCdAAK</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/59.0/00D5e000000AbCd</EnterpriseUrl><PartnerUrl>https://example.my.salesforce.com/services/Soap/u/59.0/00D5e000000AbCd</PartnerUrl>{items}</notifications></soapenv:Body></soapenv:Envelope>"#
    )
}

/// A JSON contact in the standard-webhooks shape.
pub fn contact_json(id: &str) -> Value {
    serde_json::json!({
        "external_id": id,
        "email": format!("{id}@example.com"),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        "company": {"id": "acme", "name": "Acme", "plan": "pro"},
        "signed_up_at": "2026-11-20T10:00:00Z"
    })
}

/// Waits for a condition for up to `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
