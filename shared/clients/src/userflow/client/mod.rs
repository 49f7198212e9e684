//! The Userflow client: configuration, request builders, list streams.
//!
//! - this module: [`UserflowConfig`], [`UserflowClient`] and the requests it sends;
//! - `requests`: the builders [`UpsertUserRequest`], [`GroupUpsertRequest`],
//!   [`TrackEventRequest`];
//! - `pages`: list streams over Userflow's cursor pages ([`ListUsers`], [`PageSize`]).

use std::num::NonZeroU32;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::body::UserUpsertBody;
use super::checks::{IdOf, check_id};
use super::error::{UserflowError, UserflowResource};
use super::models::{Event, EventSubject, Group, GroupUpsert, Region, User, UserUpsert};
use crate::upstream::{
    BadCredential, BaseUrl, Idempotency, Rate, RateLimiter, RetryPolicy, ThrottleCount, Upstream,
    bearer_header, decode_json, json_bytes,
};

mod pages;
mod requests;

pub use pages::{ListUsers, PageSize};
pub use requests::{GroupUpsertRequest, TrackEventRequest, UpsertUserRequest};

/// The API version every request pins (`Userflow-Version`); the only one so far. Unpinned
/// requests would silently follow "latest".
pub const API_VERSION: &str = "2020-01-03";

/// Default client-side request rate. Userflow's numbers are not public; this stays well
/// below what public integrations use and is configurable.
pub const DEFAULT_RATE_PER_SECOND: u32 = 10;

/// The API name used in upstream errors and logs.
const API_NAME: &str = "userflow";

const USERFLOW_VERSION: HeaderName = HeaderName::from_static("userflow-version");

/// How to reach one Userflow environment.
#[derive(Debug, Clone)]
pub struct UserflowConfig {
    /// API base URL: [`Region::base_url`] or a sandbox. Trailing slashes are ignored; a path
    /// prefix (e.g. `http://127.0.0.1:9000/userflow`) is kept.
    pub base_url: String,
    /// The environment's API key (`ak_...`).
    pub api_key: SecretString,
    /// Client-side request rate for this process. The default is
    /// [`Rate::within_any_second`] of [`DEFAULT_RATE_PER_SECOND`]: Userflow's windows are
    /// unknown, so no one-second interval may hold more than the limit.
    pub rate: Rate,
    /// Retry policy for 429, 5xx and transport errors.
    pub retry: RetryPolicy,
}

impl UserflowConfig {
    /// A configuration for a Userflow region with the default rate and retry policy.
    pub fn for_region(region: Region, api_key: SecretString) -> UserflowConfig {
        UserflowConfig::with_base_url(region.base_url(), api_key)
    }

    /// A configuration for any base URL (a sandbox, a proxy) with the default rate and retry
    /// policy.
    pub fn with_base_url(base_url: impl Into<String>, api_key: SecretString) -> UserflowConfig {
        let per_second =
            NonZeroU32::new(DEFAULT_RATE_PER_SECOND).expect("the default rate is not zero");
        UserflowConfig {
            base_url: base_url.into(),
            api_key,
            rate: Rate::within_any_second(per_second),
            retry: RetryPolicy::default(),
        }
    }
}

/// A Userflow API client. Cheap to clone: clones share the HTTP pool and the rate limiter.
#[derive(Debug, Clone)]
pub struct UserflowClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: Upstream,
    base_url: BaseUrl,
    /// Authorization (marked sensitive), Userflow-Version, Accept.
    headers: HeaderMap,
}

