//! The load balancer: an internet-facing ALB in the public subnets, two target groups (blue, green) for
//! blue/green releases, the production listener (80, or 443 with 80 redirecting when a certificate is set) and
//! a test listener for verifying green before traffic moves, open only to the configured admin CIDRs.
//!
//! The production listener's current target group is the live one: a re-deploy after a blue/green swap keeps
//! it (never flips traffic back), and the test listener gets the other.

use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersError;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::client::Waiters;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsError;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, Listener, LoadBalancer, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Tag, TargetGroup, TargetGroupAttribute,
    TargetTypeEnum,
};
use ghost_core::error::waiter_error;
use ghost_core::reconcile::{self, Live, Readiness, Resource};
use ghost_core::wait::Bound;
use ghost_core::{AbsentExt, AwsResultExt, Change, Outcome, is_planned, planned_id};
use ghost_net::NetworkOut;
use serde::{Deserialize, Serialize};

use crate::spec::RuntimeSpec;
use crate::{Pair, Result, Runtime};

pub const GHOST_PORT: i32 = 2368;
/// Ghost has no health endpoint; this one is unauthenticated and cheap. Ghost answers 200, or 301 when its
/// `url` is https and the check arrives over plain HTTP.
pub const HEALTH_PATH: &str = "/ghost/api/admin/site/";
pub const HEALTH_MATCHER: &str = "200,301";
/// Health checks every 15 s; 2 passes make a target healthy, 3 failures unhealthy (green is in service ~30 s
/// after Ghost answers).
const HEALTHY_THRESHOLD: i32 = 2;
const UNHEALTHY_THRESHOLD: i32 = 3;
const HEALTH_INTERVAL_S: i32 = 15;
const HEALTH_TIMEOUT_S: i32 = 5;
/// TLS 1.3 with 1.2 fallback: AWS's current recommended policy.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// How long a target group lets a leaving task finish its requests (so how long a destroyed service drains).
pub const DEREGISTRATION_DELAY_S: &str = "30";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancerOut {
    pub alb_arn: String,
    pub alb_dns: String,
    pub blue_target_group: String,
    pub green_target_group: String,
    /// The target group the production listener sends traffic to now.
    pub live_target_group: String,
    pub production_listener: String,
    pub test_listener: String,
    /// With deployment = "ecs": the listener rules ECS shifts between blue and green.
    pub production_rule: Option<String>,
    pub test_rule: Option<String>,
    /// Created by this run and not active yet: [`wait_active`] before the run ends.
    #[serde(skip)]
    pub provisioning: bool,
}

fn tags(rt: &Runtime, component: &str, name: &str) -> Vec<Tag> {
    rt.env.names.tags(component, name).into_iter().map(|t| Tag::builder().key(t.key).value(t.value).build()).collect()
}

