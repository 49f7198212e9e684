//! Scene 5: a 20,000-user Braze segment exported by the sandbox into S3, Braze's callback,
//! and the sync into Userflow, watched with `relay export status --watch`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Demo, Report, admin_error};
use crate::CliError;
use crate::demo::cli::RelayCommands;

const SCENE: usize = 5;
const SEGMENT: &str = "demo-segment";

pub(super) async fn play(demo: &Demo, report: &mut Report) -> Result<(), CliError> {
    demo.narrator.scene(
        SCENE,
        "A Braze segment exported to S3 and synced into Userflow",
    );
    let users = demo.args.export_users;
    let seeded = demo
        .admin
        .seed_segment(&sandbox::SeedSegment::new(SEGMENT, users))
        .await
        .map_err(admin_error)?;
    demo.narrator.step(&format!(
        "the sandbox's Braze holds segment {SEGMENT}: {} users, {} with an external id, {} alias-only",
        seeded.size, seeded.with_external_id, seeded.alias_only
    ));

    let start = ["export", "start", "--segment", SEGMENT];
    demo.narrator.step(&RelayCommands::shown(&start));
    let started = demo.relay.run(&start).await?;
    let job = started
        .document
        .pointer("/job")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    report.check(
        SCENE,
        "the export is started, its callback URL signed",
        format!("exit {}, job {job:?}", started.code),
        started.code == 0 && !job.is_empty(),
    );
    if job.is_empty() {
        return Ok(());
    }

    let watch = [
        "export",
        "status",
        &job,
        "--watch",
        "--interval-ms",
        "500",
        "--timeout-secs",
        "300",
    ];
    demo.narrator.step(&format!(
        "{} (Braze writes the files, calls back, the sync-worker reads them)",
        RelayCommands::shown(&watch)
    ));
    let watched = demo.relay.run(&watch).await?;
    let document = &watched.document;
    let number = |pointer: &str| document.pointer(pointer).and_then(Value::as_u64);
    let state = document
        .pointer("/manifest/state")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    report.check(
        SCENE,
        "every file is read and the job completes",
        format!(
            "exit {}, {state}, files {}/{} done, {} failed",
            watched.code,
            number("/files_done").unwrap_or(0),
            number("/files_total").unwrap_or(0),
            number("/files_failed").unwrap_or(0)
        ),
        watched.code == 0
            && state == "completed"
            && number("/files_total").is_some_and(|files| files > 0)
            && number("/files_done") == number("/files_total"),
    );
    // Every line Braze wrote is accounted for: upserted, skipped (no external id) or a
    // duplicate within its file (a copy in another file is upserted again: harmless, as an
    // upsert is idempotent).
    let object_prefix = document
        .pointer("/manifest/object_prefix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let written = demo
        .admin
        .exports()
        .await
        .map_err(admin_error)?
        .into_iter()
        .find(|record| record.object_prefix == object_prefix)
        .map(|record| record.lines);
    let (upserted, skipped, duplicates) = (
        number("/counts/upserted").unwrap_or(0),
        number("/counts/skipped").unwrap_or(0),
        number("/counts/duplicates").unwrap_or(0),
    );
    report.check(
        SCENE,
        "every line is upserted, skipped (no external id) or a duplicate: none lost",
        format!(
            "{} lines written; upserted {upserted}, skipped {skipped}, duplicates {duplicates}",
            written.map_or_else(|| "?".to_owned(), |lines| lines.to_string())
        ),
        written == Some(upserted + skipped + duplicates)
            && upserted >= seeded.with_external_id as u64
            && skipped >= seeded.alias_only as u64
            && duplicates > 0,
    );

    // Userflow holds exactly the segment's users with an external id.
    let prefix = format!("{SEGMENT}-");
    let in_segment = |id: &str| id.starts_with(&prefix);
    let braze = demo
        .admin
        .braze_users(&sandbox::BrazeUserQuery::default())
        .await
        .map_err(admin_error)?
        .users;
    let expected: BTreeSet<String> = braze
        .iter()
        .filter_map(|profile| profile.external_id.clone())
        .filter(|id| in_segment(id))
        .collect();
    let userflow = demo.admin.userflow_users().await.map_err(admin_error)?;
    let held: BTreeSet<String> = userflow
        .iter()
        .map(|user| user.id.clone())
        .filter(|id| in_segment(id))
        .collect();
    let missing = expected.difference(&held).count();
    let extra = held.difference(&expected).count();
    report.check(
        SCENE,
        "Userflow holds exactly the segment's users with an external id",
        format!(
            "{} expected, {} held, {missing} missing, {extra} extra",
            expected.len(),
            held.len()
        ),
        !expected.is_empty() && missing == 0 && extra == 0,
    );
    let sample = braze
        .iter()
        .filter(|profile| profile.external_id.as_deref().is_some_and(in_segment))
        .find(|profile| profile.attributes.get("email").is_some());
    let mapped = sample.and_then(|profile| {
        let user = userflow
            .iter()
            .find(|user| Some(&user.id) == profile.external_id.as_ref())?;
        Some(
            user.attributes.get("email") == profile.attributes.get("email")
                && user.attributes.contains_key("signed_up_at"),
        )
    });
    report.check(
        SCENE,
        "each user's email and signup time come from the export",
        match mapped {
            Some(true) => "email and signed_up_at match Braze's profile".to_owned(),
            Some(false) => "a user's attributes differ from Braze's profile".to_owned(),
            None => "no user to compare".to_owned(),
        },
        mapped == Some(true),
    );
    Ok(())
}
