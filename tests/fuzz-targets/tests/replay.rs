//! The fuzz bodies on stable, as `make test` runs them: every committed seed
//! (`fuzz/seeds/<target>/`) through its body, then a short seeded proptest run of each body
//! on arbitrary bytes and on mutated seeds. A body panics when an invariant breaks, so each
//! of these fails on the first input that breaks one (proptest then shrinks it).

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use relay_fuzz_targets::{Body, TARGETS, exports};

/// Cases per target and strategy: the whole file stays well under a minute in debug.
const CASES: u32 = 256;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a seed entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).expect("a readable seed"))
        })
        .collect();
    seeds.sort();
    seeds
}

/// A runner with a fixed seed: the same inputs on every run.
fn runner() -> TestRunner {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

fn run(name: &str, body: Body, strategy: impl Strategy<Value = Vec<u8>>) {
    runner()
        .run(&strategy, |data| {
            body(&data);
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{name}: {failure}"));
}

/// One mutation of a byte string, as a fuzzer would: flip, insert, delete, truncate,
/// duplicate a slice.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
    Duplicate(prop::sample::Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<prop::sample::Index>();
    prop_oneof![
        (index.clone(), 1..=255u8).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
        (index.clone(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (index.clone(), 1..16usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        index.clone().prop_map(Mutation::Truncate),
        (index, 1..64usize).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
    ]
}

fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let at = |index: &prop::sample::Index| index.index(data.len() + 1).min(data.len());
        match mutation {
            Mutation::Flip(index, bits) if !data.is_empty() => {
                let at = index.index(data.len());
                data[at] ^= bits;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(index, bytes) => {
                let at = at(index);
                data.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete(index, len) => {
                let at = at(index);
                let end = (at + len).min(data.len());
                data.drain(at..end);
            }
            Mutation::Truncate(index) => {
                let at = at(index);
                data.truncate(at);
            }
            Mutation::Duplicate(index, len) => {
                let at = at(index);
                let end = (at + len).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
        }
    }
    data
}

#[test]
fn when_the_seed_folders_and_fuzz_targets_are_listed_then_they_match_the_targets() {
    let mut folders: Vec<String> = fs::read_dir(fuzz_dir().join("seeds"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    names.sort();
    assert_eq!(folders, names, "one seed folder per target");
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in &names {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = fs::read_to_string(&source)
            .unwrap_or_else(|error| panic!("{}: {error}", source.display()));
        assert!(
            text.contains(&format!("relay_fuzz_targets::{}", qualified(name))),
            "{} calls another body",
            source.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        assert!(!seeds(name).is_empty(), "{name} has no seed");
    }
}

/// The body's path under the crate: `payloads::xml_reader`.
fn qualified(name: &str) -> String {
    let module = match name {
        "zip_reader" | "gzip_reader" | "export_line" => "exports",
        name if name.ends_with("_signature") || name.contains("credentials") => "signatures",
        "salesforce_url_token" => "signatures",
        _ => "payloads",
    };
    format!("{module}::{name}")
}

#[test]
fn when_every_seed_is_replayed_then_every_body_holds_its_invariants() {
    for (name, body) in TARGETS {
        for (seed, data) in seeds(name) {
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{name}/{seed} breaks an invariant");
        }
    }
}

#[test]
fn when_arbitrary_bytes_are_fed_then_every_body_holds_its_invariants() {
    for (name, body) in TARGETS {
        run(name, *body, prop::collection::vec(any::<u8>(), 0..512));
    }
}

#[test]
fn when_seeds_are_mutated_then_every_body_holds_its_invariants() {
    for (name, body) in TARGETS {
        let seeds: Vec<Vec<u8>> = seeds(name).into_iter().map(|(_, data)| data).collect();
        let mutated = (
            prop::sample::select(seeds),
            prop::collection::vec(mutation(), 1..6),
        )
            .prop_map(|(seed, mutations)| mutate(seed, &mutations));
        run(name, *body, mutated);
    }
}

#[test]
fn when_a_reader_invariant_breaks_then_the_check_panics() {
    // The checks are real: lines numbered backwards, or over the limit, are caught.
    let good = exports::read(
        "seed.gz",
        &fs::read(fuzz_dir().join("seeds/gzip_reader/one_member.gz")).unwrap(),
        7,
    )
    .expect("the seed reads");
    assert!(good.len() >= 2, "the seed has lines");
    exports::check_lines(&Ok(good.clone()));
    let mut backwards = good.clone();
    backwards.swap(0, 1);
    let caught = std::panic::catch_unwind(|| exports::check_lines(&Ok(backwards)));
    assert!(caught.is_err(), "lines numbered backwards pass the check");
    let inflated = b"a\n\n  \nb\r\n";
    assert_ne!(
        exports::expected_lines(inflated, 512),
        exports::expected_lines(b"a\nb\n", 512),
        "blank lines keep their numbers"
    );
}
