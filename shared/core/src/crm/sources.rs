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
//! [`SecretRef`]), `mapping` ([`FieldMapping`]), `signed_up_event` (default `true`),
//! `tolerance_secs` (timestamped schemes, default 300), `public_url` and `signature_versions`
//! and `hubspot_api {base_url, token}` (HubSpot), `organization_id` (Salesforce), `username`
//! and `actions` (Pipedrive), `enabled`. Unknown fields are errors that give their path.
//!
//! - A name that matches a built-in source overrides the fields it gives (a `mapping` replaces
//!   the default mapping as a whole); its scheme cannot change.
//! - A new name (`[a-z0-9-]{1,64}`) adds a source: `scheme` is required, and `secret` too
//!   except for Salesforce (whose secret is the optional URL token). It starts from its
//!   scheme's built-in settings (mapping, signature versions, username, actions, HubSpot API),
//!   never from its secret.
//!
//! Two phases: [`SourcesConfig::from_env_json`] decodes and checks the JSON (pure), and
//! [`SourcesConfig::resolve`] reads the secrets at cold start. A built-in source that
//! `RELAY_SOURCES` does not mention and whose secret variable is unset is
//! [`SourceLookup::Disabled`] (not every deployment uses every CRM); a source that
//! `RELAY_SOURCES` mentions must resolve, or the cold start fails naming it.
//!
//! Environment defaults: HubSpot sources without `public_url` use
//! `$RELAY_PUBLIC_URL/webhooks/{name}`; the built-in Salesforce source takes its organization
//! id from `SALESFORCE_ORGANIZATION_ID` when `organization_id` is not given; the HubSpot API
//! token defaults to `env:HUBSPOT_ACCESS_TOKEN` (unset: no API client, so events that only
//! name contacts cannot be fetched).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::mapping::FieldMapping;
use super::signature::{
    Auth, DEFAULT_TOLERANCE, HubspotVersion, decode_standard_webhooks_secret, is_salesforce_id,
};
use crate::secrets::{SecretError, SecretRef, SecretResolver};

/// The built-in sources, in `RELAY_SOURCES`' own format.
pub const DEFAULT_SOURCES_JSON: &str = include_str!("default_sources.json");
/// The variable holding the JSON that overrides or adds sources.
pub const RELAY_SOURCES: &str = "RELAY_SOURCES";
/// The variable holding the relay's public base URL (`https://relay.example.com`): HubSpot
/// sources default their signed URL to `{RELAY_PUBLIC_URL}/webhooks/{name}`.
pub const RELAY_PUBLIC_URL: &str = "RELAY_PUBLIC_URL";
/// The variable holding the built-in `salesforce-outbound` source's organization id.
pub const SALESFORCE_ORGANIZATION_ID: &str = "SALESFORCE_ORGANIZATION_ID";
/// HubSpot's API base URL.
pub const DEFAULT_HUBSPOT_API_URL: &str = "https://api.hubapi.com";
/// Pipedrive `meta.action`s a source may sync. Not `delete`: a deleted person is an erasure,
/// never an upsert.
pub const PIPEDRIVE_ACTIONS: &[&str] = &["create", "change"];
/// The largest accepted `tolerance_secs`.
pub const MAX_TOLERANCE_SECS: u64 = 3600;

const DEFAULTS_ORIGIN: &str = "embedded default sources";

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
    /// Payload family.
    pub scheme: Scheme,
    /// Authentication with its resolved secret.
    pub auth: Auth,
    /// Payload record -> contact.
    pub mapping: FieldMapping,
    /// Send Userflow's `signed_up` event (once per user) for contacts from this source.
    pub signed_up_event: bool,
    /// Pipedrive: which `meta.action`s are contacts to sync (default `create`); empty for
    /// other schemes.
    pub actions: Vec<String>,
    /// HubSpot: reading contacts named by events.
    pub hubspot_api: Option<HubspotApi>,
}

/// The result of looking a name up.
#[derive(Debug)]
pub enum SourceLookup<'a> {
    /// Configured and enabled.
    Found(&'a Source),
    /// Known but not usable (its secret is not set, or `enabled: false`), with why:
    /// `source hubspot is not enabled: set HUBSPOT_CLIENT_SECRET`.
    Disabled(&'a str),
    /// No source has this name.
    Unknown,
}

#[derive(Debug, Clone)]
enum Entry {
    Enabled(Box<Source>),
    Disabled(String),
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
    pub async fn load(secrets: &SecretResolver) -> Result<Sources, ConfigError> {
        SourcesConfig::from_env_json(secrets.env_var(RELAY_SOURCES).as_deref())?
            .resolve(secrets)
            .await
    }

    /// Looks `name` up.
    pub fn get(&self, name: &str) -> SourceLookup<'_> {
        match self.entries.get(name) {
            Some(Entry::Enabled(source)) => SourceLookup::Found(source),
            Some(Entry::Disabled(reason)) => SourceLookup::Disabled(reason),
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
            Entry::Disabled(_) => None,
        })
    }

    /// Sources built directly, without configuration (tests of the handlers).
    pub fn for_tests(sources: Vec<Source>) -> Sources {
        Sources {
            entries: sources
                .into_iter()
                .map(|source| (source.name.clone(), Entry::Enabled(Box::new(source))))
                .collect(),
        }
    }

    /// Adds a disabled source with its reason (tests of the handlers' "not enabled" answer).
    pub fn with_disabled(mut self, name: &str, reason: &str) -> Sources {
        self.entries
            .insert(name.to_owned(), Entry::Disabled(reason.to_owned()));
        self
    }
}

