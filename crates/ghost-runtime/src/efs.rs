//! Ghost's content on EFS: an encrypted file system (found by its creation token, the stack name), lifecycle
//! to Infrequent Access, automatic backups, a mount target in each private subnet with the EFS security group,
//! an access point rooted at /ghost-data as uid/gid 1000 (Ghost's user), and a file-system policy that denies
//! non-TLS access and lets the task role mount and write through that access point only.

use aws_sdk_efs::operation::describe_backup_policy::DescribeBackupPolicyError;
use aws_sdk_efs::operation::describe_file_systems::DescribeFileSystemsError;
use std::time::Duration;

use aws_sdk_efs::operation::describe_file_system_policy::DescribeFileSystemPolicyError;
use aws_sdk_efs::types::{
    BackupPolicy, CreationInfo, FileSystemDescription, LifeCycleState, LifecyclePolicy, PerformanceMode, PosixUser,
    RootDirectory, Status, Tag, ThroughputMode, TransitionToIaRules,
};
use ghost_core::config::{PerformanceMode as CfgPerf, ThroughputMode as CfgThroughput};
use ghost_core::reconcile::{self, Live, Readiness, Resource};
use ghost_core::wait::{Bound, Poll, poll_until, retry_iam_propagation};
use ghost_core::{AbsentExt, Action, AwsResultExt, Change, Error as CoreError, Outcome, is_planned, planned_id};
use ghost_net::NetworkOut;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::spec::RuntimeSpec;
use ghost_aws::policy::{Effect, PolicyDocument, Statement};
use ghost_core::DataPolicy;

use crate::{Pair, Result, Runtime};

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
    let out = rt.efs.describe_file_systems().creation_token(token).send().await;
    let out = out.absent_when(DescribeFileSystemsError::is_file_system_not_found, "DescribeFileSystems", token)?;
    Ok(out.and_then(|o| {
        o.file_systems.unwrap_or_default().into_iter().find(|f| f.life_cycle_state() != &LifeCycleState::Deleted)
    }))
}

/// Everything the file system is created and configured with: CreateFileSystem's fields, the lifecycle
/// configuration and the backup policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystemView {
    pub encrypted: bool,
    pub performance_mode: String,
    pub throughput_mode: String,
    /// `AFTER_30_DAYS`: content untouched for a month moves to Infrequent Access.
    pub transition_to_ia: String,
    pub automatic_backups: bool,
}

impl FileSystemView {
    pub fn desired(spec: &RuntimeSpec) -> Self {
        Self {
            encrypted: true,
            performance_mode: performance(spec).as_str().into(),
            throughput_mode: throughput(spec).as_str().into(),
            transition_to_ia: TransitionToIaRules::After30Days.as_str().into(),
            automatic_backups: true,
        }
    }
}

/// The content file system as a reconciled resource, found by its creation token (the stack name).
#[derive(Debug)]
pub struct FileSystem<'a> {
    pub rt: &'a Runtime,
    pub desired: FileSystemView,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSystemUpdate {
    Throughput(String),
    Lifecycle(String),
    Backups(bool),
}

