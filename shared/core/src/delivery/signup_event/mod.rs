//! The signup event, sent at most once per user and never lost to a stalled store.
//!
//! Before the request, the call claims the user's marker ([`SignupEventMarker`]): it creates
//! it with `If-None-Match: *`, or takes over a marker that is only *reserved* (nobody sent
//! anything), then moves it to *sending* with a compare-and-swap. Only the call whose swap
//! wins sends the event, so two deliveries of one contact send it once. Afterwards:
//! - sent: the marker stays *sending*;
//! - provably not recorded (429, 502/503, a 4xx, no connection): the marker is deleted, and a
//!   later attempt sends the event;
//! - no answer (cut off at the deadline, the connection lost mid-request): the marker records
//!   the unknown outcome and the event is not sent again (Userflow's `POST /events` is not
//!   idempotent).
//!
//! A marker write whose answer was lost (S3 slow or stalled) may land after its writer gave
//! up; as it is only *reserved*, the next attempt takes it over instead of skipping the event.

mod marker;

use chrono::SecondsFormat;
use http::StatusCode;
use tokio::time::{Instant, timeout_at};

use relay_clients::upstream::{FailureClass, GiveUpReason, UpstreamError};
use relay_clients::userflow::{EventSubject, UserflowError};

use super::{Deliverer, Step, StepFailure, deadline_failure, userflow_failure};
use crate::contact::Contact;
use crate::store::{ObjectStore, PutIfAbsent, PutIfMatch, StoreError, Version};

pub use marker::{SignupEventMarker, signup_event_marker_key};

/// Claims tried before giving up for this attempt (each lost race re-reads the marker).
const CLAIM_ROUNDS: usize = 3;

/// What claiming the marker came to.
enum Claim {
    /// This call holds the marker, now *sending*.
    Won(SignupEventMarker),
    /// The event was sent, or may have been: nothing to do.
    Started,
}

