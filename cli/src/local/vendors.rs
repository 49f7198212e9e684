//! Braze and Userflow for the local stack: the real APIs when `BRAZE_REST_ENDPOINT`,
//! `BRAZE_API_KEY` and `USERFLOW_API_KEY` are all given (a key also counts when given as its
//! `_SECRET` reference), the sandbox in this process when none is, and a usage error naming
//! what is missing when only some are.

use serde::Serialize;

use super::LocalError;
use crate::Settings;

/// The settings that select the real vendor APIs.
pub const VENDOR_SETTINGS: [&str; 3] = ["BRAZE_REST_ENDPOINT", "BRAZE_API_KEY", "USERFLOW_API_KEY"];

/// The variable holding Braze's SCIM token (the sandbox's, with `--env-out`).
pub const BRAZE_SCIM_TOKEN: &str = "BRAZE_SCIM_TOKEN";
/// The variable holding the `X-Request-Origin` Braze's SCIM expects.
pub const BRAZE_SCIM_ORIGIN: &str = "BRAZE_SCIM_ORIGIN";
/// The variable holding the sandbox's admin URL (`--env-out`, for the demo and tests).
pub const SANDBOX_ADMIN_URL: &str = "SANDBOX_ADMIN_URL";

/// Which vendor APIs the functions call.
pub enum Vendors {
    /// The real APIs, from the settings.
    Real,
    /// The sandbox, running in this process.
    #[cfg(feature = "sandbox")]
    Sandbox(Box<sandbox::Sandbox>),
}

/// The sandbox's URLs, as printed in the startup line (no keys).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SandboxUrls {
    /// Braze REST (SCIM under `/scim/v2`).
    pub braze: String,
    /// Userflow.
    pub userflow: String,
    /// The admin API (state, fault injection).
    pub admin: String,
    /// HubSpot's CRM API.
    pub hubspot_url: String,
}

/// Whether `name` is given, directly or (for keys) as its `_SECRET` reference.
fn given(settings: &Settings, name: &str) -> bool {
    settings.get(name).is_some()
        || (name.ends_with("_KEY") && settings.get(&format!("{name}_SECRET")).is_some())
}

/// Which vendor APIs to use, decided from the settings alone (no I/O), so that a bad choice
/// is refused before anything starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Every vendor setting is given: the real APIs.
    Real,
    /// None is given: the sandbox (this build has it).
    Sandbox,
}

/// The vendor APIs `settings` select; a usage error when they are partial, or when they ask
/// for the sandbox and this build has none.
pub fn choose(settings: &Settings) -> Result<Choice, LocalError> {
    let (present, missing): (Vec<&str>, Vec<&str>) = VENDOR_SETTINGS
        .iter()
        .copied()
        .partition(|name| given(settings, name));
    if missing.is_empty() {
        return Ok(Choice::Real);
    }
    if !present.is_empty() {
        return Err(LocalError::PartialVendors {
            missing: missing.join(", "),
            given: present.join(", "),
        });
    }
    if cfg!(feature = "sandbox") {
        Ok(Choice::Sandbox)
    } else {
        Err(LocalError::NoSandbox)
    }
}

/// The real APIs, or the sandbox started now, as [`choose`] decided.
pub async fn start(choice: Choice) -> Result<Vendors, LocalError> {
    match choice {
        Choice::Real => Ok(Vendors::Real),
        Choice::Sandbox => start_sandbox().await,
    }
}

#[cfg(feature = "sandbox")]
async fn start_sandbox() -> Result<Vendors, LocalError> {
    let sandbox = sandbox::start(sandbox::SandboxConfig::default()).await?;
    Ok(Vendors::Sandbox(Box::new(sandbox)))
}

#[cfg(not(feature = "sandbox"))]
async fn start_sandbox() -> Result<Vendors, LocalError> {
    Err(LocalError::NoSandbox)
}

impl Vendors {
    /// The sandbox's URLs, when the sandbox runs.
    pub fn sandbox_urls(&self) -> Option<SandboxUrls> {
        match self {
            Vendors::Real => None,
            #[cfg(feature = "sandbox")]
            Vendors::Sandbox(sandbox) => {
                let info = sandbox.info();
                Some(SandboxUrls {
                    braze: info.braze.clone(),
                    userflow: info.userflow.clone(),
                    admin: info.admin.clone(),
                    hubspot_url: info.hubspot_url.clone(),
                })
            }
        }
    }

