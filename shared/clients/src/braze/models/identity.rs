//! Bodies of the endpoints that change which profile is which: `/users/merge`,
//! `/users/alias/new` and `/users/identify`.

use serde::{Deserialize, Serialize};

use super::identifiers::{Prioritization, UserAlias};
use super::lenient;

/// A profile reference in a merge: `/users/merge` accepts an external id, an alias, or an
/// email address / phone number with a prioritization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MergeIdentifier {
    /// `{"external_id": ..}`
    ExternalId {
        /// The external id.
        external_id: String,
    },
    /// `{"user_alias": {..}}`
    UserAlias {
        /// The alias.
        user_alias: UserAlias,
    },
    /// `{"email": .., "prioritization": [..]}`
    Email {
        /// The address.
        email: String,
        /// Which profile to pick among several.
        prioritization: Vec<Prioritization>,
    },
    /// `{"phone": .., "prioritization": [..]}`
    Phone {
        /// The number.
        phone: String,
        /// Which profile to pick among several.
        prioritization: Vec<Prioritization>,
    },
}

/// One merge: `identifier_to_merge` is folded into `identifier_to_keep`, then deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeUpdate {
    /// The profile that disappears.
    pub identifier_to_merge: MergeIdentifier,
    /// The profile that stays.
    pub identifier_to_keep: MergeIdentifier,
}

/// One new alias (`/users/alias/new`); with `external_id` it is added to that profile,
/// without it an alias-only profile is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAlias {
    /// The profile to attach the alias to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Alias value.
    pub alias_name: String,
    /// Alias namespace.
    pub alias_label: String,
}

/// One identification (`/users/identify`): the alias-only profile gets `external_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasToIdentify {
    /// The external id to give the profile.
    pub external_id: String,
    /// The alias that finds the profile (alias_name is case-sensitive).
    pub user_alias: UserAlias,
}

/// The answer of the user-management endpoints (merge, alias/new, identify).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProcessedResponse {
    /// `"success"` (merge answers 202 with `"success"` or `"queued"`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Aliases processed (alias/new, identify).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub aliases_processed: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_merge_identifiers_serialise_then_each_has_its_documented_shape() {
        let update = MergeUpdate {
            identifier_to_merge: MergeIdentifier::Email {
                email: "a@example.com".into(),
                prioritization: vec![Prioritization::Unidentified],
            },
            identifier_to_keep: MergeIdentifier::ExternalId {
                external_id: "u-1".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({
                "identifier_to_merge": {"email": "a@example.com", "prioritization": ["unidentified"]},
                "identifier_to_keep": {"external_id": "u-1"},
            })
        );
    }
}
