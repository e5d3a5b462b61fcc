//! The ECS service, on the reconcile core: every field CreateService sets is in [`ServiceView`], so a change of
//! task subnets, capacity provider, grace period or load-balancer wiring plans an update (or, where AWS takes
//! it only through a deployment, a refusal naming the way) instead of "unchanged".

use aws_sdk_ecs::types::{
    AdvancedConfiguration, AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeploymentConfiguration,
    DeploymentController, DeploymentControllerType, DeploymentStrategy, LoadBalancer, NetworkConfiguration,
    PropagateTags, Service, Tag as EcsTag,
};
use ghost_core::config::{CapacityProvider, Deployment};
use std::time::Duration;

use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::wait::{Bound, Poll, poll_until};
use ghost_core::{AwsResultExt, Change, Error as CoreError, is_planned, planned_id};
use ghost_net::NetworkOut;
use serde::{Deserialize, Serialize};

use crate::ecs::CONTAINER;
use crate::lb::{GHOST_PORT, LoadBalancerOut};
use crate::spec::RuntimeSpec;
use crate::{Result, Runtime};

const KIND: &str = "ecs-service";
const DRAIN_WAIT: Duration = Duration::from_secs(20 * 60);
/// Ghost's first boot on an empty database takes up to a minute on a small task; the ALB must not kill it.
pub const HEALTH_GRACE_S: i32 = 300;
/// Minutes green runs with production traffic before blue is retired (the rollback window).
pub const BAKE_MINUTES: i32 = 5;

/// ECS-native blue/green settings for the service (deployment = "ecs").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeBlueGreen {
    pub alternate_target_group: String,
    pub production_rule: String,
    pub test_rule: String,
    pub role_arn: String,
}

/// Everything CreateService sets, as DescribeServices reads it back (lists sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceView {
    pub deployment_controller: String,
    pub task_definition: String,
    pub desired_count: i32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub public_ip: bool,
    pub capacity_provider: String,
    pub health_check_grace_s: i32,
    pub target_group: String,
    pub container: String,
    pub container_port: i32,
    /// deployment = "ecs": ECS's own blue/green and the listener rules and role it shifts traffic with.
    pub blue_green: Option<BlueGreenView>,
    pub propagate_tags: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueGreenView {
    pub bake_minutes: i32,
    pub alternate_target_group: String,
    pub production_rule: String,
    pub test_rule: String,
    pub role_arn: String,
}

fn controller(d: Deployment) -> DeploymentControllerType {
    match d {
        Deployment::Codedeploy => DeploymentControllerType::CodeDeploy,
        Deployment::Ecs => DeploymentControllerType::Ecs,
    }
}

pub(crate) fn provider_name(p: CapacityProvider) -> &'static str {
    match p {
        CapacityProvider::Fargate => "FARGATE",
        CapacityProvider::FargateSpot => "FARGATE_SPOT",
    }
}

impl ServiceView {
    pub fn desired(
        spec: &RuntimeSpec,
        net: &NetworkOut,
        lb: &LoadBalancerOut,
        task_definition: &str,
        native: Option<&NativeBlueGreen>,
    ) -> Self {
        let mut subnets = if spec.public_tasks { net.public_subnets.clone() } else { net.private_subnets.clone() };
        subnets.sort();
        Self {
            deployment_controller: controller(spec.deployment).as_str().to_string(),
            task_definition: task_definition.to_string(),
            desired_count: i32::try_from(spec.desired_count).unwrap_or(1),
            subnets,
            security_groups: vec![net.sg_task.clone()],
            public_ip: spec.public_tasks,
            capacity_provider: provider_name(spec.capacity_provider).to_string(),
            health_check_grace_s: HEALTH_GRACE_S,
            target_group: lb.live_target_group.clone(),
            container: CONTAINER.to_string(),
            container_port: GHOST_PORT,
            blue_green: native.map(|n| BlueGreenView {
                bake_minutes: BAKE_MINUTES,
                alternate_target_group: n.alternate_target_group.clone(),
                production_rule: n.production_rule.clone(),
                test_rule: n.test_rule.clone(),
                role_arn: n.role_arn.clone(),
            }),
            propagate_tags: PropagateTags::Service.as_str().to_string(),
        }
    }

