//! Messages on the sync queue: versioned JSON, `{"v":1,"kind":"contact",...}`.
//!
//! The version and kind are checked before the rest is decoded, so a message from a newer
//! relay, or one that is not ours, is reported as such (and recorded, not retried forever).
//! Bodies we own are decoded strictly: an unknown field is an error with its JSON path.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contact::Contact;
use relay_clients::upstream::{DecodeError, decode_json};

/// The message format version this relay writes and reads.
pub const JOB_VERSION: u64 = 1;

/// A job on the sync queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// A contact crm-signup could not finish in time (or that failed transiently): replay it
    /// through the same delivery path.
    Contact(ContactJob),
}

/// A parked contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactJob {
    /// The CRM source that sent it (`hubspot`, ...).
    pub source: String,
    /// The webhook request that carried it (API Gateway request id), to follow it in logs.
    pub request_id: String,
    /// When the webhook was received.
    pub received_at: DateTime<Utc>,
    /// The CRM reported this contact as created and its source sends signup events: the
    /// replay tracks the signup event (once per user). `false` for updates.
    pub is_signup: bool,
    /// The validated contact.
    pub contact: Contact,
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
            Job::Contact(_) => "contact",
        }
    }

    /// The message body: `{"v":1,"kind":..,<the kind's fields>}`.
    pub fn encode(&self) -> String {
        let fields = match self {
            Job::Contact(job) => serde_json::to_value(job),
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
        match kind.as_str() {
            "contact" => decode_json(rest.as_bytes())
                .map(Job::Contact)
                .map_err(|source| JobDecodeError::Invalid {
                    kind: "contact",
                    source,
                }),
            _ => Err(JobDecodeError::UnknownKind(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn job() -> Job {
        let mut contact = Contact::new("u-1");
        contact.email = Some("ada@example.com".into());
        Job::Contact(ContactJob {
            source: "hubspot".into(),
            request_id: "req-1".into(),
            received_at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
            is_signup: true,
            contact,
        })
    }

    #[test]
    fn when_encoded_then_decoding_gives_the_same_job() {
        let body = job().encode();
        let raw: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (&raw["v"], &raw["kind"]),
            (&Value::from(1), &Value::from("contact"))
        );
        assert_eq!(Job::decode(&body).unwrap(), job());
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
            .replace(r#""kind":"contact""#, r#""kind":"teleport""#);
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
        assert!(error.contains("contact"), "{error}");
        assert!(error.contains("emial"), "{error}");
    }

    #[test]
    fn when_body_is_not_json_then_it_is_not_a_job() {
        assert!(matches!(
            Job::decode("hello"),
            Err(JobDecodeError::NotAJob(_))
        ));
    }
}
