//! A CloudFormation template (YAML or JSON, plain or SAM) as a tree that keeps
//! each node's YAML tag, so the short forms of intrinsic functions (`!Ref`,
//! `!GetAtt`, `!Sub`, ...) survive when packaging rewrites the template.
//!
//! Read and written with serde-saphyr, the one YAML implementation of the crate
//! (the config is read with it too). Its `Tagged` wrapper carries a node's tag
//! through serde in both directions. Core tags (`!!str`) are dropped: the
//! value's type already says what they said.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde_saphyr::Tagged;

/// One node of a template: a value and the tag written on it (`!Ref`), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// The tag, e.g. `!Ref`; `None` for a plain node.
    pub tag: Option<String>,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A negative whole number.
    Int(i64),
    /// A whole number.
    UInt(u64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// Text.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

/// The namespace of YAML's core tags (`!!str` resolves to `tag:yaml.org,2002:str`).
const CORE_TAGS: &str = "tag:yaml.org,2002:";

impl Node {
    /// A plain (untagged) node.
    pub fn plain(value: Value) -> Node {
        Node { value, tag: None }
    }

    /// Parse a template's text. A merge key (`<<`) stays an ordinary key, as it
    /// did with serde_yaml: the template is rewritten as it was written.
    pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
        let options = serde_saphyr::options! {
            merge_keys: serde_saphyr::MergeKeyPolicy::AsOrdinary,
            with_snippet: false,
        };
        serde_saphyr::from_str_with_options(text, options)
    }

    /// Write the template as YAML.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        serde_saphyr::to_string(self)
    }

    /// The value of `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_mapping()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The value of `key` when this is a mapping, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text, when this is a text. Like `serde_yaml`'s value (which this
    /// replaced), the tag is looked through: `!Ref x` gives `x`.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, when this is a list (the tag looked through).
    pub fn as_sequence(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, when this is a mapping (the tag looked through).
    pub fn as_mapping(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A mapping of texts to texts, in the order given.
    pub fn text_map(entries: &[(&str, &str)]) -> Node {
        Node::plain(Value::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        Node::plain(Value::Str((*k).to_string())),
                        Node::plain(Value::Str((*v).to_string())),
                    )
                })
                .collect(),
        ))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Tagged(value, tag) = Tagged::<Value>::deserialize(deserializer)?;
        let tag = tag.filter(|t| !t.starts_with(CORE_TAGS));
        Ok(Node { value, tag })
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Tagged(&self.value, self.tag.clone()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(match u64::try_from(v) {
                    Ok(u) => Value::UInt(u),
                    Err(_) => Value::Int(v),
                })
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::UInt(v))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Float(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Str(v.to_string()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Str(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Node>()? {
                    items.push(item);
                }
                Ok(Value::Seq(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<Node, Node>()? {
                    entries.push(entry);
                }
                Ok(Value::Map(entries))
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(n) => serializer.serialize_i64(*n),
            Value::UInt(n) => serializer.serialize_u64(*n),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Str(s) => serializer.serialize_str(s),
            Value::Seq(items) => serializer.collect_seq(items),
            Value::Map(entries) => serializer.collect_map(entries.iter().map(|(k, v)| (k, v))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Role: !GetAtt Role.Arn
      Environment:
        Variables:
          TABLE: !Ref Table
          URL: !Sub 'https://${Api}.execute-api.${AWS::Region}.amazonaws.com'
      Timeout: 30
      Policies: [!Ref Policy, AWSLambdaBasicExecutionRole]
Outputs:
  Url: { Value: !Join ['', [a, !Ref B]] }
";

    #[test]
    fn short_form_tags_survive_a_rewrite() {
        let mut doc = Node::parse(TEMPLATE).unwrap();
        let props = doc
            .get_mut("Resources")
            .and_then(|r| r.get_mut("Fn"))
            .and_then(|f| f.get_mut("Properties"))
            .unwrap();
        let uri = props.get_mut("CodeUri").unwrap();
        *uri = Node::text_map(&[("Bucket", "b"), ("Key", "k.zip")]);
        let written = doc.to_yaml().unwrap();
        let again = Node::parse(&written).unwrap();
        let props = again
            .get("Resources")
            .and_then(|r| r.get("Fn"))
            .and_then(|f| f.get("Properties"))
            .unwrap();
        assert_eq!(
            props.get("CodeUri").and_then(|c| c.get("Key")),
            Some(&Node::plain(Value::Str("k.zip".into())))
        );
        let role = props.get("Role").unwrap();
        assert_eq!(role.tag.as_deref(), Some("!GetAtt"), "{written}");
        assert_eq!(role.value, Value::Str("Role.Arn".into()));
        let table = props
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .and_then(|v| v.get("TABLE"))
            .unwrap();
        assert_eq!(table.tag.as_deref(), Some("!Ref"));
        assert_eq!(table.as_str(), Some("Table"));
        assert_eq!(
            props.get("Timeout").map(|t| &t.value),
            Some(&Value::UInt(30))
        );
        assert_eq!(again, {
            let mut doc = Node::parse(TEMPLATE).unwrap();
            *doc.get_mut("Resources")
                .and_then(|r| r.get_mut("Fn"))
                .and_then(|f| f.get_mut("Properties"))
                .and_then(|p| p.get_mut("CodeUri"))
                .unwrap() = Node::text_map(&[("Bucket", "b"), ("Key", "k.zip")]);
            doc
        });
    }

    #[test]
    fn json_templates_parse() {
        let doc =
            Node::parse(r#"{"Resources": {"A": {"Type": "AWS::Lambda::Function"}}}"#).unwrap();
        assert_eq!(
            doc.get("Resources")
                .and_then(|r| r.get("A"))
                .and_then(|a| a.get("Type"))
                .and_then(Node::as_str),
            Some("AWS::Lambda::Function")
        );
    }
}
