//! Ghost's content on EFS: an encrypted file system (found by its creation token, the stack name), lifecycle
//! to Infrequent Access, automatic backups, a mount target in each private subnet with the EFS security group,
//! an access point rooted at /ghost-data as uid/gid 1000 (Ghost's user), and a file-system policy that denies
//! non-TLS access and lets the task role mount and write through that access point only.

use std::time::Duration;

use aws_sdk_efs::types::{
    BackupPolicy, CreationInfo, FileSystemDescription, LifeCycleState, LifecyclePolicy, PerformanceMode, PosixUser,
    RootDirectory, Status, Tag, ThroughputMode, TransitionToIaRules,
};
use ghost_core::config::{PerformanceMode as CfgPerf, ThroughputMode as CfgThroughput};
use ghost_core::error::absent_if;
use ghost_core::wait::{Bound, Poll, poll_until};
use ghost_core::{Action, AwsResultExt, Change, Error as CoreError, Outcome, is_planned, planned_id};
use ghost_net::NetworkOut;
use serde::Serialize;
use serde_json::json;

use crate::policy::{Effect, PolicyDocument, Statement};
use crate::spec::RuntimeSpec;
use crate::{DataPolicy, Pair, Result, Runtime};

/// The access point's root: Ghost's content lives under it, owned by uid/gid 1000 with mode 755.
pub const ROOT: &str = "/ghost-data";
pub const GHOST_UID: i64 = 1000;
const WAIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EfsOut {
    pub file_system_id: String,
    pub file_system_arn: String,
    pub access_point_id: String,
    pub access_point_arn: String,
    pub mount_targets: Vec<String>,
}

fn tags(rt: &Runtime, component: &str, name: &str) -> Vec<Tag> {
    rt.env
        .names
        .tags(component, name)
        .into_iter()
        .map(|t| Tag::builder().key(t.key).value(t.value).build().expect("tag has key and value"))
        .collect()
}

fn throughput(spec: &RuntimeSpec) -> ThroughputMode {
    match spec.throughput_mode {
        CfgThroughput::Bursting => ThroughputMode::Bursting,
        CfgThroughput::Elastic => ThroughputMode::Elastic,
    }
}

fn performance(spec: &RuntimeSpec) -> PerformanceMode {
    match spec.performance_mode {
        CfgPerf::GeneralPurpose => PerformanceMode::GeneralPurpose,
        CfgPerf::MaxIo => PerformanceMode::MaxIo,
    }
}

pub async fn find_file_system(rt: &Runtime) -> Result<Option<FileSystemDescription>> {
    let token = rt.env.stack();
    let out = rt.efs.describe_file_systems().creation_token(token).send().await.aws("DescribeFileSystems", token);
    let out = absent_if(out, &["FileSystemNotFound"])?;
    Ok(out.and_then(|o| {
        o.file_systems.unwrap_or_default().into_iter().find(|f| f.life_cycle_state() != &LifeCycleState::Deleted)
    }))
}

pub fn diff_file_system(spec: &RuntimeSpec, fs: &FileSystemDescription) -> Result<Vec<Change>> {
    let id = fs.file_system_id().to_string();
    if !fs.encrypted().unwrap_or(false) {
        return Err(CoreError::NeedsReplacement {
            resource: format!("file system {id}"),
            change: Change::new("encrypted", false, true),
            remedy:
                "copy the content to a new encrypted file system (AWS DataSync), or destroy --delete-data and deploy"
                    .into(),
        }
        .into());
    }
    if fs.performance_mode() != &performance(spec) {
        return Err(CoreError::NeedsReplacement {
            resource: format!("file system {id}"),
            change: Change::new("performance_mode", fs.performance_mode().as_str(), performance(spec).as_str()),
            remedy: "keep efs.performance_mode as deployed (AWS fixes it at creation)".into(),
        }
        .into());
    }
    let mut changes = Vec::new();
    let want = throughput(spec);
    if fs.throughput_mode() != Some(&want) {
        changes.push(Change::new(
            "throughput_mode",
            fs.throughput_mode().map_or("none", |m| m.as_str()),
            want.as_str(),
        ));
    }
    Ok(changes)
}

