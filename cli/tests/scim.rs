//! `relay scim ...` end to end: the relay binary against the sandbox's Braze SCIM.

mod common;

use std::collections::HashMap;

use common::{code, json, relay, stderr};

use sandbox::{Sandbox, SandboxConfig};

async fn sandbox() -> Sandbox {
    sandbox::start(SandboxConfig::default()).await.unwrap()
}

/// The SCIM settings for `sandbox`.
fn env(sandbox: &Sandbox) -> HashMap<String, String> {
    let info = sandbox.info();
    [
        ("BRAZE_REST_ENDPOINT", info.braze.as_str()),
        ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true"),
        ("BRAZE_SCIM_TOKEN", info.scim_token.as_str()),
        ("BRAZE_SCIM_ORIGIN", info.scim_origin.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

const CREATE: [&str; 10] = [
    "scim",
    "create",
    "--email",
    "ops@example.com",
    "--given-name",
    "Op",
    "--family-name",
    "Erator",
    "--department",
    "engineering",
];

#[tokio::test]
async fn when_a_dashboard_user_is_created_found_updated_and_deleted_then_each_step_exits_0() {
    let sandbox = sandbox().await;
    let env = env(&sandbox);
    let mut create = vec!["--json"];
    create.extend(CREATE);
    create.extend(["--workspace", "Production=basic_access"]);

    let created = relay(&create, &env).await;
    assert_eq!(code(&created), 0, "{created:?}");
    let user = json(&created)["user"].clone();
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["user_name"], "ops@example.com");
    assert_eq!(
        user["permissions"]["appGroup"][0]["appGroupName"],
        "Production"
    );

    let listed = relay(
        &["--json", "scim", "list", "--filter", "ops@example.com"],
        &env,
    )
    .await;
    assert_eq!(code(&listed), 0);
    assert_eq!(json(&listed)["users"][0]["id"], id.as_str());

    let updated = relay(
        &["--json", "scim", "update", &id, "--department", "finance"],
        &env,
    )
    .await;
    assert_eq!(code(&updated), 0, "{updated:?}");
    let after = json(&relay(&["--json", "scim", "get", &id], &env).await);
    assert_eq!(after["user"]["department"], "finance");
    assert_eq!(after["user"]["family_name"], "Erator", "kept");
    assert_eq!(
        after["user"]["permissions"]["appGroup"][0]["appGroupPermissions"][0], "basic_access",
        "kept without permission flags"
    );

    let deleted = relay(&["scim", "delete", &id], &env).await;
    assert_eq!(code(&deleted), 0);
    assert!(sandbox.admin().scim_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn when_the_user_exists_then_create_exits_1_with_brazes_409_detail() {
    let sandbox = sandbox().await;
    let env = env(&sandbox);
    assert_eq!(code(&relay(&CREATE, &env).await), 0);

    let again = relay(&CREATE, &env).await;

    assert_eq!(code(&again), 1);
    let message = stderr(&again);
    assert!(message.contains("(409)"), "{message}");
    assert!(
        message.contains("User already exists in the database."),
        "{message}"
    );
    assert_eq!(sandbox.admin().scim_users().await.unwrap().len(), 1);
}

#[tokio::test]
async fn when_the_user_does_not_exist_then_get_update_and_delete_exit_1_with_brazes_404_detail() {
    let sandbox = sandbox().await;
    let env = env(&sandbox);
    for args in [
        &["--json", "scim", "get", "no-such-user"][..],
        &[
            "--json",
            "scim",
            "update",
            "no-such-user",
            "--department",
            "x",
        ],
        &["--json", "scim", "delete", "no-such-user"],
    ] {
        let output = relay(args, &env).await;
        assert_eq!(code(&output), 1, "{args:?}");
        let message = json(&output)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("(404)"), "{args:?}: {message}");
        assert!(message.contains("User not found"), "{args:?}: {message}");
    }
}

#[tokio::test]
async fn when_the_scim_token_is_missing_then_exit_2_names_the_variable() {
    let sandbox = sandbox().await;
    let mut env = env(&sandbox);
    env.remove("BRAZE_SCIM_TOKEN");

    let output = relay(&["--json", "scim", "get", "any"], &env).await;

    assert_eq!(code(&output), 2);
    assert_eq!(json(&output)["error"]["variable"], "BRAZE_SCIM_TOKEN");
}

#[tokio::test]
async fn when_list_has_no_filter_then_it_is_a_usage_error() {
    let sandbox = sandbox().await;

    let output = relay(&["scim", "list"], &env(&sandbox)).await;

    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--filter"), "{output:?}");
}

#[tokio::test]
async fn when_the_origin_is_wrong_then_the_401_is_explained() {
    let sandbox = sandbox().await;
    let mut env = env(&sandbox);
    env.insert("BRAZE_SCIM_ORIGIN".into(), "someone-else".into());

    let output = relay(&["scim", "list", "--filter", "a@example.com"], &env).await;

    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("X-Request-Origin"), "{output:?}");
}

#[tokio::test]
async fn when_update_has_no_change_or_bad_permissions_json_then_it_exits_2_before_calling_braze() {
    let sandbox = sandbox().await;
    let env = env(&sandbox);

    // An id Braze does not know: a call would end in its 404 (exit 1), not in exit 2.
    let nothing = relay(&["scim", "update", "no-such-user"], &env).await;
    let bad_json = relay(
        &[
            "scim",
            "update",
            "no-such-user",
            "--given-name",
            "Op",
            "--permissions",
            "{not json",
        ],
        &env,
    )
    .await;

    assert_eq!(code(&nothing), 2, "{nothing:?}");
    assert!(stderr(&nothing).contains("--given-name"), "{nothing:?}");
    assert_eq!(code(&bad_json), 2, "{bad_json:?}");
    assert!(stderr(&bad_json).contains("--permissions"), "{bad_json:?}");
}
