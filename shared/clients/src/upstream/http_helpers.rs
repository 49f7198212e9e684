//! HTTP helpers every vendor client shares: the reqwest client, base URLs and path encoding,
//! the bearer header, JSON request bodies and reading a fully received response.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use super::error::{DecodeError, RedactedBody};

/// A successful (2xx) response, fully read. `Debug` shows the body's size only.
#[derive(Clone)]
pub struct Response {
    /// The 2xx status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The undecoded body (may hold personal data: never log it).
    pub body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &RedactedBody(&self.body))
            .finish()
    }
}

impl Response {
    /// Decodes the body as JSON; on failure the error names the JSON path that did not fit.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, DecodeError> {
        decode_json(&self.body)
    }
}

/// Decodes JSON bytes, reporting the path of the first value that did not fit.
pub fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(DecodeError::from)
}

/// Whether a Content-Type names JSON (`application/json`, `application/problem+json`, ...).
pub fn is_json_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// Timeouts for the HTTP client every vendor client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// One whole attempt, body included.
    pub request: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            connect: Duration::from_secs(3),
            request: Duration::from_secs(30),
        }
    }
}

/// The reqwest client vendor clients share: our user agent, bounded timeouts, pooled
/// connections. Build it once per process (in `main`) and clone it into each client.
///
/// It trusts Mozilla's root certificates compiled into the binary (`webpki-root-certs`)
/// rather than the platform's: loading the system store reads every file of the certificate
/// directory at cold start, which made up a third of crm-signup's init time. Braze,
/// Userflow and HubSpot all use public CAs.
pub fn http_client(timeouts: HttpTimeouts) -> reqwest::Client {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok());
    reqwest::Client::builder()
        .user_agent(concat!("lifecycle-relay/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .tls_certs_only(roots)
        .build()
        .expect("a client with only timeouts, a user agent and valid roots always builds")
}

/// Serialises a request body once, so every attempt resends the same bytes.
pub fn json_bytes<T: serde::Serialize + ?Sized>(value: &T) -> Result<Bytes, serde_json::Error> {
    serde_json::to_vec(value).map(Bytes::from)
}

/// Why a configured credential cannot be sent as a `Authorization: Bearer` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadCredential {
    /// Empty or only whitespace.
    Empty,
    /// Holds characters an HTTP header cannot carry (a newline pasted with the key).
    NotHeaderSafe,
}

/// `Bearer <secret>` as a header value marked sensitive, so it never shows in debug output.
/// Checked once when a client is built: a bad key is a configuration error, not something
/// every request discovers (and retries).
pub fn bearer_header(secret: &SecretString) -> Result<HeaderValue, BadCredential> {
    let token = secret.expose_secret().trim();
    if token.is_empty() {
        return Err(BadCredential::Empty);
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| BadCredential::NotHeaderSafe)?;
    value.set_sensitive(true);
    Ok(value)
}

/// A vendor API's base URL, checked once: http(s), a host, no query or fragment, no
/// trailing slash; a path prefix (a sandbox mounted under `/userflow`) is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    base: String,
    origin: String,
}

impl BaseUrl {
    /// Parses a configured base URL; the error says what is wrong, never quoting the URL.
    pub fn parse(raw: &str) -> Result<BaseUrl, &'static str> {
        let trimmed = raw.trim().trim_end_matches('/');
        let url = url::Url::parse(trimmed).map_err(|_| "base URL is not a valid URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("base URL must be http or https");
        }
        if url.host_str().is_none() {
            return Err("base URL has no host");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("base URL must not have a query or fragment");
        }
        let origin = url.origin().ascii_serialization();
        let path = url.path().trim_end_matches('/');
        Ok(BaseUrl {
            base: format!("{origin}{path}"),
            origin,
        })
    }

    /// The normalised URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `scheme://host[:port]`, to recognise the vendor's own absolute URLs.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The base URL + each segment percent-encoded as one path segment + an encoded query.
    pub fn join(&self, segments: &[&str], query: &[(&str, &str)]) -> String {
        let mut url = self.base.clone();
        for segment in segments {
            url.push('/');
            url.push_str(&encode_component(segment));
        }
        for (index, (key, value)) in query.iter().enumerate() {
            url.push(if index == 0 { '?' } else { '&' });
            url.push_str(&encode_component(key));
            url.push('=');
            url.push_str(&encode_component(value));
        }
        url
    }
}

/// Percent-encodes everything but `A-Z a-z 0-9 - . _ *`, so a value is safe as one path
/// segment or query component (a space becomes `%20`, never `+`).
pub fn encode_component(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_content_type_varies_then_only_json_counts() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/problem+json"));
        assert!(!is_json_content_type("text/html"));
        assert!(!is_json_content_type("text/plain; charset=utf-8"));
    }

    #[test]
    fn when_base_url_has_trailing_slashes_then_they_are_dropped() {
        let base = BaseUrl::parse("https://api.userflow.com//").unwrap();
        assert_eq!(base.as_str(), "https://api.userflow.com");
        assert_eq!(base.origin(), "https://api.userflow.com");
        let base = BaseUrl::parse(" http://127.0.0.1:9000/userflow/ ").unwrap();
        assert_eq!(base.as_str(), "http://127.0.0.1:9000/userflow");
        assert_eq!(base.origin(), "http://127.0.0.1:9000");
        assert_eq!(
            BaseUrl::parse("https://rest.iad-01.braze.com/")
                .unwrap()
                .as_str(),
            "https://rest.iad-01.braze.com"
        );
    }

    #[test]
    fn when_base_url_is_unusable_then_it_is_refused() {
        for raw in [
            "",
            "api.userflow.com",
            "ftp://x",
            "https://x/?a=1",
            "https://x/#f",
        ] {
            assert!(BaseUrl::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn when_segments_and_query_are_joined_then_each_is_encoded_once() {
        let base = BaseUrl::parse("http://127.0.0.1:9000/userflow/").unwrap();
        assert_eq!(
            base.join(
                &["users", "a/b c"],
                &[("email", "x+y@z.com"), ("limit", "100")]
            ),
            "http://127.0.0.1:9000/userflow/users/a%2Fb%20c?email=x%2By%40z.com&limit=100"
        );
    }

    #[test]
    fn when_a_component_has_reserved_characters_then_they_are_percent_encoded() {
        assert_eq!(encode_component("a/b c+d?e#f%"), "a%2Fb%20c%2Bd%3Fe%23f%25");
        assert_eq!(encode_component("crm-42_x.y"), "crm-42_x.y");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn when_a_credential_is_empty_or_not_header_safe_then_no_header_is_built() {
        let secret = |s: &str| SecretString::from(s.to_owned());
        assert_eq!(bearer_header(&secret("  ")), Err(BadCredential::Empty));
        assert_eq!(
            bearer_header(&secret("ak_1\nX-Evil: 1")),
            Err(BadCredential::NotHeaderSafe)
        );
        let value = bearer_header(&secret(" ak_1 ")).unwrap();
        assert_eq!(value, "Bearer ak_1");
        assert!(value.is_sensitive());
    }
}
