//! Releases outside a push: start the pipeline, deploy a given image directly (a new task-definition revision
//! rolled out blue/green by CodeDeploy or ECS), roll back, and the recent history. Waits are bounded and
//! report progress; a timeout says what is still running and where to look.

use aws_sdk_codedeploy::types::{AppSpecContent, DeploymentStatus, RevisionLocation, RevisionLocationType};
use ghost_core::config::Deployment;
use ghost_core::wait::{Bound, Poll, poll_until};
use ghost_core::{AwsResultExt, Error as CoreError};
use ghost_runtime::ecs::{CONTAINER, TaskDef};
use ghost_runtime::lb::GHOST_PORT;
use serde::Serialize;

use crate::spec::CicdSpec;
use crate::{Cicd, Result};

/// What a release or rollback started and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseOut {
    /// `pipeline`, `codedeploy` or `ecs`.
    pub via: &'static str,
    pub id: String,
    pub task_definition: Option<String>,
    pub status: String,
    /// What the status leaves to happen after the command returns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where to look while it runs or after it failed.
    pub console: String,
}

impl std::fmt::Display for ReleaseOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} {}: {}", self.via, self.id, self.status)?;
        if let Some(td) = &self.task_definition {
            writeln!(f, "  task definition: {td}")?;
        }
        if let Some(note) = &self.note {
            writeln!(f, "  {note}")?;
        }
        write!(f, "  watch: {}", self.console)
    }
}

/// A wait that ran out is not a failure: the deployment goes on without us. The error says so and how to follow
/// it (`then`: what else the user can do, e.g. "; `cargo xtask rollback` stops it"); any other passes through.
pub fn still_running(err: crate::Error, then: &str) -> String {
    match err {
        crate::Error::Core(CoreError::WaitTimeout { .. }) => format!(
            "{err}\n  it is still running: follow it at that link or with `cargo xtask status`{then}; \
             --timeout-minutes waits longer"
        ),
        err => err.to_string(),
    }
}

fn codepipeline_console(spec: &CicdSpec) -> String {
    format!(
        "https://{0}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{1}/view?region={0}",
        spec.region,
        spec.pipeline()
    )
}

fn codedeploy_console(spec: &CicdSpec, id: &str) -> String {
    format!("https://{0}.console.aws.amazon.com/codesuite/codedeploy/deployments/{id}?region={0}", spec.region)
}

fn ecs_console(spec: &CicdSpec) -> String {
    format!(
        "https://{0}.console.aws.amazon.com/ecs/v2/clusters/{1}/services/{2}/deployments?region={0}",
        spec.region, spec.cluster, spec.service
    )
}

/// Starts the pipeline and waits (bounded) for the execution to end.
pub async fn start_pipeline(c: &Cicd, spec: &CicdSpec, bound: &Bound) -> Result<ReleaseOut> {
    let name = spec.pipeline();
    let out =
        c.codepipeline.start_pipeline_execution().name(&name).send().await.aws("StartPipelineExecution", &name)?;
    let id = out.pipeline_execution_id.unwrap_or_default();
    let console = codepipeline_console(spec);
    c.env.waiting("pipeline-execution", &id, "the pipeline execution ends");
    let status = poll_until(&format!("pipeline execution {id} ({console})"), bound, || async {
        let e = c
            .codepipeline
            .get_pipeline_execution()
            .pipeline_name(&name)
            .pipeline_execution_id(&id)
            .send()
            .await
            .aws("GetPipelineExecution", &id)?;
        let status =
            e.pipeline_execution().and_then(|e| e.status()).map(|s| s.as_str().to_string()).unwrap_or_default();
        Ok(match status.as_str() {
            "Succeeded" => Poll::Ready(status),
            "Failed" => Poll::Failed(format!("Failed{}", failed_action(c, &name).await?)),
            "Stopped" | "Superseded" | "Cancelled" => Poll::Failed(status),
            _ => Poll::Pending(status),
        })
    })
    .await?;
    Ok(ReleaseOut { via: "pipeline", id, task_definition: None, status, note: None, console })
}

