//! The AWS SDK configuration every command uses: relay-core's loader (the relay's HTTPS
//! client, the standard environment and credential chain), overridden by the settings
//! `AWS_ENDPOINT_URL`, `AWS_REGION` (or `AWS_DEFAULT_REGION`) and `AWS_ACCESS_KEY_ID` +
//! `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), so `--env-file` and `--set` reach the SDK
//! too.

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use relay_core::aws::aws_sdk_loader;

use crate::Settings;

/// The endpoint variable every AWS SDK honours.
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// Static credentials given in the settings (or moto's test keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, if any.
    pub session_token: Option<String>,
}

/// Where the SDK goes; what is `None` comes from the SDK's own chain.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    /// The endpoint URL (moto, or any S3/SQS-compatible endpoint).
    pub endpoint: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// Static credentials.
    pub credentials: Option<StaticCredentials>,
}

impl AwsTarget {
    /// The target the settings describe.
    pub fn from_settings(settings: &Settings) -> AwsTarget {
        AwsTarget {
            endpoint: settings.get(AWS_ENDPOINT_URL).map(str::to_owned),
            region: settings
                .get("AWS_REGION")
                .or_else(|| settings.get("AWS_DEFAULT_REGION"))
                .map(str::to_owned),
            credentials: settings
                .get("AWS_ACCESS_KEY_ID")
                .zip(settings.get("AWS_SECRET_ACCESS_KEY"))
                .map(|(id, secret)| StaticCredentials {
                    access_key_id: id.to_owned(),
                    secret_access_key: secret.to_owned(),
                    session_token: settings.get("AWS_SESSION_TOKEN").map(str::to_owned),
                }),
        }
    }

    /// The SDK configuration for this target.
    pub async fn sdk_config(&self) -> SdkConfig {
        let mut loader = aws_sdk_loader();
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(credentials) = &self.credentials {
            loader = loader.credentials_provider(Credentials::new(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.clone(),
                credentials.session_token.clone(),
                None,
                "relay-settings",
            ));
        }
        loader.load().await
    }
}

/// The SDK configuration for `settings`.
pub async fn sdk_config(settings: &Settings) -> SdkConfig {
    AwsTarget::from_settings(settings).sdk_config().await
}
