//! Received SQS messages as the [`SqsEvent`] Lambda's event source mapping delivers: each
//! record with its message id, receipt handle, body, MD5, system attributes
//! (`ApproximateReceiveCount`, `SentTimestamp`, ...), message attributes, `eventSource`
//! `aws:sqs`, the queue's ARN and region. Built as JSON and read by aws_lambda_events, so it
//! is the type's own deserialisation of the document Lambda sends.

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::Message;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

/// The queue a poller reads: where its records say they come from.
#[derive(Debug, Clone)]
pub struct QueueSource {
    /// The queue's URL.
    pub queue_url: String,
    /// The queue's ARN (`eventSourceARN`).
    pub queue_arn: String,
    /// The region (`awsRegion`).
    pub region: String,
}

/// One record's JSON.
pub fn record(message: &Message, receipt_handle: &str, source: &QueueSource) -> Value {
    let attributes: Map<String, Value> = message
        .attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_owned(), value.clone().into()))
        .collect();
    let message_attributes: Map<String, Value> = message
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            let mut attribute = json!({
                "stringListValues": value.string_list_values(),
                "binaryListValues": value
                    .binary_list_values()
                    .iter()
                    .map(|blob| BASE64.encode(blob.as_ref()))
                    .collect::<Vec<_>>(),
                "dataType": value.data_type(),
            });
            if let Some(string) = value.string_value() {
                attribute["stringValue"] = string.into();
            }
            if let Some(binary) = value.binary_value() {
                attribute["binaryValue"] = BASE64.encode(binary.as_ref()).into();
            }
            (name.clone(), attribute)
        })
        .collect();
    let mut record = json!({
        "messageId": message.message_id(),
        "receiptHandle": receipt_handle,
        "body": message.body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": source.region,
    });
    if let Some(md5) = message.md5_of_message_attributes() {
        record["md5OfMessageAttributes"] = md5.into();
    }
    record
}

/// The event for `records` (each a [`record`]).
pub fn sqs_event(records: Vec<Value>) -> Result<SqsEvent, serde_json::Error> {
    serde_json::from_value(json!({ "Records": records }))
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};

    use super::*;

    #[test]
    fn when_a_message_is_received_then_its_record_has_what_lambda_sends() {
        let message = Message::builder()
            .message_id("m-1")
            .receipt_handle("old")
            .body("{\"v\":1}")
            .md5_of_body("abc")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .message_attributes(
                "kind",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("contacts")
                    .build()
                    .unwrap(),
            )
            .build();
        let source = QueueSource {
            queue_url: "http://127.0.0.1:1/000000000000/q".into(),
            queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            region: "us-east-1".into(),
        };
        let event = sqs_event(vec![record(&message, "latest", &source)]).unwrap();
        let record = &event.records[0];
        assert_eq!(record.message_id.as_deref(), Some("m-1"));
        assert_eq!(record.receipt_handle.as_deref(), Some("latest"));
        assert_eq!(record.body.as_deref(), Some("{\"v\":1}"));
        assert_eq!(record.attributes["ApproximateReceiveCount"], "2");
        assert_eq!(
            record.message_attributes["kind"].string_value.as_deref(),
            Some("contacts")
        );
        assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
        assert_eq!(
            record.event_source_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:000000000000:q")
        );
        assert_eq!(record.aws_region.as_deref(), Some("us-east-1"));
    }
}
