//! Zip bombs built byte by byte: directory entries sharing one local header (each would read
//! the same data again) and entries whose data overlaps the next member's. Each is refused
//! at open, before a byte is inflated.

use super::*;

/// A stored member's local header and data, and its central directory entry pointing at
/// `offset`.
struct Stored<'a> {
    name: &'a str,
    data: &'a [u8],
}

fn local_header(member: &Stored<'_>) -> Vec<u8> {
    let crc = crc32fast::hash(member.data);
    let len = member.data.len() as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(member.name.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(member.name.as_bytes());
    out.extend_from_slice(member.data);
    out
}

fn directory_entry(member: &Stored<'_>, offset: u32) -> Vec<u8> {
    let crc = crc32fast::hash(member.data);
    let len = member.data.len() as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(member.name.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(member.name.as_bytes());
    out
}

/// Local headers, then the directory `entries` (member index, offset), then the end record.
fn archive(locals: &[Vec<u8>], entries: &[Vec<u8>]) -> Bytes {
    let mut out: Vec<u8> = locals.concat();
    let directory_offset = out.len() as u32;
    let directory = entries.concat();
    out.extend_from_slice(&directory);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    let count = (entries.len() as u16).to_le_bytes();
    out.extend_from_slice(&count);
    out.extend_from_slice(&count);
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&directory_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    Bytes::from(out)
}

async fn open(bytes: Bytes) -> Result<Vec<ExportLine>, ReaderError> {
    let mut reader = ExportReader::open(
        MemorySource::new("bomb.zip", bytes),
        ReaderLimits::default(),
    )
    .await?;
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().await? {
        lines.push(line);
    }
    Ok(lines)
}

fn lines(count: usize) -> Vec<u8> {
    b"{\"external_id\":\"u\"}\n".repeat(count)
}

#[tokio::test]
async fn when_a_well_formed_archive_is_built_by_hand_then_it_is_read() {
    let data = lines(3);
    let member = Stored {
        name: "a.txt",
        data: &data,
    };
    let bytes = archive(&[local_header(&member)], &[directory_entry(&member, 0)]);
    assert_eq!(open(bytes).await.unwrap().len(), 3);
}

#[tokio::test]
async fn when_directory_entries_share_one_local_header_then_the_file_is_refused_at_open() {
    let data = lines(1000);
    let member = Stored {
        name: "a.txt",
        data: &data,
    };
    let entries: Vec<Vec<u8>> = (0..500).map(|_| directory_entry(&member, 0)).collect();
    let bytes = archive(&[local_header(&member)], &entries);
    match open(bytes).await {
        Err(ReaderError::Corrupt { reason, .. }) => {
            assert_eq!(
                reason,
                "500 directory entries name the local header at offset 0"
            );
        }
        other => panic!("a shared-entry bomb was read: {:?}", other.map(|l| l.len())),
    }
}

#[tokio::test]
async fn when_a_member_overlaps_the_next_one_then_the_file_is_refused_at_open() {
    let (first, second) = (lines(100), lines(5));
    let a = Stored {
        name: "a.txt",
        data: &first,
    };
    let b = Stored {
        name: "b.txt",
        data: &second,
    };
    let (local_a, local_b) = (local_header(&a), local_header(&b));
    // `a` declares its data runs on through `b`'s header and data.
    let long = [first.as_slice(), &local_b].concat();
    let a_overlapping = Stored {
        name: "a.txt",
        data: &long,
    };
    let entries = [
        directory_entry(&a_overlapping, 0),
        directory_entry(&b, local_a.len() as u32),
    ];
    match open(archive(&[local_a, local_b], &entries)).await {
        Err(ReaderError::Corrupt { reason, .. }) => {
            assert!(reason.contains("runs past offset"), "{reason}");
        }
        other => panic!(
            "an overlapping member was read: {:?}",
            other.map(|l| l.len())
        ),
    }
}
