//! Properties of the reader over generated files: however the object's bytes are cut into
//! chunks, the same lines come out, and they are the lines the module documentation defines
//! (split on `\n`, one `\r` dropped, blank lines numbered but not yielded, a line over the
//! limit reported with its length, whether it fitted in one read or not); arbitrary bytes
//! end in lines or a file-level error, never a panic or a source error.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;

use super::*;
use relay_clients::upstream::FailureClass;

/// A small line limit, so lines are too long both within one read and across reads
/// (longer than [`READ_CHUNK`]).
const LIMITS: ReaderLimits = ReaderLimits {
    max_line_bytes: 300,
    max_inflated_bytes: 4 * 1024 * 1024,
    max_ratio: 100_000,
    max_directory_bytes: 1024 * 1024,
};

/// One generated line: its text and whether it ends in `\r\n`.
fn line() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let text = prop_oneof![
        6 => "[ -~]{0,40}".prop_map(String::into_bytes),
        1 => "[ \t]{0,3}".prop_map(String::into_bytes),
        1 => (290..310usize).prop_map(|len| vec![b'y'; len]),
        1 => (READ_CHUNK - 8..READ_CHUNK + 400).prop_map(|len| vec![b'x'; len]),
    ];
    (text, any::<bool>())
}

fn file(lines: &[(Vec<u8>, bool)], final_newline: bool) -> Vec<u8> {
    let mut text = Vec::new();
    for (i, (line, crlf)) in lines.iter().enumerate() {
        text.extend_from_slice(line);
        if *crlf {
            text.push(b'\r');
        }
        if i + 1 < lines.len() || final_newline {
            text.push(b'\n');
        }
    }
    text
}

fn gzip(text: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

type Summary = Vec<(u64, Result<Vec<u8>, (u64, Vec<u8>)>)>;

/// The lines the documentation defines for `text`.
fn expected(text: &[u8]) -> Summary {
    let mut parts: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    if parts.last().is_some_and(|last| last.is_empty()) {
        parts.pop();
    }
    let mut lines = Vec::new();
    for (index, part) in parts.into_iter().enumerate() {
        let part = part.strip_suffix(b"\r").unwrap_or(part);
        let number = index as u64 + 1;
        if part.len() > LIMITS.max_line_bytes {
            let excerpt = part[..EXCERPT_BYTES].to_vec();
            lines.push((number, Err((part.len() as u64, excerpt))));
        } else if !part.iter().all(u8::is_ascii_whitespace) {
            lines.push((number, Ok(part.to_vec())));
        }
    }
    lines
}

fn read(name: &str, body: Vec<u8>, chunk: usize) -> Result<Summary, ReaderError> {
    let source = MemorySource::new(name, body).chunked(chunk);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut reader = ExportReader::open(source, LIMITS).await?;
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().await? {
            let content = match line.content {
                LineContent::Text(text) => Ok(text.to_vec()),
                LineContent::TooLong { len, excerpt } => Err((len, excerpt.to_vec())),
            };
            lines.push((line.number, content));
        }
        Ok(lines)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn when_a_gzip_file_is_cut_into_any_chunks_then_the_documented_lines_come_out(
        lines in prop::collection::vec(line(), 0..12),
        final_newline in any::<bool>(),
        level in 0..10u32,
        chunks in (1..5000usize, 1..5000usize),
    ) {
        let text = file(&lines, final_newline);
        let body = gzip(&text, level);
        let first = read("users.gz", body.clone(), chunks.0).unwrap();
        let second = read("users.gz", body, chunks.1).unwrap();
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(first, expected(&text));
    }

    #[test]
    fn when_the_bytes_are_arbitrary_then_the_read_ends_in_lines_or_a_file_error(
        body in prop::collection::vec(any::<u8>(), 0..600),
        name in prop::sample::select(vec!["users.zip", "users.gz", "users"]),
        magic in prop::sample::select(vec![&b""[..], b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b\x08"]),
        chunk in 1..300usize,
    ) {
        let body = [magic, &body[..]].concat();
        match read(name, body, chunk) {
            Ok(lines) => {
                for (_, content) in lines {
                    if let Ok(text) = content {
                        prop_assert!(text.len() <= LIMITS.max_line_bytes);
                    }
                }
            }
            Err(ReaderError::Source { .. }) => prop_assert!(false, "a memory source failed"),
            Err(error) => prop_assert_eq!(error.class(), FailureClass::Permanent),
        }
    }
}
