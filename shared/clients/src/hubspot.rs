//! HubSpot CRM contacts client: reads the contacts a webhook event only names.
//!
//! HubSpot's webhook events carry an object id and no contact fields, so the relay reads the
//! contacts with `POST /crm/v3/objects/contacts/batch/read`: at most 100 inputs per request
//! (chunks are sent [`BATCH_READ_CONCURRENCY`] at a time), ids deduplicated, through the
//! shared [`Upstream`] retry and rate-limit loop (reads are idempotent, so 429, 5xx and
//! dropped connections are retried).
//!
//! HubSpot answers 200 when every input was found and 207 Multi-Status with an `errors` list
//! (`OBJECT_NOT_FOUND`, `context.ids`) when some were not. Decoding is tolerant: unknown
//! fields are ignored, `null` lists and objects read as empty. Which ids are missing is
//! worked out from the results themselves (requested minus found), whatever shape the errors
//! take.
//!
//! Nothing here logs or displays the token, a contact's properties, or HubSpot's error
//! messages (they can echo input); only categories, statuses and counts.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::upstream::{
    BadCredential, BaseUrl, DecodeError, FailureClass, Idempotency, Rate, RateLimiter, RetryPolicy,
    Upstream, UpstreamError, bearer_header, decode_json, json_bytes,
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

/// The property HubSpot always returns with a contact's internal id.
pub const OBJECT_ID_PROPERTY: &str = "hs_object_id";

/// The properties HubSpot returns when a read names none (besides `hs_object_id`,
/// `createdate` and `lastmodifieddate`, which it always returns).
pub const DEFAULT_PROPERTIES: [&str; 3] = ["email", "firstname", "lastname"];

/// The API name used in upstream errors and logs.
const API_NAME: &str = "hubspot";

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

/// A HubSpot contact as read: its id and the properties HubSpot returned.
///
/// Property values are HubSpot's strings (numbers and dates come as text); properties HubSpot
/// returned as `null` (requested but unset) are left out. `Debug` shows property names, never
/// values.
#[derive(Clone, PartialEq, Eq)]
pub struct HubspotContact {
    /// HubSpot's object id (`hs_object_id`).
    pub id: String,
    /// The returned properties, by internal name (`email`, `firstname`, ...).
    pub properties: Map<String, Value>,
}

impl HubspotContact {
    /// The record the field mapping reads: the properties object, with `hs_object_id` set to
    /// the contact's id when HubSpot did not return it.
    pub fn to_record(&self) -> Value {
        let mut record = self.properties.clone();
        record
            .entry(OBJECT_ID_PROPERTY)
            .or_insert_with(|| Value::String(self.id.clone()));
        Value::Object(record)
    }
}

impl fmt::Debug for HubspotContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubspotContact")
            .field("id", &self.id)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What a batch read found. `Debug` shows the contacts' ids and property names and how many
/// ids are missing, never values (a lookup by `email` lists emails as missing).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ContactsRead {
    /// The contacts found, in the order their ids were first requested.
    pub found: Vec<HubspotContact>,
    /// Requested ids (or `idProperty` values) no result answered for, in request order:
    /// deleted, merged away, never existed, or empty.
    pub missing: Vec<String>,
}

impl fmt::Debug for ContactsRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactsRead")
            .field("found", &self.found)
            .field("missing", &format_args!("<{} ids>", self.missing.len()))
            .finish()
    }
}

/// HubSpot's error body (`{"status":"error","message",..,"category",..}`), decoded tolerantly.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubspotErrorBody {
    /// `INVALID_AUTHENTICATION`, `MISSING_SCOPES`, `VALIDATION_ERROR`, `OBJECT_NOT_FOUND`, ...
    #[serde(default, deserialize_with = "null_as_default")]
    pub category: Option<String>,
    /// `RATE_LIMIT` on a 429.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error_type: Option<String>,
    /// `TEN_SECONDLY_ROLLING`, `DAILY`, ... on a 429.
    #[serde(default, deserialize_with = "null_as_default")]
    pub policy_name: Option<String>,
    /// HubSpot's request id, for support tickets.
    #[serde(default, deserialize_with = "null_as_default")]
    pub correlation_id: Option<String>,
    /// Human-readable message. May echo request data: keep it out of logs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: Option<String>,
}

/// Everything a HubSpot call can fail with. `Display` and `Debug` never carry the token, a
/// response body, or HubSpot's message: only statuses, categories and JSON paths.
#[derive(Debug, thiserror::Error)]
pub enum HubspotError {
    /// 401 or 403: the token is wrong, revoked, or lacks the `crm.objects.contacts.read`
    /// scope. An operator must fix the private app.
    #[error(
        "HubSpot refused the token (HTTP {}{}): check the private app token and that it has the `{REQUIRED_SCOPE}` scope{}",
        .status.as_u16(),
        .category.as_deref().map(|c| format!(", {c}")).unwrap_or_default(),
        .correlation_id.as_deref().map(|c| format!(" (correlation id {c})")).unwrap_or_default()
    )]
    Unauthorized {
        /// 401 or 403.
        status: StatusCode,
        /// HubSpot's category (`INVALID_AUTHENTICATION`, `MISSING_SCOPES`), when the body was
        /// JSON.
        category: Option<String>,
        /// HubSpot's correlation id, when the body was JSON.
        correlation_id: Option<String>,
    },

    /// Any other failure after the shared retry policy gave up (429, 5xx, 400, transport).
    /// HubSpot's category, when its body was JSON, is added to the message.
    #[error("{}{}", .0, category_suffix(.0))]
    Upstream(UpstreamError),

    /// A 2xx response did not have the expected shape. The read may be repeated.
    #[error("could not decode the HubSpot contacts response {0}")]
    Decode(DecodeError),

    /// Refused before sending (an id that cannot be placed in a path).
    #[error("invalid HubSpot request, not sent: {0}")]
    InvalidRequest(&'static str),

    /// The client could not be built from its configuration.
    #[error("invalid HubSpot configuration: {0}")]
    InvalidConfig(&'static str),
}

impl From<UpstreamError> for HubspotError {
    /// 401 and 403 become [`HubspotError::Unauthorized`]; everything else is kept as is.
    fn from(error: UpstreamError) -> Self {
        match error.status() {
            Some(status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)) => {
                let body = error_body(&error);
                HubspotError::Unauthorized {
                    status,
                    category: body.as_ref().and_then(|b| b.category.clone()),
                    correlation_id: body.and_then(|b| b.correlation_id),
                }
            }
            _ => HubspotError::Upstream(error),
        }
    }
}

