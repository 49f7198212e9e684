//! crm-signup: `POST /webhooks/{source}` (API Gateway HTTP API, payload v2) turns CRM signup
//! webhooks into Braze profiles and Userflow users, with nothing lost.
//!
//! Checks run in this order, each answering RFC 9457 problem+json on failure: body size
//! (413), source (404), signature (401), content type (415), body (400), per-contact mapping
//! and validation (rejected contacts are reported and never sent; all rejected: 422). Valid
//! contacts are deduplicated by external id and delivered under a per-request deadline;
//! whatever is unfinished then, or failed transiently, is parked on the sync queue. The
//! answer is 2xx only when every contact is delivered, parked or rejected; if parking fails
//! it is 503 so the CRM sends the webhook again.

pub mod config;
pub mod problem;

use std::collections::HashMap;
use std::time::{Duration, Instant as StdInstant, SystemTime};

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use relay_clients::hubspot::HubspotClient;
use relay_clients::upstream::FailureClass;
use relay_core::contact::Contact;
use relay_core::crm::payload::{ParseOptions, parse};
use relay_core::crm::signature::{Auth, check_salesforce_organization};
use relay_core::crm::{
    InboundRequest, Payload, PayloadError, Scheme, Source, SourceLookup, Sources,
};
use relay_core::delivery::{Deliverer, Delivery, Outcome, StepFailure};
use relay_core::jobs::{ContactJob, Job};
use relay_core::queue::JobQueue;
use relay_core::store::ObjectStore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::time::{Instant, timeout_at};

pub use config::Config;
pub use problem::Problem;

/// Largest accepted body by default: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default per-request deadline: HubSpot gives up after 5 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(4);
/// Key prefix of Salesforce notification markers (dedupe across redeliveries).
pub const SALESFORCE_MARKER_PREFIX: &str = "markers/salesforce/";

/// The SOAP acknowledgement Salesforce waits for; one covers every notification.
pub const SALESFORCE_ACK: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;

/// Request limits and timing.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bodies larger than this are refused (413).
    pub max_body_bytes: usize,
    /// Time from receipt after which unfinished contacts are parked.
    pub deadline: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            deadline: DEFAULT_DEADLINE,
        }
    }
}

/// Everything the handler uses, built once per cold start.
pub struct Deps<S, Q> {
    /// The configured webhook sources.
    pub sources: Sources,
    /// HubSpot clients by source name, for sources that read contacts named by events.
    pub hubspot: HashMap<String, HubspotClient>,
    /// Braze + Userflow delivery (its store holds the event and Salesforce markers).
    pub deliverer: Deliverer<S>,
    /// The sync queue contacts are parked on.
    pub queue: Q,
    /// Limits and timing.
    pub settings: Settings,
}

/// The success answer: what happened to every contact of the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Contacts delivered to Braze and Userflow.
    pub accepted: usize,
    /// Contacts parked on the sync queue (delivery continues there).
    pub parked: usize,
    /// Contacts refused, with why. Never sent (or refused by a vendor).
    pub rejected: Vec<RejectedContact>,
    /// Repeats of an external id within the request (the last one was used).
    pub duplicates: usize,
    /// Items deliberately ignored (other event types, redelivered notifications).
    pub ignored: usize,
    /// Contacts an event named that the CRM no longer has.
    pub not_found: usize,
}

/// One refused contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedContact {
    /// Position among the request's contacts (0-based).
    pub index: usize,
    /// Where in the payload it was (`/contacts/2`, `Notification[1]`).
    pub location: String,
    /// The external id, when one could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Every problem found.
    pub errors: Vec<FieldError>,
}

/// One problem with one contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// The contact field (`email`, `company.id`) or the vendor (`braze`, `userflow`).
    pub field: String,
    /// A stable rule name (`email`, `required`, `vendor_rejected`).
    pub rule: String,
    /// What is wrong, for people.
    pub message: String,
}

/// Handles one webhook. Always answers: errors are problem+json responses, not `Err`.
pub async fn handler<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let started = StdInstant::now();
    let deadline = Instant::now() + deps.settings.deadline;
    let source_name = source_name(&request);
    let request_id = request_id(&request);
    let result = process(deps, &request, &source_name, &request_id, deadline).await;
    let (response, log) = match result {
        Ok((response, report)) => (response, LogLine::from_report(&report)),
        Err(problem) => {
            let log = LogLine::from_problem(&problem);
            (problem.into_response(), log)
        }
    };
    tracing::info!(
        source = %log_safe_name(&source_name),
        request_id = %request_id,
        status = response.status().as_u16(),
        outcome = log.outcome,
        problem = log.problem.as_deref(),
        accepted = log.accepted,
        parked = log.parked,
        rejected = log.rejected,
        duplicates = log.duplicates,
        ignored = log.ignored,
        duration_ms = started.elapsed().as_millis() as u64,
        "webhook handled"
    );
    Ok(response)
}

