//! CodeBuild: the project that builds the site image (privileged, for Docker) on CodeBuild's current standard
//! image, with its logs in its own log group. The buildspec lives in the site repository ([`crate::site`]); the
//! project only tells it where to push (REPOSITORY_URI) and which container to name (CONTAINER_NAME).

use std::collections::BTreeMap;

use aws_sdk_codebuild::types::{
    ArtifactsType, CloudWatchLogsConfig, ComputeType, EnvironmentType, EnvironmentVariable, EnvironmentVariableType,
    LogsConfig, LogsConfigStatusType, Project, ProjectArtifacts, ProjectEnvironment, ProjectSource, SourceType, Tag,
};
use ghost_core::AwsResultExt;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::wait::retry_iam_propagation;
use ghost_runtime::ecs::CONTAINER;
use serde::{Deserialize, Serialize};

use crate::spec::{BUILD_COMPUTE, BUILD_IMAGE, BUILD_TIMEOUT_MINUTES, CicdSpec};
use crate::{Cicd, Result};

const KIND: &str = "codebuild-project";
pub const BUILDSPEC: &str = "buildspec.yml";

pub async fn ensure_log_group(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    let name = spec.build_log_group();
    Ok(ghost_aws::logs::ensure_log_group(&c.logs, &c.env, "build-log-group", &name, spec.log_retention_days).await?)
}

pub async fn delete_log_group(c: &Cicd, spec: &CicdSpec) -> Result<()> {
    Ok(ghost_aws::logs::delete_log_group(&c.logs, &c.env, &spec.build_log_group()).await?)
}

/// What CreateProject sets (tags aside, written once), read the same way from the desired and the found project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectView {
    pub description: String,
    pub source: String,
    pub buildspec: String,
    pub artifacts: String,
    pub environment_type: String,
    pub image: String,
    pub compute: String,
    pub privileged: bool,
    pub variables: BTreeMap<String, String>,
    pub service_role: String,
    pub log_group: String,
    pub timeout_minutes: i32,
}

impl ProjectView {
    pub fn desired(spec: &CicdSpec, repository_uri: &str, role: &str) -> Self {
        Self {
            description: format!("Builds the Ghost site image of stack {}", spec.names.stack()),
            source: "CODEPIPELINE".into(),
            buildspec: BUILDSPEC.into(),
            artifacts: "CODEPIPELINE".into(),
            environment_type: EnvironmentType::LinuxContainer.as_str().into(),
            image: BUILD_IMAGE.into(),
            compute: BUILD_COMPUTE.into(),
            privileged: true,
            variables: BTreeMap::from([
                ("REPOSITORY_URI".to_string(), repository_uri.to_string()),
                ("CONTAINER_NAME".to_string(), CONTAINER.to_string()),
            ]),
            service_role: role.into(),
            log_group: spec.build_log_group(),
            timeout_minutes: BUILD_TIMEOUT_MINUTES,
        }
    }

