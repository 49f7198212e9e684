#![warn(missing_docs)]
//! `relay-core`: the relay's domain and its AWS adapters, on top of `relay-clients` (the vendor
//! clients); what Lifecycle Relay's functions and CLI share, with no Lambda code.
//!
//! - [`contact`]: the canonical contact, its validation and its vendor payloads.
//! - [`crm`]: CRM webhook sources: signatures, payloads, field mapping.
//! - [`delivery`]: sends contacts to Braze and Userflow under a deadline (crm-signup and the
//!   sync-worker's `contacts` jobs share it).
//! - [`erasure`]: GDPR erasure from Braze and Userflow: discovery, progress, receipts (the
//!   deletion-worker's work).
//! - [`jobs`]: the versioned SQS message types.
//! - [`parking`]: contacts not delivered in time become `contacts` jobs (several per message)
//!   on the sync queue.
//! - [`env`](mod@env): the one way settings are read from the environment, and [`env::ConfigError`],
//!   which names the variable; depends on nothing else in the crate.
//! - [`secrets`]: secret references (`env:NAME`, Secrets Manager ARNs) resolved at cold start,
//!   and settings given as a value or a reference.
//! - [`config`]: the typed vendor configuration (Braze, Userflow) and its clients.
//! - [`aws`]: the AWS SDK plumbing: the SDK config over a lazily connecting HTTPS client with
//!   compiled-in roots, service clients with the relay's timeouts, SDK error classification.
//! - [`store`], [`queue`]: small traits over S3 and SQS with aws-sdk implementations, and
//!   in-memory test doubles behind the `test-util` feature.
//!
//! Dependencies among these run one way: `env` and `aws` use no other module; `secrets` uses
//! both; `config` uses `env` and `secrets`; `store` and `queue` use `aws`.

pub mod aws;
pub mod config;
pub mod contact;
pub mod crm;
pub mod delivery;
pub mod env;
pub mod erasure;
pub mod export;
pub mod jobs;
pub mod parking;
pub mod queue;
pub mod secrets;
pub mod store;
