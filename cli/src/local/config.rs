//! `relay local`'s own settings (`RELAY_LOCAL_*`), with their defaults, read through
//! relay-core's [`Env`] so a bad value is the usual error naming the variable (exit 2).

use std::time::Duration;

use relay_core::env::{ConfigError, Env};
use relay_core::queue::setup::{MAX_RECEIVE_COUNT, MAX_VISIBILITY_TIMEOUT};

/// The state bucket's name (the functions' own variable); default [`DEFAULT_STATE_BUCKET`].
pub const STATE_BUCKET: &str = "STATE_BUCKET";
/// Default state bucket.
pub const DEFAULT_STATE_BUCKET: &str = "relay-local-state";
/// The export bucket's name (the functions' own variable, where Braze writes segment exports);
/// default [`DEFAULT_EXPORT_BUCKET`].
pub const EXPORT_BUCKET: &str = "EXPORT_BUCKET";
/// Default export bucket.
pub const DEFAULT_EXPORT_BUCKET: &str = "relay-local-exports";
/// The compliance bucket's name (the deletion-worker's archive); default
/// [`DEFAULT_COMPLIANCE_BUCKET`].
pub const COMPLIANCE_BUCKET: &str = "COMPLIANCE_BUCKET";
/// Default compliance bucket name.
pub const DEFAULT_COMPLIANCE_BUCKET: &str = "relay-local-compliance";
/// The erasure queue's name; its dead-letter queue is `<name>-dlq`.
pub const ERASURE_QUEUE_NAME: &str = "RELAY_LOCAL_ERASURE_QUEUE";
/// Default erasure queue name.
pub const DEFAULT_ERASURE_QUEUE: &str = "relay-local-erasure";
/// The sync queue's name; its dead-letter queue is `<name>-dlq`.
pub const SYNC_QUEUE_NAME: &str = "RELAY_LOCAL_SYNC_QUEUE";
/// Default sync queue name.
pub const DEFAULT_SYNC_QUEUE: &str = "relay-local-sync";
/// Messages per invocation (1 to 10), as an event source mapping's `BatchSize`.
pub const BATCH_SIZE: &str = "RELAY_LOCAL_BATCH_SIZE";
/// How long to gather a batch after the first message, as `MaximumBatchingWindowInSeconds`.
pub const BATCH_WINDOW_MS: &str = "RELAY_LOCAL_BATCH_WINDOW_MS";
/// Long polling: `WaitTimeSeconds` of each `ReceiveMessage` (0 to 20).
pub const WAIT_SECONDS: &str = "RELAY_LOCAL_WAIT_SECONDS";
/// The sync queue's `VisibilityTimeout`, in seconds.
pub const VISIBILITY_TIMEOUT_SECS: &str = "RELAY_LOCAL_VISIBILITY_TIMEOUT_SECS";
/// The sync queue's `RedrivePolicy.maxReceiveCount`.
pub const MAX_RECEIVE_COUNT_VAR: &str = "RELAY_LOCAL_MAX_RECEIVE_COUNT";
/// Batches in flight per queue at most, as an event source mapping's `MaximumConcurrency`.
pub const CONCURRENCY: &str = "RELAY_LOCAL_CONCURRENCY";
/// The sync-worker's timeout: its context deadline, and when the invocation is abandoned.
pub const FUNCTION_TIMEOUT_SECS: &str = "RELAY_LOCAL_FUNCTION_TIMEOUT_SECS";
/// How long a stop waits for batches in flight before abandoning them.
pub const DRAIN_SECS: &str = "RELAY_LOCAL_DRAIN_SECS";

/// Default [`BATCH_SIZE`]: Lambda's default for SQS.
pub const DEFAULT_BATCH_SIZE: u8 = 10;
/// Default [`WAIT_SECONDS`]: the longest long poll, as the event source mapping does.
pub const DEFAULT_WAIT_SECONDS: u8 = 20;
/// Default [`FUNCTION_TIMEOUT_SECS`].
pub const DEFAULT_FUNCTION_TIMEOUT_SECS: u64 = 60;
/// Default [`VISIBILITY_TIMEOUT_SECS`]: six times the default function timeout, as AWS advises
/// for a queue behind a Lambda function.
pub const DEFAULT_VISIBILITY_TIMEOUT_SECS: u64 = 6 * DEFAULT_FUNCTION_TIMEOUT_SECS;
/// Default [`MAX_RECEIVE_COUNT_VAR`].
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;
/// Default [`CONCURRENCY`]: Lambda starts an SQS mapping with five concurrent batches.
pub const DEFAULT_CONCURRENCY: usize = 5;
/// Default [`DRAIN_SECS`].
pub const DEFAULT_DRAIN_SECS: u64 = 30;

