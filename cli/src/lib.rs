//! The `relay` operator CLI as a library: the command line ([`Cli`]), the settings every
//! command reads ([`settings`]), how outcomes are printed and which exit code they give
//! ([`output`]), and one module per command ([`commands`]). `relay local` runs the whole stack
//! in one process ([`local`]).
//!
//! The CLI is a shell like the functions: every rule it applies (sources, signatures, queues,
//! vendor calls) is relay-core's or relay-clients' code, never a second implementation.

pub mod aws;
#[cfg(feature = "sandbox")]
pub mod chaos;
pub mod commands;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod error;
pub mod local;
pub mod output;
pub mod settings;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use error::CliError;
pub use output::{Exit, Outcome};
pub use settings::Settings;

/// Lifecycle Relay's operator tool.
#[derive(Debug, Parser)]
#[command(name = "relay", version, about, propagate_version = true)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read settings from this dotenv file (its values override the environment).
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Set one setting, as NAME=VALUE (overrides the file and the environment); repeatable.
    #[arg(long = "set", global = true, value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole stack in one process on loopback: webhooks, pollers, S3/SQS, sandbox.
    Local(commands::local::Args),
    /// List the webhook sources, enabled or not and why, with their URLs.
    Sources(commands::sources::Args),
    /// Send a webhook signed exactly as a CRM signs it.
    #[command(subcommand)]
    Webhook(commands::webhook::Command),
    /// Check the configuration with calls that change nothing.
    Check(commands::check::Args),
    /// Braze dashboard users over SCIM.
    #[command(subcommand)]
    Scim(commands::scim::Command),
    /// Dead-letter queues: list, replay, purge.
    #[command(subcommand)]
    Dlq(commands::dlq::Command),
    /// Braze segment exports synced into Userflow: start, status, cancel.
    #[command(subcommand)]
    Export(commands::export::Command),
    /// GDPR erasure from Braze and Userflow: enqueue requests, their status, verification.
    Erase(commands::erase::Args),
    /// Play the demo scenario on a fresh local stack and report what held.
    #[cfg(feature = "sandbox")]
    Demo(demo::Args),
    /// Run the fault matrix on the local stack and write the reconciliation report.
    #[cfg(feature = "sandbox")]
    Chaos(chaos::Args),
}

/// What every command is given: the merged settings and the output mode.
#[derive(Debug, Clone)]
pub struct Context {
    /// Environment, `--env-file` and `--set`, merged.
    pub settings: Settings,
    /// `--json`: one JSON document on stdout, no progress bars.
    pub json: bool,
}

/// Runs `cli`, prints the outcome (or the error) and returns the exit code.
pub async fn run(cli: Cli) -> Exit {
    let json = cli.json;
    let outcome = match Settings::load(cli.env_file.as_deref(), &cli.set) {
        Ok(settings) => {
            let context = Context { settings, json };
            dispatch(cli.command, &context).await
        }
        Err(error) => Err(error),
    };
    output::print(outcome, json)
}

async fn dispatch(command: Command, context: &Context) -> Result<Outcome, CliError> {
    match command {
        Command::Local(args) => commands::local::run(args, context).await,
        Command::Sources(args) => commands::sources::run(args, context).await,
        Command::Webhook(command) => commands::webhook::run(command, context).await,
        Command::Check(args) => commands::check::run(args, context).await,
        Command::Scim(command) => commands::scim::run(command, context).await,
        Command::Dlq(command) => commands::dlq::run(command, context).await,
        Command::Export(command) => commands::export::run(command, context).await,
        Command::Erase(args) => commands::erase::run(args, context).await,
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => demo::run(args, context).await,
        #[cfg(feature = "sandbox")]
        Command::Chaos(args) => chaos::run(args, context).await,
    }
}
