//! ECS: cluster (Container Insights, Fargate capacity providers), the service's log group, the task definition
//! (a new revision only when its content changes) and the service, plus the service's autoscaling.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterField, ClusterSetting, ClusterSettingName, Compatibility, ContainerDefinition,
    EfsAuthorizationConfig, EfsAuthorizationConfigIam, EfsTransitEncryption, EfsVolumeConfiguration, HealthCheck,
    KeyValuePair, LogConfiguration, LogDriver, MountPoint, NetworkMode, PortMapping, Secret, Tag as EcsTag,
    TaskDefinitionField, TaskDefinitionStatus, TransportProtocol, Volume,
};
use ghost_aws::iam::RoleSpec;
use ghost_aws::policy::{PolicyDocument, Statement};
use ghost_core::config::Database;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::wait::{Bound, retry_iam_propagation, retry_while};
use ghost_core::{AwsResultExt, Error as CoreError, planned_id};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::efs::EfsOut;
use crate::lb::{GHOST_PORT, HEALTH_PATH, LoadBalancerOut};
use crate::rds::DbOut;
use crate::service::provider_name;
pub use crate::service::{
    BAKE_MINUTES, HEALTH_GRACE_S, NativeBlueGreen, active_service, delete_service, ensure_service, find_service,
};
use crate::spec::RuntimeSpec;
use crate::{Result, Runtime};

pub const CONTAINER: &str = "ghost";
/// awslogs names each task's stream `<prefix>/<container>/<task id>`.
pub const LOG_STREAM_PREFIX: &str = "ghost";
pub const CONTENT_PATH: &str = "/var/lib/ghost/content";
const VOLUME: &str = "ghost-content";
/// Tag on each task definition revision we register: the hash of its content, so "changed?" is one lookup.
const SPEC_HASH_TAG: &str = "ghost:spec-hash";
const SCALE_CPU_TARGET: f64 = 75.0;
const SCALE_COOLDOWN_S: i32 = 60;

/// The AWS managed policy for pulling images and writing logs.
pub const ECS_EXECUTION_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

fn ecs_tags(rt: &Runtime, component: &str, name: &str) -> Vec<EcsTag> {
    rt.env
        .names
        .tags(component, name)
        .into_iter()
        .map(|t| EcsTag::builder().key(t.key).value(t.value).build())
        .collect()
}

/// Pull and log (the managed policy) and, with a database, read exactly its secret.
pub fn execution_role(spec: &RuntimeSpec, db: Option<&DbOut>) -> RoleSpec {
    let inline = db.map(|d| {
        let read =
            Statement::allow(&["secretsmanager:GetSecretValue"], vec![d.secret_arn.clone()]).sid("DatabaseSecret");
        ("database-secret".to_string(), PolicyDocument::new(vec![read]))
    });
    RoleSpec {
        name: spec.names.of("exec"),
        component: "execution-role",
        trust: PolicyDocument::trust("ecs-tasks.amazonaws.com"),
        managed: vec![ECS_EXECUTION_POLICY.into()],
        inline,
    }
}

pub fn ecs_lb_role_name(spec: &RuntimeSpec) -> String {
    spec.names.of("ecs-lb")
}

/// With deployment = "ecs": the role ECS assumes to shift the listener rules and (de)register targets during a
/// blue/green deployment, scoped to this stack's listeners, rules and target groups. Describe* calls support no
/// resource-level permissions in IAM, so they are the only `*` resource.
/// The load balancer reads ECS needs for native blue/green: IAM offers no resource-level permission for them.
pub const ELB_READ: &[&str] = &[
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
];

