//! [`UserUpsertBody`]: a `POST /users` body written once, attribute by attribute, for bulk
//! syncs.
//!
//! A [`UserUpsert`](super::UserUpsert) holds a map of owned names and values; a sync of
//! millions of exported users would build one per user only to serialise and drop it. The
//! [`UserUpsertBodyWriter`] writes the JSON straight from borrowed values instead (one buffer
//! per user), with the checks `send_user_upsert` makes. Names are written in ascending order,
//! as the map holds them, so the body is byte for byte what the equivalent `UserUpsert`
//! serialises to.

use std::fmt::Display;

use bytes::Bytes;
use serde::Serializer as _;
use serde_json::Value;

use super::checks::{IdOf, MISREAD_VALUE, check_id, misread};
use super::error::UserflowError;

/// Room reserved for a body up front: an id and a handful of attributes fit without growing.
const INITIAL_CAPACITY: usize = 256;

/// A serialised `POST /users` body (`{"id":..,"attributes":{..}}`) with a valid id and
/// plain attribute values Userflow reads as written. Send it with
/// [`UserflowClient::send_user_upsert_body`](super::UserflowClient::send_user_upsert_body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpsertBody {
    json: Bytes,
}

impl UserUpsertBody {
    /// The JSON text.
    pub fn json(&self) -> &Bytes {
        &self.json
    }
}

/// Writes a [`UserUpsertBody`]: the id first, then attributes in ascending name order, each
/// name once (as a `BTreeMap` of them iterates).
#[derive(Debug)]
pub struct UserUpsertBodyWriter<'n> {
    json: Vec<u8>,
    /// The last attribute name written, to hold names to ascending order.
    last_name: Option<&'n str>,
}

impl<'n> UserUpsertBodyWriter<'n> {
    /// Starts the body of user `id`. Fails with [`UserflowError::InvalidRequest`] for an id
    /// Userflow cannot take (empty, or holding a control character).
    pub fn new(id: &str) -> Result<UserUpsertBodyWriter<'n>, UserflowError> {
        check_id(id, IdOf::User).map_err(|reason| UserflowError::InvalidRequest { reason })?;
        let mut json = Vec::with_capacity(INITIAL_CAPACITY);
        json.extend_from_slice(br#"{"id":"#);
        write_text(&mut json, id);
        Ok(UserUpsertBodyWriter {
            json,
            last_name: None,
        })
    }

    /// Adds attribute `name` as a string: `value` written out (a `&str` as it is, a number or
    /// a boolean as its text) and escaped.
    ///
    /// # Panics
    /// When `name` is not after the previous attribute's name: the body would hold a name
    /// twice, or differ from what the same attributes in a map serialise to.
    pub fn text(&mut self, name: &'n str, value: impl Display) {
        self.name(name);
        write_text(&mut self.json, value);
    }

    /// Adds attribute `name` with a plain JSON value (string, number, boolean, list of
    /// those). Fails with [`UserflowError::InvalidRequest`], writing nothing, for a value
    /// Userflow would misread: an object (read as an operation) or a list holding lists or
    /// objects. `null` would clear the attribute in Userflow: leave it out instead.
    ///
    /// # Panics
    /// As [`UserUpsertBodyWriter::text`].
    pub fn value(&mut self, name: &'n str, value: &Value) -> Result<(), UserflowError> {
        if misread(value) {
            return Err(UserflowError::InvalidRequest {
                reason: MISREAD_VALUE,
            });
        }
        self.name(name);
        serde_json::to_writer(&mut self.json, value)
            .expect("a JSON value is always written into a Vec");
        Ok(())
    }

    /// The finished body.
    pub fn finish(mut self) -> UserUpsertBody {
        if self.last_name.is_some() {
            self.json.push(b'}');
        }
        self.json.push(b'}');
        UserUpsertBody {
            json: Bytes::from(self.json),
        }
    }

    /// Opens `attributes` before the first name, then writes `"name":`.
    fn name(&mut self, name: &'n str) {
        match self.last_name {
            None => self.json.extend_from_slice(br#","attributes":{"#),
            Some(last) => {
                assert!(
                    last < name,
                    "attribute names must be written in ascending order, each once"
                );
                self.json.push(b',');
            }
        }
        self.last_name = Some(name);
        write_text(&mut self.json, name);
        self.json.push(b':');
    }
}

/// `value` as a JSON string, escaped by serde_json, without an intermediate `String`.
///
/// Panics, as `ToString` does, when the `Display` implementation itself returns an error:
/// writing into a `Vec` cannot fail.
fn write_text(json: &mut Vec<u8>, value: impl Display) {
    serde_json::Serializer::new(json)
        .collect_str(&value)
        .expect("a Display implementation returned an error unexpectedly");
}
