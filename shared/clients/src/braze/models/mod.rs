//! Typed request and response bodies of the Braze REST endpoints the relay uses.
//!
//! Requests: optional fields are omitted when `None` (Braze treats a present `null` as
//! "remove"), and [`Update`] says explicitly whether a profile field is left alone, set or
//! removed. Responses: decoding is tolerant (unknown fields ignored, missing fields default,
//! numbers that arrive as strings accepted), because Braze documents little of its answers.
//!
//! One module per endpoint family, all re-exported here:
//! - `identifiers`: [`UserAlias`], [`UserIdentifier`], [`Prioritization`].
//! - `track`: `/users/track` ([`UserAttributes`], [`Event`], [`Purchase`], [`Update`]).
//! - `delete`: `/users/delete` ([`DeleteTarget`], [`DeleteBody`]).
//! - `export`: `/users/export/ids` and `/users/export/segment` ([`ExportedUser`]).
//! - `identity`: `/users/merge`, `/users/alias/new`, `/users/identify`.
//! - `lenient`: the tolerant decoders the response types use.

mod delete;
mod export;
mod identifiers;
mod identity;
mod lenient;
mod track;

pub use delete::{
    DeleteBody, DeleteIdKind, DeleteResponse, DeleteTarget, EmailToDelete, MAX_IDS_PER_REQUEST,
};
pub use export::{
    CancelSegmentExportBody, DEFAULT_EXPORT_FIELDS, ExportIdsBody, ExportIdsResponse,
    ExportedActivity, ExportedUser, MAX_CUSTOM_ATTRIBUTES_TO_EXPORT, OutputFormat,
    SegmentExportBody, SegmentExportStarted,
};
pub use identifiers::{Prioritization, UserAlias, UserIdentifier};
pub use identity::{AliasToIdentify, MergeIdentifier, MergeUpdate, NewAlias, ProcessedResponse};
pub use track::{
    Event, Gender, Purchase, SubscriptionState, TrackResponse, Update, UserAttributes,
};
