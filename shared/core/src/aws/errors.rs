//! What an AWS SDK error means for the caller: transient (try again later), misconfigured
//! (an operator must act) or permanent, with a description that holds no request or response
//! body. S3 and SQS share the SDK's error type, so the store and the queue share this.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use relay_clients::upstream::FailureClass;

/// Service error codes (S3 and SQS) that mean an operator must fix configuration: credentials,
/// permissions, a bucket or queue that does not exist.
const MISCONFIGURED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AllAccessDisabled",
    "AuthorizationHeaderMalformed",
    "AWS.SimpleQueueService.NonExistentQueue",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidAddress",
    "InvalidClientTokenId",
    "InvalidSecurity",
    "InvalidToken",
    "KmsAccessDenied",
    "KmsDisabled",
    "KmsInvalidKeyUsage",
    "KmsInvalidState",
    "KmsNotFound",
    "KmsOptInRequired",
    "NoSuchBucket",
    "PermanentRedirect",
    "QueueDoesNotExist",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
];

/// Service error codes (S3 and SQS) worth another try: throttling, server faults, timeouts
/// reported as 4xx, S3's conflicting conditional writes.
const TRANSIENT_CODES: &[&str] = &[
    "ConditionalRequestConflict",
    "InternalError",
    "InternalFailure",
    "KmsThrottled",
    "OperationAborted",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestTimeTooSkewed",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "SlowDown",
    "Throttled",
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
];

/// Classifies an AWS service error from its code (when the service sent one) and HTTP status.
///
/// The code wins (S3 answers `RequestTimeout` with a 400, SQS a missing queue with a 400);
/// otherwise 408, 429 and 5xx are transient (throttling included: the caller retries later
/// either way), 401 and 403 misconfigured, anything else permanent.
pub fn classify_service_error(code: Option<&str>, status: u16) -> FailureClass {
    if let Some(code) = code {
        if MISCONFIGURED_CODES.contains(&code) {
            return FailureClass::Misconfigured;
        }
        if TRANSIENT_CODES.contains(&code) {
            return FailureClass::Transient;
        }
    }
    match status {
        408 | 429 | 500..=599 => FailureClass::Transient,
        401 | 403 => FailureClass::Misconfigured,
        _ => FailureClass::Permanent,
    }
}

/// The HTTP status of a service or response error, when one was received.
pub(crate) fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|raw| raw.status().as_u16())
}

/// Classifies any aws-sdk error (S3 and SQS share the type) and describes it without any
/// request or response body: `code: message (HTTP status)` for service errors, the kind and
/// cause chain otherwise.
pub(crate) fn classify_sdk_error<E>(err: &SdkError<E, HttpResponse>) -> (FailureClass, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(_) => {
            let status = http_status(err).unwrap_or_default();
            let code = err.code();
            let class = classify_service_error(code, status);
            let detail = format!(
                "{}: {} (HTTP {status})",
                code.unwrap_or("no error code"),
                err.message().unwrap_or("no message")
            );
            (class, detail)
        }
        SdkError::TimeoutError(_) => (
            FailureClass::Transient,
            format!("timed out: {}", DisplayErrorContext(err)),
        ),
        SdkError::DispatchFailure(failure) if failure.is_user() => (
            FailureClass::Misconfigured,
            format!("request could not be sent: {}", DisplayErrorContext(err)),
        ),
        SdkError::DispatchFailure(_) => (
            FailureClass::Transient,
            format!("request could not be sent: {}", DisplayErrorContext(err)),
        ),
        SdkError::ConstructionFailure(_) => (
            // Region, credentials or endpoint missing or invalid: nothing a retry fixes.
            FailureClass::Misconfigured,
            format!("request could not be built: {}", DisplayErrorContext(err)),
        ),
        SdkError::ResponseError(_) => (
            FailureClass::Transient,
            format!(
                "unreadable response (HTTP {}): {}",
                http_status(err).unwrap_or_default(),
                DisplayErrorContext(err)
            ),
        ),
        _ => (
            FailureClass::Transient,
            DisplayErrorContext(err).to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_code_names_a_missing_bucket_or_denied_access_then_it_is_misconfigured() {
        for code in [
            "NoSuchBucket",
            "AccessDenied",
            "InvalidAccessKeyId",
            "QueueDoesNotExist",
        ] {
            assert_eq!(
                classify_service_error(Some(code), 404),
                FailureClass::Misconfigured,
                "{code}"
            );
        }
        assert_eq!(
            classify_service_error(None, 403),
            FailureClass::Misconfigured
        );
    }

    #[test]
    fn when_s3_throttles_or_fails_then_it_is_transient() {
        assert_eq!(
            classify_service_error(Some("SlowDown"), 503),
            FailureClass::Transient
        );
        assert_eq!(
            classify_service_error(Some("RequestTimeout"), 400),
            FailureClass::Transient
        );
        assert_eq!(
            classify_service_error(Some("ConditionalRequestConflict"), 409),
            FailureClass::Transient
        );
        for status in [500, 502, 503, 429, 408] {
            assert_eq!(
                classify_service_error(None, status),
                FailureClass::Transient
            );
        }
    }

    #[test]
    fn when_the_request_is_wrong_then_it_is_permanent() {
        assert_eq!(
            classify_service_error(Some("InvalidArgument"), 400),
            FailureClass::Permanent
        );
        assert_eq!(
            classify_service_error(Some("EntityTooLarge"), 400),
            FailureClass::Permanent
        );
        assert_eq!(classify_service_error(None, 404), FailureClass::Permanent);
    }
}