/// Why the sources cannot be configured: fails the cold start. Names the variable, the source
/// and the field or reference; never a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The JSON does not decode: syntax, an unknown field, a bad value, with its path.
    #[error("{origin}: at {path}: {message}")]
    Decode {
        /// `RELAY_SOURCES` (or the embedded defaults).
        origin: &'static str,
        /// Where: `hubspot.mapping.emial`, or `.` for the document itself.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A source's settings are inconsistent (a missing scheme, a field its scheme does not
    /// use, a bad URL...).
    #[error("{origin}: source {name}: {message}")]
    Invalid {
        /// `RELAY_SOURCES` (or the embedded defaults).
        origin: &'static str,
        /// The source.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A source declared in `RELAY_SOURCES` lacks something only the environment can give
    /// (`public_url` / `RELAY_PUBLIC_URL`, an organization id), or a resolved secret or
    /// variable has the wrong form.
    #[error("source {name}: {message}")]
    Unusable {
        /// The source.
        name: String,
        /// What is missing or wrong, and what to set.
        message: String,
    },
    /// A source's secret cannot be resolved.
    #[error("source {name}: cannot resolve {reference}: {error}")]
    Secret {
        /// The source.
        name: String,
        /// The reference (`env:NAME`, an ARN), never the value.
        reference: String,
        /// Why.
        error: SecretError,
    },
}

/// One source's settings as written in JSON (built-in defaults or `RELAY_SOURCES`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSettings {
    scheme: Option<Scheme>,
    secret: Option<SecretRef>,
    mapping: Option<FieldMapping>,
    signed_up_event: Option<bool>,
    tolerance_secs: Option<u64>,
    public_url: Option<String>,
    signature_versions: Option<Vec<HubspotVersion>>,
    organization_id: Option<String>,
    username: Option<String>,
    actions: Option<Vec<String>>,
    hubspot_api: Option<HubspotApiSettings>,
    enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HubspotApiSettings {
    base_url: Option<String>,
    token: Option<SecretRef>,
}

/// A JSON object of sources, in document order, rejecting duplicate and invalid names.
struct SourceEntries(Vec<(String, SourceSettings)>);

impl<'de> Deserialize<'de> for SourceEntries {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = SourceEntries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of sources by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SourceEntries, A::Error> {
                let mut entries: Vec<(String, SourceSettings)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if !is_source_name(&name) {
                        return Err(de::Error::custom(
                            "a source name must be 1 to 64 characters of a-z, 0-9 and -",
                        ));
                    }
                    if entries.iter().any(|(seen, _)| *seen == name) {
                        return Err(de::Error::custom("this source is given twice"));
                    }
                    let settings = map.next_value::<SourceSettings>()?;
                    entries.push((name, settings));
                }
                Ok(SourceEntries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

fn is_source_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn decode(origin: &'static str, raw: &str) -> Result<Vec<(String, SourceSettings)>, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    let entries: SourceEntries =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            ConfigError::Decode {
                origin,
                path: error.path().to_string(),
                message: error.inner().to_string(),
            }
        })?;
    deserializer.end().map_err(|error| ConfigError::Decode {
        origin,
        path: ".".into(),
        message: error.to_string(),
    })?;
    Ok(entries.0)
}

/// One source, merged and checked but not resolved.
#[derive(Debug, Clone)]
struct SourceSpec {
    name: String,
    scheme: Scheme,
    /// A built-in source (its environment defaults apply).
    builtin: bool,
    /// Mentioned in `RELAY_SOURCES`: every failure to resolve is then a cold-start error.
    declared: bool,
    secret: Option<SecretRef>,
    /// The secret was written in `RELAY_SOURCES` (for Salesforce: a token is then required).
    secret_explicit: bool,
    mapping: FieldMapping,
    signed_up_event: bool,
    tolerance: Duration,
    public_url: Option<String>,
    signature_versions: Vec<HubspotVersion>,
    organization_id: Option<String>,
    username: Option<String>,
    actions: Vec<String>,
    hubspot_api_base_url: String,
    hubspot_api_token: Option<SecretRef>,
    /// The token was written in `RELAY_SOURCES`: it must then resolve.
    hubspot_api_token_explicit: bool,
    enabled: bool,
}

/// The sources as configured, before any secret is read.
#[derive(Debug, Clone)]
pub struct SourcesConfig {
    specs: Vec<SourceSpec>,
}

impl SourcesConfig {
    /// Decodes the built-in sources and `RELAY_SOURCES` (`raw`; `None` or blank: built-ins
    /// only), merges them and checks every source's settings against its scheme. Pure.
    pub fn from_env_json(raw: Option<&str>) -> Result<SourcesConfig, ConfigError> {
        let defaults = decode(DEFAULTS_ORIGIN, DEFAULT_SOURCES_JSON)?;
        let overrides = match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
            Some(raw) => decode(RELAY_SOURCES, raw)?,
            None => Vec::new(),
        };

