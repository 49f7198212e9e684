//! Cold start: every enabled source's secrets read, its environment defaults applied, and the
//! typed [`Source`] built.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretSlice, SecretString};

use super::error::SourcesError;
use super::spec::{
    SchemeSpec, SourceSpec, SourcesConfig, UrlTokenSpec, check_base_url, check_public_url,
};
use super::{
    ALLOW_UNAUTHENTICATED, DEFAULT_HUBSPOT_API_URL, Entry, HUBSPOT_API_BASE_URL, HubspotApi,
    RELAY_PUBLIC_URL, RELAY_SOURCES, SALESFORCE_ORGANIZATION_ID, SchemeSettings, Source, Sources,
};
use crate::crm::outbound::webhook_url;
use crate::crm::signature::{decode_standard_webhooks_secret, is_salesforce_id};
use crate::secrets::{SecretError, SecretRef, SecretResolver};

impl SourcesConfig {
    /// Reads every enabled source's secrets through `secrets` and builds the [`Sources`].
    /// See the module documentation for when a source is disabled rather than an error.
    pub async fn resolve(self, secrets: &SecretResolver) -> Result<Sources, SourcesError> {
        let mut entries = BTreeMap::new();
        for spec in self.specs {
            let scheme = spec.scheme.scheme();
            let entry = if !spec.enabled {
                Entry::Disabled {
                    scheme,
                    reason: format!("source {} is disabled in {RELAY_SOURCES}", spec.name),
                }
            } else {
                match resolve_source(&spec, secrets).await? {
                    Resolved::Enabled(source) => Entry::Enabled(source),
                    Resolved::Missing(missing) => Entry::Disabled {
                        scheme,
                        reason: format!(
                            "source {} is not enabled: set {}",
                            spec.name,
                            missing.join(" and ")
                        ),
                    },
                }
            };
            entries.insert(spec.name, entry);
        }
        Ok(Sources { entries })
    }
}

enum Resolved {
    Enabled(Box<Source>),
    /// What to set for this built-in source to work (it is then disabled, not an error).
    Missing(Vec<String>),
}

/// One source being resolved: what is missing so far, and how to report it.
struct Resolution<'a> {
    spec: &'a SourceSpec,
    secrets: &'a SecretResolver,
    /// What the environment lacks (what to set, and the error a declared source gets).
    missing: Vec<(String, SourcesError)>,
}

