//! relay-lambda: the Lambda edge the relay's functions share, so that no input and no
//! configuration mistake ends as a panic or an unreadable failure.
//!
//! - [`http_edge`]: API Gateway HTTP API (payload 2.0) events become `lambda_http` requests
//!   through a fallible conversion, and a request that cannot be converted (a bad `Host`, a
//!   bad `X-Forwarded-Proto`, a body that is not the base64 it claims to be) is answered by
//!   a response the function builds, never by an invocation error. [`http_edge::run_http`]
//!   replaces `lambda_http::run`, whose conversion panics on such input.
//! - [`metrics`]: CloudWatch metrics as Embedded Metric Format lines on stdout, one per
//!   invocation: the names, units, namespace and dimension the alarms rely on, and the sinks
//!   (stdout on Lambda, discarded locally, in memory for tests).
//! - [`problem`]: RFC 9457 `application/problem+json` answers, the error shape of every HTTP
//!   function.
//! - [`sqs`]: what SQS-triggered functions read off their event alike (the batch deadline,
//!   receive counts, acknowledged redeliveries).
//! - [`startup`]: a cold-start error is printed as one readable line and reported to
//!   Lambda's `/runtime/init/error`, then the process exits non-zero.
//!
//! This crate depends on the Lambda crates only: relay-core and relay-clients stay free of
//! Lambda code, and the functions depend on this crate.

pub mod http_edge;
pub mod metrics;
pub mod problem;
pub mod sqs;
pub mod startup;
