//! Realistic API Gateway HTTP API (payload 2.0) events for `POST /webhooks/{source}`, signed
//! the way the CRMs sign them. Signatures are computed here, independently of relay-core.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The API id and domain used in every event.
const API_ID: &str = "r3lay0bnch";
const DOMAIN: &str = "r3lay0bnch.execute-api.us-east-1.amazonaws.com";

/// The current Unix time in milliseconds.
pub fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

fn hmac_sha256_base64(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    BASE64.encode(mac.finalize().into_bytes())
}

/// A new Standard Webhooks secret: `whsec_` + base64 of 24 random bytes.
pub fn new_standard_webhooks_secret() -> std::io::Result<String> {
    use std::io::Read as _;
    let mut key = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(format!("whsec_{}", BASE64.encode(key)))
}

/// Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), where the
/// key is the base64-decoded secret without its `whsec_` prefix.
pub fn standard_webhooks_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .expect("the bench generates base64 secrets");
    let mac = hmac_sha256_base64(
        &key,
        &[
            id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            body.as_bytes(),
        ],
    );
    format!("v1,{mac}")
}

/// HubSpot v3: base64(HMAC-SHA256(client secret, "POST" + public URL + body + timestamp ms)).
pub fn hubspot_v3_signature(
    client_secret: &str,
    public_url: &str,
    body: &str,
    timestamp_ms: &str,
) -> String {
    hmac_sha256_base64(
        client_secret.as_bytes(),
        &[
            b"POST",
            public_url.as_bytes(),
            body.as_bytes(),
            timestamp_ms.as_bytes(),
        ],
    )
}

/// The API Gateway v2 event for `POST /webhooks/{source}` with these (lower-case) headers.
pub fn apigw_v2_webhook(
    source: &str,
    request_id: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Value {
    let now = now_millis();
    let time = chrono::DateTime::from_timestamp_millis(now as i64)
        .expect("now is a valid time")
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let path = format!("/webhooks/{source}");
    let mut all_headers = serde_json::Map::new();
    let base = [
        ("accept", "*/*".to_owned()),
        ("content-length", body.len().to_string()),
        ("host", DOMAIN.to_owned()),
        (
            "x-amzn-trace-id",
            format!("Root=1-{:08x}-bench", now / 1000),
        ),
        ("x-forwarded-for", "203.0.113.7".to_owned()),
        ("x-forwarded-port", "443".to_owned()),
        ("x-forwarded-proto", "https".to_owned()),
    ];
    for (name, value) in base.iter().chain(headers) {
        all_headers.insert((*name).to_owned(), Value::String(value.clone()));
    }
    let user_agent = all_headers
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or("relay-bench")
        .to_owned();
    json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{source}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "domainName": DOMAIN,
            "domainPrefix": API_ID,
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": "POST /webhooks/{source}",
            "stage": "$default",
            "time": time,
            "timeEpoch": now as u64,
        },
        "pathParameters": { "source": source },
        "body": body,
        "isBase64Encoded": false,
    })
}

/// The cold-start event: one contact on the Standard Webhooks source, signed now.
pub fn standard_webhooks_event(
    source: &str,
    secret: &str,
    request_id: &str,
    message_id: &str,
) -> Value {
    let body = json!({
        "external_id": "bench-1",
        "email": "bench@example.com",
        "first_name": "Bench",
    })
    .to_string();
    let timestamp = (now_millis() / 1000).to_string();
    let signature = standard_webhooks_signature(secret, message_id, &timestamp, &body);
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("user-agent", "Svix-Webhooks/1.60 (sender-bench)".to_owned()),
        ("webhook-id", message_id.to_owned()),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ];
    apigw_v2_webhook(source, request_id, &headers, &body)
}

/// A HubSpot app-webhook body: one `contact.creation` event per object id.
pub fn hubspot_creation_events(object_ids: &[u64], first_event_id: u64) -> String {
    let occurred_at = now_millis() as u64;
    let events: Vec<Value> = object_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "eventId": first_event_id + i as u64,
                "subscriptionId": 2_471_001,
                "portalId": 62_515,
                "appId": 1_160_452,
                "occurredAt": occurred_at,
                "subscriptionType": "contact.creation",
                "attemptNumber": 0,
                "objectId": id,
                "changeFlag": "CREATED",
                "changeSource": "CRM",
                "sourceId": "userId:1234567",
            })
        })
        .collect();
    Value::Array(events).to_string()
}

/// The latency event: a HubSpot batch, v3-signed against `public_url`, signed now.
pub fn hubspot_event(
    source: &str,
    client_secret: &str,
    public_url: &str,
    request_id: &str,
    body: &str,
) -> Value {
    let timestamp = now_millis().to_string();
    let signature = hubspot_v3_signature(client_secret, public_url, body, &timestamp);
    let headers = [
        ("content-type", "application/json".to_owned()),
        (
            "user-agent",
            "HubSpot Connect 2.0 (http://dev.hubspot.com/)".to_owned(),
        ),
        ("x-hubspot-request-timestamp", timestamp),
        ("x-hubspot-signature-v3", signature),
    ];
    apigw_v2_webhook(source, request_id, &headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_matches_the_spec_example() {
        // The example from the Standard Webhooks specification.
        let signature = standard_webhooks_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn hubspot_v3_matches_the_sdk_vectors() {
        // HubSpot's official SDK test vectors.
        let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
        let uri = "https://www.example.com/webhook_uri";
        let body = "{'example_field':'example_value'}";
        assert_eq!(
            hubspot_v3_signature(secret, uri, body, "15000000"),
            "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
        );
        assert_eq!(
            hubspot_v3_signature(secret, uri, body, "1693657560000"),
            "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="
        );
    }
}
