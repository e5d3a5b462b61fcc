//! CodePipeline V2: Source → Build → [Approval] → Deploy, one pipeline (the seed builds in one and deploys in
//! another; one pipeline keeps a release's history, approval and rollback in one place). A push to the branch
//! starts it: a V2 trigger for GitHub, an EventBridge rule for CodeCommit (its native change events).

use std::collections::BTreeMap;

use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineError;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType, ExecutionMode,
    GitBranchFilterCriteria, GitConfiguration, GitPushFilter, InputArtifact, OutputArtifact, PipelineDeclaration,
    PipelineExecutionStatus, PipelineTriggerDeclaration, PipelineTriggerProviderType, PipelineType, StageDeclaration,
    Tag, TriggerType,
};
use ghost_core::config::{Deployment, Source};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::wait::retry_iam_propagation;
use ghost_core::{AbsentExt, Action, AwsResultExt};
use serde_json::{Value, json};

use crate::source::ConnectionOut;
use crate::spec::{BUILD_ARTIFACT, CicdSpec, SOURCE_ARTIFACT};
use crate::{Cicd, Result};

const KIND: &str = "codepipeline";
const SOURCE_ACTION: &str = "Source";

fn action(
    name: &str,
    category: ActionCategory,
    provider: &str,
    config: &[(&str, String)],
    input: Option<&str>,
    output: Option<&str>,
) -> ActionDeclaration {
    ActionDeclaration::builder()
        .name(name)
        .action_type_id(
            ActionTypeId::builder()
                .category(category)
                .owner(ActionOwner::Aws)
                .provider(provider)
                .version("1")
                .build()
                .expect("type id set"),
        )
        .run_order(1)
        .set_configuration(Some(config.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()))
        .set_input_artifacts(input.map(|i| vec![InputArtifact::builder().name(i).build().expect("name set")]))
        .set_output_artifacts(output.map(|o| vec![OutputArtifact::builder().name(o).build().expect("name set")]))
        .build()
        .expect("name and type set")
}

fn stage(name: &str, action: ActionDeclaration) -> StageDeclaration {
    StageDeclaration::builder().name(name).actions(action).build().expect("name and actions set")
}

