//! Messages on the sync queue: versioned JSON, `{"v":1,"kind":"contacts",...}`.
//!
//! The version and kind are checked before the rest is decoded, so a message from a newer
//! relay, or one that is not ours, is reported as such (and recorded, not retried forever).
//! Bodies we own are decoded strictly: an unknown field is an error with its JSON path.
//!
//! Kinds:
//! - `contacts`: contacts of one webhook request, several per message (what the relay
//!   writes);
//! - `contact`: one contact per message, written by earlier relays; still read, as a
//!   `contacts` job of one, so messages queued before an upgrade are not lost;
//! - `export_file`: one file of a Braze segment export to read and sync (the export callback
//!   writes one per file): `{"export": <job id>, "index": <file index>, "key": <S3 key>}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contact::Contact;
use crate::export::manifest::JobId;
use relay_clients::upstream::{DecodeError, decode_json};

/// The message format version this relay writes and reads.
pub const JOB_VERSION: u64 = 1;

/// A job on the sync queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Contacts crm-signup could not finish in time (or that failed transiently): replay
    /// them through the same delivery path.
    Contacts(ContactsJob),
    /// One file of a segment export: stream it and sync its users.
    ExportFile(ExportFileJob),
}

/// One file of a segment export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFileJob {
    /// The export job (its manifest says what to do with the users).
    pub export: JobId,
    /// The file's index in the manifest's `files`: names its progress document.
    pub index: usize,
    /// The file's key in the export bucket.
    pub key: String,
}

/// Parked contacts of one webhook request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactsJob {
    /// The CRM source that sent them (`hubspot`, ...).
    pub source: String,
    /// The webhook request that carried them (API Gateway request id), to follow it in logs.
    pub request_id: String,
    /// When the webhook was received.
    pub received_at: DateTime<Utc>,
    /// The contacts, at least one.
    pub contacts: Vec<ParkedContact>,
}

/// One parked contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParkedContact {
    /// The CRM reported this contact as created and its source sends signup events: the
    /// replay tracks the signup event (once per user). `false` for updates.
    pub is_signup: bool,
    /// The validated contact.
    pub contact: Contact,
}

/// The `contact` kind earlier relays wrote: one contact per message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SingleContactJob {
    source: String,
    request_id: String,
    received_at: DateTime<Utc>,
    is_signup: bool,
    contact: Contact,
}

impl From<SingleContactJob> for ContactsJob {
    fn from(job: SingleContactJob) -> ContactsJob {
        ContactsJob {
            source: job.source,
            request_id: job.request_id,
            received_at: job.received_at,
            contacts: vec![ParkedContact {
                is_signup: job.is_signup,
                contact: job.contact,
            }],
        }
    }
}

/// Why a message body is not a job this relay can run.
#[derive(Debug, thiserror::Error)]
pub enum JobDecodeError {
    /// Not a JSON object with `v` and `kind`.
    #[error("not a relay job: {0}")]
    NotAJob(String),
    /// Written by another version of the relay.
    #[error("job version {found} is not supported (this relay reads version {JOB_VERSION})")]
    UnsupportedVersion {
        /// The message's `v`.
        found: Value,
    },
    /// A `kind` this relay does not know.
    #[error("job kind {0:?} is not known to this relay")]
    UnknownKind(String),
    /// A `contacts` job whose list is empty.
    #[error("contacts job holds no contact")]
    NoContacts,
    /// The kind's fields do not decode.
    #[error("{kind} job: {source}")]
    Invalid {
        /// The job's kind.
        kind: &'static str,
        /// What is wrong, with its JSON path.
        source: DecodeError,
    },
}

