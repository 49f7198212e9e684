//! Userflow REST: users, groups (memberships through `POST /users`) and events.
//!
//! Order of checks: fault rules, bearer key (401), `Userflow-Version` other than `2020-01-03`
//! (400 `invalid_version`), optional rate limit (429 with `Retry-After`), route (404
//! `not_found`; there is no `POST /users/{id}` nor `POST /groups/{id}`), JSON body (400
//! `invalid_params`). Lists are ordered by id, paginated with `limit` (1..=100, default 20)
//! and `starting_after`. Expanded `groups` / `memberships` are plain arrays.
//!
//! - [`routes`]: the listener, its order of checks, the error shape and body helpers.
//! - [`store`]: users (with their memberships), groups and events in memory.
//! - [`resources`]: the users, groups and events endpoints and their JSON.
//! - [`attributes`]: attribute updates and operations (`set`, `set_once`, `add`, ...).
//! - [`pages`]: list pagination (`limit`, `starting_after`, `next_page_url`).

mod attributes;
mod pages;
mod resources;
mod routes;
mod store;

pub(crate) use routes::{error, router};
pub(crate) use store::UserflowStore;
