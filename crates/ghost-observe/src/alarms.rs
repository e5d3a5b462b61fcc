//! The stack's CloudWatch alarms, each notifying the topic when it fires and when it clears. Found by name
//! (`<stack>-<what>`); an alarm of ours that the config no longer asks for (the database ones after switching
//! to SQLite) is deleted.

use std::collections::HashMap;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic, Tag};
use ghost_core::AwsResultExt;
use ghost_core::reconcile::{self, Live, Resource};
use serde::{Deserialize, Serialize};

use crate::signals::{AlarmDef, Comparison};
use crate::{Observe, ObserveSpec, Result};

const KIND: &str = "cloudwatch-alarm";

/// Every alarm suffix this lens can create: what a stack's alarms are, whatever its config today.
pub const SUFFIXES: &[&str] = &[
    "alb-5xx",
    "target-5xx",
    "latency-p95",
    "unhealthy-blue",
    "unhealthy-green",
    "cpu-high",
    "memory-high",
    "tasks-missing",
    "efs-burst-credits",
    "db-cpu-high",
    "db-storage-low",
    "db-connections-high",
];

fn comparison(c: Comparison) -> ComparisonOperator {
    match c {
        Comparison::GreaterThanThreshold => ComparisonOperator::GreaterThanThreshold,
        Comparison::GreaterThanOrEqualToThreshold => ComparisonOperator::GreaterThanOrEqualToThreshold,
        Comparison::LessThanThreshold => ComparisonOperator::LessThanThreshold,
    }
}

/// Everything PutMetricAlarm sets (tags aside, written at creation), as CloudWatch reads it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmView {
    pub description: String,
    pub namespace: String,
    pub metric: String,
    /// Sorted by name.
    pub dimensions: Vec<DimensionView>,
    /// `Sum`, `Average`, ... or an extended statistic (`p95`).
    pub statistic: String,
    pub period_s: i32,
    pub comparison: String,
    pub threshold: f64,
    pub evaluation_periods: i32,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimensionView {
    pub name: String,
    pub value: String,
}

impl AlarmView {
    pub fn desired(want: &AlarmDef, topic: &str) -> Self {
        let m = &want.metric;
        let mut dimensions: Vec<DimensionView> =
            m.dimensions.iter().map(|(k, v)| DimensionView { name: k.to_string(), value: v.clone() }).collect();
        dimensions.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            description: want.description.clone(),
            namespace: m.namespace.into(),
            metric: m.name.into(),
            dimensions,
            statistic: m.stat.into(),
            period_s: m.period_s,
            comparison: comparison(want.comparison).as_str().into(),
            threshold: want.threshold,
            evaluation_periods: want.evaluation_periods,
            treat_missing_data: want.treat_missing.into(),
            alarm_actions: vec![topic.to_string()],
            ok_actions: vec![topic.to_string()],
        }
    }

    pub fn live(have: &MetricAlarm) -> Self {
        let mut dimensions: Vec<DimensionView> = have
            .dimensions()
            .iter()
            .map(|d| DimensionView {
                name: d.name().unwrap_or_default().into(),
                value: d.value().unwrap_or_default().into(),
            })
            .collect();
        dimensions.sort_by(|a, b| a.name.cmp(&b.name));
        let stat =
            have.extended_statistic().map(str::to_string).or_else(|| have.statistic().map(|s| s.as_str().to_string()));
        Self {
            description: have.alarm_description().unwrap_or_default().into(),
            namespace: have.namespace().unwrap_or_default().into(),
            metric: have.metric_name().unwrap_or_default().into(),
            dimensions,
            statistic: stat.unwrap_or_default(),
            period_s: have.period().unwrap_or_default(),
            comparison: have.comparison_operator().map(|c| c.as_str()).unwrap_or_default().into(),
            threshold: have.threshold().unwrap_or_default(),
            evaluation_periods: have.evaluation_periods().unwrap_or_default(),
            treat_missing_data: have.treat_missing_data().unwrap_or_default().into(),
            alarm_actions: have.alarm_actions().to_vec(),
            ok_actions: have.ok_actions().to_vec(),
        }
    }
}

/// One alarm as a kind of the reconcile core, found in the stack's alarms (described once for all of them).
/// PutMetricAlarm replaces the whole definition, so any difference is one call.
#[derive(Debug)]
pub struct Alarm<'a> {
    pub o: &'a Observe,
    pub name: &'a str,
    pub found: Option<AlarmView>,
    pub desired: AlarmView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmUpdate;

