//! `relay demo`: the main job end to end on the local stack, as a newcomer's first run.
//!
//! Starts `relay local` (moto + the sandbox) as a child process, then plays five scenes with
//! the operator's own commands (`relay webhook send`, `relay dlq list|replay`, `relay scim`,
//! `relay export`), narrating each step, and checks every expectation against the sandbox's
//! admin state:
//! 1. one signup from each CRM source, signed as that CRM signs, and one invalid contact;
//! 2. a Braze outage while signups arrive: parked, then drained once Braze is back;
//! 3. a job that keeps failing lands in the dead-letter queue and is replayed;
//! 4. a Braze dashboard user managed over SCIM;
//! 5. a 20,000-user segment exported by Braze into S3 and synced into Userflow.
//!
//! It ends with a report table and exits 0 only if every expectation held. Everything it
//! started is stopped, also on Ctrl-C.

pub(crate) mod cli;
mod report;
mod scenario;
pub(crate) mod signals;
pub(crate) mod stack;

use std::path::PathBuf;

use sandbox::AdminClient;

use crate::{CliError, Context, Exit, Outcome, Settings};

pub use report::{Expectation, Report};

/// Arguments of `relay demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How long the Braze outage of scene 2 lasts, in seconds.
    #[arg(long, default_value_t = 20)]
    pub outage_secs: u64,
    /// How many signups arrive during the outage.
    #[arg(long, default_value_t = 300)]
    pub outage_signups: usize,
    /// How many users the segment of scene 5 holds.
    #[arg(long, default_value_t = 20_000)]
    pub export_users: usize,
    /// Keep the demo's folder (settings, `relay local`'s log) instead of removing it.
    #[arg(long)]
    pub keep: bool,
}

/// What the scenes share: the operator commands, the sandbox's admin API, the narration.
pub(crate) struct Demo {
    relay: cli::RelayCommands,
    /// The stack's SQS (moto), to see when the sync queue is drained.
    sqs: aws_sdk_sqs::Client,
    /// The sync queue's URL.
    sync_queue_url: String,
    admin: AdminClient,
    narrator: Narrator,
    args: Args,
    dir: PathBuf,
}

impl Demo {
    /// What the scenes need of a started stack: its commands, its SQS, its sandbox.
    async fn new(
        args: Args,
        narrator: Narrator,
        relay_exe: PathBuf,
        stack: &stack::LocalStack,
        dir: &std::path::Path,
    ) -> Result<Demo, CliError> {
        let stack_settings = Settings::load(Some(&stack.env_file), &[])?;
        Ok(Demo {
            relay: cli::RelayCommands::new(relay_exe, stack.env_file.clone()),
            sqs: relay_core::aws::sqs_client(&crate::aws::sdk_config(&stack_settings).await),
            sync_queue_url: stack.info.sync_queue_url.clone(),
            admin: AdminClient::new(stack.info.admin()),
            narrator,
            dir: dir.to_path_buf(),
            args,
        })
    }
}

/// Numbered narration: on stdout, or on stderr with `--json` (stdout holds the report).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Narrator {
    json: bool,
}

impl Narrator {
    /// A scene's heading.
    fn scene(&self, number: usize, title: &str) {
        self.line(&format!("\n{number}. {title}"));
    }

    /// One step within a scene.
    fn step(&self, text: &str) {
        self.line(&format!("   - {text}"));
    }

    fn line(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }
}

/// Runs the demo: starts the stack, plays the scenes, stops the stack, reports.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let narrator = Narrator { json: context.json };
    let relay_exe = std::env::current_exe()
        .map_err(|error| CliError::failed(format!("cannot find the relay binary: {error}")))?;
    let dir = tempfile::Builder::new()
        .prefix("relay-demo-")
        .tempdir()
        .map_err(|error| CliError::failed(format!("cannot create the demo folder: {error}")))?;
    narrator.line("Lifecycle Relay demo: the main job on one machine, against the sandbox.");
    narrator.step(&format!("work folder: {}", dir.path().display()));
    let mut signals = signals::StopSignals::install()?;
    let stack =
        match stack::LocalStack::start(&relay_exe, dir.path(), &context.settings, &mut signals)
            .await
        {
            Ok(stack) => stack,
            Err(error) => {
                // Keep the folder: its log says why the stack did not start.
                let _ = dir.keep();
                return Err(error);
            }
        };
    narrator.step(&format!(
        "relay local is up: webhooks on {}, sandbox admin on {} (its log: {})",
        stack.info.webhooks,
        stack.info.admin(),
        stack.log.display()
    ));
    narrator.step(&format!(
        "processes: relay local pid {}, moto pid {}",
        stack
            .pid()
            .map_or_else(|| "?".to_owned(), |pid| pid.to_string()),
        stack
            .info
            .moto_pid
            .map_or_else(|| "?".to_owned(), |pid| pid.to_string()),
    ));
    let keep_always = args.keep;
    let played = match Demo::new(args, narrator, relay_exe, &stack, dir.path()).await {
        // Ctrl-C or SIGTERM stops the scenes; the stack is stopped either way.
        Ok(demo) => tokio::select! {
            report = scenario::play(&demo) => report,
            interrupted = signals.received() => Err(interrupted),
        },
        Err(error) => Err(error),
    };
    let moto_pid = stack.info.moto_pid;
    let stopped = stack.stop(stack::STOP_GRACE).await;
    // A run that did not fully hold keeps its folder: the log is where to look.
    if keep_always || !played.as_ref().is_ok_and(Report::all_held) {
        let kept = dir.keep();
        narrator.step(&format!("kept the work folder: {}", kept.display()));
    }
    let mut report = played?;
    stopped?;
    let moto_left = moto_pid.filter(|pid| stack::is_running(*pid));
    report.check(
        report::TEARDOWN,
        "relay local stopped on SIGTERM and stopped the moto it started",
        match moto_left {
            Some(pid) => format!("moto (pid {pid}) still running"),
            None => format!(
                "stopped (moto pid {} gone)",
                moto_pid.map_or_else(|| "none".to_owned(), |pid| pid.to_string())
            ),
        },
        moto_pid.is_some() && moto_left.is_none(),
    );
    let exit = if report.all_held() {
        Exit::Done
    } else {
        Exit::Failed
    };
    Ok(Outcome::new(exit, &report, report.table()))
}
