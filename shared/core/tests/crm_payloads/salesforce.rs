//! Salesforce

use super::*;

fn salesforce_mapping() -> FieldMapping {
    mapping(json!({
        "external_id": "/App_User_Id__c", "email": "/Email", "first_name": "/FirstName",
        "last_name": "/LastName", "phone": "/MobilePhone", "country": "/MailingCountryCode",
        "signed_up_at": "/CreatedDate", "custom": {"salesforce_id": "/Id"}
    }))
}

#[test]
fn when_salesforce_sends_outbound_messages_then_each_notification_is_a_record() {
    let payload = parse(
        Scheme::SalesforceOutbound,
        XML,
        &fixture("salesforce_outbound.xml"),
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(
        payload.organization_id.as_deref(),
        Some("00D5e000000AbCdEAK")
    );
    assert_eq!((payload.fetch.len(), payload.ignored), (0, 0));
    let keys: Vec<(&str, Option<&str>)> = payload
        .records
        .iter()
        .map(|r| (r.location.as_str(), r.dedupe_key.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            ("Notification[0]", Some("04l5e00000A1b2cAAB")),
            ("Notification[1]", Some("04l5e00000A1b2dAAB")),
            ("Notification[2]", Some("04l5e00000A1b2eAAB")),
        ]
    );
    assert_eq!(
        payload.records[1].value,
        json!({
            "Id": "0035e00000Qx1AcAAJ", "App_User_Id__c": "usr_1002",
            "CreatedDate": "2024-03-01T10:00:00.000Z", "Email": "conor@example.com",
            "FirstName": "Conor", "LastName": "O'Brien & Sons", "MailingCountryCode": "IE",
            "MobilePhone": null
        })
    );

    let contacts: Vec<Contact> = payload
        .records
        .iter()
        .map(|r| salesforce_mapping().apply(&r.value).unwrap())
        .collect();
    let contact = |id: &str, email: &str, first: &str, last: &str, country: &str| {
        let mut c = Contact::new(id);
        c.email = Some(email.into());
        c.first_name = Some(first.into());
        c.last_name = Some(last.into());
        c.country = Some(country.into());
        c
    };
    let mut ada = contact("usr_1001", "ada@example.com", "Ada", "Lovelace", "GB");
    ada.phone = Some("+442079460958".into());
    ada.signed_up_at = at(2024, 3, 1, 9, 15, 0);
    ada.custom
        .insert("salesforce_id".into(), json!("0035e00000Qx1AbAAJ"));
    let mut conor = contact(
        "usr_1002",
        "conor@example.com",
        "Conor",
        "O'Brien & Sons",
        "IE",
    );
    conor.signed_up_at = at(2024, 3, 1, 10, 0, 0);
    conor
        .custom
        .insert("salesforce_id".into(), json!("0035e00000Qx1AcAAJ"));
    let mut mae = contact("usr_1003", "mae@example.com", "Mae", "Jemison", "US");
    mae.phone = Some("+14155550100".into());
    mae.signed_up_at = at(2024, 3, 1, 11, 30, 0);
    mae.custom
        .insert("salesforce_id".into(), json!("0035e00000Qx1AdAAJ"));
    assert_eq!(contacts, vec![ada, conor, mae]);
}

fn soap(notifications: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">{notifications}</notifications></soapenv:Body></soapenv:Envelope>"#
    )
    .into_bytes()
}

fn notification(id: &str) -> String {
    format!(
        r#"<Notification><Id>{id}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003{id}</sf:Id><sf:Email>a@example.com</sf:Email></sObject></Notification>"#
    )
}

const ORG: &str = "<OrganizationId>00D000000000001</OrganizationId>";

#[test]
fn when_salesforce_repeats_a_notification_id_then_the_first_is_kept() {
    let body = soap(&format!(
        "{ORG}{}{}{}",
        notification("n1"),
        notification("n2"),
        notification("n1")
    ));
    let payload = parse_default(
        Scheme::SalesforceOutbound,
        Some("application/soap+xml"),
        &body,
    )
    .unwrap();
    let keys: Vec<(&str, Option<&str>)> = payload
        .records
        .iter()
        .map(|r| (r.location.as_str(), r.dedupe_key.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            ("Notification[0]", Some("n1")),
            ("Notification[1]", Some("n2"))
        ]
    );
    assert_eq!(payload.ignored, 1);
}

#[test]
fn when_salesforce_message_is_malformed_then_the_location_is_exact() {
    let too_many: String = (0..101).map(|i| notification(&format!("n{i}"))).collect();
    let header = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            soap(&notification("n1")),
            "Envelope/Body/notifications",
            "no OrganizationId",
        ),
        (soap(ORG), "Envelope/Body/notifications", "no notifications"),
        (
            soap(&format!("{ORG}{too_many}")),
            "Envelope/Body/notifications",
            "more than 100 notifications",
        ),
        (
            soap(&format!("{ORG}<Notification><sObject/></Notification>")),
            "Notification[0]",
            "notification has no Id",
        ),
        (
            soap(&format!(
                "{ORG}{}<Notification><Id>n2</Id></Notification>",
                notification("n1")
            )),
            "Notification[1]",
            "notification has no sObject",
        ),
        (
            b"<Envelope><Header/></Envelope>".to_vec(),
            "Envelope",
            "no SOAP Body",
        ),
        (
            b"<root/>".to_vec(),
            "Envelope",
            "the root element is not a SOAP Envelope",
        ),
        (
            format!("{header}\n<!DOCTYPE e [<!ENTITY x \"y\">]><Envelope/>").into_bytes(),
            "byte 39",
            "DTDs are not accepted",
        ),
        (
            b"<Envelope><Body></Envelope>".to_vec(),
            "byte 16",
            "closing tag does not match the open element",
        ),
        (
            b"<Envelope><Body>".to_vec(),
            "byte 16",
            "the document ends inside an element",
        ),
        (
            b"<Envelope><Body><a>&bogus;</a></Body></Envelope>".to_vec(),
            "byte 19",
            "unknown entity reference",
        ),
        (
            b"<Envelope/><Envelope/>".to_vec(),
            "byte 11",
            "content after the root element",
        ),
        (
            b"<Envelope><Body x=></Body></Envelope>".to_vec(),
            "byte 10",
            "malformed attribute",
        ),
        (
            b"<Envelope><Body".to_vec(),
            "byte 10",
            "tag not closed: `>` not found before end of input",
        ),
    ];
    for (body, location, message) in cases {
        assert_eq!(
            malformed(Scheme::SalesforceOutbound, XML, &body),
            (location.to_owned(), message.to_owned()),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
}
