//! The HubSpot client: its configuration, the contact reads (`GET` one contact, batch-read
//! many) and how a batch read's answers become one [`ContactsRead`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use secrecy::SecretString;

use super::error::HubspotError;
use super::models::{
    BatchReadBody, BatchReadResponse, ContactsRead, HubspotContact, Input, RawContact, text_of,
};
use crate::upstream::{
    BadCredential, BaseUrl, Idempotency, Rate, RateLimiter, RetryPolicy, Upstream, bearer_header,
    decode_json, json_bytes,
};

/// HubSpot's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// Default client-side request rate. Private apps get 100 (Free/Starter) to 190
/// (Professional/Enterprise) requests per 10 seconds, shared by every app of the portal.
pub const DEFAULT_RATE_PER_SECOND: u32 = 10;

/// Most inputs HubSpot accepts in one batch read.
pub const BATCH_READ_MAX_INPUTS: usize = 100;

/// Batch-read chunks one call keeps in flight.
pub const BATCH_READ_CONCURRENCY: usize = 4;

/// The private app scope contact reads need.
pub const REQUIRED_SCOPE: &str = "crm.objects.contacts.read";

/// The properties HubSpot returns when a read names none (besides `hs_object_id`,
/// `createdate` and `lastmodifieddate`, which it always returns).
pub const DEFAULT_PROPERTIES: [&str; 3] = ["email", "firstname", "lastname"];

/// The API name used in upstream errors and logs.
pub(super) const API_NAME: &str = "hubspot";

/// Path segments of the contacts object under the base URL.
const CONTACTS_PATH: [&str; 4] = ["crm", "v3", "objects", "contacts"];

/// How to reach one HubSpot portal.
#[derive(Debug, Clone)]
pub struct HubspotConfig {
    /// API base URL: [`DEFAULT_BASE_URL`] or a sandbox. Trailing slashes are ignored; a path
    /// prefix is kept.
    pub base_url: String,
    /// The private app's access token (`pat-...`), with the `crm.objects.contacts.read` scope.
    pub token: SecretString,
    /// Client-side request rate for this process.
    pub rate: Rate,
    /// Retry policy for 429, 5xx and transport errors.
    pub retry: RetryPolicy,
}

impl HubspotConfig {
    /// A configuration for any base URL (HubSpot, a sandbox, a proxy) with the default rate
    /// and retry policy.
    pub fn new(base_url: impl Into<String>, token: SecretString) -> HubspotConfig {
        let per_second =
            NonZeroU32::new(DEFAULT_RATE_PER_SECOND).expect("the default rate is not zero");
        HubspotConfig {
            base_url: base_url.into(),
            token,
            rate: Rate::per_second(per_second),
            retry: RetryPolicy::default(),
        }
    }

    /// A configuration for HubSpot's own host ([`DEFAULT_BASE_URL`]).
    pub fn hubapi(token: SecretString) -> HubspotConfig {
        HubspotConfig::new(DEFAULT_BASE_URL, token)
    }
}

/// A HubSpot CRM client. Cheap to clone: clones share the HTTP pool and the rate limiter.
#[derive(Debug, Clone)]
pub struct HubspotClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: Upstream,
    base_url: BaseUrl,
    /// Authorization (marked sensitive) and Accept.
    headers: HeaderMap,
}

