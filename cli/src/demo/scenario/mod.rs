//! The six scenes, in order; each checks its expectations into the report.

mod dead_letters;
mod erasure;
mod export;
mod outage;
mod scim;
mod signups;

use std::future::Future;
use std::time::Duration;

use super::{Demo, Report};
use crate::CliError;

/// Plays every scene. An expectation that does not hold is a report row; an error (a
/// command that could not run, the sandbox unreachable) ends the demo.
pub(super) async fn play(demo: &Demo) -> Result<Report, CliError> {
    let mut report = Report::default();
    signups::play(demo, &mut report).await?;
    outage::play(demo, &mut report).await?;
    dead_letters::play(demo, &mut report).await?;
    scim::play(demo, &mut report).await?;
    export::play(demo, &mut report).await?;
    erasure::play(demo, &mut report).await?;
    Ok(report)
}

/// Polls `check` every 250 ms until it returns true or `limit` passes; true if it held.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> Result<bool, CliError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, CliError>>,
{
    let until = tokio::time::Instant::now() + limit;
    loop {
        if check().await? {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= until {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// True when the sync queue holds no message, visible or in flight: nothing parked is left.
async fn sync_queue_drained(demo: &Demo) -> Result<bool, CliError> {
    let depth = relay_core::queue::dead_letters::queue_depth(&demo.sqs, &demo.sync_queue_url)
        .await
        .map_err(|error| CliError::failed(format!("cannot read the sync queue: {error}")))?;
    Ok(depth.visible + depth.in_flight == 0)
}

/// An optional figure for the report: the value, or `none` when the answer lacked it.
fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_owned(), |value| value.to_string())
}

/// The sandbox's admin API failed: the demo cannot check anything more.
fn admin_error(error: sandbox::AdminError) -> CliError {
    CliError::failed(format!("the sandbox's admin API failed: {error}"))
}
