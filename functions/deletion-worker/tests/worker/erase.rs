//! Erasures that succeed: every profile and user of the subject gone, the receipt right, and
//! Braze's calls as few as the rules allow.

use relay_clients::braze::UserAlias;
use relay_core::erasure::progress::UserflowResult;
use relay_core::erasure::receipt::receipt_key;
use relay_core::erasure::{RequestId, Subject, SubjectKind};
use relay_core::store::ObjectStore;
use relay_tests::erasure::Person;
use sandbox::Api;

use super::{email, external_id, failures, request, stack, stack_with};

const EXPORT_IDS: &str = "/users/export/ids";
const DELETE: &str = "/users/delete";

#[tokio::test]
async fn when_a_person_is_erased_by_external_id_then_every_profile_sharing_the_email_and_the_userflow_user_are_gone()
 {
    let stack = stack().await;
    stack
        .seed(&[Person::new("ada", 2), Person::new("bob", 0)])
        .await;

    let response = stack.erase(&[request("r-ada", external_id("ada"))]).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.braze_with_email("ada@example.com").await, 0);
    assert!(!stack.in_userflow("ada").await);
    // The bystander is untouched.
    assert_eq!(stack.braze_with_email("bob@example.com").await, 1);
    assert!(stack.in_userflow("bob").await);
    let receipt = stack.receipt("r-ada").await.expect("a receipt");
    assert_eq!(receipt.counts.braze_profiles, 3);
    assert_eq!(receipt.counts.userflow_deleted, 1);
    assert_eq!(receipt.counts.userflow_already_gone, 0);
    assert!(
        receipt
            .braze
            .iter()
            .all(|target| target.deleted_at.is_some())
    );
    assert_eq!(receipt.userflow[0].user_id, "ada");
    assert_eq!(receipt.userflow[0].result, Some(UserflowResult::Deleted));
    assert_eq!(receipt.subject.kind, SubjectKind::ExternalId);
    assert_eq!(receipt.subject.sha256, sha256_hex("ada"));
    let stored = stack
        .deps
        .eraser
        .state
        .get(&receipt_key(&RequestId::new("r-ada").unwrap()))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(stored.to_vec()).unwrap();
    assert!(!text.contains("@example.com"), "{text}");
    // One lookup of the external id, one of the email it holds; one delete of 3 profiles.
    assert_eq!(
        stack.calls(Api::Braze, "POST", EXPORT_IDS, Some(201)).await,
        2
    );
    assert_eq!(stack.calls(Api::Braze, "POST", DELETE, Some(201)).await, 1);
    // The progress document is gone once the receipt is written.
    assert_eq!(
        stack.deps.eraser.state.keys(),
        [receipt_key(&RequestId::new("r-ada").unwrap())]
    );
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn when_a_person_is_erased_by_email_then_alias_only_duplicates_and_userflow_users_holding_it_are_gone()
 {
    let stack = stack().await;
    stack.seed(&[Person::new("cy", 3)]).await;
    // A second Userflow user with the same email (the front end identified them twice).
    stack
        .userflow
        .upsert_user("cy-mobile")
        .attribute("email", "cy@example.com")
        .send()
        .await
        .unwrap();

    let response = stack
        .erase(&[request("r-cy", email("cy@example.com"))])
        .await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.braze_with_email("cy@example.com").await, 0);
    assert!(!stack.in_userflow("cy").await);
    assert!(!stack.in_userflow("cy-mobile").await);
    let receipt = stack.receipt("r-cy").await.unwrap();
    assert_eq!(receipt.counts.braze_profiles, 4);
    assert_eq!(receipt.counts.userflow_deleted, 2);
    assert_eq!(receipt.subject.sha256, sha256_hex("cy@example.com"));
    // The email's own lookup found every profile: no second round.
    assert_eq!(
        stack.calls(Api::Braze, "POST", EXPORT_IDS, Some(201)).await,
        1
    );
}

#[tokio::test]
async fn when_the_subject_is_unknown_then_the_receipt_says_nothing_was_found_and_nothing_is_deleted()
 {
    let stack = stack().await;
    stack.seed(&[Person::new("bob", 1)]).await;

    let response = stack
        .erase(&[request("r-ghost", external_id("ghost"))])
        .await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let receipt = stack.receipt("r-ghost").await.unwrap();
    assert_eq!(receipt.counts.braze_profiles, 0);
    assert_eq!(receipt.counts.userflow_deleted, 0);
    // Userflow is asked anyway: the user may exist there only.
    assert_eq!(receipt.counts.userflow_already_gone, 1);
    assert_eq!(stack.calls(Api::Braze, "POST", DELETE, None).await, 0);
    assert_eq!(stack.braze_with_email("bob@example.com").await, 2);
}

