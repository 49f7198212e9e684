//! Braze SCIM v2 client for **dashboard users** (the people who log in to Braze), not end
//! users.
//!
//! Requests go to `<REST endpoint>/scim/v2/Users` through the shared [`Upstream`] loop.
//! Braze allows only 5,000 SCIM requests per day per company, shared by every method, so the
//! default rate and retry budget are small.
//!
//! Two Braze quirks shape this module:
//! - error bodies (`{"schemas":[..Error],"status":..,"detail":..}`) often come as
//!   `text/html`, so they are decoded whatever their content type, while the error *kind* is
//!   decided by the HTTP status alone;
//! - responses spell ids both `...ID` and `...Id`; decoding accepts either.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::upstream::{
    BadCredential, BaseUrl, DecodeError, FailureClass, Idempotency, Rate, RateLimiter, RetryPolicy,
    Upstream, UpstreamError, bearer_header, decode_json, json_bytes,
};

/// The SCIM core user schema, sent in `schemas` of every create and replace.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The schema of list answers.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The schema of error answers.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Default client-side rate: one request per second. The budget is 5,000 per day for the
/// whole company, so SCIM is for occasional provisioning, never bulk work. (A [`Rate`] cannot
/// go below one per second; callers that run long loops must budget themselves.)
pub const DEFAULT_RATE_PER_SECOND: u32 = 1;

/// The API name used in upstream errors and logs.
const API_NAME: &str = "braze-scim";

const X_REQUEST_ORIGIN: HeaderName = HeaderName::from_static("x-request-origin");

/// Path segments of the users resource under the base URL.
const USERS_PATH: [&str; 3] = ["scim", "v2", "Users"];

/// How to reach Braze SCIM for one company.
#[derive(Debug, Clone)]
pub struct ScimConfig {
    /// The Braze REST endpoint of the cluster (e.g. `https://rest.iad-01.braze.com`); the
    /// client appends `/scim/v2`. Trailing slashes are ignored.
    pub base_url: String,
    /// The SCIM token from the dashboard (not a REST API key).
    pub token: SecretString,
    /// The service origin registered with the token, sent as `X-Request-Origin`.
    pub request_origin: String,
    /// Client-side request rate.
    pub rate: Rate,
    /// Retry policy for 429, 5xx and transport errors.
    pub retry: RetryPolicy,
}

impl ScimConfig {
    /// A configuration with the default (low) rate and [`ScimConfig::default_retry_policy`].
    pub fn new(
        base_url: impl Into<String>,
        token: SecretString,
        request_origin: impl Into<String>,
    ) -> ScimConfig {
        let per_second =
            NonZeroU32::new(DEFAULT_RATE_PER_SECOND).expect("the default rate is not zero");
        ScimConfig {
            base_url: base_url.into(),
            token,
            request_origin: request_origin.into(),
            rate: Rate::per_second(per_second),
            retry: ScimConfig::default_retry_policy(),
        }
    }

    /// Three attempts within 30 s: every retry spends the small daily budget.
    pub fn default_retry_policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
        }
    }
}

/// A Braze SCIM client. Cheap to clone: clones share the HTTP pool and the rate limiter.
#[derive(Debug, Clone)]
pub struct ScimClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: Upstream,
    base_url: BaseUrl,
    /// `<base>/scim/v2/Users`.
    users_url: String,
    /// Authorization (sensitive), X-Request-Origin, Content-Type.
    headers: HeaderMap,
}

impl ScimClient {
    /// Builds a client over a shared HTTP client (see
    /// [`http_client`](crate::upstream::http_client)).
    ///
    /// Fails with [`ScimError::InvalidConfig`] for an unusable URL, token or origin.
    pub fn new(config: ScimConfig, http: reqwest::Client) -> Result<ScimClient, ScimError> {
        let base_url = BaseUrl::parse(&config.base_url)
            .map_err(|reason| ScimError::InvalidConfig { reason })?;
        let headers = default_headers(&config.token, &config.request_origin)?;
        let limiter = Arc::new(RateLimiter::new(config.rate));
        Ok(ScimClient {
            inner: Arc::new(Inner {
                upstream: Upstream::new(API_NAME, http, config.retry, limiter),
                users_url: base_url.join(&USERS_PATH, &[]),
                base_url,
                headers,
            }),
        })
    }

