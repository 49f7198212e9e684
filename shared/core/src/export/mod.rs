//! Braze segment exports: reading the files Braze writes to S3 and turning their lines into
//! Userflow upserts.
//!
//! - [`reader`]: an export object (zip through its central directory with ranged reads, or
//!   gzip streamed) as a stream of JSON Lines, with the guards (inflated size, line length).
//! - [`line`]: one exported user line, decoded tolerantly and only as far as the mapping
//!   needs, and its mapping to a Userflow upsert.

pub mod callback;
pub mod control;
pub mod dispatch;
pub mod line;
pub mod location;
pub mod manifest;
pub mod progress;
pub mod reader;
pub mod status;
pub mod sync;
