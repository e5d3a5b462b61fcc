//! The CloudWatch dashboard `<stack>`: its body is generated from the alarms' metric definitions
//! ([`crate::signals`]) and compared as JSON, so a re-deploy writes nothing when it is unchanged.

use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::operation::get_dashboard::GetDashboardError;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AbsentExt, AwsResultExt};
use serde_json::Value;

use crate::{Observe, Result};

const KIND: &str = "cloudwatch-dashboard";

pub async fn find_dashboard(o: &Observe, name: &str) -> Result<Option<Value>> {
    let got = o.cloudwatch.get_dashboard().dashboard_name(name).send().await;
    // The modeled error's wire code is `ResourceNotFound` (awsQuery-compatible); an SDK that does not map it
    // onto the type still hands that code.
    let absent = |e: &GetDashboardError| e.is_dashboard_not_found_error() || e.code() == Some("ResourceNotFound");
    Ok(got
        .absent_when(absent, "GetDashboard", name)?
        .and_then(|d| d.dashboard_body)
        .map(|b| serde_json::from_str(&b).unwrap_or(Value::Null)))
}

/// The dashboard as a kind of the reconcile core: its view is the body; PutDashboard creates and replaces it.
#[derive(Debug)]
pub struct Dashboard<'a> {
    pub o: &'a Observe,
    pub name: &'a str,
    pub desired: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyUpdate;

impl Resource for Dashboard<'_> {
    type View = Value;
    type Out = String;
    type Update = BodyUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.to_string()
    }
    fn desired(&self) -> &Value {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.to_string()
    }
    async fn find(&self) -> Result<Option<Live<Value, String>>> {
        Ok(find_dashboard(self.o, self.name).await?.map(|body| Live::ready(body, self.name.to_string())))
    }
    async fn create(&self, d: &Value) -> Result<String> {
        let req = self.o.cloudwatch.put_dashboard().dashboard_name(self.name).dashboard_body(d.to_string());
        req.send().await.aws("PutDashboard", self.name)?;
        Ok(self.name.to_string())
    }
    fn updates(&self, d: &Value, l: &Value) -> Result<Vec<BodyUpdate>> {
        Ok(reconcile::when([(d != l, BodyUpdate)]))
    }
    async fn update(&self, _: &String, _: BodyUpdate) -> Result<()> {
        self.create(&self.desired).await.map(|_| ())
    }
}

pub async fn ensure_dashboard(o: &Observe, name: &str, body: &Value) -> Result<String> {
    Ok(reconcile::ensure(&o.env, &Dashboard { o, name, desired: body.clone() }).await?.into_id())
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
