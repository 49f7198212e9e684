//! Finding everything of a subject before anything is deleted: every Braze profile (through
//! `/users/export/ids`) and every Userflow user.
//!
//! For a whole SQS batch at once, so the tightest limit in the system (Braze's 250 export/ids
//! calls a minute) is spent as sparingly as the rules allow:
//! 1. every subject's own lookup: external ids and aliases 50 (+50) per call, each email and
//!    Braze id in a call of its own (Braze allows one per call);
//! 2. every email those profiles hold that step 1 did not look up already: an alias-only
//!    duplicate that shares the person's email is found only this way;
//! 3. in Userflow, every user listed under one of the subject's emails (the subject's own and
//!    its profiles'); with the profiles' external ids and the subject's own external id,
//!    these are the Userflow users to delete.
//!
//! Each call's failure is kept with the lookups it served, so a failed call fails only the
//! subjects that needed it, and a lookup shared by two subjects is made once. Emails are one
//! lookup per address whatever its letter case (`Ada@x` and `ada@x` are one mailbox, and
//! Braze's and Userflow's lookups match either).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use relay_clients::braze::{BrazeClient, BrazeError, ExportedUser, MAX_IDS_PER_REQUEST, UserAlias};
use relay_clients::upstream::FailureClass;
use relay_clients::userflow::{ListUsers, UserflowClient, UserflowError};
use serde::{Deserialize, Serialize};

use super::request::Subject;

/// The fields asked of Braze when nothing is archived: only what deleting needs (data
/// minimisation: the worker never holds more of a person than it must).
pub const IDENTITY_FIELDS: &[&str] = &["braze_id", "external_id", "user_aliases", "email"];

/// One Braze profile to delete.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BrazeProfile {
    /// Braze's id for the profile: what the profile is deleted by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub braze_id: Option<String>,
    /// The profile's external id, when it has one (deleted by it when Braze gave no Braze id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// What discovery found of one subject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Braze profiles, sorted, each once.
    pub profiles: Vec<BrazeProfile>,
    /// Userflow user ids, sorted, each once (whether they exist is learnt by deleting them).
    pub userflow_ids: Vec<String>,
    /// The profiles as Braze exported them (for the compliance archive).
    pub exported: Vec<ExportedUser>,
}

/// Why a subject's discovery failed: the first failed call it needed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    /// A `/users/export/ids` call failed.
    #[error("Braze lookup failed: {0}")]
    Braze(Arc<BrazeError>),
    /// A Userflow user listing failed.
    #[error("Userflow lookup failed: {0}")]
    Userflow(Arc<UserflowError>),
}

impl DiscoveryError {
    /// Transient, throttled, permanent or misconfigured.
    pub fn class(&self) -> FailureClass {
        match self {
            DiscoveryError::Braze(error) => error.class(),
            DiscoveryError::Userflow(error) => error.class(),
        }
    }
}

/// Lookups in flight at once (each still waits for its limiter).
const LOOKUP_CONCURRENCY: usize = 4;

/// Finds subjects' profiles and users; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Discovery<'a> {
    /// Braze (`/users/export/ids`).
    pub braze: &'a BrazeClient,
    /// Userflow (`GET /users?email=`).
    pub userflow: &'a UserflowClient,
    /// The fields asked of Braze: [`IDENTITY_FIELDS`], or more when the result is archived.
    pub fields: &'a [String],
}

type Lookup<T> = Result<T, DiscoveryError>;

/// Every Braze lookup's answer, by what was looked up.
#[derive(Default)]
struct BrazeAnswers {
    external_ids: HashMap<String, Lookup<Vec<ExportedUser>>>,
    aliases: HashMap<UserAlias, Lookup<Vec<ExportedUser>>>,
    emails: HashMap<String, Lookup<Vec<ExportedUser>>>,
    braze_ids: HashMap<String, Lookup<Vec<ExportedUser>>>,
}

