//! IAM policy documents as typed values (never string concatenation), and a semantic comparison: AWS returns
//! documents URL-encoded, reordered, with one-element lists collapsed to strings.

use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "Statement")]
    pub statement: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    #[serde(rename = "Sid", skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect")]
    pub effect: Effect,
    #[serde(rename = "Principal", skip_serializing_if = "Option::is_none")]
    pub principal: Option<Value>,
    #[serde(rename = "Action")]
    pub action: Vec<String>,
    #[serde(rename = "Resource", skip_serializing_if = "Option::is_none")]
    pub resource: Option<Vec<String>>,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> Self {
        Self { version: "2012-10-17", statement }
    }

    /// Trust policy letting one AWS service assume the role.
    pub fn trust(service: &str) -> Self {
        Self::new(vec![Statement {
            sid: None,
            effect: Effect::Allow,
            principal: Some(json!({ "Service": service })),
            action: vec!["sts:AssumeRole".into()],
            resource: None,
            condition: None,
        }])
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("policy serializes")
    }

    /// True when `found` (as AWS returns it: JSON, possibly URL-encoded) means the same as this document.
    pub fn same_as(&self, found: &str) -> bool {
        canonical(found) == self.canonical()
    }

    /// The document in the one spelling [`canonical`] gives any equivalent document: what a view compares.
    pub fn canonical(&self) -> Value {
        normalize(&serde_json::to_value(self).expect("policy serializes"))
    }
}

/// A document as AWS returns it (JSON, possibly URL-encoded, reordered, one-element lists collapsed) in a
/// canonical spelling, so two documents that mean the same compare equal. Text that is not JSON stays text
/// (and so differs from every document).
pub fn canonical(found: &str) -> Value {
    match serde_json::from_str::<Value>(&percent_decode(found)) {
        Ok(v) => normalize(&v),
        Err(_) => Value::String(found.to_string()),
    }
}

impl Statement {
    pub fn allow(actions: &[&str], resources: Vec<String>) -> Self {
        Self {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            action: actions.iter().map(|a| a.to_string()).collect(),
            resource: Some(resources),
            condition: None,
        }
    }

    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.into());
        self
    }

    pub fn condition(mut self, condition: Value) -> Self {
        self.condition = Some(condition);
        self
    }

    pub fn principal(mut self, principal: Value) -> Self {
        self.principal = Some(principal);
        self
    }
}

/// Collapses the equivalences IAM applies: one-element lists vs strings, statement and list order.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut n: Vec<Value> = items.iter().map(normalize).collect();
            n.sort_by_key(|x| x.to_string());
            if n.len() == 1 { n.pop().unwrap_or(Value::Null) } else { Value::Array(n) }
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect::<Map<_, _>>()),
        other => other.clone(),
    }
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_policy_in_aws_spelling_compares_equal() {
        let doc = PolicyDocument::trust("ecs-tasks.amazonaws.com");
        let aws = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%2C%22Effect%22%3A%22Allow%22%7D%5D%7D";
        assert!(doc.same_as(aws));
        assert!(!PolicyDocument::trust("codebuild.amazonaws.com").same_as(aws));
    }

    #[test]
    fn order_of_actions_does_not_matter() {
        let a = PolicyDocument::new(vec![Statement::allow(&["a:X", "a:Y"], vec!["r".into()])]);
        let b = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["a:Y","a:X"],"Resource":"r"}}"#;
        assert!(a.same_as(b));
    }
}
