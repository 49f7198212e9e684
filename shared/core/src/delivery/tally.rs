//! [`FailureTally`]: the failures of many outcomes, counted for one log line.

use std::collections::BTreeMap;
use std::fmt;

use super::{Outcome, Step, class_name};

/// Failures counted by step and class, each with the first detail seen: what a request's or
/// a batch's log line says about its contacts, so 10,000 failed contacts are one line, not
/// 10,000. Details name statuses and codes, never a contact's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureTally {
    counts: BTreeMap<(&'static str, &'static str), (usize, String)>,
}

impl FailureTally {
    /// Counts every failure of `outcome` (a delivered outcome counts nothing).
    pub fn add(&mut self, outcome: &Outcome) {
        let failures = match outcome {
            Outcome::Delivered => return,
            Outcome::Retry(failures) | Outcome::Rejected(failures) => failures,
        };
        for failure in failures {
            let key = (failure.step.as_str(), class_name(failure.class));
            self.counts
                .entry(key)
                .or_insert_with(|| (0, failure.detail.clone()))
                .0 += 1;
        }
    }

    /// The tally of `outcomes`.
    pub fn of<'o>(outcomes: impl IntoIterator<Item = &'o Outcome>) -> FailureTally {
        let mut tally = FailureTally::default();
        for outcome in outcomes {
            tally.add(outcome);
        }
        tally
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// How many failures of `step` with class name `class` (`transient`, ...) were counted.
    pub fn count(&self, step: Step, class: &str) -> usize {
        self.counts
            .iter()
            .filter(|((s, c), _)| *s == step.as_str() && *c == class)
            .map(|(_, (count, _))| count)
            .sum()
    }
}

/// `braze:transient=3 (first: status 503) userflow:throttled=9990 (first: 429)`; empty when
/// nothing failed.
impl fmt::Display for FailureTally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, ((step, class), (count, detail))) in self.counts.iter().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{step}:{class}={count} (first: {detail})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::StepFailure;
    use relay_clients::upstream::FailureClass;

    fn failure(step: Step, class: FailureClass, detail: &str) -> StepFailure {
        StepFailure {
            step,
            class,
            detail: detail.into(),
        }
    }

    #[test]
    fn when_many_contacts_fail_alike_then_the_tally_is_one_count_per_step_and_class() {
        let mut outcomes = vec![Outcome::Delivered; 3];
        outcomes.extend((0..1000).map(|n| {
            Outcome::Retry(vec![failure(
                Step::Userflow,
                FailureClass::Throttled,
                &format!("429 number {n}"),
            )])
        }));
        outcomes.push(Outcome::Rejected(vec![
            failure(Step::Braze, FailureClass::Permanent, "invalid email"),
            failure(Step::Userflow, FailureClass::Throttled, "429 again"),
        ]));

        let tally = FailureTally::of(&outcomes);

        assert_eq!(tally.count(Step::Userflow, "throttled"), 1001);
        assert_eq!(tally.count(Step::Braze, "permanent"), 1);
        assert_eq!(
            tally.to_string(),
            "braze:permanent=1 (first: invalid email) userflow:throttled=1001 (first: 429 number 0)"
        );
    }

    #[test]
    fn when_everything_is_delivered_then_the_tally_is_empty() {
        let tally = FailureTally::of(&[Outcome::Delivered, Outcome::Delivered]);
        assert!(tally.is_empty());
        assert_eq!(tally.to_string(), "");
    }
}
