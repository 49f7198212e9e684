//! Scene 2: Braze answers an HTML 503 for a while as signups arrive. The relay parks what it
//! cannot deliver on the sync queue; once Braze is back the sync-worker poller drains it:
//! every contact in Braze and Userflow exactly once, the signup event sent once per user.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sandbox::{Api, BrazeUserQuery, FaultKind, FaultRule};
use serde_json::{Value, json};

use super::{Demo, Report, admin_error, eventually, sync_queue_drained};
use crate::CliError;

const SCENE: usize = 2;
/// Contacts per webhook request (the CRM batches them).
const PER_REQUEST: usize = 50;
/// The external ids of this scene's contacts start with this.
const ID_PREFIX: &str = "demo-outage-";
/// The signup event the relay sends once per user (the demo keeps the default name).
pub(super) const SIGNUP_EVENT: &str = relay_core::delivery::DEFAULT_SIGNUP_EVENT_NAME;

pub(super) async fn play(demo: &Demo, report: &mut Report) -> Result<(), CliError> {
    let total = demo.args.outage_signups;
    let outage = Duration::from_secs(demo.args.outage_secs);
    demo.narrator.scene(
        SCENE,
        &format!(
            "A Braze outage ({} s of HTML 503s) while {total} signups arrive",
            outage.as_secs()
        ),
    );
    let ids: Vec<String> = (1..=total).map(|i| format!("{ID_PREFIX}{i:04}")).collect();
    let files = write_batches(demo, &ids)?;
    let profiles_before = demo.admin.braze_user_count().await.map_err(admin_error)?;

    let fault = demo
        .admin
        .add_fault(&FaultRule::new(
            Api::Braze,
            "POST",
            "/users/track",
            FaultKind::status(503, true),
        ))
        .await
        .map_err(admin_error)?;
    let outage_started = Instant::now();
    demo.narrator
        .step("Braze now answers every /users/track with a load balancer's HTML 503 page");
    demo.narrator.step(&format!(
        "{} webhooks of {PER_REQUEST} contacts each, at once: relay webhook send --source standard-webhooks --file <batch>",
        files.len()
    ));
    let answers = futures::future::try_join_all(files.iter().map(|file| {
        let file = file.to_string_lossy().into_owned();
        async move {
            demo.relay
                .run(&[
                    "webhook",
                    "send",
                    "--source",
                    "standard-webhooks",
                    "--file",
                    &file,
                ])
                .await
        }
    }))
    .await?;
    let acknowledged = answers.iter().filter(|a| a.code == 0).count();
    let parked: u64 = answers
        .iter()
        .filter_map(|a| {
            a.document
                .pointer("/response/parked")
                .and_then(Value::as_u64)
        })
        .sum();
    demo.narrator.step(&format!(
        "{acknowledged} of {} answered 2xx; {parked} contacts parked on the sync queue",
        answers.len()
    ));
    report.equal(
        SCENE,
        "every webhook is acknowledged during the outage (nothing lost, the CRM need not retry)",
        acknowledged,
        answers.len(),
    );
    report.equal(
        SCENE,
        "every contact Braze could not take is parked",
        parked,
        total as u64,
    );
    let profiles_during = demo.admin.braze_user_count().await.map_err(admin_error)?;
    report.equal(
        SCENE,
        "no profile reached Braze during the outage",
        profiles_during,
        profiles_before,
    );

    if let Some(rest) = outage.checked_sub(outage_started.elapsed()) {
        demo.narrator.step(&format!(
            "the sync-worker poller keeps retrying; Braze comes back in {} s",
            rest.as_secs()
        ));
        tokio::time::sleep(rest).await;
    }
    demo.admin
        .remove_fault(&fault.id)
        .await
        .map_err(admin_error)?;
    let back = Instant::now();
    demo.narrator
        .step("Braze is back: SQS redelivers the parked messages to the sync-worker");

    // Drained: every profile in Braze, every signup event sent, and no message left on the
    // sync queue (visible or in flight), so nothing of this scene runs into the next one.
    let drained = eventually(Duration::from_secs(90), || async {
        let count = demo.admin.braze_user_count().await.map_err(admin_error)?;
        let events = demo
            .admin
            .userflow_events(None, Some(SIGNUP_EVENT))
            .await
            .map_err(admin_error)?;
        let signed_up = events
            .iter()
            .filter(|e| e.user_id.as_ref().is_some_and(|u| u.starts_with(ID_PREFIX)))
            .count();
        Ok(count >= profiles_before + total
            && signed_up >= total
            && sync_queue_drained(demo).await?)
    })
    .await?;
    demo.narrator.step(&format!(
        "drained in {:.1} s after Braze came back",
        back.elapsed().as_secs_f64()
    ));
    let new_profiles = demo.admin.braze_user_count().await.map_err(admin_error)? - profiles_before;
    report.check(
        SCENE,
        format!("all {total} contacts reach Braze after the outage, as {total} new profiles"),
        format!(
            "{new_profiles} new profiles{}",
            if drained { "" } else { " (timed out)" }
        ),
        drained && new_profiles == total,
    );
    check_exactly_once(demo, report, SCENE, &ids).await
}

