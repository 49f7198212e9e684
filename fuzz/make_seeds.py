# Writes fuzz/seeds/<target>/ from the project's test fixtures (run from the workspace root:
# python3 fuzz/make_seeds.py). The seeds are committed; rerun only to change them.
import base64, gzip, hashlib, hmac, io, os, re, shutil, zipfile, json
root = "fuzz/seeds"
crm = "shared/core/tests/resources/crm"
exports = "tests/resources/exports"
def put(target, name, data):
    d = os.path.join(root, target); os.makedirs(d, exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(os.path.join(d, name), "wb").write(data)
def read(p): return open(p, "rb").read()

put("standard_webhooks_payload", "contacts.json", read(f"{crm}/standard_contacts.json"))
put("standard_webhooks_payload", "one_contact.json", '{"external_id":"u-1","email":"ada@example.com","first_name":"Ada","phone":"+442086661124"}')
put("standard_webhooks_payload", "wrapper.json", '{"contacts":[{"external_id":"u-2","email":"b@example.com"}],"type":"contact.created"}')
for f in ["hubspot_events.json", "hubspot_flat.json", "hubspot_legacy_workflow.json", "hubspot_v3_object.json"]:
    put("hubspot_payload", f, read(f"{crm}/{f}"))
for f in ["pipedrive_person_added_v1.json", "pipedrive_person_added_v2.json", "pipedrive_person_change_v2.json"]:
    put("pipedrive_payload", f, read(f"{crm}/{f}"))
xml = read(f"{crm}/salesforce_outbound.xml")
put("xml_reader", "salesforce_outbound.xml", xml)
head = '<?xml version="1.0"?>'
put("xml_reader", "billion_laughs.xml", head + '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><Envelope><Body><notifications><OrganizationId>&lol3;</OrganizationId></notifications></Body></Envelope>')
put("xml_reader", "external_entity.xml", head + '<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Envelope><Body>&xxe;</Body></Envelope>')
put("xml_reader", "entities_and_cdata.xml", '<Envelope><Body><notifications><OrganizationId>00D5e000000AbCdEAK</OrganizationId><Notification><Id>n1</Id><sObject><Name>A&amp;B&#233;&#x41;<![CDATA[<x>]]></Name><Email xsi:nil="true" xmlns:xsi="urn:x"/></sObject></Notification></notifications></Body></Envelope>')
m = re.search(rb"</OrganizationId>(.*)</notifications>", xml, re.S)
inner = m.group(1)
put("salesforce_payload", "notifications.xml", inner)
notes = re.findall(rb"<Notification>.*?</Notification>", inner, re.S)
put("salesforce_payload", "one_notification.xml", notes[0])
put("salesforce_payload", "repeated_id.xml", notes[0] + notes[0])
# Standard Webhooks: the scheme's own test vector (id, timestamp, signature, body).
put("standard_webhooks_signature", "spec_vector", "msg_p5jXN8AQM9LWM0D4loKWxJek\n1614265330\nv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n" + '{"test": 2432232314}')
put("standard_webhooks_signature", "rotated_keys", "msg_p5jXN8AQM9LWM0D4loKWxJek\n1614265330\nv1a,abc v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n" + '{"test": 2432232314}')
put("standard_webhooks_signature", "two_headers", "msg_p5jXN8AQM9LWM0D4loKWxJek\n1614265330\nv1,bm9wZQ==\x1ev1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n" + '{"test": 2432232314}')
put("standard_webhooks_signature", "too_old", "msg_1\n1614264000\nv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n{}")
# HubSpot v3 over the body, now = 1614265330 s.
secret = b"fuzz-hubspot-client-secret"; url = "https://relay.example.com/webhooks/hubspot"
body = read(f"{crm}/hubspot_events.json")[:600]
ts = "1614265330000"
sig = base64.b64encode(hmac.new(secret, b"POST" + url.encode() + body + ts.encode(), hashlib.sha256).digest()).decode()
put("hubspot_signature", "v3", f"{sig}\n{ts}\n\n\n\n".encode() + body)
q = "a=1&b=%3A%2F"
uri = url + "?" + "a=1&b=:/"
sig = base64.b64encode(hmac.new(secret, b"POST" + uri.encode() + b"[]" + ts.encode(), hashlib.sha256).digest()).decode()
put("hubspot_signature", "v3_query", f"{sig}\n{ts}\n\n\n{q}\n[]")
v2 = hashlib.sha256(secret + b"POST" + url.encode() + b"[]").hexdigest()
put("hubspot_signature", "v2", f"\n\n{v2}\nv2\n\n[]")
v1 = hashlib.sha256(secret + b"[]").hexdigest()
put("hubspot_signature", "v1", f"\n\n{v1.upper()}\nv1\n\n[]")
put("hubspot_signature", "two_v3_headers", f"bm9wZQ==\x1e{sig}\n{ts}\n\n\n{q}\n[]")
put("basic_credentials", "right", "pipedrive\npw-for-fuzz\nBasic " + base64.b64encode(b"pipedrive:pw-for-fuzz").decode())
put("basic_credentials", "wrong", "pipedrive\npw-for-fuzz\nbasic " + base64.b64encode(b"pipedrive:guess").decode())
put("basic_credentials", "two_headers", "pipedrive\npw\nBasic " + base64.b64encode(b"x:y").decode() + "\x1eBasic " + base64.b64encode(b"pipedrive:pw").decode())
put("salesforce_url_token", "token", "sf-url-token\ntoken=sf-url-token&x=1")
put("salesforce_url_token", "encoded", "a b&c=d\ntok%65n=a+b%26c%3Dd&token=a%20b%26c%3Dd")
put("salesforce_url_token", "organization", "00D5e000000AbCdEAK\ntoken=00D5e000000AbCd")
# Export files.
lines = b"\n".join([b'{"external_id":"u1","email":"a@example.com","first_name":"Jane"}', b"", b'{"external_id":"u2"}\r', b"not json", b'{"braze_id":"5fbd99bac125ca40511f2cb1"}']) + b"\n"
def z(method, members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as f:
        for name, data in members: f.writestr(name, data)
    return b.getvalue()
put("zip_reader", "stored.zip", z(zipfile.ZIP_STORED, [("users.txt", lines)]))
put("zip_reader", "deflated_two_members.zip", z(zipfile.ZIP_DEFLATED, [("dir/", b""), ("a.txt", lines), ("b.txt", lines[:40])]))
put("zip_reader", "long_line.zip", z(zipfile.ZIP_DEFLATED, [("a.txt", b"x" * 700 + b"\r\n" + b"y\n")]))
for f in ["infozip-stdin-data-descriptor.zip", "infozip-zip64.zip"]:
    put("zip_reader", f, read(f"{exports}/{f}"))
put("zip_reader", "bomb_ratio.zip", z(zipfile.ZIP_DEFLATED, [("a.txt", b"\n" * 300000)]))
put("gzip_reader", "one_member.gz", gzip.compress(lines, mtime=0))
put("gzip_reader", "gzip-two-members.gz", read(f"{exports}/gzip-two-members.gz"))
put("gzip_reader", "long_line_crlf.gz", gzip.compress(b"a\n" + b"x" * 700 + b"\r\nb", mtime=0))
put("gzip_reader", "bomb_ratio.gz", gzip.compress(b"\n" * 300000, mtime=0))
realistic = re.search(r'REALISTIC: &str = r#"(.*?)"#;', open("shared/core/src/export/line/tests/mod.rs").read()).group(1)
put("export_line", "realistic.json", realistic)
put("export_line", "numeric_id.json", '{"external_id":12345,"email":"a@example.com","created_at":"2020-07-10T15:00:00Z","custom_attributes":{"plan":"pro","tags":["a"],"seats":3}}')
put("export_line", "no_external_id.json", '{"braze_id":"5fbd99bac125ca40511f2cb1","email":"a@example.com"}')
put("export_line", "escapes.json", '{"external_id":"caf\\u00e9","first_name":"J\\u00f6rg","last_name":null,"created_at":"2020-07-10 15:00:00.000 UTC"}')
# A long line that arrives over several chunks (incompressible), ended by CRLF.
noise = b"".join(hashlib.sha256(bytes([i])).hexdigest().encode() for i in range(12))[:700]
put("gzip_reader", "long_line_crlf_streamed.gz", gzip.compress(b"a\n" + noise + b"\r\nb\n", mtime=0, compresslevel=0))