impl HubspotClient {
    /// Builds a client over a shared HTTP client (see
    /// [`http_client`](crate::upstream::http_client)).
    ///
    /// Fails with [`HubspotError::InvalidConfig`] for an unusable base URL or token.
    pub fn new(
        config: HubspotConfig,
        http: reqwest::Client,
    ) -> Result<HubspotClient, HubspotError> {
        let base_url = BaseUrl::parse(&config.base_url).map_err(HubspotError::InvalidConfig)?;
        let authorization = bearer_header(&config.token).map_err(|problem| {
            HubspotError::InvalidConfig(match problem {
                BadCredential::Empty => "token is empty",
                BadCredential::NotHeaderSafe => "token contains characters not allowed in a header",
            })
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let limiter = Arc::new(RateLimiter::new(config.rate));
        Ok(HubspotClient {
            inner: Arc::new(Inner {
                upstream: Upstream::new(API_NAME, http, config.retry, limiter),
                base_url,
                headers,
            }),
        })
    }

    /// The normalised base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// Starts a batch read of contacts by id; ends with [`BatchReadRequest::send`].
    pub fn batch_read<I, S>(&self, ids: I) -> BatchReadRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        BatchReadRequest {
            client: self,
            ids: ids.into_iter().map(Into::into).collect(),
            properties: Vec::new(),
            id_property: None,
        }
    }

    /// Reads contacts by HubSpot object id with the given properties (none: HubSpot's
    /// defaults). See [`BatchReadRequest::send`].
    pub async fn read_contacts(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<ContactsRead, HubspotError> {
        self.batch_read(ids.iter().cloned())
            .properties(properties.iter().cloned())
            .send()
            .await
    }

    /// Reads contacts by a unique property (`idProperty`, e.g. `email`): `values` are that
    /// property's values, and `missing` lists the values nothing answered for.
    pub async fn read_contacts_by(
        &self,
        id_property: &str,
        values: &[String],
        properties: &[String],
    ) -> Result<ContactsRead, HubspotError> {
        self.batch_read(values.iter().cloned())
            .properties(properties.iter().cloned())
            .id_property(id_property)
            .send()
            .await
    }

    /// `GET /crm/v3/objects/contacts/{id}?properties=a,b`: one contact, `None` when HubSpot
    /// answers 404.
    pub async fn get_contact(
        &self,
        id: &str,
        properties: &[String],
    ) -> Result<Option<HubspotContact>, HubspotError> {
        if id.trim().is_empty() {
            return Err(HubspotError::InvalidRequest("contact id is empty"));
        }
        if matches!(id, "." | "..") {
            return Err(HubspotError::InvalidRequest(
                "an id of `.` or `..` cannot be placed in a path",
            ));
        }
        let joined = dedup(properties.iter().cloned()).join(",");
        let query: Vec<(&str, &str)> = if joined.is_empty() {
            Vec::new()
        } else {
            vec![("properties", joined.as_str())]
        };
        let mut segments = CONTACTS_PATH.to_vec();
        segments.push(id);
        let url = self.inner.base_url.join(&segments, &query);
        let inner = &self.inner;
        let response = match inner
            .upstream
            .send(
                None,
                Idempotency::Idempotent,
                Method::GET,
                &url,
                &inner.headers,
                None,
            )
            .await
        {
            Ok(response) => response,
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let raw: RawContact = decode_json(&response.body).map_err(HubspotError::Decode)?;
        Ok(raw.into_contact())
    }

    /// Sends one batch-read chunk and decodes the answer (200 or 207).
    async fn read_chunk(&self, body: bytes::Bytes) -> Result<BatchReadResponse, HubspotError> {
        let mut segments = CONTACTS_PATH.to_vec();
        segments.extend(["batch", "read"]);
        let url = self.inner.base_url.join(&segments, &[]);
        let inner = &self.inner;
        let response = inner
            .upstream
            .send(
                None,
                Idempotency::Idempotent,
                Method::POST,
                &url,
                &inner.headers,
                Some(body),
            )
            .await?;
        decode_json(&response.body).map_err(HubspotError::Decode)
    }
}

/// Builder for `POST /crm/v3/objects/contacts/batch/read`; ends with
/// [`BatchReadRequest::send`]. `Debug` counts the ids (they may be emails) without showing
/// them.
#[must_use = "nothing is sent until `.send()` is awaited"]
pub struct BatchReadRequest<'c> {
    client: &'c HubspotClient,
    ids: Vec<String>,
    properties: Vec<String>,
    id_property: Option<String>,
}

impl fmt::Debug for BatchReadRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchReadRequest")
            .field("ids", &format_args!("<{} ids>", self.ids.len()))
            .field("properties", &self.properties)
            .field("id_property", &self.id_property)
            .finish()
    }
}

