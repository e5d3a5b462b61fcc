//! Reads the delivery history the metrics are computed from: CodePipeline executions and CodeDeploy (or ECS)
//! deployments, mapped onto [`crate::metrics::History`].

use aws_sdk_codedeploy::types::DeploymentStatus;
use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsError;
use aws_sdk_ecs::operation::describe_services::DescribeServicesError;
use ghost_cicd::release;
use ghost_cicd::{Cicd, CicdSpec};
use ghost_core::AbsentExt;
use ghost_core::config::Deployment as Mode;

use crate::Result;
use crate::metrics::{DeployStatus, Deployment, ExecStatus, History, PipelineExecution};

fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

/// How long before the window an execution may have started and still deploy inside it: CodePipeline's manual
/// approval waits up to 7 days.
pub const EXECUTION_LOOKBACK_S: i64 = 7 * 24 * 3600;

/// Deployments that started at or after `since` (epoch seconds), and the executions that may have made them:
/// those started since [`EXECUTION_LOOKBACK_S`] before it (the metrics count only the window's own).
///
/// CodePipeline's history carries no commit timestamp, and a push starts the pipeline at once (its trigger), so
/// a change's start is taken as its execution's start: lead time is push → production.
pub async fn read_history(c: &Cicd, spec: &CicdSpec, since: i64) -> Result<History> {
    let name = spec.pipeline();
    let executions_since = since - EXECUTION_LOOKBACK_S;
    let mut executions = Vec::new();
    let mut token = None;
    'pages: loop {
        let got = c.codepipeline.list_pipeline_executions().pipeline_name(&name).set_next_token(token).send().await;
        let absent = ListPipelineExecutionsError::is_pipeline_not_found_exception;
        let Some(page) = got.absent_when(absent, "ListPipelineExecutions", &name)? else { break };
        for e in page.pipeline_execution_summaries() {
            let started = secs(e.start_time()).unwrap_or_default();
            if started < executions_since {
                break 'pages; // newest first: the rest is older
            }
            let status = match e.status().map(|s| s.as_str()) {
                Some("Succeeded") => ExecStatus::Succeeded,
                Some("Failed") => ExecStatus::Failed,
                Some("Stopped" | "Stopping") => ExecStatus::Stopped,
                Some("Superseded") => ExecStatus::Superseded,
                Some("Cancelled") => ExecStatus::Cancelled,
                _ => ExecStatus::InProgress,
            };
            let ended = (status != ExecStatus::InProgress).then(|| secs(e.last_update_time())).flatten();
            executions.push(PipelineExecution {
                id: e.pipeline_execution_id().unwrap_or_default().into(),
                status,
                started,
                ended,
                commit: e.source_revisions().first().and_then(|r| r.revision_id()).map(str::to_string),
                commit_time: Some(started),
            });
        }
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let mut deployments = match spec.deployment {
        Mode::Codedeploy => codedeploy(c, spec, since).await?,
        Mode::Ecs => ecs(c, spec, since).await?,
    };
    // A deployment belongs to the execution whose run it falls in (the pipeline's Deploy stage created it).
    for d in &mut deployments {
        d.execution_id = executions
            .iter()
            .filter(|e| e.started <= d.created && e.ended.is_none_or(|end| d.created <= end))
            .max_by_key(|e| e.started)
            .map(|e| e.id.clone());
    }
    Ok(History { executions, deployments })
}

async fn codedeploy(c: &Cicd, spec: &CicdSpec, since: i64) -> Result<Vec<Deployment>> {
    let mut out: Vec<Deployment> = release::deployment_infos(c, spec, None)
        .await?
        .iter()
        .filter(|d| secs(d.create_time()).unwrap_or_default() >= since)
        .map(|d| {
            let rollback = d.rollback_info();
            Deployment {
                id: d.deployment_id().unwrap_or_default().into(),
                status: match d.status() {
                    Some(DeploymentStatus::Succeeded) => DeployStatus::Succeeded,
                    Some(DeploymentStatus::Failed) => DeployStatus::Failed,
                    Some(DeploymentStatus::Stopped) => DeployStatus::Stopped,
                    _ => DeployStatus::InProgress,
                },
                created: secs(d.create_time()).unwrap_or_default(),
                completed: secs(d.complete_time()),
                rolled_back: rollback.and_then(|r| r.rollback_deployment_id()).is_some(),
                rollback_of: rollback.and_then(|r| r.rollback_triggering_deployment_id()).map(str::to_string),
                execution_id: None,
            }
        })
        .collect();
    out.sort_by_key(|d| d.created);
    Ok(out)
}

/// ECS keeps the service's current deployments (the primary and any still draining): the recent history only.
async fn ecs(c: &Cicd, spec: &CicdSpec, since: i64) -> Result<Vec<Deployment>> {
    let got = c.ecs.describe_services().cluster(&spec.cluster).services(&spec.service).send().await;
    let absent = DescribeServicesError::is_cluster_not_found_exception;
    let Some(out) = got.absent_when(absent, "DescribeServices", &spec.service)? else { return Ok(Vec::new()) };
    let mut deployments: Vec<Deployment> = out
        .services()
        .iter()
        .flat_map(|s| s.deployments())
        .filter(|d| secs(d.created_at()).unwrap_or_default() >= since)
        .map(|d| {
            let state = d.rollout_state().map(|r| r.as_str());
            Deployment {
                id: d.id().unwrap_or_default().into(),
                status: match state {
                    Some("COMPLETED") | None => DeployStatus::Succeeded,
                    Some("FAILED") => DeployStatus::Failed,
                    _ => DeployStatus::InProgress,
                },
                created: secs(d.created_at()).unwrap_or_default(),
                completed: (state != Some("IN_PROGRESS")).then(|| secs(d.updated_at())).flatten(),
                rolled_back: false,
                rollback_of: None,
                execution_id: None,
            }
        })
        .collect();
    deployments.sort_by_key(|d| d.created);
    Ok(deployments)
}
