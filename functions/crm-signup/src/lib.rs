//! crm-signup: `POST /webhooks/{source}` (API Gateway HTTP API, payload v2) turns CRM signup
//! webhooks into Braze profiles and Userflow users, with nothing lost.
//!
//! Checks run in this order, each answering RFC 9457 problem+json on failure: the API
//! Gateway event itself (400 `malformed-request`: Host, `X-Forwarded-Proto`, base64 body; in
//! `relay_lambda::http_edge`, before this handler), body size (413), source (404, the same
//! for an unknown name and a source not enabled), signature (401; a HubSpot v1/v2 request
//! already handled is answered 200 with nothing done, see `relay_core::crm::replay`),
//! content type (415), body (400), number of contacts (413),
//! per-contact mapping and validation (rejected contacts are reported and never sent;
//! all rejected: 422). Valid contacts are deduplicated by external id and delivered until
//! the delivery deadline (the answer deadline less the parking time); whatever is
//! unfinished then, or failed transiently, is parked on the sync queue, several contacts to
//! a message, before the answer deadline. The answer is 2xx only when every contact is
//! delivered, parked or rejected; if parking fails or runs out of time it is 503 so the CRM
//! sends the webhook again. One log line per request says what happened, with counts, and
//! one metrics document ([`Deps::metrics`]) reports the same counts: `Delivered`, `Parked`,
//! `Rejected` (contacts) and `UpstreamThrottles` (Braze and Userflow 429s).

pub mod config;
mod log_line;
pub mod problem;
pub mod report;

use std::collections::HashMap;
use std::time::{Duration, Instant as StdInstant, SystemTime};

use chrono::Utc;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use relay_clients::hubspot::HubspotClient;
use relay_core::crm::fetch::records_with_named_contacts;
use relay_core::crm::payload::parse;
use relay_core::crm::replay::check_replay;
use relay_core::crm::salesforce::{remember_notifications, skip_redelivered};
use relay_core::crm::{
    FieldError, InboundRequest, RejectedContact, Source, SourceLookup, Sources, intake,
};
use relay_core::delivery::{Deliverer, FailureTally, Outcome};
use relay_core::jobs::ParkedContact;
use relay_core::parking::{ParkError, Parked, ParkedFrom, park};
use relay_core::queue::JobQueue;
use relay_core::store::ObjectStore;
use relay_lambda::metrics::MetricsSink;
use tokio::time::Instant;

pub use config::{Config, StartupError};
pub use problem::Problem;
pub use report::Report;

use log_line::LogLine;

/// Largest accepted body by default: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default answer deadline: HubSpot gives up after 5 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(4);
/// Default time kept at the end of the deadline to park what is unfinished.
pub const DEFAULT_PARKING_TIME: Duration = Duration::from_secs(1);
/// Default most contacts one request may carry. The CRMs send at most 100 per request
/// (HubSpot events, Salesforce notifications); 1,000 leaves room for batching senders and
/// still parks in a few messages.
pub const DEFAULT_MAX_CONTACTS: usize = 1000;

/// Request limits and timing.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bodies larger than this are refused (413).
    pub max_body_bytes: usize,
    /// Requests carrying more records than this are refused (413) before anything is sent.
    pub max_contacts: usize,
    /// Time from receipt by which the answer is given.
    pub deadline: Duration,
    /// The end of the deadline kept for parking: delivery stops this long before it.
    pub parking_time: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_contacts: DEFAULT_MAX_CONTACTS,
            deadline: DEFAULT_DEADLINE,
            parking_time: DEFAULT_PARKING_TIME,
        }
    }
}

/// The two instants a request works to.
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    /// Reading contacts and delivering them stops here; the rest is parked.
    deliver_by: Instant,
    /// Parking stops here, so the answer is not later.
    answer_by: Instant,
}

impl Deadlines {
    fn from_now(settings: &Settings) -> Deadlines {
        let answer_by = Instant::now() + settings.deadline;
        Deadlines {
            deliver_by: answer_by - settings.parking_time.min(settings.deadline),
            answer_by,
        }
    }
}

/// What a handled request gives: its answer, and what its log line counts.
struct Handled {
    response: Response<Body>,
    report: Report,
    parked_messages: usize,
    failures: FailureTally,
}

