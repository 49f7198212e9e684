//! Userflow client (in progress).
