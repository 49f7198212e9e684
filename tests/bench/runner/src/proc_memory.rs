//! Memory of another process from `/proc/<pid>/status`: `VmRSS` (resident now) and `VmHWM`
//! (the peak resident set), sampled on a timer while a benchmark runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One reading of a process's memory, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `VmHWM`.
    pub peak_kib: u64,
}

/// Reads `/proc/<pid>/status`; `None` once the process is gone.
pub fn read(pid: u32) -> Option<Memory> {
    parse_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// `VmRSS` and `VmHWM` from a status file's text.
fn parse_status(status: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// What a [`Sampler`] saw of one process.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// `(seconds since the sampler started, VmRSS in MiB)`, one per tick.
    pub rss_mib: Vec<(f64, f64)>,
    /// The last `VmHWM` read, KiB: the peak over the process's whole life.
    pub peak_kib: u64,
}

impl Trace {
    /// The peak in MiB: `VmHWM`, or the largest sample if that is larger (never, on Linux).
    pub fn peak_mib(&self) -> f64 {
        let sampled = self.rss_mib.iter().map(|s| s.1).fold(0.0, f64::max);
        (self.peak_kib as f64 / 1024.0).max(sampled)
    }
}

/// Samples one process's memory every `every` until stopped.
pub struct Sampler {
    trace: Arc<Mutex<Trace>>,
    task: JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling `pid` now (the first sample at once).
    pub fn start(pid: u32, every: Duration) -> Sampler {
        let trace = Arc::new(Mutex::new(Trace::default()));
        let shared = Arc::clone(&trace);
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                let Some(memory) = read(pid) else { break };
                let mut trace = shared.lock().expect("trace lock");
                trace.rss_mib.push((
                    started.elapsed().as_secs_f64(),
                    memory.rss_kib as f64 / 1024.0,
                ));
                trace.peak_kib = trace.peak_kib.max(memory.peak_kib);
            }
        });
        Sampler { trace, task }
    }

    /// Stops sampling (after one last reading) and returns what was seen.
    pub fn stop(self, pid: u32) -> Trace {
        self.task.abort();
        let mut trace = self.trace.lock().expect("trace lock").clone();
        if let Some(memory) = read(pid) {
            trace.peak_kib = trace.peak_kib.max(memory.peak_kib);
        }
        trace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_status_file_is_read_then_rss_and_peak_come_from_their_lines() {
        let status =
            "Name:\trelay\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Memory {
                rss_kib: 40_960,
                peak_kib: 51_200
            })
        );
        assert_eq!(parse_status("Name:\tzombie\n"), None);
    }

    #[test]
    fn when_this_process_is_read_then_its_rss_is_above_zero_and_below_its_peak() {
        let me = read(std::process::id()).expect("this process has a status file");
        assert!(me.rss_kib > 0 && me.rss_kib <= me.peak_kib, "{me:?}");
    }
}
