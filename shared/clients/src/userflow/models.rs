//! Userflow request and response shapes.
//!
//! Requests are typed so that invalid combinations cannot be built (groups *and* memberships,
//! an event for nobody, pruning without a list); what the types cannot rule out (ids that are
//! empty or hold a control character, attribute values Userflow would misread) is checked
//! before sending, in `checks`.
//!
//! Responses are decoded only where the relay reads them (a user, a group, a list page), and
//! tolerantly: unknown fields are ignored and missing or `null` optional fields become empty,
//! because Userflow may add fields at any time and a sync must not stop over one. Only what
//! is used is required: the `id` of a user or group, and a list page's `data` and
//! `has_more`.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// Userflow's hosting regions. Each API key belongs to an environment in one region and only
/// works against that region's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// US-hosted environments: `https://api.userflow.com`.
    Us,
    /// EU-hosted environments: `https://api.eu.userflow.com`.
    Eu,
}

impl Region {
    /// The API base URL of the region, without a trailing slash.
    pub const fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.userflow.com",
            Region::Eu => "https://api.eu.userflow.com",
        }
    }
}

/// Attributes of a user, group, membership or event, by name (names are case-sensitive).
/// A `BTreeMap` keeps request bodies deterministic.
pub type Attributes = BTreeMap<String, AttributeValue>;

/// One attribute value in a request: either a plain JSON value or an operation object.
///
/// Plain values are set as they are; `null` removes the attribute. Userflow takes strings,
/// numbers, booleans, ISO 8601 datetimes (as strings) and lists of those; a plain JSON
/// *object* would be read as an operation (use [`AttributeOperation`] to build those), and a
/// list holding lists or objects is none of its types. Requests carrying either are refused
/// before sending ([`UserflowError::InvalidRequest`](crate::userflow::UserflowError)).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A string, number, boolean, ISO 8601 datetime string, list, or `null` (removes it).
    Plain(Value),
    /// `{"set": ..}`, `{"add": ..}`, ... with an optional `data_type`.
    Operation(AttributeOperation),
}

impl AttributeValue {
    /// `null`: removes the attribute from the user or group.
    pub fn remove_attribute() -> AttributeValue {
        AttributeValue::Plain(Value::Null)
    }
}

impl From<Value> for AttributeValue {
    fn from(value: Value) -> Self {
        AttributeValue::Plain(value)
    }
}

impl From<AttributeOperation> for AttributeValue {
    fn from(operation: AttributeOperation) -> Self {
        AttributeValue::Operation(operation)
    }
}

/// Plain JSON conversions for the scalar types attributes usually hold.
macro_rules! plain_attribute_from {
    ($($source:ty),*) => {$(
        impl From<$source> for AttributeValue {
            fn from(value: $source) -> Self {
                AttributeValue::Plain(Value::from(value))
            }
        }
    )*};
}

plain_attribute_from!(&str, String, bool, i32, i64, u64);

/// What an operation object does to the stored attribute value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Overwrites the value.
    Set(Value),
    /// Sets the value only when the attribute has none yet (e.g. `signed_up_at`).
    SetOnce(Value),
    /// Adds to a number.
    Add(Number),
    /// Subtracts from a number.
    Subtract(Number),
    /// Appends to a list.
    Append(Value),
    /// Prepends to a list.
    Prepend(Value),
    /// Removes from a list.
    Remove(Value),
}

/// An operation object, e.g. `{"set_once": "2024-01-01T00:00:00Z", "data_type": "datetime"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeOperation {
    /// The operation and its operand, serialised as the object's single operation key.
    #[serde(flatten)]
    pub operation: Operation,
    /// Tells Userflow how to store the value when it cannot infer it (e.g. datetimes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
}

impl AttributeOperation {
    /// An operation without an explicit data type.
    pub fn new(operation: Operation) -> AttributeOperation {
        AttributeOperation {
            operation,
            data_type: None,
        }
    }

    /// `{"set": value}`.
    pub fn set(value: impl Into<Value>) -> AttributeOperation {
        AttributeOperation::new(Operation::Set(value.into()))
    }

    /// `{"set_once": value}`: keeps an existing value.
    pub fn set_once(value: impl Into<Value>) -> AttributeOperation {
        AttributeOperation::new(Operation::SetOnce(value.into()))
    }

    /// `{"add": n}`.
    pub fn add(amount: impl Into<Number>) -> AttributeOperation {
        AttributeOperation::new(Operation::Add(amount.into()))
    }

    /// `{"subtract": n}`.
    pub fn subtract(amount: impl Into<Number>) -> AttributeOperation {
        AttributeOperation::new(Operation::Subtract(amount.into()))
    }

    /// `{"append": value}`.
    pub fn append(value: impl Into<Value>) -> AttributeOperation {
        AttributeOperation::new(Operation::Append(value.into()))
    }

    /// `{"prepend": value}`.
    pub fn prepend(value: impl Into<Value>) -> AttributeOperation {
        AttributeOperation::new(Operation::Prepend(value.into()))
    }

    /// `{"remove": value}`.
    pub fn remove(value: impl Into<Value>) -> AttributeOperation {
        AttributeOperation::new(Operation::Remove(value.into()))
    }

    /// The same operation with an explicit `data_type`.
    pub fn with_data_type(self, data_type: DataType) -> AttributeOperation {
        AttributeOperation {
            data_type: Some(data_type),
            ..self
        }
    }
}

/// Userflow's attribute data types, for operation objects' `data_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Text.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// ISO 8601 timestamps.
    Datetime,
    /// A list of values.
    List,
}

