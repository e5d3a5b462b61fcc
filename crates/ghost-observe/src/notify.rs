//! Pipeline and deployment notifications: EventBridge rules sending the pipeline's FAILED/SUCCEEDED executions
//! and failed deployments (CodeDeploy or ECS) to the alert topic.

use ghost_aws::events::{RuleSpec, delete_rule, ensure_rule};
use ghost_core::config::Deployment;
use serde_json::{Value, json};

use crate::{Observe, ObserveSpec, Result};

pub fn pipeline_pattern(spec: &ObserveSpec) -> Value {
    json!({
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": { "pipeline": [spec.pipeline], "state": ["FAILED", "SUCCEEDED"] }
    })
}

pub fn deployment_pattern(spec: &ObserveSpec) -> Value {
    match spec.deployment {
        Deployment::Codedeploy => json!({
            "source": ["aws.codedeploy"],
            "detail-type": ["CodeDeploy Deployment State-change Notification"],
            "detail": { "application": [spec.application], "state": ["FAILURE"] }
        }),
        Deployment::Ecs => json!({
            "source": ["aws.ecs"],
            "detail-type": ["ECS Deployment State Change"],
            "resources": [spec.service_arn],
            "detail": { "eventName": ["SERVICE_DEPLOYMENT_FAILED"] }
        }),
    }
}

/// Returns the rule names.
pub async fn ensure_notifications(o: &Observe, spec: &ObserveSpec, topic: &str) -> Result<Vec<String>> {
    let rules = [
        RuleSpec {
            name: spec.names.of("pipeline-events"),
            component: "notification-rule",
            description: format!("Pipeline {} succeeded or failed: to the alert topic", spec.pipeline),
            pattern: pipeline_pattern(spec),
            target_id: "alerts",
            target_arn: topic,
            role: None,
        },
        RuleSpec {
            name: spec.names.of("deploy-failed"),
            component: "notification-rule",
            description: format!("A deployment of {} failed: to the alert topic", spec.service),
            pattern: deployment_pattern(spec),
            target_id: "alerts",
            target_arn: topic,
            role: None,
        },
    ];
    for rule in &rules {
        ensure_rule(&o.events, &o.env, rule).await?;
    }
    Ok(rules.iter().map(|r| r.name.clone()).collect())
}

pub async fn delete_notifications(o: &Observe, spec: &ObserveSpec) -> Result<()> {
    for name in [spec.names.of("pipeline-events"), spec.names.of("deploy-failed")] {
        delete_rule(&o.events, &o.env, &name).await?;
    }
    Ok(())
}