impl BatchReadRequest<'_> {
    /// Properties to return (internal names). None: HubSpot's defaults (`email`,
    /// `firstname`, `lastname`, plus `hs_object_id`, `createdate`, `lastmodifieddate`).
    pub fn properties<I, S>(mut self, properties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.properties
            .extend(properties.into_iter().map(Into::into));
        self
    }

    /// Looks contacts up by this unique property (`idProperty`) instead of the object id.
    /// The property is added to the returned properties so results can be matched.
    pub fn id_property(mut self, name: impl Into<String>) -> Self {
        self.id_property = Some(name.into());
        self
    }

    /// Sends the read: ids deduplicated (first occurrence kept), empty ones reported missing
    /// without being sent, chunks of at most [`BATCH_READ_MAX_INPUTS`] sent
    /// [`BATCH_READ_CONCURRENCY`] at a time, each retried under the shared policy.
    ///
    /// The first chunk that still fails after its retries fails the whole read (the other
    /// chunks in flight are dropped): reads are idempotent, so the caller repeats the call.
    pub async fn send(self) -> Result<ContactsRead, HubspotError> {
        let client = self.client;
        let requested = dedup(self.ids);
        let id_property = self.id_property.filter(|p| !p.is_empty());
        let mut properties = self.properties;
        if let Some(name) = &id_property {
            // An explicit list replaces HubSpot's defaults: keep them when none was asked for.
            if properties.is_empty() {
                properties.extend(DEFAULT_PROPERTIES.map(String::from));
            }
            properties.push(name.clone());
        }
        let properties = dedup(properties);
        let sendable: Vec<&str> = requested
            .iter()
            .map(String::as_str)
            .filter(|id| !id.trim().is_empty())
            .collect();

        let bodies = sendable
            .chunks(BATCH_READ_MAX_INPUTS)
            .map(|chunk| {
                json_bytes(&BatchReadBody {
                    properties: &properties,
                    id_property: id_property.as_deref(),
                    inputs: chunk.iter().map(|id| Input { id }).collect(),
                })
                .map_err(|_| {
                    HubspotError::InvalidRequest("the request body could not be serialised")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let answers: Vec<BatchReadResponse> = futures::stream::iter(bodies)
            .map(|body| client.read_chunk(body))
            .buffered(BATCH_READ_CONCURRENCY)
            .try_collect()
            .await?;

        let mut by_key: HashMap<String, HubspotContact> = HashMap::new();
        let mut other_errors = 0usize;
        for answer in answers {
            other_errors += answer
                .errors
                .iter()
                .filter(|e| e.category.as_deref() != Some("OBJECT_NOT_FOUND"))
                .count();
            for contact in answer
                .results
                .into_iter()
                .filter_map(RawContact::into_contact)
            {
                let key = match &id_property {
                    None => Some(contact.id.clone()),
                    Some(name) => contact.properties.get(name).and_then(text_of),
                };
                if let Some(key) = key {
                    by_key.entry(key).or_insert(contact);
                }
            }
        }
        if other_errors > 0 {
            tracing::warn!(
                api = API_NAME,
                errors = other_errors,
                "batch read reported errors other than OBJECT_NOT_FOUND"
            );
        }
        // Lookups by a property (an email) may come back in another case.
        let folded: HashMap<String, String> = if id_property.is_some() {
            by_key
                .keys()
                .map(|k| (k.to_lowercase(), k.clone()))
                .collect()
        } else {
            HashMap::new()
        };
        let mut read = ContactsRead::default();
        for id in requested {
            let key = if by_key.contains_key(&id) {
                Some(id.clone())
            } else {
                folded.get(&id.to_lowercase()).cloned()
            };
            match key.and_then(|k| by_key.remove(&k)) {
                Some(contact) => read.found.push(contact),
                None => read.missing.push(id),
            }
        }
        Ok(read)
    }
}

/// Keeps the first occurrence of each value, in order.
fn dedup(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    values
        .into_iter()
        .filter(|value| seen.insert(value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::FailureClass;

    fn client(base_url: &str, token: &str) -> Result<HubspotClient, HubspotError> {
        HubspotClient::new(
            HubspotConfig::new(base_url, token.to_owned().into()),
            reqwest::Client::new(),
        )
    }

    #[test]
    fn when_base_url_or_token_is_unusable_then_config_is_rejected_as_misconfigured() {
        for (base, token) in [
            ("", "pat-1"),
            ("api.hubapi.com", "pat-1"),
            ("https://api.hubapi.com", " "),
            ("https://api.hubapi.com", "pat\n1"),
        ] {
            let error = client(base, token).unwrap_err();
            assert!(
                matches!(error, HubspotError::InvalidConfig(_)),
                "{base} {error}"
            );
            assert_eq!(error.class(), FailureClass::Misconfigured);
        }
        let ok = client("https://api.hubapi.com/", "pat-1").unwrap();
        assert_eq!(ok.base_url(), "https://api.hubapi.com");
    }

    #[test]
    fn when_ids_repeat_then_dedup_keeps_the_first_in_order() {
        let ids = ["3", "1", "3", "2", "1"].map(String::from);
        assert_eq!(dedup(ids), vec!["3", "1", "2"]);
    }
}
