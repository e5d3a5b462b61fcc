//! The production database (`database = "mysql"`): RDS MySQL 8.0 in the private subnets with the database
//! security group, encrypted, Multi-AZ, deletion protection on, and the master password managed by RDS in
//! Secrets Manager — never generated into a file, a log or an environment variable; the task reads it through
//! the task definition's `secrets`.

use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
use aws_sdk_rds::operation::describe_db_subnet_groups::DescribeDBSubnetGroupsError;
use ghost_core::AbsentExt;
use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, Tag};
use ghost_core::config::Database;
use ghost_core::error::gone_if;
use ghost_core::reconcile::{self, Delete, Live, Readiness, Resource};
use ghost_core::wait::{Bound, Poll, poll_until};
use ghost_core::{Action, AwsResultExt, Change, Error as CoreError, is_planned, planned_id};
use ghost_net::NetworkOut;
use serde::{Deserialize, Serialize};

use crate::spec::RuntimeSpec;
use ghost_core::DataPolicy;

use crate::{Result, Runtime};

pub const ENGINE_VERSION: &str = "8.0";
pub const USER: &str = "ghost";
pub const DATABASE: &str = "ghost";
const STORAGE_GB: i32 = 20;
const BACKUP_DAYS: i32 = 7;
/// Multi-AZ creation takes 10-20 minutes on AWS.
const WAIT: Duration = Duration::from_secs(40 * 60);
/// The SDK's RDS waiter polls every 30 s: creation and deletion take minutes, not seconds.
const WAIT_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbOut {
    pub instance: String,
    pub endpoint: String,
    pub port: i32,
    /// Secrets Manager secret holding `username` and `password`, managed (and rotated) by RDS.
    pub secret_arn: String,
    pub database: String,
    pub user: String,
}

impl std::fmt::Display for DbOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.instance)
    }
}

fn tags(rt: &Runtime, component: &str, name: &str) -> Vec<Tag> {
    rt.env.names.tags(component, name).into_iter().map(|t| Tag::builder().key(t.key).value(t.value).build()).collect()
}

pub async fn find_instance(rt: &Runtime, id: &str) -> Result<Option<DbInstance>> {
    let got = rt.rds.describe_db_instances().db_instance_identifier(id).send().await;
    let absent = DescribeDBInstancesError::is_db_instance_not_found_fault;
    Ok(got
        .absent_when(absent, "DescribeDBInstances", id)?
        .and_then(|o| o.db_instances.and_then(|d| d.into_iter().next())))
}

/// Polls until the instance is gone (DBInstanceNotFound): `deleting` lasts minutes, longer with a final snapshot.
async fn wait_deleted(rt: &Runtime, name: &str) -> ghost_core::Result<()> {
    poll_until(&format!("database {name} deleted"), &Bound::new(WAIT, WAIT_INTERVAL), || async {
        let got = rt.rds.describe_db_instances().db_instance_identifier(name).send().await;
        let found =
            got.absent_when(DescribeDBInstancesError::is_db_instance_not_found_fault, "DescribeDBInstances", name)?;
        Ok(match found.and_then(|o| o.db_instances.and_then(|d| d.into_iter().next())) {
            None => Poll::Ready(()),
            Some(db) => Poll::Pending(db.db_instance_status().unwrap_or("deleting").to_string()),
        })
    })
    .await
}

/// The DB subnet group: the private subnets (sorted).
#[derive(Debug)]
pub struct DbSubnetGroup<'a> {
    pub rt: &'a Runtime,
    pub name: String,
    pub desired: Vec<String>,
}

