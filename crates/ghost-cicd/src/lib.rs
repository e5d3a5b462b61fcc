//! Build lens: a push to the site repository builds a new Ghost image and rolls it out blue/green with
//! automatic rollback. ECR (scan on push, immutable commit tags, lifecycle), the source (CodeCommit, or GitHub
//! through a CodeConnections connection), the artifact bucket, CodeBuild, the deploy (CodeDeploy blue/green, or
//! ECS-native blue/green) and one CodePipeline V2 that ties them together. Every resource follows the ensure
//! contract of `ghost-core`; the task definition the pipeline ships is rendered from the run lens's builder
//! ([`site`]), so deploy and pipeline never disagree.

pub mod bucket;
pub mod build;
pub mod deploy;
pub mod pipeline;
pub mod registry;
pub mod release;
pub mod roles;
pub mod site;
pub mod source;
pub mod spec;

#[cfg(test)]
mod mock_tests;

use aws_types::SdkConfig;
use ghost_aws::iam;
use ghost_core::DataPolicy;
use ghost_core::config::{Deployment, Source};
use ghost_core::{AwsResultExt, Env};
use ghost_runtime::RuntimeOut;
use serde::Serialize;

pub use spec::CicdSpec;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] ghost_core::Error),
    #[error(transparent)]
    Runtime(#[from] ghost_runtime::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The lens's handle: one client per service, and the environment.
#[derive(Debug, Clone)]
pub struct Cicd {
    pub ecr: aws_sdk_ecr::Client,
    pub codecommit: aws_sdk_codecommit::Client,
    pub connections: aws_sdk_codeconnections::Client,
    pub s3: aws_sdk_s3::Client,
    pub codebuild: aws_sdk_codebuild::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub sts: aws_sdk_sts::Client,
    pub env: Env,
}

impl Cicd {
    pub fn new(sdk: &SdkConfig, env: Env) -> Self {
        // An endpoint override (an emulator) cannot serve virtual-hosted bucket names: use path style there.
        let s3 = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        Self {
            ecr: aws_sdk_ecr::Client::new(sdk),
            codecommit: aws_sdk_codecommit::Client::new(sdk),
            connections: aws_sdk_codeconnections::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            codebuild: aws_sdk_codebuild::Client::new(sdk),
            codedeploy: aws_sdk_codedeploy::Client::new(sdk),
            codepipeline: aws_sdk_codepipeline::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            ecs: aws_sdk_ecs::Client::new(sdk),
            sts: aws_sdk_sts::Client::new(sdk),
            env,
        }
    }

    /// The account the credentials belong to: bucket names and the policies' ARNs need it.
    pub async fn account(&self) -> Result<String> {
        let me = self.sts.get_caller_identity().send().await.aws("GetCallerIdentity", "caller")?;
        Ok(me.account.unwrap_or_default())
    }
}

/// What the operate lens and the user need from the build lens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CicdOut {
    pub image_repository_uri: String,
    /// `git clone` URL (CodeCommit HTTPS) or the GitHub repository.
    pub source: String,
    /// GitHub: the connection and its status (PENDING until a person completes the handshake).
    pub connection: Option<source::ConnectionOut>,
    pub artifact_bucket: String,
    pub build_project: String,
    pub build_log_group: String,
    /// deployment = "codedeploy": (application, deployment group).
    pub codedeploy: Option<(String, String)>,
    pub pipeline: String,
    pub pipeline_arn: String,
}

/// The half of the build lens that needs nothing from the network or the runtime: the image repository, the
/// source, the artifact bucket, the build log group, the build role and the project. The whole-stack deploy runs
/// it beside the network and the runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOut {
    pub image_repository_uri: String,
    pub source: source::SourceOut,
    pub artifact_bucket: String,
    pub build_log_group: String,
    pub build_project: String,
    /// With deployment = "codedeploy": CodeDeploy's role, made here so that it has propagated (CodeDeploy
    /// refuses a role it cannot assume yet) by the time the deployment group is created.
    pub codedeploy_role: Option<String>,
    /// With source = "codecommit": the push rule's role, early for the same reason.
    pub events_role: Option<String>,
}

/// Brings the runtime-independent half to the desired state. The repository, the source, the bucket, the log
/// group and the roles that name nothing of the runtime do not wait for each other; the project waits for its
/// role.
pub async fn ensure_build(c: &Cicd, spec: &CicdSpec) -> Result<BuildOut> {
    let role = |wanted: bool, role: fn(&CicdSpec) -> iam::RoleSpec| async move {
        if !wanted {
            return Ok::<_, Error>(None);
        }
        Ok(Some(iam::ensure_role(&c.iam, &c.env, &role(spec)).await?.into_id()))
    };
    let ((repo_uri, src, artifact_bucket, build_log_group), build_role, codedeploy_role, events_role) = tokio::try_join!(
        async {
            tokio::try_join!(
                registry::ensure_repository(c, spec),
                source::ensure_source(c, spec),
                bucket::ensure_bucket(c, spec),
                build::ensure_log_group(c, spec),
            )
        },
        async { Ok::<_, Error>(iam::ensure_role(&c.iam, &c.env, &roles::codebuild_role(spec)).await?.into_id()) },
        role(spec.deployment == Deployment::Codedeploy, roles::codedeploy_role),
        role(spec.source == Source::Codecommit, roles::events_role),
    )?;
    let build_project = build::ensure_project(c, spec, &repo_uri, &build_role).await?;
    Ok(BuildOut {
        image_repository_uri: repo_uri,
        source: src,
        artifact_bucket,
        build_log_group,
        build_project,
        codedeploy_role,
        events_role,
    })
}

