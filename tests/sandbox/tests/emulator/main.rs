//! The emulator against raw HTTP calls: each misuse must answer the way the real API does.

mod common;

mod admin;
mod braze_track;
mod braze_users;
mod faults;
mod hubspot;
mod limits;
mod process;
mod scim;
mod segment_export;
mod userflow;
