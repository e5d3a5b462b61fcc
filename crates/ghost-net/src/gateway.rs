//! Internet gateway (attached to our VPC), and — when tasks run in private subnets — one NAT gateway with its
//! Elastic IP in the first public subnet. One NAT, not one per AZ: it is the cost-conscious default (an AZ
//! loss takes egress of the private tasks with it until ECS replaces them; ingress through the ALB stays).

use std::time::Duration;

use aws_sdk_ec2::types::{Address, DomainType, InternetGateway, NatGateway, NatGatewayState, ResourceType};
use ghost_core::error::gone_if;
use ghost_core::reconcile::{self, Live, Readiness, Resource};
use ghost_core::wait::{Bound, Poll, poll_until};
use ghost_core::{AwsResultExt, Change, Error as CoreError, Outcome, is_planned, planned_id};
use serde::{Deserialize, Serialize};

use crate::interfaces::{Held, delete_when_released};
use crate::spec::NetworkSpec;
use crate::{Net, Result, ec2};

const IGW: &str = "internet-gateway";
const NAT: &str = "nat-gateway";
const EIP: &str = "elastic-ip";
const NAT_WAIT: Duration = Duration::from_secs(600);
const NAT_POLL: Duration = Duration::from_secs(15);
/// How EC2 answers for a NAT gateway that is gone.
const NAT_GONE: [&str; 2] = ["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"];

async fn stack_igws(net: &Net) -> Result<Vec<InternetGateway>> {
    Ok(net
        .ec2
        .describe_internet_gateways()
        .set_filters(Some(ec2::ours(&net.env, Some(IGW))))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeInternetGateways", &net.env.names.of("igw"))?
        .into_iter()
        .filter(|g: &InternetGateway| ec2::is_ours(g.tags(), &net.env, Some(IGW)))
        .collect())
}

pub(crate) async fn list_internet_gateways(net: &Net) -> Result<Vec<String>> {
    Ok(stack_igws(net).await?.into_iter().filter_map(|g| g.internet_gateway_id).collect())
}

pub async fn find_internet_gateway(net: &Net) -> Result<Option<InternetGateway>> {
    Ok(stack_igws(net).await?.into_iter().next())
}

/// What the internet gateway is for: the one VPC it is attached to (none until AttachInternetGateway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayView {
    pub attached_to: Option<String>,
}

/// The internet gateway as a kind of the reconcile core, found by the stack's tags.
#[derive(Debug)]
pub struct InternetGatewayKind<'a> {
    pub net: &'a Net,
    pub desired: GatewayView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attach;

impl Resource for InternetGatewayKind<'_> {
    type View = GatewayView;
    type Out = String;
    type Update = Attach;
    type Error = crate::Error;
    const KIND: &'static str = IGW;

    fn name(&self) -> String {
        self.net.env.names.of("igw")
    }
    fn desired(&self) -> &GatewayView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(IGW)
    }
    async fn find(&self) -> Result<Option<Live<GatewayView, String>>> {
        let Some(igw) = find_internet_gateway(self.net).await? else { return Ok(None) };
        let id = igw.internet_gateway_id().unwrap_or_default().to_string();
        let attached: Vec<&str> = igw.attachments().iter().filter_map(|a| a.vpc_id()).collect();
        if attached.len() > 1 {
            return Err(CoreError::Conflict {
                resource: format!("internet gateway {id}"),
                message: format!("attached to {attached:?}; a gateway of this stack serves its one VPC"),
            }
            .into());
        }
        let view = GatewayView { attached_to: attached.first().map(|v| v.to_string()) };
        Ok(Some(Live::ready(view, id)))
    }
    async fn create(&self, d: &GatewayView) -> Result<String> {
        let name = self.name();
        let tags = ec2::tags(&self.net.env, IGW, &name);
        let req = self.net.ec2.create_internet_gateway();
        let out = req
            .tag_specifications(ec2::tag_spec(ResourceType::InternetGateway, tags))
            .send()
            .await
            .aws("CreateInternetGateway", &name)?;
        let id = out.internet_gateway().and_then(|g| g.internet_gateway_id()).unwrap_or_default().to_string();
        if d.attached_to.is_some() {
            self.update(&id, Attach).await?;
        }
        Ok(id)
    }
    fn updates(&self, d: &GatewayView, l: &GatewayView) -> Result<Vec<Attach>> {
        match (&l.attached_to, &d.attached_to) {
            (a, b) if a == b => Ok(vec![]),
            (None, Some(_)) => Ok(vec![Attach]),
            (Some(other), _) => Err(CoreError::Conflict {
                resource: format!("internet gateway {}", self.name()),
                message: format!(
                    "attached to {other}, not to this stack's VPC {}: detach it, or delete the gateway, and deploy \
                     again",
                    d.attached_to.as_deref().unwrap_or("(none)")
                ),
            }
            .into()),
            (None, None) => Ok(vec![]),
        }
    }
    async fn update(&self, id: &String, _: Attach) -> Result<()> {
        match &self.desired.attached_to {
            // A plan's VPC does not exist: there is nothing to attach to yet.
            Some(vpc) if !is_planned(vpc) => attach(self.net, id, vpc).await,
            _ => Ok(()),
        }
    }
}

