//! The named webhook sources behind `/webhooks/{source}`.
//!
//! Four sources are built in ([`DEFAULT_SOURCES_JSON`], compiled in): `standard-webhooks`,
//! `hubspot`, `salesforce-outbound` and `pipedrive`, each with its scheme, a secret reference
//! and a default field mapping. The optional `RELAY_SOURCES` variable (a JSON object of the
//! same shape) overrides or adds sources:
//!
//! ```json
//! {"hubspot": {"mapping": {"external_id": "/hs_object_id", "email": "/email"}},
//!  "crm-eu": {"scheme": "standard-webhooks", "secret": "arn:aws:secretsmanager:...#key"}}
//! ```
//!
//! Per source: `scheme`, `secret` (`env:NAME` or a Secrets Manager ARN, see
//! [`SecretRef`](crate::secrets::SecretRef)), `mapping` ([`FieldMapping`]),
//! `send_signup_event` (default `true`), `tolerance_secs` (timestamped schemes, default 300),
//! `public_url`, `signature_versions` (default `["v3"]`) and `hubspot_api {base_url, token}`
//! (HubSpot), `organization_id` and `allow_unauthenticated` (Salesforce), `username` and
//! `actions` (Pipedrive), `enabled`. Unknown fields, and fields another scheme takes, are
//! errors that give their path.
//!
//! - A name that matches a built-in source overrides the fields it gives (a `mapping` replaces
//!   the default mapping as a whole); its scheme cannot change.
//! - A new name (`[a-z0-9-]{1,64}`) adds a source: `scheme` and `secret` are required (a
//!   Salesforce source may instead set `allow_unauthenticated: true`). It starts from its
//!   scheme's built-in settings (mapping, signature versions, username, actions, HubSpot API
//!   token), never from its secret.
//!
//! No source is enabled without the secret that authenticates its requests: the Standard
//! Webhooks key, the HubSpot client secret, the Pipedrive password, the Salesforce URL token.
//! The one exception is explicit: a Salesforce source with [`ALLOW_UNAUTHENTICATED`] and no
//! URL token is enabled with only the organization id (not a secret) to check, and the cold
//! start logs it ([`Sources::unauthenticated`]). HubSpot accepts only v3 (signed with a
//! timestamp) unless `signature_versions` adds v2 or v1, whose requests are then handled once
//! each ([`crate::crm::replay`]).
//!
//! Two phases: [`SourcesConfig::from_env_json`] decodes the flat JSON form, merges it and
//! types every source per scheme (pure), and [`SourcesConfig::resolve`] reads the secrets at
//! cold start into [`Source`]s whose [`SchemeSettings`] hold exactly their scheme's settings.
//! A built-in source that `RELAY_SOURCES` does not mention and whose secret variable is unset
//! is [`SourceLookup::Disabled`], saying what to set (not every deployment uses every CRM;
//! the reason is for the operator's log, [`Sources::disabled`], never for a caller); a
//! source that `RELAY_SOURCES` mentions must resolve, or the cold start fails naming it. So
//! deployment-wide settings that should not make a source mandatory are variables of their
//! own, not `RELAY_SOURCES` fields.
//!
//! Environment defaults: HubSpot sources without `public_url` use
//! `$RELAY_PUBLIC_URL/webhooks/{name}`, and without `hubspot_api.base_url` read contacts from
//! `$HUBSPOT_API_BASE_URL` (an absolute http(s) URL; default `https://api.hubapi.com`); the
//! HubSpot API token defaults to `env:HUBSPOT_ACCESS_TOKEN` (unset: no API client, so events
//! that only name contacts cannot be fetched); the built-in Salesforce source takes its
//! organization id from `SALESFORCE_ORGANIZATION_ID` when `organization_id` is not given.

mod error;
mod json;
mod resolve;
mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use secrecy::{SecretSlice, SecretString};

use super::mapping::FieldMapping;
use super::payload::ParseOptions;
use super::salesforce;
use super::signature::HubspotVersion;
use crate::secrets::SecretResolver;