pub fn ecs_lb_role(spec: &RuntimeSpec, lb: &LoadBalancerOut) -> RoleSpec {
    let mut rules: Vec<String> = vec![lb.production_listener.clone(), lb.test_listener.clone()];
    rules.extend(lb.production_rule.iter().chain(&lb.test_rule).cloned());
    let statements = vec![
        Statement::allow(&["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"], rules)
            .sid("ShiftTraffic"),
        Statement::allow(
            &["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            vec![lb.blue_target_group.clone(), lb.green_target_group.clone()],
        )
        .sid("Targets"),
        Statement::allow(ELB_READ, vec!["*".into()]).sid("Read"),
    ];
    RoleSpec {
        name: ecs_lb_role_name(spec),
        component: "ecs-lb-role",
        trust: PolicyDocument::trust("ecs.amazonaws.com"),
        managed: vec![],
        inline: Some(("blue-green".into(), PolicyDocument::new(statements))),
    }
}

pub fn task_role_name(spec: &RuntimeSpec) -> String {
    spec.names.of("task")
}

/// EFS mount and write, on this file system, through this access point only.
pub fn task_role(spec: &RuntimeSpec, fs: &EfsOut) -> RoleSpec {
    let statement = Statement::allow(
        &["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        vec![fs.file_system_arn.clone()],
    )
    .sid("GhostContentThroughAccessPoint")
    .condition(json!({ "StringEquals": { "elasticfilesystem:AccessPointArn": fs.access_point_arn } }));
    RoleSpec {
        name: task_role_name(spec),
        component: "task-role",
        trust: PolicyDocument::trust("ecs-tasks.amazonaws.com"),
        managed: vec![],
        inline: Some(("ghost-content".into(), PolicyDocument::new(vec![statement]))),
    }
}

pub async fn ensure_log_group(rt: &Runtime, spec: &RuntimeSpec) -> Result<String> {
    Ok(ghost_aws::logs::ensure_log_group(&rt.logs, &rt.env, "log-group", &spec.log_group(), spec.log_retention_days)
        .await?)
}

/// What CreateCluster sets (tags aside, written once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub container_insights: bool,
    /// Sorted.
    pub capacity_providers: Vec<String>,
    pub default_provider: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterUpdate {
    Insights,
    CapacityProviders,
}

/// The cluster as a kind of the reconcile core, found by name among the ACTIVE clusters.
#[derive(Debug)]
pub struct Cluster<'a> {
    pub rt: &'a Runtime,
    pub name: String,
    pub desired: ClusterView,
}

impl<'a> Cluster<'a> {
    pub fn new(rt: &'a Runtime, spec: &RuntimeSpec) -> Self {
        let desired = ClusterView {
            container_insights: true,
            capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
            default_provider: Some(provider_name(spec.capacity_provider).to_string()),
        };
        Self { rt, name: spec.cluster(), desired }
    }

    fn insights(&self) -> ClusterSetting {
        let value = if self.desired.container_insights { "enabled" } else { "disabled" };
        ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(value).build()
    }

    fn strategy(&self) -> Option<Vec<CapacityProviderStrategyItem>> {
        self.desired.default_provider.as_ref().map(|p| {
            vec![CapacityProviderStrategyItem::builder().capacity_provider(p).weight(1).build().expect("provider set")]
        })
    }
}

impl Resource for Cluster<'_> {
    type View = ClusterView;
    type Out = String;
    type Update = ClusterUpdate;
    type Error = crate::Error;
    const KIND: &'static str = "ecs-cluster";

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &ClusterView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id("ecs-cluster")
    }
    async fn find(&self) -> Result<Option<Live<ClusterView, String>>> {
        let name = &self.name;
        let req = self.rt.ecs.describe_clusters().clusters(name).include(ClusterField::Settings);
        let out = req.send().await.aws("DescribeClusters", name)?;
        let Some(c) = out.clusters().iter().find(|c| c.status() == Some("ACTIVE")) else { return Ok(None) };
        let mut providers = c.capacity_providers().to_vec();
        providers.sort();
        let view = ClusterView {
            container_insights: c
                .settings()
                .iter()
                .any(|s| s.name() == Some(&ClusterSettingName::ContainerInsights) && s.value() == Some("enabled")),
            capacity_providers: providers,
            default_provider: c.default_capacity_provider_strategy().first().map(|s| s.capacity_provider().to_string()),
        };
        Ok(Some(Live::ready(view, c.cluster_arn().unwrap_or_default().to_string())))
    }
    async fn create(&self, d: &ClusterView) -> Result<String> {
        let req = self
            .rt
            .ecs
            .create_cluster()
            .cluster_name(&self.name)
            .settings(self.insights())
            .set_capacity_providers(Some(d.capacity_providers.clone()))
            .set_default_capacity_provider_strategy(self.strategy())
            .set_tags(Some(ecs_tags(self.rt, "ecs-cluster", &self.name)));
        // In a fresh account this very call creates ECS's service-linked role, which then propagates.
        let out = retry_iam_propagation(&self.rt.env, "ecs-cluster", &self.name, || async {
            req.clone().send().await.aws("CreateCluster", &self.name)
        })
        .await?;
        Ok(out.cluster().and_then(|c| c.cluster_arn()).unwrap_or_default().to_string())
    }
    fn updates(&self, d: &ClusterView, l: &ClusterView) -> Result<Vec<ClusterUpdate>> {
        let u = [
            (d.container_insights != l.container_insights, ClusterUpdate::Insights),
            (
                (&d.capacity_providers, &d.default_provider) != (&l.capacity_providers, &l.default_provider),
                ClusterUpdate::CapacityProviders,
            ),
        ];
        Ok(reconcile::when(u))
    }
    async fn update(&self, _: &String, u: ClusterUpdate) -> Result<()> {
        let name = &self.name;
        match u {
            ClusterUpdate::Insights => {
                let req = self.rt.ecs.update_cluster().cluster(name).settings(self.insights());
                req.send().await.aws("UpdateCluster", name)?;
            }
            // PutClusterCapacityProviders replaces the providers and the default strategy together.
            ClusterUpdate::CapacityProviders => {
                let req = self.rt.ecs.put_cluster_capacity_providers().cluster(name);
                req.set_capacity_providers(Some(self.desired.capacity_providers.clone()))
                    .set_default_capacity_provider_strategy(Some(self.strategy().unwrap_or_default()))
                    .send()
                    .await
                    .aws("PutClusterCapacityProviders", name)?;
            }
        }
        Ok(())
    }
}

