#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| relay_fuzz_targets::payloads::pipedrive_payload(data));
