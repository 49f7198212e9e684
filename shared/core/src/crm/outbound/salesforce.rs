//! Salesforce Outbound Messages: the SOAP envelope with the source's organization id and one
//! `Notification` whose `sObject` holds the fields; the URL token in the query.

use quick_xml::escape::escape;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::{OutboundError, OutboundRequest, Stamp, set_header};
use crate::crm::mapping::Pointer;
use crate::crm::signature::url_token_query;

/// The content type Salesforce sends.
pub(super) const CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// The SOAP 1.1 action header Salesforce sends (empty).
const SOAP_ACTION: &str = "SOAPAction";
/// The outbound messaging namespace.
const OUTBOUND_NAMESPACE: &str = "http://soap.sforce.com/2005/09/outbound";
/// The enterprise sObject namespace.
const SOBJECT_NAMESPACE: &str = "urn:sobject.enterprise.soap.sforce.com";
/// The API version in the envelope's service URLs.
const API_VERSION: &str = "62.0";
/// The outbound message definition id: a placeholder (15 zeros after the key prefix, with its
/// case checksum), since the message is not sent by a real workflow rule.
const ACTION_ID: &str = "04k000000000000AAA";

/// Whether `pointer` can be an element path in the `sObject`: every token an XML name
/// (letters, digits, `_`, `-`, `.`, not starting with a digit), so no array index.
pub(super) fn check_pointer(field: &str, pointer: &Pointer) -> Result<(), OutboundError> {
    let xml_name = |token: &str| {
        token
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if pointer.as_str().split('/').skip(1).all(xml_name) {
        Ok(())
    } else {
        Err(OutboundError::Unplaceable {
            field: field.to_owned(),
            pointer: pointer.as_str().to_owned(),
            reason: "an sObject field path is made of XML element names (no array index)",
        })
    }
}

/// The SOAP envelope: `notifications` with `OrganizationId`, `ActionId`, a nil `SessionId`,
/// the service URLs, and one `Notification` (`Id` = `stamp.id`) whose `sObject` (a Contact)
/// holds the record's fields as elements (nested objects as nested elements).
pub(super) fn body(record: Value, organization_id: &str, stamp: &Stamp) -> Vec<u8> {
    let mut fields = String::new();
    if let Value::Object(record) = &record {
        write_fields(&mut fields, record);
    }
    let organization = escape(organization_id);
    let id = escape(stamp.id.as_str());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="{OUTBOUND_NAMESPACE}"><OrganizationId>{organization}</OrganizationId><ActionId>{ACTION_ID}</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>https://login.salesforce.com/services/Soap/c/{API_VERSION}/{organization}</EnterpriseUrl><PartnerUrl>https://login.salesforce.com/services/Soap/u/{API_VERSION}/{organization}</PartnerUrl><Notification><Id>{id}</Id><sObject xsi:type="sf:Contact" xmlns:sf="{SOBJECT_NAMESPACE}">{fields}</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"#
    )
    .into_bytes()
}

/// `<sf:Name>value</sf:Name>` per field, nested objects as nested elements, null as
/// `xsi:nil`. Names were checked by [`check_pointer`]; arrays cannot occur (no index token).
fn write_fields(out: &mut String, fields: &Map<String, Value>) {
    for (name, value) in fields {
        match value {
            Value::Object(children) => {
                out.push_str(&format!("<sf:{name}>"));
                write_fields(out, children);
                out.push_str(&format!("</sf:{name}>"));
            }
            Value::String(text) => {
                out.push_str(&format!("<sf:{name}>{}</sf:{name}>", escape(text.as_str())));
            }
            Value::Null => out.push_str(&format!(r#"<sf:{name} xsi:nil="true"/>"#)),
            other => out.push_str(&format!(
                "<sf:{name}>{}</sf:{name}>",
                escape(other.to_string().as_str())
            )),
        }
    }
}

/// Puts the URL token in the query and the SOAP action header on `request`.
pub(super) fn sign(
    request: &mut OutboundRequest,
    url_token: Option<&SecretString>,
) -> Result<(), OutboundError> {
    if let Some(token) = url_token {
        request.query = url_token_query(token.expose_secret());
    }
    set_header(&mut request.headers, SOAP_ACTION, "\"\"")
}
