//! Braze deletes and exports by identifier.

use super::*;

#[tokio::test]
async fn when_deleting_mixed_identifiers_then_each_type_goes_in_its_own_requests_of_50() {
    let stack = Stack::start().await;
    stack
        .braze
        .track()
        .attributes((0..70).map(profile))
        .send()
        .await
        .expect("track");
    let aliases = [
        UserAlias::new("crm-1", "hubspot"),
        UserAlias::new("crm-2", "hubspot"),
    ];
    let report = stack
        .braze
        .new_aliases()
        .aliases(aliases.iter().map(|a| NewAlias {
            external_id: None,
            alias_name: a.alias_name.clone(),
            alias_label: a.alias_label.clone(),
        }))
        .send()
        .await
        .expect("aliases");
    assert!(report.is_success());
    let admin = stack.admin();
    assert_eq!(admin.braze_user_count().await.unwrap(), 72);
    let braze_id = admin.braze_user("user-69").await.unwrap().unwrap().braze_id;

    let mut targets: Vec<DeleteTarget> = (0..60)
        .map(|i| DeleteTarget::ExternalId(format!("user-{i}")))
        .collect();
    targets.extend(aliases.iter().cloned().map(DeleteTarget::UserAlias));
    targets.push(DeleteTarget::BrazeId(braze_id));
    let report = stack
        .braze
        .delete()
        .targets(targets)
        .send()
        .await
        .expect("delete");

    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        report.requests, 4,
        "60 external ids in 2 requests, aliases in 1, braze ids in 1"
    );
    assert_eq!(report.deleted(), 63);
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/delete", None)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        admin
            .count(Api::Braze, "POST", "/users/delete", Some(400))
            .await
            .unwrap(),
        0
    );
    assert_eq!(admin.braze_user_count().await.unwrap(), 72 - 63);
}

#[tokio::test]
async fn when_exporting_by_email_then_alias_only_duplicates_are_found_too() {
    let stack = Stack::start().await;
    let mut known = profile(1);
    known.email = Update::Set("shared@example.com".into());
    let mut anonymous = UserAttributes::new(UserIdentifier::alias("anon-1", "web"));
    anonymous.update_existing_only = Some(false);
    anonymous.email = Update::Set("shared@example.com".into());
    let report = stack
        .braze
        .track()
        .attributes([known, anonymous])
        .send()
        .await
        .expect("track");
    assert!(report.is_success(), "{report:?}");

    let found = stack
        .braze
        .export_ids()
        .emails(["shared@example.com"])
        .fields(["braze_id", "external_id", "user_aliases", "email"])
        .send()
        .await
        .expect("export ids");

    assert_eq!(found.users.len(), 2, "{:?}", found.users);
    let external: BTreeSet<Option<String>> =
        found.users.iter().map(|u| u.external_id.clone()).collect();
    assert_eq!(external, BTreeSet::from([None, Some("user-1".to_owned())]));
    assert!(
        found
            .users
            .iter()
            .any(|u| u.user_aliases == vec![UserAlias::new("anon-1", "web")])
    );
}

#[tokio::test]
async fn when_exporting_120_external_ids_then_three_requests_return_every_profile() {
    let stack = Stack::start().await;
    stack
        .braze
        .track()
        .attributes((0..120).map(profile))
        .send()
        .await
        .expect("track");

    let found = stack
        .braze
        .export_ids()
        .external_ids((0..120).map(|i| format!("user-{i}")))
        .fields(["external_id", "email"])
        .send()
        .await
        .expect("export ids");

    assert_eq!(found.requests, 3);
    assert_eq!(found.users.len(), 120);
    assert_eq!(
        stack
            .admin()
            .count(Api::Braze, "POST", "/users/export/ids", Some(201))
            .await
            .unwrap()
            + stack
                .admin()
                .count(Api::Braze, "POST", "/users/export/ids", Some(200))
                .await
                .unwrap(),
        3
    );
}