/// Body of `POST /groups`, and one entry of a user upsert's `groups` list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupUpsert {
    /// The group's id (in the body, never the path).
    pub id: String,
    /// Attributes to merge into the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
}

impl GroupUpsert {
    /// A group reference without attributes.
    pub fn new(id: impl Into<String>) -> GroupUpsert {
        GroupUpsert {
            id: id.into(),
            attributes: None,
        }
    }

    /// Adds one group attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<AttributeValue>) -> Self {
        self.attributes
            .get_or_insert_with(Attributes::new)
            .insert(name.into(), value.into());
        self
    }
}

/// One entry of a user upsert's `memberships` list: the group plus attributes of the
/// membership itself (e.g. the user's role in that group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Membership {
    /// Attributes of the user-in-group relation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    /// The group, created or updated on the way.
    pub group: GroupUpsert,
}

impl Membership {
    /// A membership of `group` without membership attributes.
    pub fn new(group: GroupUpsert) -> Membership {
        Membership {
            attributes: None,
            group,
        }
    }

    /// Adds one membership attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<AttributeValue>) -> Self {
        self.attributes
            .get_or_insert_with(Attributes::new)
            .insert(name.into(), value.into());
        self
    }
}

/// The group links of a user upsert: Userflow takes `groups` or `memberships`, never both,
/// so this is one or the other.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipList {
    /// `"groups": [{"id", "attributes"?}]`.
    Groups(Vec<GroupUpsert>),
    /// `"memberships": [{"attributes"?, "group": {"id", "attributes"?}}]`.
    Memberships(Vec<Membership>),
}

/// The group part of a user upsert. Pruning only exists together with a list, because
/// `prune_memberships: true` removes every membership the list does not name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MembershipUpdate {
    /// The groups the user belongs to (added to the existing ones unless `prune`).
    #[serde(flatten)]
    pub list: MembershipList,
    /// Removes the user from groups missing from `list`. Only safe when `list` is complete.
    #[serde(rename = "prune_memberships", skip_serializing_if = "is_false")]
    pub prune: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Body of `POST /users`: creates the user or merges into it. Attributes left out are
/// untouched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserUpsert {
    /// The user's id: the same id the front end passes to `userflow.identify()`.
    pub id: String,
    /// Attributes to merge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    /// Group links, if any.
    #[serde(flatten)]
    pub memberships: Option<MembershipUpdate>,
}

impl UserUpsert {
    /// An upsert that only makes sure the user exists.
    pub fn new(id: impl Into<String>) -> UserUpsert {
        UserUpsert {
            id: id.into(),
            attributes: None,
            memberships: None,
        }
    }
}

/// Whom an event is about: a user, a group, or a user within a group. At least one id is
/// always present, as Userflow requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSubject {
    /// `user_id` only.
    User(String),
    /// `group_id` only.
    Group(String),
    /// Both `user_id` and `group_id`.
    UserInGroup {
        /// The user.
        user_id: String,
        /// The group the event happened in.
        group_id: String,
    },
}

impl EventSubject {
    /// The `(user_id, group_id)` pair as sent.
    pub fn ids(&self) -> (Option<&str>, Option<&str>) {
        match self {
            EventSubject::User(user) => (Some(user), None),
            EventSubject::Group(group) => (None, Some(group)),
            EventSubject::UserInGroup { user_id, group_id } => (Some(user_id), Some(group_id)),
        }
    }
}

impl Serialize for EventSubject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (user_id, group_id) = self.ids();
        let mut map = serializer.serialize_map(None)?;
        if let Some(user_id) = user_id {
            map.serialize_entry("user_id", user_id)?;
        }
        if let Some(group_id) = group_id {
            map.serialize_entry("group_id", group_id)?;
        }
        map.end()
    }
}

/// Body of `POST /events`. Not idempotent: every accepted request records one more event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Case-sensitive event name (`signed_up` and `Signed_Up` are different events).
    pub name: String,
    /// Whom the event is about.
    #[serde(flatten)]
    pub subject: EventSubject,
    /// Event attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
}

/// A user as Userflow returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    /// The id the relay (and `userflow.identify()`) uses.
    pub id: String,
    /// `"user"`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Attributes as stored.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: Map<String, Value>,
    /// ISO 8601, kept as sent.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Present when expanded.
    #[serde(default)]
    pub groups: Option<Vec<Group>>,
    /// Present with `expand=memberships`.
    #[serde(default)]
    pub memberships: Option<Vec<UserGroupMembership>>,
}

/// A group as Userflow returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Group {
    /// The id the relay uses.
    pub id: String,
    /// `"group"`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Group attributes as stored.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: Map<String, Value>,
    /// ISO 8601, kept as sent.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One of a user's group memberships, as returned with `expand=memberships`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserGroupMembership {
    /// `"group_membership"`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Membership attributes as stored.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: Map<String, Value>,
    /// ISO 8601, kept as sent.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The group, when Userflow embeds it.
    #[serde(default)]
    pub group: Option<Group>,
    /// The group's id.
    #[serde(default)]
    pub group_id: Option<String>,
    /// The user's id.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// One page of a cursor-paginated list.
///
/// `data` and `has_more` are required: without them the relay cannot tell the last page from
/// an answer it does not understand, and guessing "no more" would end a listing early.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct List<T> {
    /// `"list"`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// The page's items.
    pub data: Vec<T>,
    /// More items follow this page.
    pub has_more: bool,
    /// This page's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// The next page's URL, when Userflow provides it.
    #[serde(default)]
    pub next_page_url: Option<String>,
}

/// Reads `null` like a missing field, so `"attributes": null` decodes as empty.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}
