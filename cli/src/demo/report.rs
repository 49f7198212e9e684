//! The demo's report: one row per expectation, what was observed, whether it held.

use serde::Serialize;

use crate::output::table;

/// The "scene" of the checks made after the scenes, on stopping the stack.
pub const TEARDOWN: usize = 0;

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    /// The scene (1 to 4), or [`TEARDOWN`].
    pub scene: usize,
    /// What should be true.
    pub expected: String,
    /// What the sandbox or the command showed.
    pub observed: String,
    /// Whether it held.
    pub held: bool,
}

/// Every expectation of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// In the order they were checked.
    pub expectations: Vec<Expectation>,
}

impl Report {
    /// Records one expectation.
    pub fn check(
        &mut self,
        scene: usize,
        expected: impl Into<String>,
        observed: impl Into<String>,
        held: bool,
    ) {
        self.expectations.push(Expectation {
            scene,
            expected: expected.into(),
            observed: observed.into(),
            held,
        });
    }

    /// Records that `observed` equals `wanted`.
    pub fn equal<T: PartialEq + std::fmt::Debug>(
        &mut self,
        scene: usize,
        expected: impl Into<String>,
        observed: T,
        wanted: T,
    ) {
        let held = observed == wanted;
        self.check(scene, expected, format!("{observed:?}"), held);
    }

    /// True when every expectation held (and there is at least one).
    pub fn all_held(&self) -> bool {
        !self.expectations.is_empty() && self.expectations.iter().all(|e| e.held)
    }

    /// The report as a text table with a closing verdict.
    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .expectations
            .iter()
            .map(|e| {
                vec![
                    if e.scene == TEARDOWN {
                        "end".to_owned()
                    } else {
                        e.scene.to_string()
                    },
                    if e.held { "ok" } else { "FAILED" }.to_owned(),
                    e.expected.clone(),
                    e.observed.clone(),
                ]
            })
            .collect();
        let held = self.expectations.iter().filter(|e| e.held).count();
        format!(
            "\nReport\n{}\n\n{held} of {} expectations held.",
            table(&["scene", "result", "expected", "observed"], &rows),
            self.expectations.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_one_expectation_fails_then_the_report_does_not_hold() {
        let mut report = Report::default();
        report.equal(1, "one profile", 1, 1);
        assert!(report.all_held());
        report.equal(2, "300 profiles", 299, 300);
        assert!(!report.all_held());
        assert!(report.table().contains("FAILED"));
        assert!(report.table().contains("1 of 2 expectations held."));
    }

    #[test]
    fn when_nothing_was_checked_then_the_report_does_not_hold() {
        assert!(!Report::default().all_held());
    }
}
