//! The VPC: found by our tags; CIDR fixed at creation; DNS support and hostnames on (EFS mount-target DNS
//! names and the ALB need them).

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AwsResultExt, Change, Error as CoreError, Outcome, planned_id};
use serde::{Deserialize, Serialize};

use crate::spec::NetworkSpec;
use crate::{Net, Result, ec2};

const KIND: &str = "vpc";

/// What we compare of a VPC: its CIDR (fixed at creation) and the two DNS attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcView {
    pub cidr: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
}

impl VpcView {
    pub fn desired(spec: &NetworkSpec) -> Self {
        Self { cidr: spec.cidr.to_string(), dns_support: true, dns_hostnames: true }
    }
}

/// A found VPC: its id and view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVpc {
    pub id: String,
    pub view: VpcView,
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
    // A run that resumes right after the create can read the new VPC before EC2 has propagated its id.
    let (support, hostnames) = ghost_core::wait::retry_ec2_propagation(&net.env, KIND, &id, || async {
        let attr = |a: VpcAttributeName| net.ec2.describe_vpc_attribute().vpc_id(&id).attribute(a).send();
        tokio::try_join!(attr(VpcAttributeName::EnableDnsSupport), attr(VpcAttributeName::EnableDnsHostnames))
            .aws("DescribeVpcAttribute", &id)
    })
    .await?;
    let on = |v: Option<&AttributeBooleanValue>| v.and_then(AttributeBooleanValue::value).unwrap_or(false);
    let view = VpcView {
        cidr: vpc.cidr_block().unwrap_or_default().to_string(),
        dns_support: on(support.enable_dns_support()),
        dns_hostnames: on(hostnames.enable_dns_hostnames()),
    };
    Ok(Some(FoundVpc { id, view }))
}

/// The VPC as a reconciled resource.
#[derive(Debug)]
pub struct Vpc<'a> {
    pub net: &'a Net,
    pub desired: VpcView,
}

/// EC2 takes one attribute per ModifyVpcAttribute call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpcUpdate {
    DnsSupport(bool),
    DnsHostnames(bool),
}

impl Resource for Vpc<'_> {
    type View = VpcView;
    type Out = String;
    type Update = VpcUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.net.env.names.of(KIND)
    }

    fn desired(&self) -> &VpcView {
        &self.desired
    }

    fn planned(&self) -> String {
        planned_id(KIND)
    }

    async fn find(&self) -> Result<Option<Live<VpcView, String>>> {
        Ok(find_vpc(self.net).await?.map(|v| Live::ready(v.view, v.id)))
    }

    async fn create(&self, desired: &VpcView) -> Result<String> {
        let name = self.name();
        let out = self
            .net
            .ec2
            .create_vpc()
            .cidr_block(&desired.cidr)
            .tag_specifications(ec2::tag_spec(ResourceType::Vpc, ec2::tags(&self.net.env, KIND, &name)))
            .send()
            .await
            .aws("CreateVpc", &name)?;
        let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default().to_string();
        // Hostnames need support on first; a new VPC has support on and hostnames off.
        for u in self.updates(desired, &VpcView { dns_hostnames: false, ..desired.clone() })? {
            self.update(&id, u).await?;
        }
        Ok(id)
    }

    fn updates(&self, d: &VpcView, l: &VpcView) -> Result<Vec<VpcUpdate>> {
        if d.cidr != l.cidr {
            return Err(CoreError::NeedsReplacement {
                resource: format!("vpc {}", self.name()),
                change: Change::new("cidr", &l.cidr, &d.cidr),
                remedy: "keep network.cidr as deployed, or destroy the stack and deploy it again".into(),
            }
            .into());
        }
        let mut u = Vec::new();
        if d.dns_support != l.dns_support {
            u.push(VpcUpdate::DnsSupport(d.dns_support));
        }
        if d.dns_hostnames != l.dns_hostnames {
            u.push(VpcUpdate::DnsHostnames(d.dns_hostnames));
        }
        Ok(u)
    }

    async fn update(&self, id: &String, u: VpcUpdate) -> Result<()> {
        let value = |v: bool| AttributeBooleanValue::builder().value(v).build();
        ghost_core::wait::retry_ec2_propagation(&self.net.env, KIND, id, || async {
            let req = self.net.ec2.modify_vpc_attribute().vpc_id(id);
            let req = match u {
                VpcUpdate::DnsSupport(v) => req.enable_dns_support(value(v)),
                VpcUpdate::DnsHostnames(v) => req.enable_dns_hostnames(value(v)),
            };
            req.send().await.aws("ModifyVpcAttribute", id)
        })
        .await?;
        Ok(())
    }
}

pub async fn ensure_vpc(net: &Net, spec: &NetworkSpec) -> Result<Outcome<String>> {
    reconcile::ensure(&net.env, &Vpc { net, desired: VpcView::desired(spec) }).await
}

pub(crate) async fn delete_vpc(net: &Net, id: &str) -> Result<()> {
    let name = net.env.names.of(KIND);
    net.env
        .delete(KIND, &name, id, &["InvalidVpcID.NotFound"], || {
            crate::interfaces::settled(net, KIND, &name, || async {
                net.ec2.delete_vpc().vpc_id(id).send().await.map(|_| ()).aws("DeleteVpc", id)
            })
        })
        .await?;
    Ok(())
}
