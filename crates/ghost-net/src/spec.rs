//! The desired network, derived from the config: which CIDRs go to which subnets, which security groups
//! with which rules.

use std::fmt;

use ghost_core::config::{Database, TaskSubnets};
use ghost_core::{Config, Names};
use ipnet::Ipv4Net;
use serde::Serialize;

/// Ghost's HTTP port inside the task.
pub const GHOST_PORT: u16 = 2368;
pub const NFS_PORT: u16 = 2049;
pub const MYSQL_PORT: u16 = 3306;
/// Room for up to 4 AZs per tier: public subnets take slots 0..4, private ones 4..8, so adding a third AZ
/// never moves an existing subnet.
const SLOTS_PER_TIER: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Public,
    Private,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::Private => "private",
        })
    }
}

/// Everything the network lens needs, independent of the rest of the config (for embedding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSpec {
    pub names: Names,
    pub cidr: Ipv4Net,
    pub az_count: usize,
    /// Tasks in private subnets behind a NAT gateway (else public subnets with public IPs, no NAT).
    pub nat: bool,
    /// The ALB also listens on 443.
    pub https: bool,
    /// A database security group (3306 from tasks) for RDS MySQL.
    pub database_sg: bool,
    /// The blue/green test listener's port, open on the ALB group to `admin_cidrs` only.
    pub test_port: u16,
    pub admin_cidrs: Vec<String>,
}

impl NetworkSpec {
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            names: cfg.names(),
            cidr: cfg.vpc_cidr(),
            az_count: usize::from(cfg.network.availability_zones),
            nat: cfg.network.task_subnets == TaskSubnets::Private,
            https: !cfg.load_balancer.certificate_arn.is_empty(),
            database_sg: cfg.ghost.database == Database::Mysql,
            test_port: cfg.load_balancer.test_listener_port,
            admin_cidrs: cfg.load_balancer.admin_cidrs.clone(),
        }
    }

    /// One public and one private subnet per AZ, in AZ order.
    pub fn subnets(&self, azs: &[String]) -> Vec<SubnetSpec> {
        let blocks = carve(self.cidr, self.az_count);
        [Tier::Public, Tier::Private]
            .into_iter()
            .flat_map(|tier| {
                azs.iter().zip(&blocks).map(move |(az, (public, private))| {
                    let suffix = az.chars().last().unwrap_or('x');
                    SubnetSpec {
                        tier,
                        az: az.clone(),
                        cidr: if tier == Tier::Public { *public } else { *private },
                        name: self.names.of(&format!("{tier}-{suffix}")),
                    }
                })
            })
            .collect()
    }

    /// The security groups and their ingress rules. Sources refer to other groups by role.
    /// Every rule description this lens writes, whatever the config: a live rule carrying one is ours (a
    /// config that stops asking for it revokes it); any other rule is someone's and is left in place.
    pub const RULE_DESCRIPTIONS: &[&str] = &[
        "HTTP from anywhere",
        "HTTPS from anywhere",
        "blue/green test listener from admins",
        "Ghost from the load balancer",
        "NFS from Ghost tasks",
        "MySQL from Ghost tasks",
    ];

    pub fn security_groups(&self) -> Vec<SgSpec> {
        let mut alb_rules = vec![RuleSpec::cidr(80, "0.0.0.0/0", "HTTP from anywhere")];
        if self.https {
            alb_rules.push(RuleSpec::cidr(443, "0.0.0.0/0", "HTTPS from anywhere"));
        }
        for cidr in &self.admin_cidrs {
            alb_rules.push(RuleSpec::cidr(self.test_port, cidr, "blue/green test listener from admins"));
        }
        let mut groups = vec![
            SgSpec::new(self, SgRole::Alb, "Ghost load balancer: HTTP(S) from the internet", alb_rules),
            SgSpec::new(
                self,
                SgRole::Task,
                "Ghost tasks: Ghost's port from the load balancer only",
                vec![RuleSpec::group(GHOST_PORT, SgRole::Alb, "Ghost from the load balancer")],
            ),
            SgSpec::new(
                self,
                SgRole::Efs,
                "Ghost content on EFS: NFS from the tasks only",
                vec![RuleSpec::group(NFS_PORT, SgRole::Task, "NFS from Ghost tasks")],
            ),
        ];
        if self.database_sg {
            groups.push(SgSpec::new(
                self,
                SgRole::Db,
                "Ghost database: MySQL from the tasks only",
                vec![RuleSpec::group(MYSQL_PORT, SgRole::Task, "MySQL from Ghost tasks")],
            ));
        }
        groups
    }
}

