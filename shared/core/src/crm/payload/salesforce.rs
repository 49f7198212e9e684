//! Salesforce Outbound Messages: SOAP read with quick-xml into a small element tree, then one
//! record per `Notification`.

use std::borrow::Cow;
use std::collections::HashSet;

use quick_xml::Reader;
use quick_xml::errors::{Error as XmlError, IllFormedError};
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use super::{Payload, PayloadError, Record, malformed};

/// The most notifications one Salesforce Outbound Message carries.
pub const MAX_SALESFORCE_NOTIFICATIONS: usize = 100;

/// How deep XML elements may nest (a SOAP notification needs 6 levels).
const MAX_XML_DEPTH: usize = 32;

/// An XML element reduced to what Outbound Messages need.
#[derive(Debug, Default)]
struct XmlElement {
    /// Local name (namespace prefix dropped).
    name: String,
    /// `xsi:nil="true"`.
    nil: bool,
    /// Concatenated, unescaped character data directly inside the element.
    text: String,
    children: Vec<XmlElement>,
}

impl XmlElement {
    fn child(&self, name: &str) -> Option<&XmlElement> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Text (trimmed) of a child that has no children of its own; `None` when missing,
    /// nil or empty.
    fn child_text(&self, name: &str) -> Option<String> {
        let child = self.child(name)?;
        let text = child.text.trim();
        (!child.nil && child.children.is_empty() && !text.is_empty()).then(|| text.to_owned())
    }

    /// An element as JSON: children become an object (first of a repeated name wins),
    /// `xsi:nil` becomes null, anything else its text.
    fn to_json(&self) -> Value {
        if self.nil {
            Value::Null
        } else if self.children.is_empty() {
            Value::String(self.text.clone())
        } else {
            Value::Object(self.fields())
        }
    }

    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        for child in &self.children {
            if !fields.contains_key(&child.name) {
                fields.insert(child.name.clone(), child.to_json());
            }
        }
        fields
    }
}

/// Reads a SOAP Outbound Message: one record per `Notification`, deduplicated on its `Id`.
pub(super) fn parse(body: &[u8]) -> Result<Payload, PayloadError> {
    let root = read_xml(body)?;
    let mut path = String::from("Envelope");
    if root.name != "Envelope" {
        return Err(malformed(path, "the root element is not a SOAP Envelope"));
    }
    let body_element = root
        .child("Body")
        .ok_or_else(|| malformed(path.clone(), "no SOAP Body"))?;
    path.push_str("/Body");
    let notifications = body_element
        .child("notifications")
        .ok_or_else(|| malformed(path.clone(), "no `notifications` element"))?;
    path.push_str("/notifications");
    let organization_id = notifications
        .child_text("OrganizationId")
        .ok_or_else(|| malformed(path.clone(), "no OrganizationId"))?;

    let items: Vec<&XmlElement> = notifications
        .children
        .iter()
        .filter(|c| c.name == "Notification")
        .collect();
    if items.is_empty() {
        return Err(malformed(path, "no notifications"));
    }
    if items.len() > MAX_SALESFORCE_NOTIFICATIONS {
        return Err(malformed(
            path,
            format!("more than {MAX_SALESFORCE_NOTIFICATIONS} notifications"),
        ));
    }
    let mut payload = Payload {
        organization_id: Some(organization_id),
        ..Payload::default()
    };
    let mut seen = HashSet::new();
    for (i, notification) in items.into_iter().enumerate() {
        let location = format!("Notification[{i}]");
        let id = notification
            .child_text("Id")
            .ok_or_else(|| malformed(location.clone(), "notification has no Id"))?;
        let sobject = notification
            .child("sObject")
            .ok_or_else(|| malformed(location.clone(), "notification has no sObject"))?;
        if !seen.insert(id.clone()) {
            payload.ignored += 1;
            continue;
        }
        payload.records.push(Record {
            value: Value::Object(sobject.fields()),
            location,
            dedupe_key: Some(id),
            signup: true,
        });
    }
    Ok(payload)
}

