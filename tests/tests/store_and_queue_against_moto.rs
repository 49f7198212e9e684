//! relay-core's `S3Store` and `SqsQueue` with the real aws-sdk against moto on loopback:
//! conditional writes, pagination, error classes, batch packing and delivery.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::{self, StreamExt, TryStreamExt};
use relay_clients::upstream::FailureClass;
use relay_core::aws::{s3_client, sqs_client};
use relay_core::queue::{JobQueue, MAX_MESSAGE_BYTES, SqsQueue};
use relay_core::store::{ObjectStore, PutIfAbsent, PutIfMatch, S3Store};
use relay_tests::Moto;

const KIB: usize = 1024;

async fn store_on(moto: &Moto) -> S3Store {
    let bucket = moto.create_bucket("relay-store").await;
    S3Store::new(s3_client(&moto.sdk_config().await), bucket)
}

/// Counts the `SendMessageBatch` operations (not attempts) a client makes.
#[derive(Debug, Clone, Default)]
struct CallCounter(Arc<AtomicUsize>);

impl CallCounter {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl aws_sdk_sqs::config::Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_sqs::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_sqs::config::ConfigBag,
    ) -> Result<(), aws_sdk_sqs::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A queue on moto and an `SqsQueue` over it whose calls are counted.
async fn queue_on(moto: &Moto) -> (SqsQueue, String, CallCounter) {
    let url = moto.create_queue("relay-jobs").await;
    let counter = CallCounter::default();
    let client = sqs_client(&moto.sdk_config().await);
    let config = client
        .config()
        .to_builder()
        .interceptor(counter.clone())
        .build();
    let queue = SqsQueue::new(aws_sdk_sqs::Client::from_conf(config), url.clone());
    (queue, url, counter)
}

fn sorted(bodies: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut bodies: Vec<String> = bodies.into_iter().collect();
    bodies.sort();
    bodies
}

/// `count` distinct bodies of exactly `size` bytes.
fn bodies_of_size(count: usize, size: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let mut body = format!("job-{i:04}-");
            body.push_str(&"x".repeat(size - body.len()));
            body
        })
        .collect()
}

#[tokio::test]
async fn when_an_object_is_put_then_get_returns_it_with_its_content_type() {
    let moto = Moto::start();
    let store = store_on(&moto).await;
    let body = r#"{"state":"parked"}"#;

    store
        .put("markers/a.json", body.into(), "application/json")
        .await
        .expect("put");

    let got = store.get("markers/a.json").await.expect("get");
    assert_eq!(got.as_deref(), Some(body.as_bytes()));
    let head = moto
        .s3_client()
        .await
        .head_object()
        .bucket(store.bucket())
        .key("markers/a.json")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("application/json"));
}

#[tokio::test]
async fn when_an_object_is_missing_then_get_returns_none() {
    let moto = Moto::start();
    let store = store_on(&moto).await;

    assert_eq!(store.get("markers/none.json").await.expect("get"), None);
}

#[tokio::test]
async fn when_put_if_absent_runs_twice_then_the_second_finds_the_first_body() {
    let moto = Moto::start();
    let store = store_on(&moto).await;

    let first = store
        .put_if_absent("claims/1", "first".into(), "text/plain")
        .await
        .expect("first put");
    let second = store
        .put_if_absent("claims/1", "second".into(), "text/plain")
        .await
        .expect("second put");

    let PutIfAbsent::Created(created) = first else {
        panic!("created: {first:?}");
    };
    assert_eq!(second, PutIfAbsent::AlreadyExists);
    assert_eq!(
        store.get("claims/1").await.expect("get"),
        Some("first".into())
    );
    // The version a create answers is the object's: a compare-and-swap with it succeeds.
    let swapped = store
        .put_if_match("claims/1", "third".into(), "text/plain", &created)
        .await
        .expect("put_if_match");
    assert!(matches!(swapped, PutIfMatch::Written(_)), "{swapped:?}");
}

#[tokio::test]
async fn when_more_than_1000_keys_match_then_list_returns_every_page_in_order() {
    let moto = Moto::start();
    let store = store_on(&moto).await;
    let keys: Vec<String> = (0..1_050).map(|i| format!("many/{i:05}")).collect();
    let others = ["man", "many", "manz/1", "other/1"];
    stream::iter(keys.iter().map(String::as_str).chain(others))
        .map(|key| store.put(key, "1".into(), "text/plain"))
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("puts");

    let listed = store.list("many/").await.expect("list");

    assert_eq!(listed.len(), 1_050);
    assert_eq!(
        listed, keys,
        "every key once, in order, nothing outside the prefix"
    );
}

