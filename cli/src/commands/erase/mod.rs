//! `relay erase`: GDPR erasure requests, over relay-core's [`relay_core::erasure`].
//!
//! - `relay erase --external-id X --email E --braze-id B --file ids.txt`: one request per
//!   subject onto the erasure queue (`ERASURE_QUEUE_URL`), in `SendMessageBatch` calls, with a
//!   progress bar for files; prints each request id;
//! - `relay erase status ID`: the receipt, or where the request stands;
//! - `relay erase verify ID`: asks Braze and Userflow again for everything the receipt lists
//!   and records the result in the receipt.
//!
//! Settings: the AWS settings; `ERASURE_QUEUE_URL` to enqueue; `STATE_BUCKET` for `status`
//! and `verify`; the Braze and Userflow settings for `verify`.

mod enqueue;
mod status;
mod verify;

use relay_core::erasure::RequestId;
use relay_core::store::S3Store;

use crate::{CliError, Context, Outcome, Settings, aws};

/// Arguments of `relay erase`: the subjects to enqueue, or a subcommand.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// `status` or `verify`; without one, the subjects given are enqueued.
    #[command(subcommand)]
    command: Option<Command>,
    /// The subjects to erase.
    #[command(flatten)]
    subjects: enqueue::SubjectArgs,
}

/// The subcommands of `relay erase`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print a request's receipt, or where it stands.
    Status(status::Args),
    /// Ask Braze and Userflow again for what the receipt lists; record the result in it.
    Verify(verify::Args),
}

/// Runs `relay erase`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    match args.command {
        Some(Command::Status(args)) => status::run(args, context).await,
        Some(Command::Verify(args)) => verify::run(args, context).await,
        None => enqueue::run(args.subjects, context).await,
    }
}

/// The state bucket's store (`STATE_BUCKET`, the AWS settings).
async fn state_store(settings: &Settings) -> Result<S3Store, CliError> {
    let bucket = settings.required("STATE_BUCKET")?.to_owned();
    let sdk = aws::sdk_config(settings).await;
    Ok(S3Store::new(relay_core::aws::s3_client(&sdk), bucket))
}

/// A request id given on the command line.
fn request_id(id: &str) -> Result<RequestId, CliError> {
    RequestId::new(id).map_err(|error| CliError::usage(format!("ID `{id}`: {error}")))
}
