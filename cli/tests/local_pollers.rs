//! The SQS poller against moto, with a handler that records what it is given: partial batch
//! responses, SQS's own redrive to the dead-letter queue, a handler slower than the
//! visibility timeout, and a handler error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::FutureExt;
use lambda_runtime::LambdaEvent;
use relay_cli::local::config::PollSettings;
use relay_cli::local::invocation::Function;
use relay_cli::local::poller::{Poller, QueueSource, SqsHandler};
use relay_core::aws::sqs_client;
use relay_core::queue::setup::{QueuePair, QueueWithDlq, ensure_queue_with_dlq};
use relay_tests::webhooks::eventually;
use relay_tests::{Moto, TEST_REGION, unique_name};

/// What a handler was given: per invocation, the records' (body, receive count), and what
/// the test body checks afterwards (asserting in the handler would only cause a redelivery:
/// the poller catches a handler's panic).
#[derive(Default)]
struct Record {
    invocations: Vec<Vec<(String, u32)>>,
    /// Per record: its `eventSource` and `eventSourceARN`.
    sources: Vec<(Option<String>, Option<String>)>,
    /// Per invocation: how far away its context's deadline was when it started.
    deadlines: Vec<Duration>,
    running: HashMap<String, usize>,
    most_concurrent: usize,
}

type Log = Arc<Mutex<Record>>;

impl Record {
    /// Every record came from `queue_arn` as `aws:sqs`, with a deadline over 5 s away.
    fn assert_lambda_shaped(&self, queue_arn: &str) {
        assert!(!self.sources.is_empty(), "the handler ran");
        for (source, arn) in &self.sources {
            assert_eq!(source.as_deref(), Some("aws:sqs"));
            assert_eq!(arn.as_deref(), Some(queue_arn));
        }
        for left in &self.deadlines {
            assert!(*left > Duration::from_secs(5), "deadline {left:?} away");
        }
    }

    fn times_seen(&self, body: &str) -> usize {
        self.invocations
            .iter()
            .flatten()
            .filter(|(b, _)| b == body)
            .count()
    }
}

struct Setup {
    moto: Moto,
    queues: QueuePair,
}

async fn setup(max_receive_count: u32) -> Setup {
    setup_with(max_receive_count, Duration::from_secs(1)).await
}

/// A queue whose visibility timeout is `visibility`.
async fn setup_with(max_receive_count: u32, visibility: Duration) -> Setup {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let name = unique_name("poller");
    let queues = ensure_queue_with_dlq(
        &sqs_client(&moto.sdk_config().await),
        &QueueWithDlq {
            dlq_name: format!("{name}-dlq"),
            name,
            visibility_timeout: visibility,
            max_receive_count,
        },
    )
    .await
    .unwrap();
    Setup { moto, queues }
}

impl Setup {
    async fn send(&self, bodies: &[&str]) {
        let sqs = self.moto.sqs_client().await;
        for body in bodies {
            sqs.send_message()
                .queue_url(&self.queues.queue_url)
                .message_body(*body)
                .send()
                .await
                .unwrap();
        }
    }

    /// A poller whose handler records each invocation, sleeps `work` for bodies starting
    /// with `slow`, and answers with `decide(invocation number, bodies)`.
    async fn poller(
        &self,
        log: Log,
        work: Duration,
        decide: impl Fn(usize, &SqsEvent) -> Result<SqsBatchResponse, String> + Send + Sync + 'static,
    ) -> Poller {
        self.poller_with(log, work, decide, test_settings()).await
    }

