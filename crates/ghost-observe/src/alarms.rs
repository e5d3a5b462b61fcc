//! The stack's CloudWatch alarms, each notifying the topic when it fires and when it clears. Found by name
//! (`<stack>-<what>`); an alarm of ours that the config no longer asks for (the database ones after switching
//! to SQLite) is deleted.

use std::collections::HashMap;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic, Tag};
use ghost_core::{AwsResultExt, Change, Outcome};

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

/// What differs between the desired alarm and the one CloudWatch has.
pub fn diff_alarm(want: &AlarmDef, topic: &str, have: &MetricAlarm) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut field = |name: &str, have: String, want: String| {
        if have != want {
            changes.push(Change::new(name, have, want));
        }
    };
    let m = &want.metric;
    field("namespace", have.namespace().unwrap_or_default().into(), m.namespace.into());
    field("metric", have.metric_name().unwrap_or_default().into(), m.name.into());
    let mut dims: Vec<(String, String)> = have
        .dimensions()
        .iter()
        .map(|d| (d.name().unwrap_or_default().into(), d.value().unwrap_or_default().into()))
        .collect();
    dims.sort();
    let mut want_dims: Vec<(String, String)> = m.dimensions.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    want_dims.sort();
    field("dimensions", format!("{dims:?}"), format!("{want_dims:?}"));
    let stat =
        have.extended_statistic().map(str::to_string).or_else(|| have.statistic().map(|s| s.as_str().to_string()));
    field("statistic", stat.unwrap_or_default(), m.stat.into());
    field("period", have.period().unwrap_or_default().to_string(), m.period_s.to_string());
    field(
        "comparison",
        have.comparison_operator().map(|c| c.as_str()).unwrap_or_default().into(),
        comparison(want.comparison).as_str().into(),
    );
    field("threshold", have.threshold().unwrap_or_default().to_string(), want.threshold.to_string());
    field(
        "evaluation_periods",
        have.evaluation_periods().unwrap_or_default().to_string(),
        want.evaluation_periods.to_string(),
    );
    field("treat_missing_data", have.treat_missing_data().unwrap_or_default().into(), want.treat_missing.into());
    field("description", have.alarm_description().unwrap_or_default().into(), want.description.clone());
    field("alarm_actions", have.alarm_actions().join(","), topic.into());
    field("ok_actions", have.ok_actions().join(","), topic.into());
    changes
}

async fn put(o: &Observe, want: &AlarmDef, topic: &str, tag: bool) -> Result<()> {
    let m = &want.metric;
    let percentile = m.stat.starts_with('p');
    let mut req = o
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&want.name)
        .alarm_description(&want.description)
        .namespace(m.namespace)
        .metric_name(m.name)
        .set_dimensions(Some(
            m.dimensions.iter().map(|(k, v)| Dimension::builder().name(*k).value(v).build()).collect(),
        ))
        .period(m.period_s)
        .evaluation_periods(want.evaluation_periods)
        .threshold(want.threshold)
        .comparison_operator(comparison(want.comparison))
        .treat_missing_data(want.treat_missing)
        .alarm_actions(topic)
        .ok_actions(topic);
    req = if percentile { req.extended_statistic(m.stat) } else { req.statistic(Statistic::from(m.stat)) };
    if tag {
        let tags =
            o.env.names.tags("alarm", &want.name).into_iter().map(|t| Tag::builder().key(t.key).value(t.value).build());
        req = req.set_tags(Some(tags.collect()));
    }
    req.send().await.aws("PutMetricAlarm", &want.name)?;
    Ok(())
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
        o.env
            .track::<_, crate::Error, _>(KIND, &want.name, async {
                let Some(have) = found.get(&want.name) else {
                    if !o.env.is_plan() {
                        put(o, want, topic, true).await?;
                    }
                    return Ok(Outcome::Created(want.name.clone()));
                };
                let changes = diff_alarm(want, topic, have);
                if !changes.is_empty() && !o.env.is_plan() {
                    put(o, want, topic, false).await?;
                }
                Ok(Outcome::from_changes(want.name.clone(), changes))
            })
            .await?;
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