impl Discovery<'_> {
    /// Discovers every subject; the answers are in the order of `subjects`.
    pub async fn discover(&self, subjects: &[&Subject]) -> Vec<Result<Found, DiscoveryError>> {
        let mut answers = BrazeAnswers::default();
        // Step 1: the subjects' own lookups.
        let mut external_ids = BTreeSet::new();
        let mut aliases = Vec::new();
        let mut emails = BTreeMap::new();
        let mut braze_ids = BTreeSet::new();
        for subject in subjects {
            match subject {
                Subject::ExternalId(id) => {
                    external_ids.insert(id.clone());
                }
                Subject::UserAlias(alias) => {
                    if !aliases.contains(alias) {
                        aliases.push(alias.clone());
                    }
                }
                Subject::Email(email) => {
                    emails
                        .entry(email_key(email))
                        .or_insert_with(|| email.clone());
                }
                Subject::BrazeId(id) => {
                    braze_ids.insert(id.clone());
                }
            }
        }
        self.look_up(&mut answers, external_ids, aliases, emails, braze_ids)
            .await;
        // Step 2: the emails the profiles found hold.
        let mut more_emails = BTreeMap::new();
        for email in subjects
            .iter()
            .filter_map(|subject| own_lookup(&answers, subject).and_then(|r| r.as_ref().ok()))
            .flatten()
            .filter_map(|user| user.email.as_ref())
            .filter(|email| !email.trim().is_empty())
        {
            let key = email_key(email);
            if !answers.emails.contains_key(&key) {
                more_emails.entry(key).or_insert_with(|| email.clone());
            }
        }
        self.look_up(
            &mut answers,
            BTreeSet::new(),
            Vec::new(),
            more_emails,
            BTreeSet::new(),
        )
        .await;
        // Step 3: Userflow users under each subject's emails.
        let braze_found: Vec<Lookup<Vec<ExportedUser>>> = subjects
            .iter()
            .map(|subject| profiles_of(&answers, subject))
            .collect();
        let userflow_emails: BTreeMap<String, String> = subjects
            .iter()
            .zip(&braze_found)
            .filter_map(|(subject, found)| {
                found.as_ref().ok().map(|users| emails_of(subject, users))
            })
            .flatten()
            .collect();
        let listed = self.list_userflow(userflow_emails).await;
        subjects
            .iter()
            .zip(braze_found)
            .map(|(subject, found)| {
                let users = found?;
                let mut userflow_ids: BTreeSet<String> = users
                    .iter()
                    .filter_map(|user| user.external_id.clone())
                    .collect();
                if let Subject::ExternalId(id) = subject {
                    userflow_ids.insert(id.clone());
                }
                for email in emails_of(subject, &users).keys() {
                    match listed.get(email) {
                        Some(Ok(ids)) => userflow_ids.extend(ids.iter().cloned()),
                        Some(Err(error)) => return Err(error.clone()),
                        None => {}
                    }
                }
                // A profile with neither id could not be named to `/users/delete`; Braze
                // always exports the Braze id it is asked for.
                let mut profiles: Vec<BrazeProfile> = users
                    .iter()
                    .filter(|user| user.braze_id.is_some() || user.external_id.is_some())
                    .map(|user| BrazeProfile {
                        braze_id: user.braze_id.clone(),
                        external_id: user.external_id.clone(),
                    })
                    .collect();
                profiles.sort();
                profiles.dedup();
                Ok(Found {
                    profiles,
                    userflow_ids: userflow_ids.into_iter().collect(),
                    exported: users,
                })
            })
            .collect()
    }

    /// Sends the lookups (external ids and aliases paired 50 + 50 per call, the others one
    /// per call) and files every answer under what it answers; `emails` maps each address's
    /// key ([`email_key`]) to the form looked up.
    async fn look_up(
        &self,
        answers: &mut BrazeAnswers,
        external_ids: BTreeSet<String>,
        aliases: Vec<UserAlias>,
        emails: BTreeMap<String, String>,
        braze_ids: BTreeSet<String>,
    ) {
        enum Call {
            Ids(Vec<String>, Vec<UserAlias>),
            Email(String, String),
            BrazeId(String),
        }
        let external_ids: Vec<String> = external_ids.into_iter().collect();
        let id_chunks = external_ids.chunks(MAX_IDS_PER_REQUEST);
        let alias_chunks = aliases.chunks(MAX_IDS_PER_REQUEST);
        let paired = id_chunks.len().max(alias_chunks.len());
        let mut id_chunks = id_chunks.map(<[String]>::to_vec);
        let mut alias_chunks = alias_chunks.map(<[UserAlias]>::to_vec);
        let calls: Vec<Call> = (0..paired)
            .map(|_| {
                Call::Ids(
                    id_chunks.next().unwrap_or_default(),
                    alias_chunks.next().unwrap_or_default(),
                )
            })
            .chain(
                emails
                    .into_iter()
                    .map(|(key, email)| Call::Email(key, email)),
            )
            .chain(braze_ids.into_iter().map(Call::BrazeId))
            .collect();
        let results: Vec<(Call, Lookup<Vec<ExportedUser>>)> = stream::iter(calls)
            .map(|call| async move {
                let request = self.braze.export_ids().fields(self.fields.iter().cloned());
                let request = match &call {
                    Call::Ids(ids, aliases) => request
                        .external_ids(ids.iter().cloned())
                        .user_aliases(aliases.iter().cloned()),
                    Call::Email(_, email) => request.emails([email.clone()]),
                    Call::BrazeId(id) => request.braze_ids([id.clone()]),
                };
                let result = request
                    .send()
                    .await
                    .map(|report| report.users)
                    .map_err(|error| DiscoveryError::Braze(Arc::new(error)));
                (call, result)
            })
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .collect()
            .await;
        for (call, result) in results {
            match call {
                Call::Ids(ids, aliases) => {
                    for id in ids {
                        let mine = result.as_ref().map(|users| {
                            matching(users, |u| u.external_id.as_deref() == Some(id.as_str()))
                        });
                        answers.external_ids.insert(id, mine.map_err(Clone::clone));
                    }
                    for alias in aliases {
                        let mine = result
                            .as_ref()
                            .map(|users| matching(users, |u| u.user_aliases.contains(&alias)));
                        answers.aliases.insert(alias, mine.map_err(Clone::clone));
                    }
                }
                Call::Email(key, _) => {
                    answers.emails.insert(key, result);
                }
                Call::BrazeId(id) => {
                    answers.braze_ids.insert(id, result);
                }
            }
        }
    }

    /// Userflow's users under each email (by key, as [`email_key`] gives it): their ids.
    async fn list_userflow(
        &self,
        emails: BTreeMap<String, String>,
    ) -> HashMap<String, Lookup<Vec<String>>> {
        stream::iter(emails)
            .map(|(key, email)| async move {
                let ids = self
                    .userflow
                    .list_users(ListUsers::default().with_email(email.clone()))
                    .map_ok(|user| user.id)
                    .try_collect::<Vec<String>>()
                    .await
                    .map_err(|error| DiscoveryError::Userflow(Arc::new(error)));
                (key, ids)
            })
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .collect()
            .await
    }
}

