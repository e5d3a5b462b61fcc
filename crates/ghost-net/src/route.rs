//! Route tables: public (0.0.0.0/0 → internet gateway, public subnets) and private (0.0.0.0/0 → NAT gateway
//! when there is one; the private subnets). Explicit tables, so no subnet depends on the VPC's main table.

use aws_sdk_ec2::types::{ResourceType, RouteTable};
use ghost_core::error::gone_if;
use ghost_core::{AwsResultExt, Change, Outcome, is_planned, planned_id};

use crate::spec::NetworkSpec;
use crate::{Net, Result, ec2};

const KIND: &str = "route-table";
const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// Where the default route goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Gateway(String),
    Nat(String),
}

impl Target {
    fn id(&self) -> &str {
        match self {
            Self::Gateway(id) | Self::Nat(id) => id,
        }
    }
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

/// What differs: the default route and missing subnet associations. Associations of other subnets are not
/// ours to remove; they come back as the second element, for a warning.
pub fn diff_route_table(spec: &RouteTableSpec, rt: &RouteTable) -> (Vec<Change>, Vec<String>) {
    let mut changes = Vec::new();
    let show = |t: &Option<Target>| t.as_ref().map_or("(none)".to_string(), |t| t.id().to_string());
    let current = current_default(rt);
    if current != spec.default_route {
        changes.push(Change::new(format!("route {DEFAULT_ROUTE}"), show(&current), show(&spec.default_route)));
    }
    let have = associated(rt);
    for s in spec.subnets.iter().filter(|s| !have.contains(s)) {
        changes.push(Change::new("association", "(none)", s));
    }
    let foreign = have.into_iter().filter(|s| !spec.subnets.contains(s)).collect();
    (changes, foreign)
}

pub async fn ensure_route_table(net: &Net, vpc_id: &str, spec: &RouteTableSpec) -> Result<Outcome<String>> {
    net.env
        .track(KIND, &spec.name, async {
            let Some(rt) = find_route_table(net, vpc_id, spec.component).await? else {
                if net.env.is_plan() {
                    return Ok(Outcome::Created(planned_id(KIND)));
                }
                let out = net
                    .ec2
                    .create_route_table()
                    .vpc_id(vpc_id)
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::RouteTable,
                        ec2::tags(&net.env, spec.component, &spec.name),
                    ))
                    .send()
                    .await
                    .aws("CreateRouteTable", &spec.name)?;
                let id = out.route_table().and_then(|r| r.route_table_id()).unwrap_or_default().to_string();
                if let Some(t) = &spec.default_route {
                    set_route(net, &id, t, false).await?;
                }
                for s in &spec.subnets {
                    associate(net, &id, s).await?;
                }
                return Ok(Outcome::Created(id));
            };
            let id = rt.route_table_id().unwrap_or_default().to_string();
            let (changes, foreign) = diff_route_table(spec, &rt);
            for s in foreign {
                net.env.warn(
                    KIND,
                    &spec.name,
                    format!("subnet {s} is associated but not part of this config; left in place"),
                );
            }
            if !changes.is_empty() && !net.env.is_plan() {
                let current = current_default(&rt);
                match (&current, &spec.default_route) {
                    (a, b) if a == b => {}
                    (None, Some(t)) => set_route(net, &id, t, false).await?,
                    (Some(_), Some(t)) => set_route(net, &id, t, true).await?,
                    (Some(_), None) => {
                        net.ec2
                            .delete_route()
                            .route_table_id(&id)
                            .destination_cidr_block(DEFAULT_ROUTE)
                            .send()
                            .await
                            .aws("DeleteRoute", &id)?;
                    }
                    (None, None) => {}
                }
                let have = associated(&rt);
                for s in spec.subnets.iter().filter(|s| !have.contains(s)) {
                    associate(net, &id, s).await?;
                }
            }
            Ok(Outcome::from_changes(id, changes))
        })
        .await
}

async fn set_route(net: &Net, rt: &str, target: &Target, replace: bool) -> Result<()> {
    if replace {
        let req = net.ec2.replace_route().route_table_id(rt).destination_cidr_block(DEFAULT_ROUTE);
        let req = match target {
            Target::Gateway(g) => req.gateway_id(g),
            Target::Nat(n) => req.nat_gateway_id(n),
        };
        req.send().await.aws("ReplaceRoute", rt)?;
    } else {
        let req = net.ec2.create_route().route_table_id(rt).destination_cidr_block(DEFAULT_ROUTE);
        let req = match target {
            Target::Gateway(g) => req.gateway_id(g),
            Target::Nat(n) => req.nat_gateway_id(n),
        };
        req.send().await.aws("CreateRoute", rt)?;
    }
    Ok(())
}

async fn associate(net: &Net, rt: &str, subnet: &str) -> Result<()> {
    net.ec2.associate_route_table().route_table_id(rt).subnet_id(subnet).send().await.aws("AssociateRouteTable", rt)?;
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
