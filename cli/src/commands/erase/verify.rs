//! `relay erase verify ID`: relay-core's [`verify`] on the request's receipt, its result
//! added to the receipt.
//!
//! Braze deletes within minutes of accepting a deletion, so a profile found right after an
//! erasure is expected; run it again later. Exit codes: nothing found 0; something found 1;
//! no receipt yet 1.

use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::config::VendorConfig;
use relay_core::erasure::Receipts;
use relay_core::erasure::verify::verify;

use super::status::receipt_text;
use super::{request_id, state_store};
use crate::output::Exit;
use crate::{CliError, Context, Outcome};

/// Arguments of `relay erase verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The request id `relay erase` printed.
    id: String,
}

/// Runs `relay erase verify`.
pub async fn run(args: Args, context: &Context) -> Result<Outcome, CliError> {
    let id = request_id(&args.id)?;
    let settings = &context.settings;
    let store = state_store(settings).await?;
    let (braze, userflow) = VendorConfig::from_env(&settings.env(), &settings.secrets())
        .await?
        .clients(http_client(HttpTimeouts::default()))?;
    let receipts = Receipts::new(&store);
    let receipt = receipts
        .load(&id)
        .await
        .map_err(|error| CliError::failed(format!("state bucket: {error}")))?
        .ok_or_else(|| {
            CliError::failed(format!(
                "request {id} has no receipt yet (relay erase status {id} says where it stands)"
            ))
        })?;
    let verification = verify(&braze, &userflow, &receipt)
        .await
        .map_err(|error| CliError::failed(error.to_string()))?;
    let clean = verification.clean;
    let receipt = receipts
        .add_verification(&id, verification)
        .await
        .map_err(|error| CliError::failed(format!("state bucket: {error}")))?
        .ok_or_else(|| CliError::failed(format!("the receipt of {id} disappeared")))?;
    let exit = if clean { Exit::Done } else { Exit::Failed };
    let mut text = receipt_text(&receipt);
    if !clean {
        text.push_str("\nBraze deletes within minutes of accepting: run this again later");
    }
    Ok(Outcome::new(exit, &receipt, text))
}
