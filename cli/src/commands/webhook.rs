//! `relay webhook ...`.

use crate::{CliError, Context, Outcome};

/// The subcommands of `relay webhook`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Not built yet.
    Pending,
}

/// Runs one `relay webhook` subcommand.
pub async fn run(_command: Command, _context: &Context) -> Result<Outcome, CliError> {
    Err(CliError::usage("relay webhook is not built yet"))
}
