//! The fault matrix's seeded short run (`relay chaos --scale short`): every cell reconciles,
//! and the cells whose fault must leave a trace show it.

use std::time::Duration;

use serde_json::Value;

fn row<'a>(rows: &'a [Value], cell: &str) -> &'a Value {
    rows.iter()
        .find(|row| row["cell"] == cell)
        .unwrap_or_else(|| panic!("no row for {cell}"))
}

fn number(value: &Value, pointer: &str) -> u64 {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} in {value:#}"))
}

#[test]
fn when_the_short_fault_matrix_runs_then_every_cell_reconciles() {
    let out = tempfile::tempdir().expect("temp dir");
    let report = out.path().join("chaos.md");
    let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_relay"))
        .args([
            "--json", "chaos", "--scale", "short", "--seed", "7", "--out",
        ])
        .arg(&report)
        .timeout(Duration::from_secs(900))
        .output()
        .expect("relay chaos runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let document: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the report is JSON ({e}); stderr:\n{stderr}"));
    let rows = document["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 11, "one row per cell: {document:#}");
    let failing: Vec<&Value> = rows.iter().filter(|row| row["holds"] != true).collect();
    assert!(
        failing.is_empty(),
        "cells that do not hold: {failing:#?}\nstderr:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");

    for row in rows {
        let name = row["cell"].as_str().unwrap_or("?");
        let signups = &row["signups"];
        assert_eq!(number(signups, "/inputs"), 60, "{name}");
        // 4 of the 60 contacts carry a malformed email: refused with a reason in every cell.
        assert_eq!(number(signups, "/rejected"), 4, "{name}");
        assert_eq!(
            number(signups, "/delivered")
                + number(signups, "/event_unknown")
                + number(signups, "/dead_lettered"),
            56,
            "{name}"
        );
        assert_eq!(
            number(signups, "/lost") + number(signups, "/duplicated"),
            0,
            "{name}"
        );
        assert_eq!(number(row, "/erasures/requested"), 6, "{name}");
        assert_eq!(number(row, "/export/files"), 3, "{name}");
    }
    // Nothing went wrong: every contact delivered with its event, every file read.
    let baseline = row(rows, "baseline");
    assert_eq!(number(baseline, "/signups/delivered"), 56);
    assert_eq!(number(baseline, "/export/done"), 3);
    // The deleted file failed, and says why; the other two were read.
    let deleted = row(rows, "export-file-deleted");
    assert_eq!(number(deleted, "/export/failed"), 1);
    assert_eq!(number(deleted, "/export/done"), 2);
    let reason = deleted["export"]["reasons"][0].as_str().unwrap_or_default();
    assert!(reason.contains("NotFound"), "{reason}");

    let table = std::fs::read_to_string(&report).expect("the markdown report");
    let cells = table
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| ---"))
        .count();
    assert_eq!(cells, 12, "a header and one row per cell:\n{table}");
    assert!(table.contains("| export-file-deleted |"), "{table}");
}
