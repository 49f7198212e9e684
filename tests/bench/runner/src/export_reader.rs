//! Export reader throughput on one core: a synthetic export (default 200 files of 5,000
//! realistic users, zip and gzip) generated in memory first, then read on a `current_thread`
//! runtime by
//!
//! - *inflate alone*: relay-core's `inflate_only` (the same reads, inflate, CRC-32 and guards
//!   as the reader, no line splitting): the floor no reader can beat;
//! - *reader, lines only*: `ExportReader` splitting lines, nothing decoded (where the time
//!   between the floor and the full reader goes);
//! - *reader, lines scanned*: each line only walked by serde_json, then by sonic-rs (SIMD,
//!   the decoder's parser), nothing kept: the JSON floors;
//! - *reader + parse + map*: `ExportReader` over `MemorySource`, `ExportMapping::map_line` on
//!   each line (default mapping plus `plan` and `seats`: the request body to send) and the
//!   sync's own `braze_id` de-duplication set (`SeenIds`), as the sync does;
//! - *naive*: the whole object in memory, unzipped (async_zip, each entry into a `Vec`) or
//!   gunzipped (flate2) whole, a `serde_json::Value` per line, mapped to the same upsert
//!   from the `Value` and serialised into the same request body, and the same
//!   de-duplication.
//!
//! Each variant reads every file once per repetition; the report gives medians.

use std::collections::HashSet;
use std::hint::black_box;
use std::io::Read as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use relay_clients::upstream::json_bytes;
use relay_clients::userflow::{AttributeValue, Attributes, UserUpsert};
use relay_core::export::line::{ExportMapping, MappedLine, SeenIds, created_at};
use relay_core::export::reader::{
    ExportReader, LineContent, MemorySource, ReaderLimits, inflate_only,
};
use sandbox::ExportFormat;
use serde_json::Value;

use crate::stats::Samples;

/// Chunk size the in-memory source hands out: what one network read of a ranged GET yields.
pub const SOURCE_CHUNK: usize = 64 * 1024;
/// The generator's seed.
const SEED: u64 = 11;
/// The custom attributes mapped, as the sync's end-to-end tests configure them.
pub const CUSTOM_ATTRIBUTES: [&str; 2] = ["plan", "seats"];

/// What to generate and how often to read it.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Files per format.
    pub files: usize,
    /// Users per file.
    pub users_per_file: usize,
    /// Repetitions of every variant.
    pub reps: usize,
}

/// A way of reading the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `inflate_only`.
    Inflate,
    /// `ExportReader`, lines split, not decoded.
    Lines,
    /// `ExportReader`, each line only scanned by serde_json (`IgnoredAny`): the JSON floor.
    Scan,
    /// `ExportReader`, each line only scanned by sonic-rs (SIMD, `IgnoredAny`): the floor of
    /// the decoder's own parser.
    ScanSimd,
    /// `ExportReader` + `map_line` with an empty mapping (only the ids decoded) +
    /// de-duplication: the lean decoder's walk without the attributes.
    Ids,
    /// `ExportReader` + `map_line` + de-duplication.
    Reader,
    /// Whole object, whole inflate, `serde_json::Value` per line.
    Naive,
}

impl Variant {
    /// Every variant, in report order.
    pub const ALL: [Variant; 7] = [
        Variant::Inflate,
        Variant::Lines,
        Variant::Scan,
        Variant::ScanSimd,
        Variant::Ids,
        Variant::Reader,
        Variant::Naive,
    ];

    /// Whether the variant maps lines to upserts (and so counts them).
    pub fn maps(self) -> bool {
        matches!(self, Variant::Reader | Variant::Naive)
    }

