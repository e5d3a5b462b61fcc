//! The alert topic: SNS, encrypted with the AWS managed key, a policy letting only CloudWatch alarms and
//! EventBridge of this account publish, and the configured email subscriptions. A pending confirmation is
//! reported, never subscribed again (each subscribe would send another email).

use std::collections::HashMap;

use aws_sdk_sns::types::Tag;
use ghost_aws::policy::{PolicyDocument, Statement};
use ghost_core::{AwsResultExt, Change, Outcome, planned_id};
use serde_json::json;

use crate::{Observe, ObserveSpec, Result};

const KIND: &str = "sns-topic";
const SUBSCRIPTION: &str = "sns-subscription";
pub const KMS_KEY: &str = "alias/aws/sns";

pub fn topic_policy(spec: &ObserveSpec, topic_arn: &str) -> PolicyDocument {
    PolicyDocument::new(vec![
        Statement::allow(&["sns:Publish"], vec![topic_arn.to_string()])
            .sid("AlarmsAndEventsOfThisAccount")
            .principal(json!({ "Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }))
            .condition(json!({ "StringEquals": { "aws:SourceAccount": spec.account } })),
    ])
}

pub async fn find_topic(o: &Observe, name: &str) -> Result<Option<String>> {
    let mut token = None;
    loop {
        let page = o.sns.list_topics().set_next_token(token).send().await.aws("ListTopics", name)?;
        let suffix = format!(":{name}");
        if let Some(arn) = page.topics().iter().filter_map(|t| t.topic_arn()).find(|a| a.ends_with(&suffix)) {
            return Ok(Some(arn.to_string()));
        }
        token = page.next_token;
        if token.is_none() {
            return Ok(None);
        }
    }
}

/// Returns (topic ARN, pending email subscriptions).
pub async fn ensure_topic(o: &Observe, spec: &ObserveSpec) -> Result<(String, Vec<String>)> {
    let name = spec.topic();
    let arn = o
        .env
        .track::<_, crate::Error, _>(KIND, &name, async {
            let Some(arn) = find_topic(o, &name).await? else {
                if o.env.is_plan() {
                    return Ok(Outcome::Created(planned_id(KIND)));
                }
                let tags = o
                    .env
                    .names
                    .tags("alert-topic", &name)
                    .into_iter()
                    .map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value"));
                let out = o
                    .sns
                    .create_topic()
                    .name(&name)
                    .attributes("KmsMasterKeyId", KMS_KEY)
                    .set_tags(Some(tags.collect()))
                    .send()
                    .await
                    .aws("CreateTopic", &name)?;
                let arn = out.topic_arn.unwrap_or_default();
                set_policy(o, spec, &arn).await?;
                return Ok(Outcome::Created(arn));
            };
            let attrs = o.sns.get_topic_attributes().topic_arn(&arn).send().await.aws("GetTopicAttributes", &name)?;
            let attrs: HashMap<String, String> = attrs.attributes.unwrap_or_default();
            let mut changes = Vec::new();
            if attrs.get("KmsMasterKeyId").map(String::as_str) != Some(KMS_KEY) {
                changes.push(Change::new(
                    "KmsMasterKeyId",
                    attrs.get("KmsMasterKeyId").cloned().unwrap_or_default(),
                    KMS_KEY,
                ));
            }
            let policy_ok = attrs.get("Policy").is_some_and(|p| topic_policy(spec, &arn).same_as(p));
            if !policy_ok {
                changes.push(Change::new(
                    "policy",
                    "differs",
                    "publish: CloudWatch alarms and EventBridge of this account",
                ));
            }
            if !changes.is_empty() && !o.env.is_plan() {
                if attrs.get("KmsMasterKeyId").map(String::as_str) != Some(KMS_KEY) {
                    o.sns
                        .set_topic_attributes()
                        .topic_arn(&arn)
                        .attribute_name("KmsMasterKeyId")
                        .attribute_value(KMS_KEY)
                        .send()
                        .await
                        .aws("SetTopicAttributes", &name)?;
                }
                if !policy_ok {
                    set_policy(o, spec, &arn).await?;
                }
            }
            Ok(Outcome::from_changes(arn, changes))
        })
        .await?
        .into_id();
    let pending = ensure_subscriptions(o, spec, &arn).await?;
    Ok((arn, pending))
}

async fn set_policy(o: &Observe, spec: &ObserveSpec, arn: &str) -> Result<()> {
    o.sns
        .set_topic_attributes()
        .topic_arn(arn)
        .attribute_name("Policy")
        .attribute_value(topic_policy(spec, arn).to_json())
        .send()
        .await
        .aws("SetTopicAttributes", arn)?;
    Ok(())
}

/// Until an address confirms, SNS shows its subscription as "PendingConfirmation" (or "pending confirmation"
/// from Subscribe) instead of an ARN; a planned one has no ARN either.
pub fn is_pending(subscription_arn: &str) -> bool {
    !subscription_arn.starts_with("arn:")
}

/// Subscribes each configured address not yet on the topic; returns the ones still pending confirmation.
/// Subscriptions somebody added by hand are reported and left alone.
async fn ensure_subscriptions(o: &Observe, spec: &ObserveSpec, topic: &str) -> Result<Vec<String>> {
    let existing: Vec<(String, String)> = if ghost_core::is_planned(topic) {
        Vec::new()
    } else {
        let subs = o
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws("ListSubscriptionsByTopic", topic)?;
        subs.into_iter()
            .filter(|s| s.protocol() == Some("email"))
            .map(|s| {
                (s.endpoint().unwrap_or_default().to_string(), s.subscription_arn().unwrap_or_default().to_string())
            })
            .collect()
    };
    let mut pending = Vec::new();
    for email in &spec.emails {
        let found = existing.iter().find(|(e, _)| e.eq_ignore_ascii_case(email));
        let outcome = o
            .env
            .track::<_, crate::Error, _>(SUBSCRIPTION, email, async {
                if let Some((_, arn)) = found {
                    return Ok(Outcome::Unchanged(arn.clone()));
                }
                if o.env.is_plan() {
                    return Ok(Outcome::Created(planned_id(SUBSCRIPTION)));
                }
                let out = o
                    .sns
                    .subscribe()
                    .topic_arn(topic)
                    .protocol("email")
                    .endpoint(email)
                    .return_subscription_arn(true)
                    .send()
                    .await
                    .aws("Subscribe", email)?;
                Ok(Outcome::Created(out.subscription_arn.unwrap_or_else(|| "pending confirmation".into())))
            })
            .await?;
        if is_pending(outcome.id()) {
            pending.push(email.clone());
        }
    }
    for (email, _) in existing.iter().filter(|(e, _)| !spec.emails.iter().any(|x| x.eq_ignore_ascii_case(e))) {
        o.env.warn(
            SUBSCRIPTION,
            email,
            "subscribed to the alert topic but not in observe.notify_emails: left in place",
        );
    }
    for email in &pending {
        o.env.warn(SUBSCRIPTION, email, "pending: the address must confirm the email AWS sent before alerts reach it");
    }
    Ok(pending)
}

pub async fn delete_topic(o: &Observe, spec: &ObserveSpec) -> Result<()> {
    let name = spec.topic();
    let Some(arn) = find_topic(o, &name).await? else { return Ok(()) };
    o.env
        .delete(KIND, &name, &arn, &["NotFound"], || async {
            o.sns.delete_topic().topic_arn(&arn).send().await.map(|_| ()).aws("DeleteTopic", &name)
        })
        .await?;
    Ok(())
}
