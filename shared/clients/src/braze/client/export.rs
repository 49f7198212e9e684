//! `/users/export/ids` (profile lookups, all or nothing) and `/users/export/segment`
//! (starting an asynchronous export).

use std::collections::HashSet;

use super::{
    BrazeClient, EXPORT_IDS, EXPORT_SEGMENT, alias_ok, batches_of, decode, dedup, read_result,
    to_body,
};
use crate::braze::error::BrazeError;
use crate::braze::models::{
    DEFAULT_EXPORT_FIELDS, ExportIdsBody, ExportIdsResponse, ExportedUser,
    MAX_CUSTOM_ATTRIBUTES_TO_EXPORT, MAX_IDS_PER_REQUEST, OutputFormat, SegmentExportBody,
    SegmentExportStarted, UserAlias,
};
use crate::braze::validation::check_external_id;

/// An identifier `/users/export/ids` accepts only one of per request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SingleLookup {
    Email(String),
    Phone(String),
    BrazeId(String),
    DeviceId(String),
}

/// Builder for `POST /users/export/ids`; see [`BrazeClient::export_ids`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct ExportIdsRequest<'c> {
    client: &'c BrazeClient,
    external_ids: Vec<String>,
    user_aliases: Vec<UserAlias>,
    singles: Vec<SingleLookup>,
    fields: Option<Vec<String>>,
}

/// Outcome of [`ExportIdsRequest::send`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportIdsReport {
    /// Profiles found, deduplicated by Braze id (an email lookup and an external id lookup
    /// may find the same profile).
    pub users: Vec<ExportedUser>,
    /// Ids Braze did not find, from every request.
    pub invalid_user_ids: Vec<String>,
    /// Requests sent.
    pub requests: usize,
}

impl<'c> ExportIdsRequest<'c> {
    pub(super) fn new(client: &'c BrazeClient) -> Self {
        ExportIdsRequest {
            client,
            external_ids: Vec::new(),
            user_aliases: Vec::new(),
            singles: Vec::new(),
            fields: None,
        }
    }

    /// Adds external ids (50 per request).
    pub fn external_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.external_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Adds aliases (50 per request, sent alongside external ids).
    pub fn user_aliases(mut self, aliases: impl IntoIterator<Item = UserAlias>) -> Self {
        self.user_aliases.extend(aliases);
        self
    }

    /// Adds email addresses (one request each).
    pub fn emails<S: Into<String>>(mut self, emails: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(emails.into_iter().map(|e| SingleLookup::Email(e.into())));
        self
    }

    /// Adds phone numbers (one request each).
    pub fn phones<S: Into<String>>(mut self, phones: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(phones.into_iter().map(|p| SingleLookup::Phone(p.into())));
        self
    }

