//! The stack's resource graph, and the lower bound it puts on a deploy and on a destroy under AWS's timing.
//!
//! A node is a kind of resource the run reported; an edge is what AWS requires of another resource before the
//! node's own call can be made (its id, it being ready, its role assumable) or, for a destroy, what must be gone
//! first. The bound is the longest chain of such requirements, each call costing one round trip and each wait
//! its AWS duration (the emulator's lifecycle clock, read from it): no tool, however concurrent, finishes sooner.
//! Edges are AWS's requirements, not the order our lenses happen to use; a kind with no row fails the bound
//! (a new kind must be placed in the graph before it is benchmarked).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};

/// What a node needs of another before its call can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Its id or ARN: the other's create call answered.
    Id,
    /// Its id, named in an EC2 call: created, then EC2's id propagation.
    Ec2Id,
    /// Ready: created, then its provisioning (a load balancer active, a file system available, ...).
    Ready,
    /// A role the consuming service assumes: created, then IAM's propagation.
    Assumable,
    /// Destroy: its delete call answered.
    Deleted,
    /// Destroy: deleted and everything it held released (its deletion wait: a NAT gateway deleted, a load
    /// balancer's network interfaces gone, a service's tasks drained and deprovisioned, ...).
    Gone,
}

use Needs::{Assumable, Deleted, Ec2Id, Gone, Id, Ready};

/// (kind, what it needs of other kinds) rows, and when a kind is done: ready (a deploy) or gone (a destroy).
#[derive(Debug, Clone, Copy)]
pub struct Graph {
    pub rows: &'static [(&'static str, &'static [(&'static str, Needs)])],
    pub done_when: Needs,
}

/// Deploy: (kind, what its create call needs). From the API references: CreateSubnet names the VPC, a mount
/// target needs its file system available (IncorrectFileSystemLifeCycleState), CreateListener a load balancer and
/// a target group (not an active balancer), a service a target group with a listener, a task definition the
/// database's endpoint (none while it is creating), CodeBuild, CodeDeploy, CodePipeline and the file-system policy a
/// role they can assume, private tasks a NAT gateway that forwards (available) to pull their image.
pub const DEPLOY: Graph = Graph {
    done_when: Ready,
    rows: &[
        ("vpc", &[]),
        ("subnet", &[("vpc", Ec2Id)]),
        ("internet-gateway", &[("vpc", Ec2Id)]),
        ("security-group", &[("vpc", Ec2Id)]),
        ("elastic-ip", &[]),
        ("nat-gateway", &[("subnet", Ec2Id), ("elastic-ip", Ec2Id)]),
        ("route-table", &[("vpc", Ec2Id), ("internet-gateway", Ec2Id), ("nat-gateway", Ec2Id), ("subnet", Ec2Id)]),
        ("load-balancer", &[("subnet", Ec2Id), ("security-group", Ec2Id)]),
        ("target-group", &[("vpc", Ec2Id)]),
        ("listener", &[("load-balancer", Id), ("target-group", Id)]),
        ("listener-rule", &[("listener", Id), ("target-group", Id)]),
        ("file-system", &[]),
        ("mount-target", &[("file-system", Ready), ("subnet", Ec2Id), ("security-group", Ec2Id)]),
        ("access-point", &[("file-system", Ready)]),
        ("file-system-policy", &[("file-system", Ready), ("iam-role", Assumable)]),
        ("db-subnet-group", &[("subnet", Ec2Id)]),
        ("db-instance", &[("db-subnet-group", Id), ("security-group", Ec2Id)]),
        ("log-group", &[]),
        // ECS creates its role on first need; CreateCluster with capacity providers assumes it.
        ("service-linked-role", &[]),
        ("ecs-cluster", &[("service-linked-role", Assumable)]),
        // The task role's policy names the file system, the execution role's the database's secret.
        ("iam-role", &[("file-system", Id), ("db-instance", Id)]),
        ("task-definition", &[("iam-role", Id), ("access-point", Id), ("log-group", Id), ("db-instance", Ready)]),
        (
            "ecs-service",
            &[
                ("ecs-cluster", Id),
                ("task-definition", Id),
                ("listener", Id),
                ("listener-rule", Id),
                ("subnet", Ec2Id),
                ("security-group", Ec2Id),
                ("mount-target", Ready),
                ("nat-gateway", Ready),
                ("route-table", Id),
            ],
        ),
        ("scalable-target", &[("ecs-service", Id)]),
        ("scaling-policy", &[("scalable-target", Id)]),
        ("kms-key", &[]),
        ("sns-topic", &[("kms-key", Id)]),
        ("sns-subscription", &[("sns-topic", Id)]),
        ("cloudwatch-alarm", &[("sns-topic", Id), ("load-balancer", Id), ("target-group", Id), ("db-instance", Id)]),
        ("cloudwatch-dashboard", &[("load-balancer", Id), ("target-group", Id)]),
        ("ecr-repository", &[]),
        ("codecommit-repository", &[]),
        ("codeconnection", &[]),
        ("s3-bucket", &[]),
        ("codebuild-project", &[("iam-role", Assumable)]),
        ("codedeploy-application", &[]),
        (
            "codedeploy-deployment-group",
            &[
                ("codedeploy-application", Id),
                ("iam-role", Assumable),
                ("ecs-service", Id),
                ("listener", Id),
                ("target-group", Id),
                ("cloudwatch-alarm", Id),
            ],
        ),
        (
            "codepipeline",
            &[
                ("iam-role", Assumable),
                ("s3-bucket", Id),
                ("codebuild-project", Id),
                ("codedeploy-deployment-group", Id),
                ("codecommit-repository", Id),
                ("codeconnection", Id),
                ("ecr-repository", Id),
            ],
        ),
        ("eventbridge-rule", &[("sns-topic", Id), ("codepipeline", Id)]),
    ],
};

