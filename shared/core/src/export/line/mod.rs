//! One exported Braze user line (a JSON Lines record of a segment export) turned into a
//! Userflow `POST /users` upsert, decoding only what the mapping needs.
//!
//! - [`mapping`]: [`ExportMapping`], the configurable attribute mapping
//!   (`EXPORT_USERFLOW_MAPPING`, `EXPORT_CUSTOM_ATTRIBUTES`) and what an export must request.
//! - [`braze_id`]: [`BrazeId`], the de-duplication key (Braze's hex ids packed), and
//!   [`SeenIds`].
//! - [`decode`]: the lean one-pass decoder (wanted fields kept, the rest skipped unallocated).
//! - [`created_at`]: Braze's `created_at` forms to ISO 8601 UTC.
//! - [`error`]: [`LineError`], why a line is rejected, with stable reason codes.
//!
//! What a line becomes: a user without `external_id` (missing or `null`) is
//! [`MappedLine::NoExternalId`] (skipped and counted: Userflow's id must be the one the front
//! end passes to `identify()`); otherwise an upsert holding only the attributes present in
//! the line. Missing and `null` values are left out, never sent as `null` (Userflow would
//! clear the attribute). Values Userflow cannot store (an object, a list holding objects or
//! lists) are left out and named in `dropped`.
//!
//! Cost per 1.3 KB exported user (release build, one core): about two and a half times what
//! merely scanning the line's JSON costs; `make bench` measures it against that scan, inflate
//! alone and a naive `serde_json::Value` reader.

pub mod braze_id;
pub mod created_at;
pub mod decode;
pub mod error;
pub mod mapping;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use relay_clients::braze::validation::check_external_id;
use relay_clients::userflow::{AttributeValue, Attributes, UserUpsert};
use serde_json::Value;

pub use braze_id::{BrazeId, SeenIds};
pub use error::{ExternalIdProblem, LineError};
pub use mapping::{
    CUSTOM_ATTRIBUTES_VARIABLE, ExportField, ExportMapping, MAPPING_VARIABLE, MappingError, Source,
};

use decode::{LeanUser, Scalar};

/// Longest `created_at` quoted in an error, in characters.
const QUOTED_CREATED_AT_CHARS: usize = 64;

/// What one exported line becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum MappedLine {
    /// A user with an `external_id`: the upsert to send.
    Upsert {
        /// Braze's id, for de-duplication within a file (`None` when the line has none).
        braze_id: Option<BrazeId>,
        /// `POST /users` with the mapped attributes present in the line.
        upsert: UserUpsert,
        /// Attributes left out because Userflow cannot store their value (an object, or a
        /// list holding objects or lists), by Userflow name, for the caller to count.
        dropped: Vec<String>,
    },
    /// A user without `external_id`: not sent (Userflow's id must be the one the front end
    /// passes to `identify()`), counted by the caller.
    NoExternalId {
        /// Braze's id, for de-duplication within a file.
        braze_id: Option<BrazeId>,
    },
}

impl MappedLine {
    /// Braze's id of the line's user, whatever the line became.
    pub fn braze_id(&self) -> Option<&BrazeId> {
        match self {
            MappedLine::Upsert { braze_id, .. } | MappedLine::NoExternalId { braze_id } => {
                braze_id.as_ref()
            }
        }
    }
}

impl ExportMapping {
    /// Decodes one exported user line (only the fields this mapping needs) and maps it to a
    /// Userflow upsert. See the module documentation for what is omitted, dropped and
    /// rejected.
    pub fn map_line(&self, line: &[u8]) -> Result<MappedLine, LineError> {
        let user = decode::decode(line, &self.needs)?;
        let braze_id = match &user.braze_id {
            Scalar::Text(text) if !text.is_empty() => Some(BrazeId::new(text)),
            Scalar::Number(number) => Some(BrazeId::Text(number.to_string())),
            _ => None,
        };
        let id = match &user.external_id {
            Scalar::Null => return Ok(MappedLine::NoExternalId { braze_id }),
            Scalar::Text(text) => text.clone().into_owned(),
            Scalar::Number(number) => number.to_string(),
            other => {
                return Err(LineError::BadExternalId {
                    problem: ExternalIdProblem::WrongType(other.shape()),
                });
            }
        };
        check_external_id(&id).map_err(|rule| LineError::BadExternalId {
            problem: ExternalIdProblem::Rule(rule),
        })?;
        let (attributes, dropped) = self.attributes_of(user)?;
        let mut upsert = UserUpsert::new(id);
        if !attributes.is_empty() {
            upsert.attributes = Some(attributes);
        }
        Ok(MappedLine::Upsert {
            braze_id,
            upsert,
            dropped,
        })
    }

