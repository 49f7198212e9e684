//! The service clients, built from the shared `SdkConfig` with the relay's timeouts. Building
//! one connects to nothing (see `https`); each costs about a millisecond of cold start, so
//! the callers build the ones they may not need on first use.

use std::time::Duration;

use aws_sdk_s3::config::timeout::TimeoutConfig;

/// Per-attempt timeout the relay's AWS clients use unless the `SdkConfig` sets one.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-operation timeout (all SDK retries included) unless the `SdkConfig` sets one.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

/// The `SdkConfig`'s timeouts, with the relay's defaults for the operation and attempt
/// timeouts it leaves unset (the SDK has none by default, so a stuck call would run until the
/// Lambda timeout).
fn timeouts(sdk: &aws_config::SdkConfig) -> TimeoutConfig {
    let configured = sdk
        .timeout_config()
        .map(TimeoutConfig::to_builder)
        .unwrap_or_default();
    let defaults = TimeoutConfig::builder()
        .operation_attempt_timeout(DEFAULT_ATTEMPT_TIMEOUT)
        .operation_timeout(DEFAULT_OPERATION_TIMEOUT);
    configured.take_unset_from(defaults).build()
}

/// Whether an endpoint URL is configured for `service` (`AWS_ENDPOINT_URL`, its
/// service-specific variant such as `AWS_ENDPOINT_URL_S3`, or the `SdkConfig` itself).
fn endpoint_configured(sdk: &aws_config::SdkConfig, service_env_suffix: &str) -> bool {
    sdk.endpoint_url().is_some()
        || std::env::var(format!("AWS_ENDPOINT_URL_{service_env_suffix}"))
            .is_ok_and(|v| !v.trim().is_empty())
}

/// An S3 client from the shared config: path-style addressing whenever an endpoint URL is
/// configured (moto and other S3 look-alikes on loopback need it) and the relay's timeouts
/// (see [`DEFAULT_ATTEMPT_TIMEOUT`], [`DEFAULT_OPERATION_TIMEOUT`]). The SDK's own retries are
/// kept.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk).timeout_config(timeouts(sdk));
    if endpoint_configured(sdk, "S3") {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// An SQS client from the shared config with the relay's timeouts (see
/// [`DEFAULT_ATTEMPT_TIMEOUT`], [`DEFAULT_OPERATION_TIMEOUT`]); the SDK's own retries are kept.
pub fn sqs_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(timeouts(sdk))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// A Secrets Manager client from the shared config as it is: the config's timeouts, not the
/// relay's defaults (the resolver builds it on the first ARN it reads).
pub fn secrets_manager_client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(sdk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_sdk_config_sets_no_timeouts_then_the_relay_defaults_apply() {
        let sdk = aws_config::SdkConfig::builder().build();
        let t = timeouts(&sdk);
        assert_eq!(t.operation_attempt_timeout(), Some(DEFAULT_ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(DEFAULT_OPERATION_TIMEOUT));

        let sdk = aws_config::SdkConfig::builder()
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(7))
                    .connect_timeout(Duration::from_secs(1))
                    .build(),
            )
            .build();
        let t = timeouts(&sdk);
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(7)));
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(t.operation_attempt_timeout(), Some(DEFAULT_ATTEMPT_TIMEOUT));
    }
}
