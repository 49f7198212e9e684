//! `relay chaos`: the fault matrix, end to end on the local stack.
//!
//! Each cell starts a stack of its own (moto, the sandbox, `relay local` as a child process,
//! see [`stack`]), plays the same workload ([`workload`]: signups from a CRM that retries as
//! CRMs do ([`crm`]), erasure requests, a segment export) while one thing goes wrong
//! ([`cell`]), lifts the fault, waits for the queues to drain, and then looks for every input
//! ([`play`]): each signup delivered, dead-lettered or rejected with a reason; each erasure
//! receipted or dead-lettered; each export file done or failed with a reason
//! ([`reconcile`]). The report ([`report`]) has one row per cell; the run exits 0 only when
//! every row holds.

mod callback_proxy;
pub mod cell;
mod crm;
mod play;
pub mod reconcile;
pub mod report;
mod stack;
pub mod workload;

use std::path::PathBuf;
use std::time::Duration;

use crate::demo::signals::StopSignals;
use crate::{CliError, Context, Exit, Outcome};

pub use cell::Cell;
pub use workload::Scale;

/// Arguments of `relay chaos`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seeds the fault rules and the sandbox's users: the same seed, the same faults.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// `short` (seconds per cell, as `make test` runs it) or `full` (`make chaos`).
    #[arg(long, value_enum, default_value = "full")]
    pub scale: Scale,
    /// Run only this cell (repeatable); default: every cell.
    #[arg(long = "cell", value_enum)]
    pub cells: Vec<Cell>,
    /// Write the markdown report here as well.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep the work folder (settings, every `relay local`'s log) even when all holds.
    #[arg(long)]
    pub keep: bool,
}

/// Runs the matrix and reports.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let relay_exe = std::env::current_exe()
        .map_err(|error| CliError::failed(format!("cannot find the relay binary: {error}")))?;
    let dir = tempfile::Builder::new()
        .prefix("relay-chaos-")
        .tempdir()
        .map_err(|error| CliError::failed(format!("cannot create the work folder: {error}")))?;
    let mut signals = StopSignals::install()?;
    let cells = if args.cells.is_empty() {
        Cell::ALL.to_vec()
    } else {
        args.cells.clone()
    };
    let workload = args.scale.workload();
    let drain_limit = match args.scale {
        Scale::Short => Duration::from_secs(90),
        Scale::Full => Duration::from_secs(300),
    };
    let progress = |text: String| {
        if !context.json {
            println!("{text}");
        } else {
            eprintln!("{text}");
        }
    };
    let mut rows = Vec::new();
    for cell in cells {
        let cell_dir = dir.path().join(cell.name());
        std::fs::create_dir_all(&cell_dir).map_err(|error| {
            CliError::failed(format!("cannot create {}: {error}", cell_dir.display()))
        })?;
        let plan = play::CellPlan {
            cell,
            seed: args.seed,
            workload,
            relay_exe: &relay_exe,
            dir: &cell_dir,
            caller: &context.settings,
            drain_limit,
        };
        progress(format!("{}: {}", cell.name(), cell.fault(workload.window)));
        // The cell's own handlers stop a `relay local` that is starting; these stop the cell.
        let mut cell_signals = StopSignals::install()?;
        let row = tokio::select! {
            // A cell that could not be played is a row that does not hold; the others run.
            row = play::play(&plan, &mut cell_signals) => row.unwrap_or_else(|error| {
                report::Row::unplayed(cell, cell.fault(workload.window), error.to_string())
            }),
            interrupted = signals.received() => return Err(interrupted),
        };
        progress(format!(
            "{}: {} in {} s",
            cell.name(),
            if row.holds { "holds" } else { "DOES NOT HOLD" },
            row.seconds
        ));
        rows.push(row);
    }
    let command = format!(
        "relay chaos --scale {} --seed {}",
        match args.scale {
            Scale::Short => "short",
            Scale::Full => "full",
        },
        args.seed
    );
    let table = report::markdown(&rows, &command);
    if let Some(out) = &args.out {
        if let Some(parent) = out.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(out, &table).map_err(|error| {
            CliError::failed(format!("cannot write {}: {error}", out.display()))
        })?;
    }
    let all_hold = !rows.is_empty() && rows.iter().all(|row| row.holds);
    if args.keep || !all_hold {
        let kept = dir.keep();
        progress(format!("kept the work folder: {}", kept.display()));
    }
    let exit = if all_hold { Exit::Done } else { Exit::Failed };
    Ok(Outcome::new(
        exit,
        &serde_json::json!({ "rows": rows }),
        table,
    ))
}
