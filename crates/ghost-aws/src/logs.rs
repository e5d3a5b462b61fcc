//! CloudWatch log groups, found by exact name, with a retention: the service's and the build project's follow
//! this one kind.

use aws_sdk_cloudwatchlogs::Client;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AwsResultExt, Env, Error, Result};
use serde::{Deserialize, Serialize};

const KIND: &str = "log-group";

/// What CreateLogGroup and PutRetentionPolicy set (tags are written once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroupView {
    /// `None`: events never expire.
    pub retention_days: Option<i32>,
}

#[derive(Debug)]
pub struct LogGroup<'a> {
    pub logs: &'a Client,
    pub env: &'a Env,
    pub component: &'a str,
    pub name: &'a str,
    pub desired: LogGroupView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogGroupUpdate {
    Retention(Option<i32>),
}

/// The group's exact entry: DescribeLogGroups matches by prefix, so `/ecs/ghost` also lists `/ecs/ghost-2`.
async fn describe(logs: &Client, name: &str) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>> {
    let groups: Vec<_> = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeLogGroups", name)?;
    Ok(groups.into_iter().find(|g| g.log_group_name() == Some(name)))
}

impl Resource for LogGroup<'_> {
    type View = LogGroupView;
    type Out = String;
    type Update = LogGroupUpdate;
    type Error = Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.to_string()
    }
    fn desired(&self) -> &LogGroupView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.to_string()
    }
    async fn find(&self) -> Result<Option<Live<LogGroupView, String>>> {
        let found = describe(self.logs, self.name).await?;
        Ok(found.map(|g| Live::ready(LogGroupView { retention_days: g.retention_in_days() }, self.name.to_string())))
    }
    async fn create(&self, d: &LogGroupView) -> Result<String> {
        let tags = self.env.names.tags(self.component, self.name).into_iter().map(|t| (t.key, t.value)).collect();
        let req = self.logs.create_log_group().log_group_name(self.name).set_tags(Some(tags));
        req.send().await.aws("CreateLogGroup", self.name)?;
        if d.retention_days.is_some() {
            self.update(&self.name.to_string(), LogGroupUpdate::Retention(d.retention_days)).await?;
        }
        Ok(self.name.to_string())
    }
    fn updates(&self, d: &LogGroupView, l: &LogGroupView) -> Result<Vec<LogGroupUpdate>> {
        Ok(if d.retention_days == l.retention_days {
            vec![]
        } else {
            vec![LogGroupUpdate::Retention(d.retention_days)]
        })
    }
    async fn update(&self, _: &String, u: LogGroupUpdate) -> Result<()> {
        let LogGroupUpdate::Retention(days) = u;
        match days {
            Some(days) => {
                let req = self.logs.put_retention_policy().log_group_name(self.name).retention_in_days(days);
                req.send().await.aws("PutRetentionPolicy", self.name)?;
            }
            None => {
                let req = self.logs.delete_retention_policy().log_group_name(self.name);
                req.send().await.aws("DeleteRetentionPolicy", self.name)?;
            }
        }
        Ok(())
    }
}

/// Creates the group (tagged) with `days` of retention, or sets the retention when it differs.
pub async fn ensure_log_group(logs: &Client, env: &Env, component: &str, name: &str, days: i32) -> Result<String> {
    let group = LogGroup { logs, env, component, name, desired: LogGroupView { retention_days: Some(days) } };
    Ok(reconcile::ensure(env, &group).await?.into_id())
}

/// Deletes the group if it exists (its events go with it).
pub async fn delete_log_group(logs: &Client, env: &Env, name: &str) -> Result<()> {
    if describe(logs, name).await?.is_some() {
        env.delete(KIND, name, name, &["ResourceNotFoundException"], || async {
            logs.delete_log_group().log_group_name(name).send().await.map(|_| ()).aws("DeleteLogGroup", name)
        })
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ghost_core::Mode;
    use ghost_core::reconcile::testing::assert_every_field_compared;

    use super::*;

    #[test]
    fn every_field_of_a_log_group_is_compared() {
        let logs = Client::from_conf(aws_sdk_cloudwatchlogs::Config::builder().behavior_version_latest().build());
        let env = Env::new("ghost", Mode::Plan);
        let g = LogGroup {
            logs: &logs,
            env: &env,
            component: "log-group",
            name: "/ecs/ghost",
            desired: LogGroupView { retention_days: Some(30) },
        };
        assert_every_field_compared(&g, std::slice::from_ref(&g.desired));
    }
}
