//! The canonical [`Contact`] every CRM payload is mapped to, its validation, and its mapping to
//! a Braze `/users/track` attributes object and a Userflow user upsert.
//!
//! A contact is checked once, before anything is sent: the Braze rules
//! ([`relay_clients::braze::validation`]) for the standard fields and custom attributes, plus the
//! relay's own (company id present, custom keys that the mapping itself emits are reserved).
//! A contact that passes is sent as it is to both vendors; one that fails is reported to the
//! CRM with every error, and never sent.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use relay_clients::braze::validation::{
    Rule, ValidationError, check_country, check_date, check_email, check_external_id,
    check_identifier, check_language, check_phone, check_string_length, check_time_zone,
    validate_custom_attribute,
};
use relay_clients::braze::{Update, UserAttributes, UserIdentifier};
use relay_clients::userflow::{AttributeValue, GroupUpsert, UpsertUserRequest, UserflowClient};

/// Braze custom attribute (and Userflow attribute) names the mapping emits itself: a CRM
/// custom attribute must not reuse them.
pub const RESERVED_CUSTOM_KEYS: &[&str] = &[
    COMPANY_ID_KEY,
    COMPANY_NAME_KEY,
    COMPANY_PLAN_KEY,
    SIGNED_UP_AT_KEY,
];
/// Braze custom attribute holding the company's id.
pub const COMPANY_ID_KEY: &str = "company_id";
/// Braze custom attribute holding the company's name.
pub const COMPANY_NAME_KEY: &str = "company_name";
/// Braze custom attribute holding the company's plan.
pub const COMPANY_PLAN_KEY: &str = "company_plan";
/// Braze custom attribute and Userflow attribute holding the signup time (ISO 8601).
pub const SIGNED_UP_AT_KEY: &str = "signed_up_at";

/// A person as the relay knows them, whichever CRM they came from.
///
/// Serialised into `contacts` jobs (parked on the sync queue), so the shape is ours and strict.
/// `Debug` shows which fields are set, never their values: contacts carry personal data.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The id the product uses for this person: Braze `external_id`, Userflow user id.
    pub external_id: String,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// E.164 phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 639-1 language code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<String>,
    /// The person's company: a Userflow group, and custom attributes in Braze.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Company>,
    /// When the person signed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_up_at: Option<DateTime<Utc>>,
    /// Further attributes, sent to both vendors under these names.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub custom: Map<String, Value>,
}

/// The company a contact belongs to, as far as the CRM knows it.
///
/// With an id (HubSpot `associatedcompanyid`, Salesforce `AccountId`, Pipedrive `org_id`) the
/// company is the user's Userflow group. With only a name or plan it is not a group (a name
/// is no identity: two companies share one, and one is renamed), so the name and plan are
/// attributes of the user alone.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Company {
    /// The company's id in the CRM: the Userflow group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Plan or tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

impl fmt::Debug for Company {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Company")
            .field("id_bytes", &self.id.as_ref().map(String::len))
            .field("name", &self.name.is_some())
            .field("plan", &self.plan.is_some())
            .finish()
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contact")
            .field("external_id_bytes", &self.external_id.len())
            .field("set", &self.set_fields())
            .field("custom_keys", &self.custom.len())
            .finish()
    }
}

impl Contact {
    /// A contact with only its id.
    pub fn new(external_id: impl Into<String>) -> Contact {
        Contact {
            external_id: external_id.into(),
            email: None,
            first_name: None,
            last_name: None,
            phone: None,
            country: None,
            language: None,
            time_zone: None,
            dob: None,
            company: None,
            signed_up_at: None,
            custom: Map::new(),
        }
    }

