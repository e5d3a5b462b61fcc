//! The alert topic's customer managed KMS key.
//!
//! Why not the AWS managed key `alias/aws/sns`: CloudWatch alarms and EventBridge publish as AWS service
//! principals, and that key's policy (which nobody can edit) lets only principals of the account use it, so an
//! alarm's action fails ("CloudWatch Alarms does not have authorization to access the SNS topic encryption key.",
//! in the alarm's history) and every EventBridge delivery counts as a FailedInvocation: no alert would ever arrive
//! (SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted topics").
//! Why not plain SNS without SSE: the topic would work, for $1 a month less, but every scanner (and most
//! organisations' policy) asks for encryption at rest, and a key of our own is a key we can reason about.
//!
//! The key policy is KMS's default statement (the account may manage the key through IAM) plus the grant those
//! pages ask for: `kms:GenerateDataKey*` and `kms:Decrypt` to `cloudwatch.amazonaws.com` and
//! `events.amazonaws.com`, with no source condition (EventBridge deliveries do not match one).
//!
//! A key has no name: it is found by its alias. CreateKey and CreateAlias are two calls, so a run killed between
//! them leaves a key without an alias; the next run finds it by its tags (only when the alias is missing) and
//! aliases it instead of making a second key.

use aws_sdk_kms::operation::describe_key::DescribeKeyError;
use aws_sdk_kms::types::{KeyMetadata, KeyState, Tag};
use ghost_aws::policy::{self, PolicyDocument, Statement};
use ghost_core::naming::{TAG_COMPONENT, TAG_STACK};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AbsentExt, AwsResultExt, planned_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Observe, ObserveSpec, Result};

const KIND: &str = "kms-key";
const COMPONENT: &str = "alert-key";
/// KMS's minimum waiting period: the key can still be recovered (CancelKeyDeletion) for a week.
pub const DELETION_WINDOW_DAYS: i32 = 7;
/// The services that publish alerts to the topic, as key-policy and topic-policy principals.
pub const PUBLISHERS: [&str; 2] = ["cloudwatch.amazonaws.com", "events.amazonaws.com"];

pub fn alias(spec: &ObserveSpec) -> String {
    format!("alias/{}", spec.names.of("alerts"))
}

pub fn key_policy(spec: &ObserveSpec) -> PolicyDocument {
    PolicyDocument::new(vec![
        // KMS Developer Guide, "Default key policy": without it the account could not manage the key at all.
        Statement::allow(&["kms:*"], vec!["*".into()])
            .sid("EnableIamPolicies")
            .principal(json!({ "AWS": format!("arn:{}:iam::{}:root", spec.partition(), spec.account) })),
        Statement::allow(&["kms:GenerateDataKey*", "kms:Decrypt"], vec!["*".into()])
            .sid("AlarmsAndEventsPublishToTheAlertTopic")
            .principal(json!({ "Service": PUBLISHERS })),
    ])
}

/// What the key is compared on: its policy, that it is usable, and that our alias names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyView {
    /// The key policy, canonical.
    pub policy: Value,
    /// `Enabled`; `Disabled` or `PendingDeletion` when somebody (or a destroy) took it out of use.
    pub state: String,
    pub aliased: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUpdate {
    /// CancelKeyDeletion (which leaves it disabled) when it is pending deletion, then EnableKey.
    Enable,
    Policy,
    Alias,
}

#[derive(Debug)]
pub struct AlertKey<'a> {
    pub o: &'a Observe,
    pub spec: &'a ObserveSpec,
    pub desired: KeyView,
}

impl<'a> AlertKey<'a> {
    pub fn new(o: &'a Observe, spec: &'a ObserveSpec) -> Self {
        let desired = KeyView { policy: key_policy(spec).canonical(), state: "Enabled".into(), aliased: true };
        Self { o, spec, desired }
    }

    async fn describe(&self, key_id: &str) -> Result<Option<KeyMetadata>> {
        Ok(Self::describe_in(self.o, key_id).await?)
    }

    async fn describe_in(o: &Observe, key_id: &str) -> ghost_core::Result<Option<KeyMetadata>> {
        let got = o.kms.describe_key().key_id(key_id).send().await;
        let absent = |e: &DescribeKeyError| e.is_not_found_exception();
        Ok(got.absent_when(absent, "DescribeKey", key_id)?.and_then(|d| d.key_metadata))
    }

