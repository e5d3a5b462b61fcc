//! CodeDeploy (deployment = "codedeploy", the seed): an ECS application and a blue/green deployment group with
//! traffic control over the run lens's two target groups and its production and test listeners, automatic
//! rollback on failure (and on the operate lens's alarms when there are any), blue kept for a configurable wait.

use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent, BlueGreenDeploymentConfiguration,
    BlueInstanceTerminationOption, ComputePlatform, DeploymentGroupInfo, DeploymentOption, DeploymentReadyAction,
    DeploymentReadyOption, DeploymentStyle, DeploymentType, EcsService, InstanceAction, LoadBalancerInfo, Tag,
    TargetGroupInfo, TargetGroupPairInfo, TrafficRoute,
};
use ghost_core::error::absent_if;
use ghost_core::{AwsResultExt, Change, Outcome};
use ghost_runtime::RuntimeOut;

use crate::spec::{CicdSpec, DEPLOYMENT_CONFIG};
use crate::{Cicd, Result};

const APP: &str = "codedeploy-application";
const GROUP: &str = "codedeploy-deployment-group";

/// The deployment group's managed fields, read the same way from the desired and the found group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub service_role: String,
    pub deployment_config: String,
    pub style: String,
    pub termination_wait_minutes: i32,
    pub target_groups: Vec<String>,
    pub production_listener: String,
    pub test_listener: String,
    pub ecs_service: (String, String),
    pub rollback_events: Vec<String>,
    pub alarms: Vec<String>,
}

impl GroupView {
    pub fn desired(spec: &CicdSpec, runtime: &RuntimeOut, role: &str) -> Self {
        let mut rollback_events = vec!["DEPLOYMENT_FAILURE".to_string()];
        if !spec.alarms.is_empty() {
            rollback_events.push("DEPLOYMENT_STOP_ON_ALARM".into());
        }
        let mut alarms = spec.alarms.clone();
        alarms.sort();
        Self {
            service_role: role.into(),
            deployment_config: DEPLOYMENT_CONFIG.into(),
            style: "BLUE_GREEN/WITH_TRAFFIC_CONTROL".into(),
            termination_wait_minutes: i32::try_from(spec.blue_termination_wait_minutes).unwrap_or(5),
            target_groups: vec![spec.names.target_group("blue"), spec.names.target_group("green")],
            production_listener: runtime.load_balancer.production_listener.clone(),
            test_listener: runtime.load_balancer.test_listener.clone(),
            ecs_service: (spec.cluster.clone(), spec.service.clone()),
            rollback_events,
            alarms,
        }
    }

    pub fn found(g: &DeploymentGroupInfo) -> Self {
        let style = g.deployment_style().map(|s| {
            format!(
                "{}/{}",
                s.deployment_type().map(|t| t.as_str()).unwrap_or("?"),
                s.deployment_option().map(|o| o.as_str()).unwrap_or("?")
            )
        });
        let pair = g.load_balancer_info().and_then(|l| l.target_group_pair_info_list().first());
        let listener =
            |r: Option<&TrafficRoute>| r.and_then(|r| r.listener_arns().first()).cloned().unwrap_or_default();
        let rollback = g.auto_rollback_configuration().filter(|r| r.enabled());
        let mut rollback_events: Vec<String> =
            rollback.map(|r| r.events().iter().map(|e| e.as_str().to_string()).collect()).unwrap_or_default();
        rollback_events.sort_by_key(|e| e != "DEPLOYMENT_FAILURE");
        let mut alarms: Vec<String> = g
            .alarm_configuration()
            .filter(|a| a.enabled())
            .map(|a| a.alarms().iter().filter_map(|a| a.name().map(str::to_string)).collect())
            .unwrap_or_default();
        alarms.sort();
        let svc = g.ecs_services().first();
        Self {
            service_role: g.service_role_arn().unwrap_or_default().into(),
            deployment_config: g.deployment_config_name().unwrap_or_default().into(),
            style: style.unwrap_or_default(),
            termination_wait_minutes: g
                .blue_green_deployment_configuration()
                .and_then(|b| b.terminate_blue_instances_on_deployment_success())
                .map(|t| t.termination_wait_time_in_minutes())
                .unwrap_or(-1),
            target_groups: pair
                .map(|p| p.target_groups().iter().filter_map(|t| t.name().map(str::to_string)).collect())
                .unwrap_or_default(),
            production_listener: listener(pair.and_then(|p| p.prod_traffic_route())),
            test_listener: listener(pair.and_then(|p| p.test_traffic_route())),
            ecs_service: svc
                .map(|s| (s.cluster_name().unwrap_or_default().into(), s.service_name().unwrap_or_default().into()))
                .unwrap_or_default(),
            rollback_events,
            alarms,
        }
    }

