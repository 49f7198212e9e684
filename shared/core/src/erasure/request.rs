//! The erasure message on the erasure queue:
//! `{"v":1,"request_id","subject":{..},"requested_at","origin"}`.
//!
//! Decoded strictly, like the sync queue's jobs: the version first, then every field, an
//! unknown field being an error with its JSON path. A message that does not decode, or whose
//! subject is not a usable identifier, is recorded and acknowledged by the deletion-worker:
//! redelivering it could never make it readable.

use std::fmt;

use chrono::{DateTime, Utc};
use relay_clients::braze::UserAlias;
use relay_clients::braze::validation::{check_email, check_external_id, check_identifier};
use relay_clients::upstream::{DecodeError, decode_json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The message format version this relay writes and reads.
pub const ERASURE_VERSION: u64 = 1;

/// Longest request id, in bytes: it names S3 keys.
pub const MAX_REQUEST_ID_BYTES: usize = 128;
/// The folder under `erasure/` that holds unreadable messages, so never a request id.
pub const REJECTED_FOLDER: &str = "rejected";
/// Longest origin, in characters.
pub const MAX_ORIGIN_CHARS: usize = 200;

/// One person to erase from Braze and Userflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Names the request's progress and receipt (`erasure/<request_id>/receipt.json`); a
    /// request whose receipt exists is not run again.
    pub request_id: RequestId,
    /// Who is to be erased.
    pub subject: Subject,
    /// When the erasure was asked for (the receipt keeps it: GDPR's one month runs from it).
    pub requested_at: DateTime<Utc>,
    /// Who asked: `relay erase`, `export <job id>`, a ticket reference.
    pub origin: String,
}

/// A request id: 1 to 128 ASCII letters, digits, `-`, `_` or `.`, so that it can name S3
/// keys as it is; never `.`, `..` or `rejected` (the folder of unreadable messages).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

impl RequestId {
    /// Checks `id`.
    pub fn new(id: impl Into<String>) -> Result<RequestId, ErasureDecodeError> {
        let id = id.into();
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        if id.is_empty()
            || id.len() > MAX_REQUEST_ID_BYTES
            || !id.bytes().all(allowed)
            || matches!(id.as_str(), "." | ".." | REJECTED_FOLDER)
        {
            return Err(ErasureDecodeError::BadRequestId);
        }
        Ok(RequestId(id))
    }

    /// A fresh random id (UUID v4), for `relay erase`.
    pub fn random() -> RequestId {
        RequestId(uuid::Uuid::new_v4().to_string())
    }

    /// The same id for the same (`scope`, `key`) every time, revealing neither: an export's
    /// erasure of one user, so a file read twice enqueues the same request, not a second one.
    pub fn derived(scope: &str, key: &str) -> RequestId {
        let digest = Sha256::new()
            .chain_update(scope.as_bytes())
            .chain_update([0])
            .chain_update(key.as_bytes())
            .finalize();
        RequestId(format!("d-{}", hex::encode(&digest[..16])))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestId {
    type Error = ErasureDecodeError;

    fn try_from(id: String) -> Result<RequestId, ErasureDecodeError> {
        RequestId::new(id)
    }
}

impl From<RequestId> for String {
    fn from(id: RequestId) -> String {
        id.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is to be erased, by exactly one identifier: `{"external_id": ".."}`,
/// `{"email": ".."}`, `{"braze_id": ".."}` or `{"user_alias": {"alias_name", "alias_label"}}`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Subject {
    /// The customer's id for the user (Userflow's user id too).
    ExternalId(String),
    /// An email address: every Braze profile and Userflow user holding it.
    Email(String),
    /// One Braze profile.
    BrazeId(String),
    /// A Braze alias.
    UserAlias(UserAlias),
}

/// Never prints the identifier: a subject is personal data.
impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({})", self.digest())
    }
}

/// The kind of identifier a subject is given by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// `external_id`
    ExternalId,
    /// `email`
    Email,
    /// `braze_id`
    BrazeId,
    /// `user_alias`
    UserAlias,
}

