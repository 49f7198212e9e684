//! Ctrl-C and SIGTERM, caught from before `relay local` is spawned until it is stopped, so the
//! demo never leaves the stack (and its moto) running when it is interrupted or killed
//! politely (a CI timeout, a parent process).

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::CliError;

/// Both stop signals, installed.
pub(crate) struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    /// Installs the handlers (from now on neither signal ends the process by itself).
    pub(crate) fn install() -> Result<StopSignals, CliError> {
        let install = |kind| {
            signal(kind).map_err(|error| {
                CliError::failed(format!("cannot install the signal handlers: {error}"))
            })
        };
        Ok(StopSignals {
            interrupt: install(SignalKind::interrupt())?,
            terminate: install(SignalKind::terminate())?,
        })
    }

    /// Waits for either signal; the error to end the demo with.
    pub(crate) async fn received(&mut self) -> CliError {
        let name = tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C",
            _ = self.terminate.recv() => "SIGTERM",
        };
        CliError::failed(format!("interrupted ({name}); the stack was stopped"))
    }
}
