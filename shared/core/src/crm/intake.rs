//! The intake step: CRM records -> mapped contacts -> validated -> deduplicated, with a
//! report of every record refused. crm-signup runs it on webhooks; the CLI and the export
//! path run the same step, so a rule is written once.
//!
//! Whether a contact's signup event is due is decided here, once, and travels with the
//! contact: to delivery, and into a parked job when delivery has to wait.

use std::collections::HashMap;

use serde::Serialize;

use super::{Record, Source};
use crate::contact::Contact;
use crate::delivery::{Delivery, StepFailure};
use relay_clients::braze::validation::ValidationError;

/// The result of the intake step over one batch of records.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    /// Valid contacts, one per external id, in the order their ids first appeared.
    pub contacts: Vec<IntakeContact>,
    /// Records refused, with why, in record order.
    pub rejected: Vec<RejectedContact>,
    /// Records that repeated an external id seen earlier in the batch (the last one's fields
    /// were kept).
    pub duplicates: usize,
}

impl Intake {
    /// What delivery sends: every valid contact with whether its signup event is due.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.contacts
            .iter()
            .map(|taken| Delivery {
                contact: taken.contact.clone(),
                track_signup: taken.track_signup,
            })
            .collect()
    }
}

/// One valid contact ready for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeContact {
    /// Position of the record its fields came from (0-based).
    pub index: usize,
    /// Where that record was in the payload (`/contacts/2`, `Notification[1]`).
    pub location: String,
    /// The validated contact.
    pub contact: Contact,
    /// Track the signup event for this contact: its source sends signup events and a record
    /// for it announced a new person (never for updates only).
    pub track_signup: bool,
}

/// One refused contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedContact {
    /// Position among the request's contacts (0-based).
    pub index: usize,
    /// Where in the payload it was (`/contacts/2`, `Notification[1]`).
    pub location: String,
    /// The external id, when one could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Every problem found.
    pub errors: Vec<FieldError>,
}

/// One problem with one contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// The contact field (`email`, `company.id`) or the vendor step (`braze`, `userflow`).
    pub field: String,
    /// A stable rule name (`email`, `required`, `vendor_rejected`).
    pub rule: String,
    /// What is wrong, for people.
    pub message: String,
}

impl From<ValidationError> for FieldError {
    fn from(error: ValidationError) -> FieldError {
        FieldError {
            field: error.path,
            rule: error.rule.as_str().to_owned(),
            message: error.message,
        }
    }
}

impl From<&StepFailure> for FieldError {
    /// A vendor refused the contact at this step.
    fn from(failure: &StepFailure) -> FieldError {
        FieldError {
            field: failure.step.as_str().to_owned(),
            rule: "vendor_rejected".into(),
            message: failure.detail.clone(),
        }
    }
}

/// Maps and validates every record with `source`'s mapping and keeps one contact per external
/// id: the last record's fields, and a signup event due if any record for the id announced a
/// new person.
pub fn intake(source: &Source, records: &[Record]) -> Intake {
    let mut intake = Intake::default();
    let mut position_of: HashMap<String, usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let contact = match source.mapping.apply(&record.value) {
            Ok(contact) => contact,
            Err(errors) => {
                intake.rejected.push(RejectedContact {
                    index,
                    location: record.location.clone(),
                    external_id: external_id_of(source, &record.value),
                    errors: errors.into_iter().map(FieldError::from).collect(),
                });
                continue;
            }
        };
        let track_signup = source.send_signup_event && record.signup;
        match position_of.get(&contact.external_id) {
            Some(&at) => {
                intake.duplicates += 1;
                let earlier = &mut intake.contacts[at];
                let track_signup = track_signup || earlier.track_signup;
                *earlier = IntakeContact {
                    index,
                    location: record.location.clone(),
                    contact,
                    track_signup,
                };
            }
            None => {
                position_of.insert(contact.external_id.clone(), intake.contacts.len());
                intake.contacts.push(IntakeContact {
                    index,
                    location: record.location.clone(),
                    contact,
                    track_signup,
                });
            }
        }
    }
    intake
}

