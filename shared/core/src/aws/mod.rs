//! The AWS SDK plumbing every adapter shares: the SDK configuration over the relay's HTTPS
//! client, the service clients with the relay's timeouts, and what an SDK error means for a
//! retry. [`crate::store`], [`crate::queue`] and [`crate::secrets`] build on this module and
//! not on each other.
//!
//! - `sdk_config`: [`aws_sdk_config`] and [`aws_sdk_loader`] (region, credentials, endpoint).
//! - `https`: the HTTPS client with Mozilla's roots compiled in, whose TLS connector is built
//!   on the first request rather than with every service client (cold start).
//! - `clients`: [`s3_client`], [`sqs_client`], [`secrets_manager_client`] and the default
//!   timeouts.
//! - `errors`: [`classify_service_error`] and the classification of any SDK error.
//! - [`moto`] (feature `moto`): moto on a free loopback port, for the tests and `relay local`.

mod clients;
mod errors;
mod https;
#[cfg(feature = "moto")]
pub mod moto;
mod sdk_config;

pub use clients::{
    DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_OPERATION_TIMEOUT, s3_client, secrets_manager_client,
    sqs_client,
};
pub use errors::classify_service_error;
pub(crate) use errors::{classify_sdk_error, http_status};

pub use sdk_config::{aws_sdk_config, aws_sdk_loader};
