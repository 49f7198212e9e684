//! Signature schemes. STUB: replaced by the signatures/sources work.

use std::time::Duration;

use secrecy::{SecretSlice, SecretString};

use super::InboundRequest;

/// HubSpot signature versions a source accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HubspotVersion {
    /// `X-HubSpot-Signature-v3` (HMAC-SHA256, timestamped).
    V3,
    /// `X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v2` (SHA-256 of secret + request).
    V2,
}

/// How a source's requests are authenticated, with its resolved secret.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`.
    StandardWebhooks {
        /// The decoded key (the `whsec_` prefix stripped, base64-decoded).
        key: SecretSlice<u8>,
        /// Largest accepted clock difference, past or future.
        tolerance: Duration,
    },
    /// HubSpot v3 (and v2 when allowed).
    Hubspot {
        /// The app's client secret.
        client_secret: SecretString,
        /// The public URL HubSpot calls, from configuration (never from Host headers).
        public_url: String,
        /// Accepted versions, in order of preference.
        versions: Vec<HubspotVersion>,
        /// Largest accepted age of `X-HubSpot-Request-Timestamp` (v3).
        tolerance: Duration,
    },
    /// Salesforce Outbound Messages: a token in the URL, then the organization id in the body.
    Salesforce {
        /// The org id the messages must carry (15 or 18 characters).
        organization_id: String,
        /// A secret expected in the `token` query parameter, when configured.
        url_token: Option<SecretString>,
    },
    /// HTTP Basic credentials (Pipedrive).
    Basic {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: SecretString,
    },
}

/// Why a request is not trusted (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Placeholder.
    #[error("signature mismatch")]
    BadSignature,
}

impl Auth {
    /// Verifies `request` against this scheme.
    pub fn verify(&self, _request: &InboundRequest<'_>) -> Result<(), AuthError> {
        todo!()
    }
}
