//! How a body reads fields out of its bytes: the first lines are header values (or other
//! short fields), the rest is the request body. Lines keep every byte but the `\n`, so a
//! fuzzer reaches every header value `http` accepts.

use http::{HeaderMap, HeaderName, HeaderValue};

/// `data` split into `fields` lines and the rest (empty lines when `data` runs out).
pub(crate) fn split_fields(data: &[u8], fields: usize) -> (Vec<&[u8]>, &[u8]) {
    let mut rest = data;
    let mut found = Vec::with_capacity(fields);
    for _ in 0..fields {
        match rest.iter().position(|b| *b == b'\n') {
            Some(end) => {
                found.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            None => {
                found.push(rest);
                rest = &[];
            }
        }
    }
    (found, rest)
}

/// Headers with `name: value` for every value `http` accepts as a header value; an empty
/// value leaves the header out. A value holding `\x1e` (record separator) is sent as several
/// headers of the same name, split there, so the fuzzer reaches repeated headers too.
pub(crate) fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        if value.is_empty() {
            continue;
        }
        for part in value.split(|b| *b == 0x1e) {
            if let Ok(value) = HeaderValue::from_bytes(part) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
    }
    headers
}

/// `bytes` as text when they are UTF-8 (header values the verifiers read must be).
pub(crate) fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}
