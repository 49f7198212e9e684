//! The CRM side of a cell: Standard Webhooks requests signed as a sender signs them, spread
//! over the fault window, each retried as senders retry (a 5xx, a 429 or no answer: the same
//! message id, a new signature) until it is acknowledged or the retries run out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use relay_core::crm::outbound::{OutboundBody, Stamp, build_request, with_query};
use relay_core::crm::sources::{Source, SourceLookup};
use serde_json::{Value, json};
use tokio::sync::RwLock;

use crate::CliError;

/// The source the cells send as.
const SOURCE: &str = "standard-webhooks";
/// Attempts per request before the CRM gives up.
const ATTEMPTS: u32 = 12;
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// How long one attempt may take (API Gateway answers within 30 s).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(35);

/// What the CRM saw.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// Contacts of requests never acknowledged.
    pub not_acknowledged: BTreeSet<String>,
    /// Contacts the acknowledgements listed as rejected, with their rules.
    pub rejected: BTreeMap<String, String>,
    /// Requests, and attempts made.
    pub requests: usize,
    /// Attempts answered other than 2xx or not answered.
    pub retries: usize,
}

/// Sends every batch within `window`, `senders` at a time, to the gateway `gateway` reads
/// (it changes when `relay local` restarts).
pub async fn send_all(
    source: &Source,
    gateway: Arc<RwLock<String>>,
    batches: Vec<Vec<Value>>,
    senders: usize,
    window: Duration,
) -> Result<Sent, CliError> {
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(|error| CliError::failed(format!("cannot build the HTTP client: {error}")))?;
    let spacing = window / (batches.len().max(1) as u32);
    let started = tokio::time::Instant::now();
    let outcomes = futures::StreamExt::collect::<Vec<_>>(futures::StreamExt::buffer_unordered(
        futures::stream::iter(batches.into_iter().enumerate().map(|(n, batch)| {
            let client = client.clone();
            let gateway = Arc::clone(&gateway);
            async move {
                tokio::time::sleep_until(started + spacing * n as u32).await;
                deliver(source, &client, &gateway, n, batch).await
            }
        })),
        senders,
    ))
    .await;
    let mut sent = Sent::default();
    for outcome in outcomes {
        let outcome = outcome?;
        sent.requests += 1;
        sent.retries += outcome.retries;
        match outcome.answer {
            Some(answer) => {
                for rejected in answer["rejected"].as_array().into_iter().flatten() {
                    if let Some(id) = rejected["external_id"].as_str() {
                        let rules: Vec<&str> = rejected["errors"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e["rule"].as_str())
                            .collect();
                        sent.rejected.insert(id.to_owned(), rules.join(","));
                    }
                }
            }
            None => sent.not_acknowledged.extend(outcome.ids),
        }
    }
    Ok(sent)
}

/// The standard-webhooks source from the stack's settings.
pub async fn source(settings: &crate::Settings) -> Result<Source, CliError> {
    let sources = crate::commands::sources::load_sources(settings).await?;
    match sources.get(SOURCE) {
        SourceLookup::Found(source) => Ok(source.clone()),
        SourceLookup::Disabled(reason) => Err(CliError::failed(reason.to_owned())),
        SourceLookup::Unknown => Err(CliError::failed(format!("no source {SOURCE}"))),
    }
}

struct Outcome {
    ids: Vec<String>,
    /// The 2xx answer's JSON, or `None` when the CRM gave up.
    answer: Option<Value>,
    retries: usize,
}

async fn deliver(
    source: &Source,
    client: &reqwest::Client,
    gateway: &RwLock<String>,
    n: usize,
    batch: Vec<Value>,
) -> Result<Outcome, CliError> {
    let ids = batch
        .iter()
        .filter_map(|c| c["external_id"].as_str().map(str::to_owned))
        .collect();
    let body = json!({ "contacts": batch }).to_string().into_bytes();
    let id = format!("msg_chaos_{n}_{}", uuid::Uuid::new_v4().simple());
    let mut backoff = Duration::from_millis(250);
    for attempt in 0..ATTEMPTS {
        let stamp = Stamp {
            now: SystemTime::now(),
            id: id.clone(),
        };
        let request = build_request(source, OutboundBody::Raw(body.clone()), &stamp)
            .map_err(|error| CliError::failed(format!("cannot sign a webhook: {error}")))?;
        let url = with_query(
            &format!("{}{}", gateway.read().await, request.path),
            &request.query,
        );
        let answer = client
            .post(url)
            .headers(request.headers)
            .body(request.body)
            .send()
            .await;
        match answer {
            Ok(response) if response.status().is_success() => {
                let answer = response.json::<Value>().await.unwrap_or(Value::Null);
                return Ok(Outcome {
                    ids,
                    answer: Some(answer),
                    retries: attempt as usize,
                });
            }
            // A refusal is final: a sender retries only 5xx, 429 and no answer.
            Ok(response)
                if response.status().is_client_error()
                    && response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS =>
            {
                return Ok(Outcome {
                    ids,
                    answer: None,
                    retries: attempt as usize,
                });
            }
            _ => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    Ok(Outcome {
        ids,
        answer: None,
        retries: ATTEMPTS as usize,
    })
}
