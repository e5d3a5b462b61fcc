//! `cargo xtask status`: one screen with the state of every part of the stack that can be wrong — every resource
//! present and as configured (from a plan), the load balancer, the targets' health, the service's running/desired
//! tasks, the last pipeline execution and deployment, alarms in ALARM, unconfirmed subscriptions. Reads only.

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersError;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsError;
use ghost_cicd::release::{self, HistoryItem};
use ghost_cicd::{Cicd, CicdSpec};
use ghost_core::AbsentExt;
use ghost_core::AwsResultExt;
use ghost_runtime::Runtime;
use serde::Serialize;

use crate::{Observe, ObserveSpec, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetsState {
    pub group: String,
    /// Target id → health state (`healthy`, `unhealthy`, `initial`, `draining`, ...).
    pub targets: Vec<(String, String)>,
    pub live: bool,
}

/// Every resource of the stack against the config, from a plan: what is there as configured, and what is not.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourcesState {
    pub total: usize,
    /// `kind name` of each resource the plan would create.
    pub missing: Vec<String>,
    /// `kind name: field, field` of each resource the plan would update.
    pub drifted: Vec<String>,
    /// `kind name` of each resource the plan would delete (no longer in the config).
    pub extra: Vec<String>,
}

impl ResourcesState {
    pub fn from_plan(records: &[ghost_core::env::Record]) -> Self {
        use ghost_core::Action;
        let named = |r: &ghost_core::env::Record| format!("{} {}", r.kind, r.name);
        let mut state = Self { total: records.len(), ..Self::default() };
        for r in records {
            match r.action {
                Action::Create => state.missing.push(named(r)),
                Action::Update => {
                    let fields: Vec<&str> = r.changes.iter().map(|c| c.field.as_str()).collect();
                    state.drifted.push(format!("{}: {}", named(r), fields.join(", ")));
                }
                Action::Delete => state.extra.push(named(r)),
                _ => {}
            }
        }
        state
    }

