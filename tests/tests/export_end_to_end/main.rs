//! Segment exports end to end on moto + the sandbox: `start_export` asks the sandbox's Braze
//! for a real export (zip or gzip files written to a moto bucket under Braze's key layout,
//! with every awkward case the sandbox can inject), its callback goes through the
//! export-callback handler as an API Gateway event, and the sync-worker's handler drains the
//! sync queue as Lambda's event source mapping would. Afterwards Userflow holds exactly the
//! segment's users with an external id, and the rejects hold exactly the injected bad lines.

#[path = "../support/mod.rs"]
mod support;

mod erase;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use chrono::Utc;
use lambda_http::{Body, Context, LambdaEvent};
use relay_clients::braze::models::OutputFormat;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_core::aws::{s3_client, sqs_client};
use relay_core::env::Env;
use relay_core::export::callback::CallbackSigner;
use relay_core::export::control::{StartExport, start_export};
use relay_core::export::line::ExportMapping;
use relay_core::export::manifest::{ExportAction, ExportManifest, ExportState, Manifests};
use relay_core::export::status::{ExportStatus, export_status};
use relay_core::queue::SqsQueue;
use relay_core::secrets::SecretResolver;
use relay_core::store::{ObjectStore, S3Store};
use relay_lambda::http_edge::{EdgeError, answer};
use relay_lambda::metrics::{MemoryMetrics, Metric, MetricSet};
use relay_lambda::problem::Problem;
use relay_tests::Moto;
use relay_tests::exports::callback_event;
use relay_tests::webhooks::relay_variables;
use sandbox::{
    Api, BrazeUserQuery, CallbackCatcher, ExportSettingsPatch, ExportStorage, FaultRule, Sandbox,
    SandboxConfig, SeedSegment,
};
use secrecy::SecretString;
use serde_json::Value;
use tokio::time::Instant;

const SECRET: &str = "end-to-end-export-callback-secret";

struct Pipeline {
    moto: Moto,
    sandbox: Sandbox,
    state: S3Store,
    queue_url: String,
    erasure_queue_url: String,
    worker: sync_worker::Deps<S3Store, SqsQueue>,
    callback: export_callback::Deps<S3Store, S3Store, SqsQueue>,
    braze: relay_clients::braze::BrazeClient,
    catcher: CallbackCatcher,
    /// The sync-worker's metrics, one set per invocation.
    worker_metrics: MemoryMetrics,
    /// export-callback's metrics, one set per callback.
    callback_metrics: MemoryMetrics,
}

/// The sum of `metric`'s counts over `sets`.
fn total(sets: &[MetricSet], metric: Metric) -> u64 {
    sets.iter().filter_map(|set| set.count(metric)).sum()
}

