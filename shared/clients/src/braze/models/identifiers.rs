//! How a request names a profile: an external id, an alias or a Braze id, and which profile
//! wins when several share an email address or phone number.

use serde::{Deserialize, Serialize};

use super::lenient;

/// A Braze user alias: a (name, label) pair that identifies a profile without an external id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserAlias {
    /// The alias value (case-sensitive), e.g. a CRM record id.
    #[serde(default, deserialize_with = "lenient::string")]
    pub alias_name: String,
    /// The namespace of the alias, e.g. `hubspot_contact_id`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub alias_label: String,
}

impl UserAlias {
    /// An alias `name` under `label`.
    pub fn new(name: impl Into<String>, label: impl Into<String>) -> UserAlias {
        UserAlias {
            alias_name: name.into(),
            alias_label: label.into(),
        }
    }
}

/// The one primary identifier of a `/users/track` object. Braze rejects an object carrying
/// more than one, so the type allows exactly one. Serialised inline: `"external_id": ".."`,
/// `"user_alias": {..}` or `"braze_id": ".."`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserIdentifier {
    /// The id the customer's systems use (at most 987 bytes).
    ExternalId(String),
    /// An alias (name + label).
    UserAlias(UserAlias),
    /// Braze's own id for the profile.
    BrazeId(String),
}

impl UserIdentifier {
    /// Identifies the profile by external id.
    pub fn external_id(id: impl Into<String>) -> UserIdentifier {
        UserIdentifier::ExternalId(id.into())
    }

    /// Identifies the profile by alias.
    pub fn alias(name: impl Into<String>, label: impl Into<String>) -> UserIdentifier {
        UserIdentifier::UserAlias(UserAlias::new(name, label))
    }

    /// Identifies the profile by Braze id.
    pub fn braze_id(id: impl Into<String>) -> UserIdentifier {
        UserIdentifier::BrazeId(id.into())
    }

    /// The JSON key the identifier is sent under.
    pub fn key(&self) -> &'static str {
        match self {
            UserIdentifier::ExternalId(_) => "external_id",
            UserIdentifier::UserAlias(_) => "user_alias",
            UserIdentifier::BrazeId(_) => "braze_id",
        }
    }
}

/// How Braze picks among several profiles sharing an email address or phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prioritization {
    /// Profiles with an external id.
    Identified,
    /// Profiles without an external id.
    Unidentified,
    /// The most recently updated profile.
    MostRecentlyUpdated,
    /// The least recently updated profile.
    LeastRecentlyUpdated,
}
