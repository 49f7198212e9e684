#![warn(missing_docs)]
//! `relay-core`: everything Lifecycle Relay's functions and CLI share, with no Lambda code.
//!
//! - [`upstream`]: the retry, throttling and rate-limit policy every vendor client uses.
//! - [`braze`]: the Braze REST client, the cluster table, attribute validation, the SCIM client.
//! - [`userflow`]: the Userflow client.
//! - [`contact`]: the canonical contact, its validation and its vendor payloads.
//! - [`crm`]: CRM webhook sources: signatures, payloads, field mapping, the HubSpot client.
//! - [`delivery`]: sends contacts to Braze and Userflow under a deadline (crm-signup and the
//!   sync-worker's `contact` jobs share it).
//! - [`jobs`]: the versioned SQS message types.
//! - [`store`], [`queue`]: small traits over S3 and SQS with aws-sdk implementations.
//! - [`config`]: environment settings with errors naming the variable; vendor clients.
//! - [`secrets`]: secret references (`env:NAME`, Secrets Manager ARNs) resolved at cold start.

pub mod braze;
pub mod config;
pub mod contact;
pub mod crm;
pub mod delivery;
pub mod jobs;
pub mod queue;
pub mod secrets;
pub mod store;
pub mod upstream;
pub mod userflow;
