//! Braze SCIM v2 client for **dashboard users** (the people who log in to Braze), not end
//! users.
//!
//! Requests go to `<REST endpoint>/scim/v2/Users` through the shared
//! [`Upstream`](crate::upstream::Upstream) loop. Braze allows only 5,000 SCIM requests per day
//! per company, shared by every method, so the default rate and retry budget are small.
//!
//! Two Braze quirks shape this module:
//! - error bodies (`{"schemas":[..Error],"status":..,"detail":..}`) often come as
//!   `text/html`, so they are decoded whatever their content type, while the error *kind* is
//!   decided by the HTTP status alone;
//! - responses spell ids both `...ID` and `...Id`; decoding accepts either.
//!
//! Modules, all re-exported here:
//! - `client`: [`ScimConfig`] and [`ScimClient`] (find by email, get, create, replace, delete).
//! - `models`: dashboard users, their names and permissions, and the request bodies.
//! - `error`: [`ScimError`], classified by HTTP status into a
//!   [`crate::upstream::FailureClass`].

mod client;
mod error;
mod models;

pub use client::{DEFAULT_RATE_PER_SECOND, ScimClient, ScimConfig};
pub use error::{ScimError, ScimErrorBody};
pub use models::{
    AppGroupPermissions, ERROR_SCHEMA, LIST_RESPONSE_SCHEMA, ListResponse, NewScimUser,
    PermissionSetRef, Permissions, RoleRef, ScimName, ScimUser, ScimUserUpdate, TeamPermissions,
    USER_SCHEMA,
};
