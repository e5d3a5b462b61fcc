//! The alert topic: SNS, encrypted with the stack's own KMS key ([`crate::key`] says why not the AWS managed
//! one), a policy letting only CloudWatch alarms and EventBridge of this account publish, and the configured
//! email subscriptions. A pending confirmation is
//! reported, never subscribed again (each subscribe would send another email).

use std::collections::HashMap;

use aws_sdk_sns::types::Tag;
use ghost_aws::policy::{self, PolicyDocument, Statement};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AwsResultExt, Change, Error as CoreError, planned_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Observe, ObserveSpec, Result};

const KIND: &str = "sns-topic";
const SUBSCRIPTION: &str = "sns-subscription";

pub fn topic_policy(spec: &ObserveSpec, topic_arn: &str) -> PolicyDocument {
    PolicyDocument::new(vec![
        Statement::allow(&["sns:Publish"], vec![topic_arn.to_string()])
            .sid("AlarmsAndEventsOfThisAccount")
            .principal(json!({ "Service": crate::key::PUBLISHERS }))
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

/// What CreateTopic and SetTopicAttributes set (tags aside, written once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicView {
    pub kms_key: Option<String>,
    /// The access policy, canonical (SNS hands it back re-serialised).
    pub policy: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicUpdate {
    KmsKey,
    Policy,
}

/// The alert topic as a kind of the reconcile core.
#[derive(Debug)]
pub struct Topic<'a> {
    pub o: &'a Observe,
    pub spec: &'a ObserveSpec,
    pub desired: TopicView,
}

impl<'a> Topic<'a> {
    pub fn new(o: &'a Observe, spec: &'a ObserveSpec) -> Self {
        let desired = TopicView {
            kms_key: Some(crate::key::alias(spec)),
            policy: Some(topic_policy(spec, &spec.topic_arn()).canonical()),
        };
        Self { o, spec, desired }
    }

    async fn set(&self, arn: &str, name: &str, value: Option<String>) -> Result<()> {
        // SNS removes an attribute set to the empty string.
        let req = self.o.sns.set_topic_attributes().topic_arn(arn).attribute_name(name);
        req.attribute_value(value.unwrap_or_default()).send().await.aws("SetTopicAttributes", arn)?;
        Ok(())
    }
}

impl Resource for Topic<'_> {
    type View = TopicView;
    type Out = String;
    type Update = TopicUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.spec.topic()
    }
    fn desired(&self) -> &TopicView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(KIND)
    }
    async fn find(&self) -> Result<Option<Live<TopicView, String>>> {
        let name = self.spec.topic();
        let Some(arn) = find_topic(self.o, &name).await? else { return Ok(None) };
        let attrs = self.o.sns.get_topic_attributes().topic_arn(&arn).send().await.aws("GetTopicAttributes", &name)?;
        let mut attrs: HashMap<String, String> = attrs.attributes.unwrap_or_default();
        let view = TopicView {
            kms_key: attrs.remove("KmsMasterKeyId").filter(|k| !k.is_empty()),
            policy: attrs.remove("Policy").map(|p| policy::canonical(&p)),
        };
        Ok(Some(Live::ready(view, arn)))
    }
    async fn create(&self, d: &TopicView) -> Result<String> {
        let name = self.spec.topic();
        let tags = self.o.env.names.tags("alert-topic", &name).into_iter();
        let tags = tags.map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value"));
        let mut req = self.o.sns.create_topic().name(&name).set_tags(Some(tags.collect()));
        if let Some(key) = &d.kms_key {
            req = req.attributes("KmsMasterKeyId", key);
        }
        let arn = req.send().await.aws("CreateTopic", &name)?.topic_arn.unwrap_or_default();
        if d.policy.is_some() {
            self.update(&arn, TopicUpdate::Policy).await?;
        }
        Ok(arn)
    }
    fn updates(&self, d: &TopicView, l: &TopicView) -> Result<Vec<TopicUpdate>> {
        let u = [(d.kms_key != l.kms_key, TopicUpdate::KmsKey), (d.policy != l.policy, TopicUpdate::Policy)];
        Ok(reconcile::when(u))
    }
    async fn update(&self, arn: &String, u: TopicUpdate) -> Result<()> {
        match u {
            TopicUpdate::KmsKey => self.set(arn, "KmsMasterKeyId", self.desired.kms_key.clone()).await,
            // Sent as written, for the topic as it is named: the view holds the canonical form only to compare.
            TopicUpdate::Policy => {
                let doc = self.desired.policy.as_ref().map(|_| topic_policy(self.spec, arn).to_json());
                self.set(arn, "Policy", doc).await
            }
        }
    }
}

/// Returns (topic ARN, pending email subscriptions).
pub async fn ensure_topic(o: &Observe, spec: &ObserveSpec) -> Result<(String, Vec<String>)> {
    let arn = reconcile::ensure(&o.env, &Topic::new(o, spec)).await?.into_id();
    let pending = ensure_subscriptions(o, spec, &arn).await?;
    Ok((arn, pending))
}

/// What Subscribe sets beside the topic and the address (which find it): the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub protocol: String,
}

/// One configured address's subscription, found among the topic's email subscriptions (listed once for all).
/// Never re-subscribed while pending: each Subscribe sends the address another email.
#[derive(Debug)]
pub struct Subscription<'a> {
    pub o: &'a Observe,
    pub topic: &'a str,
    pub email: &'a str,
    /// Its subscription ARN (or "PendingConfirmation") when the topic already lists it.
    pub found: Option<String>,
    pub desired: SubscriptionView,
}

impl Resource for Subscription<'_> {
    type View = SubscriptionView;
    type Out = String;
    type Update = std::convert::Infallible;
    type Error = crate::Error;
    const KIND: &'static str = SUBSCRIPTION;

    fn name(&self) -> String {
        self.email.to_string()
    }
    fn desired(&self) -> &SubscriptionView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(SUBSCRIPTION)
    }
    async fn find(&self) -> Result<Option<Live<SubscriptionView, String>>> {
        let view = SubscriptionView { protocol: "email".into() };
        Ok(self.found.clone().map(|arn| Live::ready(view, arn)))
    }
    async fn create(&self, d: &SubscriptionView) -> Result<String> {
        let req = self.o.sns.subscribe().topic_arn(self.topic).protocol(&d.protocol).endpoint(self.email);
        let out = req.return_subscription_arn(true).send().await.aws("Subscribe", self.email)?;
        Ok(out.subscription_arn.unwrap_or_else(|| "pending confirmation".into()))
    }
    fn updates(&self, d: &SubscriptionView, l: &SubscriptionView) -> Result<Vec<std::convert::Infallible>> {
        Err(CoreError::NeedsReplacement {
            resource: format!("{SUBSCRIPTION} {}", self.email),
            change: Change::new("protocol", &l.protocol, &d.protocol),
            remedy: "SNS fixes a subscription's protocol: unsubscribe it and deploy again".into(),
        }
        .into())
    }
    async fn update(&self, _: &String, u: std::convert::Infallible) -> Result<()> {
        match u {}
    }
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
        let found = existing.iter().find(|(e, _)| e.eq_ignore_ascii_case(email)).map(|(_, arn)| arn.clone());
        let sub = Subscription { o, topic, email, found, desired: SubscriptionView { protocol: "email".into() } };
        let arn = reconcile::ensure(&o.env, &sub).await?.into_id();
        if is_pending(&arn) {
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
