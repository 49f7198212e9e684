//! `relay scim ...`.

use crate::{CliError, Context, Outcome};

/// The subcommands of `relay scim`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Not built yet.
    Pending,
}

/// Runs one `relay scim` subcommand.
pub async fn run(_command: Command, _context: &Context) -> Result<Outcome, CliError> {
    Err(CliError::usage("relay scim is not built yet"))
}
