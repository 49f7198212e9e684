//! HubSpot: v3 (HMAC-SHA256 with a millisecond timestamp, over a partly decoded URI), v2 and
//! v1 (plain SHA-256 over the secret and the request), and the URI HubSpot signs.

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    AuthError, HUBSPOT_REQUEST_TIMESTAMP, HUBSPOT_SIGNATURE, HUBSPOT_SIGNATURE_V3,
    HUBSPOT_SIGNATURE_VERSION, HmacSha256, ReplayKey, Verified, check_freshness, malformed,
    optional_header, parse_unsigned, required_header,
};
use crate::crm::InboundRequest;

/// HubSpot signature versions a source accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HubspotVersion {
    /// `X-HubSpot-Signature-v3` (HMAC-SHA256, timestamped).
    V3,
    /// `X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v2` (SHA-256 of secret +
    /// request): it signs no time, so it is accepted only when configured, and then each
    /// request only once ([`Verified::Untimed`]).
    V2,
    /// `X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v1` (SHA-256 of secret + body):
    /// legacy apps only; it signs neither the URL nor a time, so it is accepted only when
    /// configured, and then each request only once.
    V1,
}

impl HubspotVersion {
    /// The header that carries this version's signature, for "missing header" answers.
    pub fn signature_header(self) -> &'static str {
        match self {
            HubspotVersion::V3 => HUBSPOT_SIGNATURE_V3,
            HubspotVersion::V2 | HubspotVersion::V1 => HUBSPOT_SIGNATURE,
        }
    }

    /// The `X-HubSpot-Signature-Version` value of v1 / v2 (`None` for v3, which has its own
    /// header).
    fn version_value(self) -> Option<&'static str> {
        match self {
            HubspotVersion::V3 => None,
            HubspotVersion::V2 => Some("v2"),
            HubspotVersion::V1 => Some("v1"),
        }
    }
}

/// The URI HubSpot signs: the configured public URL, plus `?` and the raw query when there is
/// one. Used as it is by v2; v3 decodes some escapes first ([`decode_hubspot_uri`]).
pub fn hubspot_request_uri(public_url: &str, raw_query: &str) -> String {
    if raw_query.is_empty() {
        public_url.to_owned()
    } else {
        format!("{public_url}?{raw_query}")
    }
}

/// HubSpot v3's URI rule: decode only `%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B`
/// (hex in either case) and keep every other escape (`%20`, `%26`, ...) as it is.
pub fn decode_hubspot_uri(uri: &str) -> Cow<'_, str> {
    if !uri.contains('%') {
        return Cow::Borrowed(uri);
    }
    let bytes = uri.as_bytes();
    let mut decoded = String::with_capacity(uri.len());
    let mut copied = 0;
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = uri.get(index + 1..index + 3)
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(value) = u8::from_str_radix(hex, 16)
            && b":/?@!$'()*,;".contains(&value)
        {
            decoded.push_str(&uri[copied..index]);
            decoded.push(char::from(value));
            index += 3;
            copied = index;
        } else {
            index += 1;
        }
    }
    decoded.push_str(&uri[copied..]);
    Cow::Owned(decoded)
}

fn hubspot_v3_mac(
    secret: &str,
    method: &str,
    uri: &str,
    body: &[u8],
    timestamp: &str,
) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(method.as_bytes());
    mac.update(decode_hubspot_uri(uri).as_bytes());
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac
}

/// The `X-HubSpot-Signature-v3` value for a request: base64 of HMAC-SHA256 with the client
/// secret over `method + uri + body + timestamp`, where `uri` is decoded with
/// [`decode_hubspot_uri`] first and `timestamp` is the `X-HubSpot-Request-Timestamp` text
/// (milliseconds) as sent.
pub fn hubspot_v3_signature(
    secret: &str,
    method: &str,
    uri: &str,
    body: &[u8],
    timestamp: &str,
) -> String {
    BASE64.encode(
        hubspot_v3_mac(secret, method, uri, body, timestamp)
            .finalize()
            .into_bytes(),
    )
}

fn hubspot_v2_digest(secret: &str, method: &str, uri: &str, body: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(secret.as_bytes())
        .chain_update(method.as_bytes())
        .chain_update(uri.as_bytes())
        .chain_update(body)
        .finalize()
        .into()
}

fn hubspot_v1_digest(secret: &str, body: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(secret.as_bytes())
        .chain_update(body)
        .finalize()
        .into()
}

/// The `X-HubSpot-Signature` value of a v2 request: lowercase hex of
/// SHA-256(`secret + method + uri + body`), `uri` as in [`hubspot_request_uri`] (not decoded).
pub fn hubspot_v2_signature(secret: &str, method: &str, uri: &str, body: &[u8]) -> String {
    hex::encode(hubspot_v2_digest(secret, method, uri, body))
}

/// The `X-HubSpot-Signature` value of a v1 request: lowercase hex of SHA-256(`secret + body`).
pub fn hubspot_v1_signature(secret: &str, body: &[u8]) -> String {
    hex::encode(hubspot_v1_digest(secret, body))
}

