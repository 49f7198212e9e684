//! The shared state of a running sandbox.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::response::Response;

use super::faults::{self, Faults};
use super::limits::{Limits, Snapshot, Take};
use super::observe::Observer;
use crate::SandboxConfig;
use crate::admin::types::{Api, Bucket, ExportStorage, RateLimit, Settings};
use crate::braze::profiles::Profiles;
use crate::braze::scim::ScimStore;
use crate::braze::segment_export::Exports;
use crate::hubspot::HubspotStore;
use crate::userflow::UserflowStore;

/// Everything the handlers share.
pub(crate) struct App {
    pub braze_key: String,
    pub userflow_key: String,
    pub scim_token: String,
    pub scim_origin: String,
    pub hubspot_token: String,
    /// Export storage as configured at start (restored by a reset).
    initial_storage: Option<ExportStorage>,
    pub settings: Mutex<Settings>,
    pub braze: Mutex<Profiles>,
    pub scim: Mutex<ScimStore>,
    pub userflow: Mutex<UserflowStore>,
    pub hubspot: Mutex<HubspotStore>,
    pub faults: Faults,
    pub limits: Limits,
    pub observe: Observer,
    pub exports: Exports,
    /// Client for export callbacks.
    pub http: reqwest::Client,
}

impl App {
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        let initial_storage = config.export_bucket.as_ref().map(|bucket| ExportStorage {
            bucket: bucket.clone(),
            endpoint: config.s3_endpoint.clone(),
            region: config.s3_region.clone(),
        });
        App {
            braze_key: config.braze_key.clone(),
            userflow_key: config.userflow_key.clone(),
            scim_token: config.scim_token.clone(),
            scim_origin: config.scim_origin.clone(),
            hubspot_token: config.hubspot_token.clone(),
            exports: Exports::new(initial_storage.clone()),
            initial_storage,
            settings: Mutex::new(Settings::default()),
            braze: Mutex::default(),
            scim: Mutex::default(),
            userflow: Mutex::default(),
            hubspot: Mutex::default(),
            faults: Faults::default(),
            limits: Limits::default(),
            observe: Observer::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        }
    }

    pub(crate) fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().expect("settings lock")
    }

    pub(crate) fn braze(&self) -> MutexGuard<'_, Profiles> {
        self.braze.lock().expect("braze lock")
    }

    pub(crate) fn scim(&self) -> MutexGuard<'_, ScimStore> {
        self.scim.lock().expect("scim lock")
    }

    pub(crate) fn userflow(&self) -> MutexGuard<'_, UserflowStore> {
        self.userflow.lock().expect("userflow lock")
    }

    pub(crate) fn hubspot(&self) -> MutexGuard<'_, HubspotStore> {
        self.hubspot.lock().expect("hubspot lock")
    }

    /// The configured limit of a bucket.
    fn limit_of(&self, bucket: Bucket) -> Option<RateLimit> {
        self.settings().rate_limits.get(&bucket).copied().flatten()
    }

    /// Counts one request of `api` against `bucket`: the budget left (`None` when the bucket
    /// is unlimited), or the API's own 429 when it is used up.
    pub(crate) fn admit(
        &self,
        api: Api,
        bucket: Bucket,
    ) -> Result<Option<Snapshot>, Box<Response>> {
        match self.limits.take(bucket, self.limit_of(bucket)) {
            Take::Allowed(s) => Ok(Some(s)),
            Take::Unlimited => Ok(None),
            Take::Limited(s) => Err(Box::new(faults::throttled(api, s.retry_after, Some(s)))),
        }
    }

    /// The budget left in `bucket` without counting a request (for answers that come before
    /// the rate limit, such as a 401).
    pub(crate) fn budget(&self, bucket: Bucket) -> Option<Snapshot> {
        self.limits.peek(bucket, self.limit_of(bucket))
    }

    /// Capacity of the request log.
    pub(crate) fn log_capacity(&self) -> usize {
        self.settings().request_log_capacity
    }

    /// Back to the state right after start: stores, faults, counts, windows, settings and
    /// export storage.
    pub(crate) fn reset(&self) {
        self.exports.reset(self.initial_storage.clone());
        self.braze().clear();
        *self.scim() = ScimStore::default();
        *self.userflow() = UserflowStore::default();
        *self.hubspot() = HubspotStore::default();
        self.faults.clear();
        self.limits.reset();
        self.observe.reset();
        *self.settings() = Settings::default();
    }
}
