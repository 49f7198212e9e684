//! The functions' CloudWatch metrics, as Embedded Metric Format (EMF) documents.
//!
//! Each invocation gathers what it counted into one [`MetricSet`] and hands it to the
//! function's [`MetricsSink`]: on Lambda the set becomes one EMF JSON line on stdout, which
//! CloudWatch Logs turns into metrics (no API call, no agent); the local stack and the tests
//! that do not look at metrics discard it; tests that do read it from [`MemoryMetrics`].
//!
//! The contract the alarms rely on (names, units, the namespace and the dimension) is fixed
//! here and documented in `docs/operating/metrics.md`:
//! - namespace `LifecycleRelay`, or `METRICS_NAMESPACE` ([`EmfTarget`]);
//! - one dimension set, `[["Function"]]`, the value `AWS_LAMBDA_FUNCTION_NAME`;
//! - the metrics of [`Metric`], each with its [`Unit`].
//!
//! One module per concern:
//! - this module: [`Metric`], [`Unit`] and [`MetricSet`];
//! - `emf`: [`EmfTarget`], the namespace and function a document is for, read once at cold
//!   start, and the document itself ([`EmfTarget::document`]);
//! - `sink`: [`MetricsSink`] (EMF on stdout, or discarded) and [`MemoryMetrics`] (tests).

mod emf;
mod sink;

use std::time::Duration;

pub use emf::{
    DEFAULT_NAMESPACE, DIMENSION, EmfTarget, FUNCTION_NAME_VARIABLE, MetricsConfigError,
    NAMESPACE_VARIABLE,
};
pub use sink::{MemoryMetrics, MetricsSink};

/// A metric unit, as CloudWatch spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `Count`.
    Count,
    /// `Count/Second`.
    CountPerSecond,
}

impl Unit {
    /// The unit's name in an EMF document.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::CountPerSecond => "Count/Second",
        }
    }
}

/// Every metric a function reports. The names are the contract the alarms use: renaming one
/// silences its alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `Delivered` (Count): contacts and users delivered upstream (crm-signup: before the
    /// answer; sync-worker: parked contacts delivered plus export users upserted).
    Delivered,
    /// `Parked` (Count): contacts parked on the sync queue for later delivery (crm-signup; the
    /// sync-worker when it parks an unfinished remainder again).
    Parked,
    /// `Rejected` (Count): contacts, messages, export lines or callbacks refused with a
    /// reason.
    Rejected,
    /// `UpstreamThrottles` (Count): 429 answers from Braze or Userflow, every attempt counted.
    UpstreamThrottles,
    /// `ExportUsers` (Count): export lines that were users, finished by the invocation.
    ExportUsers,
    /// `ExportUsersPerSecond` (Count/Second): [`Metric::ExportUsers`] over the time the
    /// invocation worked on export files.
    ExportUsersPerSecond,
    /// `ErasuresDone` (Count): erasure requests finished, with a receipt, by the invocation.
    ErasuresDone,
    /// `ExportFilesQueued` (Count): `export_file` jobs queued by an export callback.
    ExportFilesQueued,
}

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Delivered => "Delivered",
            Metric::Parked => "Parked",
            Metric::Rejected => "Rejected",
            Metric::UpstreamThrottles => "UpstreamThrottles",
            Metric::ExportUsers => "ExportUsers",
            Metric::ExportUsersPerSecond => "ExportUsersPerSecond",
            Metric::ErasuresDone => "ErasuresDone",
            Metric::ExportFilesQueued => "ExportFilesQueued",
        }
    }

    /// The metric's unit.
    pub fn unit(self) -> Unit {
        match self {
            Metric::ExportUsersPerSecond => Unit::CountPerSecond,
            _ => Unit::Count,
        }
    }
}

/// One metric's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    /// A whole count (written as a JSON integer).
    Count(u64),
    /// A rate, always finite.
    Rate(f64),
}

/// What one invocation reports: each metric once, in the order first given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    values: Vec<(Metric, Value)>,
}

/// The shortest time a rate is computed over, so a file finished within a clock tick gives a
/// finite rate.
const MIN_RATE_WINDOW: Duration = Duration::from_millis(1);

impl MetricSet {
    /// An empty set.
    pub fn new() -> MetricSet {
        MetricSet::default()
    }

    /// Adds `count` to `metric` (a [`Unit::Count`] metric). Adding 0 still reports the metric,
    /// at 0, so its alarm sees data.
    pub fn add(&mut self, metric: Metric, count: u64) -> &mut MetricSet {
        debug_assert_eq!(
            metric.unit(),
            Unit::Count,
            "{} is not a count",
            metric.name()
        );
        match self.values.iter_mut().find(|(known, _)| *known == metric) {
            Some((_, Value::Count(total))) => *total = total.saturating_add(count),
            Some((_, value)) => *value = Value::Count(count),
            None => self.values.push((metric, Value::Count(count))),
        }
        self
    }

