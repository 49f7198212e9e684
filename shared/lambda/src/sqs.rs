//! What every SQS-triggered function reads off its event the same way: the time it may work
//! ([`BatchTiming`]), each message's receive count, and which messages a response
//! acknowledges.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsMessage};

/// How long one invocation of an SQS function works on its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchTiming {
    /// Time kept free before the Lambda deadline to record outcomes and answer.
    pub deadline_margin: Duration,
    /// Longest a batch is worked on, whatever the Lambda deadline.
    pub max_batch_time: Duration,
}

impl BatchTiming {
    /// When the batch's work must end: the invocation's deadline less the margin, and never
    /// more than `max_batch_time` from now.
    pub fn deadline(&self, lambda_deadline: SystemTime) -> Instant {
        let left = lambda_deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(self.deadline_margin)
            .min(self.max_batch_time);
        Instant::now() + left
    }
}

/// SQS's `ApproximateReceiveCount` of a message, when the event carries it.
pub fn receive_count(message: &SqsMessage) -> Option<u64> {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
}

/// The ids of the messages `response` acknowledges that SQS had delivered before (a receive
/// count over 1): an earlier attempt at them may have left a record of its failure.
pub fn acknowledged_redeliveries<'m>(
    messages: &'m [SqsMessage],
    response: &SqsBatchResponse,
) -> Vec<&'m str> {
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    messages
        .iter()
        .filter(|message| receive_count(message).is_some_and(|count| count > 1))
        .filter_map(|message| message.message_id.as_deref())
        .filter(|id| !id.is_empty() && !failed.contains(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, count: Option<&str>) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        if let Some(count) = count {
            message
                .attributes
                .insert("ApproximateReceiveCount".into(), count.into());
        }
        message
    }

    #[test]
    fn when_messages_were_delivered_before_and_are_acknowledged_then_they_are_listed() {
        let messages = [
            message("first-time", Some("1")),
            message("again", Some("3")),
            message("again-failed", Some("2")),
            message("no-count", None),
        ];
        let mut response = SqsBatchResponse::default();
        response.add_failure("again-failed");
        assert_eq!(acknowledged_redeliveries(&messages, &response), ["again"]);
        assert_eq!(receive_count(&messages[1]), Some(3));
        assert_eq!(receive_count(&messages[3]), None);
    }

    #[test]
    fn when_the_lambda_deadline_is_far_then_the_batch_time_caps_it() {
        let timing = BatchTiming {
            deadline_margin: Duration::from_secs(3),
            max_batch_time: Duration::from_secs(60),
        };
        let far = SystemTime::now() + Duration::from_secs(900);
        let deadline = timing.deadline(far);
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(60) && left > Duration::from_secs(59),
            "{left:?}"
        );
        let near = SystemTime::now() + Duration::from_secs(2);
        let deadline = timing.deadline(near);
        assert!(
            deadline <= Instant::now(),
            "a deadline inside the margin is now"
        );
    }
}