async fn wait_available(rt: &Runtime, id: &str) -> Result<()> {
    let bound = Bound::new(WAIT, Duration::from_secs(3));
    poll_until(&format!("file system {id} available"), &bound, || async {
        let out = rt.efs.describe_file_systems().file_system_id(id).send().await.aws("DescribeFileSystems", id)?;
        let state = out.file_systems().first().map(|f| f.life_cycle_state().clone());
        Ok(match state {
            Some(LifeCycleState::Available) => Poll::Ready(()),
            Some(LifeCycleState::Error) => Poll::Failed("error".into()),
            other => Poll::Pending(format!("{other:?}")),
        })
    })
    .await?;
    Ok(())
}

/// The file system with lifecycle and backups, its mount targets and access point. The policy comes later,
/// once the task role it names exists ([`ensure_policy`]).
pub async fn ensure_file_system(rt: &Runtime, spec: &RuntimeSpec, net: &NetworkOut) -> Result<EfsOut> {
    let name = rt.env.names.of("content");
    let fs = rt
        .env
        .track("file-system", &name, async {
            let Some(fs) = find_file_system(rt).await? else {
                if rt.env.is_plan() {
                    return Ok::<_, crate::Error>(Outcome::Created(Pair::new(planned_id("file-system"), "")));
                }
                let out = rt
                    .efs
                    .create_file_system()
                    .creation_token(rt.env.stack())
                    .encrypted(true)
                    .performance_mode(performance(spec))
                    .throughput_mode(throughput(spec))
                    .set_tags(Some(tags(rt, "file-system", &name)))
                    .send()
                    .await
                    .aws("CreateFileSystem", &name)?;
                let id = out.file_system_id().to_string();
                rt.env.waiting("file-system", &name, "available");
                wait_available(rt, &id).await?;
                settings(rt, &id, true, true).await?;
                return Ok(Outcome::Created(Pair::new(id, out.file_system_arn().unwrap_or_default())));
            };
            let id = fs.file_system_id().to_string();
            let mut changes = diff_file_system(spec, &fs)?;
            if !changes.is_empty() && !rt.env.is_plan() {
                rt.efs
                    .update_file_system()
                    .file_system_id(&id)
                    .throughput_mode(throughput(spec))
                    .send()
                    .await
                    .aws("UpdateFileSystem", &id)?;
            }
            let lifecycle = rt
                .efs
                .describe_lifecycle_configuration()
                .file_system_id(&id)
                .send()
                .await
                .aws("DescribeLifecycleConfiguration", &id)?;
            let to_ia = lifecycle
                .lifecycle_policies()
                .iter()
                .any(|p| p.transition_to_ia() == Some(&TransitionToIaRules::After30Days));
            if !to_ia {
                changes.push(Change::new("lifecycle", "(none)", "transition to IA after 30 days"));
            }
            let backup =
                rt.efs.describe_backup_policy().file_system_id(&id).send().await.aws("DescribeBackupPolicy", &id);
            let backup = absent_if(backup, &["PolicyNotFound"])?;
            let backup_on = backup.and_then(|b| b.backup_policy).is_some_and(|b| b.status() == &Status::Enabled);
            if !backup_on {
                changes.push(Change::new("automatic backups", "off", "on"));
            }
            if (!to_ia || !backup_on) && !rt.env.is_plan() {
                settings(rt, &id, !to_ia, !backup_on).await?;
            }
            Ok(Outcome::from_changes(Pair::new(id, fs.file_system_arn().unwrap_or_default()), changes))
        })
        .await?;
    let Pair { id: fs_id, detail: fs_arn } = fs.into_id();
    let mount_targets = ensure_mount_targets(rt, &fs_id, net).await?;
    let Pair { id: ap_id, detail: ap_arn } = ensure_access_point(rt, &fs_id).await?.into_id();
    Ok(EfsOut {
        file_system_id: fs_id,
        file_system_arn: fs_arn,
        access_point_id: ap_id,
        access_point_arn: ap_arn,
        mount_targets,
    })
}