    pub fn diff(&self, found: &Self) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut field = |name: &str, have: String, want: String| {
            if have != want {
                changes.push(Change::new(name, have, want));
            }
        };
        field("service_role", found.service_role.clone(), self.service_role.clone());
        field("deployment_config", found.deployment_config.clone(), self.deployment_config.clone());
        field("style", found.style.clone(), self.style.clone());
        field(
            "termination_wait_minutes",
            found.termination_wait_minutes.to_string(),
            self.termination_wait_minutes.to_string(),
        );
        field("target_groups", found.target_groups.join(","), self.target_groups.join(","));
        field("production_listener", found.production_listener.clone(), self.production_listener.clone());
        field("test_listener", found.test_listener.clone(), self.test_listener.clone());
        field("ecs_service", format!("{:?}", found.ecs_service), format!("{:?}", self.ecs_service));
        field("rollback_events", found.rollback_events.join(","), self.rollback_events.join(","));
        field("alarms", found.alarms.join(","), self.alarms.join(","));
        changes
    }

    fn style_sdk(&self) -> DeploymentStyle {
        DeploymentStyle::builder()
            .deployment_type(DeploymentType::BlueGreen)
            .deployment_option(DeploymentOption::WithTrafficControl)
            .build()
    }

    fn blue_green_sdk(&self) -> BlueGreenDeploymentConfiguration {
        BlueGreenDeploymentConfiguration::builder()
            .terminate_blue_instances_on_deployment_success(
                BlueInstanceTerminationOption::builder()
                    .action(InstanceAction::Terminate)
                    .termination_wait_time_in_minutes(self.termination_wait_minutes)
                    .build(),
            )
            .deployment_ready_option(
                DeploymentReadyOption::builder().action_on_timeout(DeploymentReadyAction::ContinueDeployment).build(),
            )
            .build()
    }

    fn load_balancer_sdk(&self) -> LoadBalancerInfo {
        let route = |l: &str| TrafficRoute::builder().listener_arns(l).build();
        let pair = TargetGroupPairInfo::builder()
            .set_target_groups(Some(
                self.target_groups.iter().map(|n| TargetGroupInfo::builder().name(n).build()).collect(),
            ))
            .prod_traffic_route(route(&self.production_listener))
            .test_traffic_route(route(&self.test_listener))
            .build();
        LoadBalancerInfo::builder().target_group_pair_info_list(pair).build()
    }

    fn rollback_sdk(&self) -> AutoRollbackConfiguration {
        AutoRollbackConfiguration::builder()
            .enabled(true)
            .set_events(Some(self.rollback_events.iter().map(|e| AutoRollbackEvent::from(e.as_str())).collect()))
            .build()
    }

    fn alarms_sdk(&self) -> AlarmConfiguration {
        AlarmConfiguration::builder()
            .enabled(!self.alarms.is_empty())
            .set_alarms(Some(self.alarms.iter().map(|a| Alarm::builder().name(a).build()).collect()))
            .build()
    }

    fn service_sdk(&self) -> EcsService {
        EcsService::builder().cluster_name(&self.ecs_service.0).service_name(&self.ecs_service.1).build()
    }
}