/// The whole desired declaration.
pub fn declaration(spec: &CicdSpec, role: &str, bucket: &str, connection: Option<&str>) -> PipelineDeclaration {
    let source = match spec.source {
        Source::Codecommit => action(
            SOURCE_ACTION,
            ActionCategory::Source,
            "CodeCommit",
            &[
                ("RepositoryName", spec.repository.clone()),
                ("BranchName", spec.branch.clone()),
                // The EventBridge rule starts the pipeline; polling would double-start it.
                ("PollForSourceChanges", "false".into()),
                ("OutputArtifactFormat", "CODE_ZIP".into()),
            ],
            None,
            Some(SOURCE_ARTIFACT),
        ),
        Source::Github => action(
            SOURCE_ACTION,
            ActionCategory::Source,
            "CodeStarSourceConnection",
            &[
                ("ConnectionArn", connection.unwrap_or_default().to_string()),
                ("FullRepositoryId", spec.repository.clone()),
                ("BranchName", spec.branch.clone()),
                ("OutputArtifactFormat", "CODE_ZIP".into()),
            ],
            None,
            Some(SOURCE_ARTIFACT),
        ),
    };
    let build = action(
        "Build",
        ActionCategory::Build,
        "CodeBuild",
        &[("ProjectName", spec.project())],
        Some(SOURCE_ARTIFACT),
        Some(BUILD_ARTIFACT),
    );
    let deploy = match spec.deployment {
        Deployment::Codedeploy => action(
            "Deploy",
            ActionCategory::Deploy,
            "CodeDeployToECS",
            &[
                ("ApplicationName", spec.application()),
                ("DeploymentGroupName", spec.deployment_group()),
                ("TaskDefinitionTemplateArtifact", BUILD_ARTIFACT.into()),
                ("TaskDefinitionTemplatePath", "taskdef.json".into()),
                ("AppSpecTemplateArtifact", BUILD_ARTIFACT.into()),
                ("AppSpecTemplatePath", "appspec.yaml".into()),
                ("Image1ArtifactName", BUILD_ARTIFACT.into()),
                ("Image1ContainerName", "IMAGE1_NAME".into()),
            ],
            Some(BUILD_ARTIFACT),
            None,
        ),
        Deployment::Ecs => action(
            "Deploy",
            ActionCategory::Deploy,
            "ECS",
            &[
                ("ClusterName", spec.cluster.clone()),
                ("ServiceName", spec.service.clone()),
                ("FileName", "imagedefinitions.json".into()),
                ("DeploymentTimeout", "60".into()),
            ],
            Some(BUILD_ARTIFACT),
            None,
        ),
    };
    let mut stages = vec![stage("Source", source), stage("Build", build)];
    if spec.approval {
        let approve = action(
            "Approve",
            ActionCategory::Approval,
            "Manual",
            &[("CustomData", format!("Release the new Ghost image of stack {} to production?", spec.names.stack()))],
            None,
            None,
        );
        stages.push(stage("Approval", approve));
    }
    stages.push(stage("Deploy", deploy));
    let triggers = (spec.source == Source::Github).then(|| {
        vec![
            PipelineTriggerDeclaration::builder()
                .provider_type(PipelineTriggerProviderType::CodeStarSourceConnection)
                .git_configuration(
                    GitConfiguration::builder()
                        .source_action_name(SOURCE_ACTION)
                        .push(
                            GitPushFilter::builder()
                                .branches(GitBranchFilterCriteria::builder().includes(&spec.branch).build())
                                .build(),
                        )
                        .build()
                        .expect("source action set"),
                )
                .build()
                .expect("provider and git configuration set"),
        ]
    });
    PipelineDeclaration::builder()
        .name(spec.pipeline())
        .role_arn(role)
        .artifact_store(
            ArtifactStore::builder().r#type(ArtifactStoreType::S3).location(bucket).build().expect("store set"),
        )
        .set_stages(Some(stages))
        .pipeline_type(PipelineType::V2)
        .execution_mode(ExecutionMode::Superseded)
        .set_triggers(triggers)
        .build()
        .expect("name, role and stages set")
}

/// The fields we manage, as comparable JSON: the same function reads the desired and the found declaration,
/// so what AWS adds (version, defaults we do not set) never shows as a change.
pub fn view(d: &PipelineDeclaration) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert("role".into(), json!(d.role_arn()));
    out.insert("artifact_store".into(), json!(d.artifact_store().map(|a| a.location())));
    out.insert("type".into(), json!(d.pipeline_type().map(|t| t.as_str()).unwrap_or("V1")));
    out.insert("execution_mode".into(), json!(d.execution_mode().map(|m| m.as_str()).unwrap_or("SUPERSEDED")));
    let stages: Vec<Value> = d.stages().iter().map(|s| json!(s.name())).collect();
    out.insert("stages".into(), Value::Array(stages));
    for s in d.stages() {
        let actions: Vec<Value> = s
            .actions()
            .iter()
            .map(|a| {
                let t = a.action_type_id();
                let config: BTreeMap<&String, &String> = a.configuration().map(|c| c.iter().collect()).unwrap_or_default();
                json!({
                    "name": a.name(),
                    "type": t.map(|t| format!("{}/{}/{}/{}", t.category().as_str(), t.owner().as_str(), t.provider(), t.version())),
                    "run_order": a.run_order().unwrap_or(1),
                    "configuration": config,
                    "inputs": a.input_artifacts().iter().map(|i| i.name()).collect::<Vec<_>>(),
                    "outputs": a.output_artifacts().iter().map(|o| o.name()).collect::<Vec<_>>(),
                })
            })
            .collect();
        out.insert(format!("stage {}", s.name()), Value::Array(actions));
    }
    let triggers: Vec<Value> = d
        .triggers()
        .iter()
        .map(|t| {
            let git = t.git_configuration();
            json!({
                "provider": t.provider_type().as_str(),
                "source_action": git.map(|g| g.source_action_name()),
                "branches": git.map(|g| g.push().iter().filter_map(|p| p.branches()).flat_map(|b| b.includes().to_vec()).collect::<Vec<_>>()),
            })
        })
        .collect();
    out.insert("triggers".into(), Value::Array(triggers));
    out
}

