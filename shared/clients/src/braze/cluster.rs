//! Braze's cluster table and the configured REST endpoint.
//!
//! A Braze workspace lives on one cluster, and a REST key only works against that cluster's
//! host: the wrong one answers 401, which looks exactly like a bad key. Knowing the table lets
//! the client refuse typos up front and name the cluster when a key is rejected.

use std::fmt;

use super::error::BrazeError;

/// One Braze cluster: its name as the dashboard shows it, its REST host and its dashboard host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cluster {
    /// Braze's name for the cluster, e.g. `US-03`.
    pub name: &'static str,
    /// Host of the REST API, e.g. `rest.iad-03.braze.com`.
    pub rest_host: &'static str,
    /// Host of the dashboard, e.g. `dashboard-03.braze.com`.
    pub dashboard_host: &'static str,
}

/// Every cluster Braze documents. There is no US-09, and the EU hosts are `fra-0N.braze.eu`.
pub const CLUSTERS: &[Cluster] = &[
    cluster("US-01", "rest.iad-01.braze.com", "dashboard-01.braze.com"),
    cluster("US-02", "rest.iad-02.braze.com", "dashboard-02.braze.com"),
    cluster("US-03", "rest.iad-03.braze.com", "dashboard-03.braze.com"),
    cluster("US-04", "rest.iad-04.braze.com", "dashboard-04.braze.com"),
    cluster("US-05", "rest.iad-05.braze.com", "dashboard-05.braze.com"),
    cluster("US-06", "rest.iad-06.braze.com", "dashboard-06.braze.com"),
    cluster("US-07", "rest.iad-07.braze.com", "dashboard-07.braze.com"),
    cluster("US-08", "rest.iad-08.braze.com", "dashboard-08.braze.com"),
    cluster("US-10", "rest.us-10.braze.com", "dashboard.us-10.braze.com"),
    cluster("EU-01", "rest.fra-01.braze.eu", "dashboard-01.braze.eu"),
    cluster("EU-02", "rest.fra-02.braze.eu", "dashboard-02.braze.eu"),
    cluster("AU-01", "rest.au-01.braze.com", "dashboard.au-01.braze.com"),
    cluster("ID-01", "rest.id-01.braze.com", "dashboard.id-01.braze.com"),
    cluster("JP-01", "rest.jp-01.braze.com", "dashboard.jp-01.braze.com"),
    cluster("KR-01", "rest.kr-01.braze.com", "dashboard.kr-01.braze.com"),
];

const fn cluster(
    name: &'static str,
    rest_host: &'static str,
    dashboard_host: &'static str,
) -> Cluster {
    Cluster {
        name,
        rest_host,
        dashboard_host,
    }
}

impl Cluster {
    /// The cluster whose REST host is `host` (case-insensitive).
    pub fn by_rest_host(host: &str) -> Option<&'static Cluster> {
        CLUSTERS
            .iter()
            .find(|c| c.rest_host.eq_ignore_ascii_case(host))
    }

    /// The cluster named `name` (`US-03`, `eu-01`; case-insensitive).
    pub fn by_name(name: &str) -> Option<&'static Cluster> {
        CLUSTERS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The REST base URL, `https://<rest_host>`.
    pub fn rest_url(&self) -> String {
        format!("https://{}", self.rest_host)
    }
}

impl fmt::Display for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The REST endpoint a client talks to: a normalised base URL (scheme, host, port and, for
/// custom endpoints only, a path prefix; never a trailing slash) plus the cluster it serves
/// when known.
///
/// Built by [`BrazeEndpoint::parse`], which refuses hosts that are not Braze clusters unless
/// custom endpoints are explicitly allowed (the sandbox, a proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrazeEndpoint {
    base: String,
    host: String,
    cluster: Option<&'static Cluster>,
}

