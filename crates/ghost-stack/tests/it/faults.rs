//! Proof under fire: the whole stack killed at every one of its writes, deploy and destroy, then re-run — the end
//! state is a clean deploy's (the same resources by kind and name, the same wiring, no duplicates) or nothing;
//! and a deploy with a fifth of its calls throttled or refused converges on the SDK's own retries.
//!
//! The sweeps run on emulators of their own (not the shared one on 4566), reset between cases: every case starts
//! from an empty cloud, so it can use the same stack name as the clean reference and compare names exactly, and
//! later cases do not slow down under earlier ones' leftovers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use ghost_core::DataPolicy;
use ghost_core::{Action, Mode};
use ghost_emulator::{CrashAs, Emulator, Faults};

use crate::{Harness, SAMPLE, actions, test_config};

/// (kind, name, action) with the AWS ids some names carry (a mount target is named after its subnet) blanked:
/// ids differ between runs, names otherwise must not.
fn stable(r: &ghost_stack::Report) -> Vec<(String, String, Action)> {
    let mut v: Vec<_> = actions(r)
        .into_iter()
        .map(|(kind, name, action)| {
            let name = match name.find("subnet-") {
                Some(i) => format!("{}subnet-*", &name[..i]),
                None => name,
            };
            (kind, name, action)
        })
        .collect();
    v.sort();
    v
}

async fn own_emulator(port: u16) -> Emulator {
    let emu = Emulator::new(port, ghost_emulator::ghost_home());
    emu.up().await.expect("the sweep's emulator");
    emu.reset().await.expect("reset");
    emu
}

/// A killed process makes no retries worth waiting for: two attempts, a short backoff.
async fn sweep_harness(emu: &Emulator) -> Harness {
    Harness::connect(emu.clone(), test_config("sweep", SAMPLE, &[]), |o| {
        o.max_attempts = Some(2);
        o.initial_backoff = Some(Duration::from_millis(5));
    })
    .await
}

/// Odd k: the k-th write is made and its answer lost (a dropped connection); even k: the calls after the k-th
/// write fail with an AWS error. Both are a process killed at its k-th write.
fn crash(k: usize) -> Faults {
    let crash_as = if k % 2 == 1 { CrashAs::Drop } else { CrashAs::Error };
    Faults { crash_after_mutating: Some(k), crash_as: Some(crash_as), ..Faults::default() }
}

/// How many of each duplicable resource the stack has: EC2 resources carrying its tag (their creates are not
/// idempotent by name), and the file system's access points and mount targets. A duplicate shows as a count
/// above a clean deploy's.
async fn census(h: &Harness) -> BTreeMap<&'static str, usize> {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk);
    let tag = || Filter::builder().name("tag:ghost:stack").values(&h.cfg.stack.name).build();
    let mut n = BTreeMap::new();
    n.insert("vpc", ec2.describe_vpcs().filters(tag()).send().await.unwrap().vpcs().len());
    n.insert("subnet", ec2.describe_subnets().filters(tag()).send().await.unwrap().subnets().len());
    let igws = ec2.describe_internet_gateways().filters(tag()).send().await.unwrap();
    n.insert("internet-gateway", igws.internet_gateways().len());
    let nats = ec2.describe_nat_gateways().filter(tag()).send().await.unwrap();
    let live = nats.nat_gateways().iter().filter(|g| g.state().is_some_and(|s| s.as_str() != "deleted"));
    n.insert("nat-gateway", live.count());
    n.insert("route-table", ec2.describe_route_tables().filters(tag()).send().await.unwrap().route_tables().len());
    let sgs = ec2.describe_security_groups().filters(tag()).send().await.unwrap();
    n.insert("security-group", sgs.security_groups().len());
    n.insert("elastic-ip", ec2.describe_addresses().filters(tag()).send().await.unwrap().addresses().len());
    let efs = aws_sdk_efs::Client::new(&h.sdk);
    let fss = efs.describe_file_systems().creation_token(&h.cfg.stack.name).send().await.unwrap();
    n.insert("file-system", fss.file_systems().len());
    let (mut aps, mut mts) = (0, 0);
    for fs in fss.file_systems() {
        let id = fs.file_system_id();
        aps += efs.describe_access_points().file_system_id(id).send().await.unwrap().access_points().len();
        mts += efs.describe_mount_targets().file_system_id(id).send().await.unwrap().mount_targets().len();
    }
    n.insert("access-point", aps);
    n.insert("mount-target", mts);
    // A KMS key has no name: one made by a run killed before its alias must be adopted, never made again.
    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let mut keys = 0;
    for k in kms.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap();
        let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
        let ours = tags.tags().iter().any(|t| t.tag_key() == "ghost:stack" && t.tag_value() == h.cfg.stack.name);
        let meta = kms.describe_key().key_id(id).send().await.unwrap();
        let live = meta.key_metadata().and_then(|m| m.key_state()).is_some_and(|s| s.as_str() != "PendingDeletion");
        keys += usize::from(ours && live);
    }
    n.insert("kms-key", keys);
    n
}

