//! Cold-start errors: one readable line, and the document posted to the Runtime API's
//! `/runtime/init/error` (against a loopback emulator).

use std::time::Duration;

use lambda_runtime::Diagnostic;
use relay_lambda::startup::{CONFIG_ERROR_TYPE, ReportError, one_line, report_init_error};
use relay_tests::runtime_api::{Call, RuntimeApi};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("the vendor refused the endpoint")]
struct Refused(#[source] std::io::Error);

#[derive(Debug, thiserror::Error)]
enum Setting {
    #[error("BRAZE_REST_ENDPOINT")]
    Separate(#[source] Refused),
    #[error("BRAZE_REST_ENDPOINT: {0}")]
    InMessage(#[source] Refused),
}

fn refused() -> Refused {
    Refused(std::io::Error::other("no such host"))
}

#[test]
fn when_an_error_has_causes_then_one_line_joins_them_with_colons() {
    let error = Setting::Separate(refused());
    assert_eq!(
        one_line(&error),
        "BRAZE_REST_ENDPOINT: the vendor refused the endpoint: no such host"
    );
}

#[test]
fn when_a_cause_is_already_in_the_message_then_one_line_does_not_repeat_it() {
    let error = Setting::InMessage(refused());
    assert_eq!(
        one_line(&error),
        "BRAZE_REST_ENDPOINT: the vendor refused the endpoint: no such host"
    );
}

#[test]
fn when_a_message_spans_lines_then_one_line_is_one_line() {
    let error = std::io::Error::other("first\nsecond");
    assert_eq!(one_line(&error), "first second");
}

#[tokio::test]
async fn when_reported_then_the_runtime_api_gets_one_init_error_with_type_header_and_document() {
    let mut api = RuntimeApi::start([]).await;
    let diagnostic = Diagnostic {
        error_type: CONFIG_ERROR_TYPE.to_owned(),
        error_message: "STATE_BUCKET: is required but not set".to_owned(),
    };
    report_init_error(&api.host_port(), &diagnostic)
        .await
        .expect("reported");
    let call = api.next_call(Duration::from_secs(10)).await;
    let Some(Call::InitError {
        error_type, body, ..
    }) = call
    else {
        panic!("expected /init/error, got {call:?}");
    };
    assert_eq!(error_type, "Runtime.ConfigError");
    let document: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        document,
        serde_json::json!({
            "errorType": "Runtime.ConfigError",
            "errorMessage": "STATE_BUCKET: is required but not set"
        })
    );
    assert!(api.calls_so_far().is_empty(), "one POST only");
}

#[tokio::test]
async fn when_there_is_no_runtime_api_then_reporting_says_so() {
    let diagnostic = Diagnostic {
        error_type: CONFIG_ERROR_TYPE.to_owned(),
        error_message: "x".to_owned(),
    };
    let error = report_init_error("", &diagnostic).await.unwrap_err();
    assert!(matches!(error, ReportError::NoRuntimeApi), "{error:?}");
    let error = report_init_error("host/path", &diagnostic)
        .await
        .unwrap_err();
    assert!(matches!(error, ReportError::BadRuntimeApi), "{error:?}");
}
