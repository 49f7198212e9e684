//! One module per command: its clap arguments and `run(args, &Context)`.

pub mod check;
pub mod dlq;
pub mod erase;
pub mod export;
pub mod local;
pub mod scim;
pub mod sources;
pub mod webhook;
