//! Scene 3: a job that keeps failing (the sandbox refuses the Userflow key) is retried by SQS,
//! moved to the dead-letter queue after `maxReceiveCount` receives, shown by `relay dlq list`,
//! and delivered by `relay dlq replay` once the cause is fixed.

use std::time::Duration;

use sandbox::{Api, FaultKind, FaultRule};
use serde_json::Value;

use super::outage::check_exactly_once;
use super::{Demo, Report, admin_error, eventually, shown};
use crate::CliError;
use crate::demo::cli::RelayCommands;
use crate::demo::stack::{MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECS};

const SCENE: usize = 3;

pub(super) async fn play(demo: &Demo, report: &mut Report) -> Result<(), CliError> {
    demo.narrator.scene(
        SCENE,
        "A job that keeps failing: retried by SQS, dead-lettered, replayed once fixed",
    );
    let fault = demo
        .admin
        .add_fault(&FaultRule::new(
            Api::Userflow,
            "*",
            "*",
            FaultKind::status(401, false),
        ))
        .await
        .map_err(admin_error)?;
    demo.narrator
        .step("Userflow now refuses the relay's API key (401), as after a key rotation");
    let id = "demo-dead-letter-1";
    let email = format!("{id}@example.com");
    let answer = demo
        .relay
        .send_contact(
            &demo.narrator,
            "standard-webhooks",
            &[("external_id", id), ("email", &email)],
        )
        .await?;
    let parked = answer
        .document
        .pointer("/response/parked")
        .and_then(Value::as_u64);
    report.check(
        SCENE,
        "the webhook is acknowledged and its contact parked",
        format!("exit {}, parked {}", answer.code, shown(parked)),
        answer.code == 0 && parked == Some(1),
    );
    demo.narrator.step(&format!(
        "the sync-worker fails it on every receive; SQS redelivers it every {VISIBILITY_TIMEOUT_SECS} s and moves it to the DLQ after {MAX_RECEIVE_COUNT} receives"
    ));

    let list = ["dlq", "list", "--queue", "sync"];
    let limit =
        Duration::from_secs((u64::from(MAX_RECEIVE_COUNT) + 4) * (VISIBILITY_TIMEOUT_SECS + 2));
    let until = tokio::time::Instant::now() + limit;
    let (dead_lettered, listed) = loop {
        let answer = demo.relay.run(&list).await?;
        let found = answer
            .document
            .pointer("/messages")
            .and_then(Value::as_array)
            .is_some_and(|messages| !messages.is_empty());
        if found || tokio::time::Instant::now() >= until {
            break (found, answer.document);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    demo.narrator.step(&RelayCommands::shown(&list));
    let messages = listed
        .pointer("/messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for message in &messages {
        demo.narrator.step(&format!("  {message}"));
    }
    let message = messages.first().cloned().unwrap_or(Value::Null);
    let receives = message.get("receive_count").and_then(Value::as_u64);
    report.check(
        SCENE,
        format!("its one message is in the DLQ after {MAX_RECEIVE_COUNT} receives"),
        format!(
            "in DLQ: {dead_lettered}, {} message(s), receives {}",
            messages.len(),
            shown(receives)
        ),
        dead_lettered && messages.len() == 1 && receives >= Some(u64::from(MAX_RECEIVE_COUNT)),
    );
    let failure = message
        .get("failure")
        .map(Value::to_string)
        .unwrap_or_default();
    report.check(
        SCENE,
        "relay dlq list shows the recorded failure",
        failure.clone(),
        !failure.is_empty() && failure != "null",
    );

    demo.admin
        .remove_fault(&fault.id)
        .await
        .map_err(admin_error)?;
    demo.narrator.step("the key works again (fault removed)");
    let replay = ["dlq", "replay", "--queue", "sync"];
    demo.narrator.step(&RelayCommands::shown(&replay));
    let answer = demo.relay.run(&replay).await?;
    let moved = answer.document.pointer("/moved").and_then(Value::as_u64);
    report.check(
        SCENE,
        "relay dlq replay moves the message back to the sync queue",
        format!("exit {}, moved {}", answer.code, shown(moved)),
        answer.code == 0 && moved == Some(1),
    );
    let delivered = eventually(Duration::from_secs(30), || async {
        Ok(demo
            .admin
            .userflow_user(id)
            .await
            .map_err(admin_error)?
            .is_some())
    })
    .await?;
    report.check(
        SCENE,
        "after the replay the contact reaches Userflow",
        if delivered {
            "delivered"
        } else {
            "not delivered (timed out)"
        },
        delivered,
    );
    check_exactly_once(demo, report, SCENE, &[id.to_owned()]).await?;
    let after = demo.relay.run(&list).await?;
    let left = after
        .document
        .pointer("/messages")
        .and_then(Value::as_array)
        .map(Vec::len);
    report.check(
        SCENE,
        "the DLQ is empty afterwards",
        shown(left),
        left == Some(0),
    );
    Ok(())
}