/// The half that deploys into the runtime: the deployment (CodeDeploy or the service's own), the pipeline and
/// its push trigger. The roles are scoped to the runtime's cluster and service, so they wait for it.
pub async fn ensure_delivery(c: &Cicd, spec: &CicdSpec, runtime: &RuntimeOut, build: BuildOut) -> Result<CicdOut> {
    let src = build.source;
    let connection_arn = src.connection.as_ref().map(|c| c.arn.clone());
    let (pipeline_role, codedeploy) = tokio::try_join!(
        async {
            Ok::<_, Error>(
                iam::ensure_role(&c.iam, &c.env, &roles::pipeline_role(spec, runtime, connection_arn.as_deref()))
                    .await?
                    .into_id(),
            )
        },
        async {
            match &build.codedeploy_role {
                Some(role) => Ok::<_, Error>(Some(deploy::ensure_codedeploy(c, spec, runtime, role).await?)),
                None => Ok(None),
            }
        }
    )?;
    let pipeline_arn =
        pipeline::ensure_pipeline(c, spec, &pipeline_role, &build.artifact_bucket, src.connection.as_ref()).await?;
    if let Some(role) = &build.events_role {
        pipeline::ensure_source_rule(c, spec, &pipeline_arn, role).await?;
    }
    prune_delivery(c, spec).await?;
    Ok(CicdOut {
        image_repository_uri: build.image_repository_uri,
        source: src.clone_url,
        connection: src.connection,
        artifact_bucket: build.artifact_bucket,
        build_project: build.build_project,
        build_log_group: build.build_log_group,
        codedeploy,
        pipeline: spec.pipeline(),
        pipeline_arn,
    })
}

/// Deletes what an earlier config asked for and this one does not, once the pipeline no longer points at it:
/// the CodeDeploy application, its deployment group and role after codedeploy -> ecs (the service itself
/// refuses that change until it is replaced), the push rule and its role after codecommit -> github. None holds
/// data. Absent is nothing to do, so a stack that never had them pays only the reads.
async fn prune_delivery(c: &Cicd, spec: &CicdSpec) -> Result<()> {
    let codedeploy = async {
        if spec.deployment == Deployment::Ecs {
            deploy::delete_codedeploy(c, spec).await?;
            iam::delete_role(&c.iam, &c.env, &spec.codedeploy_role()).await?;
        }
        Ok::<_, Error>(())
    };
    let source_rule = async {
        if spec.source != Source::Codecommit {
            pipeline::delete_source_rule(c, spec).await?;
            iam::delete_role(&c.iam, &c.env, &spec.events_role()).await?;
        }
        Ok::<_, Error>(())
    };
    tokio::try_join!(codedeploy, source_rule)?;
    Ok(())
}

/// Brings the whole build lens to the desired state: [`ensure_build`], then [`ensure_delivery`].
pub async fn ensure_cicd(c: &Cicd, spec: &CicdSpec, runtime: &RuntimeOut) -> Result<CicdOut> {
    let build = ensure_build(c, spec).await?;
    ensure_delivery(c, spec, runtime, build).await
}

/// Pipeline first (nothing starts a release while we remove its parts), then the deploy, the build, the
/// roles; the image repository, the source repository and the artifact bucket hold the user's data and are
/// kept unless `DataPolicy::Delete` (the bucket also goes when it holds only our own artifacts).
pub async fn destroy_cicd(c: &Cicd, spec: &CicdSpec, data: DataPolicy) -> Result<()> {
    pipeline::delete_source_rule(c, spec).await?;
    pipeline::delete_pipeline(c, spec).await?;
    tokio::try_join!(deploy::delete_codedeploy(c, spec), build::delete_project(c, spec))?;
    tokio::try_join!(
        async { Ok::<_, Error>(iam::delete_role(&c.iam, &c.env, &spec.events_role()).await?) },
        async { Ok::<_, Error>(iam::delete_role(&c.iam, &c.env, &spec.pipeline_role()).await?) },
        async { Ok::<_, Error>(iam::delete_role(&c.iam, &c.env, &spec.codedeploy_role()).await?) },
        async { Ok::<_, Error>(iam::delete_role(&c.iam, &c.env, &spec.codebuild_role()).await?) },
        build::delete_log_group(c, spec),
        registry::delete_repository(c, spec, data),
        source::delete_source(c, spec, data),
        bucket::delete_bucket(c, spec, data),
    )?;
    Ok(())
}