/// What a failed request gives: its problem answer, and what was done before the failure
/// (contacts already delivered, parked or rejected are still counted by the log line and the
/// metrics).
struct Failed {
    problem: Problem,
    report: Report,
    failures: FailureTally,
}

impl From<Problem> for Failed {
    /// A failure before any contact was sent: nothing to count but the problem.
    fn from(problem: Problem) -> Failed {
        Failed {
            problem,
            report: Report::default(),
            failures: FailureTally::default(),
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
    /// Where each request's metrics go: EMF on stdout on Lambda (`main.rs`); discarded unless
    /// set ([`Deps::with_metrics`]).
    pub metrics: MetricsSink,
}

impl<S, Q> Deps<S, Q> {
    /// The same dependencies, reporting each request's metrics to `metrics`.
    pub fn with_metrics(self, metrics: MetricsSink) -> Deps<S, Q> {
        Deps { metrics, ..self }
    }
}

/// Handles one webhook. Always answers: errors are problem+json responses, not `Err`.
pub async fn handler<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let started = StdInstant::now();
    let throttles = deps.deliverer.watch_throttles();
    let deadlines = Deadlines::from_now(&deps.settings);
    let source_name = source_name(&request);
    let request_id = request_id(&request);
    let result = process(deps, &request, &source_name, &request_id, deadlines).await;
    let (response, log) = match result {
        Ok(handled) => {
            let log = LogLine::from_report(&handled.report, handled.parked_messages);
            (handled.response, log.with_failures(&handled.failures))
        }
        Err(failed) => {
            let log = LogLine::from_problem(&failed.problem, &failed.report);
            (
                failed.problem.into_response(),
                log.with_failures(&failed.failures),
            )
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
        parked_messages = log.parked_messages,
        rejected = log.rejected,
        duplicates = log.duplicates,
        ignored = log.ignored,
        failures = log.failures.as_deref(),
        duration_ms = started.elapsed().as_millis() as u64,
        "webhook handled"
    );
    deps.metrics.emit(&log.metrics(throttles.seen()));
    Ok(response)
}

async fn process<S: ObjectStore, Q: JobQueue>(
    deps: &Deps<S, Q>,
    request: &Request,
    source_name: &str,
    request_id: &str,
    deadlines: Deadlines,
) -> Result<Handled, Failed> {
    if request.method() != http::Method::POST {
        return Err(Problem::new(
            405,
            "method-not-allowed",
            "Method not allowed",
            format!("{} is not accepted; webhooks are POSTed", request.method()),
        )
        .with_header("allow", "POST")
        .into());
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
        )
        .into());
    }
    let source = find_source(&deps.sources, source_name)?;
    let inbound = InboundRequest {
        method: request.method().as_str(),
        raw_query: request.uri().query().unwrap_or(""),
        headers: request.headers(),
        body,
        now: SystemTime::now(),
    };
    let unauthorized = |error| problem::unauthorized(&error, source.settings.challenge());
    let verified = source.settings.verify(&inbound).map_err(unauthorized)?;
    let replay = check_replay(deps.deliverer.store(), &source.name, &verified).await;
    if replay.is_replay() {
        // Already handled (an untimed HubSpot v1/v2 signature seen before): nothing to do.
        let report = Report {
            ignored: 1,
            ..Report::default()
        };
        return Ok(Handled {
            response: success_response(source, &report),
            report,
            parked_messages: 0,
            failures: FailureTally::default(),
        });
    }
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let options = source.settings.parse_options();
    let payload = parse(source.scheme(), content_type, body, &options).map_err(problem::payload)?;
    check_contact_count(payload.records.len(), deps.settings.max_contacts)?;
    source
        .settings
        .check_organization(payload.organization_id.as_deref())
        .map_err(unauthorized)?;
    let mut report = Report {
        ignored: payload.ignored,
        ..Report::default()
    };
    let client = deps.hubspot.get(&source.name);
    let fetched = records_with_named_contacts(source, client, payload, deadlines.deliver_by)
        .await
        .map_err(problem::fetch)?;
    report.not_found = fetched.not_found;
    let store = deps.deliverer.store();
    let new = skip_redelivered(store, &source.name, fetched.records).await;
    report.ignored += new.redelivered;