async fn wiring_ok(h: &Harness, outputs: &ghost_stack::StackOutputs) -> Vec<String> {
    let checks = ghost_stack::verify::wiring(&h.sdk, &h.cfg, outputs).await.unwrap();
    checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.what, c.found)).collect()
}

/// A crashed run makes no call after its crash, so it dies holding the stack lock (a lost answer to the lock's
/// own first write is read back, so that one is released): break it, as the user would with --break-lock.
async fn break_the_dead_runs_lock(h: &Harness) {
    let env = ghost_core::Env::new(&h.cfg.stack.name, Mode::Apply);
    let opts = ghost_stack::LockOptions { wait: Duration::ZERO, break_lock: true };
    ghost_stack::StackLock::acquire(&h.sdk, &env, "break", &opts).await.unwrap().release().await.unwrap();
}

#[tokio::test]
async fn a_deploy_killed_at_any_write_converges_on_rerun_to_a_clean_deploys_state() {
    let emu = own_emulator(4571).await;
    let h = sweep_harness(&emu).await;
    h.deploy().await;
    // Every write the fault front counts, the stack lock's too (the first and the last).
    let cold = {
        let c = h.calls().await;
        c.mutating + c.lock
    };
    let want = stable(&h.run(Mode::Plan).await.unwrap());
    let want_census = census(&h).await;
    // The sample: one VPC, two AZs of public and private subnets, no NAT gateway (public tasks).
    assert_eq!((want_census["vpc"], want_census["subnet"], want_census["nat-gateway"]), (1, 4, 0), "{want_census:?}");

    let t = Instant::now();
    for k in 1..=cold {
        emu.reset().await.unwrap();
        let faults = crash(k);
        emu.faults(&h.key, &faults).await.unwrap();
        let crashed = h.run(Mode::Apply).await;
        // Killed at its last write, an error-mode run has nothing left to call; a dropped last write still fails.
        // The lock's writes (k = 1, the last) are read back after a lost answer, so those runs go on.
        let lock_write = k == 1 || k == cold;
        if !lock_write && (k < cold || faults.crash_as == Some(CrashAs::Drop)) {
            assert!(crashed.is_err(), "k={k}: the crash stopped the run");
        }
        emu.clear_faults(&h.key).await.unwrap();
        break_the_dead_runs_lock(&h).await;
        h.deploy().await;
        h.calls().await;
        let again = h.deploy().await;
        assert!(again.is_noop(), "k={k}: {:?}", actions(&again));
        assert_eq!(h.calls().await.mutating, 0, "k={k}: the converged stack re-deploys with zero writes");
        assert_eq!(stable(&again), want, "k={k}: the resources of a clean deploy");
        assert_eq!(census(&h).await, want_census, "k={k}: no duplicates");
        let bad = wiring_ok(&h, &again.outputs.unwrap()).await;
        assert!(bad.is_empty(), "k={k}: wiring {bad:?}");
    }
    println!(
        "deploy crash sweep: k = 1..{cold} all converged ({cold} writes in a cold deploy, the stack lock's 2 \
         included; odd k dropped connections, even k AWS errors; {:.0} s)",
        t.elapsed().as_secs_f64()
    );
    let _ = emu.down().await;
}

