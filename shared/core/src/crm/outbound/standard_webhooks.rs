//! Standard Webhooks: the contact object as the body; `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` over `id.timestamp.body` with the decoded key.

use secrecy::{ExposeSecret, SecretSlice};
use serde_json::Value;

use super::{OutboundError, OutboundRequest, Stamp, set_header, since_epoch};
use crate::crm::signature::{
    WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, standard_webhooks_signature,
};

/// The body: the record itself, one contact object.
pub(super) fn body(record: Value) -> Vec<u8> {
    record.to_string().into_bytes()
}

/// Signs `request` with the decoded key at `stamp` (Unix seconds), `stamp.id` as the
/// message id.
pub(super) fn sign(
    request: &mut OutboundRequest,
    key: &SecretSlice<u8>,
    stamp: &Stamp,
) -> Result<(), OutboundError> {
    let timestamp = since_epoch(stamp.now).as_secs().to_string();
    let signature =
        standard_webhooks_signature(key.expose_secret(), &stamp.id, &timestamp, &request.body);
    set_header(&mut request.headers, WEBHOOK_ID, &stamp.id)?;
    set_header(&mut request.headers, WEBHOOK_TIMESTAMP, &timestamp)?;
    set_header(&mut request.headers, WEBHOOK_SIGNATURE, &signature)
}