    /// A key of ours that lost (or never got) its alias: tagged for this stack and not on its way out.
    async fn find_unaliased(&self) -> Result<Option<KeyMetadata>> {
        let keys = self.o.kms.list_keys().into_paginator().items().send().try_collect().await;
        for entry in keys.aws("ListKeys", &alias(self.spec))? {
            let Some(id) = entry.key_id() else { continue };
            let tags = self.o.kms.list_resource_tags().key_id(id).send().await;
            // Keys another service manages, or one being deleted by another account's grant, refuse the read: not ours.
            let Ok(tags) = tags else { continue };
            let tag = |k: &str| tags.tags().iter().find(|t| t.tag_key() == k).map(|t| t.tag_value().to_string());
            if tag(TAG_STACK).as_deref() != Some(self.spec.names.stack())
                || tag(TAG_COMPONENT).as_deref() != Some(COMPONENT)
            {
                continue;
            }
            if let Some(meta) = self.describe(id).await?
                && meta.key_state() != Some(&KeyState::PendingDeletion)
            {
                return Ok(Some(meta));
            }
        }
        Ok(None)
    }

    /// The key by its alias, else an unaliased one of ours; with whether the alias names it.
    pub async fn locate(&self) -> Result<Option<(KeyMetadata, bool)>> {
        if let Some(meta) = self.describe(&alias(self.spec)).await? {
            return Ok(Some((meta, true)));
        }
        Ok(self.find_unaliased().await?.map(|meta| (meta, false)))
    }
}

impl Resource for AlertKey<'_> {
    type View = KeyView;
    /// The key's ARN.
    type Out = String;
    type Update = KeyUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        alias(self.spec)
    }
    fn desired(&self) -> &KeyView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(KIND)
    }
    async fn find(&self) -> Result<Option<Live<KeyView, String>>> {
        let Some((meta, aliased)) = self.locate().await? else { return Ok(None) };
        let id = meta.key_id().to_string();
        let got = self.o.kms.get_key_policy().key_id(&id).policy_name("default").send().await;
        let policy = got.aws("GetKeyPolicy", &id)?.policy.map(|p| policy::canonical(&p)).unwrap_or(Value::Null);
        let state = meta.key_state().map(|s| s.as_str().to_string()).unwrap_or_default();
        Ok(Some(Live::ready(KeyView { policy, state, aliased }, meta.arn().unwrap_or(&id).to_string())))
    }
    async fn create(&self, _: &KeyView) -> Result<String> {
        let name = alias(self.spec);
        let tags = self.o.env.names.tags(COMPONENT, &name).into_iter();
        let tags = tags.map(|t| Tag::builder().tag_key(t.key).tag_value(t.value).build().expect("key and value"));
        let req = self.o.kms.create_key().policy(key_policy(self.spec).to_json()).set_tags(Some(tags.collect()));
        let req = req.description(format!("Encrypts the alert topic of stack {}", self.spec.names.stack()));
        let meta = req.send().await.aws("CreateKey", &name)?.key_metadata;
        let arn = meta.and_then(|m| m.arn).unwrap_or_default();
        self.update(&arn, KeyUpdate::Alias).await?;
        Ok(arn)
    }
    fn updates(&self, d: &KeyView, l: &KeyView) -> Result<Vec<KeyUpdate>> {
        Ok(reconcile::when([
            (d.state != l.state, KeyUpdate::Enable),
            (d.policy != l.policy, KeyUpdate::Policy),
            (d.aliased != l.aliased, KeyUpdate::Alias),
        ]))
    }
    async fn update(&self, arn: &String, u: KeyUpdate) -> Result<()> {
        let kms = &self.o.kms;
        match u {
            KeyUpdate::Enable => {
                let state = self.describe(arn).await?.and_then(|m| m.key_state);
                if state == Some(KeyState::PendingDeletion) {
                    kms.cancel_key_deletion().key_id(arn).send().await.aws("CancelKeyDeletion", arn)?;
                }
                kms.enable_key().key_id(arn).send().await.aws("EnableKey", arn)?;
            }
            KeyUpdate::Policy => {
                let req = kms.put_key_policy().key_id(arn).policy_name("default");
                req.policy(key_policy(self.spec).to_json()).send().await.aws("PutKeyPolicy", arn)?;
            }
            KeyUpdate::Alias => {
                let req = kms.create_alias().alias_name(alias(self.spec)).target_key_id(arn);
                req.send().await.aws("CreateAlias", arn)?;
            }
        }
        Ok(())
    }
}

