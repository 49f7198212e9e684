//! A typed client for the admin API (see [`crate::admin`]), for tests, the demo and benches.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::BrazeProfile;
use crate::admin::types::*;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Transport or decoding failure.
    #[error("admin request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The admin API answered an error status.
    #[error("admin API answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Body text.
        body: String,
    },
    /// `wait_for_export` ran out of time.
    #[error("export {0} did not finish in time")]
    Timeout(String),
}

/// Client for one sandbox's admin API.
#[derive(Clone, Debug)]
pub struct AdminClient {
    base: String,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client for the admin base URL printed at start (`StartInfo::admin`).
    pub fn new(base: &str) -> Self {
        AdminClient {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response, AdminError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        Err(AdminError::Status {
            status: status.as_u16(),
            body,
        })
    }

    async fn get<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, AdminError> {
        let resp = self.http.get(self.url(path)).query(query).send().await?;
        Ok(Self::check(resp).await?.json().await?)
    }

    async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
    ) -> Result<T, AdminError> {
        let resp = self
            .http
            .request(method, self.url(path))
            .json(body)
            .send()
            .await?;
        Ok(Self::check(resp).await?.json().await?)
    }

    async fn delete(&self, path: &str) -> Result<(), AdminError> {
        let resp = self.http.delete(self.url(path)).send().await?;
        Self::check(resp).await?;
        Ok(())
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<(), AdminError> {
        let _: Value = self.get("/health", &()).await?;
        Ok(())
    }

    /// `POST /reset`: everything back to the start state.
    pub async fn reset(&self) -> Result<(), AdminError> {
        let _: Value = self.send(reqwest::Method::POST, "/reset", &()).await?;
        Ok(())
    }

    /// `POST /faults`.
    pub async fn add_fault(&self, rule: &FaultRule) -> Result<FaultStatus, AdminError> {
        self.send(reqwest::Method::POST, "/faults", rule).await
    }

    /// `GET /faults`.
    pub async fn faults(&self) -> Result<Vec<FaultStatus>, AdminError> {
        self.get("/faults", &()).await
    }

    /// `DELETE /faults/{id}`.
    pub async fn remove_fault(&self, id: &str) -> Result<(), AdminError> {
        self.delete(&format!("/faults/{id}")).await
    }

    /// `DELETE /faults`.
    pub async fn clear_faults(&self) -> Result<(), AdminError> {
        self.delete("/faults").await
    }

    /// `GET /requests/counts`, optionally for one API.
    pub async fn request_counts(&self, api: Option<Api>) -> Result<Vec<RequestCount>, AdminError> {
        #[derive(serde::Deserialize)]
        struct Counts {
            counts: Vec<RequestCount>,
        }
        let query: Vec<(&str, &str)> = api.map(|a| ("api", a.as_str())).into_iter().collect();
        let c: Counts = self.get("/requests/counts", &query).await?;
        Ok(c.counts)
    }

    /// Requests seen for `api` + `method` + `route` (template, e.g. `/users/{id}`), with the
    /// given status or any status.
    pub async fn count(
        &self,
        api: Api,
        method: &str,
        route: &str,
        status: Option<u16>,
    ) -> Result<u64, AdminError> {
        Ok(self
            .request_counts(Some(api))
            .await?
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method) && c.route == route)
            .filter(|c| status.is_none_or(|s| s == c.status))
            .map(|c| c.count)
            .sum())
    }

    /// `GET /requests/log`: the last `limit` requests, oldest first.
    pub async fn request_log(
        &self,
        api: Option<Api>,
        limit: usize,
    ) -> Result<Vec<RequestRecord>, AdminError> {
        #[derive(serde::Deserialize)]
        struct Log {
            requests: Vec<RequestRecord>,
        }
        let mut query = vec![("limit", limit.to_string())];
        if let Some(a) = api {
            query.push(("api", a.as_str().to_owned()));
        }
        let l: Log = self.get("/requests/log", &query).await?;
        Ok(l.requests)
    }

    /// `DELETE /requests`: counts and log cleared.
    pub async fn reset_requests(&self) -> Result<(), AdminError> {
        self.delete("/requests").await
    }

    /// `GET /settings`.
    pub async fn settings(&self) -> Result<Settings, AdminError> {
        self.get("/settings", &()).await
    }

    /// `PATCH /settings`.
    pub async fn update_settings(&self, patch: &SettingsPatch) -> Result<Settings, AdminError> {
        self.send(reqwest::Method::PATCH, "/settings", patch).await
    }

    /// Sets (or with `None` removes) one bucket's limit.
    pub async fn set_rate_limit(
        &self,
        bucket: Bucket,
        limit: Option<RateLimit>,
    ) -> Result<Settings, AdminError> {
        let mut patch = SettingsPatch::default();
        patch.rate_limits.insert(bucket, limit);
        self.update_settings(&patch).await
    }

    /// Changes export settings.
    pub async fn set_export_settings(
        &self,
        export: ExportSettingsPatch,
    ) -> Result<Settings, AdminError> {
        let patch = SettingsPatch {
            export: Some(export),
            ..SettingsPatch::default()
        };
        self.update_settings(&patch).await
    }

    /// `PUT /export-storage`.
    pub async fn set_export_storage(
        &self,
        storage: &ExportStorage,
    ) -> Result<ExportStorage, AdminError> {
        self.send(reqwest::Method::PUT, "/export-storage", storage)
            .await
    }

    /// `DELETE /export-storage`: segment exports then answer "no bucket configured".
    pub async fn clear_export_storage(&self) -> Result<(), AdminError> {
        self.delete("/export-storage").await
    }

    /// `GET /export-storage`.
    pub async fn export_storage(&self) -> Result<Option<ExportStorage>, AdminError> {
        self.get("/export-storage", &()).await
    }

    /// `POST /braze/segments`: seeds synthetic profiles into a segment.
    pub async fn seed_segment(&self, req: &SeedSegment) -> Result<SeedSummary, AdminError> {
        self.send(reqwest::Method::POST, "/braze/segments", req)
            .await
    }

    /// `GET /braze/segments`.
    pub async fn segments(&self) -> Result<Vec<SegmentInfo>, AdminError> {
        self.get("/braze/segments", &()).await
    }

    /// `GET /braze/users`.
    pub async fn braze_users(&self, query: &BrazeUserQuery) -> Result<BrazeUserPage, AdminError> {
        self.get("/braze/users", query).await
    }

    /// The profile with this external_id, if any.
    pub async fn braze_user(&self, external_id: &str) -> Result<Option<BrazeProfile>, AdminError> {
        let query = BrazeUserQuery {
            external_id: Some(external_id.into()),
            ..BrazeUserQuery::default()
        };
        Ok(self.braze_users(&query).await?.users.into_iter().next())
    }

    /// Number of Braze profiles.
    pub async fn braze_user_count(&self) -> Result<usize, AdminError> {
        let query = BrazeUserQuery {
            limit: Some(0),
            ..BrazeUserQuery::default()
        };
        Ok(self.braze_users(&query).await?.total)
    }

    /// `GET /braze/deletions`: what `/users/delete` did since the last reset.
    pub async fn braze_deletions(&self) -> Result<BrazeDeletions, AdminError> {
        self.get("/braze/deletions", &()).await
    }

    /// `GET /braze/exports`.
    pub async fn exports(&self) -> Result<Vec<ExportRecord>, AdminError> {
        self.get("/braze/exports", &()).await
    }

    /// `POST /braze/exports/synthetic`: writes generated export files straight into the
    /// export bucket (no profiles seeded); answers once every file is written, the callback
    /// (if any) following in the background.
    pub async fn synthetic_export(
        &self,
        req: &SyntheticExport,
    ) -> Result<SyntheticExportStarted, AdminError> {
        self.send(reqwest::Method::POST, "/braze/exports/synthetic", req)
            .await
    }

    /// Polls until the export with this object_prefix is no longer running.
    pub async fn wait_for_export(
        &self,
        object_prefix: &str,
        timeout: Duration,
    ) -> Result<ExportRecord, AdminError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self
                .exports()
                .await?
                .into_iter()
                .find(|r| r.object_prefix == object_prefix);
            if let Some(r) = found
                && r.state != ExportState::Running
            {
                return Ok(r);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AdminError::Timeout(object_prefix.into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /scim/users`.
    pub async fn scim_users(&self) -> Result<Vec<ScimUserRecord>, AdminError> {
        self.get("/scim/users", &()).await
    }

    /// `GET /userflow/users`.
    pub async fn userflow_users(&self) -> Result<Vec<UserflowUserRecord>, AdminError> {
        self.get("/userflow/users", &()).await
    }

    /// The Userflow user with this id, if any.
    pub async fn userflow_user(&self, id: &str) -> Result<Option<UserflowUserRecord>, AdminError> {
        let users: Vec<UserflowUserRecord> = self.get("/userflow/users", &[("id", id)]).await?;
        Ok(users.into_iter().next())
    }

    /// `GET /userflow/groups`.
    pub async fn userflow_groups(&self) -> Result<Vec<UserflowGroupRecord>, AdminError> {
        self.get("/userflow/groups", &()).await
    }

    /// `GET /userflow/events`, optionally for one user and/or event name.
    pub async fn userflow_events(
        &self,
        user_id: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<UserflowEventRecord>, AdminError> {
        let mut query = Vec::new();
        if let Some(u) = user_id {
            query.push(("user_id", u));
        }
        if let Some(n) = name {
            query.push(("name", n));
        }
        self.get("/userflow/events", &query).await
    }

    /// `POST /hubspot/contacts`: creates the contacts, replacing any with the same id.
    pub async fn seed_hubspot_contacts(
        &self,
        contacts: &[HubspotContactSeed],
    ) -> Result<HubspotSeedSummary, AdminError> {
        #[derive(Serialize)]
        struct Body<'a> {
            contacts: &'a [HubspotContactSeed],
        }
        self.send(
            reqwest::Method::POST,
            "/hubspot/contacts",
            &Body { contacts },
        )
        .await
    }

    /// `GET /hubspot/contacts`: every HubSpot contact, ordered by id.
    pub async fn hubspot_contacts(&self) -> Result<Vec<HubspotContactRecord>, AdminError> {
        self.get("/hubspot/contacts", &()).await
    }

    /// The HubSpot contact with this object id, if any.
    pub async fn hubspot_contact(
        &self,
        id: &str,
    ) -> Result<Option<HubspotContactRecord>, AdminError> {
        let contacts: Vec<HubspotContactRecord> =
            self.get("/hubspot/contacts", &[("id", id)]).await?;
        Ok(contacts.into_iter().next())
    }
}
