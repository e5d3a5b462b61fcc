//! CodeDeploy (deployment = "codedeploy", the seed): an ECS application and a blue/green deployment group with
//! traffic control over the run lens's two target groups and its production and test listeners, automatic
//! rollback on failure (and on the operate lens's alarms when there are any), blue kept for a configurable wait.

use aws_sdk_codedeploy::operation::get_application::GetApplicationError;
use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupError;
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent, BlueGreenDeploymentConfiguration,
    BlueInstanceTerminationOption, ComputePlatform, DeploymentGroupInfo, DeploymentOption, DeploymentReadyAction,
    DeploymentReadyOption, DeploymentStyle, DeploymentType, EcsService, InstanceAction, LoadBalancerInfo, Tag,
    TargetGroupInfo, TargetGroupPairInfo, TrafficRoute,
};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::wait::retry_iam_propagation;
use ghost_core::{AbsentExt, AwsResultExt, Change, Error as CoreError};
use ghost_runtime::RuntimeOut;
use serde::{Deserialize, Serialize};

use crate::spec::{CicdSpec, DEPLOYMENT_CONFIG};
use crate::{Cicd, Result};

const APP: &str = "codedeploy-application";
const GROUP: &str = "codedeploy-deployment-group";

/// Everything CreateDeploymentGroup sets (tags aside), read the same way from the desired and the found group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub service_role: String,
    pub deployment_config: String,
    pub style: String,
    pub termination_wait_minutes: i32,
    pub target_groups: Vec<String>,
    pub production_listener: String,
    pub test_listener: String,
    pub cluster: String,
    pub service: String,
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
            cluster: spec.cluster.clone(),
            service: spec.service.clone(),
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
            cluster: svc.and_then(|s| s.cluster_name()).unwrap_or_default().into(),
            service: svc.and_then(|s| s.service_name()).unwrap_or_default().into(),
            rollback_events,
            alarms,
        }
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
        EcsService::builder().cluster_name(&self.cluster).service_name(&self.service).build()
    }
}

/// What CreateApplication sets: the platform, fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub compute_platform: String,
}

/// The CodeDeploy application as a kind of the reconcile core.
#[derive(Debug)]
pub struct Application<'a> {
    pub c: &'a Cicd,
    pub name: String,
    pub desired: ApplicationView,
}

impl Resource for Application<'_> {
    type View = ApplicationView;
    type Out = String;
    type Update = std::convert::Infallible;
    type Error = crate::Error;
    const KIND: &'static str = APP;

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &ApplicationView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.clone()
    }
    async fn find(&self) -> Result<Option<Live<ApplicationView, String>>> {
        let name = &self.name;
        let got = self.c.codedeploy.get_application().application_name(name).send().await;
        let got =
            got.absent_when(GetApplicationError::is_application_does_not_exist_exception, "GetApplication", name)?;
        Ok(got.and_then(|o| o.application).map(|a| {
            let platform = a.compute_platform().map(|p| p.as_str()).unwrap_or_default().to_string();
            Live::ready(ApplicationView { compute_platform: platform }, name.clone())
        }))
    }
    async fn create(&self, d: &ApplicationView) -> Result<String> {
        let name = &self.name;
        let tags = self.c.env.names.tags("codedeploy-application", name).into_iter();
        let tags = tags.map(|t| Tag::builder().key(t.key).value(t.value).build());
        self.c
            .codedeploy
            .create_application()
            .application_name(name)
            .compute_platform(ComputePlatform::from(d.compute_platform.as_str()))
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .aws("CreateApplication", name)?;
        Ok(name.clone())
    }
    fn updates(&self, d: &ApplicationView, l: &ApplicationView) -> Result<Vec<std::convert::Infallible>> {
        Err(CoreError::NeedsReplacement {
            resource: format!("{APP} {}", self.name),
            change: Change::new("compute_platform", &l.compute_platform, &d.compute_platform),
            remedy: "CodeDeploy fixes an application's platform at creation: delete the application (and its \
                     deployment groups) and deploy again"
                .into(),
        }
        .into())
    }
    async fn update(&self, _: &String, u: std::convert::Infallible) -> Result<()> {
        match u {}
    }
}

