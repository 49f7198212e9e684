//! A tiny HTTP server that records what is POSTed to it: a stand-in for an export callback
//! endpoint in tests.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use bytes::Bytes;
use http::StatusCode;
use tokio::sync::{Mutex, mpsc};

/// One request the catcher received.
#[derive(Clone, Debug)]
pub struct CaughtRequest {
    /// Path and query as sent.
    pub path_and_query: String,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl CaughtRequest {
    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Records every request on a loopback port and answers `status` (200 by default).
pub struct CallbackCatcher {
    url: String,
    received: Mutex<mpsc::UnboundedReceiver<CaughtRequest>>,
    server: tokio::task::JoinHandle<()>,
}

impl CallbackCatcher {
    /// Starts on 127.0.0.1, port 0, answering 200.
    pub async fn start() -> std::io::Result<CallbackCatcher> {
        CallbackCatcher::start_answering(StatusCode::OK).await
    }

    /// Starts on 127.0.0.1, port 0, answering `status` to every request.
    pub async fn start_answering(status: StatusCode) -> std::io::Result<CallbackCatcher> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = mpsc::unbounded_channel();
        let router = Router::new()
            .fallback(catch)
            .with_state(Arc::new((tx, status)));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(CallbackCatcher {
            url,
            received: Mutex::new(rx),
            server,
        })
    }

    /// Base URL (`http://127.0.0.1:PORT`); append any path and query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next request, waiting at most `timeout`.
    pub async fn next(&self, timeout: Duration) -> Option<CaughtRequest> {
        let mut rx = self.received.lock().await;
        tokio::time::timeout(timeout, rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// A request that already arrived, without waiting.
    pub async fn try_next(&self) -> Option<CaughtRequest> {
        self.received.lock().await.try_recv().ok()
    }
}

impl Drop for CallbackCatcher {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type CatchState = Arc<(mpsc::UnboundedSender<CaughtRequest>, StatusCode)>;

async fn catch(State(state): State<CatchState>, req: Request) -> StatusCode {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let _ = state.0.send(CaughtRequest {
        path_and_query,
        content_type,
        body,
    });
    state.1
}
