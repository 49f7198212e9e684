//! Field mapping: JSON pointers (RFC 6901) from a payload record to the [`Contact`] fields.
//!
//! CONTRACT:
//! - `FieldMapping::apply(&self, record: &Value) -> Result<Contact, Vec<ValidationError>>`
//!   reads each pointer ([`Value::pointer`]) and coerces what it finds:
//!   - `external_id`: a string (trimmed) or an integer; missing, null or empty is
//!     `Rule::Required` (message `external_id is required: nothing at <pointer>`), any other
//!     type `Rule::WrongType`.
//!   - text fields: strings; `phone` and `company_id` also take integers; other types are
//!     `Rule::WrongType`. Missing or null leaves the field unset.
//!   - `signed_up_at`: RFC 3339, `YYYY-MM-DD` (midnight UTC), `YYYY-MM-DD HH:MM:SS` (UTC) or
//!     epoch milliseconds as an integer or a string of digits (HubSpot); otherwise
//!     `Rule::Date`.
//!   - `custom`: any JSON value, kept as it is; missing or null leaves the attribute out.
//!   - the company exists when any of `company_id`, `company_name`, `company_plan` resolves
//!     to a non-empty value; without an id it is not a Userflow group (see
//!     [`Company`](crate::contact::Company)).
//!
//!   It then calls [`Contact::normalised`] and [`Contact::validate`] and returns every error
//!   (coercion and validation) at once. Paths are the contact's (`email`, `company.id`,
//!   `custom.plan`); messages read `<field> (from <pointer>) <what is wrong>` and never quote
//!   a value.
//! - `FieldMapping::property_names(&self) -> Vec<String>`: the first reference token of each
//!   pointer, unescaped, deduplicated and sorted (the properties to ask HubSpot for).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contact::{Company, Contact};
use relay_clients::braze::validation::{Rule, ValidationError};

/// A JSON pointer (RFC 6901): `""` (the whole record) or `/a/b/0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pointer(String);

impl Pointer {
    /// Parses a pointer: empty, or starting with `/`.
    pub fn parse(raw: impl Into<String>) -> Result<Pointer, String> {
        let raw = raw.into();
        if raw.is_empty() || raw.starts_with('/') {
            Ok(Pointer(raw))
        } else {
            Err(format!(
                "JSON pointer `{raw}` must be empty or start with `/`"
            ))
        }
    }

    /// The pointer's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Pointer {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Pointer::parse(raw)
    }
}

impl From<Pointer> for String {
    fn from(pointer: Pointer) -> String {
        pointer.0
    }
}

/// Where each [`Contact`] field comes from in a record. Only `external_id` is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// The CRM field that holds the product's user id.
    pub external_id: Pointer,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Pointer>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Pointer>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<Pointer>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Pointer>,
    /// Country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Pointer>,
    /// Language code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Pointer>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<Pointer>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<Pointer>,
    /// Company id (the Userflow group id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Pointer>,
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<Pointer>,
    /// Company plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_plan: Option<Pointer>,
    /// Signup time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_up_at: Option<Pointer>,
    /// Custom attributes: attribute name -> pointer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, Pointer>,
}