impl Resource for FileSystem<'_> {
    type View = FileSystemView;
    type Out = Pair;
    type Update = FileSystemUpdate;
    type Error = crate::Error;
    const KIND: &'static str = "file-system";

    fn name(&self) -> String {
        self.rt.env.names.of("content")
    }
    fn desired(&self) -> &FileSystemView {
        &self.desired
    }
    fn planned(&self) -> Pair {
        Pair::new(planned_id(Self::KIND), "")
    }
    async fn find(&self) -> Result<Option<Live<FileSystemView, Pair>>> {
        let Some(fs) = find_file_system(self.rt).await? else { return Ok(None) };
        let id = fs.file_system_id().to_string();
        let out = Pair::new(&id, fs.file_system_arn().unwrap_or_default());
        let mut view = FileSystemView {
            encrypted: fs.encrypted().unwrap_or(false),
            performance_mode: fs.performance_mode().as_str().into(),
            throughput_mode: fs.throughput_mode().map_or("none", |m| m.as_str()).into(),
            transition_to_ia: String::new(),
            automatic_backups: false,
        };
        let readiness = match fs.life_cycle_state() {
            LifeCycleState::Available => Readiness::Ready,
            LifeCycleState::Error => Readiness::Failed("error".into()),
            // Its settings are read once it is available (the core waits and finds again).
            other => return Ok(Some(Live { view, out, readiness: Readiness::Pending(other.as_str().into()) })),
        };
        let efs = &self.rt.efs;
        let lifecycle = efs.describe_lifecycle_configuration().file_system_id(&id).send();
        let backup = efs.describe_backup_policy().file_system_id(&id).send();
        let (lifecycle, backup) = tokio::join!(lifecycle, backup);
        let lifecycle = lifecycle.aws("DescribeLifecycleConfiguration", &id)?;
        view.transition_to_ia = lifecycle
            .lifecycle_policies()
            .iter()
            .find_map(|p| p.transition_to_ia().map(|t| t.as_str().to_string()))
            .unwrap_or_else(|| "none".into());
        let backup = backup.absent_when(DescribeBackupPolicyError::is_policy_not_found, "DescribeBackupPolicy", &id)?;
        view.automatic_backups = backup.and_then(|b| b.backup_policy).is_some_and(|b| b.status() == &Status::Enabled);
        Ok(Some(Live { view, out, readiness }))
    }
    async fn create(&self, d: &FileSystemView) -> Result<Pair> {
        let name = self.name();
        let out = self
            .rt
            .efs
            .create_file_system()
            .creation_token(self.rt.env.stack())
            .encrypted(d.encrypted)
            .performance_mode(PerformanceMode::from(d.performance_mode.as_str()))
            .throughput_mode(ThroughputMode::from(d.throughput_mode.as_str()))
            .set_tags(Some(tags(self.rt, Self::KIND, &name)))
            .send()
            .await
            .aws("CreateFileSystem", &name)?;
        let id = out.file_system_id().to_string();
        // Lifecycle and backups are set once it is available: waited for here, since they are part of the view.
        reconcile::wait_ready(&self.rt.env, self).await?;
        let pair = Pair::new(&id, out.file_system_arn().unwrap_or_default());
        self.update(&pair, FileSystemUpdate::Lifecycle(d.transition_to_ia.clone())).await?;
        self.update(&pair, FileSystemUpdate::Backups(d.automatic_backups)).await?;
        Ok(pair)
    }
    fn readiness(&self) -> Option<Bound> {
        Some(Bound::new(WAIT, Duration::from_secs(3)))
    }
    fn updates(&self, d: &FileSystemView, l: &FileSystemView) -> Result<Vec<FileSystemUpdate>> {
        let refuse = |field: &str, from: &str, to: &str, remedy: &str| -> crate::Error {
            CoreError::NeedsReplacement {
                resource: format!("file system {}", self.name()),
                change: Change::new(field, from, to),
                remedy: remedy.into(),
            }
            .into()
        };
        if d.encrypted != l.encrypted {
            return Err(refuse(
                "encrypted",
                &l.encrypted.to_string(),
                &d.encrypted.to_string(),
                "copy the content to a new encrypted file system (AWS DataSync), or destroy --delete-data and deploy",
            ));
        }
        if d.performance_mode != l.performance_mode {
            return Err(refuse(
                "performance_mode",
                &l.performance_mode,
                &d.performance_mode,
                "keep efs.performance_mode as deployed (AWS fixes it at creation)",
            ));
        }
        let mut u = Vec::new();
        if d.throughput_mode != l.throughput_mode {
            u.push(FileSystemUpdate::Throughput(d.throughput_mode.clone()));
        }
        if d.transition_to_ia != l.transition_to_ia {
            u.push(FileSystemUpdate::Lifecycle(d.transition_to_ia.clone()));
        }
        if d.automatic_backups != l.automatic_backups {
            u.push(FileSystemUpdate::Backups(d.automatic_backups));
        }
        Ok(u)
    }
    async fn update(&self, fs: &Pair, u: FileSystemUpdate) -> Result<()> {
        let (efs, id) = (&self.rt.efs, fs.id.as_str());
        match u {
            FileSystemUpdate::Throughput(m) => {
                let req = efs.update_file_system().file_system_id(id).throughput_mode(ThroughputMode::from(m.as_str()));
                req.send().await.aws("UpdateFileSystem", id)?;
            }
            FileSystemUpdate::Lifecycle(rule) => {
                let policy =
                    LifecyclePolicy::builder().transition_to_ia(TransitionToIaRules::from(rule.as_str())).build();
                let req = efs.put_lifecycle_configuration().file_system_id(id).lifecycle_policies(policy);
                req.send().await.aws("PutLifecycleConfiguration", id)?;
            }
            FileSystemUpdate::Backups(on) => {
                let status = if on { Status::Enabled } else { Status::Disabled };
                let policy = BackupPolicy::builder().status(status).build().expect("status set");
                efs.put_backup_policy()
                    .file_system_id(id)
                    .backup_policy(policy)
                    .send()
                    .await
                    .aws("PutBackupPolicy", id)?;
            }
        }
        Ok(())
    }
}

