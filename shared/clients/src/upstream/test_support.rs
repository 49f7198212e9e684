//! Helpers the upstream modules' unit tests share.

use http::HeaderMap;

/// The wall clock the tests pretend it is (epoch seconds, in January 2027).
pub(super) const NOW_EPOCH: u64 = 1_800_000_000;

/// A header map from `(name, value)` pairs.
pub(super) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().unwrap());
    }
    map
}