pub async fn find_alb(rt: &Runtime, name: &str) -> Result<Option<LoadBalancer>> {
    let got = rt.elb.describe_load_balancers().names(name).send().await;
    let absent = DescribeLoadBalancersError::is_load_balancer_not_found_exception;
    Ok(got
        .absent_when(absent, "DescribeLoadBalancers", name)?
        .and_then(|o| o.load_balancers.and_then(|l| l.into_iter().next())))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Everything CreateLoadBalancer sets, as DescribeLoadBalancers reads it back (lists sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbView {
    pub scheme: String,
    pub r#type: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

impl AlbView {
    pub fn desired(net: &NetworkOut) -> Self {
        Self {
            scheme: LoadBalancerSchemeEnum::InternetFacing.as_str().into(),
            r#type: LoadBalancerTypeEnum::Application.as_str().into(),
            subnets: sorted(net.public_subnets.clone()),
            security_groups: vec![net.sg_alb.clone()],
        }
    }

    fn live(lb: &LoadBalancer) -> Self {
        Self {
            scheme: lb.scheme().map(|s| s.as_str().to_string()).unwrap_or_default(),
            r#type: lb.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            subnets: sorted(lb.availability_zones().iter().filter_map(|z| z.subnet_id().map(str::to_string)).collect()),
            security_groups: sorted(lb.security_groups().to_vec()),
        }
    }
}

/// The load balancer as a reconciled resource: usable once `active` (ELBv2 LoadBalancerState).
#[derive(Debug)]
pub struct Alb<'a> {
    pub rt: &'a Runtime,
    pub name: String,
    pub desired: AlbView,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlbUpdate {
    Subnets(Vec<String>),
    SecurityGroups(Vec<String>),
}

impl Resource for Alb<'_> {
    type View = AlbView;
    type Out = Pair;
    type Update = AlbUpdate;
    type Error = crate::Error;
    const KIND: &'static str = "load-balancer";

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &AlbView {
        &self.desired
    }
    fn planned(&self) -> Pair {
        Pair::new(planned_id(Self::KIND), "")
    }
    async fn find(&self) -> Result<Option<Live<AlbView, Pair>>> {
        Ok(find_alb(self.rt, &self.name).await?.map(|lb| {
            let state = lb.state().and_then(|s| s.code()).map(|c| c.as_str().to_string()).unwrap_or_default();
            let readiness = match state.as_str() {
                "active" | "active_impaired" => Readiness::Ready,
                "failed" => Readiness::Failed(state),
                _ => Readiness::Pending(state),
            };
            let out = Pair::new(lb.load_balancer_arn().unwrap_or_default(), lb.dns_name().unwrap_or_default());
            Live { view: AlbView::live(&lb), out, readiness }
        }))
    }
    async fn create(&self, d: &AlbView) -> Result<Pair> {
        let out = self
            .rt
            .elb
            .create_load_balancer()
            .name(&self.name)
            .set_subnets(Some(d.subnets.clone()))
            .set_security_groups(Some(d.security_groups.clone()))
            .scheme(LoadBalancerSchemeEnum::from(d.scheme.as_str()))
            .r#type(LoadBalancerTypeEnum::from(d.r#type.as_str()))
            .set_tags(Some(tags(self.rt, Self::KIND, &self.name)))
            .send()
            .await
            .aws("CreateLoadBalancer", &self.name)?;
        let lb = out.load_balancers().first();
        Ok(Pair::new(
            lb.and_then(|l| l.load_balancer_arn()).unwrap_or_default(),
            lb.and_then(|l| l.dns_name()).unwrap_or_default(),
        ))
    }
    fn readiness(&self) -> Option<Bound> {
        // The SDK's load-balancer-available waiter polls every 15 s.
        Some(Bound::new(Duration::from_secs(600), Duration::from_secs(15)))
    }
    fn updates(&self, d: &AlbView, l: &AlbView) -> Result<Vec<AlbUpdate>> {
        for (field, want, have) in [("scheme", &d.scheme, &l.scheme), ("type", &d.r#type, &l.r#type)] {
            if want != have {
                return Err(ghost_core::Error::NeedsReplacement {
                    resource: format!("load balancer {}", self.name),
                    change: Change::new(field, have, want),
                    remedy: "delete the load balancer (its listeners and target groups go with it) and deploy again"
                        .into(),
                }
                .into());
            }
        }
        let mut u = Vec::new();
        if d.subnets != l.subnets {
            u.push(AlbUpdate::Subnets(d.subnets.clone()));
        }
        if d.security_groups != l.security_groups {
            u.push(AlbUpdate::SecurityGroups(d.security_groups.clone()));
        }
        Ok(u)
    }
    async fn update(&self, alb: &Pair, u: AlbUpdate) -> Result<()> {
        match u {
            AlbUpdate::Subnets(s) => {
                let req = self.rt.elb.set_subnets().load_balancer_arn(&alb.id).set_subnets(Some(s));
                req.send().await.aws("SetSubnets", &self.name)?;
            }
            AlbUpdate::SecurityGroups(g) => {
                let req = self.rt.elb.set_security_groups().load_balancer_arn(&alb.id).set_security_groups(Some(g));
                req.send().await.aws("SetSecurityGroups", &self.name)?;
            }
        }
        Ok(())
    }
}

/// The load balancer, handed back as soon as CreateLoadBalancer answers (`true`: still provisioning, so the
/// caller waits with [`wait_active`] before its run ends). Nothing built on it needs it active: CreateListener,
/// CreateRule and CreateService name it or its target groups by ARN, and the seed's own procedure creates the
/// listener right after it. Its 2–3 minutes of provisioning overlap everything else that way.
pub async fn ensure_alb(rt: &Runtime, net: &NetworkOut) -> Result<(Outcome<Pair>, bool)> {
    reconcile::ensure_started(&rt.env, &Alb { rt, name: rt.env.names.alb(), desired: AlbView::desired(net) }).await
}

/// Waits until a load balancer this run created is active (a deploy does not end on one still provisioning:
/// its DNS name answers nothing until then). One found active, or in a plan, costs nothing.
pub async fn wait_active(rt: &Runtime, net: &NetworkOut, lb: &LoadBalancerOut) -> Result<()> {
    if lb.provisioning && !rt.env.is_plan() {
        reconcile::wait_ready(&rt.env, &Alb { rt, name: rt.env.names.alb(), desired: AlbView::desired(net) }).await?;
    }
    Ok(())
}

pub async fn find_target_group(rt: &Runtime, name: &str) -> Result<Option<TargetGroup>> {
    let got = rt.elb.describe_target_groups().names(name).send().await;
    let got =
        got.absent_when(DescribeTargetGroupsError::is_target_group_not_found_exception, "DescribeTargetGroups", name)?;
    Ok(got.and_then(|o| o.target_groups.and_then(|t| t.into_iter().next())))
}

/// Everything CreateTargetGroup and the deregistration-delay attribute set, as DescribeTargetGroups reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupView {
    pub protocol: String,
    pub port: i32,
    pub vpc_id: String,
    pub target_type: String,
    pub health: HealthCheckView,
    pub deregistration_delay_s: String,
}

/// The health check: ModifyTargetGroup sets all of it in one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckView {
    pub protocol: String,
    pub path: String,
    pub matcher: String,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    pub interval_s: i32,
    pub timeout_s: i32,
}

impl TargetGroupView {
    pub fn desired(vpc_id: &str) -> Self {
        Self {
            protocol: ProtocolEnum::Http.as_str().into(),
            port: GHOST_PORT,
            vpc_id: vpc_id.into(),
            target_type: TargetTypeEnum::Ip.as_str().into(),
            health: HealthCheckView {
                protocol: ProtocolEnum::Http.as_str().into(),
                path: HEALTH_PATH.into(),
                matcher: HEALTH_MATCHER.into(),
                healthy_threshold: HEALTHY_THRESHOLD,
                unhealthy_threshold: UNHEALTHY_THRESHOLD,
                interval_s: HEALTH_INTERVAL_S,
                timeout_s: HEALTH_TIMEOUT_S,
            },
            deregistration_delay_s: DEREGISTRATION_DELAY_S.into(),
        }
    }

    fn live(tg: &TargetGroup, delay: &str) -> Self {
        let s = |v: Option<&str>| v.unwrap_or_default().to_string();
        Self {
            protocol: s(tg.protocol().map(|p| p.as_str())),
            port: tg.port().unwrap_or_default(),
            vpc_id: s(tg.vpc_id()),
            target_type: s(tg.target_type().map(|t| t.as_str())),
            health: HealthCheckView {
                protocol: s(tg.health_check_protocol().map(|p| p.as_str())),
                path: s(tg.health_check_path()),
                matcher: s(tg.matcher().and_then(|m| m.http_code())),
                healthy_threshold: tg.healthy_threshold_count().unwrap_or_default(),
                unhealthy_threshold: tg.unhealthy_threshold_count().unwrap_or_default(),
                interval_s: tg.health_check_interval_seconds().unwrap_or_default(),
                timeout_s: tg.health_check_timeout_seconds().unwrap_or_default(),
            },
            deregistration_delay_s: delay.into(),
        }
    }
}

/// A target group (blue or green) as a reconciled resource; its output is the ARN.
#[derive(Debug)]
pub struct TargetGroupKind<'a> {
    pub rt: &'a Runtime,
    pub name: String,
    pub desired: TargetGroupView,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetGroupUpdate {
    Health(HealthCheckView),
    DeregistrationDelay(String),
}

impl Resource for TargetGroupKind<'_> {
    type View = TargetGroupView;
    type Out = String;
    type Update = TargetGroupUpdate;
    type Error = crate::Error;
    const KIND: &'static str = "target-group";

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &TargetGroupView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(Self::KIND)
    }
    async fn find(&self) -> Result<Option<Live<TargetGroupView, String>>> {
        let Some(tg) = find_target_group(self.rt, &self.name).await? else { return Ok(None) };
        let arn = tg.target_group_arn().unwrap_or_default().to_string();
        let attrs = self.rt.elb.describe_target_group_attributes().target_group_arn(&arn).send().await;
        let attrs = attrs.aws("DescribeTargetGroupAttributes", &self.name)?;
        let delay = attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value())
            .unwrap_or("300");
        Ok(Some(Live::ready(TargetGroupView::live(&tg, delay), arn)))
    }
    async fn create(&self, d: &TargetGroupView) -> Result<String> {
        let h = &d.health;
        let out = self
            .rt
            .elb
            .create_target_group()
            .name(&self.name)
            .protocol(ProtocolEnum::from(d.protocol.as_str()))
            .port(d.port)
            .vpc_id(&d.vpc_id)
            .target_type(TargetTypeEnum::from(d.target_type.as_str()))
            .health_check_protocol(ProtocolEnum::from(h.protocol.as_str()))
            .health_check_path(&h.path)
            .matcher(Matcher::builder().http_code(&h.matcher).build())
            .healthy_threshold_count(h.healthy_threshold)
            .unhealthy_threshold_count(h.unhealthy_threshold)
            .health_check_interval_seconds(h.interval_s)
            .health_check_timeout_seconds(h.timeout_s)
            .set_tags(Some(tags(self.rt, Self::KIND, &self.name)))
            .send()
            .await
            .aws("CreateTargetGroup", &self.name)?;
        let arn = out.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_string();
        self.update(&arn, TargetGroupUpdate::DeregistrationDelay(d.deregistration_delay_s.clone())).await?;
        Ok(arn)
    }
    fn updates(&self, d: &TargetGroupView, l: &TargetGroupView) -> Result<Vec<TargetGroupUpdate>> {
        let fixed = [
            ("protocol", d.protocol.clone(), l.protocol.clone()),
            ("port", d.port.to_string(), l.port.to_string()),
            ("vpc_id", d.vpc_id.clone(), l.vpc_id.clone()),
            ("target_type", d.target_type.clone(), l.target_type.clone()),
        ];
        // ELBv2 fixes these at CreateTargetGroup (ModifyTargetGroup takes only the health check).
        if let Some((field, want, have)) = fixed.into_iter().find(|(_, w, h)| w != h) {
            return Err(ghost_core::Error::NeedsReplacement {
                resource: format!("target group {}", self.name),
                change: Change::new(field, have, want),
                remedy: "delete the load balancer's listeners and this target group, then deploy again".into(),
            }
            .into());
        }
        let mut u = Vec::new();
        if d.health != l.health {
            u.push(TargetGroupUpdate::Health(d.health.clone()));
        }
        if d.deregistration_delay_s != l.deregistration_delay_s {
            u.push(TargetGroupUpdate::DeregistrationDelay(d.deregistration_delay_s.clone()));
        }
        Ok(u)
    }
    async fn update(&self, arn: &String, u: TargetGroupUpdate) -> Result<()> {
        match u {
            TargetGroupUpdate::Health(h) => {
                self.rt
                    .elb
                    .modify_target_group()
                    .target_group_arn(arn)
                    .health_check_protocol(ProtocolEnum::from(h.protocol.as_str()))
                    .health_check_path(&h.path)
                    .matcher(Matcher::builder().http_code(&h.matcher).build())
                    .healthy_threshold_count(h.healthy_threshold)
                    .unhealthy_threshold_count(h.unhealthy_threshold)
                    .health_check_interval_seconds(h.interval_s)
                    .health_check_timeout_seconds(h.timeout_s)
                    .send()
                    .await
                    .aws("ModifyTargetGroup", &self.name)?;
            }
            TargetGroupUpdate::DeregistrationDelay(seconds) => {
                let attr = TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value(seconds);
                let req = self.rt.elb.modify_target_group_attributes().target_group_arn(arn).attributes(attr.build());
                req.send().await.aws("ModifyTargetGroupAttributes", arn)?;
            }
        }
        Ok(())
    }
}