    /// The report's name.
    pub fn label(self) -> &'static str {
        match self {
            Variant::Inflate => "inflate alone (`inflate_only`)",
            Variant::Lines => "reader, lines only (no decode)",
            Variant::Scan => "reader, lines scanned by serde_json (`IgnoredAny`)",
            Variant::ScanSimd => "reader, lines scanned by sonic-rs (SIMD, `IgnoredAny`)",
            Variant::Ids => "reader + `map_line` with an empty mapping (ids only)",
            Variant::Reader => "**reader + parse + map**",
            Variant::Naive => "naive (whole object, `Value` per line)",
        }
    }
}

/// One format's results: per variant, the seconds of each repetition.
#[derive(Debug, Clone)]
pub struct FormatResult {
    /// `zip` or `gzip`.
    pub format: &'static str,
    /// Compressed bytes of all files.
    pub compressed_bytes: u64,
    /// Inflated bytes of all files.
    pub inflated_bytes: u64,
    /// Lines (users) in all files.
    pub users: u64,
    /// Upserts the reader produced (users with an external id, first sighting).
    pub upserts: u64,
    /// Per variant (in [`Variant::ALL`] order), the seconds of each repetition.
    pub seconds: Vec<(Variant, Vec<f64>)>,
}

impl FormatResult {
    /// The median seconds of `variant`.
    pub fn median(&self, variant: Variant) -> f64 {
        self.seconds
            .iter()
            .find(|(v, _)| *v == variant)
            .map(|(_, s)| Samples::new(s.clone()).median())
            .unwrap_or(f64::NAN)
    }
}

/// Everything the benchmark measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// Zip, then gzip.
    pub formats: Vec<FormatResult>,
    /// Time spent generating the files (not measured).
    pub generation: Duration,
    /// `created_at` alone per user, in µs: `created_at_iso` of Braze's form.
    pub created_at_micros: f64,
    /// The naive reader's serialisation of its upsert alone per user, in µs.
    pub naive_body_micros: f64,
}

/// Generates the files (on every core), then measures on one thread with a
/// `current_thread` runtime.
pub fn measure(plan: Plan) -> Result<Outcome, String> {
    let started = Instant::now();
    let zips = generate(plan, ExportFormat::Zip);
    let gzips = generate(plan, ExportFormat::Gzip);
    let generation = started.elapsed();
    eprintln!(
        "relay-bench: export reader: generated {} zip and {} gzip files in {:.1} s",
        zips.len(),
        gzips.len(),
        generation.as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("a current_thread runtime: {e}"))?;
    let mapping = ExportMapping::default()
        .with_custom_attributes(CUSTOM_ATTRIBUTES)
        .map_err(|e| format!("the bench mapping: {e}"))?;
    let ids_only = ExportMapping::new(Default::default());
    let mut formats = Vec::new();
    for (format, files, extension) in [("zip", &zips, ".zip"), ("gzip", &gzips, ".gz")] {
        let names: Vec<String> = (0..files.len())
            .map(|i| format!("bench-{i:04}{extension}"))
            .collect();
        let mut result = FormatResult {
            format,
            compressed_bytes: files.iter().map(|f| f.len() as u64).sum(),
            inflated_bytes: 0,
            users: 0,
            upserts: 0,
            seconds: Variant::ALL.iter().map(|v| (*v, Vec::new())).collect(),
        };
        for rep in 0..plan.reps {
            for (slot, variant) in Variant::ALL.iter().enumerate() {
                let started = Instant::now();
                let mapping = if *variant == Variant::Ids {
                    &ids_only
                } else {
                    &mapping
                };
                let counts = runtime.block_on(read_all(*variant, &names, files, mapping))?;
                let seconds = started.elapsed().as_secs_f64();
                eprintln!(
                    "relay-bench: export reader: {format} rep {}/{}: {:<40} {seconds:.2} s",
                    rep + 1,
                    plan.reps,
                    variant.label()
                );
                result.seconds[slot].1.push(seconds);
                check_counts(&mut result, *variant, counts)?;
            }
        }
        formats.push(result);
    }
    let created_at_micros = created_at_micros(&gzips[0])?;
    let naive_body_micros = naive_body_micros(&gzips[0])?;
    Ok(Outcome {
        plan,
        formats,
        generation,
        created_at_micros,
        naive_body_micros,
    })
}

