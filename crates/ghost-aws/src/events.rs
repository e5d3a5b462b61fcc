//! EventBridge rules with their targets, found by name on the default bus: the pipeline's push trigger (build
//! lens) and the notifications to the alert topic (operate lens) are this one kind.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::operation::describe_rule::DescribeRuleError;
use aws_sdk_eventbridge::types::{RuleState, Tag, Target};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AbsentExt, AwsResultExt, Env, Error, Result, planned_id};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const KIND: &str = "eventbridge-rule";

/// An EventBridge rule with one target, as a lens asks for it.
#[derive(Debug, Clone)]
pub struct RuleSpec<'a> {
    pub name: String,
    pub component: &'a str,
    pub description: String,
    pub pattern: Value,
    pub target_id: &'a str,
    pub target_arn: &'a str,
    /// The role EventBridge assumes to reach the target (none for an SNS topic whose policy lets it publish).
    pub role: Option<&'a str>,
}

/// What PutRule and PutTargets set; the pattern parsed (EventBridge hands it back re-serialised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    pub description: String,
    pub pattern: Value,
    pub enabled: bool,
    /// Sorted by id.
    pub targets: Vec<TargetView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetView {
    pub id: String,
    pub arn: String,
    pub role: Option<String>,
}

#[derive(Debug)]
pub struct Rule<'a> {
    pub events: &'a Client,
    pub env: &'a Env,
    pub spec: &'a RuleSpec<'a>,
    pub desired: RuleView,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleUpdate {
    /// PutRule sets pattern, description and state together.
    Rule,
    PutTargets(Vec<TargetView>),
    RemoveTargets(Vec<String>),
}

impl<'a> Rule<'a> {
    pub fn new(events: &'a Client, env: &'a Env, spec: &'a RuleSpec<'a>) -> Self {
        let target =
            TargetView { id: spec.target_id.into(), arn: spec.target_arn.into(), role: spec.role.map(str::to_string) };
        let desired = RuleView {
            description: spec.description.clone(),
            pattern: spec.pattern.clone(),
            enabled: true,
            targets: vec![target],
        };
        Self { events, env, spec, desired }
    }

    async fn put_rule(&self, d: &RuleView, tags: bool) -> Result<String> {
        let name = &self.spec.name;
        let tags = tags.then(|| {
            let tags = self.env.names.tags(self.spec.component, name).into_iter();
            tags.map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value")).collect()
        });
        let state = if d.enabled { RuleState::Enabled } else { RuleState::Disabled };
        let out = self
            .events
            .put_rule()
            .name(name)
            .description(&d.description)
            .event_pattern(d.pattern.to_string())
            .state(state)
            .set_tags(tags)
            .send()
            .await
            .aws("PutRule", name)?;
        Ok(out.rule_arn.unwrap_or_default())
    }
}

