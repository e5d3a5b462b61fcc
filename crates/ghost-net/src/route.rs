//! Route tables: public (0.0.0.0/0 → internet gateway, public subnets) and private (0.0.0.0/0 → NAT gateway
//! when there is one; the private subnets). Explicit tables, so no subnet depends on the VPC's main table.

use aws_sdk_ec2::types::{ResourceType, RouteTable};
use ghost_core::error::gone_if;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AwsResultExt, Outcome, is_planned, planned_id};
use serde::{Deserialize, Serialize};

use crate::spec::NetworkSpec;
use crate::{Net, Result, ec2};

const KIND: &str = "route-table";
const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// Where the default route goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Gateway(String),
    Nat(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTableSpec {
    /// `public-rt` or `private-rt`: the ghost:component tag that finds it.
    pub component: &'static str,
    pub name: String,
    pub default_route: Option<Target>,
    pub subnets: Vec<String>,
}

impl RouteTableSpec {
    pub fn public(spec: &NetworkSpec, igw: &str, subnets: &[String]) -> Self {
        Self {
            component: "public-rt",
            name: spec.names.of("public"),
            default_route: Some(Target::Gateway(igw.to_string())),
            subnets: subnets.to_vec(),
        }
    }

    pub fn private(spec: &NetworkSpec, nat: Option<&str>, subnets: &[String]) -> Self {
        Self {
            component: "private-rt",
            name: spec.names.of("private"),
            default_route: nat.map(|n| Target::Nat(n.to_string())),
            subnets: subnets.to_vec(),
        }
    }
}

async fn describe(net: &Net, vpc_id: &str, component: Option<&str>) -> Result<Vec<RouteTable>> {
    if is_planned(vpc_id) {
        return Ok(vec![]);
    }
    let mut filters = ec2::ours(&net.env, component);
    filters.push(ec2::filter("vpc-id", [vpc_id]));
    Ok(net
        .ec2
        .describe_route_tables()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeRouteTables", vpc_id)?
        .into_iter()
        .filter(|t: &RouteTable| ec2::is_ours(t.tags(), &net.env, component))
        .collect())
}

pub(crate) async fn list_stack_route_tables(net: &Net, vpc_id: &str) -> Result<Vec<RouteTable>> {
    describe(net, vpc_id, None).await
}

pub async fn find_route_table(net: &Net, vpc_id: &str, component: &str) -> Result<Option<RouteTable>> {
    Ok(describe(net, vpc_id, Some(component)).await?.into_iter().next())
}

fn current_default(rt: &RouteTable) -> Option<Target> {
    let r = rt.routes().iter().find(|r| r.destination_cidr_block() == Some(DEFAULT_ROUTE))?;
    r.nat_gateway_id()
        .map(|n| Target::Nat(n.to_string()))
        .or_else(|| r.gateway_id().map(|g| Target::Gateway(g.to_string())))
}

fn associated(rt: &RouteTable) -> Vec<String> {
    rt.associations()
        .iter()
        .filter(|a| !a.main().unwrap_or(false))
        .filter_map(|a| a.subnet_id().map(str::to_string))
        .collect()
}

/// What CreateRoute and AssociateRouteTable set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableView {
    pub default_route: Option<Target>,
    /// Explicitly associated subnets, sorted.
    pub subnets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteUpdate {
    CreateRoute(Target),
    ReplaceRoute(Target),
    DeleteRoute,
    Associate(String),
    /// A subnet of ours the config no longer puts here (a removed AZ's, a tier change).
    Disassociate(String),
}

/// A route table as a kind of the reconcile core, found by its component tag in our VPC.
#[derive(Debug)]
pub struct RouteTableKind<'a> {
    pub net: &'a Net,
    pub vpc_id: &'a str,
    pub spec: &'a RouteTableSpec,
    /// The VPC's subnets that carry this stack's tag: only their associations are ours to change.
    pub ours: &'a [String],
    pub desired: RouteTableView,
}

impl<'a> RouteTableKind<'a> {
    pub fn new(net: &'a Net, vpc_id: &'a str, spec: &'a RouteTableSpec, ours: &'a [String]) -> Self {
        let mut subnets = spec.subnets.clone();
        subnets.sort();
        let desired = RouteTableView { default_route: spec.default_route.clone(), subnets };
        Self { net, vpc_id, spec, ours, desired }
    }
}