    /// The view of a service as DescribeServices returns it.
    pub fn live(svc: &Service) -> Self {
        let vpc = svc.network_configuration().and_then(|n| n.awsvpc_configuration());
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        let lb = svc.load_balancers().first();
        let advanced = lb.and_then(|l| l.advanced_configuration());
        let config = svc.deployment_configuration();
        let blue_green =
            (config.and_then(|c| c.strategy()) == Some(&DeploymentStrategy::BlueGreen)).then(|| BlueGreenView {
                bake_minutes: config.and_then(|c| c.bake_time_in_minutes()).unwrap_or_default(),
                alternate_target_group: advanced
                    .and_then(|a| a.alternate_target_group_arn())
                    .unwrap_or_default()
                    .into(),
                production_rule: advanced.and_then(|a| a.production_listener_rule()).unwrap_or_default().into(),
                test_rule: advanced.and_then(|a| a.test_listener_rule()).unwrap_or_default().into(),
                role_arn: advanced.and_then(|a| a.role_arn()).unwrap_or_default().into(),
            });
        Self {
            deployment_controller: svc
                .deployment_controller()
                .map_or(DeploymentControllerType::Ecs.as_str(), |d| d.r#type().as_str())
                .to_string(),
            task_definition: svc.task_definition().unwrap_or_default().to_string(),
            desired_count: svc.desired_count(),
            subnets: sorted(vpc.map(|v| v.subnets()).unwrap_or_default()),
            security_groups: sorted(vpc.map(|v| v.security_groups()).unwrap_or_default()),
            public_ip: vpc.and_then(|v| v.assign_public_ip()) == Some(&AssignPublicIp::Enabled),
            capacity_provider: svc
                .capacity_provider_strategy()
                .first()
                .map(|s| s.capacity_provider().to_string())
                .unwrap_or_else(|| svc.launch_type().map(|l| l.as_str().to_string()).unwrap_or_default()),
            health_check_grace_s: svc.health_check_grace_period_seconds().unwrap_or_default(),
            target_group: lb.and_then(|l| l.target_group_arn()).unwrap_or_default().to_string(),
            container: lb.and_then(|l| l.container_name()).unwrap_or_default().to_string(),
            container_port: lb.and_then(|l| l.container_port()).unwrap_or_default(),
            blue_green,
            propagate_tags: svc.propagate_tags().map_or("NONE", |p| p.as_str()).to_string(),
        }
    }

    fn network(&self) -> NetworkConfiguration {
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(self.subnets.clone()))
                    .set_security_groups(Some(self.security_groups.clone()))
                    .assign_public_ip(if self.public_ip { AssignPublicIp::Enabled } else { AssignPublicIp::Disabled })
                    .build()
                    .expect("subnets set"),
            )
            .build()
    }

    fn strategy(&self) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem::builder()
            .capacity_provider(&self.capacity_provider)
            .weight(1)
            .build()
            .expect("provider set")
    }

    fn load_balancer(&self) -> LoadBalancer {
        let mut b = LoadBalancer::builder()
            .target_group_arn(&self.target_group)
            .container_name(&self.container)
            .container_port(self.container_port);
        if let Some(n) = &self.blue_green {
            b = b.advanced_configuration(
                AdvancedConfiguration::builder()
                    .alternate_target_group_arn(&n.alternate_target_group)
                    .production_listener_rule(&n.production_rule)
                    .test_listener_rule(&n.test_rule)
                    .role_arn(&n.role_arn)
                    .build(),
            );
        }
        b.build()
    }

    fn deployment_configuration(&self) -> Option<DeploymentConfiguration> {
        self.blue_green.as_ref().map(|n| {
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(n.bake_minutes)
                .build()
        })
    }
}

/// The service as a reconciled resource.
#[derive(Debug)]
pub struct EcsService<'a> {
    pub rt: &'a Runtime,
    pub cluster: String,
    pub name: String,
    pub desired: ServiceView,
    /// The most tasks autoscaling may run (= desired count unless several writers are allowed).
    pub max_count: i32,
    /// A dependency exists only in a plan: nothing of the service can exist yet.
    pub planned_inputs: bool,
}

