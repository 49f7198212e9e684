//! GDPR erasure end to end: `relay erase` (the binary) enqueues onto an SQS queue on moto, the
//! deletion-worker runs under `relay local`'s poller (Lambda's event source mapping), against
//! the sandbox's Braze and Userflow and the state bucket on moto; `relay erase status` and
//! `relay erase verify` read the receipts back.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use common::{code, json, queue_with_dlq, relay};
use futures::FutureExt;
use relay_cli::local::config::PollSettings;
use relay_cli::local::invocation::Function;
use relay_cli::local::poller::{Poller, QueueSource};
use relay_clients::braze::BrazeClient;
use relay_clients::upstream::{HttpTimeouts, http_client};
use relay_clients::userflow::UserflowClient;
use relay_core::config::VendorConfig;
use relay_core::env::Env;
use relay_core::erasure::progress::UserflowResult;
use relay_core::erasure::receipt::receipt_key;
use relay_core::erasure::{ErasureRequest, Receipt, Receipts, RequestId};
use relay_core::queue::setup::QueuePair;
use relay_core::secrets::SecretResolver;
use relay_core::store::{Encryption, ObjectStore, S3Store};
use relay_tests::Moto;
use relay_tests::erasure::{Person, seed_people};
use sandbox::{
    Api, BrazeUserQuery, Bucket, FaultKind, FaultRule, RateLimit, Sandbox, SandboxConfig,
};

/// One moto for the whole file; buckets and queues are unique per test.
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// What one invocation of the deletion-worker was given: each request id with its receive
/// count.
type Batch = Vec<(String, u64)>;

struct Stack {
    sandbox: Sandbox,
    state_bucket: String,
    compliance_bucket: String,
    queue: QueuePair,
    s3: aws_sdk_s3::Client,
    braze: BrazeClient,
    userflow: UserflowClient,
}

impl Stack {
    async fn start(max_receive_count: u32) -> Stack {
        let moto = moto();
        let sandbox = sandbox::start(SandboxConfig::default()).await.unwrap();
        // Hundreds of lookups within a minute: the sandbox's limit is raised to match the
        // relay's configured rate (each test says how fast it may go).
        sandbox
            .admin()
            .set_rate_limit(
                Bucket::BrazeExportIds,
                Some(RateLimit {
                    limit: 30_000,
                    window_secs: 60,
                }),
            )
            .await
            .unwrap();
        let queue = queue_with_dlq(&moto.sqs_client().await, "erasure", max_receive_count).await;
        let vars = relay_tests::webhooks::relay_variables(sandbox.info());
        let env = Env::from_map(vars.clone());
        let (braze, userflow) = VendorConfig::from_env(&env, &SecretResolver::from_env_map(vars))
            .await
            .unwrap()
            .clients(http_client(HttpTimeouts::default()))
            .unwrap();
        Stack {
            state_bucket: moto.create_bucket("relay-state").await,
            compliance_bucket: moto.create_bucket("compliance").await,
            queue,
            s3: moto.s3_client().await,
            sandbox,
            braze,
            userflow,
        }
    }

    /// The settings of the relay (CLI and worker) on this stack, with `extra` on top.
    fn env(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars = relay_tests::webhooks::relay_variables(self.sandbox.info());
        let aws = [
            ("AWS_ENDPOINT_URL", moto().endpoint()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("STATE_BUCKET", self.state_bucket.as_str()),
            ("ERASURE_QUEUE_URL", self.queue.queue_url.as_str()),
            ("BRAZE_EXPORT_IDS_PER_MINUTE", "30000"),
        ];
        for (name, value) in aws.iter().chain(extra) {
            vars.insert((*name).to_owned(), (*value).to_owned());
        }
        vars
    }

    /// The deletion-worker under the local stack's poller; every batch it is given is
    /// recorded.
    async fn start_worker(
        &self,
        extra: &[(&str, &str)],
        poll: PollSettings,
    ) -> (Poller, Arc<Mutex<Vec<Batch>>>) {
        let vars = self.env(extra);
        let config = deletion_worker::Config::from_env(
            &Env::from_map(vars.clone()),
            &SecretResolver::from_env_map(vars),
        )
        .await
        .expect("valid worker configuration");
        let state = S3Store::new(self.s3.clone(), config.state_bucket.clone());
        let s3 = self.s3.clone();
        let deps = config
            .into_deps(http_client(HttpTimeouts::default()), state, |archive| {
                S3Store::new(s3, archive.bucket.clone())
                    .with_encryption(Encryption::Kms(archive.kms_key_id.clone()))
            })
            .unwrap();
        let deps = Arc::new(deps);
        let batches: Arc<Mutex<Vec<Batch>>> = Arc::default();
        let recorded = Arc::clone(&batches);
        let poller = Poller::start(
            moto().sqs_client().await,
            QueueSource {
                queue_url: self.queue.queue_url.clone(),
                queue_arn: self.queue.queue_arn.clone(),
                region: "us-east-1".into(),
            },
            Function {
                name: "deletion-worker",
                region: "us-east-1".into(),
                timeout: Duration::from_secs(60),
            },
            poll,
            Arc::new(move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
                recorded.lock().unwrap().push(batch_of(&event.payload));
                let deps = Arc::clone(&deps);
                async move { deletion_worker::handler(&deps, event).await }.boxed()
            }),
        );
        (poller, batches)
    }

