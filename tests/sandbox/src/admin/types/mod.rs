//! JSON types of the admin API, shared by the server ([`crate::admin`]'s routes) and
//! [`crate::AdminClient`], one file per concern: fault rules, request counts and log, runtime
//! settings, and the state of each emulated vendor. Every type is re-exported here and at the
//! crate root.

mod braze;
mod faults;
mod hubspot;
mod requests;
mod settings;
mod userflow;

use serde::{Deserialize, Serialize};

pub use braze::{
    BrazeDeletions, BrazeUserPage, BrazeUserQuery, ExportFormat, ExportRecord, ExportState,
    InjectedLine, ScimUserRecord, SeedSegment, SeedSummary, SegmentInfo, SyntheticExport,
    SyntheticExportStarted,
};
pub use faults::{FaultKind, FaultRule, FaultStatus};
pub use hubspot::{
    HubspotContactRecord, HubspotContactSeed, HubspotSeedSummary, SeedHubspotContacts,
};
pub use requests::{RequestCount, RequestRecord};
pub use settings::{
    Bucket, ExportSettings, ExportSettingsPatch, ExportStorage, RateLimit, Settings, SettingsPatch,
};
pub use userflow::{UserflowEventRecord, UserflowGroupRecord, UserflowUserRecord};

/// One emulated API, as named in fault rules, request counts and the request log.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// Braze REST (`/users/...`, `/export/...`).
    Braze,
    /// Braze SCIM (`/scim/v2/...` on the Braze listener).
    Scim,
    /// Userflow.
    Userflow,
    /// HubSpot CRM (`/crm/v3/objects/contacts/...` on the HubSpot listener).
    Hubspot,
}

impl Api {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Braze => "braze",
            Api::Scim => "scim",
            Api::Userflow => "userflow",
            Api::Hubspot => "hubspot",
        }
    }
}
