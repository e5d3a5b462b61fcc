//! The whole stack: lenses in dependency order for deploy, plan and destroy, behind one call each, so the
//! CLI stays thin and other tools can embed a complete deploy.
//!
//! Lenses take the outputs of the ones before them: `Config → NetworkOut → RuntimeOut → ObserveOut → CicdOut`.
//! The operate lens goes before the build lens's delivery half because CodeDeploy rolls a deployment back on its
//! alarms; the build half (repository, bucket, project) needs no other lens and runs from the start.

pub mod audit;
pub mod lock;
pub mod operate;
pub mod verify;

use std::collections::BTreeMap;
use std::time::Instant;

use aws_types::SdkConfig;
use ghost_cicd::{Cicd, CicdOut, CicdSpec};
use ghost_core::DataPolicy;
use ghost_core::{Action, Config, Env, Mode, Record, Warning};
use ghost_net::{Net, NetworkOut, NetworkSpec};
use ghost_observe::{Observe, ObserveOut, ObserveSpec};
use ghost_runtime::{Runtime, RuntimeOut, RuntimeSpec};
use serde::Serialize;

pub use lock::{LockOptions, StackLock};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("network: {0}")]
    Network(#[from] ghost_net::Error),
    #[error("runtime: {0}")]
    Runtime(#[from] ghost_runtime::Error),
    #[error("build: {0}")]
    Cicd(#[from] ghost_cicd::Error),
    #[error("operate: {0}")]
    Observe(#[from] ghost_observe::Error),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(transparent)]
    Aws(#[from] ghost_core::Error),
    #[error("stack {stack} is not deployed{}; run `cargo xtask deploy` first", missing_note(*.total, .missing))]
    NotDeployed { stack: String, total: usize, missing: Vec<String> },
}

/// A few missing resources are worth naming (drift); a whole stack's worth is just "not deployed".
fn missing_note(total: usize, missing: &[String]) -> String {
    match missing.len() {
        n if n == total || n == 0 => String::new(),
        n if n <= 5 => format!(" ({n} missing: {})", missing.join(", ")),
        n => format!(" ({n} missing, `cargo xtask plan` lists them)"),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a deploy hands to the user (and to the next lens).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackOutputs {
    pub stack: String,
    pub region: String,
    pub network: NetworkOut,
    pub runtime: RuntimeOut,
    pub observe: ObserveOut,
    pub cicd: CicdOut,
}

/// What a run did or would do: every resource's action, the warnings, and the outputs (deploy only).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: &'static str,
    pub mode: Mode,
    pub stack: String,
    pub resources: Vec<Record>,
    pub warnings: Vec<Warning>,
    pub summary: BTreeMap<Action, usize>,
    pub outputs: Option<StackOutputs>,
    pub elapsed_ms: u64,
}

/// The report as people read it, one line each: a plan's changes with their reasons, the warnings, the counts,
/// what was kept and why.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = match (self.command, self.mode) {
            ("destroy", Mode::Plan) => "destroy --dry-run",
            (c, _) => c,
        };
        if self.mode == Mode::Plan {
            for r in self.resources.iter().filter(|r| r.action.is_change()) {
                // The reason: an update lists its changes below; a create or delete says why in a word.
                let why = match r.action {
                    _ if !r.changes.is_empty() => "",
                    Action::Create => "  (not found)",
                    Action::Delete if self.command == "destroy" => "  (destroy)",
                    Action::Delete => "  (no longer in the config)",
                    _ => "",
                };
                writeln!(f, "{} {:<18} {:<22} {}{why}", r.action.symbol(), r.kind, r.name, r.id)?;
                for c in &r.changes {
                    writeln!(f, "    {c}")?;
                }
            }
        }
        for w in &self.warnings {
            writeln!(f, "! {} {}: {}", w.kind, w.name, w.message)?;
        }
        let n = |a| self.count(a);
        let (create, update, delete) = match self.mode {
            Mode::Plan => ("to create", "to update", "to delete"),
            _ => ("created", "updated", "deleted"),
        };
        writeln!(
            f,
            "{verb} of stack {}: {} {create}, {} {update}, {} {delete}, {} unchanged ({:.1} s)",
            self.stack,
            n(Action::Create),
            n(Action::Update),
            n(Action::Delete),
            n(Action::Unchanged),
            self.elapsed_ms as f64 / 1000.0
        )?;
        for r in self.resources.iter().filter(|r| r.action == Action::Keep) {
            let why = r.changes.first().map(|c| c.to.as_str()).unwrap_or_default();
            writeln!(f, "kept: {} {} {} ({why})", r.kind, r.name, r.id)?;
        }
        if self.is_noop() {
            writeln!(f, "nothing to do: the stack is already in the desired state")?;
        }
        Ok(())
    }
}

/// Where everything is: one line per part of the stack.
impl std::fmt::Display for StackOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (net, rt, ci) = (&self.network, &self.runtime, &self.cicd);
        writeln!(f, "stack {} in {}:", self.stack, self.region)?;
        writeln!(f, "  vpc              {}", net.vpc_id)?;
        writeln!(f, "  public subnets   {}", net.public_subnets.join(", "))?;
        writeln!(f, "  private subnets  {}", net.private_subnets.join(", "))?;
        writeln!(f, "  security groups  alb {}  task {}  efs {}", net.sg_alb, net.sg_task, net.sg_efs)?;
        let lb = &rt.load_balancer;
        writeln!(f, "  load balancer    http://{}  (test listener {})", lb.alb_dns, lb.test_listener)?;
        writeln!(f, "  live target grp  {}", lb.live_target_group)?;
        let fs = &rt.file_system;
        writeln!(f, "  content (EFS)    {} via access point {}", fs.file_system_id, fs.access_point_id)?;
        writeln!(f, "  ECS              cluster {}  service {}", rt.cluster_arn, rt.service_arn)?;
        writeln!(f, "  task definition  {}", rt.task_definition_arn)?;
        writeln!(f, "  logs             {}", rt.log_group)?;
        writeln!(
            f,
            "  pipeline         {}  (source {}, build {}, artifacts s3://{})",
            ci.pipeline, ci.source, ci.build_project, ci.artifact_bucket
        )?;
        write!(f, "  image repository {}", ci.image_repository_uri)?;
        if let Some((app, group)) = &ci.codedeploy {
            write!(f, "\n  blue/green       CodeDeploy {app} / {group}")?;
        }
        if let Some(conn) = &ci.connection {
            write!(f, "\n  github           connection {} is {}: {}", conn.arn, conn.status, conn.console)?;
        }
        Ok(())
    }
}