    pub fn found(p: &Project) -> Self {
        let env = p.environment();
        Self {
            description: p.description().unwrap_or_default().into(),
            source: p.source().map(|s| s.r#type().as_str().to_string()).unwrap_or_default(),
            buildspec: p.source().and_then(|s| s.buildspec()).unwrap_or_default().into(),
            artifacts: p.artifacts().map(|a| a.r#type().as_str().to_string()).unwrap_or_default(),
            environment_type: env.map(|e| e.r#type().as_str().to_string()).unwrap_or_default(),
            image: env.map(|e| e.image().to_string()).unwrap_or_default(),
            compute: env.map(|e| e.compute_type().as_str().to_string()).unwrap_or_default(),
            privileged: env.and_then(|e| e.privileged_mode()).unwrap_or(false),
            variables: env
                .map(|e| {
                    e.environment_variables().iter().map(|v| (v.name().to_string(), v.value().to_string())).collect()
                })
                .unwrap_or_default(),
            service_role: p.service_role().unwrap_or_default().into(),
            log_group: p
                .logs_config()
                .and_then(|l| l.cloud_watch_logs())
                .filter(|c| c.status() == &LogsConfigStatusType::Enabled)
                .and_then(|c| c.group_name())
                .unwrap_or_default()
                .into(),
            timeout_minutes: p.timeout_in_minutes().unwrap_or(60),
        }
    }

    fn source_sdk(&self) -> ProjectSource {
        ProjectSource::builder()
            .r#type(SourceType::from(self.source.as_str()))
            .buildspec(&self.buildspec)
            .build()
            .expect("type set")
    }

    fn artifacts_sdk(&self) -> ProjectArtifacts {
        ProjectArtifacts::builder().r#type(ArtifactsType::from(self.artifacts.as_str())).build().expect("type set")
    }

    fn environment_sdk(&self) -> ProjectEnvironment {
        let vars = self.variables.iter().map(|(k, v)| {
            EnvironmentVariable::builder()
                .name(k)
                .value(v)
                .r#type(EnvironmentVariableType::Plaintext)
                .build()
                .expect("name and value")
        });
        ProjectEnvironment::builder()
            .r#type(EnvironmentType::from(self.environment_type.as_str()))
            .image(&self.image)
            .compute_type(ComputeType::from(self.compute.as_str()))
            .privileged_mode(self.privileged)
            .set_environment_variables(Some(vars.collect()))
            .build()
            .expect("type, image and compute set")
    }

    fn logs_sdk(&self) -> LogsConfig {
        LogsConfig::builder()
            .cloud_watch_logs(
                CloudWatchLogsConfig::builder()
                    .status(LogsConfigStatusType::Enabled)
                    .group_name(&self.log_group)
                    .build()
                    .expect("status set"),
            )
            .build()
    }
}

pub async fn find_project(c: &Cicd, name: &str) -> Result<Option<Project>> {
    let out = c.codebuild.batch_get_projects().names(name).send().await.aws("BatchGetProjects", name)?;
    Ok(out.projects.unwrap_or_default().into_iter().find(|p| p.name() == Some(name)))
}

/// Everything of the view on either request: CreateProject and UpdateProject take the same settings.
macro_rules! settings {
    ($req:expr, $d:expr) => {
        $req.description(&$d.description)
            .source($d.source_sdk())
            .artifacts($d.artifacts_sdk())
            .environment($d.environment_sdk())
            .service_role(&$d.service_role)
            .logs_config($d.logs_sdk())
            .timeout_in_minutes($d.timeout_minutes)
    };
}

/// The build project as a kind of the reconcile core: UpdateProject takes the whole view, so any difference is
/// one call.
#[derive(Debug)]
pub struct BuildProject<'a> {
    pub c: &'a Cicd,
    pub name: String,
    pub desired: ProjectView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectUpdate;

impl Resource for BuildProject<'_> {
    type View = ProjectView;
    type Out = String;
    type Update = ProjectUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &ProjectView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.clone()
    }
    async fn find(&self) -> Result<Option<Live<ProjectView, String>>> {
        let found = find_project(self.c, &self.name).await?;
        Ok(found.map(|p| Live::ready(ProjectView::found(&p), self.name.clone())))
    }
    async fn create(&self, d: &ProjectView) -> Result<String> {
        let name = &self.name;
        let tags = self.c.env.names.tags("build-project", name).into_iter();
        let tags = tags.map(|t| Tag::builder().key(t.key).value(t.value).build());
        let req = settings!(self.c.codebuild.create_project().name(name), d).set_tags(Some(tags.collect()));
        retry_iam_propagation(&self.c.env, "build-project", name, || async {
            req.clone().send().await.aws("CreateProject", name)
        })
        .await?;
        Ok(name.clone())
    }
    fn updates(&self, d: &ProjectView, l: &ProjectView) -> Result<Vec<ProjectUpdate>> {
        Ok(reconcile::when([(d != l, ProjectUpdate)]))
    }
    async fn update(&self, _: &String, _: ProjectUpdate) -> Result<()> {
        let (d, name) = (&self.desired, &self.name);
        let req = settings!(self.c.codebuild.update_project().name(name), d);
        retry_iam_propagation(&self.c.env, "build-project", name, || async {
            req.clone().send().await.aws("UpdateProject", name)
        })
        .await?;
        Ok(())
    }
}

/// Returns the project name.
pub async fn ensure_project(c: &Cicd, spec: &CicdSpec, repository_uri: &str, role: &str) -> Result<String> {
    let project = BuildProject { c, name: spec.project(), desired: ProjectView::desired(spec, repository_uri, role) };
    Ok(reconcile::ensure(&c.env, &project).await?.into_id())
}

pub async fn delete_project(c: &Cicd, spec: &CicdSpec) -> Result<()> {
    let name = spec.project();
    let Some(p) = find_project(c, &name).await? else { return Ok(()) };
    let arn = p.arn.unwrap_or(name.clone());
    c.env
        .delete(KIND, &name, &arn, &["ResourceNotFoundException"], || async {
            c.codebuild.delete_project().name(&name).send().await.map(|_| ()).aws("DeleteProject", &name)
        })
        .await?;
    Ok(())
}
