//! The zip side: the end records (zip64 too) and the central directory parsed by rc-zip's
//! sans-io [`ArchiveFsm`], fed from two ranged reads at most (the tail, and the directory when
//! it starts before the tail), and each member opened by one streamed ranged read of its
//! local header (parsed by rc-zip's [`LocalFileHeader::parser`]) and data.
//!
//! Sizes and CRC-32 come from the central directory, so members written with a data
//! descriptor (streamed writers such as `zip -`) read like any other.

use std::pin::Pin;
use std::sync::Arc;

use async_compression::tokio::bufread::DeflateDecoder;
use bytes::{Buf, Bytes};
use futures::TryStreamExt;
use rc_zip::error::{Error as ZipError, FormatError};
use rc_zip::fsm::{ArchiveFsm, FsmResult};
use rc_zip::parse::{LocalFileHeader, Method};
use rc_zip::{Archive, EntryKind};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;
use winnow::error::{ErrMode, Needed};
use winnow::stream::Partial;

use super::{ByteChunks, ExportSource, ReaderError, ReaderLimits, io_error, to_io};

/// The fixed part of a local header; the name and extra field follow.
const LOCAL_LEN: usize = 30;

/// One member to read, from the central directory.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub(super) name: Arc<str>,
    pub(super) method: Method,
    pub(super) crc32: u32,
    pub(super) compressed: u64,
    pub(super) uncompressed: u64,
    pub(super) header_offset: u64,
    /// Where the member's bytes end at the latest: the next local header or the central
    /// directory. The member's GET ends there.
    pub(super) range_end: u64,
}

/// A streamed ranged read being fed to the parser.
struct Open {
    /// The file offset of the next byte to hand out.
    next: u64,
    /// Where the GET ends.
    end: u64,
    chunks: ByteChunks,
    /// What is left of the last chunk.
    pending: Bytes,
}

/// Answers the parser's reads: the first read (the tail, which holds the end records) is kept
/// and answers every later read inside it; a read before the tail is one streamed GET up to
/// the tail, handed out as the parser takes it.
struct Reads<'a, S> {
    source: &'a S,
    size: u64,
    limits: &'a ReaderLimits,
    tail_start: u64,
    tail: Option<Bytes>,
    open: Option<Open>,
    /// Where the last run of contiguous reads started: at the end, the central directory.
    run_start: u64,
    /// Where the last read ended.
    run_next: u64,
}