impl Resource for RouteTableKind<'_> {
    type View = RouteTableView;
    type Out = String;
    type Update = RouteUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.spec.name.clone()
    }
    fn desired(&self) -> &RouteTableView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(KIND)
    }
    async fn find(&self) -> Result<Option<Live<RouteTableView, String>>> {
        let Some(rt) = find_route_table(self.net, self.vpc_id, self.spec.component).await? else { return Ok(None) };
        let mut subnets = associated(&rt);
        subnets.sort();
        let view = RouteTableView { default_route: current_default(&rt), subnets };
        Ok(Some(Live::ready(view, rt.route_table_id().unwrap_or_default().to_string())))
    }
    async fn create(&self, d: &RouteTableView) -> Result<String> {
        let tags = ec2::tags(&self.net.env, self.spec.component, &self.spec.name);
        let out =
            ghost_core::wait::retry_ec2_propagation(&self.net.env, self.spec.component, &self.spec.name, || async {
                let req = self.net.ec2.create_route_table().vpc_id(self.vpc_id);
                let req = req.tag_specifications(ec2::tag_spec(ResourceType::RouteTable, tags.clone()));
                req.send().await.aws("CreateRouteTable", &self.spec.name)
            })
            .await?;
        let id = out.route_table().and_then(|r| r.route_table_id()).unwrap_or_default().to_string();
        let empty = RouteTableView { default_route: None, subnets: vec![] };
        for u in self.updates(d, &empty)? {
            self.update(&id, u).await?;
        }
        Ok(id)
    }
    fn updates(&self, d: &RouteTableView, l: &RouteTableView) -> Result<Vec<RouteUpdate>> {
        let mut u = match (&l.default_route, &d.default_route) {
            (a, b) if a == b => vec![],
            (None, Some(t)) => vec![RouteUpdate::CreateRoute(t.clone())],
            (Some(_), Some(t)) => vec![RouteUpdate::ReplaceRoute(t.clone())],
            (Some(_), None) => vec![RouteUpdate::DeleteRoute],
            (None, None) => vec![],
        };
        u.extend(l.subnets.iter().filter(|s| !d.subnets.contains(s)).map(|s| RouteUpdate::Disassociate(s.clone())));
        u.extend(d.subnets.iter().filter(|s| !l.subnets.contains(s)).map(|s| RouteUpdate::Associate(s.clone())));
        Ok(u)
    }
    async fn update(&self, id: &String, u: RouteUpdate) -> Result<()> {
        match u {
            RouteUpdate::CreateRoute(t) => set_route(self.net, id, &t, false).await,
            RouteUpdate::ReplaceRoute(t) => set_route(self.net, id, &t, true).await,
            RouteUpdate::DeleteRoute => {
                let req = self.net.ec2.delete_route().route_table_id(id).destination_cidr_block(DEFAULT_ROUTE);
                req.send().await.aws("DeleteRoute", id)?;
                Ok(())
            }
            RouteUpdate::Associate(subnet) => associate(self.net, id, &subnet).await,
            RouteUpdate::Disassociate(subnet) => {
                // The association's id is not part of the view: read it only on this rare path.
                let rt = find_route_table(self.net, self.vpc_id, self.spec.component).await?;
                let assoc = rt.iter().flat_map(|t| t.associations()).find(|a| a.subnet_id() == Some(subnet.as_str()));
                if let Some(assoc) = assoc.and_then(|a| a.route_table_association_id()) {
                    let res = self.net.ec2.disassociate_route_table().association_id(assoc).send().await;
                    gone_if(res.map(|_| ()).aws("DisassociateRouteTable", id), &["InvalidAssociationID.NotFound"])?;
                }
                Ok(())
            }
        }
    }
    /// Associations of subnets that are not this stack's are not ours to remove: kept, and said.
    fn defer_to_live(&self, desired: &mut RouteTableView, live: &RouteTableView) -> Option<String> {
        let foreign: Vec<String> =
            live.subnets.iter().filter(|s| !desired.subnets.contains(s) && !self.ours.contains(s)).cloned().collect();
        if foreign.is_empty() {
            return None;
        }
        desired.subnets.extend(foreign.iter().cloned());
        desired.subnets.sort();
        Some(format!("subnet(s) {} associated but not this stack's; left in place", foreign.join(", ")))
    }
}

/// `ours`: the VPC's subnets that carry this stack's tag (see [`RouteTableKind::ours`]).
pub async fn ensure_route_table(
    net: &Net,
    vpc_id: &str,
    spec: &RouteTableSpec,
    ours: &[String],
) -> Result<Outcome<String>> {
    reconcile::ensure(&net.env, &RouteTableKind::new(net, vpc_id, spec, ours)).await
}

async fn set_route(net: &Net, rt: &str, target: &Target, replace: bool) -> Result<()> {
    ghost_core::wait::retry_ec2_propagation(&net.env, KIND, rt, || async {
        if replace {
            let req = net.ec2.replace_route().route_table_id(rt).destination_cidr_block(DEFAULT_ROUTE);
            let req = match target {
                Target::Gateway(g) => req.gateway_id(g),
                Target::Nat(n) => req.nat_gateway_id(n),
            };
            req.send().await.map(|_| ()).aws("ReplaceRoute", rt)
        } else {
            let req = net.ec2.create_route().route_table_id(rt).destination_cidr_block(DEFAULT_ROUTE);
            let req = match target {
                Target::Gateway(g) => req.gateway_id(g),
                Target::Nat(n) => req.nat_gateway_id(n),
            };
            req.send().await.map(|_| ()).aws("CreateRoute", rt)
        }
    })
    .await?;
    Ok(())
}

async fn associate(net: &Net, rt: &str, subnet: &str) -> Result<()> {
    ghost_core::wait::retry_ec2_propagation(&net.env, KIND, rt, || async {
        let req = net.ec2.associate_route_table().route_table_id(rt).subnet_id(subnet);
        req.send().await.aws("AssociateRouteTable", rt)
    })
    .await?;
    Ok(())
}

pub(crate) async fn delete_route_tables(net: &Net, vpc_id: &str) -> Result<()> {
    for rt in list_stack_route_tables(net, vpc_id).await? {
        let id = rt.route_table_id().unwrap_or_default();
        let name = ec2::tag_value(rt.tags(), "Name").unwrap_or(id);
        net.env
            .delete(KIND, name, id, &["InvalidRouteTableID.NotFound"], || async {
                let explicit = rt.associations().iter().filter(|a| !a.main().unwrap_or(false));
                for assoc in explicit.filter_map(|a| a.route_table_association_id()) {
                    let res = net.ec2.disassociate_route_table().association_id(assoc).send().await;
                    gone_if(res.map(|_| ()).aws("DisassociateRouteTable", id), &["InvalidAssociationID.NotFound"])?;
                }
                net.ec2.delete_route_table().route_table_id(id).send().await.map(|_| ()).aws("DeleteRouteTable", id)
            })
            .await?;
    }
    Ok(())
}
