//! The signup event's marker document and its key.

use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::delivery::SIGNUP_EVENT_MARKER_PREFIX;

/// A signup event marker (`markers/signed-up/<sha256 of the external id>`): who holds the
/// user's event, and how far it got.
///
/// - *reserved* (`sending_at` unset): a call holds the event but has sent nothing; any call
///   may take it over (compare-and-swap), so a reservation whose writer gave up, or whose
///   write landed after its writer stopped waiting, never blocks the event;
/// - *sending* (`sending_at` set): the request was started, so the event was sent or may have
///   been: never sent again;
/// - *unknown* (`unknown_since` set too): the request ended without an answer; Userflow may
///   or may not hold the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupEventMarker {
    /// When the event was reserved (RFC 3339).
    pub reserved_at: String,
    /// Which call holds it (random). Empty only in markers older than this field, which
    /// read as *sending* (they were written just before the request).
    #[serde(default)]
    pub reservation: String,
    /// When the event's request was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_at: Option<String>,
    /// When the request ended without an answer (cut off at the deadline, the connection
    /// lost mid-request, a 5xx other than 502/503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_since: Option<String>,
}

impl SignupEventMarker {
    /// A reservation for a new call, made now.
    pub(super) fn reserved_now() -> SignupEventMarker {
        SignupEventMarker {
            reserved_at: now_millis(),
            reservation: uuid::Uuid::new_v4().simple().to_string(),
            sending_at: None,
            unknown_since: None,
        }
    }

    /// The same reservation, its request started now.
    pub(super) fn sending(&self) -> SignupEventMarker {
        SignupEventMarker {
            sending_at: Some(now_millis()),
            ..self.clone()
        }
    }

    /// The same marker, its request ended without an answer now.
    pub(super) fn unknown(&self) -> SignupEventMarker {
        SignupEventMarker {
            unknown_since: Some(now_millis()),
            ..self.clone()
        }
    }

    /// Whether the event was sent or may have been (so it is never sent again).
    pub fn started(&self) -> bool {
        self.sending_at.is_some() || self.unknown_since.is_some() || self.reservation.is_empty()
    }

    pub(super) fn to_bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a stored marker; `None` when the body is not one.
    pub fn decode(body: &[u8]) -> Option<SignupEventMarker> {
        serde_json::from_slice(body).ok()
    }
}

fn now_millis() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The marker key for a user's signup event: the external id hashed, so keys carry no
/// personal data.
pub fn signup_event_marker_key(external_id: &str) -> String {
    format!(
        "{SIGNUP_EVENT_MARKER_PREFIX}{}",
        hex::encode(Sha256::digest(external_id.as_bytes()))
    )
}