pub async fn ensure_internet_gateway(net: &Net, vpc_id: &str) -> Result<Outcome<String>> {
    let desired = GatewayView { attached_to: Some(vpc_id.to_string()) };
    reconcile::ensure(&net.env, &InternetGatewayKind { net, desired }).await
}

async fn attach(net: &Net, igw: &str, vpc_id: &str) -> Result<()> {
    ghost_core::wait::retry_ec2_propagation(&net.env, IGW, igw, || async {
        let req = net.ec2.attach_internet_gateway().internet_gateway_id(igw).vpc_id(vpc_id);
        req.send().await.aws("AttachInternetGateway", igw)
    })
    .await?;
    Ok(())
}

pub(crate) async fn delete_internet_gateways(net: &Net) -> Result<()> {
    for igw in stack_igws(net).await? {
        let id = igw.internet_gateway_id().unwrap_or_default();
        let gone = ["InvalidInternetGatewayID.NotFound"];
        let name = net.env.names.of("igw");
        net.env
            .delete(IGW, &name, id, &gone, || async {
                for vpc in igw.attachments().iter().filter_map(|a| a.vpc_id()) {
                    // "Network vpc-… has some mapped public address(es)": the balancer's, the NAT's and the tasks'
                    // public addresses go with their interfaces.
                    delete_when_released(net, IGW, &name, Held::PublicIn(vpc), || async {
                        let detach = net.ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await;
                        gone_if(detach.map(|_| ()).aws("DetachInternetGateway", id), &["Gateway.NotAttached", gone[0]])
                    })
                    .await?;
                }
                net.ec2
                    .delete_internet_gateway()
                    .internet_gateway_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeleteInternetGateway", id)
            })
            .await?;
    }
    Ok(())
}

/// Our NAT gateways that are not deleted, deleting or failed.
pub(crate) async fn list_live_nats(net: &Net) -> Result<Vec<NatGateway>> {
    list_nats(net, &[NatGatewayState::Pending, NatGatewayState::Available]).await
}

