//! The local stack every benchmark shares: moto (S3 + SQS) on a free port, the Braze,
//! Userflow and HubSpot sandbox in-process, a state bucket, a sync queue, and crm-signup's
//! configuration pointing at them.

use relay_tests::Moto;
use sandbox::{Sandbox, SandboxConfig};

use crate::events::new_standard_webhooks_secret;

/// The source the cold-start event is sent to (`/webhooks/standard-webhooks`).
pub const STANDARD_SOURCE: &str = "standard-webhooks";
/// The source the latency benchmark sends HubSpot batches to (`/webhooks/hubspot`).
pub const HUBSPOT_SOURCE: &str = "hubspot";
/// The public base URL crm-signup is configured with (HubSpot signs the full URL).
pub const PUBLIC_URL: &str = "https://relay.bench.example.com";
/// The HubSpot app's client secret (v3 signatures).
pub const HUBSPOT_CLIENT_SECRET: &str = "bench-hubspot-client-secret-0123456789";

/// Everything started for the run. Dropping it stops moto (by PID).
pub struct Stack {
    /// moto.
    pub moto: Moto,
    /// The sandbox.
    pub sandbox: Sandbox,
    /// State bucket in moto.
    pub bucket: String,
    /// Sync queue URL in moto.
    pub queue_url: String,
    /// The Standard Webhooks secret (`whsec_...`).
    pub standard_secret: String,
}

impl Stack {
    /// Starts moto and the sandbox, creates the bucket and the queue.
    pub async fn start() -> Result<Stack, String> {
        let moto = tokio::task::spawn_blocking(Moto::start)
            .await
            .map_err(|e| format!("starting moto: {e}"))?;
        let sandbox = sandbox::start(SandboxConfig::default())
            .await
            .map_err(|e| format!("starting the sandbox: {e}"))?;
        let bucket = moto.create_bucket("relay-bench-state").await;
        let sdk = moto.sdk_config().await;
        let queue_name = relay_tests::unique_name("relay-bench-sync");
        let queue_url = relay_core::aws::sqs_client(&sdk)
            .create_queue()
            .queue_name(&queue_name)
            .send()
            .await
            .map_err(|e| format!("creating queue {queue_name} on moto: {e:?}"))?
            .queue_url
            .ok_or("moto created the queue but returned no URL")?;
        let standard_secret = new_standard_webhooks_secret()
            .map_err(|e| format!("reading /dev/urandom for the webhook secret: {e}"))?;
        Ok(Stack {
            moto,
            sandbox,
            bucket,
            queue_url,
            standard_secret,
        })
    }

    /// The URL HubSpot signs for the HubSpot source.
    pub fn hubspot_public_url(&self) -> String {
        format!("{PUBLIC_URL}/webhooks/{HUBSPOT_SOURCE}")
    }

    /// crm-signup's configuration (on top of what Lambda sets) against this stack.
    pub fn crm_signup_env(&self) -> Vec<(String, String)> {
        let info = self.sandbox.info();
        let pairs = [
            ("BRAZE_REST_ENDPOINT", info.braze.clone()),
            ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true".to_owned()),
            ("BRAZE_API_KEY", info.braze_key.clone()),
            ("USERFLOW_API_KEY", info.userflow_key.clone()),
            ("USERFLOW_BASE_URL", info.userflow.clone()),
            ("STATE_BUCKET", self.bucket.clone()),
            ("SYNC_QUEUE_URL", self.queue_url.clone()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint().to_owned()),
            ("AWS_REGION", relay_tests::TEST_REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("RELAY_PUBLIC_URL", PUBLIC_URL.to_owned()),
            (
                "RELAY_STANDARD_WEBHOOKS_SECRET",
                self.standard_secret.clone(),
            ),
        ];
        let mut env: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        env.extend(self.hubspot_env());
        env
    }

    /// The built-in `hubspot` source's settings: its client secret, the sandbox's private app
    /// token, and the sandbox as its API (`HUBSPOT_API_BASE_URL`); its signed URL is
    /// `$RELAY_PUBLIC_URL/webhooks/hubspot`.
    fn hubspot_env(&self) -> Vec<(String, String)> {
        let info = self.sandbox.info();
        vec![
            (
                "HUBSPOT_CLIENT_SECRET".to_owned(),
                HUBSPOT_CLIENT_SECRET.to_owned(),
            ),
            (
                "HUBSPOT_ACCESS_TOKEN".to_owned(),
                info.hubspot_token.clone(),
            ),
            ("HUBSPOT_API_BASE_URL".to_owned(), info.hubspot_url.clone()),
        ]
    }
}
