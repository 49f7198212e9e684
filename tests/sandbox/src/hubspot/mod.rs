//! HubSpot CRM contacts: `POST /crm/v3/objects/contacts/batch/read` and
//! `GET /crm/v3/objects/contacts/{id}`, with HubSpot's statuses and body shapes.
//!
//! Order of checks: fault rules, bearer private app token (401 `INVALID_AUTHENTICATION`),
//! rate limit (429 `RATE_LIMIT` with `Retry-After`), route (404) and method (405), JSON body
//! (400 `VALIDATION_ERROR`), at most 100 inputs (400 `VALIDATION_ERROR`). A batch read answers
//! 200 when every input was found and 207 Multi-Status with an `OBJECT_NOT_FOUND` error
//! listing the others in `context.ids`. Only the requested properties come back (HubSpot's
//! defaults `email`, `firstname`, `lastname` when none are named; unset ones as `null`), plus
//! `hs_object_id`, `createdate` and `lastmodifieddate`, always; every value is a string.
//! Answers on a known route carry `X-HubSpot-RateLimit-Max`, `-Remaining` and
//! `-Interval-Milliseconds` while the `hubspot` bucket has a limit.
//!
//! - [`routes`]: the listener, its order of checks, HubSpot's error and 429 shapes.
//! - [`contacts`]: batch read and single read, and a contact's JSON.
//! - [`store`]: contacts in memory (seeded through the admin API).

mod contacts;
mod routes;
mod store;

pub(crate) use routes::{category_of, error, router, throttled};
pub(crate) use store::HubspotStore;
