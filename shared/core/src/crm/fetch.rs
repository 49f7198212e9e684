//! Contacts that events only name: HubSpot subscription events carry object ids, not fields,
//! so the contacts are read from HubSpot's API before intake.

use std::collections::HashMap;

use tokio::time::{Instant, timeout_at};

use super::sources::{SchemeSettings, Source, Sources, SourcesError};
use super::{Payload, Record};
use relay_clients::hubspot::{HubspotClient, HubspotConfig, HubspotError};
use relay_clients::upstream::FailureClass;

/// A HubSpot API client for every enabled source that has a token: the cold-start build of
/// what [`records_with_named_contacts`] reads through.
pub fn hubspot_clients(
    sources: &Sources,
    http: &reqwest::Client,
) -> Result<HashMap<String, HubspotClient>, SourcesError> {
    let mut clients = HashMap::new();
    for source in sources.enabled() {
        let SchemeSettings::Hubspot { api: Some(api), .. } = &source.settings else {
            continue;
        };
        let config = HubspotConfig::new(api.base_url.clone(), api.token.clone());
        let client =
            HubspotClient::new(config, http.clone()).map_err(|error| SourcesError::Unusable {
                name: source.name.clone(),
                message: format!("hubspot_api: {error}"),
            })?;
        clients.insert(source.name.clone(), client);
    }
    Ok(clients)
}

/// Why the contacts an event named could not be read. Nothing was processed; the CRM should
/// send the webhook again (or the operator fix the source).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Events name contacts but the source has no HubSpot API token to read them.
    #[error(
        "source `{source_name}` received events that name contacts, but no HubSpot API token is configured to read them"
    )]
    NoApiClient {
        /// The source.
        source_name: String,
    },
    /// HubSpot refused the token (401/403): configuration, not the request.
    #[error("HubSpot refused the token of source `{source_name}`: {error}")]
    Refused {
        /// The source.
        source_name: String,
        /// HubSpot's answer.
        #[source]
        error: HubspotError,
    },
    /// HubSpot failed or throttled; a later delivery of the webhook may succeed.
    #[error("reading contacts from HubSpot failed: {0}")]
    Unavailable(#[source] HubspotError),
    /// HubSpot did not answer before the request's deadline.
    #[error("HubSpot did not answer the contact read before the deadline; send the webhook again")]
    Deadline,
}

/// The payload's records plus those its events name, read from HubSpot, and how many named
/// contacts HubSpot no longer has.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Records carried in the body, then records read from HubSpot.
    pub records: Vec<Record>,
    /// Named contacts HubSpot does not have (deleted since the event).
    pub not_found: usize,
}

/// Reads the contacts `payload`'s events name through `client` (the source's HubSpot API,
/// when configured), before `deadline`; a contact only `propertyChange` events named is an
/// update, not a signup.
pub async fn records_with_named_contacts(
    source: &Source,
    client: Option<&HubspotClient>,
    payload: Payload,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let mut records = payload.records;
    if payload.fetch.is_empty() {
        return Ok(Fetched {
            records,
            not_found: 0,
        });
    }
    let client = client.ok_or_else(|| FetchError::NoApiClient {
        source_name: source.name.clone(),
    })?;
    let properties = source.mapping.property_names();
    let read = timeout_at(deadline, client.read_contacts(&payload.fetch, &properties))
        .await
        .map_err(|_| FetchError::Deadline)?;
    let read = read.map_err(|error| {
        tracing::warn!(api = "hubspot", class = ?error.class(), "contact read failed");
        match error.class() {
            FailureClass::Misconfigured => FetchError::Refused {
                source_name: source.name.clone(),
                error,
            },
            _ => FetchError::Unavailable(error),
        }
    })?;
    records.extend(read.found.iter().map(|contact| Record {
        value: contact.to_record(),
        location: format!("hubspot:{}", contact.id),
        dedupe_key: None,
        signup: !payload.fetch_updates.contains(&contact.id),
    }));
    Ok(Fetched {
        records,
        not_found: read.missing.len(),
    })
}