    let mut intake = intake(source, &new.records);
    report.duplicates = intake.duplicates;
    report.rejected = std::mem::take(&mut intake.rejected);
    // A sender that waits for an acknowledgement (Salesforce) cannot act on a 422 but would
    // resend the message for 24 hours: a message whose every contact is refused is still
    // safely handled, so it gets its acknowledgement.
    let acknowledged = source.settings.acknowledgement().is_some();
    if intake.contacts.is_empty() && !report.rejected.is_empty() && !acknowledged {
        let count = report.rejected.len();
        let problem = Problem::new(
            422,
            "all-contacts-rejected",
            "Every contact was rejected",
            format!("all {count} contact(s) failed validation; see `rejected`"),
        )
        .with("rejected", &report.rejected);
        return Err(Failed {
            problem,
            report,
            failures: FailureTally::default(),
        });
    }

    let outcomes = deps
        .deliverer
        .deliver(&intake.deliveries(), deadlines.deliver_by)
        .await;
    let failures = FailureTally::of(&outcomes);
    let mut to_park = Vec::new();
    for (taken, outcome) in intake.contacts.into_iter().zip(outcomes) {
        match outcome {
            Outcome::Delivered => report.accepted += 1,
            Outcome::Retry(_) => to_park.push(ParkedContact {
                is_signup: taken.track_signup,
                contact: taken.contact,
            }),
            Outcome::Rejected(failures) => report.rejected.push(RejectedContact {
                index: taken.index,
                location: taken.location,
                external_id: Some(taken.contact.external_id),
                errors: failures.iter().map(FieldError::from).collect(),
            }),
        }
    }
    report.rejected.sort_by_key(|r| r.index);
    let from = ParkedFrom {
        source: &source.name,
        request_id,
        received_at: Utc::now(),
    };
    let parking = to_park.len();
    let parked: Parked = match park(&deps.queue, from, to_park, deadlines.answer_by).await {
        Ok(parked) => parked,
        Err(error) => {
            // 503 so the CRM sends the webhook again; what was delivered, rejected and
            // parked before is still counted.
            report.parked = parked_before(&error, parking);
            return Err(Failed {
                problem: problem::park(error),
                report,
                failures,
            });
        }
    };
    report.parked = parked.contacts;
    remember_notifications(store, &new.markers).await;
    replay.remember(store).await;
    Ok(Handled {
        response: success_response(source, &report),
        report,
        parked_messages: parked.messages,
        failures,
    })
}

/// Contacts parked of `parking` when parking them failed with `error`: those in the messages
/// the queue took. A timed-out send may have parked some, but which is unknown, so none are
/// counted; a contact too large for a message stops the packing before anything is sent.
fn parked_before(error: &ParkError, parking: usize) -> usize {
    match error {
        ParkError::NotSent { contacts, .. } => parking.saturating_sub(*contacts),
        _ => 0,
    }
}

/// Refuses a request with more records than one request may carry, before anything is sent.
fn check_contact_count(records: usize, max_contacts: usize) -> Result<(), Problem> {
    if records <= max_contacts {
        return Ok(());
    }
    Err(Problem::new(
        413,
        "too-many-contacts",
        "Too many contacts",
        format!(
            "the request carries {records} records; at most {max_contacts} are accepted per request (WEBHOOK_MAX_CONTACTS): split it"
        ),
    ))
}

/// The enabled source named `name`, or the 404 an anonymous caller gets. A source that is
/// configured but not enabled answers exactly as an unknown name does: the caller learns
/// nothing of the configuration (the cold start logs why each source is not enabled, and
/// operators list them with `relay sources`).
fn find_source<'s>(sources: &'s Sources, name: &str) -> Result<&'s Source, Problem> {
    match sources.get(name) {
        SourceLookup::Found(source) => Ok(source),
        SourceLookup::Disabled(_) | SourceLookup::Unknown => Err(Problem::new(
            404,
            "unknown-source",
            "Unknown source",
            format!("no webhook source is named `{}`", log_safe_name(name)),
        )),
    }
}

fn success_response(source: &Source, report: &Report) -> Response<Body> {
    if let Some(ack) = source.settings.acknowledgement() {
        return Response::builder()
            .status(200)
            .header("content-type", ack.content_type)
            .body(Body::from(ack.body))
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