impl<'a> EcsService<'a> {
    pub fn new(
        rt: &'a Runtime,
        spec: &RuntimeSpec,
        net: &NetworkOut,
        lb: &LoadBalancerOut,
        task_definition: &str,
        native: Option<&NativeBlueGreen>,
    ) -> Self {
        Self {
            rt,
            cluster: spec.cluster(),
            name: spec.service(),
            desired: ServiceView::desired(spec, net, lb, task_definition, native),
            max_count: i32::try_from(spec.max_count).unwrap_or(1),
            planned_inputs: is_planned(task_definition) && is_planned(&lb.alb_arn),
        }
    }
}

/// One UpdateService call carrying every part that differs: each call starts a deployment, so the parts of
/// one change travel together.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceUpdate(pub Vec<ServicePart>);

/// One part of an UpdateService call, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum ServicePart {
    DesiredCount(i32),
    TaskDefinition(String),
    Network(NetworkConfiguration),
    /// A new capacity-provider strategy takes effect through a new deployment (forceNewDeployment).
    CapacityProvider(CapacityProviderStrategyItem),
    HealthCheckGrace(i32),
    LoadBalancer(Box<(LoadBalancer, Option<DeploymentConfiguration>)>),
    PropagateTags,
}

impl Resource for EcsService<'_> {
    type View = ServiceView;
    type Out = String;
    type Update = ServiceUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn desired(&self) -> &ServiceView {
        &self.desired
    }

    fn planned(&self) -> String {
        planned_id(KIND)
    }

    async fn find(&self) -> Result<Option<Live<ServiceView, String>>> {
        if self.planned_inputs {
            return Ok(None);
        }
        if !self.rt.env.is_plan() {
            // A service deleted by a run killed during its drain: AWS refuses a new one of that name until it is
            // INACTIVE ("Unable to Start a service that is still Draining").
            wait_drained(self.rt, &self.cluster, &self.name).await?;
        }
        let svc = active_service(&self.rt.ecs, &self.cluster, &self.name).await?;
        Ok(svc.map(|s| Live::ready(ServiceView::live(&s), s.service_arn().unwrap_or_default().to_string())))
    }

    async fn create(&self, d: &ServiceView) -> Result<String> {
        let tags = self.rt.env.names.tags(KIND, &self.name).into_iter();
        let out = self
            .rt
            .ecs
            .create_service()
            .cluster(&self.cluster)
            .service_name(&self.name)
            .task_definition(&d.task_definition)
            .desired_count(d.desired_count)
            .load_balancers(d.load_balancer())
            .set_deployment_configuration(d.deployment_configuration())
            .network_configuration(d.network())
            .health_check_grace_period_seconds(d.health_check_grace_s)
            .deployment_controller(
                DeploymentController::builder()
                    .r#type(DeploymentControllerType::from(d.deployment_controller.as_str()))
                    .build()
                    .expect("type set"),
            )
            .capacity_provider_strategy(d.strategy())
            .propagate_tags(PropagateTags::from(d.propagate_tags.as_str()))
            .set_tags(Some(tags.map(|t| EcsTag::builder().key(t.key).value(t.value).build()).collect()))
            .send()
            .await
            .aws("CreateService", &self.name)?;
        Ok(out.service().and_then(|s| s.service_arn()).unwrap_or_default().to_string())
    }

    fn defer_to_live(&self, desired: &mut ServiceView, live: &ServiceView) -> Option<String> {
        let mut why = Vec::new();
        // Application Auto Scaling owns the count between the floor and the ceiling we gave it.
        if self.max_count > desired.desired_count
            && (desired.desired_count..=self.max_count).contains(&live.desired_count)
        {
            desired.desired_count = live.desired_count;
        }
        // A completed blue/green deployment swaps the two target groups: either way round is ours.
        if let (Some(d), Some(l)) = (&mut desired.blue_green, &live.blue_green)
            && (desired.target_group.as_str(), d.alternate_target_group.as_str())
                == (l.alternate_target_group.as_str(), live.target_group.as_str())
        {
            desired.target_group.clone_from(&live.target_group);
            d.alternate_target_group.clone_from(&l.alternate_target_group);
        }
        if live.deployment_controller == DeploymentControllerType::CodeDeploy.as_str() {
            // AWS takes the task definition and load balancer of a CODE_DEPLOY service only through a CodeDeploy
            // deployment: the release moves them, and the live target group follows the listener.
            desired.target_group.clone_from(&live.target_group);
            if desired.task_definition != live.task_definition {
                why.push(format!(
                    "runs {}; the new revision {} is rolled out by a blue/green release (the pipeline)",
                    live.task_definition, desired.task_definition
                ));
                desired.task_definition.clone_from(&live.task_definition);
            }
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    fn updates(&self, d: &ServiceView, l: &ServiceView) -> Result<Vec<ServiceUpdate>> {
        let refuse = |field: &str, from: String, to: String, remedy: &str| -> crate::Error {
            CoreError::NeedsReplacement {
                resource: format!("service {}", self.name),
                change: Change::new(field, from, to),
                remedy: remedy.into(),
            }
            .into()
        };
        if d.deployment_controller != l.deployment_controller {
            return Err(refuse(
                "deployment_controller",
                l.deployment_controller.clone(),
                d.deployment_controller.clone(),
                "keep pipeline.deployment as deployed, or delete the service and deploy again",
            ));
        }
        let codedeploy = l.deployment_controller == DeploymentControllerType::CodeDeploy.as_str();
        let network_differs =
            (&d.subnets, &d.security_groups, d.public_ip) != (&l.subnets, &l.security_groups, l.public_ip);
        let lb_differs = (&d.target_group, &d.container, d.container_port, &d.blue_green)
            != (&l.target_group, &l.container, l.container_port, &l.blue_green);
        if codedeploy && (network_differs || lb_differs || d.capacity_provider != l.capacity_provider) {
            // UpdateService reference: "For services using the blue/green (CODE_DEPLOY) deployment controller,
            // only the desired count, deployment configuration, health check grace period, ... can be updated".
            let (field, from, to) = if network_differs {
                let net = |v: &ServiceView| format!("{} public_ip={}", v.subnets.join(","), v.public_ip);
                ("network", net(l), net(d))
            } else if lb_differs {
                let lb = |v: &ServiceView| format!("{}:{}", v.container, v.container_port);
                ("load_balancer", lb(l), lb(d))
            } else {
                ("capacity_provider", l.capacity_provider.clone(), d.capacity_provider.clone())
            };
            return Err(refuse(
                field,
                from,
                to,
                "a CODE_DEPLOY service takes network, load-balancer and capacity changes only through a CodeDeploy \
                 deployment, which this toolkit's releases do not carry yet: set pipeline.deployment = \"ecs\" (ECS-native \
                 blue/green), or keep network.task_subnets and ghost.capacity_provider as deployed",
            ));
        }
        let mut u = Vec::new();
        if d.desired_count != l.desired_count {
            u.push(ServicePart::DesiredCount(d.desired_count));
        }
        if d.task_definition != l.task_definition {
            u.push(ServicePart::TaskDefinition(d.task_definition.clone()));
        }
        if network_differs {
            u.push(ServicePart::Network(d.network()));
        }
        if d.capacity_provider != l.capacity_provider {
            u.push(ServicePart::CapacityProvider(d.strategy()));
        }
        if d.health_check_grace_s != l.health_check_grace_s {
            u.push(ServicePart::HealthCheckGrace(d.health_check_grace_s));
        }
        if lb_differs {
            u.push(ServicePart::LoadBalancer(Box::new((d.load_balancer(), d.deployment_configuration()))));
        }
        if d.propagate_tags != l.propagate_tags {
            u.push(ServicePart::PropagateTags);
        }
        Ok(if u.is_empty() { vec![] } else { vec![ServiceUpdate(u)] })
    }

    async fn update(&self, _: &String, ServiceUpdate(parts): ServiceUpdate) -> Result<()> {
        let mut req = self.rt.ecs.update_service().cluster(&self.cluster).service(&self.name);
        for part in parts {
            req = match part {
                ServicePart::DesiredCount(n) => req.desired_count(n),
                ServicePart::TaskDefinition(td) => req.task_definition(td),
                ServicePart::Network(n) => req.network_configuration(n),
                ServicePart::CapacityProvider(s) => req.capacity_provider_strategy(s).force_new_deployment(true),
                ServicePart::HealthCheckGrace(s) => req.health_check_grace_period_seconds(s),
                ServicePart::LoadBalancer(lb) => {
                    let (lb, config) = *lb;
                    req.load_balancers(lb).set_deployment_configuration(config)
                }
                ServicePart::PropagateTags => req.propagate_tags(PropagateTags::Service),
            };
        }
        req.send().await.aws("UpdateService", &self.name)?;
        Ok(())
    }
}

pub async fn ensure_service(
    rt: &Runtime,
    spec: &RuntimeSpec,
    net: &NetworkOut,
    lb: &LoadBalancerOut,
    task_definition: &str,
    native: Option<&NativeBlueGreen>,
) -> Result<String> {
    let service = EcsService::new(rt, spec, net, lb, task_definition, native);
    Ok(reconcile::ensure(&rt.env, &service).await?.into_id())
}

/// Waits while the service is DRAINING: DeleteService returns at once, and the service stays DRAINING while its
/// tasks are deregistered (the target group's deregistration delay) and stopped (their stop timeout); then it is
/// INACTIVE (ECS API reference, DeleteService). terraform waits 20 minutes for this (ecs/service.go).
pub async fn wait_drained(rt: &Runtime, cluster: &str, name: &str) -> ghost_core::Result<()> {
    let draining = services_named(&rt.ecs, cluster, name).await?.iter().any(|s| s.status() == Some("DRAINING"));
    if draining {
        rt.env.waiting(KIND, name, "INACTIVE (its tasks drain and stop)");
        let bound = Bound::new(DRAIN_WAIT, Duration::from_secs(15));
        poll_until(&format!("service {name} inactive"), &bound, || async {
            let out = rt.ecs.describe_services().cluster(cluster).services(name).send().await;
            let out = out.aws("DescribeServices", name)?;
            Ok(match out.services().first().and_then(|s| s.status()) {
                Some(state @ ("DRAINING" | "ACTIVE")) => Poll::Pending(state.into()),
                _ => Poll::Ready(()),
            })
        })
        .await?;
    }
    Ok(())
}

/// The service, if it exists and is ACTIVE (deleted services stay listed as INACTIVE for a while).
pub async fn find_service(rt: &Runtime, spec: &RuntimeSpec) -> Result<Option<Service>> {
    Ok(active_service(&rt.ecs, &spec.cluster(), &spec.service()).await?)
}

/// [`find_service`] for callers with their own ECS client (releases, status).
pub async fn active_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
) -> ghost_core::Result<Option<Service>> {
    Ok(services_named(ecs, cluster, name).await?.into_iter().find(|s| s.status() == Some("ACTIVE")))
}

