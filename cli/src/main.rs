//! `relay`: parses the command line, runs the command, prints its outcome, exits with its code
//! (0 done, 1 failed, 2 usage or configuration, 3 partly done).

use clap::Parser;
use clap::error::ErrorKind;
use relay_cli::output::{Exit, error_document};
use relay_cli::{Cli, CliError, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error).into(),
    };
    run(cli).await.into()
}

/// A command line clap refused (or `--help` / `--version`). With `--json`, a usage error is
/// the one JSON document on stdout, as every other error; otherwise clap prints it.
fn usage_error(error: clap::Error) -> Exit {
    let json = std::env::args_os().any(|arg| arg == "--json");
    let informational = matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if json && !informational {
        let rendered = error.render().to_string();
        let message = rendered.trim().trim_start_matches("error: ");
        println!("{}", error_document(&CliError::usage(message)));
        return Exit::Usage;
    }
    let _ = error.print();
    if informational {
        Exit::Done
    } else {
        Exit::Usage
    }
}
