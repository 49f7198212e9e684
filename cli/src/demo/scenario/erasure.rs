//! Scene 6: two users erased under GDPR, one of them with an alias-only duplicate sharing its
//! email (a CRM lead captured before signup); their receipts shown, then verified.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::{Demo, Report, admin_error};
use crate::CliError;
use crate::demo::cli::{Answer, RelayCommands};

const SCENE: usize = 6;

/// Scene 5's segment: its members are the people erased here.
const SEGMENT_PREFIX: &str = "demo-segment-";

/// One person to erase: the external id and how many Braze profiles hold their email.
struct Person {
    external_id: String,
    email: String,
    profiles: usize,
}

pub(super) async fn play(demo: &Demo, report: &mut Report) -> Result<(), CliError> {
    demo.narrator.scene(
        SCENE,
        "Two users erased under GDPR, with receipts, then verified",
    );
    let Some([with_duplicate, alone]) = pick(demo).await? else {
        report.check(
            SCENE,
            "the segment holds a user with an alias-only duplicate and one without",
            "none found",
            false,
        );
        return Ok(());
    };
    demo.narrator.step(&format!(
        "user {} has {} Braze profiles sharing one email (an alias-only duplicate); user {} has one",
        with_duplicate.external_id, with_duplicate.profiles, alone.external_id
    ));

    let erase = [
        "erase",
        "--external-id",
        &with_duplicate.external_id,
        "--external-id",
        &alone.external_id,
        "--origin",
        "demo ticket GDPR-1",
    ];
    demo.narrator.step(&RelayCommands::shown(&erase));
    let enqueued = demo.relay.run(&erase).await?;
    let ids: Vec<String> = enqueued
        .document
        .pointer("/requests")
        .and_then(Value::as_array)
        .map(|requests| {
            requests
                .iter()
                .filter_map(|r| r.get("request_id").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    report.check(
        SCENE,
        "two erasure requests are enqueued",
        format!("exit {}, {} request ids", enqueued.code, ids.len()),
        enqueued.code == 0 && ids.len() == 2,
    );
    if ids.len() != 2 {
        return Ok(());
    }

    // The deletion-worker runs them; `relay erase status` shows each receipt once written.
    let mut receipts: BTreeMap<String, Value> = BTreeMap::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while receipts.len() < ids.len() && tokio::time::Instant::now() < until {
        for id in &ids {
            if !receipts.contains_key(id) {
                let status = demo.relay.run(&["erase", "status", id]).await?;
                if status.document["state"] == "done" {
                    receipts.insert(id.clone(), status.document["receipt"].clone());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for (id, person) in ids.iter().zip([&with_duplicate, &alone]) {
        let receipt = receipts.get(id).cloned().unwrap_or(Value::Null);
        let count = |name: &str| {
            receipt
                .pointer(&format!("/counts/{name}"))
                .and_then(Value::as_u64)
        };
        demo.narrator.step(&format!(
            "{}: done; subject {} sha256:{}..., {} Braze profile(s) deleted, {} Userflow user(s) deleted",
            RelayCommands::shown(&["erase", "status", id]),
            receipt.pointer("/subject/kind").and_then(Value::as_str).unwrap_or("?"),
            receipt
                .pointer("/subject/sha256")
                .and_then(Value::as_str)
                .map_or("?", |digest| &digest[..12.min(digest.len())]),
            count("braze_profiles").unwrap_or(0),
            count("userflow_deleted").unwrap_or(0),
        ));
        report.check(
            SCENE,
            format!(
                "the receipt of {} lists its {} Braze profile(s) and its Userflow user",
                person.external_id, person.profiles
            ),
            format!(
                "braze {}, userflow deleted {}",
                count("braze_profiles").map_or("none".into(), |n| n.to_string()),
                count("userflow_deleted").map_or("none".into(), |n| n.to_string()),
            ),
            count("braze_profiles") == Some(person.profiles as u64)
                && count("userflow_deleted") == Some(1),
        );
        let text = receipt.to_string().to_lowercase();
        let email = person.email.to_lowercase();
        report.check(
            SCENE,
            format!("the receipt of {} holds no email", person.external_id),
            if text.contains(&email) {
                "the email appears"
            } else {
                "no email"
            },
            !receipt.is_null() && !text.contains(&email),
        );
    }

    // Nothing of either is left in the sandbox.
    let mut left = 0;
    for person in [&with_duplicate, &alone] {
        left += profiles_with_email(demo, &person.email).await?;
        if demo
            .admin
            .userflow_user(&person.external_id)
            .await
            .map_err(admin_error)?
            .is_some()
        {
            left += 1;
        }
    }
    report.equal(
        SCENE,
        "Braze and Userflow hold nothing of either user",
        left,
        0,
    );

    // Braze deletes within minutes; the sandbox at once, so verification passes now.
    for id in &ids {
        let verify = ["erase", "verify", id];
        demo.narrator.step(&RelayCommands::shown(&verify));
        let verified: Answer = demo.relay.run(&verify).await?;
        let clean = verified
            .document
            .pointer("/verifications/0/clean")
            .and_then(Value::as_bool);
        report.check(
            SCENE,
            "verification finds nothing and is recorded in the receipt",
            format!("exit {}, clean {clean:?}", verified.code),
            verified.code == 0 && clean == Some(true),
        );
    }
    Ok(())
}

/// From scene 5's segment: a user whose email an alias-only profile shares, and a user whose
/// email no other profile holds.
async fn pick(demo: &Demo) -> Result<Option<[Person; 2]>, CliError> {
    let profiles = demo
        .admin
        .braze_users(&sandbox::BrazeUserQuery::default())
        .await
        .map_err(admin_error)?
        .users;
    let mut by_email: BTreeMap<String, usize> = BTreeMap::new();
    for profile in &profiles {
        // The sandbox's duplicates share the email in another letter case.
        if let Some(email) = profile.attributes.get("email").and_then(Value::as_str) {
            *by_email.entry(email.to_lowercase()).or_default() += 1;
        }
    }
    let members = profiles.iter().filter_map(|profile| {
        let external_id = profile.external_id.as_deref()?;
        let email = profile.attributes.get("email")?.as_str()?;
        external_id.starts_with(SEGMENT_PREFIX).then(|| Person {
            external_id: external_id.to_owned(),
            email: email.to_owned(),
            profiles: by_email[&email.to_lowercase()],
        })
    });
    let (mut shared, mut alone) = (None, None);
    for person in members {
        match person.profiles {
            1 if alone.is_none() => alone = Some(person),
            2.. if shared.is_none() => shared = Some(person),
            _ => {}
        }
        if shared.is_some() && alone.is_some() {
            break;
        }
    }
    Ok(shared.zip(alone).map(|(shared, alone)| [shared, alone]))
}

async fn profiles_with_email(demo: &Demo, email: &str) -> Result<usize, CliError> {
    let query = sandbox::BrazeUserQuery {
        email: Some(email.to_owned()),
        limit: Some(0),
        ..sandbox::BrazeUserQuery::default()
    };
    Ok(demo
        .admin
        .braze_users(&query)
        .await
        .map_err(admin_error)?
        .total)
}
