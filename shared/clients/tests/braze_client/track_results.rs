//! /users/track: per-item results

use super::*;

#[tokio::test]
async fn when_braze_reports_partial_errors_then_they_map_to_the_callers_items_across_chunks() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let mut attributes = attrs(160);
    for bad in [3, 80, 159] {
        attributes[bad].id = UserIdentifier::external_id(format!("bad-{bad}"));
    }
    let events: Vec<Event> = (0..5)
        .map(|i| event(i, if i == 2 { "bad-event" } else { "u-0" }))
        .collect();

    let report = client_for(&server)
        .track()
        .attributes(attributes)
        .events(events)
        .send()
        .await
        .unwrap();

    let rejected: Vec<ItemRef> = report.rejected.iter().map(|r| r.item).collect();
    let at = |array, index| ItemRef { array, index };
    assert_eq!(
        rejected,
        vec![
            at(TrackArray::Attributes, 3),
            at(TrackArray::Attributes, 80),
            at(TrackArray::Attributes, 159),
            at(TrackArray::Events, 2),
        ]
    );
    assert_eq!(report.rejected[0].error_type, "'external_id' is invalid");
    assert!(matches!(
        report.outcome(at(TrackArray::Attributes, 80)),
        ItemOutcome::Rejected(_)
    ));
    assert!(matches!(
        report.outcome(at(TrackArray::Attributes, 81)),
        ItemOutcome::Accepted
    ));
    assert_eq!(report.accepted(), 165 - 4);
    assert_eq!(report.attributes_processed, 157);
    assert!(report.unmapped_errors.is_empty());
}

#[tokio::test]
async fn when_one_chunk_fails_then_its_items_are_reported_and_the_other_chunks_stand() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(|request: &Request| {
            let poisoned = body_of(request)["attributes"]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i["external_id"] == "poison"));
            if poisoned {
                ResponseTemplate::new(400)
                    .set_body_raw(fixture("error_max_input_length.json"), "application/json")
            } else {
                braze_track(request)
            }
        })
        .mount(&server)
        .await;
    let endpoint = BrazeEndpoint::parse(&server.uri(), true).unwrap();
    let client = build(BrazeConfig {
        track_batch: 10,
        ..config(endpoint)
    });
    let mut attributes = attrs(30);
    attributes[15].id = UserIdentifier::external_id("poison");

    let report = client.track().attributes(attributes).send().await.unwrap();

    assert_eq!(report.requests, 3);
    assert_eq!(received(&server).await.len(), 3, "a 400 is not retried");
    assert_eq!(report.failed_chunks.len(), 1);
    let failed = &report.failed_chunks[0];
    let indices: Vec<usize> = failed.items.iter().map(|i| i.index).collect();
    assert_eq!(indices, (10..20).collect::<Vec<_>>());
    assert_eq!(failed.error.class(), FailureClass::Permanent);
    assert_eq!(
        failed.error.braze_message(),
        Some("Max Input Length Exceeded")
    );
    assert_eq!(report.attributes_processed, 20);
    assert_eq!(report.sent, 20);
    let item = ItemRef {
        array: TrackArray::Attributes,
        index: 12,
    };
    assert!(matches!(report.outcome(item), ItemOutcome::Failed(_)));
}

#[tokio::test]
async fn when_items_are_invalid_then_they_are_not_sent_and_are_reported_with_their_paths() {
    let server = MockServer::start().await;
    mount_track(&server).await;
    let mut attributes = attrs(3);
    attributes[1].email = Update::Set("not-an-email".into());
    attributes[2] = attributes[2].clone().with_custom("$plan", "pro");
    let mut events = vec![event(0, "u-0")];
    events[0].name = String::new();

    let report = client_for(&server)
        .track()
        .attributes(attributes)
        .events(events)
        .send()
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    let body = body_of(&requests[0]);
    assert_eq!(len_of(&body, "attributes"), 1);
    assert_eq!(body["attributes"][0]["external_id"], "u-0");
    assert!(body.get("events").is_none());
    assert!(!String::from_utf8_lossy(&requests[0].body).contains("not-an-email"));

    let found: Vec<(String, Rule)> = report
        .invalid
        .iter()
        .flat_map(|i| i.errors.iter().map(|e| (e.path.clone(), e.rule)))
        .collect();
    assert_eq!(
        found,
        vec![
            ("attributes[1].email".to_owned(), Rule::Email),
            (
                "attributes[2].custom.$plan".to_owned(),
                Rule::KeyStartsWithDollar
            ),
            ("events[0].name".to_owned(), Rule::Required),
        ]
    );
    let item = ItemRef {
        array: TrackArray::Attributes,
        index: 1,
    };
    assert!(matches!(report.outcome(item), ItemOutcome::Invalid([e]) if e.rule == Rule::Email));
    assert_eq!(report.sent, 1);
}

#[tokio::test]
async fn when_braze_answers_202_queued_then_the_chunk_is_a_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/track"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_raw(fixture("track_queued.json"), "application/json"),
        )
        .mount(&server)
        .await;

    let report = client_for(&server)
        .track()
        .attributes(attrs(2))
        .send()
        .await
        .unwrap();

    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.sent, 2);
}
