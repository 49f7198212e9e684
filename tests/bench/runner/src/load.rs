//! The load benchmarks (`--only signup-load | braze-rate | soak`): their options, running
//! them one after the other (each with its own stack, none sharing the other benchmarks'),
//! the charts written next to the report and the report's sections.

use std::path::{Path, PathBuf};

use crate::load_report::{self, Binary};
use crate::{braze_rate, plot, relay_local, signup_load, signups, soak};

/// The benchmarks `--only` can name here.
pub const BENCHMARKS: [&str; 3] = ["signup-load", "braze-rate", "soak"];

/// Their options, each with a positive number.
pub const OPTIONS: [&str; 6] = [
    "--signups",
    "--concurrency",
    "--braze-limit",
    "--braze-secs",
    "--soak-secs",
    "--soak-rate",
];

/// The options' part of the usage text.
pub const USAGE: &str = "\
Load benchmarks (signup-load, braze-rate, soak):
  --signups N       signup-load: signed one-contact webhooks (default 20000)
  --concurrency N   signup-load: requests in flight (default 50)
  --braze-limit N   braze-rate: L, /users/track requests a second (default 100)
  --braze-secs N    braze-rate: how long the callers send (default 60)
  --soak-secs N     soak: how long the trickle runs (default 600)
  --soak-rate N     soak: signups a second (default 20)
  signup-load and soak run <bin-dir>/relay, built first when missing
  (cargo build --release --locked -p relay)";

/// Which load benchmarks run, and how.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// signup-load.
    pub signup: Option<signup_load::Plan>,
    /// braze-rate.
    pub braze: Option<braze_rate::Plan>,
    /// soak.
    pub soak: Option<soak::Plan>,
}

impl Default for LoadPlan {
    fn default() -> Self {
        LoadPlan {
            signup: Some(signup_load::Plan {
                signups: 20_000,
                concurrency: 50,
            }),
            braze: Some(braze_rate::Plan {
                limit: 100,
                seconds: 60,
            }),
            soak: Some(soak::Plan {
                seconds: 600,
                rate: 20,
            }),
        }
    }
}

impl LoadPlan {
    /// Takes `flag`, one of [`OPTIONS`], with its positive `value` (options are read before
    /// [`LoadPlan::select`]).
    pub fn option(&mut self, flag: &str, value: usize) -> Result<(), String> {
        let (Some(signup), Some(braze), Some(soak)) = (
            self.signup.as_mut(),
            self.braze.as_mut(),
            self.soak.as_mut(),
        ) else {
            return Err(format!("{flag}: options come before the selection"));
        };
        let per_second =
            || u32::try_from(value).map_err(|_| format!("{flag}: `{value}` is too large"));
        match flag {
            "--signups" if value < signups::SOURCES.len() => {
                return Err(format!(
                    "--signups: at least {} (one per source)",
                    signups::SOURCES.len()
                ));
            }
            "--signups" => signup.signups = value,
            "--concurrency" => signup.concurrency = value,
            "--braze-limit" => braze.limit = per_second()?,
            "--braze-secs" if value <= braze_rate::SKIP_SECS => {
                return Err(format!(
                    "--braze-secs: more than {} (the start is left out)",
                    braze_rate::SKIP_SECS
                ));
            }
            "--braze-secs" => braze.seconds = value as u64,
            "--soak-secs" => soak.seconds = value as u64,
            "--soak-rate" => soak.rate = per_second()?,
            _ => return Err(format!("unknown argument {flag}")),
        }
        Ok(())
    }

    /// Keeps the benchmarks `runs` selects.
    pub fn select(&mut self, runs: impl Fn(&str) -> bool) {
        if !runs("signup-load") {
            self.signup = None;
        }
        if !runs("braze-rate") {
            self.braze = None;
        }
        if !runs("soak") {
            self.soak = None;
        }
    }

    /// Whether none is selected.
    pub fn is_empty(&self) -> bool {
        self.signup.is_none() && self.braze.is_none() && self.soak.is_none()
    }

    /// The `relay` binary the plan needs (checked before anything runs), if any.
    pub fn relay_binary(&self, bin_dir: &Path) -> Result<Option<PathBuf>, String> {
        if self.signup.is_none() && self.soak.is_none() {
            return Ok(None);
        }
        relay_local::binary(bin_dir).map(Some)
    }

    /// Runs the selected benchmarks; returns the report's sections, the charts written
    /// next to `report` (the markdown file).
    pub async fn run(
        &self,
        relay: Option<&Path>,
        report: &Path,
        command: &str,
    ) -> Result<String, String> {
        let mut sections = String::new();
        let shown = relay.map(|p| p.display().to_string()).unwrap_or_default();
        let built_at = relay.map(relay_local::built_at).unwrap_or_default();
        let binary = Binary {
            path: &shown,
            built_at: &built_at,
        };
        let folder = report.parent().filter(|p| !p.as_os_str().is_empty());
        let folder = folder.unwrap_or(Path::new(".")).to_path_buf();
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        if let (Some(plan), Some(relay)) = (self.signup, relay) {
            let outcome = signup_load::measure(relay, plan).await?;
            load_report::signup_load(&mut sections, &outcome, command, &binary);
        }
        if let Some(plan) = self.braze {
            let outcome = braze_rate::measure(plan).await?;
            let svg = "braze-rate.svg";
            plot::write_svg(&folder.join(svg), &load_report::braze_rate_chart(&outcome))?;
            load_report::braze_rate(&mut sections, &outcome, command, svg);
        }
        if let (Some(plan), Some(relay)) = (self.soak, relay) {
            let outcome = soak::measure(relay, plan).await?;
            let svg = "soak-rss.svg";
            plot::write_svg(&folder.join(svg), &load_report::soak_chart(&outcome))?;
            load_report::soak(&mut sections, &outcome, command, &binary, svg);
        }
        Ok(sections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_options_are_given_then_the_plans_take_them_and_refuse_what_cannot_run() {
        let mut plan = LoadPlan::default();
        plan.option("--signups", 500).expect("taken");
        plan.option("--soak-secs", 90).expect("taken");
        assert_eq!(plan.signup.map(|p| p.signups), Some(500));
        assert_eq!(plan.soak.map(|p| p.seconds), Some(90));
        assert!(plan.option("--signups", 3).is_err());
        assert!(plan.option("--braze-secs", braze_rate::SKIP_SECS).is_err());
        assert!(plan.option("--unknown", 1).is_err());
    }

    #[test]
    fn when_one_benchmark_is_selected_then_the_others_are_dropped() {
        let mut plan = LoadPlan::default();
        plan.select(|name| name == "braze-rate");
        assert!(plan.signup.is_none() && plan.soak.is_none());
        assert!(plan.braze.is_some() && !plan.is_empty());
        assert_eq!(plan.relay_binary(Path::new("/nonexistent")), Ok(None));
    }
}