/// Verifies a HubSpot request with the first signature it carries that `versions` accepts:
/// v3 when `X-HubSpot-Signature-v3` is present, else v2 / v1 by `X-HubSpot-Signature-Version`.
/// `public_url` is the configured URL HubSpot calls; `tolerance` bounds the v3 timestamp's
/// age (and how far ahead of `request.now` it may be). A v2 / v1 request verifies as
/// [`Verified::Untimed`], keyed by its signature.
pub fn verify_hubspot(
    request: &InboundRequest<'_>,
    client_secret: &str,
    public_url: &str,
    versions: &[HubspotVersion],
    tolerance: Duration,
) -> Result<Verified, AuthError> {
    let headers = request.headers;
    let accepts = |version| versions.contains(&version);
    if accepts(HubspotVersion::V3) && headers.contains_key(HUBSPOT_SIGNATURE_V3) {
        return verify_hubspot_v3(request, client_secret, public_url, tolerance)
            .map(|()| Verified::Complete);
    }
    if headers.contains_key(HUBSPOT_SIGNATURE) {
        let version = optional_header(headers, HUBSPOT_SIGNATURE_VERSION)?;
        let chosen = [HubspotVersion::V2, HubspotVersion::V1]
            .into_iter()
            .find(|candidate| accepts(*candidate) && version == candidate.version_value());
        if let Some(chosen) = chosen {
            return verify_hubspot_legacy(request, chosen, client_secret, public_url);
        }
    }
    Err(AuthError::MissingHeader {
        header: versions
            .first()
            .copied()
            .unwrap_or(HubspotVersion::V3)
            .signature_header(),
    })
}

fn verify_hubspot_v3(
    request: &InboundRequest<'_>,
    client_secret: &str,
    public_url: &str,
    tolerance: Duration,
) -> Result<(), AuthError> {
    let headers = request.headers;
    let signature = required_header(headers, HUBSPOT_SIGNATURE_V3)?;
    let signature = BASE64
        .decode(signature)
        .map_err(|_| malformed(HUBSPOT_SIGNATURE_V3, "expected standard base64"))?;
    let timestamp = required_header(headers, HUBSPOT_REQUEST_TIMESTAMP)?;
    let millis = parse_unsigned(timestamp).ok_or_else(|| {
        malformed(
            HUBSPOT_REQUEST_TIMESTAMP,
            "expected milliseconds since the Unix epoch",
        )
    })?;
    check_freshness(
        HUBSPOT_REQUEST_TIMESTAMP,
        i128::from(millis),
        request.now,
        tolerance,
    )?;
    let uri = hubspot_request_uri(public_url, request.raw_query);
    hubspot_v3_mac(client_secret, request.method, &uri, request.body, timestamp)
        .verify_slice(&signature)
        .map_err(|_| AuthError::SignatureMismatch {
            header: HUBSPOT_SIGNATURE_V3,
        })
}

fn verify_hubspot_legacy(
    request: &InboundRequest<'_>,
    version: HubspotVersion,
    client_secret: &str,
    public_url: &str,
) -> Result<Verified, AuthError> {
    let signature = required_header(request.headers, HUBSPOT_SIGNATURE)?;
    let signature = hex::decode(signature)
        .map_err(|_| malformed(HUBSPOT_SIGNATURE, "expected a hexadecimal SHA-256"))?;
    let expected = match version {
        HubspotVersion::V1 => hubspot_v1_digest(client_secret, request.body),
        _ => {
            let uri = hubspot_request_uri(public_url, request.raw_query);
            hubspot_v2_digest(client_secret, request.method, &uri, request.body)
        }
    };
    if bool::from(expected.as_slice().ct_eq(&signature)) {
        let tag = match version {
            HubspotVersion::V1 => "v1",
            _ => "v2",
        };
        Ok(Verified::Untimed(ReplayKey::of_signature(tag, &signature)))
    } else {
        Err(AuthError::SignatureMismatch {
            header: HUBSPOT_SIGNATURE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_uri_has_reserved_escapes_then_only_the_listed_ones_are_decoded() {
        assert_eq!(
            decode_hubspot_uri(
                "https://x.test/a%3Ab%3ac%20d%2Fe%26f%40%21%24%27%28%29%2A%2C%3B%3F"
            ),
            "https://x.test/a:b:c%20d/e%26f@!$'()*,;?"
        );
    }

    #[test]
    fn when_uri_has_a_truncated_or_non_hex_escape_then_it_is_kept() {
        assert_eq!(decode_hubspot_uri("https://x.test/%3"), "https://x.test/%3");
        assert_eq!(
            decode_hubspot_uri("https://x.test/%zz%+3"),
            "https://x.test/%zz%+3"
        );
        assert_eq!(
            decode_hubspot_uri("https://x.test/é%3A"),
            "https://x.test/é:"
        );
    }
}
