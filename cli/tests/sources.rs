//! `relay sources` end to end: the binary with a deployed relay's variables (the sandbox's),
//! some secrets left out, in text and `--json`.

mod common;

use std::collections::HashMap;

use common::relay;
use relay_tests::webhooks::{PUBLIC_URL, relay_variables};
use sandbox::SandboxConfig;
use serde_json::Value;

/// A deployed relay's variables, without `removed`, plus `added`.
async fn variables(removed: &[&str], added: &[(&str, &str)]) -> HashMap<String, String> {
    let sandbox = sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let mut vars = relay_variables(sandbox.info());
    sandbox.shutdown().await;
    for name in removed {
        vars.remove(*name);
    }
    for (name, value) in added {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    vars
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The line of the text listing that starts with `name`.
fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{text}"))
}

#[tokio::test]
async fn when_a_secret_is_missing_then_its_source_is_listed_disabled_with_the_variable() {
    let vars = variables(&["PIPEDRIVE_WEBHOOK_PASSWORD"], &[]).await;
    let output = relay(&["sources"], &vars).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    for name in ["standard-webhooks", "hubspot", "salesforce-outbound"] {
        let row = line(&text, name);
        assert!(row.ends_with("  enabled"), "{row}");
        assert!(
            row.contains(&format!("{PUBLIC_URL}/webhooks/{name}")),
            "{row}"
        );
    }
    let pipedrive = line(&text, "pipedrive");
    assert!(
        pipedrive
            .contains("disabled: source pipedrive is not enabled: set PIPEDRIVE_WEBHOOK_PASSWORD"),
        "{pipedrive}"
    );
    assert!(
        pipedrive.contains(&format!("{PUBLIC_URL}/webhooks/pipedrive")),
        "{pipedrive}"
    );
}

#[tokio::test]
async fn when_listed_as_json_then_every_source_has_its_scheme_state_reason_and_url() {
    let vars = variables(&["SALESFORCE_URL_TOKEN"], &[]).await;
    let output = relay(&["sources", "--json"], &vars).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let document: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    let sources = document["sources"].as_array().expect("sources array");
    let names: Vec<&str> = sources.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "hubspot",
            "pipedrive",
            "salesforce-outbound",
            "standard-webhooks"
        ]
    );
    for source in sources {
        let name = source["name"].as_str().unwrap();
        assert_eq!(
            source["scheme"], name,
            "the built-in sources are named after their scheme"
        );
        assert_eq!(source["url"], format!("{PUBLIC_URL}/webhooks/{name}"));
        assert_eq!(source["unauthenticated"], false, "{source}");
        let enabled = name != "salesforce-outbound";
        assert_eq!(source["enabled"], enabled, "{source}");
        assert_eq!(source.get("reason").is_some(), !enabled, "{source}");
    }
    let salesforce = &sources[2];
    let reason = salesforce["reason"].as_str().unwrap();
    assert!(reason.contains("set SALESFORCE_URL_TOKEN"), "{reason}");
}

#[tokio::test]
async fn when_a_source_allows_unauthenticated_messages_then_it_is_marked() {
    let vars = variables(
        &["SALESFORCE_URL_TOKEN"],
        &[(
            "RELAY_SOURCES",
            r#"{"salesforce-outbound": {"allow_unauthenticated": true}}"#,
        )],
    )
    .await;
    let output = relay(&["--json", "sources"], &vars).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let marked: Vec<&str> = document["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["unauthenticated"] == true)
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(marked, ["salesforce-outbound"]);
    let text = stdout(&relay(&["sources"], &vars).await);
    assert!(
        line(&text, "salesforce-outbound").contains("enabled, UNAUTHENTICATED"),
        "{text}"
    );
}

#[tokio::test]
async fn when_relay_public_url_is_unset_then_urls_are_left_out_and_a_note_says_so() {
    let vars = variables(&["RELAY_PUBLIC_URL"], &[]).await;
    let output = relay(&["sources"], &vars).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains(
            "RELAY_PUBLIC_URL is not set: each source's URL is RELAY_PUBLIC_URL/webhooks/<source>."
        ),
        "{text}"
    );
    // HubSpot signs its URL, so without one it is not enabled either.
    assert!(
        line(&text, "hubspot").contains("set RELAY_PUBLIC_URL (or public_url in RELAY_SOURCES)"),
        "{text}"
    );
    let document: Value =
        serde_json::from_slice(&relay(&["sources", "--json"], &vars).await.stdout).unwrap();
    for source in document["sources"].as_array().unwrap() {
        assert!(source.get("url").is_none(), "{source}");
    }
}

#[tokio::test]
async fn when_relay_sources_does_not_parse_then_it_exits_2_naming_the_variable() {
    let vars = variables(&[], &[("RELAY_SOURCES", r#"{"hubspot": {"mapping": "#)]).await;
    let output = relay(&["sources"], &vars).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: RELAY_SOURCES: "), "{stderr}");
    let output = relay(&["sources", "--json"], &vars).await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["error"]["kind"], "configuration");
    assert_eq!(document["error"]["variable"], "RELAY_SOURCES");
}