pub async fn ensure_target_group(rt: &Runtime, color: &str, vpc_id: &str) -> Result<Outcome<String>> {
    let tg = TargetGroupKind { rt, name: rt.env.names.target_group(color), desired: TargetGroupView::desired(vpc_id) };
    reconcile::ensure(&rt.env, &tg).await
}

/// What a listener should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    pub port: i32,
    pub https_certificate: Option<String>,
    pub action: ListenerAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListenerAction {
    Forward(String),
    RedirectToHttps,
}

/// The target group the production listener (443 with a certificate, else 80) forwards to now.
pub fn production_forward(spec: &RuntimeSpec, listeners: &[Listener]) -> Option<String> {
    let prod_port = if spec.certificate_arn.is_some() { 443 } else { 80 };
    listeners.iter().find(|l| l.port() == Some(prod_port)).and_then(forward_target)
}

/// Where a listener's default action forwards: its target group, or the heaviest of a weighted forward.
pub fn forward_target(l: &Listener) -> Option<String> {
    let a = l.default_actions().first()?;
    if let Some(tg) = a.target_group_arn() {
        return Some(tg.to_string());
    }
    // A weighted forward (CodeDeploy's shifts): the heaviest group is the live one.
    let groups = a.forward_config()?.target_groups();
    groups.iter().max_by_key(|t| t.weight().unwrap_or(0)).and_then(|t| t.target_group_arn().map(str::to_string))
}

