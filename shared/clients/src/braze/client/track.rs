//! `/users/track`: validation before sending, chunks of at most `track_batch` objects (all
//! arrays combined) and 4 MB, and Braze's partial errors mapped back to the caller's items.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::{BrazeClient, TRACK, read_write_answer};
use crate::braze::error::BrazeError;
use crate::braze::models::{Event, Purchase, TrackResponse, UserAttributes};
use crate::braze::validation::{
    Rule, ValidationError, validate_attributes, validate_event, validate_purchase,
};

/// Braze rejects bodies over 4 MB (413); chunks are cut below this to leave a margin.
const MAX_TRACK_BODY_BYTES: usize = 3_900_000;

/// The three arrays of a `/users/track` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackArray {
    /// `attributes`
    Attributes,
    /// `events`
    Events,
    /// `purchases`
    Purchases,
}

impl TrackArray {
    /// The JSON name of the array.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackArray::Attributes => "attributes",
            TrackArray::Events => "events",
            TrackArray::Purchases => "purchases",
        }
    }

    fn parse(name: &str) -> Option<TrackArray> {
        [
            TrackArray::Attributes,
            TrackArray::Events,
            TrackArray::Purchases,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }
}

/// One item of the caller's input: which array, and its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ItemRef {
    /// The array the caller put the item in.
    pub array: TrackArray,
    /// Its index in that array, as the caller gave it.
    pub index: usize,
}

/// An item that was not sent because it failed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidItem {
    /// The caller's item.
    pub item: ItemRef,
    /// What is wrong, with paths such as `attributes[3].custom.plan`.
    pub errors: Vec<ValidationError>,
}

/// An item Braze rejected inside an otherwise successful request.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedItem {
    /// The caller's item.
    pub item: ItemRef,
    /// Braze's error `type` text (may quote data: do not log).
    pub error_type: String,
}

/// A chunk that failed as a whole after retries: none of its items can be assumed processed.
#[derive(Debug)]
pub struct FailedChunk {
    /// Every item the chunk carried.
    pub items: Vec<ItemRef>,
    /// The failure; [`BrazeError::class`] tells transient from permanent.
    pub error: BrazeError,
}

/// A partial error Braze returned that names no item of its request (unknown array, index
/// out of range, or an unexpected shape).
#[derive(Debug, Clone, PartialEq)]
pub struct UnmappedError {
    /// The items of the request it came with.
    pub chunk_items: Vec<ItemRef>,
    /// The error as Braze sent it (may quote data: do not log).
    pub raw: Value,
}

/// What happened to one item of a track call.
#[derive(Debug, Clone, Copy)]
pub enum ItemOutcome<'r> {
    /// Sent in a request Braze accepted, without an error for it.
    Accepted,
    /// Not sent: it failed validation.
    Invalid(&'r [ValidationError]),
    /// Sent, and Braze rejected it (partial error).
    Rejected(&'r str),
    /// Its whole chunk failed.
    Failed(&'r BrazeError),
}

/// Outcome of [`TrackRequest::send`].
#[derive(Debug, Default)]
pub struct TrackReport {
    /// Requests sent (one per chunk; retries not counted).
    pub requests: usize,
    /// Items carried by requests Braze accepted (rejected items included).
    pub sent: usize,
    /// Braze's `attributes_processed`, summed over the requests.
    pub attributes_processed: u64,
    /// Braze's `events_processed`, summed.
    pub events_processed: u64,
    /// Braze's `purchases_processed`, summed.
    pub purchases_processed: u64,
    /// Items not sent because they failed validation.
    pub invalid: Vec<InvalidItem>,
    /// Items Braze rejected inside accepted requests.
    pub rejected: Vec<RejectedItem>,
    /// Chunks that failed as a whole.
    pub failed_chunks: Vec<FailedChunk>,
    /// Partial errors that could not be tied to an item.
    pub unmapped_errors: Vec<UnmappedError>,
    /// Requests Braze accepted (2xx) with a body that could not be read. Their items count
    /// as sent and accepted (the write was done, and is not repeated), but Braze's counts and
    /// partial errors for them are unknown.
    pub unreadable_answers: usize,
}

impl TrackReport {
    /// Whether every item was accepted.
    pub fn is_success(&self) -> bool {
        self.invalid.is_empty()
            && self.rejected.is_empty()
            && self.failed_chunks.is_empty()
            && self.unmapped_errors.is_empty()
    }

    /// Items sent and not rejected.
    pub fn accepted(&self) -> usize {
        self.sent.saturating_sub(self.rejected.len())
    }

    /// What happened to the caller's `item` (a linear scan of the failures).
    pub fn outcome(&self, item: ItemRef) -> ItemOutcome<'_> {
        if let Some(invalid) = self.invalid.iter().find(|i| i.item == item) {
            return ItemOutcome::Invalid(&invalid.errors);
        }
        if let Some(rejected) = self.rejected.iter().find(|r| r.item == item) {
            return ItemOutcome::Rejected(&rejected.error_type);
        }
        if let Some(chunk) = self.failed_chunks.iter().find(|c| c.items.contains(&item)) {
            return ItemOutcome::Failed(&chunk.error);
        }
        ItemOutcome::Accepted
    }
}

/// Builder for `POST /users/track`; see [`BrazeClient::track`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send() is awaited"]
pub struct TrackRequest<'c> {
    client: &'c BrazeClient,
    attributes: Vec<UserAttributes>,
    events: Vec<Event>,
    purchases: Vec<Purchase>,
}

