//! HubSpot: a workflow webhook in the legacy contact shape (it carries the properties, so no
//! API read is needed), signed with the first version the source accepts over the configured
//! public URL.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::{OutboundError, OutboundRequest, Stamp, set_header, since_epoch};
use crate::crm::signature::{
    HUBSPOT_REQUEST_TIMESTAMP, HUBSPOT_SIGNATURE, HUBSPOT_SIGNATURE_V3, HUBSPOT_SIGNATURE_VERSION,
    HubspotVersion, hubspot_request_uri, hubspot_v1_signature, hubspot_v2_signature,
    hubspot_v3_signature,
};

/// The contact property holding HubSpot's record id, which the legacy shape also gives as
/// `vid`.
const OBJECT_ID_PROPERTY: &str = "hs_object_id";

/// The body: `{"vid": <hs_object_id>, "properties": {name: {"value": ..}}}`; `vid` only when
/// the record has `hs_object_id` (a number when it is all digits, as HubSpot sends it).
/// A record that is not an object (a mapping reading a field from the whole record) cannot
/// be given in this shape: an error, not a panic.
pub(super) fn body(record: Value) -> Result<Vec<u8>, OutboundError> {
    let record = match record {
        Value::Object(record) => record,
        _ => {
            return Err(OutboundError::Unplaceable {
                field: "*".into(),
                pointer: "/".into(),
                reason: "HubSpot's contact shape needs the fields as properties of one object",
            });
        }
    };
    let mut body = Map::new();
    if let Some(Value::String(id)) = record.get(OBJECT_ID_PROPERTY) {
        let vid = id
            .parse::<u64>()
            .map_or_else(|_| Value::String(id.clone()), Value::from);
        body.insert("vid".into(), vid);
    }
    let properties: Map<String, Value> = record
        .into_iter()
        .map(|(name, value)| (name, json!({ "value": value })))
        .collect();
    body.insert("properties".into(), Value::Object(properties));
    Ok(Value::Object(body).to_string().into_bytes())
}

/// Signs `request` as HubSpot does with the first of `versions` (v3 when none is listed):
/// the URI signed is `public_url` plus the request's query.
pub(super) fn sign(
    request: &mut OutboundRequest,
    client_secret: &SecretString,
    public_url: &str,
    versions: &[HubspotVersion],
    stamp: &Stamp,
) -> Result<(), OutboundError> {
    let secret = client_secret.expose_secret();
    let method = request.method.as_str();
    let uri = hubspot_request_uri(public_url, &request.query);
    let headers = &mut request.headers;
    match versions.first().copied().unwrap_or(HubspotVersion::V3) {
        HubspotVersion::V3 => {
            let timestamp = since_epoch(stamp.now).as_millis().to_string();
            let signature = hubspot_v3_signature(secret, method, &uri, &request.body, &timestamp);
            set_header(headers, HUBSPOT_SIGNATURE_V3, &signature)?;
            set_header(headers, HUBSPOT_REQUEST_TIMESTAMP, &timestamp)
        }
        HubspotVersion::V2 => {
            let signature = hubspot_v2_signature(secret, method, &uri, &request.body);
            set_header(headers, HUBSPOT_SIGNATURE, &signature)?;
            set_header(headers, HUBSPOT_SIGNATURE_VERSION, "v2")
        }
        HubspotVersion::V1 => {
            let signature = hubspot_v1_signature(secret, &request.body);
            set_header(headers, HUBSPOT_SIGNATURE, &signature)?;
            set_header(headers, HUBSPOT_SIGNATURE_VERSION, "v1")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_record_is_not_an_object_then_the_body_is_an_error() {
        let error = body(Value::String("whole".into())).unwrap_err();

        assert!(
            matches!(error, OutboundError::Unplaceable { .. }),
            "{error}"
        );
    }

    #[test]
    fn when_the_record_has_an_object_id_then_it_is_the_vid() {
        let record = json!({ "hs_object_id": "42", "email": "e" });

        let sent: Value = serde_json::from_slice(&body(record).unwrap()).unwrap();

        assert_eq!(sent["vid"], 42);
        assert_eq!(sent["properties"]["email"]["value"], "e");
    }
}
