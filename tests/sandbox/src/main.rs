//! `sandbox`: starts the Braze + Userflow + HubSpot emulator, prints one JSON line with its URLs and
//! keys on stdout, logs to stderr, and runs until SIGTERM or SIGINT.

use std::io::{IsTerminal, Write};

use clap::Parser;
use sandbox::SandboxConfig;

/// Braze (REST + SCIM), Userflow and HubSpot CRM emulator on loopback ports.
#[derive(Parser, Debug)]
#[command(name = "sandbox", version, about)]
struct Args {
    /// Braze REST API key expected as `Authorization: Bearer <key>`.
    #[arg(long, env = "SANDBOX_BRAZE_KEY")]
    braze_key: Option<String>,
    /// Userflow API key.
    #[arg(long, env = "SANDBOX_USERFLOW_KEY")]
    userflow_key: Option<String>,
    /// Braze SCIM bearer token.
    #[arg(long, env = "SANDBOX_SCIM_TOKEN")]
    scim_token: Option<String>,
    /// Expected `X-Request-Origin` of SCIM requests.
    #[arg(long, env = "SANDBOX_SCIM_ORIGIN")]
    scim_origin: Option<String>,
    /// HubSpot private app token expected as `Authorization: Bearer <token>`.
    #[arg(long, env = "SANDBOX_HUBSPOT_TOKEN")]
    hubspot_token: Option<String>,
    /// S3 endpoint for segment exports (e.g. moto: http://127.0.0.1:PORT).
    #[arg(long, env = "SANDBOX_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// Bucket segment exports are written to.
    #[arg(long, env = "SANDBOX_EXPORT_BUCKET")]
    export_bucket: Option<String>,
    /// Region used to sign S3 requests.
    #[arg(long, env = "SANDBOX_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
}

impl Args {
    fn into_config(self) -> SandboxConfig {
        let d = SandboxConfig::default();
        SandboxConfig {
            braze_key: self.braze_key.unwrap_or(d.braze_key),
            userflow_key: self.userflow_key.unwrap_or(d.userflow_key),
            scim_token: self.scim_token.unwrap_or(d.scim_token),
            scim_origin: self.scim_origin.unwrap_or(d.scim_origin),
            hubspot_token: self.hubspot_token.unwrap_or(d.hubspot_token),
            s3_endpoint: self.s3_endpoint.filter(|s| !s.is_empty()),
            export_bucket: self.export_bucket.filter(|s| !s.is_empty()),
            s3_region: self.s3_region,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Args::parse().into_config();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sandbox=info".into()),
        )
        .init();

    let sandbox = sandbox::start(config).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string(sandbox.info())?)?;
    stdout.flush()?;
    drop(stdout);

    wait_for_signal().await;
    tracing::info!("stopping");
    sandbox.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
