//! The HTTPS client under every AWS client: Mozilla's roots compiled in (no certificate files
//! read at cold start), and a TLS connector built on the first request, not per service client.

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Mozilla's root certificates (`webpki-root-certs`) in PEM, encoded by the build script.
const MOZILLA_ROOTS_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mozilla-roots.pem"));

/// The SDK's HTTPS client (rustls with aws-lc) trusting only [`MOZILLA_ROOTS_PEM`], wrapped
/// so that no connector is built before a request.
pub(super) fn https_client() -> ConnectorOnFirstUse {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(MOZILLA_ROOTS_PEM);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("the compiled-in roots are valid certificates");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https();
    ConnectorOnFirstUse(http)
}

/// The SDK's HTTPS client, minus the TLS connector it builds and drops whenever a service
/// client is constructed (its `validate_base_client_config` does that to load the system's
/// roots early, which we do not use). Parsing the trust store for nothing cost each S3 or
/// SQS client about 0.7 ms of cold start. Connectors are still built on first use, once per
/// timeout setting, and shared by every client of the config.
#[derive(Debug)]
pub(super) struct ConnectorOnFirstUse(SharedHttpClient);

impl HttpClient for ConnectorOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_s3::config::ConfigBag;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
    use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture};
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;

    use crate::aws::{s3_client, sqs_client};

    /// What the SDK asked of an HTTP client.
    #[derive(Debug, Default)]
    struct Asked {
        validations: AtomicUsize,
        connectors: AtomicUsize,
    }

    /// An HTTP client that records what it is asked and connects to nothing.
    #[derive(Debug)]
    struct Recording(Arc<Asked>);

    impl HttpClient for Recording {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.0.connectors.fetch_add(1, Ordering::SeqCst);
            SharedHttpConnector::new(NoNetwork)
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            self.0.validations.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[derive(Debug)]
    struct NoNetwork;

    impl HttpConnector for NoNetwork {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::ready(Err(ConnectorError::other("no network here".into(), None)))
        }
    }

    #[tokio::test]
    async fn when_service_clients_are_built_then_no_connector_is_made_before_a_request() {
        let asked = Arc::new(Asked::default());
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "key", "secret", None, None, "test",
            )))
            .http_client(ConnectorOnFirstUse(SharedHttpClient::new(Recording(
                asked.clone(),
            ))))
            .build();

        let s3 = s3_client(&sdk);
        let _sqs = sqs_client(&sdk);
        assert_eq!(asked.validations.load(Ordering::SeqCst), 0);
        assert_eq!(asked.connectors.load(Ordering::SeqCst), 0);

        let answer = s3.head_bucket().bucket("relay-state").send().await;

        assert!(answer.is_err(), "nothing can connect");
        assert!(
            asked.connectors.load(Ordering::SeqCst) >= 1,
            "the request asked for one"
        );
        assert_eq!(asked.validations.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn when_the_build_time_pem_bundle_is_decoded_then_it_is_exactly_the_compiled_in_roots() {
        use base64::Engine;
        let pem = std::str::from_utf8(MOZILLA_ROOTS_PEM).expect("PEM is ASCII");
        let decoded: Vec<Vec<u8>> = pem
            .split("-----END CERTIFICATE-----\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let body = block
                    .strip_prefix("-----BEGIN CERTIFICATE-----\n")
                    .expect("every block starts with a BEGIN line");
                assert!(body.lines().all(|line| line.len() <= 64), "{body}");
                base64::engine::general_purpose::STANDARD
                    .decode(body.replace('\n', ""))
                    .expect("valid base64")
            })
            .collect();
        let expected: Vec<&[u8]> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| der.as_ref())
            .collect();
        assert!(expected.len() > 100, "{} roots", expected.len());
        assert_eq!(decoded, expected);
    }
}
