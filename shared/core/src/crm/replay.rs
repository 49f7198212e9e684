//! The replay guard of untimed signatures: a HubSpot v1 / v2 request signs no time, so a
//! captured copy verifies forever. Each one is processed once: a marker object per request
//! (keyed by its [`ReplayKey`]) is written once the request is fully handled, and a request
//! whose marker exists is answered without doing anything.
//!
//! The marker is written only after the request was handled (delivered, parked or rejected for
//! good), never before: when the relay fails, HubSpot's retry carries the same signature and
//! must still be processed. Two copies arriving at the same moment may both be processed;
//! delivery is idempotent, so that costs a duplicate upsert, never a lost contact.

use bytes::Bytes;
use chrono::Utc;

use super::signature::{ReplayKey, Verified};
use crate::store::ObjectStore;

/// Key prefix of the markers of handled untimed requests.
pub const REPLAY_MARKER_PREFIX: &str = "markers/replay/";

/// The marker key of an untimed request to `source`.
pub fn replay_marker_key(source: &str, key: &ReplayKey) -> String {
    format!("{REPLAY_MARKER_PREFIX}{source}/{}", key.as_str())
}

/// What [`check_replay`] found for one verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayCheck {
    /// The signature covers a time (or the scheme has its own dedupe): nothing to guard.
    NotNeeded,
    /// Not handled before: process it, then [`ReplayCheck::remember`] it once handled.
    New {
        /// The marker to write.
        marker: String,
    },
    /// Handled before: answer 2xx and do nothing.
    Replayed,
}

/// Looks the request up among the handled ones, when its signature is untimed. A store error
/// reads as "not handled": the request is processed (delivery is idempotent), where refusing
/// it would make the outage lose contacts.
pub async fn check_replay<S: ObjectStore>(
    store: &S,
    source: &str,
    verified: &Verified,
) -> ReplayCheck {
    let Some(key) = verified.replay_key() else {
        return ReplayCheck::NotNeeded;
    };
    let marker = replay_marker_key(source, key);
    match store.get(&marker).await {
        Ok(Some(_)) => {
            tracing::info!(
                source,
                "request already handled (same untimed HubSpot signature): ignored as a replay"
            );
            ReplayCheck::Replayed
        }
        Ok(None) => ReplayCheck::New { marker },
        Err(error) => {
            tracing::warn!(source, %error, "replay marker not readable: the request is processed");
            ReplayCheck::New { marker }
        }
    }
}

impl ReplayCheck {
    /// Whether the request was handled before and must not be processed again.
    pub fn is_replay(&self) -> bool {
        matches!(self, ReplayCheck::Replayed)
    }

    /// Writes the marker of a request now fully handled (nothing for
    /// [`ReplayCheck::NotNeeded`]). A failure only loses the guard for this request (a replay
    /// would be processed again, idempotently), so it is logged, not returned.
    pub async fn remember<S: ObjectStore>(&self, store: &S) {
        let ReplayCheck::New { marker } = self else {
            return;
        };
        let stamp = Bytes::from(format!(r#"{{"handled_at":"{}"}}"#, Utc::now().to_rfc3339()));
        if let Err(error) = store.put(marker, stamp, "application/json").await {
            tracing::warn!(%error, "replay marker not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use relay_clients::upstream::FailureClass;

    use super::*;
    use crate::store::MemoryStore;

    fn untimed(signature: &[u8]) -> Verified {
        Verified::Untimed(ReplayKey::of_signature("v2", signature))
    }

    #[tokio::test]
    async fn when_an_untimed_request_is_new_then_it_is_processed_and_remembered_only_after() {
        let store = MemoryStore::new();
        let check = check_replay(&store, "hubspot", &untimed(b"sig-1")).await;
        let ReplayCheck::New { marker } = &check else {
            panic!("expected New, got {check:?}")
        };
        assert!(marker.starts_with("markers/replay/hubspot/"), "{marker}");
        assert!(
            store.keys().is_empty(),
            "nothing written before it is handled"
        );
        check.remember(&store).await;
        assert_eq!(store.keys(), std::slice::from_ref(marker));
        assert_eq!(
            store.content_type_of(marker).as_deref(),
            Some("application/json")
        );
    }

    #[tokio::test]
    async fn when_a_handled_request_comes_again_then_it_is_a_replay() {
        let store = MemoryStore::new();
        check_replay(&store, "hubspot", &untimed(b"sig-1"))
            .await
            .remember(&store)
            .await;
        let again = check_replay(&store, "hubspot", &untimed(b"sig-1")).await;
        assert_eq!(again, ReplayCheck::Replayed);
        assert!(again.is_replay());
        let other = check_replay(&store, "hubspot", &untimed(b"sig-2")).await;
        assert!(!other.is_replay(), "another request is new");
        let elsewhere = check_replay(&store, "hubspot-eu", &untimed(b"sig-1")).await;
        assert!(!elsewhere.is_replay(), "markers are per source");
    }

    #[tokio::test]
    async fn when_a_request_was_not_remembered_then_its_retry_is_processed() {
        let store = MemoryStore::new();
        let first = check_replay(&store, "hubspot", &untimed(b"sig-1")).await;
        assert!(!first.is_replay());
        // The handler failed: no remember.
        let retry = check_replay(&store, "hubspot", &untimed(b"sig-1")).await;
        assert!(!retry.is_replay());
    }

    #[tokio::test]
    async fn when_the_signature_is_timed_then_nothing_is_read_or_written() {
        let store = MemoryStore::new();
        store.fail_next("get", FailureClass::Permanent);
        let check = check_replay(&store, "hubspot", &Verified::Complete).await;
        assert_eq!(check, ReplayCheck::NotNeeded);
        check.remember(&store).await;
        assert!(store.keys().is_empty());
        // The injected failure is still queued: `get` was never called.
        assert!(store.get("x").await.is_err());
    }

    #[tokio::test]
    async fn when_the_store_cannot_be_read_then_the_request_is_processed() {
        let store = MemoryStore::new();
        check_replay(&store, "hubspot", &untimed(b"sig-1"))
            .await
            .remember(&store)
            .await;
        store.fail_next("get", FailureClass::Transient);
        let check = check_replay(&store, "hubspot", &untimed(b"sig-1")).await;
        assert!(matches!(check, ReplayCheck::New { .. }), "{check:?}");
    }

    #[tokio::test]
    async fn when_the_marker_cannot_be_written_then_remember_does_not_fail() {
        let store = MemoryStore::new();
        let check = check_replay(&store, "hubspot", &untimed(b"sig-1")).await;
        store.fail_next("put", FailureClass::Transient);
        check.remember(&store).await;
        assert!(store.keys().is_empty());
    }
}