impl<S: ObjectStore> Deliverer<S> {
    /// Tracks the signup event unless a marker says it was sent (or may have been).
    pub(super) async fn track_signup_event(
        &self,
        contact: &Contact,
        deadline: Instant,
    ) -> Option<StepFailure> {
        if self.too_late(deadline) {
            return Some(deadline_failure(Step::SignupEvent));
        }
        let key = signup_event_marker_key(&contact.external_id);
        let marker = match self.claim(&key, deadline).await {
            Ok(Claim::Won(marker)) => marker,
            Ok(Claim::Started) => return None,
            Err(failure) => return Some(failure),
        };
        let mut event = self.userflow.track_event(
            &self.options.signup_event_name,
            EventSubject::User(contact.external_id.clone()),
        );
        if let Some(at) = contact.signed_up_at {
            event = event.attribute(
                "signed_up_at",
                serde_json::Value::from(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
        }
        // Retries stop at the deadline (the request then provably was not sent); only a
        // request in flight may run into the grace period, and one cut off there is ambiguous.
        let sent = timeout_at(
            deadline + self.options.event_grace,
            event.send_before(deadline),
        )
        .await;
        let error = match sent {
            Ok(Ok(())) => return None,
            Ok(Err(error)) => error,
            Err(_) => {
                tracing::warn!(
                    step = "signup_event",
                    "event outcome unknown (cut off after the deadline); not repeated"
                );
                self.record_unknown_outcome(&key, &marker).await;
                return None;
            }
        };
        if !event_surely_not_recorded(&error) {
            tracing::warn!(
                step = "signup_event",
                status = error.status().map(|s| s.as_u16()),
                "event outcome unknown; not repeated (at most once)"
            );
            self.record_unknown_outcome(&key, &marker).await;
            return None;
        }
        // Userflow did not record it: free the marker so a later attempt sends it.
        self.free_marker(&key).await;
        Some(userflow_failure(Step::SignupEvent, &error))
    }

    /// Too little time is left to start the event.
    fn too_late(&self, deadline: Instant) -> bool {
        deadline.saturating_duration_since(Instant::now()) < self.options.event_min_time_left
    }

    /// Creates or takes over the user's marker and moves it to *sending*.
    async fn claim(&self, key: &str, deadline: Instant) -> Result<Claim, StepFailure> {
        let ours = SignupEventMarker::reserved_now();
        for _ in 0..CLAIM_ROUNDS {
            // The version to swap from: the marker this call created, or the reserved one
            // found (this call's own, answered 412 after a lost answer, or another's).
            let version = match self
                .store
                .put_if_absent(key, ours.to_bytes(), "application/json")
                .await
                .map_err(marker_failure)?
            {
                PutIfAbsent::Created(version) => version,
                PutIfAbsent::AlreadyExists => {
                    let found = self
                        .store
                        .get_versioned(key)
                        .await
                        .map_err(marker_failure)?;
                    let Some(found) = found else {
                        continue; // freed meanwhile: create it again
                    };
                    match SignupEventMarker::decode(&found.body) {
                        Some(marker) if !marker.started() => found.version,
                        // Started, or not a marker this relay can read: at most once.
                        _ => return Ok(Claim::Started),
                    }
                }
            };
            // A reservation left *reserved* is harmless: the next attempt takes it over.
            if self.too_late(deadline) {
                return Err(deadline_failure(Step::SignupEvent));
            }
            if let Some(marker) = self.start_sending(key, &ours, &version).await? {
                return Ok(Claim::Won(marker));
            }
        }
        Err(StepFailure {
            step: Step::SignupEvent,
            class: FailureClass::Transient,
            detail: "event marker contended".into(),
        })
    }

    /// Swaps the marker at `version` for `ours`, *sending*; `None` when it changed meanwhile.
    async fn start_sending(
        &self,
        key: &str,
        ours: &SignupEventMarker,
        version: &Version,
    ) -> Result<Option<SignupEventMarker>, StepFailure> {
        let sending = ours.sending();
        let swapped = self
            .store
            .put_if_match(key, sending.to_bytes(), "application/json", version)
            .await
            .map_err(marker_failure)?;
        Ok(match swapped {
            PutIfMatch::Written(_) => Some(sending),
            PutIfMatch::Changed => None,
        })
    }

    /// Removes a marker whose event was provably not recorded, so a later attempt sends it.
    async fn free_marker(&self, key: &str) {
        if let Err(error) = self.store.delete(key).await {
            tracing::error!(
                step = "signup_event",
                operation = error.operation,
                "event not recorded and its marker could not be removed; the event will not be sent"
            );
        }
    }

    /// Records on the marker that the event's request ended without an answer: the marker is
    /// where an operator finds the users whose event may be missing.
    async fn record_unknown_outcome(&self, key: &str, marker: &SignupEventMarker) {
        let unknown = marker.unknown();
        if let Err(error) = self
            .store
            .put(key, unknown.to_bytes(), "application/json")
            .await
        {
            tracing::error!(
                step = "signup_event",
                operation = error.operation,
                "the event's unknown outcome could not be recorded on its marker"
            );
        }
    }
}

/// A marker that could not be read or written: the event waits for a later attempt.
fn marker_failure(error: StoreError) -> StepFailure {
    StepFailure {
        step: Step::SignupEvent,
        class: if error.class == FailureClass::Permanent {
            // A store that refuses writes is configuration, not the contact.
            FailureClass::Misconfigured
        } else {
            error.class
        },
        detail: format!("event marker not written: {}", error.operation),
    }
}

/// Whether a failed event request provably left no event behind: Userflow refused it (4xx,
/// including 429), a gateway said the service was unavailable (502, 503), or the request
/// never reached it (the client's retries of unsent requests ran out).
fn event_surely_not_recorded(error: &UserflowError) -> bool {
    match error.upstream() {
        None => true,
        Some(UpstreamError::Status { status, .. }) => {
            status.is_client_error() && *status != StatusCode::REQUEST_TIMEOUT
                || matches!(
                    *status,
                    StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE
                )
        }
        // A non-idempotent request is only retried when the connection was never made:
        // if the client gave up after retrying, no attempt reached Userflow.
        Some(UpstreamError::Transport { reason, .. }) => *reason != GiveUpReason::NotRetryable,
        Some(UpstreamError::NotSent { .. }) => true,
    }
}

#[cfg(test)]
mod tests;