#[tokio::test]
async fn when_two_writers_swap_the_same_version_then_only_the_first_write_lands() {
    let moto = Moto::start();
    let store = store_on(&moto).await;
    store
        .put("doc.json", "v1".into(), "application/json")
        .await
        .unwrap();
    let read = store.get_versioned("doc.json").await.unwrap().unwrap();
    assert_eq!(read.body.as_ref(), b"v1");
    let first = store
        .put_if_match("doc.json", "a".into(), "application/json", &read.version)
        .await
        .unwrap();
    let second = store
        .put_if_match("doc.json", "b".into(), "application/json", &read.version)
        .await
        .unwrap();
    assert!(matches!(first, PutIfMatch::Written(_)), "{first:?}");
    assert_eq!(second, PutIfMatch::Changed);
    assert_eq!(
        store.get("doc.json").await.unwrap().as_deref(),
        Some(&b"a"[..])
    );
    // The version the write answered is the object's: a second swap on it succeeds.
    let PutIfMatch::Written(written) = first else {
        unreachable!()
    };
    let third = store
        .put_if_match("doc.json", "c".into(), "application/json", &written)
        .await
        .unwrap();
    assert!(matches!(third, PutIfMatch::Written(_)), "{third:?}");
    let gone = store
        .put_if_match(
            "missing.json",
            "x".into(),
            "application/json",
            &read.version,
        )
        .await
        .unwrap();
    assert_eq!(
        gone,
        PutIfMatch::Changed,
        "a deleted object is a changed one"
    );
}

#[tokio::test]
async fn when_many_writers_race_one_condition_then_exactly_one_write_lands() {
    // S3 applies conditional writes atomically; moto is made to (tools/moto_server.py).
    const WRITERS: usize = 32;
    const ROUNDS: usize = 30;
    let moto = Moto::start();
    let store = store_on(&moto).await;
    for round in 0..ROUNDS {
        let key = format!("race/{round}");
        let created = futures::future::join_all((0..WRITERS).map(|n| {
            let (store, key) = (&store, &key);
            async move {
                let body = format!("first-{n}").into();
                store.put_if_absent(key, body, "text/plain").await.unwrap()
            }
        }))
        .await;
        let winners = created
            .iter()
            .filter(|answer| matches!(answer, PutIfAbsent::Created(_)))
            .count();
        assert_eq!(
            winners, 1,
            "If-None-Match: * lets one writer in: {created:?}"
        );

        let read = store.get_versioned(&key).await.unwrap().unwrap();
        let swapped = futures::future::join_all((0..WRITERS).map(|n| {
            let (store, key, version) = (&store, &key, &read.version);
            async move {
                // Bodies unlike the one read: an ETag is the body's MD5, so writing the
                // same bytes again would keep the version.
                let body = format!("swap-{n}").into();
                store
                    .put_if_match(key, body, "text/plain", version)
                    .await
                    .unwrap()
            }
        }))
        .await;
        let winners = swapped
            .iter()
            .filter(|answer| matches!(answer, PutIfMatch::Written(_)))
            .count();
        assert_eq!(winners, 1, "If-Match lets one writer in: {swapped:?}");
    }
}

#[tokio::test]
async fn when_folders_are_listed_then_only_the_names_directly_under_the_prefix_come_back() {
    let moto = Moto::start();
    let store = store_on(&moto).await;
    for key in [
        "exports/j1/manifest.json",
        "exports/j1/files/00000.json",
        "exports/j2/manifest.json",
        "exports/top.json",
    ] {
        store.put(key, "".into(), "application/json").await.unwrap();
    }
    assert_eq!(
        store.list_folders("exports/").await.unwrap(),
        ["exports/j1/", "exports/j2/"]
    );
}

#[tokio::test]
async fn when_an_object_is_deleted_then_it_is_gone_and_deleting_again_is_fine() {
    let moto = Moto::start();
    let store = store_on(&moto).await;
    store
        .put("tmp/x", "x".into(), "text/plain")
        .await
        .expect("put");

    store.delete("tmp/x").await.expect("delete");

    assert_eq!(store.get("tmp/x").await.expect("get"), None);
    assert!(store.list("tmp/").await.expect("list").is_empty());
    store.delete("tmp/x").await.expect("deleting a missing key");
}

#[tokio::test]
async fn when_the_bucket_does_not_exist_then_errors_are_misconfigured_and_name_the_operation() {
    let moto = Moto::start();
    let store = S3Store::new(
        s3_client(&moto.sdk_config().await),
        relay_tests::unique_name("no-such-bucket"),
    );

    let put = store
        .put("k", "x".into(), "text/plain")
        .await
        .expect_err("put into a missing bucket");
    let get = store.get("k").await.expect_err("get from a missing bucket");
    let list = store.list("p/").await.expect_err("list a missing bucket");

    for (err, operation) in [(&put, "put"), (&get, "get"), (&list, "list")] {
        assert_eq!(err.class, FailureClass::Misconfigured, "{err}");
        assert_eq!(err.operation, operation);
        assert!(err.detail.contains("NoSuchBucket"), "{err}");
        assert!(err.to_string().contains(operation), "{err}");
    }
    assert_eq!(put.key, "k");
}

