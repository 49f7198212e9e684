//! `/users/delete` bodies: the profiles to delete, batched by identifier kind, and the answer.

use serde::{Deserialize, Serialize};

use super::identifiers::{Prioritization, UserAlias};
use super::lenient;

/// An email address to delete, with the prioritization Braze applies when several profiles
/// share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailToDelete {
    /// The address.
    pub email: String,
    /// Which profiles to pick; Braze requires at least one entry.
    pub prioritization: Vec<Prioritization>,
}

/// One profile to delete, by any identifier `/users/delete` accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeleteTarget {
    /// By external id.
    ExternalId(String),
    /// By alias.
    UserAlias(UserAlias),
    /// By Braze id.
    BrazeId(String),
    /// By email (+ prioritization).
    Email(EmailToDelete),
    /// By phone number.
    Phone(String),
}

/// The identifier types of `/users/delete`; a request carries exactly one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeleteIdKind {
    /// `external_ids`
    ExternalId,
    /// `user_aliases`
    UserAlias,
    /// `braze_ids`
    BrazeId,
    /// `email_addresses`
    Email,
    /// `phone_numbers`
    Phone,
}

impl DeleteTarget {
    /// The identifier type, which decides the request the target goes into.
    pub fn kind(&self) -> DeleteIdKind {
        match self {
            DeleteTarget::ExternalId(_) => DeleteIdKind::ExternalId,
            DeleteTarget::UserAlias(_) => DeleteIdKind::UserAlias,
            DeleteTarget::BrazeId(_) => DeleteIdKind::BrazeId,
            DeleteTarget::Email(_) => DeleteIdKind::Email,
            DeleteTarget::Phone(_) => DeleteIdKind::Phone,
        }
    }
}

/// The body of one `/users/delete` request: one identifier type, at most 50 ids. Built with
/// [`DeleteBody::new`], which enforces both rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteBody {
    /// `{"external_ids": [..]}`
    ExternalIds(Vec<String>),
    /// `{"user_aliases": [..]}`
    UserAliases(Vec<UserAlias>),
    /// `{"braze_ids": [..]}`
    BrazeIds(Vec<String>),
    /// `{"email_addresses": [{email, prioritization}]}`
    EmailAddresses(Vec<EmailToDelete>),
    /// `{"phone_numbers": [..]}`
    PhoneNumbers(Vec<String>),
}

/// The most identifiers one user-management request may carry (delete, export ids, merge,
/// alias, identify).
pub const MAX_IDS_PER_REQUEST: usize = 50;

impl DeleteBody {
    /// One request's body from `targets`; `None` unless there are 1..=50 targets of a single
    /// identifier type.
    pub fn new(targets: &[DeleteTarget]) -> Option<DeleteBody> {
        let kind = targets.first()?.kind();
        if targets.len() > MAX_IDS_PER_REQUEST || targets.iter().any(|t| t.kind() != kind) {
            return None;
        }
        macro_rules! collect {
            ($variant:ident) => {
                targets
                    .iter()
                    .filter_map(|t| match t {
                        DeleteTarget::$variant(v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect()
            };
        }
        Some(match kind {
            DeleteIdKind::ExternalId => DeleteBody::ExternalIds(collect!(ExternalId)),
            DeleteIdKind::UserAlias => DeleteBody::UserAliases(collect!(UserAlias)),
            DeleteIdKind::BrazeId => DeleteBody::BrazeIds(collect!(BrazeId)),
            DeleteIdKind::Email => DeleteBody::EmailAddresses(collect!(Email)),
            DeleteIdKind::Phone => DeleteBody::PhoneNumbers(collect!(Phone)),
        })
    }
}

/// The answer of `/users/delete`: how many profiles were queued for deletion.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DeleteResponse {
    /// Profiles queued for (asynchronous, irreversible) deletion.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub deleted: Option<u64>,
    /// `"success"`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_delete_targets_mix_types_or_exceed_fifty_then_no_body_is_built() {
        let ext = |i: usize| DeleteTarget::ExternalId(format!("u{i}"));
        assert!(DeleteBody::new(&[ext(1), DeleteTarget::BrazeId("b".into())]).is_none());
        assert!(DeleteBody::new(&(0..51).map(ext).collect::<Vec<_>>()).is_none());
        assert!(DeleteBody::new(&[]).is_none());
        let body = DeleteBody::new(&(0..50).map(ext).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap()["external_ids"]
                .as_array()
                .unwrap()
                .len(),
            50
        );
        let email = DeleteBody::new(&[DeleteTarget::Email(EmailToDelete {
            email: "a@example.com".into(),
            prioritization: vec![
                Prioritization::Unidentified,
                Prioritization::MostRecentlyUpdated,
            ],
        })])
        .unwrap();
        assert_eq!(
            serde_json::to_value(&email).unwrap(),
            json!({"email_addresses": [{"email": "a@example.com", "prioritization": ["unidentified", "most_recently_updated"]}]})
        );
    }
}
