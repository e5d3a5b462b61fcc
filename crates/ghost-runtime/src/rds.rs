//! The production database (`database = "mysql"`): RDS MySQL 8.0 in the private subnets with the database
//! security group, encrypted, Multi-AZ, deletion protection on, and the master password managed by RDS in
//! Secrets Manager — never generated into a file, a log or an environment variable; the task reads it through
//! the task definition's `secrets`.

use std::time::Duration;

use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::types::{DbInstance, Tag};
use ghost_core::config::Database;
use ghost_core::error::{absent_if, waiter_error};
use ghost_core::{Action, AwsResultExt, Change, Error as CoreError, Outcome, is_planned, planned_id};
use ghost_net::NetworkOut;
use serde::Serialize;

use crate::spec::RuntimeSpec;
use crate::{DataPolicy, Pair, Result, Runtime};

pub const ENGINE_VERSION: &str = "8.0";
pub const USER: &str = "ghost";
pub const DATABASE: &str = "ghost";
const STORAGE_GB: i32 = 20;
const BACKUP_DAYS: i32 = 7;
/// Multi-AZ creation takes 10-20 minutes on AWS.
const WAIT: Duration = Duration::from_secs(40 * 60);

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

fn tags(rt: &Runtime, component: &str, name: &str) -> Vec<Tag> {
    rt.env.names.tags(component, name).into_iter().map(|t| Tag::builder().key(t.key).value(t.value).build()).collect()
}

pub async fn find_instance(rt: &Runtime, id: &str) -> Result<Option<DbInstance>> {
    let got = rt.rds.describe_db_instances().db_instance_identifier(id).send().await.aws("DescribeDBInstances", id);
    Ok(absent_if(got, &["DBInstanceNotFound"])?.and_then(|o| o.db_instances.and_then(|d| d.into_iter().next())))
}

pub fn diff_instance(db: &DbInstance, sg: &str) -> Result<Vec<Change>> {
    let id = db.db_instance_identifier().unwrap_or_default();
    if !db.storage_encrypted().unwrap_or(false) {
        return Err(CoreError::NeedsReplacement {
            resource: format!("database {id}"),
            change: Change::new("storage_encrypted", false, true),
            remedy: "restore an encrypted copy of a snapshot, or destroy --delete-data and deploy".into(),
        }
        .into());
    }
    let mut c = Vec::new();
    if !db.multi_az().unwrap_or(false) {
        c.push(Change::new("multi_az", false, true));
    }
    if !db.deletion_protection().unwrap_or(false) {
        c.push(Change::new("deletion_protection", false, true));
    }
    if db.publicly_accessible().unwrap_or(false) {
        c.push(Change::new("publicly_accessible", true, false));
    }
    let sgs: Vec<&str> = db.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id()).collect();
    if sgs != [sg] {
        c.push(Change::new("security_groups", sgs.join(","), sg));
    }
    Ok(c)
}

