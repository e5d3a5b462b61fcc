//! One-line config changes on a deployed stack (MySQL, private tasks, ECS-native blue/green): each plans and
//! applies the change on the resource that carries it — never "unchanged" — and the next deploy writes nothing.

use ghost_core::DataPolicy;
use ghost_core::{Action, Mode};

use crate::{Harness, actions};

const SAMPLE: &str = include_str!("../../../../fixtures/samples/ecs-native-private.toml");

/// The changes the plan reports for `kind`, as `field: from -> to`.
fn changes_of(report: &ghost_stack::Report, kind: &str) -> Vec<String> {
    let rec: Vec<_> = report.resources.iter().filter(|r| r.kind == kind).collect();
    rec.iter().flat_map(|r| r.changes.iter().map(|c| c.to_string())).collect()
}

fn action_of(report: &ghost_stack::Report, kind: &str) -> Option<Action> {
    report.resources.iter().find(|r| r.kind == kind).map(|r| r.action)
}

#[tokio::test]
async fn each_one_line_change_plans_and_applies_on_the_resource_that_carries_it() {
    let mut h = Harness::with_text(
        "chg",
        SAMPLE,
        &[
            ("database = \"sqlite\"", "database = \"mysql\""),
            ("capacity_provider = \"fargate_spot\"", "capacity_provider = \"fargate\""),
        ],
    )
    .await;
    let out = h.deploy().await.outputs.unwrap();
    let (cluster, service) = (out.runtime.cluster_arn.clone(), h.cfg.stack.name.clone() + "-blog");
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    let rds = aws_sdk_rds::Client::new(&h.sdk);
    let describe = || async {
        let out = ecs.describe_services().cluster(&cluster).services(&service).send().await.unwrap();
        out.services()[0].clone()
    };

    // ghost.db_instance_class: one ModifyDBInstance.
    h.cfg.ghost.db_instance_class = "db.t4g.small".into();
    let plan = h.run(Mode::Plan).await.unwrap();
    assert_eq!(
        changes_of(&plan, "db-instance"),
        ["instance_class: db.t4g.micro -> db.t4g.small"],
        "{:?}",
        actions(&plan)
    );
    h.calls().await;
    h.deploy().await;
    let writes = h.calls().await.writes();
    assert!(writes.contains(&"rds:ModifyDBInstance x1".to_string()), "{writes:?}");
    let db =
        rds.describe_db_instances().db_instance_identifier(format!("{}-db", h.cfg.stack.name)).send().await.unwrap();
    assert_eq!(db.db_instances()[0].db_instance_class(), Some("db.t4g.small"));

    // ghost.capacity_provider: the service's strategy, through a new deployment.
    h.cfg.ghost.capacity_provider = ghost_core::config::CapacityProvider::FargateSpot;
    let plan = h.run(Mode::Plan).await.unwrap();
    assert_eq!(changes_of(&plan, "ecs-service"), ["capacity_provider: FARGATE -> FARGATE_SPOT"]);
    h.deploy().await;
    let svc = describe().await;
    assert_eq!(svc.capacity_provider_strategy()[0].capacity_provider(), "FARGATE_SPOT");

    // network.task_subnets private -> public: the service moves to the public subnets with public IPs, the NAT
    // gateway goes.
    h.cfg.network.task_subnets = ghost_core::config::TaskSubnets::Public;
    let plan = h.run(Mode::Plan).await.unwrap();
    let svc_changes = changes_of(&plan, "ecs-service");
    assert!(svc_changes.iter().any(|c| c.starts_with("public_ip: false -> true")), "{svc_changes:?}");
    assert!(svc_changes.iter().any(|c| c.starts_with("subnets: ")), "{svc_changes:?}");
    assert_eq!(action_of(&plan, "nat-gateway"), Some(Action::Delete), "{:?}", actions(&plan));
    let applied = h.deploy().await;
    let vpc = describe().await.network_configuration().and_then(|n| n.awsvpc_configuration()).cloned().unwrap();
    let mut public = applied.outputs.unwrap().network.public_subnets;
    public.sort();
    let mut subnets = vpc.subnets().to_vec();
    subnets.sort();
    assert_eq!((subnets, vpc.assign_public_ip().map(|a| a.as_str().to_string())), (public, Some("ENABLED".into())));

    // ghost.database mysql -> sqlite: the database is deleted with a final snapshot kept, and the plan says so.
    h.cfg.ghost.database = ghost_core::config::Database::Sqlite;
    let plan = h.run(Mode::Plan).await.unwrap();
    assert_eq!(action_of(&plan, "db-instance"), Some(Action::Delete), "{:?}", actions(&plan));
    assert_eq!(action_of(&plan, "db-snapshot"), Some(Action::Keep), "{:?}", actions(&plan));
    let db_group = format!("{}-db", h.cfg.stack.name);
    let group_deleted = |r: &ghost_stack::Report| {
        r.resources.iter().any(|x| x.kind == "security-group" && x.name == db_group && x.action == Action::Delete)
    };
    assert!(group_deleted(&plan), "the database's security group goes too: {:?}", actions(&plan));
    let applied = h.deploy().await;
    assert!(group_deleted(&applied), "{:?}", actions(&applied));
    assert_eq!(action_of(&applied, "db-instance"), Some(Action::Delete));
    let snapshot = applied.resources.iter().find(|r| r.kind == "db-snapshot").unwrap().name.clone();
    let kept = rds.describe_db_snapshots().db_snapshot_identifier(&snapshot).send().await.unwrap();
    assert_eq!(kept.db_snapshots().len(), 1, "the final snapshot {snapshot} exists");

    h.calls().await;
    assert!(h.deploy().await.is_noop());
    assert_eq!(h.calls().await.mutating, 0, "after the four changes the stack is in its desired state");
    h.destroy(DataPolicy::Delete).await;
}

/// availability_zones 3 -> 2: the run lens moves off the third AZ (the load balancer's subnets, the service,
/// the mount target, waited until gone), then the network deletes that AZ's two subnets; plan shows every one of
/// them, and the next deploy writes nothing.
#[tokio::test]
async fn dropping_an_availability_zone_deletes_its_subnets_and_mount_target_after_the_runtime_moves() {
    let mut h = Harness::with_text("az", SAMPLE, &[("availability_zones = 2", "availability_zones = 3")]).await;
    let before = h.deploy().await.outputs.unwrap();
    assert_eq!(before.network.availability_zones.len(), 3);
    h.cfg.network.availability_zones = 2;
    let plan = h.run(Mode::Plan).await.unwrap();
    let deletes = |r: &ghost_stack::Report, kind: &str| {
        r.resources.iter().filter(|x| x.kind == kind && x.action == Action::Delete).count()
    };
    assert_eq!((deletes(&plan, "subnet"), deletes(&plan, "mount-target")), (2, 1), "{:?}", actions(&plan));
    assert!(action_of(&plan, "load-balancer") == Some(Action::Update), "{:?}", actions(&plan));
    let applied = h.deploy().await;
    assert_eq!((deletes(&applied, "subnet"), deletes(&applied, "mount-target")), (2, 1), "{:?}", actions(&applied));
    let net = ghost_net::Net::new(&h.sdk, ghost_core::Env::new(&h.cfg.stack.name, Mode::Plan));
    let inventory = ghost_net::inventory(&net).await.unwrap();
    assert_eq!(inventory["subnet"].len(), 4, "{inventory:?}");
    h.calls().await;
    assert!(h.deploy().await.is_noop());
    assert_eq!(h.calls().await.mutating, 0, "after the AZ change the stack is in its desired state");
    h.destroy(DataPolicy::Delete).await;
}
