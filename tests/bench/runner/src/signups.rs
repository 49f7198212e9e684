//! Signup webhooks over HTTP for the load benchmarks: one contact each, from the four CRM
//! sources in turn (Standard Webhooks, HubSpot's workflow webhook, a Salesforce outbound
//! message, Pipedrive), each built and signed by relay-core's `crm::outbound` (what
//! `relay webhook send` sends) with the sources loaded from the run's settings, and what
//! every answer was.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use relay_core::crm::outbound::{ContactFields, OutboundBody, Stamp, build_request};
use relay_core::crm::{SourceLookup, Sources};
use relay_core::secrets::SecretResolver;

/// The sources every load run sends to, in turn.
pub const SOURCES: [&str; 4] = [
    "standard-webhooks",
    "hubspot",
    "salesforce-outbound",
    "pipedrive",
];

/// Sends signups to one `relay local`.
pub struct Sender {
    http: reqwest::Client,
    webhooks: String,
    sources: Sources,
}

/// One answer.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// The HTTP status; 0 when no answer came (a transport error or the timeout).
    pub status: u16,
    /// Request sent to answer read.
    pub latency: Duration,
}

impl Sender {
    /// A sender to `webhooks` (relay local's base URL), the sources loaded from `settings`
    /// as crm-signup loads them; every one of [`SOURCES`] must be enabled.
    pub async fn new(webhooks: &str, settings: &HashMap<String, String>) -> Result<Sender, String> {
        let sources = Sources::load(&SecretResolver::from_env_map(settings.clone()))
            .await
            .map_err(|e| format!("loading the sources: {e}"))?;
        for name in SOURCES {
            match sources.get(name) {
                SourceLookup::Found(_) => {}
                SourceLookup::Disabled(reason) => {
                    return Err(format!("source {name} is not enabled: {reason}"));
                }
                SourceLookup::Unknown => return Err(format!("source {name} is not configured")),
            }
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            // API Gateway's integration timeout, and a little more.
            .timeout(Duration::from_secs(35))
            .build()
            .map_err(|e| format!("the HTTP client: {e}"))?;
        Ok(Sender {
            http,
            webhooks: webhooks.trim_end_matches('/').to_owned(),
            sources,
        })
    }

    /// Signup number `n`: its source and the external id its CRM gives the contact.
    pub fn contact(n: usize) -> (&'static str, String) {
        let source = SOURCES[n % SOURCES.len()];
        let id = match source {
            "hubspot" => (10_000_000 + n).to_string(),
            "salesforce-outbound" => format!("0035e{n:013}"),
            "pipedrive" => (20_000_000 + n).to_string(),
            _ => format!("load-{n:07}"),
        };
        (source, id)
    }

    /// Sends signup number `n`, signed now.
    pub async fn send(&self, n: usize) -> Result<Sent, String> {
        let (name, id) = Sender::contact(n);
        let SourceLookup::Found(source) = self.sources.get(name) else {
            return Err(format!("source {name} is not enabled"));
        };
        let email = format!("load-{n}@example.com");
        let fields = ContactFields::from_pairs([
            format!("external_id={id}"),
            format!("email={email}"),
            "first_name=Load".to_owned(),
            "last_name=Test".to_owned(),
        ])
        .map_err(|e| format!("the contact: {e}"))?;
        let stamp = Stamp {
            now: SystemTime::now(),
            id: format!("msg_load_{n}_{}", crate::events::now_millis()),
        };
        let request = build_request(source, OutboundBody::Contact(fields), &stamp)
            .map_err(|e| format!("building the {name} request: {e}"))?;
        let url = format!("{}{}", self.webhooks, request.path_and_query());
        let started = Instant::now();
        let answer = self
            .http
            .post(url)
            .headers(request.headers)
            .body(request.body)
            .send()
            .await;
        let status = match answer {
            // The whole answer is read: the latency is the client's.
            Ok(answer) => {
                let status = answer.status().as_u16();
                match answer.bytes().await {
                    Ok(_) => status,
                    Err(_) => 0,
                }
            }
            Err(_) => 0,
        };
        Ok(Sent {
            status,
            latency: started.elapsed(),
        })
    }
}

/// Answers counted by status and by source.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Latencies of every answer, milliseconds.
    pub latencies_ms: Vec<f64>,
    /// Answers per status (0 = no answer).
    pub statuses: BTreeMap<u16, u64>,
    /// Answers other than 2xx, per (source, status).
    pub failures: BTreeMap<(&'static str, u16), u64>,
}

impl Tally {
    /// Counts signup `n`'s answer.
    pub fn add(&mut self, n: usize, sent: Sent) {
        self.latencies_ms.push(sent.latency.as_secs_f64() * 1e3);
        *self.statuses.entry(sent.status).or_default() += 1;
        if !(200..300).contains(&sent.status) {
            *self
                .failures
                .entry((Sender::contact(n).0, sent.status))
                .or_default() += 1;
        }
    }

    /// Merges another tally into this one.
    pub fn merge(&mut self, other: Tally) {
        self.latencies_ms.extend(other.latencies_ms);
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        for (key, count) in other.failures {
            *self.failures.entry(key).or_default() += count;
        }
    }

    /// Answers that were not 2xx.
    pub fn non_2xx(&self) -> u64 {
        self.failures.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_signups_are_numbered_then_sources_alternate_and_ids_are_unique() {
        let contacts: Vec<(&str, String)> = (0..400).map(Sender::contact).collect();
        assert_eq!(contacts[0].0, "standard-webhooks");
        assert_eq!(contacts[1], ("hubspot", "10000001".to_owned()));
        assert_eq!(contacts[2].1.len(), 18, "a Salesforce id is 18 characters");
        let unique: std::collections::HashSet<&String> = contacts.iter().map(|c| &c.1).collect();
        assert_eq!(unique.len(), contacts.len());
    }

    #[test]
    fn when_answers_are_counted_then_failures_are_broken_down_by_source_and_status() {
        let mut tally = Tally::default();
        let sent = |status| Sent {
            status,
            latency: Duration::from_millis(5),
        };
        tally.add(0, sent(200));
        tally.add(1, sent(503));
        tally.add(5, sent(503));
        tally.add(2, sent(0));
        assert_eq!(tally.non_2xx(), 3);
        assert_eq!(tally.failures.get(&("hubspot", 503)), Some(&2));
        assert_eq!(tally.failures.get(&("salesforce-outbound", 0)), Some(&1));
        assert_eq!(tally.statuses.get(&200), Some(&1));
        assert_eq!(tally.latencies_ms.len(), 4);
    }
}
