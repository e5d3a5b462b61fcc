//! The whole stack against the local emulator: converge, re-deploy with zero writes, plan exactly what a config
//! change touches, keep data on destroy, survive a blue/green swap; the sample matrix (samples.rs), and faults:
//! a crash at any write of a deploy or a destroy, transient throttling (faults.rs). Tests share one emulator and
//! stay apart by stack name and access key; the crash sweeps run on emulators of their own.

use aws_sdk_elasticloadbalancingv2::types::{Action as ElbAction, ActionTypeEnum};
use ghost_core::DataPolicy;
use ghost_core::aws::{AwsOptions, SdkConfig, sdk_config};
use ghost_core::{Action, Config, Env, Mode};
use ghost_emulator::{CallSummary, Emulator};
use ghost_stack::Report;

mod changes;
mod cicd;
mod faults;
mod observe;
mod samples;

const SAMPLE: &str = include_str!("../../../../fixtures/ghost.toml");

/// `text` as the config of `stack`, with `edits` applied; its CodeCommit repository named after the stack too
/// (repositories are per account, not per stack).
fn test_config(stack: &str, text: &str, edits: &[(&str, &str)]) -> Config {
    let original = Config::parse(text, "test").expect("valid config");
    let mut text = text.replace(&format!("name = \"{}\"", original.stack.name), &format!("name = \"{stack}\""));
    for (from, to) in edits {
        assert!(text.contains(from), "config has {from}");
        text = text.replace(from, to);
    }
    let mut cfg = Config::parse(&text, "test").expect("valid test config");
    if cfg.pipeline.source == ghost_core::config::Source::Codecommit {
        cfg.pipeline.repository = format!("{stack}-site");
    }
    cfg
}

struct Harness {
    emu: Emulator,
    key: String,
    sdk: SdkConfig,
    cfg: Config,
}

impl Harness {
    async fn new(tag: &str, edits: &[(&str, &str)]) -> Self {
        Self::with_text(tag, SAMPLE, edits).await
    }

    /// A config from `text` under a stack name of its own (`<tag>-<pid>`), so tests sharing one emulator, and
    /// two runs at once, never meet.
    async fn with_text(tag: &str, text: &str, edits: &[(&str, &str)]) -> Self {
        let stack = format!("{tag}-{}", std::process::id() % 100_000);
        Self::connect(Emulator::from_env(), test_config(&stack, text, edits), |_| {}).await
    }

    /// A harness on a given emulator, calling as a key of the stack's own; `tune` adjusts the SDK options.
    async fn connect(emu: Emulator, cfg: Config, tune: impl FnOnce(&mut AwsOptions)) -> Self {
        emu.up().await.expect("emulator");
        let key = format!("ST{}", cfg.stack.name.replace('-', "").to_uppercase());
        let mut opts = AwsOptions::emulator(&emu.url(), "eu-west-2", &key);
        tune(&mut opts);
        let sdk = sdk_config(&opts).await;
        emu.clear_calls(Some(&key)).await.unwrap();
        Self { emu, key, sdk, cfg }
    }

    async fn calls(&self) -> CallSummary {
        let c = self.emu.calls(Some(&self.key)).await.unwrap();
        self.emu.clear_calls(Some(&self.key)).await.unwrap();
        CallSummary::of(&c)
    }

    async fn run(&self, mode: Mode) -> ghost_stack::Result<Report> {
        Box::pin(ghost_stack::deploy(&self.cfg, &self.sdk, &Env::new(&self.cfg.stack.name, mode))).await
    }

    async fn deploy(&self) -> Report {
        self.run(Mode::Apply).await.expect("deploy")
    }

    async fn destroy(&self, data: DataPolicy) -> Report {
        ghost_stack::destroy(&self.cfg, &self.sdk, &Env::new(&self.cfg.stack.name, Mode::Apply), data)
            .await
            .expect("destroy")
    }

    /// `destroy --delete-data`, then a second one that must change and write nothing, then a plan that must find
    /// nothing of the stack left. `ctx` names the case in failures.
    async fn destroy_to_nothing(&self, ctx: &str) {
        self.destroy(DataPolicy::Delete).await;
        self.calls().await;
        let second = self.destroy(DataPolicy::Delete).await;
        assert!(second.resources.iter().all(|r| !r.action.is_change()), "{ctx}: {:?}", actions(&second));
        assert_eq!(self.calls().await.mutating, 0, "{ctx}: a second destroy writes nothing");
        let plan = self.run(Mode::Plan).await.unwrap();
        let left: Vec<_> = plan.resources.iter().filter(|r| r.action != Action::Create).collect();
        assert!(left.is_empty(), "{ctx}: left after destroy --delete-data: {left:?}");
    }

