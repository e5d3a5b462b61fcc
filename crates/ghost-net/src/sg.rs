//! Security groups, found by name within our VPC: ALB (80/443 from anywhere) → task (Ghost's port from the
//! ALB group only) → EFS (NFS from tasks only) and database (MySQL from tasks only). Missing rules are added;
//! rules we did not write are reported and left in place (someone added them on purpose, or by mistake: a
//! person decides).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, SecurityGroup, UserIdGroupPair};
use ghost_core::error::gone_if;
use ghost_core::{AwsResultExt, Change, Outcome, is_planned, planned_id};

use crate::spec::{RuleSource, SgRole, SgSpec};
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

fn desired_rules(spec: &SgSpec, ids: &BTreeMap<SgRole, String>) -> Vec<(Rule, String)> {
    spec.rules
        .iter()
        .map(|r| {
            let source = match &r.from {
                RuleSource::Cidr(c) => c.clone(),
                RuleSource::Group(role) => ids.get(role).cloned().unwrap_or_else(|| planned_id(KIND)),
            };
            let port = i32::from(r.port);
            (Rule { protocol: "tcp".into(), from_port: port, to_port: port, source }, r.description.clone())
        })
        .collect()
}

/// Missing rules (to add) and foreign rules (to report).
pub fn diff_rules(want: &[(Rule, String)], have: &BTreeSet<Rule>) -> (Vec<(Rule, String)>, Vec<Rule>) {
    let missing = want.iter().filter(|(r, _)| !have.contains(r)).cloned().collect();
    let foreign = have.iter().filter(|r| !want.iter().any(|(w, _)| w == *r)).cloned().collect();
    (missing, foreign)
}

/// Ensures every group, then every group's rules (rules reference other groups' ids, so groups come first).
pub async fn ensure_security_groups(net: &Net, vpc_id: &str, specs: &[SgSpec]) -> Result<BTreeMap<SgRole, String>> {
    let existing = find_security_groups(net, vpc_id).await?;
    let created = futures::future::try_join_all(specs.iter().map(|s| async {
        match existing.get(&s.name) {
            Some(g) => Ok::<_, crate::Error>((s.role, g.group_id().unwrap_or_default().to_string(), false)),
            None => Ok((s.role, create_group(net, vpc_id, s).await?, true)),
        }
    }))
    .await?;
    let ids: BTreeMap<SgRole, String> = created.iter().map(|(r, id, _)| (*r, id.clone())).collect();

    futures::future::try_join_all(specs.iter().zip(&created).map(|(spec, (_, id, was_created))| {
        let ids = &ids;
        let existing = &existing;
        async move {
            net.env
                .track(KIND, &spec.name, async {
                    let have = existing.get(&spec.name).map(rules_of).unwrap_or_default();
                    let (missing, foreign) = diff_rules(&desired_rules(spec, ids), &have);
                    for r in foreign {
                        net.env.warn(KIND, &spec.name, format!("ingress rule {r} is not ours; left in place"));
                    }
                    if !missing.is_empty() && !net.env.is_plan() {
                        authorize(net, id, &missing).await?;
                    }
                    if *was_created {
                        return Ok::<_, crate::Error>(Outcome::Created(id.clone()));
                    }
                    let changes = missing.iter().map(|(r, _)| Change::new("ingress", "(none)", r)).collect();
                    Ok(Outcome::from_changes(id.clone(), changes))
                })
                .await
        }
    }))
    .await?;
    Ok(ids)
}

async fn create_group(net: &Net, vpc_id: &str, spec: &SgSpec) -> Result<String> {
    if net.env.is_plan() {
        return Ok(planned_id(KIND));
    }
    let out = net
        .ec2
        .create_security_group()
        .group_name(&spec.name)
        .description(&spec.description)
        .vpc_id(vpc_id)
        .tag_specifications(ec2::tag_spec(ResourceType::SecurityGroup, ec2::tags(&net.env, KIND, &spec.name)))
        .send()
        .await
        .aws("CreateSecurityGroup", &spec.name)?;
    Ok(out.group_id.unwrap_or_default())
}

async fn authorize(net: &Net, group_id: &str, rules: &[(Rule, String)]) -> Result<()> {
    let perms = rules.iter().map(|(r, description)| {
        let p = IpPermission::builder().ip_protocol(&r.protocol).from_port(r.from_port).to_port(r.to_port);
        if r.source.starts_with("sg-") {
            p.user_id_group_pairs(UserIdGroupPair::builder().group_id(&r.source).description(description).build())
        } else {
            p.ip_ranges(IpRange::builder().cidr_ip(&r.source).description(description).build())
        }
        .build()
    });
    let res = net
        .ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .set_ip_permissions(Some(perms.collect()))
        .send()
        .await
        .map(|_| ())
        .aws("AuthorizeSecurityGroupIngress", group_id);
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
        net.env
            .delete(KIND, g.group_name().unwrap_or(id), id, &["InvalidGroup.NotFound"], || async {
                net.ec2.delete_security_group().group_id(id).send().await.map(|_| ()).aws("DeleteSecurityGroup", id)
            })
            .await?;
    }
    Ok(())
}