/// How many calls a per-user micro-measurement times.
const MICRO_CALLS: usize = 1_000_000;

/// The users of one gzip file, as `Value`s.
fn users_of(gzip: &Bytes) -> Result<Vec<Value>, String> {
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(&gzip[..])
        .read_to_end(&mut text)
        .map_err(|e| format!("the first gzip file: {e}"))?;
    Ok(text
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .collect())
}

/// The per-user cost of the naive reader's serialisation alone (its upsert into the request
/// body), over the first file's upserts repeated to [`MICRO_CALLS`] calls, in µs.
fn naive_body_micros(gzip: &Bytes) -> Result<f64, String> {
    let upserts: Vec<UserUpsert> = users_of(gzip)?.iter().filter_map(naive_upsert).collect();
    if upserts.is_empty() {
        return Err("the first file has no user to upsert".into());
    }
    let started = Instant::now();
    for upsert in upserts.iter().cycle().take(MICRO_CALLS) {
        black_box(naive_body(black_box(upsert))?);
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / MICRO_CALLS as f64)
}

/// The per-user cost of `created_at` alone (Braze's form rewritten as ISO 8601),
/// over the first file's values repeated to [`MICRO_CALLS`] calls, in µs.
fn created_at_micros(gzip: &Bytes) -> Result<f64, String> {
    let values: Vec<String> = users_of(gzip)?
        .iter()
        .filter_map(|user| user.get("created_at")?.as_str().map(str::to_owned))
        .collect();
    if values.is_empty() {
        return Err("the first file has no created_at".into());
    }
    let started = Instant::now();
    for value in values.iter().cycle().take(MICRO_CALLS) {
        let iso = created_at::created_at_iso(black_box(value))
            .ok_or_else(|| format!("`{value}` is not a created_at"))?;
        black_box(iso);
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / MICRO_CALLS as f64)
}

/// What one pass over the files counted.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    inflated: u64,
    lines: u64,
    upserts: u64,
}

/// Records the first pass's counts; every later pass (and every variant) must agree.
fn check_counts(result: &mut FormatResult, variant: Variant, counts: Counts) -> Result<(), String> {
    let format = result.format;
    let agree = |recorded: &mut u64, seen: u64, what: &str| {
        if *recorded == 0 {
            *recorded = seen;
        }
        if *recorded == seen {
            Ok(())
        } else {
            Err(format!(
                "{format}: {variant:?} gave {seen} {what}, an earlier pass {recorded}"
            ))
        }
    };
    if variant == Variant::Inflate {
        return agree(
            &mut result.inflated_bytes,
            counts.inflated,
            "inflated bytes",
        );
    }
    agree(&mut result.users, counts.lines, "lines")?;
    if variant.maps() {
        agree(&mut result.upserts, counts.upserts, "upserts")?;
    }
    Ok(())
}

/// The export files of `plan` in `format`, built on every core.
fn generate(plan: Plan, format: ExportFormat) -> Vec<Bytes> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut files: Vec<Option<Bytes>> = vec![None; plan.files];
    std::thread::scope(|scope| {
        for (worker, slots) in files
            .chunks_mut(plan.files.div_ceil(threads).max(1))
            .enumerate()
        {
            let first_file = worker * plan.files.div_ceil(threads).max(1);
            scope.spawn(move || {
                for (offset, slot) in slots.iter_mut().enumerate() {
                    let first_user = (first_file + offset) * plan.users_per_file;
                    *slot = Some(Bytes::from(sandbox::synthetic_export_file(
                        first_user,
                        plan.users_per_file,
                        SEED,
                        format,
                        1,
                    )));
                }
            });
        }
    });
    files.into_iter().flatten().collect()
}

