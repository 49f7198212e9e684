//! /users/track: chunking

use super::*;

#[tokio::test]
async fn when_160_attributes_are_tracked_then_three_requests_of_75_75_10_are_sent() {
    let server = MockServer::start().await;
    mount_track(&server).await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(160))
        .send()
        .await
        .unwrap();

    let mut sizes: Vec<usize> = received(&server)
        .await
        .iter()
        .map(|r| len_of(&body_of(r), "attributes"))
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![10, 75, 75]);
    assert_eq!(report.requests, 3);
    assert_eq!(report.sent, 160);
    assert_eq!(report.attributes_processed, 160);
    assert!(report.is_success(), "{report:?}");
}

#[tokio::test]
async fn when_arrays_are_mixed_then_chunks_combine_them_up_to_75_objects() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let events: Vec<Event> = (0..40).map(|i| event(i, &format!("u-{i}"))).collect();
    let purchases: Vec<Purchase> = (0..10).map(purchase).collect();

    let report = client_for(&server)
        .track()
        .attributes(attrs(50))
        .events(events)
        .purchases(purchases)
        .send()
        .await
        .unwrap();

    let mut shapes: Vec<(usize, usize, usize)> = received(&server)
        .await
        .iter()
        .map(|r| {
            let body = body_of(r);
            (
                len_of(&body, "attributes"),
                len_of(&body, "events"),
                len_of(&body, "purchases"),
            )
        })
        .collect();
    shapes.sort_unstable();
    // 100 objects: 50 attributes + 25 events, then 15 events + 10 purchases.
    assert_eq!(shapes, vec![(0, 15, 10), (50, 25, 0)]);
    assert_eq!(
        (
            report.attributes_processed,
            report.events_processed,
            report.purchases_processed
        ),
        (50, 40, 10)
    );
}

#[tokio::test]
async fn when_the_batch_is_configured_smaller_then_chunks_follow_it_and_bad_sizes_are_refused() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let endpoint = BrazeEndpoint::parse(&server.uri(), true).unwrap();
    let client = build(BrazeConfig {
        track_batch: 50,
        ..config(endpoint.clone())
    });

    let report = client.track().attributes(attrs(120)).send().await.unwrap();
    assert_eq!(report.requests, 3);
    assert!(
        received(&server)
            .await
            .iter()
            .all(|r| len_of(&body_of(r), "attributes") <= 50)
    );

    for bad in [0, 76] {
        let err = BrazeClient::new(
            BrazeConfig {
                track_batch: bad,
                ..config(endpoint.clone())
            },
            http_client(Default::default()),
        )
        .unwrap_err();
        assert!(matches!(err, BrazeError::InvalidConfig(_)), "{bad}: {err}");
        assert_eq!(err.class(), FailureClass::Misconfigured);
    }
}
