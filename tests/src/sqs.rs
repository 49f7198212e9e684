//! SQS events as Lambda's event source mapping delivers them, built from a real event
//! (`resources/sqs-event.json`).

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
