//! What every emulated API shares and no vendor owns: the running sandbox's state
//! ([`state::App`]), the request pipeline (fault rules, then the handler, then counting and
//! logging), fault injection, fixed-window rate limits, the request counts and log, and small
//! HTTP helpers.

pub(crate) mod faults;
pub(crate) mod http_util;
pub(crate) mod limits;
pub(crate) mod observe;
pub(crate) mod pipeline;
pub(crate) mod state;
