//! The webhook's problems: how relay-core's errors become RFC 9457 answers (the `Problem`
//! type itself is relay-lambda's, shared by every HTTP function).

use relay_core::crm::fetch::FetchError;
use relay_core::crm::{AuthError, PayloadError};
use relay_core::parking::ParkError;
pub use relay_lambda::problem::{PROBLEM_TYPE_PREFIX, Problem};

/// A problem answer with `Retry-After`: the CRM should send the webhook again later.
fn retry_later(problem: Problem) -> Problem {
    problem.retry_after(30)
}

/// 401 for a request its source's scheme does not trust, with the scheme's challenge.
pub fn unauthorized(error: &AuthError, challenge: Option<&'static str>) -> Problem {
    let problem = Problem::new(401, error.problem_type(), "Unauthorized", error.to_string());
    match challenge {
        Some(challenge) => problem.with_header("www-authenticate", challenge),
        None => problem,
    }
}

/// 415 or 400 for a body that is not what the source sends.
pub fn payload(error: PayloadError) -> Problem {
    match &error {
        PayloadError::UnsupportedMediaType { expected, .. } => Problem::new(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            error.to_string(),
        )
        .with("accepted", expected),
        PayloadError::Malformed { location, .. } => {
            Problem::new(400, "malformed-body", "Malformed body", error.to_string())
                .with("location", location)
        }
    }
}

/// 500 for a source whose CRM client is missing or refused; 503 while the CRM is unavailable.
pub fn fetch(error: FetchError) -> Problem {
    match error {
        FetchError::NoApiClient { .. } | FetchError::Refused { .. } => Problem::new(
            500,
            "source-misconfigured",
            "Source misconfigured",
            error.to_string(),
        ),
        FetchError::Unavailable(_) | FetchError::Deadline => retry_later(Problem::new(
            503,
            "crm-unavailable",
            "CRM unavailable",
            error.to_string(),
        )),
    }
}

/// 503: contacts could be neither delivered in time nor parked.
pub fn park(error: ParkError) -> Problem {
    retry_later(Problem::new(
        503,
        "parking-failed",
        "Could not park contacts",
        format!(
            "{} contact(s) could not be delivered in time nor parked on the sync queue; send the webhook again",
            error.contacts()
        ),
    ))
}