async fn read_all(
    variant: Variant,
    names: &[String],
    files: &[Bytes],
    mapping: &ExportMapping,
) -> Result<Counts, String> {
    let mut total = Counts::default();
    for (name, body) in names.iter().zip(files) {
        let counts = match variant {
            Variant::Inflate => {
                let source = MemorySource::new(name.clone(), body.clone()).chunked(SOURCE_CHUNK);
                let inflated = inflate_only(source, ReaderLimits::default())
                    .await
                    .map_err(|e| format!("{name}: {e}"))?;
                Counts {
                    inflated,
                    ..Counts::default()
                }
            }
            Variant::Lines | Variant::Scan | Variant::ScanSimd | Variant::Ids | Variant::Reader => {
                reader_pass(name, body, mapping, variant).await?
            }
            Variant::Naive => naive_pass(name, body).await?,
        };
        total.inflated += counts.inflated;
        total.lines += counts.lines;
        total.upserts += counts.upserts;
    }
    Ok(total)
}

/// The reader over one file: lines only, lines scanned by serde_json, or every line mapped
/// and de-duplicated as the sync does.
async fn reader_pass(
    name: &str,
    body: &Bytes,
    mapping: &ExportMapping,
    variant: Variant,
) -> Result<Counts, String> {
    let source = MemorySource::new(name, body.clone()).chunked(SOURCE_CHUNK);
    let mut reader = ExportReader::open(source, ReaderLimits::default())
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let mut counts = Counts::default();
    let mut seen = SeenIds::default();
    while let Some(line) = reader
        .next_line()
        .await
        .map_err(|e| format!("{name}: {e}"))?
    {
        counts.lines += 1;
        let LineContent::Text(text) = line.content else {
            return Err(format!("{name}: line {} is too long", line.number));
        };
        match variant {
            Variant::Lines => {
                black_box(&text);
                continue;
            }
            Variant::Scan => {
                serde_json::from_slice::<serde::de::IgnoredAny>(&text)
                    .map_err(|e| format!("{name}: line {}: {e}", line.number))?;
                continue;
            }
            Variant::ScanSimd => {
                sonic_rs::from_slice::<serde::de::IgnoredAny>(&text)
                    .map_err(|e| format!("{name}: line {}: {e}", line.number))?;
                continue;
            }
            _ => {}
        }
        let mapped = mapping
            .map_line(&text)
            .map_err(|e| format!("{name}: line {}: {e}", line.number))?;
        let (braze_id, body) = match mapped {
            MappedLine::Upsert { braze_id, body, .. } => (braze_id, Some(body)),
            MappedLine::NoExternalId { braze_id } => (braze_id, None),
        };
        if let Some(id) = braze_id
            && !seen.insert(id)
        {
            continue;
        }
        if let Some(body) = body {
            counts.upserts += 1;
            black_box(body);
        }
    }
    Ok(counts)
}

/// The naive reader: the whole object inflated into memory, then a `Value` per line.
/// async_zip's whole-buffer reader (`mem`, deprecated since 0.0.19 for `read1`, still
/// shipped) is the obvious choice for "the whole object in memory".
#[allow(deprecated)]
async fn naive_pass(name: &str, body: &Bytes) -> Result<Counts, String> {
    let mut members: Vec<Vec<u8>> = Vec::new();
    if name.ends_with(".zip") {
        let zip = async_zip::base::read::mem::ZipFileReader::new(body.to_vec())
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        for index in 0..zip.file().entries().len() {
            let mut entry = zip
                .reader_with_entry(index)
                .await
                .map_err(|e| format!("{name}: entry {index}: {e}"))?;
            let mut inflated = Vec::new();
            entry
                .read_to_end_checked(&mut inflated)
                .await
                .map_err(|e| format!("{name}: entry {index}: {e}"))?;
            members.push(inflated);
        }
    } else {
        let mut inflated = Vec::new();
        flate2::read::MultiGzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .map_err(|e| format!("{name}: {e}"))?;
        members.push(inflated);
    }
    let mut counts = Counts::default();
    let mut seen: HashSet<String> = HashSet::new();
    for member in &members {
        counts.inflated += member.len() as u64;
        for line in member.split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            counts.lines += 1;
            let value: Value = serde_json::from_slice(line)
                .map_err(|e| format!("{name}: line {}: {e}", counts.lines))?;
            let braze_id = value
                .get("braze_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(id) = braze_id
                && !seen.insert(id)
            {
                continue;
            }
            if let Some(upsert) = naive_upsert(&value) {
                counts.upserts += 1;
                black_box(naive_body(&upsert)?);
            }
        }
    }
    Ok(counts)
}