    /// The `/scim/v2/Users` URL requests go to.
    pub fn users_url(&self) -> &str {
        &self.inner.users_url
    }

    /// Finds a dashboard user by email: `GET /scim/v2/Users?filter=userName eq "<email>"`
    /// (the only filter Braze supports). `None` when nobody has that email.
    pub async fn find_by_user_name(&self, email: &str) -> Result<Option<ScimUser>, ScimError> {
        if email.is_empty() {
            return Err(ScimError::InvalidRequest {
                reason: "userName is empty",
            });
        }
        let filter = user_name_filter(email);
        let url = self
            .inner
            .base_url
            .join(&USERS_PATH, &[("filter", filter.as_str())]);
        let response = self.call(Method::GET, url, None::<&()>).await?;
        let list: ListResponse = decode(&response.body, "list")?;
        // Only trust a resource that really has the email (user names compare
        // case-insensitively), in case the filter was ignored.
        Ok(list
            .resources
            .into_iter()
            .find(|user| user.user_name.eq_ignore_ascii_case(email)))
    }

    /// `GET /scim/v2/Users/{id}`.
    pub async fn get(&self, id: &str) -> Result<ScimUser, ScimError> {
        let url = self.user_url(id)?;
        let response = self.call(Method::GET, url, None::<&()>).await?;
        decode(&response.body, "user")
    }

    /// `POST /scim/v2/Users` (200 or 201). An existing user is [`ScimError::Conflict`].
    ///
    /// Sent as not idempotent: only repeated after a 429 or when no connection was made, so a
    /// retry never turns our own successful create into a conflict. After a 5xx, check with
    /// [`Self::find_by_user_name`] before creating again.
    pub async fn create(&self, user: &NewScimUser) -> Result<ScimUser, ScimError> {
        if user.user_name.is_empty() {
            return Err(ScimError::InvalidRequest {
                reason: "userName is empty",
            });
        }
        let url = self.inner.users_url.clone();
        let response = self
            .execute(Method::POST, url, Some(user), Idempotency::NotIdempotent)
            .await?;
        decode(&response.body, "user")
    }

    /// `PUT /scim/v2/Users/{id}`: replaces name, department and permissions (all required;
    /// the user name cannot change).
    pub async fn replace(&self, id: &str, update: &ScimUserUpdate) -> Result<ScimUser, ScimError> {
        let url = self.user_url(id)?;
        let response = self.call(Method::PUT, url, Some(update)).await?;
        decode(&response.body, "user")
    }

    /// `DELETE /scim/v2/Users/{id}` (200 or 204). A user that is already gone is
    /// [`ScimError::NotFound`].
    pub async fn delete(&self, id: &str) -> Result<(), ScimError> {
        let url = self.user_url(id)?;
        self.call(Method::DELETE, url, None::<&()>).await?;
        Ok(())
    }

    fn user_url(&self, id: &str) -> Result<String, ScimError> {
        match id {
            "" => Err(ScimError::InvalidRequest {
                reason: "user id is empty",
            }),
            "." | ".." => Err(ScimError::InvalidRequest {
                reason: "an id of `.` or `..` cannot be placed in a path",
            }),
            id => {
                let [scim, v2, users] = USERS_PATH;
                Ok(self.inner.base_url.join(&[scim, v2, users, id], &[]))
            }
        }
    }

    async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: String,
        body: Option<&B>,
    ) -> Result<crate::upstream::Response, ScimError> {
        self.execute(method, url, body, Idempotency::Idempotent)
            .await
    }

    /// Sends one logical request through the shared retry and rate-limit loop; failures are
    /// classified by status in `From<UpstreamError>`.
    async fn execute<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: String,
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<crate::upstream::Response, ScimError> {
        let body = body
            .map(json_bytes)
            .transpose()
            .map_err(|_| ScimError::InvalidRequest {
                reason: "the request body cannot be serialised",
            })?;
        let inner = &self.inner;
        Ok(inner
            .upstream
            .send(None, idempotency, method, &url, &inner.headers, body)
            .await?)
    }
}

