//! Sandbox (in progress).