async fn process<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    request: &Request,
    source_name: &str,
    request_id: &str,
    deadline: Instant,
) -> Result<(Response<Body>, Report), Problem> {
    if request.method() != http::Method::POST {
        return Err(Problem::new(
            405,
            "method-not-allowed",
            "Method not allowed",
            format!("{} is not accepted; webhooks are POSTed", request.method()),
        )
        .with_header("allow", "POST"));
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > deps.settings.max_body_bytes {
        return Err(Problem::new(
            413,
            "body-too-large",
            "Body too large",
            format!(
                "the body is {} bytes; at most {} are accepted",
                body.len(),
                deps.settings.max_body_bytes
            ),
        ));
    }
    let source = match deps.sources.get(source_name) {
        SourceLookup::Found(source) => source,
        SourceLookup::Disabled(reason) => {
            return Err(Problem::new(
                404,
                "source-not-enabled",
                "Source not enabled",
                reason,
            ));
        }
        SourceLookup::Unknown => {
            return Err(Problem::new(
                404,
                "unknown-source",
                "Unknown source",
                format!(
                    "no webhook source is named `{}`; configured: {}",
                    log_safe_name(source_name),
                    deps.sources.names().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    };
    let inbound = InboundRequest {
        method: request.method().as_str(),
        raw_query: request.uri().query().unwrap_or(""),
        headers: request.headers(),
        body,
        now: SystemTime::now(),
    };
    if let Err(error) = source.auth.verify(&inbound) {
        let mut problem =
            Problem::new(401, error.problem_type(), "Unauthorized", error.to_string());
        if source.scheme == Scheme::Pipedrive {
            problem = problem.with_header("www-authenticate", r#"Basic realm="relay""#);
        }
        return Err(problem);
    }
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let options = ParseOptions {
        pipedrive_actions: source.actions.clone(),
    };
    let payload = parse(source.scheme, content_type, body, &options).map_err(payload_problem)?;
    if let Auth::Salesforce {
        organization_id: expected,
        ..
    } = &source.auth
    {
        check_salesforce_organization(expected, payload.organization_id.as_deref()).map_err(
            |error| Problem::new(401, error.problem_type(), "Unauthorized", error.to_string()),
        )?;
    }
    let mut report = Report {
        ignored: payload.ignored,
        ..Report::default()
    };
    let records = records_of(deps, source, payload, deadline, &mut report).await?;
    let (records, markers) = skip_redelivered(deps, source, records, &mut report).await;

    // Map and validate every record; keep the last valid contact per external id.
    let mut valid: Vec<(usize, Contact)> = Vec::new();
    let mut position_of: HashMap<String, usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        match source.mapping.apply(&record.value) {
            Ok(contact) => match position_of.get(&contact.external_id) {
                Some(&at) => {
                    report.duplicates += 1;
                    valid[at] = (index, contact);
                }
                None => {
                    position_of.insert(contact.external_id.clone(), valid.len());
                    valid.push((index, contact));
                }
            },
            Err(errors) => report.rejected.push(RejectedContact {
                index,
                location: record.location.clone(),
                external_id: external_id_of(source, &record.value),
                errors: errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: e.path,
                        rule: rule_name(&e.rule),
                        message: e.message,
                    })
                    .collect(),
            }),
        }
    }
    // Salesforce cannot act on a 422 but would resend the message for 24 hours: a message
    // whose every contact is refused is still safely handled, so it gets its Ack.
    if valid.is_empty()
        && !report.rejected.is_empty()
        && source.scheme != Scheme::SalesforceOutbound
    {
        let count = report.rejected.len();
        return Err(Problem::new(
            422,
            "all-contacts-rejected",
            "Every contact was rejected",
            format!("all {count} contact(s) failed validation; see `rejected`"),
        )
        .with("rejected", &report.rejected));
    }

    let deliveries: Vec<Delivery> = valid
        .iter()
        .map(|(index, contact)| Delivery {
            contact: contact.clone(),
            signed_up_event: source.signed_up_event && records[*index].signup,
        })
        .collect();
    let outcomes = deps.deliverer.deliver(&deliveries, deadline).await;
    let mut to_park = Vec::new();
    for ((index, contact), outcome) in valid.into_iter().zip(outcomes) {
        outcome.log(request_id);
        match outcome {
            Outcome::Delivered => report.accepted += 1,
            Outcome::Retry(_) => to_park.push(contact),
            Outcome::Rejected(failures) => {
                report.rejected.push(RejectedContact {
                    index,
                    location: records[index].location.clone(),
                    external_id: Some(contact.external_id),
                    errors: failures.iter().map(vendor_error).collect(),
                });
            }
        }
    }
    report.rejected.sort_by_key(|r| r.index);
    park(deps, source, request_id, to_park, &mut report).await?;
    remember_notifications(deps, markers).await;
    Ok((success_response(source, &report), report))
}

/// Contacts carried in the body, plus those HubSpot events name (read from HubSpot).
async fn records_of<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    source: &Source,
    payload: Payload,
    deadline: Instant,
    report: &mut Report,
) -> Result<Vec<relay_core::crm::Record>, Problem> {
    let mut records = payload.records;
    if payload.fetch.is_empty() {
        return Ok(records);
    }
    let Some(client) = deps.hubspot.get(&source.name) else {
        return Err(Problem::new(
            500,
            "source-misconfigured",
            "Source misconfigured",
            format!(
                "source `{}` received events that name contacts, but no HubSpot API token is configured to read them",
                source.name
            ),
        ));
    };
    let properties = source.mapping.property_names();
    let read = timeout_at(deadline, client.read_contacts(&payload.fetch, &properties)).await;
    let unavailable = |detail: String| {
        Problem::new(503, "crm-unavailable", "CRM unavailable", detail)
            .with_header("retry-after", "30")
    };
    let read = match read {
        Err(_) => {
            return Err(unavailable(
                "HubSpot did not answer the contact read before the deadline; send the webhook again".into(),
            ));
        }
        Ok(Err(error)) => {
            tracing::warn!(api = "hubspot", class = ?error.class(), "contact read failed");
            return Err(match error.class() {
                FailureClass::Misconfigured => Problem::new(
                    500,
                    "source-misconfigured",
                    "Source misconfigured",
                    format!(
                        "HubSpot refused the token of source `{}`: {error}",
                        source.name
                    ),
                ),
                _ => unavailable(format!("reading contacts from HubSpot failed: {error}")),
            });
        }
        Ok(Ok(read)) => read,
    };
    report.not_found += read.missing.len();
    records.extend(read.found.iter().map(|contact| relay_core::crm::Record {
        value: contact.to_record(),
        location: format!("hubspot:{}", contact.id),
        dedupe_key: None,
        signup: !payload.fetch_updates.contains(&contact.id),
    }));
    Ok(records)
}

/// Drops Salesforce notifications handled before (their marker exists); returns the rest
/// and the markers to write once this request is safely handled.
async fn skip_redelivered<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    source: &Source,
    records: Vec<relay_core::crm::Record>,
    report: &mut Report,
) -> (Vec<relay_core::crm::Record>, Vec<String>) {
    if records.iter().all(|r| r.dedupe_key.is_none()) {
        return (records, Vec::new());
    }
    let store = deps.deliverer.store();
    let keys: Vec<Option<String>> = records
        .iter()
        .map(|r| {
            r.dedupe_key
                .as_deref()
                .map(|id| notification_marker_key(&source.name, id))
        })
        .collect();
    // A store error reads as "not seen": the contact is processed again, which is safe
    // (delivery is idempotent) where skipping it could lose it.
    let keys_ref = &keys;
    let seen: Vec<bool> = futures::stream::iter(0..keys.len())
        .map(|index| async move {
            match &keys_ref[index] {
                Some(key) => matches!(store.get(key).await, Ok(Some(_))),
                None => false,
            }
        })
        .buffered(16)
        .collect()
        .await;
    let mut kept = Vec::new();
    let mut markers = Vec::new();
    for ((record, key), seen) in records.into_iter().zip(keys).zip(seen) {
        if seen {
            report.ignored += 1;
        } else {
            markers.extend(key);
            kept.push(record);
        }
    }
    (kept, markers)
}

async fn remember_notifications<S: ObjectStore, Q: JobQueue>(deps: &Deps<S, Q>, keys: Vec<String>) {
    let store = deps.deliverer.store();
    let stamp = Bytes::from(format!(r#"{{"handled_at":"{}"}}"#, Utc::now().to_rfc3339()));
    let results: Vec<_> = futures::stream::iter(0..keys.len())
        .map(|index| store.put(&keys[index], stamp.clone(), "application/json"))
        .buffered(16)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        // Only dedupe is lost: a redelivery is processed again, idempotently.
        tracing::warn!(failed, "Salesforce notification markers not written");
    }
}

/// Parks unfinished contacts as `contact` jobs; a failure to park is a 503.
async fn park<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    source: &Source,
    request_id: &str,
    contacts: Vec<Contact>,
    report: &mut Report,
) -> Result<(), Problem> {
    if contacts.is_empty() {
        return Ok(());
    }
    let received_at = Utc::now();
    let bodies: Vec<String> = contacts
        .into_iter()
        .map(|contact| {
            Job::Contact(ContactJob {
                source: source.name.clone(),
                request_id: request_id.to_owned(),
                received_at,
                signed_up_event: source.signed_up_event,
                contact,
            })
            .encode()
        })
        .collect();
    let sent = deps.queue.send(&bodies).await;
    if !sent.all_sent() {
        let (_, first) = &sent.failed[0];
        tracing::error!(
            failed = sent.failed.len(),
            class = ?first.class,
            "parking on the sync queue failed; answering 503 so the CRM retries"
        );
        return Err(Problem::new(
            503,
            "parking-failed",
            "Could not park contacts",
            format!(
                "{} contact(s) could not be delivered in time nor parked on the sync queue; send the webhook again",
                sent.failed.len()
            ),
        )
        .with_header("retry-after", "30"));
    }
    report.parked = bodies.len();
    Ok(())
}

fn success_response(source: &Source, report: &Report) -> Response<Body> {
    if source.scheme == Scheme::SalesforceOutbound {
        return Response::builder()
            .status(200)
            .header("content-type", "text/xml; charset=utf-8")
            .body(Body::from(SALESFORCE_ACK))
            .expect("a static response is valid");
    }
    let status = if report.parked > 0 { 202 } else { 200 };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::to_string(report).expect("reports serialise"),
        ))
        .expect("a JSON response is valid")
}

