//! Malformed lines for segment exports (`malformed_every`): every Nth line written across an
//! export is replaced by a malformed one and the line it displaced follows it, so no user is
//! lost; the kinds cycle through truncated JSON, a JSON array, plain text and an object whose
//! `external_id` is an object.

/// Replaces every `every`-th line written (across the whole export) with a malformed one,
/// pushing the displaced line to the next position.
pub(crate) struct Injector {
    every: u64,
    written: u64,
    injected: u64,
}

impl Injector {
    /// An injector for `malformed_every` = `every` (0 and 1 inject nothing).
    pub(crate) fn new(every: u64) -> Self {
        Injector {
            // 1 would never let a real line through; the settings refuse it.
            every: if every >= 2 { every } else { 0 },
            written: 0,
            injected: 0,
        }
    }

    /// The file's lines with malformed lines mixed in, and those as (index, text).
    pub(crate) fn mix(&mut self, lines: Vec<String>) -> (Vec<String>, Vec<(usize, String)>) {
        let mut out = Vec::with_capacity(lines.len());
        let mut bad = Vec::new();
        for line in lines {
            self.written += 1;
            if self.every > 0 && self.written.is_multiple_of(self.every) {
                let text = malformed(self.injected);
                self.injected += 1;
                bad.push((out.len(), text.clone()));
                out.push(text);
                self.written += 1;
            }
            out.push(line);
        }
        (out, bad)
    }
}

/// The `n`-th malformed line: truncated JSON, a JSON array, plain text, or an object whose
/// `external_id` is an object, in turn.
fn malformed(n: u64) -> String {
    match n % 4 {
        0 => r#"{"external_id":"x"#.to_owned(),
        1 => "[1,2]".to_owned(),
        2 => "not json".to_owned(),
        _ => format!(r#"{{"external_id":{{"a":1}},"braze_id":"{n:024x}"}}"#),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn lines(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("u{i}")).collect()
    }

    #[test]
    fn when_malformed_every_is_3_then_every_third_line_is_bad_and_no_user_is_lost() {
        let mut injector = Injector::new(3);
        let (first, bad_first) = injector.mix(lines(4));
        assert_eq!(first, ["u0", "u1", r#"{"external_id":"x"#, "u2", "u3"]);
        assert_eq!(bad_first, [(2, r#"{"external_id":"x"#.to_owned())]);
        // Counting goes on across files: lines 6 and 9 of the export.
        let (second, bad_second) = injector.mix(lines(3));
        assert_eq!(second, ["[1,2]", "u0", "u1", "not json", "u2"]);
        assert_eq!(bad_second.iter().map(|b| b.0).collect::<Vec<_>>(), [0, 3]);
    }

    #[test]
    fn when_malformed_every_is_0_or_1_then_nothing_is_injected() {
        for every in [0, 1] {
            let (out, bad) = Injector::new(every).mix(lines(5));
            assert_eq!(out, lines(5));
            assert!(bad.is_empty());
        }
    }

    #[test]
    fn when_malformed_lines_cycle_then_none_parses_as_a_user_object() {
        for n in 0..8 {
            let text = malformed(n);
            let parsed: Result<Value, _> = serde_json::from_str(&text);
            let usable = parsed
                .ok()
                .and_then(|v| v.get("external_id").cloned())
                .is_some_and(|id| id.is_string());
            assert!(!usable, "{text}");
        }
        assert!(malformed(3).contains(r#""external_id":{"a":1}"#));
    }
}