/// Every id is one Braze profile and one Userflow user, with one signup event.
pub(super) async fn check_exactly_once(
    demo: &Demo,
    report: &mut Report,
    scene: usize,
    ids: &[String],
) -> Result<(), CliError> {
    let users = demo.admin.userflow_users().await.map_err(admin_error)?;
    let in_userflow = ids
        .iter()
        .filter(|id| users.iter().filter(|u| &u.id == *id).count() == 1)
        .count();
    report.equal(
        scene,
        format!(
            "each of the {} users is in Userflow exactly once",
            ids.len()
        ),
        in_userflow,
        ids.len(),
    );
    let mut in_braze_once = 0;
    for id in ids {
        let query = BrazeUserQuery {
            external_id: Some(id.clone()),
            limit: Some(0),
            ..BrazeUserQuery::default()
        };
        if demo
            .admin
            .braze_users(&query)
            .await
            .map_err(admin_error)?
            .total
            == 1
        {
            in_braze_once += 1;
        }
    }
    report.equal(
        scene,
        format!(
            "each of the {} users has exactly one Braze profile",
            ids.len()
        ),
        in_braze_once,
        ids.len(),
    );
    let events = demo
        .admin
        .userflow_events(None, Some(SIGNUP_EVENT))
        .await
        .map_err(admin_error)?;
    let mut per_user: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        if let Some(user) = event.user_id.as_deref() {
            *per_user.entry(user).or_default() += 1;
        }
    }
    let once = ids
        .iter()
        .filter(|id| per_user.get(id.as_str()) == Some(&1))
        .count();
    report.equal(
        scene,
        format!(
            "`{SIGNUP_EVENT}` was sent exactly once for each of the {} users",
            ids.len()
        ),
        once,
        ids.len(),
    );
    Ok(())
}

/// Writes the signups as Standard Webhooks bodies of [`PER_REQUEST`] contacts.
fn write_batches(demo: &Demo, ids: &[String]) -> Result<Vec<std::path::PathBuf>, CliError> {
    ids.chunks(PER_REQUEST)
        .enumerate()
        .map(|(n, chunk)| {
            let contacts: Vec<Value> = chunk
                .iter()
                .map(|id| {
                    json!({
                        "external_id": id,
                        "email": format!("{id}@example.com"),
                        "first_name": "Grace",
                        "last_name": "Hopper",
                        "signed_up_at": "2026-12-06T10:00:00Z"
                    })
                })
                .collect();
            let path = demo.dir.join(format!("outage-batch-{n}.json"));
            std::fs::write(&path, json!({ "contacts": contacts }).to_string()).map_err(
                |error| CliError::failed(format!("cannot write {}: {error}", path.display())),
            )?;
            Ok(path)
        })
        .collect()
}
