//! [`LineError`]: why one exported line cannot become an upsert. The caller records the line
//! as a reject with [`LineError::reason`] and counts it; the message names shapes and rules,
//! never a user's personal data.

use relay_clients::braze::validation::Rule;
use relay_clients::userflow::UserflowError;

/// Why one exported user line was refused. Each variant has a stable
/// [`reason`](LineError::reason) code for reject records and counters.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Not parseable as JSON (truncated, a syntax error, invalid UTF-8, trailing data).
    #[error("not valid JSON (column {column})")]
    InvalidJson {
        /// 1-based column (byte) where the parser stopped.
        column: usize,
        /// The parser's error.
        #[source]
        source: sonic_rs::Error,
    },
    /// Valid JSON, but not an object (a user is always one).
    #[error("not a JSON object but {shape}")]
    NotAnObject {
        /// What it is instead (`an array`, `a string`, ...).
        shape: &'static str,
    },
    /// `external_id` is present but cannot be a Userflow user id.
    #[error("external_id {problem}")]
    BadExternalId {
        /// What is wrong with it.
        problem: ExternalIdProblem,
    },
    /// `email` is present but not a string (its syntax is not checked: Braze already did).
    #[error("email is {shape}, not a string")]
    BadEmail {
        /// What it is instead.
        shape: &'static str,
    },
    /// `created_at` is present but none of the accepted date formats.
    #[error("created_at {found} is not `YYYY-MM-DD HH:MM:SS[.fff] UTC` nor ISO 8601 with a zone")]
    BadCreatedAt {
        /// The value quoted (a creation time is not personal data; cut at 64 characters), or
        /// its shape when it is not a string.
        found: String,
    },
    /// Neither a Braze id nor an external id: an erasure could not name the user.
    #[error("has neither braze_id nor external_id: nothing to name the user by")]
    NoIdentifier,
    /// A check of the Userflow client refused the upsert before it was sent. Its id rules
    /// are also Braze's, which are checked first, so an exported line does not get here
    /// unless the two ever part.
    #[error("Userflow would refuse it: {source}")]
    UserflowRefused {
        /// The client's refusal.
        #[source]
        source: UserflowError,
    },
}

/// What is wrong with an `external_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExternalIdProblem {
    /// Neither a string nor a number.
    #[error("is {0}, not a string or number")]
    WrongType(&'static str),
    /// A Braze identifier rule it breaks (empty, over 987 bytes, a control character).
    #[error("breaks the rule `{}`", .0.as_str())]
    Rule(Rule),
}

impl LineError {
    /// A short stable code for reject records and counters: `invalid_json`,
    /// `not_an_object`, `bad_external_id`, `bad_email`, `bad_created_at`, `no_identifier`
    /// or `userflow_refused` (the code of a line Userflow itself refused).
    pub fn reason(&self) -> &'static str {
        match self {
            LineError::InvalidJson { .. } => "invalid_json",
            LineError::NotAnObject { .. } => "not_an_object",
            LineError::BadExternalId { .. } => "bad_external_id",
            LineError::BadEmail { .. } => "bad_email",
            LineError::BadCreatedAt { .. } => "bad_created_at",
            LineError::UserflowRefused { .. } => "userflow_refused",
            LineError::NoIdentifier => "no_identifier",
        }
    }
}
