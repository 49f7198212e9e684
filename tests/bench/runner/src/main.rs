//! `relay-bench`: Lifecycle Relay's benchmarks (`make bench`). Not tests: nothing here runs
//! in `make test`.
//!
//! 1. Cold start: the release `crm-signup` and `hello-world` binaries exec'd against a
//!    loopback Lambda Runtime API, alternating, N runs each: init, first invoke, peak RSS.
//! 2. Handler latency: crm-signup's handler in-process, 100-contact HubSpot batches.
//! 3. Export reader throughput on one core: inflate alone, the reader + parse + map, a naive
//!    reader, over a 1,000,000-user synthetic export (zip and gzip).
//! 4. Export worker peak RSS: the bench as a child process syncing one 5,000-user and one
//!    100,000-user file.
//! 5. Export end to end: 200,000 users through export-callback and sync-worker with
//!    Userflow's rate known.
//! 6. GDPR erasure: 10,000 erasures through the deletion-worker under Braze's default
//!    limits, beside the lower bound those limits allow.
//! 7. Lambda zips: each function's deployable `bootstrap.zip` (`make build`) extracted and
//!    cold-started N times like the cold-start binaries, one realistic event each: zip
//!    size, init, first invocation, peak RSS.
//!
//! 8. Load (`load.rs`): 20,000 signed signups at concurrency 50 against `relay local`; Braze
//!    `/users/track` against a known limit; a 10-minute soak with faults (RSS plotted as SVG).
//!
//! moto and the sandbox are started once, on free ports; the report (medians, percentiles)
//! is written as markdown and printed.

mod braze_rate;
mod cold_start;
mod delivered;
mod erasure;
mod events;
mod export_e2e;
mod export_reader;
mod export_report;
mod export_rss;
mod export_setup;
mod lambda_zips;
mod latency;
mod load;
mod load_report;
mod load_stack;
mod plot;
mod proc_memory;
mod relay_local;
mod report;
mod series;
mod signup_load;
mod signups;
mod soak;
mod stack;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

use cold_start::{Target, measure, run_once};
use report::{ColdStartResult, ColdStarts, RunFacts};
use stack::{STANDARD_SOURCE, Stack};

