//! Delivery: sends validated contacts to Braze and Userflow under a deadline, and says per
//! contact whether it is done, worth another try, or refused for good.
//!
//! crm-signup and the sync-worker's `contacts` jobs share this one path, so a parked contact
//! is replayed exactly as it would have been sent the first time:
//! - Braze: `/users/track`, one request per `track_batch` contacts (chunks run concurrently
//!   under the client's limiter); partial errors are attributed to their contact.
//! - Userflow: one `POST /users` per contact, `userflow_concurrency` at a time; the company
//!   travels as the user's group.
//! - The optional signup event (`signed_up` by default), for contacts the CRM reported as
//!   created, goes out at most once per user: a marker object is
//!   created with `If-None-Match: *` first, and only the request that created it sends the
//!   event. The marker is removed again only when the event provably was not recorded (429,
//!   502/503, a 4xx, or no connection), so an ambiguous failure never leads to a second event.
//!
//! Whatever is unfinished at the deadline is [`Outcome::Retry`]; the caller parks it (crm-signup)
//! or reports it as a batch item failure (sync-worker). Callers log a [`FailureTally`] of the
//! outcomes on their one line per request or batch, never a line per contact. Every step is idempotent except the
//! event, which the marker guards, so replaying a contact is always safe.

use std::time::Duration;

use futures::StreamExt;
use futures::future::join;
use serde::Serialize;
use tokio::time::{Instant, timeout_at};

use crate::contact::Contact;
use crate::env::{ConfigError, Env};
use crate::store::ObjectStore;
use relay_clients::braze::{BrazeClient, BrazeError, ItemOutcome, ItemRef, TrackArray};
use relay_clients::upstream::{FailureClass, ThrottleWatch};
use relay_clients::userflow::{UserflowClient, UserflowError};

mod signup_event;
mod tally;

pub use signup_event::{SignupEventMarker, signup_event_marker_key};

pub use tally::FailureTally;

/// Key prefix of the signup event markers in the state bucket.
pub const SIGNUP_EVENT_MARKER_PREFIX: &str = "markers/signed-up/";

/// Tunables of a [`Deliverer`].
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Userflow upserts in flight at once.
    pub userflow_concurrency: usize,
    /// Name of the Userflow event tracked once per user that signs up (case-sensitive in
    /// Userflow).
    pub signup_event_name: String,
    /// The least time left before the deadline for an event to be started; below it the
    /// contact is left for a retry rather than risking an event cut off mid-flight (whose
    /// outcome is then unknown, and which is never sent again). 1 s: one request's round
    /// trip with room to spare, so a slow store or a loaded machine parks the event rather
    /// than cutting it off.
    pub event_min_time_left: Duration,
    /// How long an event already sent may run past the deadline before it is abandoned
    /// (its marker then stays: at most once).
    pub event_grace: Duration,
}

/// The signup event's name unless `SIGNUP_EVENT_NAME` says otherwise.
pub const DEFAULT_SIGNUP_EVENT_NAME: &str = "signed_up";

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            userflow_concurrency: 8,
            signup_event_name: DEFAULT_SIGNUP_EVENT_NAME.into(),
            event_min_time_left: Duration::from_secs(1),
            event_grace: Duration::from_millis(500),
        }
    }
}

impl DeliveryOptions {
    /// Reads `USERFLOW_CONCURRENCY` (default 8) and `SIGNUP_EVENT_NAME` (default `signed_up`).
    pub fn from_env(env: &Env) -> Result<DeliveryOptions, ConfigError> {
        let defaults = DeliveryOptions::default();
        let userflow_concurrency =
            env.parsed("USERFLOW_CONCURRENCY", defaults.userflow_concurrency)?;
        if userflow_concurrency == 0 {
            return Err(ConfigError::new(
                "USERFLOW_CONCURRENCY",
                "must be at least 1",
            ));
        }
        let signup_event_name = env
            .get("SIGNUP_EVENT_NAME")
            .unwrap_or(defaults.signup_event_name);
        let trimmed = signup_event_name.trim();
        if trimmed.is_empty() || trimmed != signup_event_name || trimmed.contains(char::is_control)
        {
            // Userflow matches event names exactly: a stray space or line break would
            // silently trigger no flow.
            return Err(ConfigError::new(
                "SIGNUP_EVENT_NAME",
                "must be a non-empty name without surrounding spaces or control characters",
            ));
        }
        Ok(DeliveryOptions {
            userflow_concurrency,
            signup_event_name,
            ..defaults
        })
    }
}

/// One contact to deliver.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The validated contact.
    pub contact: Contact,
    /// Track the signup event for this contact (once per user): its CRM reported it as
    /// created and its source sends signup events.
    pub track_signup: bool,
}