/// A subject as the receipt keeps it: its kind and the SHA-256 of its identifier (an email
/// lower-cased; an alias as `label NUL name`). Whoever holds the identifier can show that this
/// receipt is about it; the receipt alone does not reveal it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectDigest {
    /// The kind of identifier.
    pub kind: SubjectKind,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubjectKind::ExternalId => "external_id",
            SubjectKind::Email => "email",
            SubjectKind::BrazeId => "braze_id",
            SubjectKind::UserAlias => "user_alias",
        })
    }
}

impl fmt::Display for SubjectDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sha256:{}", self.kind, self.sha256)
    }
}

impl Subject {
    /// The identifier's kind.
    pub fn kind(&self) -> SubjectKind {
        match self {
            Subject::ExternalId(_) => SubjectKind::ExternalId,
            Subject::Email(_) => SubjectKind::Email,
            Subject::BrazeId(_) => SubjectKind::BrazeId,
            Subject::UserAlias(_) => SubjectKind::UserAlias,
        }
    }

    /// The subject's digest ([`SubjectDigest`]).
    pub fn digest(&self) -> SubjectDigest {
        let mut hasher = Sha256::new();
        match self {
            Subject::ExternalId(id) | Subject::BrazeId(id) => hasher.update(id.as_bytes()),
            Subject::Email(email) => hasher.update(email.to_lowercase().as_bytes()),
            Subject::UserAlias(alias) => {
                hasher.update(alias.alias_label.as_bytes());
                hasher.update([0]);
                hasher.update(alias.alias_name.as_bytes());
            }
        }
        SubjectDigest {
            kind: self.kind(),
            sha256: hex::encode(hasher.finalize()),
        }
    }

    /// Checks the identifier as Braze would: an external id (not empty, no control
    /// character, at most 987 bytes), an email's syntax, a Braze id or alias (not empty, no
    /// control character).
    pub fn check(&self) -> Result<(), ErasureDecodeError> {
        let problem = match self {
            Subject::ExternalId(id) => check_external_id(id).err(),
            Subject::Email(email) => check_email(email).err(),
            Subject::BrazeId(id) => check_identifier(id).err(),
            Subject::UserAlias(alias) => check_identifier(&alias.alias_name)
                .and_then(|()| check_identifier(&alias.alias_label))
                .err(),
        };
        match problem {
            Some(rule) => Err(ErasureDecodeError::BadSubject {
                kind: self.kind(),
                rule: rule.describe().to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// Why a message body is not an erasure request this relay can run. The texts never quote
/// the subject.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErasureDecodeError {
    /// Not a JSON object with `v`.
    #[error("not an erasure request: {0}")]
    NotARequest(String),
    /// Written by another version of the relay.
    #[error(
        "erasure request version {found} is not supported (this relay reads version {ERASURE_VERSION})"
    )]
    UnsupportedVersion {
        /// The message's `v`.
        found: String,
    },
    /// A field is missing, unknown or of the wrong type.
    #[error("erasure request: {0}")]
    Invalid(String),
    /// The request id cannot name a key.
    #[error(
        "request_id must be 1 to {MAX_REQUEST_ID_BYTES} ASCII letters, digits, '-', '_' or '.'"
    )]
    BadRequestId,
    /// The subject is not a usable identifier.
    #[error("subject {kind}: {rule}")]
    BadSubject {
        /// Which identifier.
        kind: SubjectKind,
        /// What is wrong with it.
        rule: String,
    },
    /// The origin is empty or too long.
    #[error("origin must be 1 to {MAX_ORIGIN_CHARS} characters")]
    BadOrigin,
}