    /// The attributes present in `user`, and the names of those whose value Userflow cannot
    /// store.
    fn attributes_of(
        &self,
        mut user: LeanUser<'_>,
    ) -> Result<(Attributes, Vec<String>), LineError> {
        let fields = &user.fields;
        let field = |field: ExportField| &fields[field.index()];
        if let scalar @ (Scalar::Number(_) | Scalar::Bool(_) | Scalar::Compound(_)) =
            field(ExportField::Email)
        {
            return Err(LineError::BadEmail {
                shape: scalar.shape(),
            });
        }
        let mut created_at = created_at_of(field(ExportField::CreatedAt))?;
        let mut attributes = Attributes::new();
        let mut dropped = Vec::new();
        for (name, source) in self.attributes() {
            let value = match source {
                Source::Name => {
                    full_name(field(ExportField::FirstName), field(ExportField::LastName))
                        .map(Value::String)
                }
                Source::Field(ExportField::CreatedAt) => {
                    claim(&mut created_at, self.needs.repeated_sources).map(Value::String)
                }
                Source::Field(other) => match field(*other) {
                    Scalar::Compound(_) => {
                        dropped.push(name.to_owned());
                        None
                    }
                    scalar => text_of(scalar).map(Value::String),
                },
                Source::Custom(custom) => {
                    let value = self
                        .needs
                        .custom
                        .binary_search(custom)
                        .ok()
                        .and_then(|index| {
                            claim(&mut user.custom[index], self.needs.repeated_sources)
                        });
                    match value {
                        Some(value) if storable(&value) => Some(value),
                        Some(_) => {
                            dropped.push(name.to_owned());
                            None
                        }
                        None => None,
                    }
                }
            };
            if let Some(value) = value {
                attributes.insert(name.to_owned(), AttributeValue::Plain(value));
            }
        }
        Ok((attributes, dropped))
    }
}

/// A decoded value for one attribute: moved out when no other attribute reads the same
/// source (the usual mapping), cloned when one may.
fn claim<T: Clone>(slot: &mut Option<T>, repeated_sources: bool) -> Option<T> {
    if repeated_sources {
        slot.clone()
    } else {
        slot.take()
    }
}

/// A standard field as text: strings as they are (blank ones are not exported), numbers
/// and booleans written out; `None` for missing, `null` and compound values.
fn text_of(scalar: &Scalar<'_>) -> Option<String> {
    text_in(scalar).map(Cow::into_owned)
}

/// [`text_of`], borrowing a string from the line rather than copying it.
fn text_in<'s>(scalar: &'s Scalar<'_>) -> Option<Cow<'s, str>> {
    match scalar {
        Scalar::Text(text) if text.trim().is_empty() => None,
        Scalar::Text(text) => Some(Cow::Borrowed(text)),
        Scalar::Number(number) => Some(Cow::Owned(number.to_string())),
        Scalar::Bool(flag) => Some(Cow::Owned(flag.to_string())),
        Scalar::Null | Scalar::Compound(_) => None,
    }
}

/// `first last`, either alone when the other is missing, `None` when both are: one
/// allocation, the size of the result.
fn full_name(first: &Scalar<'_>, last: &Scalar<'_>) -> Option<String> {
    match (text_in(first), text_in(last)) {
        (Some(first), Some(last)) => {
            let mut name = String::with_capacity(first.len() + 1 + last.len());
            name.push_str(&first);
            name.push(' ');
            name.push_str(&last);
            Some(name)
        }
        (one, None) | (None, one) => one.map(Cow::into_owned),
    }
}

/// `created_at` as ISO 8601 UTC; missing, `null` or blank is `None`; anything else that is
/// not one of the accepted forms is a [`LineError::BadCreatedAt`].
fn created_at_of(scalar: &Scalar<'_>) -> Result<Option<String>, LineError> {
    match scalar {
        Scalar::Null => Ok(None),
        Scalar::Text(text) if text.trim().is_empty() => Ok(None),
        Scalar::Text(text) => {
            created_at::created_at_iso(text)
                .map(Some)
                .ok_or_else(|| LineError::BadCreatedAt {
                    found: format!(
                        "`{}`",
                        text.chars()
                            .take(QUOTED_CREATED_AT_CHARS)
                            .collect::<String>()
                    ),
                })
        }
        other => Err(LineError::BadCreatedAt {
            found: other.shape().to_owned(),
        }),
    }
}

/// Whether Userflow can store `value` as a plain attribute: not an object (it would be read
/// as an operation) and not a list holding objects or lists.
fn storable(value: &Value) -> bool {
    match value {
        Value::Object(_) => false,
        Value::Array(items) => !items.iter().any(|item| item.is_object() || item.is_array()),
        _ => true,
    }
}
