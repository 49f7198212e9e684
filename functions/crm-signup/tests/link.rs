//! How the Lambda binary is linked (see `build.rs`): non-PIE on Linux, to spare the dynamic
//! loader its relocations at every cold start, unless built with `RELAY_LINK_PIE=1`.

#![cfg(target_os = "linux")]

/// ELF `e_type` values.
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

#[test]
fn when_the_lambda_binary_is_built_then_its_elf_type_is_the_one_build_rs_chose() {
    use std::io::Read;
    let path = env!("CARGO_BIN_EXE_crm-signup");
    let mut header = [0u8; 18];
    std::fs::File::open(path)
        .and_then(|mut binary| binary.read_exact(&mut header))
        .expect("cargo built the binary for this test");
    assert_eq!(&header[..4], b"\x7fELF", "{path} is not an ELF file");
    let e_type = u16::from_le_bytes([header[16], header[17]]);

    let expected = if option_env!("RELAY_LINK_PIE") == Some("1") {
        ET_DYN
    } else {
        ET_EXEC
    };
    assert_eq!(e_type, expected, "e_type of {path}");
}
