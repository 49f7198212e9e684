//! Writes Mozilla's root certificates (`webpki-root-certs`) as one PEM bundle, the only form
//! the AWS SDK's trust store takes: encoding ~150 certificates at build time instead of at
//! every cold start (see `relay_core::aws::aws_sdk_config`).

use std::fmt::Write as _;

use base64::Engine as _;

fn main() {
    let mut pem = String::new();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let encoded = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in encoded.as_bytes().chunks(64) {
            let line = std::str::from_utf8(line).expect("base64 is ASCII");
            writeln!(pem, "{line}").expect("writing to a String cannot fail");
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let path = std::path::Path::new(&out_dir).join("mozilla-roots.pem");
    std::fs::write(&path, pem).expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
