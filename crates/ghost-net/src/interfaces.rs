//! Network interfaces that AWS services place in our subnets, and the deletes they hold up.
//!
//! A load balancer, a NAT gateway, a mount target, a database and every Fargate task own an interface in our
//! subnets, and AWS removes it only some time after its owner: minutes for a load balancer, a task's after its
//! deregistration delay and stop timeout. Until then AWS refuses to delete the subnet, the security groups the
//! interface carries, or (while it maps a public address) to detach the internet gateway: `DependencyViolation`
//! (EC2 API reference: DeleteSubnet, DeleteSecurityGroup, DetachInternetGateway; "Requester-managed network
//! interfaces" in the EC2 User Guide: "When you delete the resource associated with a requester-managed network
//! interface, the AWS service detaches the network interface and deletes it"). So each of those deletes first
//! waits, naming what it waits for, until no interface holds it; an interface no AWS service manages (someone's
//! instance in our subnet) will never go by itself, and fails the wait at once with what to do.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, NetworkInterface};
use ghost_core::wait::{Bound, Poll, poll_until, retry_while};
use ghost_core::{AwsResultExt, Result};

use crate::{Net, ec2};

/// terraform-provider-aws gives a subnet's delete 20 minutes of DependencyViolation retries (vpc_subnet.go); task
/// interfaces of Fargate have been reported to hold for that long.
const RELEASE: Duration = Duration::from_secs(20 * 60);
const RELEASE_POLL: Duration = Duration::from_secs(10);
/// After the last interface is gone EC2 may still answer DependencyViolation for a moment (its reads are eventually
/// consistent: EC2 Developer Guide, "Eventual consistency"): the delete itself retries that for a minute.
const SETTLE: Duration = Duration::from_secs(60);

/// What a delete needs released.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Held<'a> {
    /// Any interface in the subnet.
    Subnet(&'a str),
    /// Any interface carrying the security group.
    Group(&'a str),
    /// Any interface in the VPC that maps a public address (blocks detaching the internet gateway).
    PublicIn(&'a str),
}

impl Held<'_> {
    fn filter(self) -> Filter {
        match self {
            Held::Subnet(id) => ec2::filter("subnet-id", [id]),
            Held::Group(id) => ec2::filter("group-id", [id]),
            Held::PublicIn(vpc) => ec2::filter("vpc-id", [vpc]),
        }
    }

    fn holds(self, i: &NetworkInterface) -> bool {
        !matches!(self, Held::PublicIn(_)) || i.association().and_then(|a| a.public_ip()).is_some()
    }
}

fn describe(i: &NetworkInterface) -> String {
    format!("{} ({})", i.network_interface_id().unwrap_or("?"), i.description().unwrap_or("no description"))
}

/// Waits until no network interface holds `held`, then runs `delete`, retrying its DependencyViolation for a
/// moment. `kind`/`name` name the resource being deleted in progress output. In a plan nothing is waited for.
pub(crate) async fn delete_when_released<F, Fut>(
    net: &Net,
    kind: &str,
    name: &str,
    held: Held<'_>,
    delete: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    released(net, kind, name, held).await?;
    settled(net, kind, name, delete).await
}

/// `delete`, retrying the DependencyViolation EC2 may still answer for a moment after the last dependency went.
pub(crate) async fn settled<F, Fut>(net: &Net, kind: &str, name: &str, delete: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let dependency = |e: &ghost_core::Error| e.is_code(&["DependencyViolation"]);
    let notice =
        |e: &ghost_core::Error| net.env.waiting(kind, name, &format!("EC2 has settled (AWS said: {})", e.message()));
    retry_while(dependency, &Bound::new(SETTLE, Duration::from_secs(5)), notice, delete).await
}

async fn released(net: &Net, kind: &str, name: &str, held: Held<'_>) -> Result<()> {
    let announced = AtomicBool::new(false);
    let what = format!("network interfaces holding {name} released");
    poll_until(&what, &Bound::new(RELEASE, RELEASE_POLL), || async {
        let listed: Vec<NetworkInterface> = net
            .ec2
            .describe_network_interfaces()
            .filters(held.filter())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .aws("DescribeNetworkInterfaces", name)?;
        let holding: Vec<&NetworkInterface> = listed.iter().filter(|i| held.holds(i)).collect();
        if holding.is_empty() {
            return Ok(Poll::Ready(()));
        }
        if let Some(foreign) = holding.iter().find(|i| !i.requester_managed().unwrap_or(false)) {
            return Ok(Poll::Failed(format!(
                "{} is in use by something no AWS service manages, so it will not go by itself; delete or move that \
                 network interface, then run destroy again",
                describe(foreign)
            )));
        }
        let list = holding.iter().map(|i| describe(i)).collect::<Vec<_>>().join(", ");
        if !announced.swap(true, Ordering::Relaxed) {
            net.env.waiting(kind, name, &format!("AWS releases {} network interface(s): {list}", holding.len()));
        }
        Ok(Poll::Pending(list))
    })
    .await
}