fn payload_problem(error: PayloadError) -> Problem {
    match &error {
        PayloadError::UnsupportedMediaType { expected, .. } => Problem::new(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            error.to_string(),
        )
        .with("accepted", expected),
        PayloadError::Malformed { location, .. } => {
            Problem::new(400, "malformed-body", "Malformed body", error.to_string())
                .with("location", location)
        }
    }
}

fn vendor_error(failure: &StepFailure) -> FieldError {
    FieldError {
        field: serde_json::to_value(failure.step)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        rule: "vendor_rejected".into(),
        message: failure.detail.clone(),
    }
}

fn rule_name(rule: &relay_clients::braze::Rule) -> String {
    serde_json::to_value(rule)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The external id a rejected record carries, when it is a string or a number.
fn external_id_of(source: &Source, record: &serde_json::Value) -> Option<String> {
    match record.pointer(source.mapping.external_id.as_str())? {
        serde_json::Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The marker key of a Salesforce notification: source plus the hashed notification id.
pub fn notification_marker_key(source: &str, notification_id: &str) -> String {
    format!(
        "{SALESFORCE_MARKER_PREFIX}{source}/{}",
        hex::encode(Sha256::digest(notification_id.as_bytes()))
    )
}

/// `{source}` from the route, or from the path when the route parameter is absent.
fn source_name(request: &Request) -> String {
    if let Some(name) = request
        .path_parameters_ref()
        .and_then(|p| p.first("source"))
    {
        return name.to_owned();
    }
    let path = request.uri().path();
    path.rsplit_once("/webhooks/")
        .map(|(_, rest)| rest.trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

fn request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Source names are caller-controlled: only `[a-z0-9-]` (at most 64) reach logs and errors.
fn log_safe_name(name: &str) -> String {
    let safe = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if safe {
        name.to_owned()
    } else {
        "<invalid name>".to_owned()
    }
}

struct LogLine {
    outcome: &'static str,
    problem: Option<String>,
    accepted: usize,
    parked: usize,
    rejected: usize,
    duplicates: usize,
    ignored: usize,
}

impl LogLine {
    fn from_report(report: &Report) -> LogLine {
        LogLine {
            outcome: if report.parked > 0 {
                "parked"
            } else if report.rejected.is_empty() {
                "delivered"
            } else {
                "partly_rejected"
            },
            problem: None,
            accepted: report.accepted,
            parked: report.parked,
            rejected: report.rejected.len(),
            duplicates: report.duplicates,
            ignored: report.ignored + report.not_found,
        }
    }

    fn from_problem(problem: &Problem) -> LogLine {
        let rejected = problem
            .extensions
            .get("rejected")
            .and_then(|r| r.as_array())
            .map_or(0, Vec::len);
        LogLine {
            outcome: "error",
            problem: Some(problem.slug().to_owned()),
            accepted: 0,
            parked: 0,
            rejected,
            duplicates: 0,
            ignored: 0,
        }
    }
}