fn action_of(l: &Listener) -> Option<ListenerAction> {
    let a = l.default_actions().first()?;
    match a.r#type() {
        Some(ActionTypeEnum::Redirect) => Some(ListenerAction::RedirectToHttps),
        Some(ActionTypeEnum::Forward) => forward_target(l).map(ListenerAction::Forward),
        _ => None,
    }
}

fn to_action(a: &ListenerAction) -> Action {
    match a {
        ListenerAction::Forward(tg) => Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg).build(),
        ListenerAction::RedirectToHttps => Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
    }
}

pub async fn list_listeners(rt: &Runtime, alb_arn: &str) -> Result<Vec<Listener>> {
    if is_planned(alb_arn) {
        return Ok(vec![]);
    }
    Ok(rt
        .elb
        .describe_listeners()
        .load_balancer_arn(alb_arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeListeners", alb_arn)?)
}

/// The listeners as the config wants them, given which target group is live now.
pub fn listener_specs(spec: &RuntimeSpec, live: &str, alternate: &str) -> Vec<ListenerSpec> {
    let mut out = Vec::new();
    match &spec.certificate_arn {
        Some(cert) => {
            out.push(ListenerSpec {
                port: 443,
                https_certificate: Some(cert.clone()),
                action: ListenerAction::Forward(live.into()),
            });
            out.push(ListenerSpec { port: 80, https_certificate: None, action: ListenerAction::RedirectToHttps });
        }
        None => {
            out.push(ListenerSpec { port: 80, https_certificate: None, action: ListenerAction::Forward(live.into()) })
        }
    }
    out.push(ListenerSpec {
        port: i32::from(spec.test_listener_port),
        https_certificate: None,
        action: ListenerAction::Forward(alternate.into()),
    });
    out
}

/// The live target group: what the production listener forwards to now, else blue.
pub fn live_target_group(spec: &RuntimeSpec, listeners: &[Listener], blue: &str, green: &str) -> String {
    match production_forward(spec, listeners) {
        Some(tg) if tg == green => green.to_string(),
        _ => blue.to_string(),
    }
}

/// Where the test listener should forward: a new one to the group not live; one already forwarding to either of
/// the pair stays as it is. CodeDeploy moves it to each release's replacement and leaves it there ("The listener for
/// your test traffic can use either of your target groups", CodeDeploy User Guide, "Step 1: Create a test
/// listener"), so moving it back after every release would be a write each deploy, undone by the next release.
pub fn test_target(spec: &RuntimeSpec, listeners: &[Listener], pair: [&str; 2], alternate: &str) -> String {
    let port = i32::from(spec.test_listener_port);
    let now = listeners.iter().find(|l| l.port() == Some(port)).and_then(forward_target);
    now.filter(|tg| pair.contains(&tg.as_str())).unwrap_or_else(|| alternate.to_string())
}

/// What CreateListener sets (tags aside); the port finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerView {
    pub protocol: String,
    pub certificate: Option<String>,
    pub ssl_policy: Option<String>,
    pub action: Option<ListenerAction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModifyListener;

/// One listener as a kind of the reconcile core, found by port among the load balancer's (listed once).
/// ModifyListener takes the whole view, so any difference is one call.
#[derive(Debug)]
pub struct ListenerKind<'a> {
    pub rt: &'a Runtime,
    pub alb_arn: &'a str,
    pub existing: &'a [Listener],
    pub port: i32,
    pub desired: ListenerView,
}

impl<'a> ListenerKind<'a> {
    pub fn new(rt: &'a Runtime, alb_arn: &'a str, existing: &'a [Listener], want: &ListenerSpec) -> Self {
        let https = want.https_certificate.is_some();
        let desired = ListenerView {
            protocol: if https { ProtocolEnum::Https } else { ProtocolEnum::Http }.as_str().to_string(),
            certificate: want.https_certificate.clone(),
            ssl_policy: https.then(|| TLS_POLICY.to_string()),
            action: Some(want.action.clone()),
        };
        Self { rt, alb_arn, existing, port: want.port, desired }
    }

    fn certificates(&self, d: &ListenerView) -> Option<Vec<Certificate>> {
        d.certificate.as_ref().map(|c| vec![Certificate::builder().certificate_arn(c).build()])
    }

    fn actions(d: &ListenerView) -> Option<Vec<Action>> {
        d.action.as_ref().map(|a| vec![to_action(a)])
    }
}

impl Resource for ListenerKind<'_> {
    type View = ListenerView;
    type Out = String;
    type Update = ModifyListener;
    type Error = crate::Error;
    const KIND: &'static str = "listener";

    fn name(&self) -> String {
        format!("{}:{}", self.rt.env.names.alb(), self.port)
    }
    fn desired(&self) -> &ListenerView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id("listener")
    }
    async fn find(&self) -> Result<Option<Live<ListenerView, String>>> {
        Ok(self.existing.iter().find(|l| l.port() == Some(self.port)).map(|l| {
            let view = ListenerView {
                protocol: l.protocol().map(|p| p.as_str()).unwrap_or_default().to_string(),
                certificate: l.certificates().first().and_then(|c| c.certificate_arn()).map(str::to_string),
                // A security policy belongs to HTTPS and TLS listeners only (ELBv2 API reference, Listener
                // SslPolicy); an HTTP listener's, if any is reported (moto reports a default), is not one we set.
                ssl_policy: matches!(l.protocol(), Some(ProtocolEnum::Https | ProtocolEnum::Tls))
                    .then(|| l.ssl_policy().map(str::to_string))
                    .flatten(),
                action: action_of(l),
            };
            Live::ready(view, l.listener_arn().unwrap_or_default().to_string())
        }))
    }
    async fn create(&self, d: &ListenerView) -> Result<String> {
        let name = self.name();
        let out = self
            .rt
            .elb
            .create_listener()
            .load_balancer_arn(self.alb_arn)
            .port(self.port)
            .protocol(ProtocolEnum::from(d.protocol.as_str()))
            .set_default_actions(Self::actions(d))
            .set_certificates(self.certificates(d))
            .set_ssl_policy(d.ssl_policy.clone())
            .set_tags(Some(tags(self.rt, "listener", &name)))
            .send()
            .await
            .aws("CreateListener", &name)?;
        Ok(out.listeners().first().and_then(|l| l.listener_arn()).unwrap_or_default().to_string())
    }
    fn updates(&self, d: &ListenerView, l: &ListenerView) -> Result<Vec<ModifyListener>> {
        Ok(reconcile::when([(d != l, ModifyListener)]))
    }
    async fn update(&self, arn: &String, _: ModifyListener) -> Result<()> {
        let d = &self.desired;
        self.rt
            .elb
            .modify_listener()
            .listener_arn(arn)
            .port(self.port)
            .protocol(ProtocolEnum::from(d.protocol.as_str()))
            .set_default_actions(Self::actions(d))
            .set_certificates(self.certificates(d))
            .set_ssl_policy(d.ssl_policy.clone())
            .send()
            .await
            .aws("ModifyListener", &self.name())?;
        Ok(())
    }
}

