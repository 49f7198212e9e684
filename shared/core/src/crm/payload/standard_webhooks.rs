//! Standard Webhooks bodies: one contact object, an array of them, or `{"contacts": [..]}`.

use serde_json::Value;

use super::{Payload, PayloadError, Record, kind, malformed};

/// Reads a Standard Webhooks body into its contacts; zero contacts is malformed.
pub(super) fn parse(body: Value) -> Result<Payload, PayloadError> {
    let (items, prefix) = match body {
        Value::Object(mut object) => match object.remove("contacts") {
            Some(Value::Array(items)) => (items, "/contacts"),
            Some(other) => {
                return Err(malformed(
                    "/contacts",
                    format!("`contacts` must be an array, found {}", kind(&other)),
                ));
            }
            None => {
                return Ok(Payload {
                    records: vec![Record {
                        value: Value::Object(object),
                        location: String::new(),
                        dedupe_key: None,
                        signup: true,
                    }],
                    ..Payload::default()
                });
            }
        },
        Value::Array(items) => (items, ""),
        other => {
            return Err(malformed(
                "",
                format!(
                    "body must be a contact object or an array of them, found {}",
                    kind(&other)
                ),
            ));
        }
    };
    if items.is_empty() {
        return Err(malformed(prefix, "no contacts"));
    }
    let records = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let location = format!("{prefix}/{i}");
            if item.is_object() {
                Ok(Record {
                    value: item,
                    location,
                    dedupe_key: None,
                    signup: true,
                })
            } else {
                Err(malformed(
                    location,
                    format!("a contact must be an object, found {}", kind(&item)),
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Payload {
        records,
        ..Payload::default()
    })
}
