//! Sources merged (built-in defaults under `RELAY_SOURCES`) and checked against their scheme,
//! typed per scheme, before any secret is read.

use std::time::Duration;

use super::error::SourcesError;
use super::json::{HubspotApiSettings, SourceSettings, decode};
use super::{
    ALLOW_UNAUTHENTICATED, DEFAULT_SOURCES_JSON, MAX_TOLERANCE_SECS, PIPEDRIVE_ACTIONS,
    RELAY_SOURCES, Scheme,
};
use crate::crm::mapping::FieldMapping;
use crate::crm::signature::{DEFAULT_TOLERANCE, HubspotVersion, is_salesforce_id};
use crate::secrets::SecretRef;

const DEFAULTS_ORIGIN: &str = "embedded default sources";

/// One source, merged and checked but not resolved.
#[derive(Debug, Clone)]
pub(super) struct SourceSpec {
    pub(super) name: String,
    /// A built-in source (its environment defaults apply).
    pub(super) builtin: bool,
    /// Mentioned in `RELAY_SOURCES`: every failure to resolve is then a cold-start error.
    pub(super) declared: bool,
    pub(super) mapping: FieldMapping,
    pub(super) send_signup_event: bool,
    pub(super) enabled: bool,
    pub(super) scheme: SchemeSpec,
}

/// What each scheme takes, checked, with secrets still as references.
#[derive(Debug, Clone)]
pub(super) enum SchemeSpec {
    StandardWebhooks {
        secret: SecretRef,
        tolerance: Duration,
    },
    Hubspot {
        secret: SecretRef,
        tolerance: Duration,
        /// `None`: derived from `RELAY_PUBLIC_URL` at resolution.
        public_url: Option<String>,
        versions: Vec<HubspotVersion>,
        /// `None`: `HUBSPOT_API_BASE_URL`, else HubSpot's API, at resolution.
        api_base_url: Option<String>,
        api_token: Option<SecretRef>,
        /// The token was written in `RELAY_SOURCES`: it must then resolve.
        api_token_explicit: bool,
    },
    SalesforceOutbound {
        url_token: UrlTokenSpec,
        /// `None`: the built-in source reads `SALESFORCE_ORGANIZATION_ID` at resolution.
        organization_id: Option<String>,
    },
    Pipedrive {
        password: SecretRef,
        username: String,
        actions: Vec<String>,
    },
}

impl SchemeSpec {
    /// The scheme these settings are for.
    pub(super) fn scheme(&self) -> Scheme {
        match self {
            SchemeSpec::StandardWebhooks { .. } => Scheme::StandardWebhooks,
            SchemeSpec::Hubspot { .. } => Scheme::Hubspot,
            SchemeSpec::SalesforceOutbound { .. } => Scheme::SalesforceOutbound,
            SchemeSpec::Pipedrive { .. } => Scheme::Pipedrive,
        }
    }
}

/// How a Salesforce source's URL token resolves.
#[derive(Debug, Clone)]
pub(super) enum UrlTokenSpec {
    /// The default: unset, the source is not enabled (declared: the cold start fails).
    Required(SecretRef),
    /// `allow_unauthenticated`: the token is checked when it resolves; without one, only the
    /// organization id authenticates messages.
    Optional {
        reference: Option<SecretRef>,
        /// The token was written in `RELAY_SOURCES`: it must then resolve.
        explicit: bool,
    },
}

/// Where a source's settings came from, which decides how strictly it resolves.
#[derive(Debug, Clone, Copy)]
struct Provenance {
    builtin: bool,
    declared: bool,
    secret_explicit: bool,
    api_token_explicit: bool,
}

/// The sources as configured, before any secret is read.
#[derive(Debug, Clone)]
pub struct SourcesConfig {
    pub(super) specs: Vec<SourceSpec>,
}