/// Everything of the view on either request: CreateDeploymentGroup and UpdateDeploymentGroup take the same
/// settings.
macro_rules! settings {
    ($req:expr, $d:expr) => {
        $req.service_role_arn(&$d.service_role)
            .deployment_config_name(&$d.deployment_config)
            .deployment_style($d.style_sdk())
            .blue_green_deployment_configuration($d.blue_green_sdk())
            .load_balancer_info($d.load_balancer_sdk())
            .auto_rollback_configuration($d.rollback_sdk())
            .alarm_configuration($d.alarms_sdk())
            .ecs_services($d.service_sdk())
    };
}

/// The blue/green deployment group as a kind of the reconcile core: UpdateDeploymentGroup takes the whole
/// view, so any difference is one call.
#[derive(Debug)]
pub struct DeploymentGroup<'a> {
    pub c: &'a Cicd,
    pub application: String,
    pub name: String,
    pub desired: GroupView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupUpdate;

impl Resource for DeploymentGroup<'_> {
    type View = GroupView;
    type Out = String;
    type Update = GroupUpdate;
    type Error = crate::Error;
    const KIND: &'static str = GROUP;

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &GroupView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.clone()
    }
    async fn find(&self) -> Result<Option<Live<GroupView, String>>> {
        // A plan whose role does not exist yet has no group to read either (the application is new too).
        if self.c.env.is_plan() && ghost_core::is_planned(&self.desired.service_role) {
            return Ok(None);
        }
        let found = find_group(self.c, &self.application, &self.name).await?;
        Ok(found.map(|g| Live::ready(GroupView::found(&g), self.name.clone())))
    }
    async fn create(&self, d: &GroupView) -> Result<String> {
        let name = &self.name;
        let tags = self.c.env.names.tags("codedeploy-deployment-group", name).into_iter();
        let tags = tags.map(|t| Tag::builder().key(t.key).value(t.value).build());
        let req = self.c.codedeploy.create_deployment_group().application_name(&self.application);
        let req = settings!(req.deployment_group_name(name), d);
        let req = req.set_tags(Some(tags.collect()));
        retry_iam_propagation(&self.c.env, "codedeploy-deployment-group", name, || async {
            req.clone().send().await.aws("CreateDeploymentGroup", name)
        })
        .await?;
        Ok(name.clone())
    }
    fn updates(&self, d: &GroupView, l: &GroupView) -> Result<Vec<GroupUpdate>> {
        Ok(reconcile::when([(d != l, GroupUpdate)]))
    }
    async fn update(&self, _: &String, _: GroupUpdate) -> Result<()> {
        let (d, name) = (&self.desired, &self.name);
        let req = self.c.codedeploy.update_deployment_group().application_name(&self.application);
        let req = settings!(req.current_deployment_group_name(name), d);
        retry_iam_propagation(&self.c.env, "codedeploy-deployment-group", name, || async {
            req.clone().send().await.aws("UpdateDeploymentGroup", name)
        })
        .await?;
        Ok(())
    }
}

/// Returns (application, deployment group).
pub async fn ensure_codedeploy(
    c: &Cicd,
    spec: &CicdSpec,
    runtime: &RuntimeOut,
    role: &str,
) -> Result<(String, String)> {
    let desired = ApplicationView { compute_platform: ComputePlatform::Ecs.as_str().into() };
    let app = reconcile::ensure(&c.env, &Application { c, name: spec.application(), desired }).await?.into_id();
    let group = DeploymentGroup {
        c,
        application: app.clone(),
        name: spec.deployment_group(),
        desired: GroupView::desired(spec, runtime, role),
    };
    let group = reconcile::ensure(&c.env, &group).await?.into_id();
    Ok((app, group))
}

pub async fn find_group(c: &Cicd, app: &str, group: &str) -> Result<Option<DeploymentGroupInfo>> {
    let got = c.codedeploy.get_deployment_group().application_name(app).deployment_group_name(group).send().await;
    let absent = |e: &GetDeploymentGroupError| {
        e.is_deployment_group_does_not_exist_exception() || e.is_application_does_not_exist_exception()
    };
    Ok(got.absent_when(absent, "GetDeploymentGroup", group)?.and_then(|o| o.deployment_group_info))
}

/// The deployment group, then the application. Absent is success.
pub async fn delete_codedeploy(c: &Cicd, spec: &CicdSpec) -> Result<()> {
    let (app, group) = (spec.application(), spec.deployment_group());
    if let Some(g) = find_group(c, &app, &group).await? {
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
    let got = c.codedeploy.get_application().application_name(&app).send().await;
    let absent = GetApplicationError::is_application_does_not_exist_exception;
    if let Some(a) = got.absent_when(absent, "GetApplication", &app)? {
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
