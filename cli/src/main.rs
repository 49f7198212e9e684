//! `relay`: parses the command line, runs the command, prints its outcome, exits with its code
//! (0 done, 1 failed, 2 usage or configuration, 3 partly done).

use clap::Parser;
use relay_cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    run(cli).await.into()
}