pub async fn ensure_cluster(rt: &Runtime, spec: &RuntimeSpec) -> Result<String> {
    ghost_aws::iam::ensure_service_linked_role(&rt.iam, &rt.env, "ecs.amazonaws.com", "AWSServiceRoleForECS").await?;
    Ok(reconcile::ensure(&rt.env, &Cluster::new(rt, spec)).await?.into_id())
}

/// What the task definition refers to.
#[derive(Debug, Clone, Copy)]
pub struct TaskRefs<'a> {
    pub execution_role: &'a str,
    pub task_role: &'a str,
    pub file_system: &'a EfsOut,
    pub log_group: &'a str,
    pub database: Option<&'a DbOut>,
}

/// The task definition in the ECS API's JSON shape (what `register-task-definition --cli-input-json` takes):
/// one description, rendered for AWS, for the local harness and for the site repository's taskdef.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDef {
    pub family: String,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    pub network_mode: &'static str,
    pub requires_compatibilities: Vec<&'static str>,
    pub cpu: String,
    pub memory: String,
    pub container_definitions: Vec<ContainerDef>,
    pub volumes: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDef {
    pub name: &'static str,
    pub image: String,
    pub essential: bool,
    pub port_mappings: Vec<serde_json::Value>,
    /// Sorted by name, so the hash is stable; rendered as ECS's `[{"name", "value"}]`.
    #[serde(serialize_with = "name_value_list")]
    pub environment: BTreeMap<String, String>,
    /// name → valueFrom (a Secrets Manager ARN with a JSON key): resolved by ECS at start, never in the env;
    /// rendered as ECS's `[{"name", "valueFrom"}]`.
    #[serde(serialize_with = "name_value_from_list")]
    pub secrets: BTreeMap<String, String>,
    pub mount_points: Vec<serde_json::Value>,
    pub log_configuration: serde_json::Value,
    pub health_check: HealthCheckDef,
    pub stop_timeout: i32,
}

fn name_value_list<S: serde::Serializer>(m: &BTreeMap<String, String>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(m.iter().map(|(name, value)| json!({ "name": name, "value": value })))
}