/// Reads a whole XML document into a tree of [`XmlElement`]s. Namespace prefixes are
/// dropped; DTDs, unknown entities and content outside the root element are refused.
fn read_xml(body: &[u8]) -> Result<XmlElement, PayloadError> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root: Option<XmlElement> = None;
    loop {
        let start = reader.buffer_position();
        let byte = |at: u64| format!("byte {at}");
        let event = reader
            .read_event()
            .map_err(|error| xml_error(&error, reader.error_position()))?;
        let opened = match &event {
            Event::Start(tag) | Event::Empty(tag) => {
                if root.is_some() && stack.is_empty() {
                    return Err(malformed(byte(start), "content after the root element"));
                }
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(malformed(byte(start), "elements nest too deeply"));
                }
                Some(element(tag).map_err(|message| malformed(byte(start), message))?)
            }
            _ => None,
        };
        let text: Option<Cow<'_, str>> = match event {
            Event::Start(_) => {
                stack.extend(opened);
                None
            }
            Event::Empty(_) | Event::End(_) => {
                let closed = match opened {
                    Some(element) => element,
                    None => stack
                        .pop()
                        .ok_or_else(|| malformed(byte(start), "closing tag without opening tag"))?,
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(closed),
                    None => root = Some(closed),
                }
                None
            }
            Event::Text(text) => Some(
                text.xml10_content()
                    .map_err(|_| malformed(byte(start), "text is not valid UTF-8"))?,
            ),
            Event::CData(data) => Some(
                data.xml10_content()
                    .map_err(|_| malformed(byte(start), "CDATA is not valid UTF-8"))?,
            ),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(|_| {
                            malformed(byte(start), "entity reference is not valid UTF-8")
                        })?;
                        quick_xml::escape::resolve_xml_entity(&name)
                            .ok_or_else(|| malformed(byte(start), "unknown entity reference"))?
                            .to_owned()
                    }
                    Err(_) => return Err(malformed(byte(start), "invalid character reference")),
                };
                Some(Cow::Owned(resolved))
            }
            Event::DocType(_) => return Err(malformed(byte(start), "DTDs are not accepted")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => None,
            Event::Eof => break,
        };
        if let Some(text) = text {
            match stack.last_mut() {
                Some(open) => open.text.push_str(&text),
                None if text.trim().is_empty() => {}
                None => return Err(malformed(byte(start), "text outside the root element")),
            }
        }
    }
    if !stack.is_empty() {
        return Err(malformed(
            format!("byte {}", body.len()),
            "the document ends inside an element",
        ));
    }
    root.ok_or_else(|| malformed("byte 0", "no root element"))
}

/// The element's local name and whether it is `xsi:nil="true"`.
fn element(tag: &BytesStart<'_>) -> Result<XmlElement, &'static str> {
    let name = std::str::from_utf8(tag.local_name().into_inner())
        .map_err(|_| "element name is not valid UTF-8")?
        .to_owned();
    let mut nil = false;
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|_| "malformed attribute")?;
        if attribute.key.local_name().as_ref() == b"nil" {
            nil = matches!(attribute.value.as_ref().trim_ascii(), b"true" | b"1");
        }
    }
    Ok(XmlElement {
        name,
        nil,
        ..XmlElement::default()
    })
}

fn xml_error(error: &XmlError, position: u64) -> PayloadError {
    let message: Cow<'static, str> = match error {
        // Syntax messages describe the markup, never its content.
        XmlError::Syntax(syntax) => syntax.to_string().into(),
        XmlError::IllFormed(ill) => match ill {
            IllFormedError::MissingDoctypeName => "DTDs are not accepted".into(),
            IllFormedError::MissingEndTag(_) => "an element is not closed".into(),
            IllFormedError::UnmatchedEndTag(_) => "closing tag without opening tag".into(),
            IllFormedError::MismatchedEndTag { .. } => {
                "closing tag does not match the open element".into()
            }
            IllFormedError::MissingDeclVersion(_) => "XML declaration has no version".into(),
            IllFormedError::DoubleHyphenInComment => "`--` inside a comment".into(),
            IllFormedError::UnclosedReference => "entity reference is not closed".into(),
        },
        XmlError::InvalidAttr(_) => "malformed attribute".into(),
        XmlError::Encoding(_) => "not valid UTF-8".into(),
        XmlError::Escape(_) => "invalid escape".into(),
        XmlError::Namespace(_) => "namespace error".into(),
        XmlError::Io(_) => "unreadable body".into(),
    };
    malformed(format!("byte {position}"), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_xml_has_a_bom_nested_fields_and_char_refs_then_they_are_read() {
        let body = "\u{feff}<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"urn:e\"><e:Body>\
            <notifications><OrganizationId> 00Dx </OrganizationId><Notification><Id>n1</Id>\
            <sObject><Name>A&#233;&#x41;</Name><Account><Id>001</Id><Name/></Account>\
            <Phone></Phone></sObject></Notification></notifications></e:Body></e:Envelope>";
        let payload = parse(body.as_bytes()).unwrap();
        assert_eq!(payload.organization_id.as_deref(), Some("00Dx"));
        assert_eq!(
            payload.records[0].value,
            serde_json::json!({"Name": "A\u{e9}A", "Account": {"Id": "001", "Name": ""}, "Phone": ""})
        );
    }
}