const USAGE: &str = "\
usage: relay-bench [--out FILE] [--runs N] [--requests N] [--warmup N] [--contacts N]
                   [--bin-dir DIR] [--export-reps N] [--export-files N] [--export-users N]
                   [--userflow-rate N] [--erasures N] [--signups N] [--concurrency N]
                   [--braze-limit N] [--braze-secs N] [--soak-secs N] [--soak-rate N]
                   [--only cold-start|latency|lambda-zips|export-reader|export-rss|export-e2e|erasure
                           |signup-load|braze-rate|soak]...

  --out FILE      markdown report (default bench-results/bench.md)
  --runs N        cold starts per binary and per Lambda zip (default 20)
  --requests N    measured webhooks in the latency benchmark (default 100)
  --warmup N      unmeasured webhooks first (default 5)
  --contacts N    HubSpot contacts per webhook (default 100, at most 100)
  --bin-dir DIR   where the release crm-signup, hello-world and relay are
                  (default $CARGO_TARGET_DIR/release or <workspace>/target/release)
  --export-reps N     repetitions of the export reader variants (default 3)
  --export-files N    files of 5,000 users per format in the reader benchmark (default 200)
  --export-users N    users in the export end-to-end benchmark (default 200000)
  --userflow-rate N   R, Userflow's rate limit per second there (default 1000)
  --sqs-visibility N  the sync queue's visibility timeout there, seconds (default 120)
  --erasures N    erasures in the erasure benchmark (default 10000; at least 40 min at
                  Braze's 250 lookups a minute)
  --only WHICH    run this benchmark (repeat to run several); default: all

Build the binaries first: cargo build --release --locked -p crm-signup -p hello-world
(make bench does both); lambda-zips reads target/lambda/<function>/bootstrap.zip, which
make build writes.";

struct Args {
    out: PathBuf,
    runs: usize,
    plan: latency::Plan,
    bin_dir: PathBuf,
    cold_start: bool,
    latency: bool,
    /// Where `make build` writes the zips: `<target>/lambda`.
    lambda_dir: PathBuf,
    lambda_zips: bool,
    export_reader: Option<export_reader::Plan>,
    export_rss: bool,
    export_e2e: Option<export_e2e::Plan>,
    erasure: Option<erasure::Plan>,
    /// The load benchmarks.
    load: load::LoadPlan,
    /// How the bench was started, for the report.
    command: String,
}

/// The benchmarks `--only` can name.
const BENCHMARKS: [&str; 10] = [
    "cold-start",
    "latency",
    "lambda-zips",
    "export-reader",
    "export-rss",
    "export-e2e",
    "erasure",
    load::BENCHMARKS[0],
    load::BENCHMARKS[1],
    load::BENCHMARKS[2],
];

fn parse_args() -> Result<Args, String> {
    let root = relay_tests::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut args = Args {
        out: PathBuf::from("bench-results/bench.md"),
        runs: 20,
        plan: latency::Plan {
            contacts: 100,
            warmup: 5,
            requests: 100,
        },
        bin_dir: target.join("release"),
        cold_start: true,
        latency: true,
        lambda_dir: relay_tests::lambda_zip::zip_dir(),
        lambda_zips: true,
        export_reader: None,
        export_rss: true,
        export_e2e: None,
        erasure: None,
        load: load::LoadPlan::default(),
        command: command_line(),
    };
    let mut reader = export_reader::Plan {
        files: 200,
        users_per_file: 5_000,
        reps: 3,
    };
    let mut e2e = export_e2e::Plan {
        users: 200_000,
        rate: 1_000,
        visibility_secs: 120,
    };
    let mut erasures = erasure::Plan { erasures: 10_000 };
    let mut only: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || -> Result<usize, String> {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag}: `{value}` is not a positive number"))
        };
        match flag.as_str() {
            "--out" => args.out = PathBuf::from(&value),
            "--runs" => args.runs = number()?,
            "--requests" => args.plan.requests = number()?,
            "--warmup" => {
                args.plan.warmup = value
                    .parse()
                    .map_err(|_| format!("--warmup: `{value}` is not a number"))?
            }
            "--contacts" => {
                args.plan.contacts = number()?;
                if args.plan.contacts > 100 {
                    return Err("--contacts: at most 100 (one HubSpot batch read)".into());
                }
            }
            "--bin-dir" => args.bin_dir = PathBuf::from(&value),
            "--export-reps" => reader.reps = number()?,
            "--export-files" => reader.files = number()?,
            "--export-users" => e2e.users = number()?,
            "--erasures" => erasures.erasures = number()?,
            "--userflow-rate" => {
                e2e.rate = u32::try_from(number()?)
                    .map_err(|_| format!("--userflow-rate: `{value}` is too large"))?
            }
            "--sqs-visibility" => {
                e2e.visibility_secs = u32::try_from(number()?)
                    .map_err(|_| format!("--sqs-visibility: `{value}` is too large"))?
            }
            "--only" => {
                if !BENCHMARKS.contains(&value.as_str()) {
                    return Err(format!(
                        "--only: `{value}` is not one of {}",
                        BENCHMARKS.join(", ")
                    ));
                }
                only.push(value);
            }
            option if load::OPTIONS.contains(&option) => args.load.option(option, number()?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let runs = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    args.cold_start = runs("cold-start");
    args.latency = runs("latency");
    args.lambda_zips = runs("lambda-zips");
    args.export_reader = runs("export-reader").then_some(reader);
    args.export_rss = runs("export-rss");
    args.export_e2e = runs("export-e2e").then_some(e2e);
    args.erasure = runs("erasure").then_some(erasures);
    args.load.select(runs);
    Ok(args)
}

/// `relay-bench ARGS`, as the report quotes it (the program by its file name).
fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(program) = words.first_mut() {
        *program = Path::new(program.as_str())
            .file_name()
            .map_or_else(|| program.clone(), |n| n.to_string_lossy().into_owned());
    }
    words.join(" ")
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(export_rss::CHILD_FLAG) {
        return export_rss::child_main();
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("relay-bench: {problem}\n");
            }
            eprintln!("{USAGE}\n{}", load::USAGE);
            return if problem.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime builds");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("relay-bench: FAILED: {problem}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let binaries = [("hello-world", "hello-world"), ("crm-signup", "crm-signup")]
        .map(|(label, file)| (label, args.bin_dir.join(file)));
    if args.cold_start {
        for (_, path) in &binaries {
            if !path.is_file() {
                return Err(format!(
                    "{} is missing: build it with `cargo build --release --locked -p crm-signup -p hello-world` (make bench does)",
                    path.display()
                ));
            }
        }
    }
    let relay = args.load.relay_binary(&args.bin_dir)?;
    let zips = if args.lambda_zips {
        Some(lambda_zips::find(&args.lambda_dir)?)
    } else {
        None
    };
    // First, before anything else runs: the one-core reader benchmark needs no stack.
    let mut exports = export_report::Exports::default();
    if let Some(plan) = args.export_reader {
        eprintln!(
            "relay-bench: export reader, {} files of {} users per format, {} repetitions",
            plan.files, plan.users_per_file, plan.reps
        );
        exports.reader = Some(
            tokio::task::spawn_blocking(move || export_reader::measure(plan))
                .await
                .map_err(|e| format!("the export reader benchmark: {e}"))??,
        );
    }
    let needs_stack = args.cold_start
        || args.latency
        || args.lambda_zips
        || args.export_rss
        || args.export_e2e.is_some()
        || args.erasure.is_some();
    let mut report = if needs_stack {
        eprintln!("relay-bench: starting moto and the sandbox");
        let stack = Stack::start().await?;
        let result = benchmarks(&args, &stack, &binaries, zips, &mut exports).await;
        let Stack { moto, sandbox, .. } = stack;
        sandbox.shutdown().await;
        drop(moto);
        result?
    } else {
        render(&args, None, None, None, &exports, None)
    };
    // Last, each with a stack of its own: relay local, the sandbox, moto.
    if !args.load.is_empty() {
        let sections = args
            .load
            .run(relay.as_deref(), &args.out, &args.command)
            .await?;
        report.push_str(&sections);
    }
    report::write(&args.out, &report)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    println!("{report}");
    eprintln!("relay-bench: report written to {}", args.out.display());
    Ok(())
}

fn render(
    args: &Args,
    cold: Option<&ColdStarts>,
    latency: Option<&latency::Outcome>,
    zips: Option<&lambda_zips::Outcome>,
    exports: &export_report::Exports,
    erasure: Option<&erasure::Outcome>,
) -> String {
    let facts = RunFacts {
        runs: args.runs,
        plan: args.plan,
        load: report::load_average(),
        command: args.command.clone(),
    };
    let mut report = report::render(&facts, cold, latency);
    if let Some(outcome) = zips {
        lambda_zips::render(&mut report, outcome, &args.command);
    }
    export_report::render(&mut report, exports, &args.command);
    if let Some(outcome) = erasure {
        erasure::render(&mut report, outcome, &args.command);
    }
    report
}

async fn benchmarks(
    args: &Args,
    stack: &Stack,
    binaries: &[(&'static str, PathBuf); 2],
    zips: Option<Vec<lambda_zips::LambdaZip>>,
    exports: &mut export_report::Exports,
) -> Result<String, String> {
    let cold = if args.cold_start {
        Some(cold_starts(args, stack, binaries).await?)
    } else {
        None
    };
    // Next to the cold start, on the same fresh stack.
    let zips = match zips {
        Some(zips) => Some(lambda_zips::measure(stack, zips, args.runs).await?),
        None => None,
    };
    let latency = if args.latency {
        eprintln!(
            "relay-bench: handler latency, {} webhooks of {} HubSpot contacts (+{} warm-up)",
            args.plan.requests, args.plan.contacts, args.plan.warmup
        );
        Some(latency::measure(stack, args.plan).await?)
    } else {
        None
    };
    if args.export_rss {
        eprintln!("relay-bench: export worker peak RSS");
        exports.rss = Some(export_rss::measure(stack, &[5_000, 100_000]).await?);
    }
    if let Some(plan) = args.export_e2e {
        exports.e2e = Some(export_e2e::measure(stack, plan).await?);
    }
    // Last: it resets the sandbox to its default limits.
    let erased = match args.erasure {
        Some(plan) => Some(erasure::measure(stack, plan).await?),
        None => None,
    };
    Ok(render(
        args,
        cold.as_ref(),
        latency.as_ref(),
        zips.as_ref(),
        exports,
        erased.as_ref(),
    ))
}

async fn cold_starts(
    args: &Args,
    stack: &Stack,
    binaries: &[(&'static str, PathBuf); 2],
) -> Result<ColdStarts, String> {
    let [(hello_name, hello_path), (crm_name, crm_path)] = binaries;
    let crm_target = |label: String, extra: Vec<(String, String)>| {
        let mut env = stack.crm_signup_env();
        env.extend(extra);
        Target {
            label,
            function_name: crm_name,
            path: crm_path.clone(),
            env,
            event: standard_event(stack, "crm"),
            check: crm_signup_check(),
        }
    };
    let targets = vec![
        Target {
            label: (*hello_name).to_owned(),
            function_name: hello_name,
            path: hello_path.clone(),
            env: Vec::new(),
            event: standard_event(stack, "hello"),
            check: Box::new(|payload| status_200(payload).map(|_| ())),
        },
        crm_target((*crm_name).to_owned(), Vec::new()),
    ];
    // One unrecorded run each: checks the setup end to end and warms the page cache.
    for target in &targets {
        run_once(target, 0)
            .await
            .map_err(|e| format!("{} warm-up run: {e}", target.label))?;
    }
    let labels: Vec<&str> = targets.iter().map(|t| t.label.as_str()).collect();
    eprintln!(
        "relay-bench: cold start, {} runs each of {}",
        args.runs,
        labels.join(", ")
    );
    let samples = measure(&targets, args.runs)
        .await
        .map_err(|e| e.to_string())?;
    let size = |path: &PathBuf| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut results = targets
        .iter()
        .zip(samples)
        .map(|(target, samples)| ColdStartResult {
            label: target.label.clone(),
            samples,
            binary_bytes: size(&target.path),
            executable: executable_kind(&target.path),
        });
    let baseline = results.next().expect("hello-world was measured");
    let function = results.next().expect("crm-signup was measured");
    Ok(ColdStarts { baseline, function })
}

/// `PIE` or `non-PIE` from the ELF header's `e_type` (ET_DYN = 3, ET_EXEC = 2), since the
/// relocations a PIE binary needs at start are part of what the cold start measures.
fn executable_kind(path: &Path) -> &'static str {
    let mut header = [0u8; 18];
    let read = std::fs::File::open(path).and_then(|mut file| {
        use std::io::Read;
        file.read_exact(&mut header)
    });
    match (
        read,
        &header[..4],
        u16::from_le_bytes([header[16], header[17]]),
    ) {
        (Ok(()), b"\x7fELF", 3) => "PIE",
        (Ok(()), b"\x7fELF", 2) => "non-PIE",
        _ => "unknown",
    }
}

/// The cold-start event: one signed Standard Webhooks contact, a fresh id per run.
fn standard_event(stack: &Stack, prefix: &'static str) -> Box<dyn Fn(usize) -> Value> {
    let secret = stack.standard_secret.clone();
    Box::new(move |run| {
        events::standard_webhooks_event(
            STANDARD_SOURCE,
            &secret,
            &format!("bench-{prefix}-{run}"),
            &format!("msg_bench_{prefix}_{run}_{}", events::now_millis()),
        )
    })
}

/// crm-signup's answer to [`standard_event`]: 200 with `accepted`: 1 (the contact delivered).
fn crm_signup_check() -> cold_start::Check {
    Box::new(|payload| {
        let body = status_200(payload)?;
        let report: Value = serde_json::from_str(body)
            .map_err(|e| format!("the response body is not JSON: {e}"))?;
        match report.get("accepted").and_then(Value::as_u64) {
            Some(1) => Ok(()),
            _ => Err("expected `accepted`: 1 in the response body".into()),
        }
    })
}

/// The API Gateway v2 response's `statusCode` must be 200; returns its body.
fn status_200(payload: &Value) -> Result<&str, String> {
    let status = payload.get("statusCode").and_then(Value::as_u64);
    if status != Some(200) {
        return Err(format!("expected statusCode 200, got {status:?}"));
    }
    Ok(payload.get("body").and_then(Value::as_str).unwrap_or(""))
}
