//! `relay export start --segment ID`: relay-core's [`start_export`] with the settings.
//!
//! Every setting is read and checked before anything is written or sent, so a configuration
//! error (exit 2, naming the variable) leaves no job behind. Braze refusing the export exits 1
//! with Braze's reason; relay-core has then recorded the job as `failed`.

use chrono::{Duration, Utc};
use relay_clients::braze::models::OutputFormat;
use relay_core::env::ConfigError;
use relay_core::export::callback::CallbackSigner;
use relay_core::export::control::{ControlError, StartExport, start_export};
use relay_core::export::line::ExportMapping;
use relay_core::export::manifest::{ExportAction, ExportManifest};

use super::{braze_client, control_error, setting_in_range, state_store};
use crate::{CliError, Context, Outcome, Settings};

/// The public URL of the callback route (`https://<api>/braze/export-callback`).
pub const CALLBACK_URL: &str = "EXPORT_CALLBACK_URL";
/// How long the signed callback URL is accepted, in hours.
pub const CALLBACK_TTL_HOURS: &str = "EXPORT_CALLBACK_TTL_HOURS";
/// [`CALLBACK_TTL_HOURS`] when unset.
pub const DEFAULT_CALLBACK_TTL_HOURS: u32 = 24;
/// The longest accepted [`CALLBACK_TTL_HOURS`]: a week.
const MAX_CALLBACK_TTL_HOURS: u32 = 168;

/// What an `erase` export asks of Braze when `--fields` is not given.
const ERASE_FIELDS: &[&str] = &["braze_id", "external_id"];

/// What the export's users are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Upsert every exported user with an external id into Userflow.
    #[value(name = "userflow_sync")]
    UserflowSync,
    /// Turn every exported user into a GDPR erasure request (the deletion-worker runs them).
    Erase,
}

impl From<Action> for ExportAction {
    fn from(action: Action) -> ExportAction {
        match action {
            Action::UserflowSync => ExportAction::UserflowSync,
            Action::Erase => ExportAction::Erase,
        }
    }
}

/// The export files' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Zip archives (Braze's default).
    Zip,
    /// Gzip files.
    Gzip,
}

impl From<Format> for OutputFormat {
    fn from(format: Format) -> OutputFormat {
        match format {
            Format::Zip => OutputFormat::Zip,
            Format::Gzip => OutputFormat::Gzip,
        }
    }
}

/// Arguments of `relay export start`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Braze segment id.
    #[arg(long, value_name = "ID")]
    segment: String,
    /// What the exported users are for.
    #[arg(long, value_enum, default_value = "userflow_sync")]
    action: Action,
    /// `fields_to_export`, comma separated; default: what the export mapping reads
    /// (`EXPORT_USERFLOW_MAPPING`, `EXPORT_CUSTOM_ATTRIBUTES`), or for `--action erase` only
    /// `braze_id,external_id` (an erasure needs nothing else of the person).
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    fields: Vec<String>,
    /// `custom_attributes_to_export`, comma separated; default: the custom attributes the
    /// export mapping reads.
    #[arg(long, value_name = "X,Y,..", value_delimiter = ',')]
    custom_attributes: Vec<String>,
    /// The export files' format.
    #[arg(long, value_enum, default_value = "zip")]
    format: Format,
}

/// Runs `relay export start`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let settings = &context.settings;
    let request = request(&args, settings)?;
    let signer = CallbackSigner::from_env(&settings.env(), &settings.secrets()).await?;
    let braze = braze_client(settings).await?;
    let (_, store) = state_store(settings).await?;
    let manifest = start_export(&store, &braze, &signer, &request, Utc::now())
        .await
        .map_err(|error| match error {
            ControlError::Refused { job, source } => CliError::failed(format!(
                "the export of segment {} was not started: Braze: {source} (job {job} is \
                 recorded as failed)",
                request.segment_id
            )),
            other => control_error(other),
        })?;
    let text = text(&manifest);
    Ok(Outcome::done(&manifest, text))
}

/// The export to ask for, from the arguments and the settings (no secret read here).
fn request(args: &Args, settings: &Settings) -> Result<StartExport, CliError> {
    let segment_id = args.segment.trim();
    if segment_id.is_empty() {
        return Err(CliError::usage("--segment: the segment id is empty"));
    }
    let callback_base = callback_base(settings)?;
    let ttl_hours = setting_in_range(
        settings,
        CALLBACK_TTL_HOURS,
        DEFAULT_CALLBACK_TTL_HOURS,
        1..=MAX_CALLBACK_TTL_HOURS,
    )?;
    let listed = |values: &[String]| -> Vec<String> {
        values
            .iter()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect()
    };
    let (mut fields, mut custom_attributes) =
        (listed(&args.fields), listed(&args.custom_attributes));
    if args.action == Action::Erase && fields.is_empty() {
        fields = ERASE_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    } else if fields.is_empty() || custom_attributes.is_empty() {
        let mapping = ExportMapping::from_env(&settings.env())?;
        if fields.is_empty() {
            fields = mapping.fields_to_export();
        }
        if custom_attributes.is_empty() {
            custom_attributes = mapping.custom_attributes_to_export();
        }
    }
    Ok(StartExport {
        segment_id: segment_id.to_owned(),
        action: args.action.into(),
        fields,
        custom_attributes,
        output_format: args.format.into(),
        callback_base,
        callback_ttl: Duration::hours(i64::from(ttl_hours)),
    })
}

/// `EXPORT_CALLBACK_URL`: an absolute http(s) URL (the signed query is appended to it).
fn callback_base(settings: &Settings) -> Result<String, ConfigError> {
    let base = settings.required(CALLBACK_URL)?.trim().to_owned();
    match reqwest::Url::parse(&base) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(base),
        Ok(_) => Err(ConfigError::new(
            CALLBACK_URL,
            "must be an http(s) URL: the public URL of the callback route \
             (https://<api>/braze/export-callback)",
        )),
        Err(error) => Err(ConfigError::new(
            CALLBACK_URL,
            format!("is not a URL ({error}): give the public URL of the callback route"),
        )),
    }
}

/// `started export <job> of segment <id> (object prefix <p>)`, then what was asked.
fn text(manifest: &ExportManifest) -> String {
    let prefix = manifest.object_prefix.as_deref().unwrap_or("not answered");
    let mut text = format!(
        "started export {} of segment {} (object prefix {prefix})\n",
        manifest.job, manifest.segment_id
    );
    text.push_str(&format!("fields: {}\n", manifest.fields.join(", ")));
    if !manifest.custom_attributes.is_empty() {
        text.push_str(&format!(
            "custom attributes: {}\n",
            manifest.custom_attributes.join(", ")
        ));
    }
    text.push_str(&format!(
        "callback accepted until {}\nfollow it with: relay export status {} --watch",
        manifest
            .callback_expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        manifest.job
    ));
    text
}
