//! What crm-signup's cold start logs about its sources: a source that accepts requests without
//! a secret (only when its configuration says so) is named in one WARN line, and each source
//! not enabled in one INFO line saying what to set (which its callers are never told).

mod common;

use common::*;
use relay_tests::webhooks::*;

#[tokio::test]
async fn when_salesforce_opts_out_of_its_url_token_then_the_cold_start_warns_once_naming_it() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The only test of this binary, so the subscriber can be global (see logs.rs).
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let stack = Stack::start_with(|vars| {
        vars.remove("SALESFORCE_URL_TOKEN");
        vars.remove("PIPEDRIVE_WEBHOOK_PASSWORD");
        let sources = serde_json::json!({"salesforce-outbound": {"allow_unauthenticated": true}});
        vars.insert("RELAY_SOURCES".into(), sources.to_string());
    })
    .await;
    let xml = salesforce_xml(SALESFORCE_ORG, &[("04l1", "0035e00000A1", "a@example.com")]);
    let answer = stack
        .call(salesforce_message(&xml).query("").request())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let logs = captured.text();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("organization id"))
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(
        warnings[0].contains("source=salesforce-outbound")
            && warnings[0].contains("only by the organization id"),
        "{}",
        warnings[0]
    );
    let not_enabled: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("source not enabled"))
        .collect();
    assert_eq!(not_enabled.len(), 1, "{logs}");
    assert!(
        not_enabled[0].contains("source=\"pipedrive\"")
            && not_enabled[0].contains("PIPEDRIVE_WEBHOOK_PASSWORD"),
        "{}",
        not_enabled[0]
    );
    for secret in [
        SALESFORCE_ORG,
        HUBSPOT_SECRET,
        STANDARD_SECRET,
        PIPEDRIVE_PASSWORD,
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` appears in the logs:\n{logs}"
        );
    }
}
