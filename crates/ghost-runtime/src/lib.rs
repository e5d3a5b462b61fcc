//! Run lens: everything Ghost needs to run on ECS Fargate — the load balancer (blue and green target groups,
//! production and test listeners), the content file system (EFS with a TLS-only policy, mount targets in the
//! private subnets and a uid-1000 access point), the task's IAM roles, the ECS cluster, log group, task
//! definition and service, and the service's autoscaling. Every resource follows the ensure contract of
//! `ghost-core`.

pub mod ecs;
pub mod efs;
pub mod lb;
pub mod rds;
pub mod service;
pub mod spec;

#[cfg(test)]
mod mock_tests;

use ghost_aws::iam;
use ghost_core::{DataPolicy, Env};
use ghost_net::NetworkOut;
use serde::Serialize;

pub use spec::RuntimeSpec;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] ghost_core::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An id with a second value that travels with it (an ARN, a DNS name); journals show the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub id: String,
    pub detail: String,
}

impl Pair {
    pub fn new(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { id: id.into(), detail: detail.into() }
    }
}

impl std::fmt::Display for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// The lens's handle: one client per service, and the environment.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub efs: aws_sdk_efs::Client,
    /// AWS Backup: the recovery points EFS automatic backups leave.
    pub backup: aws_sdk_backup::Client,
    pub iam: aws_sdk_iam::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub rds: aws_sdk_rds::Client,
    pub sts: aws_sdk_sts::Client,
    pub env: Env,
}

impl Runtime {
    pub fn new(sdk: &aws_types::SdkConfig, env: Env) -> Self {
        Self {
            elb: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
            efs: aws_sdk_efs::Client::new(sdk),
            backup: aws_sdk_backup::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            ecs: aws_sdk_ecs::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(sdk),
            rds: aws_sdk_rds::Client::new(sdk),
            sts: aws_sdk_sts::Client::new(sdk),
            env,
        }
    }
}

/// What the build and operate lenses need from the runtime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuntimeOut {
    pub load_balancer: lb::LoadBalancerOut,
    pub file_system: efs::EfsOut,
    /// With database = "mysql".
    pub database: Option<rds::DbOut>,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    pub cluster_arn: String,
    pub log_group: String,
    pub task_definition_arn: String,
    /// The registered content in the ECS API's JSON shape: what the local harness runs and the site repository's
    /// taskdef.json is made from.
    pub task_definition: ecs::TaskDef,
    pub service_arn: String,
}

/// Brings the runtime to the desired state: [`ensure_platform`] on the network, the service on it
/// ([`ensure_service_on`]), then the load balancer active. The stack's deploy calls the parts itself, to start
/// the platform before the network's egress is up and to end on the load balancer's wait beside the other lenses.
pub async fn ensure_runtime(rt: &Runtime, spec: &RuntimeSpec, net: &NetworkOut) -> Result<RuntimeOut> {
    let platform = ensure_platform(rt, spec, net).await?;
    let out = ensure_service_on(rt, spec, net, platform).await?;
    lb::wait_active(rt, net, &out.load_balancer).await?;
    Ok(out)
}

/// What the service runs on: everything of the runtime but the service and its scaling.
#[derive(Debug, Clone)]
pub struct Platform {
    load_balancer: lb::LoadBalancerOut,
    file_system: efs::EfsOut,
    database: Option<rds::DbOut>,
    log_group: String,
    cluster: String,
    exec: String,
    task: String,
    native: Option<ecs::NativeBlueGreen>,
    task_definition_arn: String,
    task_definition: ecs::TaskDef,
}