/// Carves (public, private) blocks per AZ from the VPC block: the VPC is split into 8 equal parts
/// (prefix + 3: /16 gives /19s, /24 gives /27s, the smallest an ALB accepts).
pub fn carve(vpc: Ipv4Net, az_count: usize) -> Vec<(Ipv4Net, Ipv4Net)> {
    let parts: Vec<Ipv4Net> = vpc.subnets(vpc.prefix_len() + 3).map(Iterator::collect).unwrap_or_default();
    (0..az_count.min(SLOTS_PER_TIER)).filter_map(|i| Some((*parts.get(i)?, *parts.get(SLOTS_PER_TIER + i)?))).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubnetSpec {
    pub tier: Tier,
    pub az: String,
    pub cidr: Ipv4Net,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SgRole {
    Alb,
    Task,
    Efs,
    Db,
}

impl SgRole {
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Alb => "alb",
            Self::Task => "task",
            Self::Efs => "efs",
            Self::Db => "db",
        }
    }

    /// Deletion order: a group goes before the groups its rules reference.
    pub const DELETE_ORDER: [SgRole; 4] = [Self::Db, Self::Efs, Self::Task, Self::Alb];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SgSpec {
    pub role: SgRole,
    pub name: String,
    pub description: String,
    pub rules: Vec<RuleSpec>,
}

impl SgSpec {
    fn new(spec: &NetworkSpec, role: SgRole, description: &str, rules: Vec<RuleSpec>) -> Self {
        Self { role, name: spec.names.of(role.suffix()), description: description.into(), rules }
    }
}

/// An ingress rule: TCP `port` from a CIDR or from another of our groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSpec {
    pub port: u16,
    pub from: RuleSource,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSource {
    Cidr(String),
    Group(SgRole),
}

impl RuleSpec {
    fn cidr(port: u16, cidr: &str, description: &str) -> Self {
        Self { port, from: RuleSource::Cidr(cidr.into()), description: description.into() }
    }

    fn group(port: u16, role: SgRole, description: &str) -> Self {
        Self { port, from: RuleSource::Group(role), description: description.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn carving_a_slash_16() {
        let blocks = carve(net("10.0.0.0/16"), 3);
        assert_eq!(blocks[0], (net("10.0.0.0/19"), net("10.0.128.0/19")));
        assert_eq!(blocks[2], (net("10.0.64.0/19"), net("10.0.192.0/19")));
    }

    #[test]
    fn carving_a_slash_24_gives_alb_sized_subnets() {
        let blocks = carve(net("192.168.5.0/24"), 2);
        assert_eq!(
            blocks,
            [(net("192.168.5.0/27"), net("192.168.5.128/27")), (net("192.168.5.32/27"), net("192.168.5.160/27"))]
        );
    }

    #[test]
    fn carved_subnets_never_overlap_and_stay_inside() {
        for prefix in 16..=24u8 {
            let vpc = Ipv4Net::new("10.20.0.0".parse().unwrap(), prefix).unwrap().trunc();
            for azs in 2..=3 {
                let all: Vec<Ipv4Net> = carve(vpc, azs).into_iter().flat_map(|(a, b)| [a, b]).collect();
                assert_eq!(all.len(), azs * 2);
                for (i, a) in all.iter().enumerate() {
                    assert!(vpc.contains(a), "{a} outside {vpc}");
                    for b in &all[i + 1..] {
                        assert!(!a.contains(b) && !b.contains(a), "{a} overlaps {b}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Any block the config accepts (a private range, /16 to /24, host bits clear), any AZ count: the carved
        /// subnets stay inside the VPC and never overlap, and adding the third AZ moves none of the first two.
        #[test]
        fn carving_any_accepted_block_never_overlaps_and_stays_inside(
            range in 0usize..3, bits in proptest::prelude::any::<u32>(), prefix in 16u8..=24, azs in 2usize..=3,
        ) {
            let (base, fixed) = [([10, 0, 0, 0], 8u8), ([172, 16, 0, 0], 12), ([192, 168, 0, 0], 16)][range];
            let prefix = prefix.max(fixed);
            let addr = u32::from(std::net::Ipv4Addr::from(base)) | (bits >> fixed);
            let vpc = Ipv4Net::new(addr.into(), prefix).unwrap().trunc();
            let text = format!(
                "[stack]\nname = \"p\"\nregion = \"eu-west-2\"\n[network]\ncidr = \"{vpc}\"\navailability_zones = {azs}\n"
            );
            let cfg = ghost_core::Config::parse(&text, "proptest");
            proptest::prop_assert!(cfg.is_ok(), "{vpc} is accepted: {:?}", cfg.err());
            let all: Vec<Ipv4Net> = carve(vpc, azs).into_iter().flat_map(|(a, b)| [a, b]).collect();
            proptest::prop_assert_eq!(all.len(), azs * 2);
            for (i, a) in all.iter().enumerate() {
                proptest::prop_assert!(vpc.contains(a), "{} outside {}", a, vpc);
                for b in &all[i + 1..] {
                    proptest::prop_assert!(!a.contains(b) && !b.contains(a), "{} overlaps {}", a, b);
                }
            }
            proptest::prop_assert_eq!(&carve(vpc, 2)[..], &carve(vpc, 3)[..2]);
        }
    }

    #[test]
    fn adding_an_az_keeps_existing_subnets() {
        let two = carve(net("10.0.0.0/16"), 2);
        let three = carve(net("10.0.0.0/16"), 3);
        assert_eq!(two[..], three[..2]);
    }
}