impl SourcesConfig {
    /// Decodes the built-in sources and `RELAY_SOURCES` (`raw`; `None` or blank: built-ins
    /// only), merges them and checks every source's settings against its scheme. Pure.
    pub fn from_env_json(raw: Option<&str>) -> Result<SourcesConfig, SourcesError> {
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
                    Provenance {
                        builtin: true,
                        declared: false,
                        secret_explicit: false,
                        api_token_explicit: false,
                    },
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
}

/// A built-in source with the fields `RELAY_SOURCES` gives laid over it.
fn merge_builtin(
    name: &str,
    builtin: &SourceSettings,
    given: &SourceSettings,
) -> Result<SourceSpec, SourcesError> {
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
        send_signup_event: given.send_signup_event.or(builtin.send_signup_event),
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
        allow_unauthenticated: given
            .allow_unauthenticated
            .or(builtin.allow_unauthenticated),
        enabled: given.enabled.or(builtin.enabled),
    };
    spec_from(
        RELAY_SOURCES,
        name,
        merged,
        Provenance {
            builtin: true,
            declared: true,
            secret_explicit: given.secret.is_some(),
            api_token_explicit: given_api.token.is_some(),
        },
    )
}

/// A source `RELAY_SOURCES` adds: its scheme's built-in settings, except the secret, under
/// what it gives. (A Salesforce source without a secret is refused by [`spec_from`] unless it
/// sets `allow_unauthenticated`.)
fn new_source(
    name: &str,
    given: &SourceSettings,
    defaults: &[(String, SourceSettings)],
) -> Result<SourceSpec, SourcesError> {
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

/// Checks merged settings against their scheme, fills the remaining defaults, and types them
/// per scheme.
fn spec_from(
    origin: &'static str,
    name: &str,
    settings: SourceSettings,
    provenance: Provenance,
) -> Result<SourceSpec, SourcesError> {
    let fail = |message: String| invalid(origin, name, message);
    let scheme = settings
        .scheme
        .ok_or_else(|| fail("a source needs a scheme".into()))?;
    if let Some(field) = settings
        .scheme_fields()
        .into_iter()
        .find(|field| !scheme.fields().contains(field))
    {
        let takers: Vec<&str> = Scheme::ALL
            .into_iter()
            .filter(|other| other.fields().contains(&field))
            .map(Scheme::as_str)
            .collect();
        let why = if field == ALLOW_UNAUTHENTICATED {
            " (its requests are signed or carry credentials, checked with its secret)"
        } else {
            ""
        };
        return Err(fail(format!(
            "{field} applies to {} sources only, not {scheme}{why}",
            takers.join(" and ")
        )));
    }
    let mapping = settings
        .mapping
        .ok_or_else(|| fail("a source needs a mapping".into()))?;
    let secret = |settings_secret: Option<SecretRef>| {
        settings_secret.ok_or_else(|| {
            fail("a source needs a secret (env:NAME or a Secrets Manager ARN)".into())
        })
    };

    let scheme_spec = match scheme {
        Scheme::StandardWebhooks => SchemeSpec::StandardWebhooks {
            secret: secret(settings.secret)?,
            tolerance: tolerance(settings.tolerance_secs).map_err(&fail)?,
        },
        Scheme::Hubspot => {
            if let Some(url) = &settings.public_url {
                check_public_url(url).map_err(|problem| fail(format!("public_url {problem}")))?;
            }
            let versions = match settings.signature_versions {
                Some(versions) => {
                    if versions.is_empty() {
                        return Err(fail("signature_versions must not be empty".into()));
                    }
                    if (1..versions.len()).any(|i| versions[..i].contains(&versions[i])) {
                        return Err(fail("signature_versions lists a version twice".into()));
                    }
                    versions
                }
                // v2 / v1 sign no time: only when configured (then with the replay guard).
                None => vec![HubspotVersion::V3],
            };
            let api = settings.hubspot_api.unwrap_or_default();
            if let Some(url) = &api.base_url {
                check_base_url(url)
                    .map_err(|problem| fail(format!("hubspot_api.base_url {problem}")))?;
            }
            SchemeSpec::Hubspot {
                secret: secret(settings.secret)?,
                tolerance: tolerance(settings.tolerance_secs).map_err(&fail)?,
                public_url: settings.public_url,
                versions,
                api_base_url: api.base_url,
                api_token: api.token,
                api_token_explicit: provenance.api_token_explicit,
            }
        }
        Scheme::SalesforceOutbound => {
            if let Some(id) = &settings.organization_id
                && !is_salesforce_id(id)
            {
                return Err(fail(
                    "organization_id must be a Salesforce id: 15 letters and digits, or 18 with a valid checksum".into(),
                ));
            }
            let url_token = match (settings.secret, settings.allow_unauthenticated) {
                (reference, Some(true)) => UrlTokenSpec::Optional {
                    reference,
                    explicit: provenance.secret_explicit,
                },
                (Some(reference), _) => UrlTokenSpec::Required(reference),
                (None, _) => {
                    return Err(fail(format!(
                        "a salesforce-outbound source needs a secret (its URL token: env:NAME or a Secrets Manager ARN), or {ALLOW_UNAUTHENTICATED}: true to accept messages authenticated only by their organization id"
                    )));
                }
            };
            SchemeSpec::SalesforceOutbound {
                url_token,
                organization_id: settings.organization_id,
            }
        }
        Scheme::Pipedrive => {
            let username = match settings.username {
                Some(user) if user.is_empty() || user.contains(':') => {
                    return Err(fail(
                        "username must be non-empty and must not contain `:`".into(),
                    ));
                }
                Some(user) => user,
                None => return Err(fail("a pipedrive source needs a username".into())),
            };
            let actions = match settings.actions {
                Some(actions) => {
                    if actions.is_empty() {
                        return Err(fail("actions must not be empty".into()));
                    }
                    if actions
                        .iter()
                        .any(|action| !PIPEDRIVE_ACTIONS.contains(&action.as_str()))
                    {
                        return Err(fail(format!(
                            "actions may only contain {}",
                            PIPEDRIVE_ACTIONS.join(", ")
                        )));
                    }
                    actions
                }
                None => vec!["create".to_owned()],
            };
            SchemeSpec::Pipedrive {
                password: secret(settings.secret)?,
                username,
                actions,
            }
        }
    };

    Ok(SourceSpec {
        name: name.to_owned(),
        builtin: provenance.builtin,
        declared: provenance.declared,
        mapping,
        send_signup_event: settings.send_signup_event.unwrap_or(true),
        enabled: settings.enabled.unwrap_or(true),
        scheme: scheme_spec,
    })
}

/// `tolerance_secs`, or the default, within 1 s and [`MAX_TOLERANCE_SECS`].
fn tolerance(secs: Option<u64>) -> Result<Duration, String> {
    match secs {
        None => Ok(DEFAULT_TOLERANCE),
        Some(secs) if (1..=MAX_TOLERANCE_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        Some(_) => Err(format!(
            "tolerance_secs must be between 1 and {MAX_TOLERANCE_SECS}"
        )),
    }
}

fn invalid(origin: &'static str, name: &str, message: impl Into<String>) -> SourcesError {
    SourcesError::Invalid {
        origin,
        name: name.to_owned(),
        message: message.into(),
    }
}

/// An absolute http(s) URL with a host; the error completes a sentence naming the setting.
pub(super) fn check_base_url(raw: &str) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute http or https URL")?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err("must be an absolute http or https URL");
    }
    Ok(url)
}

/// HubSpot signs the URL it calls, and the request's query is appended at verification, so
/// the configured URL has no query or fragment of its own.
pub(super) fn check_public_url(raw: &str) -> Result<(), &'static str> {
    let url = check_base_url(raw)?;
    if url.query().is_some() || url.fragment().is_some() || raw.contains(['?', '#']) {
        return Err("must not have a query or a fragment");
    }
    Ok(())
}
