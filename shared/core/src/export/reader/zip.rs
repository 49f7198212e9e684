//! The zip side: the end of central directory record (zip64 too) and the central directory,
//! parsed from two ranged reads, and each member opened by one streamed ranged read of its
//! local header and data.
//!
//! The records are the ones of PKWARE's APPNOTE (4.3.7 local header, 4.3.12 central directory
//! header, 4.3.14 to 4.3.16 zip64 end record, its locator and the end record); only what the
//! reader needs is decoded. Sizes and CRC-32 come from the central directory, so members
//! written with a data descriptor (streamed writers such as `zip -`) read like any other.

use std::pin::Pin;
use std::sync::Arc;

use async_compression::tokio::bufread::DeflateDecoder;
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

use super::{ExportSource, ReaderError, ReaderLimits, io_error, to_io};

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: usize = 56;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const LOCAL_LEN: usize = 30;
/// The most an archive comment can hold (its length is a u16).
const MAX_COMMENT: usize = u16::MAX as usize;
/// The tail read first: the end record with the longest comment, the zip64 locator and the
/// zip64 end record that writers put right before them.
pub(super) const TAIL_LEN: usize = EOCD_LEN + MAX_COMMENT + ZIP64_LOCATOR_LEN + ZIP64_EOCD_LEN;

/// Stored (no compression).
const METHOD_STORED: u16 = 0;
/// Deflate.
const METHOD_DEFLATED: u16 = 8;

/// One member to read, from the central directory.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub(super) name: Arc<str>,
    pub(super) method: u16,
    pub(super) crc32: u32,
    pub(super) compressed: u64,
    pub(super) uncompressed: u64,
    pub(super) header_offset: u64,
    /// Where the member's bytes end at the latest: the next local header or the central
    /// directory. The member's GET ends there.
    pub(super) range_end: u64,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Reads a whole (small, bounded) range into memory.
