//! Security groups, found by name within our VPC: ALB (80/443 from anywhere) → task (Ghost's port from the
//! ALB group only) → EFS (NFS from tasks only) and database (MySQL from tasks only). Missing rules are added;
//! rules we did not write are reported and left in place (someone added them on purpose, or by mistake: a
//! person decides).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, SecurityGroup, UserIdGroupPair};
use ghost_core::error::gone_if;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AwsResultExt, Change, Error as CoreError, is_planned, planned_id};
use serde::{Deserialize, Serialize};

use crate::interfaces::{Held, delete_when_released};
use crate::spec::{NetworkSpec, RuleSource, SgRole, SgSpec};
use crate::{Net, Result, ec2};

const KIND: &str = "security-group";

/// An ingress rule as EC2 stores it, reduced to what identifies it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    /// A CIDR or a security-group id.
    pub source: String,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports = if self.from_port == self.to_port {
            self.from_port.to_string()
        } else {
            format!("{}-{}", self.from_port, self.to_port)
        };
        write!(f, "{} {ports} from {}", self.protocol, self.source)
    }
}

/// All groups in the VPC by name (group names are unique per VPC).
pub async fn find_security_groups(net: &Net, vpc_id: &str) -> Result<BTreeMap<String, SecurityGroup>> {
    if is_planned(vpc_id) {
        return Ok(BTreeMap::new());
    }
    let groups: Vec<SecurityGroup> = net
        .ec2
        .describe_security_groups()
        .filters(ec2::filter("vpc-id", [vpc_id]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeSecurityGroups", vpc_id)?;
    Ok(groups.into_iter().filter_map(|g| Some((g.group_name.clone()?, g))).collect())
}

pub fn rules_of(group: &SecurityGroup) -> BTreeSet<Rule> {
    let mut out = BTreeSet::new();
    for p in group.ip_permissions() {
        let base = |source: &str| Rule {
            protocol: p.ip_protocol().unwrap_or_default().to_string(),
            from_port: p.from_port().unwrap_or(-1),
            to_port: p.to_port().unwrap_or(-1),
            source: source.to_string(),
        };
        out.extend(p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(base));
        out.extend(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).map(base));
        out.extend(p.user_id_group_pairs().iter().filter_map(|g| g.group_id()).map(base));
    }
    out
}

/// One ingress rule as AuthorizeSecurityGroupIngress sets it: the rule and its description.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IngressView {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    /// A CIDR or a security-group id.
    pub source: String,
    pub description: String,
}

impl IngressView {
    fn rule(&self) -> Rule {
        Rule {
            protocol: self.protocol.clone(),
            from_port: self.from_port,
            to_port: self.to_port,
            source: self.source.clone(),
        }
    }
}

/// What CreateSecurityGroup (the description, fixed at creation) and the ingress authorisations set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub description: String,
    /// Sorted.
    pub ingress: Vec<IngressView>,
}

fn ingress_of(group: &SecurityGroup) -> Vec<IngressView> {
    let mut out = Vec::new();
    for p in group.ip_permissions() {
        let rule = |source: &str, description: Option<&str>| IngressView {
            protocol: p.ip_protocol().unwrap_or_default().to_string(),
            from_port: p.from_port().unwrap_or(-1),
            to_port: p.to_port().unwrap_or(-1),
            source: source.to_string(),
            description: description.unwrap_or_default().to_string(),
        };
        out.extend(p.ip_ranges().iter().filter_map(|r| Some(rule(r.cidr_ip()?, r.description()))));
        out.extend(p.ipv6_ranges().iter().filter_map(|r| Some(rule(r.cidr_ipv6()?, r.description()))));
        out.extend(p.user_id_group_pairs().iter().filter_map(|g| Some(rule(g.group_id()?, g.description()))));
    }
    out.sort();
    out
}

fn desired_ingress(spec: &SgSpec, ids: &BTreeMap<SgRole, String>) -> Vec<IngressView> {
    let mut out: Vec<IngressView> = spec
        .rules
        .iter()
        .map(|r| {
            let source = match &r.from {
                RuleSource::Cidr(c) => c.clone(),
                RuleSource::Group(role) => ids.get(role).cloned().unwrap_or_else(|| planned_id(KIND)),
            };
            let port = i32::from(r.port);
            IngressView {
                protocol: "tcp".into(),
                from_port: port,
                to_port: port,
                source,
                description: r.description.clone(),
            }
        })
        .collect();
    out.sort();
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupUpdate {
    Authorize(Vec<IngressView>),
    Describe(Vec<IngressView>),
    /// Rules of ours the config no longer asks for (HTTPS dropped, an admin CIDR removed).
    Revoke(Vec<IngressView>),
}

/// One security group as a kind of the reconcile core, found by name among the VPC's groups (listed once).
#[derive(Debug)]
pub struct SecurityGroupKind<'a> {
    pub net: &'a Net,
    pub vpc_id: &'a str,
    pub name: &'a str,
    pub found: Option<&'a SecurityGroup>,
    pub desired: GroupView,
}

