//! The CLI's one error type: what went wrong, and which exit code it means.

use relay_core::env::ConfigError;

use crate::output::Exit;

/// A command that could not do its work. Usage and configuration errors exit 2; an operation
/// that failed exits 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line or a setting is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A setting is missing or unusable; names the variable (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The operation was tried and failed (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// A usage error with its message.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    /// A failed operation with its message.
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError::Failed(message.into())
    }

    /// The exit code this error means.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) | CliError::Config(_) => Exit::Usage,
            CliError::Failed(_) => Exit::Failed,
        }
    }

    /// A stable name for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Config(_) => "configuration",
            CliError::Failed(_) => "failed",
        }
    }
}
