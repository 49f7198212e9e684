//! [`ExportMapping`]: which Userflow attribute is filled from which exported field, read from
//! `EXPORT_USERFLOW_MAPPING` (a JSON document) and `EXPORT_CUSTOM_ATTRIBUTES` (a shortcut
//! list), and what the export must therefore request from Braze.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use relay_clients::braze::models::MAX_CUSTOM_ATTRIBUTES_TO_EXPORT;
use serde::{Deserialize, Deserializer};

use crate::contact::SIGNED_UP_AT_KEY;
use crate::env::{ConfigError, Env};

/// The JSON mapping document, e.g.
/// `{"attributes": {"email": "email", "plan": "custom_attributes.plan"}}`. Replaces the
/// defaults when set.
pub const MAPPING_VARIABLE: &str = "EXPORT_USERFLOW_MAPPING";
/// Comma-separated custom attribute names copied under their own name (`plan,seats`), added
/// to the mapping (the defaults or the JSON document).
pub const CUSTOM_ATTRIBUTES_VARIABLE: &str = "EXPORT_CUSTOM_ATTRIBUTES";
/// The prefix naming a custom attribute as a source: `custom_attributes.<name>`.
pub const CUSTOM_PREFIX: &str = "custom_attributes.";
/// The synthetic source joining `first_name` and `last_name`.
pub const NAME_SOURCE: &str = "name";

/// A standard field of a Braze segment export that a mapping may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportField {
    /// `email`.
    Email,
    /// `first_name`.
    FirstName,
    /// `last_name`.
    LastName,
    /// `phone`, as imported.
    Phone,
    /// `country`.
    Country,
    /// `language`.
    Language,
    /// `time_zone` (may be a Rails zone name such as `Eastern Time (US & Canada)`).
    TimeZone,
    /// `dob`.
    Dob,
    /// `gender`.
    Gender,
    /// `home_city`.
    HomeCity,
    /// `created_at`, sent as ISO 8601 UTC.
    CreatedAt,
    /// `email_subscribe`.
    EmailSubscribe,
    /// `push_subscribe`.
    PushSubscribe,
}

impl ExportField {
    /// How many standard fields there are.
    pub const COUNT: usize = 13;
    /// Every standard field, in export order.
    pub const ALL: [ExportField; ExportField::COUNT] = [
        ExportField::Email,
        ExportField::FirstName,
        ExportField::LastName,
        ExportField::Phone,
        ExportField::Country,
        ExportField::Language,
        ExportField::TimeZone,
        ExportField::Dob,
        ExportField::Gender,
        ExportField::HomeCity,
        ExportField::CreatedAt,
        ExportField::EmailSubscribe,
        ExportField::PushSubscribe,
    ];

    /// The field's name in the export (and in `fields_to_export`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ExportField::Email => "email",
            ExportField::FirstName => "first_name",
            ExportField::LastName => "last_name",
            ExportField::Phone => "phone",
            ExportField::Country => "country",
            ExportField::Language => "language",
            ExportField::TimeZone => "time_zone",
            ExportField::Dob => "dob",
            ExportField::Gender => "gender",
            ExportField::HomeCity => "home_city",
            ExportField::CreatedAt => "created_at",
            ExportField::EmailSubscribe => "email_subscribe",
            ExportField::PushSubscribe => "push_subscribe",
        }
    }

    /// The field named `name` in the export, if it is a standard one.
    pub fn from_name(name: &str) -> Option<ExportField> {
        ExportField::ALL
            .into_iter()
            .find(|field| field.as_str() == name)
    }

    /// Position in [`ExportField::ALL`] (the decoder's slot).
    pub(super) const fn index(self) -> usize {
        self as usize
    }
}

/// Where one Userflow attribute's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A standard export field, sent as text (`created_at` as ISO 8601 UTC).
    Field(ExportField),
    /// `first_name` + " " + `last_name`, either alone when the other is missing.
    Name,
    /// A custom attribute, sent with its stored type.
    Custom(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Field(field) => f.write_str(field.as_str()),
            Source::Name => f.write_str(NAME_SOURCE),
            Source::Custom(name) => write!(f, "{CUSTOM_PREFIX}{name}"),
        }
    }
}

impl FromStr for Source {
    type Err = String;

