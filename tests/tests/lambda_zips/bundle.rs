//! The ELF executable inside a function's `bootstrap.zip` (the zip itself is read by
//! `relay_tests::lambda_zip`), and the architecture it must be for.

use object::Endianness;
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};

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
