//! GDPR erasure: a person deleted from Braze and Userflow, every step provable afterwards,
//! none repeated in a way that matters.
//!
//! - [`request`]: the message on the erasure queue (who, by which identifier; a request id;
//!   when and by whom it was asked) and the subject's digest, the only form in which the
//!   receipt keeps the person.
//! - [`discovery`]: every Braze profile of the subject (alias-only duplicates sharing its
//!   email included) and every Userflow user, for a whole batch in as few lookups as Braze's
//!   rules allow.
//! - [`archive`]: the optional compliance archive of what discovery exported, written before
//!   anything is deleted.
//! - [`progress`]: the work document that lets a retry resume where the last attempt
//!   stopped.
//! - [`receipt`]: the audit record, written last, and the verifications added to it later.
//! - [`eraser`]: the steps, for one SQS batch at once.
//! - [`rejected`]: messages that are not requests, recorded and acknowledged.
//! - [`status`]: where a request stands (receipt, progress, or nothing yet).
//! - [`verify`]: the later check that nothing of the subject is left.
//!
//! Keys in the state bucket: `erasure/<request_id>/progress.json` (while it runs),
//! `erasure/<request_id>/receipt.json` (when done), `erasure/rejected/<message id>.json`.

pub mod archive;
pub mod discovery;
pub mod eraser;
pub mod progress;
pub mod receipt;
pub mod rejected;
pub mod request;
pub mod status;
pub mod verify;

pub use archive::ComplianceArchive;
pub use eraser::{Eraser, Erasure, Step};
pub use receipt::{Receipt, ReceiptCounts, Receipts, Verification};
pub use request::{
    ErasureDecodeError, ErasureRequest, RequestId, Subject, SubjectDigest, SubjectKind,
};
