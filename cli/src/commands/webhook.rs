//! `relay webhook send`: builds the request a source's CRM would send (relay-core's
//! [`build_request`], with the source's own secrets), POSTs it and shows the relay's answer.
//!
//! - The body is a file sent and signed as it is (`--file F`), or one contact from
//!   `--contact field=value` pairs (repeatable; field names are the canonical contact fields:
//!   `external_id`, `email`, `first_name`, `last_name`, `phone`, `country`, `language`,
//!   `time_zone`, `dob`, `company_id`, `company_name`, `company_plan`, `signed_up_at`, and
//!   `custom.<name>`), placed where the source's mapping reads them, in its CRM's shape.
//! - The request goes to `--url`, by default `$RELAY_PUBLIC_URL/webhooks/<source>`; the
//!   source's own query (Salesforce's URL token) is appended. HubSpot signs the URL it calls,
//!   and the relay checks the signature against the URL it is configured with, so a HubSpot
//!   request is always signed for the configured public URL, even when posted elsewhere (to
//!   a local port): that is what the relay behind it verifies.
//! - Exit 0 on a 2xx answer, 1 on any other answer or when the request cannot be sent, 2 for
//!   an unknown or disabled source (naming it, and what to set) or bad arguments.

use std::path::PathBuf;
use std::time::SystemTime;

use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::crm::outbound::{
    ContactFields, OutboundBody, OutboundRequest, Stamp, build_request, webhook_url, with_query,
};
use relay_core::crm::sources::RELAY_PUBLIC_URL;
use relay_core::crm::{SourceLookup, Sources};
use relay_core::env::ConfigError;
use serde::Serialize;
use serde_json::Value;

use super::sources::load_sources;
use crate::output::Exit;
use crate::{CliError, Context, Outcome};

/// The subcommands of `relay webhook`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Build, sign and POST a webhook exactly as the source's CRM does; show the answer.
    Send(SendArgs),
}

/// Arguments of `relay webhook send`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("body").required(true).args(["file", "contact"])
))]
pub struct SendArgs {
    /// The source to send as (see `relay sources`).
    #[arg(long, value_name = "NAME")]
    pub source: String,
    /// Send this file's bytes as the body, signed as they are.
    #[arg(long, value_name = "FILE", conflicts_with = "contact")]
    pub file: Option<PathBuf>,
    /// One contact field as FIELD=VALUE (repeatable; all pairs make one contact).
    #[arg(long, value_name = "FIELD=VALUE")]
    pub contact: Vec<String>,
    /// Where to POST (default: $RELAY_PUBLIC_URL/webhooks/<source>); without a query.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// The `--json` document: the status, the URL posted to (secrets shown as `***`) and the
/// answer (JSON when it is JSON, otherwise its text).
#[derive(Debug, Serialize)]
pub struct Sent {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The URL posted to, the URL token redacted.
    pub url: String,
    /// The answer's body.
    pub response: Value,
}

/// Runs one `relay webhook` subcommand.
pub async fn run(command: Command, context: &Context) -> Result<Outcome, CliError> {
    match command {
        Command::Send(args) => send(args, context).await,
    }
}

async fn send(args: SendArgs, context: &Context) -> Result<Outcome, CliError> {
    let body = body(&args)?;
    let sources = load_sources(&context.settings).await?;
    let source = match sources.get(&args.source) {
        SourceLookup::Found(source) => source,
        SourceLookup::Disabled(reason) => return Err(CliError::usage(reason)),
        SourceLookup::Unknown => return Err(unknown_source(&args.source, &sources)),
    };
    let target = match &args.url {
        Some(url) => url.clone(),
        None => webhook_url(
            context.settings.get(RELAY_PUBLIC_URL).ok_or_else(|| {
                ConfigError::new(RELAY_PUBLIC_URL, "is not set: set it or give --url")
            })?,
            &source.name,
        ),
    };
    let target = reqwest::Url::parse(&target)
        .map_err(|error| CliError::usage(format!("--url {target}: {error}")))?;
    if !matches!(target.scheme(), "http" | "https") {
        return Err(CliError::usage(format!(
            "--url {target}: only http and https URLs can be posted to"
        )));
    }
    if target.query().is_some() {
        return Err(CliError::usage(format!(
            "--url {target}: give it without a query (the source's own query is added)"
        )));
    }
    let stamp = Stamp {
        now: SystemTime::now(),
        id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
    };
    let request =
        build_request(source, body, &stamp).map_err(|error| CliError::usage(error.to_string()))?;
    post(&target, request).await
}

/// The body from `--file` or `--contact`.
fn body(args: &SendArgs) -> Result<OutboundBody, CliError> {
    match &args.file {
        Some(path) => std::fs::read(path)
            .map(OutboundBody::Raw)
            .map_err(|error| CliError::usage(format!("--file {}: {error}", path.display()))),
        None => ContactFields::from_pairs(&args.contact)
            .map(OutboundBody::Contact)
            .map_err(|error| CliError::usage(format!("--contact: {error}"))),
    }
}

fn unknown_source(name: &str, sources: &Sources) -> CliError {
    let names: Vec<&str> = sources.names().collect();
    CliError::usage(format!(
        "unknown source {name}: the configured sources are {}",
        names.join(", ")
    ))
}

/// POSTs `request` to `target` (plus the request's query) and turns the answer into the
/// outcome: done on 2xx, failed otherwise.
async fn post(target: &reqwest::Url, request: OutboundRequest) -> Result<Outcome, CliError> {
    let base = target.as_str();
    let shown = with_query(base, &request.redacted_query());
    let url = with_query(base, &request.query);
    let answer = http_client(HttpTimeouts::default())
        .post(url)
        .headers(request.headers)
        .body(request.body)
        .send()
        .await
        .map_err(|error| CliError::failed(format!("POST {shown}: {}", causes(error))))?;
    let status = answer.status();
    let content_type = answer
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let text = answer.text().await.map_err(|error| {
        CliError::failed(format!(
            "POST {shown}: reading the answer: {}",
            causes(error)
        ))
    })?;
    let response = if content_type.contains("json") {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    let exit = if status.is_success() {
        Exit::Done
    } else {
        Exit::Failed
    };
    let mut out = format!("POST {shown}\n{status}");
    let described = describe(&response);
    if !described.is_empty() {
        out.push('\n');
        out.push_str(&described);
    }
    let document = Sent {
        status: status.as_u16(),
        url: shown,
        response,
    };
    Ok(Outcome::new(exit, &document, out))
}

/// A transport error with its causes (`error sending request: ...: Connection refused`),
/// without the URL, which may hold the URL token.
fn causes(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// The answer for a reader: a problem as `title: detail` plus its other members, a JSON
/// report indented, anything else as it came.
fn describe(response: &Value) -> String {
    match response {
        Value::Object(members) if members.contains_key("type") && members.contains_key("title") => {
            let title = members["title"].as_str().unwrap_or_default();
            let detail = members
                .get("detail")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut out = format!("{title}: {detail}");
            let rest: serde_json::Map<String, Value> = members
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "type" | "title" | "status" | "detail"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            if let Some(kind) = members["type"].as_str() {
                out.push_str(&format!("\n(type {kind})"));
            }
            if !rest.is_empty() {
                out.push('\n');
                out.push_str(&pretty(&Value::Object(rest)));
            }
            out
        }
        Value::String(text) => text.trim().to_owned(),
        other => pretty(other),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