impl Job {
    /// The job's `kind` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Contacts(_) => "contacts",
            Job::ExportFile(_) => "export_file",
        }
    }

    /// The message body: `{"v":1,"kind":..,<the kind's fields>}`.
    pub fn encode(&self) -> String {
        let fields = match self {
            Job::Contacts(job) => serde_json::to_value(job),
            Job::ExportFile(job) => serde_json::to_value(job),
        }
        .expect("job types serialise to JSON objects");
        let mut object = Map::new();
        object.insert("v".into(), JOB_VERSION.into());
        object.insert("kind".into(), self.kind().into());
        if let Value::Object(fields) = fields {
            object.extend(fields);
        }
        Value::Object(object).to_string()
    }

    /// Reads a message body written by [`Job::encode`].
    pub fn decode(body: &str) -> Result<Job, JobDecodeError> {
        let mut object: Map<String, Value> = serde_json::from_str(body)
            .map_err(|e| JobDecodeError::NotAJob(format!("not a JSON object: {e}")))?;
        let version = object
            .remove("v")
            .ok_or_else(|| JobDecodeError::NotAJob("missing field `v`".into()))?;
        if version.as_u64() != Some(JOB_VERSION) {
            return Err(JobDecodeError::UnsupportedVersion { found: version });
        }
        let kind = match object.remove("kind") {
            Some(Value::String(kind)) => kind,
            _ => {
                return Err(JobDecodeError::NotAJob(
                    "missing string field `kind`".into(),
                ));
            }
        };
        let rest = Value::Object(object).to_string();
        let invalid = |kind| move |source| JobDecodeError::Invalid { kind, source };
        match kind.as_str() {
            "contacts" => {
                let job: ContactsJob = decode_json(rest.as_bytes()).map_err(invalid("contacts"))?;
                if job.contacts.is_empty() {
                    return Err(JobDecodeError::NoContacts);
                }
                Ok(Job::Contacts(job))
            }
            "contact" => decode_json::<SingleContactJob>(rest.as_bytes())
                .map(|job| Job::Contacts(job.into()))
                .map_err(invalid("contact")),
            "export_file" => decode_json::<ExportFileJob>(rest.as_bytes())
                .map(Job::ExportFile)
                .map_err(invalid("export_file")),
            _ => Err(JobDecodeError::UnknownKind(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn job() -> Job {
        let mut contact = Contact::new("u-1");
        contact.email = Some("ada@example.com".into());
        Job::Contacts(ContactsJob {
            source: "hubspot".into(),
            request_id: "req-1".into(),
            received_at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
            contacts: vec![
                ParkedContact {
                    is_signup: true,
                    contact,
                },
                ParkedContact {
                    is_signup: false,
                    contact: Contact::new("u-2"),
                },
            ],
        })
    }

    #[test]
    fn when_encoded_then_decoding_gives_the_same_job() {
        let body = job().encode();
        let raw: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (&raw["v"], &raw["kind"]),
            (&Value::from(1), &Value::from("contacts"))
        );
        assert_eq!(Job::decode(&body).unwrap(), job());
    }

    #[test]
    fn when_an_earlier_relay_wrote_one_contact_then_it_decodes_as_a_job_of_one() {
        let body = json!({
            "v": 1, "kind": "contact", "source": "hubspot", "request_id": "req-1",
            "received_at": "2026-11-22T10:00:00Z", "is_signup": true,
            "contact": {"external_id": "u-1"},
        })
        .to_string();
        let Job::Contacts(job) = Job::decode(&body).unwrap() else {
            panic!("a contact job decodes as contacts");
        };
        assert_eq!((job.source.as_str(), job.contacts.len()), ("hubspot", 1));
        assert!(job.contacts[0].is_signup);
        assert_eq!(job.contacts[0].contact.external_id, "u-1");
    }

    #[test]
    fn when_a_contacts_job_is_empty_then_it_is_refused() {
        let Job::Contacts(mut empty) = job() else {
            unreachable!()
        };
        empty.contacts.clear();
        let body = Job::Contacts(empty).encode();
        assert!(matches!(
            Job::decode(&body),
            Err(JobDecodeError::NoContacts)
        ));
    }

    #[test]
    fn when_version_is_newer_then_error_says_which() {
        let body = job().encode().replace(r#""v":1"#, r#""v":2"#);
        let error = Job::decode(&body).unwrap_err();
        assert!(matches!(error, JobDecodeError::UnsupportedVersion { .. }));
        assert!(error.to_string().contains("version 2"), "{error}");
    }

    #[test]
    fn when_kind_is_unknown_then_error_names_it() {
        let body = job()
            .encode()
            .replace(r#""kind":"contacts""#, r#""kind":"teleport""#);
        assert!(
            matches!(Job::decode(&body), Err(JobDecodeError::UnknownKind(kind)) if kind == "teleport")
        );
    }

    #[test]
    fn when_a_field_is_unknown_then_error_has_its_path() {
        let body = job()
            .encode()
            .replace(r#""email":"#, r#""emial":"x","email":"#);
        let error = Job::decode(&body).unwrap_err().to_string();
        assert!(error.contains("contacts"), "{error}");
        assert!(error.contains("emial"), "{error}");
    }

    #[test]
    fn when_an_export_file_job_is_encoded_then_it_decodes_and_bad_job_ids_are_refused() {
        let job = Job::ExportFile(ExportFileJob {
            export: JobId::parse("20261206T160000Z-1a2b3c4d").unwrap(),
            index: 3,
            key: "segment-export/seg/2026-12-06/p-1/a.zip".into(),
        });
        let body = job.encode();
        assert!(body.contains(r#""kind":"export_file""#), "{body}");
        assert_eq!(Job::decode(&body).unwrap(), job);
        let bad = body.replace("20261206T160000Z-1a2b3c4d", "../other");
        let error = Job::decode(&bad).unwrap_err().to_string();
        assert!(
            error.contains("export_file") && error.contains("job"),
            "{error}"
        );
    }

    #[test]
    fn when_body_is_not_json_then_it_is_not_a_job() {
        assert!(matches!(
            Job::decode("hello"),
            Err(JobDecodeError::NotAJob(_))
        ));
    }
}