impl FieldMapping {
    /// Builds the contact `record` describes: reads and coerces every mapped field, then
    /// normalises and validates the contact. Returns every problem at once; `Ok` only when
    /// there is none. See the module documentation for the coercions.
    pub fn apply(&self, record: &Value) -> Result<Contact, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let external_id = match read_external_id(record, &self.external_id) {
            Ok(id) => id,
            Err(error) => {
                errors.push(error);
                String::new()
            }
        };
        let mut contact = Contact::new(external_id);
        let mut read = |field: &'static str, pointer: &Option<Pointer>, numbers: bool| {
            read_text(record, field, pointer.as_ref(), numbers, &mut errors)
        };
        contact.email = read("email", &self.email, false);
        contact.first_name = read("first_name", &self.first_name, false);
        contact.last_name = read("last_name", &self.last_name, false);
        contact.phone = read("phone", &self.phone, true);
        contact.country = read("country", &self.country, false);
        contact.language = read("language", &self.language, false);
        contact.time_zone = read("time_zone", &self.time_zone, false);
        contact.dob = read("dob", &self.dob, false);
        let company_id = read("company.id", &self.company_id, true);
        let company_name = read("company.name", &self.company_name, false);
        let company_plan = read("company.plan", &self.company_plan, false);
        contact.company = company(company_id, company_name, company_plan);
        if let Some(pointer) = &self.signed_up_at {
            match record.pointer(pointer.as_str()).map(read_time) {
                None | Some(Ok(None)) => {}
                Some(Ok(Some(at))) => contact.signed_up_at = Some(at),
                Some(Err(Rule::WrongType)) => errors.push(wrong_type(
                    "signed_up_at",
                    pointer,
                    "a date string or epoch milliseconds",
                )),
                Some(Err(rule)) => errors.push(error(
                    "signed_up_at",
                    pointer,
                    rule,
                    "is not a date: expected RFC 3339, YYYY-MM-DD, YYYY-MM-DD HH:MM:SS (UTC) \
                     or epoch milliseconds",
                )),
            }
        }
        contact.custom = self
            .custom
            .iter()
            .filter_map(|(key, pointer)| match record.pointer(pointer.as_str()) {
                None | Some(Value::Null) => None,
                Some(value) => Some((key.clone(), value.clone())),
            })
            .collect::<Map<String, Value>>();

        let contact = contact.normalised();
        let coerced: Vec<String> = errors.iter().map(|e| e.path.clone()).collect();
        errors.extend(
            contact
                .validate()
                .into_iter()
                // A field that could not be read is reported once, by the coercion.
                .filter(|e| !coerced.contains(&e.path))
                .map(|e| self.with_pointer(e)),
        );
        if errors.is_empty() {
            Ok(contact)
        } else {
            Err(errors)
        }
    }

    /// The record's top-level names the mapping reads: the first reference token of every
    /// pointer (`~1` and `~0` unescaped), deduplicated and sorted. The whole-record pointer
    /// `""` names none.
    pub fn property_names(&self) -> Vec<String> {
        let names: std::collections::BTreeSet<String> = self
            .pointers()
            .filter_map(|pointer| {
                let token = pointer.as_str().strip_prefix('/')?.split('/').next()?;
                (!token.is_empty()).then(|| token.replace("~1", "/").replace("~0", "~"))
            })
            .collect();
        names.into_iter().collect()
    }

    /// Every pointer the mapping holds.
    fn pointers(&self) -> impl Iterator<Item = &Pointer> {
        [
            Some(&self.external_id),
            self.email.as_ref(),
            self.first_name.as_ref(),
            self.last_name.as_ref(),
            self.phone.as_ref(),
            self.country.as_ref(),
            self.language.as_ref(),
            self.time_zone.as_ref(),
            self.dob.as_ref(),
            self.company_id.as_ref(),
            self.company_name.as_ref(),
            self.company_plan.as_ref(),
            self.signed_up_at.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(self.custom.values())
    }

    /// The pointer a contact path (`email`, `company.id`, `custom.plan`) was read from.
    fn pointer_for(&self, path: &str) -> Option<&Pointer> {
        match path {
            "external_id" => Some(&self.external_id),
            "email" => self.email.as_ref(),
            "first_name" => self.first_name.as_ref(),
            "last_name" => self.last_name.as_ref(),
            "phone" => self.phone.as_ref(),
            "country" => self.country.as_ref(),
            "language" => self.language.as_ref(),
            "time_zone" => self.time_zone.as_ref(),
            "dob" => self.dob.as_ref(),
            "company.id" => self.company_id.as_ref(),
            "company.name" => self.company_name.as_ref(),
            "company.plan" => self.company_plan.as_ref(),
            "signed_up_at" => self.signed_up_at.as_ref(),
            _ => self.custom.get(path.strip_prefix("custom.")?),
        }
    }

    /// `email is not ...` becomes `email (from /properties/email) is not ...`.
    fn with_pointer(&self, mut error: ValidationError) -> ValidationError {
        if let Some(pointer) = self.pointer_for(&error.path)
            && let Some(rest) = error.message.strip_prefix(error.path.as_str())
        {
            error.message = format!("{} (from {}){rest}", error.path, shown(pointer));
        }
        error
    }
}

/// The company, when the record says anything about it.
fn company(id: Option<String>, name: Option<String>, plan: Option<String>) -> Option<Company> {
    let present = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
    let (id, name, plan) = (present(id), present(name), present(plan));
    if id.is_none() && name.is_none() && plan.is_none() {
        return None;
    }
    Some(Company { id, name, plan })
}

/// A pointer for messages: the empty pointer (the whole record) shows as `""`.
fn shown(pointer: &Pointer) -> &str {
    match pointer.as_str() {
        "" => "\"\"",
        text => text,
    }
}

fn error(field: &str, pointer: &Pointer, rule: Rule, what: &str) -> ValidationError {
    ValidationError {
        path: field.to_owned(),
        rule,
        message: format!("{field} (from {}) {what}", shown(pointer)),
    }
}

fn wrong_type(field: &str, pointer: &Pointer, expected: &str) -> ValidationError {
    error(
        field,
        pointer,
        Rule::WrongType,
        &format!("has the wrong type: expected {expected}"),
    )
}

fn integer_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn read_external_id(record: &Value, pointer: &Pointer) -> Result<String, ValidationError> {
    let id = match record.pointer(pointer.as_str()) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.trim().to_owned()),
        Some(value) => Some(
            integer_text(value)
                .ok_or_else(|| wrong_type("external_id", pointer, "a string or an integer"))?,
        ),
    };
    match id {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(ValidationError {
            path: "external_id".into(),
            rule: Rule::Required,
            message: format!("external_id is required: nothing at {}", shown(pointer)),
        }),
    }
}

/// A text field: a string, or (`numbers`) an integer. Missing and null are unset.
fn read_text(
    record: &Value,
    field: &'static str,
    pointer: Option<&Pointer>,
    numbers: bool,
    errors: &mut Vec<ValidationError>,
) -> Option<String> {
    let pointer = pointer?;
    match record.pointer(pointer.as_str())? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        value => {
            let coerced = numbers.then(|| integer_text(value)).flatten();
            if coerced.is_none() {
                let expected = if numbers {
                    "a string or an integer"
                } else {
                    "a string"
                };
                errors.push(wrong_type(field, pointer, expected));
            }
            coerced
        }
    }
}

/// A signup time: `Ok(None)` for null or an empty string, `Err(Rule::Date)` for what cannot
/// be read as a time, `Err(Rule::WrongType)` for booleans, arrays and objects.
fn read_time(value: &Value) -> Result<Option<DateTime<Utc>>, Rule> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.trim().is_empty() => Ok(None),
        Value::String(text) => parse_time(text.trim()).map(Some).ok_or(Rule::Date),
        Value::Number(n) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or(Rule::Date),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => Err(Rule::WrongType),
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.to_utc());
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(at.and_utc());
    }
    if text.len() == 10
        && let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
    {
        return date.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().and_then(DateTime::from_timestamp_millis);
    }
    None
}

#[cfg(test)]
mod tests;