        let mut specs = Vec::new();
        for (name, settings) in &defaults {
            let declared = overrides.iter().find(|(other, _)| other == name);
            let spec = match declared {
                Some((_, given)) => merge_builtin(name, settings, given)?,
                None => spec_from(
                    DEFAULTS_ORIGIN,
                    name,
                    settings.clone(),
                    true,
                    false,
                    false,
                    false,
                )?,
            };
            specs.push(spec);
        }
        for (name, given) in &overrides {
            if defaults.iter().any(|(builtin, _)| builtin == name) {
                continue;
            }
            specs.push(new_source(name, given, &defaults)?);
        }
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(SourcesConfig { specs })
    }

    /// The configured names (built-in and added), sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.specs.iter().map(|spec| spec.name.as_str())
    }

    /// Reads every enabled source's secrets through `secrets` and builds the [`Sources`].
    /// See the module documentation for when a source is disabled rather than an error.
    pub async fn resolve(self, secrets: &SecretResolver) -> Result<Sources, ConfigError> {
        let mut entries = BTreeMap::new();
        for spec in self.specs {
            let entry = if !spec.enabled {
                Entry::Disabled(format!(
                    "source {} is disabled in {RELAY_SOURCES}",
                    spec.name
                ))
            } else {
                match resolve_source(&spec, secrets).await? {
                    Resolved::Enabled(source) => Entry::Enabled(source),
                    Resolved::Missing(missing) => Entry::Disabled(format!(
                        "source {} is not enabled: set {}",
                        spec.name,
                        missing.join(" and ")
                    )),
                }
            };
            entries.insert(spec.name, entry);
        }
        Ok(Sources { entries })
    }
}

/// A built-in source with the fields `RELAY_SOURCES` gives laid over it.
fn merge_builtin(
    name: &str,
    builtin: &SourceSettings,
    given: &SourceSettings,
) -> Result<SourceSpec, ConfigError> {
    if let (Some(scheme), Some(builtin_scheme)) = (given.scheme, builtin.scheme)
        && scheme != builtin_scheme
    {
        return Err(invalid(
            RELAY_SOURCES,
            name,
            format!(
                "the built-in source {name} is a {builtin_scheme} source; its scheme cannot change (add a source under a new name instead)"
            ),
        ));
    }
    let given_api = given.hubspot_api.clone().unwrap_or_default();
    let builtin_api = builtin.hubspot_api.clone().unwrap_or_default();
    let hubspot_api = (given.hubspot_api.is_some() || builtin.hubspot_api.is_some()).then(|| {
        HubspotApiSettings {
            base_url: given_api.base_url.or(builtin_api.base_url),
            token: given_api.token.clone().or(builtin_api.token),
        }
    });
    let merged = SourceSettings {
        scheme: builtin.scheme,
        secret: given.secret.clone().or_else(|| builtin.secret.clone()),
        mapping: given.mapping.clone().or_else(|| builtin.mapping.clone()),
        signed_up_event: given.signed_up_event.or(builtin.signed_up_event),
        tolerance_secs: given.tolerance_secs.or(builtin.tolerance_secs),
        public_url: given
            .public_url
            .clone()
            .or_else(|| builtin.public_url.clone()),
        signature_versions: given
            .signature_versions
            .clone()
            .or_else(|| builtin.signature_versions.clone()),
        organization_id: given
            .organization_id
            .clone()
            .or_else(|| builtin.organization_id.clone()),
        username: given.username.clone().or_else(|| builtin.username.clone()),
        actions: given.actions.clone().or_else(|| builtin.actions.clone()),
        hubspot_api,
        enabled: given.enabled.or(builtin.enabled),
    };
    spec_from(
        RELAY_SOURCES,
        name,
        merged,
        true,
        true,
        given.secret.is_some(),
        given_api.token.is_some(),
    )
}

/// A source `RELAY_SOURCES` adds: its scheme's built-in settings, except the secret, under
/// what it gives.
fn new_source(
    name: &str,
    given: &SourceSettings,
    defaults: &[(String, SourceSettings)],
) -> Result<SourceSpec, ConfigError> {
    let scheme = given.scheme.ok_or_else(|| {
        invalid(
            RELAY_SOURCES,
            name,
            "a new source needs a scheme (standard-webhooks, hubspot, salesforce-outbound or pipedrive)",
        )
    })?;
    if given.secret.is_none() && scheme != Scheme::SalesforceOutbound {
        return Err(invalid(
            RELAY_SOURCES,
            name,
            "a new source needs a secret (env:NAME or a Secrets Manager ARN)",
        ));
    }
    let template = defaults
        .iter()
        .find(|(_, settings)| settings.scheme == Some(scheme))
        .map(|(_, settings)| SourceSettings {
            secret: None,
            ..settings.clone()
        })
        .unwrap_or_default();
    let mut spec = merge_builtin(name, &template, given)?;
    spec.builtin = false;
    Ok(spec)
}