    /// [`Setup::poller`] with `settings`.
    async fn poller_with(
        &self,
        log: Log,
        work: Duration,
        decide: impl Fn(usize, &SqsEvent) -> Result<SqsBatchResponse, String> + Send + Sync + 'static,
        settings: PollSettings,
    ) -> Poller {
        let decide = Arc::new(decide);
        let handler: SqsHandler = Arc::new(move |event: LambdaEvent<SqsEvent>| {
            let log = log.clone();
            let decide = decide.clone();
            async move {
                let bodies: Vec<(String, u32)> = event
                    .payload
                    .records
                    .iter()
                    .map(|record| {
                        let count = record
                            .attributes
                            .get("ApproximateReceiveCount")
                            .and_then(|count| count.parse().ok())
                            .unwrap_or(0);
                        (record.body.clone().unwrap_or_default(), count)
                    })
                    .collect();
                let left = event
                    .context
                    .deadline()
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                let number = {
                    let mut log = log.lock().unwrap();
                    log.deadlines.push(left);
                    for record in &event.payload.records {
                        log.sources
                            .push((record.event_source.clone(), record.event_source_arn.clone()));
                    }
                    for (body, _) in &bodies {
                        let running = log.running.entry(body.clone()).or_default();
                        *running += 1;
                        let running = *running;
                        log.most_concurrent = log.most_concurrent.max(running);
                    }
                    log.invocations.push(bodies.clone());
                    log.invocations.len() - 1
                };
                if bodies.iter().any(|(body, _)| body.starts_with("slow")) {
                    tokio::time::sleep(work).await;
                }
                let answer = decide(number, &event.payload);
                let mut log = log.lock().unwrap();
                for (body, _) in &bodies {
                    *log.running.get_mut(body).unwrap() -= 1;
                }
                answer.map_err(Into::into)
            }
            .boxed()
        });
        Poller::start(
            sqs_client(&self.moto.sdk_config().await),
            QueueSource {
                queue_url: self.queues.queue_url.clone(),
                queue_arn: self.queues.queue_arn.clone(),
                region: TEST_REGION.into(),
            },
            Function {
                name: "test-worker",
                region: TEST_REGION.into(),
                timeout: Duration::from_secs(10),
            },
            settings,
            handler,
        )
    }
}

/// The pollers' settings in these tests (the queue's visibility timeout is 1 s).
fn test_settings() -> PollSettings {
    PollSettings {
        batch_size: 10,
        batch_window: Duration::from_millis(200),
        wait_seconds: 1,
        visibility_timeout: Duration::from_secs(1),
        concurrency: 2,
        function_timeout: Duration::from_secs(10),
        drain: Duration::from_secs(10),
    }
}

/// Fails the records whose body is in `failing`.
fn failing(
    bodies: &'static [&'static str],
) -> impl Fn(usize, &SqsEvent) -> Result<SqsBatchResponse, String> {
    move |_, event| {
        let mut response = SqsBatchResponse::default();
        for record in &event.records {
            if bodies.contains(&record.body.as_deref().unwrap_or_default()) {
                response.add_failure(record.message_id.clone().unwrap_or_default());
            }
        }
        Ok(response)
    }
}

#[tokio::test]
async fn when_a_batch_reports_one_failure_then_only_that_message_is_redelivered() {
    let setup = setup(5).await;
    setup.send(&["ok-1", "fail", "ok-2"]).await;
    let log = Log::default();
    let poller = setup
        .poller(log.clone(), Duration::ZERO, failing(&["fail"]))
        .await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            log.lock().unwrap().times_seen("fail") >= 3
        })
        .await,
        "the failed message came back"
    );
    // Give the others every chance to come back too, had they not been deleted.
    tokio::time::sleep(Duration::from_secs(2)).await;
    poller.stop().await;
    let log = log.lock().unwrap();
    log.assert_lambda_shaped(&setup.queues.queue_arn);
    assert_eq!(log.times_seen("ok-1"), 1);
    assert_eq!(log.times_seen("ok-2"), 1);
    let counts: Vec<u32> = log
        .invocations
        .iter()
        .flatten()
        .filter(|(body, _)| body == "fail")
        .map(|(_, count)| *count)
        .collect();
    assert_eq!(&counts[..3], [1, 2, 3], "SQS's receive count rises");
}

