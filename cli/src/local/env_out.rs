//! `--env-out FILE`: a dotenv file (mode 0600: it holds keys) with every setting another
//! `relay` command needs to talk to the running stack, so that
//! `relay --env-file FILE webhook send | dlq list | scim ...` works against it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use relay_core::crm::sources::{DEFAULT_SOURCES_JSON, RELAY_SOURCES};
use serde_json::Value;

use crate::Settings;

/// Settings of the sources that are handed on as given (besides the `env:` references of the
/// sources, found in their JSON).
const SOURCE_SETTINGS: [&str; 2] = [RELAY_SOURCES, "SALESFORCE_ORGANIZATION_ID"];

/// The source settings and secrets given to the stack: `RELAY_SOURCES`, the organization id,
/// and every variable an `env:NAME` reference of the sources (embedded defaults and
/// `RELAY_SOURCES`) names, as `NAME` or `NAME_SECRET`, when set.
pub fn source_variables(settings: &Settings) -> Vec<(String, String)> {
    let mut names: Vec<String> = SOURCE_SETTINGS.iter().map(|n| (*n).to_owned()).collect();
    for json in [Some(DEFAULT_SOURCES_JSON), settings.get(RELAY_SOURCES)]
        .into_iter()
        .flatten()
    {
        if let Ok(value) = serde_json::from_str::<Value>(json) {
            collect_references(&value, &mut names);
        }
    }
    let mut vars = Vec::new();
    for name in names {
        for variable in [name.clone(), format!("{name}_SECRET")] {
            if let Some(value) = settings.get(&variable)
                && !vars.iter().any(|(n, _)| *n == variable)
            {
                vars.push((variable, value.to_owned()));
            }
        }
    }
    vars
}

/// Every `NAME` of an `"env:NAME"` string in `value`.
fn collect_references(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Some(name) = text.strip_prefix("env:")
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, names)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, names)),
        _ => {}
    }
}

/// One `NAME=value` line, quoted so dotenv reads the value back unchanged.
fn line(name: &str, value: &str) -> String {
    if !value.contains('\'') && !value.contains('\n') {
        format!("{name}='{value}'\n")
    } else {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('$', "\\$");
        format!("{name}=\"{escaped}\"\n")
    }
}

/// Writes `vars` to `path` (created or truncated, mode 0600).
pub fn write(path: &Path, vars: &[(String, String)]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode on open: set it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let mut text = String::from("# Written by `relay local --env-out`: the running local stack.\n");
    for (name, value) in vars {
        text.push_str(&line(name, value));
    }
    file.write_all(text.as_bytes())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn when_values_hold_quotes_and_json_then_dotenv_reads_them_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stack.env");
        let vars = vec![
            ("A".to_owned(), r#"{"x": "env:Y"}"#.to_owned()),
            ("B".to_owned(), "it's $HOME \"q\" \\".to_owned()),
            ("C".to_owned(), "whsec_abc=".to_owned()),
        ];
        write(&path, &vars).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let read: HashMap<String, String> = dotenvy::from_path_iter(&path)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (name, value) in &vars {
            assert_eq!(read.get(name), Some(value), "{name}");
        }
    }

    #[test]
    fn when_sources_reference_variables_then_the_set_ones_are_handed_on() {
        let settings = Settings::from_map(
            [
                ("RELAY_STANDARD_WEBHOOKS_SECRET", "whsec_x"),
                ("PIPEDRIVE_WEBHOOK_PASSWORD_SECRET", "env:P"),
                (
                    RELAY_SOURCES,
                    r#"{"eu": {"scheme": "standard-webhooks", "secret": "env:EU_SECRET"}}"#,
                ),
                ("EU_SECRET", "whsec_eu"),
                ("UNRELATED", "x"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        );
        let vars = source_variables(&settings);
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "RELAY_STANDARD_WEBHOOKS_SECRET",
            "PIPEDRIVE_WEBHOOK_PASSWORD_SECRET",
            RELAY_SOURCES,
            "EU_SECRET",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(!names.contains(&"UNRELATED"));
    }
}