/// The file system with lifecycle and backups, its mount targets and access point. The policy comes later,
/// once the task role it names exists ([`ensure_policy`]).
pub async fn ensure_file_system(rt: &Runtime, spec: &RuntimeSpec, net: &NetworkOut) -> Result<EfsOut> {
    let fs = reconcile::ensure(&rt.env, &FileSystem { rt, desired: FileSystemView::desired(spec) }).await?;
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

/// A mount target, found by its subnet among the file system's; usable once `available`.
#[derive(Debug)]
pub struct MountTarget<'a> {
    pub rt: &'a Runtime,
    pub file_system: String,
    pub subnet: String,
    /// Named by zone, as the subnets are: in a plan the subnet ids are all the same placeholder.
    pub name: String,
    pub desired: MountTargetView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountTargetView {
    pub security_groups: Vec<String>,
}

fn mount_target_readiness(state: &LifeCycleState) -> Readiness {
    match state {
        LifeCycleState::Available => Readiness::Ready,
        LifeCycleState::Error | LifeCycleState::Deleting | LifeCycleState::Deleted => {
            Readiness::Failed(state.as_str().into())
        }
        other => Readiness::Pending(other.as_str().into()),
    }
}

impl Resource for MountTarget<'_> {
    type View = MountTargetView;
    type Out = String;
    type Update = Vec<String>;
    type Error = crate::Error;
    const KIND: &'static str = "mount-target";

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &MountTargetView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(Self::KIND)
    }
    async fn find(&self) -> Result<Option<Live<MountTargetView, String>>> {
        if is_planned(&self.file_system) {
            return Ok(None);
        }
        let Some(mt) =
            list_mount_targets(self.rt, &self.file_system).await?.into_iter().find(|m| m.subnet_id() == self.subnet)
        else {
            return Ok(None);
        };
        let id = mt.mount_target_id().to_string();
        let sgs = self
            .rt
            .efs
            .describe_mount_target_security_groups()
            .mount_target_id(&id)
            .send()
            .await
            .aws("DescribeMountTargetSecurityGroups", &id)?;
        let mut security_groups = sgs.security_groups().to_vec();
        security_groups.sort();
        Ok(Some(Live {
            view: MountTargetView { security_groups },
            out: id,
            readiness: mount_target_readiness(mt.life_cycle_state()),
        }))
    }
    async fn create(&self, d: &MountTargetView) -> Result<String> {
        let out = self
            .rt
            .efs
            .create_mount_target()
            .file_system_id(&self.file_system)
            .subnet_id(&self.subnet)
            .set_security_groups(Some(d.security_groups.clone()))
            .send()
            .await
            .aws("CreateMountTarget", &self.name)?;
        Ok(out.mount_target_id().to_string())
    }
    fn readiness(&self) -> Option<Bound> {
        Some(Bound::new(WAIT, Duration::from_secs(5)))
    }
    fn updates(&self, d: &MountTargetView, l: &MountTargetView) -> Result<Vec<Vec<String>>> {
        Ok(if d.security_groups == l.security_groups { vec![] } else { vec![d.security_groups.clone()] })
    }
    async fn update(&self, id: &String, groups: Vec<String>) -> Result<()> {
        let req = self.rt.efs.modify_mount_target_security_groups().mount_target_id(id);
        req.set_security_groups(Some(groups)).send().await.aws("ModifyMountTargetSecurityGroups", id)?;
        Ok(())
    }
}

