//! IAM roles: found by name (role names are unique per account); the trust policy, description, attached
//! managed policies and our one inline policy are compared semantically (IAM returns documents URL-encoded and
//! reordered). Attachments someone else made are left in place, said as a warning: widening a role may be on
//! purpose, and a person decides.

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_role::GetRoleError;
use aws_sdk_iam::operation::get_role_policy::GetRolePolicyError;
use aws_sdk_iam::types::Tag;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AbsentExt, Action, AwsResultExt, Env, Error, Outcome, Result, planned_id};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policy::{self, PolicyDocument};

const KIND: &str = "iam-role";

/// What a lens asks of a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub name: String,
    pub component: &'static str,
    pub trust: PolicyDocument,
    pub managed: Vec<String>,
    /// (policy name, document)
    pub inline: Option<(String, PolicyDocument)>,
}

/// Everything CreateRole, AttachRolePolicy and PutRolePolicy set, documents in canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleView {
    pub trust: Value,
    pub description: String,
    /// Sorted ARNs.
    pub managed: Vec<String>,
    pub inline: Option<InlinePolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: Value,
}

/// The role as a reconciled resource; its output is the ARN.
#[derive(Debug)]
pub struct Role<'a> {
    pub iam: &'a Client,
    pub env: &'a Env,
    pub spec: &'a RoleSpec,
    pub desired: RoleView,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RoleUpdate {
    /// The spec's trust document, as written (the view holds its canonical form, only for comparing).
    Trust,
    Description(String),
    Attach(String),
    Detach(String),
    /// The spec's inline policy, as written.
    PutInline,
    DeleteInline(String),
}

impl<'a> Role<'a> {
    pub fn new(iam: &'a Client, env: &'a Env, spec: &'a RoleSpec) -> Self {
        let mut managed = spec.managed.clone();
        managed.sort();
        let desired = RoleView {
            trust: spec.trust.canonical(),
            description: format!("Ghost stack {}: {}", env.stack(), spec.component),
            managed,
            inline: spec
                .inline
                .as_ref()
                .map(|(name, doc)| InlinePolicy { name: name.clone(), document: doc.canonical() }),
        };
        Self { iam, env, spec, desired }
    }
}

