//! `relay export cancel` while Braze still exports.

use super::*;

#[tokio::test]
async fn when_a_running_export_is_cancelled_then_braze_stops_and_a_second_cancel_exits_1() {
    let stack = Stack::start().await;
    let admin = stack.sandbox.admin();
    admin
        .set_export_settings(ExportSettingsPatch {
            users_per_file: Some(5),
            file_delay_ms: Some(2_000),
            ..ExportSettingsPatch::default()
        })
        .await
        .unwrap();
    stack.seed("seg", 30).await;
    let env = stack.env();
    let started = relay(&["--json", "export", "start", "--segment", "seg"], &env).await;
    assert_eq!(code(&started), 0, "{started:?}");
    let job = json(&started)["job"].as_str().unwrap().to_owned();

    let cancelled = relay(&["export", "cancel", &job], &env).await;
    assert_eq!(code(&cancelled), 0, "{cancelled:?}");
    assert!(
        text(&cancelled).contains("Braze's running export was cancelled too"),
        "{}",
        text(&cancelled)
    );
    let manifest = stack.manifest(&JobId::parse(&job).unwrap()).await;
    assert_eq!(manifest.state, ExportState::Cancelled);
    let record = admin
        .wait_for_export(
            manifest.object_prefix.as_deref().unwrap(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(record.state, SandboxExportState::Cancelled);
    assert!(record.files.len() < 6, "stopped early: {:?}", record.files);

    let again = relay(&["--json", "export", "cancel", &job], &env).await;
    assert_eq!(code(&again), 1, "{again:?}");
    let document = json(&again);
    assert_eq!(document["cancelled"], false);
    assert_eq!(document["state"], "cancelled");
    let status = relay(&["export", "status", &job], &env).await;
    assert_eq!(code(&status), 1, "a cancelled job exits 1");
    assert!(
        text(&status).contains("reason: cancelled by an operator"),
        "{status:?}"
    );

    let unknown = relay(&["export", "cancel", "job-none"], &env).await;
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("no export job job-none"),
        "{unknown:?}"
    );
}