fn name_value_from_list<S: serde::Serializer>(
    m: &BTreeMap<String, String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(m.iter().map(|(name, from)| json!({ "name": name, "valueFrom": from })))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckDef {
    pub command: Vec<String>,
    pub interval: i32,
    pub timeout: i32,
    pub retries: i32,
    pub start_period: i32,
}

/// Node is in every Ghost image (curl is not): ask Ghost's site endpoint, healthy below 400.
fn health_command() -> Vec<String> {
    let js = format!(
        "require('http').get('http://127.0.0.1:{GHOST_PORT}{HEALTH_PATH}', r => process.exit(r.statusCode < 400 ? 0 : 1)).on('error', () => process.exit(1))"
    );
    vec!["CMD-SHELL".into(), format!("node -e \"{js}\"")]
}

pub fn task_def(spec: &RuntimeSpec, refs: &TaskRefs<'_>) -> Result<TaskDef> {
    let mut env = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    env.insert("url".to_string(), spec.url.clone());
    match (spec.database, refs.database) {
        (Database::Mysql, Some(db)) => {
            env.insert("database__client".into(), "mysql".into());
            env.insert("database__connection__host".into(), db.endpoint.clone());
            env.insert("database__connection__port".into(), db.port.to_string());
            env.insert("database__connection__user".into(), db.user.clone());
            env.insert("database__connection__database".into(), db.database.clone());
            secrets.insert("database__connection__password".into(), format!("{}:password::", db.secret_arn));
        }
        (Database::Mysql, None) => {
            return Err(
                CoreError::Conflict { resource: spec.family(), message: "mysql without a database".into() }.into()
            );
        }
        (Database::Sqlite, _) => {
            env.insert("database__client".into(), "sqlite3".into());
            env.insert("database__connection__filename".into(), format!("{CONTENT_PATH}/data/ghost.db"));
        }
    }
    // No outbound mail is configured; staff logins from a new device would wait for an emailed code forever.
    env.insert("security__staffDeviceVerification".into(), "false".into());
    Ok(TaskDef {
        family: spec.family(),
        execution_role_arn: refs.execution_role.into(),
        task_role_arn: refs.task_role.into(),
        network_mode: "awsvpc",
        requires_compatibilities: vec!["FARGATE"],
        cpu: spec.cpu.to_string(),
        memory: spec.memory.to_string(),
        container_definitions: vec![ContainerDef {
            name: CONTAINER,
            image: spec.image.clone(),
            essential: true,
            port_mappings: vec![json!({ "containerPort": GHOST_PORT, "protocol": "tcp" })],
            environment: env,
            secrets,
            mount_points: vec![json!({ "sourceVolume": VOLUME, "containerPath": CONTENT_PATH, "readOnly": false })],
            log_configuration: json!({
                "logDriver": "awslogs",
                "options": { "awslogs-group": refs.log_group, "awslogs-region": spec.region, "awslogs-stream-prefix": LOG_STREAM_PREFIX }
            }),
            health_check: HealthCheckDef {
                command: health_command(),
                interval: 30,
                timeout: 5,
                retries: 3,
                start_period: 120,
            },
            stop_timeout: 30,
        }],
        volumes: vec![json!({
            "name": VOLUME,
            "efsVolumeConfiguration": {
                "fileSystemId": refs.file_system.file_system_id,
                "transitEncryption": "ENABLED",
                "authorizationConfig": { "accessPointId": refs.file_system.access_point_id, "iam": "ENABLED" }
            }
        })],
    })
}

pub(crate) fn content_hash(td: &TaskDef) -> String {
    let text = serde_json::to_string(td).expect("task definition serializes");
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{h:016x}")
}

/// The task definition's compared state. Revisions are immutable, so the content is compared by its hash
/// (the tag each revision we register carries) and any difference registers a new revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefView {
    /// The Ghost container's image.
    pub image: String,
    /// [`content_hash`] of everything else too; `None` on a revision we did not register.
    pub spec_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskDefUpdate {
    /// A new revision with this image (the configured one, or the one the pipeline released).
    Register { image: String },
}

/// The task family's newest ACTIVE revision as a kind of the reconcile core.
#[derive(Debug)]
pub struct TaskDefinition<'a> {
    pub rt: &'a Runtime,
    pub spec: &'a RuntimeSpec,
    /// The content the config asks for, with `ghost.image`.
    pub td: TaskDef,
    pub desired: TaskDefView,
    /// The image the revision in use runs: the pipeline's when it has released one (see `defer_to_live`).
    pub effective_image: std::sync::Mutex<String>,
    /// The revision an update registered: RegisterTaskDefinition answers its ARN, which a list right after
    /// might not show yet.
    registered: std::sync::Mutex<Option<String>>,
}

impl<'a> TaskDefinition<'a> {
    pub fn new(rt: &'a Runtime, spec: &'a RuntimeSpec, td: TaskDef) -> Self {
        let image = td.container_definitions[0].image.clone();
        let desired = TaskDefView { image: image.clone(), spec_hash: Some(content_hash(&td)) };
        let (effective_image, registered) = (std::sync::Mutex::new(image), std::sync::Mutex::new(None));
        Self { rt, spec, td, desired, effective_image, registered }
    }

    fn with_image(&self, image: &str) -> TaskDef {
        let mut td = self.td.clone();
        td.container_definitions[0].image = image.to_string();
        td
    }

    /// The newest ACTIVE revision, from a list (absence is an empty list): DescribeTaskDefinition answers a
    /// missing family with a ClientException, which also means other client errors, so it is never read as
    /// absence. A deregistered (INACTIVE) revision is history, not one a service can run.
    async fn newest(&self) -> Result<Option<Live<TaskDefView, String>>> {
        let family = self.spec.family();
        let newest = family_revisions(self.rt, &family, TaskDefinitionStatus::Active)
            .await?
            .into_iter()
            .max_by_key(|a| a.rsplit(':').next().and_then(|r| r.parse::<u32>().ok()).unwrap_or(0));
        let Some(arn) = newest else { return Ok(None) };
        let req = self.rt.ecs.describe_task_definition().task_definition(&arn).include(TaskDefinitionField::Tags);
        let out = req.send().await.aws("DescribeTaskDefinition", &arn)?;
        let image = out
            .task_definition()
            .and_then(|t| t.container_definitions().iter().find(|c| c.name() == Some(CONTAINER)))
            .and_then(|c| c.image())
            .unwrap_or_default()
            .to_string();
        let hash = out.tags().iter().find(|t| t.key() == Some(SPEC_HASH_TAG)).and_then(|t| t.value());
        let arn = out.task_definition().and_then(|t| t.task_definition_arn()).map_or(arn.clone(), str::to_string);
        Ok(Some(Live::ready(TaskDefView { image, spec_hash: hash.map(str::to_string) }, arn)))
    }
}

