//! `relay export start|status|cancel`: Braze segment exports synced into Userflow, over
//! relay-core's export control ([`relay_core::export::control`]) and status
//! ([`relay_core::export::status`]).
//!
//! - `start`: asks Braze to export a segment with a signed, expiring callback URL and records
//!   the job's manifest (`exports/<job>/manifest.json` in `STATE_BUCKET`);
//! - `status`: a job's state and counts (`--watch` polls until it ends), or every job;
//! - `cancel`: ends a job (and Braze's running export while it is still requested).
//!
//! Settings: `STATE_BUCKET` and the AWS settings for every subcommand; the Braze settings
//! (`BRAZE_REST_ENDPOINT`, `BRAZE_API_KEY`, ...) for `start` and `cancel`; `start` also reads
//! `EXPORT_CALLBACK_URL`, `EXPORT_CALLBACK_SECRET`, `EXPORT_CALLBACK_TTL_HOURS` and the export
//! mapping (`EXPORT_USERFLOW_MAPPING`, `EXPORT_CUSTOM_ATTRIBUTES`).

mod cancel;
mod start;
mod status;

use relay_clients::braze::BrazeClient;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::config::VendorConfig;
use relay_core::env::ConfigError;
use relay_core::export::control::ControlError;
use relay_core::export::manifest::JobId;
use relay_core::store::S3Store;

use crate::{CliError, Context, Outcome, Settings, aws};

/// The state bucket setting (the functions' own name).
const STATE_BUCKET: &str = "STATE_BUCKET";

/// The subcommands of `relay export`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Ask Braze to export a segment into S3, with a signed callback; prints the job id.
    Start(start::Args),
    /// Show a job's state and counts (--watch follows it to its end); without JOB, list jobs.
    Status(status::Args),
    /// Cancel a job (and Braze's export while it is still running).
    Cancel(cancel::Args),
}

/// Runs one `relay export` subcommand.
pub async fn run(command: Command, context: &Context) -> Result<Outcome, CliError> {
    match command {
        Command::Start(args) => start::run(args, context).await,
        Command::Status(args) => status::run(args, context).await,
        Command::Cancel(args) => cancel::run(args, context).await,
    }
}

/// The state bucket's name and a store over it (`STATE_BUCKET`, the AWS settings).
async fn state_store(settings: &Settings) -> Result<(String, S3Store), CliError> {
    let bucket = settings.required(STATE_BUCKET)?.to_owned();
    let sdk = aws::sdk_config(settings).await;
    let store = S3Store::new(relay_core::aws::s3_client(&sdk), bucket.clone());
    Ok((bucket, store))
}

/// The Braze client of the settings, read as the functions read them.
async fn braze_client(settings: &Settings) -> Result<BrazeClient, CliError> {
    let config = VendorConfig::braze_from_env(&settings.env(), &settings.secrets()).await?;
    BrazeClient::new(config, http_client(HttpTimeouts::default()))
        .map_err(|error| CliError::usage(format!("Braze client: {error}")))
}

/// A job id given on the command line.
fn job_id(job: &str) -> Result<JobId, CliError> {
    JobId::parse(job).map_err(|error| CliError::usage(format!("JOB `{job}`: {error}")))
}

/// The CLI error of a failed start or cancel.
fn control_error(error: ControlError) -> CliError {
    match &error {
        ControlError::UnknownJob(job) => unknown_job(job),
        ControlError::Manifest(error) => CliError::failed(format!("state bucket: {error}")),
        ControlError::Refused { .. } => CliError::failed(error.to_string()),
        ControlError::Invalid(problem) => CliError::usage(problem.clone()),
    }
}

/// `no export job <job>` (exit 1).
fn unknown_job(job: &JobId) -> CliError {
    CliError::failed(format!("no export job {job}"))
}

/// A setting read through relay-core's environment that must lie in `range`.
fn setting_in_range(
    settings: &Settings,
    name: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let value = settings.env().parsed(name, default)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            name,
            format!(
                "must be between {} and {} (got {value})",
                range.start(),
                range.end()
            ),
        ))
    }
}