    /// Adds Braze ids (one request each).
    pub fn braze_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(ids.into_iter().map(|i| SingleLookup::BrazeId(i.into())));
        self
    }

    /// Adds device ids (one request each).
    pub fn device_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.singles
            .extend(ids.into_iter().map(|i| SingleLookup::DeviceId(i.into())));
        self
    }

    /// Fields to export; [`DEFAULT_EXPORT_FIELDS`] when not called. Always sent.
    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Sends the lookups: external ids and aliases 50 (+50) per request, every email,
    /// phone, Braze id and device id in its own request.
    ///
    /// All or nothing: the first failed request fails the call, because a partial answer
    /// would look like "no more profiles" to an erasure.
    pub async fn send(self) -> Result<ExportIdsReport, BrazeError> {
        let client = self.client;
        let requests = self
            .into_bodies()?
            .iter()
            .map(|body| to_body(body).map(|bytes| ((), bytes)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut report = ExportIdsReport::default();
        let mut seen_braze_ids = HashSet::new();
        client
            .fan_out(&EXPORT_IDS, requests, read_result, |(), outcome| {
                let answer: ExportIdsResponse = outcome?;
                report.requests += 1;
                for user in answer.users {
                    let fresh = match &user.braze_id {
                        Some(id) => seen_braze_ids.insert(id.clone()),
                        None => true,
                    };
                    if fresh {
                        report.users.push(user);
                    }
                }
                report.invalid_user_ids.extend(answer.invalid_user_ids);
                Ok(())
            })
            .await?;
        Ok(report)
    }

    /// Checks every id and builds the request bodies: external ids and aliases paired 50
    /// (+50) per body, then one body per single lookup. Duplicates are dropped.
    fn into_bodies(self) -> Result<Vec<ExportIdsBody>, BrazeError> {
        let fields = fields_or_default(self.fields)?;
        if self
            .external_ids
            .iter()
            .any(|id| check_external_id(id).is_err())
            || !self.user_aliases.iter().all(alias_ok)
            || self.singles.iter().any(|s| single_value(s).is_empty())
        {
            return Err(BrazeError::InvalidRequest(
                "export ids: every id must be non-empty (external ids at most 987 bytes)"
                    .to_owned(),
            ));
        }
        let mut bodies = Vec::new();
        let mut external = batches_of(dedup(self.external_ids), MAX_IDS_PER_REQUEST).into_iter();
        let mut aliases = batches_of(dedup(self.user_aliases), MAX_IDS_PER_REQUEST).into_iter();
        loop {
            let (ids, alias_batch) = (external.next(), aliases.next());
            if ids.is_none() && alias_batch.is_none() {
                break;
            }
            bodies.push(ExportIdsBody {
                external_ids: ids.unwrap_or_default(),
                user_aliases: alias_batch.unwrap_or_default(),
                fields_to_export: fields.clone(),
                ..ExportIdsBody::default()
            });
        }
        for single in dedup(self.singles) {
            let mut body = ExportIdsBody {
                fields_to_export: fields.clone(),
                ..ExportIdsBody::default()
            };
            match single {
                SingleLookup::Email(email) => body.email_address = Some(email),
                SingleLookup::Phone(phone) => body.phone = Some(phone),
                SingleLookup::BrazeId(id) => body.braze_id = Some(id),
                SingleLookup::DeviceId(id) => body.device_id = Some(id),
            }
            bodies.push(body);
        }
        Ok(bodies)
    }
}

fn single_value(single: &SingleLookup) -> &str {
    match single {
        SingleLookup::Email(v)
        | SingleLookup::Phone(v)
        | SingleLookup::BrazeId(v)
        | SingleLookup::DeviceId(v) => v,
    }
}

fn fields_or_default(fields: Option<Vec<String>>) -> Result<Vec<String>, BrazeError> {
    match fields {
        None => Ok(DEFAULT_EXPORT_FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .collect()),
        Some(fields) if fields.is_empty() || fields.iter().any(String::is_empty) => {
            Err(BrazeError::InvalidRequest(
                "fields_to_export must name at least one field, none empty".to_owned(),
            ))
        }
        Some(fields) => Ok(fields),
    }
}

/// Builder for `POST /users/export/segment`; see [`BrazeClient::export_segment`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct SegmentExportRequest<'c> {
    client: &'c BrazeClient,
    segment_id: String,
    fields: Option<Vec<String>>,
    callback_endpoint: Option<String>,
    custom_attributes: Option<Vec<String>>,
    output_format: Option<OutputFormat>,
}

impl<'c> SegmentExportRequest<'c> {
    pub(super) fn new(client: &'c BrazeClient, segment_id: String) -> Self {
        SegmentExportRequest {
            client,
            segment_id,
            fields: None,
            callback_endpoint: None,
            custom_attributes: None,
            output_format: None,
        }
    }

    /// Fields to export; [`DEFAULT_EXPORT_FIELDS`] when not called. Always sent.
    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// URL Braze POSTs to when the export is done (carries a signed token: never logged).
    pub fn callback_endpoint(mut self, url: impl Into<String>) -> Self {
        self.callback_endpoint = Some(url.into());
        self
    }

    /// Only these custom attributes (at most 500; ignored by Braze when `custom_attributes`
    /// is among the fields).
    pub fn custom_attributes<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.custom_attributes = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Zip (Braze's default) or gzip (own bucket only).
    pub fn output_format(mut self, format: OutputFormat) -> Self {
        self.output_format = Some(format);
        self
    }

    /// Starts the export; the answer names the folder the files will appear in.
    pub async fn send(self) -> Result<SegmentExportStarted, BrazeError> {
        if self.segment_id.is_empty() {
            return Err(BrazeError::InvalidRequest(
                "segment_id must not be empty".to_owned(),
            ));
        }
        if self
            .custom_attributes
            .as_ref()
            .is_some_and(|names| names.len() > MAX_CUSTOM_ATTRIBUTES_TO_EXPORT)
        {
            return Err(BrazeError::InvalidRequest(format!(
                "custom_attributes_to_export lists more than {MAX_CUSTOM_ATTRIBUTES_TO_EXPORT} names"
            )));
        }
        let body = to_body(&SegmentExportBody {
            segment_id: self.segment_id,
            fields_to_export: fields_or_default(self.fields)?,
            callback_endpoint: self.callback_endpoint,
            custom_attributes_to_export: self.custom_attributes,
            output_format: self.output_format,
        })?;
        let response = self.client.post(&EXPORT_SEGMENT, body).await?;
        decode(&EXPORT_SEGMENT, &response.body)
    }
}