impl Resource for TaskDefinition<'_> {
    type View = TaskDefView;
    type Out = String;
    type Update = TaskDefUpdate;
    type Error = crate::Error;
    const KIND: &'static str = "task-definition";

    fn name(&self) -> String {
        self.spec.family()
    }
    fn desired(&self) -> &TaskDefView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id("task-definition")
    }
    async fn find(&self) -> Result<Option<Live<TaskDefView, String>>> {
        self.newest().await
    }
    async fn create(&self, d: &TaskDefView) -> Result<String> {
        register(&self.rt.ecs, &self.rt.env.names, &self.with_image(&d.image)).await
    }
    fn updates(&self, d: &TaskDefView, l: &TaskDefView) -> Result<Vec<TaskDefUpdate>> {
        Ok(reconcile::when([(d != l, TaskDefUpdate::Register { image: d.image.clone() })]))
    }
    async fn update(&self, _: &String, u: TaskDefUpdate) -> Result<()> {
        let TaskDefUpdate::Register { image } = u;
        let arn = register(&self.rt.ecs, &self.rt.env.names, &self.with_image(&image)).await?;
        *self.registered.lock().expect("registered lock") = Some(arn);
        Ok(())
    }
    async fn after_update(&self, live: String, plan: bool) -> Result<String> {
        if plan {
            return Ok(planned_id("task-definition revision"));
        }
        Ok(self.registered.lock().expect("registered lock").take().unwrap_or(live))
    }
    /// The pipeline owns the image once it has shipped one from this stack's repository: a deploy that
    /// changes other settings keeps it rather than rolling the blog back to `ghost.image`.
    fn defer_to_live(&self, desired: &mut TaskDefView, live: &TaskDefView) -> Option<String> {
        if is_released(self.spec, &live.image) {
            desired.image = live.image.clone();
            desired.spec_hash = Some(content_hash(&self.with_image(&live.image)));
            *self.effective_image.lock().expect("image lock") = live.image.clone();
        }
        None
    }
}

/// Registers a new revision only when the content differs from the newest one (by the hash tag); returns its
/// ARN and the content in use (with the released image, if any).
pub async fn ensure_task_definition(
    rt: &Runtime,
    spec: &RuntimeSpec,
    refs: &TaskRefs<'_>,
) -> Result<(String, TaskDef)> {
    let kind = TaskDefinition::new(rt, spec, task_def(spec, refs)?);
    let arn = reconcile::ensure(&rt.env, &kind).await?.into_id();
    let image = kind.effective_image.lock().expect("image lock").clone();
    Ok((arn, kind.with_image(&image)))
}

/// An image the pipeline (or `release`) registered: one from this stack's ECR repository
/// (`<account>.dkr.ecr.<region>.amazonaws.com/<stack>-blog:<commit>`).
fn is_released(spec: &RuntimeSpec, image: &str) -> bool {
    let repo = image.split(['@', ':']).next().unwrap_or_default();
    image.contains(".dkr.ecr.") && repo.ends_with(&format!("/{}", spec.image_repository()))
}

