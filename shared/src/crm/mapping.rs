//! Field mapping: JSON pointers (RFC 6901) from a payload record to the [`Contact`] fields.
//!
//! CONTRACT (filled in by the payload/mapping work):
//! - `FieldMapping::apply(&self, record: &Value) -> Result<Contact, Vec<ValidationError>>`
//!   reads each pointer, coerces the value (ids: string or integer; text: string, numbers
//!   are refused for names/email; `signed_up_at`: RFC 3339 string, or epoch milliseconds as a
//!   number or a numeric string, HubSpot style; custom: any JSON value, kept as it is), builds
//!   the contact, calls [`Contact::normalised`] then [`Contact::validate`]. A pointer that
//!   finds nothing leaves the field unset, except `external_id`, which is required
//!   (`Rule::Required`, path `external_id`, message naming the pointer). Error messages
//!   name the contact field and the pointer, never the value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[allow(unused_imports)]
use crate::contact::Contact;

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
            Err(format!("JSON pointer `{raw}` must be empty or start with `/`"))
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