impl Resolution<'_> {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn unusable(&self, message: String) -> SourcesError {
        SourcesError::Unusable {
            name: self.name().to_owned(),
            message,
        }
    }

    fn secret_error(&self, reference: &SecretRef, error: SecretError) -> SourcesError {
        SourcesError::Secret {
            name: self.name().to_owned(),
            reference: reference.to_string(),
            error,
        }
    }

    /// Reads a secret the source cannot work without. An unset variable of an undeclared
    /// built-in source is recorded as missing (the source is then disabled); anything else
    /// that fails is an error.
    async fn required_secret(
        &mut self,
        reference: &SecretRef,
    ) -> Result<Option<SecretString>, SourcesError> {
        match self.secrets.resolve(reference).await {
            Ok(value) => Ok(Some(value)),
            Err(SecretError::EnvUnset { name: variable }) if !self.spec.declared => {
                let error = self.secret_error(
                    reference,
                    SecretError::EnvUnset {
                        name: variable.clone(),
                    },
                );
                self.missing.push((variable, error));
                Ok(None)
            }
            Err(error) => Err(self.secret_error(reference, error)),
        }
    }

    /// Reads a secret the source can do without: unset (and not `explicit`ly written in
    /// `RELAY_SOURCES`) is `None`.
    async fn optional_secret(
        &self,
        reference: &SecretRef,
        explicit: bool,
    ) -> Result<Option<SecretString>, SourcesError> {
        match self.secrets.resolve(reference).await {
            Ok(value) => Ok(Some(value)),
            Err(SecretError::EnvUnset { .. }) if !explicit => Ok(None),
            Err(error) => Err(self.secret_error(reference, error)),
        }
    }

    /// A Salesforce source's URL token, which it cannot work without (unless its configuration
    /// allows unauthenticated messages, see [`Resolution::optional_secret`]). Unset, it is
    /// recorded as missing with both ways out: set it, or opt out explicitly.
    async fn url_token(
        &mut self,
        reference: &SecretRef,
    ) -> Result<Option<SecretString>, SourcesError> {
        match self.secrets.resolve(reference).await {
            Ok(value) => Ok(Some(value)),
            Err(SecretError::EnvUnset { name: variable }) => {
                let error = self.unusable(format!(
                    "a salesforce-outbound source needs its URL token: set {variable}, or set {ALLOW_UNAUTHENTICATED}: true in {RELAY_SOURCES} to accept messages authenticated only by their organization id (not a secret: anyone who knows it could create or overwrite contacts)"
                ));
                self.missing.push((
                    format!("{variable} (or {ALLOW_UNAUTHENTICATED} in {RELAY_SOURCES})"),
                    error,
                ));
                Ok(None)
            }
            Err(error) => Err(self.secret_error(reference, error)),
        }
    }

    /// Where HubSpot contacts are read: configured, else `$HUBSPOT_API_BASE_URL`, else
    /// HubSpot's API. A malformed variable is an error naming it.
    fn hubspot_api_base_url(&self, configured: Option<&String>) -> Result<String, SourcesError> {
        if let Some(url) = configured {
            return Ok(url.clone());
        }
        match self.secrets.env_var(HUBSPOT_API_BASE_URL) {
            Some(url) => {
                check_base_url(&url).map_err(|problem| {
                    self.unusable(format!("{HUBSPOT_API_BASE_URL} {problem}"))
                })?;
                Ok(url)
            }
            None => Ok(DEFAULT_HUBSPOT_API_URL.to_owned()),
        }
    }

    /// HubSpot's signed URL: configured, or `$RELAY_PUBLIC_URL/webhooks/{name}`.
    fn public_url(&mut self, configured: Option<&String>) -> Result<Option<String>, SourcesError> {
        match (configured, self.secrets.env_var(RELAY_PUBLIC_URL)) {
            (Some(url), _) => Ok(Some(url.clone())),
            (None, Some(base)) => {
                let url = webhook_url(&base, self.name());
                check_public_url(&url).map_err(|problem| {
                    self.unusable(format!(
                        "{RELAY_PUBLIC_URL} {problem} (it is the base of public_url)"
                    ))
                })?;
                Ok(Some(url))
            }
            (None, None) => {
                let error = self.unusable(format!(
                    "a hubspot source needs public_url (the URL HubSpot calls), or {RELAY_PUBLIC_URL} to derive it"
                ));
                self.missing.push((
                    format!("{RELAY_PUBLIC_URL} (or public_url in {RELAY_SOURCES})"),
                    error,
                ));
                Ok(None)
            }
        }
    }

    /// Salesforce's organization id: configured, or (built-in source only)
    /// `SALESFORCE_ORGANIZATION_ID`.
    fn organization_id(
        &mut self,
        configured: Option<&String>,
    ) -> Result<Option<String>, SourcesError> {
        let from_env = self
            .spec
            .builtin
            .then(|| self.secrets.env_var(SALESFORCE_ORGANIZATION_ID))
            .flatten();
        match (configured, from_env) {
            (Some(id), _) => Ok(Some(id.clone())),
            (None, Some(id)) if is_salesforce_id(&id) => Ok(Some(id)),
            (None, Some(_)) => Err(self.unusable(format!(
                "{SALESFORCE_ORGANIZATION_ID} must be a Salesforce id: 15 letters and digits, or 18 with a valid checksum"
            ))),
            (None, None) => {
                let what = if self.spec.builtin {
                    format!("{SALESFORCE_ORGANIZATION_ID} (or organization_id in {RELAY_SOURCES})")
                } else {
                    format!("organization_id in {RELAY_SOURCES}")
                };
                let error = self.unusable("a salesforce-outbound source needs organization_id".into());
                self.missing.push((what, error));
                Ok(None)
            }
        }
    }

    /// The HubSpot API client settings, when a token is configured and set.
    async fn hubspot_api(
        &self,
        base_url: &str,
        token: Option<&SecretRef>,
        explicit: bool,
    ) -> Result<Option<HubspotApi>, SourcesError> {
        let Some(reference) = token else {
            return Ok(None);
        };
        let token = self.optional_secret(reference, explicit).await?;
        if token.is_none() {
            tracing::info!(
                source = self.name(),
                reference = %reference,
                "no HubSpot API token: events that only name a contact cannot be read"
            );
        }
        Ok(token.map(|token| HubspotApi {
            base_url: base_url.to_owned(),
            token,
        }))
    }
}

