//! The reconciliation report: one row per cell, as a markdown table and as JSON.

use serde::Serialize;

use super::cell::Cell;
use super::reconcile::{ErasureTally, ExportTally, SignupTally};

/// One cell's reconciliation.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The cell's name.
    pub cell: &'static str,
    /// What went wrong in it.
    pub fault: String,
    /// Where the signups went.
    pub signups: SignupTally,
    /// Where the erasure requests went.
    pub erasures: ErasureTally,
    /// Where the export's files went.
    pub export: ExportTally,
    /// Whatever else the row should say (retries, the file deleted, why it failed).
    pub notes: Vec<String>,
    /// Seconds the cell took, start to stop.
    pub seconds: u64,
    /// Nothing lost, duplicated or unexplained.
    pub holds: bool,
}

impl Row {
    /// A row; it holds when each of its tallies does.
    pub fn new(
        cell: Cell,
        fault: String,
        signups: SignupTally,
        erasures: ErasureTally,
        export: ExportTally,
        notes: Vec<String>,
    ) -> Row {
        let holds = signups.holds() && erasures.holds() && export.holds();
        Row {
            cell: cell.name(),
            fault,
            signups,
            erasures,
            export,
            notes,
            seconds: 0,
            holds,
        }
    }

    /// A cell that could not be played to the end, with why: it does not hold.
    pub fn unplayed(cell: Cell, fault: String, error: String) -> Row {
        Row {
            cell: cell.name(),
            fault,
            signups: SignupTally::default(),
            erasures: ErasureTally::default(),
            export: ExportTally::default(),
            notes: vec![format!("not played to the end: {error}")],
            seconds: 0,
            holds: false,
        }
    }

    /// For a cell whose fault is a deleted export file: it holds only if a file was deleted
    /// and the export recorded a failed file for it.
    pub fn require_deleted(mut self, required: bool, deleted: usize) -> Row {
        if required && (deleted == 0 || self.export.failed < deleted) {
            self.holds = false;
            self.notes.push(format!(
                "{deleted} file(s) deleted, {} failed with a reason",
                self.export.failed
            ));
        }
        self
    }
}

/// The markdown table of `rows`.
pub fn markdown(rows: &[Row], command: &str) -> String {
    let mut out = String::from("# Fault matrix: reconciliation\n\n");
    out.push_str(&format!("`{command}`\n\n"));
    out.push_str(
        "Signups: in = delivered (Braze, Userflow, one `signed_up`) + event unknown (delivered; \
         the event's request was started and ended unanswered, or its process died during it: \
         its marker says so, and it is not repeated: at most once) + dead-lettered + rejected \
         with a reason; lost and duplicated must be 0. Erasures: receipted (subject gone) or \
         dead-lettered. Export files: done or failed with a recorded reason.\n\n",
    );
    out.push_str(
        "| cell | fault | signups in | delivered | event unknown | DLQ | rejected | lost | duplicated | \
         erasures in | receipted | DLQ | lost | export files | done | failed (reason) | \
         unfinished | holds | s | notes |\n",
    );
    out.push_str(&format!("|{}\n", " --- |".repeat(20)));
    for row in rows {
        let s = &row.signups;
        let e = &row.erasures;
        let x = &row.export;
        let failed = if x.reasons.is_empty() {
            x.failed.to_string()
        } else {
            format!("{} ({})", x.failed, x.reasons.join("; ").replace('|', "/"))
        };
        let mut notes = row.notes.clone();
        if !s.examples.is_empty() {
            notes.push(format!("e.g. {}", s.examples.join(", ")));
        }
        let cells = [
            row.cell.to_owned(),
            row.fault.clone(),
            s.inputs.to_string(),
            s.delivered.to_string(),
            s.event_unknown.to_string(),
            s.dead_lettered.to_string(),
            s.rejected.to_string(),
            (s.lost + s.not_acknowledged + s.leaked).to_string(),
            s.duplicated.to_string(),
            e.requested.to_string(),
            e.receipted.to_string(),
            e.dead_lettered.to_string(),
            (e.lost + e.not_erased).to_string(),
            x.files.to_string(),
            x.done.to_string(),
            failed,
            x.unfinished.to_string(),
            if row.holds { "yes" } else { "**no**" }.to_owned(),
            row.seconds.to_string(),
            notes.join("; ").replace('|', "/"),
        ];
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(lost: usize) -> Row {
        Row::new(
            Cell::Baseline,
            "none".to_owned(),
            SignupTally {
                inputs: 3,
                delivered: 3 - lost,
                lost,
                ..SignupTally::default()
            },
            ErasureTally {
                requested: 1,
                receipted: 1,
                ..ErasureTally::default()
            },
            ExportTally {
                files: 1,
                done: 1,
                ..ExportTally::default()
            },
            vec!["a | note".to_owned()],
        )
    }

    #[test]
    fn when_a_row_loses_a_signup_then_it_does_not_hold_and_the_table_says_so() {
        let held = row(0);
        let lost = row(1);
        assert!(held.holds);
        assert!(!lost.holds);
        let table = markdown(&[held, lost], "relay chaos");
        let lines: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("| baseline"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("| yes |"));
        assert!(lines[1].contains("| **no** |"));
        // A pipe in a note never breaks the table: every row has the header's 21 separators.
        assert!(lines.iter().all(|l| l.matches('|').count() == 21));
    }

    #[test]
    fn when_the_deleted_file_cell_deleted_nothing_then_it_does_not_hold() {
        assert!(!row(0).require_deleted(true, 0).holds);
        assert!(row(0).require_deleted(false, 0).holds);
        let mut failed = row(0);
        failed.export.failed = 1;
        assert!(failed.require_deleted(true, 1).holds);
    }
}