#[tokio::test]
async fn when_25_bodies_are_sent_then_each_is_received_exactly_once() {
    let moto = Moto::start();
    let (queue, url, calls) = queue_on(&moto).await;
    let bodies: Vec<String> = (0..25).map(|i| format!(r#"{{"job":{i}}}"#)).collect();

    let report = queue.send(&bodies).await;

    assert!(report.all_sent(), "{:?}", report.failed);
    assert_eq!(report.sent, 25);
    assert_eq!(calls.get(), 3, "10 + 10 + 5 entries");
    let received = moto.receive_all(&url).await;
    assert_eq!(received.len(), 25, "no duplicates");
    assert_eq!(sorted(received), sorted(bodies));
}

#[tokio::test]
async fn when_the_queue_builds_its_client_on_first_send_then_every_body_arrives() {
    let moto = Moto::start();
    let url = moto.create_queue("relay-jobs-lazy").await;
    let queue = SqsQueue::connect_on_first_send(&moto.sdk_config().await, &url);
    let bodies: Vec<String> = (0..12).map(|i| format!(r#"{{"job":{i}}}"#)).collect();

    let report = queue.clone().send(&bodies).await;
    let again = queue.send(&bodies[..1]).await;

    assert!(report.all_sent(), "{:?}", report.failed);
    assert!(again.all_sent(), "{:?}", again.failed);
    let mut expected = bodies.clone();
    expected.push(bodies[0].clone());
    assert_eq!(sorted(moto.receive_all(&url).await), sorted(expected));
}

#[tokio::test]
async fn when_a_body_is_over_256_kib_then_only_it_fails_permanently() {
    let moto = Moto::start();
    let (queue, url, _) = queue_on(&moto).await;
    let mut bodies = bodies_of_size(6, 100);
    bodies[2] = "y".repeat(300 * KIB);

    let report = queue.send(&bodies).await;

    assert_eq!(report.sent, 5);
    assert_eq!(report.failed.len(), 1);
    let (index, err) = &report.failed[0];
    assert_eq!(*index, 2);
    assert_eq!(err.class, FailureClass::Permanent);
    assert!(err.detail.contains(&MAX_MESSAGE_BYTES.to_string()), "{err}");
    let mut expected = bodies.clone();
    expected.remove(2);
    assert_eq!(sorted(moto.receive_all(&url).await), sorted(expected));
}

#[tokio::test]
async fn when_ten_bodies_add_up_to_over_256_kib_then_they_go_in_several_calls() {
    let moto = Moto::start();
    let (queue, url, calls) = queue_on(&moto).await;
    let bodies = bodies_of_size(10, 30 * KIB);

    let report = queue.send(&bodies).await;

    assert!(report.all_sent(), "{:?}", report.failed);
    assert_eq!(report.sent, 10);
    assert_eq!(
        calls.get(),
        2,
        "8 x 30 KiB fit in 256 KiB, the last 2 go in a second call"
    );
    assert_eq!(sorted(moto.receive_all(&url).await), sorted(bodies));
}

#[tokio::test]
async fn when_there_is_nothing_to_send_then_no_call_is_made() {
    let moto = Moto::start();
    let (queue, _, calls) = queue_on(&moto).await;

    let report = queue.send(&[]).await;

    assert!(report.all_sent());
    assert_eq!(report.sent, 0);
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn when_the_queue_does_not_exist_then_every_body_fails_misconfigured() {
    let moto = Moto::start();
    let (_, url, _) = queue_on(&moto).await;
    let missing = format!("{url}-missing");
    let queue = SqsQueue::new(sqs_client(&moto.sdk_config().await), missing);

    let report = queue.send(&bodies_of_size(3, 50)).await;

    assert_eq!(report.sent, 0);
    let indexes: Vec<usize> = report.failed.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [0, 1, 2]);
    for (_, err) in &report.failed {
        assert_eq!(err.class, FailureClass::Misconfigured, "{err}");
        assert!(err.detail.starts_with("SendMessageBatch"), "{err}");
    }
    let details: BTreeSet<&str> = report
        .failed
        .iter()
        .map(|(_, e)| e.detail.as_str())
        .collect();
    assert_eq!(details.len(), 1, "one call, one error: {details:?}");
}
