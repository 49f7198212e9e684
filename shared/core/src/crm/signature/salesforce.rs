//! Salesforce Outbound Messages: no signature; an optional secret `token` query parameter,
//! then the organization id the message carries (15- or 18-character Salesforce ids).

use subtle::ConstantTimeEq;

use super::{AuthError, URL_TOKEN_PARAMETER, secret_eq};

/// The raw query (without `?`) that carries a Salesforce URL token:
/// `token=<form-urlencoded token>`. For tools that send Outbound Messages.
pub fn url_token_query(token: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair(URL_TOKEN_PARAMETER, token)
        .finish()
}

/// `raw_query` with the value of every `token` parameter replaced by `***`, for showing a URL
/// without its secret. Other parameters are kept as they are.
pub fn redact_url_token(raw_query: &str) -> String {
    if raw_query.is_empty() {
        return String::new();
    }
    raw_query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            let decoded: String = url::form_urlencoded::parse(name.as_bytes())
                .map(|(name, _)| name.into_owned())
                .collect();
            if decoded == URL_TOKEN_PARAMETER {
                format!("{name}=***")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Checks the `token` query parameter against `expected` (constant time); `Ok` when no token
/// is configured. Every `token` parameter present must match.
pub fn verify_url_token(raw_query: &str, expected: Option<&str>) -> Result<(), AuthError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let mut found = false;
    let mut all_match = subtle::Choice::from(1);
    for (name, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        if name == URL_TOKEN_PARAMETER {
            found = true;
            all_match &= secret_eq(value.as_bytes(), expected.as_bytes());
        }
    }
    if !found {
        Err(AuthError::MissingUrlToken)
    } else if bool::from(all_match) {
        Ok(())
    } else {
        Err(AuthError::BadUrlToken)
    }
}

/// Checks a Salesforce message's `OrganizationId` against the configured one, case-sensitively
/// on the first 15 characters: Salesforce ids come as 15 characters or as 18 (the same 15
/// plus a 3-character case checksum), and either form may be configured or sent.
pub fn check_salesforce_organization(expected: &str, found: Option<&str>) -> Result<(), AuthError> {
    let found = found
        .map(str::trim)
        .filter(|found| !found.is_empty())
        .ok_or(AuthError::MissingOrganization)?;
    if bool::from(salesforce_id_key(expected).ct_eq(salesforce_id_key(found))) {
        Ok(())
    } else {
        Err(AuthError::WrongOrganization)
    }
}

/// The case-sensitive 15-character form of a Salesforce id (other lengths are kept whole,
/// so they never equal a valid id).
fn salesforce_id_key(id: &str) -> &[u8] {
    let bytes = id.as_bytes();
    if bytes.len() == 18 {
        &bytes[..15]
    } else {
        bytes
    }
}

/// Whether `id` is a well-formed Salesforce id: 15 ASCII letters and digits, or 18 whose last
/// three are the case checksum of the first 15. Used to validate configuration.
pub fn is_salesforce_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    if !(bytes.len() == 15 || bytes.len() == 18) || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    if bytes.len() == 15 {
        return true;
    }
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let checksum: Vec<u8> = bytes[..15]
        .chunks(5)
        .map(|chunk| {
            let bits = chunk.iter().enumerate().fold(0usize, |bits, (i, b)| {
                if b.is_ascii_uppercase() {
                    bits | (1 << i)
                } else {
                    bits
                }
            });
            ALPHABET[bits]
        })
        .collect();
    checksum == bytes[15..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_url_token_is_queried_then_it_verifies_and_shows_redacted() {
        let query = url_token_query("a b&c=d");
        assert_eq!(query, "token=a+b%26c%3Dd");
        assert_eq!(verify_url_token(&query, Some("a b&c=d")), Ok(()));
        assert_eq!(
            verify_url_token(&query, Some("other")),
            Err(AuthError::BadUrlToken)
        );
        assert_eq!(redact_url_token(&format!("x=1&{query}")), "x=1&token=***");
        assert_eq!(redact_url_token(""), "");
    }

    #[test]
    fn when_salesforce_id_has_a_valid_checksum_then_it_is_accepted() {
        assert!(is_salesforce_id("00D000000000062"));
        assert!(is_salesforce_id("00D000000000062EAA"));
        assert!(!is_salesforce_id("00D000000000062EAB"));
        assert!(!is_salesforce_id("00D00000000006"));
        assert!(!is_salesforce_id("00D00000000006-EAA"));
    }
}
