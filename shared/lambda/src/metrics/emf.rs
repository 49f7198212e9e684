//! The EMF document: where it goes (namespace, the function's dimension) and its JSON.
//!
//! ```json
//! {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"LifecycleRelay",
//!   "Dimensions":[["Function"]],"Metrics":[{"Name":"Delivered","Unit":"Count"}]}]},
//!  "Function":"crm-signup","Delivered":3}
//! ```
//! (one line in the log), per
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::ser::SerializeMap;

use super::{MetricSet, Value};

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "LifecycleRelay";
/// The variable that overrides the namespace.
pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";
/// The variable Lambda sets to the function's name: the dimension's value.
pub const FUNCTION_NAME_VARIABLE: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// The one dimension every metric has.
pub const DIMENSION: &str = "Function";

/// Longest namespace CloudWatch accepts.
const MAX_NAMESPACE_LEN: usize = 255;

/// Why the metrics' settings cannot be used (a cold-start configuration error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsConfigError {
    /// The namespace is not one CloudWatch accepts; CloudWatch would drop every document.
    #[error("{NAMESPACE_VARIABLE}: {0}")]
    Namespace(&'static str),
}

/// Where an invocation's metrics go: the namespace, and the function named by the `Function`
/// dimension. Read once, at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmfTarget {
    namespace: String,
    function: String,
}

impl EmfTarget {
    /// `namespace` (checked as CloudWatch checks it) for `function`.
    pub fn new(
        namespace: impl Into<String>,
        function: impl Into<String>,
    ) -> Result<EmfTarget, MetricsConfigError> {
        let namespace = namespace.into();
        check_namespace(&namespace)?;
        Ok(EmfTarget {
            namespace,
            function: function.into(),
        })
    }

    /// The target from the variables `lookup` gives: [`NAMESPACE_VARIABLE`] (default
    /// [`DEFAULT_NAMESPACE`]) and [`FUNCTION_NAME_VARIABLE`]; `fallback_function` names the
    /// function when that is not set (the binary run outside Lambda). Unset and blank are
    /// the same.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        fallback_function: &str,
    ) -> Result<EmfTarget, MetricsConfigError> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let namespace = set(NAMESPACE_VARIABLE).unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let function = set(FUNCTION_NAME_VARIABLE).unwrap_or_else(|| fallback_function.to_owned());
        EmfTarget::new(namespace, function)
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The `Function` dimension's value.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// `metrics` as one EMF document (a single line of JSON, without its line break), stamped
    /// `timestamp`.
    pub fn document(&self, metrics: &MetricSet, timestamp: SystemTime) -> String {
        let timestamp = timestamp
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        let document = Document {
            target: self,
            metrics,
            timestamp,
        };
        serde_json::to_string(&document).expect("an EMF document serialises")
    }
}

