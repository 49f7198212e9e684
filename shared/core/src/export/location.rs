//! Where Braze writes an export's files in the export bucket:
//! `[FOLDER/]segment-export/<segment>/<YYYY-MM-dd>/<object_prefix>/<random>.zip|.gz`.
//!
//! `FOLDER` is the optional "AWS S3 Bucket Folder" of Braze's S3 partner setup
//! (`EXPORT_BUCKET_FOLDER`). The date folder is the day Braze sent the callback, which may
//! differ from the day the export was requested, so files are found by the `object_prefix`
//! folder: first under each day from the day before the request to the day after now (a few
//! exact listings that never touch other exports' files), then, if none of those holds any,
//! under the whole segment folder, filtered by `object_prefix`. Dashboard CSV exports of the
//! same segment land under the same segment folder and are never picked up.

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::store::{ObjectStore, StoreError};

/// The export bucket's layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportLocation {
    folder: Option<String>,
}

impl ExportLocation {
    /// Files directly under `segment-export/` (no bucket folder).
    pub fn at_root() -> ExportLocation {
        ExportLocation { folder: None }
    }

    /// Files under `<folder>/segment-export/` (slashes around `folder` are ignored; an empty
    /// folder is the root).
    pub fn in_folder(folder: &str) -> ExportLocation {
        let folder = folder.trim_matches('/');
        ExportLocation {
            folder: (!folder.is_empty()).then(|| folder.to_owned()),
        }
    }

    /// `[FOLDER/]segment-export/<segment>/`.
    pub fn segment_prefix(&self, segment: &str) -> String {
        match &self.folder {
            Some(folder) => format!("{folder}/segment-export/{segment}/"),
            None => format!("segment-export/{segment}/"),
        }
    }

    /// Whether `key` is a file of the export `object_prefix` of `segment`:
    /// `<segment prefix><date>/<object_prefix>/<name>`, with a name and no deeper folder.
    pub fn is_file_of(&self, key: &str, segment: &str, object_prefix: &str) -> bool {
        let Some(rest) = key.strip_prefix(&self.segment_prefix(segment)) else {
            return false;
        };
        let mut parts = rest.split('/');
        matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some(date), Some(prefix), Some(name), None)
                if !date.is_empty() && prefix == object_prefix && !name.is_empty()
        )
    }

    /// The export's files, in key order.
    pub async fn files<S: ObjectStore>(
        &self,
        bucket: &S,
        segment: &str,
        object_prefix: &str,
        requested_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let segment_prefix = self.segment_prefix(segment);
        let mut files = Vec::new();
        for day in days(requested_at, now) {
            let folder = format!(
                "{segment_prefix}{}/{object_prefix}/",
                day.format("%Y-%m-%d")
            );
            files.extend(
                bucket
                    .list(&folder)
                    .await?
                    .into_iter()
                    .filter(|key| self.is_file_of(key, segment, object_prefix)),
            );
        }
        if files.is_empty() {
            files = bucket
                .list(&segment_prefix)
                .await?
                .into_iter()
                .filter(|key| self.is_file_of(key, segment, object_prefix))
                .collect();
        }
        files.sort_unstable();
        files.dedup();
        Ok(files)
    }
}

/// The day before `from` through the day after `to` (at most 40 days: an export callback
/// comes within hours).
fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NaiveDate> {
    let first = from.date_naive() - Days::new(1);
    let last = to.date_naive().max(from.date_naive()) + Days::new(1);
    first
        .iter_days()
        .take_while(|day| *day <= last)
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use bytes::Bytes;
    use chrono::TimeZone;

    #[test]
    fn when_keys_are_matched_then_only_the_object_prefix_folder_counts() {
        let at_root = ExportLocation::at_root();
        let folder = ExportLocation::in_folder("/braze/");
        let cases = [
            (&at_root, "segment-export/s1/2026-12-06/p-1/a.zip", true),
            (&at_root, "segment-export/s1/2026-12-07/p-1/b.gz", true),
            (&at_root, "segment-export/s1/2026-12-06/p-2/a.zip", false),
            (&at_root, "segment-export/s1/2026-12-06/p-1/", false),
            (&at_root, "segment-export/s1/2026-12-06/p-1/x/a.zip", false),
            (&at_root, "segment-export/s10/2026-12-06/p-1/a.zip", false),
            (&at_root, "segment-export/s1/users.csv", false),
            (
                &at_root,
                "braze/segment-export/s1/2026-12-06/p-1/a.zip",
                false,
            ),
            (
                &folder,
                "braze/segment-export/s1/2026-12-06/p-1/a.zip",
                true,
            ),
            (&folder, "segment-export/s1/2026-12-06/p-1/a.zip", false),
        ];
        for (location, key, expected) in cases {
            assert_eq!(location.is_file_of(key, "s1", "p-1"), expected, "{key}");
        }
        assert_eq!(ExportLocation::in_folder("/"), ExportLocation::at_root());
    }

    #[tokio::test]
    async fn when_the_date_folder_differs_from_the_request_day_then_files_are_still_found() {
        let bucket = MemoryStore::new();
        let requested = Utc.with_ymd_and_hms(2026, 12, 6, 23, 59, 0).unwrap();
        for key in [
            "segment-export/s1/2026-12-07/p-1/b.zip",
            "segment-export/s1/2026-12-07/p-1/a.zip",
            "segment-export/s1/2026-12-07/p-0/old.zip",
            "segment-export/s1/2026-12-07/users.csv",
        ] {
            bucket
                .put(key, Bytes::new(), "application/zip")
                .await
                .unwrap();
        }
        let files = ExportLocation::at_root()
            .files(&bucket, "s1", "p-1", requested, requested)
            .await
            .unwrap();
        assert_eq!(
            files,
            [
                "segment-export/s1/2026-12-07/p-1/a.zip",
                "segment-export/s1/2026-12-07/p-1/b.zip"
            ]
        );
        // Far outside the window: found through the segment folder.
        bucket
            .put(
                "segment-export/s1/2027-03-01/p-9/z.gz",
                Bytes::new(),
                "application/gzip",
            )
            .await
            .unwrap();
        let late = ExportLocation::at_root()
            .files(&bucket, "s1", "p-9", requested, requested)
            .await
            .unwrap();
        assert_eq!(late, ["segment-export/s1/2027-03-01/p-9/z.gz"]);
    }
}
