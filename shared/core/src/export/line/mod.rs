//! Placeholder: exported-user decoding and the Userflow mapping land here.