pub async fn find_pipeline(c: &Cicd, name: &str) -> Result<Option<PipelineDeclaration>> {
    let got = c.codepipeline.get_pipeline().name(name).send().await;
    Ok(got
        .absent_when(GetPipelineError::is_pipeline_not_found_exception, "GetPipeline", name)?
        .and_then(|o| o.pipeline))
}

/// The pipeline as a kind of the reconcile core. Its view is [`view`] of the declaration, and UpdatePipeline
/// takes the whole declaration, so any difference is one call.
#[derive(Debug)]
pub struct Pipeline<'a> {
    pub c: &'a Cicd,
    pub spec: &'a CicdSpec,
    pub declaration: PipelineDeclaration,
    pub desired: BTreeMap<String, Value>,
}

impl<'a> Pipeline<'a> {
    pub fn new(c: &'a Cicd, spec: &'a CicdSpec, declaration: PipelineDeclaration) -> Self {
        let desired = view(&declaration);
        Self { c, spec, declaration, desired }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineUpdate;

impl Resource for Pipeline<'_> {
    type View = BTreeMap<String, Value>;
    type Out = String;
    type Update = PipelineUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.spec.pipeline()
    }
    fn desired(&self) -> &BTreeMap<String, Value> {
        &self.desired
    }
    fn planned(&self) -> String {
        self.spec.pipeline_arn()
    }
    async fn find(&self) -> Result<Option<Live<BTreeMap<String, Value>, String>>> {
        let found = find_pipeline(self.c, &self.spec.pipeline()).await?;
        Ok(found.map(|d| Live::ready(view(&d), self.spec.pipeline_arn())))
    }
    async fn create(&self, _: &BTreeMap<String, Value>) -> Result<String> {
        let name = self.spec.pipeline();
        let tags = self.c.env.names.tags("pipeline", &name).into_iter();
        let tags = tags.map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value"));
        let req = self.c.codepipeline.create_pipeline().pipeline(self.declaration.clone());
        let req = req.set_tags(Some(tags.collect()));
        retry_iam_propagation(&self.c.env, "pipeline", &name, || async {
            req.clone().send().await.aws("CreatePipeline", &name)
        })
        .await?;
        Ok(self.spec.pipeline_arn())
    }
    fn updates(&self, d: &BTreeMap<String, Value>, l: &BTreeMap<String, Value>) -> Result<Vec<PipelineUpdate>> {
        Ok(reconcile::when([(d != l, PipelineUpdate)]))
    }
    async fn update(&self, _: &String, _: PipelineUpdate) -> Result<()> {
        let name = self.spec.pipeline();
        let req = self.c.codepipeline.update_pipeline().pipeline(self.declaration.clone());
        retry_iam_propagation(&self.c.env, "pipeline", &name, || async {
            req.clone().send().await.aws("UpdatePipeline", &name)
        })
        .await?;
        Ok(())
    }
}

/// Returns the pipeline ARN. A pipeline just created has started its first execution: see [`stop_first_run`].
pub async fn ensure_pipeline(
    c: &Cicd,
    spec: &CicdSpec,
    role: &str,
    bucket: &str,
    connection: Option<&ConnectionOut>,
) -> Result<String> {
    let arn = connection.map(|c| c.arn.as_str());
    let out = reconcile::ensure(&c.env, &Pipeline::new(c, spec, declaration(spec, role, bucket, arn))).await?;
    if out.action() == Action::Create && !c.env.is_plan() {
        stop_first_run(c, spec, connection).await?;
    }
    Ok(out.into_id())
}