#[tokio::test]
async fn a_destroy_killed_at_any_write_converges_on_rerun_to_nothing() {
    let emu = own_emulator(4572).await;
    let h = sweep_harness(&emu).await;
    h.deploy().await;
    h.calls().await;
    h.destroy(DataPolicy::Delete).await;
    let writes = {
        let c = h.calls().await;
        c.mutating + c.lock
    };
    let nothing: BTreeMap<&str, usize> = census(&h).await;
    assert!(nothing.values().all(|n| *n == 0), "{nothing:?}");

    let t = Instant::now();
    for k in 1..=writes {
        emu.reset().await.unwrap();
        h.deploy().await;
        let faults = crash(k);
        emu.faults(&h.key, &faults).await.unwrap();
        let crashed = ghost_stack::destroy(
            &h.cfg,
            &h.sdk,
            &ghost_core::Env::new(&h.cfg.stack.name, Mode::Apply),
            DataPolicy::Delete,
        )
        .await;
        let lock_write = k == 1 || k == writes;
        if !lock_write && (k < writes || faults.crash_as == Some(CrashAs::Drop)) {
            assert!(crashed.is_err(), "k={k}: the crash stopped the destroy");
        }
        emu.clear_faults(&h.key).await.unwrap();
        break_the_dead_runs_lock(&h).await;
        h.destroy_to_nothing(&format!("k={k}")).await;
        assert_eq!(census(&h).await, nothing, "k={k}: nothing left");
    }
    println!(
        "destroy crash sweep: k = 1..{writes} all converged ({writes} writes in a destroy, the stack lock's 2 \
         included; {:.0} s)",
        t.elapsed().as_secs_f64()
    );
    let _ = emu.down().await;
}

#[tokio::test]
async fn a_deploy_with_a_fifth_of_its_calls_throttled_or_refused_converges_on_the_sdks_retries() {
    let mut rows = Vec::new();
    for seed in [1, 2, 3] {
        let h = Harness::new(&format!("tf{seed}"), &[]).await;
        let faults = Faults { transient_fraction: Some(0.2), transient_seed: Some(seed), ..Faults::default() };
        h.emu.faults(&h.key, &faults).await.unwrap();
        let t = Instant::now();
        let first = h.run(Mode::Apply).await;
        let wall = t.elapsed().as_secs_f64();
        let calls = h.calls().await;
        h.emu.clear_faults(&h.key).await.unwrap();
        let first = first.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(first.resources.iter().all(|r| r.action == Action::Create), "seed {seed}: {:?}", actions(&first));
        assert!(
            calls.injected * 10 >= calls.total,
            "seed {seed}: faults were injected ({} of {})",
            calls.injected,
            calls.total
        );
        let again = h.deploy().await;
        assert!(again.is_noop(), "seed {seed}: {:?}", actions(&again));
        assert_eq!(h.calls().await.mutating, 0);
        rows.push(format!(
            "seed {seed}: {} calls, {} faults injected = {} SDK retries, {} resources, {wall:.1} s",
            calls.total,
            calls.injected,
            calls.injected,
            first.resources.len()
        ));
        h.destroy(DataPolicy::Delete).await;
    }
    println!("transient faults (20 % of calls: 400 throttling, 429 or 503), all converged:\n  {}", rows.join("\n  "));
}