/// Registers `td` as a new revision of its family, tagged with its content hash (so the run lens recognises it
/// as current). `release` uses it too: a released revision is the run lens's content with another image.
pub async fn register(ecs: &aws_sdk_ecs::Client, names: &ghost_core::Names, td: &TaskDef) -> Result<String> {
    let hash = content_hash(td);
    let c = &td.container_definitions[0];
    let container = ContainerDefinition::builder()
        .name(c.name)
        .image(&c.image)
        .essential(c.essential)
        .port_mappings(PortMapping::builder().container_port(GHOST_PORT).protocol(TransportProtocol::Tcp).build())
        .set_environment(Some(
            c.environment.iter().map(|(k, v)| KeyValuePair::builder().name(k).value(v).build()).collect(),
        ))
        .set_secrets(Some(
            c.secrets
                .iter()
                .map(|(k, v)| Secret::builder().name(k).value_from(v).build().expect("name and value"))
                .collect(),
        ))
        .mount_points(MountPoint::builder().source_volume(VOLUME).container_path(CONTENT_PATH).read_only(false).build())
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", c.log_configuration["options"]["awslogs-group"].as_str().unwrap_or_default())
                .options(
                    "awslogs-region",
                    c.log_configuration["options"]["awslogs-region"].as_str().unwrap_or_default(),
                )
                .options("awslogs-stream-prefix", LOG_STREAM_PREFIX)
                .build()
                .expect("log driver set"),
        )
        .health_check(
            HealthCheck::builder()
                .set_command(Some(c.health_check.command.clone()))
                .interval(c.health_check.interval)
                .timeout(c.health_check.timeout)
                .retries(c.health_check.retries)
                .start_period(c.health_check.start_period)
                .build()
                .expect("command set"),
        )
        .stop_timeout(c.stop_timeout)
        .build();
    let v = &td.volumes[0]["efsVolumeConfiguration"];
    let volume = Volume::builder()
        .name(VOLUME)
        .efs_volume_configuration(
            EfsVolumeConfiguration::builder()
                .file_system_id(v["fileSystemId"].as_str().unwrap_or_default())
                .transit_encryption(EfsTransitEncryption::Enabled)
                .authorization_config(
                    EfsAuthorizationConfig::builder()
                        .access_point_id(v["authorizationConfig"]["accessPointId"].as_str().unwrap_or_default())
                        .iam(EfsAuthorizationConfigIam::Enabled)
                        .build(),
                )
                .build()
                .expect("file system id set"),
        )
        .build();
    let mut tags: Vec<EcsTag> = names
        .tags("task-definition", &td.family)
        .into_iter()
        .map(|t| EcsTag::builder().key(t.key).value(t.value).build())
        .collect();
    tags.push(EcsTag::builder().key(SPEC_HASH_TAG).value(hash).build());
    let out = ecs
        .register_task_definition()
        .family(&td.family)
        .execution_role_arn(&td.execution_role_arn)
        .task_role_arn(&td.task_role_arn)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu(&td.cpu)
        .memory(&td.memory)
        .container_definitions(container)
        .volumes(volume)
        .set_tags(Some(tags))
        .send()
        .await
        .aws("RegisterTaskDefinition", &td.family)?;
    Ok(out.task_definition().and_then(|t| t.task_definition_arn()).unwrap_or_default().to_string())
}

fn resource_id(spec: &RuntimeSpec) -> String {
    format!("service/{}/{}", spec.cluster(), spec.service())
}

/// What RegisterScalableTarget sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTargetView {
    pub min_capacity: i32,
    pub max_capacity: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register;

/// The service's scalable target as a kind of the reconcile core; RegisterScalableTarget creates and updates.
#[derive(Debug)]
pub struct ScalableTarget<'a> {
    pub rt: &'a Runtime,
    pub id: String,
    pub desired: ScalableTargetView,
}

impl ScalableTarget<'_> {
    async fn register(&self, d: &ScalableTargetView) -> Result<()> {
        self.rt
            .autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&self.id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(d.min_capacity)
            .max_capacity(d.max_capacity)
            .send()
            .await
            .aws("RegisterScalableTarget", &self.id)?;
        Ok(())
    }
}

impl Resource for ScalableTarget<'_> {
    type View = ScalableTargetView;
    type Out = String;
    type Update = Register;
    type Error = crate::Error;
    const KIND: &'static str = "scalable-target";

    fn name(&self) -> String {
        self.id.clone()
    }
    fn desired(&self) -> &ScalableTargetView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.id.clone()
    }
    async fn find(&self) -> Result<Option<Live<ScalableTargetView, String>>> {
        let req = self.rt.autoscaling.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs);
        let out = req.resource_ids(&self.id).send().await.aws("DescribeScalableTargets", &self.id)?;
        Ok(out.scalable_targets().first().map(|t| {
            let view = ScalableTargetView { min_capacity: t.min_capacity(), max_capacity: t.max_capacity() };
            Live::ready(view, self.id.clone())
        }))
    }
    async fn create(&self, d: &ScalableTargetView) -> Result<String> {
        self.register(d).await?;
        Ok(self.id.clone())
    }
    fn updates(&self, d: &ScalableTargetView, l: &ScalableTargetView) -> Result<Vec<Register>> {
        Ok(reconcile::when([(d != l, Register)]))
    }
    async fn update(&self, _: &String, _: Register) -> Result<()> {
        self.register(&self.desired).await
    }
}

/// What PutScalingPolicy sets: target tracking on a predefined metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicyView {
    pub policy_type: String,
    pub metric: String,
    pub target_value: f64,
    pub scale_in_cooldown_s: Option<i32>,
    pub scale_out_cooldown_s: Option<i32>,
}

