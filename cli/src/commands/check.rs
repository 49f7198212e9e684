//! `relay check`.

use crate::{CliError, Context, Outcome};

/// Arguments of `relay check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `relay check`.
pub async fn run(_args: Args, _context: &Context) -> Result<Outcome, CliError> {
    Err(CliError::usage("relay check is not built yet"))
}