impl Report {
    fn new(command: &'static str, env: &Env, outputs: Option<StackOutputs>, start: Instant) -> Self {
        let resources = env.records();
        let mut summary = BTreeMap::new();
        for r in &resources {
            *summary.entry(r.action).or_insert(0) += 1;
        }
        Self {
            command,
            mode: env.mode,
            stack: env.stack().to_string(),
            resources,
            warnings: env.warnings(),
            summary,
            outputs,
            elapsed_ms: start.elapsed().as_millis() as u64,
        }
    }

    pub fn count(&self, action: Action) -> usize {
        self.summary.get(&action).copied().unwrap_or(0)
    }

    /// True when nothing was (or would be) created, updated or deleted.
    pub fn is_noop(&self) -> bool {
        self.resources.iter().all(|r| !r.action.is_change())
    }
}

/// Deploys (Mode::Apply) or plans (Mode::Plan) the whole stack.
///
/// Two branches run concurrently from the start: the network's base → the runtime's platform (beside the
/// network's egress) → the service → operate, and the runtime-independent half of the build lens (image
/// repository, source, bucket, the roles that name nothing of the runtime, build project). The delivery half
/// (deployment group, pipeline) joins them: it needs the runtime's target groups and service and the operate
/// lens's alarms. The load balancer's provisioning runs under all of it; the deploy ends on its wait.
pub async fn deploy(cfg: &Config, sdk: &SdkConfig, env: &Env) -> Result<Report> {
    deploy_with(cfg, sdk, env, &LockOptions::default()).await
}

/// [`deploy`] with the stack lock taken as `lock` says (a plan takes none).
pub async fn deploy_with(cfg: &Config, sdk: &SdkConfig, env: &Env, lock: &LockOptions) -> Result<Report> {
    let command = if env.mode == Mode::Plan { "plan" } else { "deploy" };
    locked(sdk, env, command, lock, Box::pin(deploy_unlocked(cfg, sdk, env))).await
}

/// Runs a writing command holding the stack lock (a plan, which writes nothing, without it). The lock is given
/// back whether the run succeeded or failed; a failed run's error wins over a failed release.
async fn locked<T>(
    sdk: &SdkConfig,
    env: &Env,
    command: &str,
    opts: &LockOptions,
    run: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    if env.mode == Mode::Plan {
        return run.await;
    }
    let held = StackLock::acquire(sdk, env, command, opts).await?;
    let res = run.await;
    let released = held.release().await;
    let out = res?;
    released?;
    Ok(out)
}

