//! [`Format`]: zip or gzip, from the name or the first bytes.

/// An export file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A zip archive of one or more JSON Lines members.
    Zip,
    /// A gzip file, possibly of several concatenated members.
    Gzip,
}

impl Format {
    /// The format a name's extension says (`.zip`, `.gz`, any case), if any.
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".zip") {
            Some(Format::Zip)
        } else if lower.ends_with(".gz") {
            Some(Format::Gzip)
        } else {
            None
        }
    }

    /// The format the first bytes say (`PK\x03\x04`, or `PK\x05\x06` for an empty zip;
    /// `1f 8b`), if any.
    pub fn from_magic(first: &[u8]) -> Option<Format> {
        if first.starts_with(b"PK\x03\x04") || first.starts_with(b"PK\x05\x06") {
            Some(Format::Zip)
        } else if first.starts_with(&[0x1f, 0x8b]) {
            Some(Format::Gzip)
        } else {
            None
        }
    }
}
