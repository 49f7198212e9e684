//! Checks of a request before it is sent, for what the request types cannot rule out: ids
//! Userflow would store with a control character in them (or cannot take at all, when
//! empty), and attribute values it would misread.
//!
//! Every failure is a fixed reason (`&'static str`, turned into
//! [`UserflowError::InvalidRequest`](super::UserflowError::InvalidRequest) by the client)
//! that names the kind of id or value, never the id or value itself.

use serde_json::Value;

use super::models::{
    AttributeValue, Attributes, Event, GroupUpsert, MembershipList, Operation, UserUpsert,
};

/// Whose id [`check_id`] looks at, for its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdOf {
    /// A user id.
    User,
    /// A group id.
    Group,
}

/// An id Userflow can take as it is: not empty, and no control character (Unicode `Cc`: NUL,
/// tab, CR, LF, DEL, C1), which would otherwise become part of the stored id.
pub(crate) fn check_id(id: &str, of: IdOf) -> Result<(), &'static str> {
    match (of, id.is_empty(), id.chars().any(char::is_control)) {
        (IdOf::User, true, _) => Err("user id is empty"),
        (IdOf::Group, true, _) => Err("group id is empty"),
        (IdOf::User, _, true) => Err("user id contains a control character"),
        (IdOf::Group, _, true) => Err("group id contains a control character"),
        _ => Ok(()),
    }
}

impl UserUpsert {
    /// Checks what Userflow would reject or misread, so it is never sent: the user id and
    /// every group id (not empty, no control character), and every attribute value (user,
    /// group and membership attributes).
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        check_id(&self.id, IdOf::User)?;
        check_attributes(self.attributes.as_ref())?;
        let Some(update) = &self.memberships else {
            return Ok(());
        };
        match &update.list {
            MembershipList::Groups(groups) => groups.iter().try_for_each(GroupUpsert::validate),
            MembershipList::Memberships(memberships) => {
                memberships.iter().try_for_each(|membership| {
                    check_attributes(membership.attributes.as_ref())?;
                    membership.group.validate()
                })
            }
        }
    }
}

impl GroupUpsert {
    /// Checks the group id (not empty, no control character) and the attribute values.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        check_id(&self.id, IdOf::Group)?;
        check_attributes(self.attributes.as_ref())
    }
}

impl Event {
    /// Checks the name (not empty), the subject's ids (not empty, no control character) and
    /// the attribute values.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.name.is_empty() {
            return Err("event name is empty");
        }
        let (user_id, group_id) = self.subject.ids();
        if let Some(user_id) = user_id {
            check_id(user_id, IdOf::User)?;
        }
        if let Some(group_id) = group_id {
            check_id(group_id, IdOf::Group)?;
        }
        check_attributes(self.attributes.as_ref())
    }
}

/// Why a value is refused by [`misread`].
pub(crate) const MISREAD_VALUE: &str = "an attribute value is an object, or a list holding lists or objects, which Userflow would misread";

/// Refuses attribute values Userflow would misread (see [`misread`]). Operands of `set`,
/// `set_once`, `append`, `prepend` and `remove` are held to the same rule.
fn check_attributes(attributes: Option<&Attributes>) -> Result<(), &'static str> {
    let misread = attributes
        .into_iter()
        .flat_map(|attributes| attributes.values())
        .filter_map(|value| match value {
            AttributeValue::Plain(plain) => Some(plain),
            AttributeValue::Operation(operation) => operand(&operation.operation),
        })
        .any(misread);
    if misread { Err(MISREAD_VALUE) } else { Ok(()) }
}

/// Whether Userflow would misread `value` as a plain attribute. It takes strings, numbers,
/// booleans, ISO 8601 datetimes and lists; a plain object is read as an operation, and a
/// list holding lists or objects is none of its types.
pub(crate) fn misread(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().any(|item| item.is_array() || item.is_object()),
        _ => false,
    }
}

/// The value an operation carries, unless it is a number (`add`, `subtract`).
fn operand(operation: &Operation) -> Option<&Value> {
    match operation {
        Operation::Set(value)
        | Operation::SetOnce(value)
        | Operation::Append(value)
        | Operation::Prepend(value)
        | Operation::Remove(value) => Some(value),
        Operation::Add(_) | Operation::Subtract(_) => None,
    }
}
