//! The export reader (`relay_core::export::reader`) over a zip or a gzip object held in
//! memory (`MemorySource`, in small chunks so every streaming path runs), and the export
//! line decoder (`ExportMapping::map_line`).
//!
//! The reader: whatever the bytes, it ends in lines and `Ok`, or a permanent error (a memory
//! source never fails as a source); lines are numbered 1, 2, .. with gaps only for blank
//! lines, never hold a `\n`, never exceed the line limit (a longer one is `TooLong` with its
//! real length and a short excerpt), and never add up to more than the inflate limit. A gzip
//! the reader reads is one flate2 decodes too, to the same lines.
//!
//! The line decoder: `Ok` is an upsert body that is a JSON object with a valid id and no
//! `null`, or a line without an external id; an error has a stable reason code.

use std::io::Read as _;
use std::sync::OnceLock;

use relay_core::export::line::{ExportMapping, MappedLine};
use relay_core::export::reader::{
    EXCERPT_BYTES, ExportLine, ExportReader, LineContent, MemorySource, ReaderError, ReaderLimits,
};
use serde_json::Value;

/// The limits every reader body uses: small, so the guards are reached.
pub const LIMITS: ReaderLimits = ReaderLimits {
    max_line_bytes: 512,
    max_inflated_bytes: 1024 * 1024,
    max_ratio: 200,
    max_directory_bytes: 64 * 1024,
};

/// Bytes per chunk the memory source hands out.
pub const CHUNK: usize = 97;

/// A zip export file.
pub fn zip_reader(data: &[u8]) {
    unwinding_panics();
    check_lines(&read("fuzz.zip", data, CHUNK));
}

/// Panics unwind as in the functions (libFuzzer's hook aborts at once), so the reader's own
/// guard around rc-zip's parser is what is fuzzed; a panic that reaches the runner (a broken
/// invariant) still fails the run, as libfuzzer-sys aborts on it.
fn unwinding_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
}

/// A gzip export file; what it reads must be what flate2 reads.
pub fn gzip_reader(data: &[u8]) {
    let result = read("fuzz.gz", data, CHUNK);
    check_lines(&result);
    let Ok(lines) = result else { return };
    let mut inflated = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(data);
    decoder
        .read_to_end(&mut inflated)
        .expect("a gzip the reader reads is one flate2 reads");
    assert_eq!(
        summary(&lines),
        expected_lines(&inflated, LIMITS.max_line_bytes)
    );
}

/// One exported user line, through the default mapping and one that reads every field and
/// a few custom attributes.
pub fn export_line(data: &[u8]) {
    for mapping in [ExportMapping::default(), wide_mapping()] {
        match mapping.map_line(data) {
            Ok(MappedLine::Upsert { body, dropped, .. }) => {
                let json: Value =
                    serde_json::from_slice(body.json()).expect("the upsert body is JSON");
                let id = json["id"].as_str().expect("the body has a string id");
                assert!(!id.is_empty() && id.len() <= 987, "id out of bounds");
                assert!(
                    !id.chars().any(char::is_control),
                    "control character in the id"
                );
                let attributes = json.get("attributes").and_then(Value::as_object);
                for (name, value) in attributes.into_iter().flatten() {
                    assert!(!value.is_null(), "{name} sent as null");
                    assert!(!dropped.contains(name), "{name} both sent and dropped");
                }
                assert!(body.json().len() <= data.len() * 6 + 512, "the body grew");
            }
            Ok(MappedLine::NoExternalId { .. }) => {}
            Err(error) => {
                assert!(!error.reason().is_empty());
                assert!(error.to_string().len() <= 200, "{error}");
            }
        }
    }
}

fn wide_mapping() -> ExportMapping {
    ExportMapping::from_json(
        r#"{"attributes": {"email": "email", "name": "name", "first": "first_name",
            "last": "last_name", "phone": "phone", "country": "country",
            "signed_up_at": "created_at", "plan": "custom_attributes.plan",
            "tags": "custom_attributes.tags", "seats": "custom_attributes.seats"}}"#,
    )
    .expect("the mapping is valid")
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// Every line of `data` read as `name`, in chunks of `chunk` bytes, or the error that ended
/// the file.
pub fn read(name: &str, data: &[u8], chunk: usize) -> Result<Vec<ExportLine>, ReaderError> {
    let source = MemorySource::new(name, data.to_vec()).chunked(chunk);
    runtime().block_on(async {
        let mut reader = ExportReader::open(source, LIMITS).await?;
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().await? {
            lines.push(line);
        }
        Ok(lines)
    })
}

/// The reader's invariants over one result.
pub fn check_lines(result: &Result<Vec<ExportLine>, ReaderError>) {
    let lines = match result {
        Ok(lines) => lines,
        Err(ReaderError::Source { .. }) => panic!("a memory source failed as a source"),
        Err(error) => {
            assert_eq!(
                error.class(),
                relay_clients::upstream::FailureClass::Permanent
            );
            return;
        }
    };
    let mut previous: Option<&ExportLine> = None;
    let mut inflated = 0u64;
    for line in lines {
        assert!(line.member_line >= 1);
        match previous {
            None => assert!(line.number >= 1),
            Some(previous) => {
                assert!(line.number > previous.number, "numbers go back");
                if previous.member == line.member {
                    assert!(line.member_line > previous.member_line);
                }
            }
        }
        match &line.content {
            LineContent::Text(text) => {
                assert!(text.len() <= LIMITS.max_line_bytes, "a line over the limit");
                assert!(!text.contains(&b'\n'));
                assert!(!text.iter().all(u8::is_ascii_whitespace), "a blank line");
                inflated += text.len() as u64;
            }
            LineContent::TooLong { len, excerpt } => {
                assert!(
                    *len > LIMITS.max_line_bytes as u64,
                    "TooLong under the limit"
                );
                assert!(excerpt.len() <= EXCERPT_BYTES && excerpt.len() as u64 <= *len);
                inflated += len;
            }
        }
        previous = Some(line);
    }
    // Each member (or the gzip stream) inflates to at most the limit.
    let mut members: Vec<Option<&str>> = lines.iter().map(|l| l.member.as_deref()).collect();
    members.dedup();
    let members = members.len().max(1) as u64;
    assert!(
        inflated <= LIMITS.max_inflated_bytes * members,
        "inflated past the limit"
    );
}

/// (number, text or `TooLong(len)`) per line.
pub fn summary(lines: &[ExportLine]) -> Vec<(u64, Result<Vec<u8>, u64>)> {
    lines
        .iter()
        .map(|line| {
            let content = match &line.content {
                LineContent::Text(text) => Ok(text.to_vec()),
                LineContent::TooLong { len, .. } => Err(*len),
            };
            (line.number, content)
        })
        .collect()
}

/// The lines the documented rules give for `inflated`: split on `\n`, one trailing `\r`
/// dropped, blank lines numbered but not yielded, longer than `max` reported by length.
pub fn expected_lines(inflated: &[u8], max: usize) -> Vec<(u64, Result<Vec<u8>, u64>)> {
    let mut parts: Vec<&[u8]> = inflated.split(|b| *b == b'\n').collect();
    if parts.last().is_some_and(|last| last.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .enumerate()
        .filter_map(|(index, part)| {
            let part = part.strip_suffix(b"\r").unwrap_or(part);
            let number = index as u64 + 1;
            if part.len() > max {
                Some((number, Err(part.len() as u64)))
            } else if part.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some((number, Ok(part.to_vec())))
            }
        })
        .collect()
}
