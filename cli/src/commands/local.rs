//! `relay local`: the whole stack in one process on loopback ([`crate::local`]).
//!
//! Prints one JSON line when everything runs (see [`crate::local::Ready`]), logs one line per
//! invocation on stderr, and stops everything it started on Ctrl-C or SIGTERM (exit 0). A
//! setting that is wrong exits 2 naming it; a part that cannot start exits 1; either way
//! nothing it started is left running.

use std::path::PathBuf;

use crate::local::{self, Options};
use crate::{CliError, Context, Outcome};

/// Arguments of `relay local`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The webhook port on 127.0.0.1 (0: a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Write a dotenv file (mode 0600) with the settings other `relay` commands need to talk
    /// to this stack (`relay --env-file FILE ...`).
    #[arg(long, value_name = "FILE")]
    pub env_out: Option<PathBuf>,
}

/// The log filter when `RUST_LOG` is not set: the relay's lines, the SDKs' warnings.
const DEFAULT_LOG_FILTER: &str = "info,aws=warn,hyper=warn,reqwest=warn";

/// Runs `relay local` until Ctrl-C or SIGTERM.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    init_logging();
    let options = Options {
        port: args.port,
        env_out: args.env_out,
    };
    let stopped = local::run(options, &context.settings).await?;
    tracing::info!(signal = ?stopped, "relay local stopped");
    // The startup line was the one JSON document.
    Ok(Outcome::printed())
}

/// Logs (the functions' tracing and the stack's own lines) on stderr; `RUST_LOG` filters.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
