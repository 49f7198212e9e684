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
//! - [`identity`]: a line's Braze id and external id, for an export whose action is `erase`.
//!
//! What a line becomes: a user without `external_id` (missing or `null`) is
//! [`MappedLine::NoExternalId`] (skipped and counted: Userflow's id must be the one the front
//! end passes to `identify()`); otherwise an upsert holding only the attributes present in
//! the line. Missing and `null` values are left out, never sent as `null` (Userflow would
//! clear the attribute). Values Userflow cannot store (an object, a list holding objects or
//! lists) are left out and named in `dropped`.
//!
//! What a line is written into: the `POST /users` body itself ([`UserUpsertBodyWriter`]),
//! straight from the borrowed line, so no map of attributes is built per user.
//!
//! Cost per 1.3 KB exported user (release build, one core): about 3.3 µs, two to three times
//! what merely scanning the line's JSON costs; `make bench` measures it against that scan,
//! inflate alone and a naive `serde_json::Value` reader.

pub mod braze_id;
pub mod created_at;
pub mod decode;
pub mod error;
pub mod identity;
pub mod mapping;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use relay_clients::braze::validation::check_external_id;
use relay_clients::userflow::{UserUpsertBody, UserUpsertBodyWriter};
use serde_json::Number;

pub use braze_id::{BrazeId, SeenIds};
pub use error::{ExternalIdProblem, LineError};
pub use identity::{LineIdentity, identity_of};
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
        /// The `POST /users` body: the id and the mapped attributes present in the line,
        /// written once, straight from the line.
        body: UserUpsertBody,
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
    /// Userflow upsert body. See the module documentation for what is omitted, dropped and
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
            Scalar::Text(text) => Cow::Borrowed(text.as_ref()),
            Scalar::Number(number) => Cow::Owned(number.to_string()),
            other => {
                return Err(LineError::BadExternalId {
                    problem: ExternalIdProblem::WrongType(other.shape()),
                });
            }
        };
        check_external_id(&id).map_err(|rule| LineError::BadExternalId {
            problem: ExternalIdProblem::Rule(rule),
        })?;
        // Braze's id rules include Userflow's (not empty, no control character), so the
        // writer accepts every id that got here.
        let mut body = UserUpsertBodyWriter::new(&id)
            .map_err(|source| LineError::UserflowRefused { source })?;
        let dropped = self.write_attributes(&user, &mut body)?;
        Ok(MappedLine::Upsert {
            braze_id,
            body: body.finish(),
            dropped,
        })
    }

    /// Writes the attributes present in `user`, in name order; returns the names of those
    /// whose value Userflow cannot store.
    fn write_attributes<'m>(
        &'m self,
        user: &LeanUser<'_>,
        body: &mut UserUpsertBodyWriter<'m>,
    ) -> Result<Vec<String>, LineError> {
        let field = |field: ExportField| &user.fields[field.index()];
        if let scalar @ (Scalar::Number(_) | Scalar::Bool(_) | Scalar::Compound(_)) =
            field(ExportField::Email)
        {
            return Err(LineError::BadEmail {
                shape: scalar.shape(),
            });
        }
        let created_at = created_at_of(field(ExportField::CreatedAt))?;
        let mut dropped = Vec::new();
        for (name, source) in self.attributes() {
            match source {
                Source::Name => {
                    if let Some(full) =
                        FullName::of(field(ExportField::FirstName), field(ExportField::LastName))
                    {
                        body.text(name, full);
                    }
                }
                Source::Field(ExportField::CreatedAt) => {
                    if let Some(created_at) = &created_at {
                        body.text(name, created_at);
                    }
                }
                Source::Field(other) => match field(*other) {
                    Scalar::Compound(_) => dropped.push(name.to_owned()),
                    scalar => {
                        if let Some(text) = Text::of(scalar) {
                            body.text(name, text);
                        }
                    }
                },
                Source::Custom(custom) => {
                    let value = self
                        .needs
                        .custom
                        .binary_search(custom)
                        .ok()
                        .and_then(|index| user.custom[index].as_ref());
                    // Refused values are not written: counted as dropped.
                    if let Some(value) = value
                        && body.value(name, value).is_err()
                    {
                        dropped.push(name.to_owned());
                    }
                }
            }
        }
        Ok(dropped)
    }
}

/// A standard field written as text, borrowed from the decoded line: strings as they are,
/// numbers and booleans written out.
#[derive(Clone, Copy)]
enum Text<'s> {
    Str(&'s str),
    Number(&'s Number),
    Bool(bool),
}

impl<'s> Text<'s> {
    /// The field as text; `None` for missing, `null`, blank (not exported) and compound
    /// values.
    fn of(scalar: &'s Scalar<'_>) -> Option<Text<'s>> {
        match scalar {
            Scalar::Text(text) if text.trim().is_empty() => None,
            Scalar::Text(text) => Some(Text::Str(text)),
            Scalar::Number(number) => Some(Text::Number(number)),
            Scalar::Bool(flag) => Some(Text::Bool(*flag)),
            Scalar::Null | Scalar::Compound(_) => None,
        }
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Text::Str(text) => f.write_str(text),
            Text::Number(number) => fmt::Display::fmt(number, f),
            Text::Bool(flag) => fmt::Display::fmt(flag, f),
        }
    }
}

/// `first last`, either alone when the other is missing: written into the body without
/// being built first.
struct FullName<'s> {
    first: Option<Text<'s>>,
    last: Option<Text<'s>>,
}

impl<'s> FullName<'s> {
    /// The name of `first` and `last`; `None` when both are missing.
    fn of(first: &'s Scalar<'_>, last: &'s Scalar<'_>) -> Option<FullName<'s>> {
        let name = FullName {
            first: Text::of(first),
            last: Text::of(last),
        };
        (name.first.is_some() || name.last.is_some()).then_some(name)
    }
}

impl fmt::Display for FullName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.first, self.last) {
            (Some(first), Some(last)) => write!(f, "{first} {last}"),
            (Some(one), None) | (None, Some(one)) => one.fmt(f),
            (None, None) => Ok(()),
        }
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