/// Which step a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Braze `/users/track`.
    Braze,
    /// Userflow `POST /users`.
    Userflow,
    /// The Userflow signup event (or its marker).
    SignupEvent,
}

impl Step {
    /// The step's name in reports and logs (the same as its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Braze => "braze",
            Step::Userflow => "userflow",
            Step::SignupEvent => "signup_event",
        }
    }
}

/// Why one step of one contact did not succeed. `detail` names statuses and codes, never
/// the contact's data, so it can be logged and returned to the CRM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFailure {
    /// The step.
    pub step: Step,
    /// How the failure is treated.
    #[serde(serialize_with = "serialize_class")]
    pub class: FailureClass,
    /// What happened, without personal data.
    pub detail: String,
}

fn serialize_class<S: serde::Serializer>(class: &FailureClass, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(class_name(*class))
}

/// A failure class's name in reports and logs.
pub fn class_name(class: FailureClass) -> &'static str {
    match class {
        FailureClass::Transient => "transient",
        FailureClass::Throttled => "throttled",
        FailureClass::Permanent => "permanent",
        FailureClass::Misconfigured => "misconfigured",
    }
}

/// What happened to one contact.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// In Braze and Userflow (and the event sent, or sent before).
    Delivered,
    /// Not finished, and another attempt may succeed: park it or let SQS redeliver it.
    /// Misconfiguration (a rejected key) lands here too: the contact is kept until an
    /// operator fixes the configuration.
    Retry(Vec<StepFailure>),
    /// A vendor refused the contact itself; repeating cannot help.
    Rejected(Vec<StepFailure>),
}

impl Outcome {
    fn from_failures(failures: Vec<StepFailure>) -> Outcome {
        if failures.is_empty() {
            Outcome::Delivered
        } else if failures.iter().any(|f| f.class == FailureClass::Permanent) {
            Outcome::Rejected(failures)
        } else {
            Outcome::Retry(failures)
        }
    }
}

/// Sends contacts to Braze and Userflow; see the module docs.
#[derive(Debug, Clone)]
pub struct Deliverer<S> {
    braze: BrazeClient,
    userflow: UserflowClient,
    store: S,
    options: DeliveryOptions,
}

impl<S: ObjectStore> Deliverer<S> {
    /// A deliverer over the given clients; `store` holds the event markers.
    pub fn new(
        braze: BrazeClient,
        userflow: UserflowClient,
        store: S,
        options: DeliveryOptions,
    ) -> Deliverer<S> {
        Deliverer {
            braze,
            userflow,
            store,
            options,
        }
    }

    /// The state store (markers).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The Userflow client (the export sync sends through the same client, so one limiter
    /// paces both).
    pub fn userflow(&self) -> &UserflowClient {
        &self.userflow
    }

    /// Starts counting the 429s Braze and Userflow answer this deliverer's clients (and the
    /// export sync, which shares the Userflow client): taken when an invocation starts, read
    /// for its `UpstreamThrottles` metric when it ends.
    pub fn watch_throttles(&self) -> ThrottleWatch {
        ThrottleWatch::start([
            self.braze.throttles().clone(),
            self.userflow.throttles().clone(),
        ])
    }

    /// Delivers every contact, stopping at `deadline`; one [`Outcome`] per input, in order.
    /// Braze and Userflow run concurrently; a contact is [`Outcome::Delivered`] only when
    /// both succeeded.
    pub async fn deliver(&self, items: &[Delivery], deadline: Instant) -> Vec<Outcome> {
        let (braze, userflow) = join(
            self.to_braze(items, deadline),
            self.to_userflow(items, deadline),
        )
        .await;
        braze
            .into_iter()
            .zip(userflow)
            .map(|(braze, userflow)| {
                Outcome::from_failures(braze.into_iter().chain(userflow).collect())
            })
            .collect()
    }

