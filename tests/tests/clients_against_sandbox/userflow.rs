//! Userflow users, pagination, merges, deletes and events through faults.

use super::*;

#[tokio::test]
async fn when_250_userflow_users_are_upserted_then_the_list_stream_returns_each_once_over_3_pages()
{
    let stack = Stack::start().await;
    futures::stream::iter(0..250)
        .map(|i| {
            stack
                .userflow
                .upsert_user(format!("uf-{i:03}"))
                .attribute("email", format!("u{i}@example.com"))
                .attribute("rank", i)
                .send()
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("upserts");

    let listed: Vec<String> = stack
        .userflow
        .list_users(ListUsers::default())
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .expect("list");

    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(listed.len(), 250);
    assert_eq!(unique.len(), 250);
    let admin = stack.admin();
    assert_eq!(
        admin
            .count(Api::Userflow, "GET", "/users", Some(200))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users", Some(200))
            .await
            .unwrap(),
        250
    );
    let log = admin.request_log(Some(Api::Userflow), 1_000).await.unwrap();
    assert!(log.len() >= 253);
    assert!(
        log.iter()
            .all(|r| r.headers.get("userflow-version").map(String::as_str) == Some("2020-01-03")),
        "every Userflow request carries the version header"
    );
}

#[tokio::test]
async fn when_a_userflow_user_is_updated_then_attributes_merge_null_removes_and_groups_attach() {
    let stack = Stack::start().await;
    let uf = &stack.userflow;
    uf.upsert_user("u1")
        .attribute("email", "a@example.com")
        .attribute("plan", "pro")
        .groups([GroupUpsert::new("acme").attribute("name", "Acme")])
        .send()
        .await
        .expect("create");
    uf.upsert_user("u1")
        .attribute("plan", serde_json::Value::Null)
        .attribute("seats", 3)
        .send()
        .await
        .expect("update");

    let user = uf.get_user("u1").await.expect("get");
    assert_eq!(user.attributes.get("email"), Some(&json!("a@example.com")));
    assert_eq!(user.attributes.get("seats"), Some(&json!(3)));
    assert!(
        !user.attributes.contains_key("plan"),
        "null removes: {:?}",
        user.attributes
    );
    let admin = stack.admin();
    let stored = admin.userflow_user("u1").await.unwrap().expect("stored");
    assert!(
        stored.memberships.contains_key("acme"),
        "membership kept across upserts"
    );
    let groups = admin.userflow_groups().await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        vec!["acme"]
    );
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/users/{id}", None)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn when_a_userflow_user_is_deleted_then_get_and_delete_answer_not_found() {
    let stack = Stack::start().await;
    let uf = &stack.userflow;
    uf.upsert_user("gone")
        .attribute("plan", "free")
        .send()
        .await
        .expect("create");

    uf.delete_user("gone").await.expect("delete");

    assert!(matches!(
        uf.get_user("gone").await,
        Err(UserflowError::NotFound { .. })
    ));
    assert!(matches!(
        uf.delete_user("gone").await,
        Err(UserflowError::NotFound { .. })
    ));
    assert!(stack.admin().userflow_user("gone").await.unwrap().is_none());
}

#[tokio::test]
async fn when_30_percent_of_userflow_upserts_fail_with_html_then_every_user_still_lands_once() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let html_502 = FaultKind::status(502, true);
    admin
        .add_fault(
            &FaultRule::new(Api::Userflow, "POST", "/users", html_502).with_probability(0.3, 7),
        )
        .await
        .unwrap();

    futures::stream::iter(0..60)
        .map(|i| {
            stack
                .userflow
                .upsert_user(format!("storm-{i}"))
                .attribute("i", i)
                .send()
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("every upsert eventually succeeds");

    assert_eq!(admin.userflow_users().await.unwrap().len(), 60);
    let failed = admin
        .count(Api::Userflow, "POST", "/users", Some(502))
        .await
        .unwrap();
    assert!(failed > 5, "the fault fired ({failed} times)");
}

#[tokio::test]
async fn when_an_event_meets_a_502_then_it_is_not_repeated_but_a_429_is_retried() {
    let stack = Stack::start().await;
    let admin = stack.admin();
    let status_502 = FaultKind::status(502, true);
    admin
        .add_fault(&FaultRule::new(Api::Userflow, "POST", "/events", status_502).times(1))
        .await
        .unwrap();
    let error = stack
        .userflow
        .track_event("signed_up", EventSubject::User("u1".into()))
        .send()
        .await
        .expect_err("a 502 on a non-idempotent call is not retried");
    assert_eq!(error.class(), FailureClass::Transient);
    assert_eq!(
        admin
            .count(Api::Userflow, "POST", "/events", None)
            .await
            .unwrap(),
        1
    );

    admin
        .add_fault(
            &FaultRule::new(
                Api::Userflow,
                "POST",
                "/events",
                FaultKind::Throttle { retry_after: 0 },
            )
            .times(1),
        )
        .await
        .unwrap();
    stack
        .userflow
        .track_event("signed_up", EventSubject::User("u1".into()))
        .send()
        .await
        .expect("a 429 is retried: Userflow did not act on it");
    let events = admin.userflow_events(None, None).await.unwrap();
    assert_eq!(events.len(), 1, "exactly one event recorded: {events:?}");
}