    pub fn as_configured(&self) -> bool {
        self.missing.is_empty() && self.drifted.is_empty() && self.extra.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub stack: String,
    /// None when not read (a library caller that did not plan).
    pub resources: Option<ResourcesState>,
    /// `active`, `provisioning`, ... or `missing`.
    pub load_balancer: String,
    pub url: Option<String>,
    pub target_groups: Vec<TargetsState>,
    /// (running, desired, pending); None when the service does not exist.
    pub service: Option<(i32, i32, i32)>,
    pub task_definition: Option<String>,
    pub last_execution: Option<HistoryItem>,
    pub last_deployment: Option<HistoryItem>,
    pub alarms_in_alarm: Vec<String>,
    pub alarms_total: usize,
    pub pending_subscriptions: Vec<String>,
    pub dashboard_url: String,
}

impl StatusReport {
    /// Healthy: every resource is as configured, the balancer is active, the service runs what it should, no
    /// alarm fires.
    pub fn healthy(&self) -> bool {
        self.resources.as_ref().is_none_or(ResourcesState::as_configured)
            && self.load_balancer == "active"
            && self.service.is_some_and(|(running, desired, _)| running >= desired)
            && self.alarms_in_alarm.is_empty()
    }
}

pub async fn read_status(
    o: &Observe,
    rt: &Runtime,
    c: &Cicd,
    spec: &ObserveSpec,
    cicd: &CicdSpec,
) -> Result<StatusReport> {
    let stack = spec.names.stack().to_string();
    let alb_name = spec.names.alb();
    let got = rt.elb.describe_load_balancers().names(&alb_name).send().await;
    let absent = DescribeLoadBalancersError::is_load_balancer_not_found_exception;
    let alb = got
        .absent_when(absent, "DescribeLoadBalancers", &alb_name)?
        .and_then(|o| o.load_balancers.unwrap_or_default().into_iter().next());
    let load_balancer = alb
        .as_ref()
        .and_then(|a| a.state())
        .and_then(|s| s.code())
        .map(|c| c.as_str().to_string())
        .unwrap_or_else(|| "missing".into());
    let mut target_groups = Vec::new();
    if let Some(alb) = &alb {
        let listeners = ghost_runtime::lb::list_listeners(rt, alb.load_balancer_arn().unwrap_or_default()).await?;
        let live = ghost_runtime::lb::production_forward(&spec.runtime, &listeners);
        for color in ["blue", "green"] {
            let name = spec.names.target_group(color);
            let got = rt.elb.describe_target_groups().names(&name).send().await;
            let absent = DescribeTargetGroupsError::is_target_group_not_found_exception;
            let Some(tg) = got
                .absent_when(absent, "DescribeTargetGroups", &name)?
                .and_then(|o| o.target_groups.unwrap_or_default().into_iter().next())
            else {
                continue;
            };
            let arn = tg.target_group_arn().unwrap_or_default().to_string();
            let health = rt
                .elb
                .describe_target_health()
                .target_group_arn(&arn)
                .send()
                .await
                .aws("DescribeTargetHealth", &name)?;
            let targets = health
                .target_health_descriptions()
                .iter()
                .map(|d| {
                    let id = d.target().and_then(|t| t.id()).unwrap_or_default().to_string();
                    let state =
                        d.target_health().and_then(|h| h.state()).map(|s| s.as_str().to_string()).unwrap_or_default();
                    (id, state)
                })
                .collect();
            target_groups.push(TargetsState { group: name, targets, live: live.as_deref() == Some(arn.as_str()) });
        }
    }
    let svc = ghost_runtime::ecs::find_service(rt, &spec.runtime).await?;
    let history = release::history(c, cicd, 1).await?;
    let alarms = crate::alarms::find_alarms(o, spec).await?;
    let mut firing: Vec<String> = alarms
        .values()
        .filter(|a| a.state_value() == Some(&StateValue::Alarm))
        .filter_map(|a| a.alarm_name().map(str::to_string))
        .collect();
    firing.sort();
    let pending = match crate::topic::find_topic(o, &spec.topic()).await? {
        Some(topic) => {
            let subs = o
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(&topic)
                .send()
                .await
                .aws("ListSubscriptionsByTopic", &topic)?;
            subs.subscriptions()
                .iter()
                .filter(|s| s.subscription_arn().is_some_and(crate::topic::is_pending))
                .filter_map(|s| s.endpoint().map(str::to_string))
                .collect()
        }
        None => Vec::new(),
    };
    Ok(StatusReport {
        stack,
        resources: None,
        url: alb.as_ref().and_then(|a| a.dns_name()).map(|d| format!("http://{d}")),
        load_balancer,
        target_groups,
        service: svc.as_ref().map(|s| (s.running_count(), s.desired_count(), s.pending_count())),
        task_definition: svc.as_ref().and_then(|s| s.task_definition()).map(str::to_string),
        last_execution: history.executions.into_iter().next(),
        last_deployment: history.deployments.into_iter().next(),
        alarms_in_alarm: firing,
        alarms_total: alarms.len(),
        pending_subscriptions: pending,
        dashboard_url: spec.dashboard_url(),
    })
}

/// The report as one screen of text.
pub fn render_status(r: &StatusReport) -> String {
    let mut out = format!("stack {}: {}\n", r.stack, if r.healthy() { "healthy" } else { "needs attention" });
    if let Some(res) = &r.resources {
        if res.as_configured() {
            out.push_str(&format!("  resources       {} in place, as configured\n", res.total));
        } else {
            let gone = res.missing.len() + res.extra.len();
            let mut parts = vec![format!("{} of {} as configured", res.total - gone - res.drifted.len(), res.total)];
            for (what, list) in
                [("missing", &res.missing), ("drifted", &res.drifted), ("not in the config", &res.extra)]
            {
                if !list.is_empty() {
                    parts.push(format!("{what}: {}", list.join("; ")));
                }
            }
            out.push_str(&format!("  resources       {} (`cargo xtask plan` shows the changes)\n", parts.join("; ")));
        }
    }
    out.push_str(&format!(
        "  load balancer   {}{}\n",
        r.load_balancer,
        r.url.as_deref().map(|u| format!("  {u}")).unwrap_or_default()
    ));
    for tg in &r.target_groups {
        let states: Vec<String> = tg.targets.iter().map(|(id, s)| format!("{id} {s}")).collect();
        let targets = if states.is_empty() { "no targets".to_string() } else { states.join(", ") };
        out.push_str(&format!("  {:<15} {}{}\n", tg.group, targets, if tg.live { "  (live)" } else { "" }));
    }
    match r.service {
        Some((running, desired, pending)) => out.push_str(&format!(
            "  service         {running}/{desired} running{}  {}\n",
            if pending > 0 { format!(", {pending} pending") } else { String::new() },
            r.task_definition.as_deref().unwrap_or("")
        )),
        None => out.push_str("  service         missing\n"),
    }
    let item = |i: &Option<HistoryItem>| match i {
        Some(i) => {
            format!("{} {} {} {}", i.status, i.started.as_deref().unwrap_or("-"), i.id, i.detail).trim_end().to_string()
        }
        None => "none yet".into(),
    };
    out.push_str(&format!("  last execution  {}\n", item(&r.last_execution)));
    out.push_str(&format!("  last deployment {}\n", item(&r.last_deployment)));
    if r.alarms_in_alarm.is_empty() {
        out.push_str(&format!("  alarms          {} ok\n", r.alarms_total));
    } else {
        out.push_str(&format!(
            "  alarms          {} of {} in ALARM: {}\n",
            r.alarms_in_alarm.len(),
            r.alarms_total,
            r.alarms_in_alarm.join(", ")
        ));
    }
    if !r.pending_subscriptions.is_empty() {
        out.push_str(&format!("  subscriptions   pending confirmation: {}\n", r.pending_subscriptions.join(", ")));
    }
    out.push_str(&format!("  dashboard       {}\n", r.dashboard_url));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StatusReport {
        StatusReport {
            stack: "ghost".into(),
            resources: Some(ResourcesState { total: 55, ..ResourcesState::default() }),
            load_balancer: "active".into(),
            url: Some("http://ghost-alb-1.eu-west-2.elb.amazonaws.com".into()),
            target_groups: vec![
                TargetsState {
                    group: "ghost-blue".into(),
                    targets: vec![("10.0.1.5".into(), "healthy".into())],
                    live: true,
                },
                TargetsState { group: "ghost-green".into(), targets: vec![], live: false },
            ],
            service: Some((1, 1, 0)),
            task_definition: Some("arn:aws:ecs:eu-west-2:123456789012:task-definition/ghost-blog:3".into()),
            last_execution: Some(HistoryItem {
                id: "4cd9d18f".into(),
                status: "Succeeded".into(),
                started: Some("2026-11-28T00:31:42Z".into()),
                ended: None,
                detail: "commit 0123456789ab".into(),
            }),
            last_deployment: None,
            alarms_in_alarm: vec!["ghost-target-5xx".into()],
            alarms_total: 9,
            pending_subscriptions: vec!["ops@example.com".into()],
            dashboard_url:
                "https://eu-west-2.console.aws.amazon.com/cloudwatch/home?region=eu-west-2#dashboards/dashboard/ghost"
                    .into(),
        }
    }

    #[test]
    fn the_status_screen_matches_its_golden_file() {
        let text = render_status(&report());
        let golden = include_str!("../tests/golden/status.txt");
        assert_eq!(text, golden, "update tests/golden/status.txt if the change is intended:\n{text}");
    }

    #[test]
    fn a_firing_alarm_or_a_missing_task_needs_attention() {
        let mut r = report();
        assert!(!r.healthy());
        r.alarms_in_alarm.clear();
        assert!(r.healthy());
        r.service = Some((0, 1, 1));
        assert!(!r.healthy());
    }

    #[test]
    fn drift_from_a_plan_needs_attention_and_is_named() {
        use ghost_core::env::Record;
        use ghost_core::{Action, Change};
        let record = |kind: &str, name: &str, action, changes| Record {
            kind: kind.into(),
            name: name.into(),
            action,
            changes,
            id: String::new(),
            elapsed_ms: 0,
        };
        let plan = [
            record("vpc", "ghost-vpc", Action::Unchanged, vec![]),
            record("ecs-service", "ghost-blog", Action::Update, vec![Change::new("desired_count", 1, 2)]),
            record("cloudwatch-alarm", "ghost-cpu-high", Action::Create, vec![]),
        ];
        let mut r = report();
        r.alarms_in_alarm.clear();
        assert!(r.healthy());
        r.resources = Some(ResourcesState::from_plan(&plan));
        assert!(!r.healthy());
        let text = render_status(&r);
        let line = text.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "  resources       1 of 3 as configured; missing: cloudwatch-alarm ghost-cpu-high; drifted: ecs-service \
             ghost-blog: desired_count (`cargo xtask plan` shows the changes)"
        );
    }
}
