//! Network lens: the VPC Ghost runs in.
//!
//! VPC (DNS support + hostnames), one public and one private subnet per AZ, an internet gateway, a public
//! route table (0.0.0.0/0 → IGW), a NAT gateway and private default route when tasks run in private subnets,
//! and the security-group chain ALB → task → EFS / database. Every resource follows the ensure contract of
//! `ghost-core`: find (by tag, or by name where AWS names are unique) → diff → create/update → [`Outcome`].
//!
//! [`Outcome`]: ghost_core::Outcome

pub mod spec;

mod ec2;
mod gateway;
mod interfaces;
mod route;
mod sg;
mod subnet;
mod vpc;

#[cfg(test)]
mod mock_tests;

use std::collections::BTreeMap;

use ghost_core::{AwsResultExt, Env};
use serde::Serialize;

pub use gateway::{
    AddressView, GatewayView, InternetGatewayKind, Nat, NatAddress, NatView, ensure_internet_gateway, ensure_nat,
    find_internet_gateway, find_nat,
};
pub use route::{RouteTableKind, RouteTableSpec, RouteTableView, Target, ensure_route_table, find_route_table};
pub use sg::{
    GroupView, IngressView, SecurityGroupKind, ensure_security_groups, find_security_groups, prune_database_group,
    rules_of,
};
pub use spec::{NetworkSpec, SgRole, Tier};
pub use subnet::{SubnetKind, SubnetView, ensure_subnet, list_subnets, prune_subnets};
pub use vpc::{Vpc, VpcUpdate, VpcView, ensure_vpc, find_vpc};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] ghost_core::Error),
    #[error("region {region} has {} available availability zones ({}); the config asks for {wanted}", found.len(), found.join(", "))]
    NotEnoughAzs { region: String, wanted: usize, found: Vec<String> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The lens's handle: the EC2 client and the environment (stack, plan/apply, journal).
#[derive(Debug, Clone)]
pub struct Net {
    pub ec2: aws_sdk_ec2::Client,
    pub env: Env,
}

impl Net {
    pub fn new(sdk: &aws_types::SdkConfig, env: Env) -> Self {
        Self { ec2: aws_sdk_ec2::Client::new(sdk), env }
    }
}

/// What the other lenses need from the network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkOut {
    pub vpc_id: String,
    pub availability_zones: Vec<String>,
    pub public_subnets: Vec<String>,
    pub private_subnets: Vec<String>,
    pub internet_gateway: String,
    pub nat_gateway: Option<String>,
    pub sg_alb: String,
    pub sg_task: String,
    pub sg_efs: String,
    pub sg_db: Option<String>,
}

/// Brings the network to the desired state (or, with `Mode::Plan`, journals what that would change):
/// [`ensure_base`], then [`ensure_egress`].
pub async fn ensure_network(net: &Net, spec: &NetworkSpec) -> Result<NetworkOut> {
    let base = ensure_base(net, spec).await?;
    let nat_gateway = ensure_egress(net, spec, &base).await?;
    Ok(NetworkOut { nat_gateway, ..base.network })
}

/// What the load balancer, file system and database are placed in: the VPC, its subnets, the internet gateway
/// and the security groups (`network.nat_gateway` is not known yet). Egress is [`ensure_egress`]'s.
#[derive(Debug, Clone)]
pub struct Base {
    pub network: NetworkOut,
    /// Every subnet of ours: those of this config and those an earlier one left (a removed AZ's).
    ours: Vec<String>,
}

/// The VPC, subnets, internet gateway and security groups. The NAT gateway's minute or two of `pending` is not
/// in it: nothing but the tasks' egress needs the NAT, so the run lens starts its own minutes-long waits on
/// this base while [`ensure_egress`] waits for the NAT.
pub async fn ensure_base(net: &Net, spec: &NetworkSpec) -> Result<Base> {
    let azs = availability_zones(net, spec.az_count).await?;
    let vpc_id = ensure_vpc(net, spec).await?.into_id();

    let subnet_specs = spec.subnets(&azs);
    let existing = list_subnets(net, &vpc_id).await?;
    let subnets = futures::future::try_join_all(subnet_specs.iter().map(|s| ensure_subnet(net, &vpc_id, s, &existing)));
    let igw = ensure_internet_gateway(net, &vpc_id);
    let sg_specs = spec.security_groups();
    let groups = ensure_security_groups(net, &vpc_id, &sg_specs);
    let (subnet_ids, igw, groups) = tokio::try_join!(subnets, igw, groups)?;
    let igw = igw.into_id();

    let ids = |tier| -> Vec<String> {
        subnet_specs.iter().zip(&subnet_ids).filter(|(s, _)| s.tier == tier).map(|(_, o)| o.id().clone()).collect()
    };
    let (public, private) = (ids(Tier::Public), ids(Tier::Private));
    let mut ours: Vec<String> = existing
        .iter()
        .filter(|s| ec2::is_ours(s.tags(), &net.env, None))
        .filter_map(|s| s.subnet_id.clone())
        .collect();
    ours.extend(public.iter().chain(&private).cloned());

    let sg = |role| groups.get(&role).cloned();
    let network = NetworkOut {
        vpc_id,
        availability_zones: azs,
        public_subnets: public,
        private_subnets: private,
        internet_gateway: igw,
        nat_gateway: None,
        sg_alb: sg(SgRole::Alb).unwrap_or_default(),
        sg_task: sg(SgRole::Task).unwrap_or_default(),
        sg_efs: sg(SgRole::Efs).unwrap_or_default(),
        sg_db: sg(SgRole::Db),
    };
    Ok(Base { network, ours })
}

