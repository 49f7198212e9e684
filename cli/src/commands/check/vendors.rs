//! The vendor checks: Braze (endpoint, key), Userflow (key), HubSpot (token, when set). Each
//! makes at most one read-only call through relay-clients.

use futures::StreamExt;
use relay_clients::braze::{BrazeClient, BrazeConfig, BrazeEndpoint, BrazeError};
use relay_clients::hubspot::{HubspotClient, HubspotConfig};
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_clients::userflow::{ListUsers, PageSize, UserflowClient};
use relay_core::config::VendorConfig;
use relay_core::crm::sources::{DEFAULT_HUBSPOT_API_URL, HUBSPOT_API_BASE_URL};

use super::{Row, check_retry};
use crate::Settings;

const BRAZE_ENDPOINT: &str = "braze endpoint";
const BRAZE_KEY: &str = "braze key";
const USERFLOW_KEY: &str = "userflow key";
const HUBSPOT_TOKEN: &str = "hubspot token";

/// A HubSpot contact id no portal is meant to have: the token check reads it (404 is fine).
const HUBSPOT_PROBE_ID: &str = "0";

/// `braze endpoint` and `braze key`.
pub(super) async fn braze(settings: &Settings) -> Vec<Row> {
    let env = settings.env();
    let endpoint = match (
        settings.required("BRAZE_REST_ENDPOINT"),
        env.flag("BRAZE_ALLOW_CUSTOM_ENDPOINT"),
    ) {
        (Err(error), _) | (_, Err(error)) => Err(Row::setting(BRAZE_ENDPOINT, error)),
        (Ok(configured), Ok(allow_custom)) => BrazeEndpoint::parse(configured, allow_custom)
            .map_err(|error| Row::setting(BRAZE_ENDPOINT, format!("BRAZE_REST_ENDPOINT: {error}"))),
    };
    let endpoint = match endpoint {
        Ok(endpoint) => endpoint,
        Err(row) => {
            return vec![
                row,
                Row::fail(BRAZE_KEY, "not checked: the endpoint is not usable"),
            ];
        }
    };
    let endpoint_row = Row::pass(
        BRAZE_ENDPOINT,
        match endpoint.cluster() {
            Some(cluster) => format!("{} ({})", cluster.name, cluster.rest_host),
            None => format!(
                "custom endpoint {} (allowed by BRAZE_ALLOW_CUSTOM_ENDPOINT)",
                endpoint.base_url()
            ),
        },
    );
    let label = endpoint.label().to_owned();
    let key = match settings
        .secrets()
        .resolve_setting(&env, "BRAZE_API_KEY")
        .await
    {
        Ok(key) => key,
        Err(error) => return vec![endpoint_row, Row::setting(BRAZE_KEY, error)],
    };
    let mut config = BrazeConfig::new(endpoint, key);
    config.retry = check_retry();
    let client = match BrazeClient::new(config, http_client(HttpTimeouts::default())) {
        Ok(client) => client,
        Err(error) => {
            return vec![
                endpoint_row,
                Row::setting(BRAZE_KEY, format!("BRAZE_API_KEY: {error}")),
            ];
        }
    };
    let key_row = match client.check_key().await {
        Ok(()) => Row::pass(BRAZE_KEY, format!("key accepted by {label}")),
        Err(error @ BrazeError::KeyRejected { .. }) => Row::fail(BRAZE_KEY, error.to_string()),
        Err(BrazeError::PermissionDenied { permission, .. }) => Row::pass(
            BRAZE_KEY,
            format!(
                "key accepted by {label}, but it lacks the `{permission}` permission this check reads with"
            ),
        ),
        Err(error) => Row::fail(BRAZE_KEY, error.to_string()),
    };
    vec![endpoint_row, key_row]
}

/// `userflow key`: lists one user.
pub(super) async fn userflow(settings: &Settings) -> Row {
    let env = settings.env();
    let mut config = match VendorConfig::userflow_from_env(&env, &settings.secrets()).await {
        Ok(config) => config,
        Err(error) => return Row::setting(USERFLOW_KEY, error),
    };
    config.retry = check_retry();
    let client = match UserflowClient::new(config, http_client(HttpTimeouts::default())) {
        Ok(client) => client,
        Err(error) => return Row::setting(USERFLOW_KEY, format!("USERFLOW_*: {error}")),
    };
    let page = PageSize::new(1).unwrap_or_default();
    let first = client
        .list_users(ListUsers::default().with_page_size(page))
        .next()
        .await;
    match first {
        None | Some(Ok(_)) => Row::pass(
            USERFLOW_KEY,
            format!("key accepted by {}", client.base_url()),
        ),
        Some(Err(error)) => Row::fail(USERFLOW_KEY, error.to_string()),
    }
}

/// `hubspot token`, only when `HUBSPOT_ACCESS_TOKEN` (or `_SECRET`) is set: reads one contact
/// id (found or not, the token was accepted).
pub(super) async fn hubspot(settings: &Settings) -> Option<Row> {
    if settings.get("HUBSPOT_ACCESS_TOKEN").is_none()
        && settings.get("HUBSPOT_ACCESS_TOKEN_SECRET").is_none()
    {
        return None;
    }
    let env = settings.env();
    let token = match settings
        .secrets()
        .resolve_setting(&env, "HUBSPOT_ACCESS_TOKEN")
        .await
    {
        Ok(token) => token,
        Err(error) => return Some(Row::setting(HUBSPOT_TOKEN, error)),
    };
    let base_url = settings
        .get(HUBSPOT_API_BASE_URL)
        .unwrap_or(DEFAULT_HUBSPOT_API_URL);
    let mut config = HubspotConfig::new(base_url, token);
    config.retry = check_retry();
    let client = match HubspotClient::new(config, http_client(HttpTimeouts::default())) {
        Ok(client) => client,
        Err(error) => {
            return Some(Row::setting(
                HUBSPOT_TOKEN,
                format!("HUBSPOT_ACCESS_TOKEN or {HUBSPOT_API_BASE_URL}: {error}"),
            ));
        }
    };
    Some(match client.get_contact(HUBSPOT_PROBE_ID, &[]).await {
        Ok(_) => Row::pass(
            HUBSPOT_TOKEN,
            format!("token accepted by {}", client.base_url()),
        ),
        Err(error) => Row::fail(HUBSPOT_TOKEN, error.to_string()),
    })
}