impl Resource for DbSubnetGroup<'_> {
    type View = Vec<String>;
    type Out = String;
    type Update = Vec<String>;
    type Error = crate::Error;
    const KIND: &'static str = "db-subnet-group";

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &Vec<String> {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.clone()
    }
    async fn find(&self) -> Result<Option<Live<Vec<String>, String>>> {
        let got = self.rt.rds.describe_db_subnet_groups().db_subnet_group_name(&self.name).send().await;
        let absent = DescribeDBSubnetGroupsError::is_db_subnet_group_not_found_fault;
        let found = got
            .absent_when(absent, "DescribeDBSubnetGroups", &self.name)?
            .and_then(|o| o.db_subnet_groups.and_then(|g| g.into_iter().next()));
        Ok(found.map(|g| {
            let mut have: Vec<String> =
                g.subnets().iter().filter_map(|s| s.subnet_identifier().map(str::to_string)).collect();
            have.sort();
            Live::ready(have, self.name.clone())
        }))
    }
    async fn create(&self, subnets: &Vec<String>) -> Result<String> {
        self.rt
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(&self.name)
            .db_subnet_group_description(format!("Ghost stack {}: private subnets", self.rt.env.stack()))
            .set_subnet_ids(Some(subnets.clone()))
            .set_tags(Some(tags(self.rt, Self::KIND, &self.name)))
            .send()
            .await
            .aws("CreateDBSubnetGroup", &self.name)?;
        Ok(self.name.clone())
    }
    fn updates(&self, desired: &Vec<String>, live: &Vec<String>) -> Result<Vec<Vec<String>>> {
        Ok(if desired == live { vec![] } else { vec![desired.clone()] })
    }
    async fn update(&self, _: &String, subnets: Vec<String>) -> Result<()> {
        self.rt
            .rds
            .modify_db_subnet_group()
            .db_subnet_group_name(&self.name)
            .set_subnet_ids(Some(subnets))
            .send()
            .await
            .aws("ModifyDBSubnetGroup", &self.name)?;
        Ok(())
    }
}

impl Delete for DbSubnetGroup<'_> {
    async fn delete(&self, _: &String) -> Result<()> {
        let res = self.rt.rds.delete_db_subnet_group().db_subnet_group_name(&self.name).send().await;
        Ok(gone_if(res.map(|_| ()).aws("DeleteDBSubnetGroup", &self.name), &["DBSubnetGroupNotFoundFault"])?)
    }
}

/// Everything CreateDBInstance sets, as DescribeDBInstances reads it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbView {
    pub engine: String,
    /// `8.0`: AWS reports the minor version it chose (`8.0.40`); the view keeps what we ask for.
    pub engine_version: String,
    pub instance_class: String,
    pub storage_gb: i32,
    pub storage_type: String,
    pub encrypted: bool,
    pub multi_az: bool,
    pub deletion_protection: bool,
    pub publicly_accessible: bool,
    /// RDS manages the master password in Secrets Manager.
    pub managed_password: bool,
    pub master_username: String,
    pub db_name: String,
    pub security_groups: Vec<String>,
    pub subnet_group: String,
    pub backup_days: i32,
    pub copy_tags_to_snapshot: bool,
}

impl DbView {
    pub fn desired(spec: &RuntimeSpec, sg: &str, subnet_group: &str) -> Self {
        Self {
            engine: "mysql".into(),
            engine_version: ENGINE_VERSION.into(),
            instance_class: spec.db_instance_class.clone(),
            storage_gb: STORAGE_GB,
            storage_type: "gp3".into(),
            encrypted: true,
            multi_az: true,
            deletion_protection: true,
            publicly_accessible: false,
            managed_password: true,
            master_username: USER.into(),
            db_name: DATABASE.into(),
            security_groups: vec![sg.to_string()],
            subnet_group: subnet_group.to_string(),
            backup_days: BACKUP_DAYS,
            copy_tags_to_snapshot: true,
        }
    }

    pub fn live(db: &DbInstance) -> Self {
        let version = db.engine_version().unwrap_or_default();
        let mut groups: Vec<String> =
            db.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id().map(str::to_string)).collect();
        groups.sort();
        Self {
            engine: db.engine().unwrap_or_default().into(),
            engine_version: version.split('.').take(2).collect::<Vec<_>>().join("."),
            instance_class: db.db_instance_class().unwrap_or_default().into(),
            storage_gb: db.allocated_storage().unwrap_or_default(),
            storage_type: db.storage_type().unwrap_or_default().into(),
            encrypted: db.storage_encrypted().unwrap_or(false),
            multi_az: db.multi_az().unwrap_or(false),
            deletion_protection: db.deletion_protection().unwrap_or(false),
            publicly_accessible: db.publicly_accessible().unwrap_or(false),
            managed_password: db.master_user_secret().is_some(),
            master_username: db.master_username().unwrap_or_default().into(),
            db_name: db.db_name().unwrap_or_default().into(),
            security_groups: groups,
            subnet_group: db.db_subnet_group().and_then(|g| g.db_subnet_group_name()).unwrap_or_default().into(),
            backup_days: db.backup_retention_period().unwrap_or_default(),
            copy_tags_to_snapshot: db.copy_tags_to_snapshot().unwrap_or(false),
        }
    }
}

