//! The desired build lens, derived from the config: names, the source, the deployment mode and the ARNs the
//! least-privilege policies are scoped to.

use ghost_core::config::{Deployment, Source};
use ghost_core::{Config, Names};
use ghost_runtime::RuntimeSpec;
use serde::Serialize;

/// CodeBuild's current standard image (Ubuntu, Docker 26): privileged mode gives it a Docker daemon.
pub const BUILD_IMAGE: &str = "aws/codebuild/standard:7.0";
pub const BUILD_COMPUTE: &str = "BUILD_GENERAL1_SMALL";
pub const BUILD_TIMEOUT_MINUTES: i32 = 30;
/// CodeDeploy's all-at-once ECS configuration: the whole green set takes traffic in one shift (Ghost runs one
/// task; canary percentages of one task mean nothing).
pub const DEPLOYMENT_CONFIG: &str = "CodeDeployDefault.ECSAllAtOnce";
/// The source and build artifacts, as the pipeline's stages hand them on.
pub const SOURCE_ARTIFACT: &str = "SourceArtifact";
pub const BUILD_ARTIFACT: &str = "BuildArtifact";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CicdSpec {
    pub names: Names,
    pub region: String,
    pub account: String,
    pub source: Source,
    /// CodeCommit repository name, or GitHub `owner/name`.
    pub repository: String,
    pub branch: String,
    pub deployment: Deployment,
    /// The run lens's cluster and service (what a release updates).
    pub cluster: String,
    pub service: String,
    /// The task family the pipeline registers revisions of.
    pub family: String,
    image_repository: String,
    pub approval: bool,
    pub keep_images: u32,
    pub blue_termination_wait_minutes: u32,
    pub log_retention_days: i32,
    /// The Ghost image the site's Dockerfile builds on (pinned in the rendered Dockerfile).
    pub base_image: String,
    /// Alarm names CodeDeploy watches during a deployment (from the operate lens; empty without it).
    pub alarms: Vec<String>,
}

impl CicdSpec {
    pub fn from_config(cfg: &Config, account: &str) -> Self {
        let p = &cfg.pipeline;
        let runtime = RuntimeSpec::from_config(cfg);
        Self {
            names: cfg.names(),
            region: cfg.stack.region.clone(),
            account: account.to_string(),
            source: p.source,
            repository: p.repository.clone(),
            branch: p.branch.clone(),
            deployment: p.deployment,
            cluster: runtime.cluster(),
            service: runtime.service(),
            family: runtime.family(),
            image_repository: runtime.image_repository(),
            approval: p.approval,
            keep_images: p.keep_images,
            blue_termination_wait_minutes: p.blue_termination_wait_minutes,
            log_retention_days: i32::try_from(cfg.observe.log_retention_days).unwrap_or(30),
            base_image: cfg.ghost.image.clone(),
            alarms: Vec::new(),
        }
    }

    pub fn partition(&self) -> &'static str {
        ghost_core::aws::partition(&self.region)
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{}:{}:{resource}", self.partition(), self.region, self.account)
    }

    /// ECR repository (named by the run lens, which recognises released images by it), CodeDeploy
    /// application and deployment group: `<stack>-blog`, like the service.
    pub fn image_repository(&self) -> String {
        self.image_repository.clone()
    }
    pub fn application(&self) -> String {
        self.names.of("blog")
    }
    pub fn deployment_group(&self) -> String {
        self.names.of("blog")
    }
    pub fn connection(&self) -> String {
        self.names.of("github")
    }
    /// Globally unique: account and region make it ours.
    pub fn bucket(&self) -> String {
        format!("{}-artifacts-{}-{}", self.names.stack(), self.account, self.region)
    }
    pub fn project(&self) -> String {
        self.names.of("build")
    }
    pub fn build_log_group(&self) -> String {
        format!("/aws/codebuild/{}", self.project())
    }
    pub fn pipeline(&self) -> String {
        self.names.of("pipeline")
    }
    pub fn source_rule(&self) -> String {
        self.names.of("source-push")
    }
    pub fn codebuild_role(&self) -> String {
        self.names.of("codebuild-role")
    }
    pub fn codedeploy_role(&self) -> String {
        self.names.of("codedeploy-role")
    }
    pub fn pipeline_role(&self) -> String {
        self.names.of("codepipeline-role")
    }
    pub fn events_role(&self) -> String {
        self.names.of("events-role")
    }

    pub fn codecommit_arn(&self) -> String {
        self.arn("codecommit", &self.repository)
    }
    pub fn ecr_arn(&self) -> String {
        self.arn("ecr", &format!("repository/{}", self.image_repository()))
    }
    pub fn ecr_uri(&self) -> String {
        format!("{}.dkr.ecr.{}.amazonaws.com/{}", self.account, self.region, self.image_repository())
    }
    pub fn bucket_arn(&self) -> String {
        format!("arn:{}:s3:::{}", self.partition(), self.bucket())
    }
    pub fn project_arn(&self) -> String {
        self.arn("codebuild", &format!("project/{}", self.project()))
    }
    pub fn build_log_group_arn(&self) -> String {
        self.arn("logs", &format!("log-group:{}", self.build_log_group()))
    }
    pub fn application_arn(&self) -> String {
        self.arn("codedeploy", &format!("application:{}", self.application()))
    }
    pub fn deployment_group_arn(&self) -> String {
        self.arn("codedeploy", &format!("deploymentgroup:{}/{}", self.application(), self.deployment_group()))
    }
    pub fn deployment_config_arn(&self) -> String {
        self.arn("codedeploy", &format!("deploymentconfig:{DEPLOYMENT_CONFIG}"))
    }
    pub fn pipeline_arn(&self) -> String {
        self.arn("codepipeline", &self.pipeline())
    }
    pub fn role_arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.partition(), self.account)
    }

    /// Where a person completes the GitHub handshake.
    pub fn connections_console(&self) -> String {
        format!("https://{0}.console.aws.amazon.com/codesuite/settings/connections?region={0}", self.region)
    }
}