async fn settings(rt: &Runtime, id: &str, lifecycle: bool, backup: bool) -> Result<()> {
    if lifecycle {
        rt.efs
            .put_lifecycle_configuration()
            .file_system_id(id)
            .lifecycle_policies(LifecyclePolicy::builder().transition_to_ia(TransitionToIaRules::After30Days).build())
            .send()
            .await
            .aws("PutLifecycleConfiguration", id)?;
    }
    if backup {
        rt.efs
            .put_backup_policy()
            .file_system_id(id)
            .backup_policy(BackupPolicy::builder().status(Status::Enabled).build().expect("status set"))
            .send()
            .await
            .aws("PutBackupPolicy", id)?;
    }
    Ok(())
}

/// One mount target per private subnet, with the EFS security group; waited until available.
pub async fn ensure_mount_targets(rt: &Runtime, fs_id: &str, net: &NetworkOut) -> Result<Vec<String>> {
    let existing = if is_planned(fs_id) {
        vec![]
    } else {
        rt.efs
            .describe_mount_targets()
            .file_system_id(fs_id)
            .send()
            .await
            .aws("DescribeMountTargets", fs_id)?
            .mount_targets
            .unwrap_or_default()
    };
    let mut ids = Vec::new();
    for (i, subnet) in net.private_subnets.iter().enumerate() {
        // Named by zone, as the subnets are: in a plan the subnet ids are all the same placeholder.
        let zone = net.availability_zones.get(i).and_then(|az| az.chars().last()).map_or(subnet.clone(), String::from);
        let name = format!("{}-mount-{zone}", rt.env.stack());
        let out = rt
            .env
            .track("mount-target", &name, async {
                if let Some(mt) = existing.iter().find(|m| m.subnet_id() == subnet) {
                    let id = mt.mount_target_id().to_string();
                    let sgs = rt
                        .efs
                        .describe_mount_target_security_groups()
                        .mount_target_id(&id)
                        .send()
                        .await
                        .aws("DescribeMountTargetSecurityGroups", &id)?;
                    if sgs.security_groups() == [net.sg_efs.clone()] {
                        return Ok::<_, crate::Error>(Outcome::Unchanged(id));
                    }
                    let change = Change::new("security_groups", sgs.security_groups().join(","), &net.sg_efs);
                    if !rt.env.is_plan() {
                        rt.efs
                            .modify_mount_target_security_groups()
                            .mount_target_id(&id)
                            .security_groups(&net.sg_efs)
                            .send()
                            .await
                            .aws("ModifyMountTargetSecurityGroups", &id)?;
                    }
                    return Ok(Outcome::Updated(id, vec![change]));
                }
                if rt.env.is_plan() {
                    return Ok(Outcome::Created(planned_id("mount-target")));
                }
                let out = rt
                    .efs
                    .create_mount_target()
                    .file_system_id(fs_id)
                    .subnet_id(subnet)
                    .security_groups(&net.sg_efs)
                    .send()
                    .await
                    .aws("CreateMountTarget", &name)?;
                Ok(Outcome::Created(out.mount_target_id().to_string()))
            })
            .await?;
        ids.push(out);
    }
    if ids.iter().any(|o| o.action() == Action::Create) && !rt.env.is_plan() {
        rt.env.waiting("mount-target", rt.env.stack(), "available");
        let bound = Bound::new(WAIT, Duration::from_secs(5));
        poll_until("mount targets available", &bound, || async {
            let out = rt
                .efs
                .describe_mount_targets()
                .file_system_id(fs_id)
                .send()
                .await
                .aws("DescribeMountTargets", fs_id)?;
            let pending: Vec<String> = out
                .mount_targets()
                .iter()
                .filter(|m| m.life_cycle_state() != &LifeCycleState::Available)
                .map(|m| format!("{} {:?}", m.mount_target_id(), m.life_cycle_state()))
                .collect();
            Ok(if pending.is_empty() { Poll::Ready(()) } else { Poll::Pending(pending.join(", ")) })
        })
        .await?;
    }
    Ok(ids.into_iter().map(Outcome::into_id).collect())
}