/// A call whose every attempt is throttled (the SDK's retries run out) ends the run with an error naming the call
/// and the resource; a re-run without the fault converges on what the first one made.
#[tokio::test]
async fn a_deploy_whose_retries_run_out_fails_clearly_and_a_rerun_converges() {
    let h = Harness::new("tx", &[]).await;
    let faults = Faults { throttle_action: Some("CreateTargetGroup".into()), ..Faults::default() };
    h.emu.faults(&h.key, &faults).await.unwrap();
    let err = h.run(Mode::Apply).await.expect_err("every attempt of CreateTargetGroup is throttled");
    h.emu.clear_faults(&h.key).await.unwrap();
    let text = err.to_string();
    assert!(text.contains("CreateTargetGroup") && text.contains("Throttling"), "{text}");
    let throttled: Vec<_> =
        h.emu.calls(Some(&h.key)).await.unwrap().into_iter().filter(|c| c.action == "CreateTargetGroup").collect();
    assert!(throttled.len() > 1 && throttled.iter().all(|c| c.injected.is_some()), "{throttled:?}");
    let before = census(&h).await;
    break_the_dead_runs_lock(&h).await;
    let again = h.deploy().await;
    assert!(again.resources.iter().any(|r| r.kind == "target-group" && r.action == Action::Create));
    let after = census(&h).await;
    for (kind, n) in before.iter().filter(|(_, n)| **n > 0) {
        assert_eq!(after[kind], *n, "{kind}: what the failed run made is adopted, never made twice");
    }
    assert!(wiring_ok(&h, again.outputs.as_ref().unwrap()).await.is_empty());
    let third = h.deploy().await;
    assert!(third.is_noop(), "{:?}", actions(&third));
    println!("exhausted retries: {} throttled attempts of CreateTargetGroup; the error: {text}", throttled.len());
    h.destroy(DataPolicy::Delete).await;
}

/// Two deploys of a new stack started 0.3 s apart, every call 60 ms slower so that they overlap: the stack lock
/// makes the second wait for the first, so there is one of every resource, the second run changes nothing and
/// says whom it waited for.
#[tokio::test]
async fn two_deploys_of_a_new_stack_at_once_make_one_of_everything_and_the_second_says_whom_it_waited_for() {
    let h = Harness::new("lk", &[]).await;
    h.emu.faults(&h.key, &Faults { latency_ms: Some(60), ..Faults::default() }).await.unwrap();
    let stack = h.cfg.stack.name.clone();
    let env = ghost_core::Env::new(&stack, Mode::Apply);
    let first = Box::pin(ghost_stack::deploy(&h.cfg, &h.sdk, &env));
    let second = Box::pin(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        ghost_stack::deploy(&h.cfg, &h.sdk, &ghost_core::Env::new(&stack, Mode::Apply)).await
    });
    let (first, second) = tokio::join!(first, second);
    h.emu.clear_faults(&h.key).await.unwrap();
    let (first, second) = (first.expect("first deploy"), second.expect("second deploy"));
    assert!(first.resources.iter().all(|r| r.action == Action::Create), "{:?}", actions(&first));
    assert!(second.is_noop(), "the second run found the first's stack: {:?}", actions(&second));
    let waited: Vec<_> = second.warnings.iter().filter(|w| w.kind == "stack-lock").collect();
    assert!(
        waited.iter().any(|w| w.message.starts_with("waited ") && w.message.contains("(deploy, for ")),
        "the second run says whom it waited for: {waited:?}"
    );
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk);
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("tag:ghost:stack").values(&stack).build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC");
    println!("second deploy: {}", waited[0].message);
    h.destroy_to_nothing("lock").await;
}

