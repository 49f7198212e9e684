//! What a queued message is, in a line: its job kind, request and contact count, or why it is
//! not a job this relay can read. Read with the relay's own decoders ([`Job::decode`], then
//! [`ErasureRequest::decode`]), so the answer is exactly what sync-worker or deletion-worker
//! would make of the message.

use serde::Serialize;

use crate::erasure::ErasureRequest;
use crate::jobs::Job;

/// A message body, summarised for an operator (no contact data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSummary {
    /// The job's kind (`contacts`, `export_file`, `erasure`), or `unreadable`.
    pub kind: String,
    /// The webhook request the job came from, or the erasure request.
    pub request_id: Option<String>,
    /// The CRM source.
    pub source: Option<String>,
    /// How many contacts the job holds.
    pub contacts: Option<usize>,
    /// For an `export_file` job: `<export job> file <index>`.
    pub export_file: Option<String>,
    /// Why the body is not a job this relay reads (for `unreadable`).
    pub problem: Option<String>,
}

impl JobSummary {
    /// The kind written for a body that does not decode as a job.
    pub const UNREADABLE: &'static str = "unreadable";
    /// The kind written for an erasure request (the erasure queue's messages).
    pub const ERASURE: &'static str = "erasure";

    fn empty(kind: String) -> JobSummary {
        JobSummary {
            kind,
            request_id: None,
            source: None,
            contacts: None,
            export_file: None,
            problem: None,
        }
    }

    /// Summarises `body`.
    pub fn of(body: &str) -> JobSummary {
        match Job::decode(body) {
            Ok(job) => {
                let kind = job.kind().to_owned();
                match job {
                    Job::Contacts(job) => JobSummary {
                        request_id: Some(job.request_id),
                        source: Some(job.source),
                        contacts: Some(job.contacts.len()),
                        ..JobSummary::empty(kind)
                    },
                    Job::ExportFile(job) => JobSummary {
                        export_file: Some(format!("{} file {}", job.export, job.index)),
                        ..JobSummary::empty(kind)
                    },
                }
            }
            // The erasure queue's messages have no `kind`: an erasure request is read as such.
            Err(error) => match ErasureRequest::decode(body) {
                Ok(request) => JobSummary {
                    request_id: Some(request.request_id.to_string()),
                    ..JobSummary::empty(JobSummary::ERASURE.to_owned())
                },
                Err(_) => JobSummary {
                    problem: Some(error.to_string()),
                    ..JobSummary::empty(JobSummary::UNREADABLE.to_owned())
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::Contact;
    use crate::jobs::{ContactsJob, ParkedContact};

    #[test]
    fn when_a_body_is_an_erasure_request_then_the_summary_names_it_without_the_subject() {
        let body = ErasureRequest {
            request_id: crate::erasure::RequestId::new("r-7").unwrap(),
            subject: crate::erasure::Subject::Email("ada@example.com".into()),
            requested_at: chrono::Utc::now(),
            origin: "relay erase".into(),
        }
        .encode();
        let summary = JobSummary::of(&body);
        assert_eq!(summary.kind, JobSummary::ERASURE);
        assert_eq!(summary.request_id.as_deref(), Some("r-7"));
        assert!(!serde_json::to_string(&summary).unwrap().contains("ada"));
    }

    #[test]
    fn when_a_body_is_a_contacts_job_then_the_summary_counts_its_contacts() {
        let parked = |id: &str| ParkedContact {
            is_signup: true,
            contact: Contact::new(id),
        };
        let body = Job::Contacts(ContactsJob {
            source: "hubspot".into(),
            request_id: "req-9".into(),
            received_at: chrono::Utc::now(),
            contacts: vec![parked("u-1"), parked("u-2")],
        })
        .encode();
        let summary = JobSummary::of(&body);
        assert_eq!(summary.kind, "contacts");
        assert_eq!(summary.request_id.as_deref(), Some("req-9"));
        assert_eq!(summary.contacts, Some(2));
        assert_eq!(summary.problem, None);
    }

    #[test]
    fn when_a_body_is_not_a_job_then_it_is_unreadable_with_the_reason() {
        let summary = JobSummary::of(r#"{"v":7,"kind":"contacts"}"#);
        assert_eq!(summary.kind, "unreadable");
        assert!(summary.problem.unwrap().contains("version 7"));
        assert_eq!(summary.contacts, None);
    }
}
