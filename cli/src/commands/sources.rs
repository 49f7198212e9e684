//! `relay sources`: every configured webhook source, loaded exactly as crm-signup loads them
//! at cold start (the built-in sources, `RELAY_SOURCES`, the secrets), with its scheme, whether
//! it is enabled or why not, and the URL its CRM must call.
//!
//! The URL is `$RELAY_PUBLIC_URL/webhooks/{name}` (a HubSpot source's configured `public_url`
//! when it has one, since that is what its signatures cover). Without `RELAY_PUBLIC_URL` the
//! listing still works: the URLs are left out and a note says what to set. A `RELAY_SOURCES`
//! that does not decode, or a declared source that does not resolve, is a configuration error
//! (exit 2) with crm-signup's own message.

use relay_core::crm::outbound::webhook_url;
use relay_core::crm::sources::{RELAY_PUBLIC_URL, RELAY_SOURCES};
use relay_core::crm::{SourceState, Sources, SourcesError};
use relay_core::env::ConfigError;
use serde::Serialize;

use crate::output::table;
use crate::{CliError, Context, Outcome, Settings};

/// Arguments of `relay sources`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// The `--json` document: `{"sources": [..]}`, sorted by name.
#[derive(Debug, Serialize)]
pub struct Listing {
    /// Every configured source.
    pub sources: Vec<SourceRow>,
}

/// One source in the listing.
#[derive(Debug, Serialize)]
pub struct SourceRow {
    /// The name in `/webhooks/{name}`.
    pub name: String,
    /// Its scheme (`standard-webhooks`, `hubspot`, `salesforce-outbound`, `pipedrive`).
    pub scheme: String,
    /// Whether requests to it are handled.
    pub enabled: bool,
    /// Why it is not enabled (what to set); absent when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The URL its CRM must call; absent when `RELAY_PUBLIC_URL` is not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Enabled without any secret (a Salesforce source with `allow_unauthenticated` and no
    /// URL token): anyone who knows its organization id can send contacts.
    pub unauthenticated: bool,
}

/// Loads the sources as crm-signup does. A configuration error names `RELAY_SOURCES` (or the
/// origin the decoding error gives) as the variable at fault.
pub async fn load_sources(settings: &Settings) -> Result<Sources, CliError> {
    Sources::load(&settings.secrets())
        .await
        .map_err(|error| CliError::Config(config_error(error)))
}

/// The configuration error for `error`: decoding errors already name their origin, the others
/// are about a source that `RELAY_SOURCES` declares.
fn config_error(error: SourcesError) -> ConfigError {
    match error {
        SourcesError::Decode {
            origin,
            path,
            message,
        } => ConfigError::new(origin, format!("at {path}: {message}")),
        SourcesError::Invalid {
            origin,
            name,
            message,
        } => ConfigError::new(origin, format!("source {name}: {message}")),
        other => ConfigError::unusable(RELAY_SOURCES, other),
    }
}

/// The listing of `sources`, URLs under `public_base` (`RELAY_PUBLIC_URL`).
pub fn listing(sources: &Sources, public_base: Option<&str>) -> Listing {
    let sources = sources
        .statuses()
        .map(|status| {
            let (enabled, reason, url, unauthenticated) = match status.state {
                SourceState::Enabled(source) => (
                    true,
                    None,
                    source.webhook_url(public_base),
                    !source.settings.requires_secret(),
                ),
                SourceState::Disabled(reason) => (
                    false,
                    Some(reason.to_owned()),
                    public_base.map(|base| webhook_url(base, status.name)),
                    false,
                ),
            };
            SourceRow {
                name: status.name.to_owned(),
                scheme: status.scheme.to_string(),
                enabled,
                reason,
                url,
                unauthenticated,
            }
        })
        .collect();
    Listing { sources }
}

/// The text form: one row per source, then a note when the URLs are unknown.
fn text(listing: &Listing, public_base: Option<&str>) -> String {
    let rows: Vec<Vec<String>> = listing
        .sources
        .iter()
        .map(|row| {
            let state = match (&row.reason, row.unauthenticated) {
                (Some(reason), _) => format!("disabled: {reason}"),
                (None, true) => {
                    "enabled, UNAUTHENTICATED (anyone who knows the organization id can send)"
                        .to_owned()
                }
                (None, false) => "enabled".to_owned(),
            };
            vec![
                row.name.clone(),
                row.scheme.clone(),
                row.url.clone().unwrap_or_else(|| "-".to_owned()),
                state,
            ]
        })
        .collect();
    let mut out = table(&["source", "scheme", "url", "state"], &rows);
    if public_base.is_none() {
        out.push_str(&format!(
            "\n\n{RELAY_PUBLIC_URL} is not set: each source's URL is {RELAY_PUBLIC_URL}/webhooks/<source>."
        ));
    }
    out
}

/// Runs `relay sources`.
pub async fn run(_args: Args, context: &Context) -> Result<Outcome, CliError> {
    let sources = load_sources(&context.settings).await?;
    let public_base = context.settings.get(RELAY_PUBLIC_URL);
    let listing = listing(&sources, public_base);
    let text = text(&listing, public_base);
    Ok(Outcome::done(&listing, text))
}