    /// The names of the optional fields that are set (for logs and Debug: names, not values).
    pub fn set_fields(&self) -> Vec<&'static str> {
        let optional = [
            ("email", self.email.is_some()),
            ("first_name", self.first_name.is_some()),
            ("last_name", self.last_name.is_some()),
            ("phone", self.phone.is_some()),
            ("country", self.country.is_some()),
            ("language", self.language.is_some()),
            ("time_zone", self.time_zone.is_some()),
            ("dob", self.dob.is_some()),
            ("company", self.company.is_some()),
            ("signed_up_at", self.signed_up_at.is_some()),
        ];
        optional
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect()
    }

    /// Brings CRM values to the wire formats: trims text, drops empty strings (CRMs send `""`
    /// for unset properties), upper-cases the country, lower-cases the language and strips
    /// phone punctuation. Values are otherwise kept as the CRM sent them.
    pub fn normalised(mut self) -> Contact {
        self.external_id = self.external_id.trim().to_owned();
        for field in [
            &mut self.email,
            &mut self.first_name,
            &mut self.last_name,
            &mut self.phone,
            &mut self.country,
            &mut self.language,
            &mut self.time_zone,
            &mut self.dob,
        ] {
            normalise_text(field);
        }
        if let Some(country) = &mut self.country {
            *country = country.to_ascii_uppercase();
        }
        if let Some(language) = &mut self.language {
            *language = language.to_ascii_lowercase();
        }
        if let Some(phone) = &mut self.phone {
            // CRMs keep phone numbers as typed: "+1 (415) 555-0100" is E.164 once the
            // punctuation goes. Anything else is left for validation to report.
            let compact: String = phone
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
                .collect();
            *phone = compact;
        }
        if let Some(company) = &mut self.company {
            normalise_text(&mut company.id);
            normalise_text(&mut company.name);
            normalise_text(&mut company.plan);
        }
        self
    }

    /// Every rule this contact breaks, with paths relative to the contact (`email`,
    /// `company.id`, `custom.plan`). Empty means it can be sent.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let mut check = |path: &str, value: Option<&String>, rule: fn(&str) -> Result<(), Rule>| {
            if let Some(value) = value
                && let Err(broken) = rule(value)
            {
                errors.push(ValidationError::new(path, broken));
            }
        };
        check("external_id", Some(&self.external_id), check_external_id);
        check("email", self.email.as_ref(), check_email);
        check("first_name", self.first_name.as_ref(), check_string_length);
        check("last_name", self.last_name.as_ref(), check_string_length);
        check("phone", self.phone.as_ref(), check_phone);
        check("country", self.country.as_ref(), check_country);
        check("language", self.language.as_ref(), check_language);
        check("time_zone", self.time_zone.as_ref(), check_time_zone);
        check("dob", self.dob.as_ref(), check_date);
        if let Some(company) = &self.company {
            check("company.id", company.id.as_ref(), |id| {
                check_required_text(id).and(check_identifier(id))
            });
            check("company.name", company.name.as_ref(), check_string_length);
            check("company.plan", company.plan.as_ref(), check_string_length);
        }
        for (key, value) in &self.custom {
            if RESERVED_CUSTOM_KEYS.contains(&key.as_str())
                || UserAttributes::OWN_KEYS.contains(&key.as_str())
            {
                errors.push(ValidationError::new(
                    format!("custom.{key}"),
                    Rule::KeyReserved,
                ));
            } else if value.is_object() || is_list_of_objects(value) {
                // Userflow reads an object as an operation and takes lists of scalars only:
                // refused before either vendor has it, rather than half delivered.
                errors.push(ValidationError::new(
                    format!("custom.{key}"),
                    Rule::WrongType,
                ));
            } else {
                errors.extend(validate_custom_attribute(key, value));
            }
        }
        errors
    }

    /// The Braze `/users/track` attributes object: standard fields, the company as
    /// `company_id` / `company_name` / `company_plan`, `signed_up_at`, then custom
    /// attributes. Creates the profile when missing (no `_update_existing_only`).
    pub fn to_braze(&self) -> UserAttributes {
        let set = |value: &Option<String>| match value {
            Some(value) => Update::Set(value.clone()),
            None => Update::Unchanged,
        };
        let mut attributes = UserAttributes::new(UserIdentifier::external_id(&self.external_id));
        attributes.email = set(&self.email);
        attributes.first_name = set(&self.first_name);
        attributes.last_name = set(&self.last_name);
        attributes.phone = set(&self.phone);
        attributes.country = set(&self.country);
        attributes.language = set(&self.language);
        attributes.time_zone = set(&self.time_zone);
        attributes.dob = set(&self.dob);
        attributes.custom = self.shared_attributes();
        attributes
    }

    /// The Userflow `POST /users` request: `email`, `name` (given and family name joined),
    /// the other standard fields under their own names, `signed_up_at`, custom attributes,
    /// and the company as the user's group (`groups`, never pruning other memberships); a
    /// company without an id gives the user `company_name` / `company_plan` attributes
    /// instead.
    pub fn to_userflow<'c>(&self, client: &'c UserflowClient) -> UpsertUserRequest<'c> {
        let mut attributes: Vec<(String, AttributeValue)> = Vec::new();
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            attributes.push(("name".into(), Value::String(name).into()));
        }
        for (key, value) in [
            ("email", &self.email),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("phone", &self.phone),
            ("country", &self.country),
            ("language", &self.language),
            ("time_zone", &self.time_zone),
            ("dob", &self.dob),
        ] {
            if let Some(value) = value {
                attributes.push((key.into(), Value::String(value.clone()).into()));
            }
        }
        let group = self.company.as_ref().and_then(Company::to_userflow_group);
        for (key, value) in self.shared_attributes() {
            // A group carries the company; without one the user does.
            if group.is_none() || !key.starts_with("company_") {
                attributes.push((key, value.into()));
            }
        }
        let request = client.upsert_user(&self.external_id).attributes(attributes);
        match group {
            Some(group) => request.groups([group]),
            None => request,
        }
    }

    /// Custom attributes both vendors get: company fields, `signed_up_at`, then the CRM's.
    fn shared_attributes(&self) -> Map<String, Value> {
        let mut custom = Map::new();
        if let Some(company) = &self.company {
            if let Some(id) = &company.id {
                custom.insert(COMPANY_ID_KEY.into(), id.clone().into());
            }
            if let Some(name) = &company.name {
                custom.insert(COMPANY_NAME_KEY.into(), name.clone().into());
            }
            if let Some(plan) = &company.plan {
                custom.insert(COMPANY_PLAN_KEY.into(), plan.clone().into());
            }
        }
        if let Some(at) = self.signed_up_at {
            custom.insert(
                SIGNED_UP_AT_KEY.into(),
                at.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
            );
        }
        custom.extend(self.custom.clone());
        custom
    }
}