async fn collect_range<S: ExportSource>(
    source: &S,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, ReaderError> {
    let mut stream = source.read_range(start, end).await?;
    let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or_default());
    while let Some(chunk) = stream.try_next().await? {
        out.extend_from_slice(&chunk);
    }
    if out.len() as u64 != end - start {
        return Err(ReaderError::corrupt(
            source.name(),
            format!(
                "bytes {start}..{end} could not be read whole ({} bytes came): truncated",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Where the central directory is, from the end records.
struct Directory {
    offset: u64,
    size: u64,
    entries: u64,
    /// Where the end records start: the directory must end before.
    records_start: u64,
}

fn find_eocd(tail: &[u8]) -> Option<usize> {
    if tail.len() < EOCD_LEN {
        return None;
    }
    (0..=tail.len() - EOCD_LEN).rev().find(|&at| {
        u32_at(tail, at) == EOCD_SIGNATURE
            && at + EOCD_LEN + usize::from(u16_at(tail, at + 20)) == tail.len()
    })
}

async fn locate_directory<S: ExportSource>(
    source: &S,
    size: u64,
    tail: &[u8],
) -> Result<Directory, ReaderError> {
    let file = source.name();
    let tail_start = size - tail.len() as u64;
    let at = find_eocd(tail).ok_or_else(|| {
        ReaderError::corrupt(
            file,
            format!(
                "no end of central directory record in the last {} bytes (not a zip, or truncated)",
                tail.len()
            ),
        )
    })?;
    let eocd_offset = tail_start + at as u64;
    let eocd = &tail[at..at + EOCD_LEN];
    let (disk, cd_disk) = (u16_at(eocd, 4), u16_at(eocd, 6));
    let entries = u64::from(u16_at(eocd, 10));
    let cd_size = u64::from(u32_at(eocd, 12));
    let cd_offset = u64::from(u32_at(eocd, 16));

    let has_locator =
        at >= ZIP64_LOCATOR_LEN && u32_at(tail, at - ZIP64_LOCATOR_LEN) == ZIP64_LOCATOR_SIGNATURE;
    if !has_locator {
        if disk != 0 || cd_disk != 0 {
            return Err(ReaderError::unsupported(
                file,
                "a zip spanning several disks",
            ));
        }
        if entries == u64::from(u16::MAX)
            || cd_size == u64::from(u32::MAX)
            || cd_offset == u64::from(u32::MAX)
        {
            return Err(ReaderError::corrupt(
                file,
                format!(
                    "the end of central directory record at offset {eocd_offset} defers to a zip64 record, and there is no zip64 locator before it"
                ),
            ));
        }
        return Ok(Directory {
            offset: cd_offset,
            size: cd_size,
            entries,
            records_start: eocd_offset,
        });
    }

    let locator = &tail[at - ZIP64_LOCATOR_LEN..at];
    let locator_offset = eocd_offset - ZIP64_LOCATOR_LEN as u64;
    if u32_at(locator, 16) > 1 {
        return Err(ReaderError::unsupported(
            file,
            "a zip spanning several disks",
        ));
    }
    let record_offset = u64_at(locator, 8);
    if record_offset + ZIP64_EOCD_LEN as u64 > locator_offset {
        return Err(ReaderError::corrupt(
            file,
            format!(
                "the zip64 locator at offset {locator_offset} points at offset {record_offset}, past itself"
            ),
        ));
    }
    let record = if record_offset >= tail_start {
        let from = usize::try_from(record_offset - tail_start).unwrap_or_default();
        tail[from..from + ZIP64_EOCD_LEN].to_vec()
    } else {
        collect_range(source, record_offset, record_offset + ZIP64_EOCD_LEN as u64).await?
    };
    if u32_at(&record, 0) != ZIP64_EOCD_SIGNATURE {
        return Err(ReaderError::corrupt(
            file,
            format!("no zip64 end of central directory record at offset {record_offset}"),
        ));
    }
    if u32_at(&record, 16) != 0 || u32_at(&record, 20) != 0 {
        return Err(ReaderError::unsupported(
            file,
            "a zip spanning several disks",
        ));
    }
    Ok(Directory {
        entries: u64_at(&record, 32),
        size: u64_at(&record, 40),
        offset: u64_at(&record, 48),
        records_start: record_offset,
    })
}

/// Reads the end records and the central directory (the tail read, plus one ranged read when
/// the directory is not in the tail) and returns the members to read, in directory order,
/// directories left out, after checking their declared sizes against `limits`.
pub(super) async fn read_directory<S: ExportSource>(
    source: &S,
    size: u64,
    limits: &ReaderLimits,
) -> Result<Vec<Member>, ReaderError> {
    let file = source.name();
    let tail_len = size.min(TAIL_LEN as u64);
    let tail_start = size - tail_len;
    let tail = collect_range(source, tail_start, size).await?;
    let dir = locate_directory(source, size, &tail).await?;

    let cd_end = dir.offset.saturating_add(dir.size);
    if cd_end > dir.records_start {
        return Err(ReaderError::corrupt(
            file,
            format!(
                "the central directory (offset {}, {} bytes) runs past the end records at offset {} (file of {size} bytes): truncated or corrupt",
                dir.offset, dir.size, dir.records_start
            ),
        ));
    }
    if dir.size > limits.max_directory_bytes {
        return Err(ReaderError::refused(
            file,
            format!(
                "central directory of {} bytes, over the limit of {} bytes",
                dir.size, limits.max_directory_bytes
            ),
        ));
    }
    let cd = if dir.offset >= tail_start {
        let from = usize::try_from(dir.offset - tail_start).unwrap_or_default();
        let to = usize::try_from(cd_end - tail_start).unwrap_or_default();
        tail[from..to].to_vec()
    } else {
        drop(tail);
        collect_range(source, dir.offset, cd_end).await?
    };
    let mut members = parse_directory(file, &cd, dir.offset, dir.entries)?;
    assign_range_ends(file, &mut members, dir.offset)?;
    members.retain(|m| !is_directory(&m.name));
    for member in &members {
        check_declared(file, member, limits)?;
    }
    Ok(members)
}

fn is_directory(name: &str) -> bool {
    name.ends_with('/') || name.ends_with('\\')
}

fn parse_directory(
    file: &str,
    cd: &[u8],
    cd_offset: u64,
    entries: u64,
) -> Result<Vec<Member>, ReaderError> {
    let mut members = Vec::new();
    let mut at = 0;
    while at < cd.len() {
        let where_ = format!(
            "central directory entry {} at offset {}",
            members.len() + 1,
            cd_offset + at as u64
        );
        if cd.len() - at < CENTRAL_LEN || u32_at(cd, at) != CENTRAL_SIGNATURE {
            return Err(ReaderError::corrupt(
                file,
                format!("{where_}: not an entry"),
            ));
        }
        let header = &cd[at..at + CENTRAL_LEN];
        let flags = u16_at(header, 8);
        let method = u16_at(header, 10);
        let crc32 = u32_at(header, 16);
        let mut compressed = u64::from(u32_at(header, 20));
        let mut uncompressed = u64::from(u32_at(header, 24));
        let name_len = usize::from(u16_at(header, 28));
        let extra_len = usize::from(u16_at(header, 30));
        let comment_len = usize::from(u16_at(header, 32));
        let mut header_offset = u64::from(u32_at(header, 42));
        let end = at + CENTRAL_LEN + name_len + extra_len + comment_len;
        if end > cd.len() {
            return Err(ReaderError::corrupt(
                file,
                format!("{where_}: runs past the end of the central directory"),
            ));
        }
        let name_bytes = &cd[at + CENTRAL_LEN..at + CENTRAL_LEN + name_len];
        let name: Arc<str> = String::from_utf8_lossy(name_bytes).into();
        let mut extra = &cd[at + CENTRAL_LEN + name_len..at + CENTRAL_LEN + name_len + extra_len];
        // The zip64 extra field holds, in this order, the values saturated in the header.
        while extra.len() >= 4 {
            let (id, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
            let data = &extra[4..(4 + len).min(extra.len())];
            if id == 0x0001 {
                let mut fields = data.chunks_exact(8).map(|c| u64_at(c, 0));
                for value in [&mut uncompressed, &mut compressed, &mut header_offset] {
                    if *value == u64::from(u32::MAX) {
                        *value = fields.next().ok_or_else(|| {
                            ReaderError::corrupt(
                                file,
                                format!("{where_} (`{name}`): zip64 extra field too short"),
                            )
                        })?;
                    }
                }
            }
            extra = &extra[(4 + len).min(extra.len())..];
        }
        if flags & 0x0001 != 0 {
            return Err(ReaderError::unsupported(
                file,
                format!("member `{name}` is encrypted"),
            ));
        }
        if !is_directory(&name) && method != METHOD_STORED && method != METHOD_DEFLATED {
            return Err(ReaderError::unsupported(
                file,
                format!(
                    "member `{name}` uses compression method {method} (only stored and deflated are read)"
                ),
            ));
        }
        members.push(Member {
            name,
            method,
            crc32,
            compressed,
            uncompressed,
            header_offset,
            range_end: 0,
        });
        at = end;
    }
    // The 16-bit count wraps in archives with more entries and no zip64 record.
    if members.len() as u64 != entries && entries != u64::from(u16::MAX) {
        return Err(ReaderError::corrupt(
            file,
            format!(
                "the central directory holds {} entries, the end record says {entries}",
                members.len()
            ),
        ));
    }
    Ok(members)
}

/// Each member's bytes end at the next local header or at the central directory; a member
/// whose data would run past that overlaps another (a zip bomb technique) or the directory.
fn assign_range_ends(
    file: &str,
    members: &mut [Member],
    cd_offset: u64,
) -> Result<(), ReaderError> {
    let mut starts: Vec<u64> = members.iter().map(|m| m.header_offset).collect();
    starts.sort_unstable();
    for member in members.iter_mut() {
        let next = starts
            .iter()
            .copied()
            .find(|&s| s > member.header_offset)
            .unwrap_or(cd_offset)
            .min(cd_offset);
        let data_end = member
            .header_offset
            .saturating_add(LOCAL_LEN as u64)
            .saturating_add(member.name.len() as u64)
            .saturating_add(member.compressed);
        if member.header_offset >= cd_offset || data_end > next {
            return Err(ReaderError::corrupt(
                file,
                format!(
                    "member `{}` (local header at offset {}, {} compressed bytes) runs past offset {next}, where the next member or the central directory starts",
                    member.name, member.header_offset, member.compressed
                ),
            ));
        }
        member.range_end = next;
    }
    Ok(())
}

fn check_declared(file: &str, member: &Member, limits: &ReaderLimits) -> Result<(), ReaderError> {
    if member.uncompressed > limits.max_inflated_bytes {
        return Err(ReaderError::refused(
            file,
            format!(
                "member `{}` declares {} inflated bytes, over the limit of {}",
                member.name, member.uncompressed, limits.max_inflated_bytes
            ),
        ));
    }
    if member.uncompressed > limits.max_ratio.saturating_mul(member.compressed.max(1)) {
        return Err(ReaderError::refused(
            file,
            format!(
                "member `{}` declares {} inflated bytes from {} compressed, a ratio over {}",
                member.name, member.uncompressed, member.compressed, limits.max_ratio
            ),
        ));
    }
    Ok(())
}

/// The member's inflated bytes: one streamed ranged read of its local header and data.
pub(super) async fn open_member<S: ExportSource>(
    source: &S,
    member: &Member,
) -> Result<Pin<Box<dyn AsyncRead + Send>>, ReaderError> {
    let file = source.name();
    let stream = source
        .read_range(member.header_offset, member.range_end)
        .await?;
    let mut reader = StreamReader::new(stream.map_err(to_io));
    let where_ = || {
        format!(
            "member `{}` (local header at offset {})",
            member.name, member.header_offset
        )
    };
    let mut header = [0; LOCAL_LEN];
    reader
        .read_exact(&mut header)
        .await
        .map_err(|e| io_error(file, e, &format!("{}: local header", where_())))?;
    if u32_at(&header, 0) != LOCAL_SIGNATURE {
        return Err(ReaderError::corrupt(
            file,
            format!("{}: no local header there", where_()),
        ));
    }
    let skip = u64::from(u16_at(&header, 26)) + u64::from(u16_at(&header, 28));
    let skipped = tokio::io::copy(&mut (&mut reader).take(skip), &mut tokio::io::sink())
        .await
        .map_err(|e| io_error(file, e, &format!("{}: local header", where_())))?;
    if skipped != skip {
        return Err(ReaderError::corrupt(
            file,
            format!("{}: truncated local header", where_()),
        ));
    }
    let data = reader.take(member.compressed);
    Ok(match member.method {
        METHOD_DEFLATED => Box::pin(DeflateDecoder::new(data)),
        _ => Box::pin(data),
    })
}