/// CloudWatch's rules: 1 to 255 ASCII characters among `0-9A-Za-z.-_/#:` and space, not only
/// spaces, and not under the `AWS/` namespaces.
fn check_namespace(namespace: &str) -> Result<(), MetricsConfigError> {
    if namespace.trim().is_empty() {
        return Err(MetricsConfigError::Namespace("is empty"));
    }
    if namespace.len() > MAX_NAMESPACE_LEN {
        return Err(MetricsConfigError::Namespace(
            "is longer than 255 characters",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if !namespace.chars().all(allowed) {
        return Err(MetricsConfigError::Namespace(
            "may hold only letters, digits, spaces and . - _ / # :",
        ));
    }
    if namespace.starts_with("AWS/") {
        return Err(MetricsConfigError::Namespace(
            "must not start with AWS/ (reserved for AWS services)",
        ));
    }
    Ok(())
}

/// The document: `_aws` first, then the dimension, then each metric's value.
struct Document<'a> {
    target: &'a EmfTarget,
    metrics: &'a MetricSet,
    timestamp: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    timestamp: u64,
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: [[&'static str; 1]; 1],
    metrics: Vec<Definition>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    name: &'static str,
    unit: &'static str,
}

impl Serialize for Document<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let values = self.metrics.values();
        let metadata = Metadata {
            timestamp: self.timestamp,
            cloud_watch_metrics: [Directive {
                namespace: &self.target.namespace,
                dimensions: [[DIMENSION]],
                metrics: values
                    .iter()
                    .map(|(metric, _)| Definition {
                        name: metric.name(),
                        unit: metric.unit().as_str(),
                    })
                    .collect(),
            }],
        };
        let mut map = serializer.serialize_map(Some(2 + values.len()))?;
        map.serialize_entry("_aws", &metadata)?;
        map.serialize_entry(DIMENSION, &self.target.function)?;
        for (metric, value) in values {
            match value {
                Value::Count(count) => map.serialize_entry(metric.name(), count)?,
                Value::Rate(rate) => map.serialize_entry(metric.name(), rate)?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use serde_json::{Value as Json, json};

    use super::*;
    use crate::metrics::Metric;

    fn at(millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(millis)
    }

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn when_counts_are_reported_then_the_document_is_exactly_the_emf_line() {
        let target = EmfTarget::from_lookup(
            lookup(&[(FUNCTION_NAME_VARIABLE, "relay-prod-CrmSignup-1a2b")]),
            "crm-signup",
        )
        .unwrap();
        let mut set = MetricSet::new();
        set.add(Metric::Delivered, 3)
            .add(Metric::Parked, 0)
            .add(Metric::Rejected, 1)
            .add(Metric::UpstreamThrottles, 2);
        let line = target.document(&set, at(1_767_225_600_123));
        assert_eq!(
            line,
            concat!(
                r#"{"_aws":{"Timestamp":1767225600123,"CloudWatchMetrics":[{"Namespace":"LifecycleRelay","#,
                r#""Dimensions":[["Function"]],"Metrics":[{"Name":"Delivered","Unit":"Count"},"#,
                r#"{"Name":"Parked","Unit":"Count"},{"Name":"Rejected","Unit":"Count"},"#,
                r#"{"Name":"UpstreamThrottles","Unit":"Count"}]}]},"#,
                r#""Function":"relay-prod-CrmSignup-1a2b","Delivered":3,"Parked":0,"Rejected":1,"UpstreamThrottles":2}"#
            )
        );
        assert!(!line.contains('\n'), "one line");
    }

    #[test]
    fn when_a_rate_is_reported_then_its_unit_is_count_per_second_and_its_value_a_number() {
        let target = EmfTarget::new("LifecycleRelay", "sync-worker").unwrap();
        let mut set = MetricSet::new();
        set.add(Metric::ExportUsers, 1500).per_second(
            Metric::ExportUsersPerSecond,
            1500,
            Duration::from_millis(1200),
        );
        let document: Json = serde_json::from_str(&target.document(&set, at(5))).unwrap();
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([
                {"Name": "ExportUsers", "Unit": "Count"},
                {"Name": "ExportUsersPerSecond", "Unit": "Count/Second"},
            ])
        );
        assert_eq!(document["ExportUsers"], 1500);
        assert_eq!(document["ExportUsersPerSecond"], 1250.0);
        assert_eq!(document["_aws"]["Timestamp"], 5);
    }

    #[test]
    fn when_metrics_namespace_is_set_then_it_replaces_the_default() {
        let target = EmfTarget::from_lookup(
            lookup(&[
                (NAMESPACE_VARIABLE, "Relay/Staging"),
                (FUNCTION_NAME_VARIABLE, "sync-worker-staging"),
            ]),
            "sync-worker",
        )
        .unwrap();
        let mut set = MetricSet::new();
        set.add(Metric::Delivered, 0);
        let document: Json = serde_json::from_str(&target.document(&set, at(0))).unwrap();
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Relay/Staging");
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(document["Function"], "sync-worker-staging");
    }

    #[test]
    fn when_nothing_is_set_then_the_default_namespace_and_the_fallback_name_apply() {
        for blank in [None, Some(" ")] {
            let pairs: Vec<(&str, &str)> = blank
                .map(|value| vec![(NAMESPACE_VARIABLE, value), (FUNCTION_NAME_VARIABLE, value)])
                .unwrap_or_default();
            let target = EmfTarget::from_lookup(lookup(&pairs), "deletion-worker").unwrap();
            assert_eq!(
                (target.namespace(), target.function()),
                (DEFAULT_NAMESPACE, "deletion-worker"),
                "{blank:?}"
            );
        }
    }

    #[test]
    fn when_the_namespace_is_one_cloudwatch_refuses_then_the_variable_is_named() {
        let long = "n".repeat(256);
        for bad in ["Relay\"Prod", "Relay{x}", "AWS/Lambda", long.as_str()] {
            let error =
                EmfTarget::from_lookup(lookup(&[(NAMESPACE_VARIABLE, bad)]), "f").expect_err(bad);
            assert!(
                error.to_string().starts_with("METRICS_NAMESPACE: "),
                "{error}"
            );
        }
        for good in ["LifecycleRelay", "Relay/prod-1 #a:b_c.d"] {
            assert!(EmfTarget::new(good, "f").is_ok(), "{good}");
        }
    }

    #[test]
    fn when_the_function_name_needs_escaping_then_the_document_is_still_json() {
        let target = EmfTarget::new(DEFAULT_NAMESPACE, "odd\"name").unwrap();
        let mut set = MetricSet::new();
        set.add(Metric::Rejected, 1);
        let document: Json = serde_json::from_str(&target.document(&set, at(0))).unwrap();
        assert_eq!(document["Function"], "odd\"name");
    }
}