impl Pipeline {
    /// moto, the sandbox exporting into a moto bucket, both functions configured from their
    /// environment; `extra` adds or overrides variables.
    async fn start(extra: &[(&str, &str)]) -> Pipeline {
        let moto = Moto::start();
        let state_bucket = moto.create_bucket("state").await;
        let export_bucket = moto.create_bucket("exports").await;
        let queue_url = moto.create_queue("sync").await;
        let erasure_queue_url = moto.create_queue("erasure").await;
        let sandbox = sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        sandbox
            .admin()
            .set_export_storage(&ExportStorage {
                bucket: export_bucket.clone(),
                endpoint: Some(moto.endpoint().to_owned()),
                region: "us-east-1".into(),
            })
            .await
            .unwrap();
        let mut vars = relay_variables(sandbox.info());
        for (name, value) in [
            ("STATE_BUCKET", state_bucket.as_str()),
            ("EXPORT_BUCKET", export_bucket.as_str()),
            ("SYNC_QUEUE_URL", queue_url.as_str()),
            ("ERASURE_QUEUE_URL", erasure_queue_url.as_str()),
            ("EXPORT_CALLBACK_SECRET", SECRET),
            ("EXPORT_CUSTOM_ATTRIBUTES", "plan,seats"),
            ("EXPORT_CHECKPOINT_LINES", "150"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        {
            vars.insert(name.to_owned(), value.to_owned());
        }
        let env = Env::from_map(vars.clone());
        let secrets = SecretResolver::from_env_map(vars);
        let sdk = moto.sdk_config().await;
        let worker = sync_worker::Config::from_env(&env, &secrets)
            .await
            .expect("sync-worker configuration")
            .into_deps(
                http_client(HttpTimeouts::default()),
                S3Store::new(s3_client(&sdk), state_bucket.clone()),
                SqsQueue::new(sqs_client(&sdk), queue_url.clone()),
                s3_client(&sdk),
                |url| SqsQueue::new(sqs_client(&sdk), url),
            )
            .expect("sync-worker deps");
        let worker_metrics = MemoryMetrics::new();
        let worker = worker.with_metrics(worker_metrics.sink());
        let callback = export_callback::Config::from_env(&env, &secrets)
            .await
            .expect("export-callback configuration")
            .into_deps(
                S3Store::new(s3_client(&sdk), state_bucket.clone()),
                S3Store::new(s3_client(&sdk), export_bucket),
                SqsQueue::new(sqs_client(&sdk), queue_url.clone()),
            );
        let callback_metrics = MemoryMetrics::new();
        let callback = callback.with_metrics(callback_metrics.sink());
        let (braze, _) = relay_core::config::VendorConfig::from_env(&env, &secrets)
            .await
            .unwrap()
            .clients(http_client(HttpTimeouts::default()))
            .unwrap();
        Pipeline {
            state: S3Store::new(s3_client(&sdk), state_bucket),
            moto,
            sandbox,
            queue_url,
            erasure_queue_url,
            worker,
            callback,
            braze,
            catcher: CallbackCatcher::start().await.unwrap(),
            worker_metrics,
            callback_metrics,
        }
    }

    /// Seeds `users` profiles into `segment` and sets the export behaviour.
    async fn segment(&self, segment: &str, users: usize, export: ExportSettingsPatch) {
        self.sandbox
            .admin()
            .seed_segment(&SeedSegment::new(segment, users))
            .await
            .unwrap();
        self.sandbox
            .admin()
            .set_export_settings(export)
            .await
            .unwrap();
    }

    /// `relay export start`'s core call, the mapping choosing the fields.
    async fn start_export(&self, segment: &str, format: OutputFormat) -> ExportManifest {
        let mapping = ExportMapping::default()
            .with_custom_attributes(["plan", "seats"])
            .unwrap();
        self.start_action(
            segment,
            format,
            ExportAction::UserflowSync,
            mapping.fields_to_export(),
            mapping.custom_attributes_to_export(),
        )
        .await
    }

    /// `relay export start`'s core call.
    async fn start_action(
        &self,
        segment: &str,
        format: OutputFormat,
        action: ExportAction,
        fields: Vec<String>,
        custom_attributes: Vec<String>,
    ) -> ExportManifest {
        start_export(
            &self.state,
            &self.braze,
            &CallbackSigner::new(SecretString::from(SECRET)),
            &StartExport {
                segment_id: segment.into(),
                action,
                fields,
                custom_attributes,
                output_format: format,
                callback_base: format!("{}/braze/export-callback", self.catcher.url()),
                callback_ttl: chrono::Duration::hours(1),
            },
            Utc::now(),
        )
        .await
        .expect("the export starts")
    }

    /// Waits for Braze's callback and hands it to export-callback as API Gateway would.
    async fn deliver_callback(&self) -> (u16, Value) {
        let caught = self
            .catcher
            .next(Duration::from_secs(60))
            .await
            .expect("the sandbox calls back");
        let query = caught.path_and_query.split_once('?').map_or("", |(_, q)| q);
        let body = String::from_utf8(caught.body.to_vec()).unwrap();
        let document = answer(
            LambdaEvent::new(callback_event(query, &body), Context::default()),
            &|request| export_callback::handler(&self.callback, request),
            &|error: &EdgeError| Problem::from(error).into_response(),
        )
        .await
        .expect("export-callback answers");
        let Some(Body::Text(text)) = document.body else {
            panic!("a text body");
        };
        (
            document.status_code as u16,
            serde_json::from_str(&text).unwrap(),
        )
    }

    /// Lambda's event source mapping: receives batches, invokes the handler with `budget`
    /// per invocation, deletes what it acknowledged, until the job ends.
    async fn drain(&self, job: &relay_core::export::manifest::JobId, budget: Duration) -> usize {
        let sqs = self.moto.sqs_client().await;
        let mut invocations = 0;
        let give_up = Instant::now() + Duration::from_secs(240);
        loop {
            let state = self.status(job).await.manifest.state;
            if state.is_final() {
                return invocations;
            }
            assert!(
                Instant::now() < give_up,
                "the export did not finish: {state:?}"
            );
            let received = sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(2)
                .wait_time_seconds(1)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                )
                .send()
                .await
                .unwrap();
            let messages: Vec<SqsMessage> = received
                .messages()
                .iter()
                .map(relay_tests::sqs::lambda_message)
                .collect();
            if messages.is_empty() {
                continue;
            }
            invocations += 1;
            let response =
                sync_worker::handle_messages(&self.worker, &messages, Instant::now() + budget)
                    .await;
            let failed: BTreeSet<&str> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            for message in &messages {
                if !failed.contains(message.message_id.as_deref().unwrap()) {
                    sqs.delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(message.receipt_handle.clone().unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    }

    async fn status(&self, job: &relay_core::export::manifest::JobId) -> ExportStatus {
        export_status(&self.state, job)
            .await
            .unwrap()
            .expect("the job exists")
    }

    /// Every reject record: (file, line) -> text.
    async fn rejects(
        &self,
        job: &relay_core::export::manifest::JobId,
    ) -> BTreeMap<(String, u64), (String, String)> {
        let mut rejects = BTreeMap::new();
        for key in self.state.list(&job.rejects_prefix()).await.unwrap() {
            let body = self.state.get(&key).await.unwrap().unwrap();
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let record: Value = serde_json::from_slice(line).unwrap();
                let previous = rejects.insert(
                    (
                        record["file"].as_str().unwrap().to_owned(),
                        record["line"].as_u64().unwrap(),
                    ),
                    (
                        record["text"].as_str().unwrap().to_owned(),
                        record["reason"].as_str().unwrap().to_owned(),
                    ),
                );
                assert!(previous.is_none(), "a line rejected twice: {record}");
            }
        }
        rejects
    }

    /// The segment's users with an external id, as Braze holds them.
    async fn expected_users(&self) -> BTreeMap<String, sandbox::BrazeProfile> {
        self.sandbox
            .admin()
            .braze_users(&BrazeUserQuery::default())
            .await
            .unwrap()
            .users
            .into_iter()
            .filter_map(|p| Some((p.external_id.clone()?, p)))
            .collect()
    }

    /// Creates a Userflow user for each id (the users an erasure must find).
    async fn add_to_userflow(&self, ids: impl IntoIterator<Item = &String>) {
        let userflow = self.worker.deliverer.userflow();
        for id in ids {
            userflow.upsert_user(id.as_str()).send().await.unwrap();
        }
    }

    async fn userflow_users(&self) -> HashMap<String, serde_json::Map<String, Value>> {
        self.sandbox
            .admin()
            .userflow_users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| (u.id, u.attributes))
            .collect()
    }
}

/// The whole pipeline for one format, with every fault the sandbox injects.
async fn full_export(format: OutputFormat) {
    let pipeline = Pipeline::start(&[]).await;
    pipeline
        .segment(
            "seg-e2e",
            1_000,
            ExportSettingsPatch {
                users_per_file: Some(250),
                duplicate_every: Some(90),
                malformed_every: Some(97),
                members_per_zip: Some(3),
                empty_files: Some(1),
                truncate_files: Some(1),
                date_shift_days: Some(1),
                ..ExportSettingsPatch::default()
            },
        )
        .await;
    let manifest = pipeline.start_export("seg-e2e", format).await;
    assert_eq!(manifest.state, ExportState::Requested);
    assert!(manifest.object_prefix.is_some());

    let (status, body) = pipeline.deliver_callback().await;
    assert_eq!(
        (status, &body["outcome"]),
        (200, &Value::from("dispatched")),
        "{body}"
    );
    let record = pipeline
        .sandbox
        .admin()
        .wait_for_export(
            manifest.object_prefix.as_deref().unwrap(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(
        body["files"],
        record.files.len(),
        "one job per file written"
    );
    assert!(!record.injected.is_empty() && record.truncated.len() == 1 && record.empty.len() == 1);

    pipeline.drain(&manifest.job, Duration::from_secs(20)).await;
    let status = pipeline.status(&manifest.job).await;
    assert_eq!(status.manifest.state, ExportState::Completed);
    assert_eq!(status.files_failed, 1, "{:?}", status.failed);
    assert_eq!(status.failed[0].key, record.truncated[0]);
    assert_eq!(status.files_done + status.files_failed, record.files.len());

    // Userflow holds exactly the segment's users with an external id, mapped.
    let expected = pipeline.expected_users().await;
    let userflow = pipeline.userflow_users().await;
    let held: BTreeSet<&String> = userflow.keys().collect();
    assert_eq!(held, expected.keys().collect::<BTreeSet<_>>());
    for (id, profile) in expected.iter().take(50) {
        let attributes = &userflow[id];
        assert_eq!(
            attributes.get("email"),
            profile.attributes.get("email"),
            "{id}"
        );
        for name in ["plan", "seats"] {
            assert_eq!(
                attributes.get(name),
                profile.custom_attributes.get(name),
                "{id} {name}"
            );
        }
        assert!(
            !attributes.values().any(Value::is_null),
            "{id}: {attributes:?}"
        );
        assert!(attributes["signed_up_at"].as_str().unwrap().ends_with('Z'));
    }

    // The rejects hold exactly the bad lines.
    let rejects = pipeline.rejects(&manifest.job).await;
    let injected: BTreeMap<(String, u64), String> = record
        .injected
        .iter()
        .map(|line| ((line.key.clone(), line.line), line.text.clone()))
        .collect();
    assert_eq!(
        rejects
            .iter()
            .map(|(at, (text, _))| (at.clone(), text.clone()))
            .collect::<BTreeMap<_, _>>(),
        injected
    );
    let counts = status.counts;
    assert_eq!(counts.rejected, injected.len() as u64);
    assert!(counts.duplicates > 0, "{counts:?}");
    assert!(
        counts.skipped > 0,
        "alias-only users are skipped: {counts:?}"
    );
    assert_eq!(
        counts.upserted + counts.skipped + counts.duplicates,
        counts.users,
        "{counts:?}"
    );

    // The metrics count the same: each invocation its share, all of them the job's totals.
    let callbacks = pipeline.callback_metrics.emitted();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(
        callbacks[0].count(Metric::ExportFilesQueued),
        Some(record.files.len() as u64)
    );
    assert_eq!(callbacks[0].count(Metric::Rejected), Some(0));
    let invocations = pipeline.worker_metrics.emitted();
    assert_eq!(total(&invocations, Metric::ExportUsers), counts.users);
    assert_eq!(total(&invocations, Metric::Delivered), counts.upserted);
    assert_eq!(total(&invocations, Metric::Rejected), counts.rejected);
    assert_eq!(total(&invocations, Metric::Parked), 0);
    let rates: Vec<f64> = invocations
        .iter()
        .filter_map(|set| set.rate(Metric::ExportUsersPerSecond))
        .collect();
    assert!(
        rates.iter().any(|rate| *rate > 0.0),
        "users per second reported: {invocations:?}"
    );
}

#[tokio::test]
async fn when_a_zip_export_is_synced_then_userflow_holds_the_segment_and_rejects_the_bad_lines() {
    full_export(OutputFormat::Zip).await;
}

#[tokio::test]
async fn when_a_gzip_export_is_synced_then_userflow_holds_the_segment_and_rejects_the_bad_lines() {
    full_export(OutputFormat::Gzip).await;
}

#[tokio::test]
async fn when_a_file_is_redelivered_half_way_then_no_finished_line_is_sent_again() {
    let pipeline = Pipeline::start(&[
        ("EXPORT_USERFLOW_CONCURRENCY", "4"),
        ("SYNC_DEADLINE_MARGIN_MS", "100"),
    ])
    .await;
    pipeline
        .segment(
            "seg-resume",
            1_200,
            ExportSettingsPatch {
                users_per_file: Some(1_200),
                duplicate_every: Some(0),
                ..ExportSettingsPatch::default()
            },
        )
        .await;
    // Userflow answers slowly, so one invocation cannot finish the file.
    pipeline
        .sandbox
        .admin()
        .add_fault(
            &serde_json::from_value::<FaultRule>(serde_json::json!({
                "api": "userflow", "path": "/users", "fault": {"kind": "latency", "ms": 5}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let manifest = pipeline
        .start_export("seg-resume", OutputFormat::Gzip)
        .await;
    assert_eq!(pipeline.deliver_callback().await.0, 200);

    // The first invocation stops at its deadline, half way.
    let sqs = pipeline.moto.sqs_client().await;
    let first = sqs
        .receive_message()
        .queue_url(&pipeline.queue_url)
        .visibility_timeout(2)
        .send()
        .await
        .unwrap();
    let original = &first.messages()[0];
    let message: SqsMessage = serde_json::from_value(serde_json::json!({
        "messageId": original.message_id(), "receiptHandle": original.receipt_handle(),
        "body": original.body(), "attributes": {"ApproximateReceiveCount": "1"},
    }))
    .unwrap();
    let response = sync_worker::handle_messages(
        &pipeline.worker,
        std::slice::from_ref(&message),
        Instant::now() + Duration::from_millis(1_500),
    )
    .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "progress: continued, not failed"
    );
    let half = pipeline.status(&manifest.job).await;
    assert!(
        half.counts.upserted > 0 && half.counts.upserted < 1_000,
        "{:?}",
        half.counts
    );
    let first_metrics = pipeline
        .worker_metrics
        .last()
        .expect("the first invocation's");
    assert_eq!(
        (
            first_metrics.count(Metric::ExportUsers),
            first_metrics.count(Metric::Delivered)
        ),
        (Some(half.counts.users), Some(half.counts.upserted)),
        "what the checkpoint holds is what the first invocation reports"
    );
    assert!(
        first_metrics
            .rate(Metric::ExportUsersPerSecond)
            .is_some_and(|rate| rate > 0.0),
        "{first_metrics:?}"
    );
    let sent_before = pipeline
        .sandbox
        .admin()
        .count(Api::Userflow, "POST", "/users", None)
        .await
        .unwrap();
    assert_eq!(
        sent_before, half.counts.upserted,
        "every send finished before the checkpoint"
    );

    // SQS delivers the original message again (as after a lost acknowledgement, once the
    // first attempt's lease lapsed), then the continuation: together they send only what was
    // left.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = sync_worker::handle_messages(
        &pipeline.worker,
        std::slice::from_ref(&message),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert!(again.batch_item_failures.is_empty());
    pipeline.drain(&manifest.job, Duration::from_secs(60)).await;
    let done = pipeline.status(&manifest.job).await;
    assert_eq!(done.manifest.state, ExportState::Completed);
    let sent = pipeline
        .sandbox
        .admin()
        .count(Api::Userflow, "POST", "/users", None)
        .await
        .unwrap();
    let with_external_id = pipeline.expected_users().await.len() as u64;
    assert_eq!(done.counts.upserted, with_external_id);
    assert_eq!(
        total(&pipeline.worker_metrics.emitted(), Metric::ExportUsers),
        done.counts.users,
        "each invocation reports only the lines it finished"
    );
    assert_eq!(sent, with_external_id, "no user was sent twice");
    assert_eq!(
        pipeline.userflow_users().await.len() as u64,
        with_external_id
    );
}

#[tokio::test]
async fn when_the_job_is_cancelled_then_files_not_started_are_not_read() {
    let pipeline = Pipeline::start(&[]).await;
    pipeline
        .segment(
            "seg-cancel",
            300,
            ExportSettingsPatch {
                users_per_file: Some(100),
                ..ExportSettingsPatch::default()
            },
        )
        .await;
    let manifest = pipeline.start_export("seg-cancel", OutputFormat::Zip).await;
    assert_eq!(pipeline.deliver_callback().await.0, 200);
    Manifests::new(&pipeline.state)
        .update(&manifest.job, |m| {
            m.state = ExportState::Cancelled;
            relay_core::export::manifest::Change::Write
        })
        .await
        .unwrap();
    let messages = pipeline.moto.receive_all(&pipeline.queue_url).await;
    let response = sync_worker::handle_messages(
        &pipeline.worker,
        &messages
            .iter()
            .enumerate()
            .map(|(n, body)| {
                serde_json::from_value(serde_json::json!({
                    "messageId": format!("m-{n}"), "receiptHandle": "r", "body": body,
                }))
                .unwrap()
            })
            .collect::<Vec<SqsMessage>>(),
        Instant::now() + Duration::from_secs(20),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(messages.len(), 3, "the three file jobs were still queued");
    assert_eq!(
        pipeline
            .sandbox
            .admin()
            .count(Api::Userflow, "POST", "/users", None)
            .await
            .unwrap(),
        0,
        "no file of a cancelled job is read"
    );
    let set = pipeline
        .worker_metrics
        .last()
        .expect("the invocation's metrics");
    assert_eq!(set.count(Metric::Delivered), Some(0));
    assert!(
        set.count(Metric::ExportUsers).is_none()
            && set.rate(Metric::ExportUsersPerSecond).is_none(),
        "no file was read, so no export rate: {set:?}"
    );
}