/// The access point (immutable in AWS: a different one needs replacing, which we refuse to do silently).
pub async fn ensure_access_point(rt: &Runtime, fs_id: &str) -> Result<Outcome<Pair>> {
    let name = rt.env.names.of("content-ap");
    rt.env
        .track("access-point", &name, async {
            let existing = if is_planned(fs_id) {
                vec![]
            } else {
                rt.efs
                    .describe_access_points()
                    .file_system_id(fs_id)
                    .send()
                    .await
                    .aws("DescribeAccessPoints", fs_id)?
                    .access_points
                    .unwrap_or_default()
            };
            if let Some(ap) = existing
                .into_iter()
                .find(|a| a.name() == Some(name.as_str()) || a.client_token() == Some(name.as_str()))
            {
                let id = ap.access_point_id().unwrap_or_default().to_string();
                let root = ap.root_directory().and_then(|r| r.path()).unwrap_or_default();
                let uid = ap.posix_user().map(|p| p.uid()).unwrap_or_default();
                if root != ROOT || uid != GHOST_UID {
                    return Err(CoreError::NeedsReplacement {
                        resource: format!("access point {id}"),
                        change: Change::new("root/uid", format!("{root} uid {uid}"), format!("{ROOT} uid {GHOST_UID}")),
                        remedy: "delete the access point; the next deploy creates it as Ghost needs it".into(),
                    }
                    .into());
                }
                return Ok(Outcome::Unchanged(Pair::new(id, ap.access_point_arn().unwrap_or_default())));
            }
            if rt.env.is_plan() {
                return Ok(Outcome::Created(Pair::new(planned_id("access-point"), "")));
            }
            let out = rt
                .efs
                .create_access_point()
                .client_token(&name)
                .file_system_id(fs_id)
                .posix_user(PosixUser::builder().uid(GHOST_UID).gid(GHOST_UID).build().expect("uid and gid"))
                .root_directory(
                    RootDirectory::builder()
                        .path(ROOT)
                        .creation_info(
                            CreationInfo::builder()
                                .owner_uid(GHOST_UID)
                                .owner_gid(GHOST_UID)
                                .permissions("755")
                                .build()
                                .expect("creation info"),
                        )
                        .build(),
                )
                .set_tags(Some(tags(rt, "access-point", &name)))
                .send()
                .await
                .aws("CreateAccessPoint", &name)?;
            Ok(Outcome::Created(Pair::new(
                out.access_point_id().unwrap_or_default(),
                out.access_point_arn().unwrap_or_default(),
            )))
        })
        .await
}

