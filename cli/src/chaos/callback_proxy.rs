//! Braze's export callback, passed through to the current `relay local` (its port changes
//! when it is restarted) and, when asked, followed by the deletion of one export file: the
//! file is gone after the callback queued it and before the sync-worker reads it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::CliError;

/// Where Braze writes segment exports (the sandbox keeps Braze's key layout).
const EXPORT_KEY_PREFIX: &str = "segment-export/";

#[derive(Default)]
struct Shared {
    /// The gateway's base URL.
    target: RwLock<String>,
    /// The export bucket, once the stack runs.
    store: Mutex<Option<(aws_sdk_s3::Client, String)>>,
    /// Delete one export file after the next successful callback.
    delete_next: AtomicBool,
    /// The keys deleted.
    deleted: Mutex<Vec<String>>,
}

/// The running pass-through.
pub struct CallbackProxy {
    url: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl CallbackProxy {
    /// Listens on a free loopback port.
    pub async fn start() -> Result<CallbackProxy, CliError> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|error| {
            CliError::failed(format!("cannot bind the callback pass-through: {error}"))
        })?;
        let address = listener.local_addr().map_err(|error| {
            CliError::failed(format!("cannot read the pass-through's address: {error}"))
        })?;
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .fallback(pass_through)
            .with_state(Arc::clone(&shared));
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await;
        });
        Ok(CallbackProxy {
            url: format!("http://{address}"),
            shared,
            stop,
            server,
        })
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Passes callbacks on to this gateway from now on.
    pub fn forward_to(&self, gateway: &str) {
        *self.shared.target.write().expect("target lock") = gateway.to_owned();
    }

    /// The export bucket it deletes from.
    pub fn set_store(&self, client: aws_sdk_s3::Client, bucket: String) {
        *self.shared.store.lock().expect("store lock") = Some((client, bucket));
    }

    /// Deletes one export file right after the next callback the relay accepts.
    pub fn delete_after_next_callback(&self) {
        self.shared.delete_next.store(true, Ordering::SeqCst);
    }

    /// The export files it deleted.
    pub fn deleted(&self) -> Vec<String> {
        self.shared.deleted.lock().expect("deleted lock").clone()
    }

    /// Stops listening.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
    }
}

async fn pass_through(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = shared.target.read().expect("target lock").clone();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = reqwest::Client::new()
        .post(format!("{target}{path}"))
        .body(body);
    if let Some(content_type) = headers.get(http::header::CONTENT_TYPE) {
        request = request.header(http::header::CONTENT_TYPE, content_type);
    }
    let (status, answer) = match request.send().await {
        Ok(response) => {
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, response.bytes().await.unwrap_or_default())
        }
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            Bytes::from(format!("relay local did not answer: {error}")),
        ),
    };
    if status.is_success() && shared.delete_next.swap(false, Ordering::SeqCst) {
        let store = shared.store.lock().expect("store lock").clone();
        if let Some((client, bucket)) = store
            && let Some(key) = delete_one(&client, &bucket).await
        {
            shared.deleted.lock().expect("deleted lock").push(key);
        }
    }
    (status, answer).into_response()
}

/// Deletes the first export file (by key) of `bucket`; its key, or `None` when there was none
/// or S3 refused.
async fn delete_one(client: &aws_sdk_s3::Client, bucket: &str) -> Option<String> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(EXPORT_KEY_PREFIX)
        .send()
        .await
        .ok()?;
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .filter(|key| !key.ends_with('/'))
        .collect();
    keys.sort();
    let key = keys.into_iter().next()?;
    client
        .delete_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .ok()?;
    Some(key)
}
