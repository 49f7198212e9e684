//! [`ReaderError`]: why an export file could not be read, and whether reading it again later
//! may work.

use relay_clients::upstream::FailureClass;

/// A failure reading one export file. Messages name the file, the zip member and the offset;
/// they never hold the file's content.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// S3 (or the source behind it) failed: classified like every other S3 call (throttling,
    /// 5xx, timeouts and broken bodies are transient; a missing object is permanent).
    #[error("reading {file} failed: {operation} ({class:?}): {detail}")]
    Source {
        /// The object's name (its key).
        file: String,
        /// `head`, `get` (a ranged or whole GET) or `body` (the streamed body broke).
        operation: &'static str,
        /// Transient, throttled, permanent or misconfigured.
        class: FailureClass,
        /// The service's error code and message, or the transport error.
        detail: String,
    },
    /// Neither the extension nor the first bytes say zip or gzip.
    #[error("{file} is neither a zip nor a gzip file (extension and first bytes)")]
    UnknownFormat {
        /// The object's name.
        file: String,
    },
    /// The file is truncated or corrupt: a bad end of central directory, a directory pointing
    /// past the end, a CRC-32 or size mismatch, bad deflate data, an unexpected end.
    #[error("{file} is corrupt: {reason}")]
    Corrupt {
        /// The object's name.
        file: String,
        /// What is wrong and where (member name, offset).
        reason: String,
    },
    /// A zip feature this reader does not handle (encryption, a compression method other
    /// than stored and deflated, several disks).
    #[error("{file} is not supported: {reason}")]
    Unsupported {
        /// The object's name.
        file: String,
        /// What and where.
        reason: String,
    },
    /// A member (or the gzip stream) inflates past [`max_inflated_bytes`] or [`max_ratio`].
    ///
    /// [`max_inflated_bytes`]: super::ReaderLimits::max_inflated_bytes
    /// [`max_ratio`]: super::ReaderLimits::max_ratio
    #[error("{file}: refused: {reason} (zip bomb guard)")]
    Refused {
        /// The object's name.
        file: String,
        /// Which limit, its value and where.
        reason: String,
    },
}

impl ReaderError {
    /// Whether reading the file again may work: source failures keep the S3 classification;
    /// a corrupt, unsupported or refused file is permanent (record it as failed, go on with
    /// the other files).
    pub fn class(&self) -> FailureClass {
        match self {
            ReaderError::Source { class, .. } => *class,
            ReaderError::UnknownFormat { .. }
            | ReaderError::Corrupt { .. }
            | ReaderError::Unsupported { .. }
            | ReaderError::Refused { .. } => FailureClass::Permanent,
        }
    }

    pub(crate) fn corrupt(file: &str, reason: impl Into<String>) -> ReaderError {
        ReaderError::Corrupt {
            file: file.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(file: &str, reason: impl Into<String>) -> ReaderError {
        ReaderError::Unsupported {
            file: file.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn refused(file: &str, reason: impl Into<String>) -> ReaderError {
        ReaderError::Refused {
            file: file.to_owned(),
            reason: reason.into(),
        }
    }
}
