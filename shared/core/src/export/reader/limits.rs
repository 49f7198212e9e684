//! [`ReaderLimits`]: the reader's guards, and the check of a member's inflated bytes against
//! them while it streams.

use super::{Current, ReaderError};

/// The reader's guards; [`Default`] gives the values documented on each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderLimits {
    /// Longest line yielded (default 1 MiB); a longer one is
    /// [`LineContent::TooLong`](super::LineContent::TooLong).
    pub max_line_bytes: usize,
    /// Most bytes one member (or the gzip stream) may inflate to (default 4 GiB).
    pub max_inflated_bytes: u64,
    /// Highest inflated/compressed ratio of a member, or of a gzip stream against the
    /// object's size (default 200).
    pub max_ratio: u64,
    /// Largest zip central directory read (default 16 MiB).
    pub max_directory_bytes: u64,
}

impl Default for ReaderLimits {
    fn default() -> ReaderLimits {
        ReaderLimits {
            max_line_bytes: 1024 * 1024,
            max_inflated_bytes: 4 * 1024 * 1024 * 1024,
            max_ratio: 200,
            max_directory_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Fails the file when the member (or gzip stream) has inflated past the limits.
pub(super) fn guard(
    file: &str,
    current: &Current,
    limits: &ReaderLimits,
) -> Result<(), ReaderError> {
    if current.inflated > limits.max_inflated_bytes {
        return Err(ReaderError::refused(
            file,
            format!(
                "{} inflates past {} bytes",
                current.place, limits.max_inflated_bytes
            ),
        ));
    }
    if current.inflated > limits.max_ratio.saturating_mul(current.compressed.max(1)) {
        return Err(ReaderError::refused(
            file,
            format!(
                "{} inflates past {} times its {} compressed bytes",
                current.place, limits.max_ratio, current.compressed
            ),
        ));
    }
    Ok(())
}