/// Why the source has nothing for a pipeline to fetch yet, if so: the CodeCommit branch has no commit, or the
/// GitHub connection's handshake is still to be done.
async fn nothing_to_build(c: &Cicd, spec: &CicdSpec, connection: Option<&ConnectionOut>) -> Result<Option<String>> {
    if let Some(conn) = connection {
        return Ok((conn.status != "AVAILABLE").then(|| format!("the connection is {}", conn.status)));
    }
    let got = c.codecommit.get_branch().repository_name(&spec.repository).branch_name(&spec.branch).send().await;
    match got.aws("GetBranch", &spec.repository) {
        Ok(_) => Ok(None),
        Err(e) if e.is_code(&["BranchDoesNotExistException", "RepositoryDoesNotExistException"]) => {
            Ok(Some(format!("branch {} of {} has no commit yet", spec.branch, spec.repository)))
        }
        Err(e) => Err(e.into()),
    }
}

/// "When a pipeline is created, a pipeline execution starts automatically" (CodePipeline User Guide, "Start a
/// pipeline in CodePipeline"). With nothing to fetch it fails at Source, and the pipeline-events rule mails a FAILED
/// notification on the stack's first deploy. Stopped instead (abandoned), and said so; one that ended already
/// (PipelineExecutionNotStoppableException) is left as it ended. With something to build it runs, as AWS means it.
async fn stop_first_run(c: &Cicd, spec: &CicdSpec, connection: Option<&ConnectionOut>) -> Result<()> {
    let Some(why) = nothing_to_build(c, spec, connection).await? else { return Ok(()) };
    let name = spec.pipeline();
    let runs = c.codepipeline.list_pipeline_executions().pipeline_name(&name).max_results(5).send().await;
    let runs = runs.aws("ListPipelineExecutions", &name)?;
    let first = runs.pipeline_execution_summaries().iter().find(|r| {
        r.trigger().and_then(|t| t.trigger_type()) == Some(&TriggerType::CreatePipeline)
            && r.status() == Some(&PipelineExecutionStatus::InProgress)
    });
    let Some(id) = first.and_then(|r| r.pipeline_execution_id()) else { return Ok(()) };
    let reason = format!("nothing to build yet: {why}");
    let stopped = c
        .codepipeline
        .stop_pipeline_execution()
        .pipeline_name(&name)
        .pipeline_execution_id(id)
        .abandon(true)
        .reason(&reason)
        .send()
        .await
        .aws("StopPipelineExecution", id);
    match stopped {
        Ok(_) => {
            let branch = &spec.branch;
            let message = format!(
                "stopped the execution CodePipeline starts on creation ({reason}); the first push to {branch} \
                 starts the pipeline"
            );
            c.env.warn("pipeline-execution", id, message);
            Ok(())
        }
        Err(e) if e.is_code(&["PipelineExecutionNotStoppableException"]) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_pipeline(c: &Cicd, spec: &CicdSpec) -> Result<()> {
    let name = spec.pipeline();
    if find_pipeline(c, &name).await?.is_none() {
        return Ok(());
    }
    c.env
        .delete(KIND, &name, &spec.pipeline_arn(), &["PipelineNotFoundException"], || async {
            c.codepipeline.delete_pipeline().name(&name).send().await.map(|_| ()).aws("DeletePipeline", &name)
        })
        .await?;
    Ok(())
}

/// CodeCommit's change event for a push to the branch.
pub fn source_event_pattern(spec: &CicdSpec) -> Value {
    json!({
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [spec.codecommit_arn()],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": [spec.branch]
        }
    })
}

/// The rule that starts the pipeline on a push (CodeCommit), with the pipeline as its one target.
pub async fn ensure_source_rule(c: &Cicd, spec: &CicdSpec, pipeline_arn: &str, role: &str) -> Result<()> {
    let rule = ghost_aws::events::RuleSpec {
        name: spec.source_rule(),
        component: "source-rule",
        description: format!("Starts pipeline {} on a push to {}", spec.pipeline(), spec.branch),
        pattern: source_event_pattern(spec),
        target_id: "pipeline",
        target_arn: pipeline_arn,
        role: Some(role),
    };
    ghost_aws::events::ensure_rule(&c.events, &c.env, &rule).await?;
    Ok(())
}

pub async fn delete_source_rule(c: &Cicd, spec: &CicdSpec) -> Result<()> {
    Ok(ghost_aws::events::delete_rule(&c.events, &c.env, &spec.source_rule()).await?)
}
