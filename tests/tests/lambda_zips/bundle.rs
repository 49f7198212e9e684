//! A function's `bootstrap.zip` as `make build` (cargo lambda) writes it: where it is, its one
//! entry, and the ELF executable inside.

use std::path::{Path, PathBuf};

use async_zip::base::read1::seek::ZipArchiveReader;
use futures::io::{AsyncReadExt, Cursor};
use object::Endianness;
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};

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
    let root = relay_tests::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    target.join("lambda")
}

/// The architectures Lambda runs functions on, as `LAMBDA_ARCH` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// `x86_64` (`EM_X86_64`), the default.
    X86_64,
    /// `arm64` (`EM_AARCH64`).
    Arm64,
}

impl Arch {
    /// `LAMBDA_ARCH`'s value (`x86_64` when unset); panics naming the accepted values otherwise.
    pub fn from_env() -> Arch {
        let value = std::env::var("LAMBDA_ARCH").unwrap_or_default();
        let value = if value.is_empty() { "x86_64" } else { &value };
        Arch::parse(value).unwrap_or_else(|| {
            panic!("LAMBDA_ARCH={value:?}: expected x86_64 or arm64 (Lambda's names)")
        })
    }

    /// Lambda's name for an architecture (`x86_64`, `arm64`).
    pub fn parse(value: &str) -> Option<Arch> {
        match value {
            "x86_64" => Some(Arch::X86_64),
            "arm64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// Lambda's name for it (`x86_64`, `arm64`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The ELF machine a binary for this architecture declares.
    pub fn machine(self) -> elf::Machine {
        match self {
            Arch::X86_64 => elf::EM_X86_64,
            Arch::Arm64 => elf::EM_AARCH64,
        }
    }
}

/// Reads `function`'s `bootstrap.zip` from [`zip_dir`] and returns the bytes of its one entry.
/// Panics unless the zip exists and holds exactly one entry, `bootstrap`, a regular file with
/// read and execute permission for everyone, whose CRC matches.
pub async fn bootstrap_of(function: &str) -> Vec<u8> {
    let path = zip_dir().join(function).join("bootstrap.zip");
    let zip = read_zip(&path);
    let mut archive = ZipArchiveReader::open(Cursor::new(zip))
        .await
        .unwrap_or_else(|e| panic!("{function}: {} is not a readable zip: {e}", path.display()));
    let names: Vec<String> = archive
        .cdrs()
        .iter()
        .map(|cdr| String::from_utf8_lossy(cdr.insecure_file_name.as_bytes()).into_owned())
        .collect();
    assert_eq!(
        names,
        ["bootstrap"],
        "{function}: {} must hold exactly one entry, bootstrap",
        path.display()
    );
    let header = &archive.cdrs()[0].cdrh;
    assert!(
        header.v_made_by >> 8 == MADE_ON_UNIX,
        "{function}: {}: bootstrap has no unix mode (the zip was not made on unix); \
         Lambda needs it executable",
        path.display()
    );
    let mode = (header.exter_attr >> 16) as u16;
    let file_type = mode & FILE_TYPE_BITS;
    assert!(
        file_type == REGULAR_FILE || file_type == 0,
        "{function}: {}: bootstrap is not a regular file (mode {mode:o})",
        path.display()
    );
    assert!(
        mode & READ_AND_EXECUTE == READ_AND_EXECUTE,
        "{function}: {}: bootstrap's mode is {:o}; Lambda runs it directly as another user, \
         so it needs r-x for everyone (755)",
        path.display(),
        mode & 0o7777
    );
    let mut bytes = Vec::new();
    archive
        .file(0)
        .await
        .unwrap_or_else(|e| panic!("{function}: cannot open bootstrap in the zip: {e}"))
        .read_to_end(&mut bytes)
        .await
        .unwrap_or_else(|e| panic!("{function}: cannot inflate bootstrap (or its CRC): {e}"));
    bytes
}

fn read_zip(path: &Path) -> Vec<u8> {
    match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{} not found: run make build first", path.display())
        }
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// What Lambda's loader cares about in `bootstrap`.
#[derive(Debug)]
pub struct ElfFacts {
    /// `e_machine`.
    pub machine: elf::Machine,
    /// `e_type`: `ET_EXEC`, or `ET_DYN` for a position-independent executable.
    pub file_type: elf::FileType,
    /// The program interpreter (`PT_INTERP`), which a PIE has and a shared library does not.
    pub interpreter: Option<String>,
    /// Every symbol version needed (`.gnu.version_r`), as `(library, version name)`.
    pub needed_versions: Vec<(String, String)>,
}

impl ElfFacts {
    /// Parses a 64-bit ELF file; `Err` says why it is not one.
    pub fn parse(bytes: &[u8]) -> Result<ElfFacts, String> {
        let file = ElfFile64::<Endianness>::parse(bytes)
            .map_err(|e| format!("not a 64-bit ELF file: {e}"))?;
        let endian = file.endian();
        let header = file.elf_header();
        let interpreter = file
            .elf_program_headers()
            .iter()
            .find(|segment| segment.p_type(endian) == elf::PT_INTERP)
            .map(|segment| {
                let path = segment
                    .data(endian, bytes)
                    .map_err(|()| "PT_INTERP is out of bounds".to_owned())?;
                Ok::<_, String>(
                    String::from_utf8_lossy(path)
                        .trim_end_matches('\0')
                        .to_owned(),
                )
            })
            .transpose()?;
        let sections = file.elf_section_table();
        let mut needed_versions = Vec::new();
        let verneed = sections
            .gnu_verneed(endian, bytes)
            .map_err(|e| format!(".gnu.version_r: {e}"))?;
        if let Some((mut needs, link)) = verneed {
            let strings = sections
                .strings(endian, bytes, link)
                .map_err(|e| format!(".gnu.version_r's strings: {e}"))?;
            let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
            while let Some((need, mut auxes)) = needs.next().map_err(|e| e.to_string())? {
                let library = need.file(endian, strings).map_err(|e| e.to_string())?;
                while let Some(aux) = auxes.next().map_err(|e| e.to_string())? {
                    let name = aux.name(endian, strings).map_err(|e| e.to_string())?;
                    needed_versions.push((text(library), text(name)));
                }
            }
        }
        Ok(ElfFacts {
            machine: header.e_machine(endian),
            file_type: header.e_type(endian),
            interpreter,
            needed_versions,
        })
    }

    /// Whether the kernel runs it as a program: `ET_EXEC`, or `ET_DYN` with an interpreter
    /// (a PIE; a shared library has none).
    pub fn is_executable(&self) -> bool {
        self.file_type == elf::ET_EXEC
            || (self.file_type == elf::ET_DYN && self.interpreter.is_some())
    }
}

#[test]
fn when_lambda_arch_names_are_parsed_then_only_lambdas_two_names_are_accepted() {
    let cases = [
        ("x86_64", Some(Arch::X86_64)),
        ("arm64", Some(Arch::Arm64)),
        ("aarch64", None),
        ("amd64", None),
        ("X86_64", None),
        ("", None),
    ];
    for (value, expected) in cases {
        assert_eq!(Arch::parse(value), expected, "{value:?}");
        if let Some(arch) = expected {
            assert_eq!(arch.name(), value, "the name parses back");
        }
    }
    assert_eq!(Arch::X86_64.machine(), elf::EM_X86_64);
    assert_eq!(Arch::Arm64.machine(), elf::EM_AARCH64);
}