/// API Gateway HTTP API's largest request payload: 10 MB.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway HTTP API's integration timeout: 30 s (crm-signup's context deadline).
pub const GATEWAY_TIMEOUT: Duration = Duration::from_secs(30);

/// How the pollers behave: the event source mapping's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollSettings {
    /// Messages per invocation (1 to 10).
    pub batch_size: u8,
    /// Time spent gathering a batch after its first message (0: invoke at once).
    pub batch_window: Duration,
    /// `WaitTimeSeconds` of each receive (0 to 20).
    pub wait_seconds: u8,
    /// The queue's visibility timeout (whole seconds, at least 1).
    pub visibility_timeout: Duration,
    /// Batches in flight at most.
    pub concurrency: usize,
    /// The handler's timeout.
    pub function_timeout: Duration,
    /// How long a stop waits for batches in flight.
    pub drain: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            batch_size: DEFAULT_BATCH_SIZE,
            batch_window: Duration::ZERO,
            wait_seconds: DEFAULT_WAIT_SECONDS,
            visibility_timeout: Duration::from_secs(DEFAULT_VISIBILITY_TIMEOUT_SECS),
            concurrency: DEFAULT_CONCURRENCY,
            function_timeout: Duration::from_secs(DEFAULT_FUNCTION_TIMEOUT_SECS),
            drain: Duration::from_secs(DEFAULT_DRAIN_SECS),
        }
    }
}

/// Everything `relay local` reads for itself (the functions read their own variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalConfig {
    /// The state bucket.
    pub state_bucket: String,
    /// The export bucket.
    pub export_bucket: String,
    /// The sync queue's name.
    pub sync_queue: String,
    /// The sync dead-letter queue's name.
    pub sync_dlq: String,
    /// The compliance bucket.
    pub compliance_bucket: String,
    /// The erasure queue's name.
    pub erasure_queue: String,
    /// The erasure dead-letter queue's name.
    pub erasure_dlq: String,
    /// Both queues' `maxReceiveCount`.
    pub max_receive_count: u32,
    /// The poller's settings.
    pub poll: PollSettings,
}