/// Destroy: (kind, what must be gone before its delete call). From the API references: DeleteSubnet,
/// DeleteSecurityGroup and DetachInternetGateway refuse while network interfaces (a load balancer's, a NAT
/// gateway's, a mount target's, a database's, a task's) or mapped public addresses remain (DependencyViolation);
/// DeleteCluster while tasks run; DeleteFileSystem while mount targets exist; DeleteDBSubnetGroup while its
/// database deletes; DeleteTargetGroup while a listener or rule forwards to it; DeleteVpc while anything is in it.
pub const DESTROY: Graph = Graph {
    done_when: Gone,
    rows: &[
        ("ecs-service", &[]),
        ("scalable-target", &[]),
        ("scaling-policy", &[]),
        ("ecs-cluster", &[("ecs-service", Gone)]),
        ("service-linked-role", &[]),
        ("task-definition", &[]),
        ("load-balancer", &[]),
        ("listener", &[]),
        ("listener-rule", &[]),
        ("target-group", &[("listener", Deleted), ("listener-rule", Deleted)]),
        ("mount-target", &[]),
        ("access-point", &[]),
        ("file-system-policy", &[]),
        ("file-system", &[("mount-target", Gone), ("access-point", Deleted)]),
        ("db-instance", &[]),
        ("db-subnet-group", &[("db-instance", Gone)]),
        ("nat-gateway", &[]),
        ("elastic-ip", &[("nat-gateway", Gone)]),
        (
            "security-group",
            &[("load-balancer", Gone), ("ecs-service", Gone), ("mount-target", Gone), ("db-instance", Gone)],
        ),
        (
            "subnet",
            &[
                ("load-balancer", Gone),
                ("ecs-service", Gone),
                ("mount-target", Gone),
                ("db-instance", Gone),
                ("nat-gateway", Gone),
            ],
        ),
        ("route-table", &[]),
        ("internet-gateway", &[("load-balancer", Gone), ("ecs-service", Gone), ("nat-gateway", Gone)]),
        (
            "vpc",
            &[
                ("subnet", Deleted),
                ("security-group", Deleted),
                ("internet-gateway", Deleted),
                ("route-table", Deleted),
            ],
        ),
        ("log-group", &[]),
        ("iam-role", &[]),
        ("kms-key", &[]),
        ("sns-topic", &[]),
        ("sns-subscription", &[]),
        ("cloudwatch-alarm", &[]),
        ("cloudwatch-dashboard", &[]),
        ("ecr-repository", &[]),
        ("codecommit-repository", &[]),
        ("codeconnection", &[]),
        ("s3-bucket", &[]),
        ("codebuild-project", &[]),
        ("codedeploy-application", &[]),
        ("codedeploy-deployment-group", &[]),
        ("codepipeline", &[]),
        ("eventbridge-rule", &[]),
    ],
};

/// AWS's durations in seconds, per kind: how long it provisions after its create call (deploy) or holds what
/// it held after its delete call (destroy), and how long a new EC2 id and a new role take to propagate.
#[derive(Debug, Clone, Default)]
pub struct Durations {
    pub ready: BTreeMap<String, f64>,
    pub gone: BTreeMap<String, f64>,
    pub ec2_id: f64,
    pub role: f64,
}