/// Where a failed execution failed, as the pipeline's state tells it (" at Source: <the action's message>"), so
/// the error says why (an empty branch, a build error) instead of only "Failed".
async fn failed_action(c: &Cicd, pipeline: &str) -> ghost_core::Result<String> {
    let state = c.codepipeline.get_pipeline_state().name(pipeline).send().await.aws("GetPipelineState", pipeline)?;
    let failed = state.stage_states().iter().find(|s| {
        s.latest_execution().map(|e| e.status()) == Some(&aws_sdk_codepipeline::types::StageExecutionStatus::Failed)
    });
    let Some(stage) = failed else { return Ok(String::new()) };
    let message = stage
        .action_states()
        .iter()
        .find_map(|a| a.latest_execution().and_then(|e| e.error_details()).and_then(|d| d.message()))
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    Ok(format!(" at {}{message}", stage.stage_name().unwrap_or("?")))
}

/// The run lens's service, if it is active.
pub async fn service(c: &Cicd, spec: &CicdSpec) -> Result<Option<aws_sdk_ecs::types::Service>> {
    Ok(ghost_runtime::ecs::active_service(&c.ecs, &spec.cluster, &spec.service).await?)
}

/// The task definition the service runs now.
async fn current_task_definition(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    let svc = service(c, spec).await?;
    svc.as_ref().and_then(|s| s.task_definition()).map(str::to_string).ok_or_else(|| {
        CoreError::Conflict {
            resource: format!("service {}", spec.service),
            message: "not deployed: run `cargo xtask deploy` first".into(),
        }
        .into()
    })
}

/// The AppSpec CodeDeploy needs for an ECS blue/green deployment of one task definition.
pub fn appspec(task_definition: &str) -> String {
    format!(
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"{task_definition}\"\n        LoadBalancerInfo:\n          ContainerName: \"{CONTAINER}\"\n          ContainerPort: {GHOST_PORT}\n"
    )
}

/// Deploys a given image without the pipeline: the run lens's task definition (`td`, as a plan or deploy
/// returns it) with that image, registered as a new revision and rolled out blue/green (CodeDeploy, or the
/// service's native blue/green). Registered by the run lens's own code, so a later `deploy` sees it as current.
pub async fn release_image(c: &Cicd, spec: &CicdSpec, td: &TaskDef, image: &str, bound: &Bound) -> Result<ReleaseOut> {
    current_task_definition(c, spec).await?;
    require_image(c, spec, image).await?;
    let mut td = td.clone();
    td.container_definitions[0].image = image.to_string();
    let arn = ghost_runtime::ecs::register(&c.ecs, &c.env.names, &td).await?;
    roll_out(c, spec, &arn, bound).await
}

/// How an image reference names its image: by tag or by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageId {
    Tag(String),
    Digest(String),
}

/// Splits `registry/path[:tag][@digest]` into its path (registry included) and how it names the image; `None`
/// when it names neither a tag nor a digest (ECS would take `latest`, which the repository's immutable,
/// commit-tagged images never carry).
pub fn image_id(image: &str) -> Option<(&str, ImageId)> {
    if let Some((path, digest)) = image.split_once('@') {
        let path = path.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map_or(path, |(p, _)| p);
        return (!digest.is_empty()).then(|| (path, ImageId::Digest(digest.to_string())));
    }
    // A colon after the last slash is a tag; one before it is a registry's port.
    let (path, tag) = image.rsplit_once(':').filter(|(_, t)| !t.contains('/'))?;
    (!tag.is_empty()).then(|| (path, ImageId::Tag(tag.to_string())))
}

