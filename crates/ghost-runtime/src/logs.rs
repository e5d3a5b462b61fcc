//! CloudWatch log groups with a retention: the service's and the build project's follow one ensure.

use ghost_core::{AwsResultExt, Change, Env, Outcome};

use crate::Result;

/// Creates the group (tagged) with `days` of retention, or sets the retention when it differs.
pub async fn ensure_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    env: &Env,
    component: &str,
    name: &str,
    days: i32,
) -> Result<String> {
    env.track("log-group", name, async {
        let out = logs.describe_log_groups().log_group_name_prefix(name).send().await.aws("DescribeLogGroups", name)?;
        let found = out.log_groups().iter().find(|g| g.log_group_name() == Some(name));
        let Some(g) = found else {
            if env.is_plan() {
                return Ok(Outcome::Created(name.to_string()));
            }
            let tags: std::collections::HashMap<String, String> =
                env.names.tags(component, name).into_iter().map(|t| (t.key, t.value)).collect();
            logs.create_log_group()
                .log_group_name(name)
                .set_tags(Some(tags))
                .send()
                .await
                .aws("CreateLogGroup", name)?;
            set_retention(logs, name, days).await?;
            return Ok(Outcome::Created(name.to_string()));
        };
        let have = g.retention_in_days();
        if have == Some(days) {
            return Ok::<_, crate::Error>(Outcome::Unchanged(name.to_string()));
        }
        if !env.is_plan() {
            set_retention(logs, name, days).await?;
        }
        Ok(Outcome::Updated(
            name.to_string(),
            vec![Change::new("retention_days", have.map_or("never expire".into(), |d| d.to_string()), days)],
        ))
    })
    .await
    .map(Outcome::into_id)
}

async fn set_retention(logs: &aws_sdk_cloudwatchlogs::Client, name: &str, days: i32) -> Result<()> {
    logs.put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .aws("PutRetentionPolicy", name)?;
    Ok(())
}

/// Deletes the group if it exists (its events go with it).
pub async fn delete_log_group(logs: &aws_sdk_cloudwatchlogs::Client, env: &Env, name: &str) -> Result<()> {
    let out = logs.describe_log_groups().log_group_name_prefix(name).send().await.aws("DescribeLogGroups", name)?;
    if out.log_groups().iter().any(|g| g.log_group_name() == Some(name)) {
        env.delete("log-group", name, name, &["ResourceNotFoundException"], || async {
            logs.delete_log_group().log_group_name(name).send().await.map(|_| ()).aws("DeleteLogGroup", name)
        })
        .await?;
    }
    Ok(())
}