impl BrazeEndpoint {
    /// Parses a configured REST endpoint.
    ///
    /// Accepts a URL (`https://rest.iad-01.braze.com/`) or a bare host
    /// (`rest.iad-01.braze.com`, taken as https). Paths, queries and trailing slashes are
    /// dropped for cluster hosts, because Braze answers 403 to `/users/track/`. A host outside
    /// the cluster table is refused with [`BrazeError::EndpointNotAllowed`] unless
    /// `allow_custom` is true; a custom endpoint keeps its path prefix (a proxy may mount
    /// Braze under one) up to any Braze API segment (`/users`, `/export`, `/scim`), without
    /// trailing slashes. Cluster hosts must use https on the default
    /// port.
    pub fn parse(configured: &str, allow_custom: bool) -> Result<BrazeEndpoint, BrazeError> {
        let trimmed = configured.trim();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let refused = |reason: &str| BrazeError::EndpointNotAllowed {
            endpoint: redact_userinfo(trimmed),
            reason: reason.to_owned(),
        };
        let url = url::Url::parse(&with_scheme).map_err(|_| refused("it is not a valid URL"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(refused("only http(s) URLs are accepted"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused(
                "credentials in the URL are not accepted; the key is sent as a Bearer header",
            ));
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(refused("it has no host"));
        };
        if let Some(cluster) = Cluster::by_rest_host(host) {
            if url.scheme() != "https" || url.port().is_some() {
                return Err(refused(&format!(
                    "{} ({}) is only reachable over https on the default port",
                    cluster.name, cluster.rest_host
                )));
            }
            return Ok(BrazeEndpoint::for_cluster(cluster));
        }
        if !allow_custom {
            return Err(BrazeError::EndpointNotAllowed {
                endpoint: redact_userinfo(trimmed),
                reason: format!(
                    "`{host}` is not a Braze REST host (known: {}); to use a sandbox or proxy, \
                     allow custom endpoints explicitly (allow_custom = true, e.g. \
                     BRAZE_ALLOW_CUSTOM_ENDPOINT=true)",
                    CLUSTERS
                        .iter()
                        .map(|c| c.rest_host)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let host_port = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let prefix = base_path(url.path());
        Ok(BrazeEndpoint {
            base: format!("{}://{host_port}{prefix}", url.scheme()),
            host: host_port,
            cluster: None,
        })
    }

    /// The endpoint of a known cluster.
    pub fn for_cluster(cluster: &'static Cluster) -> BrazeEndpoint {
        BrazeEndpoint {
            base: cluster.rest_url(),
            host: cluster.rest_host.to_owned(),
            cluster: Some(cluster),
        }
    }

    /// A custom endpoint (an egress proxy, a recording sandbox) that forwards to `cluster`:
    /// requests go to `proxy_url`, errors name the cluster. The URL is parsed as a custom
    /// endpoint (see [`BrazeEndpoint::parse`]); the caller opts in by calling this.
    pub fn proxied(
        proxy_url: &str,
        cluster: &'static Cluster,
    ) -> Result<BrazeEndpoint, BrazeError> {
        let mut endpoint = BrazeEndpoint::parse(proxy_url, true)?;
        endpoint.cluster = Some(cluster);
        endpoint.host = cluster.rest_host.to_owned();
        Ok(endpoint)
    }

    /// The normalised base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The host (with port when not the default) that errors name: the cluster's REST host
    /// when known, else the configured host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The cluster, when the endpoint is (or forwards to) a known one.
    pub fn cluster(&self) -> Option<&'static Cluster> {
        self.cluster
    }

    /// What to call this endpoint in messages: the cluster name, else the host.
    pub fn label(&self) -> &str {
        self.cluster.map_or(self.host.as_str(), |c| c.name)
    }

    /// The full URL of `path` (which starts with `/` and has no trailing slash).
    pub fn url(&self, path: &str) -> String {
        debug_assert!(path.starts_with('/') && !path.ends_with('/'));
        format!("{}{path}", self.base)
    }
}

impl fmt::Display for BrazeEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cluster {
            Some(cluster) => write!(f, "{} ({})", cluster.name, self.base),
            None => f.write_str(&self.base),
        }
    }
}

/// The path prefix kept for a custom endpoint: up to (not including) a Braze API segment
/// (`/users`, `/export`, `/scim`: someone pasted an endpoint URL), without trailing slashes.
fn base_path(path: &str) -> String {
    let mut kept = Vec::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if matches!(segment, "users" | "export" | "scim") {
            break;
        }
        kept.push(segment);
    }
    kept.iter().map(|s| format!("/{s}")).collect()
}

/// Removes `user:password@` from a URL-ish string before it goes into an error message.
fn redact_userinfo(configured: &str) -> String {
    let (scheme, rest) = configured
        .split_once("://")
        .map_or(("", configured), |(s, r)| (s, r));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    if scheme.is_empty() {
        rest.to_owned()
    } else {
        format!("{scheme}://{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_every_documented_host_is_configured_then_it_resolves_to_its_cluster() {
        #[rustfmt::skip]
        let documented = [
            ("US-01", "rest.iad-01.braze.com", "dashboard-01.braze.com"),
            ("US-02", "rest.iad-02.braze.com", "dashboard-02.braze.com"),
            ("US-03", "rest.iad-03.braze.com", "dashboard-03.braze.com"),
            ("US-04", "rest.iad-04.braze.com", "dashboard-04.braze.com"),
            ("US-05", "rest.iad-05.braze.com", "dashboard-05.braze.com"),
            ("US-06", "rest.iad-06.braze.com", "dashboard-06.braze.com"),
            ("US-07", "rest.iad-07.braze.com", "dashboard-07.braze.com"),
            ("US-08", "rest.iad-08.braze.com", "dashboard-08.braze.com"),
            ("US-10", "rest.us-10.braze.com", "dashboard.us-10.braze.com"),
            ("EU-01", "rest.fra-01.braze.eu", "dashboard-01.braze.eu"),
            ("EU-02", "rest.fra-02.braze.eu", "dashboard-02.braze.eu"),
            ("AU-01", "rest.au-01.braze.com", "dashboard.au-01.braze.com"),
            ("ID-01", "rest.id-01.braze.com", "dashboard.id-01.braze.com"),
            ("JP-01", "rest.jp-01.braze.com", "dashboard.jp-01.braze.com"),
            ("KR-01", "rest.kr-01.braze.com", "dashboard.kr-01.braze.com"),
        ];
        assert_eq!(CLUSTERS.len(), documented.len());
        for (name, rest, dashboard) in documented {
            let endpoint = BrazeEndpoint::parse(&format!("https://{rest}"), false)
                .unwrap_or_else(|e| panic!("{rest}: {e}"));
            let cluster = endpoint.cluster().expect(rest);
            assert_eq!(cluster.name, name);
            assert_eq!(cluster.dashboard_host, dashboard);
            assert_eq!(endpoint.base_url(), format!("https://{rest}"));
            assert_eq!(Cluster::by_name(name), Some(cluster));
        }
    }

    #[test]
    fn when_an_unknown_host_is_configured_then_it_is_refused_naming_the_host() {
        for configured in [
            "https://rest.iad-09.braze.com",
            "https://rest.eu-01.braze.eu",
            "https://rest.iad-01.braze.com.evil.example",
            "http://127.0.0.1:8080",
        ] {
            let err = BrazeEndpoint::parse(configured, false).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, BrazeError::EndpointNotAllowed { .. }),
                "{configured}"
            );
            let host = url::Url::parse(configured)
                .unwrap()
                .host_str()
                .unwrap()
                .to_owned();
            assert!(message.contains(&host), "{message}");
            assert!(message.contains("allow custom endpoints"), "{message}");
        }
    }

    #[test]
    fn when_custom_endpoints_are_allowed_then_a_sandbox_url_is_kept_without_trailing_slash() {
        let endpoint = BrazeEndpoint::parse("http://127.0.0.1:8080/", true).unwrap();
        assert_eq!(endpoint.base_url(), "http://127.0.0.1:8080");
        assert_eq!(endpoint.cluster(), None);
        assert_eq!(endpoint.label(), "127.0.0.1:8080");
        assert_eq!(
            endpoint.url("/users/track"),
            "http://127.0.0.1:8080/users/track"
        );

        let proxy = BrazeEndpoint::parse("https://proxy.internal/braze//", true).unwrap();
        assert_eq!(
            proxy.url("/users/delete"),
            "https://proxy.internal/braze/users/delete"
        );

        let pasted = BrazeEndpoint::parse("http://127.0.0.1:8080/users/track/", true).unwrap();
        assert_eq!(
            pasted.url("/users/track"),
            "http://127.0.0.1:8080/users/track"
        );
        let pasted =
            BrazeEndpoint::parse("https://proxy.internal/braze/scim/v2/Users", true).unwrap();
        assert_eq!(pasted.base_url(), "https://proxy.internal/braze");
    }

    #[test]
    fn when_a_cluster_url_has_a_path_or_trailing_slash_then_only_the_origin_is_kept() {
        for configured in [
            "https://rest.iad-03.braze.com/",
            "https://rest.iad-03.braze.com/users/track/",
            "https://REST.IAD-03.braze.com?x=1",
            "rest.iad-03.braze.com",
            "  https://rest.iad-03.braze.com//  ",
        ] {
            let endpoint = BrazeEndpoint::parse(configured, false).unwrap();
            assert_eq!(
                endpoint.url("/users/track"),
                "https://rest.iad-03.braze.com/users/track"
            );
            assert_eq!(endpoint.label(), "US-03");
        }
    }

    #[test]
    fn when_a_cluster_host_is_used_over_http_or_another_port_then_it_is_refused() {
        for configured in [
            "http://rest.iad-01.braze.com",
            "https://rest.iad-01.braze.com:8443",
        ] {
            let err = BrazeEndpoint::parse(configured, true).unwrap_err();
            assert!(err.to_string().contains("https"), "{err}");
        }
    }

    #[test]
    fn when_a_url_carries_credentials_then_they_never_reach_the_error() {
        let err = BrazeEndpoint::parse("https://user:hunter2@example.com", false).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn when_a_proxy_forwards_to_a_cluster_then_errors_name_the_cluster() {
        let cluster = Cluster::by_name("eu-02").unwrap();
        let endpoint = BrazeEndpoint::proxied("http://127.0.0.1:9/", cluster).unwrap();
        assert_eq!(
            endpoint.url("/users/track"),
            "http://127.0.0.1:9/users/track"
        );
        assert_eq!(endpoint.label(), "EU-02");
        assert_eq!(endpoint.host(), "rest.fra-02.braze.eu");
    }
}
