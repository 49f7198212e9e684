//! `relay dlq ...`.

use crate::{CliError, Context, Outcome};

/// The subcommands of `relay dlq`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Not built yet.
    Pending,
}

/// Runs one `relay dlq` subcommand.
pub async fn run(_command: Command, _context: &Context) -> Result<Outcome, CliError> {
    Err(CliError::usage("relay dlq is not built yet"))
}
