//! The send loop: [`Upstream::execute`] applies the retry policy and the rate limiter to one
//! logical request. It reads the body as bytes only; callers decode it after looking at the
//! status, so an HTML 502 is never parsed as JSON.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, StatusCode};
use reqwest::RequestBuilder;
use tokio::time::Instant;

use super::error::UpstreamError;
use super::headers::header_str;
use super::http_helpers::Response;
use super::rate_limit::RateLimiter;
use super::retry::{AttemptContext, Decision, FailureClass, Idempotency, Observed, RetryPolicy};
use super::throttles::ThrottleCount;

/// One API as seen by a client: its name (for errors and logs), the HTTP client, the retry
/// policy, the rate limiter and the count of 429s it received. Cheap to clone; clones share
/// the limiter and the count.
#[derive(Debug, Clone)]
pub struct Upstream {
    api: &'static str,
    http: reqwest::Client,
    policy: RetryPolicy,
    limiter: Arc<RateLimiter>,
    throttles: ThrottleCount,
    until: Option<tokio::time::Instant>,
}

impl Upstream {
    /// An upstream named `api` (used in errors and logs, never a secret).
    pub fn new(
        api: &'static str,
        http: reqwest::Client,
        policy: RetryPolicy,
        limiter: Arc<RateLimiter>,
    ) -> Upstream {
        Upstream {
            api,
            http,
            policy,
            limiter,
            throttles: ThrottleCount::new(),
            until: None,
        }
    }

    /// The same upstream, but no attempt starts and no retry wait ends after `until`: a
    /// request that could not be sent by then fails with [`UpstreamError::NotSent`], so the
    /// caller knows the vendor never saw it (what a non-idempotent call needs to know when
    /// it works under a deadline).
    pub fn until(&self, until: tokio::time::Instant) -> Upstream {
        Upstream {
            until: Some(until),
            ..self.clone()
        }
    }

    /// The API's name, as given to [`Upstream::new`].
    pub fn api(&self) -> &'static str {
        self.api
    }

    /// The shared HTTP client, for building requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The 429 answers this API has received, every attempt counted (a 429 whose retry then
    /// succeeded too).
    pub fn throttles(&self) -> &ThrottleCount {
        &self.throttles
    }

    /// Sends the request built by `build` (called once per attempt) under this API's limiter
    /// and policy, using `limiter` instead of the API-wide one when given (endpoint families
    /// with their own budget). Returns the first 2xx response, or the final failure.
    pub async fn execute(
        &self,
        limiter: Option<&RateLimiter>,
        idempotency: Idempotency,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, UpstreamError> {
        let limiter = limiter.unwrap_or(&self.limiter);
        let started = Instant::now();
        let policy = match self.until {
            Some(until) => RetryPolicy {
                deadline: self
                    .policy
                    .deadline
                    .min(until.saturating_duration_since(tokio::time::Instant::now())),
                ..self.policy
            },
            None => self.policy,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(until) = self.until
                && tokio::time::timeout_at(until, limiter.acquire())
                    .await
                    .is_err()
            {
                return Err(UpstreamError::NotSent {
                    api: self.api,
                    attempts: attempt - 1,
                });
            }
            if self.until.is_none() {
                limiter.acquire().await;
            }
            let sent = build(&self.http).send().await;
            let now = SystemTime::now();
            let ctx = AttemptContext {
                attempt,
                elapsed: started.elapsed(),
                now,
                jitter: rand::random::<f64>(),
                idempotency,
            };
            // The URL can carry personal data (an email filter in a query string): errors
            // keep only what reqwest says without it.
            let (source, connected) = match sent {
                Err(source) => {
                    let connected = !source.is_connect();
                    (source.without_url(), connected)
                }
                Ok(response) => {
                    let status = response.status();
                    if FailureClass::of_status(status) == Some(FailureClass::Throttled) {
                        self.throttles.record();
                    }
                    let headers = response.headers().clone();
                    limiter.observe(&headers, now);
                    let observed = Observed::Response {
                        status,
                        headers: &headers,
                    };
                    let decision = policy.decide(observed, ctx);
                    // A vendor's "slow down" holds for every task of this API, even when
                    // this request gives up instead of waiting.
                    if let Decision::GiveUp {
                        class: FailureClass::Throttled,
                        retry_after: Some(delay),
                        ..
                    } = decision
                    {
                        limiter.pause(delay);
                    }
                    if let Decision::Retry { after, class } = decision {
                        if class == FailureClass::Throttled {
                            limiter.pause(after);
                        }
                        self.wait_before_retry(attempt, Some(status), after).await;
                        continue;
                    }
                    match response.bytes().await {
                        Ok(body) => {
                            return self.finish(status, headers, body, decision, attempt);
                        }
                        // A body that cannot be read is a dropped connection: transient.
                        Err(source) => (source.without_url(), true),
                    }
                }
            };
            let ctx = AttemptContext {
                elapsed: started.elapsed(),
                ..ctx
            };
            let reason = match policy.decide(Observed::Transport { connected }, ctx) {
                Decision::Retry { after, .. } => {
                    self.wait_before_retry(attempt, None, after).await;
                    continue;
                }
                Decision::GiveUp { reason, .. } => reason,
                Decision::Success => unreachable!("a transport error is never a success"),
            };
            tracing::warn!(
                api = self.api,
                attempt,
                ?reason,
                "upstream transport error; gave up"
            );
            return Err(UpstreamError::Transport {
                api: self.api,
                reason,
                attempts: attempt,
                source,
            });
        }
    }

    /// Sends `method url` with `headers` (and `body` as JSON, when given) through
    /// [`Upstream::execute`]: the request every vendor client makes.
    pub async fn send(
        &self,
        limiter: Option<&RateLimiter>,
        idempotency: Idempotency,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response, UpstreamError> {
        let needs_content_type = body.is_some() && !headers.contains_key(CONTENT_TYPE);
        self.execute(limiter, idempotency, |http| {
            let request = http.request(method.clone(), url).headers(headers.clone());
            match &body {
                Some(body) if needs_content_type => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone()),
                Some(body) => request.body(body.clone()),
                None => request,
            }
        })
        .await
    }

    async fn wait_before_retry(&self, attempt: u32, status: Option<StatusCode>, after: Duration) {
        tracing::warn!(
            api = self.api,
            status = status.map(|s| s.as_u16()),
            attempt,
            delay_ms = after.as_millis() as u64,
            "upstream retry"
        );
        tokio::time::sleep(after).await;
    }

    /// Turns a final (non-retry) decision on a fully read response into the loop's result.
    fn finish(
        &self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        decision: Decision,
        attempts: u32,
    ) -> Result<Response, UpstreamError> {
        let Decision::GiveUp {
            class,
            reason,
            retry_after,
        } = decision
        else {
            return Ok(Response {
                status,
                headers,
                body,
            });
        };
        tracing::warn!(
            api = self.api,
            status = status.as_u16(),
            attempts,
            ?class,
            ?reason,
            "upstream gave up"
        );
        let content_type = header_str(&headers, "content-type").map(str::to_owned);
        Err(UpstreamError::Status {
            api: self.api,
            status,
            class,
            reason,
            attempts,
            retry_after,
            content_type,
            body,
        })
    }
}