/// Where an instance is in its lifecycle (DescribeDBInstances `DBInstanceStatus`, RDS User Guide "Viewing
/// Amazon RDS DB instance status"): usable once it has an endpoint and is not being created or deleted.
fn readiness(db: &DbInstance) -> Readiness {
    let status = db.db_instance_status().unwrap_or_default();
    match status {
        "creating" => Readiness::Pending(status.into()),
        "failed" | "deleting" | "restore-error" | "inaccessible-encryption-credentials" => {
            Readiness::Failed(status.into())
        }
        s if s.starts_with("incompatible-") => Readiness::Failed(status.into()),
        _ if db.endpoint().and_then(|e| e.address()).is_none() => {
            Readiness::Pending(format!("{status} (no endpoint yet)"))
        }
        _ => Readiness::Ready,
    }
}

/// The database instance as a reconciled resource.
#[derive(Debug)]
pub struct DbInstanceResource<'a> {
    pub rt: &'a Runtime,
    pub name: String,
    pub desired: DbView,
    /// The security group exists only in a plan: the instance cannot exist yet.
    pub planned_inputs: bool,
}

/// One ModifyDBInstance call with every part that differs (applied immediately: a deploy means now).
#[derive(Debug, Clone, PartialEq)]
pub struct DbUpdate(pub Vec<DbPart>);

#[derive(Debug, Clone, PartialEq)]
pub enum DbPart {
    EngineVersion(String),
    InstanceClass(String),
    StorageGb(i32),
    StorageType(String),
    MultiAz(bool),
    DeletionProtection(bool),
    PubliclyAccessible(bool),
    ManagedPassword,
    SecurityGroups(Vec<String>),
    BackupDays(i32),
    CopyTagsToSnapshot(bool),
}

