#![warn(missing_docs)]
//! `relay-clients`: Lifecycle Relay's vendor clients and the upstream policy they share. No AWS
//! or Lambda dependency: anything that talks to Braze, Userflow or HubSpot can use it as is.
//!
//! - [`upstream`]: the retry, throttling and rate-limit policy every vendor client uses: the
//!   retry decision, the vendor's rate-limit headers, the rate limiter, the send loop, HTTP
//!   helpers and the errors.
//! - [`braze`]: the Braze REST client ([`braze::client`]), its request and response bodies
//!   ([`braze::models`]), the cluster table ([`braze::cluster`]), attribute validation
//!   ([`braze::validation`]), its errors ([`braze::error`]) and the SCIM client for dashboard
//!   users ([`braze::scim`]).
//! - [`userflow`]: the Userflow client (request builders, list pages), its models and errors.
//! - [`hubspot`]: the HubSpot CRM client that reads contacts an event only names, its models
//!   and errors.

pub mod braze;
pub mod hubspot;
pub mod upstream;
pub mod userflow;
