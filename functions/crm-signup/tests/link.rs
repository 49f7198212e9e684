//! How the Lambda binary is linked (see `build.rs`): non-PIE on Linux, to spare the dynamic
//! loader its relocations at every cold start, unless built with `RELAY_LINK_PIE=1`.

#![cfg(target_os = "linux")]

/// ELF `e_type` values.
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

#[test]
fn when_the_lambda_binary_is_built_then_its_elf_type_is_the_one_build_rs_chose() {
    let path = env!("CARGO_BIN_EXE_crm-signup");
    let bytes = std::fs::read(path).expect("cargo built the binary for this test");
    assert_eq!(&bytes[..4], b"\x7fELF", "{path} is not an ELF file");
    let e_type = u16::from_le_bytes([bytes[16], bytes[17]]);

    let expected = if option_env!("RELAY_LINK_PIE") == Some("1") {
        ET_DYN
    } else {
        ET_EXEC
    };
    assert_eq!(e_type, expected, "e_type of {path}");
}
