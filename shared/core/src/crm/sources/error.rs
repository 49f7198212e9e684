//! Why the sources cannot be configured.

use crate::secrets::SecretError;

/// Why the sources cannot be configured: fails the cold start. Names the variable, the source
/// and the field or reference; never a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    /// The JSON does not decode: syntax, an unknown field, a bad value, with its path.
    #[error("{origin}: at {path}: {message}")]
    Decode {
        /// `RELAY_SOURCES` (or the embedded defaults).
        origin: &'static str,
        /// Where: `hubspot.mapping.emial`, or `.` for the document itself.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A source's settings are inconsistent (a missing scheme, a field its scheme does not
    /// use, a bad URL...).
    #[error("{origin}: source {name}: {message}")]
    Invalid {
        /// `RELAY_SOURCES` (or the embedded defaults).
        origin: &'static str,
        /// The source.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A source declared in `RELAY_SOURCES` lacks something only the environment can give
    /// (`public_url` / `RELAY_PUBLIC_URL`, an organization id), or a resolved secret or
    /// variable has the wrong form.
    #[error("source {name}: {message}")]
    Unusable {
        /// The source.
        name: String,
        /// What is missing or wrong, and what to set.
        message: String,
    },
    /// A source's secret cannot be resolved.
    #[error("source {name}: cannot resolve {reference}: {error}")]
    Secret {
        /// The source.
        name: String,
        /// The reference (`env:NAME`, an ARN), never the value.
        reference: String,
        /// Why.
        error: SecretError,
    },
    /// A HubSpot source's API settings do not make a client (a bad base URL or token).
    #[error("source {name}: hubspot_api: {error}")]
    HubspotApi {
        /// The source.
        name: String,
        /// Why the client cannot be built.
        #[source]
        error: relay_clients::hubspot::HubspotError,
    },
}