/// The service's target-tracking policy as a kind of the reconcile core; PutScalingPolicy creates and updates.
#[derive(Debug)]
pub struct ScalingPolicy<'a> {
    pub rt: &'a Runtime,
    pub resource_id: String,
    pub name: String,
    pub desired: ScalingPolicyView,
}

impl ScalingPolicy<'_> {
    async fn put(&self, d: &ScalingPolicyView) -> Result<()> {
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(d.target_value)
            .predefined_metric_specification(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type(MetricType::from(d.metric.as_str()))
                    .build()
                    .expect("metric type set"),
            )
            .set_scale_in_cooldown(d.scale_in_cooldown_s)
            .set_scale_out_cooldown(d.scale_out_cooldown_s)
            .build()
            .expect("target set");
        self.rt
            .autoscaling
            .put_scaling_policy()
            .policy_name(&self.name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&self.resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::from(d.policy_type.as_str()))
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .aws("PutScalingPolicy", &self.name)?;
        Ok(())
    }
}

impl Resource for ScalingPolicy<'_> {
    type View = ScalingPolicyView;
    type Out = String;
    type Update = Register;
    type Error = crate::Error;
    const KIND: &'static str = "scaling-policy";

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &ScalingPolicyView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.clone()
    }
    async fn find(&self) -> Result<Option<Live<ScalingPolicyView, String>>> {
        let req = self.rt.autoscaling.describe_scaling_policies().service_namespace(ServiceNamespace::Ecs);
        let req = req.resource_id(&self.resource_id).policy_names(&self.name);
        let out = req.send().await.aws("DescribeScalingPolicies", &self.name)?;
        Ok(out.scaling_policies().first().map(|p| {
            let c = p.target_tracking_scaling_policy_configuration();
            let view = ScalingPolicyView {
                policy_type: p.policy_type().as_str().to_string(),
                metric: c
                    .and_then(|c| c.predefined_metric_specification())
                    .map(|m| m.predefined_metric_type().as_str().to_string())
                    .unwrap_or_default(),
                target_value: c.map(|c| c.target_value()).unwrap_or_default(),
                scale_in_cooldown_s: c.and_then(|c| c.scale_in_cooldown()),
                scale_out_cooldown_s: c.and_then(|c| c.scale_out_cooldown()),
            };
            Live::ready(view, self.name.clone())
        }))
    }
    async fn create(&self, d: &ScalingPolicyView) -> Result<String> {
        self.put(d).await?;
        Ok(self.name.clone())
    }
    fn updates(&self, d: &ScalingPolicyView, l: &ScalingPolicyView) -> Result<Vec<Register>> {
        Ok(reconcile::when([(d != l, Register)]))
    }
    async fn update(&self, _: &String, _: Register) -> Result<()> {
        self.put(&self.desired).await
    }
}

/// The seed's target tracking at 75% CPU with 60 s cooldowns, bounded by the single-writer rule.
pub async fn ensure_autoscaling(rt: &Runtime, spec: &RuntimeSpec) -> Result<()> {
    let id = resource_id(spec);
    let target = ScalableTarget {
        rt,
        id: id.clone(),
        desired: ScalableTargetView {
            min_capacity: i32::try_from(spec.desired_count).unwrap_or(1),
            max_capacity: i32::try_from(spec.max_count).unwrap_or(1),
        },
    };
    reconcile::ensure(&rt.env, &target).await?;
    let policy = ScalingPolicy {
        rt,
        resource_id: id,
        name: spec.names.of("cpu75"),
        desired: ScalingPolicyView {
            policy_type: PolicyType::TargetTrackingScaling.as_str().into(),
            metric: MetricType::EcsServiceAverageCpuUtilization.as_str().into(),
            target_value: SCALE_CPU_TARGET,
            scale_in_cooldown_s: Some(SCALE_COOLDOWN_S),
            scale_out_cooldown_s: Some(SCALE_COOLDOWN_S),
        },
    };
    reconcile::ensure(&rt.env, &policy).await?;
    if spec.max_count > 1 {
        rt.env.warn(
            "scaling-policy",
            &policy.name,
            format!(
                "Ghost may scale out to {} tasks (allow_multiple_writers): Ghost supports one instance per site",
                spec.max_count
            ),
        );
    }
    Ok(())
}

