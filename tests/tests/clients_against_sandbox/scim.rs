//! Braze SCIM: a dashboard user's lifecycle, and a wrong origin.

use super::*;

#[tokio::test]
async fn when_a_dashboard_user_goes_through_its_lifecycle_then_scim_answers_like_braze() {
    let stack = Stack::start().await;
    let scim = &stack.scim;
    let new_user = NewScimUser {
        user_name: "ops@example.com".into(),
        name: ScimName::new("Op", "Erator"),
        department: "engineering".into(),
        permissions: None,
    };

    let created = scim
        .create(&new_user)
        .await
        .expect("create")
        .expect("the answer is the user");
    let conflict = scim.create(&new_user).await.expect_err("second create");
    assert!(
        matches!(conflict, ScimError::Conflict { .. }),
        "{conflict:?}"
    );
    let found = scim
        .find_by_user_name("ops@example.com")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(found.id, created.id);
    assert!(
        scim.find_by_user_name("nobody@example.com")
            .await
            .expect("find")
            .is_none()
    );

    let update = ScimUserUpdate {
        name: ScimName::new("Op", "Renamed"),
        department: "finance".into(),
        permissions: Default::default(),
    };
    let replaced = scim
        .replace(&created.id, &update)
        .await
        .expect("replace")
        .expect("the answer is the user");
    assert_eq!(replaced.user_name, "ops@example.com");
    assert_eq!(
        scim.get(&created.id)
            .await
            .expect("get")
            .department
            .as_deref(),
        Some("finance")
    );

    scim.delete(&created.id).await.expect("delete");
    assert!(matches!(
        scim.get(&created.id).await,
        Err(ScimError::NotFound { .. })
    ));
    assert!(stack.admin().scim_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn when_the_scim_origin_is_wrong_then_the_client_reports_unauthorized() {
    let stack = Stack::start().await;
    let info = stack.sandbox.info();
    let config = ScimConfig::new(
        &info.braze,
        SecretString::from(info.scim_token.clone()),
        "elsewhere",
    );
    let scim = ScimClient::new(config, http_client(HttpTimeouts::default())).unwrap();

    let error = scim
        .find_by_user_name("ops@example.com")
        .await
        .expect_err("401");

    assert!(matches!(error, ScimError::Unauthorized { .. }), "{error:?}");
    assert_eq!(error.class(), FailureClass::Misconfigured);
}