impl LocalConfig {
    /// Reads and checks every `RELAY_LOCAL_*` setting and `STATE_BUCKET`.
    pub fn from_env(env: &Env) -> Result<LocalConfig, ConfigError> {
        let batch_size: u8 = env.parsed(BATCH_SIZE, DEFAULT_BATCH_SIZE)?;
        if !(1..=10).contains(&batch_size) {
            return Err(ConfigError::new(
                BATCH_SIZE,
                "must be 1 to 10 (SQS returns at most 10 messages per receive)",
            ));
        }
        let batch_window = env.millis(BATCH_WINDOW_MS, Duration::ZERO)?;
        if batch_window > Duration::from_secs(300) {
            return Err(ConfigError::new(
                BATCH_WINDOW_MS,
                "must be at most 300000 (Lambda's largest batching window)",
            ));
        }
        let wait_seconds: u8 = env.parsed(WAIT_SECONDS, DEFAULT_WAIT_SECONDS)?;
        if wait_seconds > 20 {
            return Err(ConfigError::new(
                WAIT_SECONDS,
                "must be 0 to 20 (SQS's longest poll)",
            ));
        }
        let visibility: u64 =
            env.parsed(VISIBILITY_TIMEOUT_SECS, DEFAULT_VISIBILITY_TIMEOUT_SECS)?;
        if visibility == 0 || visibility > MAX_VISIBILITY_TIMEOUT.as_secs() {
            return Err(ConfigError::new(
                VISIBILITY_TIMEOUT_SECS,
                "must be 1 to 43200 seconds",
            ));
        }
        if batch_window >= Duration::from_secs(visibility) {
            return Err(ConfigError::new(
                BATCH_WINDOW_MS,
                "must be shorter than the visibility timeout (RELAY_LOCAL_VISIBILITY_TIMEOUT_SECS): \
                 messages gathered first would otherwise reappear before their batch runs",
            ));
        }
        let max_receive_count: u32 =
            env.parsed(MAX_RECEIVE_COUNT_VAR, DEFAULT_MAX_RECEIVE_COUNT)?;
        if !(1..=MAX_RECEIVE_COUNT).contains(&max_receive_count) {
            return Err(ConfigError::new(
                MAX_RECEIVE_COUNT_VAR,
                "must be 1 to 1000 (SQS's range)",
            ));
        }
        let concurrency: usize = env.parsed(CONCURRENCY, DEFAULT_CONCURRENCY)?;
        if concurrency == 0 {
            return Err(ConfigError::new(CONCURRENCY, "must be at least 1"));
        }
        let function_timeout: u64 =
            env.parsed(FUNCTION_TIMEOUT_SECS, DEFAULT_FUNCTION_TIMEOUT_SECS)?;
        if !(1..=900).contains(&function_timeout) {
            return Err(ConfigError::new(
                FUNCTION_TIMEOUT_SECS,
                "must be 1 to 900 seconds (Lambda's range)",
            ));
        }
        let drain: u64 = env.parsed(DRAIN_SECS, DEFAULT_DRAIN_SECS)?;
        let sync_queue = env
            .get(SYNC_QUEUE_NAME)
            .unwrap_or_else(|| DEFAULT_SYNC_QUEUE.to_owned());
        let erasure_queue = env
            .get(ERASURE_QUEUE_NAME)
            .unwrap_or_else(|| DEFAULT_ERASURE_QUEUE.to_owned());
        Ok(LocalConfig {
            state_bucket: env
                .get(STATE_BUCKET)
                .unwrap_or_else(|| DEFAULT_STATE_BUCKET.to_owned()),
            export_bucket: env
                .get(EXPORT_BUCKET)
                .unwrap_or_else(|| DEFAULT_EXPORT_BUCKET.to_owned()),
            sync_dlq: format!("{sync_queue}-dlq"),
            sync_queue,
            compliance_bucket: env
                .get(COMPLIANCE_BUCKET)
                .unwrap_or_else(|| DEFAULT_COMPLIANCE_BUCKET.to_owned()),
            erasure_dlq: format!("{erasure_queue}-dlq"),
            erasure_queue,
            max_receive_count,
            poll: PollSettings {
                batch_size,
                batch_window,
                wait_seconds,
                visibility_timeout: Duration::from_secs(visibility),
                concurrency,
                function_timeout: Duration::from_secs(function_timeout),
                drain: Duration::from_secs(drain),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    #[test]
    fn when_nothing_is_set_then_the_documented_defaults_apply() {
        let config = LocalConfig::from_env(&env(&[])).unwrap();
        assert_eq!(config.state_bucket, "relay-local-state");
        assert_eq!(config.export_bucket, "relay-local-exports");
        assert_eq!(config.sync_queue, "relay-local-sync");
        assert_eq!(config.sync_dlq, "relay-local-sync-dlq");
        assert_eq!(config.max_receive_count, 5);
        assert_eq!(config.poll, PollSettings::default());
        assert_eq!(config.poll.batch_size, 10);
        assert_eq!(config.poll.wait_seconds, 20);
        assert_eq!(config.poll.visibility_timeout.as_secs(), 360);
    }

    #[test]
    fn when_a_setting_is_out_of_range_then_the_error_names_it() {
        for (name, value) in [
            (BATCH_SIZE, "11"),
            (BATCH_SIZE, "0"),
            (WAIT_SECONDS, "21"),
            (VISIBILITY_TIMEOUT_SECS, "0"),
            (MAX_RECEIVE_COUNT_VAR, "0"),
            (CONCURRENCY, "0"),
            (FUNCTION_TIMEOUT_SECS, "901"),
            (BATCH_WINDOW_MS, "300001"),
            (BATCH_SIZE, "ten"),
        ] {
            let error = LocalConfig::from_env(&env(&[(name, value)])).unwrap_err();
            assert_eq!(error.variable(), name, "{name}={value}");
        }
    }

    #[test]
    fn when_the_batch_window_reaches_the_visibility_timeout_then_the_error_names_the_window() {
        let error = LocalConfig::from_env(&env(&[
            (VISIBILITY_TIMEOUT_SECS, "2"),
            (BATCH_WINDOW_MS, "2000"),
        ]))
        .unwrap_err();
        assert_eq!(error.variable(), BATCH_WINDOW_MS);
        let config = LocalConfig::from_env(&env(&[
            (VISIBILITY_TIMEOUT_SECS, "2"),
            (BATCH_WINDOW_MS, "1999"),
        ]))
        .unwrap();
        assert_eq!(config.poll.batch_window, Duration::from_millis(1999));
    }

    #[test]
    fn when_the_demo_settings_are_given_then_they_are_used() {
        let config = LocalConfig::from_env(&env(&[
            (VISIBILITY_TIMEOUT_SECS, "2"),
            (MAX_RECEIVE_COUNT_VAR, "3"),
            (SYNC_QUEUE_NAME, "demo"),
            (STATE_BUCKET, "demo-state"),
        ]))
        .unwrap();
        assert_eq!(config.poll.visibility_timeout, Duration::from_secs(2));
        assert_eq!(config.max_receive_count, 3);
        assert_eq!(config.sync_dlq, "demo-dlq");
        assert_eq!(config.state_bucket, "demo-state");
    }
}