/// Until none of these mount targets is listed: EFS deletes one asynchronously, and its network interface
/// holds its subnet (and the file system) until it is gone.
async fn wait_deleted(rt: &Runtime, fs_id: &str, ids: &[String]) -> Result<()> {
    rt.env.waiting("mount-target", &ids.join(", "), "deleted (each takes its network interface with it)");
    let bound = Bound::new(WAIT, Duration::from_secs(5));
    poll_until("mount targets deleted", &bound, || async {
        let out = rt.efs.describe_mount_targets().file_system_id(fs_id).send().await;
        let listed = out.aws("DescribeMountTargets", fs_id)?.mount_targets.unwrap_or_default();
        let left = listed.iter().filter(|m| ids.iter().any(|d| d == m.mount_target_id())).count();
        Ok(if left == 0 { Poll::Ready(()) } else { Poll::Pending(format!("{left} deleting")) })
    })
    .await?;
    Ok(())
}

async fn list_mount_targets(rt: &Runtime, fs_id: &str) -> Result<Vec<aws_sdk_efs::types::MountTargetDescription>> {
    let out = rt.efs.describe_mount_targets().file_system_id(fs_id).send().await.aws("DescribeMountTargets", fs_id)?;
    Ok(out.mount_targets.unwrap_or_default())
}

/// One mount target per private subnet, with the EFS security group, each waited until available (also when
/// a cancelled run left it creating); a mount target in a subnet the config no longer has (a removed AZ) is
/// deleted.
pub async fn ensure_mount_targets(rt: &Runtime, fs_id: &str, net: &NetworkOut) -> Result<Vec<String>> {
    let targets: Vec<MountTarget<'_>> = net
        .private_subnets
        .iter()
        .enumerate()
        .map(|(i, subnet)| {
            let zone =
                net.availability_zones.get(i).and_then(|az| az.chars().last()).map_or(subnet.clone(), String::from);
            MountTarget {
                rt,
                file_system: fs_id.to_string(),
                subnet: subnet.clone(),
                name: format!("{}-mount-{zone}", rt.env.stack()),
                desired: MountTargetView { security_groups: vec![net.sg_efs.clone()] },
            }
        })
        .collect();
    let ids = futures::future::try_join_all(targets.iter().map(|t| reconcile::ensure(&rt.env, t))).await?;
    if !is_planned(fs_id) {
        let mut deleted = Vec::new();
        for stale in list_mount_targets(rt, fs_id).await? {
            if net.private_subnets.iter().any(|s| s == stale.subnet_id()) {
                continue;
            }
            deleted.push(stale.mount_target_id().to_string());
            let (id, name) = (stale.mount_target_id(), format!("{}-mount-{}", rt.env.stack(), stale.subnet_id()));
            rt.env
                .delete("mount-target", &name, id, &["MountTargetNotFound"], || async {
                    rt.efs
                        .delete_mount_target()
                        .mount_target_id(id)
                        .send()
                        .await
                        .map(|_| ())
                        .aws("DeleteMountTarget", id)
                })
                .await?;
        }
        // A mount target is deleted asynchronously and its network interface holds its subnet until it is
        // gone: the network's pruning of that subnet (next) would meet DependencyViolation.
        if !deleted.is_empty() && !rt.env.is_plan() {
            wait_deleted(rt, fs_id, &deleted).await?;
        }
    }
    Ok(ids.into_iter().map(Outcome::into_id).collect())
}

