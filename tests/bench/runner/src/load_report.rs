//! The load benchmarks' report sections (signup load, Braze rate, soak) and the charts drawn
//! from them; the SVG files are linked relatively, next to the markdown.

use std::fmt::Write as _;

use crate::braze_rate::{self, SENDERS, SKIP_SECS, WINDOW_SECS};
use crate::delivered::Delivery;
use crate::plot::{Chart, Line};
use crate::relay_local::{BRAZE_TRACK_RATE, USERFLOW_RATE};
use crate::report::ms;
use crate::series;
use crate::signup_load;
use crate::signups::{SOURCES, Tally};
use crate::soak::{self, FAULT_EVERY_SECS, FAULT_SECS};
use crate::stats::Samples;

/// What the sections print about the `relay` binary measured.
pub struct Binary<'a> {
    /// Its path.
    pub path: &'a str,
    /// When it was built.
    pub built_at: &'a str,
}

fn mib(value: f64) -> String {
    format!("{value:.1} MiB")
}

fn statuses(tally: &Tally) -> String {
    let all: Vec<String> = tally
        .statuses
        .iter()
        .map(|(status, n)| match status {
            0 => format!("no answer: {n}"),
            s => format!("{s}: {n}"),
        })
        .collect();
    all.join(", ")
}

fn failures(tally: &Tally) -> String {
    if tally.failures.is_empty() {
        return "none".to_owned();
    }
    let all: Vec<String> = tally
        .failures
        .iter()
        .map(|((source, status), n)| format!("{source} {status}: {n}"))
        .collect();
    all.join(", ")
}

/// The two rows both load sections give: what the sandbox holds of the `sent` signups.
fn delivery_rows(d: &Delivery, sent: usize) -> String {
    format!(
        "| delivered (Braze once / Userflow / `signed_up` once) | {} / {} / {} of {sent} |\n\
         | lost / in Braze twice / `signed_up` twice | **{}** / {} / {} |",
        d.braze_once,
        d.userflow,
        d.events_once,
        d.lost(),
        d.braze_duplicated,
        d.events_duplicated
    )
}

fn settings_note() -> String {
    format!(
        "`relay local` runs with the four sources enabled, the vendors at a sandbox inside \
         relay-bench (so its memory is the relay's alone), `BRAZE_TRACK_RATE={BRAZE_TRACK_RATE}` \
         (crm-signup's and the sync-worker's clients: 2 x {BRAZE_TRACK_RATE} = the sandbox's \
         3,000 per 3 s), `USERFLOW_RATE={USERFLOW_RATE}` (the sandbox's Userflow has no limit; \
         the default 10/s would be all that is measured), visibility timeout 5 s"
    )
}

