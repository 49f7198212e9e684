//! relay-clients' real clients against the sandbox: real HTTP, the emulator's rules, injected
//! faults. Each test starts its own sandbox, so they run in parallel without sharing state.

mod braze;
mod braze_users;
mod scim;
mod userflow;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use relay_clients::braze::scim::{
    NewScimUser, ScimClient, ScimConfig, ScimError, ScimName, ScimUserUpdate,
};
use relay_clients::braze::{
    BrazeClient, BrazeConfig, BrazeEndpoint, BrazeError, BrazeRates, DeleteTarget, ItemOutcome,
    ItemRef, NewAlias, TrackArray, Update, UserAlias, UserAttributes, UserIdentifier,
};
use relay_clients::upstream::{FailureClass, HttpTimeouts, Rate, RetryPolicy, http_client};
use relay_clients::userflow::{
    EventSubject, GroupUpsert, ListUsers, UserflowClient, UserflowConfig, UserflowError,
};
use sandbox::{Api, Bucket, FaultKind, FaultRule, RateLimit, Sandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::json;

fn generous(per_second: u32) -> Rate {
    Rate::per_second(NonZeroU32::new(per_second).unwrap())
}

struct Stack {
    sandbox: Sandbox,
    braze: BrazeClient,
    userflow: UserflowClient,
    scim: ScimClient,
}

impl Stack {
    async fn start() -> Stack {
        Stack::start_with(SandboxConfig::default()).await
    }

    async fn start_with(config: SandboxConfig) -> Stack {
        let sandbox = sandbox::start(config).await.expect("sandbox starts");
        let info = sandbox.info().clone();
        let http = http_client(HttpTimeouts::default());
        let braze = braze_client(&info.braze, &info.braze_key, http.clone());
        let mut userflow_config = UserflowConfig::with_base_url(
            &info.userflow,
            SecretString::from(info.userflow_key.clone()),
        );
        userflow_config.rate = generous(500);
        userflow_config.retry = relay_tests::fast_retry();
        let userflow = UserflowClient::new(userflow_config, http.clone()).expect("userflow client");
        let mut scim_config = ScimConfig::new(
            &info.braze,
            SecretString::from(info.scim_token.clone()),
            &info.scim_origin,
        );
        scim_config.rate = generous(100);
        scim_config.retry = relay_tests::fast_retry();
        let scim = ScimClient::new(scim_config, http).expect("scim client");
        Stack {
            sandbox,
            braze,
            userflow,
            scim,
        }
    }

    fn admin(&self) -> sandbox::AdminClient {
        self.sandbox.admin()
    }
}

fn braze_client(endpoint: &str, key: &str, http: reqwest::Client) -> BrazeClient {
    let endpoint = BrazeEndpoint::parse(endpoint, true).expect("sandbox endpoint allowed");
    let mut config = BrazeConfig::new(endpoint, SecretString::from(key.to_owned()));
    config.rates = BrazeRates {
        track: generous(1_000),
        users: generous(1_000),
        export_ids: generous(1_000),
        export_segment: generous(100),
    };
    config.retry = relay_tests::fast_retry();
    BrazeClient::new(config, http).expect("braze client")
}

fn profile(i: usize) -> UserAttributes {
    let mut attributes = UserAttributes::new(UserIdentifier::external_id(format!("user-{i}")))
        .with_custom("plan", "pro")
        .with_custom("seats", i as i64);
    attributes.email = Update::Set(format!("user{i}@example.com"));
    attributes.country = Update::Set("DE".into());
    attributes
}
