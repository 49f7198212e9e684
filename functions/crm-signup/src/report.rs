//! The success answer of a webhook.

use relay_core::crm::RejectedContact;
use serde::Serialize;

/// The success answer: what happened to every contact of the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Contacts delivered to Braze and Userflow.
    pub accepted: usize,
    /// Contacts parked on the sync queue (delivery continues there).
    pub parked: usize,
    /// Contacts refused, with why. Never sent (or refused by a vendor).
    pub rejected: Vec<RejectedContact>,
    /// Repeats of an external id within the request (the last one was used).
    pub duplicates: usize,
    /// Items deliberately ignored (other event types, redelivered notifications).
    pub ignored: usize,
    /// Contacts an event named that the CRM no longer has.
    pub not_found: usize,
}