/// A held lock refuses a second run once its wait is over, naming the holder and the way out; `break_lock`
/// takes it; the broken holder's release leaves the new holder's lock alone.
#[tokio::test]
async fn a_held_lock_refuses_naming_its_holder_and_is_taken_only_when_broken() {
    use ghost_stack::{LockOptions, StackLock};
    let h = Harness::new("lkb", &[]).await;
    let env = ghost_core::Env::new(&h.cfg.stack.name, Mode::Apply);
    let a = StackLock::acquire(&h.sdk, &env, "deploy", &LockOptions::default()).await.unwrap();
    let now = LockOptions { wait: Duration::ZERO, break_lock: false };
    let err = StackLock::acquire(&h.sdk, &env, "destroy", &now).await.unwrap_err().to_string();
    assert!(err.contains(&a.info.holder) && err.contains("--break-lock"), "{err}");
    let b =
        StackLock::acquire(&h.sdk, &env, "destroy", &LockOptions { break_lock: true, ..now.clone() }).await.unwrap();
    assert!(env.warnings().iter().any(|w| w.message.contains("broke the lock held by")), "{:?}", env.warnings());
    a.release().await.unwrap();
    let holder = ghost_stack::lock::holder_of(&h.sdk, &h.cfg.stack.name).await.unwrap();
    assert_eq!(holder.as_ref(), Some(&b.info), "a broken holder's release must not free the new holder's lock");
    b.release().await.unwrap();
    assert_eq!(ghost_stack::lock::holder_of(&h.sdk, &h.cfg.stack.name).await.unwrap(), None);
}

/// One wait a run can be killed in: the call that starts it, the kind that waits, and the resource's state as
/// DescribeX reports it (None: gone).
struct HeldWait {
    /// As the recorder names it: the action, or `METHOD /path` for REST APIs (EFS).
    create: &'static str,
    kind: &'static str,
    /// AWS's typical seconds in the pending state, as the emulator's clock has them (localstack/README.md).
    aws_seconds: f64,
}

/// The id and state of the first resource the wait is for (None: there is none).
async fn held_state(h: &Harness, kind: &str) -> Option<(String, String)> {
    let stack = &h.cfg.stack.name;
    let pair = |id: Option<&str>, state: Option<&str>| Some((id?.to_string(), state?.to_string()));
    match kind {
        "load-balancer" => {
            let lbs = h.elb().describe_load_balancers().send().await.unwrap();
            let lb =
                lbs.load_balancers().iter().find(|l| l.load_balancer_name().is_some_and(|n| n.starts_with(stack)))?;
            pair(lb.load_balancer_arn(), lb.state().and_then(|s| s.code()).map(|c| c.as_str()))
        }
        "nat-gateway" => {
            let ec2 = aws_sdk_ec2::Client::new(&h.sdk);
            let tag = Filter::builder().name("tag:ghost:stack").values(stack).build();
            let nats = ec2.describe_nat_gateways().filter(tag).send().await.unwrap();
            let nat = nats.nat_gateways().first()?;
            pair(nat.nat_gateway_id(), nat.state().map(|s| s.as_str()))
        }
        "file-system" | "mount-target" => {
            let efs = aws_sdk_efs::Client::new(&h.sdk);
            let fss = efs.describe_file_systems().creation_token(stack).send().await.unwrap();
            let fs = fss.file_systems().first()?;
            if kind == "file-system" {
                return pair(Some(fs.file_system_id()), Some(fs.life_cycle_state().as_str()));
            }
            let mts = efs.describe_mount_targets().file_system_id(fs.file_system_id()).send().await.unwrap();
            let mt = mts.mount_targets().first()?;
            pair(Some(mt.mount_target_id()), Some(mt.life_cycle_state().as_str()))
        }
        "db-instance" => {
            let rds = aws_sdk_rds::Client::new(&h.sdk);
            let dbs = rds.describe_db_instances().send().await.unwrap();
            let db =
                dbs.db_instances().iter().find(|d| d.db_instance_identifier().is_some_and(|i| i.starts_with(stack)))?;
            pair(db.db_instance_identifier(), db.db_instance_status())
        }
        other => panic!("no reader for {other}"),
    }
}

/// The kill-during-a-wait tests' stack: private tasks behind a NAT gateway and MySQL, so every wait kind is there.
async fn private_mysql_harness(emu: &Emulator, stack: &str) -> Harness {
    let private_mysql = [
        ("task_subnets = \"public\"", "task_subnets = \"private\""),
        ("database = \"sqlite\"", "database = \"mysql\""),
    ];
    Harness::connect(emu.clone(), test_config(stack, SAMPLE, &private_mysql), |o| {
        o.max_attempts = Some(2);
        o.initial_backoff = Some(Duration::from_millis(5));
    })
    .await
}

