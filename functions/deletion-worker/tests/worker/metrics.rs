//! The deletion-worker's metrics: one set per batch, from the counts of its log line.

use relay_lambda::metrics::{Metric, MetricSet};
use relay_tests::erasure::Person;
use sandbox::{Api, FaultKind, FaultRule};

use super::{external_id, failures, messages_of, request, stack};

/// `(ErasuresDone, Rejected, UpstreamThrottles)` of a set.
fn counts(set: &MetricSet) -> [Option<u64>; 3] {
    [
        Metric::ErasuresDone,
        Metric::Rejected,
        Metric::UpstreamThrottles,
    ]
    .map(|metric| set.count(metric))
}

#[tokio::test]
async fn when_a_batch_erases_two_requests_rejects_a_message_and_meets_a_429_then_its_set_counts_each()
 {
    let mut stack = stack().await;
    let metrics = stack.record_metrics();
    stack
        .seed(&[Person::new("met-a", 1), Person::new("met-b", 0)])
        .await;
    let once = FaultRule::new(
        Api::Braze,
        "POST",
        "/users/export/ids",
        FaultKind::Throttle { retry_after: 1 },
    )
    .times(1);
    stack.sandbox.admin().add_fault(&once).await.unwrap();
    let requests = [
        request("r-met-a", external_id("met-a")),
        request("r-met-b", external_id("met-b")),
    ];
    let mut messages = messages_of(&requests);
    messages.push(("m-garbage".into(), "erase met-a please".into()));

    let response = stack.invoke(&messages).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let emitted = metrics.emitted();
    assert_eq!(emitted.len(), 1, "one set per batch: {emitted:?}");
    assert_eq!(
        counts(&emitted[0]),
        [Some(2), Some(1), Some(1)],
        "two erased, one message rejected, one 429 (retried)"
    );
    assert_eq!(
        emitted[0].count(Metric::Delivered),
        None,
        "not this function's"
    );

    // Their receipts exist: the same requests again finish nothing new.
    let again = stack.invoke(&messages_of(&requests)).await;
    assert!(failures(&again).is_empty(), "{again:?}");
    let set = metrics.last().expect("the second batch's set");
    assert_eq!(counts(&set), [Some(0), Some(0), Some(0)]);
}
