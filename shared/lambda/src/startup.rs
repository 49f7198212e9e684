//! Cold-start errors, as Lambda and a reader should see them.
//!
//! A `main` returning `Result<(), E>` prints `Error: <Debug of E>` and exits 1: Lambda shows
//! a generic "Runtime exited" failure and the log holds a struct dump. Instead
//! [`or_report_init_error`] prints one readable line, posts the error to the Runtime API's
//! `/runtime/init/error` (so the failure Lambda reports carries it), and exits non-zero.

use std::error::Error;

use http::{Method, StatusCode, Uri};
use lambda_runtime::Diagnostic;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};

/// The `errorType` of a configuration error at cold start.
pub const CONFIG_ERROR_TYPE: &str = "Runtime.ConfigError";

/// The variable Lambda sets to the Runtime API's `host:port`.
pub const RUNTIME_API_VARIABLE: &str = "AWS_LAMBDA_RUNTIME_API";

const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// Why an init error could not be reported (the error itself is still printed).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not running under Lambda (or a Runtime API emulator).
    #[error("{RUNTIME_API_VARIABLE} is not set")]
    NoRuntimeApi,
    /// The variable does not hold a `host:port`.
    #[error("{RUNTIME_API_VARIABLE} is not a host and port")]
    BadRuntimeApi,
    /// The request could not be built.
    #[error("the init error request could not be built")]
    Request(#[source] http::Error),
    /// The document could not be serialised.
    #[error("the init error document could not be serialised")]
    Document(#[source] serde_json::Error),
    /// The Runtime API could not be reached.
    #[error("the Runtime API could not be reached")]
    Unreachable(#[source] lambda_runtime::Error),
    /// The Runtime API answered with an error status.
    #[error("the Runtime API answered {0}")]
    Refused(StatusCode),
}

/// `error` and its [`source`](Error::source) chain on one line, joined by `: `.
///
/// A cause whose text already ends the line is not repeated: errors such as
/// `relay_core::env::ConfigError` print their cause in their own message and also return it
/// as `source()`. Line breaks become spaces.
pub fn one_line(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let text = current.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = current.source();
    }
    line.replace(['\r', '\n'], " ")
}

/// The value of `result`; on an error, a configuration error at cold start: prints
/// `Runtime.ConfigError: <the error on one line>` to stderr, reports it to the Runtime API's
/// `/runtime/init/error` with the type [`CONFIG_ERROR_TYPE`], and exits with status 1.
///
/// The message is the error's `Display`, so it holds a secret only if the error's own
/// message does (the relay's configuration errors name variables and references, never a
/// secret's value).
pub async fn or_report_init_error<T, E: Error>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => exit_with_init_error(&error).await,
    }
}

async fn exit_with_init_error(error: &dyn Error) -> ! {
    let diagnostic = Diagnostic {
        error_type: CONFIG_ERROR_TYPE.to_owned(),
        error_message: one_line(error),
    };
    eprintln!("{}: {}", diagnostic.error_type, diagnostic.error_message);
    let runtime_api = std::env::var(RUNTIME_API_VARIABLE).unwrap_or_default();
    if let Err(report) = report_init_error(&runtime_api, &diagnostic).await {
        eprintln!(
            "the error was not reported to Lambda: {}",
            one_line(&report)
        );
    }
    std::process::exit(1)
}

/// Posts `diagnostic` to `http://{runtime_api}/2018-06-01/runtime/init/error` with the
/// `Lambda-Runtime-Function-Error-Type` header and the JSON document
/// `{"errorType": .., "errorMessage": ..}`, as lambda_runtime does for its own init errors.
pub async fn report_init_error(
    runtime_api: &str,
    diagnostic: &Diagnostic,
) -> Result<(), ReportError> {
    if runtime_api.is_empty() {
        return Err(ReportError::NoRuntimeApi);
    }
    let endpoint: Uri = format!("http://{runtime_api}")
        .parse()
        .map_err(|_| ReportError::BadRuntimeApi)?;
    // The client takes the authority from here and would panic without one.
    let authority_only = endpoint
        .authority()
        .is_some_and(|a| a.as_str() == runtime_api);
    if !authority_only {
        return Err(ReportError::BadRuntimeApi);
    }
    let document = serde_json::to_vec(diagnostic).map_err(ReportError::Document)?;
    let request = build_request()
        .method(Method::POST)
        .uri(INIT_ERROR_PATH)
        .header(ERROR_TYPE_HEADER, diagnostic.error_type.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(document))
        .map_err(ReportError::Request)?;
    let client = PooledClient::builder().with_endpoint(endpoint).build();
    let response = client
        .call(request)
        .await
        .map_err(ReportError::Unreachable)?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(ReportError::Refused(response.status()))
    }
}