impl Resource for Role<'_> {
    type View = RoleView;
    type Out = String;
    type Update = RoleUpdate;
    type Error = Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.spec.name.clone()
    }
    fn desired(&self) -> &RoleView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(KIND)
    }

    async fn find(&self) -> Result<Option<Live<RoleView, String>>> {
        let name = &self.spec.name;
        let got = self.iam.get_role().role_name(name).send().await;
        let Some(role) = got.absent_when(GetRoleError::is_no_such_entity_exception, "GetRole", name)? else {
            return Ok(None);
        };
        let Some(role) = role.role else { return Ok(None) };
        let managed = attached_policies(self.iam, name).await?;
        // Only the policy we write is read: other inline policies are someone else's.
        let inline = match &self.desired.inline {
            Some(want) => {
                let got = self.iam.get_role_policy().role_name(name).policy_name(&want.name).send().await;
                got.absent_when(GetRolePolicyError::is_no_such_entity_exception, "GetRolePolicy", name)?
                    .map(|p| InlinePolicy { name: want.name.clone(), document: policy::canonical(&p.policy_document) })
            }
            None => None,
        };
        let view = RoleView {
            trust: policy::canonical(role.assume_role_policy_document().unwrap_or_default()),
            description: role.description().unwrap_or_default().to_string(),
            managed,
            inline,
        };
        Ok(Some(Live::ready(view, role.arn)))
    }

    async fn create(&self, d: &RoleView) -> Result<String> {
        let name = &self.spec.name;
        let tags = self.env.names.tags(self.spec.component, name).into_iter();
        let out = self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(self.spec.trust.to_json())
            .description(&d.description)
            .set_tags(Some(tags.map(|t| Tag::builder().key(t.key).value(t.value).build().expect("tag")).collect()))
            .send()
            .await
            .aws("CreateRole", name)?;
        let arn = out.role.map(|r| r.arn).unwrap_or_default();
        let empty = RoleView { managed: vec![], inline: None, ..d.clone() };
        for u in self.updates(d, &empty)? {
            self.update(&arn, u).await?;
        }
        Ok(arn)
    }

    fn updates(&self, d: &RoleView, l: &RoleView) -> Result<Vec<RoleUpdate>> {
        let mut u = Vec::new();
        if d.trust != l.trust {
            u.push(RoleUpdate::Trust);
        }
        if d.description != l.description {
            u.push(RoleUpdate::Description(d.description.clone()));
        }
        u.extend(d.managed.iter().filter(|m| !l.managed.contains(m)).cloned().map(RoleUpdate::Attach));
        u.extend(l.managed.iter().filter(|m| !d.managed.contains(m)).cloned().map(RoleUpdate::Detach));
        match (&d.inline, &l.inline) {
            (Some(want), have) if have.as_ref() != Some(want) => u.push(RoleUpdate::PutInline),
            (None, Some(have)) => u.push(RoleUpdate::DeleteInline(have.name.clone())),
            _ => {}
        }
        if let (Some(want), Some(have)) = (&d.inline, &l.inline)
            && want.name != have.name
        {
            u.push(RoleUpdate::DeleteInline(have.name.clone()));
        }
        Ok(u)
    }

    fn defer_to_live(&self, desired: &mut RoleView, live: &RoleView) -> Option<String> {
        let foreign: Vec<String> = live.managed.iter().filter(|m| !desired.managed.contains(m)).cloned().collect();
        if foreign.is_empty() {
            return None;
        }
        desired.managed.extend(foreign.iter().cloned());
        desired.managed.sort();
        Some(format!(
            "attached polic{} {} not ours; left in place",
            if foreign.len() == 1 { "y is" } else { "ies are" },
            foreign.join(", ")
        ))
    }

    async fn update(&self, _arn: &String, u: RoleUpdate) -> Result<()> {
        let (iam, name) = (self.iam, self.spec.name.as_str());
        match u {
            RoleUpdate::Trust => {
                let doc = self.spec.trust.to_json();
                let req = iam.update_assume_role_policy().role_name(name).policy_document(doc);
                req.send().await.aws("UpdateAssumeRolePolicy", name)?;
            }
            RoleUpdate::Description(d) => {
                iam.update_role().role_name(name).description(d).send().await.aws("UpdateRole", name)?;
            }
            RoleUpdate::Attach(arn) => {
                let req = iam.attach_role_policy().role_name(name).policy_arn(arn);
                req.send().await.aws("AttachRolePolicy", name)?;
            }
            RoleUpdate::Detach(arn) => {
                let req = iam.detach_role_policy().role_name(name).policy_arn(arn);
                req.send().await.aws("DetachRolePolicy", name)?;
            }
            RoleUpdate::PutInline => {
                let Some((policy, doc)) = &self.spec.inline else { return Ok(()) };
                let req = iam.put_role_policy().role_name(name).policy_name(policy).policy_document(doc.to_json());
                req.send().await.aws("PutRolePolicy", name)?;
            }
            RoleUpdate::DeleteInline(policy) => {
                let req = iam.delete_role_policy().role_name(name).policy_name(policy);
                req.send().await.aws("DeleteRolePolicy", name)?;
            }
        }
        Ok(())
    }
}

/// The ARNs of the managed policies attached to the role, sorted.
async fn attached_policies(iam: &Client, name: &str) -> Result<Vec<String>> {
    let attached: Vec<_> = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListAttachedRolePolicies", name)?;
    let mut arns: Vec<String> = attached.into_iter().filter_map(|p| p.policy_arn).collect();
    arns.sort();
    Ok(arns)
}

pub async fn ensure_role(iam: &Client, env: &Env, spec: &RoleSpec) -> Result<Outcome<String>> {
    reconcile::ensure(env, &Role::new(iam, env, spec)).await
}