impl UserflowClient {
    /// Builds a client over a shared HTTP client (see
    /// [`http_client`](crate::upstream::http_client)).
    ///
    /// Fails with [`UserflowError::InvalidConfig`] for an unusable base URL or API key.
    pub fn new(config: UserflowConfig, http: reqwest::Client) -> Result<Self, UserflowError> {
        let base_url = BaseUrl::parse(&config.base_url)
            .map_err(|reason| UserflowError::InvalidConfig { reason })?;
        let headers = default_headers(&config.api_key)?;
        let limiter = Arc::new(RateLimiter::new(config.rate));
        Ok(UserflowClient {
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

    /// The 429s Userflow has answered this client and its clones, every attempt counted.
    pub fn throttles(&self) -> &ThrottleCount {
        self.inner.upstream.throttles()
    }

    /// Starts a `POST /users` upsert for `id` (the id goes in the body).
    pub fn upsert_user(&self, id: impl Into<String>) -> UpsertUserRequest<'_> {
        UpsertUserRequest::new(self, id.into())
    }

    /// Sends a prepared user upsert: `POST /users`.
    ///
    /// Any 2xx is success, whatever its body (the stored user, `{}`, nothing, an HTML page):
    /// the relay does not use the answer, so it is not decoded, and a done write is never
    /// reported as a failure to be repeated. Ids and attribute values Userflow would reject
    /// or misread fail with [`UserflowError::InvalidRequest`] before anything is sent.
    pub async fn send_user_upsert(&self, upsert: &UserUpsert) -> Result<(), UserflowError> {
        upsert
            .validate()
            .map_err(|reason| UserflowError::InvalidRequest { reason })?;
        let url = self.url(&["users"], &[]);
        self.call(Method::POST, url, Some(upsert), Idempotency::Idempotent)
            .await?;
        Ok(())
    }

    /// Sends a `POST /users` body written by a
    /// [`UserUpsertBodyWriter`](crate::userflow::UserUpsertBodyWriter), which made the checks
    /// [`UserflowClient::send_user_upsert`] makes. Any 2xx is success, as there.
    pub async fn send_user_upsert_body(&self, body: &UserUpsertBody) -> Result<(), UserflowError> {
        let url = self.url(&["users"], &[]);
        let body = Some(body.json().clone());
        self.send_via(
            &self.inner.upstream,
            Method::POST,
            url,
            body,
            Idempotency::Idempotent,
        )
        .await?;
        Ok(())
    }

    /// `GET /users/{id}`. A missing user is [`UserflowError::NotFound`]; a 2xx answer
    /// without a user id is [`UserflowError::Decode`].
    pub async fn get_user(&self, id: &str) -> Result<User, UserflowError> {
        self.fetch_user(id, false).await
    }

    /// `GET /users/{id}?expand=memberships`: the user with its group memberships.
    pub async fn get_user_with_memberships(&self, id: &str) -> Result<User, UserflowError> {
        self.fetch_user(id, true).await
    }

    async fn fetch_user(&self, id: &str, memberships: bool) -> Result<User, UserflowError> {
        let id = path_id(id, UserflowResource::User)?;
        let query: &[(&str, &str)] = if memberships {
            &[("expand", "memberships")]
        } else {
            &[]
        };
        let url = self.url(&["users", id], query);
        let response = self
            .call(Method::GET, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map_err(|e| e.not_found_as(UserflowResource::User))?;
        decode(&response.body, "user")
    }

    /// `DELETE /users/{id}`: removes the user with its attributes, memberships, events and
    /// flow history, for good. 200 and 204 are success; a user that is already gone is
    /// [`UserflowError::NotFound`].
    pub async fn delete_user(&self, id: &str) -> Result<(), UserflowError> {
        let id = path_id(id, UserflowResource::User)?;
        self.delete(&["users", id], UserflowResource::User).await
    }

    /// Lists users as one stream of items over Userflow's cursor pages (`GET /users`).
    ///
    /// Every page request sends `limit`; the next page is `next_page_url` when Userflow gives
    /// one, otherwise `starting_after=<last id>`. An error is yielded once and ends the
    /// stream.
    pub fn list_users(&self, query: ListUsers) -> BoxStream<'static, Result<User, UserflowError>> {
        let mut filters = Vec::new();
        if let Some(email) = query.email {
            filters.push(("email", email));
        }
        self.paginate("users", query.page_size, filters, |user: &User| &user.id)
    }

    /// Starts a `POST /groups` upsert for `id` (the id goes in the body).
    pub fn upsert_group(&self, id: impl Into<String>) -> GroupUpsertRequest<'_> {
        GroupUpsertRequest::new(self, id.into())
    }

    /// Sends a prepared group upsert: `POST /groups`. Like a user upsert, any 2xx is
    /// success and the answer is not decoded.
    pub async fn send_group_upsert(&self, upsert: &GroupUpsert) -> Result<(), UserflowError> {
        upsert
            .validate()
            .map_err(|reason| UserflowError::InvalidRequest { reason })?;
        let url = self.url(&["groups"], &[]);
        self.call(Method::POST, url, Some(upsert), Idempotency::Idempotent)
            .await?;
        Ok(())
    }

    /// `GET /groups/{id}`. A missing group is [`UserflowError::NotFound`].
    pub async fn get_group(&self, id: &str) -> Result<Group, UserflowError> {
        let id = path_id(id, UserflowResource::Group)?;
        let url = self.url(&["groups", id], &[]);
        let response = self
            .call(Method::GET, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map_err(|e| e.not_found_as(UserflowResource::Group))?;
        decode(&response.body, "group")
    }

    /// `DELETE /groups/{id}`. A group that is already gone is [`UserflowError::NotFound`].
    pub async fn delete_group(&self, id: &str) -> Result<(), UserflowError> {
        let id = path_id(id, UserflowResource::Group)?;
        self.delete(&["groups", id], UserflowResource::Group).await
    }

    /// Lists groups as one stream of items (`GET /groups`), like [`Self::list_users`].
    pub fn list_groups(
        &self,
        page_size: PageSize,
    ) -> BoxStream<'static, Result<Group, UserflowError>> {
        self.paginate("groups", page_size, Vec::new(), |group: &Group| &group.id)
    }

    /// Starts a `POST /events` request. The subject type guarantees a user or group id.
    pub fn track_event(
        &self,
        name: impl Into<String>,
        subject: EventSubject,
    ) -> TrackEventRequest<'_> {
        TrackEventRequest::new(self, name.into(), subject)
    }