/// The signup-load section.
pub fn signup_load(w: &mut String, o: &signup_load::Outcome, command: &str, binary: &Binary) {
    let latency = Samples::new(o.tally.latencies_ms.clone());
    let rate = o.timed as f64 / o.wall_secs.max(f64::EPSILON);
    let moto = o
        .moto
        .as_ref()
        .map_or("unknown".to_owned(), |m| mib(m.peak_mib()));
    let _ = writeln!(
        w,
        "\n## Signup load: {n} signups at concurrency {c} against `relay local`\n\n\
         `{command}`\n\n\
         `{path}` (built {built}) as `relay local`, a child process. {n} signed signup webhooks \
         of one contact each, the {sources} sources in turn ({list}), built and signed by \
         relay-core's `crm::outbound` (as `relay webhook send`), POSTed with reqwest to its API \
         Gateway emulation: the first per source alone as a check, the other {timed} with {c} \
         in flight. Then the bench waits until the sandbox holds every contact. {settings}.\n\n\
         | figure | value |\n| --- | ---: |\n\
         | throughput | **{rate:.0} requests/s = {rate:.0} contacts/s** ({timed} in {wall:.1} s) |\n\
         | latency p50 / p95 / p99 / max | {p50} / {p95} / {p99} / {max} |\n\
         | answers by status | {statuses} |\n\
         | not 2xx, by source and status | {failures} |\n\
         {delivered}\n\
         | last answer to all delivered | {drain:.1} s |\n\
         | peak RSS `relay local` (`VmHWM`) | **{relay_peak}** |\n\
         | peak RSS moto (`VmHWM`) | {moto} |\n\
         | upstream: Braze `/users/track` / Userflow requests / 429s | {track} / {userflow} / {throttled} |",
        n = o.plan.signups,
        c = o.plan.concurrency,
        path = binary.path,
        built = binary.built_at,
        sources = SOURCES.len(),
        list = SOURCES.join(", "),
        timed = o.timed,
        settings = settings_note(),
        wall = o.wall_secs,
        p50 = ms(latency.percentile(50.0)),
        p95 = ms(latency.percentile(95.0)),
        p99 = ms(latency.percentile(99.0)),
        max = ms(latency.max()),
        statuses = statuses(&o.tally),
        failures = failures(&o.tally),
        delivered = delivery_rows(&o.delivery, o.plan.signups),
        drain = o.drain_secs,
        relay_peak = mib(o.relay.peak_mib()),
        track = o.upstream_requests.0,
        userflow = o.upstream_requests.1,
        throttled = o.throttled,
    );
}

/// The Braze rate chart: accepted requests per second against L, and the 429s.
pub fn braze_rate_chart(o: &braze_rate::Outcome) -> Chart {
    let per_second = |bins: &[u64]| -> Vec<(f64, f64)> {
        bins.iter()
            .enumerate()
            .map(|(s, n)| (s as f64 + 0.5, *n as f64))
            .collect()
    };
    Chart {
        title: format!(
            "Braze /users/track accepted per second, L = {}/s",
            o.plan.limit
        ),
        x_label: "seconds since the first request".into(),
        y_label: "requests per second".into(),
        lines: vec![
            Line {
                label: "accepted (2xx)".into(),
                points: per_second(&o.accepted),
            },
            Line {
                label: "answered 429".into(),
                points: per_second(&o.throttled),
            },
            Line {
                label: format!("accepted, mean of each {WINDOW_SECS} s window"),
                points: series::per_window(&o.accepted, WINDOW_SECS as usize),
            },
        ],
        limit: Some((
            format!(
                "limit L = {}/s ({} per {WINDOW_SECS} s)",
                o.plan.limit,
                u64::from(o.plan.limit) * WINDOW_SECS
            ),
            f64::from(o.plan.limit),
        )),
        windows: None,
    }
}

/// The Braze rate section; `svg` is the chart's relative link.
pub fn braze_rate(w: &mut String, o: &braze_rate::Outcome, command: &str, svg: &str) {
    let ratio = o.ratio();
    let verdict = if ratio >= braze_rate::GOAL && o.surfaced_429s == 0 {
        "PASS"
    } else {
        "MISS"
    };
    let l = o.plan.limit;
    let _ = writeln!(
        w,
        "\n## Braze rate limit: `/users/track` at L = {l}/s\n\n\
         `{command}`\n\n\
         The sandbox's `/users/track` limit set to {window_limit} per {WINDOW_SECS} s (Braze's \
         shape: fixed windows, `X-RateLimit-*` headers, 429 with a retry hint); one \
         `BrazeClient` built by relay-core's configuration with `BRAZE_TRACK_RATE={l}` (one \
         instance x {l}/s <= L, the README's formula); {SENDERS} concurrent track calls of \
         {objects} profiles (one request each) sharing it, flat out for {secs} s: the shared \
         limiter, the send loop and the vendor headers' pacing. Rates per second from the \
         sandbox's request log; the steady part leaves out the first {SKIP_SECS} s.\n\n\
         ![accepted requests per second against L]({svg})\n\n\
         | figure | value |\n| --- | ---: |\n\
         | steady accepted rate | {rate:.1}/s |\n\
         | **achieved / L** (goal >= {goal}) | **{ratio:.3} {verdict}** |\n\
         | track calls made | {calls} |\n\
         | 429s the sandbox sent / the client counted | {s429} / {c429} |\n\
         | **unhandled 429s** (calls failed with a 429) | **{unhandled}** |\n\
         | calls failed otherwise | {other} |",
        window_limit = u64::from(l) * WINDOW_SECS,
        objects = braze_rate::OBJECTS_PER_REQUEST,
        secs = o.plan.seconds,
        rate = o.steady_rate(),
        goal = braze_rate::GOAL,
        calls = o.calls,
        s429 = o.sandbox_429s,
        c429 = o.client_429s,
        unhandled = o.surfaced_429s,
        other = o.other_failures,
    );
}

