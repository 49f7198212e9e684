//! How many 429s an API answered: the send loop counts every one it receives (even when a
//! retry then succeeds), and a [`ThrottleWatch`] reads how many arrived from a moment on, so
//! a function can report the 429s of one invocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The 429 answers one API has received since its client was built. Cheap to clone: clones
/// share the count (every clone of a client, and every [`Upstream::until`] of it, adds to
/// the same one).
///
/// [`Upstream::until`]: super::Upstream::until
#[derive(Debug, Clone, Default)]
pub struct ThrottleCount(Arc<AtomicU64>);

impl ThrottleCount {
    /// A count at zero.
    pub fn new() -> ThrottleCount {
        ThrottleCount::default()
    }

    /// 429s received so far.
    pub fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one 429.
    pub(crate) fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The 429s several APIs received from the moment the watch started: taken when an
/// invocation starts, read when it ends.
///
/// The counts belong to the clients, not to an invocation: work that shares the clients at
/// the same time is counted too. A Lambda instance runs one invocation at a time, so there
/// the watch holds exactly that invocation's 429s.
#[derive(Debug, Clone)]
pub struct ThrottleWatch {
    counts: Vec<ThrottleCount>,
    at_start: u64,
}

impl ThrottleWatch {
    /// Starts watching `counts` (one per API) from their current totals.
    pub fn start(counts: impl IntoIterator<Item = ThrottleCount>) -> ThrottleWatch {
        let counts: Vec<ThrottleCount> = counts.into_iter().collect();
        let at_start = sum(&counts);
        ThrottleWatch { counts, at_start }
    }

    /// 429s received by any of the watched APIs since [`ThrottleWatch::start`].
    pub fn seen(&self) -> u64 {
        sum(&self.counts).saturating_sub(self.at_start)
    }
}

fn sum(counts: &[ThrottleCount]) -> u64 {
    counts.iter().map(ThrottleCount::total).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_429s_arrive_after_the_watch_starts_then_only_those_are_seen() {
        let braze = ThrottleCount::new();
        let userflow = ThrottleCount::new();
        braze.record();
        let watch = ThrottleWatch::start([braze.clone(), userflow.clone()]);
        assert_eq!(watch.seen(), 0, "the 429 before the start is not seen");
        braze.record();
        userflow.clone().record();
        userflow.record();
        assert_eq!(watch.seen(), 3);
        assert_eq!((braze.total(), userflow.total()), (2, 2));
    }
}
