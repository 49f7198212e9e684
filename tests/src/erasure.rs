//! People to erase, seeded into the sandbox through the relay's own clients: a Braze profile
//! with an external id and an email, alias-only duplicates sharing that email (as a CRM lead
//! captured before signup leaves behind), and the Userflow user.

use relay_clients::braze::{BrazeClient, Update, UserAttributes, UserIdentifier};
use relay_clients::userflow::UserflowClient;

/// The alias label of seeded duplicates.
pub const DUPLICATE_LABEL: &str = "crm_lead_id";

/// One person as the vendors hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The external id; `None`: the person exists only as alias-only profiles.
    pub external_id: Option<String>,
    /// The email every profile of the person holds.
    pub email: String,
    /// Alias-only Braze profiles sharing the email.
    pub duplicates: usize,
    /// Whether Userflow holds the person (under the external id).
    pub in_userflow: bool,
}

impl Person {
    /// A person with external id `id`, email `<id>@example.com`, `duplicates` alias-only
    /// duplicates, in Userflow.
    pub fn new(id: &str, duplicates: usize) -> Person {
        Person {
            external_id: Some(id.to_owned()),
            email: format!("{id}@example.com"),
            duplicates,
            in_userflow: true,
        }
    }

    /// The alias of duplicate `index`.
    pub fn duplicate_alias(&self, index: usize) -> (String, String) {
        (
            format!("lead-{}-{index}", self.email),
            DUPLICATE_LABEL.to_owned(),
        )
    }

    /// How many Braze profiles the person has.
    pub fn profiles(&self) -> usize {
        usize::from(self.external_id.is_some()) + self.duplicates
    }
}

/// Creates every person's Braze profiles and Userflow user; panics on any failure.
pub async fn seed_people(braze: &BrazeClient, userflow: &UserflowClient, people: &[Person]) {
    let mut objects = Vec::new();
    for person in people {
        let with_email = |id: UserIdentifier| {
            let mut attributes = UserAttributes::new(id);
            attributes.email = Update::Set(person.email.clone());
            attributes
        };
        if let Some(id) = &person.external_id {
            objects.push(with_email(UserIdentifier::external_id(id)));
        }
        for index in 0..person.duplicates {
            let (name, label) = person.duplicate_alias(index);
            let mut duplicate = with_email(UserIdentifier::alias(name, label));
            duplicate.update_existing_only = Some(false);
            objects.push(duplicate);
        }
    }
    if !objects.is_empty() {
        let report = braze
            .track()
            .attributes(objects)
            .send()
            .await
            .expect("seeding Braze");
        assert!(report.is_success(), "seeding Braze failed: {report:?}");
    }
    for person in people.iter().filter(|p| p.in_userflow) {
        let id = person
            .external_id
            .as_deref()
            .expect("a Userflow user has an id");
        userflow
            .upsert_user(id)
            .attribute("email", person.email.as_str())
            .send()
            .await
            .expect("seeding Userflow");
    }
}