async fn deploy_unlocked(cfg: &Config, sdk: &SdkConfig, env: &Env) -> Result<Report> {
    let start = Instant::now();
    let cicd = Cicd::new(sdk, env.clone());
    let account = cicd.account().await?;
    let mut spec = CicdSpec::from_config(cfg, &account);
    // Boxed: the lenses' futures are large (many concurrent SDK calls), too large for a small thread stack.
    let run_branch = async {
        let net = Net::new(sdk, env.clone());
        let net_spec = NetworkSpec::from_config(cfg);
        let base = Box::pin(ghost_net::ensure_base(&net, &net_spec)).await?;
        let (rt, rt_spec) = (Runtime::new(sdk, env.clone()), RuntimeSpec::from_config(cfg));
        // The NAT gateway's wait and the platform's (load balancer, file system, database) overlap: only the
        // service's tasks need the way out.
        let (nat_gateway, platform) = tokio::try_join!(
            async { Ok::<_, Error>(Box::pin(ghost_net::ensure_egress(&net, &net_spec, &base)).await?) },
            async { Ok::<_, Error>(Box::pin(ghost_runtime::ensure_platform(&rt, &rt_spec, &base.network)).await?) },
        )?;
        let network = NetworkOut { nat_gateway, ..base.network };
        let runtime = Box::pin(ghost_runtime::ensure_service_on(&rt, &rt_spec, &network, platform)).await?;
        let observe = Observe::new(sdk, env.clone());
        let spec = ObserveSpec::from_config(cfg, &account);
        // The run lens has deleted a database the config dropped and moved off a removed AZ's subnets: their
        // security group and subnets can go now, beside the operate lens (which needs neither).
        let (observe, ()) = tokio::try_join!(
            async { Ok::<_, Error>(Box::pin(ghost_observe::ensure_observe(&observe, &spec, &runtime)).await?) },
            async { Ok::<_, Error>(ghost_net::prune_network(&net, &network, &net_spec).await?) },
        )?;
        Ok::<_, Error>((rt, network, runtime, observe))
    };
    let build_branch = async { Ok::<_, Error>(Box::pin(ghost_cicd::ensure_build(&cicd, &spec)).await?) };
    let ((rt, network, runtime, observe), build) = tokio::try_join!(Box::pin(run_branch), Box::pin(build_branch))?;
    spec.alarms = observe.rollback_alarms.clone();
    let cicd = Box::pin(ghost_cicd::ensure_delivery(&cicd, &spec, &runtime, build)).await?;
    // Everything above names the load balancer by ARN; the deploy ends once it answers.
    ghost_runtime::lb::wait_active(&rt, &network, &runtime.load_balancer).await?;
    let outputs = StackOutputs {
        stack: cfg.stack.name.clone(),
        region: cfg.stack.region.clone(),
        network,
        runtime,
        observe,
        cicd,
    };
    let command = if env.mode == Mode::Plan { "plan" } else { "deploy" };
    Ok(Report::new(command, env, Some(outputs), start))
}

/// Destroys the stack, lenses in reverse order. Data stores are kept unless `data` is `DataPolicy::Delete`.
/// With Mode::Plan, lists what would go.
pub async fn destroy(cfg: &Config, sdk: &SdkConfig, env: &Env, data: DataPolicy) -> Result<Report> {
    destroy_with(cfg, sdk, env, data, &LockOptions::default()).await
}

/// [`destroy`] with the stack lock taken as `lock` says (a dry run takes none).
pub async fn destroy_with(
    cfg: &Config,
    sdk: &SdkConfig,
    env: &Env,
    data: DataPolicy,
    lock: &LockOptions,
) -> Result<Report> {
    locked(sdk, env, "destroy", lock, Box::pin(destroy_unlocked(cfg, sdk, env, data))).await
}

async fn destroy_unlocked(cfg: &Config, sdk: &SdkConfig, env: &Env, data: DataPolicy) -> Result<Report> {
    let start = Instant::now();
    let cicd = Cicd::new(sdk, env.clone());
    let account = cicd.account().await?;
    Box::pin(ghost_cicd::destroy_cicd(&cicd, &CicdSpec::from_config(cfg, &account), data)).await?;
    let observe = Observe::new(sdk, env.clone());
    Box::pin(ghost_observe::destroy_observe(&observe, &ObserveSpec::from_config(cfg, &account))).await?;
    let rt = Runtime::new(sdk, env.clone());
    let net = Net::new(sdk, env.clone());
    // The NAT gateway's deletion wait overlaps the run lens's (service drain, load balancer, database).
    tokio::try_join!(
        async {
            Ok::<_, Error>(Box::pin(ghost_runtime::destroy_runtime(&rt, &RuntimeSpec::from_config(cfg), data)).await?)
        },
        async {
            // A dry run lists the NAT gateway once, where destroy_network finds it (nothing was deleted here).
            if !env.is_plan() {
                ghost_net::delete_egress(&net).await?;
            }
            Ok::<_, Error>(())
        },
    )?;
    Box::pin(ghost_net::destroy_network(&net)).await?;
    Ok(Report::new("destroy", env, None, start))
}