/// `userName eq "<email>"`, with `"` and `\` escaped as in a SCIM string literal.
fn user_name_filter(email: &str) -> String {
    let escaped = email.replace('\\', "\\\\").replace('"', "\\\"");
    format!("userName eq \"{escaped}\"")
}

fn default_headers(token: &SecretString, origin: &str) -> Result<HeaderMap, ScimError> {
    let authorization = bearer_header(token).map_err(|problem| ScimError::InvalidConfig {
        reason: match problem {
            BadCredential::Empty => "SCIM token is empty",
            BadCredential::NotHeaderSafe => {
                "SCIM token contains characters not allowed in a header"
            }
        },
    })?;
    let origin = origin.trim();
    if origin.is_empty() {
        return Err(ScimError::InvalidConfig {
            reason: "request origin (X-Request-Origin) is empty",
        });
    }
    let origin = HeaderValue::from_str(origin).map_err(|_| ScimError::InvalidConfig {
        reason: "request origin contains characters not allowed in a header",
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, authorization);
    headers.insert(X_REQUEST_ORIGIN, origin);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(headers)
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, ScimError> {
    decode_json(body).map_err(|source| ScimError::Decode { what, source })
}

/// Reads `null` like a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

fn is_empty<T>(items: &[T]) -> bool {
    items.is_empty()
}

/// A dashboard user's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimName {
    /// Given (first) name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub given_name: String,
    /// Family (last) name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub family_name: String,
}

impl ScimName {
    /// A name from its two parts.
    pub fn new(given_name: impl Into<String>, family_name: impl Into<String>) -> ScimName {
        ScimName {
            given_name: given_name.into(),
            family_name: family_name.into(),
        }
    }
}

/// A dashboard user's permissions: company-wide, by role, and per workspace (app group).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    /// E.g. `manage_company_settings`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub company_permissions: Vec<String>,
    /// Roles granted, by name or id.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_empty"
    )]
    pub roles: Vec<RoleRef>,
    /// Per-workspace permissions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub app_group: Vec<AppGroupPermissions>,
}

/// A role, by name or id (Braze answers with both).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// The role's name, as shown in the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// The role's id (Braze also spells it `roleID`).
    #[serde(default, alias = "roleID", skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
}

impl RoleRef {
    /// A role named `name`.
    pub fn by_name(name: impl Into<String>) -> RoleRef {
        RoleRef {
            role_name: Some(name.into()),
            role_id: None,
        }
    }

    /// The role with id `id`.
    pub fn by_id(id: impl Into<String>) -> RoleRef {
        RoleRef {
            role_name: None,
            role_id: Some(id.into()),
        }
    }
}

/// Permissions in one workspace (Braze's "app group"), by workspace name or id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppGroupPermissions {
    /// The workspace's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_group_name: Option<String>,
    /// The workspace's id (Braze also spells it `appGroupID`).
    #[serde(default, alias = "appGroupID", skip_serializing_if = "Option::is_none")]
    pub app_group_id: Option<String>,
    /// E.g. `basic_access`, `send_campaigns_canvases`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub app_group_permissions: Vec<String>,
    /// Permission sets granted in this workspace.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_empty"
    )]
    pub app_group_permission_sets: Vec<PermissionSetRef>,
    /// Team-level permissions (teams themselves cannot be provisioned over SCIM).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_empty"
    )]
    pub team: Vec<TeamPermissions>,
}

/// A permission set, by name or id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSetRef {
    /// The permission set's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_group_permission_set_name: Option<String>,
    /// The permission set's id (sent as `appGroupPermissionSetID`; `...Id` accepted).
    #[serde(
        default,
        rename = "appGroupPermissionSetID",
        alias = "appGroupPermissionSetId",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_group_permission_set_id: Option<String>,
}

