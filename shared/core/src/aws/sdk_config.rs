//! The SDK configuration every function loads once at cold start.

use super::https::https_client;

/// The AWS SDK configuration every function uses: the standard environment (region,
/// credentials, `AWS_ENDPOINT_URL` for moto), over an HTTPS client that trusts Mozilla's
/// roots compiled into the binary instead of reading the system certificate store at cold
/// start (the same roots as [`relay_clients::upstream::http_client`]).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_sdk_loader().load().await
}

/// [`aws_sdk_config`] before loading, for callers (tests against moto) that set more.
pub fn aws_sdk_loader() -> aws_config::ConfigLoader {
    let loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client());
    // On Lambda the region and the role's credentials are environment variables: reading them
    // directly skips building the default provider chains (profile files, IMDS, SSO), which
    // took a millisecond of every cold start. Elsewhere the default chains apply.
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    match std::env::var("AWS_REGION") {
        Ok(region) if on_lambda => loader
            .region(aws_config::Region::new(region))
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
        _ => loader,
    }
}