impl Resource for SecurityGroupKind<'_> {
    type View = GroupView;
    type Out = String;
    type Update = GroupUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.to_string()
    }
    fn desired(&self) -> &GroupView {
        &self.desired
    }
    fn planned(&self) -> String {
        planned_id(KIND)
    }
    async fn find(&self) -> Result<Option<Live<GroupView, String>>> {
        Ok(self.found.map(|g| {
            let view = GroupView { description: g.description().unwrap_or_default().into(), ingress: ingress_of(g) };
            Live::ready(view, g.group_id().unwrap_or_default().to_string())
        }))
    }
    async fn create(&self, d: &GroupView) -> Result<String> {
        let out = ghost_core::wait::retry_ec2_propagation(&self.net.env, KIND, self.name, || async {
            let req = self.net.ec2.create_security_group().group_name(self.name).description(&d.description);
            let tags = ec2::tag_spec(ResourceType::SecurityGroup, ec2::tags(&self.net.env, KIND, self.name));
            req.vpc_id(self.vpc_id).tag_specifications(tags).send().await.aws("CreateSecurityGroup", self.name)
        })
        .await?;
        let id = out.group_id.unwrap_or_default();
        if !d.ingress.is_empty() {
            self.update(&id, GroupUpdate::Authorize(d.ingress.clone())).await?;
        }
        Ok(id)
    }
    fn updates(&self, d: &GroupView, l: &GroupView) -> Result<Vec<GroupUpdate>> {
        if d.description != l.description {
            return Err(CoreError::NeedsReplacement {
                resource: format!("{KIND} {}", self.name),
                change: Change::new("description", &l.description, &d.description),
                remedy: "EC2 fixes a group's description at creation: destroy the stack (or delete the group once \
                         nothing uses it) and deploy again"
                    .into(),
            }
            .into());
        }
        let live_rule = |w: &IngressView| l.ingress.iter().find(|h| h.rule() == w.rule());
        let missing: Vec<IngressView> = d.ingress.iter().filter(|w| live_rule(w).is_none()).cloned().collect();
        let described: Vec<IngressView> = d
            .ingress
            .iter()
            .filter(|w| live_rule(w).is_some_and(|h| h.description != w.description))
            .cloned()
            .collect();
        let stale: Vec<IngressView> =
            l.ingress.iter().filter(|h| !d.ingress.iter().any(|w| w.rule() == h.rule())).cloned().collect();
        let mut u = Vec::new();
        if !stale.is_empty() {
            u.push(GroupUpdate::Revoke(stale));
        }
        if !missing.is_empty() {
            u.push(GroupUpdate::Authorize(missing));
        }
        if !described.is_empty() {
            u.push(GroupUpdate::Describe(described));
        }
        Ok(u)
    }
    async fn update(&self, id: &String, u: GroupUpdate) -> Result<()> {
        match u {
            GroupUpdate::Authorize(rules) => authorize(self.net, id, &rules).await,
            GroupUpdate::Revoke(rules) => {
                let req = self.net.ec2.revoke_security_group_ingress().group_id(id);
                let res = req.set_ip_permissions(Some(rules.iter().map(permission).collect())).send().await;
                gone_if(res.map(|_| ()).aws("RevokeSecurityGroupIngress", id), &["InvalidPermission.NotFound"])?;
                Ok(())
            }
            GroupUpdate::Describe(rules) => {
                let req = self.net.ec2.update_security_group_rule_descriptions_ingress().group_id(id);
                let req = req.set_ip_permissions(Some(rules.iter().map(permission).collect()));
                req.send().await.aws("UpdateSecurityGroupRuleDescriptionsIngress", id)?;
                Ok(())
            }
        }
    }
    /// Ingress rules we did not write (their description is none of ours) are someone's decision: reported
    /// and left in place.
    fn defer_to_live(&self, desired: &mut GroupView, live: &GroupView) -> Option<String> {
        let foreign: Vec<IngressView> = live
            .ingress
            .iter()
            .filter(|h| !desired.ingress.iter().any(|w| w.rule() == h.rule()))
            .filter(|h| !NetworkSpec::RULE_DESCRIPTIONS.contains(&h.description.as_str()))
            .cloned()
            .collect();
        if foreign.is_empty() {
            return None;
        }
        let shown: Vec<String> = foreign.iter().map(|r| r.rule().to_string()).collect();
        desired.ingress.extend(foreign);
        desired.ingress.sort();
        Some(format!("ingress rule(s) {} not ours; left in place", shown.join(", ")))
    }
}