impl Resource for Rule<'_> {
    type View = RuleView;
    type Out = String;
    type Update = RuleUpdate;
    type Error = Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.spec.name.clone()
    }
    fn desired(&self) -> &RuleView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(KIND)
    }
    async fn find(&self) -> Result<Option<Live<RuleView, String>>> {
        let name = &self.spec.name;
        let got = self.events.describe_rule().name(name).send().await;
        let Some(rule) = got.absent_when(DescribeRuleError::is_resource_not_found_exception, "DescribeRule", name)?
        else {
            return Ok(None);
        };
        let listed = self.events.list_targets_by_rule().rule(name).send().await.aws("ListTargetsByRule", name)?;
        let mut targets: Vec<TargetView> = listed
            .targets()
            .iter()
            .map(|t| TargetView { id: t.id().into(), arn: t.arn().into(), role: t.role_arn().map(str::to_string) })
            .collect();
        targets.sort_by(|a, b| a.id.cmp(&b.id));
        let pattern = rule.event_pattern().map(|p| serde_json::from_str(p).unwrap_or_else(|_| Value::String(p.into())));
        let view = RuleView {
            description: rule.description().unwrap_or_default().to_string(),
            pattern: pattern.unwrap_or(Value::Null),
            enabled: rule.state() == Some(&RuleState::Enabled),
            targets,
        };
        Ok(Some(Live::ready(view, rule.arn.unwrap_or_default())))
    }
    async fn create(&self, d: &RuleView) -> Result<String> {
        let arn = self.put_rule(d, true).await?;
        self.update(&arn, RuleUpdate::PutTargets(d.targets.clone())).await?;
        Ok(arn)
    }
    fn updates(&self, d: &RuleView, l: &RuleView) -> Result<Vec<RuleUpdate>> {
        let mut u = Vec::new();
        if (&d.description, &d.pattern, d.enabled) != (&l.description, &l.pattern, l.enabled) {
            u.push(RuleUpdate::Rule);
        }
        if d.targets != l.targets {
            let stale: Vec<String> =
                l.targets.iter().filter(|t| !d.targets.iter().any(|w| w.id == t.id)).map(|t| t.id.clone()).collect();
            if !stale.is_empty() {
                u.push(RuleUpdate::RemoveTargets(stale));
            }
            u.push(RuleUpdate::PutTargets(d.targets.clone()));
        }
        Ok(u)
    }
    async fn update(&self, _: &String, u: RuleUpdate) -> Result<()> {
        let name = &self.spec.name;
        match u {
            RuleUpdate::Rule => {
                self.put_rule(&self.desired, false).await?;
            }
            RuleUpdate::PutTargets(targets) => {
                let targets = targets.into_iter().map(|t| {
                    Target::builder().id(t.id).arn(t.arn).set_role_arn(t.role).build().expect("id and arn set")
                });
                let req = self.events.put_targets().rule(name).set_targets(Some(targets.collect()));
                req.send().await.aws("PutTargets", name)?;
            }
            RuleUpdate::RemoveTargets(ids) => {
                let req = self.events.remove_targets().rule(name).set_ids(Some(ids));
                req.send().await.aws("RemoveTargets", name)?;
            }
        }
        Ok(())
    }
}

/// Makes the rule (pattern, description, enabled) and its one target match, writing only what differs.
pub async fn ensure_rule(events: &Client, env: &Env, spec: &RuleSpec<'_>) -> Result<String> {
    Ok(reconcile::ensure(env, &Rule::new(events, env, spec)).await?.into_id())
}

/// Removes the rule's targets, then the rule. Absent is success.
pub async fn delete_rule(events: &Client, env: &Env, name: &str) -> Result<()> {
    let got = events.describe_rule().name(name).send().await;
    let Some(rule) = got.absent_when(DescribeRuleError::is_resource_not_found_exception, "DescribeRule", name)? else {
        return Ok(());
    };
    let arn = rule.arn.unwrap_or(name.to_string());
    env.delete(KIND, name, &arn, &["ResourceNotFoundException"], || async {
        let t = events.list_targets_by_rule().rule(name).send().await.aws("ListTargetsByRule", name)?;
        let ids: Vec<String> = t.targets().iter().map(|t| t.id().to_string()).collect();
        if !ids.is_empty() {
            events.remove_targets().rule(name).set_ids(Some(ids)).send().await.aws("RemoveTargets", name)?;
        }
        events.delete_rule().name(name).send().await.map(|_| ()).aws("DeleteRule", name)
    })
    .await
}

#[cfg(test)]
mod tests {
    use ghost_core::Mode;
    use ghost_core::reconcile::testing::assert_every_field_compared;
    use serde_json::json;

    use super::*;

    #[test]
    fn every_field_of_a_rule_is_compared() {
        let events = Client::from_conf(aws_sdk_eventbridge::Config::builder().behavior_version_latest().build());
        let env = Env::new("ghost", Mode::Plan);
        let spec = RuleSpec {
            name: "ghost-source".into(),
            component: "source-rule",
            description: "Starts the pipeline".into(),
            pattern: json!({ "source": ["aws.codecommit"] }),
            target_id: "pipeline",
            target_arn: "arn:aws:codepipeline:us-east-1:123456789012:ghost",
            role: Some("arn:aws:iam::123456789012:role/ghost-events"),
        };
        let rule = Rule::new(&events, &env, &spec);
        assert_every_field_compared(&rule, std::slice::from_ref(&rule.desired));
    }
}
