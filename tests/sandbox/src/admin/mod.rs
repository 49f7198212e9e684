//! The admin API, at the root of the admin listener: the routes below (served by the private
//! `routes` module), a typed client ([`client::AdminClient`]) and the JSON types both share
//! ([`types`]). JSON in and out; errors are `{"error": "..."}` with 400 or 404.
//!
//! | route | body / query | answer |
//! |---|---|---|
//! | `GET /health` | | `{"ok": true}` |
//! | `POST /reset` | | `{"reset": true}`: stores, faults, counts, log, rate windows, settings, exports and export storage back to the start state |
//! | `GET /faults` | | `[FaultStatus]` |
//! | `POST /faults` | `FaultRule` | 201 `FaultStatus` |
//! | `DELETE /faults` | | 204, every rule removed |
//! | `DELETE /faults/{id}` | | 204, or 404 |
//! | `GET /requests/counts` | `?api=braze\|scim\|userflow\|hubspot` | `{"counts": [RequestCount]}` |
//! | `GET /requests/log` | `?api=..&limit=n` (default 100) | `{"requests": [RequestRecord]}`, oldest first |
//! | `DELETE /requests` | | 204, counts and log cleared |
//! | `GET /settings` | | `Settings` |
//! | `PATCH /settings` | `SettingsPatch` | `Settings` (a changed bucket starts a fresh window) |
//! | `GET /export-storage` | | `ExportStorage` or `null` |
//! | `PUT /export-storage` | `ExportStorage` | `ExportStorage` |
//! | `DELETE /export-storage` | | 204, exports answer "no bucket configured" |
//! | `POST /braze/segments` | `SeedSegment` | `SeedSummary` |
//! | `GET /braze/segments` | | `[SegmentInfo]` |
//! | `GET /braze/users` | `BrazeUserQuery` as query | `BrazeUserPage` |
//! | `GET /braze/exports` | | `[ExportRecord]` |
//! | `POST /braze/exports/synthetic` | `SyntheticExport` | `SyntheticExportStarted` once every file is written (400 bad request or no bucket, 502 an upload failed); the callback follows in the background |
//! | `GET /scim/users` | | `[ScimUserRecord]` |
//! | `GET /userflow/users` | `?id=` | `[UserflowUserRecord]` |
//! | `GET /userflow/groups` | | `[UserflowGroupRecord]` |
//! | `GET /userflow/events` | `?user_id=&group_id=&name=` | `[UserflowEventRecord]`, duplicates kept |
//! | `POST /hubspot/contacts` | `SeedHubspotContacts` | `HubspotSeedSummary` (an existing id is replaced) |
//! | `GET /hubspot/contacts` | `?id=` | `[HubspotContactRecord]`, ordered by id |
//!
//! Bodies are decoded strictly: an unknown or misspelt field is a 400 `{"error": ..}` naming
//! it and its JSON path, so a typo never silently changes what a test injects.
//!
//! A fault rule: `{"api": "braze", "method": "POST", "path": "/users/*",
//! "fault": {"kind": "status", "status": 503, "html": true}, "count": 3}`; kinds `status` (`status`,
//! `html`, `body`, `content_type`), `throttle` (`retry_after` seconds), `latency` (`ms`),
//! `drop`; limits `count`, `probability` + `seed`. A settings patch:
//! `{"rate_limits": {"braze_track": {"limit": 10, "window_secs": 60}, "userflow": null},
//! "export": {"users_per_file": 100, "date_shift_days": 1, "duplicate_every": 50,
//! "file_delay_ms": 0, "malformed_every": 0, "members_per_zip": 1, "empty_files": 0,
//! "truncate_files": 0}, "track_max_objects": 75}`.

pub mod client;
mod routes;
pub mod types;

pub(crate) use routes::router;