/// The profiles of `users` that `wanted` picks.
fn matching(users: &[ExportedUser], wanted: impl Fn(&ExportedUser) -> bool) -> Vec<ExportedUser> {
    users.iter().filter(|user| wanted(user)).cloned().collect()
}

/// The answer of the subject's own lookup (step 1).
fn own_lookup<'a>(
    answers: &'a BrazeAnswers,
    subject: &Subject,
) -> Option<&'a Lookup<Vec<ExportedUser>>> {
    match subject {
        Subject::ExternalId(id) => answers.external_ids.get(id),
        Subject::UserAlias(alias) => answers.aliases.get(alias),
        Subject::Email(email) => answers.emails.get(&email_key(email)),
        Subject::BrazeId(id) => answers.braze_ids.get(id),
    }
}

/// Every profile of the subject: its own lookup's, then those sharing their emails, each
/// once (by Braze id).
fn profiles_of(answers: &BrazeAnswers, subject: &Subject) -> Lookup<Vec<ExportedUser>> {
    let own = match own_lookup(answers, subject) {
        Some(result) => result.clone()?,
        None => Vec::new(),
    };
    let mut users = own.clone();
    for email in own.iter().filter_map(|user| user.email.as_ref()) {
        if let Some(result) = answers.emails.get(&email_key(email)) {
            users.extend(result.clone()?);
        }
    }
    let mut seen = BTreeSet::new();
    users.retain(|user| match &user.braze_id {
        Some(id) => seen.insert(id.clone()),
        None => true,
    });
    Ok(users)
}

/// The emails to look for in Userflow: the subject's own and its profiles', by key.
fn emails_of(subject: &Subject, users: &[ExportedUser]) -> BTreeMap<String, String> {
    let mut emails = BTreeMap::new();
    if let Subject::Email(email) = subject {
        emails.insert(email_key(email), email.clone());
    }
    for email in users.iter().filter_map(|user| user.email.as_ref()) {
        if !email.trim().is_empty() {
            emails
                .entry(email_key(email))
                .or_insert_with(|| email.clone());
        }
    }
    emails
}

/// An email's lookup key: trimmed and lower-cased (one mailbox, one lookup).
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}
