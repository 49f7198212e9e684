//! Braze: the REST API (`/users/track`, `/users/delete`, `/users/export/ids`, `/users/merge`,
//! `/users/alias/new`, `/users/identify`, segment exports) and SCIM (`/scim/v2/Users`), both
//! served on the Braze listener, with the profile store they share and the synthetic profiles
//! the admin API seeds.
//!
//! - [`routes`]: the listener; Braze's order of checks and its error answers.
//! - [`track`] and [`attributes`]: `/users/track` and its attribute update semantics.
//! - [`users`]: the other `/users/...` endpoints.
//! - [`segment_export`]: `/users/export/segment` and `/export/segment/cancel`, files written to S3.
//! - [`profiles`]: the profile store and its indexes; [`render`]: a profile as exports show it.
//! - [`seed`]: deterministic synthetic profiles for a segment.
//! - [`synthetic`]: generated export files for benchmarks (no profiles); [`archive`]: zip and
//!   gzip file bodies and their member layout; [`inject`]: malformed lines for exports.
//! - [`scim`]: SCIM dashboard users.

mod archive;
mod attributes;
mod inject;
pub(crate) mod profiles;
mod render;
mod routes;
pub(crate) mod scim;
pub(crate) mod seed;
pub(crate) mod segment_export;
pub(crate) mod synthetic;
mod track;
mod users;

pub(crate) use routes::{message, router};