/// What CreateAccessPoint sets (tags aside): all of it fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPointView {
    pub uid: i64,
    pub gid: i64,
    pub root: String,
    pub owner_uid: Option<i64>,
    pub owner_gid: Option<i64>,
    pub permissions: Option<String>,
}

/// The content access point as a kind of the reconcile core, found by name (or client token) on the file
/// system. EFS changes nothing of an access point in place: a difference refuses with the remedy.
#[derive(Debug)]
pub struct AccessPoint<'a> {
    pub rt: &'a Runtime,
    pub fs_id: &'a str,
    pub name: String,
    pub desired: AccessPointView,
}

impl<'a> AccessPoint<'a> {
    pub fn new(rt: &'a Runtime, fs_id: &'a str) -> Self {
        let uid = GHOST_UID;
        let desired = AccessPointView {
            uid,
            gid: uid,
            root: ROOT.into(),
            owner_uid: Some(uid),
            owner_gid: Some(uid),
            permissions: Some("755".into()),
        };
        Self { rt, fs_id, name: rt.env.names.of("content-ap"), desired }
    }
}

impl Resource for AccessPoint<'_> {
    type View = AccessPointView;
    type Out = Pair;
    type Update = std::convert::Infallible;
    type Error = crate::Error;
    const KIND: &'static str = "access-point";

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &AccessPointView {
        &self.desired
    }
    fn planned(&self) -> Pair {
        Pair::new(planned_id("access-point"), "")
    }
    async fn find(&self) -> Result<Option<Live<AccessPointView, Pair>>> {
        if is_planned(self.fs_id) {
            return Ok(None);
        }
        let req = self.rt.efs.describe_access_points().file_system_id(self.fs_id);
        let all = req.send().await.aws("DescribeAccessPoints", self.fs_id)?.access_points.unwrap_or_default();
        let name = self.name.as_str();
        let Some(ap) = all.into_iter().find(|a| a.name() == Some(name) || a.client_token() == Some(name)) else {
            return Ok(None);
        };
        let root = ap.root_directory();
        let info = root.and_then(|r| r.creation_info());
        let view = AccessPointView {
            uid: ap.posix_user().map(|p| p.uid()).unwrap_or_default(),
            gid: ap.posix_user().map(|p| p.gid()).unwrap_or_default(),
            root: root.and_then(|r| r.path()).unwrap_or_default().into(),
            owner_uid: info.map(|c| c.owner_uid()),
            owner_gid: info.map(|c| c.owner_gid()),
            permissions: info.map(|c| c.permissions().to_string()),
        };
        let readiness = match ap.life_cycle_state() {
            Some(LifeCycleState::Available) | None => Readiness::Ready,
            Some(LifeCycleState::Creating) => Readiness::Pending("creating".into()),
            Some(other) => Readiness::Failed(other.as_str().into()),
        };
        let out = Pair::new(ap.access_point_id().unwrap_or_default(), ap.access_point_arn().unwrap_or_default());
        Ok(Some(Live { view, out, readiness }))
    }
    async fn create(&self, d: &AccessPointView) -> Result<Pair> {
        let mut root = RootDirectory::builder().path(&d.root);
        if let (Some(uid), Some(gid), Some(permissions)) = (d.owner_uid, d.owner_gid, &d.permissions) {
            let info = CreationInfo::builder().owner_uid(uid).owner_gid(gid).permissions(permissions);
            root = root.creation_info(info.build().expect("creation info"));
        }
        let out = self
            .rt
            .efs
            .create_access_point()
            .client_token(&self.name)
            .file_system_id(self.fs_id)
            .posix_user(PosixUser::builder().uid(d.uid).gid(d.gid).build().expect("uid and gid"))
            .root_directory(root.build())
            .set_tags(Some(tags(self.rt, "access-point", &self.name)))
            .send()
            .await
            .aws("CreateAccessPoint", &self.name)?;
        Ok(Pair::new(out.access_point_id().unwrap_or_default(), out.access_point_arn().unwrap_or_default()))
    }
    fn updates(&self, d: &AccessPointView, l: &AccessPointView) -> Result<Vec<std::convert::Infallible>> {
        let change = reconcile::changed(d, l);
        Err(CoreError::NeedsReplacement {
            resource: format!("access point {}", self.name),
            change,
            remedy: "delete the access point; the next deploy creates it as Ghost needs it".into(),
        }
        .into())
    }
    async fn update(&self, _: &Pair, u: std::convert::Infallible) -> Result<()> {
        match u {}
    }
    fn readiness(&self) -> Option<Bound> {
        Some(Bound::new(WAIT, Duration::from_secs(2)))
    }
}