/// An applying Env whose observer keeps the kind of every wait the run announces.
fn recording_waits(h: &Harness) -> (ghost_core::Env, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let waited = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = waited.clone();
    let env = ghost_core::Env::new(&h.cfg.stack.name, Mode::Apply).with_observer(std::sync::Arc::new(move |e| {
        if let ghost_core::env::Event::Wait { kind, .. } = e {
            seen.lock().unwrap().push(kind.to_string());
        }
    }));
    (env, waited)
}

/// A deploy killed right after the call that starts each readiness wait (load balancer, NAT gateway, file system,
/// mount target, database), with the emulator's clock holding that resource in its pending state for about 5 s:
/// the re-run finds it still pending, resumes the wait (and says so), builds on it only once it is ready, and
/// converges to a stack whose next deploy writes nothing.
#[tokio::test]
async fn a_deploy_killed_during_each_readiness_wait_resumes_the_wait_and_converges() {
    let emu = own_emulator(4573).await;
    let h = private_mysql_harness(&emu, "resume").await;
    let waits = [
        HeldWait { create: "CreateLoadBalancer", kind: "load-balancer", aws_seconds: 150.0 },
        HeldWait { create: "CreateNatGateway", kind: "nat-gateway", aws_seconds: 90.0 },
        HeldWait { create: "POST /2015-02-01/file-systems", kind: "file-system", aws_seconds: 30.0 },
        HeldWait { create: "POST /2015-02-01/mount-targets", kind: "mount-target", aws_seconds: 90.0 },
        HeldWait { create: "CreateDBInstance", kind: "db-instance", aws_seconds: 420.0 },
    ];
    const HOLD_S: f64 = 5.0;
    h.deploy().await;
    let want_census = census(&h).await;
    assert_eq!((want_census["nat-gateway"], want_census["mount-target"]), (1, 2), "{want_census:?}");
    let mut rows = Vec::new();
    for w in &waits {
        emu.reset().await.unwrap();
        let faults = Faults {
            crash_after_action: Some(w.create.into()),
            clock_factor: Some(HOLD_S / w.aws_seconds),
            ..Faults::default()
        };
        emu.faults(&h.key, &faults).await.unwrap();
        let crashed = h.run(Mode::Apply).await;
        emu.clear_faults(&h.key).await.unwrap();
        assert!(crashed.is_err(), "{}: the crash stopped the run", w.create);
        let pending = ["provisioning", "pending", "creating"];
        let left = held_state(&h, w.kind).await;
        let Some((id, left)) = left.filter(|(_, s)| pending.contains(&s.as_str())) else {
            panic!("{}: the crashed run left it pending", w.create)
        };
        break_the_dead_runs_lock(&h).await;

        let (env, waited) = recording_waits(&h);
        let t = Instant::now();
        let rerun = Box::pin(ghost_stack::deploy(&h.cfg, &h.sdk, &env)).await;
        let took = t.elapsed().as_secs_f64();
        rerun.unwrap_or_else(|e| panic!("{}: the re-run converges: {e}", w.create));
        let waited = waited.lock().unwrap().clone();
        assert!(waited.iter().any(|k| k == w.kind), "{}: the re-run resumed the {} wait: {waited:?}", w.create, w.kind);
        let now = held_state(&h, w.kind).await;
        assert!(
            now.as_ref().is_some_and(|(now_id, s)| *now_id == id && !pending.contains(&s.as_str())),
            "{}: the pending {id} was adopted, not made again, and is ready after the re-run: {now:?}",
            w.create
        );
        assert_eq!(census(&h).await, want_census, "{}: no duplicates", w.create);
        h.calls().await;
        let again = h.deploy().await;
        assert!(again.is_noop(), "{}: {:?}", w.create, actions(&again));
        assert_eq!(h.calls().await.mutating, 0, "{}: the converged stack re-deploys with zero writes", w.create);
        let bad = wiring_ok(&h, &again.outputs.unwrap()).await;
        assert!(bad.is_empty(), "{}: wiring {bad:?}", w.create);
        rows.push(format!("{} ({}): left {left}, re-run waited and converged in {took:.1} s", w.kind, w.create));
    }
    println!("killed during each readiness wait, all resumed:\n  {}", rows.join("\n  "));
    let _ = emu.down().await;
}