/// One validated, serialised item waiting for a chunk.
struct PreparedItem {
    item: ItemRef,
    json: Vec<u8>,
}

/// Items of one request, per array, with their JSON.
#[derive(Default)]
struct Chunk {
    items: Vec<PreparedItem>,
    bytes: usize,
}

impl Chunk {
    fn refs(&self) -> Vec<ItemRef> {
        self.items.iter().map(|p| p.item).collect()
    }

    /// The caller's item at `index` of `array` in this request's body.
    fn item_at(&self, array: TrackArray, index: usize) -> Option<ItemRef> {
        self.items
            .iter()
            .filter(|p| p.item.array == array)
            .nth(index)
            .map(|p| p.item)
    }

    /// `{"attributes":[..],"events":[..],"purchases":[..]}` without empty arrays.
    fn body(&self) -> Bytes {
        let mut body = Vec::with_capacity(self.bytes + 64);
        body.push(b'{');
        for array in [
            TrackArray::Attributes,
            TrackArray::Events,
            TrackArray::Purchases,
        ] {
            let mut members = self
                .items
                .iter()
                .filter(|p| p.item.array == array)
                .peekable();
            if members.peek().is_none() {
                continue;
            }
            if body.len() > 1 {
                body.push(b',');
            }
            body.extend_from_slice(format!("\"{}\":[", array.as_str()).as_bytes());
            for (n, member) in members.enumerate() {
                if n > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&member.json);
            }
            body.push(b']');
        }
        body.push(b'}');
        Bytes::from(body)
    }
}

impl<'c> TrackRequest<'c> {
    pub(super) fn new(client: &'c BrazeClient) -> Self {
        TrackRequest {
            client,
            attributes: Vec::new(),
            events: Vec::new(),
            purchases: Vec::new(),
        }
    }

    /// Adds attribute objects (indices continue across calls).
    pub fn attributes(mut self, items: impl IntoIterator<Item = UserAttributes>) -> Self {
        self.attributes.extend(items);
        self
    }

    /// Adds events.
    pub fn events(mut self, items: impl IntoIterator<Item = Event>) -> Self {
        self.events.extend(items);
        self
    }

    /// Adds purchases.
    pub fn purchases(mut self, items: impl IntoIterator<Item = Purchase>) -> Self {
        self.purchases.extend(items);
        self
    }

    /// Validates every object, sends the valid ones in chunks of at most `track_batch`
    /// objects (attributes, then events, then purchases, combined) with bounded
    /// concurrency, and maps Braze's partial errors back to the caller's items.
    ///
    /// Invalid items are never sent. A chunk failing as a whole is reported with its items
    /// while the other chunks' results stand. Only a misconfiguration (key rejected, missing
    /// permission), which no chunk can survive, ends the call with `Err`.
    pub async fn send(self) -> Result<TrackReport, BrazeError> {
        let client = self.client;
        let mut report = TrackReport::default();
        let mut ready = Vec::new();
        prepare(
            TrackArray::Attributes,
            &self.attributes,
            validate_attributes,
            &mut ready,
            &mut report,
        );
        prepare(
            TrackArray::Events,
            &self.events,
            validate_event,
            &mut ready,
            &mut report,
        );
        prepare(
            TrackArray::Purchases,
            &self.purchases,
            validate_purchase,
            &mut ready,
            &mut report,
        );
        let chunks = chunk(ready, client.inner.track_batch);
        tracing::debug!(
            chunks = chunks.len(),
            invalid = report.invalid.len(),
            "braze track"
        );

        let requests = chunks
            .into_iter()
            .map(|chunk| {
                let body = chunk.body();
                (chunk, body)
            })
            .collect();
        client
            .fan_out(&TRACK, requests, read_write_answer, |chunk: Chunk, outcome| {
                report.requests += 1;
                match outcome {
                    Ok(Some(answer)) => record_answer(&chunk, answer, &mut report),
                    Ok(None) => {
                        report.sent += chunk.items.len();
                        report.unreadable_answers += 1;
                    }
                    Err(error) => {
                        tracing::warn!(items = chunk.items.len(), class = ?error.class(), "braze track chunk failed");
                        report.failed_chunks.push(FailedChunk {
                            items: chunk.refs(),
                            error,
                        });
                    }
                }
                Ok(())
            })
            .await?;
        report.invalid.sort_by_key(|i| i.item);
        report.rejected.sort_by_key(|r| r.item);
        Ok(report)
    }
}

