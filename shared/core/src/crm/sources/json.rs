//! The flat form sources are written in (the built-in defaults and `RELAY_SOURCES`): every
//! field of every scheme, all optional. It exists only to be decoded; [`super::spec`] turns
//! it into settings typed per scheme.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::error::SourcesError;
use super::{ALLOW_UNAUTHENTICATED, Scheme};
use crate::crm::mapping::FieldMapping;
use crate::crm::signature::HubspotVersion;
use crate::secrets::SecretRef;

/// One source's settings as written in JSON (built-in defaults or `RELAY_SOURCES`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceSettings {
    pub(super) scheme: Option<Scheme>,
    pub(super) secret: Option<SecretRef>,
    pub(super) mapping: Option<FieldMapping>,
    pub(super) send_signup_event: Option<bool>,
    pub(super) tolerance_secs: Option<u64>,
    pub(super) public_url: Option<String>,
    pub(super) signature_versions: Option<Vec<HubspotVersion>>,
    pub(super) organization_id: Option<String>,
    pub(super) username: Option<String>,
    pub(super) actions: Option<Vec<String>>,
    pub(super) hubspot_api: Option<HubspotApiSettings>,
    pub(super) allow_unauthenticated: Option<bool>,
    pub(super) enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HubspotApiSettings {
    pub(super) base_url: Option<String>,
    pub(super) token: Option<SecretRef>,
}

/// A JSON object of sources, in document order, rejecting duplicate and invalid names.
struct SourceEntries(Vec<(String, SourceSettings)>);

impl<'de> Deserialize<'de> for SourceEntries {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = SourceEntries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of sources by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SourceEntries, A::Error> {
                let mut entries: Vec<(String, SourceSettings)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if !is_source_name(&name) {
                        return Err(de::Error::custom(
                            "a source name must be 1 to 64 characters of a-z, 0-9 and -",
                        ));
                    }
                    if entries.iter().any(|(seen, _)| *seen == name) {
                        return Err(de::Error::custom("this source is given twice"));
                    }
                    let settings = map.next_value::<SourceSettings>()?;
                    entries.push((name, settings));
                }
                Ok(SourceEntries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

fn is_source_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Decodes one JSON document of sources (`origin` names it in errors).
pub(super) fn decode(
    origin: &'static str,
    raw: &str,
) -> Result<Vec<(String, SourceSettings)>, SourcesError> {
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    let entries: SourceEntries =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            SourcesError::Decode {
                origin,
                path: error.path().to_string(),
                message: error.inner().to_string(),
            }
        })?;
    deserializer.end().map_err(|error| SourcesError::Decode {
        origin,
        path: ".".into(),
        message: error.to_string(),
    })?;
    Ok(entries.0)
}

impl SourceSettings {
    /// The scheme-specific fields written here, by their JSON names.
    pub(super) fn scheme_fields(&self) -> Vec<&'static str> {
        let given = [
            ("tolerance_secs", self.tolerance_secs.is_some()),
            ("public_url", self.public_url.is_some()),
            ("signature_versions", self.signature_versions.is_some()),
            ("hubspot_api", self.hubspot_api.is_some()),
            ("organization_id", self.organization_id.is_some()),
            ("username", self.username.is_some()),
            ("actions", self.actions.is_some()),
            (ALLOW_UNAUTHENTICATED, self.allow_unauthenticated.is_some()),
        ];
        given
            .into_iter()
            .filter_map(|(field, present)| present.then_some(field))
            .collect()
    }
}

impl Scheme {
    /// The scheme-specific fields a source of this scheme takes.
    pub(super) fn fields(self) -> &'static [&'static str] {
        match self {
            Scheme::StandardWebhooks => &["tolerance_secs"],
            Scheme::Hubspot => &[
                "tolerance_secs",
                "public_url",
                "signature_versions",
                "hubspot_api",
            ],
            Scheme::SalesforceOutbound => &["organization_id", ALLOW_UNAUTHENTICATED],
            Scheme::Pipedrive => &["username", "actions"],
        }
    }
}
