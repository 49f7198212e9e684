#![warn(missing_docs)]
//! `relay-clients`: Lifecycle Relay's vendor clients and the upstream policy they share. No AWS
//! or Lambda dependency: anything that talks to Braze, Userflow or HubSpot can use it as is.
//!
//! - [`upstream`]: the retry, throttling and rate-limit policy every vendor client uses.
//! - [`braze`]: the Braze REST client, the cluster table, attribute validation, the SCIM client.
//! - [`userflow`]: the Userflow client.
//! - [`hubspot`]: the HubSpot CRM client that reads contacts an event only names.

pub mod braze;
pub mod hubspot;
pub mod upstream;
pub mod userflow;