#[tokio::test]
async fn when_a_message_fails_max_receive_count_times_then_sqs_moves_it_to_the_dlq() {
    let setup = setup(3).await;
    setup.send(&["poison", "fine"]).await;
    let log = Log::default();
    let poller = setup
        .poller(log.clone(), Duration::ZERO, failing(&["poison"]))
        .await;
    let dlq = setup.moto.sqs_client().await;
    let dlq_url = setup.queues.dlq_url.clone();
    assert!(
        eventually(Duration::from_secs(30), || async {
            let attributes = dlq
                .get_queue_attributes()
                .queue_url(&dlq_url)
                .attribute_names(
                    aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                )
                .send()
                .await
                .unwrap();
            attributes
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                })
                .is_some_and(|n| n == "1")
        })
        .await,
        "the message reached the DLQ"
    );
    poller.stop().await;
    assert_eq!(
        setup.moto.receive_all(&setup.queues.dlq_url).await,
        ["poison"]
    );
    let log = log.lock().unwrap();
    log.assert_lambda_shaped(&setup.queues.queue_arn);
    assert_eq!(log.times_seen("poison"), 3, "handled maxReceiveCount times");
    assert_eq!(log.times_seen("fine"), 1);
}

#[tokio::test]
async fn when_a_handler_outlives_the_visibility_timeout_then_its_message_is_not_run_twice() {
    let setup = setup(5).await;
    setup.send(&["slow-1"]).await;
    let log = Log::default();
    let poller = setup
        .poller(log.clone(), Duration::from_millis(3500), failing(&[]))
        .await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            let log = log.lock().unwrap();
            log.times_seen("slow-1") == 1 && log.running.get("slow-1") == Some(&0)
        })
        .await,
        "the slow handler finished"
    );
    // Three visibility timeouts: a message still on the queue would have come back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    poller.stop().await;
    {
        let log = log.lock().unwrap();
        log.assert_lambda_shaped(&setup.queues.queue_arn);
        assert_eq!(log.most_concurrent, 1, "never two handlers on one message");
        assert_eq!(log.times_seen("slow-1"), 1, "run once, then deleted");
    }
    assert!(
        setup
            .moto
            .receive_all(&setup.queues.queue_url)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn when_a_handler_returns_an_error_then_the_whole_batch_is_redelivered() {
    let setup = setup(5).await;
    setup.send(&["one", "two", "three"]).await;
    let log = Log::default();
    let poller = setup
        .poller(log.clone(), Duration::ZERO, |number, _| {
            if number == 0 {
                Err("the first invocation fails".to_owned())
            } else {
                Ok(SqsBatchResponse::default())
            }
        })
        .await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            let log = log.lock().unwrap();
            log.invocations.len() >= 2
                && log.invocations[0]
                    .iter()
                    .all(|(body, _)| log.times_seen(body) >= 2)
        })
        .await,
        "every message of the failed batch came back"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    poller.stop().await;
    let log = log.lock().unwrap();
    log.assert_lambda_shaped(&setup.queues.queue_arn);
    for body in ["one", "two", "three"] {
        let seen = log.times_seen(body);
        let in_first = log.invocations[0].iter().any(|(b, _)| b == body);
        assert_eq!(seen, if in_first { 2 } else { 1 }, "{body}");
    }
}

/// The queue's (visible, in flight) message counts.
async fn counts(setup: &Setup) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let attributes = setup
        .moto
        .sqs_client()
        .await
        .get_queue_attributes()
        .queue_url(&setup.queues.queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    (
        attributes[&QueueAttributeName::ApproximateNumberOfMessages].clone(),
        attributes[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible].clone(),
    )
}