pub async fn ensure_listener(
    rt: &Runtime,
    alb_arn: &str,
    existing: &[Listener],
    want: &ListenerSpec,
) -> Result<Outcome<String>> {
    reconcile::ensure(&rt.env, &ListenerKind::new(rt, alb_arn, existing, want)).await
}

/// Target groups, ALB and listeners together: the ALB and the groups do not wait for each other.
pub async fn ensure_load_balancer(rt: &Runtime, spec: &RuntimeSpec, net: &NetworkOut) -> Result<LoadBalancerOut> {
    let (alb, blue, green) = tokio::try_join!(
        ensure_alb(rt, net),
        ensure_target_group(rt, "blue", &net.vpc_id),
        ensure_target_group(rt, "green", &net.vpc_id)
    )?;
    let (alb, provisioning) = alb;
    let Pair { id: alb_arn, detail: alb_dns } = alb.into_id();
    let (blue, green) = (blue.into_id(), green.into_id());
    let existing = list_listeners(rt, &alb_arn).await?;
    let mut live = live_target_group(spec, &existing, &blue, &green);
    let alternate = if live == blue { green.clone() } else { blue.clone() };
    let wanted = listener_specs(spec, &live, &test_target(spec, &existing, [&blue, &green], &alternate));
    let mut arns = Vec::new();
    for w in &wanted {
        arns.push(ensure_listener(rt, &alb_arn, &existing, w).await?.into_id());
    }
    for stale in existing.iter().filter(|l| !wanted.iter().any(|w| Some(w.port) == l.port())) {
        let arn = stale.listener_arn().unwrap_or_default();
        let name = format!("{}:{}", rt.env.names.alb(), stale.port().unwrap_or_default());
        rt.env
            .delete("listener", &name, arn, &["ListenerNotFound"], || async {
                rt.elb.delete_listener().listener_arn(arn).send().await.map(|_| ()).aws("DeleteListener", arn)
            })
            .await?;
    }
    let (production_listener, test_listener) = (arns[0].clone(), arns.last().cloned().unwrap_or_default());
    let (mut production_rule, mut test_rule) = (None, None);
    if spec.deployment == ghost_core::config::Deployment::Ecs {
        let prod = ensure_rule(rt, &production_listener, "production", &live).await?;
        let test = ensure_rule(rt, &test_listener, "test", &alternate).await?;
        (production_rule, test_rule) = (Some(prod.id), Some(test.id));
        // ECS shifts the rules, not the listeners' default actions: the production rule says what is live.
        if !prod.detail.is_empty() && prod.detail != live {
            live = prod.detail;
        }
    }
    Ok(LoadBalancerOut {
        alb_arn,
        alb_dns,
        blue_target_group: blue,
        green_target_group: green,
        live_target_group: live,
        production_listener,
        test_listener,
        production_rule,
        test_rule,
        provisioning,
    })
}

