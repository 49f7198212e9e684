//! Braze: the REST client for end-user profiles, the cluster table, attribute validation
//! before sending, and the SCIM client for dashboard users.

pub mod scim;
