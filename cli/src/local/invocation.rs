//! What Lambda gives every invocation: a request id, a deadline, the function's ARN and an
//! X-Ray trace id, in the [`Context`] lambda_runtime builds from the Runtime API's headers
//! (built here from the same headers, so it is the same value).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use lambda_runtime::{Config, Context};

/// The account id in the local stack's ARNs.
pub const LOCAL_ACCOUNT: &str = "000000000000";

/// One function as Lambda would describe it.
#[derive(Debug, Clone)]
pub struct Function {
    /// `crm-signup`, `sync-worker`.
    pub name: &'static str,
    /// The region in its ARN.
    pub region: String,
    /// Its timeout: the context's deadline is this far from the invocation's start.
    pub timeout: Duration,
}

impl Function {
    /// `arn:aws:lambda:<region>:000000000000:function:<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{LOCAL_ACCOUNT}:function:{}",
            self.region, self.name
        )
    }

    /// A fresh invocation's context: a new request id, the deadline `timeout` from now, the
    /// function's ARN and `trace_id`.
    pub fn context(&self, trace_id: &str) -> Context {
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline = SystemTime::now() + self.timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        put("lambda-runtime-deadline-ms", deadline_ms.to_string());
        put("lambda-runtime-invoked-function-arn", self.arn());
        put("lambda-runtime-trace-id", trace_id.to_owned());
        let config = Config {
            function_name: self.name.to_owned(),
            memory: 128,
            version: "$LATEST".to_owned(),
            log_stream: format!("local/{}", std::process::id()),
            log_group: format!("/aws/lambda/{}", self.name),
        };
        // The headers above are all present and well formed, so this cannot fail; the
        // fallback keeps the same fields should lambda_runtime ever refuse them.
        Context::new(&request_id, Arc::new(config.clone()), &headers).unwrap_or_else(|_| {
            let mut context = Context::default();
            context.request_id = request_id;
            context.deadline = deadline_ms as u64;
            context.invoked_function_arn = self.arn();
            context.xray_trace_id = Some(trace_id.to_owned());
            context.env_config = Arc::new(config);
            context
        })
    }
}

/// An X-Ray trace header for a new request: `Root=1-<epoch seconds hex>-<24 hex>`, the form
/// API Gateway and Lambda use.
pub fn new_trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &random[16..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_context_is_made_then_it_has_the_deadline_arn_and_a_fresh_request_id() {
        let function = Function {
            name: "sync-worker",
            region: "eu-west-1".into(),
            timeout: Duration::from_secs(30),
        };
        let first = function.context("Root=1-0-0");
        let second = function.context("Root=1-0-0");
        assert_ne!(first.request_id, second.request_id);
        assert_eq!(
            first.invoked_function_arn,
            "arn:aws:lambda:eu-west-1:000000000000:function:sync-worker"
        );
        let left = first
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
        assert_eq!(first.env_config.function_name, "sync-worker");
        assert_eq!(first.xray_trace_id.as_deref(), Some("Root=1-0-0"));
    }
}
