//! Which glibc a binary needs, from the symbol versions it names (`GLIBC_2.34`): pure
//! functions, tested as a table below.

/// Amazon Linux 2023's glibc (the `provided.al2023` runtime): the newest a function may need.
pub const LIMIT: &str = "GLIBC_2.34";

/// The version numbers of a `GLIBC_x.y[.z]` name; `None` for any other name (`GCC_3.0`,
/// `GLIBCXX_3.4.30`, `GLIBC_PRIVATE`), which says nothing about glibc's release.
pub fn glibc_version(name: &str) -> Option<Vec<u32>> {
    name.strip_prefix("GLIBC_")?
        .split('.')
        .map(|part| {
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| part.parse().ok()).flatten()
        })
        .collect()
}

/// Whether a binary needing the symbol version `name` runs on glibc `limit` (a `GLIBC_x.y`
/// name). Names that are not glibc versions are not glibc's to refuse.
pub fn runs_on(name: &str, limit: &str) -> bool {
    let limit = glibc_version(limit)
        .unwrap_or_else(|| panic!("the limit {limit:?} is not a GLIBC_x.y name"));
    glibc_version(name).is_none_or(|needed| needed <= limit)
}

/// The newest glibc version among `names`, by number (`GLIBC_2.30` is newer than
/// `GLIBC_2.3.4`); `None` when none is a glibc version.
pub fn newest<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .filter_map(|name| Some((glibc_version(name)?, name)))
        .max()
        .map(|(_, name)| name)
}

#[test]
fn when_symbol_versions_are_compared_with_the_limit_then_only_newer_glibc_ones_are_refused() {
    // (needed symbol version, runs on GLIBC_2.34)
    let cases = [
        ("GLIBC_2.34", true),
        ("GLIBC_2.35", false),
        ("GLIBC_2.3.4", true),
        ("GLIBC_2.2.5", true),
        ("GLIBC_2.30", true),
        ("GLIBC_2.34.1", false),
        ("GLIBC_3.0", false),
        ("GLIBC_2.100", false),
        ("GCC_3.0", true),
        ("GLIBCXX_3.4.30", true),
        ("GLIBC_PRIVATE", true),
        ("GLIBC_", true),
        ("GLIBC_2..35", true),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(name, expected)| runs_on(name, LIMIT) != *expected)
        .map(|(name, expected)| format!("{name}: expected runs_on = {expected}"))
        .collect();
    assert!(wrong.is_empty(), "against {LIMIT}: {wrong:#?}");
}

#[test]
fn when_the_newest_of_several_versions_is_asked_then_numbers_compare_not_text() {
    // (names, the newest glibc version among them)
    let cases: [(&[&str], Option<&str>); 5] = [
        (
            &["GLIBC_2.9", "GLIBC_2.10", "GLIBC_2.3.4"],
            Some("GLIBC_2.10"),
        ),
        (&["GLIBC_2.3.4", "GLIBC_2.3"], Some("GLIBC_2.3.4")),
        (&["GLIBC_2.30", "GCC_7.0", "GLIBC_2.29"], Some("GLIBC_2.30")),
        (&["GCC_3.0", "GLIBC_PRIVATE"], None),
        (&[], None),
    ];
    for (names, expected) in cases {
        assert_eq!(newest(names.iter().copied()), expected, "{names:?}");
    }
}
