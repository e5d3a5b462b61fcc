//! The CloudWatch dashboard `<stack>`: its body is generated from the alarms' metric definitions
//! ([`crate::signals`]) and compared as JSON, so a re-deploy writes nothing when it is unchanged.

use ghost_core::error::absent_if;
use ghost_core::{AwsResultExt, Change, Outcome};
use serde_json::Value;

use crate::{Observe, Result};

const KIND: &str = "cloudwatch-dashboard";

pub async fn find_dashboard(o: &Observe, name: &str) -> Result<Option<Value>> {
    let got = o.cloudwatch.get_dashboard().dashboard_name(name).send().await.aws("GetDashboard", name);
    Ok(absent_if(got, &["ResourceNotFound"])?
        .and_then(|d| d.dashboard_body)
        .map(|b| serde_json::from_str(&b).unwrap_or(Value::Null)))
}

pub async fn ensure_dashboard(o: &Observe, name: &str, body: &Value) -> Result<String> {
    let out = o
        .env
        .track::<_, crate::Error, _>(KIND, name, async {
            let found = find_dashboard(o, name).await?;
            let changes = match &found {
                None => Vec::new(),
                Some(have) if have == body => return Ok(Outcome::Unchanged(name.to_string())),
                Some(_) => vec![Change::new("body", "differs", "generated from the alarms' metrics")],
            };
            if !o.env.is_plan() {
                o.cloudwatch
                    .put_dashboard()
                    .dashboard_name(name)
                    .dashboard_body(body.to_string())
                    .send()
                    .await
                    .aws("PutDashboard", name)?;
            }
            Ok(if found.is_none() {
                Outcome::Created(name.to_string())
            } else {
                Outcome::Updated(name.to_string(), changes)
            })
        })
        .await?;
    Ok(out.into_id())
}

pub async fn delete_dashboard(o: &Observe, name: &str) -> Result<()> {
    if find_dashboard(o, name).await?.is_none() {
        return Ok(());
    }
    o.env
        .delete(KIND, name, name, &["ResourceNotFound"], || async {
            o.cloudwatch
                .delete_dashboards()
                .dashboard_names(name)
                .send()
                .await
                .map(|_| ())
                .aws("DeleteDashboards", name)
        })
        .await?;
    Ok(())
}
