//! Where an invocation's [`MetricSet`] goes: an EMF line on stdout (Lambda), nowhere (the
//! local stack, tests that do not look), or a list tests read ([`MemoryMetrics`]).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::{EmfTarget, MetricSet};

/// A function's metrics sink, held in its `Deps`. Cheap to clone. The default discards.
#[derive(Debug, Clone, Default)]
pub struct MetricsSink {
    kind: Kind,
}

#[derive(Debug, Clone, Default)]
enum Kind {
    #[default]
    Discard,
    Stdout(Arc<EmfTarget>),
    Memory(MemoryMetrics),
}

impl MetricsSink {
    /// Drops every set: the local stack (whose stdout is its own) and tests that do not read
    /// metrics.
    pub fn discard() -> MetricsSink {
        MetricsSink::default()
    }

    /// Writes each set as one EMF line on stdout, for `target` (what each function's
    /// `main.rs` uses on Lambda).
    pub fn emf_stdout(target: EmfTarget) -> MetricsSink {
        MetricsSink {
            kind: Kind::Stdout(Arc::new(target)),
        }
    }

    /// Reports one invocation's metrics. A set with nothing in it is not reported. Writing to
    /// stdout cannot fail the invocation: an error is logged and dropped.
    pub fn emit(&self, metrics: &MetricSet) {
        if metrics.is_empty() {
            return;
        }
        match &self.kind {
            Kind::Discard => {}
            Kind::Stdout(target) => {
                let mut line = target.document(metrics, SystemTime::now());
                line.push('\n');
                // One write of the whole line under the lock: no log line can split it.
                let mut stdout = std::io::stdout().lock();
                let written = stdout
                    .write_all(line.as_bytes())
                    .and_then(|()| stdout.flush());
                if let Err(error) = written {
                    tracing::warn!(%error, "metrics line not written");
                }
            }
            Kind::Memory(memory) => memory.push(metrics.clone()),
        }
    }
}

/// Every set emitted through its [`MemoryMetrics::sink`], for tests to read. Clones share the
/// list.
#[derive(Debug, Clone, Default)]
pub struct MemoryMetrics {
    emitted: Arc<Mutex<Vec<MetricSet>>>,
}

impl MemoryMetrics {
    /// An empty list.
    pub fn new() -> MemoryMetrics {
        MemoryMetrics::default()
    }

    /// A sink that appends to this list.
    pub fn sink(&self) -> MetricsSink {
        MetricsSink {
            kind: Kind::Memory(self.clone()),
        }
    }

    /// The sets emitted so far, one per invocation, in order.
    pub fn emitted(&self) -> Vec<MetricSet> {
        self.lock().clone()
    }

    /// The last set emitted.
    pub fn last(&self) -> Option<MetricSet> {
        self.lock().last().cloned()
    }

    fn push(&self, metrics: MetricSet) {
        self.lock().push(metrics);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<MetricSet>> {
        self.emitted.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;

    #[test]
    fn when_sets_are_emitted_to_memory_then_each_is_kept_in_order_and_empty_ones_are_not() {
        let memory = MemoryMetrics::new();
        let sink = memory.sink();
        let mut first = MetricSet::new();
        first.add(Metric::Delivered, 1);
        let mut second = MetricSet::new();
        second.add(Metric::Rejected, 2);
        sink.emit(&first);
        sink.emit(&MetricSet::new());
        sink.clone().emit(&second);
        assert_eq!(memory.emitted(), [first, second.clone()]);
        assert_eq!(memory.last(), Some(second));
    }
}
