//! The reconciliation rules as tables.

use super::*;

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(id, n)| ((*id).to_owned(), *n)).collect()
}

/// `a` delivered, `b` dead-lettered, `x` (invalid) rejected: the cell holds.
fn reference() -> (SignupInputs, SignupObserved) {
    let inputs = SignupInputs {
        valid: ids(&["a", "b"]),
        invalid: ids(&["x"]),
    };
    let seen = SignupObserved {
        rejected: [("x".to_owned(), "email".to_owned())].into(),
        braze: counts(&[("a", 1)]),
        userflow: counts(&[("a", 1)]),
        signed_up: counts(&[("a", 1)]),
        dead_lettered: set(&["b"]),
        ..SignupObserved::default()
    };
    (inputs, seen)
}

#[test]
fn when_signups_are_observed_then_each_lands_in_exactly_one_column() {
    type Change = fn(&mut SignupObserved);
    let cases: Vec<(&str, Change, [usize; 6], bool)> = vec![
        // name, change, [delivered (event sent or unknown), dead, rejected, not acknowledged,
        // lost, duplicated], holds
        ("reference", |_| {}, [1, 1, 1, 0, 0, 0], true),
        (
            "b dead letter gone: lost",
            |s| {
                s.dead_lettered.clear();
            },
            [1, 0, 1, 0, 1, 0],
            false,
        ),
        (
            "a without its signup event: lost",
            |s| {
                s.signed_up.clear();
            },
            [0, 1, 1, 0, 1, 0],
            false,
        ),
        (
            "a only in Braze: lost",
            |s| {
                s.userflow.clear();
            },
            [0, 1, 1, 0, 1, 0],
            false,
        ),
        (
            "a twice in Userflow: duplicated",
            |s| {
                s.userflow.insert("a".into(), 2);
            },
            [1, 1, 1, 0, 0, 1],
            false,
        ),
        (
            "a's signup event twice: duplicated",
            |s| {
                s.signed_up.insert("a".into(), 2);
            },
            [1, 1, 1, 0, 0, 1],
            false,
        ),
        (
            "x never answered: not acknowledged",
            |s| {
                s.rejected.clear();
                s.not_acknowledged.insert("x".into());
            },
            [1, 1, 0, 1, 0, 0],
            false,
        ),
        (
            "b refused by a vendor with a reason: rejected",
            |s| {
                s.dead_lettered.clear();
                s.rejected.insert("b".into(), "vendor_rejected".into());
            },
            [1, 0, 2, 0, 0, 0],
            true,
        ),
        (
            "a without its event, marker says unknown: accounted",
            |s| {
                s.signed_up.clear();
                s.event_unknown.insert("a".into());
            },
            [1, 1, 1, 0, 0, 0],
            true,
        ),
        (
            "b with an unknown event but not in Userflow: dead-lettered",
            |s| {
                s.braze.insert("b".into(), 1);
                s.event_unknown.insert("b".into());
            },
            [1, 1, 1, 0, 0, 0],
            true,
        ),
        (
            "b delivered and also in the DLQ: delivered",
            |s| {
                s.braze.insert("b".into(), 1);
                s.userflow.insert("b".into(), 1);
                s.signed_up.insert("b".into(), 1);
            },
            [2, 0, 1, 0, 0, 0],
            true,
        ),
    ];
    for (name, change, want, holds) in cases {
        let (inputs, mut seen) = reference();
        change(&mut seen);
        let tally = SignupTally::of(&inputs, &seen);
        let got = [
            tally.delivered + tally.event_unknown,
            tally.dead_lettered,
            tally.rejected,
            tally.not_acknowledged,
            tally.lost,
            tally.duplicated,
        ];
        assert_eq!(got, want, "{name}");
        assert_eq!(tally.inputs, 3, "{name}");
        assert_eq!(tally.holds(), holds, "{name}");
    }
}

#[test]
fn when_an_invalid_contact_reaches_a_vendor_then_it_is_leaked_and_the_cell_fails() {
    let (inputs, mut seen) = reference();
    seen.braze.insert("x".into(), 1);
    let tally = SignupTally::of(&inputs, &seen);
    assert_eq!(tally.leaked, 1);
    assert_eq!(
        tally.examples,
        ids(&["x (braze 1, userflow 0, signed_up 0)"])
    );
    assert!(!tally.holds());
}