impl Resource for DbInstanceResource<'_> {
    type View = DbView;
    type Out = DbOut;
    type Update = DbUpdate;
    type Error = crate::Error;
    const KIND: &'static str = "db-instance";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn desired(&self) -> &DbView {
        &self.desired
    }

    fn planned(&self) -> DbOut {
        let id = planned_id(Self::KIND);
        DbOut {
            instance: id.clone(),
            endpoint: id,
            port: 3306,
            secret_arn: planned_id("db-secret"),
            database: DATABASE.into(),
            user: USER.into(),
        }
    }

    async fn find(&self) -> Result<Option<Live<DbView, DbOut>>> {
        if self.planned_inputs {
            return Ok(None);
        }
        Ok(find_instance(self.rt, &self.name).await?.map(|db| Live {
            view: DbView::live(&db),
            readiness: readiness(&db),
            out: DbOut {
                instance: self.name.clone(),
                endpoint: db.endpoint().and_then(|e| e.address()).unwrap_or_default().to_string(),
                port: db.endpoint().and_then(|e| e.port()).unwrap_or(3306),
                secret_arn: db.master_user_secret().and_then(|s| s.secret_arn()).unwrap_or_default().to_string(),
                database: DATABASE.into(),
                user: USER.into(),
            },
        }))
    }

    async fn create(&self, d: &DbView) -> Result<DbOut> {
        self.rt
            .rds
            .create_db_instance()
            .db_instance_identifier(&self.name)
            .engine(&d.engine)
            .engine_version(&d.engine_version)
            .db_instance_class(&d.instance_class)
            .allocated_storage(d.storage_gb)
            .storage_type(&d.storage_type)
            .storage_encrypted(d.encrypted)
            .multi_az(d.multi_az)
            .deletion_protection(d.deletion_protection)
            .publicly_accessible(d.publicly_accessible)
            .manage_master_user_password(d.managed_password)
            .master_username(&d.master_username)
            .db_name(&d.db_name)
            .set_vpc_security_group_ids(Some(d.security_groups.clone()))
            .db_subnet_group_name(&d.subnet_group)
            .backup_retention_period(d.backup_days)
            .copy_tags_to_snapshot(d.copy_tags_to_snapshot)
            .set_tags(Some(tags(self.rt, Self::KIND, &self.name)))
            .send()
            .await
            .aws("CreateDBInstance", &self.name)?;
        // The endpoint exists once the instance is available: the core's wait reads it back.
        Ok(self.planned())
    }

    fn readiness(&self) -> Option<Bound> {
        Some(Bound::new(WAIT, WAIT_INTERVAL))
    }

    fn updates(&self, d: &DbView, l: &DbView) -> Result<Vec<DbUpdate>> {
        let refuse = |field: &str, from: String, to: String, remedy: &str| -> crate::Error {
            CoreError::NeedsReplacement {
                resource: format!("database {}", self.name),
                change: Change::new(field, from, to),
                remedy: remedy.into(),
            }
            .into()
        };
        let restore = "restore a snapshot into a new instance with it, or destroy --delete-data and deploy";
        if d.encrypted != l.encrypted {
            return Err(refuse("encrypted", l.encrypted.to_string(), d.encrypted.to_string(), restore));
        }
        for (field, want, have) in [
            ("engine", &d.engine, &l.engine),
            ("master_username", &d.master_username, &l.master_username),
            ("db_name", &d.db_name, &l.db_name),
            ("subnet_group", &d.subnet_group, &l.subnet_group),
        ] {
            if want != have {
                return Err(refuse(field, have.clone(), want.clone(), restore));
            }
        }
        if d.storage_gb < l.storage_gb {
            // ModifyDBInstance: "you can't reduce the amount of allocated storage".
            return Err(refuse("storage_gb", l.storage_gb.to_string(), d.storage_gb.to_string(), restore));
        }
        if version_key(&d.engine_version) < version_key(&l.engine_version) {
            return Err(refuse(
                "engine_version",
                l.engine_version.clone(),
                d.engine_version.clone(),
                "RDS does not downgrade an engine: restore a snapshot taken before the upgrade into a new instance",
            ));
        }
        let mut p = Vec::new();
        if d.engine_version != l.engine_version {
            p.push(DbPart::EngineVersion(d.engine_version.clone()));
        }
        if d.instance_class != l.instance_class {
            p.push(DbPart::InstanceClass(d.instance_class.clone()));
        }
        if d.storage_gb != l.storage_gb {
            p.push(DbPart::StorageGb(d.storage_gb));
        }
        if d.storage_type != l.storage_type {
            p.push(DbPart::StorageType(d.storage_type.clone()));
        }
        if d.multi_az != l.multi_az {
            p.push(DbPart::MultiAz(d.multi_az));
        }
        if d.deletion_protection != l.deletion_protection {
            p.push(DbPart::DeletionProtection(d.deletion_protection));
        }
        if d.publicly_accessible != l.publicly_accessible {
            p.push(DbPart::PubliclyAccessible(d.publicly_accessible));
        }
        if d.managed_password != l.managed_password {
            if !d.managed_password {
                return Err(refuse(
                    "managed_password",
                    "true".into(),
                    "false".into(),
                    "the master password stays managed by RDS in Secrets Manager",
                ));
            }
            p.push(DbPart::ManagedPassword);
        }
        if d.security_groups != l.security_groups {
            p.push(DbPart::SecurityGroups(d.security_groups.clone()));
        }
        if d.backup_days != l.backup_days {
            p.push(DbPart::BackupDays(d.backup_days));
        }
        if d.copy_tags_to_snapshot != l.copy_tags_to_snapshot {
            p.push(DbPart::CopyTagsToSnapshot(d.copy_tags_to_snapshot));
        }
        Ok(if p.is_empty() { vec![] } else { vec![DbUpdate(p)] })
    }

    async fn update(&self, _: &DbOut, DbUpdate(parts): DbUpdate) -> Result<()> {
        let mut req = self.rt.rds.modify_db_instance().db_instance_identifier(&self.name).apply_immediately(true);
        for part in parts {
            req = match part {
                DbPart::EngineVersion(v) => req.engine_version(v).allow_major_version_upgrade(true),
                DbPart::InstanceClass(c) => req.db_instance_class(c),
                DbPart::StorageGb(g) => req.allocated_storage(g),
                DbPart::StorageType(t) => req.storage_type(t),
                DbPart::MultiAz(m) => req.multi_az(m),
                DbPart::DeletionProtection(d) => req.deletion_protection(d),
                DbPart::PubliclyAccessible(p) => req.publicly_accessible(p),
                DbPart::ManagedPassword => req.manage_master_user_password(true),
                DbPart::SecurityGroups(g) => req.set_vpc_security_group_ids(Some(g)),
                DbPart::BackupDays(d) => req.backup_retention_period(d),
                DbPart::CopyTagsToSnapshot(c) => req.copy_tags_to_snapshot(c),
            };
        }
        req.send().await.aws("ModifyDBInstance", &self.name)?;
        Ok(())
    }
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The database the config asks for (`None` for sqlite). A stack that had one and now asks for sqlite gets a
/// planned delete of the instance with a final snapshot kept, after its service has moved off it (see
/// [`prune_database`]).
pub async fn ensure_database(rt: &Runtime, spec: &RuntimeSpec, net: &NetworkOut) -> Result<Option<DbOut>> {
    if spec.database != Database::Mysql {
        return Ok(None);
    }
    let Some(sg) = net.sg_db.clone() else {
        return Err(CoreError::Invariant {
            resource: spec.names.of("db"),
            message: "database = mysql but the network made no database security group".into(),
        }
        .into());
    };
    let name = spec.names.of("db");
    let mut private = net.private_subnets.clone();
    private.sort();
    reconcile::ensure(&rt.env, &DbSubnetGroup { rt, name: name.clone(), desired: private }).await?;
    let instance =
        DbInstanceResource { rt, desired: DbView::desired(spec, &sg, &name), planned_inputs: is_planned(&sg), name };
    Ok(Some(reconcile::ensure(&rt.env, &instance).await?.into_id()))
}

