//! Braze (REST + SCIM), Userflow and HubSpot CRM emulator for Lifecycle Relay's tests, demo
//! and benchmarks.
//!
//! [`start`] binds four loopback listeners on ephemeral ports (Braze REST with SCIM under
//! `/scim/v2`, Userflow, HubSpot, admin) and keeps all state in memory. It emulates Braze's REST
//! and SCIM APIs, Userflow's REST API and HubSpot's CRM v3 contacts read API as they behave:
//! per-request limits, upsert semantics, rate-limit headers, segment exports written to S3
//! under Braze's key layout, HubSpot batch reads with 207 Multi-Status, and fault injection
//! driven through the admin API (see [`admin`] for the admin routes and JSON).
//!
//! Modules are grouped by vendor: `braze/` (REST routes, `/users/track`, the other `/users/...`
//! endpoints, segment exports, SCIM, the profile store and seeding), `userflow/`, `hubspot/`,
//! [`admin`] (routes, [`AdminClient`], JSON types), and `common/` for what every emulated API
//! shares (state, the request pipeline, fault injection, rate limits, request log, HTTP
//! helpers). Every public type is re-exported here; use `sandbox::...` paths.
//!
//! The sandbox depends on no production crate. Production crates may depend on it only behind
//! an explicit cargo feature.

#![warn(missing_docs)]

pub mod admin;
mod braze;
pub mod callback;
mod common;
mod hubspot;
mod userflow;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::common::state::App;

pub use admin::client::{AdminClient, AdminError};
pub use admin::types::*;
pub use braze::profiles::{BrazeProfile, StoredEvent, StoredPurchase, UserAlias};
pub use braze::synthetic::synthetic_export_file;
pub use callback::{CallbackCatcher, CaughtRequest};

/// How the sandbox is configured at start. Every field has a readable default.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The REST API key Braze requests must carry as `Authorization: Bearer <key>`.
    pub braze_key: String,
    /// The API key Userflow requests must carry.
    pub userflow_key: String,
    /// The SCIM bearer token.
    pub scim_token: String,
    /// The value SCIM requests must carry in `X-Request-Origin`.
    pub scim_origin: String,
    /// The private app token HubSpot requests must carry as `Authorization: Bearer <token>`.
    pub hubspot_token: String,
    /// S3 endpoint for segment exports (e.g. moto); `None` means AWS's own endpoint.
    pub s3_endpoint: Option<String>,
    /// The bucket segment exports are written to; `None` disables segment exports.
    pub export_bucket: Option<String>,
    /// Region used to sign S3 requests.
    pub s3_region: String,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            braze_key: "sandbox-braze-rest-key".into(),
            userflow_key: "ak_sandbox_userflow_key".into(),
            scim_token: "sandbox-scim-token".into(),
            scim_origin: "sandbox-scim-origin".into(),
            hubspot_token: "sandbox-hubspot-token".into(),
            s3_endpoint: None,
            export_bucket: None,
            s3_region: "us-east-1".into(),
        }
    }
}

/// What a started sandbox tells its users; the binary prints it as one JSON line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StartInfo {
    /// Braze REST base URL (SCIM lives under `<braze>/scim/v2`).
    pub braze: String,
    /// Userflow base URL.
    pub userflow: String,
    /// Admin API base URL.
    pub admin: String,
    /// Braze REST API key.
    pub braze_key: String,
    /// Userflow API key.
    pub userflow_key: String,
    /// SCIM bearer token.
    pub scim_token: String,
    /// Expected `X-Request-Origin` for SCIM.
    pub scim_origin: String,
    /// HubSpot base URL (`<hubspot_url>/crm/v3/objects/contacts/...`).
    #[serde(default)]
    pub hubspot_url: String,
    /// HubSpot private app token.
    #[serde(default)]
    pub hubspot_token: String,
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A loopback listener could not be bound.
    #[error("cannot bind a loopback listener: {0}")]
    Bind(#[source] std::io::Error),
}

/// A running sandbox. Dropping it leaves the servers running until the runtime ends;
/// call [`Sandbox::shutdown`] to stop them.
pub struct Sandbox {
    info: StartInfo,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    app: Arc<App>,
}

impl Sandbox {
    /// The URLs and credentials of this sandbox.
    pub fn info(&self) -> &StartInfo {
        &self.info
    }

    /// A typed client for this sandbox's admin API.
    pub fn admin(&self) -> AdminClient {
        AdminClient::new(&self.info.admin)
    }

    /// Stops the listeners and any running export, waiting briefly for open connections.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.app.exports.abort_all();
        for server in self.servers {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// Binds the four listeners on 127.0.0.1 (ephemeral ports) and starts serving.
pub async fn start(config: SandboxConfig) -> Result<Sandbox, Error> {
    let braze_listener = bind().await?;
    let userflow_listener = bind().await?;
    let admin_listener = bind().await?;
    let hubspot_listener = bind().await?;
    let url = |l: &TcpListener| -> Result<String, Error> {
        let addr: SocketAddr = l.local_addr().map_err(Error::Bind)?;
        Ok(format!("http://{addr}"))
    };
    let info = StartInfo {
        braze: url(&braze_listener)?,
        userflow: url(&userflow_listener)?,
        admin: url(&admin_listener)?,
        braze_key: config.braze_key.clone(),
        userflow_key: config.userflow_key.clone(),
        scim_token: config.scim_token.clone(),
        scim_origin: config.scim_origin.clone(),
        hubspot_url: url(&hubspot_listener)?,
        hubspot_token: config.hubspot_token.clone(),
    };
    let app = Arc::new(App::new(&config));
    let (stop, stopped) = watch::channel(false);

    let routers = [
        (braze_listener, braze::router(app.clone())),
        (userflow_listener, userflow::router(app.clone())),
        (admin_listener, admin::router(app.clone())),
        (hubspot_listener, hubspot::router(app.clone())),
    ];
    let servers = routers
        .into_iter()
        .map(|(listener, router)| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let signal = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(signal)
                    .await
                {
                    tracing::error!(error = %e, "sandbox listener failed");
                }
            })
        })
        .collect();
    tracing::info!(braze = %info.braze, userflow = %info.userflow, hubspot = %info.hubspot_url, admin = %info.admin, "sandbox started");
    Ok(Sandbox {
        info,
        stop,
        servers,
        app,
    })
}

async fn bind() -> Result<TcpListener, Error> {
    TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(Error::Bind)
}
