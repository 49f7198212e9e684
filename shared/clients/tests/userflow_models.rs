//! Userflow request shapes and tolerant response decoding, without HTTP.

mod support;

use relay_clients::upstream::FailureClass;
use relay_clients::userflow::{
    AttributeOperation, AttributeValue, DataType, Event, EventSubject, GroupUpsert, List,
    Membership, MembershipList, MembershipUpdate, PageSize, User, UserUpsert, UserflowError,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    support::fixture_text("userflow", name)
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn when_operations_are_built_then_they_serialise_to_userflow_operation_objects() {
    let cases: Vec<(AttributeValue, Value)> = vec![
        (AttributeOperation::set("pro").into(), json!({"set": "pro"})),
        (
            AttributeOperation::set_once("2024-05-01T10:00:00Z")
                .with_data_type(DataType::Datetime)
                .into(),
            json!({"set_once": "2024-05-01T10:00:00Z", "data_type": "datetime"}),
        ),
        (AttributeOperation::add(3).into(), json!({"add": 3})),
        (
            AttributeOperation::subtract(2).into(),
            json!({"subtract": 2}),
        ),
        (
            AttributeOperation::append("beta").into(),
            json!({"append": "beta"}),
        ),
        (
            AttributeOperation::prepend(json!(["a", "b"])).into(),
            json!({"prepend": ["a", "b"]}),
        ),
        (
            AttributeOperation::remove("beta")
                .with_data_type(DataType::List)
                .into(),
            json!({"remove": "beta", "data_type": "list"}),
        ),
        (json!("plain").into(), json!("plain")),
        (AttributeValue::from(42), json!(42)),
        (AttributeValue::from(true), json!(true)),
        (AttributeValue::remove_attribute(), Value::Null),
    ];
    for (value, expected) in cases {
        assert_eq!(to_json(&value), expected);
    }
}

#[test]
fn when_groups_are_given_then_only_groups_are_serialised() {
    let upsert = UserUpsert {
        id: "crm-42".into(),
        attributes: None,
        memberships: Some(MembershipUpdate {
            list: MembershipList::Groups(vec![GroupUpsert::new("acme").attribute("plan", "pro")]),
            prune: false,
        }),
    };
    assert_eq!(
        to_json(&upsert),
        json!({"id": "crm-42", "groups": [{"id": "acme", "attributes": {"plan": "pro"}}]})
    );
}

#[test]
fn when_memberships_are_given_then_only_memberships_are_serialised_with_prune() {
    let upsert = UserUpsert {
        id: "crm-42".into(),
        attributes: Some([("name".to_owned(), AttributeValue::from("Ada"))].into()),
        memberships: Some(MembershipUpdate {
            list: MembershipList::Memberships(vec![
                Membership::new(GroupUpsert::new("acme")).attribute("role", "admin"),
            ]),
            prune: true,
        }),
    };
    assert_eq!(
        to_json(&upsert),
        json!({
            "id": "crm-42",
            "attributes": {"name": "Ada"},
            "memberships": [{"attributes": {"role": "admin"}, "group": {"id": "acme"}}],
            "prune_memberships": true
        })
    );
}

#[test]
fn when_an_upsert_has_no_optional_parts_then_only_the_id_is_sent() {
    assert_eq!(to_json(&UserUpsert::new("crm-42")), json!({"id": "crm-42"}));
}

#[test]
fn when_event_subjects_vary_then_user_and_group_ids_follow() {
    let event = |subject| Event {
        name: "signed_up".into(),
        subject,
        attributes: None,
    };
    assert_eq!(
        to_json(&event(EventSubject::User("u1".into()))),
        json!({"name": "signed_up", "user_id": "u1"})
    );
    assert_eq!(
        to_json(&event(EventSubject::Group("g1".into()))),
        json!({"name": "signed_up", "group_id": "g1"})
    );
    assert_eq!(
        to_json(&event(EventSubject::UserInGroup {
            user_id: "u1".into(),
            group_id: "g1".into()
        })),
        json!({"name": "signed_up", "user_id": "u1", "group_id": "g1"})
    );
}

#[test]
fn when_a_user_has_unknown_fields_then_it_still_decodes() {
    let user: User = serde_json::from_str(&fixture("user.json")).unwrap();
    assert_eq!(user.id, "crm-42");
    assert_eq!(user.object, "user");
    assert_eq!(user.attributes["plan"], json!("pro"));
    assert_eq!(user.created_at.as_deref(), Some("2024-05-01T10:00:01.123Z"));
    assert!(user.memberships.is_none());
}

#[test]
fn when_attributes_are_null_and_memberships_expanded_then_they_decode() {
    let user: User = serde_json::from_str(&fixture("user_with_memberships.json")).unwrap();
    assert!(user.attributes.is_empty());
    let memberships = user.memberships.expect("memberships expanded");
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0].attributes["role"], json!("admin"));
    assert_eq!(
        memberships[0].group.as_ref().map(|g| g.id.as_str()),
        Some("acme")
    );
}

#[test]
fn when_a_list_page_is_decoded_then_cursor_fields_are_kept() {
    let page: List<User> = serde_json::from_str(&fixture("users_page_2.json")).unwrap();
    assert_eq!(page.object, "list");
    assert_eq!(page.data.len(), 2);
    assert!(page.has_more);
    assert_eq!(
        page.next_page_url.as_deref(),
        Some("/users?limit=2&starting_after=u4")
    );
}

#[test]
fn when_page_size_exceeds_100_then_it_is_rejected_as_permanent() {
    let error = PageSize::new(101).unwrap_err();
    assert!(matches!(error, UserflowError::InvalidRequest { .. }));
    assert_eq!(error.class(), FailureClass::Permanent);
    assert!(PageSize::new(0).is_err());
    assert_eq!(PageSize::new(1).unwrap().get(), 1);
}
