//! `/users/delete`: at most 50 ids and one identifier type per request.

use std::collections::BTreeMap;

use super::batch::BatchReport;
use super::{BrazeClient, DELETE, alias_ok, batches_of, dedup, to_body};
use crate::braze::error::BrazeError;
use crate::braze::models::{
    DeleteBody, DeleteIdKind, DeleteResponse, DeleteTarget, EmailToDelete, MAX_IDS_PER_REQUEST,
    UserAlias,
};
use crate::braze::validation::{check_external_id, check_identifier};

/// Outcome of [`DeleteRequest::send`]; `processed` is the sum of Braze's `deleted` counts.
pub type DeleteReport = BatchReport<DeleteTarget>;

impl DeleteReport {
    /// Profiles Braze queued for deletion (sum of `deleted`).
    pub fn deleted(&self) -> u64 {
        self.processed
    }
}

/// Builder for `POST /users/delete`; see [`BrazeClient::delete`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct DeleteRequest<'c> {
    client: &'c BrazeClient,
    targets: Vec<DeleteTarget>,
}

impl<'c> DeleteRequest<'c> {
    pub(super) fn new(client: &'c BrazeClient) -> Self {
        DeleteRequest {
            client,
            targets: Vec::new(),
        }
    }

    /// Adds targets of any identifier type.
    pub fn targets(mut self, targets: impl IntoIterator<Item = DeleteTarget>) -> Self {
        self.targets.extend(targets);
        self
    }

    /// Adds external ids.
    pub fn external_ids<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.targets(
            ids.into_iter()
                .map(|id| DeleteTarget::ExternalId(id.into())),
        )
    }

    /// Adds aliases.
    pub fn user_aliases(self, aliases: impl IntoIterator<Item = UserAlias>) -> Self {
        self.targets(aliases.into_iter().map(DeleteTarget::UserAlias))
    }

    /// Adds Braze ids.
    pub fn braze_ids<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.targets(ids.into_iter().map(|id| DeleteTarget::BrazeId(id.into())))
    }

    /// Adds email addresses (with prioritization).
    pub fn emails(self, emails: impl IntoIterator<Item = EmailToDelete>) -> Self {
        self.targets(emails.into_iter().map(DeleteTarget::Email))
    }

    /// Adds phone numbers.
    pub fn phones<S: Into<String>>(self, phones: impl IntoIterator<Item = S>) -> Self {
        self.targets(phones.into_iter().map(|p| DeleteTarget::Phone(p.into())))
    }

    /// Checks the targets (an empty id, an external id, Braze id or alias holding a control
    /// character, an external id over 987 bytes or an email without prioritization fails the
    /// whole call before anything is sent), drops duplicates, and
    /// sends one request per identifier type and 50 ids.
    pub async fn send(self) -> Result<DeleteReport, BrazeError> {
        for (index, target) in self.targets.iter().enumerate() {
            check_delete_target(index, target)?;
        }
        let mut by_kind: BTreeMap<DeleteIdKind, Vec<DeleteTarget>> = BTreeMap::new();
        for target in dedup(self.targets) {
            by_kind.entry(target.kind()).or_default().push(target);
        }
        let batches = by_kind
            .into_values()
            .flat_map(|targets| batches_of(targets, MAX_IDS_PER_REQUEST))
            .collect();
        self.client
            .send_batches(
                &DELETE,
                batches,
                |batch| {
                    let body = DeleteBody::new(batch).ok_or_else(|| {
                        BrazeError::InvalidRequest(
                            "a delete request must carry 1 to 50 ids of one type".to_owned(),
                        )
                    })?;
                    to_body(&body)
                },
                |answer: &DeleteResponse, _| answer.deleted.unwrap_or(0),
            )
            .await
    }
}

fn check_delete_target(index: usize, target: &DeleteTarget) -> Result<(), BrazeError> {
    let problem = match target {
        DeleteTarget::ExternalId(id) => check_external_id(id)
            .err()
            .map(|rule| format!("external id {}", rule.describe())),
        DeleteTarget::BrazeId(id) => check_identifier(id)
            .err()
            .map(|rule| format!("braze id {}", rule.describe())),
        DeleteTarget::Phone(phone) if phone.is_empty() => Some("phone is empty".to_owned()),
        DeleteTarget::UserAlias(alias) if !alias_ok(alias) => {
            Some("alias name or label is empty or holds a control character".to_owned())
        }
        DeleteTarget::Email(email) if email.email.is_empty() => Some("email is empty".to_owned()),
        DeleteTarget::Email(email) if email.prioritization.is_empty() => {
            Some("email prioritization is empty (Braze requires at least one)".to_owned())
        }
        _ => None,
    };
    match problem {
        Some(problem) => Err(BrazeError::InvalidRequest(format!(
            "delete target {index}: {problem}"
        ))),
        None => Ok(()),
    }
}