/// Checks merged settings against their scheme and fills the remaining defaults.
fn spec_from(
    origin: &'static str,
    name: &str,
    settings: SourceSettings,
    builtin: bool,
    declared: bool,
    secret_explicit: bool,
    hubspot_api_token_explicit: bool,
) -> Result<SourceSpec, ConfigError> {
    let fail = |message: String| invalid(origin, name, message);
    let scheme = settings
        .scheme
        .ok_or_else(|| fail("a source needs a scheme".into()))?;
    let only_for = |field: &str, present: bool, schemes: &[Scheme]| {
        if present && !schemes.contains(&scheme) {
            let names: Vec<&str> = schemes.iter().map(|s| s.as_str()).collect();
            Err(fail(format!(
                "{field} applies to {} sources only, not {scheme}",
                names.join(" and ")
            )))
        } else {
            Ok(())
        }
    };
    only_for(
        "tolerance_secs",
        settings.tolerance_secs.is_some(),
        &[Scheme::StandardWebhooks, Scheme::Hubspot],
    )?;
    only_for(
        "public_url",
        settings.public_url.is_some(),
        &[Scheme::Hubspot],
    )?;
    only_for(
        "signature_versions",
        settings.signature_versions.is_some(),
        &[Scheme::Hubspot],
    )?;
    only_for(
        "hubspot_api",
        settings.hubspot_api.is_some(),
        &[Scheme::Hubspot],
    )?;
    only_for(
        "organization_id",
        settings.organization_id.is_some(),
        &[Scheme::SalesforceOutbound],
    )?;
    only_for(
        "username",
        settings.username.is_some(),
        &[Scheme::Pipedrive],
    )?;
    only_for("actions", settings.actions.is_some(), &[Scheme::Pipedrive])?;

    let mapping = settings
        .mapping
        .ok_or_else(|| fail("a source needs a mapping".into()))?;

    let tolerance = match settings.tolerance_secs {
        None => DEFAULT_TOLERANCE,
        Some(secs) if (1..=MAX_TOLERANCE_SECS).contains(&secs) => Duration::from_secs(secs),
        Some(_) => {
            return Err(fail(format!(
                "tolerance_secs must be between 1 and {MAX_TOLERANCE_SECS}"
            )));
        }
    };

    if let Some(url) = &settings.public_url {
        check_public_url(url).map_err(|problem| fail(format!("public_url {problem}")))?;
    }

    let signature_versions = match settings.signature_versions {
        Some(versions) => {
            if versions.is_empty() {
                return Err(fail("signature_versions must not be empty".into()));
            }
            if (1..versions.len()).any(|i| versions[..i].contains(&versions[i])) {
                return Err(fail("signature_versions lists a version twice".into()));
            }
            versions
        }
        None if scheme == Scheme::Hubspot => vec![HubspotVersion::V3, HubspotVersion::V2],
        None => Vec::new(),
    };

    if let Some(id) = &settings.organization_id
        && !is_salesforce_id(id)
    {
        return Err(fail(
            "organization_id must be a Salesforce id: 15 letters and digits, or 18 with a valid checksum".into(),
        ));
    }

    let username = match settings.username {
        Some(user) if user.is_empty() || user.contains(':') => {
            return Err(fail(
                "username must be non-empty and must not contain `:`".into(),
            ));
        }
        Some(user) => Some(user),
        None if scheme == Scheme::Pipedrive => {
            return Err(fail("a pipedrive source needs a username".into()));
        }
        None => None,
    };

    let actions = match settings.actions {
        Some(actions) => {
            if actions.is_empty() {
                return Err(fail("actions must not be empty".into()));
            }
            if let Some(_unknown) = actions
                .iter()
                .find(|action| !PIPEDRIVE_ACTIONS.contains(&action.as_str()))
            {
                return Err(fail(format!(
                    "actions may only contain {}",
                    PIPEDRIVE_ACTIONS.join(", ")
                )));
            }
            actions
        }
        None if scheme == Scheme::Pipedrive => vec!["create".to_owned()],
        None => Vec::new(),
    };

    let api = settings.hubspot_api.unwrap_or_default();
    let hubspot_api_base_url = api
        .base_url
        .unwrap_or_else(|| DEFAULT_HUBSPOT_API_URL.to_owned());
    check_base_url(&hubspot_api_base_url)
        .map_err(|problem| fail(format!("hubspot_api.base_url {problem}")))?;

    Ok(SourceSpec {
        name: name.to_owned(),
        scheme,
        builtin,
        declared,
        secret: settings.secret,
        secret_explicit,
        mapping,
        signed_up_event: settings.signed_up_event.unwrap_or(true),
        tolerance,
        public_url: settings.public_url,
        signature_versions,
        organization_id: settings.organization_id,
        username,
        actions,
        hubspot_api_base_url,
        hubspot_api_token: if scheme == Scheme::Hubspot {
            api.token
        } else {
            None
        },
        hubspot_api_token_explicit,
        enabled: settings.enabled.unwrap_or(true),
    })
}

fn invalid(origin: &'static str, name: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin,
        name: name.to_owned(),
        message: message.into(),
    }
}

fn check_base_url(raw: &str) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute http or https URL")?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err("must be an absolute http or https URL");
    }
    Ok(url)
}

/// HubSpot signs the URL it calls, and the request's query is appended at verification, so
/// the configured URL has no query or fragment of its own.
fn check_public_url(raw: &str) -> Result<(), &'static str> {
    let url = check_base_url(raw)?;
    if url.query().is_some() || url.fragment().is_some() || raw.contains(['?', '#']) {
        return Err("must not have a query or a fragment");
    }
    Ok(())
}

enum Resolved {
    Enabled(Box<Source>),
    /// What to set for this built-in source to work (it is then disabled, not an error).
    Missing(Vec<String>),
}