/// The external id a rejected record carries, when it is a string or a number.
fn external_id_of(source: &Source, record: &serde_json::Value) -> Option<String> {
    match record.pointer(source.mapping.external_id.as_str())? {
        serde_json::Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;
    use crate::crm::SchemeSettings;
    use crate::crm::mapping::{FieldMapping, Pointer};

    fn source(send_signup_event: bool) -> Source {
        let mut mapping: FieldMapping =
            serde_json::from_value(json!({"external_id": "/id", "email": "/email"})).unwrap();
        mapping.first_name = Some(Pointer::parse("/first_name").unwrap());
        Source {
            name: "pipedrive".into(),
            mapping,
            send_signup_event,
            settings: SchemeSettings::Pipedrive {
                username: "u".into(),
                password: SecretString::from("p"),
                actions: vec!["create".into(), "change".into()],
            },
        }
    }

    fn record(value: serde_json::Value, signup: bool) -> Record {
        Record {
            location: format!("/data/{}", value["id"]),
            value,
            dedupe_key: None,
            signup,
        }
    }

    fn tracked(intake: &Intake) -> Vec<(&str, bool)> {
        intake
            .contacts
            .iter()
            .map(|c| (c.contact.external_id.as_str(), c.track_signup))
            .collect()
    }

    #[test]
    fn when_records_are_creations_or_updates_then_only_creations_track_the_signup() {
        let records = [
            record(json!({"id": "1", "email": "a@example.com"}), true),
            record(json!({"id": "2", "email": "b@example.com"}), false),
        ];
        assert_eq!(
            tracked(&intake(&source(true), &records)),
            [("1", true), ("2", false)]
        );
        assert_eq!(
            tracked(&intake(&source(false), &records)),
            [("1", false), ("2", false)],
            "a source that sends no signup events never tracks one"
        );
    }

    #[test]
    fn when_an_id_repeats_then_the_last_fields_win_and_a_creation_anywhere_tracks_the_signup() {
        let records = [
            record(json!({"id": "1", "first_name": "Old"}), true),
            record(json!({"id": "2"}), false),
            record(json!({"id": "1", "first_name": "New"}), false),
        ];
        let intake = intake(&source(true), &records);
        assert_eq!(intake.duplicates, 1);
        assert_eq!(tracked(&intake), [("1", true), ("2", false)]);
        let first = &intake.contacts[0];
        assert_eq!(first.index, 2);
        assert_eq!(first.location, "/data/\"1\"");
        assert_eq!(first.contact.first_name.as_deref(), Some("New"));
    }

    #[test]
    fn when_a_record_is_invalid_then_it_is_rejected_with_its_id_location_and_rules() {
        let records = [
            record(json!({"id": 7, "email": "not-an-email"}), true),
            record(json!({"email": "c@example.com"}), true),
            record(json!({"id": "3"}), true),
        ];
        let intake = intake(&source(true), &records);
        assert_eq!(tracked(&intake), [("3", true)]);
        assert_eq!(intake.rejected.len(), 2);
        let bad_email = &intake.rejected[0];
        assert_eq!(
            (bad_email.index, bad_email.external_id.as_deref()),
            (0, Some("7"))
        );
        assert_eq!(bad_email.location, "/data/7");
        assert_eq!(
            bad_email
                .errors
                .iter()
                .map(|e| (e.field.as_str(), e.rule.as_str()))
                .collect::<Vec<_>>(),
            [("email", "email")]
        );
        let no_id = &intake.rejected[1];
        assert_eq!((no_id.index, no_id.external_id.as_deref()), (1, None));
        assert_eq!(no_id.errors[0].field, "external_id");
        assert_eq!(no_id.errors[0].rule, "required");
    }
}