/// The load balancer (not waited active: see [`lb::ensure_alb`]), the file system, the database, the log group
/// and the cluster, concurrently; each role as soon as what it is scoped to exists (the task role the file
/// system, the execution role the database's secret, the ECS blue/green role the listeners), so a role's
/// propagation runs beside the other waits; the task definition once the database has its endpoint. Needs
/// only the network's base: no call here goes through the NAT gateway.
pub async fn ensure_platform(rt: &Runtime, spec: &RuntimeSpec, net: &NetworkOut) -> Result<Platform> {
    let balancer = async {
        let load_balancer = lb::ensure_load_balancer(rt, spec, net).await?;
        let native = match (&load_balancer.production_rule, &load_balancer.test_rule) {
            (Some(prod), Some(test)) => {
                let role = iam::ensure_role(&rt.iam, &rt.env, &ecs::ecs_lb_role(spec, &load_balancer)).await?;
                let alternate = if load_balancer.live_target_group == load_balancer.blue_target_group {
                    &load_balancer.green_target_group
                } else {
                    &load_balancer.blue_target_group
                };
                Some(ecs::NativeBlueGreen {
                    alternate_target_group: alternate.clone(),
                    production_rule: prod.clone(),
                    test_rule: test.clone(),
                    role_arn: role.into_id(),
                })
            }
            _ => None,
        };
        Ok::<_, Error>((load_balancer, native))
    };
    let content = async {
        let file_system = efs::ensure_file_system(rt, spec, net).await?;
        let task = iam::ensure_role(&rt.iam, &rt.env, &ecs::task_role(spec, &file_system)).await?.into_id();
        // The file-system policy names the task role, so it waits for it.
        efs::ensure_policy(rt, &file_system, &task).await?;
        Ok::<_, Error>((file_system, task))
    };
    let data = async {
        let database = rds::ensure_database(rt, spec, net).await?;
        let exec = iam::ensure_role(&rt.iam, &rt.env, &ecs::execution_role(spec, database.as_ref())).await?.into_id();
        Ok::<_, Error>((database, exec))
    };
    let ((load_balancer, native), (file_system, task), (database, exec), log_group, cluster) =
        tokio::try_join!(balancer, content, data, ecs::ensure_log_group(rt, spec), ecs::ensure_cluster(rt, spec))?;
    let refs = ecs::TaskRefs {
        execution_role: &exec,
        task_role: &task,
        file_system: &file_system,
        log_group: &log_group,
        database: database.as_ref(),
    };
    let (task_definition_arn, task_definition) = ecs::ensure_task_definition(rt, spec, &refs).await?;
    Ok(Platform {
        load_balancer,
        file_system,
        database,
        log_group,
        cluster,
        exec,
        task,
        native,
        task_definition_arn,
        task_definition,
    })
}

/// The service on the platform, its scaling, and what the config no longer asks for once the service has moved
/// off it. Needs the whole network, egress included: its tasks pull their image through it.
pub async fn ensure_service_on(
    rt: &Runtime,
    spec: &RuntimeSpec,
    net: &NetworkOut,
    platform: Platform,
) -> Result<RuntimeOut> {
    let p = platform;
    let service =
        ecs::ensure_service(rt, spec, net, &p.load_balancer, &p.task_definition_arn, p.native.as_ref()).await?;
    ecs::ensure_autoscaling(rt, spec).await?;
    rds::prune_database(rt, spec).await?;
    Ok(RuntimeOut {
        load_balancer: p.load_balancer,
        file_system: p.file_system,
        database: p.database,
        execution_role_arn: p.exec,
        task_role_arn: p.task,
        cluster_arn: p.cluster,
        log_group: p.log_group,
        task_definition_arn: p.task_definition_arn,
        task_definition: p.task_definition,
        service_arn: service,
    })
}

/// Service (scaled to 0, drained) before the cluster, listeners before target groups before the ALB, mount
/// targets before the file system (which is kept unless `DataPolicy::Delete`); the database goes after a final
/// snapshot (none with `DataPolicy::Delete`). The load balancer, file system and database do not wait for the
/// service's drain: nothing AWS checks ties them to it, and each holds the network for minutes after its delete
/// call (interfaces, `deleting`), so they start together and the longest wait sets the pace, not their sum.
pub async fn destroy_runtime(rt: &Runtime, spec: &RuntimeSpec, data: DataPolicy) -> Result<()> {
    ecs::delete_autoscaling(rt, spec).await?;
    tokio::try_join!(
        async {
            ecs::delete_service(rt, spec).await?;
            ecs::delete_cluster_and_logs(rt, spec, data).await
        },
        lb::delete_load_balancer(rt),
        efs::delete_file_system(rt, spec, data),
        rds::delete_database(rt, spec, data),
    )?;
    let (exec, task, ecs_lb) =
        (ecs::execution_role(spec, None).name, ecs::task_role_name(spec), ecs::ecs_lb_role_name(spec));
    tokio::try_join!(
        iam::delete_role(&rt.iam, &rt.env, &exec),
        iam::delete_role(&rt.iam, &rt.env, &task),
        iam::delete_role(&rt.iam, &rt.env, &ecs_lb)
    )?;
    Ok(())
}
