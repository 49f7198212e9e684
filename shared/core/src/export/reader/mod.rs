//! An export file (zip or gzip, in S3) as a sequence of JSON Lines, read as it streams.
//!
//! How it reads:
//! - The format comes from the name (`.zip`, `.gz`), else from the first bytes
//!   (`PK\x03\x04`, `1f 8b`; one 4-byte ranged read).
//! - Zip: the container is parsed by rc-zip's sans-io `ArchiveFsm`, fed by one ranged GET of
//!   the tail (the last 66,560 bytes at most, where rc-zip looks for the end record; it also
//!   answers the zip64 locator and end record and a directory inside it) and one streamed
//!   ranged GET of the central directory when it starts before the tail, then one streamed
//!   ranged GET per member (local header and data), members that are not directories in
//!   central-directory order, whatever their names. Stored and deflated members; sizes and
//!   CRC-32 from the central directory (data descriptors need nothing more); the CRC-32 and
//!   size of each member are checked.
//! - Gzip: one streamed GET; concatenated members read as one stream.
//!
//! Lines split on `\n` (a trailing `\r` is stripped); a final line without `\n` is a line.
//! Whitespace-only lines use up a line number (numbers match `sed -n Np` of the member) but
//! are not yielded. Each [`ExportLine`] has its number across the file, its member and its
//! number within the member; a line is a [`Bytes`] slice of the read buffer (no copy, no
//! allocation per line). To resume after line N, read on and drop lines numbered N or less.
//!
//! Memory, per reader: the line buffer (at most [`ReaderLimits::max_line_bytes`] and a `\r`,
//! plus one read of [`READ_CHUNK`] = 64 KiB; a longer line is reported as
//! [`LineContent::TooLong`], its length without the `\r\n` however many reads it spans, and
//! skipped without being buffered), the inflate state (32 KiB window), the network chunk
//! being read, and at open the tail (at most 66,560 bytes), rc-zip's 256 KiB parse buffer and
//! the parsed central directory (its part before the tail at most
//! [`ReaderLimits::max_directory_bytes`]). The object is never held whole.
//!
//! Guards ([`ReaderLimits`]): a member (or the gzip stream) inflating past
//! `max_inflated_bytes` or more than `max_ratio` times its compressed size (for gzip: the
//! object's size) fails the file as [`ReaderError::Refused`]; zip members' declared sizes are
//! checked the same way before anything is read. Corrupt or truncated files fail as
//! [`ReaderError::Corrupt`], naming the member and offset. See [`ReaderError::class`].
//!
//! Benchmarks: [`inflate_only`] reads the same bytes through the same GETs, inflate, CRC and
//! guards, without splitting lines: the difference to [`ExportReader`] is the line cost.
//!
//! - `source`: [`ExportSource`] and [`S3Source`]; `memory`: `MemorySource` (tests).
//! - `zip`: feeding rc-zip the end records and the central directory, opening a member.
//! - `error`: [`ReaderError`]; `format`: [`Format`]; `limits`: [`ReaderLimits`] and the
//!   streaming guard.

#[cfg(test)]
mod bombs;
mod error;
mod format;
mod limits;
#[cfg(any(test, feature = "test-util"))]
mod memory;
#[cfg(test)]
mod props;
mod source;
#[cfg(test)]
mod tests;
mod zip;

use std::io;
use std::pin::Pin;
use std::sync::Arc;

use async_compression::tokio::bufread::GzipDecoder;
use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, TryStreamExt};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

pub use error::ReaderError;
pub use format::Format;
pub use limits::ReaderLimits;
use limits::guard;
#[cfg(any(test, feature = "test-util"))]
pub use memory::MemorySource;
pub use source::{ByteChunks, ExportSource, S3Source};

/// Bytes asked of the inflater per read into the line buffer.
pub const READ_CHUNK: usize = 64 * 1024;
/// Bytes of a too-long line kept as its excerpt.
pub const EXCERPT_BYTES: usize = 256;

/// What a line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineContent {
    /// The line, without its `\n` or `\r\n`.
    Text(Bytes),
    /// A line over [`ReaderLimits::max_line_bytes`]: skipped, only its length and first
    /// [`EXCERPT_BYTES`] bytes kept.
    TooLong {
        /// The line's length in bytes (without `\n`).
        len: u64,
        /// Its first bytes.
        excerpt: Bytes,
    },
}