pub async fn ensure_access_point(rt: &Runtime, fs_id: &str) -> Result<Outcome<Pair>> {
    reconcile::ensure(&rt.env, &AccessPoint::new(rt, fs_id)).await
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

/// The file system's resource policy as a kind of the reconcile core: PutFileSystemPolicy creates and
/// replaces it; compared in canonical form, sent as written.
#[derive(Debug)]
pub struct FileSystemPolicy<'a> {
    pub rt: &'a Runtime,
    pub fs_id: &'a str,
    pub document: PolicyDocument,
    pub desired: serde_json::Value,
}

impl<'a> FileSystemPolicy<'a> {
    pub fn new(rt: &'a Runtime, fs_id: &'a str, document: PolicyDocument) -> Self {
        let desired = document.canonical();
        Self { rt, fs_id, document, desired }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutPolicy;

impl Resource for FileSystemPolicy<'_> {
    type View = serde_json::Value;
    type Out = String;
    type Update = PutPolicy;
    type Error = crate::Error;
    const KIND: &'static str = "file-system-policy";

    fn name(&self) -> String {
        self.rt.env.names.of("content-policy")
    }
    fn desired(&self) -> &serde_json::Value {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id("file-system-policy")
    }
    async fn find(&self) -> Result<Option<Live<serde_json::Value, String>>> {
        if is_planned(self.fs_id) {
            return Ok(None);
        }
        let got = self.rt.efs.describe_file_system_policy().file_system_id(self.fs_id).send().await;
        let absent = DescribeFileSystemPolicyError::is_policy_not_found;
        let found = got.absent_when(absent, "DescribeFileSystemPolicy", self.fs_id)?.and_then(|p| p.policy);
        Ok(found.map(|p| Live::ready(ghost_aws::policy::canonical(&p), self.fs_id.to_string())))
    }
    async fn create(&self, _: &serde_json::Value) -> Result<String> {
        self.update(&self.fs_id.to_string(), PutPolicy).await?;
        Ok(self.fs_id.to_string())
    }
    fn updates(&self, d: &serde_json::Value, l: &serde_json::Value) -> Result<Vec<PutPolicy>> {
        Ok(reconcile::when([(d != l, PutPolicy)]))
    }
    async fn update(&self, _: &String, _: PutPolicy) -> Result<()> {
        let req = self.rt.efs.put_file_system_policy().file_system_id(self.fs_id).policy(self.document.to_json());
        retry_iam_propagation(&self.rt.env, "file-system-policy", self.fs_id, || async {
            req.clone().send().await.aws("PutFileSystemPolicy", self.fs_id)
        })
        .await?;
        Ok(())
    }
}

/// The recovery points AWS Backup holds of the file system (EFS automatic backups: daily, kept 35 days, in
/// aws/efs/automatic-backup-vault, and left there, billed, when the file system is deleted; EFS User Guide,
/// "Backing up EFS file systems"), as (ARN, vault); one already deleting is not listed again.
pub async fn recovery_points(rt: &Runtime, fs_arn: &str) -> Result<Vec<(String, String)>> {
    use aws_sdk_backup::types::RecoveryPointStatus;
    let points: Vec<_> = rt
        .backup
        .list_recovery_points_by_resource()
        .resource_arn(fs_arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListRecoveryPointsByResource", fs_arn)?;
    Ok(points
        .into_iter()
        .filter(|p| p.status() != Some(&RecoveryPointStatus::Deleting))
        .filter_map(|p| Some((p.recovery_point_arn?, p.backup_vault_name?)))
        .collect())
}

/// A recovery point's journal name: the id its ARN ends with.
fn recovery_point_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

pub async fn ensure_policy(rt: &Runtime, fs: &EfsOut, task_role_arn: &str) -> Result<Outcome<String>> {
    let policy = FileSystemPolicy::new(rt, &fs.file_system_id, file_system_policy(fs, task_role_arn));
    reconcile::ensure(&rt.env, &policy).await
}

/// Mount targets always go (the network cannot be deleted while they exist). The file system and its access
/// points go only with `DataPolicy::Delete`; otherwise the journal says it was kept, with its id.
pub async fn delete_file_system(rt: &Runtime, _spec: &RuntimeSpec, data: DataPolicy) -> Result<()> {
    let Some(fs) = find_file_system(rt).await? else { return Ok(()) };
    let id = fs.file_system_id().to_string();
    let mts = rt.efs.describe_mount_targets().file_system_id(&id).send().await.aws("DescribeMountTargets", &id)?;
    // One already `deleting` (a destroy killed during this wait) is only waited for: AWS has been seen to refuse a
    // second delete mid-way (IncorrectMountTargetState, hashicorp/terraform#12677).
    for mt in mts.mount_targets().iter().filter(|m| m.life_cycle_state() != &LifeCycleState::Deleting) {
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
        let ids: Vec<String> = mts.mount_targets().iter().map(|m| m.mount_target_id().to_string()).collect();
        wait_deleted(rt, &id, &ids).await?;
    }
    let name = rt.env.names.of("content");
    let aps = rt.efs.describe_access_points().file_system_id(&id).send().await.aws("DescribeAccessPoints", &id)?;
    let points = recovery_points(rt, fs.file_system_arn().unwrap_or_default()).await?;
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
        for (arn, vault) in &points {
            let why = format!("automatic backup of the retained content, in {vault} until it expires");
            rt.env.note("recovery-point", recovery_point_name(arn), Action::Keep, arn, &why);
        }
        return Ok(());
    }
    // Before the file system: a run killed after its delete would no longer find what they belong to.
    for (arn, vault) in &points {
        rt.env
            .delete("recovery-point", recovery_point_name(arn), arn, &["ResourceNotFoundException"], || async {
                let out = rt.backup.delete_recovery_point().backup_vault_name(vault).recovery_point_arn(arn).send();
                match out.await.aws("DeleteRecoveryPoint", arn) {
                    Err(e) if e.is_code(&["AccessDeniedException"]) => Err(ghost_core::Error::Conflict {
                        resource: format!("recovery point {arn}"),
                        message: format!(
                            "{e}: the access policy of backup vault {vault} may deny backup:DeleteRecoveryPoint \
                             (`aws backup get-backup-vault-access-policy --backup-vault-name {vault}`); lift that \
                             deny and run destroy --delete-data again, or let the point expire"
                        ),
                    }),
                    other => other.map(|_| ()),
                }
            })
            .await?;
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
