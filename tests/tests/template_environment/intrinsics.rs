//! Just enough of CloudFormation's intrinsic functions to render the environment the
//! expanded template gives each function: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If` (with the
//! template's `Conditions`: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`) and
//! `Fn::Join`. Anything else is an error naming it, so a template that starts using another
//! function fails here instead of rendering wrongly.

use std::collections::HashMap;

use serde_json::Value;

/// What `Ref` and `Fn::GetAtt` stand for in this rendering.
pub struct Stack<'a> {
    /// The expanded template.
    pub template: &'a Value,
    /// Parameter values: the template's defaults, overridden.
    pub parameters: HashMap<String, String>,
    /// `Ref` of a resource (its physical id: a bucket name, a queue URL, a secret ARN).
    pub refs: HashMap<String, String>,
    /// `Fn::GetAtt` as `Resource.Attribute`.
    pub attributes: HashMap<String, String>,
}

/// `list[index]`, or an error naming the function whose argument is too short.
fn item<'v>(list: &'v [Value], index: usize, function: &str) -> Result<&'v Value, String> {
    list.get(index)
        .ok_or_else(|| format!("{function} needs an item {index}: {list:?}"))
}

/// What a value renders to: a string, or `AWS::NoValue` (the property is left out).
#[derive(Debug, PartialEq)]
pub enum Rendered {
    Text(String),
    NoValue,
}