/// A destroy killed right after the call that starts each deletion wait (the service's drain, the NAT gateway, a
/// mount target, the database), with the emulator's clock holding what that
/// call leaves behind for about 3 s: the re-run finds it still going, waits for it (and says so) instead of meeting
/// AWS's DependencyViolation / ClusterContainsTasksException / InvalidDBSubnetGroupStateFault, and ends with nothing
/// of the stack left.
#[tokio::test]
async fn a_destroy_killed_during_each_deletion_wait_resumes_the_wait_and_converges() {
    let emu = own_emulator(4574).await;
    let h = private_mysql_harness(&emu, "undo").await;
    // (the delete, what the re-run waits on, AWS seconds the delete leaves behind: localstack/README.md)
    let waits = [
        ("DeleteService", "ecs-service", 30.0 + 30.0),
        // Deleted beside the run lens: the re-run meets it deleting and resumes its wait.
        ("DeleteNatGateway", "nat-gateway", 60.0),
        ("DeleteMountTarget", "mount-target", 60.0),
        ("DeleteDBInstance", "db-instance", 300.0),
    ];
    const HOLD_S: f64 = 3.0;
    let mut rows = Vec::new();
    for (delete, kind, aws_seconds) in waits {
        emu.reset().await.unwrap();
        h.deploy().await;
        let faults = Faults {
            crash_after_action: Some(delete.into()),
            clock_factor: Some(HOLD_S / aws_seconds),
            ..Faults::default()
        };
        emu.faults(&h.key, &faults).await.unwrap();
        let env = ghost_core::Env::new(&h.cfg.stack.name, Mode::Apply);
        let crashed = ghost_stack::destroy(&h.cfg, &h.sdk, &env, DataPolicy::Delete).await;
        emu.clear_faults(&h.key).await.unwrap();
        assert!(crashed.is_err(), "{delete}: the crash stopped the destroy");
        break_the_dead_runs_lock(&h).await;
        h.calls().await;

        let (env, waited) = recording_waits(&h);
        let t = Instant::now();
        let rerun = ghost_stack::destroy(&h.cfg, &h.sdk, &env, DataPolicy::Delete).await;
        let took = t.elapsed().as_secs_f64();
        rerun.unwrap_or_else(|e| panic!("{delete}: the re-run converges: {e}"));
        let waited = waited.lock().unwrap().clone();
        assert!(waited.iter().any(|k| k == kind), "{delete}: the re-run waited on the {kind}: {waited:?}");
        // DeleteCluster is the one refusal a destroy retries by design (ClusterContainsTasksException while the
        // stopped tasks deprovision, as terraform does); every other delete waited for what held it.
        let calls = h.emu.calls(Some(&h.key)).await.unwrap();
        let refused: Vec<String> = calls
            .iter()
            .filter(|c| c.mutating && c.status >= 400 && c.action != "DeleteCluster")
            .map(|c| format!("{} {}", c.action, c.status))
            .collect();
        assert!(refused.is_empty(), "{delete}: the re-run waited instead of meeting refusals: {refused:?}");
        h.destroy_to_nothing(delete).await;
        rows.push(format!("{delete}: re-run waited on {waited:?} and converged in {took:.1} s"));
    }
    println!("killed during each deletion wait, all resumed:\n  {}", rows.join("\n  "));
    let _ = emu.down().await;
}