/// `None` for sqlite.
pub async fn ensure_database(rt: &Runtime, spec: &RuntimeSpec, net: &NetworkOut) -> Result<Option<DbOut>> {
    if spec.database != Database::Mysql {
        return Ok(None);
    }
    let Some(sg) = net.sg_db.clone() else {
        return Err(CoreError::Conflict {
            resource: spec.names.of("db"),
            message: "no database security group".into(),
        }
        .into());
    };
    let name = spec.names.of("db");
    rt.env
        .track("db-subnet-group", &name, async {
            let got = rt.rds.describe_db_subnet_groups().db_subnet_group_name(&name).send().await;
            let found = absent_if(got.aws("DescribeDBSubnetGroups", &name), &["DBSubnetGroupNotFoundFault"])?
                .and_then(|o| o.db_subnet_groups.and_then(|g| g.into_iter().next()));
            let mut want = net.private_subnets.clone();
            want.sort();
            let Some(g) = found else {
                if !rt.env.is_plan() {
                    rt.rds
                        .create_db_subnet_group()
                        .db_subnet_group_name(&name)
                        .db_subnet_group_description(format!("Ghost stack {}: private subnets", rt.env.stack()))
                        .set_subnet_ids(Some(want))
                        .set_tags(Some(tags(rt, "db-subnet-group", &name)))
                        .send()
                        .await
                        .aws("CreateDBSubnetGroup", &name)?;
                }
                return Ok::<_, crate::Error>(Outcome::Created(name.clone()));
            };
            let mut have: Vec<String> =
                g.subnets().iter().filter_map(|s| s.subnet_identifier().map(str::to_string)).collect();
            have.sort();
            if have == want {
                return Ok(Outcome::Unchanged(name.clone()));
            }
            if !rt.env.is_plan() {
                rt.rds
                    .modify_db_subnet_group()
                    .db_subnet_group_name(&name)
                    .set_subnet_ids(Some(want.clone()))
                    .send()
                    .await
                    .aws("ModifyDBSubnetGroup", &name)?;
            }
            Ok(Outcome::Updated(name.clone(), vec![Change::new("subnets", have.join(","), want.join(","))]))
        })
        .await?;

    let db = rt
        .env
        .track("db-instance", &name, async {
            let Some(db) = find_instance(rt, &name).await? else {
                if rt.env.is_plan() || is_planned(&sg) {
                    return Ok(Outcome::Created(Pair::new(planned_id("db-instance"), "")));
                }
                rt.rds
                    .create_db_instance()
                    .db_instance_identifier(&name)
                    .engine("mysql")
                    .engine_version(ENGINE_VERSION)
                    .db_instance_class(&spec.db_instance_class)
                    .allocated_storage(STORAGE_GB)
                    .storage_type("gp3")
                    .storage_encrypted(true)
                    .multi_az(true)
                    .deletion_protection(true)
                    .publicly_accessible(false)
                    .manage_master_user_password(true)
                    .master_username(USER)
                    .db_name(DATABASE)
                    .vpc_security_group_ids(&sg)
                    .db_subnet_group_name(&name)
                    .backup_retention_period(BACKUP_DAYS)
                    .copy_tags_to_snapshot(true)
                    .set_tags(Some(tags(rt, "db-instance", &name)))
                    .send()
                    .await
                    .aws("CreateDBInstance", &name)?;
                rt.env.waiting("db-instance", &name, "available (Multi-AZ: 10-20 minutes on AWS)");
                rt.rds
                    .wait_until_db_instance_available()
                    .db_instance_identifier(&name)
                    .wait(WAIT)
                    .await
                    .map_err(|e| waiter_error(&format!("database {name} available"), e))?;
                return Ok::<_, crate::Error>(Outcome::Created(Pair::new(name.clone(), "")));
            };
            let changes = diff_instance(&db, &sg)?;
            if !changes.is_empty() && !rt.env.is_plan() {
                rt.rds
                    .modify_db_instance()
                    .db_instance_identifier(&name)
                    .multi_az(true)
                    .deletion_protection(true)
                    .publicly_accessible(false)
                    .vpc_security_group_ids(&sg)
                    .apply_immediately(true)
                    .send()
                    .await
                    .aws("ModifyDBInstance", &name)?;
            }
            Ok(Outcome::from_changes(Pair::new(name.clone(), ""), changes))
        })
        .await?;
    let id = db.into_id().id;
    if is_planned(&id) {
        return Ok(Some(DbOut {
            instance: id.clone(),
            endpoint: id.clone(),
            port: 3306,
            secret_arn: planned_id("db-secret"),
            database: DATABASE.into(),
            user: USER.into(),
        }));
    }
    let db = find_instance(rt, &name)
        .await?
        .ok_or_else(|| CoreError::Conflict { resource: name.clone(), message: "created but not found".into() })?;
    Ok(Some(DbOut {
        instance: name.clone(),
        endpoint: db.endpoint().and_then(|e| e.address()).unwrap_or_default().to_string(),
        port: db.endpoint().and_then(|e| e.port()).unwrap_or(3306),
        secret_arn: db.master_user_secret().and_then(|s| s.secret_arn()).unwrap_or_default().to_string(),
        database: DATABASE.into(),
        user: USER.into(),
    }))
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
                    rt.rds
                        .wait_until_db_instance_deleted()
                        .db_instance_identifier(&name)
                        .wait(WAIT)
                        .await
                        .map(|_| ())
                        .map_err(|e| waiter_error(&format!("database {name} deleted"), e))
                })
                .await?;
            if data == DataPolicy::Keep {
                rt.env.note("db-snapshot", &snapshot, Action::Keep, &snapshot, "final snapshot of the database");
            }
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
    if absent_if(got.aws("DescribeDBSubnetGroups", &name), &["DBSubnetGroupNotFoundFault"])?.is_some() {
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