impl Durations {
    /// From the emulator's clock table (`GET /_ghost/clock`, AWS seconds per phase), for a stack whose database
    /// is Multi-AZ when `multi_az` and whose target groups hold a leaving task for `deregistration_s`.
    pub fn from_clock(aws: &BTreeMap<String, f64>, multi_az: bool, deregistration_s: f64) -> Result<Self> {
        let s = |k: &str| aws.get(k).copied().ok_or_else(|| anyhow::anyhow!("the emulator's clock has no {k:?}"));
        let creating = s(if multi_az { "db-instance/creating-multi-az" } else { "db-instance/creating" })?;
        let ready = [
            ("nat-gateway", s("nat-gateway/pending")?),
            ("load-balancer", s("load-balancer/provisioning")?),
            ("file-system", s("file-system/creating")?),
            ("mount-target", s("mount-target/creating")?),
            // Usable once it has an endpoint, as the run lens takes it (rds::readiness): at the end of `creating`.
            // Its first backup (`backing-up`, then `available`) runs on a reachable, billed instance ("RDS User
            // Guide, Viewing instance status"); only modifications wait for `available`, and a deploy makes none.
            ("db-instance", creating),
        ];
        let drain = deregistration_s + s("ecs-task/stop-timeout")? + s("ecs-task/deprovisioning")?;
        let gone = [
            ("nat-gateway", s("nat-gateway/deleting")?),
            ("load-balancer", s("load-balancer/interfaces")?),
            ("mount-target", s("mount-target/deleting")?),
            ("db-instance", s("db-instance/deleting")?),
            ("ecs-service", drain),
        ];
        let own = |v: &[(&str, f64)]| v.iter().map(|(k, d)| ((*k).to_string(), *d)).collect();
        Ok(Self {
            ready: own(&ready),
            gone: own(&gone),
            ec2_id: s("ec2/id-propagation")?,
            role: s("iam-role/propagation")?,
        })
    }
}

/// The longest chain through the graph for the kinds present: in seconds (each call `call_s`, each wait its
/// duration) and in calls (the graph's minimum sequential depth).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bound {
    pub seconds: f64,
    pub calls: usize,
    /// The kinds on the longest chain in seconds, first to last.
    pub path: Vec<String>,
}

