//! Braze's id of an exported user as the key that de-duplicates a file's users, and the set
//! of those seen.

use std::collections::HashSet;

/// Length of Braze's own ids: 24 lowercase hex digits.
const BRAZE_ID_HEX_LEN: usize = 24;

/// Braze's id of an exported user, as the de-duplication key: Braze's own 24 lowercase hex
/// digits packed into 12 bytes (nothing allocated per line, and a 100,000-user file holds
/// about 2 MB of them), any other id as its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BrazeId {
    /// 24 lowercase hex digits, packed.
    Packed([u8; BRAZE_ID_HEX_LEN / 2]),
    /// Any other id, as exported.
    Text(String),
}

impl BrazeId {
    /// The key of the id `text`. Only lowercase digits are packed: `AB` and `ab` are two ids
    /// and must stay two keys.
    pub fn new(text: &str) -> BrazeId {
        let mut packed = [0u8; BRAZE_ID_HEX_LEN / 2];
        let lowercase_hex = text.len() == BRAZE_ID_HEX_LEN
            && text
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        if lowercase_hex && hex::decode_to_slice(text, &mut packed).is_ok() {
            BrazeId::Packed(packed)
        } else {
            BrazeId::Text(text.to_owned())
        }
    }
}

impl From<&str> for BrazeId {
    fn from(text: &str) -> BrazeId {
        BrazeId::new(text)
    }
}

/// The Braze ids seen in one file, packed ones and others kept apart (a packed one costs 12
/// bytes, not a `String`).
#[derive(Debug, Default)]
pub struct SeenIds {
    packed: HashSet<[u8; BRAZE_ID_HEX_LEN / 2]>,
    text: HashSet<String>,
}

impl SeenIds {
    /// Whether `id` is new (and now seen).
    pub fn insert(&mut self, id: BrazeId) -> bool {
        match id {
            BrazeId::Packed(packed) => self.packed.insert(packed),
            BrazeId::Text(text) => self.text.insert(text),
        }
    }

    /// How many ids were seen.
    pub fn len(&self) -> usize {
        self.packed.len() + self.text.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_id_is_braze_hex_then_it_is_packed_else_kept_as_text() {
        let table = [
            ("da3369d6f8e5c9e52eed63f9", true),
            ("DA3369D6F8E5C9E52EED63F9", false),
            ("da3369d6f8e5c9e52eed63f", false),
            ("da3369d6f8e5c9e52eed63f9a", false),
            ("za3369d6f8e5c9e52eed63f9", false),
            ("b1", false),
            ("", false),
        ];
        for (text, packed) in table {
            let id = BrazeId::new(text);
            assert_eq!(matches!(id, BrazeId::Packed(_)), packed, "{text}");
            if let BrazeId::Packed(bytes) = id {
                assert_eq!(hex::encode(bytes), text);
            }
        }
    }

    #[test]
    fn when_ids_repeat_then_only_the_first_sighting_is_new() {
        let mut seen = SeenIds::default();
        assert!(seen.insert("da3369d6f8e5c9e52eed63f9".into()));
        assert!(seen.insert("b1".into()));
        assert!(!seen.insert("da3369d6f8e5c9e52eed63f9".into()));
        assert!(!seen.insert("b1".into()));
        // Case differs: another id, not a duplicate.
        assert!(seen.insert("DA3369D6F8E5C9E52EED63F9".into()));
        assert_eq!(seen.len(), 3);
    }
}
