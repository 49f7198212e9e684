//! An export whose action is `erase`, end to end: the pipeline of `main.rs` sends each
//! exported user to the erasure queue, and the deletion-worker erases them.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use relay_clients::braze::models::OutputFormat;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::env::Env;
use relay_core::export::manifest::{ExportAction, ExportState};
use relay_core::secrets::SecretResolver;
use relay_tests::webhooks::relay_variables;
use sandbox::{ExportSettingsPatch, SeedSegment};
use tokio::time::Instant;

use super::Pipeline;

/// An export whose action is `erase`: every segment member becomes one erasure request on the
/// erasure queue (duplicates within and across files named by the same request id), and the
/// deletion-worker then leaves Braze and Userflow holding none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_an_export_erases_a_segment_then_each_member_becomes_one_erasure_and_none_is_left() {
    let pipeline = Pipeline::start(&[("BRAZE_EXPORT_IDS_PER_MINUTE", "20000")]).await;
    let admin = pipeline.sandbox.admin();
    admin
        .set_rate_limit(
            sandbox::Bucket::BrazeExportIds,
            Some(sandbox::RateLimit {
                limit: 20_000,
                window_secs: 60,
            }),
        )
        .await
        .unwrap();
    // Bystanders first, outside the segment.
    admin
        .seed_segment(&SeedSegment {
            external_id_prefix: Some("keep-".into()),
            seed: 7,
            ..SeedSegment::new("bystanders", 40)
        })
        .await
        .unwrap();
    let kept = pipeline.expected_users().await;
    let kept_profiles = admin.braze_user_count().await.unwrap();
    pipeline.add_to_userflow(kept.keys()).await;
    pipeline
        .segment(
            "seg-erase",
            300,
            ExportSettingsPatch {
                users_per_file: Some(100),
                duplicate_every: Some(7),
                ..ExportSettingsPatch::default()
            },
        )
        .await;
    let members: BTreeSet<String> = pipeline
        .expected_users()
        .await
        .into_keys()
        .filter(|id| !kept.contains_key(id))
        .collect();
    pipeline.add_to_userflow(&members).await;
    let erase_fields = vec!["braze_id".to_owned(), "external_id".to_owned()];
    let manifest = pipeline
        .start_action(
            "seg-erase",
            OutputFormat::Gzip,
            ExportAction::Erase,
            erase_fields,
            Vec::new(),
        )
        .await;
    let (status, body) = pipeline.deliver_callback().await;
    assert_eq!(status, 200, "{body}");
    pipeline.drain(&manifest.job, Duration::from_secs(20)).await;
    let status = pipeline.status(&manifest.job).await;
    assert_eq!(status.manifest.state, ExportState::Completed);
    let counts = status.counts;
    assert!(counts.duplicates > 0, "{counts:?}");
    assert_eq!(
        counts.erasures + counts.duplicates,
        counts.users,
        "{counts:?}"
    );
    assert_eq!(counts.rejected, 0, "{counts:?}");

    // One request per exported line that is not a duplicate within its file; the same member
    // in two files gets the same request id.
    let bodies = pipeline.moto.receive_all(&pipeline.erasure_queue_url).await;
    assert_eq!(bodies.len() as u64, counts.erasures);
    let requests: Vec<relay_core::erasure::ErasureRequest> = bodies
        .iter()
        .map(|body| relay_core::erasure::ErasureRequest::decode(body).unwrap())
        .collect();
    let distinct: BTreeSet<&str> = requests.iter().map(|r| r.request_id.as_str()).collect();
    let segment_size = admin
        .segments()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.segment_id == "seg-erase")
        .unwrap()
        .size;
    assert_eq!(distinct.len(), segment_size);
    let origin = format!("export {}", manifest.job);
    assert!(requests.iter().all(|r| r.origin == origin));

    // The deletion-worker runs them (ten to a batch, as SQS hands them out).
    let vars = {
        let mut vars = relay_variables(pipeline.sandbox.info());
        vars.insert("STATE_BUCKET".into(), pipeline.state.bucket().to_owned());
        vars.insert("BRAZE_EXPORT_IDS_PER_MINUTE".into(), "20000".into());
        vars
    };
    let eraser = deletion_worker::Config::from_env(
        &Env::from_map(vars.clone()),
        &SecretResolver::from_env_map(vars),
    )
    .await
    .unwrap()
    .into_deps(
        http_client(HttpTimeouts::default()),
        pipeline.state.clone(),
        |_| pipeline.state.clone(),
    )
    .unwrap();
    for (batch, chunk) in bodies.chunks(10).enumerate() {
        let messages: Vec<SqsMessage> = chunk
            .iter()
            .enumerate()
            .map(|(at, body)| {
                serde_json::from_value(serde_json::json!({
                    "messageId": format!("m-{batch}-{at}"), "body": body,
                    "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                }))
                .unwrap()
            })
            .collect();
        let response = deletion_worker::handle_messages(
            &eraser,
            &messages,
            Instant::now() + Duration::from_secs(60),
        )
        .await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert_eq!(admin.braze_user_count().await.unwrap(), kept_profiles);
    let userflow: BTreeSet<String> = pipeline.userflow_users().await.into_keys().collect();
    assert_eq!(userflow, kept.keys().cloned().collect());
}
