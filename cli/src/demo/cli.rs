//! The operator commands the demo runs, as an operator would: the `relay` binary with
//! `--json` and the stack's settings file.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use tokio::process::Command;

use crate::CliError;

/// A `relay` command's exit code and JSON document.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The exit code.
    pub code: i32,
    /// Its `--json` document (`Null` when it printed none).
    pub document: Value,
}

/// Runs `relay --json --env-file <stack settings> ...`.
pub struct RelayCommands {
    exe: PathBuf,
    env_file: PathBuf,
}

impl RelayCommands {
    /// Commands of `exe` against the stack described by `env_file`.
    pub fn new(exe: PathBuf, env_file: PathBuf) -> RelayCommands {
        RelayCommands { exe, env_file }
    }

    /// Runs one command; its stderr is passed through.
    pub async fn run(&self, args: &[&str]) -> Result<Answer, CliError> {
        let output = Command::new(&self.exe)
            .arg("--json")
            .arg("--env-file")
            .arg(&self.env_file)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .await
            .map_err(|error| {
                CliError::failed(format!("cannot run relay {}: {error}", args.join(" ")))
            })?;
        let document = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        Ok(Answer {
            code: output.status.code().unwrap_or(-1),
            document,
        })
    }

    /// `relay webhook send --source SOURCE --contact NAME=VALUE ...` for one contact: narrated,
    /// then run.
    pub async fn send_contact(
        &self,
        narrator: &super::Narrator,
        source: &str,
        fields: &[(&str, &str)],
    ) -> Result<Answer, CliError> {
        let pairs: Vec<String> = fields
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let mut args = vec!["webhook", "send", "--source", source];
        for pair in &pairs {
            args.extend(["--contact", pair.as_str()]);
        }
        narrator.step(&RelayCommands::shown(&args));
        self.run(&args).await
    }

    /// The command line as an operator would type it (for the narration).
    pub fn shown(args: &[&str]) -> String {
        format!("relay {}", args.join(" "))
    }
}
