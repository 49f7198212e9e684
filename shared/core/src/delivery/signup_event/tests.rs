//! The marker's rules around one event request, against wiremock's Userflow.

use std::num::NonZeroU32;
use std::time::Duration;

use relay_clients::braze::{BrazeClient, BrazeConfig, BrazeEndpoint};
use relay_clients::upstream::{HttpTimeouts, Rate, http_client};
use relay_clients::userflow::{UserflowClient, UserflowConfig};
use secrecy::SecretString;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::delivery::{DeliveryOptions, Step};
use crate::store::MemoryStore;

async fn deliverer(userflow: &MockServer, store: MemoryStore) -> Deliverer<MemoryStore> {
    let http = http_client(HttpTimeouts::default());
    let braze = BrazeClient::new(
        BrazeConfig::new(
            BrazeEndpoint::parse(&userflow.uri(), true).expect("endpoint"),
            SecretString::from("braze-key"),
        ),
        http.clone(),
    )
    .expect("braze client");
    let config = UserflowConfig {
        rate: Rate::per_second(NonZeroU32::new(1000).expect("non-zero")),
        ..UserflowConfig::with_base_url(userflow.uri(), SecretString::from("ak_test"))
    };
    let userflow = UserflowClient::new(config, http).expect("userflow client");
    Deliverer::new(braze, userflow, store, DeliveryOptions::default())
}

async fn userflow(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

async fn events(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

fn stored_marker(deliverer: &Deliverer<MemoryStore>, id: &str) -> Option<SignupEventMarker> {
    let body = deliverer.store().get_now(&signup_event_marker_key(id))?;
    SignupEventMarker::decode(&body)
}

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

#[tokio::test]
async fn when_the_marker_write_is_answered_412_for_its_own_lost_answer_then_the_event_is_sent() {
    let server = userflow(ResponseTemplate::new(200)).await;
    let store = MemoryStore::new();
    store.lose_next_put_if_absent_answer();
    let deliverer = deliverer(&server, store).await;
    let failure = deliverer
        .track_signup_event(&Contact::new("u-1"), soon(5_000))
        .await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(events(&server).await, 1, "the marker was this call's own");
}

async fn put_marker(deliverer: &Deliverer<MemoryStore>, id: &str, marker: &SignupEventMarker) {
    deliverer
        .store()
        .put(
            &signup_event_marker_key(id),
            marker.to_bytes(),
            "application/json",
        )
        .await
        .expect("put");
}

#[tokio::test]
async fn when_another_call_started_sending_then_the_event_is_not_sent_again() {
    let server = userflow(ResponseTemplate::new(200)).await;
    let deliverer = deliverer(&server, MemoryStore::new()).await;
    put_marker(
        &deliverer,
        "u-1",
        &SignupEventMarker::reserved_now().sending(),
    )
    .await;
    let failure = deliverer
        .track_signup_event(&Contact::new("u-1"), soon(5_000))
        .await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(events(&server).await, 0, "at most once");
}

#[tokio::test]
async fn when_a_marker_was_only_reserved_by_a_call_that_gave_up_then_it_is_taken_over() {
    let server = userflow(ResponseTemplate::new(200)).await;
    let deliverer = deliverer(&server, MemoryStore::new()).await;
    let abandoned = SignupEventMarker::reserved_now();
    put_marker(&deliverer, "u-1", &abandoned).await;
    let failure = deliverer
        .track_signup_event(&Contact::new("u-1"), soon(5_000))
        .await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(
        events(&server).await,
        1,
        "nothing was sent under the old reservation"
    );
    let marker = stored_marker(&deliverer, "u-1").expect("marker");
    assert_ne!(marker.reservation, abandoned.reservation);
    assert!(marker.sending_at.is_some());
}

#[tokio::test]
async fn when_a_marker_predates_reservations_then_it_counts_as_sent() {
    let server = userflow(ResponseTemplate::new(200)).await;
    let deliverer = deliverer(&server, MemoryStore::new()).await;
    let legacy = br#"{"reserved_at":"2026-12-01T00:00:00.000Z"}"#;
    deliverer
        .store()
        .put(
            &signup_event_marker_key("u-1"),
            legacy.to_vec().into(),
            "application/json",
        )
        .await
        .expect("put");
    assert!(
        deliverer
            .track_signup_event(&Contact::new("u-1"), soon(5_000))
            .await
            .is_none()
    );
    assert_eq!(events(&server).await, 0);
}

#[tokio::test]
async fn when_two_deliveries_of_one_user_race_then_the_event_is_sent_once() {
    let server = userflow(ResponseTemplate::new(200)).await;
    let deliverer = deliverer(&server, MemoryStore::new()).await;
    // Someone's abandoned reservation, so both calls go through the takeover swap.
    put_marker(&deliverer, "u-1", &SignupEventMarker::reserved_now()).await;
    let contact = Contact::new("u-1");
    let (first, second) = tokio::join!(
        deliverer.track_signup_event(&contact, soon(5_000)),
        deliverer.track_signup_event(&contact, soon(5_000)),
    );
    assert!(first.is_none() && second.is_none(), "{first:?} {second:?}");
    assert_eq!(events(&server).await, 1);
}

#[tokio::test]
async fn when_the_marker_write_uses_up_the_time_then_nothing_is_sent_and_a_later_call_sends_it() {
    let server = userflow(ResponseTemplate::new(200)).await;
    let store = MemoryStore::new();
    store.delay_put_if_absent(Duration::from_millis(400));
    let deliverer = deliverer(&server, store).await;
    // 1.2 s left passes the first check (1 s); after the 400 ms write, 0.8 s do not.
    let failure = deliverer
        .track_signup_event(&Contact::new("u-1"), soon(1_200))
        .await
        .expect("a failure to retry");
    assert_eq!(failure.step, Step::SignupEvent);
    assert_eq!(failure.class, FailureClass::Transient);
    assert_eq!(events(&server).await, 0, "nothing was sent");
    let left = stored_marker(&deliverer, "u-1").expect("the reservation is left");
    assert!(!left.started(), "{left:?}");
    let retried = deliverer
        .track_signup_event(&Contact::new("u-1"), soon(5_000))
        .await;
    assert!(retried.is_none(), "{retried:?}");
    assert_eq!(
        events(&server).await,
        1,
        "the retry takes the reservation over"
    );
}

#[tokio::test]
async fn when_the_event_request_is_cut_off_then_the_marker_records_the_unknown_outcome() {
    let server = userflow(ResponseTemplate::new(200).set_delay(Duration::from_secs(4))).await;
    let deliverer = deliverer(&server, MemoryStore::new()).await;
    let failure = deliverer
        .track_signup_event(&Contact::new("u-1"), soon(1_500))
        .await;
    assert!(failure.is_none(), "not retried: at most once ({failure:?})");
    assert_eq!(events(&server).await, 1);
    let marker = stored_marker(&deliverer, "u-1").expect("the marker stays");
    assert!(marker.unknown_since.is_some(), "{marker:?}");
    assert!(marker.started(), "never sent again");
}

#[tokio::test]
async fn when_the_event_is_refused_with_a_503_then_the_marker_is_freed() {
    let server = userflow(ResponseTemplate::new(503)).await;
    let deliverer = deliverer(&server, MemoryStore::new()).await;
    let failure = deliverer
        .track_signup_event(&Contact::new("u-1"), soon(2_000))
        .await;
    assert!(failure.is_some(), "retried later");
    assert!(stored_marker(&deliverer, "u-1").is_none());
}