impl ErasureRequest {
    /// The message body: `{"v":1,<the request's fields>}`.
    pub fn encode(&self) -> String {
        let mut object = Map::new();
        object.insert("v".into(), ERASURE_VERSION.into());
        if let Ok(Value::Object(fields)) = serde_json::to_value(self) {
            object.extend(fields);
        }
        Value::Object(object).to_string()
    }

    /// Reads a message body written by [`ErasureRequest::encode`], and checks it.
    pub fn decode(body: &str) -> Result<ErasureRequest, ErasureDecodeError> {
        let mut object: Map<String, Value> = serde_json::from_str(body)
            .map_err(|e| ErasureDecodeError::NotARequest(format!("not a JSON object: {e}")))?;
        let version = object
            .remove("v")
            .ok_or_else(|| ErasureDecodeError::NotARequest("missing field `v`".into()))?;
        if version.as_u64() != Some(ERASURE_VERSION) {
            return Err(ErasureDecodeError::UnsupportedVersion {
                found: version.to_string(),
            });
        }
        let rest = Value::Object(object).to_string();
        let wire: WireRequest = decode_json(rest.as_bytes()).map_err(|e| invalid(&e))?;
        let request = ErasureRequest {
            request_id: RequestId::new(wire.request_id)?,
            subject: wire.subject,
            requested_at: wire.requested_at,
            origin: wire.origin,
        };
        request.check()?;
        Ok(request)
    }

    /// Checks what the types do not: the subject and the origin.
    pub fn check(&self) -> Result<(), ErasureDecodeError> {
        self.subject.check()?;
        let origin_chars = self.origin.chars().count();
        if origin_chars == 0
            || origin_chars > MAX_ORIGIN_CHARS
            || self.origin.chars().any(char::is_control)
        {
            return Err(ErasureDecodeError::BadOrigin);
        }
        Ok(())
    }
}

/// The request as the message carries it, before its id is checked (so a bad id is reported
/// as such, not as a type error).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    request_id: String,
    subject: Subject,
    requested_at: DateTime<Utc>,
    origin: String,
}