/// The key the topic is encrypted with, by its alias (which the topic's KmsMasterKeyId names).
pub async fn ensure_key(o: &Observe, spec: &ObserveSpec) -> Result<String> {
    Ok(reconcile::ensure(&o.env, &AlertKey::new(o, spec)).await?.into_id())
}

/// Schedules the key's deletion (the shortest window KMS allows), then removes the alias: a run killed in
/// between finds the key by its alias, sees it pending deletion and only removes the alias. Pending deletion
/// costs nothing and can be cancelled for a week; a deploy in that week makes a new key.
pub async fn delete_key(o: &Observe, spec: &ObserveSpec) -> Result<()> {
    let key = AlertKey::new(o, spec);
    let Some((meta, aliased)) = key.locate().await? else { return Ok(()) };
    let (name, id) = (alias(spec), meta.key_id().to_string());
    if meta.key_state() != Some(&KeyState::PendingDeletion) {
        o.env
            .delete(KIND, &name, &id, &["NotFoundException"], || async {
                let req = o.kms.schedule_key_deletion().key_id(&id).pending_window_in_days(DELETION_WINDOW_DAYS);
                req.send().await.map(|_| ()).aws("ScheduleKeyDeletion", &name)
            })
            .await?;
    }
    if aliased {
        let req = o.kms.delete_alias().alias_name(&name);
        ghost_core::error::gone_if(req.send().await.map(|_| ()).aws("DeleteAlias", &name), &["NotFoundException"])?;
    }
    Ok(())
}

/// Whether CloudWatch and EventBridge can publish through the topic's encryption: its `KmsMasterKeyId` names an
/// enabled, customer managed key whose policy grants both publishers the two actions with no condition. Read
/// back for `verify`, since nothing at configuration time fails for a topic they cannot use. (ok, what was found)
pub async fn publishers_can_use(o: &Observe, topic_arn: &str) -> ghost_core::Result<(bool, String)> {
    let attrs = o.sns.get_topic_attributes().topic_arn(topic_arn).send().await.aws("GetTopicAttributes", topic_arn)?;
    let key = attrs.attributes().and_then(|a| a.get("KmsMasterKeyId")).filter(|k| !k.is_empty()).cloned();
    let Some(key) = key else { return Ok((false, "not encrypted".into())) };
    let Some(meta) = AlertKey::describe_in(o, &key).await? else { return Ok((false, format!("{key}: no such key"))) };
    if meta.key_manager() != Some(&aws_sdk_kms::types::KeyManagerType::Customer) {
        return Ok((false, format!("{key}: AWS managed, which AWS services cannot use")));
    }
    let state = meta.key_state().map(|s| s.as_str()).unwrap_or_default();
    if meta.key_state() != Some(&KeyState::Enabled) {
        return Ok((false, format!("{key}: {state}")));
    }
    let id = meta.key_id();
    let got = o.kms.get_key_policy().key_id(id).policy_name("default").send().await.aws("GetKeyPolicy", id)?;
    let doc = got.policy.map(|p| policy::canonical(&p)).unwrap_or(Value::Null);
    let missing: Vec<&str> = PUBLISHERS.into_iter().filter(|p| !grants(&doc, p)).collect();
    if missing.is_empty() {
        Ok((true, format!("{key} (customer managed, enabled, grants {})", PUBLISHERS.join(" and "))))
    } else {
        Ok((false, format!("{key}: its policy does not let {} use it", missing.join(" or "))))
    }
}

/// True when an unconditional Allow statement of `doc` gives `service` kms:GenerateDataKey and kms:Decrypt.
fn grants(doc: &Value, service: &str) -> bool {
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        }
    };
    let covers = |patterns: &[String], action: &str| {
        patterns
            .iter()
            .any(|p| p == action || p == "kms:*" || p.strip_suffix('*').is_some_and(|s| action.starts_with(s)))
    };
    let statements = list_statements(doc);
    ["kms:GenerateDataKey", "kms:Decrypt"].iter().all(|action| {
        statements.iter().any(|st| {
            st["Effect"] == "Allow"
                && st.get("Condition").is_none()
                && list(&st["Principal"]["Service"]).iter().any(|s| s == service)
                && covers(&list(&st["Action"]), action)
        })
    })
}

fn list_statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        v @ Value::Object(_) => vec![v.clone()],
        _ => Vec::new(),
    }
}