/// Resolves one enabled source. Something missing that only the environment gives makes an
/// undeclared built-in source [`Resolved::Missing`]; for a declared source it is an error.
async fn resolve_source(
    spec: &SourceSpec,
    secrets: &SecretResolver,
) -> Result<Resolved, ConfigError> {
    let name = spec.name.as_str();
    let mut missing: Vec<(String, ConfigError)> = Vec::new();
    let secret_error = |reference: &SecretRef, error: SecretError| ConfigError::Secret {
        name: name.to_owned(),
        reference: reference.to_string(),
        error,
    };
    let unusable = |message: String| ConfigError::Unusable {
        name: name.to_owned(),
        message,
    };

    // The source's secret: required, except Salesforce's URL token when not written out.
    let secret = match &spec.secret {
        None => None,
        Some(reference) => match secrets.resolve(reference).await {
            Ok(value) => Some(value),
            Err(error)
                if error.is_unset_env()
                    && spec.scheme == Scheme::SalesforceOutbound
                    && !spec.secret_explicit =>
            {
                None
            }
            Err(error) if error.is_unset_env() && !spec.declared => {
                let SecretRef::Env(variable) = reference else {
                    unreachable!("only env references are unset")
                };
                missing.push((variable.clone(), secret_error(reference, error)));
                None
            }
            Err(error) => return Err(secret_error(reference, error)),
        },
    };

    let public_url = if spec.scheme == Scheme::Hubspot {
        match (&spec.public_url, secrets.env_var(RELAY_PUBLIC_URL)) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(base)) => {
                let url = format!("{}/webhooks/{name}", base.trim_end_matches('/'));
                check_public_url(&url).map_err(|problem| {
                    unusable(format!(
                        "{RELAY_PUBLIC_URL} {problem} (it is the base of public_url)"
                    ))
                })?;
                Some(url)
            }
            (None, None) => {
                missing.push((
                    format!("{RELAY_PUBLIC_URL} (or public_url in {RELAY_SOURCES})"),
                    unusable(format!(
                        "a hubspot source needs public_url (the URL HubSpot calls), or {RELAY_PUBLIC_URL} to derive it"
                    )),
                ));
                None
            }
        }
    } else {
        None
    };

    let organization_id = if spec.scheme == Scheme::SalesforceOutbound {
        let from_env = || {
            spec.builtin
                .then(|| secrets.env_var(SALESFORCE_ORGANIZATION_ID))
                .flatten()
        };
        match (&spec.organization_id, from_env()) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(id)) if is_salesforce_id(&id) => Some(id),
            (None, Some(_)) => {
                return Err(unusable(format!(
                    "{SALESFORCE_ORGANIZATION_ID} must be a Salesforce id: 15 letters and digits, or 18 with a valid checksum"
                )));
            }
            (None, None) => {
                let what = if spec.builtin {
                    format!("{SALESFORCE_ORGANIZATION_ID} (or organization_id in {RELAY_SOURCES})")
                } else {
                    format!("organization_id in {RELAY_SOURCES}")
                };
                missing.push((
                    what,
                    unusable("a salesforce-outbound source needs organization_id".into()),
                ));
                None
            }
        }
    } else {
        None
    };

    if !missing.is_empty() {
        if spec.declared {
            return Err(missing.swap_remove(0).1);
        }
        return Ok(Resolved::Missing(
            missing.into_iter().map(|(what, _)| what).collect(),
        ));
    }

    let auth = match spec.scheme {
        Scheme::StandardWebhooks => {
            let secret = secret.expect("standard-webhooks sources have a secret");
            let key = decode_standard_webhooks_secret(secret.expose_secret()).map_err(|error| {
                let reference = spec.secret.as_ref().map(ToString::to_string);
                unusable(format!(
                    "the secret {} is not usable: {error}",
                    reference.unwrap_or_default()
                ))
            })?;
            Auth::StandardWebhooks {
                key: SecretSlice::from(key),
                tolerance: spec.tolerance,
            }
        }
        Scheme::Hubspot => Auth::Hubspot {
            client_secret: secret.expect("hubspot sources have a secret"),
            public_url: public_url.expect("checked above"),
            versions: spec.signature_versions.clone(),
            tolerance: spec.tolerance,
        },
        Scheme::SalesforceOutbound => {
            if secret.is_none() {
                tracing::warn!(
                    source = name,
                    "no URL token is configured: only the OrganizationId authenticates Salesforce messages"
                );
            }
            Auth::Salesforce {
                organization_id: organization_id.expect("checked above"),
                url_token: secret,
            }
        }
        Scheme::Pipedrive => Auth::Basic {
            username: spec.username.clone().expect("checked when decoded"),
            password: secret.expect("pipedrive sources have a secret"),
        },
    };

    let hubspot_api = match &spec.hubspot_api_token {
        None => None,
        Some(reference) => match secrets.resolve(reference).await {
            Ok(token) => Some(HubspotApi {
                base_url: spec.hubspot_api_base_url.clone(),
                token,
            }),
            Err(error) if error.is_unset_env() && !spec.hubspot_api_token_explicit => {
                tracing::info!(
                    source = name,
                    reference = %reference,
                    "no HubSpot API token: events that only name a contact cannot be read"
                );
                None
            }
            Err(error) => return Err(secret_error(reference, error)),
        },
    };

    Ok(Resolved::Enabled(Box::new(Source {
        name: spec.name.clone(),
        scheme: spec.scheme,
        auth,
        mapping: spec.mapping.clone(),
        signed_up_event: spec.signed_up_event,
        actions: spec.actions.clone(),
        hubspot_api,
    })))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::crm::mapping::Pointer;

    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ORG: &str = "00D000000000062";

    fn resolver(vars: &[(&str, &str)]) -> SecretResolver {
        SecretResolver::from_env_map(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        )
    }

    fn all_env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("RELAY_STANDARD_WEBHOOKS_SECRET", WHSEC),
            ("HUBSPOT_CLIENT_SECRET", "hubspot-secret"),
            ("HUBSPOT_ACCESS_TOKEN", "pat-token"),
            ("RELAY_PUBLIC_URL", "https://relay.example.com/"),
            ("SALESFORCE_ORGANIZATION_ID", ORG),
            ("SALESFORCE_URL_TOKEN", "sf-token"),
            ("PIPEDRIVE_WEBHOOK_PASSWORD", "pd-password"),
        ]
    }

    async fn resolve(raw: Option<&str>, env: &[(&str, &str)]) -> Result<Sources, ConfigError> {
        SourcesConfig::from_env_json(raw)?
            .resolve(&resolver(env))
            .await
    }

    fn decode_error(raw: &str) -> (String, String) {
        match SourcesConfig::from_env_json(Some(raw)).unwrap_err() {
            ConfigError::Decode { path, message, .. } => (path, message),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    fn found<'a>(sources: &'a Sources, name: &str) -> &'a Source {
        match sources.get(name) {
            SourceLookup::Found(source) => source,
            other => panic!("{name}: expected Found, got {other:?}"),
        }
    }

    fn pointer(raw: &str) -> Option<Pointer> {
        Some(Pointer::parse(raw).unwrap())
    }

    #[test]
    fn when_no_relay_sources_then_the_four_defaults_parse() {
        let config = SourcesConfig::from_env_json(None).unwrap();
        assert_eq!(
            config.names().collect::<Vec<_>>(),
            [
                "hubspot",
                "pipedrive",
                "salesforce-outbound",
                "standard-webhooks"
            ]
        );
        assert!(SourcesConfig::from_env_json(Some("  ")).is_ok());
    }

    #[tokio::test]
    async fn when_every_variable_is_set_then_every_default_is_enabled_with_its_settings() {
        let sources = resolve(None, &all_env()).await.unwrap();
        assert_eq!(sources.enabled().count(), 4);

        let standard = found(&sources, "standard-webhooks");
        assert_eq!(standard.scheme, Scheme::StandardWebhooks);
        assert_eq!(standard.mapping.company_id, pointer("/company/id"));
        assert!(standard.signed_up_event);
        let Auth::StandardWebhooks { key, tolerance } = &standard.auth else {
            panic!("scheme")
        };
        assert_eq!(key.expose_secret().len(), 24);
        assert_eq!(*tolerance, Duration::from_secs(300));

        let hubspot = found(&sources, "hubspot");
        assert_eq!(hubspot.mapping.external_id.as_str(), "/hs_object_id");
        assert_eq!(hubspot.mapping.country, None);
        let Auth::Hubspot {
            public_url,
            versions,
            ..
        } = &hubspot.auth
        else {
            panic!("scheme")
        };
        assert_eq!(public_url, "https://relay.example.com/webhooks/hubspot");
        assert_eq!(versions, &[HubspotVersion::V3, HubspotVersion::V2]);
        let api = hubspot.hubspot_api.as_ref().unwrap();
        assert_eq!(api.base_url, "https://api.hubapi.com");
        assert_eq!(api.token.expose_secret(), "pat-token");

        let salesforce = found(&sources, "salesforce-outbound");
        assert_eq!(salesforce.mapping.company_id, pointer("/AccountId"));
        let Auth::Salesforce {
            organization_id,
            url_token,
        } = &salesforce.auth
        else {
            panic!("scheme")
        };
        assert_eq!(organization_id, ORG);
        assert_eq!(url_token.as_ref().unwrap().expose_secret(), "sf-token");

        let pipedrive = found(&sources, "pipedrive");
        assert_eq!(pipedrive.actions, ["create"]);
        assert_eq!(pipedrive.mapping.email, pointer("/emails/0/value"));
        let Auth::Basic { username, password } = &pipedrive.auth else {
            panic!("scheme")
        };
        assert_eq!(username, "pipedrive");
        assert_eq!(password.expose_secret(), "pd-password");
    }

    #[tokio::test]
    async fn when_default_secret_env_is_missing_then_the_source_is_disabled_with_the_variable() {
        let sources = resolve(None, &[]).await.unwrap();
        assert_eq!(sources.enabled().count(), 0);
        assert_eq!(sources.names().count(), 4);
        let SourceLookup::Disabled(reason) = sources.get("hubspot") else {
            panic!("expected disabled")
        };
        assert_eq!(
            reason,
            "source hubspot is not enabled: set HUBSPOT_CLIENT_SECRET and RELAY_PUBLIC_URL (or public_url in RELAY_SOURCES)"
        );
        let SourceLookup::Disabled(reason) = sources.get("standard-webhooks") else {
            panic!("expected disabled")
        };
        assert_eq!(
            reason,
            "source standard-webhooks is not enabled: set RELAY_STANDARD_WEBHOOKS_SECRET"
        );
        assert!(matches!(sources.get("nope"), SourceLookup::Unknown));
    }

    #[tokio::test]
    async fn when_optional_values_are_unset_then_sources_still_enable_without_them() {
        let env = [
            ("HUBSPOT_CLIENT_SECRET", "s"),
            ("RELAY_PUBLIC_URL", "https://relay.example.com"),
            ("SALESFORCE_ORGANIZATION_ID", ORG),
        ];
        let sources = resolve(None, &env).await.unwrap();
        assert!(found(&sources, "hubspot").hubspot_api.is_none());
        let Auth::Salesforce { url_token, .. } = &found(&sources, "salesforce-outbound").auth
        else {
            panic!("scheme")
        };
        assert!(url_token.is_none());
    }

    #[tokio::test]
    async fn when_a_default_is_overridden_then_given_fields_replace_and_others_stay() {
        let raw = r#"{"hubspot": {
            "public_url": "https://hooks.example.com/hs",
            "signature_versions": ["v3"],
            "signed_up_event": false,
            "tolerance_secs": 60,
            "mapping": {"external_id": "/user_id", "email": "/email"},
            "hubspot_api": {"base_url": "http://127.0.0.1:9999"}
        }}"#;
        let sources = resolve(Some(raw), &all_env()).await.unwrap();
        let hubspot = found(&sources, "hubspot");
        assert!(!hubspot.signed_up_event);
        assert_eq!(hubspot.mapping.external_id.as_str(), "/user_id");
        assert_eq!(hubspot.mapping.first_name, None, "mapping replaced whole");
        let Auth::Hubspot {
            public_url,
            versions,
            tolerance,
            client_secret,
        } = &hubspot.auth
        else {
            panic!("scheme")
        };
        assert_eq!(public_url, "https://hooks.example.com/hs");
        assert_eq!(versions, &[HubspotVersion::V3]);
        assert_eq!(*tolerance, Duration::from_secs(60));
        assert_eq!(client_secret.expose_secret(), "hubspot-secret");
        let api = hubspot.hubspot_api.as_ref().unwrap();
        assert_eq!(api.base_url, "http://127.0.0.1:9999");
        assert_eq!(api.token.expose_secret(), "pat-token", "default token kept");
    }

    #[tokio::test]
    async fn when_a_new_source_is_added_then_it_starts_from_its_schemes_defaults() {
        let raw = r#"{"crm-eu": {"scheme": "pipedrive", "secret": "env:EU_PASSWORD",
                      "actions": ["create", "change"]}}"#;
        let mut env = all_env();
        env.push(("EU_PASSWORD", "eu"));
        let sources = resolve(Some(raw), &env).await.unwrap();
        let eu = found(&sources, "crm-eu");
        assert_eq!(eu.scheme, Scheme::Pipedrive);
        assert_eq!(eu.actions, ["create", "change"]);
        assert_eq!(eu.mapping.external_id.as_str(), "/id");
        let Auth::Basic { username, password } = &eu.auth else {
            panic!("scheme")
        };
        assert_eq!(username, "pipedrive");
        assert_eq!(password.expose_secret(), "eu");
        assert_eq!(sources.names().count(), 5);
    }

    #[tokio::test]
    async fn when_a_declared_source_secret_is_unset_then_the_cold_start_fails_naming_it() {
        let raw = r#"{"crm-eu": {"scheme": "standard", "secret": "env:EU_SECRET"}}"#;
        let error = resolve(Some(raw), &[]).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "source crm-eu: cannot resolve env:EU_SECRET: environment variable EU_SECRET is not set (or is empty)"
        );
        // Overriding a built-in declares it too.
        let raw = r#"{"pipedrive": {"username": "crm"}}"#;
        let error = resolve(Some(raw), &[]).await.unwrap_err();
        assert!(matches!(&error, ConfigError::Secret { name, .. } if name == "pipedrive"));
    }

    #[tokio::test]
    async fn when_a_source_is_disabled_in_config_then_its_secret_is_not_needed() {
        let raw = r#"{"hubspot": {"enabled": false}}"#;
        let sources = resolve(Some(raw), &[]).await.unwrap();
        assert!(matches!(
            sources.get("hubspot"),
            SourceLookup::Disabled("source hubspot is disabled in RELAY_SOURCES")
        ));
    }

    #[tokio::test]
    async fn when_a_declared_hubspot_source_has_no_public_url_then_the_error_says_what_to_set() {
        let raw = r#"{"hubspot": {"signature_versions": ["v3"]}}"#;
        let env = [("HUBSPOT_CLIENT_SECRET", "s")];
        let error = resolve(Some(raw), &env).await.unwrap_err();
        assert!(matches!(&error, ConfigError::Unusable { name, .. } if name == "hubspot"));
        assert!(error.to_string().contains("RELAY_PUBLIC_URL"), "{error}");
    }

    #[tokio::test]
    async fn when_standard_webhooks_secret_is_not_base64_then_the_error_names_the_reference_only() {
        let env = [("RELAY_STANDARD_WEBHOOKS_SECRET", "whsec_not*base64")];
        let error = resolve(None, &env).await.unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("env:RELAY_STANDARD_WEBHOOKS_SECRET"),
            "{message}"
        );
        assert!(!message.contains("not*base64"), "{message}");
    }

    #[test]
    fn when_a_field_is_unknown_then_the_error_gives_its_path() {
        let (path, message) =
            decode_error(r#"{"hubspot": {"mapping": {"external_id": "/id", "emial": "/e"}}}"#);
        assert_eq!(path, "hubspot.mapping.emial");
        assert!(message.starts_with("unknown field `emial`"), "{message}");
        let error = SourcesConfig::from_env_json(Some(r#"{"hubspot": {"secrt": "env:X"}}"#))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("RELAY_SOURCES: at hubspot.secrt: unknown field `secrt`"),
            "{error}"
        );
    }

    #[test]
    fn when_a_pointer_is_bad_then_the_error_gives_its_path() {
        let (path, message) = decode_error(r#"{"hubspot": {"mapping": {"external_id": "id"}}}"#);
        assert_eq!(path, "hubspot.mapping.external_id");
        assert!(
            message.contains("must be empty or start with `/`"),
            "{message}"
        );
    }

    #[test]
    fn when_a_scheme_is_unknown_then_the_error_lists_the_schemes() {
        let (path, message) = decode_error(r#"{"zoho": {"scheme": "zoho", "secret": "env:Z"}}"#);
        assert_eq!(path, "zoho.scheme");
        assert!(message.contains("unknown variant `zoho`"), "{message}");
        assert!(message.contains("standard-webhooks"), "{message}");
    }

    #[test]
    fn when_a_secret_is_not_a_reference_then_the_error_does_not_echo_it() {
        let (path, message) = decode_error(r#"{"hubspot": {"secret": "raw-secret-value"}}"#);
        assert_eq!(path, "hubspot.secret");
        assert!(
            message.contains("env: or arn:aws:secretsmanager:"),
            "{message}"
        );
        assert!(!message.contains("raw-secret-value"), "{message}");
    }

    #[test]
    fn when_a_name_is_invalid_or_repeated_then_decoding_fails() {
        let (_, message) = decode_error(r#"{"Crm_EU": {"scheme": "pipedrive"}}"#);
        assert!(message.contains("a-z, 0-9 and -"), "{message}");
        let (_, message) = decode_error(
            r#"{"a": {"scheme": "pipedrive", "secret": "env:A"}, "a": {"scheme": "pipedrive", "secret": "env:A"}}"#,
        );
        assert!(message.contains("twice"), "{message}");
        let long = "a".repeat(65);
        decode_error(&format!(r#"{{"{long}": {{}}}}"#));
    }

    #[test]
    fn when_json_is_not_an_object_then_the_error_says_so() {
        let (path, message) = decode_error("[1]");
        assert_eq!(path, ".");
        assert!(
            message.contains("an object of sources by name"),
            "{message}"
        );
        decode_error(r#"{"hubspot": {}} trailing"#);
    }

    #[test]
    fn when_a_new_source_lacks_scheme_or_secret_then_it_is_invalid() {
        let missing_scheme =
            SourcesConfig::from_env_json(Some(r#"{"x": {"secret": "env:X"}}"#)).unwrap_err();
        assert!(
            missing_scheme.to_string().contains("needs a scheme"),
            "{missing_scheme}"
        );
        let missing_secret =
            SourcesConfig::from_env_json(Some(r#"{"x": {"scheme": "hubspot"}}"#)).unwrap_err();
        assert!(
            missing_secret.to_string().contains("needs a secret"),
            "{missing_secret}"
        );
        let salesforce = r#"{"x": {"scheme": "salesforce", "organization_id": "00D000000000062"}}"#;
        assert!(SourcesConfig::from_env_json(Some(salesforce)).is_ok());
    }

    #[test]
    fn when_a_field_does_not_fit_the_scheme_or_is_out_of_range_then_it_is_invalid() {
        for (raw, expected) in [
            (
                r#"{"pipedrive": {"public_url": "https://x.test"}}"#,
                "public_url applies to hubspot",
            ),
            (r#"{"hubspot": {"scheme": "pipedrive"}}"#, "cannot change"),
            (
                r#"{"hubspot": {"tolerance_secs": 0}}"#,
                "tolerance_secs must be between",
            ),
            (
                r#"{"salesforce-outbound": {"tolerance_secs": 10}}"#,
                "tolerance_secs applies",
            ),
            (
                r#"{"hubspot": {"public_url": "https://x.test/a?b=c"}}"#,
                "query",
            ),
            (
                r#"{"hubspot": {"public_url": "/webhooks/hubspot"}}"#,
                "absolute",
            ),
            (
                r#"{"hubspot": {"signature_versions": []}}"#,
                "must not be empty",
            ),
            (
                r#"{"pipedrive": {"actions": ["delete"]}}"#,
                "create, change",
            ),
            (r#"{"pipedrive": {"username": "a:b"}}"#, "username"),
            (
                r#"{"salesforce-outbound": {"organization_id": "00D000000000062XXX"}}"#,
                "checksum",
            ),
        ] {
            let error = SourcesConfig::from_env_json(Some(raw))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{raw}: {error}");
        }
    }

    #[test]
    fn when_sources_are_built_for_tests_then_lookup_finds_them() {
        let source = Source {
            name: "t".into(),
            scheme: Scheme::Pipedrive,
            auth: Auth::Basic {
                username: "u".into(),
                password: SecretString::from("p"),
            },
            mapping: FieldMapping {
                external_id: Pointer::parse("/id").unwrap(),
                email: None,
                first_name: None,
                last_name: None,
                phone: None,
                country: None,
                language: None,
                time_zone: None,
                dob: None,
                company_id: None,
                company_name: None,
                company_plan: None,
                signed_up_at: None,
                custom: BTreeMap::new(),
            },
            signed_up_event: true,
            actions: vec!["create".into()],
            hubspot_api: None,
        };
        let sources = Sources::for_tests(vec![source]).with_disabled("off", "because");
        assert!(matches!(sources.get("t"), SourceLookup::Found(s) if s.name == "t"));
        assert!(matches!(
            sources.get("off"),
            SourceLookup::Disabled("because")
        ));
        assert_eq!(sources.names().collect::<Vec<_>>(), ["off", "t"]);
    }
}