    /// The variables pointing the functions (and other `relay` commands) at the sandbox:
    /// nothing for the real APIs, whose settings are the operator's. HubSpot's URL and token
    /// are the sandbox's only when the operator gave none.
    pub fn variables(&self, settings: &Settings) -> Vec<(String, String)> {
        match self {
            Vendors::Real => Vec::new(),
            #[cfg(feature = "sandbox")]
            Vendors::Sandbox(sandbox) => {
                let info = sandbox.info();
                let mut vars = vec![
                    ("BRAZE_REST_ENDPOINT", info.braze.clone()),
                    ("BRAZE_ALLOW_CUSTOM_ENDPOINT", "true".to_owned()),
                    ("BRAZE_API_KEY", info.braze_key.clone()),
                    ("USERFLOW_API_KEY", info.userflow_key.clone()),
                    ("USERFLOW_BASE_URL", info.userflow.clone()),
                    (BRAZE_SCIM_TOKEN, info.scim_token.clone()),
                    (BRAZE_SCIM_ORIGIN, info.scim_origin.clone()),
                    (SANDBOX_ADMIN_URL, info.admin.clone()),
                ];
                if settings.get("HUBSPOT_API_BASE_URL").is_none() {
                    vars.push(("HUBSPOT_API_BASE_URL", info.hubspot_url.clone()));
                }
                if settings.get("HUBSPOT_ACCESS_TOKEN").is_none() {
                    vars.push(("HUBSPOT_ACCESS_TOKEN", info.hubspot_token.clone()));
                }
                vars.into_iter()
                    .map(|(name, value)| (name.to_owned(), value))
                    .collect()
            }
        }
    }

    /// Points the sandbox's segment exports at `bucket` on the stack's S3 (`endpoint`, empty
    /// for AWS itself), as a workspace's S3 export setting points Braze at its bucket; nothing
    /// for the real APIs, whose export bucket is configured in Braze's dashboard.
    pub async fn export_into(
        &self,
        bucket: &str,
        endpoint: &str,
        region: &str,
    ) -> Result<(), LocalError> {
        match self {
            Vendors::Real => Ok(()),
            #[cfg(feature = "sandbox")]
            Vendors::Sandbox(sandbox) => {
                let storage = sandbox::ExportStorage {
                    bucket: bucket.to_owned(),
                    endpoint: (!endpoint.is_empty()).then(|| endpoint.to_owned()),
                    region: region.to_owned(),
                };
                sandbox
                    .admin()
                    .set_export_storage(&storage)
                    .await
                    .map(|_| ())
                    .map_err(|error| LocalError::Function {
                        function: "sandbox",
                        message: format!("setting its export bucket failed: {error}"),
                    })
            }
        }
    }

    /// Stops the sandbox (nothing to do for the real APIs).
    pub async fn stop(self) {
        match self {
            Vendors::Real => {}
            #[cfg(feature = "sandbox")]
            Vendors::Sandbox(sandbox) => sandbox.shutdown().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        )
    }

    #[test]
    fn when_vendor_settings_are_partly_given_then_the_error_names_the_missing_ones() {
        let error = choose(&settings(&[(
            "BRAZE_REST_ENDPOINT",
            "https://rest.iad-01.braze.com",
        )]))
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("BRAZE_API_KEY, USERFLOW_API_KEY"),
            "{message}"
        );
        assert!(matches!(error, LocalError::PartialVendors { .. }));
    }

    #[tokio::test]
    async fn when_every_vendor_setting_is_given_then_the_real_apis_are_used() {
        let choice = choose(&settings(&[
            ("BRAZE_REST_ENDPOINT", "https://rest.iad-01.braze.com"),
            ("BRAZE_API_KEY_SECRET", "env:KEY"),
            ("USERFLOW_API_KEY", "ak_x"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(choice, Choice::Real);
        let vendors = start(choice).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(vendors, Vendors::Real));
        assert!(vendors.sandbox_urls().is_none());
    }
}
