#![warn(missing_docs)]
//! `relay-core`: the relay's domain and its AWS adapters, on top of `relay-clients` (the vendor
//! clients); what Lifecycle Relay's functions and CLI share, with no Lambda code.
//!
//! - [`contact`]: the canonical contact, its validation and its vendor payloads.
//! - [`crm`]: CRM webhook sources: signatures, payloads, field mapping.
//! - [`delivery`]: sends contacts to Braze and Userflow under a deadline (crm-signup and the
//!   sync-worker's `contact` jobs share it).
//! - [`jobs`]: the versioned SQS message types.
//! - [`parking`]: contacts not delivered in time become `contact` jobs on the sync queue.
//! - [`store`], [`queue`]: small traits over S3 and SQS with aws-sdk implementations.
//! - [`config`]: environment settings with errors naming the variable; vendor clients.
//! - [`secrets`]: secret references (`env:NAME`, Secrets Manager ARNs) resolved at cold start.

pub mod config;
pub mod contact;
pub mod crm;
pub mod delivery;
pub mod jobs;
pub mod parking;
pub mod queue;
pub mod secrets;
pub mod store;