    /// `email`, `first_name`, ... (a standard field), `name`, or `custom_attributes.<name>`.
    fn from_str(text: &str) -> Result<Source, String> {
        if text == NAME_SOURCE {
            return Ok(Source::Name);
        }
        if let Some(field) = ExportField::from_name(text) {
            return Ok(Source::Field(field));
        }
        match text.strip_prefix(CUSTOM_PREFIX) {
            Some("") => Err(format!("`{text}` names no custom attribute")),
            Some(name) => Ok(Source::Custom(name.to_owned())),
            None => Err(format!(
                "unknown source `{text}`: expected one of {}, `{NAME_SOURCE}`, or \
                 `{CUSTOM_PREFIX}<name>`",
                ExportField::ALL.map(ExportField::as_str).join(", ")
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Source, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A mapping setting that is wrong, with the path of what is wrong inside it (`attributes.plan`
/// in the JSON document, or the name in the shortcut list).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: {problem}")]
pub struct MappingError {
    /// Where in the setting (`.` for the document itself).
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

/// The JSON document's shape: only `attributes`, Userflow attribute name -> source.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingDocument {
    attributes: BTreeMap<String, Source>,
}

/// The export's `external_id` key: Userflow's user id.
pub(super) const EXTERNAL_ID_KEY: &str = "external_id";
/// The export's `braze_id` key: the de-duplication key.
pub(super) const BRAZE_ID_KEY: &str = "braze_id";
/// The export's `custom_attributes` key: an object of the user's custom attributes.
pub(super) const CUSTOM_ATTRIBUTES_KEY: &str = "custom_attributes";

/// The lengths of a set of names as a bitmask (bit n: a name is n bytes long; bit 63: 63 or
/// more). A key of a length no name has is none of them, known without a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct NameLengths(u64);

impl NameLengths {
    /// The lengths of `names`.
    pub fn of<'n>(names: impl IntoIterator<Item = &'n str>) -> NameLengths {
        NameLengths(
            names
                .into_iter()
                .fold(0, |bits, name| bits | NameLengths::bit(name.len())),
        )
    }

    /// Whether `key` may be one of the names: one of them has its length.
    pub fn may_hold(self, key: &[u8]) -> bool {
        self.0 & NameLengths::bit(key.len()) != 0
    }

    fn bit(length: usize) -> u64 {
        1 << length.min(63)
    }
}

/// Which export fields one line decoding must look at, derived from the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Needs {
    /// By [`ExportField::index`].
    pub fields: [bool; ExportField::COUNT],
    /// The wanted fields, the only names the decoder compares a top-level key with.
    pub wanted: Vec<ExportField>,
    /// Custom attribute names, sorted and unique (binary-searched per key).
    pub custom: Vec<String>,
    /// The lengths of the top-level keys the decoder acts on (the ids, the wanted fields,
    /// `custom_attributes` when a custom attribute is wanted): a key of another length is
    /// skipped without a comparison.
    pub top_lengths: NameLengths,
    /// The lengths of the wanted custom names: a custom key of another length is skipped
    /// without a search.
    pub custom_lengths: NameLengths,
}

/// Which Userflow attribute gets which exported field, and what the export must contain.
///
/// Defaults: `email` <- `email`, `name` <- `first_name` + `last_name`, `signed_up_at` <-
/// `created_at` (the names the CRM contact mapping uses too). A value missing from a line (or
/// `null`) is left out of the upsert, never sent as `null`: Userflow would clear the
/// attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportMapping {
    /// Userflow attribute name -> source.
    attributes: BTreeMap<String, Source>,
    /// What decoding a line must keep; derived from `attributes`.
    pub(super) needs: Needs,
}

impl Default for ExportMapping {
    fn default() -> ExportMapping {
        ExportMapping::new(BTreeMap::from([
            ("email".to_owned(), Source::Field(ExportField::Email)),
            ("name".to_owned(), Source::Name),
            (
                SIGNED_UP_AT_KEY.to_owned(),
                Source::Field(ExportField::CreatedAt),
            ),
        ]))
    }
}

impl ExportMapping {
    /// A mapping of exactly these attributes (Userflow name -> source).
    pub fn new(attributes: BTreeMap<String, Source>) -> ExportMapping {
        let mut needs = Needs::default();
        for source in attributes.values() {
            match source {
                Source::Field(field) => needs.fields[field.index()] = true,
                Source::Name => {
                    needs.fields[ExportField::FirstName.index()] = true;
                    needs.fields[ExportField::LastName.index()] = true;
                }
                Source::Custom(name) => needs.custom.push(name.clone()),
            }
        }
        needs.wanted = ExportField::ALL
            .into_iter()
            .filter(|field| needs.fields[field.index()])
            .collect();
        needs.custom.sort_unstable();
        needs.custom.dedup();
        needs.custom_lengths = NameLengths::of(needs.custom.iter().map(String::as_str));
        let custom_key = (!needs.custom.is_empty()).then_some(CUSTOM_ATTRIBUTES_KEY);
        needs.top_lengths = NameLengths::of(
            [EXTERNAL_ID_KEY, BRAZE_ID_KEY]
                .into_iter()
                .chain(custom_key)
                .chain(needs.wanted.iter().map(|field| field.as_str())),
        );
        ExportMapping { attributes, needs }
    }

    /// The settings: `EXPORT_USERFLOW_MAPPING` (JSON, replaces the defaults) when set, else
    /// the defaults; then each name of `EXPORT_CUSTOM_ATTRIBUTES` (comma separated, blanks
    /// ignored) copied under its own name. Errors name the variable and the path inside it.
    pub fn from_env(env: &Env) -> Result<ExportMapping, ConfigError> {
        let mut mapping = match env.get(MAPPING_VARIABLE) {
            None => ExportMapping::default(),
            Some(document) => ExportMapping::from_json(&document)
                .map_err(|error| ConfigError::unusable(MAPPING_VARIABLE, error))?,
        };
        if let Some(list) = env.get(CUSTOM_ATTRIBUTES_VARIABLE) {
            let names = list.split(',').map(str::trim).filter(|n| !n.is_empty());
            mapping = mapping
                .with_custom_attributes(names)
                .map_err(|error| ConfigError::unusable(CUSTOM_ATTRIBUTES_VARIABLE, error))?;
        }
        let custom = mapping.needs.custom.len();
        if custom > MAX_CUSTOM_ATTRIBUTES_TO_EXPORT {
            return Err(ConfigError::new(
                CUSTOM_ATTRIBUTES_VARIABLE,
                format!(
                    "{custom} custom attributes mapped; one export lists at most \
                     {MAX_CUSTOM_ATTRIBUTES_TO_EXPORT}"
                ),
            ));
        }
        Ok(mapping)
    }

    /// A mapping from its JSON document, `{"attributes": {"<userflow name>": "<source>"}}`.
    /// The error names the path of what is wrong (`attributes.plan`).
    pub fn from_json(document: &str) -> Result<ExportMapping, MappingError> {
        let deserializer = &mut serde_json::Deserializer::from_str(document);
        let parsed: MappingDocument =
            serde_path_to_error::deserialize(deserializer).map_err(|error| MappingError {
                path: error.path().to_string(),
                problem: error.inner().to_string(),
            })?;
        if parsed.attributes.contains_key("") {
            return Err(MappingError {
                path: "attributes".into(),
                problem: "an attribute name is empty".into(),
            });
        }
        Ok(ExportMapping::new(parsed.attributes))
    }

    /// This mapping plus `name` <- `custom_attributes.<name>` for each name. A name already
    /// mapped from another source is an error (the path is the name).
    pub fn with_custom_attributes<'n>(
        mut self,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<ExportMapping, MappingError> {
        for name in names {
            let source = Source::Custom(name.to_owned());
            match self.attributes.get(name) {
                Some(existing) if *existing != source => {
                    return Err(MappingError {
                        path: name.to_owned(),
                        problem: format!("already mapped from `{existing}`"),
                    });
                }
                _ => {
                    self.attributes.insert(name.to_owned(), source);
                }
            }
        }
        Ok(ExportMapping::new(self.attributes))
    }

    /// The mapped attributes: Userflow attribute name and source, by name.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &Source)> {
        self.attributes
            .iter()
            .map(|(name, source)| (name.as_str(), source))
    }

    /// The `fields_to_export` an export for this mapping needs: `external_id` and `braze_id`
    /// always and the standard fields the sources read (in export order). Never
    /// `custom_attributes`: Braze exports every custom attribute when it is named, and ignores
    /// `custom_attributes_to_export` (see [`ExportMapping::custom_attributes_to_export`]),
    /// which exports only the mapped ones.
    pub fn fields_to_export(&self) -> Vec<String> {
        let mut fields = vec![EXTERNAL_ID_KEY.to_owned(), BRAZE_ID_KEY.to_owned()];
        fields.extend(
            ExportField::ALL
                .into_iter()
                .filter(|field| self.needs.fields[field.index()])
                .map(|field| field.as_str().to_owned()),
        );
        fields
    }

    /// The custom attribute names the mapping reads, sorted (`custom_attributes_to_export`).
    pub fn custom_attributes_to_export(&self) -> Vec<String> {
        self.needs.custom.clone()
    }
}
