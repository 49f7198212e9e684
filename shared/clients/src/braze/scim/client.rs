//! The SCIM client: its configuration and the requests on `/scim/v2/Users`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ScimError;
use super::models::{ListResponse, NewScimUser, ScimUser, ScimUserUpdate};
use crate::upstream::{
    BadCredential, BaseUrl, Idempotency, Rate, RateLimiter, RetryPolicy, Upstream, bearer_header,
    decode_json, json_bytes,
};

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
    /// Any 2xx means the user was created: the answer is `Some(user)` when its body is the
    /// user, `None` when it is empty or another shape (find the user with
    /// [`Self::find_by_user_name`]). An unreadable answer is never an error, since a caller
    /// that retried the create would then meet a conflict with its own user.
    ///
    /// Sent as not idempotent: only repeated after a 429 or when no connection was made, so a
    /// retry never turns our own successful create into a conflict. After a 5xx, check with
    /// [`Self::find_by_user_name`] before creating again.
    pub async fn create(&self, user: &NewScimUser) -> Result<Option<ScimUser>, ScimError> {
        if user.user_name.is_empty() {
            return Err(ScimError::InvalidRequest {
                reason: "userName is empty",
            });
        }
        let url = self.inner.users_url.clone();
        let response = self
            .execute(Method::POST, url, Some(user), Idempotency::NotIdempotent)
            .await?;
        Ok(read_written_user(&response.body, "create"))
    }

    /// `PUT /scim/v2/Users/{id}`: replaces name, department and permissions (all required;
    /// the user name cannot change).
    ///
    /// Like [`Self::create`], any 2xx means done: `Some(user)` when the body is the user,
    /// `None` when it is empty or another shape (read the user with [`Self::get`]).
    pub async fn replace(
        &self,
        id: &str,
        update: &ScimUserUpdate,
    ) -> Result<Option<ScimUser>, ScimError> {
        let url = self.user_url(id)?;
        let response = self.call(Method::PUT, url, Some(update)).await?;
        Ok(read_written_user(&response.body, "replace"))
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

/// Reads the 2xx answer of a write (create, replace): the user when the body is one, `None`
/// otherwise (empty, HTML from a proxy, another shape). Braze made the change either way, so
/// an unreadable answer is logged (the JSON path and category only, never the body) and is
/// not an error.
fn read_written_user(body: &[u8], operation: &'static str) -> Option<ScimUser> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match decode_json(body) {
        Ok(user) => Some(user),
        Err(error) => {
            tracing::warn!(
                operation,
                path = %error.path,
                category = error.category,
                "braze scim accepted the request but its answer is not a user; counted as done"
            );
            None
        }
    }
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, ScimError> {
    decode_json(body).map_err(|source| ScimError::Decode { what, source })
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
    fn when_a_write_answer_is_a_user_then_it_is_read_and_otherwise_it_is_none() {
        let user = br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u-1","userName":"ada@example.com","name":{"givenName":"Ada","familyName":"L"},"department":"eng"}"#;
        let read = read_written_user(user, "create").expect("a user");
        assert_eq!(
            (read.id.as_str(), read.user_name.as_str()),
            ("u-1", "ada@example.com")
        );
        for body in [
            &b""[..],
            b"  \n",
            b"{}",
            b"<html>ok</html>",
            br#"{"id":"u-1","userName":42}"#,
            br#"{"message":"queued"}"#,
        ] {
            assert_eq!(read_written_user(body, "create"), None, "{body:?}");
        }
    }

    mod against_a_server {
        use super::*;
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        fn client(server: &MockServer) -> ScimClient {
            let config = ScimConfig::new(server.uri(), "token".to_owned().into(), "origin");
            ScimClient::new(config, reqwest::Client::new()).unwrap()
        }

        fn new_user() -> NewScimUser {
            NewScimUser {
                user_name: "ada@example.com".into(),
                name: crate::braze::scim::ScimName::new("Ada", "Lovelace"),
                department: "eng".into(),
                permissions: None,
            }
        }

        #[tokio::test]
        async fn when_create_is_answered_201_with_an_unexpected_body_then_it_is_done_once() {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/scim/v2/Users"))
                .respond_with(
                    ResponseTemplate::new(201).set_body_raw("<html>created</html>", "text/html"),
                )
                .expect(1)
                .mount(&server)
                .await;

            let created = client(&server).create(&new_user()).await;

            assert!(matches!(created, Ok(None)), "{created:?}");
        }

        #[tokio::test]
        async fn when_replace_is_answered_204_without_a_body_then_it_is_done() {
            let server = MockServer::start().await;
            Mock::given(method("PUT"))
                .and(path("/scim/v2/Users/u-1"))
                .respond_with(ResponseTemplate::new(204))
                .expect(1)
                .mount(&server)
                .await;
            let update = ScimUserUpdate {
                name: crate::braze::scim::ScimName::new("Ada", "King"),
                department: "eng".into(),
                permissions: Default::default(),
            };

            let replaced = client(&server).replace("u-1", &update).await;

            assert!(matches!(replaced, Ok(None)), "{replaced:?}");
        }
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
