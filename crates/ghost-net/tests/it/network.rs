use aws_sdk_ec2::types::{AttributeBooleanValue, IpPermission, IpRange};
use ghost_core::{Action, Mode};

use crate::harness::{Harness, assert_wired, counts, stack_name};

#[tokio::test]
async fn converges_then_a_second_run_writes_nothing_and_destroy_twice_is_clean() {
    let h = Harness::new(&stack_name("conv")).await;
    let spec = h.spec();

    let (out, env) = h.deploy(&spec).await;
    assert!(env.records().iter().all(|r| r.action == Action::Create), "{:?}", env.records());
    assert_eq!(
        h.shape().await,
        counts(&[("vpc", 1), ("subnet", 4), ("security-group", 3), ("route-table", 2), ("internet-gateway", 1)])
    );
    assert_wired(&h, &out, &spec).await;
    assert_eq!(out.availability_zones, ["eu-west-2a", "eu-west-2b"]);
    let cold = h.calls().await;
    assert!(cold.mutating > 0);

    let (again, env) = h.deploy(&spec).await;
    assert_eq!(again, out, "same ids on a re-run");
    assert!(env.records().iter().all(|r| r.action == Action::Unchanged), "{:?}", env.records());
    assert_eq!(env.records().len(), 11);
    let warm = h.calls().await;
    assert_eq!(warm.mutating, 0, "second deploy wrote: {:?}", warm.writes());

    let env = h.destroy().await;
    assert_eq!(env.records().iter().filter(|r| r.action == Action::Delete).count(), 11);
    assert_eq!(h.shape().await, counts(&[]));
    h.calls().await;
    let env = h.destroy().await;
    assert!(env.records().is_empty(), "second destroy found something: {:?}", env.records());
    assert_eq!(h.calls().await.mutating, 0);
}

#[tokio::test]
async fn plan_on_nothing_lists_every_create_and_writes_nothing() {
    let h = Harness::new(&stack_name("plan")).await;
    let net = h.net(Mode::Plan);
    ghost_net::ensure_network(&net, &h.spec()).await.unwrap();
    let records = net.env.records();
    assert_eq!(records.len(), 11);
    assert!(records.iter().all(|r| r.action == Action::Create && r.id.starts_with("<new ")), "{records:?}");
    assert_eq!(h.calls().await.mutating, 0);
    assert_eq!(h.shape().await, counts(&[]));
}

#[tokio::test]
async fn private_tasks_get_a_nat_that_goes_when_switched_back_to_public() {
    let h = Harness::new(&stack_name("nat")).await;
    let spec = ghost_net::NetworkSpec { az_count: 3, nat: true, https: true, database_sg: true, ..h.spec() };

    let (out, _) = h.deploy(&spec).await;
    assert_eq!(
        h.shape().await,
        counts(&[
            ("vpc", 1),
            ("subnet", 6),
            ("security-group", 4),
            ("route-table", 2),
            ("internet-gateway", 1),
            ("nat-gateway", 1),
            ("elastic-ip", 1)
        ])
    );
    assert!(out.nat_gateway.is_some() && out.sg_db.is_some());
    assert_wired(&h, &out, &spec).await;
    h.calls().await;
    h.deploy(&spec).await;
    assert_eq!(h.calls().await.mutating, 0, "re-deploy with NAT must not write");

    let public = ghost_net::NetworkSpec { nat: false, ..spec.clone() };
    let plan = h.net(Mode::Plan);
    ghost_net::ensure_network(&plan, &public).await.unwrap();
    let deletes: Vec<_> =
        plan.env.records().into_iter().filter(|r| r.action == Action::Delete).map(|r| r.kind).collect();
    assert_eq!(deletes, ["nat-gateway", "elastic-ip"]);
    assert_eq!(h.calls().await.mutating, 0, "plan must not write");

    let (out, _) = h.deploy(&public).await;
    assert_eq!(out.nat_gateway, None);
    assert_wired(&h, &out, &public).await;
    let shape = h.shape().await;
    assert_eq!((shape["nat-gateway"], shape["elastic-ip"]), (0, 0));

    h.destroy().await;
    assert_eq!(h.shape().await, counts(&[]));
}

#[tokio::test]
async fn drift_is_planned_then_repaired_and_foreign_rules_are_reported_not_removed() {
    let h = Harness::new(&stack_name("drift")).await;
    let spec = h.spec();
    let (out, _) = h.deploy(&spec).await;
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk);

    // Out-of-band changes: a public subnet stops mapping public IPs, the task group loses its rule, and someone
    // opens SSH on the ALB group.
    let off = AttributeBooleanValue::builder().value(false).build();
    ec2.modify_subnet_attribute().subnet_id(&out.public_subnets[0]).map_public_ip_on_launch(off).send().await.unwrap();
    let task = ec2.describe_security_groups().group_ids(&out.sg_task).send().await.unwrap();
    let task_rules = task.security_groups()[0].ip_permissions().to_vec();
    ec2.revoke_security_group_ingress()
        .group_id(&out.sg_task)
        .set_ip_permissions(Some(task_rules))
        .send()
        .await
        .unwrap();
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    ec2.authorize_security_group_ingress().group_id(&out.sg_alb).ip_permissions(ssh).send().await.unwrap();
    h.calls().await;

    let plan = h.net(Mode::Plan);
    ghost_net::ensure_network(&plan, &spec).await.unwrap();
    let updates: Vec<_> =
        plan.env.records().into_iter().filter(|r| r.action == Action::Update).map(|r| (r.name, r.changes)).collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates.iter().any(|(n, c)| n.ends_with("-public-a") && c[0].field == "map_public_ip_on_launch"));
    assert!(updates.iter().any(|(n, c)| n.ends_with("-task") && c[0].field == "ingress"));
    let warnings = plan.env.warnings();
    assert!(warnings.iter().any(|w| w.message.contains("tcp 22 from 0.0.0.0/0")), "{warnings:?}");
    assert_eq!(h.calls().await.mutating, 0, "plan must not write");

    let (_, env) = h.deploy(&spec).await;
    assert_eq!(env.records().iter().filter(|r| r.action == Action::Update).count(), 2);
    assert_wired_except_foreign(&h, &out).await;
    h.calls().await;
    let (_, env) = h.deploy(&spec).await;
    assert!(env.records().iter().all(|r| r.action == Action::Unchanged));
    assert_eq!(h.calls().await.mutating, 0);

    h.destroy().await;
    assert_eq!(h.shape().await, counts(&[]));
}

/// After repair, the foreign SSH rule is still there (we report, we do not remove) and ours are back.
async fn assert_wired_except_foreign(h: &Harness, out: &ghost_net::NetworkOut) {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk);
    let groups = ec2.describe_security_groups().group_ids(&out.sg_alb).group_ids(&out.sg_task).send().await.unwrap();
    for g in groups.security_groups() {
        let rules: Vec<String> = ghost_net::rules_of(g).into_iter().map(|r| r.to_string()).collect();
        if g.group_id() == Some(out.sg_alb.as_str()) {
            assert!(rules.contains(&"tcp 22 from 0.0.0.0/0".to_string()), "{rules:?}");
        } else {
            assert_eq!(rules, [format!("tcp 2368 from {}", out.sg_alb)]);
        }
    }
}