/// An AWS service's service-linked role (`AWSServiceRoleForECS` for `ecs.amazonaws.com`), created when the account
/// lacks it. It is the account's, shared by every cluster (or other user of the service) in it, so no stack deletes
/// it. AWS creates some of these by itself on first use, but asynchronously: the first CreateCluster with capacity
/// providers in a fresh account fails with "Unable to assume the service linked role" (ECS Developer Guide, "Using
/// service-linked roles for Amazon ECS"), so the lens makes sure of it first, and the call that needs it retries
/// while it propagates.
pub async fn ensure_service_linked_role(iam: &Client, env: &Env, service: &str, role_name: &str) -> Result<()> {
    const SLR: &str = "service-linked-role";
    let got = iam.get_role().role_name(role_name).send().await;
    if got.absent_when(GetRoleError::is_no_such_entity_exception, "GetRole", role_name)?.is_some() {
        return Ok(());
    }
    let why = format!("{service} needs it; it belongs to the account, so destroy keeps it");
    if env.is_plan() {
        env.note(SLR, role_name, Action::Create, &planned_id(SLR), &why);
        return Ok(());
    }
    let made = iam.create_service_linked_role().aws_service_name(service).send().await;
    // Another run (or AWS itself, on first use) made it meanwhile: AWS says the name "has been taken".
    let taken = |e: &Error| {
        e.is_code(&["EntityAlreadyExists"]) || (e.is_code(&["InvalidInput"]) && e.message().contains("has been taken"))
    };
    match made.aws("CreateServiceLinkedRole", role_name) {
        Ok(out) => {
            env.note(SLR, role_name, Action::Create, out.role.map(|r| r.arn).as_deref().unwrap_or(role_name), &why)
        }
        Err(e) if taken(&e) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Detaches and deletes every policy, then the role. Absent is success.
pub async fn delete_role(iam: &Client, env: &Env, name: &str) -> Result<()> {
    let got = iam.get_role().role_name(name).send().await;
    if got.absent_when(GetRoleError::is_no_such_entity_exception, "GetRole", name)?.is_none() {
        return Ok(());
    }
    env.delete(KIND, name, name, &["NoSuchEntity"], || async {
        for p in attached_policies(iam, name).await? {
            iam.detach_role_policy().role_name(name).policy_arn(p).send().await.aws("DetachRolePolicy", name)?;
        }
        let inline = iam.list_role_policies().role_name(name).send().await.aws("ListRolePolicies", name)?;
        for p in inline.policy_names() {
            iam.delete_role_policy().role_name(name).policy_name(p).send().await.aws("DeleteRolePolicy", name)?;
        }
        iam.delete_role().role_name(name).send().await.map(|_| ()).aws("DeleteRole", name)
    })
    .await
}

#[cfg(test)]
mod tests {
    use ghost_core::Mode;
    use ghost_core::reconcile::testing::assert_every_field_compared;

    use super::*;
    use crate::policy::Statement;

    fn spec() -> RoleSpec {
        RoleSpec {
            name: "ghost-exec".into(),
            component: "execution-role",
            trust: PolicyDocument::trust("ecs-tasks.amazonaws.com"),
            managed: vec!["arn:aws:iam::aws:policy/a".into()],
            inline: Some(("secrets".into(), PolicyDocument::new(vec![Statement::allow(&["s:Get"], vec!["r".into()])]))),
        }
    }

    #[test]
    fn every_field_of_a_role_is_compared() {
        let client = Client::from_conf(aws_sdk_iam::Config::builder().behavior_version_latest().build());
        let env = Env::new("ghost", Mode::Plan);
        let spec = spec();
        let role = Role::new(&client, &env, &spec);
        let bare = RoleView { inline: None, ..role.desired.clone() };
        assert_every_field_compared(&role, &[role.desired.clone(), bare]);
    }

    #[test]
    fn a_foreign_attachment_is_kept_and_said() {
        let client = Client::from_conf(aws_sdk_iam::Config::builder().behavior_version_latest().build());
        let env = Env::new("ghost", Mode::Plan);
        let spec = spec();
        let role = Role::new(&client, &env, &spec);
        let mut live = role.desired.clone();
        live.managed.push("arn:aws:iam::aws:policy/z".into());
        let mut desired = role.desired.clone();
        let why = role.defer_to_live(&mut desired, &live).expect("a warning");
        assert!(why.contains("policy/z"), "{why}");
        assert_eq!(desired, live);
    }
}