/// What CreateRule sets beside its priority (1, which finds it) and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub path_patterns: Vec<String>,
    /// Where it forwards (the heaviest group of a weighted forward).
    pub forward: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModifyRule;

/// The catch-all rule (priority 1, every path) that ECS-native blue/green moves between the target groups, as a
/// kind of the reconcile core. Once it exists its target is ECS's to shift: we create it, never point it back.
/// Its out is the rule ARN with where it forwards.
#[derive(Debug)]
pub struct ListenerRule<'a> {
    pub rt: &'a Runtime,
    pub listener: &'a str,
    pub role: &'a str,
    pub desired: RuleView,
}

impl ListenerRule<'_> {
    fn conditions(d: &RuleView) -> aws_sdk_elasticloadbalancingv2::types::RuleCondition {
        let c = aws_sdk_elasticloadbalancingv2::types::RuleCondition::builder().field("path-pattern");
        c.set_values(Some(d.path_patterns.clone())).build()
    }
}

impl Resource for ListenerRule<'_> {
    type View = RuleView;
    type Out = Pair;
    type Update = ModifyRule;
    type Error = crate::Error;
    const KIND: &'static str = "listener-rule";

    fn name(&self) -> String {
        format!("{}:{}-rule", self.rt.env.names.alb(), self.role)
    }
    fn desired(&self) -> &RuleView {
        &self.desired
    }
    fn planned(&self) -> Pair {
        Pair::new(planned_id("listener-rule"), "")
    }
    async fn find(&self) -> Result<Option<Live<RuleView, Pair>>> {
        if is_planned(self.listener) {
            return Ok(None);
        }
        let out = self.rt.elb.describe_rules().listener_arn(self.listener).send().await;
        let rules = out.aws("DescribeRules", self.listener)?.rules.unwrap_or_default();
        let Some(rule) = rules.iter().find(|r| !r.is_default().unwrap_or(false) && r.priority() == Some("1")) else {
            return Ok(None);
        };
        let a = rule.actions().first();
        let forward = a
            .and_then(|a| a.target_group_arn().map(str::to_string))
            .or_else(|| {
                let groups = a?.forward_config()?.target_groups();
                let heaviest = groups.iter().max_by_key(|t| t.weight().unwrap_or(0));
                heaviest.and_then(|t| t.target_group_arn().map(str::to_string))
            })
            .unwrap_or_default();
        let mut path_patterns: Vec<String> = rule
            .conditions()
            .iter()
            .filter(|c| c.field() == Some("path-pattern"))
            .flat_map(|c| {
                let config = c.path_pattern_config().map(|p| p.values().to_vec()).unwrap_or_default();
                if config.is_empty() { c.values().to_vec() } else { config }
            })
            .collect();
        path_patterns.sort();
        let out = Pair::new(rule.rule_arn().unwrap_or_default(), forward.clone());
        Ok(Some(Live::ready(RuleView { path_patterns, forward }, out)))
    }
    async fn create(&self, d: &RuleView) -> Result<Pair> {
        let name = self.name();
        let out = self
            .rt
            .elb
            .create_rule()
            .listener_arn(self.listener)
            .priority(1)
            .conditions(Self::conditions(d))
            .actions(to_action(&ListenerAction::Forward(d.forward.clone())))
            .set_tags(Some(tags(self.rt, "listener-rule", &name)))
            .send()
            .await
            .aws("CreateRule", &name)?;
        let arn = out.rules().first().and_then(|r| r.rule_arn()).unwrap_or_default().to_string();
        Ok(Pair::new(arn, ""))
    }
    fn updates(&self, d: &RuleView, l: &RuleView) -> Result<Vec<ModifyRule>> {
        Ok(reconcile::when([(d != l, ModifyRule)]))
    }
    async fn update(&self, live: &Pair, _: ModifyRule) -> Result<()> {
        let d = &self.desired;
        let req = self.rt.elb.modify_rule().rule_arn(&live.id).conditions(Self::conditions(d));
        req.actions(to_action(&ListenerAction::Forward(live.detail.clone())))
            .send()
            .await
            .aws("ModifyRule", &self.name())?;
        Ok(())
    }
    /// ECS shifts the rule between the groups during a deployment: where it forwards is ECS's.
    fn defer_to_live(&self, desired: &mut RuleView, live: &RuleView) -> Option<String> {
        desired.forward = live.forward.clone();
        None
    }
}