impl Alarm<'_> {
    async fn put(&self, d: &AlarmView, tag: bool) -> Result<()> {
        let percentile = d.statistic.starts_with('p');
        let dimensions = d.dimensions.iter().map(|x| Dimension::builder().name(&x.name).value(&x.value).build());
        let mut req = self
            .o
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(self.name)
            .alarm_description(&d.description)
            .namespace(&d.namespace)
            .metric_name(&d.metric)
            .set_dimensions(Some(dimensions.collect()))
            .period(d.period_s)
            .evaluation_periods(d.evaluation_periods)
            .threshold(d.threshold)
            .comparison_operator(ComparisonOperator::from(d.comparison.as_str()))
            .treat_missing_data(&d.treat_missing_data)
            .set_alarm_actions(Some(d.alarm_actions.clone()))
            .set_ok_actions(Some(d.ok_actions.clone()));
        req = if percentile {
            req.extended_statistic(&d.statistic)
        } else {
            req.statistic(Statistic::from(d.statistic.as_str()))
        };
        if tag {
            let tags = self.o.env.names.tags("alarm", self.name).into_iter();
            req = req.set_tags(Some(tags.map(|t| Tag::builder().key(t.key).value(t.value).build()).collect()));
        }
        req.send().await.aws("PutMetricAlarm", self.name)?;
        Ok(())
    }
}

impl Resource for Alarm<'_> {
    type View = AlarmView;
    type Out = String;
    type Update = AlarmUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.to_string()
    }
    fn desired(&self) -> &AlarmView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.to_string()
    }
    async fn find(&self) -> Result<Option<Live<AlarmView, String>>> {
        Ok(self.found.clone().map(|v| Live::ready(v, self.name.to_string())))
    }
    async fn create(&self, d: &AlarmView) -> Result<String> {
        self.put(d, true).await?;
        Ok(self.name.to_string())
    }
    fn updates(&self, d: &AlarmView, l: &AlarmView) -> Result<Vec<AlarmUpdate>> {
        Ok(reconcile::when([(d != l, AlarmUpdate)]))
    }
    async fn update(&self, _: &String, _: AlarmUpdate) -> Result<()> {
        self.put(&self.desired, false).await
    }
}

/// Our alarms as CloudWatch has them, by name.
pub async fn find_alarms(o: &Observe, spec: &ObserveSpec) -> Result<HashMap<String, MetricAlarm>> {
    let prefix = format!("{}-", spec.names.stack());
    let ours: Vec<String> = SUFFIXES.iter().map(|s| format!("{prefix}{s}")).collect();
    let alarms =
        o.cloudwatch.describe_alarms().alarm_name_prefix(&prefix).into_paginator().send().collect::<Vec<_>>().await;
    let mut out = HashMap::new();
    for page in alarms {
        let page = page.aws("DescribeAlarms", &prefix)?;
        for a in page.metric_alarms() {
            if let Some(name) = a.alarm_name().filter(|n| ours.iter().any(|o| o == n)) {
                out.insert(name.to_string(), a.clone());
            }
        }
    }
    Ok(out)
}

/// Returns the names of the alarms now in place.
pub async fn ensure_alarms(o: &Observe, spec: &ObserveSpec, wanted: &[AlarmDef], topic: &str) -> Result<Vec<String>> {
    let found = find_alarms(o, spec).await?;
    for want in wanted {
        let alarm = Alarm {
            o,
            name: &want.name,
            found: found.get(&want.name).map(AlarmView::live),
            desired: AlarmView::desired(want, topic),
        };
        reconcile::ensure(&o.env, &alarm).await?;
    }
    let stale: Vec<&String> = found.keys().filter(|n| !wanted.iter().any(|w| &&w.name == n)).collect();
    for name in stale {
        o.env
            .delete(KIND, name, name, &["ResourceNotFound"], || async {
                o.cloudwatch.delete_alarms().alarm_names(name).send().await.map(|_| ()).aws("DeleteAlarms", name)
            })
            .await?;
    }
    Ok(wanted.iter().map(|w| w.name.clone()).collect())
}

pub async fn delete_alarms(o: &Observe, spec: &ObserveSpec) -> Result<()> {
    let found = find_alarms(o, spec).await?;
    let mut names: Vec<&String> = found.keys().collect();
    names.sort();
    for name in names {
        o.env
            .delete(KIND, name, name, &["ResourceNotFound"], || async {
                o.cloudwatch.delete_alarms().alarm_names(name).send().await.map(|_| ()).aws("DeleteAlarms", name)
            })
            .await?;
    }
    Ok(())
}
