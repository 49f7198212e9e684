//! Handler latency: crm-signup's handler called in-process with a 100-contact HubSpot batch,
//! against the sandbox (HubSpot, Braze, Userflow) and moto (S3 markers, SQS), no faults.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crm_signup::{Config, Deps, handler};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{s3_client, sqs_client};
use relay_core::env::Env;
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::S3Store;
use sandbox::{Api, Bucket, HubspotContactSeed};
use serde_json::Value;

use crate::events::hubspot_creation_events;
use crate::stack::{HUBSPOT_CLIENT_SECRET, HUBSPOT_SOURCE, Stack};
use crate::stats::Samples;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Contacts per webhook.
    pub contacts: usize,
    /// Unmeasured requests first.
    pub warmup: usize,
    /// Measured requests, sequential.
    pub requests: usize,
}

/// Settings the benchmark changes from crm-signup's defaults, and why (printed in the report).
pub const OVERRIDES: &[(&str, &str, &str)] = &[(
    "USERFLOW_RATE",
    "100000",
    "the default client-side 10 req/s would park most of 100 contacts at the 4 s deadline; \
     the bench measures the handler, not a rate",
)];

/// What was measured.
#[derive(Debug)]
pub struct Outcome {
    /// Handler latency per measured request, in ms.
    pub latency: Samples,
    /// Upstream requests per measured webhook, by API name.
    pub requests_per_webhook: Vec<(String, f64)>,
    /// Braze `/users/track` requests per measured webhook.
    pub braze_track_per_webhook: f64,
    /// Wall time of the measured phase.
    pub wall: Duration,
}

/// Seeds HubSpot, builds the handler's dependencies, warms up, measures.
pub async fn measure(stack: &Stack, plan: Plan) -> Result<Outcome, String> {
    let admin = stack.sandbox.admin();
    // The sandbox's default HubSpot budget (100 per 10 s) would throttle 105 quick webhooks;
    // this benchmark is about the handler without faults.
    admin
        .set_rate_limit(Bucket::Hubspot, None)
        .await
        .map_err(|e| format!("lifting the sandbox's HubSpot limit: {e}"))?;
    let ids: Vec<u64> = (0..plan.contacts as u64).map(|i| 90_001 + i).collect();
    let seed: Vec<HubspotContactSeed> = ids.iter().map(|id| hubspot_contact(*id)).collect();
    admin
        .seed_hubspot_contacts(&seed)
        .await
        .map_err(|e| format!("seeding {} HubSpot contacts: {e}", ids.len()))?;

    let deps = deps(stack).await?;
    let public_url = stack.hubspot_public_url();
    let mut event_id = 7_000_000_000u64;
    let mut send = |n: usize| {
        let body = hubspot_creation_events(&ids, event_id);
        event_id += ids.len() as u64;
        let event = crate::events::hubspot_event(
            HUBSPOT_SOURCE,
            HUBSPOT_CLIENT_SECRET,
            &public_url,
            &format!("bench-latency-{n:05}"),
            &body,
        );
        lambda_http::request::from_str(&event.to_string())
            .map_err(|e| format!("lambda_http cannot read the bench's event: {e}"))
    };

    for n in 0..plan.warmup {
        let request = send(n)?;
        let (_, answer) = call(&deps, request).await?;
        check(&answer, plan.contacts).map_err(|e| format!("warm-up request {}: {e}", n + 1))?;
    }
    admin
        .reset_requests()
        .await
        .map_err(|e| format!("resetting the sandbox's request counts: {e}"))?;

    let mut latencies = Vec::with_capacity(plan.requests);
    let started = Instant::now();
    for n in 0..plan.requests {
        let request = send(plan.warmup + n)?;
        let (elapsed, answer) = call(&deps, request).await?;
        check(&answer, plan.contacts).map_err(|e| format!("request {}: {e}", n + 1))?;
        latencies.push(elapsed);
    }
    let wall = started.elapsed();

    let counts = admin
        .request_counts(None)
        .await
        .map_err(|e| format!("reading the sandbox's request counts: {e}"))?;
    let per = |n: u64| n as f64 / plan.requests as f64;
    let apis = [
        (Api::Hubspot, "HubSpot"),
        (Api::Braze, "Braze"),
        (Api::Userflow, "Userflow"),
    ];
    let mut by_api: Vec<(String, f64)> = apis
        .into_iter()
        .map(|(api, name)| {
            let n = counts
                .iter()
                .filter(|c| c.api == api)
                .map(|c| c.count)
                .sum();
            (name.to_owned(), per(n))
        })
        .collect();
    by_api.retain(|(_, n)| *n > 0.0);
    let track = counts
        .iter()
        .filter(|c| c.api == Api::Braze && c.route == "/users/track")
        .map(|c| c.count)
        .sum();
    Ok(Outcome {
        latency: Samples::millis(latencies),
        requests_per_webhook: by_api,
        braze_track_per_webhook: per(track),
        wall,
    })
}

/// A seeded HubSpot contact whose properties the HubSpot source's mapping reads.
fn hubspot_contact(id: u64) -> HubspotContactSeed {
    HubspotContactSeed::new(id.to_string())
        .property("email", format!("bench-{id}@example.com"))
        .property("firstname", "Bench")
        .property("lastname", format!("Contact {id}"))
}

/// crm-signup's dependencies built the way `main` builds them, from a fixed environment.
async fn deps(stack: &Stack) -> Result<Deps<S3Store, SqsQueue>, String> {
    let mut vars: HashMap<String, String> = stack.crm_signup_env().into_iter().collect();
    for (name, value, _) in OVERRIDES {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    let env = Env::from_map(vars.clone());
    let secrets = SecretResolver::from_env_map(vars);
    let config = Config::from_env(&env, &secrets)
        .await
        .map_err(|e| format!("crm-signup configuration: {e}"))?;
    let sdk = stack.moto.sdk_config().await;
    let store = S3Store::new(s3_client(&sdk), config.state_bucket.clone());
    let queue = SqsQueue::new(sqs_client(&sdk), config.sync_queue_url.clone());
    config
        .into_deps(http_client(HttpTimeouts::default()), store, queue)
        .map_err(|e| format!("crm-signup dependencies: {e}"))
}

/// Calls the handler; returns its latency, status and JSON body.
async fn call(
    deps: &Deps<S3Store, SqsQueue>,
    request: lambda_http::Request,
) -> Result<(Duration, (u16, Value)), String> {
    let started = Instant::now();
    let response = handler(deps, request)
        .await
        .map_err(|e| format!("the handler failed: {e}"))?;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let body: &[u8] = response.body().as_ref();
    let body = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    Ok((elapsed, (status, body)))
}

/// Every contact delivered: 200 with `accepted` = the batch size.
fn check((status, body): &(u16, Value), contacts: usize) -> Result<(), String> {
    let accepted = body.get("accepted").and_then(Value::as_u64);
    if *status == 200 && accepted == Some(contacts as u64) {
        Ok(())
    } else {
        Err(format!(
            "expected 200 with accepted = {contacts}, got {status}: {body}"
        ))
    }
}
