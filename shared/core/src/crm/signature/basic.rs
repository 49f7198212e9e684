//! HTTP Basic: Pipedrive's optional user name and password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;

use super::{AUTHORIZATION, AuthError, malformed, optional_header, secret_eq};

/// The `Authorization` value a sender with HTTP Basic credentials puts on every request:
/// `Basic base64(user:password)`. For tools that send webhooks as Pipedrive does.
pub fn basic_authorization(username: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{username}:{password}")))
}

/// Checks `Authorization: Basic base64(user:pass)` against the expected user name and
/// password, both compared in constant time (the password check runs even when the user
/// name is wrong).
pub fn verify_basic(headers: &HeaderMap, username: &str, password: &str) -> Result<(), AuthError> {
    let value = optional_header(headers, AUTHORIZATION)?.ok_or(AuthError::MissingCredentials)?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| malformed(AUTHORIZATION, "expected `Basic <base64 user:password>`"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed(AUTHORIZATION, "expected the Basic scheme"));
    }
    let decoded = BASE64
        .decode(encoded.trim())
        .map_err(|_| malformed(AUTHORIZATION, "the credentials are not standard base64"))?;
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or_else(|| malformed(AUTHORIZATION, "the credentials have no `:` separator"))?;
    let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
    let matches = secret_eq(user, username.as_bytes()) & secret_eq(pass, password.as_bytes());
    if bool::from(matches) {
        Ok(())
    } else {
        Err(AuthError::BadCredentials)
    }
}
