//! `relay local`.

use crate::{CliError, Context, Outcome};

/// Arguments of `relay local`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The webhook port on 127.0.0.1 (0: a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

/// Runs `relay local` until Ctrl-C or SIGTERM.
pub async fn run(_args: Args, _context: &Context) -> Result<Outcome, CliError> {
    Err(CliError::usage("relay local is not built yet"))
}