/// The way out: the NAT gateway (when tasks run in private subnets) and the public and private route tables.
/// The tasks are the only ones that need it, so the service waits for it, not the load balancer. Answers the
/// NAT gateway's id.
pub async fn ensure_egress(net: &Net, spec: &NetworkSpec, base: &Base) -> Result<Option<String>> {
    let n = &base.network;
    let nat = ensure_nat(net, spec, &n.public_subnets[0]).await?;
    let public_rt = RouteTableSpec::public(spec, &n.internet_gateway, &n.public_subnets);
    let private_rt = RouteTableSpec::private(spec, nat.as_deref(), &n.private_subnets);
    tokio::try_join!(
        ensure_route_table(net, &n.vpc_id, &public_rt, &base.ours),
        ensure_route_table(net, &n.vpc_id, &private_rt, &base.ours)
    )?;
    Ok(nat)
}

/// What the network no longer needs once the run lens has moved off it: the database's group after
/// mysql -> sqlite, a removed AZ's subnets. Run after the runtime (both still hold its network interfaces
/// until then). Absent is nothing to do: a stack without them pays one read of each.
pub async fn prune_network(net: &Net, network: &NetworkOut, spec: &NetworkSpec) -> Result<()> {
    let subnets = spec.subnets(&network.availability_zones);
    tokio::try_join!(prune_database_group(net, &network.vpc_id, spec), prune_subnets(net, &network.vpc_id, &subnets))?;
    Ok(())
}

/// Deletes the stack's NAT gateways and waits until they are deleted (a minute on AWS, holding their subnet and
/// address until then). A destroy starts it beside the run lens's deletions: only the tasks used the way out, and
/// a draining task needs none. [`destroy_network`] then finds nothing left of it.
pub async fn delete_egress(net: &Net) -> Result<()> {
    gateway::delete_nats(net).await
}

/// Removes everything of the network tagged with this stack, in reverse dependency order. Finds by tag, not
/// by the current config, so resources of an earlier config (a third AZ, a NAT) go too. Absent is success.
pub async fn destroy_network(net: &Net) -> Result<()> {
    let vpcs = vpc::list_stack_vpcs(net).await?;
    for vpc_id in &vpcs {
        tokio::try_join!(sg::delete_security_groups(net, vpc_id), gateway::delete_nats(net))?;
        route::delete_route_tables(net, vpc_id).await?;
        tokio::try_join!(gateway::delete_internet_gateways(net), subnet::delete_subnets(net, vpc_id))?;
        vpc::delete_vpc(net, vpc_id).await?;
    }
    // Addresses outlive their NAT gateway and their VPC: release ours even when the VPC is already gone.
    gateway::release_addresses(net).await?;
    Ok(())
}

/// The first `n` available AZs of the region, in name order (stable across runs).
pub async fn availability_zones(net: &Net, n: usize) -> Result<Vec<String>> {
    let out = net
        .ec2
        .describe_availability_zones()
        .filters(ec2::filter("state", ["available"]))
        .filters(ec2::filter("zone-type", ["availability-zone"]))
        .send()
        .await
        .aws("DescribeAvailabilityZones", "region")?;
    let mut names: Vec<String> =
        out.availability_zones().iter().filter_map(|z| z.zone_name().map(str::to_string)).collect();
    names.sort();
    if names.len() < n {
        let region = net.ec2.config().region().map(ToString::to_string).unwrap_or_default();
        return Err(Error::NotEnoughAzs { region, wanted: n, found: names });
    }
    names.truncate(n);
    Ok(names)
}

/// Summary used by tests and `status`: our resources by kind, from a fresh read.
pub async fn inventory(net: &Net) -> Result<BTreeMap<&'static str, Vec<String>>> {
    let mut inv = BTreeMap::new();
    let vpcs = vpc::list_stack_vpcs(net).await?;
    let mut subnets = Vec::new();
    let mut groups = Vec::new();
    let mut tables = Vec::new();
    for v in &vpcs {
        let ours = |tags: &[aws_sdk_ec2::types::Tag]| ec2::is_ours(tags, &net.env, None);
        subnets.extend(list_subnets(net, v).await?.into_iter().filter(|s| ours(s.tags())).filter_map(|s| s.subnet_id));
        groups.extend(
            find_security_groups(net, v).await?.into_values().filter(|g| ours(g.tags())).filter_map(|g| g.group_id),
        );
        tables.extend(route::list_stack_route_tables(net, v).await?.into_iter().filter_map(|t| t.route_table_id));
    }
    inv.insert("vpc", vpcs);
    inv.insert("subnet", subnets);
    inv.insert("security-group", groups);
    inv.insert("route-table", tables);
    inv.insert("internet-gateway", gateway::list_internet_gateways(net).await?);
    inv.insert(
        "nat-gateway",
        gateway::list_live_nats(net).await?.into_iter().filter_map(|n| n.nat_gateway_id).collect(),
    );
    inv.insert("elastic-ip", gateway::list_addresses(net).await?.into_iter().filter_map(|a| a.allocation_id).collect());
    Ok(inv)
}
