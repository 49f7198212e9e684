//! Which lines of a file are finished, as a checkpoint can record them: every line up to a
//! watermark, plus the few finished out of order above it (concurrent sends complete in any
//! order). Blank lines, which the reader never yields, count as finished once read past.

use std::collections::BTreeSet;

/// Tracks started and finished lines.
#[derive(Debug, Clone, Default)]
pub struct Watermark {
    /// Every line up to this number was finished when the file was claimed.
    base: u64,
    /// The highest line number read so far.
    read_upto: u64,
    /// Lines started and not finished.
    pending: BTreeSet<u64>,
    /// Lines finished above the lowest pending one.
    finished: BTreeSet<u64>,
    /// Lines given up on for this attempt (a transient failure): not finished, not pending.
    unfinished: BTreeSet<u64>,
}

impl Watermark {
    /// Starts from a checkpoint: `lines_done` and the lines finished above it.
    pub fn resume(lines_done: u64, finished_above: &[u64]) -> Watermark {
        Watermark {
            base: lines_done,
            read_upto: lines_done,
            finished: finished_above.iter().copied().collect(),
            ..Watermark::default()
        }
    }

    /// Line `number` was read (whatever happens to it next).
    pub fn read(&mut self, number: u64) {
        self.read_upto = self.read_upto.max(number);
    }

    /// Line `number` was read and its work started.
    pub fn start(&mut self, number: u64) {
        self.read(number);
        self.pending.insert(number);
    }

    /// Line `number` is finished (sent, skipped or recorded as a reject).
    pub fn finish(&mut self, number: u64) {
        self.read(number);
        self.pending.remove(&number);
        self.finished.insert(number);
    }

    /// Line `number` was not finished in this attempt: it stays below the watermark's reach
    /// so the next attempt does it again.
    pub fn give_up(&mut self, number: u64) {
        self.pending.remove(&number);
        self.unfinished.insert(number);
    }

    /// The checkpoint: every line up to the first one not finished (pending or given up),
    /// and the finished lines above it, ascending.
    pub fn checkpoint(&self) -> (u64, Vec<u64>) {
        let first_open = self
            .pending
            .iter()
            .chain(self.unfinished.iter())
            .min()
            .copied();
        let lines_done = match first_open {
            Some(open) => open - 1,
            None => self.read_upto,
        }
        .max(self.base);
        let above = self.finished.range(lines_done + 1..).copied().collect();
        (lines_done, above)
    }

    /// Forgets the finished lines at or below the watermark (they are covered by it), so a
    /// long file's bookkeeping stays as small as the lines in flight.
    pub fn prune(&mut self) {
        let (lines_done, _) = self.checkpoint();
        self.finished = self.finished.split_off(&(lines_done + 1));
        self.base = self.base.max(lines_done);
    }

    /// Lines started and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Step {
        Read(u64),
        Start(u64),
        Finish(u64),
        GiveUp(u64),
    }
    use Step::*;

    /// Name, the checkpoint resumed from, the steps, the checkpoint expected.
    type Case = (
        &'static str,
        (u64, &'static [u64]),
        &'static [Step],
        (u64, &'static [u64]),
    );

    #[test]
    fn when_lines_finish_in_any_order_then_the_checkpoint_covers_exactly_the_finished_ones() {
        let cases: &[Case] = &[
            ("nothing read", (0, &[]), &[], (0, &[])),
            (
                "in order",
                (0, &[]),
                &[Start(1), Finish(1), Start(2), Finish(2)],
                (2, &[]),
            ),
            (
                "out of order",
                (0, &[]),
                &[Start(1), Start(2), Start(3), Finish(3), Finish(2)],
                (0, &[2, 3]),
            ),
            (
                "blank lines are skipped by the reader",
                (0, &[]),
                &[Start(1), Finish(1), Read(5), Start(5), Finish(5)],
                (5, &[]),
            ),
            (
                "a given-up line holds the watermark",
                (0, &[]),
                &[
                    Start(1),
                    Start(2),
                    Start(3),
                    Finish(1),
                    GiveUp(2),
                    Finish(3),
                ],
                (1, &[3]),
            ),
            (
                "resumed with lines finished above",
                (10, &[12, 13]),
                &[Start(11), Finish(11)],
                (11, &[12, 13]),
            ),
            ("resumed, nothing new", (10, &[12]), &[], (10, &[12])),
        ];
        for (name, (done, above), steps, (want_done, want_above)) in cases {
            let mut mark = Watermark::resume(*done, above);
            for step in *steps {
                match step {
                    Read(n) => mark.read(*n),
                    Start(n) => mark.start(*n),
                    Finish(n) => mark.finish(*n),
                    GiveUp(n) => mark.give_up(*n),
                }
            }
            assert_eq!(
                mark.checkpoint(),
                (*want_done, want_above.to_vec()),
                "{name}"
            );
        }
    }
}