pub async fn delete_autoscaling(rt: &Runtime, spec: &RuntimeSpec) -> Result<()> {
    let id = resource_id(spec);
    let out = rt
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&id)
        .send()
        .await
        .aws("DescribeScalableTargets", &id)?;
    if out.scalable_targets().is_empty() {
        return Ok(());
    }
    rt.env
        .delete("scalable-target", &id, &id, &["ObjectNotFoundException"], || async {
            let policy = spec.names.of("cpu75");
            // Found first: a destroy killed after deleting the policy must not trip over its absence on the
            // re-run (AWS answers ObjectNotFoundException, the emulator a ValidationException).
            let policies = rt
                .autoscaling
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&id)
                .policy_names(&policy)
                .send()
                .await
                .aws("DescribeScalingPolicies", &policy)?;
            if !policies.scaling_policies().is_empty() {
                let res = rt
                    .autoscaling
                    .delete_scaling_policy()
                    .policy_name(&policy)
                    .service_namespace(ServiceNamespace::Ecs)
                    .resource_id(&id)
                    .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeleteScalingPolicy", &policy);
                ghost_core::error::gone_if(res, &["ObjectNotFoundException"])?;
            }
            rt.autoscaling
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send()
                .await
                .map(|_| ())
                .aws("DeregisterScalableTarget", &id)
        })
        .await?;
    Ok(())
}

/// Scales to 0 first so tasks drain from the target group, then deletes.
/// The family's revisions in one status (ListTaskDefinitions matches by prefix: `ghost-blog` would also list
/// `ghost-blog2`'s, so the family is checked exactly).
async fn family_revisions(rt: &Runtime, family: &str, status: TaskDefinitionStatus) -> Result<Vec<String>> {
    let revisions: Vec<String> = rt
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(status)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListTaskDefinitions", family)?;
    Ok(revisions.into_iter().filter(|a| a.contains(&format!("task-definition/{family}:"))).collect())
}

/// The cluster, our task definition revisions (deregistered) and the log group.
/// Deregisters the family's revisions (AWS keeps them as INACTIVE history); with `DataPolicy::Delete` the
/// history goes too (DeleteTaskDefinitions, at most 10 per call), so nothing of the stack is left.
pub async fn delete_cluster_and_logs(rt: &Runtime, spec: &RuntimeSpec, data: ghost_core::DataPolicy) -> Result<()> {
    let family = spec.family();
    let revisions = family_revisions(rt, &family, TaskDefinitionStatus::Active).await?;
    for arn in &revisions {
        rt.env
            .delete("task-definition", &family, arn, &[], || async {
                rt.ecs
                    .deregister_task_definition()
                    .task_definition(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeregisterTaskDefinition", arn)
            })
            .await?;
    }
    if data == ghost_core::DataPolicy::Delete {
        let inactive = family_revisions(rt, &family, TaskDefinitionStatus::Inactive).await?;
        for chunk in inactive.chunks(10) {
            let id = format!("{} inactive revisions", chunk.len());
            rt.env
                .delete("task-definition-history", &family, &id, &[], || async {
                    rt.ecs
                        .delete_task_definitions()
                        .set_task_definitions(Some(chunk.iter().map(|a| a.to_string()).collect()))
                        .send()
                        .await
                        .map(|_| ())
                        .aws("DeleteTaskDefinitions", &family)
                })
                .await?;
        }
    }
    let cluster = spec.cluster();
    let out = rt.ecs.describe_clusters().clusters(&cluster).send().await.aws("DescribeClusters", &cluster)?;
    if let Some(c) = out.clusters().iter().find(|c| c.status() == Some("ACTIVE")) {
        let arn = c.cluster_arn().unwrap_or_default();
        rt.env
            .delete("ecs-cluster", &cluster, arn, &["ClusterNotFoundException"], || async {
                // An INACTIVE service's tasks are still deprovisioning (their network interfaces detach): AWS
                // refuses with ClusterContainsTasksException until they are STOPPED. terraform retries these
                // codes for 10 minutes (ecs/cluster.go).
                let bound = Bound::new(Duration::from_secs(600), Duration::from_secs(10));
                let busy = ["ClusterContainsTasksException", "ClusterContainsServicesException"];
                let notice = |e: &ghost_core::Error| {
                    rt.env.waiting(
                        "ecs-cluster",
                        &cluster,
                        &format!("its tasks have stopped (AWS said: {})", e.message()),
                    )
                };
                retry_while(
                    |e| e.is_code(&busy),
                    &bound,
                    notice,
                    || async {
                        rt.ecs
                            .delete_cluster()
                            .cluster(&cluster)
                            .send()
                            .await
                            .map(|_| ())
                            .aws("DeleteCluster", &cluster)
                    },
                )
                .await
            })
            .await?;
    }
    ghost_aws::logs::delete_log_group(&rt.logs, &rt.env, &spec.log_group()).await?;
    // AWS made it, but it is the stack's and keeps billing for storage after the cluster: it goes with it.
    ghost_aws::logs::delete_log_group(&rt.logs, &rt.env, &spec.insights_log_group()).await?;
    Ok(())
}
