//! The cells of the fault matrix: what goes wrong in each, and when.

use std::time::Duration;

use sandbox::{Api, FaultKind, FaultRule};

/// One cell: one kind of failure, played against the same workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cell {
    /// Nothing goes wrong: the reference row.
    Baseline,
    /// Braze answers half of its requests 429 with `X-Ratelimit-Retry-After`.
    #[value(name = "braze-429-storm")]
    Braze429Storm,
    /// Userflow answers half of its requests 429 with `Retry-After`.
    #[value(name = "userflow-429-storm")]
    Userflow429Storm,
    /// Braze answers 30% of its requests with a load balancer's HTML 503 page.
    #[value(name = "braze-html-5xx")]
    BrazeHtml5xx,
    /// Userflow answers 30% of its requests with a load balancer's HTML 502 page.
    #[value(name = "userflow-html-5xx")]
    UserflowHtml5xx,
    /// A quarter of Braze's answers take 6 s: longer than crm-signup's delivery deadline.
    BrazeSlow,
    /// A quarter of Userflow's answers take 6 s.
    UserflowSlow,
    /// 20% of Braze's and Userflow's connections are dropped before an answer.
    DroppedConnections,
    /// moto (S3 and SQS) is stopped with SIGSTOP mid-run, then continued with SIGCONT.
    MotoStopped,
    /// `relay local` is killed (SIGKILL) while the sync-worker is mid-batch, then restarted.
    PollerKilled,
    /// An export file is deleted after the callback queued it and before the worker reads it.
    ExportFileDeleted,
}

impl Cell {
    /// Every cell, in report order.
    pub const ALL: [Cell; 11] = [
        Cell::Baseline,
        Cell::Braze429Storm,
        Cell::Userflow429Storm,
        Cell::BrazeHtml5xx,
        Cell::UserflowHtml5xx,
        Cell::BrazeSlow,
        Cell::UserflowSlow,
        Cell::DroppedConnections,
        Cell::MotoStopped,
        Cell::PollerKilled,
        Cell::ExportFileDeleted,
    ];

    /// The cell's name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Baseline => "baseline",
            Cell::Braze429Storm => "braze-429-storm",
            Cell::Userflow429Storm => "userflow-429-storm",
            Cell::BrazeHtml5xx => "braze-html-5xx",
            Cell::UserflowHtml5xx => "userflow-html-5xx",
            Cell::BrazeSlow => "braze-slow",
            Cell::UserflowSlow => "userflow-slow",
            Cell::DroppedConnections => "dropped-connections",
            Cell::MotoStopped => "moto-stopped",
            Cell::PollerKilled => "poller-killed",
            Cell::ExportFileDeleted => "export-file-deleted",
        }
    }

    /// What goes wrong, for the report.
    pub fn fault(self, window: Duration) -> String {
        let secs = window.as_secs();
        match self {
            Cell::Baseline => "none".to_owned(),
            Cell::Braze429Storm => format!("Braze: 50% of requests 429 for {secs} s"),
            Cell::Userflow429Storm => format!("Userflow: 50% of requests 429 for {secs} s"),
            Cell::BrazeHtml5xx => format!("Braze: 30% of requests HTML 503 for {secs} s"),
            Cell::UserflowHtml5xx => format!("Userflow: 30% of requests HTML 502 for {secs} s"),
            Cell::BrazeSlow => format!("Braze: 25% of answers after 6 s, for {secs} s"),
            Cell::UserflowSlow => format!("Userflow: 25% of answers after 6 s, for {secs} s"),
            Cell::DroppedConnections => {
                format!("Braze and Userflow: 20% of connections dropped for {secs} s")
            }
            Cell::MotoStopped => format!("moto (S3, SQS) stopped (SIGSTOP) for {secs} s"),
            Cell::PollerKilled => {
                "relay local SIGKILLed with a sync-worker batch in flight, restarted".to_owned()
            }
            Cell::ExportFileDeleted => {
                "one export file deleted between the callback and the worker".to_owned()
            }
        }
    }

    /// The sandbox rules this cell sets for its window (seeded with `seed`); none for the
    /// cells whose failure is not a vendor's.
    pub fn rules(self, seed: u64) -> Vec<FaultRule> {
        let every =
            |api, kind, p: f64| FaultRule::new(api, "*", "*", kind).with_probability(p, seed);
        let throttle = FaultKind::Throttle { retry_after: 1 };
        let slow = FaultKind::Latency { ms: 6_000 };
        match self {
            Cell::Braze429Storm => vec![every(Api::Braze, throttle, 0.5)],
            Cell::Userflow429Storm => vec![every(Api::Userflow, throttle, 0.5)],
            Cell::BrazeHtml5xx => vec![every(Api::Braze, FaultKind::status(503, true), 0.3)],
            Cell::UserflowHtml5xx => {
                vec![every(Api::Userflow, FaultKind::status(502, true), 0.3)]
            }
            Cell::BrazeSlow => vec![every(Api::Braze, slow, 0.25)],
            Cell::UserflowSlow => vec![every(Api::Userflow, slow, 0.25)],
            Cell::DroppedConnections => vec![
                every(Api::Braze, FaultKind::Drop, 0.2),
                every(Api::Userflow, FaultKind::Drop, 0.2),
            ],
            Cell::Baseline | Cell::MotoStopped | Cell::PollerKilled | Cell::ExportFileDeleted => {
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_cells_are_listed_then_each_name_is_distinct_and_its_own_command_line_value() {
        use clap::ValueEnum;
        let names: std::collections::BTreeSet<_> = Cell::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), Cell::ALL.len());
        for cell in Cell::ALL {
            let value = cell.to_possible_value().expect("a value");
            assert_eq!(value.get_name(), cell.name());
        }
    }

    #[test]
    fn when_a_cell_is_a_vendor_fault_then_it_has_rules_and_the_others_have_none() {
        for cell in Cell::ALL {
            let vendor = !matches!(
                cell,
                Cell::Baseline | Cell::MotoStopped | Cell::PollerKilled | Cell::ExportFileDeleted
            );
            assert_eq!(!cell.rules(1).is_empty(), vendor, "{}", cell.name());
        }
    }
}