/// Resolves one enabled source. Something missing that only the environment gives makes an
/// undeclared built-in source [`Resolved::Missing`]; for a declared source it is an error.
async fn resolve_source(
    spec: &SourceSpec,
    secrets: &SecretResolver,
) -> Result<Resolved, SourcesError> {
    let mut at = Resolution {
        spec,
        secrets,
        missing: Vec::new(),
    };
    // Each arm reads everything first (so every missing variable is reported at once), then
    // builds the settings only when nothing is missing.
    let settings = match &spec.scheme {
        SchemeSpec::StandardWebhooks { secret, tolerance } => {
            let value = at.required_secret(secret).await?;
            match value {
                None => None,
                Some(value) => {
                    let key = decode_standard_webhooks_secret(value.expose_secret()).map_err(
                        |error| at.unusable(format!("the secret {secret} is not usable: {error}")),
                    )?;
                    Some(SchemeSettings::StandardWebhooks {
                        key: SecretSlice::from(key),
                        tolerance: *tolerance,
                    })
                }
            }
        }
        SchemeSpec::Hubspot {
            secret,
            tolerance,
            public_url,
            versions,
            api_base_url,
            api_token,
            api_token_explicit,
        } => {
            let api_base_url = at.hubspot_api_base_url(api_base_url.as_ref())?;
            let client_secret = at.required_secret(secret).await?;
            let public_url = at.public_url(public_url.as_ref())?;
            match (client_secret, public_url) {
                (Some(client_secret), Some(public_url)) => {
                    let api = at
                        .hubspot_api(&api_base_url, api_token.as_ref(), *api_token_explicit)
                        .await?;
                    Some(SchemeSettings::Hubspot {
                        client_secret,
                        public_url,
                        versions: versions.clone(),
                        tolerance: *tolerance,
                        api,
                    })
                }
                _ => None,
            }
        }
        SchemeSpec::SalesforceOutbound {
            url_token,
            organization_id,
        } => {
            // A required token that is missing is recorded in `missing`, which keeps the
            // source from being enabled below.
            let url_token = match url_token {
                UrlTokenSpec::Required(reference) => at.url_token(reference).await?,
                UrlTokenSpec::Optional {
                    reference: Some(reference),
                    explicit,
                } => at.optional_secret(reference, *explicit).await?,
                UrlTokenSpec::Optional {
                    reference: None, ..
                } => None,
            };
            at.organization_id(organization_id.as_ref())?
                .map(|organization_id| SchemeSettings::SalesforceOutbound {
                    organization_id,
                    url_token,
                })
        }
        SchemeSpec::Pipedrive {
            password,
            username,
            actions,
        } => at
            .required_secret(password)
            .await?
            .map(|password| SchemeSettings::Pipedrive {
                username: username.clone(),
                password,
                actions: actions.clone(),
            }),
    };

    match settings {
        Some(settings) if at.missing.is_empty() => Ok(Resolved::Enabled(Box::new(Source {
            name: spec.name.clone(),
            mapping: spec.mapping.clone(),
            send_signup_event: spec.send_signup_event,
            settings,
        }))),
        _ if spec.declared && !at.missing.is_empty() => Err(at.missing.swap_remove(0).1),
        _ => Ok(Resolved::Missing(
            at.missing.into_iter().map(|(what, _)| what).collect(),
        )),
    }
}
