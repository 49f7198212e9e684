//! Braze SCIM v2 client (dashboard users) - in progress.