/// One line of an export file and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLine {
    /// 1-based number across the whole file (zip members in central-directory order).
    pub number: u64,
    /// The zip member's name; `None` for gzip.
    pub member: Option<Arc<str>>,
    /// 1-based number within the member.
    pub member_line: u64,
    /// The line or its too-long report.
    pub content: LineContent,
}

/// The member being read.
struct Current {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    member: Option<Arc<str>>,
    /// Where errors say the bytes came from.
    place: String,
    member_line: u64,
    inflated: u64,
    /// The compressed size the ratio guard compares with.
    compressed: u64,
    /// Zip: the CRC-32 so far, the expected CRC-32 and size.
    check: Option<(crc32fast::Hasher, u32, u64)>,
    eof: bool,
}

/// A line too long to buffer, being skipped.
struct Skipping {
    /// Bytes skipped so far.
    len: u64,
    excerpt: Bytes,
    /// Whether the last byte skipped was `\r`: if the `\n` comes next, the `\r` is the line
    /// ending's, not the line's (as for a line read whole).
    cr: bool,
}

/// Reads one export file's lines, pull-based: [`ExportReader::next_line`].
pub struct ExportReader<S> {
    source: S,
    limits: ReaderLimits,
    format: Format,
    size: u64,
    members: std::vec::IntoIter<zip::Member>,
    gzip_opened: bool,
    current: Option<Current>,
    buf: BytesMut,
    scan_from: usize,
    skipping: Option<Skipping>,
    number: u64,
    finished: bool,
}

/// Wraps a reader error into an `io::Error` (for the inflaters' input), to be taken back out
/// by [`io_error`].
pub(crate) fn to_io(err: ReaderError) -> io::Error {
    io::Error::other(err)
}

/// An `io::Error` from reading `place`: the source's own error when it is one, else a
/// truncation or corruption.
pub(crate) fn io_error(file: &str, err: io::Error, place: &str) -> ReaderError {
    if err.get_ref().is_some_and(|inner| inner.is::<ReaderError>()) {
        if let Some(Ok(reader_error)) = err.into_inner().map(|e| e.downcast::<ReaderError>()) {
            return *reader_error;
        }
        return ReaderError::corrupt(file, format!("{place}: unreadable"));
    }
    if err.kind() == io::ErrorKind::UnexpectedEof {
        return ReaderError::corrupt(file, format!("{place}: unexpected end of data (truncated)"));
    }
    ReaderError::corrupt(file, format!("{place}: {err}"))
}