/// Our NAT gateways in one of `states`.
async fn list_nats(net: &Net, states: &[NatGatewayState]) -> Result<Vec<NatGateway>> {
    let mut filters = ec2::ours(&net.env, Some(NAT));
    filters.push(ec2::filter("state", states.iter().map(NatGatewayState::as_str)));
    Ok(net
        .ec2
        .describe_nat_gateways()
        .set_filter(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeNatGateways", &net.env.names.of("nat"))?
        .into_iter()
        .filter(|n: &NatGateway| {
            n.state().is_some_and(|s| states.contains(s)) && ec2::is_ours(n.tags(), &net.env, Some(NAT))
        })
        .collect())
}

pub async fn find_nat(net: &Net) -> Result<Option<NatGateway>> {
    Ok(list_live_nats(net).await?.into_iter().next())
}

pub(crate) async fn list_addresses(net: &Net) -> Result<Vec<Address>> {
    let out = net
        .ec2
        .describe_addresses()
        .set_filters(Some(ec2::ours(&net.env, Some(EIP))))
        .send()
        .await
        .aws("DescribeAddresses", &net.env.names.of("nat-eip"))?;
    Ok(out.addresses().iter().filter(|a| ec2::is_ours(a.tags(), &net.env, Some(EIP))).cloned().collect())
}

/// The NAT gateway's Elastic IP: nothing of it is configurable but its domain.
#[derive(Debug)]
pub struct NatAddress<'a> {
    pub net: &'a Net,
    pub desired: AddressView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressView {
    pub domain: String,
}

impl Resource for NatAddress<'_> {
    type View = AddressView;
    type Out = String;
    type Update = std::convert::Infallible;
    type Error = crate::Error;
    const KIND: &'static str = EIP;

    fn name(&self) -> String {
        self.net.env.names.of("nat-eip")
    }
    fn desired(&self) -> &AddressView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(EIP)
    }
    async fn find(&self) -> Result<Option<Live<AddressView, String>>> {
        Ok(list_addresses(self.net).await?.into_iter().next().map(|a| {
            let domain = a.domain().map(|d| d.as_str().to_string()).unwrap_or_default();
            Live::ready(AddressView { domain }, a.allocation_id.unwrap_or_default())
        }))
    }
    async fn create(&self, d: &AddressView) -> Result<String> {
        let name = self.name();
        let out = self
            .net
            .ec2
            .allocate_address()
            .domain(DomainType::from(d.domain.as_str()))
            .tag_specifications(ec2::tag_spec(ResourceType::ElasticIp, ec2::tags(&self.net.env, EIP, &name)))
            .send()
            .await
            .aws("AllocateAddress", &name)?;
        Ok(out.allocation_id.unwrap_or_default())
    }
    fn updates(&self, d: &AddressView, l: &AddressView) -> Result<Vec<std::convert::Infallible>> {
        Err(CoreError::NeedsReplacement {
            resource: format!("elastic ip {}", self.name()),
            change: Change::new("domain", &l.domain, &d.domain),
            remedy: "release the address (the NAT gateway first) and deploy again".into(),
        }
        .into())
    }
    async fn update(&self, _: &String, u: std::convert::Infallible) -> Result<()> {
        match u {}
    }
}

/// The NAT gateway: its subnet and address are fixed at creation; usable once `available`.
#[derive(Debug)]
pub struct Nat<'a> {
    pub net: &'a Net,
    pub desired: NatView,
    pub planned_inputs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatView {
    pub subnet: String,
    pub allocation: String,
}

impl Resource for Nat<'_> {
    type View = NatView;
    type Out = String;
    type Update = std::convert::Infallible;
    type Error = crate::Error;
    const KIND: &'static str = NAT;

    fn name(&self) -> String {
        self.net.env.names.of("nat")
    }
    fn desired(&self) -> &NatView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(NAT)
    }
    async fn find(&self) -> Result<Option<Live<NatView, String>>> {
        if self.planned_inputs {
            return Ok(None);
        }
        Ok(find_nat(self.net).await?.map(|n| {
            let view = NatView {
                subnet: n.subnet_id().unwrap_or_default().into(),
                allocation: n
                    .nat_gateway_addresses()
                    .first()
                    .and_then(|a| a.allocation_id())
                    .unwrap_or_default()
                    .into(),
            };
            let readiness = match n.state() {
                Some(NatGatewayState::Available) => Readiness::Ready,
                Some(NatGatewayState::Failed) => Readiness::Failed(n.failure_message().unwrap_or("failed").into()),
                other => Readiness::Pending(other.map_or("unknown", |s| s.as_str()).into()),
            };
            Live { view, out: n.nat_gateway_id.unwrap_or_default(), readiness }
        }))
    }
    async fn create(&self, d: &NatView) -> Result<String> {
        let name = self.name();
        // It names a subnet and an address that may have been made a moment ago; refused, it made nothing.
        let out = ghost_core::wait::retry_ec2_propagation(&self.net.env, NAT, &name, || async {
            let req = self.net.ec2.create_nat_gateway().subnet_id(&d.subnet).allocation_id(&d.allocation);
            let tags = ec2::tag_spec(ResourceType::Natgateway, ec2::tags(&self.net.env, NAT, &name));
            req.tag_specifications(tags).send().await.aws("CreateNatGateway", &name)
        })
        .await?;
        Ok(out.nat_gateway().and_then(|n| n.nat_gateway_id()).unwrap_or_default().to_string())
    }
    fn readiness(&self) -> Option<Bound> {
        // The SDK's nat-gateway-available waiter polls every 15 s.
        Some(Bound::new(NAT_WAIT, Duration::from_secs(15)))
    }
    fn updates(&self, d: &NatView, l: &NatView) -> Result<Vec<std::convert::Infallible>> {
        let (field, have, want) = if d.subnet != l.subnet {
            ("subnet", &l.subnet, &d.subnet)
        } else {
            ("allocation", &l.allocation, &d.allocation)
        };
        Err(CoreError::NeedsReplacement {
            resource: format!("NAT gateway {}", self.name()),
            change: Change::new(field, have, want),
            remedy: "deploy once with network.task_subnets = \"public\" (which removes the NAT gateway), then again \
                     with \"private\""
                .into(),
        }
        .into())
    }
    async fn update(&self, _: &String, u: std::convert::Infallible) -> Result<()> {
        match u {}
    }
}

