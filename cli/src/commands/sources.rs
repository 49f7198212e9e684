//! `relay sources`.

use crate::{CliError, Context, Outcome};

/// Arguments of `relay sources`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `relay sources`.
pub async fn run(_args: Args, _context: &Context) -> Result<Outcome, CliError> {
    Err(CliError::usage("relay sources is not built yet"))
}