enum Split {
    Line(ExportLine),
    Skipped,
    NeedMore,
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

impl<S: ExportSource> ExportReader<S> {
    /// Opens `source`: its size, its format, and for a zip the end records and the central
    /// directory (declared sizes checked against `limits`).
    pub async fn open(source: S, limits: ReaderLimits) -> Result<ExportReader<S>, ReaderError> {
        let size = source.size().await?;
        let format = match Format::from_name(source.name()) {
            Some(format) => format,
            None => {
                let mut first = Vec::with_capacity(4);
                let mut stream = source.read_range(0, size.min(4)).await?;
                while let Some(chunk) = stream.try_next().await? {
                    first.extend_from_slice(&chunk);
                }
                Format::from_magic(&first).ok_or_else(|| ReaderError::UnknownFormat {
                    file: source.name().to_owned(),
                })?
            }
        };
        let members = match format {
            Format::Zip => zip::read_directory(&source, size, &limits).await?,
            Format::Gzip => Vec::new(),
        };
        Ok(ExportReader {
            source,
            limits,
            format,
            size,
            members: members.into_iter(),
            gzip_opened: false,
            current: None,
            buf: BytesMut::new(),
            scan_from: 0,
            skipping: None,
            number: 0,
            finished: false,
        })
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The source, e.g. to count its reads.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The next non-blank line, `None` at the end of the file. After an error the reader is
    /// finished (`None`).
    pub async fn next_line(&mut self) -> Result<Option<ExportLine>, ReaderError> {
        if self.finished {
            return Ok(None);
        }
        let result = self.next_line_inner().await;
        if !matches!(result, Ok(Some(_))) {
            self.finished = true;
            self.current = None;
        }
        result
    }

    /// The lines as a stream (the same as calling [`ExportReader::next_line`] in a loop).
    pub fn into_stream(self) -> impl Stream<Item = Result<ExportLine, ReaderError>> {
        futures::stream::try_unfold(self, |mut reader| async move {
            Ok(reader.next_line().await?.map(|line| (line, reader)))
        })
    }

    async fn next_line_inner(&mut self) -> Result<Option<ExportLine>, ReaderError> {
        loop {
            if self.current.is_none() && !self.open_next().await? {
                return Ok(None);
            }
            match self.split() {
                Split::Line(line) => return Ok(Some(line)),
                Split::Skipped => continue,
                Split::NeedMore => {}
            }
            if self.current.as_ref().is_some_and(|c| c.eof) {
                let last = self.last_line();
                self.finish_member()?;
                if let Some(line) = last {
                    return Ok(Some(line));
                }
                continue;
            }
            self.fill().await?;
        }
    }

    /// Opens the next member (or the gzip stream); false when there is none left.
    async fn open_next(&mut self) -> Result<bool, ReaderError> {
        let file = self.source.name();
        let current = match self.format {
            Format::Gzip if !self.gzip_opened => {
                self.gzip_opened = true;
                if self.size == 0 {
                    return Err(ReaderError::corrupt(file, "empty object: no gzip header"));
                }
                let stream = self.source.read_all().await?;
                let mut decoder = GzipDecoder::new(StreamReader::new(stream.map_err(to_io)));
                decoder.multiple_members(true);
                Current {
                    reader: Box::pin(decoder),
                    member: None,
                    place: "gzip stream".to_owned(),
                    member_line: 0,
                    inflated: 0,
                    compressed: self.size,
                    check: None,
                    eof: false,
                }
            }
            Format::Gzip => return Ok(false),
            Format::Zip => {
                let Some(member) = self.members.next() else {
                    return Ok(false);
                };
                Current {
                    reader: zip::open_member(&self.source, &member).await?,
                    place: format!(
                        "member `{}` (local header at offset {})",
                        member.name, member.header_offset
                    ),
                    member: Some(member.name),
                    member_line: 0,
                    inflated: 0,
                    compressed: member.compressed,
                    check: Some((crc32fast::Hasher::new(), member.crc32, member.uncompressed)),
                    eof: false,
                }
            }
        };
        self.current = Some(current);
        self.buf.clear();
        self.scan_from = 0;
        self.skipping = None;
        Ok(true)
    }

    /// Reads more inflated bytes into the buffer, with the CRC and the guards.
    async fn fill(&mut self) -> Result<(), ReaderError> {
        let file = self.source.name();
        let Some(current) = self.current.as_mut() else {
            return Ok(());
        };
        self.buf.reserve(READ_CHUNK);
        let before = self.buf.len();
        let read = current.reader.read_buf(&mut self.buf).await.map_err(|e| {
            io_error(
                file,
                e,
                &format!(
                    "{}, after {} inflated bytes",
                    current.place, current.inflated
                ),
            )
        })?;
        if read == 0 {
            current.eof = true;
            return Ok(());
        }
        current.inflated += read as u64;
        if let Some((hasher, _, expected_size)) = current.check.as_mut() {
            hasher.update(&self.buf[before..]);
            if current.inflated > *expected_size {
                return Err(ReaderError::corrupt(
                    file,
                    format!(
                        "{}: inflates past its declared size of {expected_size} bytes",
                        current.place
                    ),
                ));
            }
        }
        guard(file, current, &self.limits)
    }

    /// Ends the member at its end of data: checks its size and CRC-32.
    fn finish_member(&mut self) -> Result<(), ReaderError> {
        let file = self.source.name();
        let Some(current) = self.current.take() else {
            return Ok(());
        };
        if let Some((hasher, expected_crc, expected_size)) = current.check {
            if current.inflated != expected_size {
                return Err(ReaderError::corrupt(
                    file,
                    format!(
                        "{}: {} inflated bytes, the central directory says {expected_size} (truncated)",
                        current.place, current.inflated
                    ),
                ));
            }
            let crc = hasher.finalize();
            if crc != expected_crc {
                return Err(ReaderError::corrupt(
                    file,
                    format!(
                        "{}: CRC-32 {crc:08x}, the central directory says {expected_crc:08x}",
                        current.place
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The next complete line in the buffer, if any; switches to skipping when the buffer
    /// holds more than a line may without a newline.
    fn split(&mut self) -> Split {
        let max = self.limits.max_line_bytes;
        let Some(at) = memchr::memchr(b'\n', &self.buf[self.scan_from..]) else {
            let ends_with_cr = self.buf.last().map(|b| *b == b'\r');
            if let Some(skipping) = self.skipping.as_mut() {
                skipping.len += self.buf.len() as u64;
                skipping.cr = ends_with_cr.unwrap_or(skipping.cr);
                self.buf.clear();
            } else if self.buf.len() > max.saturating_add(1) {
                // Over the limit even if its last byte is the `\r` of a `\r\n`.
                self.skipping = Some(Skipping {
                    len: self.buf.len() as u64,
                    excerpt: Bytes::copy_from_slice(&self.buf[..EXCERPT_BYTES.min(max)]),
                    cr: ends_with_cr.unwrap_or(false),
                });
                self.buf.clear();
            }
            self.scan_from = self.buf.len();
            return Split::NeedMore;
        };
        let end = self.scan_from + at;
        self.scan_from = 0;
        if let Some(skipping) = self.skipping.take() {
            let cr = match end {
                0 => skipping.cr,
                _ => self.buf[end - 1] == b'\r',
            };
            self.buf.advance(end + 1);
            let len = skipping.len + end as u64 - u64::from(cr);
            return Split::Line(self.line(LineContent::TooLong {
                len,
                excerpt: skipping.excerpt,
            }));
        }
        let mut line = self.buf.split_to(end + 1).freeze();
        line.truncate(end);
        self.content(line)
    }

    /// The last line of a member, without a `\n`.
    fn last_line(&mut self) -> Option<ExportLine> {
        if let Some(skipping) = self.skipping.take() {
            let cr = self.buf.last().map_or(skipping.cr, |b| *b == b'\r');
            let len = skipping.len + self.buf.len() as u64 - u64::from(cr);
            self.buf.clear();
            return Some(self.line(LineContent::TooLong {
                len,
                excerpt: skipping.excerpt,
            }));
        }
        if self.buf.is_empty() {
            return None;
        }
        let line = self.buf.split().freeze();
        match self.content(line) {
            Split::Line(line) => Some(line),
            Split::Skipped | Split::NeedMore => None,
        }
    }

    fn content(&mut self, mut line: Bytes) -> Split {
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.len() > self.limits.max_line_bytes {
            let excerpt = Bytes::copy_from_slice(&line[..EXCERPT_BYTES.min(line.len())]);
            return Split::Line(self.line(LineContent::TooLong {
                len: line.len() as u64,
                excerpt,
            }));
        }
        if is_blank(&line) {
            self.line_numbers();
            return Split::Skipped;
        }
        Split::Line(self.line(LineContent::Text(line)))
    }

    fn line_numbers(&mut self) -> (u64, Option<Arc<str>>, u64) {
        self.number += 1;
        match self.current.as_mut() {
            Some(current) => {
                current.member_line += 1;
                (self.number, current.member.clone(), current.member_line)
            }
            None => (self.number, None, 0),
        }
    }

    fn line(&mut self, content: LineContent) -> ExportLine {
        let (number, member, member_line) = self.line_numbers();
        ExportLine {
            number,
            member,
            member_line,
            content,
        }
    }
}

/// Inflates the whole file through the same reads, inflate, CRC-32 and guards as
/// [`ExportReader`], without splitting lines, and returns the inflated byte count: the
/// baseline a benchmark compares the reader with.
pub async fn inflate_only<S: ExportSource>(
    source: S,
    limits: ReaderLimits,
) -> Result<u64, ReaderError> {
    let mut reader = ExportReader::open(source, limits).await?;
    let mut total = 0;
    while reader.open_next().await? {
        loop {
            reader.fill().await?;
            reader.buf.clear();
            if reader.current.as_ref().is_some_and(|c| c.eof) {
                total += reader.current.as_ref().map_or(0, |c| c.inflated);
                reader.finish_member()?;
                break;
            }
        }
    }
    Ok(total)
}
