//! `/users/merge`, `/users/alias/new` and `/users/identify`: lists sent in batches of 50,
//! each batch reported as a whole (Braze gives no per-item result).

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{
    ALIAS_NEW, BrazeClient, IDENTIFY, MERGE, Route, alias_ok, batches_of, read_write_answer,
    to_body,
};
use crate::braze::error::BrazeError;
use crate::braze::models::{
    AliasToIdentify, MAX_IDS_PER_REQUEST, MergeIdentifier, MergeUpdate, NewAlias, ProcessedResponse,
};
use crate::braze::validation::check_external_id;

/// Outcome of a call that sends its input in batches (delete, merge, alias, identify).
#[derive(Debug)]
pub struct BatchReport<T> {
    /// Requests sent (one per batch; retries of a batch not counted).
    pub requests: usize,
    /// What Braze reported as processed: profiles queued for deletion for delete, aliases
    /// processed for alias/identify, accepted merges for merge. When Braze gives no count
    /// for an accepted batch, its size is counted.
    pub processed: u64,
    /// Batches that failed after retries, with their items and the error.
    pub failed_batches: Vec<FailedBatch<T>>,
    /// Batches Braze accepted (2xx) with a body that could not be read: done, and not
    /// repeated, but counted in `processed` as if Braze had given no count.
    pub unreadable_answers: usize,
}

impl<T> BatchReport<T> {
    /// Whether every batch succeeded.
    pub fn is_success(&self) -> bool {
        self.failed_batches.is_empty()
    }
}

/// A batch that failed as a whole.
#[derive(Debug)]
pub struct FailedBatch<T> {
    /// The items the batch carried.
    pub items: Vec<T>,
    /// Why it failed ([`BrazeError::class`] says whether a later try may work).
    pub error: BrazeError,
}

impl BrazeClient {
    /// Sends `batches` to `route`; a batch that fails is recorded with its items, unless the
    /// failure is a misconfiguration, which ends the call. `processed_of` reads Braze's count
    /// from an accepted batch's answer (given the batch size).
    pub(super) async fn send_batches<T, R>(
        &self,
        route: &'static Route,
        batches: Vec<Vec<T>>,
        body_of: impl Fn(&[T]) -> Result<Bytes, BrazeError>,
        processed_of: impl Fn(&R, usize) -> u64,
    ) -> Result<BatchReport<T>, BrazeError>
    where
        R: DeserializeOwned + Default,
    {
        let requests = batches
            .into_iter()
            .map(|batch| body_of(&batch).map(|body| (batch, body)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut report = BatchReport {
            requests: 0,
            processed: 0,
            failed_batches: Vec::new(),
            unreadable_answers: 0,
        };
        self.fan_out(route, requests, read_write_answer, |items: Vec<T>, outcome| {
            report.requests += 1;
            match outcome {
                Ok(Some(answer)) => report.processed += processed_of(&answer, items.len()),
                Ok(None) => {
                    report.processed += processed_of(&R::default(), items.len());
                    report.unreadable_answers += 1;
                }
                Err(error) => {
                    tracing::warn!(endpoint = route.path, items = items.len(), class = ?error.class(), "braze batch failed");
                    report.failed_batches.push(FailedBatch { items, error });
                }
            }
            Ok(())
        })
        .await?;
        Ok(report)
    }
}

/// Builder for `POST /users/merge`; see [`BrazeClient::merge`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct MergeRequest<'c> {
    client: &'c BrazeClient,
    updates: Vec<MergeUpdate>,
}

impl<'c> MergeRequest<'c> {
    pub(super) fn new(client: &'c BrazeClient) -> Self {
        MergeRequest {
            client,
            updates: Vec::new(),
        }
    }

    /// Adds merges.
    pub fn updates(mut self, updates: impl IntoIterator<Item = MergeUpdate>) -> Self {
        self.updates.extend(updates);
        self
    }