/// The catch-all rule ECS-native blue/green shifts; returns the rule ARN and where it forwards.
pub async fn ensure_rule(rt: &Runtime, listener: &str, role: &str, target_group: &str) -> Result<Pair> {
    let desired = RuleView { path_patterns: vec!["/*".into()], forward: target_group.into() };
    Ok(reconcile::ensure(&rt.env, &ListenerRule { rt, listener, role, desired }).await?.into_id())
}

/// Listeners, then the ALB (waited until deleted), then the target groups (in use until the ALB is gone).
pub async fn delete_load_balancer(rt: &Runtime) -> Result<()> {
    let name = rt.env.names.alb();
    if let Some(lb) = find_alb(rt, &name).await? {
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        for l in list_listeners(rt, &arn).await? {
            let larn = l.listener_arn().unwrap_or_default();
            let lname = format!("{name}:{}", l.port().unwrap_or_default());
            rt.env
                .delete("listener", &lname, larn, &["ListenerNotFound"], || async {
                    rt.elb.delete_listener().listener_arn(larn).send().await.map(|_| ()).aws("DeleteListener", larn)
                })
                .await?;
        }
        rt.env
            .delete("load-balancer", &name, &arn, &["LoadBalancerNotFound"], || async {
                rt.elb.delete_load_balancer().load_balancer_arn(&arn).send().await.aws("DeleteLoadBalancer", &arn)?;
                rt.elb
                    .wait_until_load_balancers_deleted()
                    .load_balancer_arns(&arn)
                    .wait(Duration::from_secs(600))
                    .await
                    .map(|_| ())
                    .map_err(|e| waiter_error(&format!("load balancer {name} deleted"), e))
            })
            .await?;
    }
    for color in ["blue", "green"] {
        let tg_name = rt.env.names.target_group(color);
        if let Some(tg) = find_target_group(rt, &tg_name).await? {
            let arn = tg.target_group_arn().unwrap_or_default();
            rt.env
                .delete("target-group", &tg_name, arn, &["TargetGroupNotFound"], || async {
                    rt.elb
                        .delete_target_group()
                        .target_group_arn(arn)
                        .send()
                        .await
                        .map(|_| ())
                        .aws("DeleteTargetGroup", arn)
                })
                .await?;
        }
    }
    Ok(())
}
