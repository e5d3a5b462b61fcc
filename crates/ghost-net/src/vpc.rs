//! The VPC: found by our tags; CIDR fixed at creation; DNS support and hostnames on (EFS mount-target DNS
//! names and the ALB need them).

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName};
use ghost_core::{AwsResultExt, Change, Error as CoreError, Outcome, planned_id};

use crate::spec::NetworkSpec;
use crate::{Net, Result, ec2};

const KIND: &str = "vpc";

/// What we compare of a found VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVpc {
    pub id: String,
    pub cidr: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
}

async fn stack_vpcs(net: &Net) -> Result<Vec<aws_sdk_ec2::types::Vpc>> {
    Ok(net
        .ec2
        .describe_vpcs()
        .set_filters(Some(ec2::ours(&net.env, Some(KIND))))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeVpcs", &net.env.names.of(KIND))?
        .into_iter()
        .filter(|v: &aws_sdk_ec2::types::Vpc| ec2::is_ours(v.tags(), &net.env, Some(KIND)))
        .collect())
}

pub(crate) async fn list_stack_vpcs(net: &Net) -> Result<Vec<String>> {
    Ok(stack_vpcs(net).await?.into_iter().filter_map(|v| v.vpc_id).collect())
}

/// The stack's VPC, if it exists. Two VPCs with our tags is an error we will not guess our way out of.
pub async fn find_vpc(net: &Net) -> Result<Option<FoundVpc>> {
    let name = net.env.names.of(KIND);
    let vpcs = stack_vpcs(net).await?;
    let vpc = match vpcs.as_slice() {
        [] => return Ok(None),
        [vpc] => vpc,
        many => {
            let ids: Vec<&str> = many.iter().filter_map(|v| v.vpc_id()).collect();
            return Err(CoreError::Conflict {
                resource: name,
                message: format!(
                    "{} VPCs carry this stack's tags ({}); delete the extra ones",
                    ids.len(),
                    ids.join(", ")
                ),
            }
            .into());
        }
    };
    let id = vpc.vpc_id().unwrap_or_default().to_string();
    let attr = |a: VpcAttributeName| net.ec2.describe_vpc_attribute().vpc_id(&id).attribute(a).send();
    let (support, hostnames) =
        tokio::try_join!(attr(VpcAttributeName::EnableDnsSupport), attr(VpcAttributeName::EnableDnsHostnames))
            .aws("DescribeVpcAttribute", &id)?;
    let on = |v: Option<&AttributeBooleanValue>| v.and_then(AttributeBooleanValue::value).unwrap_or(false);
    Ok(Some(FoundVpc {
        cidr: vpc.cidr_block().unwrap_or_default().to_string(),
        dns_support: on(support.enable_dns_support()),
        dns_hostnames: on(hostnames.enable_dns_hostnames()),
        id,
    }))
}

/// What differs. A different CIDR cannot be changed in place: that is an error naming the remedy.
pub fn diff_vpc(spec: &NetworkSpec, vpc: &FoundVpc) -> Result<Vec<Change>> {
    let want = spec.cidr.to_string();
    if vpc.cidr != want {
        return Err(CoreError::NeedsReplacement {
            resource: format!("vpc {}", vpc.id),
            change: Change::new("cidr", &vpc.cidr, &want),
            remedy: "keep network.cidr as deployed, or destroy the stack and deploy it again".into(),
        }
        .into());
    }
    let mut changes = Vec::new();
    if !vpc.dns_support {
        changes.push(Change::new("enable_dns_support", false, true));
    }
    if !vpc.dns_hostnames {
        changes.push(Change::new("enable_dns_hostnames", false, true));
    }
    Ok(changes)
}

pub async fn ensure_vpc(net: &Net, spec: &NetworkSpec) -> Result<Outcome<String>> {
    let name = net.env.names.of(KIND);
    net.env
        .track(KIND, &name, async {
            let found = find_vpc(net).await?;
            let (id, changes) = match found {
                Some(vpc) => {
                    let changes = diff_vpc(spec, &vpc)?;
                    (vpc.id, changes)
                }
                None if net.env.is_plan() => return Ok(Outcome::Created(planned_id(KIND))),
                None => {
                    let out = net
                        .ec2
                        .create_vpc()
                        .cidr_block(spec.cidr.to_string())
                        .tag_specifications(ec2::tag_spec(ResourceType::Vpc, ec2::tags(&net.env, KIND, &name)))
                        .send()
                        .await
                        .aws("CreateVpc", &name)?;
                    let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default().to_string();
                    set_dns(net, &id, true, true).await?;
                    return Ok(Outcome::Created(id));
                }
            };
            if !changes.is_empty() && !net.env.is_plan() {
                let support = changes.iter().any(|c| c.field == "enable_dns_support");
                let hostnames = changes.iter().any(|c| c.field == "enable_dns_hostnames");
                set_dns(net, &id, support, hostnames).await?;
            }
            Ok(Outcome::from_changes(id, changes))
        })
        .await
}

/// EC2 takes one attribute per ModifyVpcAttribute call; hostnames need support on first.
async fn set_dns(net: &Net, id: &str, support: bool, hostnames: bool) -> Result<()> {
    let on = || AttributeBooleanValue::builder().value(true).build();
    if support {
        net.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(on())
            .send()
            .await
            .aws("ModifyVpcAttribute", id)?;
    }
    if hostnames {
        net.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(on())
            .send()
            .await
            .aws("ModifyVpcAttribute", id)?;
    }
    Ok(())
}

pub(crate) async fn delete_vpc(net: &Net, id: &str) -> Result<()> {
    let name = net.env.names.of(KIND);
    net.env
        .delete(KIND, &name, id, &["InvalidVpcID.NotFound"], || async {
            net.ec2.delete_vpc().vpc_id(id).send().await.map(|_| ()).aws("DeleteVpc", id)
        })
        .await?;
    Ok(())
}
