//! The AWS SDK configuration the operator commands use: relay-core's loader (the relay's
//! HTTPS client, the standard environment and credential chain), overridden by the settings
//! `AWS_ENDPOINT_URL`, `AWS_REGION` and `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY`
//! (+ `AWS_SESSION_TOKEN`), so `--env-file` and `--set` reach the SDK too.

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use relay_core::aws::aws_sdk_loader;

use crate::Settings;

/// The SDK configuration for `settings`.
pub(crate) async fn sdk_config(settings: &Settings) -> SdkConfig {
    let mut loader = aws_sdk_loader();
    if let Some(endpoint) = settings.get("AWS_ENDPOINT_URL") {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = settings
        .get("AWS_REGION")
        .or_else(|| settings.get("AWS_DEFAULT_REGION"))
    {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let (Some(id), Some(secret)) = (
        settings.get("AWS_ACCESS_KEY_ID"),
        settings.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        loader = loader.credentials_provider(Credentials::new(
            id,
            secret,
            settings.get("AWS_SESSION_TOKEN").map(str::to_owned),
            None,
            "relay-settings",
        ));
    }
    loader.load().await
}
