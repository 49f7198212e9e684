//! The one log line per request: counts and the outcome, never a contact's data (delivery
//! failures are counted by step and class, not logged per contact). The request's metrics
//! are the same counts.

use relay_core::delivery::FailureTally;
use relay_lambda::metrics::{Metric, MetricSet};

use crate::{Problem, Report};

/// What the request log line says.
pub(crate) struct LogLine {
    pub(crate) outcome: &'static str,
    pub(crate) problem: Option<String>,
    pub(crate) accepted: usize,
    pub(crate) parked: usize,
    pub(crate) parked_messages: usize,
    pub(crate) rejected: usize,
    pub(crate) duplicates: usize,
    pub(crate) ignored: usize,
    /// Delivery failures counted by step and class; `None` when nothing failed.
    pub(crate) failures: Option<String>,
}

impl LogLine {
    pub(crate) fn from_report(report: &Report, parked_messages: usize) -> LogLine {
        LogLine {
            outcome: if report.parked > 0 {
                "parked"
            } else if report.rejected.is_empty() {
                "delivered"
            } else {
                "partly_rejected"
            },
            problem: None,
            accepted: report.accepted,
            parked: report.parked,
            parked_messages,
            rejected: report.rejected.len(),
            duplicates: report.duplicates,
            ignored: report.ignored + report.not_found,
            failures: None,
        }
    }

    pub(crate) fn with_failures(self, failures: &FailureTally) -> LogLine {
        LogLine {
            failures: (!failures.is_empty()).then(|| failures.to_string()),
            ..self
        }
    }

    /// The request's metrics: contacts delivered, parked and rejected, and the 429s met
    /// (`throttles`); each reported, at 0 too.
    pub(crate) fn metrics(&self, throttles: u64) -> MetricSet {
        let mut metrics = MetricSet::new();
        metrics
            .add(Metric::Delivered, self.accepted as u64)
            .add(Metric::Parked, self.parked as u64)
            .add(Metric::Rejected, self.rejected as u64)
            .add(Metric::UpstreamThrottles, throttles);
        metrics
    }

    /// The line of a request answered with `problem`, counting what `report` says was done
    /// before it: contacts delivered, parked and rejected before parking failed still count.
    /// A problem's own `rejected` list (the 422) counts when the report has none.
    pub(crate) fn from_problem(problem: &Problem, report: &Report) -> LogLine {
        let listed = problem
            .extensions
            .get("rejected")
            .and_then(|r| r.as_array())
            .map_or(0, Vec::len);
        LogLine {
            outcome: "error",
            problem: Some(problem.slug().to_owned()),
            accepted: report.accepted,
            parked: report.parked,
            parked_messages: 0,
            rejected: report.rejected.len().max(listed),
            duplicates: report.duplicates,
            ignored: report.ignored + report.not_found,
            failures: None,
        }
    }
}