    /// Sends the merges, 50 per request. Braze merges asynchronously (202) and silently
    /// skips ambiguous email/phone matches; `processed` counts accepted merges.
    pub async fn send(self) -> Result<BatchReport<MergeUpdate>, BrazeError> {
        for (index, update) in self.updates.iter().enumerate() {
            if !merge_identifier_ok(&update.identifier_to_merge)
                || !merge_identifier_ok(&update.identifier_to_keep)
            {
                return Err(BrazeError::InvalidRequest(format!(
                    "merge update {index}: identifiers must be non-empty (email/phone with a prioritization)"
                )));
            }
        }
        self.client
            .send_batches(
                &MERGE,
                batches_of(self.updates, MAX_IDS_PER_REQUEST),
                |batch| to_body(&serde_json::json!({ "merge_updates": batch })),
                |_: &ProcessedResponse, size| size as u64,
            )
            .await
    }
}

fn merge_identifier_ok(id: &MergeIdentifier) -> bool {
    match id {
        MergeIdentifier::ExternalId { external_id } => check_external_id(external_id).is_ok(),
        MergeIdentifier::UserAlias { user_alias } => alias_ok(user_alias),
        MergeIdentifier::Email {
            email: value,
            prioritization,
        }
        | MergeIdentifier::Phone {
            phone: value,
            prioritization,
        } => !value.is_empty() && !prioritization.is_empty(),
    }
}

/// Builder for `POST /users/alias/new`; see [`BrazeClient::new_aliases`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct NewAliasesRequest<'c> {
    client: &'c BrazeClient,
    aliases: Vec<NewAlias>,
}

impl<'c> NewAliasesRequest<'c> {
    pub(super) fn new(client: &'c BrazeClient) -> Self {
        NewAliasesRequest {
            client,
            aliases: Vec::new(),
        }
    }

    /// Adds aliases.
    pub fn aliases(mut self, aliases: impl IntoIterator<Item = NewAlias>) -> Self {
        self.aliases.extend(aliases);
        self
    }

    /// Sends the aliases, 50 per request. Braze answers success even for an alias that
    /// already exists; `processed` is its `aliases_processed`.
    pub async fn send(self) -> Result<BatchReport<NewAlias>, BrazeError> {
        for (index, alias) in self.aliases.iter().enumerate() {
            let external_ok = alias
                .external_id
                .as_deref()
                .is_none_or(|id| check_external_id(id).is_ok());
            if alias.alias_name.is_empty() || alias.alias_label.is_empty() || !external_ok {
                return Err(BrazeError::InvalidRequest(format!(
                    "alias {index}: name and label must be non-empty, external id valid"
                )));
            }
        }
        self.client
            .send_batches(
                &ALIAS_NEW,
                batches_of(self.aliases, MAX_IDS_PER_REQUEST),
                |batch| to_body(&serde_json::json!({ "user_aliases": batch })),
                |answer: &ProcessedResponse, size| answer.aliases_processed.unwrap_or(size as u64),
            )
            .await
    }
}

/// Builder for `POST /users/identify`; see [`BrazeClient::identify`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct IdentifyRequest<'c> {
    client: &'c BrazeClient,
    aliases: Vec<AliasToIdentify>,
}

impl<'c> IdentifyRequest<'c> {
    pub(super) fn new(client: &'c BrazeClient) -> Self {
        IdentifyRequest {
            client,
            aliases: Vec::new(),
        }
    }

    /// Adds identifications.
    pub fn aliases(mut self, aliases: impl IntoIterator<Item = AliasToIdentify>) -> Self {
        self.aliases.extend(aliases);
        self
    }

    /// Sends the identifications, 50 per request. A mismatched (case-sensitive) alias still
    /// answers success; `processed` is Braze's `aliases_processed`.
    pub async fn send(self) -> Result<BatchReport<AliasToIdentify>, BrazeError> {
        for (index, item) in self.aliases.iter().enumerate() {
            if check_external_id(&item.external_id).is_err() || !alias_ok(&item.user_alias) {
                return Err(BrazeError::InvalidRequest(format!(
                    "identify {index}: external id and alias must be non-empty"
                )));
            }
        }
        self.client
            .send_batches(
                &IDENTIFY,
                batches_of(self.aliases, MAX_IDS_PER_REQUEST),
                |batch| to_body(&serde_json::json!({ "aliases_to_identify": batch })),
                |answer: &ProcessedResponse, size| answer.aliases_processed.unwrap_or(size as u64),
            )
            .await
    }
}
