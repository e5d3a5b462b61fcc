//! Subnets: one public and one private per AZ, identified within our VPC by their (deterministic) CIDR.
//! Public subnets map public IPs on launch (tasks in public subnets need one to pull images without NAT).

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AwsResultExt, Change, Error as CoreError, Outcome, TAG_STACK, is_planned, planned_id};
use serde::{Deserialize, Serialize};

use crate::interfaces::{Held, delete_when_released};
use crate::spec::{SubnetSpec, Tier};
use crate::{Net, Result, ec2};

const KIND: &str = "subnet";

/// Every subnet in the VPC (ours are matched by CIDR; the VPC is ours).
pub async fn list_subnets(net: &Net, vpc_id: &str) -> Result<Vec<Subnet>> {
    if is_planned(vpc_id) {
        return Ok(vec![]);
    }
    Ok(net
        .ec2
        .describe_subnets()
        .filters(ec2::filter("vpc-id", [vpc_id]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeSubnets", vpc_id)?)
}

/// What CreateSubnet and ModifySubnetAttribute set; the CIDR finds it (the VPC is ours, CIDRs are unique in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetView {
    pub availability_zone: String,
    pub map_public_ip_on_launch: bool,
    /// The `ghost:stack` tag's value (an untagged subnet at our CIDR is adopted by tagging it).
    pub stack_tag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubnetUpdate {
    MapPublicIp(bool),
    Tags,
}

/// One subnet as a kind of the reconcile core, found by CIDR among the VPC's subnets (listed once for all).
#[derive(Debug)]
pub struct SubnetKind<'a> {
    pub net: &'a Net,
    pub vpc_id: &'a str,
    pub spec: &'a SubnetSpec,
    pub existing: &'a [Subnet],
    pub desired: SubnetView,
}

impl<'a> SubnetKind<'a> {
    pub fn new(net: &'a Net, vpc_id: &'a str, spec: &'a SubnetSpec, existing: &'a [Subnet]) -> Self {
        let desired = SubnetView {
            availability_zone: spec.az.clone(),
            map_public_ip_on_launch: spec.tier == Tier::Public,
            stack_tag: Some(net.env.stack().to_string()),
        };
        Self { net, vpc_id, spec, existing, desired }
    }
}

impl Resource for SubnetKind<'_> {
    type View = SubnetView;
    type Out = String;
    type Update = SubnetUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.spec.name.clone()
    }
    fn desired(&self) -> &SubnetView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(KIND)
    }
    async fn find(&self) -> Result<Option<Live<SubnetView, String>>> {
        let cidr = self.spec.cidr.to_string();
        let found = self.existing.iter().find(|s| s.cidr_block() == Some(cidr.as_str()));
        Ok(found.map(|s| {
            let view = SubnetView {
                availability_zone: s.availability_zone().unwrap_or_default().into(),
                map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
                stack_tag: ec2::tag_value(s.tags(), TAG_STACK).map(str::to_string),
            };
            Live::ready(view, s.subnet_id().unwrap_or_default().to_string())
        }))
    }
    async fn create(&self, d: &SubnetView) -> Result<String> {
        let out = ghost_core::wait::retry_ec2_propagation(&self.net.env, KIND, &self.spec.name, || async {
            let req = self.net.ec2.create_subnet().vpc_id(self.vpc_id).cidr_block(self.spec.cidr.to_string());
            let req = req.availability_zone(&d.availability_zone);
            let req = req.tag_specifications(ec2::tag_spec(ResourceType::Subnet, tags(self.net, self.spec)));
            req.send().await.aws("CreateSubnet", &self.spec.name)
        })
        .await?;
        let id = out.subnet().and_then(Subnet::subnet_id).unwrap_or_default().to_string();
        if d.map_public_ip_on_launch {
            self.update(&id, SubnetUpdate::MapPublicIp(true)).await?;
        }
        Ok(id)
    }
    fn updates(&self, d: &SubnetView, l: &SubnetView) -> Result<Vec<SubnetUpdate>> {
        if d.availability_zone != l.availability_zone {
            return Err(CoreError::NeedsReplacement {
                resource: format!("subnet {}", self.spec.cidr),
                change: Change::new("availability_zone", &l.availability_zone, &d.availability_zone),
                remedy: "delete the subnet (or destroy the stack) and deploy again".into(),
            }
            .into());
        }
        let mut u = Vec::new();
        if d.map_public_ip_on_launch != l.map_public_ip_on_launch {
            u.push(SubnetUpdate::MapPublicIp(d.map_public_ip_on_launch));
        }
        if d.stack_tag != l.stack_tag {
            u.push(SubnetUpdate::Tags);
        }
        Ok(u)
    }
    async fn update(&self, id: &String, u: SubnetUpdate) -> Result<()> {
        match u {
            SubnetUpdate::MapPublicIp(on) => map_public_ip(self.net, id, on).await,
            SubnetUpdate::Tags => {
                let req = self.net.ec2.create_tags().resources(id).set_tags(Some(tags(self.net, self.spec)));
                req.send().await.aws("CreateTags", id)?;
                Ok(())
            }
        }
    }
}