#[tokio::test]
async fn when_stopping_abandons_a_running_batch_then_its_heartbeat_stops_and_the_message_returns() {
    let setup = setup(5).await;
    setup.send(&["slow-abandoned"]).await;
    let log = Log::default();
    let poller = setup
        .poller_with(
            log.clone(),
            Duration::from_secs(60),
            failing(&[]),
            PollSettings {
                drain: Duration::from_millis(100),
                ..test_settings()
            },
        )
        .await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            log.lock().unwrap().running.get("slow-abandoned") == Some(&1)
        })
        .await,
        "the handler started"
    );
    poller.stop().await;
    // The queue's visibility timeout is 1 s: without a heartbeat, the message is back soon.
    let until = std::time::Instant::now() + Duration::from_secs(6);
    let mut back = Vec::new();
    while back.is_empty() && std::time::Instant::now() < until {
        back = setup.moto.receive_all(&setup.queues.queue_url).await;
    }
    assert_eq!(
        back,
        ["slow-abandoned"],
        "the abandoned message came back (no heartbeat kept it hidden)"
    );
}

#[tokio::test]
async fn when_stopped_during_the_batching_window_then_the_gathered_messages_are_still_handled() {
    let setup = setup_with(5, Duration::from_secs(30)).await;
    let log = Log::default();
    let poller = setup
        .poller_with(
            log.clone(),
            Duration::ZERO,
            failing(&[]),
            PollSettings {
                batch_window: Duration::from_secs(5),
                visibility_timeout: Duration::from_secs(30),
                ..test_settings()
            },
        )
        .await;
    setup.send(&["gathered"]).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            counts(&setup).await.1 == "1"
        })
        .await,
        "the poller received the message"
    );
    let stopping = std::time::Instant::now();
    poller.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(4),
        "stop ends the batching window early ({:?})",
        stopping.elapsed()
    );
    assert_eq!(log.lock().unwrap().times_seen("gathered"), 1);
    assert_eq!(counts(&setup).await, ("0".into(), "0".into()), "deleted");
}

#[tokio::test]
async fn when_the_queues_and_bucket_are_created_twice_then_the_second_run_applies_the_new_settings()
{
    use aws_sdk_sqs::types::QueueAttributeName;
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let sdk = moto.sdk_config().await;
    let sqs = sqs_client(&sdk);
    let name = unique_name("setup");
    let mut spec = QueueWithDlq {
        dlq_name: format!("{name}-dlq"),
        name,
        visibility_timeout: Duration::from_secs(30),
        max_receive_count: 5,
    };
    let first = ensure_queue_with_dlq(&sqs, &spec).await.unwrap();
    spec.visibility_timeout = Duration::from_secs(2);
    spec.max_receive_count = 3;
    let second = ensure_queue_with_dlq(&sqs, &spec).await.unwrap();
    assert_eq!(first, second, "the same queues");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&second.queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "2");
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], second.dlq_arn.as_str());
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "3"
    );

    let s3 = relay_core::aws::s3_client(&sdk);
    let bucket = unique_name("setup-bucket");
    for _ in 0..2 {
        relay_core::store::setup::ensure_bucket(&s3, &bucket)
            .await
            .unwrap();
    }
    assert!(s3.head_bucket().bucket(&bucket).send().await.is_ok());
}

/// A long poll longer than the SQS client's usual 5 s attempt timeout: a message sent while
/// a receive waits is handled at once, not hidden for the visibility timeout by a receive the
/// client gave up on.
#[tokio::test]
async fn when_a_message_arrives_during_a_long_poll_then_it_is_handled_at_once() {
    let setup = setup_with(5, Duration::from_secs(120)).await;
    let log = Log::default();
    let settings = PollSettings {
        wait_seconds: 12,
        batch_window: Duration::ZERO,
        visibility_timeout: Duration::from_secs(120),
        ..test_settings()
    };
    let poller = setup
        .poller_with(log.clone(), Duration::ZERO, failing(&[]), settings)
        .await;
    // Past the 5 s a receive attempt may otherwise take.
    tokio::time::sleep(Duration::from_secs(7)).await;
    setup.send(&["late"]).await;
    let handled = eventually(Duration::from_secs(10), || async {
        log.lock().unwrap().times_seen("late") == 1
    })
    .await;
    poller.stop().await;
    assert!(handled, "the message waited for its visibility timeout");
}
