//! SCIM request and response bodies: dashboard users, their names and permissions. Decoding
//! reads `null` like a missing field and accepts ids spelt `...ID` or `...Id`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The SCIM core user schema, sent in `schemas` of every create and replace.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The schema of list answers.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The schema of error answers.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Reads `null` like a missing field.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

fn is_empty<T>(items: &[T]) -> bool {
    items.is_empty()
}

/// A dashboard user's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimName {
    /// Given (first) name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub given_name: String,
    /// Family (last) name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub family_name: String,
}

impl ScimName {
    /// A name from its two parts.
    pub fn new(given_name: impl Into<String>, family_name: impl Into<String>) -> ScimName {
        ScimName {
            given_name: given_name.into(),
            family_name: family_name.into(),
        }
    }
}

/// A dashboard user's permissions: company-wide, by role, and per workspace (app group).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    /// E.g. `manage_company_settings`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub company_permissions: Vec<String>,
    /// Roles granted, by name or id.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_empty"
    )]
    pub roles: Vec<RoleRef>,
    /// Per-workspace permissions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub app_group: Vec<AppGroupPermissions>,
}

/// A role, by name or id (Braze answers with both).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// The role's name, as shown in the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// The role's id (Braze also spells it `roleID`).
    #[serde(default, alias = "roleID", skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
}

impl RoleRef {
    /// A role named `name`.
    pub fn by_name(name: impl Into<String>) -> RoleRef {
        RoleRef {
            role_name: Some(name.into()),
            role_id: None,
        }
    }

    /// The role with id `id`.
    pub fn by_id(id: impl Into<String>) -> RoleRef {
        RoleRef {
            role_name: None,
            role_id: Some(id.into()),
        }
    }
}

/// Permissions in one workspace (Braze's "app group"), by workspace name or id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppGroupPermissions {
    /// The workspace's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_group_name: Option<String>,
    /// The workspace's id (Braze also spells it `appGroupID`).
    #[serde(default, alias = "appGroupID", skip_serializing_if = "Option::is_none")]
    pub app_group_id: Option<String>,
    /// E.g. `basic_access`, `send_campaigns_canvases`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub app_group_permissions: Vec<String>,
    /// Permission sets granted in this workspace.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_empty"
    )]
    pub app_group_permission_sets: Vec<PermissionSetRef>,
    /// Team-level permissions (teams themselves cannot be provisioned over SCIM).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_empty"
    )]
    pub team: Vec<TeamPermissions>,
}

/// A permission set, by name or id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSetRef {
    /// The permission set's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_group_permission_set_name: Option<String>,
    /// The permission set's id (sent as `appGroupPermissionSetID`; `...Id` accepted).
    #[serde(
        default,
        rename = "appGroupPermissionSetID",
        alias = "appGroupPermissionSetId",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_group_permission_set_id: Option<String>,
}

/// Permissions within one team of a workspace, by team name or id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamPermissions {
    /// The team's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    /// The team's id (Braze also spells it `teamID`).
    #[serde(default, alias = "teamID", skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Permissions within the team.
    #[serde(default, deserialize_with = "null_as_default")]
    pub team_permissions: Vec<String>,
}

/// A dashboard user as Braze returns it. Dates are opaque strings: Braze's format is not
/// ISO 8601 and not documented.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    /// SCIM schemas of the resource (the core user schema).
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// Braze's id for the dashboard user (used in `/scim/v2/Users/{id}`).
    pub id: String,
    /// The user's email.
    pub user_name: String,
    /// Given and family name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: ScimName,
    /// Department, free text.
    #[serde(default)]
    pub department: Option<String>,
    /// Last dashboard sign-in, opaque.
    #[serde(default)]
    pub last_sign_in_at: Option<String>,
    /// Creation time, opaque.
    #[serde(default)]
    pub created_at: Option<String>,
    /// What the user may do, company-wide and per workspace.
    #[serde(default, deserialize_with = "null_as_default")]
    pub permissions: Permissions,
}

/// The answer to a filtered `GET /scim/v2/Users`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListResponse {
    /// SCIM schemas of the answer (the list response schema).
    #[serde(default, deserialize_with = "null_as_default")]
    pub schemas: Vec<String>,
    /// Users matching the filter.
    #[serde(rename = "totalResults", default)]
    pub total_results: u64,
    /// The matching users (`Resources`).
    #[serde(rename = "Resources", default, deserialize_with = "null_as_default")]
    pub resources: Vec<ScimUser>,
}

/// Body of `POST /scim/v2/Users`. `schemas` is added when serialising.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScimUser {
    /// The user's email; cannot be changed later.
    pub user_name: String,
    /// Given and family name.
    pub name: ScimName,
    /// Department, free text (required by Braze).
    pub department: String,
    /// Permissions to grant, if any.
    pub permissions: Option<Permissions>,
}

impl Serialize for NewScimUser {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            schemas: [&'static str; 1],
            user_name: &'a str,
            name: &'a ScimName,
            department: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            permissions: Option<&'a Permissions>,
        }
        Wire {
            schemas: [USER_SCHEMA],
            user_name: &self.user_name,
            name: &self.name,
            department: &self.department,
            permissions: self.permissions.as_ref(),
        }
        .serialize(serializer)
    }
}

/// Body of `PUT /scim/v2/Users/{id}`: every field Braze requires, and no `userName` (it
/// cannot change). `schemas` is added when serialising.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserUpdate {
    /// Given and family name.
    pub name: ScimName,
    /// Department, free text (required by Braze).
    pub department: String,
    /// The complete new permissions (PUT replaces them).
    pub permissions: Permissions,
}

impl Serialize for ScimUserUpdate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            schemas: [&'static str; 1],
            name: &'a ScimName,
            department: &'a str,
            permissions: &'a Permissions,
        }
        Wire {
            schemas: [USER_SCHEMA],
            name: &self.name,
            department: &self.department,
            permissions: &self.permissions,
        }
        .serialize(serializer)
    }
}