/// Permissions within one team of a workspace, by team name or id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamPermissions {
    /// The team's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    /// The team's id (Braze also spells it `teamID`).
    #[serde(default, alias = "teamID", skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Permissions within the team.
    #[serde(default, deserialize_with = "null_as_default")]
    pub team_permissions: Vec<String>,
}

/// A dashboard user as Braze returns it. Dates are opaque strings: Braze's format is not
/// ISO 8601 and not documented.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    /// SCIM schemas of the resource (the core user schema).
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// Braze's id for the dashboard user (used in `/scim/v2/Users/{id}`).
    pub id: String,
    /// The user's email.
    pub user_name: String,
    /// Given and family name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: ScimName,
    /// Department, free text.
    #[serde(default)]
    pub department: Option<String>,
    /// Last dashboard sign-in, opaque.
    #[serde(default)]
    pub last_sign_in_at: Option<String>,
    /// Creation time, opaque.
    #[serde(default)]
    pub created_at: Option<String>,
    /// What the user may do, company-wide and per workspace.
    #[serde(default, deserialize_with = "null_as_default")]
    pub permissions: Permissions,
}

/// The answer to a filtered `GET /scim/v2/Users`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListResponse {
    /// SCIM schemas of the answer (the list response schema).
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// Users matching the filter.
    #[serde(rename = "totalResults", default)]
    pub total_results: u64,
    /// The matching users (`Resources`).
    #[serde(rename = "Resources", default, deserialize_with = "null_as_default")]
    pub resources: Vec<ScimUser>,
}

/// Body of `POST /scim/v2/Users`. `schemas` is added when serialising.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScimUser {
    /// The user's email; cannot be changed later.
    pub user_name: String,
    /// Given and family name.
    pub name: ScimName,
    /// Department, free text (required by Braze).
    pub department: String,
    /// Permissions to grant, if any.
    pub permissions: Option<Permissions>,
}

impl Serialize for NewScimUser {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            schemas: [&'static str; 1],
            user_name: &'a str,
            name: &'a ScimName,
            department: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            permissions: Option<&'a Permissions>,
        }
        Wire {
            schemas: [USER_SCHEMA],
            user_name: &self.user_name,
            name: &self.name,
            department: &self.department,
            permissions: self.permissions.as_ref(),
        }
        .serialize(serializer)
    }
}

/// Body of `PUT /scim/v2/Users/{id}`: every field Braze requires, and no `userName` (it
/// cannot change). `schemas` is added when serialising.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserUpdate {
    /// Given and family name.
    pub name: ScimName,
    /// Department, free text (required by Braze).
    pub department: String,
    /// The complete new permissions (PUT replaces them).
    pub permissions: Permissions,
}

impl Serialize for ScimUserUpdate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            schemas: [&'static str; 1],
            name: &'a ScimName,
            department: &'a str,
            permissions: &'a Permissions,
        }
        Wire {
            schemas: [USER_SCHEMA],
            name: &self.name,
            department: &self.department,
            permissions: &self.permissions,
        }
        .serialize(serializer)
    }
}

/// A SCIM error body: `{"schemas":[..Error],"status":..,"detail":..}`. `status` may be a
/// number or a string, so it is kept as raw JSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScimErrorBody {
    /// SCIM schemas of the answer (the error schema).
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// The HTTP status as Braze wrote it (number or string).
    #[serde(default)]
    pub status: Option<serde_json::Value>,
    /// Braze's message. May quote the email: keep it out of logs.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Everything a SCIM call can fail with. The kind comes from the HTTP status; `detail` is