impl Stack<'_> {
    /// The template's parameter defaults with `overrides` applied.
    pub fn parameters_with(
        template: &Value,
        overrides: &[(&str, &str)],
    ) -> HashMap<String, String> {
        let mut parameters: HashMap<String, String> = template["Parameters"]
            .as_object()
            .expect("the template has Parameters")
            .iter()
            .filter_map(|(name, parameter)| {
                parameter
                    .get("Default")
                    .map(|value| (name.clone(), scalar(value)))
            })
            .collect();
        for (name, value) in overrides {
            parameters.insert((*name).to_owned(), (*value).to_owned());
        }
        parameters
    }

    /// Renders one value of the template.
    pub fn render(&self, value: &Value) -> Result<Rendered, String> {
        match value {
            Value::String(text) => Ok(Rendered::Text(text.clone())),
            Value::Number(_) | Value::Bool(_) => Ok(Rendered::Text(scalar(value))),
            Value::Object(map) if map.len() == 1 => {
                let (function, argument) = map.iter().next().expect("one entry");
                self.function(function, argument)
            }
            other => Err(format!("cannot render {other}")),
        }
    }

    fn text(&self, value: &Value) -> Result<String, String> {
        match self.render(value)? {
            Rendered::Text(text) => Ok(text),
            Rendered::NoValue => Err(format!("AWS::NoValue where a string is needed: {value}")),
        }
    }

    fn function(&self, function: &str, argument: &Value) -> Result<Rendered, String> {
        match function {
            "Ref" => self.reference(argument.as_str().ok_or("Ref takes a name")?),
            "Fn::GetAtt" => {
                let path = match argument {
                    Value::Array(parts) => parts
                        .iter()
                        .map(|part| part.as_str().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("."),
                    Value::String(path) => path.clone(),
                    other => return Err(format!("Fn::GetAtt of {other}")),
                };
                self.attribute(&path).map(Rendered::Text)
            }
            "Fn::Sub" => {
                let (text, variables) = match argument {
                    Value::String(text) => (text.as_str(), None),
                    Value::Array(parts) => (
                        item(parts, 0, "Fn::Sub")?
                            .as_str()
                            .ok_or("Fn::Sub's first item is its text")?,
                        parts.get(1),
                    ),
                    other => return Err(format!("Fn::Sub of {other}")),
                };
                self.substitute(text, variables).map(Rendered::Text)
            }
            "Fn::If" => {
                let parts = argument.as_array().ok_or("Fn::If takes a list")?;
                let condition = item(parts, 0, "Fn::If")?
                    .as_str()
                    .ok_or("Fn::If names a condition")?;
                let chosen = if self.condition(condition)? {
                    item(parts, 1, "Fn::If")?
                } else {
                    item(parts, 2, "Fn::If")?
                };
                self.render(chosen)
            }
            "Fn::Join" => {
                let parts = argument.as_array().ok_or("Fn::Join takes a list")?;
                let separator = item(parts, 0, "Fn::Join")?
                    .as_str()
                    .ok_or("Fn::Join's separator")?;
                let items = item(parts, 1, "Fn::Join")?
                    .as_array()
                    .ok_or("Fn::Join joins a list")?;
                let mut texts = Vec::new();
                for item in items {
                    if let Rendered::Text(text) = self.render(item)? {
                        texts.push(text);
                    }
                }
                Ok(Rendered::Text(texts.join(separator)))
            }
            other => Err(format!("intrinsic {other} is not rendered by this test")),
        }
    }

    fn reference(&self, name: &str) -> Result<Rendered, String> {
        if name == "AWS::NoValue" {
            return Ok(Rendered::NoValue);
        }
        let pseudo = match name {
            "AWS::Region" => Some("us-east-1"),
            "AWS::AccountId" => Some("123456789012"),
            "AWS::Partition" => Some("aws"),
            "AWS::URLSuffix" => Some("amazonaws.com"),
            "AWS::StackName" => Some("lifecycle-relay"),
            _ => None,
        };
        pseudo
            .map(str::to_owned)
            .or_else(|| self.parameters.get(name).cloned())
            .or_else(|| self.refs.get(name).cloned())
            .map(Rendered::Text)
            .ok_or_else(|| {
                format!("Ref {name}: no parameter value or physical id in this rendering")
            })
    }

    fn attribute(&self, path: &str) -> Result<String, String> {
        self.attributes
            .get(path)
            .cloned()
            .ok_or_else(|| format!("Fn::GetAtt {path}: not known to this rendering"))
    }

    fn substitute(&self, text: &str, variables: Option<&Value>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text}"))?;
            let name = &after[..end];
            let value = match variables.and_then(|vars| vars.get(name)) {
                // `${!Literal}` is written as `${Literal}`, not substituted.
                _ if name.starts_with('!') => format!("${{{}}}", &name[1..]),
                Some(value) => self.text(value)?,
                None if name.contains('.') => self.attribute(name)?,
                None => self.text(&Value::Object(
                    [("Ref".to_owned(), Value::String(name.to_owned()))]
                        .into_iter()
                        .collect(),
                ))?,
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn condition(&self, name: &str) -> Result<bool, String> {
        let definition = self.template["Conditions"]
            .get(name)
            .ok_or_else(|| format!("no condition {name}"))?;
        self.evaluate(definition)
    }

    fn evaluate(&self, definition: &Value) -> Result<bool, String> {
        let map = definition
            .as_object()
            .filter(|map| map.len() == 1)
            .ok_or("a condition is one function")?;
        let (function, argument) = map.iter().next().expect("one entry");
        let list = || {
            argument
                .as_array()
                .ok_or_else(|| format!("{function} takes a list"))
        };
        match function.as_str() {
            "Fn::Equals" => {
                let parts = list()?;
                Ok(self.text(item(parts, 0, "Fn::Equals")?)?
                    == self.text(item(parts, 1, "Fn::Equals")?)?)
            }
            "Fn::Not" => Ok(!self.evaluate(&list()?[0])?),
            "Fn::And" => list()?
                .iter()
                .try_fold(true, |all, part| Ok(all && self.evaluate(part)?)),
            "Fn::Or" => list()?
                .iter()
                .try_fold(false, |any, part| Ok(any || self.evaluate(part)?)),
            "Condition" => self.condition(argument.as_str().ok_or("Condition names one")?),
            other => Err(format!(
                "condition function {other} is not evaluated by this test"
            )),
        }
    }
}

/// A JSON scalar as CloudFormation passes it to a string property.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
