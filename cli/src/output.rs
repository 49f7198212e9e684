//! How a command's outcome reaches the operator: one JSON document on stdout with `--json`,
//! text otherwise; errors on stderr as text (or as the JSON document); the exit code; progress
//! bars only on a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::CliError;

/// The process exit code of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Done = 0,
    /// 1: the operation failed.
    Failed = 1,
    /// 2: usage or configuration error.
    Usage = 2,
    /// 3: partly done (some items failed).
    Partial = 3,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// What a command did: its exit code, the JSON document for `--json`, the text otherwise.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code.
    pub exit: Exit,
    /// Printed with `--json`.
    pub document: Value,
    /// Printed otherwise (a trailing newline is added).
    pub text: String,
}

impl Outcome {
    /// An outcome from a serializable document and its text form.
    pub fn new(exit: Exit, document: &impl Serialize, text: impl Into<String>) -> Outcome {
        Outcome {
            exit,
            document: serde_json::to_value(document).unwrap_or_else(
                |error| json!({"error": {"kind": "failed", "message": error.to_string()}}),
            ),
            text: text.into(),
        }
    }

    /// Done (exit 0) with nothing more to print: the command already printed its one JSON
    /// document while it ran (`relay local`'s startup line).
    pub fn printed() -> Outcome {
        Outcome {
            exit: Exit::Done,
            document: Value::Null,
            text: String::new(),
        }
    }

    /// Done (exit 0).
    pub fn done(document: &impl Serialize, text: impl Into<String>) -> Outcome {
        Outcome::new(Exit::Done, document, text)
    }
}

/// Prints `outcome` for the mode and returns its exit code.
pub fn print(outcome: Result<Outcome, CliError>, json: bool) -> Exit {
    match outcome {
        Ok(outcome) => {
            if json {
                if !outcome.document.is_null() {
                    println!("{}", outcome.document);
                }
            } else if !outcome.text.is_empty() {
                println!("{}", outcome.text.trim_end());
            }
            outcome.exit
        }
        Err(error) => {
            if json {
                println!("{}", error_document(&error));
            } else {
                eprintln!("error: {error}");
            }
            error.exit()
        }
    }
}

/// The `--json` form of an error: `{"error": {"kind", "message", "variable"?}}`.
pub fn error_document(error: &CliError) -> Value {
    let mut body = json!({"kind": error.kind(), "message": error.to_string()});
    if let CliError::Config(config) = error {
        body["variable"] = config.variable().into();
    }
    json!({ "error": body })
}

/// A progress bar of `length` steps on stderr, drawn only when stderr is a terminal and the
/// output is not `--json`; otherwise hidden (every call on it does nothing).
pub fn progress(length: u64, message: &str, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}

/// Left-aligned text columns: one row per entry, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_cells_differ_in_width_then_columns_align_on_the_widest() {
        let text = table(
            &["name", "state"],
            &[
                vec!["hubspot".into(), "enabled".into()],
                vec!["x".into(), "disabled: set Y".into()],
            ],
        );
        assert_eq!(
            text,
            "name     state\nhubspot  enabled\nx        disabled: set Y"
        );
    }

    #[test]
    fn when_a_config_error_is_printed_as_json_then_it_names_the_variable() {
        let error = CliError::Config(relay_core::env::ConfigError::new(
            "SYNC_QUEUE_URL",
            "is not set",
        ));
        let document = error_document(&error);
        assert_eq!(document["error"]["kind"], "configuration");
        assert_eq!(document["error"]["variable"], "SYNC_QUEUE_URL");
        assert_eq!(error.exit(), Exit::Usage);
    }
}
