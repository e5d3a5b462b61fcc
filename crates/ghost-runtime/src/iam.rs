//! IAM roles for the task: the execution role (pull the image, write logs, read exactly this stack's database
//! secret) and the task role (mount and write EFS through our access point only). Trust: ecs-tasks only.
//! Found by name (IAM role names are unique per account); documents compared semantically.

use aws_sdk_iam::types::Tag;
use ghost_core::error::absent_if;
use ghost_core::{AwsResultExt, Change, Outcome, planned_id};

use crate::policy::PolicyDocument;
use crate::{Result, Runtime};

/// What the role functions need: an IAM client and the environment. Every lens that owns roles (run, build)
/// implements it, so roles follow one ensure code path.
pub trait IamScope {
    fn iam(&self) -> &aws_sdk_iam::Client;
    fn env(&self) -> &ghost_core::Env;
}

impl IamScope for Runtime {
    fn iam(&self) -> &aws_sdk_iam::Client {
        &self.iam
    }
    fn env(&self) -> &ghost_core::Env {
        &self.env
    }
}

const KIND: &str = "iam-role";
/// The AWS managed policy for pulling images and writing logs.
pub const ECS_EXECUTION_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub name: String,
    pub component: &'static str,
    pub trust: PolicyDocument,
    pub managed: Vec<String>,
    /// (policy name, document)
    pub inline: Option<(String, PolicyDocument)>,
}

#[derive(Debug, Clone)]
pub struct FoundRole {
    pub arn: String,
    pub trust: String,
    pub managed: Vec<String>,
    pub inline: Option<String>,
}

pub async fn find_role(rt: &impl IamScope, spec: &RoleSpec) -> Result<Option<FoundRole>> {
    let got = rt.iam().get_role().role_name(&spec.name).send().await.aws("GetRole", &spec.name);
    let Some(role) = absent_if(got, &["NoSuchEntity"])? else { return Ok(None) };
    let role = role.role.expect("GetRole returns a role");
    let attached = rt
        .iam()
        .list_attached_role_policies()
        .role_name(&spec.name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListAttachedRolePolicies", &spec.name)?;
    let inline = match &spec.inline {
        Some((policy, _)) => {
            let got = rt
                .iam()
                .get_role_policy()
                .role_name(&spec.name)
                .policy_name(policy)
                .send()
                .await
                .aws("GetRolePolicy", &spec.name);
            absent_if(got, &["NoSuchEntity"])?.map(|p| p.policy_document)
        }
        None => None,
    };
    Ok(Some(FoundRole {
        arn: role.arn,
        trust: role.assume_role_policy_document.unwrap_or_default(),
        managed: attached.into_iter().filter_map(|p| p.policy_arn).collect(),
        inline,
    }))
}

pub fn diff_role(spec: &RoleSpec, found: &FoundRole) -> Vec<Change> {
    let mut changes = Vec::new();
    if !spec.trust.same_as(&found.trust) {
        changes.push(Change::new("trust policy", "differs", spec.trust.to_json()));
    }
    for m in spec.managed.iter().filter(|m| !found.managed.contains(m)) {
        changes.push(Change::new("managed policy", "(not attached)", m));
    }
    if let Some((name, doc)) = &spec.inline
        && !found.inline.as_deref().is_some_and(|f| doc.same_as(f))
    {
        let from = if found.inline.is_some() { "differs" } else { "(none)" };
        changes.push(Change::new(format!("inline policy {name}"), from, doc.to_json()));
    }
    changes
}

pub async fn ensure_role(rt: &impl IamScope, spec: &RoleSpec) -> Result<Outcome<String>> {
    rt.env()
        .track(KIND, &spec.name, async {
            let Some(found) = find_role(rt, spec).await? else {
                if rt.env().is_plan() {
                    return Ok(Outcome::Created(planned_id(KIND)));
                }
                let tags = rt.env().names.tags(spec.component, &spec.name);
                let out = rt
                    .iam()
                    .create_role()
                    .role_name(&spec.name)
                    .assume_role_policy_document(spec.trust.to_json())
                    .description(format!("Ghost stack {}: {}", rt.env().stack(), spec.component))
                    .set_tags(Some(
                        tags.into_iter()
                            .map(|t| Tag::builder().key(t.key).value(t.value).build().expect("tag"))
                            .collect(),
                    ))
                    .send()
                    .await
                    .aws("CreateRole", &spec.name)?;
                let arn = out.role.map(|r| r.arn).unwrap_or_default();
                apply(
                    rt,
                    spec,
                    &FoundRole { arn: arn.clone(), trust: spec.trust.to_json(), managed: vec![], inline: None },
                )
                .await?;
                return Ok(Outcome::Created(arn));
            };
            let changes = diff_role(spec, &found);
            if !changes.is_empty() && !rt.env().is_plan() {
                apply(rt, spec, &found).await?;
            }
            Ok(Outcome::from_changes(found.arn, changes))
        })
        .await
}

/// Makes the role's trust, attachments and inline policy match, touching only what differs.
async fn apply(rt: &impl IamScope, spec: &RoleSpec, found: &FoundRole) -> Result<()> {
    if !spec.trust.same_as(&found.trust) {
        rt.iam()
            .update_assume_role_policy()
            .role_name(&spec.name)
            .policy_document(spec.trust.to_json())
            .send()
            .await
            .aws("UpdateAssumeRolePolicy", &spec.name)?;
    }
    for m in spec.managed.iter().filter(|m| !found.managed.contains(m)) {
        rt.iam()
            .attach_role_policy()
            .role_name(&spec.name)
            .policy_arn(m)
            .send()
            .await
            .aws("AttachRolePolicy", &spec.name)?;
    }
    if let Some((name, doc)) = &spec.inline
        && !found.inline.as_deref().is_some_and(|f| doc.same_as(f))
    {
        rt.iam()
            .put_role_policy()
            .role_name(&spec.name)
            .policy_name(name)
            .policy_document(doc.to_json())
            .send()
            .await
            .aws("PutRolePolicy", &spec.name)?;
    }
    Ok(())
}

/// Detaches and deletes every policy, then the role. Absent is success.
pub async fn delete_role(rt: &impl IamScope, name: &str) -> Result<()> {
    let exists = absent_if(rt.iam().get_role().role_name(name).send().await.aws("GetRole", name), &["NoSuchEntity"])?;
    if exists.is_none() {
        return Ok(());
    }
    rt.env()
        .delete(KIND, name, name, &["NoSuchEntity"], || async {
            let attached = rt
                .iam()
                .list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .aws("ListAttachedRolePolicies", name)?;
            for p in attached.attached_policies().iter().filter_map(|p| p.policy_arn()) {
                rt.iam()
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(p)
                    .send()
                    .await
                    .aws("DetachRolePolicy", name)?;
            }
            let inline = rt.iam().list_role_policies().role_name(name).send().await.aws("ListRolePolicies", name)?;
            for p in inline.policy_names() {
                rt.iam()
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name(p)
                    .send()
                    .await
                    .aws("DeleteRolePolicy", name)?;
            }
            rt.iam().delete_role().role_name(name).send().await.map(|_| ()).aws("DeleteRole", name)
        })
        .await?;
    Ok(())
}
