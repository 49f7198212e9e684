//! Userflow REST client: users, groups, events and list pagination.
//!
//! Built on the shared [`Upstream`](crate::upstream::Upstream) send loop, so retries, the
//! client-side rate limit and failure classes are the same as for Braze. What is specific to
//! Userflow lives here:
//! - upserts carry the id **in the body** (`POST /users`, `POST /groups`), never in the path;
//! - every request pins `Userflow-Version: 2020-01-03`;
//! - a user's group links are set as either `groups` or `memberships`, never both
//!   ([`MembershipList`] makes the mix unrepresentable);
//! - events are not idempotent and are only repeated when Userflow provably did not act;
//! - lists are cursor pages, exposed as one flat [`Stream`](futures::Stream) of items;
//! - a bulk sync writes each `POST /users` body once, straight from borrowed values
//!   ([`UserUpsertBodyWriter`]), instead of building a [`UserUpsert`] map per user;
//! - ids that are empty or hold a control character, and attribute values Userflow would
//!   misread (an object, a list of lists or objects), are refused before anything is sent
//!   (`checks`);
//! - a write (upsert, event, delete) answered 2xx is done, whatever the body says: its answer
//!   is never decoded. Only reads are, tolerantly, and an answer lacking what is read is a
//!   permanent [`UserflowError::Decode`], not a reason to ask again.
//!
//! ```no_run
//! # async fn demo() -> Result<(), relay_clients::userflow::UserflowError> {
//! use relay_clients::userflow::{AttributeOperation, Region, UserflowClient, UserflowConfig};
//! use relay_clients::upstream::{http_client, HttpTimeouts};
//! use serde_json::json;
//!
//! let config = UserflowConfig::for_region(Region::Eu, "ak_example".to_owned().into());
//! let client = UserflowClient::new(config, http_client(HttpTimeouts::default()))?;
//! client
//!     .upsert_user("crm-42")
//!     .attribute("email", json!("someone@example.com"))
//!     .attribute("logins", AttributeOperation::add(1))
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```

mod body;
mod checks;
mod client;
mod error;
mod models;

pub use body::{UserUpsertBody, UserUpsertBodyWriter};
pub use client::{
    API_VERSION, DEFAULT_RATE_PER_SECOND, GroupUpsertRequest, ListUsers, PageSize,
    TrackEventRequest, UpsertUserRequest, UserflowClient, UserflowConfig,
};
pub use error::{UserflowError, UserflowErrorBody, UserflowResource};
pub use models::{
    AttributeOperation, AttributeValue, Attributes, DataType, Event, EventSubject, Group,
    GroupUpsert, List, Membership, MembershipList, MembershipUpdate, Operation, Region, User,
    UserGroupMembership, UserUpsert,
};
