#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_targets::exports::export_line(data));