    /// Runs `relay erase --file <lines> --file-kind <kind>`; the request ids, in line order.
    async fn erase_file(&self, lines: &[String], kind: &str) -> Vec<String> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), lines.join("\n")).unwrap();
        let path = file.path().to_str().unwrap().to_owned();
        let output = relay(
            &["--json", "erase", "--file", &path, "--file-kind", kind],
            &self.env(&[]),
        )
        .await;
        assert_eq!(code(&output), 0, "{output:?}");
        let document = json(&output);
        assert_eq!(document["enqueued"], lines.len());
        document["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["request_id"].as_str().unwrap().to_owned())
            .collect()
    }

    fn store(&self) -> S3Store {
        S3Store::new(self.s3.clone(), self.state_bucket.clone())
    }

    /// Waits until every request of `ids` has a receipt (one listing of the state bucket per
    /// poll), then reads them; the receipts by request id.
    async fn receipts(&self, ids: &[String], within: Duration) -> HashMap<String, Receipt> {
        let started = Instant::now();
        let store = self.store();
        let wanted: BTreeSet<String> = ids
            .iter()
            .map(|id| receipt_key(&RequestId::new(id).unwrap()))
            .collect();
        loop {
            let listed: BTreeSet<String> =
                store.list("erasure/").await.unwrap().into_iter().collect();
            let done = wanted.intersection(&listed).count();
            if done == wanted.len() {
                break;
            }
            assert!(
                started.elapsed() < within,
                "{done} of {} receipts after {within:?}",
                wanted.len()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let receipts = Receipts::new(&store);
        let mut found = HashMap::new();
        for id in ids {
            let receipt = receipts.load(&RequestId::new(id).unwrap()).await.unwrap();
            found.insert(id.clone(), receipt.expect("listed"));
        }
        found
    }

    /// What the sandbox still holds: Braze profiles per email, and Userflow's user ids.
    async fn left(&self) -> (HashMap<String, usize>, BTreeSet<String>) {
        let admin = self.sandbox.admin();
        let mut braze = HashMap::new();
        for profile in admin
            .braze_users(&BrazeUserQuery::default())
            .await
            .unwrap()
            .users
        {
            let email = profile.attributes["email"].as_str().unwrap().to_owned();
            *braze.entry(email).or_default() += 1;
        }
        let userflow = admin
            .userflow_users()
            .await
            .unwrap()
            .into_iter()
            .map(|user| user.id)
            .collect();
        (braze, userflow)
    }

    async fn calls(&self, api: Api, method: &str, route: &str, statuses: &[u16]) -> u64 {
        self.sandbox
            .admin()
            .request_counts(Some(api))
            .await
            .unwrap()
            .iter()
            .filter(|c| c.method == method && c.route == route && statuses.contains(&c.status))
            .map(|c| c.count)
            .sum()
    }
}

/// The request ids and receive counts of one SQS event.
fn batch_of(event: &SqsEvent) -> Batch {
    event
        .records
        .iter()
        .filter_map(|record| {
            let request = ErasureRequest::decode(record.body.as_deref()?).ok()?;
            let count = record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            Some((request.request_id.to_string(), count))
        })
        .collect()
}

fn poll_settings(visibility: Duration) -> PollSettings {
    PollSettings {
        batch_size: 10,
        batch_window: Duration::ZERO,
        wait_seconds: 1,
        visibility_timeout: visibility,
        concurrency: 4,
        function_timeout: Duration::from_secs(60),
        drain: Duration::from_secs(10),
    }
}

fn ids(people: &[Person]) -> Vec<String> {
    people
        .iter()
        .map(|p| p.external_id.clone().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_500_erasures_mix_subjects_then_none_is_left_every_receipt_is_right_and_braze_calls_follow_the_batching_rules()
 {
    let stack = Stack::start(5).await;
    let group = |prefix: &str, n: usize| -> Vec<Person> {
        (0..n)
            .map(|i| Person::new(&format!("{prefix}{i:03}"), i % 3))
            .collect()
    };
    let by_id = group("ext-", 200);
    let by_email = group("mail-", 150);
    let erased_before = group("gone-", 100);
    let bystanders = group("keep-", 20);
    let unknown: Vec<String> = (0..50).map(|i| format!("ghost-{i:03}")).collect();
    for people in [&by_id, &by_email, &erased_before, &bystanders] {
        stack.seed(people).await;
    }
    // The compliance scenario: what discovery exported is archived, under SSE-KMS.
    let compliance = stack.compliance_bucket.clone();
    let (poller, batches) = stack
        .start_worker(
            &[
                ("ERASURE_ARCHIVE", "true"),
                ("COMPLIANCE_BUCKET", compliance.as_str()),
            ],
            poll_settings(Duration::from_secs(60)),
        )
        .await;

    // Erased once already, by other requests.
    let earlier = stack.erase_file(&ids(&erased_before), "external_id").await;
    stack.receipts(&earlier, Duration::from_secs(120)).await;
    stack.sandbox.admin().reset_requests().await.unwrap();
    batches.lock().unwrap().clear();

    let mut external_ids = ids(&by_id);
    external_ids.extend(unknown.iter().cloned());
    external_ids.extend(ids(&erased_before));
    let emails: Vec<String> = by_email.iter().map(|p| p.email.clone()).collect();
    let by_id_requests = stack.erase_file(&external_ids, "external_id").await;
    let by_email_requests = stack.erase_file(&emails, "email").await;
    let all: Vec<String> = by_id_requests
        .iter()
        .chain(&by_email_requests)
        .cloned()
        .collect();
    assert_eq!(all.len(), 500);
    let receipts = stack.receipts(&all, Duration::from_secs(300)).await;
    poller.stop().await;

    // Nothing of the subjects is left; the bystanders are whole.
    let (braze_left, userflow_left) = stack.left().await;
    let expected_left: HashMap<String, usize> = bystanders
        .iter()
        .map(|p| (p.email.clone(), p.profiles()))
        .collect();
    assert_eq!(braze_left, expected_left);
    assert_eq!(userflow_left, ids(&bystanders).into_iter().collect());

    // Every receipt counts what its subject had.
    let expect = |request: &str, profiles: usize, result: UserflowResult| {
        let receipt = &receipts[request];
        assert_eq!(receipt.counts.braze_profiles, profiles, "{receipt:?}");
        assert_eq!(receipt.userflow.len(), 1, "{receipt:?}");
        assert_eq!(receipt.userflow[0].result, Some(result), "{receipt:?}");
        assert_eq!(receipt.attempts, 1);
    };
    let (known, rest) = by_id_requests.split_at(by_id.len());
    let (ghosts, again) = rest.split_at(unknown.len());
    for (request, person) in known.iter().zip(&by_id) {
        expect(request, person.profiles(), UserflowResult::Deleted);
    }
    for request in ghosts.iter().chain(again) {
        expect(request, 0, UserflowResult::AlreadyGone);
    }
    for (request, person) in by_email_requests.iter().zip(&by_email) {
        expect(request, person.profiles(), UserflowResult::Deleted);
    }

    // Braze's calls are what the rules give for the batches the worker was handed: one
    // external-id lookup per batch holding any (at most 10 < 50 per call), one lookup per
    // email (the subjects' own, and the one each found external id holds), one delete per
    // batch with profiles (at most 30 < 50 per call).
    let kind: HashMap<&str, (&str, usize)> = known
        .iter()
        .zip(&by_id)
        .map(|(r, p)| (r.as_str(), ("found", p.profiles())))
        .chain(
            ghosts
                .iter()
                .chain(again)
                .map(|r| (r.as_str(), ("missing", 0))),
        )
        .chain(
            by_email_requests
                .iter()
                .zip(&by_email)
                .map(|(r, p)| (r.as_str(), ("email", p.profiles()))),
        )
        .collect();
    let batches = batches.lock().unwrap().clone();
    assert!(batches.iter().flatten().all(|(_, count)| *count == 1));
    let handed: BTreeSet<&str> = batches.iter().flatten().map(|(r, _)| r.as_str()).collect();
    assert_eq!(handed.len(), 500, "each request handed over once");
    let (mut lookups, mut deletes) = (0u64, 0u64);
    for batch in &batches {
        let kinds: Vec<(&str, usize)> = batch.iter().map(|(r, _)| kind[r.as_str()]).collect();
        let by_external_id = kinds.iter().any(|(k, _)| *k != "email");
        let emails = kinds.iter().filter(|(k, _)| *k != "missing").count();
        lookups += u64::from(by_external_id) + emails as u64;
        deletes += u64::from(kinds.iter().any(|(_, profiles)| *profiles > 0));
    }
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/export/ids", &[201])
            .await,
        lookups
    );
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/delete", &[201])
            .await,
        deletes
    );
    let deletions = stack.sandbox.admin().braze_deletions().await.unwrap();
    assert_eq!(deletions.missed, 0, "{deletions:?}");

    // The archive of a found subject holds its profiles, encrypted with KMS.
    let one = &known[1];
    let archive = receipts[one].archive.clone().expect("archived");
    assert_eq!(archive.bucket, compliance);
    assert_eq!(archive.profiles, by_id[1].profiles());
    let head = stack
        .s3
        .head_object()
        .bucket(&archive.bucket)
        .key(&archive.key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms)
    );

    // The operator reads a receipt back and verifies it.
    let status = relay(&["--json", "erase", "status", one], &stack.env(&[])).await;
    assert_eq!(code(&status), 0, "{status:?}");
    assert_eq!(json(&status)["state"], "done");
    assert_eq!(
        json(&status)["receipt"]["counts"]["braze_profiles"],
        by_id[1].profiles()
    );
    let verify = relay(&["--json", "erase", "verify", one], &stack.env(&[])).await;
    assert_eq!(code(&verify), 0, "{verify:?}");
    let verified = json(&verify);
    assert_eq!(verified["verifications"][0]["clean"], true, "{verified}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_braze_and_userflow_deletes_fail_part_of_the_time_then_retries_erase_everyone_once() {
    let stack = Stack::start(100).await;
    let people: Vec<Person> = (0..40)
        .map(|i| Person::new(&format!("f{i:02}"), 1))
        .collect();
    stack.seed(&people).await;
    let admin = stack.sandbox.admin();
    let braze_fault = admin
        .add_fault(
            &FaultRule::new(
                Api::Braze,
                "POST",
                "/users/delete",
                FaultKind::status(503, true),
            )
            .with_probability(0.6, 3),
        )
        .await
        .unwrap();
    let userflow_fault = admin
        .add_fault(
            &FaultRule::new(
                Api::Userflow,
                "DELETE",
                "/users/*",
                FaultKind::status(502, true),
            )
            .with_probability(0.5, 5),
        )
        .await
        .unwrap();
    // A vendor call gives up after a few quick tries, so failures reach the batch and SQS
    // redelivers (after 2 s) what was not finished.
    let (poller, batches) = stack
        .start_worker(
            &[("UPSTREAM_RETRY_DEADLINE_MS", "150")],
            poll_settings(Duration::from_secs(2)),
        )
        .await;

    let requests = stack.erase_file(&ids(&people), "external_id").await;
    let receipts = stack.receipts(&requests, Duration::from_secs(240)).await;
    poller.stop().await;

    let (braze_left, userflow_left) = stack.left().await;
    assert!(braze_left.is_empty(), "{braze_left:?}");
    assert!(userflow_left.is_empty(), "{userflow_left:?}");
    // The faults fired, and messages came back.
    let faults = admin.faults().await.unwrap();
    for id in [&braze_fault.id, &userflow_fault.id] {
        let fault = faults.iter().find(|f| &f.id == id).unwrap();
        assert!(fault.fired > 0, "{fault:?}");
    }
    let batches = batches.lock().unwrap().clone();
    assert!(batches.iter().flatten().any(|(_, count)| *count > 1));
    assert!(receipts.values().any(|r| r.attempts > 1));
    // No finished step ran twice: every profile deleted once and no delete named one already
    // gone; every Userflow user deleted once and none asked for again (a 404).
    let deletions = admin.braze_deletions().await.unwrap();
    assert_eq!(
        (deletions.deleted, deletions.missed),
        (80, 0),
        "{deletions:?}"
    );
    assert_eq!(
        stack
            .calls(Api::Userflow, "DELETE", "/users/{id}", &[200, 204])
            .await,
        40
    );
    assert_eq!(
        stack
            .calls(Api::Userflow, "DELETE", "/users/{id}", &[404])
            .await,
        0
    );
    // Each subject was looked up in its first batch only: one external-id lookup per batch
    // holding a first delivery, one email lookup per subject.
    let first_batches = batches
        .iter()
        .filter(|batch| batch.iter().any(|(_, count)| *count == 1))
        .count() as u64;
    assert_eq!(
        stack
            .calls(Api::Braze, "POST", "/users/export/ids", &[201])
            .await,
        first_batches + 40
    );
    for receipt in receipts.values() {
        assert_eq!(receipt.counts.braze_profiles, 2);
        assert_eq!(receipt.counts.userflow_deleted, 1);
    }
}

impl Stack {
    async fn seed(&self, people: &[Person]) {
        seed_people(&self.braze, &self.userflow, people).await;
    }
}