/// Validates and serialises one array's items; invalid ones go to the report.
fn prepare<T: Serialize>(
    array: TrackArray,
    items: &[T],
    validate: fn(&T) -> Vec<ValidationError>,
    ready: &mut Vec<PreparedItem>,
    report: &mut TrackReport,
) {
    for (index, value) in items.iter().enumerate() {
        let item = ItemRef { array, index };
        let prefix = format!("{}[{index}]", array.as_str());
        let mut errors = validate(value);
        let json = if errors.is_empty() {
            match serde_json::to_vec(value) {
                Ok(json) if json.len() <= MAX_TRACK_BODY_BYTES => Some(json),
                _ => {
                    errors.push(ValidationError::new("", Rule::RequestTooLarge));
                    None
                }
            }
        } else {
            None
        };
        match json {
            Some(json) => ready.push(PreparedItem { item, json }),
            None => report.invalid.push(InvalidItem {
                item,
                errors: errors.into_iter().map(|e| prefixed(e, &prefix)).collect(),
            }),
        }
    }
}

fn prefixed(error: ValidationError, prefix: &str) -> ValidationError {
    if error.path.is_empty() {
        ValidationError::new(prefix, error.rule)
    } else {
        error.under(prefix)
    }
}

/// Cuts `items` (in order) into chunks of at most `batch` objects and
/// [`MAX_TRACK_BODY_BYTES`].
fn chunk(items: Vec<PreparedItem>, batch: usize) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk::default();
    for item in items {
        let size = item.json.len() + 1;
        if !current.items.is_empty()
            && (current.items.len() >= batch || current.bytes + size > MAX_TRACK_BODY_BYTES)
        {
            chunks.push(std::mem::take(&mut current));
        }
        current.bytes += size;
        current.items.push(item);
    }
    if !current.items.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Adds one accepted chunk's counts and partial errors to the report.
fn record_answer(chunk: &Chunk, answer: TrackResponse, report: &mut TrackReport) {
    report.sent += chunk.items.len();
    report.attributes_processed += answer.attributes_processed.unwrap_or(0);
    report.events_processed += answer.events_processed.unwrap_or(0);
    report.purchases_processed += answer.purchases_processed.unwrap_or(0);
    for raw in answer.errors {
        let named = raw.as_object().and_then(|error| {
            let array = TrackArray::parse(error.get("input_array")?.as_str()?)?;
            let index = match error.get("index")? {
                Value::Number(n) => usize::try_from(n.as_u64()?).ok()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            let item = chunk.item_at(array, index)?;
            let error_type = match error.get("type") {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            Some(RejectedItem { item, error_type })
        });
        match named {
            Some(rejected) => report.rejected.push(rejected),
            None => report.unmapped_errors.push(UnmappedError {
                chunk_items: chunk.refs(),
                raw,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::braze::validation::serialized_len;

    fn item(array: TrackArray, index: usize, bytes: usize) -> PreparedItem {
        PreparedItem {
            item: ItemRef { array, index },
            json: vec![b'1'; bytes],
        }
    }

    #[test]
    fn when_items_exceed_the_batch_then_chunks_are_cut_in_order() {
        let items = (0..160)
            .map(|i| item(TrackArray::Attributes, i, 10))
            .collect();
        let sizes: Vec<usize> = chunk(items, 75).iter().map(|c| c.items.len()).collect();
        assert_eq!(sizes, vec![75, 75, 10]);
    }

    #[test]
    fn when_items_are_large_then_chunks_stay_under_the_body_limit() {
        let items = (0..10)
            .map(|i| item(TrackArray::Events, i, 1_000_000))
            .collect();
        let chunks = chunk(items, 75);
        assert_eq!(chunks.len(), 4, "3 items of 1 MB fit in 3.9 MB");
        assert!(chunks.iter().all(|c| c.bytes <= MAX_TRACK_BODY_BYTES));
    }

    #[test]
    fn when_a_chunk_mixes_arrays_then_the_body_groups_them() {
        let chunk = Chunk {
            items: vec![
                item(TrackArray::Attributes, 0, 1),
                item(TrackArray::Purchases, 4, 1),
                item(TrackArray::Attributes, 1, 1),
            ],
            bytes: 6,
        };
        assert_eq!(
            &chunk.body()[..],
            br#"{"attributes":[1,1],"purchases":[1]}"#
        );
        assert_eq!(
            chunk.item_at(TrackArray::Purchases, 0),
            Some(ItemRef {
                array: TrackArray::Purchases,
                index: 4
            })
        );
        assert_eq!(chunk.item_at(TrackArray::Events, 0), None);
    }

    #[test]
    fn when_the_serialized_size_is_counted_then_it_matches_the_json() {
        let value = serde_json::json!({"a": [1, 2, "x"]});
        assert_eq!(
            serialized_len(&value),
            serde_json::to_vec(&value).unwrap().len()
        );
    }
}
