//! `relay erase --external-id X --email E --braze-id B --file ids.txt`: one erasure request per
//! subject onto the erasure queue.
//!
//! Every subject is checked before anything is sent (a bad one exits 2 naming where it is:
//! the argument or the file's line), so a typo never leaves half a list queued. Requests are
//! sent in `SendMessageBatch` calls of up to 10; the ones SQS refused are listed and the exit
//! code is 3. The output pairs each request id with where its subject was given, never with
//! the subject itself (it may be an email).

use std::path::{Path, PathBuf};

use chrono::Utc;
use relay_core::erasure::{ErasureRequest, RequestId, Subject, SubjectKind};
use relay_core::queue::{JobQueue, SqsQueue};
use serde::Serialize;

use crate::output::{Exit, progress};
use crate::{CliError, Context, Outcome, aws};

/// The erasure queue's URL (the deletion-worker's event source).
pub const ERASURE_QUEUE_URL: &str = "ERASURE_QUEUE_URL";

/// Requests per send (a progress step): ten `SendMessageBatch` calls.
const SEND_CHUNK: usize = 100;

/// Which identifier `--file` lines hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileKind {
    /// External ids.
    #[value(name = "external_id")]
    ExternalId,
    /// Email addresses.
    Email,
    /// Braze ids.
    #[value(name = "braze_id")]
    BrazeId,
}

/// The subjects to erase.
#[derive(Debug, clap::Args)]
pub struct SubjectArgs {
    /// An external id to erase; repeatable.
    #[arg(long = "external-id", value_name = "ID")]
    external_ids: Vec<String>,
    /// An email address to erase (every Braze profile and Userflow user holding it); repeatable.
    #[arg(long = "email", value_name = "ADDRESS")]
    emails: Vec<String>,
    /// A Braze id to erase; repeatable.
    #[arg(long = "braze-id", value_name = "ID")]
    braze_ids: Vec<String>,
    /// A file of subjects, one per line (blank lines and lines starting with `#` skipped).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// What the file's lines are.
    #[arg(long, value_enum, default_value = "external_id", requires = "file")]
    file_kind: FileKind,
    /// Who asked, kept in every receipt (a ticket reference, say).
    #[arg(long, default_value = "relay erase")]
    origin: String,
}

/// Where a subject was given.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
struct Given {
    /// `--external-id`, `--email`, `--braze-id` or the file's path.
    source: String,
    /// Its position: the argument's (1-based) or the file's line.
    at: usize,
}

impl std::fmt::Display for Given {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.source.starts_with("--") {
            write!(f, "{} #{}", self.source, self.at)
        } else {
            write!(f, "{} line {}", self.source, self.at)
        }
    }
}

/// One request of the output.
#[derive(Debug, Serialize)]
struct Enqueued {
    request_id: RequestId,
    kind: SubjectKind,
    given: Given,
    sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Report {
    enqueued: usize,
    failed: usize,
    requests: Vec<Enqueued>,
}

/// Runs `relay erase` with subjects.
pub async fn run(args: SubjectArgs, context: &Context) -> Result<Outcome, CliError> {
    let subjects = subjects(&args)?;
    if subjects.is_empty() {
        return Err(CliError::usage(
            "give what to erase: --external-id, --email, --braze-id or --file \
             (or `relay erase status|verify ID`)",
        ));
    }
    let origin = args.origin.trim().to_owned();
    let requested_at = Utc::now();
    let requests: Vec<(Given, ErasureRequest)> = subjects
        .into_iter()
        .map(|(given, subject)| {
            let request = ErasureRequest {
                request_id: RequestId::random(),
                subject,
                requested_at,
                origin: origin.clone(),
            };
            request
                .check()
                .map(|()| (given.clone(), request))
                .map_err(|error| CliError::usage(format!("{given}: {error}")))
        })
        .collect::<Result<_, _>>()?;

    let queue_url = context.settings.required(ERASURE_QUEUE_URL)?.to_owned();
    let sdk = aws::sdk_config(&context.settings).await;
    let queue = SqsQueue::new(relay_core::aws::sqs_client(&sdk), queue_url);
    let bar = progress(requests.len() as u64, "enqueueing", context.json);
    let mut report = Report {
        enqueued: 0,
        failed: 0,
        requests: Vec::with_capacity(requests.len()),
    };
    for chunk in requests.chunks(SEND_CHUNK) {
        let bodies: Vec<String> = chunk.iter().map(|(_, request)| request.encode()).collect();
        let sent = queue.send(&bodies).await;
        let mut errors: Vec<Option<String>> = vec![None; chunk.len()];
        for (index, error) in sent.failed {
            errors[index] = Some(error.to_string());
        }
        for ((given, request), error) in chunk.iter().zip(errors) {
            report.requests.push(Enqueued {
                request_id: request.request_id.clone(),
                kind: request.subject.kind(),
                given: given.clone(),
                sent: error.is_none(),
                error,
            });
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    report.failed = report.requests.iter().filter(|r| !r.sent).count();
    report.enqueued = report.requests.len() - report.failed;
    let exit = match (report.enqueued, report.failed) {
        (_, 0) => Exit::Done,
        (0, _) => Exit::Failed,
        _ => Exit::Partial,
    };
    let text = text(&report);
    Ok(Outcome::new(exit, &report, text))
}

/// Every subject of the arguments, in order, each with where it was given.
fn subjects(args: &SubjectArgs) -> Result<Vec<(Given, Subject)>, CliError> {
    let mut subjects = Vec::new();
    let mut listed = |source: &str, values: &[String], make: fn(String) -> Subject| {
        for (at, value) in values.iter().enumerate() {
            let given = Given {
                source: source.to_owned(),
                at: at + 1,
            };
            subjects.push((given, make(value.trim().to_owned())));
        }
    };
    listed("--external-id", &args.external_ids, Subject::ExternalId);
    listed("--email", &args.emails, Subject::Email);
    listed("--braze-id", &args.braze_ids, Subject::BrazeId);
    if let Some(path) = &args.file {
        subjects.extend(file_subjects(path, args.file_kind)?);
    }
    Ok(subjects)
}

/// The subjects of a file: one per line, blank and `#` lines skipped.
fn file_subjects(path: &Path, kind: FileKind) -> Result<Vec<(Given, Subject)>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| CliError::usage(format!("--file {}: {error}", path.display())))?;
    let make = match kind {
        FileKind::ExternalId => Subject::ExternalId,
        FileKind::Email => Subject::Email,
        FileKind::BrazeId => Subject::BrazeId,
    };
    Ok(text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(at, line)| {
            let given = Given {
                source: path.display().to_string(),
                at,
            };
            (given, make(line.to_owned()))
        })
        .collect())
}

fn text(report: &Report) -> String {
    let mut text = String::new();
    for request in &report.requests {
        match &request.error {
            None => text.push_str(&format!("{}  {}\n", request.request_id, request.given)),
            Some(error) => text.push_str(&format!(
                "NOT SENT {}  {}: {error}\n",
                request.request_id, request.given
            )),
        }
    }
    text.push_str(&format!(
        "{} erasure request(s) enqueued, {} not sent\nfollow one with: relay erase status <request id>",
        report.enqueued, report.failed
    ));
    text
}