/// Ensures every group, each after the groups its rules name as sources (the ALB's, then the task's, then
/// EFS's and the database's), so a rule is authorised with its source's real id.
pub async fn ensure_security_groups(net: &Net, vpc_id: &str, specs: &[SgSpec]) -> Result<BTreeMap<SgRole, String>> {
    let existing = find_security_groups(net, vpc_id).await?;
    let mut ids: BTreeMap<SgRole, String> = BTreeMap::new();
    let mut left: Vec<&SgSpec> = specs.iter().collect();
    while !left.is_empty() {
        let ready = |s: &&SgSpec| {
            s.rules.iter().all(|r| match &r.from {
                RuleSource::Group(role) => ids.contains_key(role) || !specs.iter().any(|x| x.role == *role),
                RuleSource::Cidr(_) => true,
            })
        };
        let (now, later): (Vec<&SgSpec>, Vec<&SgSpec>) = left.into_iter().partition(ready);
        if now.is_empty() {
            return Err(CoreError::Invariant {
                resource: KIND.into(),
                message: "the security groups' rules reference each other in a cycle".into(),
            }
            .into());
        }
        let done = futures::future::try_join_all(now.iter().map(|spec| {
            let group = SecurityGroupKind {
                net,
                vpc_id,
                name: &spec.name,
                found: existing.get(&spec.name),
                desired: GroupView { description: spec.description.clone(), ingress: desired_ingress(spec, &ids) },
            };
            async move { Ok::<_, crate::Error>((spec.role, reconcile::ensure(&net.env, &group).await?.into_id())) }
        }))
        .await?;
        ids.extend(done);
        left = later;
    }
    Ok(ids)
}

fn permission(r: &IngressView) -> IpPermission {
    let p = IpPermission::builder().ip_protocol(&r.protocol).from_port(r.from_port).to_port(r.to_port);
    if r.source.starts_with("sg-") {
        p.user_id_group_pairs(UserIdGroupPair::builder().group_id(&r.source).description(&r.description).build())
    } else {
        p.ip_ranges(IpRange::builder().cidr_ip(&r.source).description(&r.description).build())
    }
    .build()
}

async fn authorize(net: &Net, group_id: &str, rules: &[IngressView]) -> Result<()> {
    // It names the group and the groups its rules admit, any of them perhaps made a moment ago.
    let res = ghost_core::wait::retry_ec2_propagation(&net.env, KIND, group_id, || async {
        let req = net.ec2.authorize_security_group_ingress().group_id(group_id);
        let req = req.set_ip_permissions(Some(rules.iter().map(permission).collect()));
        req.send().await.map(|_| ()).aws("AuthorizeSecurityGroupIngress", group_id)
    })
    .await;
    // A rule added between our read and our write (a concurrent deploy) is already what we want.
    gone_if(res, &["InvalidPermission.Duplicate"])?;
    Ok(())
}

/// After mysql -> sqlite, the database's group once the database is gone (the run lens deletes it first; a
/// group still attached to a network interface cannot be deleted). Only a group with our tags.
pub async fn prune_database_group(net: &Net, vpc_id: &str, spec: &crate::spec::NetworkSpec) -> Result<()> {
    if spec.database_sg {
        return Ok(());
    }
    let name = net.env.names.of(SgRole::Db.suffix());
    let groups = find_security_groups(net, vpc_id).await?;
    let Some(g) = groups.get(&name).filter(|g| ec2::is_ours(g.tags(), &net.env, None)) else { return Ok(()) };
    let id = g.group_id().unwrap_or_default();
    net.env
        .delete(KIND, &name, id, &["InvalidGroup.NotFound"], || async {
            net.ec2.delete_security_group().group_id(id).send().await.map(|_| ()).aws("DeleteSecurityGroup", id)
        })
        .await?;
    Ok(())
}

/// Deletes our groups in the VPC, each before the groups its rules reference.
pub(crate) async fn delete_security_groups(net: &Net, vpc_id: &str) -> Result<()> {
    let groups = find_security_groups(net, vpc_id).await?;
    let mut ours: Vec<&SecurityGroup> = groups.values().filter(|g| ec2::is_ours(g.tags(), &net.env, None)).collect();
    let rank = |g: &SecurityGroup| {
        SgRole::DELETE_ORDER
            .iter()
            .position(|r| g.group_name() == Some(net.env.names.of(r.suffix()).as_str()))
            .unwrap_or(usize::MAX)
    };
    ours.sort_by_key(|g| rank(g));
    for g in ours {
        let id = g.group_id().unwrap_or_default();
        let name = g.group_name().unwrap_or(id);
        net.env
            .delete(KIND, name, id, &["InvalidGroup.NotFound"], || {
                delete_when_released(net, KIND, name, Held::Group(id), || async {
                    net.ec2.delete_security_group().group_id(id).send().await.map(|_| ()).aws("DeleteSecurityGroup", id)
                })
            })
            .await?;
    }
    Ok(())
}