pub use error::SourcesError;
pub use spec::SourcesConfig;

/// The built-in sources, in `RELAY_SOURCES`' own format.
pub const DEFAULT_SOURCES_JSON: &str = include_str!("default_sources.json");
/// The variable holding the JSON that overrides or adds sources.
pub const RELAY_SOURCES: &str = "RELAY_SOURCES";
/// The variable holding the relay's public base URL (`https://relay.example.com`): HubSpot
/// sources default their signed URL to `{RELAY_PUBLIC_URL}/webhooks/{name}`.
pub const RELAY_PUBLIC_URL: &str = "RELAY_PUBLIC_URL";
/// The variable holding the built-in `salesforce-outbound` source's organization id.
pub const SALESFORCE_ORGANIZATION_ID: &str = "SALESFORCE_ORGANIZATION_ID";
/// The variable holding the API base URL of HubSpot sources whose `hubspot_api.base_url` is
/// not given (a proxy, a sandbox). Setting it declares no source, so it can be set where
/// HubSpot is not used.
pub const HUBSPOT_API_BASE_URL: &str = "HUBSPOT_API_BASE_URL";
/// HubSpot's API base URL: the default when neither `hubspot_api.base_url` nor
/// [`HUBSPOT_API_BASE_URL`] is given.
pub const DEFAULT_HUBSPOT_API_URL: &str = "https://api.hubapi.com";
/// The Salesforce source option that accepts messages without a URL token, authenticated only
/// by their organization id (which is not a secret). Explicit, and logged at cold start
/// ([`Sources::unauthenticated`]).
pub const ALLOW_UNAUTHENTICATED: &str = "allow_unauthenticated";
/// Pipedrive `meta.action`s a source may sync. Not `delete`: a deleted person is an erasure,
/// never an upsert.
pub const PIPEDRIVE_ACTIONS: &[&str] = &["create", "change"];
/// The largest accepted `tolerance_secs`.
pub const MAX_TOLERANCE_SECS: u64 = 3600;

/// The payload family a source sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Standard Webhooks: a JSON contact, an array, or `{"contacts":[..]}`.
    #[serde(alias = "standard")]
    StandardWebhooks,
    /// HubSpot workflow webhooks and app subscription events.
    #[serde(alias = "hubspot-v3")]
    Hubspot,
    /// Salesforce SOAP Outbound Messages.
    #[serde(alias = "salesforce")]
    SalesforceOutbound,
    /// Pipedrive webhooks v2 with HTTP Basic credentials.
    #[serde(alias = "pipedrive-basic")]
    Pipedrive,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 4] = [
        Scheme::StandardWebhooks,
        Scheme::Hubspot,
        Scheme::SalesforceOutbound,
        Scheme::Pipedrive,
    ];

    /// The name used in configuration (`standard-webhooks`, `hubspot`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard-webhooks",
            Scheme::Hubspot => "hubspot",
            Scheme::SalesforceOutbound => "salesforce-outbound",
            Scheme::Pipedrive => "pipedrive",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where and how to read HubSpot contacts that events only name.
#[derive(Debug, Clone)]
pub struct HubspotApi {
    /// API base URL (default `https://api.hubapi.com`).
    pub base_url: String,
    /// Private app / OAuth access token.
    pub token: SecretString,
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name in `/webhooks/{source}`.
    pub name: String,
    /// Payload record -> contact.
    pub mapping: FieldMapping,
    /// Send Userflow's signup event (once per user) for contacts this source reports as
    /// created; updates never send it.
    pub send_signup_event: bool,
    /// What its scheme needs: credentials and scheme-only options.
    pub settings: SchemeSettings,
}

impl Source {
    /// The payload family, from the settings (they cannot disagree).
    pub fn scheme(&self) -> Scheme {
        self.settings.scheme()
    }
}