/// With database = "sqlite": a database this stack made earlier is deleted, a final snapshot kept (said in the
/// plan and the journal), and its subnet group after it. Runs after the service has moved to the task
/// definition without the database.
pub async fn prune_database(rt: &Runtime, spec: &RuntimeSpec) -> Result<()> {
    if spec.database == Database::Mysql {
        return Ok(());
    }
    let name = spec.names.of("db");
    if find_instance(rt, &name).await?.is_some() {
        // The config no longer asks for it: the same delete as destroy's, data kept as a final snapshot.
        delete_database(rt, spec, DataPolicy::Keep).await?;
    } else {
        reconcile::prune(&rt.env, &DbSubnetGroup { rt, name: name.clone(), desired: vec![] }).await?;
    }
    Ok(())
}

/// Keep: deletion protection lifted, then deleted with a final snapshot (reported as kept). Delete: no snapshot,
/// and the final snapshots of earlier destroys go too.
pub async fn delete_database(rt: &Runtime, spec: &RuntimeSpec, data: DataPolicy) -> Result<()> {
    let name = spec.names.of("db");
    if let Some(db) = find_instance(rt, &name).await? {
        let deleting = db.db_instance_status() == Some("deleting");
        let snapshot = format!(
            "{name}-final-{}",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
        );
        if !deleting {
            rt.env
                .delete("db-instance", &name, &name, &["DBInstanceNotFound"], || async {
                    if db.deletion_protection().unwrap_or(false) {
                        rt.rds
                            .modify_db_instance()
                            .db_instance_identifier(&name)
                            .deletion_protection(false)
                            .apply_immediately(true)
                            .send()
                            .await
                            .aws("ModifyDBInstance", &name)?;
                    }
                    let req = rt.rds.delete_db_instance().db_instance_identifier(&name);
                    let req = match data {
                        DataPolicy::Keep => req.final_db_snapshot_identifier(&snapshot),
                        DataPolicy::Delete => req.skip_final_snapshot(true),
                    };
                    req.send().await.aws("DeleteDBInstance", &name)?;
                    wait_deleted(rt, &name).await
                })
                .await?;
            if data == DataPolicy::Keep {
                rt.env.note("db-snapshot", &snapshot, Action::Keep, &snapshot, "final snapshot of the database");
            }
        } else if !rt.env.is_plan() {
            // A run killed during this wait left it deleting: wait again, or the subnet group's delete below
            // meets InvalidDBSubnetGroupStateFault (the instance still holds it until it is gone).
            rt.env.waiting("db-instance", &name, "deleted");
            wait_deleted(rt, &name).await?;
        }
    }
    if data == DataPolicy::Delete {
        // The final snapshots earlier destroys kept are the database's data too: --delete-data removes them.
        let snapshots = rt
            .rds
            .describe_db_snapshots()
            .db_instance_identifier(&name)
            .snapshot_type("manual")
            .send()
            .await
            .aws("DescribeDBSnapshots", &name)?;
        let prefix = format!("{name}-final-");
        for snap in snapshots.db_snapshots() {
            let id = snap.db_snapshot_identifier().unwrap_or_default();
            if !id.starts_with(&prefix) {
                continue;
            }
            rt.env
                .delete("db-snapshot", id, id, &["DBSnapshotNotFound"], || async {
                    rt.rds
                        .delete_db_snapshot()
                        .db_snapshot_identifier(id)
                        .send()
                        .await
                        .map(|_| ())
                        .aws("DeleteDBSnapshot", id)
                })
                .await?;
        }
    }
    let got = rt.rds.describe_db_subnet_groups().db_subnet_group_name(&name).send().await;
    let absent = DescribeDBSubnetGroupsError::is_db_subnet_group_not_found_fault;
    if got.absent_when(absent, "DescribeDBSubnetGroups", &name)?.is_some() {
        rt.env
            .delete("db-subnet-group", &name, &name, &["DBSubnetGroupNotFoundFault"], || async {
                rt.rds
                    .delete_db_subnet_group()
                    .db_subnet_group_name(&name)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeleteDBSubnetGroup", &name)
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_rds::types::Endpoint;

    use super::*;

    fn sample() -> DbView {
        let cfg =
            ghost_core::Config::parse(include_str!("../../../fixtures/samples/mysql-public.toml"), "mysql").unwrap();
        DbView::desired(&RuntimeSpec::from_config(&cfg), "sg-db", "ghost-db")
    }

    #[test]
    fn every_database_field_is_compared() {
        let rt = crate::mock_tests::offline();
        let db = DbInstanceResource { rt: &rt, name: "ghost-db".into(), desired: sample(), planned_inputs: false };
        reconcile::testing::assert_every_field_compared(&db, &[sample()]);
    }

    #[test]
    fn a_new_instance_class_is_one_modify_and_a_smaller_disk_a_refusal() {
        let rt = crate::mock_tests::offline();
        let db = DbInstanceResource { rt: &rt, name: "ghost-db".into(), desired: sample(), planned_inputs: false };
        let mut want = sample();
        want.instance_class = "db.m7g.large".into();
        let u = db.updates(&want, &sample()).unwrap();
        assert_eq!(u, [DbUpdate(vec![DbPart::InstanceClass("db.m7g.large".into())])]);
        let mut want = sample();
        want.storage_gb -= 1;
        assert!(db.updates(&want, &sample()).unwrap_err().to_string().contains("restore a snapshot"));
    }

    #[test]
    fn an_instance_is_ready_once_it_has_an_endpoint_and_is_not_being_created() {
        let db = |status: &str, endpoint: bool| {
            let b = DbInstance::builder().db_instance_status(status);
            if endpoint { b.endpoint(Endpoint::builder().address("db.local").port(3306).build()) } else { b }.build()
        };
        assert_eq!(readiness(&db("creating", false)), Readiness::Pending("creating".into()));
        assert_eq!(readiness(&db("backing-up", false)), Readiness::Pending("backing-up (no endpoint yet)".into()));
        assert_eq!(readiness(&db("available", true)), Readiness::Ready);
        assert_eq!(readiness(&db("modifying", true)), Readiness::Ready);
        assert_eq!(
            readiness(&db("incompatible-parameters", true)),
            Readiness::Failed("incompatible-parameters".into())
        );
    }

    #[test]
    fn the_live_view_keeps_the_major_version_asked_for() {
        let db = DbInstance::builder().engine_version("8.0.40").build();
        assert_eq!(DbView::live(&db).engine_version, "8.0");
    }
}
