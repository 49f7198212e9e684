//! Braze: the REST client for end-user profiles, the cluster table, attribute validation
//! before sending, and the SCIM client for dashboard users.
//!
//! - [`cluster`]: the cluster table and [`BrazeEndpoint`] (refuses unknown hosts unless
//!   allowed, normalises the URL).
//! - [`client`]: [`BrazeClient`] and its request builders (`track`, `delete`, `export_ids`,
//!   `export_segment`, `merge`, `new_aliases`, `identify`), each ending in `.send()`.
//! - [`models`]: typed request and response bodies.
//! - [`validation`]: the checks Braze applies, run before anything is sent.
//! - [`error`]: [`BrazeError`], classified into a [`crate::upstream::FailureClass`].
//! - [`scim`]: the SCIM client for dashboard users ([`scim::ScimClient`]).

pub mod client;
pub mod cluster;
pub mod error;
pub mod models;
pub mod scim;
pub mod validation;

pub use client::{
    BatchReport, BrazeClient, BrazeConfig, BrazeRates, DeleteReport, ExportIdsReport, FailedBatch,
    FailedChunk, InvalidItem, ItemOutcome, ItemRef, KEY_CHECK_EXTERNAL_ID, MAX_TRACK_BATCH,
    RejectedItem, TrackArray, TrackReport, UnmappedError,
};
pub use cluster::{BrazeEndpoint, CLUSTERS, Cluster};
pub use error::BrazeError;
pub use models::{
    AliasToIdentify, DEFAULT_EXPORT_FIELDS, DeleteTarget, EmailToDelete, Event, ExportedUser,
    Gender, MAX_IDS_PER_REQUEST, MergeIdentifier, MergeUpdate, NewAlias, OutputFormat,
    Prioritization, Purchase, SegmentExportStarted, SubscriptionState, Update, UserAlias,
    UserAttributes, UserIdentifier,
};
pub use validation::{Rule, ValidationError};
