//! The Userflow client against a wiremock server: paths, headers, bodies, pagination, error
//! mapping and the retry rules of the shared upstream policy.

mod answers;
mod errors;
mod pagination;
mod paths;
mod users;

#[path = "../support/mod.rs"]
mod support;

use std::num::NonZeroU32;
use std::time::Duration;

use futures::StreamExt;
use relay_clients::upstream::{FailureClass, HttpTimeouts, Rate, UpstreamError, http_client};
use relay_clients::userflow::{
    AttributeOperation, EventSubject, GroupUpsert, ListUsers, Membership, PageSize, Region,
    UserUpsertBodyWriter, UserflowClient, UserflowConfig, UserflowError, UserflowResource,
};
use serde_json::{Value, json};
use wiremock::matchers::{
    body_json, header, method, path, path_regex, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const API_KEY: &str = "ak_test_0123456789";

fn fixture(name: &str) -> Value {
    support::fixture_json("userflow", name)
}

fn config(base_url: impl Into<String>) -> UserflowConfig {
    UserflowConfig {
        rate: Rate::per_second(NonZeroU32::new(1000).unwrap()),
        retry: support::fast_retry(),
        ..UserflowConfig::with_base_url(base_url, API_KEY.to_owned().into())
    }
}

fn client_for(base_url: impl Into<String>) -> UserflowClient {
    UserflowClient::new(config(base_url), http_client(HttpTimeouts::default())).unwrap()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn header_value<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}
