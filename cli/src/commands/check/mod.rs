//! `relay check`: the configuration checked with calls that change nothing, one row per
//! check (`{name, ok, reason}`).
//!
//! - `vendors`: the Braze endpoint is a known cluster (or a custom one explicitly allowed),
//!   the Braze key works (a read-only lookup; a 401 is explained as wrong cluster or wrong
//!   key), the Userflow key (a one-user list), the HubSpot token when `HUBSPOT_ACCESS_TOKEN`
//!   is set (a one-contact read);
//! - `aws`: the state bucket (`HeadBucket`), the sync queue and its dead-letter queue
//!   (`GetQueueAttributes`).
//!
//! Every check runs, whatever the others give, so one run shows everything to fix. A missing
//! or unusable setting is a failed row naming the variable; the exit code is then 2
//! (configuration). Otherwise any failed call gives 1, and all passing 0.

mod aws;
mod vendors;

use std::time::Duration;

use relay_clients::upstream::RetryPolicy;
use serde::Serialize;

use crate::output::{Exit, table};
use crate::{CliError, Context, Outcome};

/// Arguments of `relay check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was checked (`braze key`, `sync queue`, ...).
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// Why, or what was found.
    pub reason: String,
    /// Failed because a setting is missing or unusable (exit 2), not because of a call.
    #[serde(skip)]
    pub setting: bool,
}

impl Row {
    fn pass(name: &'static str, reason: impl Into<String>) -> Row {
        Row {
            name,
            ok: true,
            reason: reason.into(),
            setting: false,
        }
    }

    fn fail(name: &'static str, reason: impl Into<String>) -> Row {
        Row {
            name,
            ok: false,
            reason: reason.into(),
            setting: false,
        }
    }

    /// A failure caused by a setting (its error names the variable).
    fn setting(name: &'static str, reason: impl std::fmt::Display) -> Row {
        Row {
            name,
            ok: false,
            reason: reason.to_string(),
            setting: true,
        }
    }
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Report<'r> {
    checks: &'r [Row],
}

/// Vendor calls of a check give up quickly: two attempts within 10 s.
fn check_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
        deadline: Duration::from_secs(10),
    }
}

/// Runs `relay check`.
pub async fn run(_args: Args, context: &Context) -> Result<Outcome, CliError> {
    let settings = &context.settings;
    let (braze, userflow, hubspot, aws) = tokio::join!(
        vendors::braze(settings),
        vendors::userflow(settings),
        vendors::hubspot(settings),
        aws::checks(settings),
    );
    let mut rows = braze;
    rows.push(userflow);
    rows.extend(hubspot);
    rows.extend(aws);

    let exit = if rows.iter().any(|row| !row.ok && row.setting) {
        Exit::Usage
    } else if rows.iter().any(|row| !row.ok) {
        Exit::Failed
    } else {
        Exit::Done
    };
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.name.to_owned(),
                if row.ok { "ok" } else { "FAIL" }.to_owned(),
                row.reason.clone(),
            ]
        })
        .collect();
    let text = table(&["check", "result", "reason"], &lines);
    Ok(Outcome::new(exit, &Report { checks: &rows }, text))
}