/// A source's scheme with exactly the settings that scheme takes, resolved: a HubSpot API
/// on a Pipedrive source, or a Salesforce source without an organization, cannot be written.
#[derive(Debug, Clone)]
pub enum SchemeSettings {
    /// Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`.
    StandardWebhooks {
        /// The decoded key (the `whsec_` prefix stripped, base64-decoded).
        key: SecretSlice<u8>,
        /// Largest accepted clock difference, past or future.
        tolerance: Duration,
    },
    /// HubSpot workflow webhooks and app subscription events.
    Hubspot {
        /// The app's client secret.
        client_secret: SecretString,
        /// The public URL HubSpot calls, from configuration (never from Host headers).
        public_url: String,
        /// Accepted signature versions, in order of preference.
        versions: Vec<HubspotVersion>,
        /// Largest accepted age of `X-HubSpot-Request-Timestamp` (v3).
        tolerance: Duration,
        /// Reading contacts that events only name; `None`: no token configured.
        api: Option<HubspotApi>,
    },
    /// Salesforce Outbound Messages: a token in the URL, then the organization id in the body.
    SalesforceOutbound {
        /// The org id the messages must carry (15 or 18 characters).
        organization_id: String,
        /// The secret expected in the `token` query parameter. `None` only when the source's
        /// configuration sets [`ALLOW_UNAUTHENTICATED`]: the organization id, which is not a
        /// secret, is then all that authenticates a message.
        url_token: Option<SecretString>,
    },
    /// Pipedrive webhooks with HTTP Basic credentials.
    Pipedrive {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: SecretString,
        /// Which `meta.action`s are contacts to sync (see [`PIPEDRIVE_ACTIONS`]).
        actions: Vec<String>,
    },
}

/// A fixed answer a scheme's sender waits for instead of the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The answer's content type.
    pub content_type: &'static str,
    /// The answer's body.
    pub body: &'static str,
}

impl SchemeSettings {
    /// The answer this scheme's sender waits for instead of a report (Salesforce's SOAP Ack).
    /// Such a sender cannot act on an error answer either, only resend, so a message whose
    /// every contact is refused is still acknowledged.
    pub fn acknowledgement(&self) -> Option<Acknowledgement> {
        match self {
            SchemeSettings::SalesforceOutbound { .. } => Some(Acknowledgement {
                content_type: salesforce::ACK_CONTENT_TYPE,
                body: salesforce::ACK,
            }),
            _ => None,
        }
    }

    /// How this scheme's payloads are parsed (Pipedrive: which actions are contacts).
    pub fn parse_options(&self) -> ParseOptions {
        match self {
            SchemeSettings::Pipedrive { actions, .. } => ParseOptions {
                pipedrive_actions: actions.clone(),
            },
            _ => ParseOptions::default(),
        }
    }

    /// Whether a request must prove it knows a secret: false only for a Salesforce source
    /// without a URL token (allowed by [`ALLOW_UNAUTHENTICATED`] only).
    pub fn requires_secret(&self) -> bool {
        !matches!(
            self,
            SchemeSettings::SalesforceOutbound {
                url_token: None,
                ..
            }
        )
    }

    /// The scheme these settings are for.
    pub fn scheme(&self) -> Scheme {
        match self {
            SchemeSettings::StandardWebhooks { .. } => Scheme::StandardWebhooks,
            SchemeSettings::Hubspot { .. } => Scheme::Hubspot,
            SchemeSettings::SalesforceOutbound { .. } => Scheme::SalesforceOutbound,
            SchemeSettings::Pipedrive { .. } => Scheme::Pipedrive,
        }
    }
}

/// The result of looking a name up.
#[derive(Debug)]
pub enum SourceLookup<'a> {
    /// Configured and enabled.
    Found(&'a Source),
    /// Known but not usable (its secret is not set, or `enabled: false`), with why and what to
    /// set: `source hubspot is not enabled: set HUBSPOT_CLIENT_SECRET`.
    Disabled(&'a str),
    /// No source has this name.
    Unknown,
}

/// One configured source as an operator lists it: its name, its scheme (also when it is not
/// enabled) and whether it is enabled or why not.
#[derive(Debug)]
pub struct SourceStatus<'a> {
    /// The name in `/webhooks/{source}`.
    pub name: &'a str,
    /// Its scheme.
    pub scheme: Scheme,
    /// Enabled, or why not.
    pub state: SourceState<'a>,
}