/// Every service of that name DescribeServices returns, whatever its status (none when the cluster is gone).
async fn services_named(ecs: &aws_sdk_ecs::Client, cluster: &str, name: &str) -> ghost_core::Result<Vec<Service>> {
    let out = ecs.describe_services().cluster(cluster).services(name).send().await;
    let absent = aws_sdk_ecs::operation::describe_services::DescribeServicesError::is_cluster_not_found_exception;
    let out = ghost_core::AbsentExt::absent_when(out, absent, "DescribeServices", name)?;
    Ok(out.and_then(|o| o.services).unwrap_or_default())
}

pub async fn delete_service(rt: &Runtime, spec: &RuntimeSpec) -> Result<()> {
    let (cluster, name) = (spec.cluster(), spec.service());
    let Some(svc) = find_service(rt, spec).await? else {
        // A destroy killed during the drain left it DRAINING: the cluster cannot go until it is INACTIVE.
        if !rt.env.is_plan() {
            wait_drained(rt, &cluster, &name).await?;
        }
        return Ok(());
    };
    let arn = svc.service_arn().unwrap_or_default().to_string();
    rt.env
        .delete(KIND, &name, &arn, &["ServiceNotFoundException"], || async {
            if svc.desired_count() > 0 {
                rt.ecs
                    .update_service()
                    .cluster(&cluster)
                    .service(&name)
                    .desired_count(0)
                    .send()
                    .await
                    .aws("UpdateService", &name)?;
            }
            rt.ecs
                .delete_service()
                .cluster(&cluster)
                .service(&name)
                .force(true)
                .send()
                .await
                .aws("DeleteService", &name)?;
            // Until its tasks are gone the cluster cannot be deleted, nor their network interfaces released.
            wait_drained(rt, &cluster, &name).await
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(native: bool) -> ServiceView {
        ServiceView {
            deployment_controller: if native { "ECS" } else { "CODE_DEPLOY" }.into(),
            task_definition: "arn:td:1".into(),
            desired_count: 1,
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec!["sg-task".into()],
            public_ip: true,
            capacity_provider: "FARGATE".into(),
            health_check_grace_s: HEALTH_GRACE_S,
            target_group: "arn:tg:blue".into(),
            container: CONTAINER.into(),
            container_port: GHOST_PORT,
            blue_green: native.then(|| BlueGreenView {
                bake_minutes: BAKE_MINUTES,
                alternate_target_group: "arn:tg:green".into(),
                production_rule: "arn:rule:prod".into(),
                test_rule: "arn:rule:test".into(),
                role_arn: "arn:role".into(),
            }),
            propagate_tags: "SERVICE".into(),
        }
    }

    fn service(rt: &Runtime, desired: ServiceView) -> EcsService<'_> {
        EcsService { rt, cluster: "c".into(), name: "s".into(), desired, max_count: 1, planned_inputs: false }
    }

    #[test]
    fn every_service_field_is_compared_in_both_deployment_modes() {
        let rt = crate::mock_tests::offline();
        reconcile::testing::assert_every_field_compared(&service(&rt, sample(true)), &[sample(true), sample(false)]);
    }

    #[test]
    fn private_subnets_and_spot_on_an_ecs_service_are_updates() {
        let rt = crate::mock_tests::offline();
        let live = sample(true);
        let mut want = live.clone();
        want.subnets = vec!["subnet-p1".into(), "subnet-p2".into()];
        want.public_ip = false;
        want.capacity_provider = "FARGATE_SPOT".into();
        let u = service(&rt, want.clone()).updates(&want, &live).unwrap();
        assert!(
            matches!(u.as_slice(), [ServiceUpdate(p)] if matches!(p.as_slice(), [ServicePart::Network(_), ServicePart::CapacityProvider(_)])),
            "{u:?}"
        );
    }

    #[test]
    fn a_codedeploy_service_refuses_network_changes_naming_the_way() {
        let rt = crate::mock_tests::offline();
        let live = sample(false);
        let mut want = live.clone();
        want.capacity_provider = "FARGATE_SPOT".into();
        let err = service(&rt, want.clone()).updates(&want, &live).unwrap_err();
        assert!(err.to_string().contains("pipeline.deployment = \"ecs\""), "{err}");
    }

    #[test]
    fn the_release_owns_a_codedeploy_services_task_definition_and_autoscaling_its_count() {
        let rt = crate::mock_tests::offline();
        let mut live = sample(false);
        live.task_definition = "arn:td:7".into();
        live.target_group = "arn:tg:green".into();
        live.desired_count = 2;
        let mut s = service(&rt, sample(false));
        s.max_count = 3;
        let mut want = s.desired.clone();
        assert!(s.defer_to_live(&mut want, &live).is_some_and(|w| w.contains("arn:td:7")));
        assert_eq!(want, live);
    }

    #[test]
    fn a_completed_native_blue_green_swap_is_not_drift() {
        let rt = crate::mock_tests::offline();
        let mut live = sample(true);
        live.target_group = "arn:tg:green".into();
        live.blue_green.as_mut().unwrap().alternate_target_group = "arn:tg:blue".into();
        let s = service(&rt, sample(true));
        let mut want = s.desired.clone();
        s.defer_to_live(&mut want, &live);
        assert_eq!(want, live);
    }
}
