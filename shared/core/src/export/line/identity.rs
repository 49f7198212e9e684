//! The identifiers of an exported user, for an export whose action is `erase`: what its
//! erasure request names it by.
//!
//! Read with a full parse of the line (erasures are bounded by Braze's 250 lookups a minute,
//! not by reading), and as tolerantly as the upsert decoder: a number is taken as its text,
//! `null` as absent.

use relay_clients::braze::validation::{check_external_id, check_identifier};
use sonic_rs::{JsonContainerTrait, JsonType, JsonValueTrait, Value};

use super::error::{ExternalIdProblem, LineError};

/// An exported user's identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIdentity {
    /// Braze's id (the export is asked for it).
    pub braze_id: Option<String>,
    /// The external id, checked as Braze checks one.
    pub external_id: Option<String>,
}

/// The identifiers of the user on `line`.
pub fn identity_of(line: &[u8]) -> Result<LineIdentity, LineError> {
    let value: Value = sonic_rs::from_slice(line).map_err(|source| LineError::InvalidJson {
        column: source.column(),
        source,
    })?;
    let Some(object) = value.as_object() else {
        return Err(LineError::NotAnObject {
            shape: shape(value.get_type()),
        });
    };
    let text = |name: &str| -> Result<Option<String>, &'static str> {
        match object.get(&name) {
            None => Ok(None),
            Some(value) => match value.get_type() {
                JsonType::Null => Ok(None),
                JsonType::String => Ok(value.as_str().map(str::to_owned)),
                JsonType::Number => Ok(Some(value.to_string())),
                other => Err(shape(other)),
            },
        }
    };
    let external_id = text("external_id").map_err(|shape| LineError::BadExternalId {
        problem: ExternalIdProblem::WrongType(shape),
    })?;
    if let Some(id) = &external_id {
        check_external_id(id).map_err(|rule| LineError::BadExternalId {
            problem: ExternalIdProblem::Rule(rule),
        })?;
    }
    // A Braze id of another type, or one no request could carry, names nothing: the user is
    // then named by its external id.
    let braze_id = text("braze_id")
        .ok()
        .flatten()
        .filter(|id| check_identifier(id).is_ok());
    Ok(LineIdentity {
        braze_id,
        external_id,
    })
}

fn shape(kind: JsonType) -> &'static str {
    match kind {
        JsonType::Null => "null",
        JsonType::Boolean => "a boolean",
        JsonType::Number => "a number",
        JsonType::String => "a string",
        JsonType::Array => "an array",
        JsonType::Object => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_lines_carry_identifiers_in_braze_forms_then_they_are_read_tolerantly() {
        let table: [(&str, Option<&str>, Option<&str>); 5] = [
            (
                r#"{"braze_id":"5f1a2b3c4d5e6f7a8b9c0d1e","external_id":"u-1","apps":[]}"#,
                Some("5f1a2b3c4d5e6f7a8b9c0d1e"),
                Some("u-1"),
            ),
            (r#"{"external_id":12345}"#, None, Some("12345")),
            (r#"{"braze_id":"b","external_id":null}"#, Some("b"), None),
            (r#"{"braze_id":{"x":1},"external_id":"u"}"#, None, Some("u")),
            (r#"{"email":"a@example.com"}"#, None, None),
        ];
        for (line, braze_id, external_id) in table {
            let identity = identity_of(line.as_bytes()).unwrap();
            assert_eq!(identity.braze_id.as_deref(), braze_id, "{line}");
            assert_eq!(identity.external_id.as_deref(), external_id, "{line}");
        }
    }

    #[test]
    fn when_a_line_is_not_a_user_then_the_reason_says_why() {
        let table = [
            (r#"{"external_id":"u"#, "invalid_json"),
            ("[1,2]", "not_an_object"),
            (r#"{"external_id":{"id":1}}"#, "bad_external_id"),
            (r#"{"external_id":""}"#, "bad_external_id"),
        ];
        for (line, reason) in table {
            let error = identity_of(line.as_bytes()).unwrap_err();
            assert_eq!(error.reason(), reason, "{line}: {error}");
        }
    }
}
