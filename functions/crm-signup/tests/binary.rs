//! The real crm-signup binary against a loopback Lambda Runtime API: what Lambda receives when
//! an event cannot be turned into an HTTP request, and when the configuration is wrong at
//! cold start.

use std::collections::HashMap;
use std::time::Duration;

use relay_tests::runtime_api::{
    Call, FunctionProcess, Invocation, RuntimeApi, assert_config_error_reported,
};
use relay_tests::webhooks::{Event, relay_variables};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_crm-signup");
/// Far above a cold start (milliseconds); only reached when something is broken.
const WAIT: Duration = Duration::from_secs(30);

async fn sandbox_and_variables() -> (Sandbox, HashMap<String, String>) {
    let sandbox = sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let vars = relay_variables(sandbox.info());
    (sandbox, vars)
}

/// A Standard Webhooks event without a signature (the handler answers 401 if reached).
fn webhook() -> Event {
    Event::new("standard-webhooks", "application/json", "{}")
}

/// `event`'s JSON with `isBase64Encoded: true` and `body` as given.
fn with_raw_base64_body(event: &Event, body: &str) -> String {
    let mut json: Value = serde_json::from_str(&event.to_json()).expect("event JSON");
    json["body"] = body.into();
    json["isBase64Encoded"] = true.into();
    json.to_string()
}

/// Waits for the function's answer to `request_id`: its `/response` document, or what it
/// posted instead.
async fn response_to(api: &mut RuntimeApi, request_id: &str) -> Result<Value, String> {
    match api.next_call(WAIT).await {
        Some(Call::Response {
            request_id: id,
            body,
            ..
        }) => {
            assert_eq!(id, request_id, "responses come in invocation order");
            Ok(serde_json::from_slice(&body).expect("the response document is JSON"))
        }
        Some(Call::Error {
            request_id: id,
            error_type,
            body,
            ..
        }) => Err(format!(
            "invocation {id} got /error ({error_type}) instead of a response: {}",
            String::from_utf8_lossy(&body)
        )),
        other => Err(format!(
            "expected the response to {request_id}, got {other:?}"
        )),
    }
}

#[tokio::test]
async fn when_invocations_carry_a_bad_host_proto_or_base64_body_then_each_gets_a_400_response_not_an_error()
 {
    let (_sandbox, vars) = sandbox_and_variables().await;
    // (request id, event JSON, what the problem must name, the bad value it must not echo)
    let cases = [
        (
            "bad-host",
            webhook().header("host", "exa mple.com").to_json(),
            "Host",
            "exa mple.com",
        ),
        (
            "bad-proto",
            webhook().header("x-forwarded-proto", "ht tp").to_json(),
            "X-Forwarded-Proto",
            "ht tp",
        ),
        (
            "bad-base64",
            with_raw_base64_body(&webhook(), "@@@"),
            "base64",
            "@@@",
        ),
    ];
    let mut invocations: Vec<Invocation> = cases
        .iter()
        .map(|(id, json, _, _)| Invocation::new(*id, json.clone()))
        .collect();
    // Then a well-formed event: the handler still runs and answers with its own check.
    invocations.push(Invocation::new("well-formed", webhook().to_json()));
    let mut api = RuntimeApi::start(invocations).await;
    let function = FunctionProcess::spawn(BINARY, &api, &vars);

    let mut answers = Vec::new();
    for (id, _, _, _) in &cases {
        answers.push(response_to(&mut api, id).await);
    }
    let well_formed = response_to(&mut api, "well-formed").await;
    let output = function.stop().await;

    let errors: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let well_formed = well_formed.expect("the well-formed event is answered");
    for ((id, _, names, bad_value), answer) in cases.iter().zip(&answers) {
        let answer = answer.as_ref().expect("checked above");
        assert_eq!(answer["statusCode"], 400, "{id}: {answer}");
        assert_eq!(
            answer["headers"]["content-type"], "application/problem+json",
            "{id}: {answer}"
        );
        let problem: Value = serde_json::from_str(answer["body"].as_str().expect("text body"))
            .expect("problem JSON");
        assert_eq!(
            problem["type"], "urn:lifecycle-relay:problem:malformed-request",
            "{id}: {problem}"
        );
        assert_eq!(problem["status"], 400, "{id}: {problem}");
        let detail = problem["detail"].as_str().expect("a detail");
        assert!(detail.contains(names), "{id}: {detail:?} names {names}");
        assert!(
            !answer.to_string().contains(bad_value),
            "{id}: the answer echoes the bad value: {answer}"
        );
    }
    assert_eq!(well_formed["statusCode"], 401, "{well_formed}");
    assert!(
        !output.stderr.contains("panicked"),
        "no panic: {}",
        output.stderr
    );
    // The handler answered one invocation (the edge the other three): one EMF line on
    // stdout, for the function Lambda names.
    let emf: Vec<Value> = output
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|document| document.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), 1, "stdout: {}", output.stdout);
    let directive = &emf[0]["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "LifecycleRelay");
    assert_eq!(directive["Dimensions"], serde_json::json!([["Function"]]));
    assert_eq!(emf[0]["Function"], "crm-signup");
    for metric in ["Delivered", "Parked", "Rejected", "UpstreamThrottles"] {
        assert_eq!(emf[0][metric], 0, "{metric}: {}", emf[0]);
    }
}

#[tokio::test]
async fn when_state_bucket_is_missing_then_init_error_names_it_and_one_readable_line_is_printed() {
    let (_sandbox, mut vars) = sandbox_and_variables().await;
    vars.remove("STATE_BUCKET");
    assert_config_error_reported(BINARY, &vars, "STATE_BUCKET").await;
}