    /// One `/users/track` request per chunk; per contact, the failure if any.
    async fn to_braze(&self, items: &[Delivery], deadline: Instant) -> Vec<Option<StepFailure>> {
        let chunk_size = self.braze.track_batch().max(1);
        // Owned ranges, not borrowed chunks: the stream's closure must not take a reference
        // argument, or the future stops being provably `Send` for the Lambda runtime.
        let ranges: Vec<(usize, usize)> = (0..items.len())
            .step_by(chunk_size)
            .map(|start| (start, (start + chunk_size).min(items.len())))
            .collect();
        futures::stream::iter(ranges)
            .map(|(start, end)| self.track_chunk(&items[start..end], deadline))
            .buffered(self.braze.concurrency())
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn track_chunk(&self, chunk: &[Delivery], deadline: Instant) -> Vec<Option<StepFailure>> {
        let attributes = chunk.iter().map(|item| item.contact.to_braze());
        let sent = timeout_at(deadline, self.braze.track().attributes(attributes).send());
        let report = match sent.await {
            Ok(Ok(report)) => report,
            Ok(Err(error)) => return vec![Some(braze_failure(&error)); chunk.len()],
            Err(_) => return vec![Some(deadline_failure(Step::Braze)); chunk.len()],
        };
        (0..chunk.len())
            .map(|index| {
                let item = ItemRef {
                    array: TrackArray::Attributes,
                    index,
                };
                match report.outcome(item) {
                    ItemOutcome::Accepted => None,
                    ItemOutcome::Invalid(errors) => Some(StepFailure {
                        step: Step::Braze,
                        class: FailureClass::Permanent,
                        detail: errors
                            .iter()
                            .map(|e| e.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; "),
                    }),
                    // Braze's error type names the problem ("invalid phone number"); it may
                    // quote data, so only its presence is reported.
                    ItemOutcome::Rejected(_) => Some(StepFailure {
                        step: Step::Braze,
                        class: FailureClass::Permanent,
                        detail: "Braze rejected the attributes object".into(),
                    }),
                    ItemOutcome::Failed(error) => Some(braze_failure(error)),
                }
            })
            .collect()
    }

    /// One upsert (then the event, when due) per contact, a bounded number at a time.
    async fn to_userflow(&self, items: &[Delivery], deadline: Instant) -> Vec<Option<StepFailure>> {
        futures::stream::iter(0..items.len())
            .map(|index| self.one_to_userflow(&items[index], deadline))
            .buffered(self.options.userflow_concurrency.max(1))
            .collect()
            .await
    }

    async fn one_to_userflow(&self, item: &Delivery, deadline: Instant) -> Option<StepFailure> {
        let upsert = item.contact.to_userflow(&self.userflow).send();
        match timeout_at(deadline, upsert).await {
            Err(_) => return Some(deadline_failure(Step::Userflow)),
            Ok(Err(error)) => return Some(userflow_failure(Step::Userflow, &error)),
            Ok(Ok(_)) => {}
        }
        if !item.track_signup {
            return None;
        }
        self.track_signup_event(&item.contact, deadline).await
    }
}

fn deadline_failure(step: Step) -> StepFailure {
    StepFailure {
        step,
        class: FailureClass::Transient,
        detail: "not finished before the request deadline".into(),
    }
}

fn braze_failure(error: &BrazeError) -> StepFailure {
    StepFailure {
        step: Step::Braze,
        class: error.class(),
        detail: match error.status() {
            Some(status) => format!("Braze answered HTTP {}", status.as_u16()),
            None => "Braze could not be reached".into(),
        },
    }
}

fn userflow_failure(step: Step, error: &UserflowError) -> StepFailure {
    let code = error
        .vendor_error()
        .and_then(|body| body.code.as_deref())
        .map(|code| format!(" ({code})"))
        .unwrap_or_default();
    StepFailure {
        step,
        class: error.class(),
        detail: match error.status() {
            Some(status) => format!("Userflow answered HTTP {}{code}", status.as_u16()),
            None => format!("Userflow request failed: {}", error_kind(error)),
        },
    }
}

fn error_kind(error: &UserflowError) -> &'static str {
    match error {
        UserflowError::InvalidRequest { .. } => "invalid request",
        UserflowError::InvalidConfig { .. } => "invalid configuration",
        UserflowError::Decode { .. } => "unreadable answer",
        _ => "no answer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_signup_event_name_is_padded_or_has_a_line_break_then_the_variable_is_named() {
        for bad in ["signed_up ", " signed_up", "signed\nup", "signed_up\r"] {
            let env = Env::from_map([("SIGNUP_EVENT_NAME".to_owned(), bad.to_owned())].into());
            let error = DeliveryOptions::from_env(&env).unwrap_err();
            assert_eq!(error.variable(), "SIGNUP_EVENT_NAME", "{bad:?}");
        }
        let env = Env::from_map([("SIGNUP_EVENT_NAME".to_owned(), "Signed Up".to_owned())].into());
        assert_eq!(
            DeliveryOptions::from_env(&env).unwrap().signup_event_name,
            "Signed Up"
        );
    }

    #[test]
    fn when_a_step_is_named_then_as_str_is_its_serde_name() {
        for step in [Step::Braze, Step::Userflow, Step::SignupEvent] {
            assert_eq!(
                serde_json::to_value(step).unwrap(),
                serde_json::Value::from(step.as_str())
            );
        }
        assert_eq!(Step::SignupEvent.as_str(), "signup_event");
    }
}