    /// Sets `metric` (a [`Unit::CountPerSecond`] metric) to `count` over `elapsed` (at least
    /// a millisecond).
    pub fn per_second(&mut self, metric: Metric, count: u64, elapsed: Duration) -> &mut MetricSet {
        debug_assert_eq!(
            metric.unit(),
            Unit::CountPerSecond,
            "{} is not a rate",
            metric.name()
        );
        let rate = count as f64 / elapsed.max(MIN_RATE_WINDOW).as_secs_f64();
        match self.values.iter_mut().find(|(known, _)| *known == metric) {
            Some((_, value)) => *value = Value::Rate(rate),
            None => self.values.push((metric, Value::Rate(rate))),
        }
        self
    }

    /// The count reported for `metric`; `None` when it is not reported (or is a rate).
    pub fn count(&self, metric: Metric) -> Option<u64> {
        match self.value(metric)? {
            Value::Count(count) => Some(count),
            Value::Rate(_) => None,
        }
    }

    /// The counts reported for each of `metrics`, in the same order (`None` where one is not
    /// reported): one comparison for a whole document in tests and reports.
    pub fn counts<const N: usize>(&self, metrics: [Metric; N]) -> [Option<u64>; N] {
        metrics.map(|metric| self.count(metric))
    }

    /// The rate reported for `metric`; `None` when it is not reported (or is a count).
    pub fn rate(&self, metric: Metric) -> Option<f64> {
        match self.value(metric)? {
            Value::Rate(rate) => Some(rate),
            Value::Count(_) => None,
        }
    }

    /// The metrics reported, in order.
    pub fn metrics(&self) -> impl Iterator<Item = Metric> + '_ {
        self.values.iter().map(|(metric, _)| *metric)
    }

    /// Whether nothing is reported.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn value(&self, metric: Metric) -> Option<Value> {
        self.values
            .iter()
            .find(|(known, _)| *known == metric)
            .map(|(_, value)| *value)
    }

    pub(crate) fn values(&self) -> &[(Metric, Value)] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_count_is_added_twice_then_it_is_reported_once_with_the_sum() {
        let mut set = MetricSet::new();
        set.add(Metric::Delivered, 2)
            .add(Metric::Rejected, 0)
            .add(Metric::Delivered, 3);
        assert_eq!(set.count(Metric::Delivered), Some(5));
        assert_eq!(set.count(Metric::Rejected), Some(0), "a zero is reported");
        assert_eq!(set.count(Metric::Parked), None, "never added: not reported");
        assert_eq!(
            set.counts([Metric::Rejected, Metric::Parked, Metric::Delivered]),
            [Some(0), None, Some(5)],
            "in the order asked"
        );
        assert_eq!(
            set.metrics().collect::<Vec<_>>(),
            [Metric::Delivered, Metric::Rejected]
        );
    }

    #[test]
    fn when_a_rate_is_set_then_it_is_the_count_over_the_seconds_and_always_finite() {
        let mut set = MetricSet::new();
        set.per_second(Metric::ExportUsersPerSecond, 500, Duration::from_secs(2));
        assert_eq!(set.rate(Metric::ExportUsersPerSecond), Some(250.0));
        set.per_second(Metric::ExportUsersPerSecond, 3, Duration::ZERO);
        assert_eq!(
            set.rate(Metric::ExportUsersPerSecond),
            Some(3000.0),
            "no time at all counts as a millisecond"
        );
        assert_eq!(set.metrics().count(), 1, "set, not added");
        assert_eq!(set.count(Metric::ExportUsersPerSecond), None);
    }

    #[test]
    fn when_the_metrics_are_named_then_the_names_and_units_are_the_alarm_contract() {
        let contract = [
            (Metric::Delivered, "Delivered", "Count"),
            (Metric::Parked, "Parked", "Count"),
            (Metric::Rejected, "Rejected", "Count"),
            (Metric::UpstreamThrottles, "UpstreamThrottles", "Count"),
            (Metric::ExportUsers, "ExportUsers", "Count"),
            (
                Metric::ExportUsersPerSecond,
                "ExportUsersPerSecond",
                "Count/Second",
            ),
            (Metric::ErasuresDone, "ErasuresDone", "Count"),
            (Metric::ExportFilesQueued, "ExportFilesQueued", "Count"),
        ];
        for (metric, name, unit) in contract {
            assert_eq!((metric.name(), metric.unit().as_str()), (name, unit));
        }
    }
}