/// Whether a configured source is enabled.
#[derive(Debug)]
pub enum SourceState<'a> {
    /// Enabled, with its settings.
    Enabled(&'a Source),
    /// Not enabled, with why and what to set (as [`SourceLookup::Disabled`]).
    Disabled(&'a str),
}

#[derive(Debug, Clone)]
enum Entry {
    Enabled(Box<Source>),
    Disabled { scheme: Scheme, reason: String },
}

/// Every source, resolved: what `/webhooks/{source}` looks names up in.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    entries: BTreeMap<String, Entry>,
}

impl Sources {
    /// Reads `RELAY_SOURCES` through `secrets`' environment, then decodes and resolves it
    /// ([`SourcesConfig::from_env_json`] then [`SourcesConfig::resolve`]): the cold-start
    /// entry point.
    pub async fn load(secrets: &SecretResolver) -> Result<Sources, SourcesError> {
        SourcesConfig::from_env_json(secrets.env_var(RELAY_SOURCES).as_deref())?
            .resolve(secrets)
            .await
    }

    /// Looks `name` up.
    pub fn get(&self, name: &str) -> SourceLookup<'_> {
        match self.entries.get(name) {
            Some(Entry::Enabled(source)) => SourceLookup::Found(source),
            Some(Entry::Disabled { reason, .. }) => SourceLookup::Disabled(reason),
            None => SourceLookup::Unknown,
        }
    }

    /// Every known name (enabled or disabled), sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.keys().map(String::as_str)
    }

    /// The enabled sources, sorted by name.
    pub fn enabled(&self) -> impl Iterator<Item = &Source> + '_ {
        self.entries.values().filter_map(|entry| match entry {
            Entry::Enabled(source) => Some(source.as_ref()),
            Entry::Disabled { .. } => None,
        })
    }

    /// Every source, enabled or not, sorted by name, with its scheme: for the operator's
    /// listing (`relay sources`).
    pub fn statuses(&self) -> impl Iterator<Item = SourceStatus<'_>> + '_ {
        self.entries.iter().map(|(name, entry)| match entry {
            Entry::Enabled(source) => SourceStatus {
                name,
                scheme: source.scheme(),
                state: SourceState::Enabled(source),
            },
            Entry::Disabled { scheme, reason } => SourceStatus {
                name,
                scheme: *scheme,
                state: SourceState::Disabled(reason),
            },
        })
    }

    /// The sources that are not enabled, with why (what to set), sorted by name: for the
    /// operator's cold-start log, never for a caller.
    pub fn disabled(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().filter_map(|(name, entry)| match entry {
            Entry::Enabled(_) => None,
            Entry::Disabled { reason, .. } => Some((name.as_str(), reason.as_str())),
        })
    }

    /// The enabled sources that accept requests without any secret (a Salesforce source whose
    /// configuration sets [`ALLOW_UNAUTHENTICATED`] and has no URL token: anyone who knows the
    /// organization id can create or overwrite contacts). The cold start logs each one.
    pub fn unauthenticated(&self) -> impl Iterator<Item = &Source> + '_ {
        self.enabled()
            .filter(|source| !source.settings.requires_secret())
    }

    /// Sources built directly, without configuration (tests of the handlers).
    #[cfg(any(test, feature = "test-util"))]
    pub fn for_tests(sources: Vec<Source>) -> Sources {
        Sources {
            entries: sources
                .into_iter()
                .map(|source| (source.name.clone(), Entry::Enabled(Box::new(source))))
                .collect(),
        }
    }

    /// Adds a disabled source of `scheme` with its reason (tests of the handlers' "not
    /// enabled" answer).
    #[cfg(any(test, feature = "test-util"))]
    pub fn with_disabled(mut self, name: &str, scheme: Scheme, reason: &str) -> Sources {
        self.entries.insert(
            name.to_owned(),
            Entry::Disabled {
                scheme,
                reason: reason.to_owned(),
            },
        );
        self
    }
}
