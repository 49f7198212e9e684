//! A function's deployable zip as `make build` (cargo lambda) writes it,
//! `target/lambda/<function>/bootstrap.zip`: where the zips are, the one executable entry
//! Lambda runs, and writing it back out as Lambda unpacks it. Shared by the zip test
//! (`tests/tests/lambda_zips/`) and `relay-bench --only lambda-zips`.

use std::fs::{OpenOptions, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_zip::base::read1::seek::ZipArchiveReader;
use futures::io::{AsyncReadExt, Cursor};

/// The functions `make build` zips, in its order.
pub const FUNCTIONS: [&str; 4] = [
    "crm-signup",
    "export-callback",
    "sync-worker",
    "deletion-worker",
];

/// The high byte of "version made by" for unix, where the high half of the external
/// attributes is the file's mode.
const MADE_ON_UNIX: u16 = 3;
/// `S_IFMT`, the file type bits of a unix mode.
const FILE_TYPE_BITS: u16 = 0o170_000;
/// `S_IFREG`, a regular file.
const REGULAR_FILE: u16 = 0o100_000;
/// Read and execute for owner, group and others: Lambda runs `bootstrap` as a user that does
/// not own it, so it needs them all (cargo lambda writes 0755).
const READ_AND_EXECUTE: u16 = 0o555;

/// Where the zips are: `LAMBDA_ZIP_DIR` when set, else `lambda/` in the workspace's target
/// folder (`CARGO_TARGET_DIR`, taken from the workspace root when relative; else `target/`).
pub fn zip_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LAMBDA_ZIP_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let root = crate::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    target.join("lambda")
}

/// `function`'s zip under `dir`.
pub fn zip_path(dir: &Path, function: &str) -> PathBuf {
    dir.join(function).join("bootstrap.zip")
}

/// The bytes of the zip's one entry, `bootstrap`. `Err` names the zip and what is wrong:
/// missing (run make build), another entry beside it or instead of it, no unix mode, not a
/// regular file, not readable and executable by everyone, or a CRC that does not match.
pub async fn read_bootstrap(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let zip = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{shown} not found: run make build first"));
        }
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let mut archive = ZipArchiveReader::open(Cursor::new(zip))
        .await
        .map_err(|e| format!("{shown} is not a readable zip: {e}"))?;
    let names: Vec<String> = archive
        .cdrs()
        .iter()
        .map(|cdr| String::from_utf8_lossy(cdr.insecure_file_name.as_bytes()).into_owned())
        .collect();
    if names != ["bootstrap"] {
        return Err(format!(
            "{shown} must hold exactly one entry, bootstrap; it holds {names:?}"
        ));
    }
    let header = &archive.cdrs()[0].cdrh;
    if header.v_made_by >> 8 != MADE_ON_UNIX {
        return Err(format!(
            "{shown}: bootstrap has no unix mode (the zip was not made on unix); Lambda needs it executable"
        ));
    }
    let mode = (header.exter_attr >> 16) as u16;
    let file_type = mode & FILE_TYPE_BITS;
    if file_type != REGULAR_FILE && file_type != 0 {
        return Err(format!(
            "{shown}: bootstrap is not a regular file (mode {mode:o})"
        ));
    }
    if mode & READ_AND_EXECUTE != READ_AND_EXECUTE {
        return Err(format!(
            "{shown}: bootstrap's mode is {:o}; Lambda runs it directly as another user, so it needs r-x for everyone (755)",
            mode & 0o7777
        ));
    }
    let mut bytes = Vec::new();
    archive
        .file(0)
        .await
        .map_err(|e| format!("{shown}: cannot open bootstrap: {e}"))?
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("{shown}: cannot inflate bootstrap (or its CRC): {e}"))?;
    Ok(bytes)
}

/// Writes `bytes` to a new file at `path` with mode 0755 (whatever the umask took off), as
/// Lambda unpacks `bootstrap`; the file is closed on return, so exec'ing it cannot meet
/// `ETXTBSY`. An existing file is not overwritten.
pub fn write_executable(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let failed = |what: &str, e: std::io::Error| format!("{what} {}: {e}", path.display());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(path)
        .map_err(|e| failed("cannot create", e))?;
    file.write_all(bytes)
        .map_err(|e| failed("cannot write", e))?;
    file.set_permissions(Permissions::from_mode(0o755))
        .map_err(|e| failed("cannot chmod 755", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip entry: name, bytes, unix mode.
    type Entry<'a> = (&'a str, &'a [u8], u16);

    /// A zip of `entries`, deflated, as cargo lambda writes one.
    async fn zip_of(entries: &[Entry<'_>]) -> Vec<u8> {
        use async_zip::base::write::ZipFileWriter;
        use async_zip::{Compression, ZipEntryBuilder};
        let mut writer = ZipFileWriter::new(Cursor::new(Vec::new()));
        for (name, bytes, mode) in entries {
            let entry =
                ZipEntryBuilder::new((*name).into(), Compression::Deflate).unix_permissions(*mode);
            writer
                .write_entry_whole(entry, bytes)
                .await
                .expect("an entry");
        }
        writer.close().await.expect("a zip").into_inner()
    }

    async fn read_zip_of(entries: &[Entry<'_>]) -> Result<Vec<u8>, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bootstrap.zip");
        std::fs::write(&path, zip_of(entries).await).expect("zip written");
        read_bootstrap(&path).await
    }

    #[tokio::test]
    async fn when_a_zip_holds_only_an_executable_bootstrap_then_its_bytes_are_read() {
        let program = b"\x7fELF and the rest of the program".repeat(100);
        assert_eq!(
            read_zip_of(&[("bootstrap", &program, 0o755)]).await,
            Ok(program)
        );
    }

    #[tokio::test]
    async fn when_a_zip_is_not_one_executable_bootstrap_then_reading_it_says_what_is_wrong() {
        let cases: [(&[Entry], &str); 4] = [
            (&[("main", b"x", 0o755)], "it holds [\"main\"]"),
            (
                &[("bootstrap", b"x", 0o755), ("README", b"y", 0o644)],
                "exactly one entry",
            ),
            (&[("bootstrap", b"x", 0o644)], "mode is 644"),
            (&[("bootstrap", b"x", 0o700)], "mode is 700"),
        ];
        for (entries, expected) in cases {
            let error = read_zip_of(entries).await.expect_err("refused");
            assert!(error.contains(expected), "{expected:?} in {error}");
        }
        let missing = read_bootstrap(Path::new("/nonexistent/bootstrap.zip"))
            .await
            .expect_err("missing");
        assert!(
            missing.ends_with("not found: run make build first"),
            "{missing}"
        );
    }

    #[test]
    fn when_an_executable_is_written_then_its_mode_is_0755_whatever_the_umask() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bootstrap");
        write_executable(&path, b"#!/bin/sh\n").expect("written");
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755);
        assert_eq!(std::fs::read(&path).expect("readable"), b"#!/bin/sh\n");
        assert!(
            write_executable(&path, b"again").is_err(),
            "an existing file is not overwritten"
        );
    }
}
