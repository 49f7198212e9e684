//! Scene 1: one signup from each CRM source, signed as that CRM signs, and one invalid
//! contact refused with its field error.

use serde_json::Value;

use super::{Demo, Report, admin_error, shown};
use crate::CliError;

const SCENE: usize = 1;

/// Each source with the id its CRM would give the demo's contact.
const SIGNUPS: [(&str, &str); 4] = [
    ("standard-webhooks", "demo-standard-1"),
    ("hubspot", "5101"),
    ("salesforce-outbound", "0035e00000Dem01AAA"),
    ("pipedrive", "5201"),
];

pub(super) async fn play(demo: &Demo, report: &mut Report) -> Result<(), CliError> {
    demo.narrator.scene(
        SCENE,
        "One signup from each CRM, signed as that CRM signs it",
    );
    for (source, id) in SIGNUPS {
        let email = format!("signup-{id}@example.com");
        let answer = demo
            .relay
            .send_contact(
                &demo.narrator,
                source,
                &[
                    ("external_id", id),
                    ("email", &email),
                    ("first_name", "Ada"),
                    ("last_name", "Lovelace"),
                ],
            )
            .await?;
        let status = answer
            .document
            .pointer("/status")
            .cloned()
            .unwrap_or(Value::Null);
        demo.narrator.step(&format!("answered {status}"));
        report.check(
            SCENE,
            format!("{source}: the relay accepts the signed webhook (2xx)"),
            format!("exit {}, HTTP {status}", answer.code),
            answer.code == 0,
        );
        let in_braze = demo
            .admin
            .braze_user(id)
            .await
            .map_err(admin_error)?
            .is_some();
        let in_userflow = demo
            .admin
            .userflow_user(id)
            .await
            .map_err(admin_error)?
            .is_some();
        report.equal(
            SCENE,
            format!("{source}: {id} is in Braze and in Userflow"),
            (in_braze, in_userflow),
            (true, true),
        );
    }

    let invalid = "demo-invalid-1";
    demo.narrator.step("an invalid email:");
    let answer = demo
        .relay
        .send_contact(
            &demo.narrator,
            "standard-webhooks",
            &[("external_id", invalid), ("email", "not-an-email")],
        )
        .await?;
    let status = answer.document.pointer("/status").and_then(Value::as_u64);
    let errors = answer
        .document
        .pointer("/response/rejected/0/errors")
        .map(Value::to_string)
        .unwrap_or_default();
    demo.narrator.step(&format!(
        "answered {}: rejected with {errors}",
        shown(status)
    ));
    report.check(
        SCENE,
        "an invalid email is refused: 422 naming the email field",
        format!("HTTP {}, errors {errors}", shown(status)),
        status == Some(422) && errors.contains("email"),
    );
    let sent = demo
        .admin
        .braze_user(invalid)
        .await
        .map_err(admin_error)?
        .is_some()
        || demo
            .admin
            .userflow_user(invalid)
            .await
            .map_err(admin_error)?
            .is_some();
    report.check(
        SCENE,
        "the invalid contact reached neither Braze nor Userflow",
        if sent { "it was sent" } else { "not sent" },
        !sent,
    );
    Ok(())
}
