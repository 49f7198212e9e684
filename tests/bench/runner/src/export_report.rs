//! The export benchmarks' sections of the markdown report (see `report.rs` for the rest).

use std::fmt::Write as _;

use crate::export_e2e::{self, BUDGET, INVOCATIONS, RATE_GOAL};
use crate::export_reader::{self, CUSTOM_ATTRIBUTES, FormatResult, SOURCE_CHUNK, Variant};
use crate::export_rss::{self, GOAL_MIB, RssResult};

/// The goals for the reader: this fraction of inflate-alone throughput...
pub const READER_VS_INFLATE_GOAL: f64 = 0.6;
/// ...and this multiple of the naive reader's.
pub const READER_VS_NAIVE_GOAL: f64 = 3.0;

/// What the export benchmarks measured (each `None` when not run).
#[derive(Default)]
pub struct Exports {
    /// Reader throughput.
    pub reader: Option<export_reader::Outcome>,
    /// Worker peak RSS.
    pub rss: Option<Vec<RssResult>>,
    /// End to end.
    pub e2e: Option<export_e2e::Outcome>,
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

/// Appends the sections of the benchmarks that ran; `command` is how the run was started.
pub fn render(w: &mut String, exports: &Exports, command: &str) {
    if let Some(outcome) = &exports.reader {
        reader_section(w, outcome, command);
    }
    if let Some(results) = &exports.rss {
        rss_section(w, results, command);
    }
    if let Some(outcome) = &exports.e2e {
        e2e_section(w, outcome, command);
    }
}

fn reader_section(w: &mut String, outcome: &export_reader::Outcome, command: &str) {
    let plan = outcome.plan;
    let _ = writeln!(
        w,
        "\n## Export reader throughput on one core\n\n\
         `{command}`\n\n\
         {files} files of {per} synthetic users each (the sandbox's generator: apps, devices, \
         custom attributes, events, purchases; one JSON member per zip), generated in memory \
         before timing ({gen:.0} s, not measured), read on a tokio `current_thread` runtime \
         (one core; the machine's cores are in the header). The reader reads through \
         `MemorySource` handing out {chunk} KiB chunks (what one read of a ranged GET yields). \
         Variants: *inflate alone* is `inflate_only` (the same reads, inflate, CRC-32 and \
         guards, no line splitting: the floor); *lines only* is `ExportReader` splitting \
         lines without decoding them; *lines scanned* walks each line with serde_json, then \
         with sonic-rs (a SIMD parser), keeping nothing: the cost of merely validating the \
         JSON (sonic-rs is the decoder's own parser); *reader + parse + map* is `ExportReader` + \
         `ExportMapping::default().with_custom_attributes([{custom}])`'s `map_line` on every \
         line (the request body, written once) + the sync's `braze_id` de-duplication set \
         (`SeenIds`), as the sync does; \
         *naive* reads the whole \
         object into memory, unzips (async_zip, each entry into a `Vec`) or gunzips (flate2) \
         it whole, parses a `serde_json::Value` per line, maps it to the same upsert and \
         serialises that into the request body as the client would (the bodies are checked \
         equal byte for byte in the unit tests). Medians of {reps} repetitions; MB is \
         10^6 inflated bytes.",
        files = plan.files,
        per = plan.users_per_file,
        gen = outcome.generation.as_secs_f64(),
        chunk = SOURCE_CHUNK / 1024,
        custom = CUSTOM_ATTRIBUTES.map(|c| format!("\"{c}\"")).join(", "),
        reps = plan.reps,
    );
    for format in &outcome.formats {
        reader_table(w, format);
    }
    let _ = writeln!(
        w,
        "\nOf the attributes, `created_at` alone (relay-core's `created_at_iso` of Braze's \
         `2020-07-10 15:00:00.000 UTC` form) costs {:.2} µs per user (1,000,000 calls on the \
         first file's values). The naive reader's serialisation of its upsert alone costs \
         {:.2} µs per user (1,000,000 calls on the first file's upserts): without it, the \
         naive reader would take that much less per user.",
        outcome.created_at_micros, outcome.naive_body_micros
    );
}

fn reader_table(w: &mut String, f: &FormatResult) {
    let mb = |bytes: u64| bytes as f64 / 1e6;
    let _ = writeln!(
        w,
        "\n### {format}: {users} users, {compressed:.1} MB compressed, {inflated:.1} MB \
         inflated ({per_user:.0} bytes per user)\n",
        format = f.format,
        users = f.users,
        compressed = mb(f.compressed_bytes),
        inflated = mb(f.inflated_bytes),
        per_user = f.inflated_bytes as f64 / f.users.max(1) as f64,
    );
    let _ = writeln!(
        w,
        "| variant | median time | users/s | MB/s (inflated) | vs inflate alone | vs naive |\n\
         |---|---:|---:|---:|---:|---:|"
    );
    let inflate = f.median(Variant::Inflate);
    let naive = f.median(Variant::Naive);
    for variant in Variant::ALL {
        let seconds = f.median(variant);
        let _ = writeln!(
            w,
            "| {} | {seconds:.2} s | {:.0} | {:.1} | {:.0}% | {:.2}x |",
            variant.label(),
            f.users as f64 / seconds,
            mb(f.inflated_bytes) / seconds,
            100.0 * inflate / seconds,
            naive / seconds,
        );
    }
    let reader = f.median(Variant::Reader);
    let lines = f.median(Variant::Lines);
    let scan = f.median(Variant::Scan);
    let ids = f.median(Variant::Ids);
    let vs_inflate = inflate / reader;
    let vs_naive = naive / reader;
    let _ = writeln!(
        w,
        "\nGoals: reader >= {:.0}% of inflate alone: {:.0}%, **{}**; reader >= {}x naive: \
         {vs_naive:.2}x, **{}**. Upserts made: {} (every variant agrees on lines and upserts).",
        READER_VS_INFLATE_GOAL * 100.0,
        vs_inflate * 100.0,
        verdict(vs_inflate >= READER_VS_INFLATE_GOAL),
        READER_VS_NAIVE_GOAL,
        verdict(vs_naive >= READER_VS_NAIVE_GOAL),
        f.upserts,
    );
    let simd = f.median(Variant::ScanSimd);
    let _ = writeln!(
        w,
        "\nThe ceiling for any reader that checks each line is JSON: only scanning every line, \
         nothing kept, already runs at {:.0}% of inflate alone with serde_json and {:.0}% with \
         sonic-rs.",
        100.0 * inflate / scan,
        100.0 * inflate / simd,
    );
    let per_user = |seconds: f64| seconds * 1e6 / f.users.max(1) as f64;
    let _ = writeln!(
        w,
        "\nWhere the reader's time goes (medians, per user): inflate + CRC {:.2} µs ({:.0}%), \
         line splitting {:.2} µs ({:.0}%), decode + map + de-duplication {:.2} µs ({:.0}%). \
         Of the decode + map: the lean decoder's walk of the line with only the ids kept \
         (an empty mapping: a body of the id alone) and the de-duplication {:.2} µs, the \
         attributes (email, name, `created_at` parsed and written as ISO 8601, the custom \
         attributes, written into the body) {:.2} µs. For scale: only scanning each line (`IgnoredAny`, nothing kept) costs \
         {:.2} µs with sonic-rs (the decoder's parser) and {:.2} µs with serde_json.",
        per_user(inflate),
        100.0 * inflate / reader,
        per_user(lines - inflate),
        100.0 * (lines - inflate) / reader,
        per_user(reader - lines),
        100.0 * (reader - lines) / reader,
        per_user(ids - lines),
        per_user(reader - ids),
        per_user(simd - lines),
        per_user(scan - lines),
    );
}

fn rss_section(w: &mut String, results: &[RssResult], command: &str) {
    let _ = writeln!(
        w,
        "\n## Worker peak RSS for one export file\n\n\
         `{command}`\n\n\
         The bench runs itself as a child process (`{flag}`) configured as sync-worker's \
         `main` is (its environment through `Config::from_env` and `into_deps`, a \
         `current_thread` runtime) that runs `FileSync::run` on one zip (one member of \
         realistic synthetic users) uploaded to moto, against the sandbox's Userflow \
         (`USERFLOW_RATE={rate}`; the sandbox runs in the parent, so it is not counted), then \
         prints its `VmHWM`. Default sync settings (8 upserts in flight, checkpoints every \
         2,000 lines).\n",
        flag = export_rss::CHILD_FLAG,
        rate = export_rss::USERFLOW_RATE,
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    let _ = writeln!(
        w,
        "| users in the file | zip size | peak RSS (`VmHWM`) | `VmHWM` once configured | \
         time in `FileSync::run` | upserted |\n|---:|---:|---:|---:|---:|---:|"
    );
    for r in results {
        let _ = writeln!(
            w,
            "| {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} s | {} |",
            r.users,
            r.file_bytes as f64 / (1024.0 * 1024.0),
            mib(r.peak_kib),
            mib(r.init_peak_kib),
            r.seconds,
            r.upserted,
        );
    }
    let peaks: Vec<f64> = results.iter().map(|r| mib(r.peak_kib)).collect();
    let highest = peaks.iter().copied().fold(0.0, f64::max);
    let lowest = peaks.iter().copied().fold(f64::INFINITY, f64::min);
    let _ = writeln!(
        w,
        "\nGoal: under {GOAL_MIB:.0} MiB for every file: highest {highest:.1} MiB, **{}**; \
         flat in file size: the largest file's peak is {:.1} MiB above the smallest's \
         ({:.2}x).",
        verdict(highest < GOAL_MIB),
        highest - lowest,
        highest / lowest,
    );
}

fn e2e_section(w: &mut String, o: &export_e2e::Outcome, command: &str) {
    let _ = writeln!(
        w,
        "\n## Export end to end under a known Userflow rate\n\n\
         `{command}`\n\n\
         {users} users in {files} zip files of {per} written straight into moto's export \
         bucket by the sandbox's synthetic route ({write:.0} s, not measured); the sandbox's \
         Userflow limits requests to R = {rate} per 1 s window and the relay's \
         `USERFLOW_RATE` is R. A `requested` manifest names the export; its signed callback \
         goes through export-callback's handler as an API Gateway event ({cb:.0} ms, one \
         `export_file` message per file); sync-worker's `handle_messages` drains the sync \
         queue as Lambda's event source mapping would: up to {inv} concurrent invocations of \
         up to 10 messages, each with a {budget} s budget, sharing one `Deps` (one Userflow \
         limiter), i.e. **one worker instance**; unfinished files continue through the \
         queue; a message handed back (batch item failure) reappears after the queue's \
         visibility timeout of {vis} s. Relay defaults otherwise (8 upserts in flight per file, retry policy).\n",
        users = o.plan.users,
        files = o.files,
        per = export_e2e::USERS_PER_FILE,
        write = o.write_seconds,
        rate = o.plan.rate,
        cb = o.callback_ms,
        inv = INVOCATIONS,
        budget = BUDGET.as_secs(),
        vis = o.plan.visibility_secs,
    );
    let fraction = o.achieved_rate() / f64::from(o.plan.rate);
    let c = &o.counts;
    let _ = writeln!(w, "| metric | value |\n|---|---:|");
    let _ = writeln!(w, "| first upsert → job `completed` | {:.1} s |", o.elapsed);
    let _ = writeln!(
        w,
        "| Userflow `POST /users` accepted (2xx) / all | {} / {} |",
        o.posts_ok, o.posts_all
    );
    let _ = writeln!(
        w,
        "| achieved rate (accepted / elapsed) | {:.0}/s = **{:.2} R** |",
        o.achieved_rate(),
        fraction
    );
    let _ = writeln!(
        w,
        "| all `POST /users` / elapsed | {:.0}/s |",
        o.posts_all as f64 / o.elapsed.max(f64::EPSILON)
    );
    let _ = writeln!(w, "| 429 answers from the sandbox | {} |", o.posts_429);
    let _ = writeln!(
        w,
        "| job state | {} ({} files done, {} failed) |",
        o.state.as_str(),
        o.files_done,
        o.files_failed
    );
    let _ = writeln!(
        w,
        "| lines / users / upserted / skipped / duplicates / rejected | {} / {} / {} / {} / {} / {} |",
        c.lines, c.users, c.upserted, c.skipped, c.duplicates, c.rejected
    );
    let _ = writeln!(
        w,
        "| invocations / batch item failures | {} / {} |",
        o.invocations, o.item_failures
    );
    let _ = writeln!(w, "| unhandled 429s | {} |", o.unhandled());
    if o.timed_out {
        let _ = writeln!(
            w,
            "\n**The bench gave up waiting** before the job ended: the elapsed time runs to \
             the give-up and the counts are partial."
        );
    }
    let _ = writeln!(
        w,
        "\nGoals: achieved rate >= {RATE_GOAL} R: {fraction:.2} R, **{}**; unhandled 429s \
         (users generated and neither upserted, skipped nor duplicates, plus rejected lines, \
         with the job `completed`) = 0: {}, **{}**.",
        verdict(fraction >= RATE_GOAL),
        o.unhandled(),
        verdict(o.unhandled() == 0 && o.state.as_str() == "completed"),
    );
}
