//! Links the Lambda binary as a non-PIE executable on Linux. A position-independent binary
//! makes the dynamic loader apply ~27,000 relocations (the AWS SDK's and hyper's vtables) at
//! every start; that was 0.4 ms of a 2.7 ms cold start. The price is a fixed load address for
//! the executable itself (libraries, heap and stack stay randomised), as for Go on Lambda.
//! `RELAY_LINK_PIE=1` at build time keeps the default PIE link. Tests are unaffected: only
//! the `bins` get the flag.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RELAY_LINK_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let keep_pie = std::env::var("RELAY_LINK_PIE").is_ok_and(|value| value == "1");
    if linux && !keep_pie {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
