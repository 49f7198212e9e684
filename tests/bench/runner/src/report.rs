//! The markdown results file: run facts, then one table per benchmark.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::cold_start::Sample;
use crate::latency;
use crate::stats::Samples;

/// The goal: crm-signup's cold start within this factor of hello-world's.
pub const COLD_START_GOAL: f64 = 1.5;

/// Facts about the run, for the header.
pub struct RunFacts {
    /// Cold-start runs per binary.
    pub runs: usize,
    /// The latency plan.
    pub plan: latency::Plan,
    /// `/proc/loadavg`'s first three fields when the run started.
    pub load: String,
    /// The command that produced the report.
    pub command: String,
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// One binary's cold-start samples and its file size.
pub struct ColdStartResult {
    /// `hello-world`, `crm-signup`.
    pub label: String,
    /// The samples.
    pub samples: Vec<Sample>,
    /// Size of the release binary in bytes.
    pub binary_bytes: u64,
    /// How it is linked: `PIE`, `non-PIE` (from its ELF header), or `unknown`.
    pub executable: &'static str,
}

/// Everything the cold-start benchmark measured.
pub struct ColdStarts {
    /// hello-world.
    pub baseline: ColdStartResult,
    /// crm-signup as configured.
    pub function: ColdStartResult,
}

/// Renders the whole report.
pub fn render(
    facts: &RunFacts,
    cold: Option<&ColdStarts>,
    latency: Option<&latency::Outcome>,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Lifecycle Relay benchmarks\n");
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(
        w,
        "| date | {} |",
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(w, "| machine | {} |", machine());
    let _ = writeln!(
        w,
        "| load average at start (1, 5, 15 min) | {} |",
        facts.load
    );
    let _ = writeln!(w, "| commit | {} |", commit());
    let _ = writeln!(w, "| rustc | {} |", command_line("rustc", &["--version"]));
    let _ = writeln!(w, "| command | `{}` |", facts.command);
    if cold.is_some() || latency.is_some() {
        let _ = writeln!(
            w,
            "| runs | cold start: {} per binary, alternating, after 1 unrecorded warm-up each; \
             handler latency: {} webhooks of {} contacts after {} warm-up |",
            facts.runs, facts.plan.requests, facts.plan.contacts, facts.plan.warmup
        );
    }
    if let Some(cold) = cold {
        cold_start_section(w, &cold.baseline, &cold.function);
    }
    if let Some(outcome) = latency {
        latency_section(w, facts.plan, outcome);
    }
    out
}

/// A table row: its name, how to read the value from a sample, how to print it.
type Row = (&'static str, fn(&Sample) -> f64, fn(f64) -> String);

fn cold_start_section(w: &mut String, baseline: &ColdStartResult, function: &ColdStartResult) {
    let _ = writeln!(
        w,
        "\n## Cold start against a loopback Lambda Runtime API\n\n\
         Release binaries (`lto`, `codegen-units = 1`, `strip`) exec'd with Lambda's environment \
         (128 MB, JSON logs; the memory size is not enforced) against an emulated Runtime API \
         on 127.0.0.1. *init* is exec to the first `GET /invocation/next` (Lambda's Init \
         Duration); *first invoke* is the event handed out to its `/response` (crm-signup \
         verifies a Standard Webhooks signature and delivers one contact to the sandbox's \
         Braze and Userflow, with S3 and SQS on moto); peak RSS is `VmHWM` read right after \
         the response.\n"
    );
    let _ = writeln!(
        w,
        "| metric | {a} median | {b} median | ratio | {a} p90 | {b} p90 |\n\
         |---|---:|---:|---:|---:|---:|",
        a = baseline.label,
        b = function.label
    );
    let rows: [Row; 4] = [
        (
            "init: exec → first `/next`",
            |s| s.init.as_secs_f64() * 1e3,
            ms,
        ),
        (
            "first invoke: event → `/response`",
            |s| s.first_invoke.as_secs_f64() * 1e3,
            ms,
        ),
        ("exec → `/response`", |s| s.total.as_secs_f64() * 1e3, ms),
        (
            "peak RSS (`VmHWM`)",
            |s| s.peak_rss_kib as f64 / 1024.0,
            mib,
        ),
    ];
    let mut init_ratio = f64::NAN;
    for (name, get, fmt) in rows {
        let a = Samples::new(baseline.samples.iter().map(get).collect());
        let b = Samples::new(function.samples.iter().map(get).collect());
        let ratio = b.median() / a.median();
        if name.starts_with("init") {
            init_ratio = ratio;
        }
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {ratio:.2}x | {} | {} |",
            fmt(a.median()),
            fmt(b.median()),
            fmt(a.percentile(90.0)),
            fmt(b.percentile(90.0)),
        );
    }
    let size = |bytes: u64| mib(bytes as f64 / (1024.0 * 1024.0));
    let _ = writeln!(
        w,
        "| binary size | {} | {} | {:.2}x | | |",
        size(baseline.binary_bytes),
        size(function.binary_bytes),
        function.binary_bytes as f64 / baseline.binary_bytes as f64
    );
    let _ = writeln!(
        w,
        "| executable | {} | {} | | | |",
        baseline.executable, function.executable
    );
    let verdict = if init_ratio <= COLD_START_GOAL {
        "PASS"
    } else {
        "MISS"
    };
    let _ = writeln!(
        w,
        "\nGoal: {b} cold start (init, median) within {COLD_START_GOAL}x of {a}: \
         {init_ratio:.2}x, **{verdict}**.",
        a = baseline.label,
        b = function.label
    );
}

fn latency_section(w: &mut String, plan: latency::Plan, outcome: &latency::Outcome) {
    let _ = writeln!(
        w,
        "\n## Handler latency: {contacts}-contact HubSpot batch, no faults\n\n\
         crm-signup's `handler` called in-process (release build) with API Gateway v2 requests \
         carrying {contacts} HubSpot `contact.creation` events (v3-signed), sequentially: \
         HubSpot batch read, Braze `/users/track`, Userflow upserts and the `signed_up` \
         markers on the sandbox (in the same process) and moto. Every response was 200 with \
         `accepted` = {contacts}; later requests update the same contacts.\n",
        contacts = plan.contacts
    );
    let l = &outcome.latency;
    let _ = writeln!(w, "| metric | value |\n|---|---:|");
    let _ = writeln!(w, "| p50 | {} |", ms(l.percentile(50.0)));
    let _ = writeln!(w, "| p90 | {} |", ms(l.percentile(90.0)));
    let _ = writeln!(w, "| p99 | {} |", ms(l.percentile(99.0)));
    let _ = writeln!(w, "| max | {} |", ms(l.max()));
    let _ = writeln!(w, "| min | {} |", ms(l.min()));
    let _ = writeln!(w, "| mean | {} |", ms(l.mean()));
    let _ = writeln!(w, "| requests measured | {} |", l.len());
    let contacts_per_second =
        (plan.contacts * l.len()) as f64 / outcome.wall.as_secs_f64().max(f64::EPSILON);
    let _ = writeln!(
        w,
        "| throughput (sequential) | {contacts_per_second:.0} contacts/s |"
    );
    let expected = plan.contacts.div_ceil(75);
    let _ = writeln!(
        w,
        "| Braze `/users/track` per webhook | {:.2} (expected {expected} = ceil({}/75)) |",
        outcome.braze_track_per_webhook, plan.contacts
    );
    for (api, per) in &outcome.requests_per_webhook {
        let _ = writeln!(w, "| {api} requests per webhook, all routes | {per:.2} |");
    }
    if !latency::OVERRIDES.is_empty() {
        let _ = writeln!(
            w,
            "\nSettings changed from crm-signup's defaults for this run:\n"
        );
        for (name, value, why) in latency::OVERRIDES {
            let _ = writeln!(w, "- `{name}={value}`: {why}.");
        }
        let _ = writeln!(
            w,
            "- the sandbox's HubSpot rate limit (100 requests per 10 s) is lifted, so that \
             throttling never enters the measurement."
        );
    }
}

/// Milliseconds, two decimals under 10 ms, one above.
pub fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.1} ms")
    }
}

fn mib(value: f64) -> String {
    format!("{value:.1} MiB")
}

/// `model name, N CPUs (nproc), RAM, kernel`.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kib| format!(", {:.1} GiB RAM", kib / (1024.0 * 1024.0)))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", Linux {}", k.trim()))
        .unwrap_or_default();
    format!("{model}, nproc {nproc}{memory}{kernel}")
}

fn commit() -> String {
    let root = relay_tests::workspace_root();
    let root = root.to_string_lossy();
    let hash = command_line("git", &["-C", &root, "rev-parse", "--short=12", "HEAD"]);
    let dirty = Command::new("git")
        .args(["-C", &root, "status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        format!("{hash} (with uncommitted changes)")
    } else {
        hash
    }
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Writes `report` to `path`, creating its folder.
pub fn write(path: &Path, report: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, report)
}