    /// Sends a prepared event: `POST /events`.
    ///
    /// Events are not idempotent, so the request is only repeated when Userflow provably did
    /// not record it (a 429, or no connection was made). After a 5xx or a dropped connection
    /// the event may or may not exist; the error's class is transient and the caller decides.
    pub async fn send_event(&self, event: &Event) -> Result<(), UserflowError> {
        self.send_event_via(&self.inner.upstream, event).await
    }

    /// [`UserflowClient::send_event`], giving up when `until` passes: no attempt starts and
    /// no retry wait ends after it, so an event either reached Userflow or provably did not
    /// ([`crate::upstream::UpstreamError::NotSent`]), instead of being cut off mid-retry.
    pub async fn send_event_before(
        &self,
        event: &Event,
        until: tokio::time::Instant,
    ) -> Result<(), UserflowError> {
        self.send_event_via(&self.inner.upstream.until(until), event)
            .await
    }

    async fn send_event_via(
        &self,
        upstream: &Upstream,
        event: &Event,
    ) -> Result<(), UserflowError> {
        event
            .validate()
            .map_err(|reason| UserflowError::InvalidRequest { reason })?;
        let url = self.url(&["events"], &[]);
        // The response (the stored event) carries nothing the relay uses: not decoded.
        self.call_via(
            upstream,
            Method::POST,
            url,
            Some(event),
            Idempotency::NotIdempotent,
        )
        .await?;
        Ok(())
    }

    async fn delete(
        &self,
        segments: &[&str],
        resource: UserflowResource,
    ) -> Result<(), UserflowError> {
        let url = self.url(segments, &[]);
        // 200 with `{"deleted": true}`, 204 without a body, any other 2xx: all mean done, and
        // the body is not read.
        self.call(Method::DELETE, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map_err(|e| e.not_found_as(resource))?;
        Ok(())
    }

    /// `base_url` + percent-encoded path segments + an encoded query string.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> String {
        self.inner.base_url.join(segments, query)
    }

    /// Sends one logical request through the shared retry and rate-limit loop.
    async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: String,
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<crate::upstream::Response, UserflowError> {
        self.call_via(&self.inner.upstream, method, url, body, idempotency)
            .await
    }

    async fn call_via<B: Serialize + ?Sized>(
        &self,
        upstream: &Upstream,
        method: Method,
        url: String,
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<crate::upstream::Response, UserflowError> {
        let body = body
            .map(json_bytes)
            .transpose()
            .map_err(|_| UserflowError::InvalidRequest {
                reason: "the request body cannot be serialised",
            })?;
        self.send_via(upstream, method, url, body, idempotency)
            .await
    }

    /// Sends a serialised body through `upstream` with the client's headers.
    async fn send_via(
        &self,
        upstream: &Upstream,
        method: Method,
        url: String,
        body: Option<Bytes>,
        idempotency: Idempotency,
    ) -> Result<crate::upstream::Response, UserflowError> {
        Ok(upstream
            .send(None, idempotency, method, &url, &self.inner.headers, body)
            .await?)
    }
}

/// Decodes a 2xx body the caller reads (a user, a group, a list page), naming the JSON path
/// that did not fit. Only for answers whose content is used: writes are never decoded.
fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, UserflowError> {
    decode_json(body).map_err(|source| UserflowError::Decode { what, source })
}

/// Rejects ids that cannot be placed in a path: empty, holding a control character, or
/// `.`/`..` (URL parsers resolve those as dot segments even when percent-encoded).
fn path_id(id: &str, resource: UserflowResource) -> Result<&str, UserflowError> {
    let of = match resource {
        UserflowResource::User => IdOf::User,
        UserflowResource::Group => IdOf::Group,
    };
    check_id(id, of).map_err(|reason| UserflowError::InvalidRequest { reason })?;
    match id {
        "." | ".." => Err(UserflowError::InvalidRequest {
            reason: "an id of `.` or `..` cannot be placed in a path",
        }),
        id => Ok(id),
    }
}

/// Headers sent on every request; the Authorization value is marked sensitive so it never
/// shows in debug output.
fn default_headers(api_key: &SecretString) -> Result<HeaderMap, UserflowError> {
    let authorization = bearer_header(api_key).map_err(|problem| UserflowError::InvalidConfig {
        reason: match problem {
            BadCredential::Empty => "API key is empty",
            BadCredential::NotHeaderSafe => "API key contains characters not allowed in a header",
        },
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, authorization);
    headers.insert(USERFLOW_VERSION, HeaderValue::from_static(API_VERSION));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_base_url_is_unusable_then_config_is_rejected() {
        for raw in ["", "api.userflow.com", "ftp://x", "https://x/?a=1"] {
            let config = UserflowConfig::with_base_url(raw, "ak_test".to_owned().into());
            assert!(
                matches!(
                    UserflowClient::new(config, reqwest::Client::new()),
                    Err(UserflowError::InvalidConfig { .. })
                ),
                "{raw}"
            );
        }
    }
}