#[tokio::test]
async fn when_a_subject_exists_only_as_an_alias_then_its_profile_is_erased() {
    let stack = stack().await;
    let lead = Person {
        external_id: None,
        email: "lead@example.com".into(),
        duplicates: 1,
        in_userflow: false,
    };
    stack.seed(std::slice::from_ref(&lead)).await;
    let (name, label) = lead.duplicate_alias(0);

    let subject = Subject::UserAlias(UserAlias::new(name, label));
    let response = stack.erase(&[request("r-lead", subject)]).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.braze_with_email("lead@example.com").await, 0);
    let receipt = stack.receipt("r-lead").await.unwrap();
    assert_eq!(receipt.counts.braze_profiles, 1);
    assert!(receipt.braze[0].profile.external_id.is_none());
    assert!(receipt.userflow.is_empty());
}

#[tokio::test]
async fn when_a_subject_is_given_by_braze_id_then_its_profile_and_email_duplicates_are_erased() {
    let stack = stack().await;
    stack.seed(&[Person::new("dee", 1)]).await;
    let profile = stack
        .sandbox
        .admin()
        .braze_user("dee")
        .await
        .unwrap()
        .unwrap();

    let subject = Subject::BrazeId(profile.braze_id.clone());
    let response = stack.erase(&[request("r-dee", subject)]).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.braze_with_email("dee@example.com").await, 0);
    assert!(!stack.in_userflow("dee").await);
}

#[tokio::test]
async fn when_hundreds_of_profiles_share_an_email_then_all_are_deleted_fifty_per_call() {
    let stack = stack().await;
    stack.seed(&[Person::new("many", 300)]).await;

    let response = stack.erase(&[request("r-many", external_id("many"))]).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.braze_with_email("many@example.com").await, 0);
    assert_eq!(
        stack.receipt("r-many").await.unwrap().counts.braze_profiles,
        301
    );
    assert_eq!(stack.calls(Api::Braze, "POST", DELETE, Some(201)).await, 7);
}

#[tokio::test]
async fn when_a_batch_holds_many_subjects_then_braze_lookups_and_deletes_are_shared_across_it() {
    let stack = stack().await;
    let people: Vec<Person> = (0..60)
        .map(|i| Person::new(&format!("p{i:02}"), 1))
        .collect();
    stack.seed(&people).await;
    let requests: Vec<_> = (0..60)
        .map(|i| request(&format!("r-{i:02}"), external_id(&format!("p{i:02}"))))
        .collect();

    let response = stack.erase(&requests).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    for person in &people {
        assert_eq!(stack.braze_with_email(&person.email).await, 0);
    }
    // External ids 50 per call (2 calls), then each email on its own (60 calls).
    assert_eq!(
        stack.calls(Api::Braze, "POST", EXPORT_IDS, Some(201)).await,
        62
    );
    // 120 profiles, 50 per call.
    assert_eq!(stack.calls(Api::Braze, "POST", DELETE, Some(201)).await, 3);
}

#[tokio::test]
async fn when_archiving_is_on_then_the_exported_profiles_are_archived_before_deletion() {
    let stack = stack_with(&[
        ("ERASURE_ARCHIVE", "true"),
        ("COMPLIANCE_BUCKET", "compliance"),
    ])
    .await;
    stack.seed(&[Person::new("eve", 1)]).await;

    let response = stack.erase(&[request("r-eve", external_id("eve"))]).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let receipt = stack.receipt("r-eve").await.unwrap();
    let archive = receipt.archive.expect("an archive record");
    assert_eq!(
        (
            archive.bucket.as_str(),
            archive.key.as_str(),
            archive.profiles
        ),
        ("compliance", "erasure/r-eve/archive.json", 2)
    );
    let store = &stack.deps.eraser.archive.as_ref().unwrap().store;
    let body = store.get(&archive.key).await.unwrap().expect("the archive");
    let document: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let profiles = document["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    assert!(profiles.iter().all(|p| p["email"] == "eve@example.com"));
    assert_eq!(document["subject"]["sha256"], sha256_hex("eve"));
}