impl<S: ExportSource> Reads<'_, S> {
    /// Writes the bytes at `offset` into `space`; how many (0 at the end of the file).
    async fn read(&mut self, offset: u64, space: &mut [u8]) -> Result<usize, ReaderError> {
        if offset != self.run_next || self.tail.is_none() {
            self.run_start = offset;
        }
        let n = self.read_inner(offset, space).await?;
        self.run_next = offset + n as u64;
        Ok(n)
    }

    async fn read_inner(&mut self, offset: u64, space: &mut [u8]) -> Result<usize, ReaderError> {
        let file = self.source.name();
        if offset >= self.size || space.is_empty() {
            return Ok(0);
        }
        if self.tail.is_none() {
            let end = self.size.min(offset.saturating_add(space.len() as u64));
            let tail = collect_range(self.source, offset, end).await?;
            self.tail = Some(blank_comment(file, tail)?);
            self.tail_start = offset;
        }
        if let Some(tail) = self.tail.as_ref().filter(|_| offset >= self.tail_start) {
            let from = usize::try_from(offset - self.tail_start).unwrap_or(usize::MAX);
            let available = tail.get(from..).unwrap_or_default();
            let n = available.len().min(space.len());
            space[..n].copy_from_slice(&available[..n]);
            return Ok(n);
        }
        if self.open.as_ref().is_none_or(|open| open.next != offset) {
            let len = self.tail_start - offset;
            if len > self.limits.max_directory_bytes {
                return Err(ReaderError::refused(
                    file,
                    format!(
                        "central directory at offset {offset}, {len} bytes before the end records' {} bytes, over the limit of {} bytes",
                        self.size - self.tail_start,
                        self.limits.max_directory_bytes
                    ),
                ));
            }
            self.open = Some(Open {
                next: offset,
                end: self.tail_start,
                chunks: self.source.read_range(offset, self.tail_start).await?,
                pending: Bytes::new(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(0);
        };
        while open.pending.is_empty() {
            match open.chunks.try_next().await? {
                Some(chunk) => open.pending = chunk,
                None => {
                    return Err(ReaderError::corrupt(
                        file,
                        format!(
                            "bytes {offset}..{} could not be read whole: truncated",
                            open.end
                        ),
                    ));
                }
            }
        }
        let n = open.pending.len().min(space.len());
        space[..n].copy_from_slice(&open.pending[..n]);
        open.pending.advance(n);
        open.next += n as u64;
        if open.next == open.end {
            self.open = None;
        }
        Ok(n)
    }
}

const EOCD_SIGNATURE: &[u8] = b"PK\x05\x06";
const EOCD_LEN: usize = 22;

/// The tail with the archive comment as zeros. rc-zip takes the first end record it can parse
/// searching back from the end, even one inside the comment (which may hold the signature);
/// APPNOTE's record is the one whose comment ends at the end of the file, and the comment is
/// not used, so blanking it leaves rc-zip only that one to find.
fn blank_comment(file: &str, tail: Vec<u8>) -> Result<Bytes, ReaderError> {
    let mut tail = tail;
    let len = tail.len();
    let record = (0..=len.saturating_sub(EOCD_LEN)).rev().find(|&at| {
        tail.get(at..at + EOCD_LEN).is_some_and(|record| {
            record.starts_with(EOCD_SIGNATURE)
                && at + EOCD_LEN + usize::from(u16::from_le_bytes([record[20], record[21]])) == len
        })
    });
    let Some(at) = record else {
        return Err(ReaderError::corrupt(
            file,
            format!(
                "no end of central directory record in the last {len} bytes (not a zip, or truncated)"
            ),
        ));
    };
    tail[at + EOCD_LEN..].fill(0);
    Ok(tail.into())
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

/// rc-zip's error about the end records or the central directory, as a reader error.
fn directory_error(file: &str, size: u64, err: ZipError) -> ReaderError {
    match err {
        ZipError::Format(FormatError::DirectoryEndSignatureNotFound) => ReaderError::corrupt(
            file,
            format!(
                "no end of central directory record in the last {} bytes (not a zip, or truncated)",
                size.min(65 * 1024)
            ),
        ),
        ZipError::Format(FormatError::DirectoryOffsetPointsOutsideFile) => ReaderError::corrupt(
            file,
            format!(
                "the end records put the central directory outside the file of {size} bytes: truncated or corrupt"
            ),
        ),
        ZipError::Format(FormatError::InvalidCentralRecord { expected, actual }) => {
            ReaderError::corrupt(
                file,
                format!(
                    "the central directory holds {expected} entries, the end record says {actual} (counted modulo 65536)"
                ),
            )
        }
        ZipError::Format(err) => ReaderError::corrupt(file, format!("central directory: {err}")),
        ZipError::Unsupported(err) => ReaderError::unsupported(file, err.to_string()),
        err => ReaderError::corrupt(file, format!("central directory: {err}")),
    }
}

/// Parses the end records and the central directory (the tail read, plus one streamed ranged
/// read when the directory starts before the tail) and returns the members to read, in
/// directory order, directories left out, after checking their declared sizes against
/// `limits`.
pub(super) async fn read_directory<S: ExportSource>(
    source: &S,
    size: u64,
    limits: &ReaderLimits,
) -> Result<Vec<Member>, ReaderError> {
    let file = source.name();
    let mut reads = Reads {
        source,
        size,
        limits,
        tail_start: size,
        tail: None,
        open: None,
        run_start: 0,
        run_next: 0,
    };
    let mut fsm = ArchiveFsm::new(size);
    let archive = loop {
        let mut stalled = false;
        if let Some(offset) = fsm.wants_read() {
            let read = reads.read(offset, fsm.space()).await?;
            if read == 0 {
                stalled = true;
            } else {
                fsm.fill(read);
            }
        }
        // rc-zip 5.4 panics on some hostile end records (a zip64 directory offset past
        // i64::MAX overflows a subtraction where overflow is checked, and wraps elsewhere):
        // a panic of the parser is a corrupt file, never a failed invocation.
        let processed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || fsm.process())).map_err(
                |_| {
                    ReaderError::corrupt(
                        file,
                        "the zip end records are inconsistent (parser panic)",
                    )
                },
            )?;
        fsm = match processed {
            Ok(FsmResult::Continue(_)) if stalled => {
                return Err(ReaderError::corrupt(
                    file,
                    format!(
                        "the zip records run past the end of the file ({size} bytes): truncated or corrupt"
                    ),
                ));
            }
            Ok(FsmResult::Continue(fsm)) => fsm,
            Ok(FsmResult::Done(archive)) => break archive,
            Err(err) => return Err(directory_error(file, size, err)),
        };
    };
    drop(reads.open.take());
    // The directory was the last run of reads.
    let directory_offset = reads.run_start;
    let mut members = members(file, &archive)?;
    assign_range_ends(file, &mut members, directory_offset)?;
    for member in &members {
        check_declared(file, member, limits)?;
    }
    Ok(members)
}

/// The entries that are not directories, in directory order; stored and deflated only.
fn members(file: &str, archive: &Archive) -> Result<Vec<Member>, ReaderError> {
    let mut members = Vec::new();
    for entry in archive.entries() {
        if entry.kind() == EntryKind::Directory {
            continue;
        }
        let name = &entry.name;
        if entry.flags & 0x0001 != 0 {
            return Err(ReaderError::unsupported(
                file,
                format!("member `{name}` is encrypted"),
            ));
        }
        if !matches!(entry.method, Method::Store | Method::Deflate) {
            return Err(ReaderError::unsupported(
                file,
                format!(
                    "member `{name}` uses compression method {} (only stored and deflated are read)",
                    u16::from(entry.method)
                ),
            ));
        }
        members.push(Member {
            name: name.as_str().into(),
            method: entry.method,
            crc32: entry.crc32,
            compressed: entry.compressed_size,
            uncompressed: entry.uncompressed_size,
            header_offset: entry.header_offset,
            range_end: 0,
        });
    }
    Ok(members)
}

/// Each member's bytes end at the next local header or at the central directory; a member
/// whose data would run past that overlaps another (a zip bomb technique) or the directory.
/// Two directory entries naming one local header are refused too: each would read the same
/// data again, so a small file could inflate to any number of times its members (the
/// non-recursive bomb of shared entries).
fn assign_range_ends(
    file: &str,
    members: &mut [Member],
    cd_offset: u64,
) -> Result<(), ReaderError> {
    let mut starts: Vec<u64> = members.iter().map(|m| m.header_offset).collect();
    starts.sort_unstable();
    if let Some(shared) = starts.windows(2).find(|pair| pair[0] == pair[1]) {
        let offset = shared[0];
        let count = starts.iter().filter(|&&start| start == offset).count();
        return Err(ReaderError::corrupt(
            file,
            format!("{count} directory entries name the local header at offset {offset}"),
        ));
    }
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
    // The header's length is known once its fixed part is read: read what the parser asks for.
    let mut header = Vec::with_capacity(LOCAL_LEN + member.name.len());
    let mut wanted = LOCAL_LEN;
    loop {
        let from = header.len();
        header.resize(wanted, 0);
        reader
            .read_exact(&mut header[from..])
            .await
            .map_err(|e| io_error(file, e, &format!("{}: local header", where_())))?;
        match LocalFileHeader::parser(&mut Partial::new(&header[..])) {
            Ok(_) => break,
            Err(ErrMode::Incomplete(Needed::Size(more))) => wanted += more.get(),
            Err(ErrMode::Incomplete(Needed::Unknown)) => wanted += 1,
            Err(_) => {
                return Err(ReaderError::corrupt(
                    file,
                    format!("{}: no local header there", where_()),
                ));
            }
        }
    }
    let data = reader.take(member.compressed);
    Ok(match member.method {
        Method::Deflate => Box::pin(DeflateDecoder::new(data)),
        _ => Box::pin(data),
    })
}
