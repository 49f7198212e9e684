//! The command line itself: a usage error exits 2, with `--json` as the one JSON document;
//! help and version exit 0.

use serde_json::Value;

fn relay(args: &[&str]) -> std::process::Output {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(args)
        .env_clear()
        .output()
        .expect("relay runs")
}

#[test]
fn when_a_subcommand_is_unknown_with_json_then_the_error_is_the_json_document_and_it_exits_2() {
    let output = relay(&["--json", "dlq", "lst"]);

    assert_eq!(output.status.code(), Some(2));
    let document: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(document["error"]["kind"], "usage");
    let message = document["error"]["message"].as_str().unwrap();
    assert!(message.contains("'lst'"), "{message}");
}

#[test]
fn when_a_subcommand_is_unknown_without_json_then_clap_explains_on_stderr_and_it_exits_2() {
    let output = relay(&["dlq", "lst"]);

    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("'lst'"));
}

#[test]
fn when_help_or_version_is_asked_then_it_prints_and_exits_0() {
    for args in [&["--help"][..], &["--version"], &["--json", "--version"]] {
        let output = relay(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(!output.stdout.is_empty(), "{args:?}");
    }
}