/// Returns (application, deployment group).
pub async fn ensure_codedeploy(
    c: &Cicd,
    spec: &CicdSpec,
    runtime: &RuntimeOut,
    role: &str,
) -> Result<(String, String)> {
    let app = spec.application();
    c.env
        .track(APP, &app, async {
            let got = c.codedeploy.get_application().application_name(&app).send().await.aws("GetApplication", &app);
            if absent_if(got, &["ApplicationDoesNotExistException"])?.is_some() {
                return Ok::<_, crate::Error>(Outcome::Unchanged(app.clone()));
            }
            if !c.env.is_plan() {
                let tags = c
                    .env
                    .names
                    .tags("codedeploy-application", &app)
                    .into_iter()
                    .map(|t| Tag::builder().key(t.key).value(t.value).build());
                c.codedeploy
                    .create_application()
                    .application_name(&app)
                    .compute_platform(ComputePlatform::Ecs)
                    .set_tags(Some(tags.collect()))
                    .send()
                    .await
                    .aws("CreateApplication", &app)?;
            }
            Ok(Outcome::Created(app.clone()))
        })
        .await?;
    let group = spec.deployment_group();
    let want = GroupView::desired(spec, runtime, role);
    c.env
        .track(GROUP, &group, async {
            let found =
                if c.env.is_plan() && ghost_core::is_planned(role) { None } else { find_group(c, spec).await? };
            let Some(found) = found else {
                if !c.env.is_plan() {
                    let tags = c
                        .env
                        .names
                        .tags("codedeploy-deployment-group", &group)
                        .into_iter()
                        .map(|t| Tag::builder().key(t.key).value(t.value).build());
                    c.codedeploy
                        .create_deployment_group()
                        .application_name(&app)
                        .deployment_group_name(&group)
                        .service_role_arn(&want.service_role)
                        .deployment_config_name(&want.deployment_config)
                        .deployment_style(want.style_sdk())
                        .blue_green_deployment_configuration(want.blue_green_sdk())
                        .load_balancer_info(want.load_balancer_sdk())
                        .auto_rollback_configuration(want.rollback_sdk())
                        .alarm_configuration(want.alarms_sdk())
                        .ecs_services(want.service_sdk())
                        .set_tags(Some(tags.collect()))
                        .send()
                        .await
                        .aws("CreateDeploymentGroup", &group)?;
                }
                return Ok::<_, crate::Error>(Outcome::Created(group.clone()));
            };
            let changes = want.diff(&GroupView::found(&found));
            if !changes.is_empty() && !c.env.is_plan() {
                c.codedeploy
                    .update_deployment_group()
                    .application_name(&app)
                    .current_deployment_group_name(&group)
                    .service_role_arn(&want.service_role)
                    .deployment_config_name(&want.deployment_config)
                    .deployment_style(want.style_sdk())
                    .blue_green_deployment_configuration(want.blue_green_sdk())
                    .load_balancer_info(want.load_balancer_sdk())
                    .auto_rollback_configuration(want.rollback_sdk())
                    .alarm_configuration(want.alarms_sdk())
                    .ecs_services(want.service_sdk())
                    .send()
                    .await
                    .aws("UpdateDeploymentGroup", &group)?;
            }
            Ok(Outcome::from_changes(group.clone(), changes))
        })
        .await?;
    Ok((app, group))
}

pub async fn find_group(c: &Cicd, spec: &CicdSpec) -> Result<Option<DeploymentGroupInfo>> {
    let (app, group) = (spec.application(), spec.deployment_group());
    let got = c
        .codedeploy
        .get_deployment_group()
        .application_name(&app)
        .deployment_group_name(&group)
        .send()
        .await
        .aws("GetDeploymentGroup", &group);
    let got = absent_if(got, &["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"])?;
    Ok(got.and_then(|o| o.deployment_group_info))
}

/// The deployment group, then the application. Absent is success.
pub async fn delete_codedeploy(c: &Cicd, spec: &CicdSpec) -> Result<()> {
    let (app, group) = (spec.application(), spec.deployment_group());
    if let Some(g) = find_group(c, spec).await? {
        let id = g.deployment_group_id.unwrap_or(group.clone());
        c.env
            .delete(
                GROUP,
                &group,
                &id,
                &["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"],
                || async {
                    c.codedeploy
                        .delete_deployment_group()
                        .application_name(&app)
                        .deployment_group_name(&group)
                        .send()
                        .await
                        .map(|_| ())
                        .aws("DeleteDeploymentGroup", &group)
                },
            )
            .await?;
    }
    let got = c.codedeploy.get_application().application_name(&app).send().await.aws("GetApplication", &app);
    if let Some(a) = absent_if(got, &["ApplicationDoesNotExistException"])? {
        let id = a.application.and_then(|a| a.application_id).unwrap_or(app.clone());
        c.env
            .delete(APP, &app, &id, &["ApplicationDoesNotExistException"], || async {
                c.codedeploy
                    .delete_application()
                    .application_name(&app)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeleteApplication", &app)
            })
            .await?;
    }
    Ok(())
}
