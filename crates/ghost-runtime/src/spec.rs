//! The desired runtime, derived from the config.

use ghost_core::config::{CapacityProvider, Database, Deployment, PerformanceMode, TaskSubnets, ThroughputMode};
use ghost_core::{Config, Names};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuntimeSpec {
    pub names: Names,
    pub region: String,
    pub image: String,
    pub url: String,
    pub cpu: u32,
    pub memory: u32,
    pub desired_count: u32,
    /// The autoscaling ceiling: the desired count unless more writers are explicitly allowed (Ghost supports one
    /// instance per site), so with defaults the policy exists but can never scale Ghost out.
    pub max_count: u32,
    pub database: Database,
    pub deployment: Deployment,
    pub certificate_arn: Option<String>,
    pub test_listener_port: u16,
    pub log_retention_days: i32,
    pub public_tasks: bool,
    pub capacity_provider: CapacityProvider,
    pub throughput_mode: ThroughputMode,
    pub performance_mode: PerformanceMode,
    pub db_instance_class: String,
}

/// With allow_multiple_writers, the seed's scale-out is possible up to this many tasks.
const MULTI_WRITER_MAX: u32 = 4;

impl RuntimeSpec {
    pub fn from_config(cfg: &Config) -> Self {
        let g = &cfg.ghost;
        let max_count = if g.allow_multiple_writers { g.desired_count.max(MULTI_WRITER_MAX) } else { g.desired_count };
        Self {
            names: cfg.names(),
            region: cfg.stack.region.clone(),
            image: g.image.clone(),
            url: g.url.clone(),
            cpu: g.cpu,
            memory: g.memory,
            desired_count: g.desired_count,
            max_count,
            database: g.database,
            deployment: cfg.pipeline.deployment,
            certificate_arn: Some(cfg.load_balancer.certificate_arn.clone()).filter(|c| !c.is_empty()),
            test_listener_port: cfg.load_balancer.test_listener_port,
            log_retention_days: i32::try_from(cfg.observe.log_retention_days).unwrap_or(30),
            public_tasks: cfg.network.task_subnets == TaskSubnets::Public,
            capacity_provider: g.capacity_provider,
            throughput_mode: cfg.efs.throughput_mode,
            performance_mode: cfg.efs.performance_mode,
            db_instance_class: g.db_instance_class.clone(),
        }
    }

    pub fn cluster(&self) -> String {
        self.names.stack().to_string()
    }

    /// `<stack>-blog`, as the seed names its service and task family.
    pub fn service(&self) -> String {
        self.names.of("blog")
    }

    pub fn family(&self) -> String {
        self.names.of("blog")
    }

    /// The stack's ECR repository the pipeline pushes the site image to (the build lens creates it).
    pub fn image_repository(&self) -> String {
        self.names.of("blog")
    }

    pub fn log_group(&self) -> String {
        format!("/ecs/{}", self.names.stack())
    }

    /// Where Container Insights writes the cluster's performance events: a group AWS creates when the first task
    /// reports, and never deletes (CloudWatch User Guide, "Container Insights performance log events for Amazon ECS").
    pub fn insights_log_group(&self) -> String {
        format!("/aws/ecs/containerinsights/{}/performance", self.cluster())
    }
}
