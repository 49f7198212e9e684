//! Unit tests: archives made by Python's `zipfile` and `gzip` at test time and by Info-ZIP and
//! `gzip` (committed under tests/resources/exports), read from memory.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;

use super::*;
use relay_clients::upstream::FailureClass;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's Python (CI's `.venv`), else the machine's.
fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Runs `script` with the output path as `sys.argv[1]` and returns what it wrote.
fn made_by_python(script: &str) -> Bytes {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let status = Command::new(python())
        .arg("-c")
        .arg(format!("import sys, zipfile, gzip\n{script}"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "python failed on: {script}");
    Bytes::from(std::fs::read(out).unwrap())
}

fn fixture(name: &str) -> Bytes {
    Bytes::from(std::fs::read(workspace_root().join("tests/resources/exports").join(name)).unwrap())
}

/// Every item read, or the error that ended the file.
async fn read_all(
    source: MemorySource,
    limits: ReaderLimits,
) -> Result<Vec<ExportLine>, ReaderError> {
    let mut reader = ExportReader::open(source, limits).await?;
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().await? {
        lines.push(line);
    }
    Ok(lines)
}

fn text(line: &ExportLine) -> &str {
    match &line.content {
        LineContent::Text(bytes) => std::str::from_utf8(bytes).unwrap(),
        LineContent::TooLong { .. } => "<too long>",
    }
}

/// (number, member, member line, text) of each line.
fn summary(lines: &[ExportLine]) -> Vec<(u64, String, u64, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l.number,
                l.member.as_deref().unwrap_or("").to_owned(),
                l.member_line,
                text(l).to_owned(),
            )
        })
        .collect()
}

fn row(number: u64, member: &str, member_line: u64, text: &str) -> (u64, String, u64, String) {
    (number, member.to_owned(), member_line, text.to_owned())
}

const SEVERAL_MEMBERS: &str = r#"
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('b.txt', '{"b":1}\n{"b":2}\n', compress_type=zipfile.ZIP_STORED)
    z.writestr('folder/', '')
    z.writestr('folder/a.json', '{"a":1}\n\n  \n{"a":4}\n', compress_type=zipfile.ZIP_DEFLATED)
    z.writestr('empty.txt', '', compress_type=zipfile.ZIP_DEFLATED)
    z.writestr('c', '{"c":1}', compress_type=zipfile.ZIP_DEFLATED)
"#;

