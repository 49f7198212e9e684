//! `relay export cancel JOB`: relay-core's [`cancel_export`]. While the job is `requested`
//! Braze's running export is cancelled too; files not yet started are then not read. A job
//! that had already ended exits 1 saying in which state.

use relay_core::export::control::{Cancelled, cancel_export};
use relay_core::export::manifest::{ExportState, JobId};
use serde::Serialize;

use super::{braze_client, control_error, job_id, state_store};
use crate::output::Exit;
use crate::{CliError, Context, Outcome};

/// Arguments of `relay export cancel`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The export job.
    job: String,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct CancelView {
    job: JobId,
    /// Whether this command ended the job.
    cancelled: bool,
    /// The job's state afterwards.
    state: ExportState,
    /// Braze's running export: `cancelled`, `refused` or `not_asked` (the files were already
    /// written).
    braze: &'static str,
    /// Braze's reason when it refused the cancel.
    #[serde(skip_serializing_if = "Option::is_none")]
    braze_error: Option<String>,
}

/// Runs `relay export cancel`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let job = job_id(&args.job)?;
    let braze = braze_client(&context.settings).await?;
    let (_, store) = state_store(&context.settings).await?;
    let cancelled = cancel_export(&store, &braze, &job)
        .await
        .map_err(control_error)?;
    Ok(match cancelled {
        Cancelled::Now { braze } => {
            let (answer, braze_error, said) = match braze {
                Some(Ok(())) => (
                    "cancelled",
                    None,
                    "Braze's running export was cancelled too".to_owned(),
                ),
                Some(Err(error)) => (
                    "refused",
                    Some(error.clone()),
                    format!("Braze did not cancel its export: {error}"),
                ),
                None => (
                    "not_asked",
                    None,
                    "Braze had already written the files; files not yet started will not be read"
                        .to_owned(),
                ),
            };
            let text = format!("cancelled export {job}; {said}");
            let view = CancelView {
                job,
                cancelled: true,
                state: ExportState::Cancelled,
                braze: answer,
                braze_error,
            };
            Outcome::done(&view, text)
        }
        Cancelled::AlreadyEnded(state) => {
            let text = format!(
                "export {job} had already ended as {}: nothing cancelled",
                state.as_str()
            );
            let view = CancelView {
                job,
                cancelled: false,
                state,
                braze: "not_asked",
                braze_error: None,
            };
            Outcome::new(Exit::Failed, &view, text)
        }
    })
}
