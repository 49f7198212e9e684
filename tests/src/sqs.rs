//! SQS events as Lambda's event source mapping delivers them, built from a real event
//! (`resources/sqs-event.json`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lambda_http::{Context, LambdaEvent};
use serde_json::{Value, json};

const SQS_EVENT_FIXTURE: &str = include_str!("../resources/sqs-event.json");

/// An SQS event (JSON) holding one record per `(message id, body)`, each received once;
/// deserialise it into `aws_lambda_events`' `SqsEvent`.
pub fn sqs_event(messages: &[(&str, &str)]) -> Value {
    let fixture: Value = serde_json::from_str(SQS_EVENT_FIXTURE).expect("fixture is JSON");
    let template = fixture["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            let mut record = template.clone();
            record["messageId"] = (*id).into();
            record["body"] = (*body).into();
            record
        })
        .collect();
    json!({ "Records": records })
}

/// Sets the `ApproximateReceiveCount` of every record of `event` (a redelivery).
pub fn received(mut event: Value, count: u32) -> Value {
    if let Some(records) = event["Records"].as_array_mut() {
        for record in records {
            record["attributes"]["ApproximateReceiveCount"] = count.to_string().into();
        }
    }
    event
}

/// The invocation of an SQS function with one record per `(message id, body)`, each received
/// `count` times, its context's deadline `timeout` from now.
pub fn invocation(
    messages: &[(&str, &str)],
    count: u32,
    timeout: Duration,
) -> LambdaEvent<SqsEvent> {
    let event = received(sqs_event(messages), count);
    let event: SqsEvent = serde_json::from_value(event).expect("an SQS event");
    let mut context = Context::default();
    let deadline = SystemTime::now() + timeout;
    context.deadline = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    LambdaEvent::new(event, context)
}

/// The message ids a batch response hands back to SQS.
pub fn failures(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect()
}

/// A message received from SQS (with `ApproximateReceiveCount` asked for) as Lambda's event
/// source mapping hands it to the function: id, receipt handle, body and receive count.
pub fn lambda_message(message: &aws_sdk_sqs::types::Message) -> SqsMessage {
    let count = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .cloned()
        .unwrap_or_else(|| "1".into());
    serde_json::from_value(json!({
        "messageId": message.message_id(), "receiptHandle": message.receipt_handle(),
        "body": message.body(), "attributes": {"ApproximateReceiveCount": count},
        "messageAttributes": {}, "eventSource": "aws:sqs",
    }))
    .expect("an SQS message decodes as aws_lambda_events' SqsMessage")
}
