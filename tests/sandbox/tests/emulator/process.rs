//! The `sandbox` binary: one JSON line on stdout, keys from flags and env, clean SIGTERM exit.

use std::process::Stdio;
use std::time::Duration;

use sandbox::{AdminClient, StartInfo};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

async fn spawn(
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, StartInfo, BufReader<tokio::process::ChildStdout>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sandbox"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for var in [
        "SANDBOX_BRAZE_KEY",
        "SANDBOX_USERFLOW_KEY",
        "SANDBOX_SCIM_TOKEN",
        "SANDBOX_SCIM_ORIGIN",
        "SANDBOX_HUBSPOT_TOKEN",
        "SANDBOX_S3_ENDPOINT",
        "SANDBOX_EXPORT_BUCKET",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sandbox binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(20), stdout.read_line(&mut line))
        .await
        .expect("start line in time")
        .expect("stdout readable");
    let info: StartInfo = serde_json::from_str(line.trim()).expect("one JSON line");
    (child, info, stdout)
}

fn assert_loopback_url(url: &str) {
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a loopback URL: {url}"));
    assert!(port.parse::<u16>().expect("port") > 0);
}

#[tokio::test]
async fn when_the_binary_starts_then_it_prints_one_json_line_and_exits_cleanly_on_sigterm() {
    let (mut child, info, mut stdout) = spawn(&[], &[]).await;
    for url in [&info.braze, &info.userflow, &info.admin, &info.hubspot_url] {
        assert_loopback_url(url);
    }
    assert_ne!(info.braze, info.userflow);
    assert_ne!(info.userflow, info.admin);
    assert_ne!(info.hubspot_url, info.userflow);
    assert_ne!(info.hubspot_url, info.admin);
    assert_eq!(info.hubspot_token, "sandbox-hubspot-token");
    AdminClient::new(&info.admin)
        .health()
        .await
        .expect("admin answers");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().expect("pid").to_string()])
        .status()
        .await
        .expect("kill runs");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits in time")
        .expect("exit status");
    assert!(exit.success(), "{exit:?}");
    let mut rest = String::new();
    stdout
        .read_to_string(&mut rest)
        .await
        .expect("stdout drained");
    assert_eq!(rest, "", "nothing else on stdout");
}

#[tokio::test]
async fn when_keys_come_from_env_and_flags_then_the_start_line_reports_them() {
    let (_child, info, _stdout) = spawn(
        &["--braze-key", "flag-braze", "--scim-origin", "flag-origin"],
        &[
            ("SANDBOX_USERFLOW_KEY", "env-userflow"),
            ("SANDBOX_SCIM_TOKEN", "env-scim"),
            ("SANDBOX_HUBSPOT_TOKEN", "env-hubspot"),
        ],
    )
    .await;
    assert_eq!(info.braze_key, "flag-braze");
    assert_eq!(info.userflow_key, "env-userflow");
    assert_eq!(info.scim_token, "env-scim");
    assert_eq!(info.scim_origin, "flag-origin");
    assert_eq!(info.hubspot_token, "env-hubspot");
    let answer = reqwest::Client::new()
        .get(format!("{}/users/u1", info.userflow))
        .bearer_auth("env-userflow")
        .send()
        .await
        .expect("userflow answers");
    assert_eq!(answer.status(), 404);
    let hubspot = reqwest::Client::new()
        .get(format!("{}/crm/v3/objects/contacts/1", info.hubspot_url))
        .bearer_auth("env-hubspot")
        .send()
        .await
        .expect("hubspot answers");
    assert_eq!(hubspot.status(), 404);
}

#[tokio::test]
async fn when_export_bucket_is_given_by_env_then_the_admin_api_reports_the_storage() {
    let (_child, info, _stdout) = spawn(
        &["--s3-endpoint", "http://localhost:9"],
        &[("SANDBOX_EXPORT_BUCKET", "exports")],
    )
    .await;
    let storage = AdminClient::new(&info.admin)
        .export_storage()
        .await
        .expect("admin")
        .expect("configured");
    assert_eq!(storage.bucket, "exports");
    assert_eq!(storage.endpoint.as_deref(), Some("http://localhost:9"));
    assert_eq!(storage.region, "us-east-1");
}

#[tokio::test]
async fn when_the_sandbox_shuts_down_then_its_listeners_stop_answering() {
    let env = crate::common::Env::start().await;
    env.admin.health().await.expect("running");
    let braze = env.info.braze.clone();
    let crate::common::Env { sandbox, admin, .. } = env;
    tokio::time::timeout(Duration::from_secs(10), sandbox.shutdown())
        .await
        .expect("shutdown in time");
    assert!(admin.health().await.is_err());
    let braze_down = reqwest::Client::new()
        .post(format!("{braze}/users/track"))
        .send()
        .await;
    assert!(braze_down.is_err());
}