fn category_suffix(error: &UpstreamError) -> String {
    match error_body(error).and_then(|body| body.category.or(body.error_type)) {
        Some(category) => format!(" (HubSpot category `{category}`)"),
        None => String::new(),
    }
}

fn error_body(error: &UpstreamError) -> Option<HubspotErrorBody> {
    error
        .json_body()
        .and_then(|body| serde_json::from_slice(body).ok())
}

impl HubspotError {
    /// The class that decides retry-later, park, or fail for good.
    pub fn class(&self) -> FailureClass {
        match self {
            HubspotError::Unauthorized { .. } | HubspotError::InvalidConfig(_) => {
                FailureClass::Misconfigured
            }
            HubspotError::InvalidRequest(_) => FailureClass::Permanent,
            // HubSpot answered 2xx but unreadably, like a garbled 502; reads are safe to repeat.
            HubspotError::Decode(_) => FailureClass::Transient,
            HubspotError::Upstream(error) => error.class(),
        }
    }

    /// The final HTTP status, when HubSpot answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HubspotError::Unauthorized { status, .. } => Some(*status),
            HubspotError::Upstream(error) => error.status(),
            _ => None,
        }
    }

    /// The upstream failure behind this error, if any.
    pub fn upstream(&self) -> Option<&UpstreamError> {
        match self {
            HubspotError::Upstream(error) => Some(error),
            _ => None,
        }
    }

    /// HubSpot's decoded error body, when the final answer declared JSON (never for an HTML
    /// 502 page). Its `message` may echo input: keep it out of logs.
    pub fn vendor_error(&self) -> Option<HubspotErrorBody> {
        self.upstream().and_then(error_body)
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

/// A property value as text: HubSpot sends strings, but numbers are accepted.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchReadBody<'a> {
    properties: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    id_property: Option<&'a str>,
    inputs: Vec<Input<'a>>,
}

#[derive(Serialize)]
struct Input<'a> {
    id: &'a str,
}

/// `{"status","results":[..],"errors":[..],"numErrors",..}`; only what the client uses.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BatchReadResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    results: Vec<RawContact>,
    #[serde(default, deserialize_with = "null_as_default")]
    errors: Vec<BatchError>,
}

#[derive(Deserialize, Default)]
struct BatchError {
    #[serde(default, deserialize_with = "null_as_default")]
    category: Option<String>,
}

/// One result: `{"id","properties":{..},"createdAt","updatedAt","archived"}`.
#[derive(Deserialize, Default)]
struct RawContact {
    #[serde(default, deserialize_with = "null_as_default")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    properties: Map<String, Value>,
}

impl RawContact {
    /// The contact, with null properties dropped; `None` when no id can be found (neither
    /// `id` nor `hs_object_id`).
    fn into_contact(self) -> Option<HubspotContact> {
        let mut properties = self.properties;
        properties.retain(|_, value| !value.is_null());
        let id = self
            .id
            .as_ref()
            .and_then(text_of)
            .or_else(|| properties.get(OBJECT_ID_PROPERTY).and_then(text_of))
            .filter(|id| !id.is_empty());
        if id.is_none() {
            tracing::warn!(api = API_NAME, "batch read result without an id; ignored");
        }
        Some(HubspotContact {
            id: id?,
            properties,
        })
    }
}

/// `null` reads as the type's default (an empty list or map, `None`).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn when_a_contact_has_no_hs_object_id_then_the_record_gets_its_id() {
        let mut properties = Map::new();
        properties.insert("email".into(), "a@example.com".into());
        let contact = HubspotContact {
            id: "101".into(),
            properties,
        };
        assert_eq!(
            contact.to_record(),
            serde_json::json!({"email": "a@example.com", "hs_object_id": "101"})
        );
        let printed = format!("{contact:?}");
        assert!(!printed.contains("a@example.com"), "{printed}");
        assert!(printed.contains("email"), "{printed}");
    }

    #[test]
    fn when_a_result_has_nulls_and_a_numeric_id_then_it_still_decodes() {
        let raw: BatchReadResponse = decode_json(
            br#"{"results":[{"id":7,"properties":{"email":null,"firstname":"A"}},
                {"id":null,"properties":null},{"properties":{"hs_object_id":"8"}}],
                "errors":null,"extra":{"x":1}}"#,
        )
        .unwrap();
        let contacts: Vec<HubspotContact> = raw
            .results
            .into_iter()
            .filter_map(RawContact::into_contact)
            .collect();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0].id, "7");
        assert!(!contacts[0].properties.contains_key("email"));
        assert_eq!(contacts[1].id, "8");
    }

    #[test]
    fn when_ids_repeat_then_dedup_keeps_the_first_in_order() {
        let ids = ["3", "1", "3", "2", "1"].map(String::from);
        assert_eq!(dedup(ids), vec!["3", "1", "2"]);
    }
}