pub async fn ensure_subnet(net: &Net, vpc_id: &str, spec: &SubnetSpec, existing: &[Subnet]) -> Result<Outcome<String>> {
    reconcile::ensure(&net.env, &SubnetKind::new(net, vpc_id, spec, existing)).await
}

fn tags(net: &Net, spec: &SubnetSpec) -> Vec<aws_sdk_ec2::types::Tag> {
    let mut tags = ec2::tags(&net.env, KIND, &spec.name);
    tags.push(aws_sdk_ec2::types::Tag::builder().key("ghost:tier").value(spec.tier.to_string()).build());
    tags
}

async fn map_public_ip(net: &Net, id: &str, on: bool) -> Result<()> {
    ghost_core::wait::retry_ec2_propagation(&net.env, KIND, id, || async {
        let req = net.ec2.modify_subnet_attribute().subnet_id(id);
        let req = req.map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build());
        req.send().await.aws("ModifySubnetAttribute", id)
    })
    .await?;
    Ok(())
}

/// After a change of AZs (az_count 3 -> 2), the subnets of ours the config no longer asks for, once the run
/// lens has moved off them (load balancer subnets, service, mount targets): EC2 refuses to delete a subnet
/// that still holds a network interface (DependencyViolation), so this runs after the runtime.
pub async fn prune_subnets(net: &Net, vpc_id: &str, wanted: &[SubnetSpec]) -> Result<()> {
    let cidrs: Vec<String> = wanted.iter().map(|s| s.cidr.to_string()).collect();
    let stale: Vec<Subnet> = list_subnets(net, vpc_id)
        .await?
        .into_iter()
        .filter(|s| ec2::is_ours(s.tags(), &net.env, None))
        .filter(|s| !s.cidr_block().is_some_and(|c| cidrs.iter().any(|w| w == c)))
        .collect();
    for s in &stale {
        delete_subnet(net, s).await?;
    }
    Ok(())
}

async fn delete_subnet(net: &Net, s: &Subnet) -> Result<()> {
    let id = s.subnet_id().unwrap_or_default();
    let name = ec2::tag_value(s.tags(), "Name").unwrap_or(id);
    net.env
        .delete(KIND, name, id, &["InvalidSubnetID.NotFound"], || {
            delete_when_released(net, KIND, name, Held::Subnet(id), || async {
                net.ec2.delete_subnet().subnet_id(id).send().await.map(|_| ()).aws("DeleteSubnet", id)
            })
        })
        .await?;
    Ok(())
}

/// Deletes every subnet of the VPC that carries our stack tag.
pub(crate) async fn delete_subnets(net: &Net, vpc_id: &str) -> Result<()> {
    let ours: Vec<Subnet> =
        list_subnets(net, vpc_id).await?.into_iter().filter(|s| ec2::is_ours(s.tags(), &net.env, None)).collect();
    futures::future::try_join_all(ours.iter().map(|s| delete_subnet(net, s))).await?;
    Ok(())
}
