//! relay-core's export reader over a real S3 API (moto on loopback): a zip read through its
//! central directory with a bounded number of ranged GETs, a gzip streamed, S3 errors classed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use relay_clients::upstream::FailureClass;
use relay_core::export::reader::{
    ByteChunks, ExportLine, ExportReader, ExportSource, LineContent, ReaderError, ReaderLimits,
    S3Source,
};
use relay_tests::Moto;

/// An [`ExportSource`] that counts the GETs (ranged or whole) made through it.
struct Counting {
    inner: S3Source,
    gets: Arc<AtomicUsize>,
}

impl ExportSource for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn size(&self) -> Result<u64, ReaderError> {
        self.inner.size().await
    }

    async fn read_range(&self, start: u64, end: u64) -> Result<ByteChunks, ReaderError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.read_range(start, end).await
    }

    async fn read_all(&self) -> Result<ByteChunks, ReaderError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.read_all().await
    }
}

/// Runs a Python script with the output path as `sys.argv[1]` and returns what it wrote.
fn made_by_python(script: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let status = std::process::Command::new(relay_tests::python())
        .arg("-c")
        .arg(format!("import sys, zipfile, gzip, json\n{script}"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "python failed on: {script}");
    std::fs::read(out).unwrap()
}

/// 2,500 lines of about 1 KB per member, like a Braze export's users.
const USERS: &str = r#"
def users(member, n):
    return ''.join(json.dumps({'external_id': '%s-%d' % (member, i), 'braze_id': '%024x' % i, 'custom_attributes': {'notes': 'x' * 900}}) + '\n' for i in range(n))
"#;

async fn put(moto: &Moto, bucket: &str, key: &str, body: Vec<u8>) -> Counting {
    let client = moto.s3_client().await;
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
    Counting {
        inner: S3Source::new(client, bucket, key),
        gets: Arc::default(),
    }
}

async fn read_all(source: Counting) -> (Vec<ExportLine>, usize) {
    let gets = source.gets.clone();
    let mut reader = ExportReader::open(source, ReaderLimits::default())
        .await
        .unwrap();
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().await.unwrap() {
        lines.push(line);
    }
    (lines, gets.load(Ordering::SeqCst))
}

fn external_id(line: &ExportLine) -> String {
    let LineContent::Text(bytes) = &line.content else {
        panic!("line {} is too long", line.number);
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    value["external_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn when_a_zip_in_s3_is_read_then_it_takes_the_tail_and_one_get_per_member() {
    let moto = Moto::start();
    let bucket = moto.create_bucket("exports").await;
    let body = made_by_python(&format!(
        "{USERS}\nwith zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:\n    z.writestr('a.txt', users('a', 2500))\n    z.writestr('b.txt', users('b', 2500))\n"
    ));
    let source = put(
        &moto,
        &bucket,
        "segment-export/s1/2026-12-06/u-1/f.zip",
        body,
    )
    .await;
    let (lines, gets) = read_all(source).await;
    assert_eq!(lines.len(), 5000);
    assert_eq!(
        (external_id(&lines[0]), lines[0].number),
        ("a-0".to_owned(), 1)
    );
    assert_eq!(
        (
            external_id(&lines[2500]),
            lines[2500].number,
            lines[2500].member_line
        ),
        ("b-0".to_owned(), 2501, 1)
    );
    assert_eq!(lines[4999].member.as_deref(), Some("b.txt"));
    // The tail holds the small central directory: 1 + one per member.
    assert_eq!(gets, 3);
}

#[tokio::test]
async fn when_the_central_directory_is_not_in_the_tail_then_it_takes_one_more_get() {
    let moto = Moto::start();
    let bucket = moto.create_bucket("exports").await;
    // The longest comment and 400-byte member names push the directory of three members
    // (about 1,340 bytes) out of the 66,560-byte tail.
    let body = made_by_python(&format!(
        "{USERS}\nwith zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:\n    for m in ['a', 'b', 'c']:\n        z.writestr(m * 395 + '.json', users(m, 10))\n    z.comment = b'#' * 65535\n"
    ));
    let source = put(&moto, &bucket, "f.zip", body).await;
    let (lines, gets) = read_all(source).await;
    assert_eq!(lines.len(), 30);
    assert_eq!(external_id(&lines[29]), "c-9");
    // The tail, the directory, one per member.
    assert_eq!(gets, 1 + 1 + 3);
}

#[tokio::test]
async fn when_a_gzip_in_s3_is_read_then_one_get_streams_it() {
    let moto = Moto::start();
    let bucket = moto.create_bucket("exports").await;
    let body = made_by_python(&format!(
        "{USERS}\nopen(sys.argv[1], 'wb').write(gzip.compress(users('g', 3000).encode()) + gzip.compress(users('h', 2000).encode()))\n"
    ));
    let source = put(&moto, &bucket, "export-without-extension", body).await;
    let (lines, gets) = read_all(source).await;
    assert_eq!(lines.len(), 5000);
    assert_eq!(
        (external_id(&lines[3000]), lines[3000].number),
        ("h-0".to_owned(), 3001)
    );
    // The first four bytes (the name says nothing) and the stream.
    assert_eq!(gets, 2);
}

#[tokio::test]
async fn when_the_object_is_missing_then_the_error_is_permanent() {
    let moto = Moto::start();
    let bucket = moto.create_bucket("exports").await;
    let source = S3Source::new(moto.s3_client().await, &bucket, "gone.zip");
    let err = ExportReader::open(source, ReaderLimits::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ReaderError::Source { .. }), "{err}");
    assert_eq!(err.class(), FailureClass::Permanent);
}