impl Company {
    /// A company with only its id.
    pub fn new(id: impl Into<String>) -> Company {
        Company {
            id: Some(id.into()),
            name: None,
            plan: None,
        }
    }

    /// The Userflow group: id, and `name` / `plan` attributes when known; `None` without an
    /// id.
    pub fn to_userflow_group(&self) -> Option<GroupUpsert> {
        let mut group = GroupUpsert::new(self.id.as_ref()?);
        let attributes: Vec<(String, AttributeValue)> =
            [("name", &self.name), ("plan", &self.plan)]
                .into_iter()
                .filter_map(|(key, value)| {
                    value
                        .as_ref()
                        .map(|v| (key.to_owned(), Value::String(v.clone()).into()))
                })
                .collect();
        if !attributes.is_empty() {
            group.attributes = Some(attributes.into_iter().collect());
        }
        Some(group)
    }
}

/// A list holding an object: a Braze array of objects, which Userflow cannot store.
fn is_list_of_objects(value: &Value) -> bool {
    matches!(value, Value::Array(items) if items.iter().any(Value::is_object))
}

fn normalise_text(field: &mut Option<String>) {
    if let Some(text) = field.take() {
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            *field = Some(trimmed.to_owned());
        }
    }
}

fn check_required_text(value: &str) -> Result<(), Rule> {
    if value.is_empty() {
        return Err(Rule::Required);
    }
    check_string_length(value)
}

#[cfg(test)]
mod tests;
