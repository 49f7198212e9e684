//! What the signup-load and soak benchmarks run against: a fresh sandbox inside relay-bench,
//! `relay local` (the release binary) as a child using it as its vendors, and a [`Sender`]
//! of signed signups to its gateway. Stopped as a whole, on every path.

use std::path::Path;

use sandbox::{AdminClient, Sandbox, SandboxConfig};

use crate::relay_local::{self, RelayLocal};
use crate::signups::{SOURCES, Sender, Tally};

/// A running load stack.
pub struct LoadStack {
    /// The vendors.
    pub sandbox: Sandbox,
    /// `relay local`.
    pub relay: RelayLocal,
    /// Signups to its gateway.
    pub sender: Sender,
}

impl LoadStack {
    /// Starts the sandbox, then `relay local` (`binary`) with the load settings; `run` names
    /// its folder. Whatever started is stopped again when a later step fails.
    pub async fn start(binary: &Path, run: &str) -> Result<LoadStack, String> {
        let sandbox = sandbox::start(SandboxConfig::default())
            .await
            .map_err(|e| format!("starting the sandbox: {e}"))?;
        let started = async {
            let settings = relay_local::settings(sandbox.info())?;
            let relay = RelayLocal::start(binary, run, &settings).await?;
            match Sender::new(&relay.info.webhooks, &settings).await {
                Ok(sender) => Ok((relay, sender)),
                Err(e) => {
                    let _ = relay.stop().await;
                    Err(e)
                }
            }
        }
        .await;
        match started {
            Ok((relay, sender)) => Ok(LoadStack {
                sandbox,
                relay,
                sender,
            }),
            Err(e) => {
                sandbox.shutdown().await;
                Err(e)
            }
        }
    }

    /// The sandbox's admin API.
    pub fn admin(&self) -> AdminClient {
        self.sandbox.admin()
    }

    /// Sends signups `0..SOURCES.len()` one after the other, one per source: each must be
    /// answered 2xx, or the run stops here saying which source failed.
    pub async fn check_each_source(&self, tally: &mut Tally) -> Result<(), String> {
        for n in 0..SOURCES.len() {
            let sent = self.sender.send(n).await?;
            tally.add(n, sent);
            if !(200..300).contains(&sent.status) {
                return Err(format!(
                    "the first {} signup was answered {}; see {}",
                    Sender::contact(n).0,
                    sent.status,
                    self.relay.log.display()
                ));
            }
        }
        Ok(())
    }

    /// Stops `relay local` (SIGTERM, then by PID) and the sandbox.
    pub async fn stop(self) -> Result<(), String> {
        let stopped = self.relay.stop().await;
        self.sandbox.shutdown().await;
        stopped
    }
}
