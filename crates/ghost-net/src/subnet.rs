//! Subnets: one public and one private per AZ, identified within our VPC by their (deterministic) CIDR.
//! Public subnets map public IPs on launch (tasks in public subnets need one to pull images without NAT).

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet};
use ghost_core::{AwsResultExt, Change, Error as CoreError, Outcome, TAG_STACK, is_planned, planned_id};

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

pub fn diff_subnet(spec: &SubnetSpec, found: &Subnet) -> Result<Vec<Change>> {
    let az = found.availability_zone().unwrap_or_default();
    if az != spec.az {
        return Err(CoreError::NeedsReplacement {
            resource: format!("subnet {} ({})", found.subnet_id().unwrap_or_default(), spec.cidr),
            change: Change::new("availability_zone", az, &spec.az),
            remedy: "delete the subnet (or destroy the stack) and deploy again".into(),
        }
        .into());
    }
    let mut changes = Vec::new();
    let want_public = spec.tier == Tier::Public;
    if found.map_public_ip_on_launch().unwrap_or(false) != want_public {
        changes.push(Change::new("map_public_ip_on_launch", !want_public, want_public));
    }
    if ec2::tag_value(found.tags(), TAG_STACK).is_none() {
        changes.push(Change::new("tags", "(none)", "ghost:stack, ghost:component, Name"));
    }
    Ok(changes)
}

pub async fn ensure_subnet(net: &Net, vpc_id: &str, spec: &SubnetSpec, existing: &[Subnet]) -> Result<Outcome<String>> {
    net.env
        .track(KIND, &spec.name, async {
            let cidr = spec.cidr.to_string();
            let found = existing.iter().find(|s| s.cidr_block() == Some(cidr.as_str()));
            let Some(found) = found else {
                if net.env.is_plan() {
                    return Ok(Outcome::Created(planned_id(KIND)));
                }
                let out = net
                    .ec2
                    .create_subnet()
                    .vpc_id(vpc_id)
                    .cidr_block(&cidr)
                    .availability_zone(&spec.az)
                    .tag_specifications(ec2::tag_spec(ResourceType::Subnet, tags(net, spec)))
                    .send()
                    .await
                    .aws("CreateSubnet", &spec.name)?;
                let id = out.subnet().and_then(Subnet::subnet_id).unwrap_or_default().to_string();
                if spec.tier == Tier::Public {
                    map_public_ip(net, &id, true).await?;
                }
                return Ok(Outcome::Created(id));
            };
            let id = found.subnet_id().unwrap_or_default().to_string();
            let changes = diff_subnet(spec, found)?;
            if !net.env.is_plan() {
                for c in &changes {
                    match c.field.as_str() {
                        "map_public_ip_on_launch" => map_public_ip(net, &id, spec.tier == Tier::Public).await?,
                        _ => {
                            net.ec2
                                .create_tags()
                                .resources(&id)
                                .set_tags(Some(tags(net, spec)))
                                .send()
                                .await
                                .aws("CreateTags", &id)?;
                        }
                    }
                }
            }
            Ok(Outcome::from_changes(id, changes))
        })
        .await
}

fn tags(net: &Net, spec: &SubnetSpec) -> Vec<aws_sdk_ec2::types::Tag> {
    let mut tags = ec2::tags(&net.env, KIND, &spec.name);
    tags.push(aws_sdk_ec2::types::Tag::builder().key("ghost:tier").value(spec.tier.to_string()).build());
    tags
}

async fn map_public_ip(net: &Net, id: &str, on: bool) -> Result<()> {
    net.ec2
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .aws("ModifySubnetAttribute", id)?;
    Ok(())
}

/// Deletes every subnet of the VPC that carries our stack tag.
pub(crate) async fn delete_subnets(net: &Net, vpc_id: &str) -> Result<()> {
    let ours: Vec<Subnet> =
        list_subnets(net, vpc_id).await?.into_iter().filter(|s| ec2::is_ours(s.tags(), &net.env, None)).collect();
    futures::future::try_join_all(ours.iter().map(|s| {
        let id = s.subnet_id().unwrap_or_default();
        let name = ec2::tag_value(s.tags(), "Name").unwrap_or(id);
        net.env.delete(KIND, name, id, &["InvalidSubnetID.NotFound"], move || async move {
            net.ec2.delete_subnet().subnet_id(id).send().await.map(|_| ()).aws("DeleteSubnet", id)
        })
    }))
    .await?;
    Ok(())
}
