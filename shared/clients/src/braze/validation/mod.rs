//! Checks Braze applies to `/users/track` objects, done before sending.
//!
//! Braze drops invalid values silently in places (one bad nested value discards every nested
//! update of the request while the call still answers success), so everything the relay sends
//! is checked here first. The same checks serve the CRM webhook mapping, which reports them to
//! the CRM per contact.
//!
//! Each failure is a [`ValidationError`]: the JSON path of the field (`email`,
//! `custom.plan`, `attributes[3].custom.plan` once prefixed by the caller), the [`Rule`] it
//! broke, and a human message. Messages never quote the value: it may be personal data.
//!
//! - `rule`: [`Rule`] and [`ValidationError`].
//! - `values`: checks of one value (`check_email`, `check_country`, ...).
//! - `objects`: checks of whole identifiers, attributes objects, events and purchases
//!   (`validate_attributes`, ...), built on the value checks, and of custom attribute values
//!   of every shape (`objects::custom`).

mod objects;
mod rule;
mod values;

// The track client's tests measure values the way the nested-size rule does.
#[cfg(test)]
pub(crate) use objects::serialized_len;
pub use objects::{
    validate_attribute, validate_attributes, validate_custom_attribute, validate_event,
    validate_identifier, validate_purchase,
};
pub use rule::{Rule, ValidationError};
pub use values::{
    check_country, check_currency, check_custom_key, check_date, check_email, check_external_id,
    check_gender, check_identifier, check_language, check_phone, check_string_length,
    check_subscription_state, check_time_zone, check_url,
};

/// Longest external id Braze accepts, in bytes (`EXTERNAL_USER_ID_TOO_LARGE`).
pub const MAX_EXTERNAL_ID_BYTES: usize = 987;
/// Longest custom attribute / property key, in characters.
pub const MAX_KEY_CHARS: usize = 255;
/// Longest string value, in characters.
pub const MAX_STRING_CHARS: usize = 255;
/// Most items in an array, at any depth and whatever its items (scalars or objects).
pub const MAX_ARRAY_ITEMS: usize = 500;
/// Largest nested object / array value, serialized (Braze: 100 KB; counted as 100,000 bytes
/// to stay on the safe side).
pub const MAX_NESTED_BYTES: usize = 100_000;
/// Deepest nesting of objects and arrays in one custom attribute or property value, counted
/// as containers from the value down (`{"a": [1]}` is 2).
pub const MAX_NESTING_DEPTH: usize = 50;
/// Largest purchase quantity Braze accepts.
pub const MAX_PURCHASE_QUANTITY: u32 = 100;