    fn elb(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk)
    }

    async fn file_system_exists(&self) -> bool {
        let efs = aws_sdk_efs::Client::new(&self.sdk);
        let out = efs.describe_file_systems().creation_token(&self.cfg.stack.name).send().await.unwrap();
        !out.file_systems().is_empty()
    }
}

/// (kind, name, action) of every resource, sorted: concurrent branches finish in any order.
fn actions(r: &Report) -> Vec<(String, String, Action)> {
    let mut v: Vec<_> = r.resources.iter().map(|x| (x.kind.clone(), x.name.clone(), x.action)).collect();
    v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    v
}

#[tokio::test]
async fn the_stack_converges_redeploys_with_zero_writes_and_plans_exactly_a_change() {
    let h = Harness::new("rt", &[]).await;
    // The plan of nothing names every resource once, and as the deploy then names it (ids are placeholders in a
    // plan: a name made from one would repeat).
    let plan = h.run(Mode::Plan).await.unwrap();
    let planned: Vec<(String, String)> = actions(&plan).into_iter().map(|(k, n, _)| (k, n)).collect();
    let mut once = planned.clone();
    once.dedup();
    assert_eq!(planned, once, "a plan names two resources alike");
    let first = h.deploy().await;
    assert!(first.resources.iter().all(|r| r.action == Action::Create), "{:?}", actions(&first));
    let deployed: Vec<(String, String)> = actions(&first).into_iter().map(|(k, n, _)| (k, n)).collect();
    assert_eq!(planned, deployed, "the plan and the deploy name the resources differently");
    let out = first.outputs.clone().unwrap();

    // Wiring, read back: listener → live target group; service → that group, the public subnets, the task group;
    // mount targets → the private subnets.
    let listeners =
        h.elb().describe_listeners().load_balancer_arn(&out.runtime.load_balancer.alb_arn).send().await.unwrap();
    let prod = listeners.listeners().iter().find(|l| l.port() == Some(80)).expect("listener 80");
    assert_eq!(
        prod.default_actions()[0].target_group_arn(),
        Some(out.runtime.load_balancer.live_target_group.as_str())
    );
    let test = listeners.listeners().iter().find(|l| l.port() == Some(8080)).expect("test listener 8080");
    assert_eq!(
        test.default_actions()[0].target_group_arn(),
        Some(out.runtime.load_balancer.green_target_group.as_str())
    );
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    let svc = ecs
        .describe_services()
        .cluster(&out.runtime.cluster_arn)
        .services(&out.runtime.service_arn)
        .send()
        .await
        .unwrap();
    let svc = &svc.services()[0];
    assert_eq!(svc.load_balancers()[0].target_group_arn(), Some(out.runtime.load_balancer.blue_target_group.as_str()));
    let vpc = svc.network_configuration().and_then(|n| n.awsvpc_configuration()).unwrap();
    let mut subnets = vpc.subnets().to_vec();
    subnets.sort();
    let mut public = out.network.public_subnets.clone();
    public.sort();
    assert_eq!(subnets, public);
    assert_eq!(vpc.security_groups(), std::slice::from_ref(&out.network.sg_task));
    let efs = aws_sdk_efs::Client::new(&h.sdk);
    let mts =
        efs.describe_mount_targets().file_system_id(&out.runtime.file_system.file_system_id).send().await.unwrap();
    let mut mt_subnets: Vec<String> = mts.mount_targets().iter().map(|m| m.subnet_id().to_string()).collect();
    mt_subnets.sort();
    let mut private = out.network.private_subnets.clone();
    private.sort();
    assert_eq!(mt_subnets, private);
    let policy =
        efs.describe_file_system_policy().file_system_id(&out.runtime.file_system.file_system_id).send().await.unwrap();
    assert!(policy.policy().unwrap_or_default().contains("aws:SecureTransport"));
    let cold = h.calls().await;

    let again = h.deploy().await;
    assert!(again.is_noop(), "{:?}", actions(&again));
    let warm = h.calls().await;
    assert_eq!(warm.mutating, 0, "re-deploy wrote: {:?}", warm.writes());
    println!(
        "cold deploy: {} calls ({} mutating); re-deploy: {} calls (0 mutating)",
        cold.total, cold.mutating, warm.total
    );

    // A config change: plan names exactly the resource it changes, then deploy writes only that.
    let bigger = Harness {
        cfg: Config { ghost: ghost_core::config::GhostConfig { memory: 1024, ..h.cfg.ghost.clone() }, ..h.cfg.clone() },
        ..h
    };
    let plan = bigger.run(Mode::Plan).await.unwrap();
    let changed: Vec<_> = plan.resources.iter().filter(|r| r.action.is_change()).map(|r| r.kind.as_str()).collect();
    assert_eq!(changed, ["task-definition"]);
    assert_eq!(bigger.calls().await.mutating, 0, "plan must not write");
    bigger.deploy().await;
    let applied = bigger.calls().await;
    assert_eq!(applied.writes(), ["ecs:RegisterTaskDefinition x1"]);

    // A night of automatic backups: AWS Backup holds a recovery point of the content.
    let points = bigger.emu.run_automatic_backups().await.unwrap();
    assert!(!points.is_empty(), "automatic backups are on: the nightly job backs the file system up");
    let backup = aws_sdk_backup::Client::new(&bigger.sdk);
    let fs_arn = efs
        .describe_file_systems()
        .file_system_id(&out.runtime.file_system.file_system_id)
        .send()
        .await
        .unwrap()
        .file_systems()[0]
        .file_system_arn()
        .unwrap()
        .to_string();
    let held = || async {
        let out = backup.list_recovery_points_by_resource().resource_arn(&fs_arn).send().await.unwrap();
        out.recovery_points().iter().map(|p| p.status().unwrap().as_str().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(held().await, ["COMPLETED"]);

    // Destroy keeps the content file system and its backups (and says so); a second destroy is a no-op;
    // --delete-data empties, the backups too (they would bill for 35 days after the file system).
    let gone = bigger.destroy(DataPolicy::Keep).await;
    assert!(gone.resources.iter().any(|r| r.kind == "file-system" && r.action == Action::Keep));
    assert!(
        gone.resources.iter().any(|r| r.kind == "recovery-point" && r.action == Action::Keep),
        "{:?}",
        actions(&gone)
    );
    assert!(bigger.file_system_exists().await);
    bigger.calls().await;
    bigger.destroy(DataPolicy::Keep).await;
    assert_eq!(bigger.calls().await.mutating, 0, "second destroy must not write");
    let emptied = bigger.destroy(DataPolicy::Delete).await;
    assert!(emptied.resources.iter().any(|r| r.kind == "recovery-point" && r.action == Action::Delete));
    assert!(!bigger.file_system_exists().await);
    assert!(held().await.iter().all(|s| s == "DELETING"), "{:?}", held().await);
    bigger.destroy(DataPolicy::Delete).await;
}

#[tokio::test]
async fn a_redeploy_after_a_blue_green_swap_keeps_traffic_where_the_swap_put_it() {
    let h = Harness::new("swap", &[]).await;
    let out = h.deploy().await.outputs.unwrap().runtime.load_balancer;
    // What a blue/green release does: production → green, test → blue.
    let forward = |tg: &str| ElbAction::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg).build();
    let elb = h.elb();
    elb.modify_listener()
        .listener_arn(&out.production_listener)
        .default_actions(forward(&out.green_target_group))
        .send()
        .await
        .unwrap();
    elb.modify_listener()
        .listener_arn(&out.test_listener)
        .default_actions(forward(&out.blue_target_group))
        .send()
        .await
        .unwrap();
    h.calls().await;

    let report = h.deploy().await;
    assert!(report.is_noop(), "{:?}", actions(&report));
    assert_eq!(h.calls().await.mutating, 0);
    assert_eq!(report.outputs.unwrap().runtime.load_balancer.live_target_group, out.green_target_group);
    h.destroy(DataPolicy::Delete).await;
}

#[tokio::test]
async fn ecs_native_deployments_with_https_private_tasks_deploy_and_redeploy_cleanly() {
    // The load balancer checks that the certificate exists, as AWS does: request one first.
    let emu = Emulator::from_env();
    emu.up().await.unwrap();
    let acm = aws_sdk_acm::Client::new(&sdk_config(&AwsOptions::emulator(&emu.url(), "eu-west-2", "STACM")).await);
    let cert = acm.request_certificate().domain_name("blog.example.com").send().await.unwrap();
    let cert = cert.certificate_arn().unwrap().to_string();
    let h = Harness::new(
        "ecs",
        &[
            ("deployment = \"codedeploy\"", "deployment = \"ecs\""),
            ("certificate_arn = \"\"", &format!("certificate_arn = \"{cert}\"")),
            ("task_subnets = \"public\"", "task_subnets = \"private\""),
            ("admin_cidrs = []", "admin_cidrs = [\"203.0.113.0/24\"]"),
        ],
    )
    .await;
    let out = h.deploy().await.outputs.unwrap();
    let listeners =
        h.elb().describe_listeners().load_balancer_arn(&out.runtime.load_balancer.alb_arn).send().await.unwrap();
    let mut ports: Vec<i32> = listeners.listeners().iter().filter_map(|l| l.port()).collect();
    ports.sort();
    assert_eq!(ports, [80, 443, 8080]);
    let http = listeners.listeners().iter().find(|l| l.port() == Some(80)).unwrap();
    assert_eq!(http.default_actions()[0].r#type(), Some(&ActionTypeEnum::Redirect));
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    let svc = ecs
        .describe_services()
        .cluster(&out.runtime.cluster_arn)
        .services(&out.runtime.service_arn)
        .send()
        .await
        .unwrap();
    let svc = &svc.services()[0];
    assert_eq!(svc.deployment_controller().map(|d| d.r#type().as_str()), Some("ECS"));
    let strategy = svc.deployment_configuration().and_then(|d| d.strategy()).map(|s| s.as_str());
    assert_eq!(strategy, Some("BLUE_GREEN"));
    let advanced = svc.load_balancers()[0].advanced_configuration().expect("advancedConfiguration");
    let lb = &out.runtime.load_balancer;
    assert_eq!(advanced.alternate_target_group_arn(), Some(lb.green_target_group.as_str()));
    assert_eq!(advanced.production_listener_rule(), lb.production_rule.as_deref());
    assert!(advanced.role_arn().is_some_and(|r| r.ends_with("-ecs-lb")), "{:?}", advanced.role_arn());
    let vpc = svc.network_configuration().and_then(|n| n.awsvpc_configuration()).unwrap();
    assert_eq!(vpc.assign_public_ip().map(|a| a.as_str()), Some("DISABLED"));
    h.calls().await;
    assert!(h.deploy().await.is_noop());
    assert_eq!(h.calls().await.mutating, 0);
    h.destroy(DataPolicy::Delete).await;
}

#[tokio::test]
async fn mysql_mode_keeps_the_password_in_secrets_manager_and_leaves_a_final_snapshot() {
    let h = Harness::new("sql", &[("database = \"sqlite\"", "database = \"mysql\"")]).await;
    let out = h.deploy().await.outputs.unwrap().runtime;
    let db = out.database.clone().expect("a database");
    assert!(db.secret_arn.starts_with("arn:aws:secretsmanager:"), "{db:?}");
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    let td = ecs.describe_task_definition().task_definition(&out.task_definition_arn).send().await.unwrap();
    let c = &td.task_definition().unwrap().container_definitions()[0];
    let env: Vec<(&str, &str)> = c.environment().iter().map(|kv| (kv.name().unwrap(), kv.value().unwrap())).collect();
    assert!(env.contains(&("database__client", "mysql")));
    assert!(env.contains(&("database__connection__host", db.endpoint.as_str())));
    assert!(!env.iter().any(|(k, _)| k.contains("password")), "no password in the environment: {env:?}");
    let secret = &c.secrets()[0];
    assert_eq!(secret.name(), "database__connection__password");
    assert_eq!(secret.value_from(), format!("{}:password::", db.secret_arn));
    h.calls().await;
    assert!(h.deploy().await.is_noop());
    assert_eq!(h.calls().await.mutating, 0);

    let gone = h.destroy(DataPolicy::Keep).await;
    assert!(gone.resources.iter().any(|r| r.kind == "db-snapshot" && r.action == Action::Keep), "{:?}", actions(&gone));
    h.destroy(DataPolicy::Keep).await;
    let all = h.destroy(DataPolicy::Delete).await;
    assert!(
        all.resources.iter().any(|r| r.kind == "db-snapshot" && r.action == Action::Delete),
        "--delete-data removes the kept final snapshot: {:?}",
        actions(&all)
    );
    let rds = aws_sdk_rds::Client::new(&h.sdk);
    let left = rds.describe_db_snapshots().db_instance_identifier(&db.instance).send().await.unwrap();
    assert!(left.db_snapshots().is_empty(), "{:?}", left.db_snapshots());
}