/// The naive mapping from a `Value`: the default attributes (email, name, `signed_up_at`
/// from `created_at`) and the custom attributes, as `map_line` makes them.
fn naive_upsert(user: &Value) -> Option<UserUpsert> {
    let id = match user.get("external_id")? {
        Value::String(id) => id.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let text = |key: &str| {
        user.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let mut attributes = Attributes::new();
    let mut put = |name: &str, value: Value| {
        attributes.insert(name.to_owned(), AttributeValue::Plain(value));
    };
    if let Some(email) = text("email") {
        put("email", Value::from(email));
    }
    match (text("first_name"), text("last_name")) {
        (Some(first), Some(last)) => put("name", Value::from(format!("{first} {last}"))),
        (Some(one), None) | (None, Some(one)) => put("name", Value::from(one)),
        (None, None) => {}
    }
    if let Some(at) = text("created_at").and_then(naive_created_at) {
        put("signed_up_at", Value::from(at));
    }
    if let Some(custom) = user.get("custom_attributes").and_then(Value::as_object) {
        for name in CUSTOM_ATTRIBUTES {
            if let Some(value) = custom.get(name).filter(|v| !v.is_null()) {
                put(name, value.clone());
            }
        }
    }
    let mut upsert = UserUpsert::new(id);
    if !attributes.is_empty() {
        upsert.attributes = Some(attributes);
    }
    Some(upsert)
}

/// The request body of a naive upsert, as the client serialises it.
fn naive_body(upsert: &UserUpsert) -> Result<Bytes, String> {
    json_bytes(upsert).map_err(|e| format!("a naive upsert: {e}"))
}

/// `2020-07-10 15:00:00.000 UTC` or RFC 3339, to ISO 8601 UTC.
fn naive_created_at(text: &str) -> Option<String> {
    let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f UTC")
        .map(|naive| naive.and_utc())
        .or_else(|_| {
            chrono::DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&chrono::Utc))
        })
        .ok()?;
    Some(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_braze_created_at_is_read_naively_then_it_becomes_iso_utc() {
        assert_eq!(
            naive_created_at("2020-07-10 15:00:00.000 UTC").as_deref(),
            Some("2020-07-10T15:00:00.000Z")
        );
        assert_eq!(
            naive_created_at("2020-07-10T17:00:00+02:00").as_deref(),
            Some("2020-07-10T15:00:00.000Z")
        );
        assert_eq!(naive_created_at("yesterday"), None);
    }

    #[test]
    fn when_the_naive_mapping_and_map_line_read_a_synthetic_user_then_the_bodies_are_equal() {
        let mapping = ExportMapping::default()
            .with_custom_attributes(CUSTOM_ATTRIBUTES)
            .unwrap();
        let file = sandbox::synthetic_export_file(0, 40, SEED, ExportFormat::Gzip, 1);
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(&file[..])
            .read_to_end(&mut text)
            .unwrap();
        let mut compared = 0;
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let value: Value = serde_json::from_slice(line).unwrap();
            let lean = match mapping.map_line(line).unwrap() {
                MappedLine::Upsert { body, .. } => Some(body.json().clone()),
                MappedLine::NoExternalId { .. } => None,
            };
            let naive = naive_upsert(&value).map(|upsert| naive_body(&upsert).unwrap());
            assert_eq!(naive, lean, "{value}");
            compared += 1;
        }
        assert_eq!(compared, 40);
    }
}