#[tokio::test]
async fn when_a_zip_has_several_members_and_a_directory_then_lines_come_in_directory_order_numbered()
 {
    let source = MemorySource::new("export.zip", made_by_python(SEVERAL_MEMBERS)).chunked(7);
    let lines = read_all(source.clone(), ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(
        summary(&lines),
        vec![
            row(1, "b.txt", 1, r#"{"b":1}"#),
            row(2, "b.txt", 2, r#"{"b":2}"#),
            row(3, "folder/a.json", 1, r#"{"a":1}"#),
            row(6, "folder/a.json", 4, r#"{"a":4}"#),
            row(7, "c", 1, r#"{"c":1}"#),
        ]
    );
    // The tail holds the central directory: one GET for it, one per member (4, not the folder).
    assert_eq!(source.gets(), 5);
}

#[tokio::test]
async fn when_the_name_has_no_known_extension_then_the_magic_bytes_decide() {
    let zip = MemorySource::new("export-file", made_by_python(SEVERAL_MEMBERS));
    let reader = ExportReader::open(zip, ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(reader.format(), Format::Zip);
    let gz = MemorySource::new("export-file", fixture("gzip-two-members.gz"));
    let reader = ExportReader::open(gz, ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(reader.format(), Format::Gzip);
    let text_file = MemorySource::new("export-file", Bytes::from_static(b"{\"a\":1}\n"));
    let err = ExportReader::open(text_file, ReaderLimits::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ReaderError::UnknownFormat { .. }), "{err}");
    assert_eq!(err.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_python_writes_zip64_records_then_the_member_is_read() {
    let bytes = made_by_python(
        r#"
with zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:
    with z.open('big.txt', 'w', force_zip64=True) as f:
        f.write(b'{"z":1}\n{"z":2}\n')
"#,
    );
    let lines = read_all(MemorySource::new("x.zip", bytes), ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(
        summary(&lines),
        vec![
            row(1, "big.txt", 1, r#"{"z":1}"#),
            row(2, "big.txt", 2, r#"{"z":2}"#)
        ]
    );
}

#[tokio::test]
async fn when_info_zip_forces_zip64_end_records_then_the_member_is_read() {
    let bytes = fixture("infozip-zip64.zip");
    let lines = read_all(MemorySource::new("x.zip", bytes), ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(
        summary(&lines),
        vec![
            row(1, "m.txt", 1, r#"{"x":1}"#),
            row(2, "m.txt", 2, r#"{"y":2}"#)
        ]
    );
}

#[tokio::test]
async fn when_info_zip_streams_with_a_data_descriptor_then_crlf_blank_and_final_lines_are_right() {
    let source =
        MemorySource::new("x.zip", fixture("infozip-stdin-data-descriptor.zip")).chunked(13);
    let lines = read_all(source, ReaderLimits::default()).await.unwrap();
    assert_eq!(lines.len(), 54 - 1);
    assert_eq!(
        summary(&lines[..2]),
        vec![row(1, "-", 1, r#"{"a":1}"#), row(2, "-", 2, r#"{"b":2}"#)]
    );
    assert_eq!(
        summary(&lines[2..3]),
        vec![row(4, "-", 4, r#"{"user":1,"name":"n1"}"#)]
    );
    assert_eq!(summary(&lines[52..]), vec![row(54, "-", 54, r#"{"c":3}"#)]);
}

#[tokio::test]
async fn when_an_archive_comment_follows_the_central_directory_then_the_zip_is_read() {
    let bytes = made_by_python(
        r#"
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('a.txt', '{"a":1}\n', compress_type=zipfile.ZIP_DEFLATED)
    z.comment = b'PK\x05\x06 looks like a record ' * 2000
"#,
    );
    let lines = read_all(MemorySource::new("x.zip", bytes), ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(summary(&lines), vec![row(1, "a.txt", 1, r#"{"a":1}"#)]);
}

/// Three members with 400-byte names and the longest comment: the directory (about 1,350
/// bytes) starts before the 66,560-byte tail and ends inside it.
const DIRECTORY_BEFORE_THE_TAIL: &str = r#"
with zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:
    for m in 'abc':
        z.writestr(m + 'x' * 400, '{"m":"%s"}\n' % m)
    z.comment = b'#' * 65535
"#;

#[tokio::test]
async fn when_the_directory_starts_before_the_tail_then_one_more_get_reads_it() {
    let source = MemorySource::new("x.zip", made_by_python(DIRECTORY_BEFORE_THE_TAIL)).chunked(100);
    let lines = read_all(source.clone(), ReaderLimits::default())
        .await
        .unwrap();
    let members: Vec<String> = lines
        .iter()
        .map(|l| l.member.as_deref().unwrap_or("").chars().take(2).collect())
        .collect();
    assert_eq!(members, vec!["ax", "bx", "cx"]);
    assert_eq!(text(&lines[2]), r#"{"m":"c"}"#);
    // The tail, the directory's part before it, one per member.
    assert_eq!(source.gets(), 1 + 1 + 3);
}

#[tokio::test]
async fn when_the_directory_before_the_tail_is_over_the_limit_then_the_file_is_refused() {
    let limits = ReaderLimits {
        max_directory_bytes: 100,
        ..ReaderLimits::default()
    };
    let source = MemorySource::new("x.zip", made_by_python(DIRECTORY_BEFORE_THE_TAIL));
    let err = read_all(source.clone(), limits).await.unwrap_err();
    assert!(matches!(err, ReaderError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("central directory"), "{err}");
    // Refused before the directory's GET: only the tail was read.
    assert_eq!(source.gets(), 1);
}

#[tokio::test]
async fn when_gzip_has_two_members_then_they_read_as_one_stream() {
    let source = MemorySource::new("x.gz", fixture("gzip-two-members.gz")).chunked(5);
    let lines = read_all(source.clone(), ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(
        summary(&lines),
        vec![
            row(1, "", 1, r#"{"g":1}"#),
            row(2, "", 2, r#"{"g":2}"#),
            row(3, "", 3, r#"{"g":3}"#)
        ]
    );
    assert_eq!(source.gets(), 1);
}

#[tokio::test]
async fn when_gzip_holds_no_bytes_then_there_are_no_lines() {
    let bytes = made_by_python("open(sys.argv[1], 'wb').write(gzip.compress(b''))");
    let lines = read_all(MemorySource::new("x.gz", bytes), ReaderLimits::default())
        .await
        .unwrap();
    assert!(lines.is_empty());
}

#[tokio::test]
async fn when_a_gzip_object_is_empty_or_truncated_then_the_file_is_corrupt() {
    let bytes = made_by_python(
        "open(sys.argv[1], 'wb').write(gzip.compress(b''.join(b'{\"n\":%d}\\n' % i for i in range(2000))))",
    );
    for cut in [
        Bytes::new(),
        bytes.slice(..bytes.len() / 2),
        bytes.slice(..bytes.len() - 4),
    ] {
        let err = read_all(MemorySource::new("x.gz", cut), ReaderLimits::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ReaderError::Corrupt { .. }), "{err}");
        assert_eq!(err.class(), FailureClass::Permanent);
    }
}

#[tokio::test]
async fn when_a_line_is_too_long_then_it_is_reported_and_reading_goes_on() {
    let bytes = made_by_python(
        r#"
with zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr('a.txt', b'{"a":1}\n' + b'x' * 300000 + b'\r\n{"a":3}\n' + b'y' * 5000)
"#,
    );
    let limits = ReaderLimits {
        max_line_bytes: 1000,
        max_ratio: 100_000,
        ..ReaderLimits::default()
    };
    let lines = read_all(MemorySource::new("x.zip", bytes), limits)
        .await
        .unwrap();
    assert_eq!(lines.len(), 4);
    assert_eq!(text(&lines[0]), r#"{"a":1}"#);
    assert_eq!(
        lines[1].content,
        // Without the `\r` of its `\r\n`, as a line read whole is (it spans many reads).
        LineContent::TooLong {
            len: 300_000,
            excerpt: Bytes::from(vec![b'x'; EXCERPT_BYTES]),
        }
    );
    assert_eq!((lines[1].number, lines[2].number), (2, 3));
    assert_eq!(text(&lines[2]), r#"{"a":3}"#);
    assert!(matches!(
        lines[3].content,
        LineContent::TooLong { len: 5000, .. }
    ));
}

fn bomb_zip() -> Bytes {
    made_by_python(
        r#"
with zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr('bomb.txt', (b'{"a":"' + b'a' * 1000 + b'"}\n') * 2000)
"#,
    )
}

#[tokio::test]
async fn when_a_member_declares_a_ratio_over_the_limit_then_the_file_is_refused() {
    let err = read_all(
        MemorySource::new("x.zip", bomb_zip()),
        ReaderLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ReaderError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("zip bomb guard"), "{err}");
    assert_eq!(err.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_a_member_declares_a_size_over_the_limit_then_the_file_is_refused() {
    let limits = ReaderLimits {
        max_inflated_bytes: 100_000,
        max_ratio: 100_000,
        ..ReaderLimits::default()
    };
    let source = MemorySource::new("x.zip", bomb_zip());
    let err = read_all(source.clone(), limits).await.unwrap_err();
    assert!(matches!(err, ReaderError::Refused { .. }), "{err}");
    // Refused from the central directory alone: no member was read.
    assert_eq!(source.gets(), 1);
}

#[tokio::test]
async fn when_gzip_inflates_past_the_ratio_or_size_while_streaming_then_the_file_is_refused() {
    let bytes = made_by_python(
        "open(sys.argv[1], 'wb').write(gzip.compress((b'{\"a\":\"' + b'a' * 1000 + b'\"}\\n') * 2000))",
    );
    let err = read_all(
        MemorySource::new("x.gz", bytes.clone()),
        ReaderLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ReaderError::Refused { .. }), "{err}");
    let limits = ReaderLimits {
        max_inflated_bytes: 100_000,
        max_ratio: 100_000,
        ..ReaderLimits::default()
    };
    let err = read_all(MemorySource::new("x.gz", bytes), limits)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("past 100000 bytes"), "{err}");
}

fn one_member(method: &str) -> Bytes {
    made_by_python(&format!(
        "with zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.{method}) as z:\n    z.writestr('m.txt', b''.join(b'{{\"n\":%d}}\\n' % i for i in range(3000)))\n"
    ))
}

fn assert_corrupt(result: Result<Vec<ExportLine>, ReaderError>, says: &str) {
    let err = result.unwrap_err();
    assert!(matches!(err, ReaderError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(says), "{err}");
    assert_eq!(err.class(), FailureClass::Permanent);
}

#[tokio::test]
async fn when_a_zip_is_truncated_then_the_file_is_corrupt() {
    let bytes = one_member("ZIP_DEFLATED");
    for cut in [bytes.len() / 2, bytes.len() - 1, 0] {
        let source = MemorySource::new("x.zip", bytes.slice(..cut));
        assert_corrupt(
            read_all(source, ReaderLimits::default()).await,
            "end of central directory",
        );
    }
}

#[tokio::test]
async fn when_the_central_directory_points_past_the_end_then_the_file_is_corrupt() {
    let mut bytes = one_member("ZIP_DEFLATED").to_vec();
    let len = bytes.len() as u32;
    let eocd = bytes.len() - 22;
    bytes[eocd + 16..eocd + 20].copy_from_slice(&len.to_le_bytes());
    let source = MemorySource::new("x.zip", bytes);
    assert_corrupt(
        read_all(source, ReaderLimits::default()).await,
        "central directory",
    );
}

#[tokio::test]
async fn when_stored_data_is_altered_then_the_crc_mismatch_names_the_member() {
    let mut bytes = one_member("ZIP_STORED").to_vec();
    let at = 30 + "m.txt".len() + 100;
    bytes[at] ^= 0x01;
    let source = MemorySource::new("x.zip", bytes);
    assert_corrupt(
        read_all(source, ReaderLimits::default()).await,
        "member `m.txt` (local header at offset 0): CRC-32",
    );
}

#[tokio::test]
async fn when_the_directory_declares_more_bytes_than_the_member_holds_then_it_is_truncated() {
    let mut bytes = one_member("ZIP_STORED").to_vec();
    // The central directory entry of the only member: its compressed and inflated sizes.
    let cd = bytes.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    let size = u32::from_le_bytes(bytes[cd + 20..cd + 24].try_into().unwrap());
    // The member's data ends before the inflated size the directory declares.
    bytes[cd + 24..cd + 28].copy_from_slice(&(size + 10).to_le_bytes());
    let source = MemorySource::new("x.zip", bytes);
    assert_corrupt(
        read_all(source, ReaderLimits::default()).await,
        "the central directory says",
    );
}

#[tokio::test]
async fn when_a_gzip_member_is_empty_then_the_next_member_goes_on() {
    let bytes = made_by_python(
        "open(sys.argv[1], 'wb').write(gzip.compress(b'{\"a\":1}\\n') + gzip.compress(b'') + gzip.compress(b'{\"a\":2}'))",
    );
    let lines = read_all(MemorySource::new("x.gz", bytes), ReaderLimits::default())
        .await
        .unwrap();
    assert_eq!(
        summary(&lines),
        vec![row(1, "", 1, r#"{"a":1}"#), row(2, "", 2, r#"{"a":2}"#)]
    );
}

#[tokio::test]
async fn when_deflate_data_is_corrupt_then_the_file_is_corrupt() {
    let mut bytes = one_member("ZIP_DEFLATED").to_vec();
    let data = 30 + "m.txt".len();
    for b in &mut bytes[data..data + 40] {
        *b = 0xff;
    }
    let source = MemorySource::new("x.zip", bytes);
    assert_corrupt(
        read_all(source, ReaderLimits::default()).await,
        "member `m.txt`",
    );
}

#[tokio::test]
async fn when_inflate_only_reads_a_file_then_it_counts_the_inflated_bytes_of_every_member() {
    let source = MemorySource::new("x.zip", made_by_python(SEVERAL_MEMBERS));
    let total = inflate_only(source, ReaderLimits::default()).await.unwrap();
    assert_eq!(total as usize, 16 + 20 + 7);
}

#[tokio::test]
async fn when_reading_as_a_stream_then_it_yields_the_same_lines() {
    use futures::TryStreamExt;
    let source = MemorySource::new("x.gz", fixture("gzip-two-members.gz"));
    let reader = ExportReader::open(source, ReaderLimits::default())
        .await
        .unwrap();
    let lines: Vec<ExportLine> = reader.into_stream().try_collect().await.unwrap();
    assert_eq!(
        lines.iter().map(|l| l.number).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

/// 5,000 lines of about 1 KB of varied JSON (a realistic compression ratio), as a one-member
/// zip and as a gzip.
const REALISTIC: &str = r#"
import random, json
random.seed(7)
vocabulary = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(3, 9))) for _ in range(2000)]
def word(n): return ''.join(random.choice('abcdef0123456789') for _ in range(n))
lines = ''.join(json.dumps({'external_id': word(12), 'braze_id': word(24), 'email': word(10) + '@example.com',
    'custom_attributes': {'plan': random.choice(['free', 'pro', 'team']), 'notes': ' '.join(random.choice(vocabulary) for _ in range(140))}}) + '\n'
    for _ in range(5000)).encode()
"#;

#[tokio::test(flavor = "current_thread")]
#[ignore = "a measurement, not a check: see docs/export-reader.md for the command"]
async fn measure_reader_against_inflate_only() {
    let zip = made_by_python(&format!(
        "{REALISTIC}\nwith zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:\n    z.writestr('users.txt', lines)\n"
    ));
    let gz = made_by_python(&format!(
        "{REALISTIC}\nopen(sys.argv[1], 'wb').write(gzip.compress(lines))\n"
    ));
    const ROUNDS: u32 = 20;
    for (name, bytes) in [("export.zip", zip), ("export.gz", gz)] {
        let source = || MemorySource::new(name, bytes.clone()).chunked(64 * 1024);
        let started = std::time::Instant::now();
        let mut inflated = 0;
        for _ in 0..ROUNDS {
            inflated = inflate_only(source(), ReaderLimits::default())
                .await
                .unwrap();
        }
        let inflate_time = started.elapsed() / ROUNDS;
        let started = std::time::Instant::now();
        let mut count = 0;
        for _ in 0..ROUNDS {
            count = read_all(source(), ReaderLimits::default())
                .await
                .unwrap()
                .len();
        }
        let reader_time = started.elapsed() / ROUNDS;
        assert_eq!(count, 5000);
        // Opening alone: the format, and for a zip the end records and the central directory.
        let started = std::time::Instant::now();
        for _ in 0..ROUNDS {
            ExportReader::open(source(), ReaderLimits::default())
                .await
                .unwrap();
        }
        let open_time = started.elapsed() / ROUNDS;
        let mb = inflated as f64 / 1e6;
        println!(
            "{name}: {} compressed, {inflated} inflated bytes; open {:.3} ms, inflate only {:.2} ms ({:.0} MB/s), reader {:.2} ms ({:.0} MB/s)",
            bytes.len(),
            open_time.as_secs_f64() * 1e3,
            inflate_time.as_secs_f64() * 1e3,
            mb / inflate_time.as_secs_f64(),
            reader_time.as_secs_f64() * 1e3,
            mb / reader_time.as_secs_f64(),
        );
    }
}