/// The soak chart: RSS over time, the faults shaded.
pub fn soak_chart(o: &soak::Outcome) -> Chart {
    Chart {
        title: format!(
            "relay local RSS over a {} s soak at {} signups/s",
            o.plan.seconds, o.plan.rate
        ),
        x_label: "seconds since the trickle started".into(),
        y_label: "VmRSS (MiB)".into(),
        lines: vec![Line {
            label: "relay local RSS".into(),
            points: o.relay.rss_mib.clone(),
        }],
        limit: None,
        windows: Some((
            format!("fault ({FAULT_SECS} s)"),
            o.faults.iter().map(|f| (f.from, f.to)).collect(),
        )),
    }
}

/// The soak section; `svg` is the chart's relative link.
pub fn soak(w: &mut String, o: &soak::Outcome, command: &str, binary: &Binary, svg: &str) {
    let samples = o.trickle_samples();
    let rss = |sample: Option<&(f64, f64)>| sample.map_or("unknown".to_owned(), |s| mib(s.1));
    let slope = o
        .slope_mib_per_minute()
        .map_or("unknown".to_owned(), |s| format!("{s:+.3} MiB/min"));
    let faults: Vec<String> = o
        .faults
        .iter()
        .map(|f| format!("{:.0} s {} ({} requests)", f.from, f.kind, f.fired))
        .collect();
    let _ = writeln!(
        w,
        "\n## Soak: {secs} s at {rate} signups/s with a fault every {FAULT_EVERY_SECS} s\n\n\
         `{command}`\n\n\
         `{path}` (built {built}) as `relay local`, signups as in the signup load, one every \
         1/{rate} s without waiting for answers; every {FAULT_EVERY_SECS} s a {FAULT_SECS} s \
         fault in the sandbox, in turn: Braze `/users/track` 503 with HTML bodies, Braze 429 \
         (retry after 2 s), Userflow answers 3 s late. `VmRSS` of `relay local` read every \
         second; the slope is least squares over the trickle's second half. {settings}.\n\n\
         ![relay local RSS over the soak, faults shaded]({svg})\n\n\
         | figure | value |\n| --- | ---: |\n\
         | RSS at start / end of the trickle | {start} / {end} |\n\
         | peak RSS (`VmHWM`) | {peak} |\n\
         | **RSS slope, second half** | **{slope}** |\n\
         | signups sent / not 2xx | {sent} / {non_2xx} |\n\
         | answers by status | {statuses} |\n\
         {delivered}\n\
         | end of trickle to all delivered | {drain:.1} s |\n\
         | faults (start, kind, requests hit) | {faults} |",
        secs = o.plan.seconds,
        rate = o.plan.rate,
        path = binary.path,
        built = binary.built_at,
        settings = settings_note(),
        start = rss(samples.first()),
        end = rss(samples.last()),
        peak = mib(o.relay.peak_mib()),
        sent = o.sent,
        non_2xx = o.tally.non_2xx(),
        statuses = statuses(&o.tally),
        delivered = delivery_rows(&o.delivery, o.sent),
        drain = o.drain_secs,
        faults = faults.join("; "),
    );
}