/// With `spec.nat`: an Elastic IP and a NAT gateway in `public_subnet`, waited until available (also when a
/// run cancelled during that wait left it pending). Without: removes a NAT gateway (and its address) left from
/// a private-subnet config: it costs money and nothing routes to it any more.
pub async fn ensure_nat(net: &Net, spec: &NetworkSpec, public_subnet: &str) -> Result<Option<String>> {
    if !spec.nat {
        delete_nats(net).await?;
        release_addresses(net).await?;
        return Ok(None);
    }
    let address = NatAddress { net, desired: AddressView { domain: DomainType::Vpc.as_str().into() } };
    let allocation = reconcile::ensure(&net.env, &address).await?.into_id();
    let desired = NatView { subnet: public_subnet.into(), allocation: allocation.clone() };
    let nat = Nat { net, desired, planned_inputs: is_planned(&allocation) || is_planned(public_subnet) };
    Ok(Some(reconcile::ensure(&net.env, &nat).await?.into_id()))
}

/// Deletes our NAT gateways and waits until each is deleted. One found `deleting` (a run killed after its delete)
/// is not deleted again: its wait is resumed.
pub(crate) async fn delete_nats(net: &Net) -> Result<()> {
    let name = net.env.names.of("nat");
    let states = [NatGatewayState::Pending, NatGatewayState::Available, NatGatewayState::Deleting];
    for nat in list_nats(net, &states).await? {
        let id = nat.nat_gateway_id().unwrap_or_default();
        if nat.state() == Some(&NatGatewayState::Deleting) {
            wait_nat_deleted(net, &name, id).await?;
            continue;
        }
        net.env
            .delete(NAT, &name, id, &NAT_GONE, || async {
                let res = net.ec2.delete_nat_gateway().nat_gateway_id(id).send().await;
                gone_if(res.map(|_| ()).aws("DeleteNatGateway", id), &NAT_GONE)?;
                wait_nat_deleted(net, &name, id).await
            })
            .await?;
    }
    Ok(())
}

/// Its address cannot be released, nor its subnet deleted, until it is gone.
async fn wait_nat_deleted(net: &Net, name: &str, id: &str) -> ghost_core::Result<()> {
    net.env.waiting(NAT, name, "deleted");
    poll_until(&format!("NAT gateway {id} deleted"), &Bound::new(NAT_WAIT, NAT_POLL), || async {
        let out = net.ec2.describe_nat_gateways().nat_gateway_ids(id).send().await;
        let out = ghost_core::error::absent_if(out.aws("DescribeNatGateways", id), &NAT_GONE)?;
        let state = out.and_then(|o| o.nat_gateways.and_then(|n| n.into_iter().next())).and_then(|n| n.state);
        Ok(match state {
            None | Some(NatGatewayState::Deleted) | Some(NatGatewayState::Failed) => Poll::Ready(()),
            Some(s) => Poll::Pending(s.as_str().to_string()),
        })
    })
    .await
}

pub(crate) async fn release_addresses(net: &Net) -> Result<()> {
    for a in list_addresses(net).await? {
        let id = a.allocation_id().unwrap_or_default();
        net.env
            .delete(EIP, &net.env.names.of("nat-eip"), id, &["InvalidAllocationID.NotFound"], || async {
                net.ec2.release_address().allocation_id(id).send().await.map(|_| ()).aws("ReleaseAddress", id)
            })
            .await?;
    }
    Ok(())
}
