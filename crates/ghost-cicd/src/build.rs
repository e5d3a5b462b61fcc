//! CodeBuild: the project that builds the site image (privileged, for Docker) on CodeBuild's current standard
//! image, with its logs in its own log group. The buildspec lives in the site repository ([`crate::site`]); the
//! project only tells it where to push (REPOSITORY_URI) and which container to name (CONTAINER_NAME).

use std::collections::BTreeMap;

use aws_sdk_codebuild::types::{
    ArtifactsType, CloudWatchLogsConfig, ComputeType, EnvironmentType, EnvironmentVariable, EnvironmentVariableType,
    LogsConfig, LogsConfigStatusType, Project, ProjectArtifacts, ProjectEnvironment, ProjectSource, SourceType, Tag,
};
use ghost_core::{AwsResultExt, Change, Outcome};
use ghost_runtime::ecs::CONTAINER;

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

/// The fields we manage, read the same way from the desired and the found project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectView {
    pub source: String,
    pub buildspec: String,
    pub artifacts: String,
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
            source: "CODEPIPELINE".into(),
            buildspec: BUILDSPEC.into(),
            artifacts: "CODEPIPELINE".into(),
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
            source: p.source().map(|s| s.r#type().as_str().to_string()).unwrap_or_default(),
            buildspec: p.source().and_then(|s| s.buildspec()).unwrap_or_default().into(),
            artifacts: p.artifacts().map(|a| a.r#type().as_str().to_string()).unwrap_or_default(),
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

    pub fn diff(&self, found: &Self) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut field = |name: &str, have: String, want: String| {
            if have != want {
                changes.push(Change::new(name, have, want));
            }
        };
        field("source", found.source.clone(), self.source.clone());
        field("buildspec", found.buildspec.clone(), self.buildspec.clone());
        field("artifacts", found.artifacts.clone(), self.artifacts.clone());
        field("image", found.image.clone(), self.image.clone());
        field("compute", found.compute.clone(), self.compute.clone());
        field("privileged", found.privileged.to_string(), self.privileged.to_string());
        field("variables", format!("{:?}", found.variables), format!("{:?}", self.variables));
        field("service_role", found.service_role.clone(), self.service_role.clone());
        field("log_group", found.log_group.clone(), self.log_group.clone());
        field("timeout_minutes", found.timeout_minutes.to_string(), self.timeout_minutes.to_string());
        changes
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
            .r#type(EnvironmentType::LinuxContainer)
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

/// Returns the project name.
pub async fn ensure_project(c: &Cicd, spec: &CicdSpec, repository_uri: &str, role: &str) -> Result<String> {
    let name = spec.project();
    let want = ProjectView::desired(spec, repository_uri, role);
    c.env
        .track(KIND, &name, async {
            let Some(found) = find_project(c, &name).await? else {
                if c.env.is_plan() {
                    return Ok(Outcome::Created(name.clone()));
                }
                let tags = c
                    .env
                    .names
                    .tags("build-project", &name)
                    .into_iter()
                    .map(|t| Tag::builder().key(t.key).value(t.value).build());
                c.codebuild
                    .create_project()
                    .name(&name)
                    .description(format!("Builds the Ghost site image of stack {}", spec.names.stack()))
                    .source(want.source_sdk())
                    .artifacts(want.artifacts_sdk())
                    .environment(want.environment_sdk())
                    .service_role(&want.service_role)
                    .logs_config(want.logs_sdk())
                    .timeout_in_minutes(want.timeout_minutes)
                    .set_tags(Some(tags.collect()))
                    .send()
                    .await
                    .aws("CreateProject", &name)?;
                return Ok(Outcome::Created(name.clone()));
            };
            let changes = want.diff(&ProjectView::found(&found));
            if !changes.is_empty() && !c.env.is_plan() {
                c.codebuild
                    .update_project()
                    .name(&name)
                    .source(want.source_sdk())
                    .artifacts(want.artifacts_sdk())
                    .environment(want.environment_sdk())
                    .service_role(&want.service_role)
                    .logs_config(want.logs_sdk())
                    .timeout_in_minutes(want.timeout_minutes)
                    .send()
                    .await
                    .aws("UpdateProject", &name)?;
            }
            Ok(Outcome::from_changes(name.clone(), changes))
        })
        .await
        .map(Outcome::into_id)
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