/// The bound of `graph` over the `kinds` a run reported. Each kind is one call (its instances are independent of
/// each other, so they overlap); a run is over when every kind is done. A kind the graph lacks is an error.
pub fn bound(graph: &Graph, kinds: &BTreeSet<String>, d: &Durations, call_s: f64) -> Result<Bound> {
    let rows: BTreeMap<&str, &[(&str, Needs)]> = graph.rows.iter().map(|(k, n)| (*k, *n)).collect();
    if let Some(k) = kinds.iter().find(|k| !rows.contains_key(k.as_str())) {
        bail!("resource kind {k:?} has no place in the benchmark's resource graph (ghost_e2e::graph)");
    }
    let wait = |kind: &str, needs: Needs| match needs {
        Id | Deleted => 0.0,
        Ec2Id => d.ec2_id,
        Assumable => d.role,
        Ready => d.ready.get(kind).copied().unwrap_or(0.0),
        Gone => d.gone.get(kind).copied().unwrap_or(0.0),
    };
    // Per kind: when its call is answered, the calls in a row up to it, the chain that set its start.
    let mut answered: BTreeMap<&str, (f64, usize, Vec<String>)> = BTreeMap::new();
    let mut order = Vec::new();
    let mut visiting = BTreeSet::new();
    fn topo<'a>(
        k: &'a str,
        rows: &BTreeMap<&'a str, &'a [(&'a str, Needs)]>,
        kinds: &BTreeSet<String>,
        order: &mut Vec<&'a str>,
        visiting: &mut BTreeSet<&'a str>,
    ) -> Result<()> {
        if order.contains(&k) {
            return Ok(());
        }
        if !visiting.insert(k) {
            bail!("the resource graph has a cycle through {k:?}");
        }
        for (dep, _) in rows[k].iter().filter(|(dep, _)| kinds.contains(*dep)) {
            topo(dep, rows, kinds, order, visiting)?;
        }
        order.push(k);
        Ok(())
    }
    for k in kinds {
        topo(k.as_str(), &rows, kinds, &mut order, &mut visiting)?;
    }
    for k in order {
        let (mut start, mut calls, mut chain) = (0.0_f64, 0usize, Vec::new());
        for (dep, needs) in rows[k].iter().filter(|(dep, _)| kinds.contains(*dep)) {
            let (at, c, path) = &answered[dep];
            let after = at + wait(dep, *needs);
            if after > start {
                (start, chain) = (after, path.clone());
            }
            calls = calls.max(*c);
        }
        chain.push(k.to_string());
        answered.insert(k, (start + call_s, calls + 1, chain));
    }
    let mut best = Bound { seconds: 0.0, calls: 0, path: Vec::new() };
    for (k, (at, calls, chain)) in &answered {
        let done = at + wait(k, graph.done_when);
        if done > best.seconds {
            (best.seconds, best.path) = (done, chain.clone());
        }
        best.calls = best.calls.max(*calls);
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    fn durations() -> Durations {
        let aws: BTreeMap<String, f64> = [
            ("nat-gateway/pending", 90.0),
            ("load-balancer/provisioning", 150.0),
            ("file-system/creating", 30.0),
            ("mount-target/creating", 90.0),
            ("db-instance/creating", 420.0),
            ("db-instance/creating-multi-az", 720.0),
            ("db-instance/backing-up", 120.0),
            ("nat-gateway/deleting", 60.0),
            ("load-balancer/interfaces", 90.0),
            ("mount-target/deleting", 60.0),
            ("db-instance/deleting", 300.0),
            ("ecs-task/stop-timeout", 30.0),
            ("ecs-task/deprovisioning", 30.0),
            ("ec2/id-propagation", 2.0),
            ("iam-role/propagation", 10.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Durations::from_clock(&aws, true, 30.0).unwrap()
    }

    #[test]
    fn every_kind_a_lens_reports_has_a_row_in_both_graphs_and_each_row_needs_only_rows() {
        for graph in [DEPLOY, DESTROY] {
            let rows: BTreeSet<&str> = graph.rows.iter().map(|(k, _)| *k).collect();
            for (k, needs) in graph.rows {
                for (dep, _) in *needs {
                    assert!(rows.contains(dep), "{k} needs {dep}, which has no row");
                }
            }
        }
        let deploy: BTreeSet<&str> = DEPLOY.rows.iter().map(|(k, _)| *k).collect();
        let destroy: BTreeSet<&str> = DESTROY.rows.iter().map(|(k, _)| *k).collect();
        assert_eq!(deploy, destroy, "a kind deployed is a kind destroyed");
    }

    #[test]
    fn the_load_balancer_chain_bounds_a_stack_without_a_database() {
        let k = kinds(&[
            "vpc",
            "subnet",
            "security-group",
            "load-balancer",
            "target-group",
            "listener",
            "ecs-service",
            "ecs-cluster",
            "task-definition",
            "iam-role",
            "file-system",
            "mount-target",
            "access-point",
            "log-group",
        ]);
        let b = bound(&DEPLOY, &k, &durations(), 0.1).unwrap();
        // vpc, +2 s, subnet, +2 s, load balancer, then 150 s active (nothing needs it active, so the chain ends
        // there), against the file system's 30 s + mount target's 90 s after the subnet.
        assert_eq!(b.path, ["vpc", "subnet", "load-balancer"]);
        assert!((b.seconds - (0.3 + 4.0 + 150.0)).abs() < 1e-9, "{b:?}");
        assert_eq!(b.calls, 5, "vpc, subnet, load balancer, listener, service: {b:?}");
    }

    #[test]
    fn a_multi_az_database_bounds_the_production_stack_through_the_task_definition() {
        let k = kinds(&[
            "vpc",
            "subnet",
            "security-group",
            "db-subnet-group",
            "db-instance",
            "iam-role",
            "task-definition",
            "ecs-service",
            "ecs-cluster",
            "log-group",
        ]);
        let b = bound(&DEPLOY, &k, &durations(), 0.1).unwrap();
        assert_eq!(b.path, ["vpc", "subnet", "db-subnet-group", "db-instance", "task-definition", "ecs-service"]);
        // Its endpoint comes at the end of `creating`; the first backup after it does not hold the deploy.
        assert!((b.seconds - (0.6 + 4.0 + 720.0)).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn a_destroy_waits_for_what_holds_the_network_then_deletes_it() {
        let k = kinds(&[
            "vpc",
            "subnet",
            "security-group",
            "load-balancer",
            "ecs-service",
            "ecs-cluster",
            "mount-target",
            "file-system",
            "db-instance",
            "db-subnet-group",
            "internet-gateway",
            "route-table",
        ]);
        let b = bound(&DESTROY, &k, &durations(), 1.0).unwrap();
        assert_eq!(b.path, ["db-instance", "subnet", "vpc"]);
        assert!((b.seconds - (1.0 + 300.0 + 1.0 + 1.0)).abs() < 1e-9, "{b:?}");
        let without_db = kinds(&["vpc", "subnet", "load-balancer", "ecs-service"]);
        let b = bound(&DESTROY, &without_db, &durations(), 0.0).unwrap();
        assert!((b.seconds - 90.0).abs() < 1e-9, "drain 30 + stop 30 + deprovision 30 = the interfaces' 90: {b:?}");
    }

    #[test]
    fn a_kind_outside_the_graph_is_refused() {
        let err = bound(&DEPLOY, &kinds(&["vpc", "teleporter"]), &durations(), 0.1).unwrap_err();
        assert!(err.to_string().contains("\"teleporter\""), "{err}");
    }
}