/// Denies any access without TLS; lets the task role mount and write only through our access point.
pub fn file_system_policy(fs: &EfsOut, task_role_arn: &str) -> PolicyDocument {
    PolicyDocument::new(vec![
        Statement {
            sid: Some("DenyWithoutTls".into()),
            effect: Effect::Deny,
            principal: Some(json!({ "AWS": "*" })),
            action: vec!["*".into()],
            resource: Some(vec![fs.file_system_arn.clone()]),
            condition: Some(json!({ "Bool": { "aws:SecureTransport": "false" } })),
        },
        Statement::allow(
            &["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            vec![fs.file_system_arn.clone()],
        )
        .sid("GhostTaskThroughAccessPoint")
        .principal(json!({ "AWS": task_role_arn }))
        .condition(json!({ "StringEquals": { "elasticfilesystem:AccessPointArn": fs.access_point_arn } })),
    ])
}

pub async fn ensure_policy(rt: &Runtime, fs: &EfsOut, task_role_arn: &str) -> Result<Outcome<String>> {
    let name = rt.env.names.of("content-policy");
    let want = file_system_policy(fs, task_role_arn);
    let id = &fs.file_system_id;
    rt.env
        .track("file-system-policy", &name, async {
            let found = if is_planned(id) {
                None
            } else {
                let got = rt
                    .efs
                    .describe_file_system_policy()
                    .file_system_id(id)
                    .send()
                    .await
                    .aws("DescribeFileSystemPolicy", id);
                absent_if(got, &["PolicyNotFound"])?.and_then(|p| p.policy)
            };
            let changes = match &found {
                Some(p) if want.same_as(p) => vec![],
                Some(_) => vec![Change::new("policy", "differs", want.to_json())],
                None if rt.env.is_plan() => return Ok(Outcome::Created(planned_id("file-system-policy"))),
                None => vec![],
            };
            if (found.is_none() || !changes.is_empty()) && !rt.env.is_plan() {
                rt.efs
                    .put_file_system_policy()
                    .file_system_id(id)
                    .policy(want.to_json())
                    .send()
                    .await
                    .aws("PutFileSystemPolicy", id)?;
                if found.is_none() {
                    return Ok(Outcome::Created(id.clone()));
                }
            }
            Ok(Outcome::from_changes(id.clone(), changes))
        })
        .await
}

/// Mount targets always go (the network cannot be deleted while they exist). The file system and its access
/// points go only with `DataPolicy::Delete`; otherwise the journal says it was kept, with its id.
pub async fn delete_file_system(rt: &Runtime, _spec: &RuntimeSpec, data: DataPolicy) -> Result<()> {
    let Some(fs) = find_file_system(rt).await? else { return Ok(()) };
    let id = fs.file_system_id().to_string();
    let mts = rt.efs.describe_mount_targets().file_system_id(&id).send().await.aws("DescribeMountTargets", &id)?;
    for mt in mts.mount_targets() {
        let mt_id = mt.mount_target_id();
        rt.env
            .delete("mount-target", mt_id, mt_id, &["MountTargetNotFound"], || async {
                rt.efs
                    .delete_mount_target()
                    .mount_target_id(mt_id)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeleteMountTarget", mt_id)
            })
            .await?;
    }
    if !mts.mount_targets().is_empty() && !rt.env.is_plan() {
        let bound = Bound::new(WAIT, Duration::from_secs(5));
        poll_until("mount targets deleted", &bound, || async {
            let out =
                rt.efs.describe_mount_targets().file_system_id(&id).send().await.aws("DescribeMountTargets", &id)?;
            let left = out.mount_targets().len();
            Ok(if left == 0 { Poll::Ready(()) } else { Poll::Pending(format!("{left} left")) })
        })
        .await?;
    }
    let name = rt.env.names.of("content");
    let aps = rt.efs.describe_access_points().file_system_id(&id).send().await.aws("DescribeAccessPoints", &id)?;
    if data == DataPolicy::Keep {
        // The access point and the policy are how the next deploy's tasks reach the same content: they stay with it.
        rt.env.note("file-system", &name, Action::Keep, &id, "content is retained; destroy --delete-data removes it");
        for ap in aps.access_points() {
            let ap_id = ap.access_point_id().unwrap_or_default();
            rt.env.note(
                "access-point",
                ap.name().unwrap_or(ap_id),
                Action::Keep,
                ap_id,
                "belongs to the retained content",
            );
        }
        let policy = rt.env.names.of("content-policy");
        rt.env.note("file-system-policy", &policy, Action::Keep, &id, "belongs to the retained content");
        return Ok(());
    }
    for ap in aps.access_points() {
        let ap_id = ap.access_point_id().unwrap_or_default();
        rt.env
            .delete("access-point", ap.name().unwrap_or(ap_id), ap_id, &["AccessPointNotFound"], || async {
                rt.efs
                    .delete_access_point()
                    .access_point_id(ap_id)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeleteAccessPoint", ap_id)
            })
            .await?;
    }
    rt.env
        .delete("file-system", &name, &id, &["FileSystemNotFound"], || async {
            rt.efs.delete_file_system().file_system_id(&id).send().await.map(|_| ()).aws("DeleteFileSystem", &id)
        })
        .await?;
    Ok(())
}