/// Braze's text from the body, kept out of `Display` because it can echo the email.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// 404: no dashboard user with that id.
    #[error("Braze SCIM: user not found (404)")]
    NotFound {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// 409: a dashboard user with that userName already exists
    /// ("User already exists in the database.").
    #[error("Braze SCIM: user already exists (409)")]
    Conflict {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// 401: the SCIM token is wrong, `X-Request-Origin` does not match the origin set with
    /// the token, or this caller's IP is not on the allow list.
    #[error(
        "Braze SCIM rejected the request (401): wrong SCIM token, X-Request-Origin mismatch, or caller IP not allowed"
    )]
    Unauthorized {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// 400: the request is invalid (e.g. an unsupported filter or a bad permission name).
    #[error("Braze SCIM rejected the request as invalid (400)")]
    BadRequest {
        /// Braze's `detail` text (may quote the email: keep it out of logs).
        detail: Option<String>,
    },

    /// Any other failure after the retry policy gave up (429, 5xx, 403, transport).
    #[error(transparent)]
    Upstream(UpstreamError),

    /// A 2xx response did not have the expected shape.
    #[error("could not decode the Braze SCIM {what} response {source}")]
    Decode {
        /// Which answer: `user` or `list`.
        what: &'static str,
        /// Where the body did not fit.
        #[source]
        source: DecodeError,
    },

    /// Refused before sending.
    #[error("invalid Braze SCIM request, not sent: {reason}")]
    InvalidRequest {
        /// What is wrong with the request.
        reason: &'static str,
    },

    /// The client could not be built from its configuration.
    #[error("invalid Braze SCIM configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with the configuration.
        reason: &'static str,
    },
}

impl From<UpstreamError> for ScimError {
    /// Classifies by HTTP status; the SCIM error body is decoded for its `detail` whatever
    /// the content type (Braze labels JSON errors `text/html`).
    fn from(error: UpstreamError) -> ScimError {
        let detail = || {
            serde_json::from_slice::<ScimErrorBody>(error.body())
                .ok()
                .and_then(|body| body.detail)
        };
        match error.status() {
            Some(StatusCode::NOT_FOUND) => ScimError::NotFound { detail: detail() },
            Some(StatusCode::CONFLICT) => ScimError::Conflict { detail: detail() },
            Some(StatusCode::UNAUTHORIZED) => ScimError::Unauthorized { detail: detail() },
            Some(StatusCode::BAD_REQUEST) => ScimError::BadRequest { detail: detail() },
            _ => ScimError::Upstream(error),
        }
    }
}

impl ScimError {
    /// The class that decides retry-later, park, or fail for good.
    pub fn class(&self) -> FailureClass {
        match self {
            ScimError::NotFound { .. }
            | ScimError::Conflict { .. }
            | ScimError::BadRequest { .. }
            | ScimError::InvalidRequest { .. } => FailureClass::Permanent,
            // The request was accepted but the answer unreadable: like a garbled 502.
            ScimError::Decode { .. } => FailureClass::Transient,
            ScimError::Unauthorized { .. } | ScimError::InvalidConfig { .. } => {
                FailureClass::Misconfigured
            }
            ScimError::Upstream(error) => error.class(),
        }
    }

    /// Braze's `detail` text, when the error body had one. May contain an email: keep it out
    /// of logs.
    pub fn detail(&self) -> Option<&str> {
        match self {
            ScimError::NotFound { detail }
            | ScimError::Conflict { detail }
            | ScimError::Unauthorized { detail }
            | ScimError::BadRequest { detail } => detail.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_email_has_quotes_then_the_filter_escapes_them() {
        assert_eq!(user_name_filter("a@b.com"), r#"userName eq "a@b.com""#);
        assert_eq!(user_name_filter(r#"a"b\c@d"#), r#"userName eq "a\"b\\c@d""#);
    }

    #[test]
    fn when_base_url_has_a_trailing_slash_then_scim_path_is_appended_once() {
        let client = |base_url: &str| {
            let config = ScimConfig::new(base_url, "token".to_owned().into(), "relay.example");
            ScimClient::new(config, reqwest::Client::new())
        };
        assert_eq!(
            client("https://rest.iad-01.braze.com/")
                .unwrap()
                .users_url(),
            "https://rest.iad-01.braze.com/scim/v2/Users"
        );
        assert!(matches!(
            client("rest.iad-01.braze.com"),
            Err(ScimError::InvalidConfig { .. })
        ));
    }
}