/// A decode error, said without quoting any value (a subject must not reach a log): serde's
/// own text for a missing field, otherwise the field's path.
fn invalid(error: &DecodeError) -> ErasureDecodeError {
    let what = match (&error.detail, error.category) {
        (Some(detail), _) => detail.clone(),
        (None, "data") => format!(
            "`{}` is not a field of the request, or not of its type",
            error.path
        ),
        (None, category) => format!(
            "{category} error at line {}, column {}",
            error.line, error.column
        ),
    };
    ErasureDecodeError::Invalid(what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn request(subject: Subject) -> ErasureRequest {
        ErasureRequest {
            request_id: RequestId::new("r-1").unwrap(),
            subject,
            requested_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap(),
            origin: "relay erase".into(),
        }
    }

    #[test]
    fn when_a_request_is_encoded_then_it_is_the_documented_message_and_decodes_back() {
        let original = request(Subject::UserAlias(UserAlias::new("lead-7", "crm_lead_id")));
        let body = original.encode();
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "v": 1,
                "request_id": "r-1",
                "subject": {"user_alias": {"alias_name": "lead-7", "alias_label": "crm_lead_id"}},
                "requested_at": "2026-12-01T09:30:00Z",
                "origin": "relay erase",
            })
        );
        assert_eq!(ErasureRequest::decode(&body).unwrap(), original);
    }

    #[test]
    fn when_request_ids_are_checked_then_only_key_safe_ones_pass() {
        let table = [
            ("r-1", true),
            ("5f0c2d1e-9a7b-4c3d-8e2f-0a1b2c3d4e5f", true),
            ("a.b_c", true),
            ("", false),
            (".", false),
            ("..", false),
            ("rejected", false),
            ("a/b", false),
            ("a b", false),
            ("é", false),
        ];
        for (id, ok) in table {
            assert_eq!(RequestId::new(id).is_ok(), ok, "{id:?}");
        }
        assert!(RequestId::new("x".repeat(MAX_REQUEST_ID_BYTES)).is_ok());
        assert!(RequestId::new("x".repeat(MAX_REQUEST_ID_BYTES + 1)).is_err());
    }

    #[test]
    fn when_a_request_id_is_derived_then_it_is_stable_key_safe_and_hides_its_inputs() {
        let one = RequestId::derived("export job-1", "5f1a2b3c4d5e6f7a8b9c0d1e");
        assert_eq!(
            one,
            RequestId::derived("export job-1", "5f1a2b3c4d5e6f7a8b9c0d1e")
        );
        assert_ne!(
            one,
            RequestId::derived("export job-2", "5f1a2b3c4d5e6f7a8b9c0d1e")
        );
        assert_ne!(
            one,
            RequestId::derived("export job-", "15f1a2b3c4d5e6f7a8b9c0d1e")
        );
        assert!(RequestId::new(one.as_str()).is_ok());
        assert!(!one.as_str().contains("5f1a"), "{one}");
    }

    #[test]
    fn when_a_subject_is_digested_then_emails_ignore_case_and_kinds_stay_apart() {
        let lower = Subject::Email("ada@example.com".into()).digest();
        assert_eq!(lower, Subject::Email("Ada@Example.COM".into()).digest());
        assert_eq!(
            lower.sha256,
            hex::encode(Sha256::digest(b"ada@example.com")),
            "the digest is a plain SHA-256 anyone holding the address can recompute"
        );
        let id = Subject::ExternalId("ada@example.com".into()).digest();
        assert_eq!(id.sha256, lower.sha256);
        assert_ne!(id, lower, "the kind is part of the digest");
        assert_eq!(
            Subject::UserAlias(UserAlias::new("n", "l")).digest().sha256,
            hex::encode(Sha256::digest(b"l\0n"))
        );
    }

    #[test]
    fn when_a_subject_is_debug_printed_or_refused_then_the_identifier_does_not_appear() {
        let subject = Subject::Email("jane@example.com".into());
        assert!(!format!("{subject:?}").contains("jane"));
        let error =
            ErasureRequest::decode(&request(Subject::Email("jane.example.com".into())).encode())
                .unwrap_err();
        assert!(matches!(
            error,
            ErasureDecodeError::BadSubject {
                kind: SubjectKind::Email,
                ..
            }
        ));
        assert!(!error.to_string().contains("jane"), "{error}");
        let mistyped = ErasureRequest::decode(
            r#"{"v":1,"request_id":"r","subject":{"email":["jane@example.com"]},"requested_at":"2026-12-01T09:30:00Z","origin":"o"}"#,
        )
        .unwrap_err();
        assert!(!mistyped.to_string().contains("jane"), "{mistyped}");
    }

    #[test]
    fn when_fields_are_missing_or_bad_then_the_error_names_them() {
        let table = [
            ("[]", "not a JSON object"),
            (r#"{"request_id":"r"}"#, "missing field `v`"),
            (r#"{"v":"1"}"#, "version \"1\" is not supported"),
            (
                r#"{"v":1,"request_id":"r","requested_at":"2026-12-01T09:30:00Z","origin":"o"}"#,
                "missing field `subject`",
            ),
            (
                r#"{"v":1,"request_id":"r/1","subject":{"braze_id":"b"},"requested_at":"2026-12-01T09:30:00Z","origin":"o"}"#,
                "request_id must be",
            ),
            (
                r#"{"v":1,"request_id":"r","subject":{"braze_id":"b"},"requested_at":"2026-12-01T09:30:00Z","origin":""}"#,
                "origin must be",
            ),
            (
                r#"{"v":1,"request_id":"r","subject":{"phone":"+1"},"requested_at":"2026-12-01T09:30:00Z","origin":"o"}"#,
                "`subject` is not a field of the request",
            ),
        ];
        for (body, expected) in table {
            let error = ErasureRequest::decode(body).unwrap_err().to_string();
            assert!(error.contains(expected), "{body}: {error}");
        }
    }
}
