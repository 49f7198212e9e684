//! Named webhook sources. STUB: replaced by the signatures/sources work.

use secrecy::SecretString;

use super::mapping::FieldMapping;
use super::signature::Auth;

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
    /// Pipedrive: which `meta.action`s are contacts to sync (default `create`).
    pub actions: Vec<String>,
    /// HubSpot: reading contacts named by events.
    pub hubspot_api: Option<HubspotApi>,
}

/// The result of looking a name up.
#[derive(Debug)]
pub enum SourceLookup<'a> {
    /// Configured and enabled.
    Found(&'a Source),
    /// Known but not usable (its secret is not set), with why.
    Disabled(&'a str),
    /// No source has this name.
    Unknown,
}

/// Every source.
#[derive(Debug, Clone, Default)]
pub struct Sources {}

impl Sources {
    /// Looks `name` up.
    pub fn get(&self, _name: &str) -> SourceLookup<'_> {
        SourceLookup::Unknown
    }
}
