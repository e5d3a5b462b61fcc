use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use ghost_core::aws::{AwsOptions, SdkConfig, sdk_config};
use ghost_core::{Env, Mode, Names};
use ghost_emulator::{CallSummary, Emulator};
use ghost_net::{Net, NetworkOut, NetworkSpec};

pub(crate) struct Harness {
    pub(crate) emu: Emulator,
    pub(crate) key: String,
    pub(crate) stack: String,
    pub(crate) sdk: SdkConfig,
}

/// A stack name unique to this test run (the emulator outlives test runs).
pub(crate) fn stack_name(tag: &str) -> String {
    format!("{tag}-{}", std::process::id() % 100_000)
}

impl Harness {
    pub(crate) async fn new(stack: &str) -> Self {
        let emu = Emulator::from_env();
        emu.up().await.expect("the emulator starts (cargo xtask emulator up)");
        let key = format!("IT{}", stack.replace('-', "").to_uppercase());
        let sdk = sdk_config(&AwsOptions::emulator(&emu.url(), "eu-west-2", &key)).await;
        emu.clear_calls(Some(&key)).await.unwrap();
        Self { emu, key, stack: stack.to_string(), sdk }
    }

    pub(crate) fn net(&self, mode: Mode) -> Net {
        Net::new(&self.sdk, Env::new(&self.stack, mode))
    }

    pub(crate) fn spec(&self) -> NetworkSpec {
        NetworkSpec {
            names: Names::new(&self.stack),
            cidr: "10.40.0.0/16".parse().unwrap(),
            az_count: 2,
            nat: false,
            https: false,
            database_sg: false,
            test_port: 8080,
            admin_cidrs: vec![],
        }
    }

    /// Calls made with this harness's key since the last call to `calls`; then forgets them.
    pub(crate) async fn calls(&self) -> CallSummary {
        let calls = self.emu.calls(Some(&self.key)).await.unwrap();
        self.emu.clear_calls(Some(&self.key)).await.unwrap();
        CallSummary::of(&calls)
    }

    pub(crate) async fn deploy(&self, spec: &NetworkSpec) -> (NetworkOut, Env) {
        let net = self.net(Mode::Apply);
        let out = ghost_net::ensure_network(&net, spec).await.expect("deploy");
        (out, net.env)
    }

    pub(crate) async fn destroy(&self) -> Env {
        let net = self.net(Mode::Apply);
        ghost_net::destroy_network(&net).await.expect("destroy");
        net.env
    }

    /// Our resources by kind, counted from a fresh read.
    pub(crate) async fn shape(&self) -> BTreeMap<&'static str, usize> {
        ghost_net::inventory(&self.net(Mode::Plan)).await.unwrap().into_iter().map(|(k, v)| (k, v.len())).collect()
    }
}

pub(crate) fn counts(pairs: &[(&'static str, usize)]) -> BTreeMap<&'static str, usize> {
    let mut m: BTreeMap<&'static str, usize> =
        ["vpc", "subnet", "security-group", "route-table", "internet-gateway", "nat-gateway", "elastic-ip"]
            .into_iter()
            .map(|k| (k, 0))
            .collect();
    m.extend(pairs.iter().copied());
    m
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Reads the network back and checks its wiring: routes, associations, public IPs, the security-group chain.
pub(crate) async fn assert_wired(h: &Harness, out: &NetworkOut, spec: &NetworkSpec) {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk);
    let subnets = ec2.describe_subnets().filters(filter("vpc-id", &out.vpc_id)).send().await.unwrap();
    for s in subnets.subnets() {
        let id = s.subnet_id().unwrap().to_string();
        let public = out.public_subnets.contains(&id);
        assert_eq!(s.map_public_ip_on_launch(), Some(public), "map_public_ip_on_launch of {id}");
    }
    let tables = ec2.describe_route_tables().filters(filter("vpc-id", &out.vpc_id)).send().await.unwrap();
    let table_of = |subnet: &str| {
        tables
            .route_tables()
            .iter()
            .find(|t| t.associations().iter().any(|a| a.subnet_id() == Some(subnet)))
            .unwrap_or_else(|| panic!("{subnet} has an explicit route table"))
    };
    let default_route = |t: &aws_sdk_ec2::types::RouteTable| {
        t.routes().iter().find(|r| r.destination_cidr_block() == Some("0.0.0.0/0")).cloned()
    };
    for s in &out.public_subnets {
        let r = default_route(table_of(s)).expect("public default route");
        assert_eq!(r.gateway_id(), Some(out.internet_gateway.as_str()));
    }
    for s in &out.private_subnets {
        let r = default_route(table_of(s));
        match &out.nat_gateway {
            Some(nat) => {
                assert_eq!(r.and_then(|r| r.nat_gateway_id().map(str::to_string)).as_deref(), Some(nat.as_str()))
            }
            None => assert!(r.is_none(), "private subnet {s} must not route to the internet without NAT"),
        }
    }
    let groups = ec2.describe_security_groups().filters(filter("vpc-id", &out.vpc_id)).send().await.unwrap();
    let rules = |id: &str| {
        let g = groups.security_groups().iter().find(|g| g.group_id() == Some(id)).expect("group exists");
        ghost_net::rules_of(g).into_iter().map(|r| format!("{}:{}", r.from_port, r.source)).collect::<Vec<_>>()
    };
    let mut alb = vec!["80:0.0.0.0/0".to_string()];
    if spec.https {
        alb.push("443:0.0.0.0/0".into());
    }
    assert_eq!(rules(&out.sg_alb), alb);
    assert_eq!(rules(&out.sg_task), [format!("2368:{}", out.sg_alb)]);
    assert_eq!(rules(&out.sg_efs), [format!("2049:{}", out.sg_task)]);
    if let Some(db) = &out.sg_db {
        assert_eq!(rules(db), [format!("3306:{}", out.sg_task)]);
    }
}
