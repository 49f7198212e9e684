//! Export file bodies: a zip of JSON Lines members (one `<name>.json`, or a `data/` directory
//! entry followed by several `data/part-<n>.json|.txt` members) or one gzip stream, plus where
//! each line of a file lands (its member), so injected lines can be recorded exactly.
//!
//! Everything is built in memory: the async writers over a `Vec<u8>` never wait, so they are
//! driven to completion synchronously and the builders stay plain functions.

use std::future::Future;
use std::ops::Range;

use async_compression::tokio::write::GzipEncoder;
use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use futures::FutureExt;
use tokio::io::AsyncWriteExt;

use crate::admin::types::ExportFormat;

/// The directory entry a multi-member zip starts with.
const DIRECTORY: &str = "data/";

/// One member of a file and the lines (indexes into the file's lines) it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    /// Zip member name; `None` for gzip.
    pub name: Option<String>,
    /// Lines of the file this member holds.
    pub lines: Range<usize>,
}

/// How `lines` lines are spread over the members of a file called `name` (no extension):
/// gzip is one stream; a zip holds `<name>.json` when `members` is 1, else `members`
/// members `data/part-<n>.json` (odd n) / `.txt` (even n) splitting the lines evenly (some may
/// be empty when there are fewer lines than members).
pub(crate) fn layout(
    format: ExportFormat,
    name: &str,
    lines: usize,
    members: usize,
) -> Vec<Member> {
    match format {
        ExportFormat::Gzip => vec![Member {
            name: None,
            lines: 0..lines,
        }],
        ExportFormat::Zip if members <= 1 => vec![Member {
            name: Some(format!("{name}.json")),
            lines: 0..lines,
        }],
        ExportFormat::Zip => (0..members)
            .map(|i| {
                let n = i + 1;
                let ext = if n % 2 == 1 { "json" } else { "txt" };
                Member {
                    name: Some(format!("{DIRECTORY}part-{n}.{ext}")),
                    lines: lines * i / members..lines * n / members,
                }
            })
            .collect(),
    }
}

/// The member holding line `index` (0-based) of a file laid out as `members`.
pub(crate) fn member_of(members: &[Member], index: usize) -> Option<String> {
    members
        .iter()
        .find(|m| m.lines.contains(&index))
        .and_then(|m| m.name.clone())
}

/// The file's key extension (`.zip`, `.gz`).
pub(crate) fn extension(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Zip => ".zip",
        ExportFormat::Gzip => ".gz",
    }
}

/// The `Content-Type` the file is uploaded with.
pub(crate) fn content_type(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Zip => "application/zip",
        ExportFormat::Gzip => "application/gzip",
    }
}

/// The bytes of a file holding `lines` (without newlines; each is written followed by `\n`)
/// laid out as `members` (see [`layout`]).
///
/// # Panics
/// Only if writing an archive to memory fails, which the encoders never do for in-memory
/// sizes.
pub(crate) fn encode(format: ExportFormat, members: &[Member], lines: &[String]) -> Vec<u8> {
    let text = |range: &Range<usize>| {
        let mut text =
            String::with_capacity(lines[range.clone()].iter().map(|l| l.len() + 1).sum());
        for line in &lines[range.clone()] {
            text.push_str(line);
            text.push('\n');
        }
        text
    };
    match format {
        ExportFormat::Gzip => {
            let all = text(&(0..lines.len()));
            done(gzip(all.as_bytes())).expect("gzip into memory")
        }
        ExportFormat::Zip => {
            let entries: Vec<(String, String)> = members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), text(&m.lines)))
                .collect();
            done(zip(&entries, members.len() > 1)).expect("zip into memory")
        }
    }
}

/// Drives a future that never waits (an encoder writing to a `Vec<u8>`) to its end.
fn done<T>(future: impl Future<Output = T>) -> T {
    future
        .now_or_never()
        .expect("an encoder writing to memory never waits")
}

async fn zip(entries: &[(String, String)], directory: bool) -> Result<Vec<u8>, String> {
    let mut writer = ZipFileWriter::new(Vec::new());
    if directory {
        let dir = ZipEntryBuilder::new(DIRECTORY.to_owned().into(), Compression::Stored);
        writer
            .write_entry_whole(dir, &[])
            .await
            .map_err(|e| format!("zip: {e}"))?;
    }
    for (name, text) in entries {
        let entry = ZipEntryBuilder::new(name.clone().into(), Compression::Deflate);
        writer
            .write_entry_whole(entry, text.as_bytes())
            .await
            .map_err(|e| format!("zip: {e}"))?;
    }
    writer.close().await.map_err(|e| format!("zip: {e}"))
}

async fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = GzipEncoder::new(Vec::new());
    encoder
        .write_all(data)
        .await
        .map_err(|e| format!("gzip: {e}"))?;
    encoder.shutdown().await.map_err(|e| format!("gzip: {e}"))?;
    Ok(encoder.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_zip_has_three_members_then_lines_split_evenly_with_mixed_names() {
        let members = layout(ExportFormat::Zip, "f", 7, 3);
        let names: Vec<_> = members.iter().map(|m| m.name.clone().unwrap()).collect();
        assert_eq!(
            names,
            ["data/part-1.json", "data/part-2.txt", "data/part-3.json"]
        );
        assert_eq!(
            members.iter().map(|m| m.lines.clone()).collect::<Vec<_>>(),
            [0..2, 2..4, 4..7]
        );
        assert_eq!(member_of(&members, 3).as_deref(), Some("data/part-2.txt"));
    }

    #[test]
    fn when_gzip_is_laid_out_then_one_unnamed_member_holds_every_line() {
        let members = layout(ExportFormat::Gzip, "f", 5, 4);
        assert_eq!(members.len(), 1);
        assert_eq!(member_of(&members, 4), None);
        assert_eq!(members[0].lines, 0..5);
    }
}
