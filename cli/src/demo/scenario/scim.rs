//! Scene 4: a Braze dashboard user created, found, updated and deleted over SCIM.

use serde_json::Value;

use super::{Demo, Report, admin_error, shown};
use crate::CliError;
use crate::demo::cli::RelayCommands;

const SCENE: usize = 4;
const EMAIL: &str = "dashboard.user@example.com";

pub(super) async fn play(demo: &Demo, report: &mut Report) -> Result<(), CliError> {
    demo.narrator
        .scene(SCENE, "A Braze dashboard user, managed over SCIM");
    let create = [
        "scim",
        "create",
        "--email",
        EMAIL,
        "--given-name",
        "Dana",
        "--family-name",
        "Board",
        "--department",
        "Platform",
    ];
    demo.narrator.step(&RelayCommands::shown(&create));
    let created = demo.relay.run(&create).await?;
    let id = created
        .document
        .pointer("/user/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let stored = demo.admin.scim_users().await.map_err(admin_error)?;
    report.check(
        SCENE,
        "the dashboard user is created",
        format!("exit {}, id {id:?}", created.code),
        created.code == 0 && !id.is_empty() && stored.iter().any(|u| u.id == id),
    );

    let list = ["scim", "list", "--filter", EMAIL];
    demo.narrator.step(&RelayCommands::shown(&list));
    let found = demo.relay.run(&list).await?;
    let found_ids: Vec<&str> = found
        .document
        .pointer("/users")
        .and_then(Value::as_array)
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    report.equal(
        SCENE,
        "it is found by its email",
        found_ids,
        vec![id.as_str()],
    );

    let update = ["scim", "update", &id, "--department", "Data"];
    demo.narrator.step(&RelayCommands::shown(&update));
    let updated = demo.relay.run(&update).await?;
    let department = demo
        .admin
        .scim_users()
        .await
        .map_err(admin_error)?
        .into_iter()
        .find(|u| u.id == id)
        .map(|u| u.department);
    report.check(
        SCENE,
        "its department is updated",
        format!(
            "exit {}, department {}",
            updated.code,
            shown(department.as_ref())
        ),
        updated.code == 0 && department == Some(Value::from("Data")),
    );

    let delete = ["scim", "delete", &id];
    demo.narrator.step(&RelayCommands::shown(&delete));
    let deleted = demo.relay.run(&delete).await?;
    let left = demo.admin.scim_users().await.map_err(admin_error)?;
    report.check(
        SCENE,
        "it is deleted",
        format!("exit {}, {} left", deleted.code, left.len()),
        deleted.code == 0 && !left.iter().any(|u| u.id == id),
    );
    let get = ["scim", "get", &id];
    let gone = demo.relay.run(&get).await?;
    demo.narrator
        .step(&format!("{}   (now 404)", RelayCommands::shown(&get)));
    report.equal(
        SCENE,
        "getting it afterwards fails (exit 1, SCIM 404)",
        gone.code,
        1,
    );
    Ok(())
}