/// An image in this stack's ECR repository must be there before the release: otherwise the deployment would
/// fail only when ECS pulls it (minutes later on AWS) and roll back. Images from elsewhere are not checked.
async fn require_image(c: &Cicd, spec: &CicdSpec, image: &str) -> Result<()> {
    let repo = spec.image_repository();
    let Some((path, id)) = image_id(image) else {
        return Err(CoreError::Conflict {
            resource: format!("image {image}"),
            message: "names no tag or digest; name the commit tag the build pushed (`<repository>:<commit>`)".into(),
        }
        .into());
    };
    let ours = path.split_once('/').is_some_and(|(host, name)| host.contains(".dkr.ecr.") && name == repo);
    if !ours {
        return Ok(());
    }
    let id = match id {
        ImageId::Tag(t) => aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(t).build(),
        ImageId::Digest(d) => aws_sdk_ecr::types::ImageIdentifier::builder().image_digest(d).build(),
    };
    let found = c.ecr.describe_images().repository_name(&repo).image_ids(id).send().await.aws("DescribeImages", image);
    match found {
        Ok(_) => Ok(()),
        Err(e) if e.is_code(&["ImageNotFoundException"]) => Err(CoreError::Conflict {
            resource: format!("image {image}"),
            message: format!(
                "not in ECR repository {repo}; push it first (the pipeline's build does: `cargo xtask release` \
                 without --image), or name a tag `aws ecr list-images --repository-name {repo}` lists"
            ),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Rolls the service out to `td`, waiting (bounded) for the deployment to end.
pub async fn roll_out(c: &Cicd, spec: &CicdSpec, td: &str, bound: &Bound) -> Result<ReleaseOut> {
    match spec.deployment {
        Deployment::Codedeploy => {
            let app = spec.application();
            let content = AppSpecContent::builder().content(appspec(td)).build();
            let out = c
                .codedeploy
                .create_deployment()
                .application_name(&app)
                .deployment_group_name(spec.deployment_group())
                .revision(
                    RevisionLocation::builder()
                        .revision_type(RevisionLocationType::AppSpecContent)
                        .app_spec_content(content)
                        .build(),
                )
                .description(format!("release of {td}"))
                .send()
                .await
                .aws("CreateDeployment", &app)?;
            let id = out.deployment_id.unwrap_or_default();
            let status = wait_codedeploy(c, spec, &id, bound).await?;
            let note = (status == TRAFFIC_SHIFTED).then(|| {
                format!(
                    "production traffic is on the new revision; the original task set stops after the {}-minute \
                     termination wait, and `cargo xtask rollback` reroutes traffic to it until then",
                    spec.blue_termination_wait_minutes
                )
            });
            Ok(ReleaseOut {
                via: "codedeploy",
                console: codedeploy_console(spec, &id),
                id,
                task_definition: Some(td.into()),
                status,
                note,
            })
        }
        Deployment::Ecs => {
            let out = c
                .ecs
                .update_service()
                .cluster(&spec.cluster)
                .service(&spec.service)
                .task_definition(td)
                .send()
                .await
                .aws("UpdateService", &spec.service)?;
            let svc = out.service.unwrap_or_else(|| aws_sdk_ecs::types::Service::builder().build());
            let id = svc
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))
                .and_then(|d| d.id())
                .unwrap_or_default()
                .to_string();
            let status = wait_ecs(c, spec, &id, bound).await?;
            Ok(ReleaseOut {
                via: "ecs",
                id,
                task_definition: Some(td.into()),
                status,
                note: None,
                console: ecs_console(spec),
            })
        }
    }
}

/// A CodeDeploy release's status once production traffic is on the replacement task set and only the original's
/// termination wait is left.
pub const TRAFFIC_SHIFTED: &str = "TrafficShifted";

/// Waits until production traffic has moved: the deployment stays InProgress through the blue termination wait
/// (minutes to hours, the group's setting) after the release has happened, so the wait ends at
/// `instanceTerminationWaitTimeStarted` ("true as soon as the termination wait period starts", CodeDeploy API
/// reference, DeploymentInfo) or at Succeeded, whichever it sees first.
async fn wait_codedeploy(c: &Cicd, spec: &CicdSpec, id: &str, bound: &Bound) -> Result<String> {
    c.env.waiting("codedeploy-deployment", id, "production traffic moves to the new revision");
    let what = format!("CodeDeploy deployment {id} ({})", codedeploy_console(spec, id));
    Ok(poll_until(&what, bound, || async {
        let d = c.codedeploy.get_deployment().deployment_id(id).send().await.aws("GetDeployment", id)?;
        let info = d.deployment_info();
        let status = info.and_then(|d| d.status()).cloned();
        let name = status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default();
        let waiting = info.is_some_and(|d| d.instance_termination_wait_time_started());
        Ok(match status {
            Some(DeploymentStatus::Succeeded) => Poll::Ready(name),
            Some(DeploymentStatus::Failed | DeploymentStatus::Stopped) => Poll::Failed(name),
            Some(DeploymentStatus::InProgress) if waiting => Poll::Ready(TRAFFIC_SHIFTED.to_string()),
            _ => Poll::Pending(name),
        })
    })
    .await?)
}

async fn wait_ecs(c: &Cicd, spec: &CicdSpec, id: &str, bound: &Bound) -> Result<String> {
    c.env.waiting("ecs-deployment", id, "the blue/green deployment ends");
    let what = format!("ECS deployment {id} of {} ({})", spec.service, ecs_console(spec));
    Ok(poll_until(&what, bound, || async {
        let svc = ghost_runtime::ecs::active_service(&c.ecs, &spec.cluster, &spec.service).await?;
        let d = svc.and_then(|s| s.deployments().iter().find(|d| d.id() == Some(id)).cloned());
        let state = d.as_ref().and_then(|d| d.rollout_state()).map(|s| s.as_str().to_string());
        Ok(match state.as_deref() {
            // The emulator does not run tasks, so it reports no rollout state: the service accepted the revision.
            Some("COMPLETED") | None => Poll::Ready(state.unwrap_or_else(|| "ACCEPTED".into())),
            Some("FAILED") => Poll::Failed("FAILED".into()),
            Some(other) => Poll::Pending(other.to_string()),
        })
    })
    .await?)
}

/// Stops the in-flight deployment with rollback; with none in flight, rolls the service back to the revision
/// before the one it runs.
pub async fn rollback(c: &Cicd, spec: &CicdSpec, bound: &Bound) -> Result<ReleaseOut> {
    if spec.deployment == Deployment::Codedeploy {
        let app = spec.application();
        let active = c
            .codedeploy
            .list_deployments()
            .application_name(&app)
            .deployment_group_name(spec.deployment_group())
            .include_only_statuses(DeploymentStatus::Created)
            .include_only_statuses(DeploymentStatus::Queued)
            .include_only_statuses(DeploymentStatus::InProgress)
            .include_only_statuses(DeploymentStatus::Ready)
            .send()
            .await
            .aws("ListDeployments", &app)?;
        if let Some(id) = active.deployments().first() {
            let out = c
                .codedeploy
                .stop_deployment()
                .deployment_id(id)
                .auto_rollback_enabled(true)
                .send()
                .await
                .aws("StopDeployment", id)?;
            // StopDeployment answers whether the stop was accepted ("Succeeded", "Pending"), not the deployment's
            // state: say both, so "Succeeded" cannot be read as the release having succeeded.
            let answer = out.status().map(|s| s.as_str()).unwrap_or("?");
            let message = out.status_message().map(|m| format!(": {m}")).unwrap_or_default();
            let status = format!("stopped with rollback (StopDeployment {answer}{message})");
            return Ok(ReleaseOut {
                via: "codedeploy",
                id: id.clone(),
                task_definition: None,
                status,
                note: None,
                console: codedeploy_console(spec, id),
            });
        }
    }
    let current = current_task_definition(c, spec).await?;
    let previous = previous_revision(c, spec, &current).await?.ok_or_else(|| CoreError::Conflict {
        resource: format!("service {}", spec.service),
        message: format!("runs {current}, and there is no earlier active revision to roll back to"),
    })?;
    roll_out(c, spec, &previous, bound).await
}

/// The newest active revision of the family older than the current one.
pub async fn previous_revision(c: &Cicd, spec: &CicdSpec, current: &str) -> Result<Option<String>> {
    let revision = |arn: &str| arn.rsplit(':').next().and_then(|r| r.parse::<u32>().ok()).unwrap_or(0);
    let arns: Vec<String> = c
        .ecs
        .list_task_definitions()
        .family_prefix(&spec.family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListTaskDefinitions", &spec.family)?;
    // CodeDeploy moves traffic to task sets without changing the service's own task definition, so the
    // newest revision (what the last release registered) counts as current when it is newer.
    let now = arns.iter().map(|a| revision(a)).max().unwrap_or(0).max(revision(current));
    Ok(arns
        .into_iter()
        .filter(|a| a.contains(&format!("task-definition/{}:", spec.family)) && revision(a) < now)
        .max_by_key(|a| revision(a)))
}

/// One line of history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryItem {
    pub id: String,
    pub status: String,
    pub started: Option<String>,
    pub ended: Option<String>,
    /// What it shipped or why it ran (commit, trigger, rollback of ...).
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub pipeline: String,
    pub executions: Vec<HistoryItem>,
    pub deployments: Vec<HistoryItem>,
}

/// The history as two small tables.
impl std::fmt::Display for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "pipeline {}", self.pipeline)?;
        for (title, items) in [("executions", &self.executions), ("deployments", &self.deployments)] {
            writeln!(f, "\n{title}:")?;
            if items.is_empty() {
                writeln!(f, "  (none yet)")?;
            }
            for i in items {
                let started = i.started.as_deref().unwrap_or("-");
                writeln!(f, "  {:<38} {:<12} {started:<20} {}", i.id, i.status, i.detail)?;
            }
        }
        Ok(())
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

/// The last `n` pipeline executions and deployments, newest first.
pub async fn history(c: &Cicd, spec: &CicdSpec, n: i32) -> Result<History> {
    let name = spec.pipeline();
    let got = c.codepipeline.list_pipeline_executions().pipeline_name(&name).max_results(n).send().await;
    let absent = aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsError::is_pipeline_not_found_exception;
    let executions = ghost_core::AbsentExt::absent_when(got, absent, "ListPipelineExecutions", &name)?
        .map(|o| {
            o.pipeline_execution_summaries()
                .iter()
                .map(|e| HistoryItem {
                    id: e.pipeline_execution_id().unwrap_or_default().into(),
                    status: e.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    started: time(e.start_time()),
                    ended: time(e.last_update_time()),
                    detail: e
                        .source_revisions()
                        .first()
                        .map(|r| format!("commit {}", r.revision_id().unwrap_or("?")))
                        .or_else(|| {
                            e.trigger()
                                .map(|t| format!("trigger {}", t.trigger_type().map(|t| t.as_str()).unwrap_or("?")))
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let deployments = match spec.deployment {
        Deployment::Codedeploy => codedeploy_history(c, spec, n).await?,
        Deployment::Ecs => ecs_history(c, spec).await?,
    };
    Ok(History { pipeline: name, executions, deployments })
}

/// The deployment group's deployments, as CodeDeploy lists them, at most `limit` (all with None).
pub async fn deployment_infos(
    c: &Cicd,
    spec: &CicdSpec,
    limit: Option<usize>,
) -> Result<Vec<aws_sdk_codedeploy::types::DeploymentInfo>> {
    let app = spec.application();
    let got = c
        .codedeploy
        .list_deployments()
        .application_name(&app)
        .deployment_group_name(spec.deployment_group())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListDeployments", &app);
    let not_found = ["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"];
    let mut ids = ghost_core::error::absent_if(got, &not_found)?.unwrap_or_default();
    ids.truncate(limit.unwrap_or(usize::MAX));
    let mut out = Vec::new();
    // BatchGetDeployments takes at most 25 ids.
    for chunk in ids.chunks(25) {
        let got = c
            .codedeploy
            .batch_get_deployments()
            .set_deployment_ids(Some(chunk.to_vec()))
            .send()
            .await
            .aws("BatchGetDeployments", &app)?;
        out.extend(got.deployments_info.unwrap_or_default());
    }
    Ok(out)
}

async fn codedeploy_history(c: &Cicd, spec: &CicdSpec, n: i32) -> Result<Vec<HistoryItem>> {
    let infos = deployment_infos(c, spec, Some(usize::try_from(n).unwrap_or(5))).await?;
    let mut items: Vec<_> = infos
        .iter()
        .map(|d| {
            let rollback = d
                .rollback_info()
                .and_then(|r| r.rollback_triggering_deployment_id())
                .map(|id| format!("rollback of {id}"));
            HistoryItem {
                id: d.deployment_id().unwrap_or_default().into(),
                status: d.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                started: time(d.create_time()),
                ended: time(d.complete_time()),
                detail: rollback.or_else(|| d.description().map(str::to_string)).unwrap_or_default(),
            }
        })
        .collect();
    items.sort_by(|a, b| b.started.cmp(&a.started));
    Ok(items)
}

async fn ecs_history(c: &Cicd, spec: &CicdSpec) -> Result<Vec<HistoryItem>> {
    Ok(service(c, spec)
        .await?
        .map(|s| {
            s.deployments()
                .iter()
                .map(|d| HistoryItem {
                    id: d.id().unwrap_or_default().into(),
                    status: format!(
                        "{}{}",
                        d.status().unwrap_or_default(),
                        d.rollout_state().map(|r| format!(" {}", r.as_str())).unwrap_or_default()
                    ),
                    started: time(d.created_at()),
                    ended: time(d.updated_at()),
                    detail: d.task_definition().unwrap_or_default().into(),
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_wait_that_ran_out_says_the_deployment_is_still_running_and_how_to_follow_it() {
        let timeout = ghost_core::Error::WaitTimeout {
            what: "CodeDeploy deployment d-1 (https://console/d-1)".into(),
            waited_s: 600,
            last: "InProgress".into(),
        };
        let text = super::still_running(timeout.into(), "; `cargo xtask rollback` stops it");
        assert!(text.starts_with("gave up waiting for CodeDeploy deployment d-1 (https://console/d-1)"), "{text}");
        assert!(text.contains("still running") && text.contains("cargo xtask status"), "{text}");
        assert!(text.contains("cargo xtask rollback"), "{text}");
        // Any other error passes through as it was.
        let failed = ghost_core::Error::WaitFailed { what: "deployment d-2".into(), state: "Failed".into() };
        assert!(!super::still_running(failed.into(), "").contains("still running"));
    }

    use super::{ImageId, image_id};

    #[test]
    fn image_references_split_into_path_and_tag_or_digest() {
        let ecr = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/blog-blog";
        assert_eq!(image_id(&format!("{ecr}:0123abcd")), Some((ecr, ImageId::Tag("0123abcd".into()))));
        assert_eq!(image_id(&format!("{ecr}@sha256:ab")), Some((ecr, ImageId::Digest("sha256:ab".into()))));
        assert_eq!(image_id(&format!("{ecr}:v1@sha256:ab")), Some((ecr, ImageId::Digest("sha256:ab".into()))));
        assert_eq!(image_id("localhost:5000/ghost:6"), Some(("localhost:5000/ghost", ImageId::Tag("6".into()))));
        assert_eq!(image_id("ghost:6-alpine"), Some(("ghost", ImageId::Tag("6-alpine".into()))));
        // No tag: ECS would pull `latest`; a registry port is not a tag; empty tags and digests are nothing.
        for none in [ecr, "localhost:5000/ghost", "ghost:", "ghost@"] {
            assert_eq!(image_id(none), None, "{none}");
        }
    }
}