#[test]
fn when_erasures_are_observed_then_each_is_receipted_dead_lettered_or_lost() {
    let requested = ids(&["r1", "r2", "r3"]);
    let cases = [
        (
            "all receipted",
            set(&["r1", "r2", "r3"]),
            set(&[]),
            set(&[]),
            [3, 0, 0, 0],
            true,
        ),
        (
            "one in the DLQ",
            set(&["r1", "r2"]),
            set(&["r3"]),
            set(&[]),
            [2, 1, 0, 0],
            true,
        ),
        (
            "one nowhere",
            set(&["r1", "r2"]),
            set(&[]),
            set(&[]),
            [2, 0, 1, 0],
            false,
        ),
        (
            "receipted, still held",
            set(&["r1", "r2", "r3"]),
            set(&[]),
            set(&["r2"]),
            [3, 0, 0, 1],
            false,
        ),
        (
            "receipt wins over a DLQ copy",
            set(&["r1", "r2", "r3"]),
            set(&["r1"]),
            set(&[]),
            [3, 0, 0, 0],
            true,
        ),
    ];
    for (name, receipted, dead_lettered, still_held, want, holds) in cases {
        let seen = ErasureObserved {
            receipted,
            dead_lettered,
            still_held,
        };
        let tally = ErasureTally::of(&requested, &seen);
        let got = [
            tally.receipted,
            tally.dead_lettered,
            tally.lost,
            tally.not_erased,
        ];
        assert_eq!(got, want, "{name}");
        assert_eq!(tally.holds(), holds, "{name}");
    }
}

#[test]
fn when_export_files_are_observed_then_unfinished_and_unreasoned_failures_fail_the_cell() {
    let failed = |reason: &str| vec![("k".to_owned(), reason.to_owned())];
    let cases = [
        (
            "all done, lines counted",
            3,
            3,
            3,
            vec![],
            90,
            90,
            (0, 0, 0),
            true,
        ),
        (
            "one failed with a reason",
            3,
            3,
            2,
            failed("object not found"),
            90,
            60,
            (1, 0, 0),
            true,
        ),
        (
            "one failed without a reason",
            3,
            3,
            2,
            failed(" "),
            90,
            60,
            (0, 1, 0),
            false,
        ),
        (
            "one still reading",
            3,
            3,
            2,
            vec![],
            90,
            60,
            (0, 1, 30),
            false,
        ),
        (
            "a file never listed",
            3,
            2,
            2,
            vec![],
            90,
            60,
            (0, 1, 30),
            false,
        ),
        (
            "done, a line uncounted",
            3,
            3,
            3,
            vec![],
            90,
            89,
            (0, 0, 1),
            false,
        ),
    ];
    for (name, written, listed, done, failed, lines_written, lines_counted, want, holds) in cases {
        let seen = ExportObserved {
            written,
            listed,
            done,
            failed,
            lines_written,
            lines_counted,
        };
        let tally = ExportTally::of(&seen);
        assert_eq!(
            (tally.failed, tally.unfinished, tally.lines_unaccounted),
            want,
            "{name}"
        );
        assert_eq!(tally.holds(), holds, "{name}");
    }
}

#[test]
fn when_an_event_is_missing_then_only_a_marker_recording_its_unknown_outcome_accounts_for_it() {
    let (inputs, mut seen) = reference();
    seen.signed_up.clear();
    let missing = SignupTally::of(&inputs, &seen);
    assert_eq!((missing.event_unknown, missing.lost), (0, 1));
    assert_eq!(
        missing.examples,
        ids(&["a (braze 1, userflow 1, signed_up 0)"])
    );
    seen.event_unknown.insert("a".into());
    let recorded = SignupTally::of(&inputs, &seen);
    assert_eq!(
        (recorded.event_unknown, recorded.lost, recorded.delivered),
        (1, 0, 0)
    );
    assert!(recorded.holds());
}
