#![warn(missing_docs)]
//! `relay-core`: everything Lifecycle Relay's functions and CLI share, with no Lambda code.
//!
//! - [`upstream`]: the retry, throttling and rate-limit policy every vendor client uses.
//! - [`braze`]: the Braze REST client, the cluster table, attribute validation, the SCIM client.
//! - [`userflow`]: the Userflow client.

pub mod braze;
pub mod upstream;
pub mod userflow;
