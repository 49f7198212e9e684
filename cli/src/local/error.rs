//! Why `relay local` could not start (or stop cleanly): one enum for the local stack, turned
//! into the CLI's [`CliError`] (and its exit code) at the command's edge.

use relay_core::aws::moto::MotoError;
use relay_core::env::ConfigError;
use relay_core::queue::setup::SetupError;
use relay_core::store::StoreError;

use crate::CliError;

/// A local stack that could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A setting is missing or unusable (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Some vendor settings are given and others not (exit 2).
    #[error(
        "vendor settings are partly given: set {missing} too for the real APIs, or unset {given} for the sandbox"
    )]
    PartialVendors {
        /// The settings that are missing, comma-separated.
        missing: String,
        /// The settings that are given, comma-separated.
        given: String,
    },
    /// A function's configuration refused (its message names the variable; exit 2).
    #[error("{function}: {message}")]
    Function {
        /// `crm-signup` or `sync-worker`.
        function: &'static str,
        /// The function's startup error.
        message: String,
    },
    /// moto could not be started (exit 1).
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// The queues could not be created (exit 1).
    #[error(transparent)]
    Queues(#[from] SetupError),
    /// The state bucket could not be created (exit 1).
    #[error(transparent)]
    Bucket(#[from] StoreError),
    /// The sandbox could not start (exit 1).
    #[cfg(feature = "sandbox")]
    #[error("the sandbox did not start: {0}")]
    Sandbox(#[from] sandbox::Error),
    /// The built-in sandbox is needed but this build has no `sandbox` feature (exit 2).
    #[error(
        "no vendor settings (BRAZE_REST_ENDPOINT, BRAZE_API_KEY, USERFLOW_API_KEY) and this relay is built without the sandbox"
    )]
    NoSandbox,
    /// The webhook port could not be bound (exit 1).
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--env-out` could not be written (exit 1).
    #[error("--env-out {path}: {source}")]
    EnvOut {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Ctrl-C or SIGTERM came before the stack was ready; what was started is stopped (exit 1).
    #[error("stopped by {0} before the stack was ready")]
    StoppedStarting(super::Stopped),
    /// Signals could not be listened for (exit 1).
    #[error("cannot listen for signals: {0}")]
    Signals(#[source] std::io::Error),
}

impl From<LocalError> for CliError {
    fn from(error: LocalError) -> CliError {
        match error {
            LocalError::Config(config) => CliError::Config(config),
            LocalError::PartialVendors { .. }
            | LocalError::Function { .. }
            | LocalError::NoSandbox => CliError::Usage(error.to_string()),
            other => CliError::Failed(other.to_string()),
        }
    }
}
