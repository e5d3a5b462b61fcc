//! `cargo xtask e2e`: the whole flow from nothing, on this machine — the emulator, a cold deploy, every
//! resource's wiring read back, Ghost from the registered task definition behind the local front, first-run
//! setup and a post, a blue/green release with readers on the blog the whole time, the post still there, both
//! tasks' output read back from the service's log group, a re-deploy that writes nothing, and destroy until nothing of the stack is left. Each phase is timed and its
//! API calls counted by the emulator's recorder; the summary table is the proof.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use ghost_cicd::{Cicd, CicdSpec, release};
use ghost_core::DataPolicy;
use ghost_core::aws::{AwsOptions, SdkConfig, sdk_config};
use ghost_core::wait::Bound;
use ghost_core::{Action, Config, ConfigError, Env, Event, Mode};
use ghost_emulator::{CallSummary, Emulator};
use ghost_local::admin::{AdminClient, Owner};
use ghost_local::front::{self, Front, RequestLoop};
use ghost_local::image::{self, Recipe};
use ghost_local::runner::{self, LocalSettings};
use ghost_local::taskdef::TaskDefinition;
use ghost_local::{Engine, ghost_home};
use ghost_stack::{Report, StackOutputs, verify};
use serde::Serialize;

/// What to prove, and how loudly.
#[derive(Debug, Clone)]
pub struct E2eOptions {
    /// The config to prove (default: the sample fixtures/ghost.toml). Its stack and source repository are
    /// renamed after `stack`, so a stack deployed from the same config is never touched.
    pub config: Option<PathBuf>,
    /// The stack name this run uses.
    pub stack: String,
    /// Stop after the re-deploy: leave the stack, Ghost and the front's containers in place.
    pub keep: bool,
    /// No progress lines on stderr (the summary is the output).
    pub quiet: bool,
}

impl E2eOptions {
    /// What `cargo xtask test` runs: the sample config under a stack of its own.
    pub fn for_tests() -> Self {
        Self { config: None, stack: "e2e-test".into(), keep: false, quiet: false }
    }
}

/// One row of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub wall_s: f64,
    /// API calls this phase made (emulator recorder), total and mutating.
    pub calls: Option<(usize, usize)>,
    pub result: String,
}

/// What a passed run measured.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub stack: String,
    pub phases: Vec<Phase>,
    pub resources_created: usize,
    pub wiring_checks: Vec<verify::Check>,
    pub swap: front::LoopReport,
    pub wall_s: f64,
    /// With `keep`: where Ghost (green) still serves.
    pub kept_url: Option<String>,
}

struct Run {
    emu: Emulator,
    key: String,
    sdk: SdkConfig,
    cfg: Config,
    phases: Vec<Phase>,
    quiet: bool,
}

impl Run {
    async fn calls(&self) -> Result<CallSummary> {
        let c = self.emu.calls(Some(&self.key)).await?;
        self.emu.clear_calls(Some(&self.key)).await?;
        Ok(CallSummary::of(&c))
    }

    /// Only waits and failures: the phase lines are the progress view here.
    fn env(&self, mode: Mode) -> Env {
        Env::new(&self.cfg.stack.name, mode).with_observer(std::sync::Arc::new(|ev: &Event<'_>| match ev {
            Event::Wait { kind, name, what } => eprintln!("      … {kind} {name}: waiting until {what}"),
            Event::Failed { kind, name, error } => eprintln!("      x {kind} {name}: {error}"),
            _ => {}
        }))
    }

    fn start(&self, name: &str) -> Instant {
        if !self.quiet {
            eprintln!("==> {name}");
        }
        Instant::now()
    }

    /// Closes a phase: its wall time, its API calls, and what it found.
    async fn done(
        &mut self,
        name: &'static str,
        t: Instant,
        counted: bool,
        result: String,
    ) -> Result<Option<CallSummary>> {
        let wall_s = t.elapsed().as_secs_f64();
        let calls = if counted { Some(self.calls().await?) } else { None };
        if !self.quiet {
            let c =
                calls.as_ref().map(|c| format!(", {} calls ({} mutating)", c.total, c.mutating)).unwrap_or_default();
            eprintln!("    {result} ({wall_s:.1} s{c})");
        }
        self.phases.push(Phase { name, wall_s, calls: calls.as_ref().map(|c| (c.total, c.mutating)), result });
        Ok(calls)
    }

    async fn deploy(&self, mode: Mode) -> Result<Report> {
        ghost_stack::deploy(&self.cfg, &self.sdk, &self.env(mode)).await.context("deploy")
    }

    async fn destroy(&self, data: DataPolicy) -> Result<Report> {
        ghost_stack::destroy(&self.cfg, &self.sdk, &self.env(Mode::Apply), data).await.context("destroy")
    }

    /// What of the stack a deploy would still find: every resource a plan does not have to create.
    async fn left(&self) -> Result<Vec<String>> {
        let plan = self.deploy(Mode::Plan).await?;
        Ok(plan
            .resources
            .iter()
            .filter(|r| r.action != Action::Create)
            .map(|r| format!("{} {}", r.kind, r.name))
            .collect())
    }
}

fn owner() -> Owner {
    Owner {
        name: "E2E Owner".into(),
        email: "owner@example.com".into(),
        password: "Zq7-harbour-lantern-91x".into(),
        blog_title: "Ghost on ECS, end to end".into(),
    }
}

/// The config under test, renamed so the run owns its stack (and its source repository, which is per account).
fn config(args: &E2eOptions) -> Result<Config> {
    let path = args.config.clone().unwrap_or_else(|| PathBuf::from("fixtures/ghost.toml"));
    let mut cfg = Config::load(&path)?;
    cfg.stack.name = args.stack.clone();
    cfg.pipeline.repository = format!("{}-site", args.stack);
    if !cfg.validate().is_empty() {
        return Err(ConfigError::argument("--stack", &args.stack, "1-20 of [a-z0-9-], starting with a letter").into());
    }
    Ok(cfg)
}

fn local_td(o: &StackOutputs) -> Result<TaskDefinition> {
    Ok(TaskDefinition::from_json(&serde_json::to_string(&o.runtime.task_definition)?)?)
}

/// Runs the whole flow; an `Err` names the phase and what it found. Progress goes to stderr unless `quiet`.
pub async fn run(args: &E2eOptions) -> Result<Summary> {
    let all = Instant::now();
    let cfg = config(args)?;
    let stack = cfg.stack.name.clone();
    let quiet = args.quiet;

    // The image build (minutes, once) does not need the emulator: start it first, beside everything else.
    let home = ghost_home();
    let ghost_image = tokio::spawn({
        let home = home.clone();
        async move {
            let engine = Engine::connect_or_start(&home).await?;
            let img = image::ensure_image(&engine, &Recipe::default(), &home).await?;
            Ok::<_, ghost_local::Error>((engine, img.into_id().tag))
        }
    });

    let emu = Emulator::from_env();
    let key = format!("E2E{}", std::process::id());
    let sdk = sdk_config(&AwsOptions::emulator(&emu.url(), &cfg.stack.region, &key)).await;
    let mut r = Run { emu, key, sdk, cfg, phases: Vec::new(), quiet };

    let t = r.start("emulator");
    r.emu.up().await.context("starting the emulator")?;
    // From nothing: a stack left by an interrupted earlier run goes first, data and all.
    let leftover = r.destroy(DataPolicy::Delete).await?;
    let gone = leftover.resources.iter().filter(|x| x.action == Action::Delete).count();
    r.done("emulator up, clean slate", t, true, format!("{} ({gone} leftovers removed)", r.emu.url())).await?;

    let t = r.start("cold deploy");
    let first = r.deploy(Mode::Apply).await?;
    let created = first.count(Action::Create);
    ensure!(first.resources.iter().all(|x| x.action == Action::Create), "a cold deploy only creates");
    let o = first.outputs.clone().context("deploy returned no outputs")?;
    r.done("cold deploy", t, true, format!("{created} resources created")).await?;

    let t = r.start("wiring read back");
    let checks = verify::wiring(&r.sdk, &r.cfg, &o).await?;
    if !quiet {
        for c in &checks {
            eprintln!("    {} {:<62} {}", if c.ok { "ok  " } else { "FAIL" }, c.what, c.found);
        }
    }
    let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
    ensure!(failed.is_empty(), "wiring checks failed: {}", failed.join("; "));
    r.done("wiring read back", t, true, format!("{} checks ok", checks.len())).await?;

    // The alert path end to end, as AWS delivers it: an alarm's action through the topic's key and policy.
    let t = r.start("an alert reaches the topic");
    let delivery = ghost_stack::operate::test_alerts(&r.cfg, &r.sdk).await?;
    ensure!(delivery.delivered, "the alarm's action failed: {}", delivery.history);
    r.done("an alert reaches the topic", t, true, format!("{}: {}", delivery.alarm, delivery.history)).await?;

    let t = r.start("Ghost up (registered task definition, local front)");
    let (engine, tag) = ghost_image.await?.context("the Docker engine and the Ghost image")?;
    let content = home.join("e2e").join(&stack);
    let _ = std::fs::remove_dir_all(&content);
    let blue_name = format!("ghost-e2e-{stack}-blue");
    let green_name = format!("ghost-e2e-{stack}-green");
    for n in [&blue_name, &green_name] {
        runner::remove_container(&engine, n).await?;
    }
    let front_port = runner::free_port()?;
    let front_url = format!("http://127.0.0.1:{front_port}");
    let td = local_td(&o)?;
    let blue =
        runner::ensure_container(&engine, &td, &LocalSettings::for_task(&td, &blue_name, &tag, &content, &front_url))
            .await?
            .into_id();
    let ready = runner::wait_ready(&engine, &blue, Duration::from_secs(180)).await?;
    let front = Front::start(front_port, blue.port).await?;
    let db = if ghost_local::sqlite_fallback(&td).is_some() { "; MySQL stood in for by SQLite locally" } else { "" };
    r.done(
        "Ghost up",
        t,
        false,
        format!("{} behind {front_url} (ready after {:.1} s{db})", blue.name, ready.as_secs_f64()),
    )
    .await?;

    let t = r.start("first-run setup, a post");
    let admin = AdminClient::new(&front.url()).setup_and_login(&owner()).await?;
    let post = admin.create_post("Written before the release", "<p>still here after it</p>", "published").await?;
    let post_url = format!("{front_url}/{}/", post.slug);
    page(&post_url, "still here after it").await?;
    r.done("first-run setup, a post", t, false, format!("published {post_url}")).await?;

    let t = r.start("blue/green release with readers on the blog");
    let readers = RequestLoop::start(
        vec![format!("{front_url}/"), post_url.clone(), format!("{front_url}/ghost/api/admin/site/")],
        Duration::from_millis(20),
    );
    readers.until(50).await;
    let c = Cicd::new(&r.sdk, r.env(Mode::Apply));
    let spec = CicdSpec::from_config(&r.cfg, &c.account().await?);
    let new_image = format!("{}:e2e-release", o.cicd.image_repository_uri);
    // What the build's push leaves in ECR (the emulator builds nothing); a release checks the image is there.
    ghost_cicd::registry::put_placeholder_image(&c, &spec, "e2e-release").await?;
    let rel = release::release_image(
        &c,
        &spec,
        &o.runtime.task_definition,
        &new_image,
        &Bound::new(Duration::from_secs(120), Duration::from_secs(1)),
    )
    .await?;
    let new_td = rel.task_definition.clone().context("the release registered no task definition")?;
    let svc = release::service(&c, &spec).await?.context("the service is gone")?;
    ensure!(
        svc.task_definition() == Some(new_td.as_str()),
        "the service runs {:?}, not the released {new_td}",
        svc.task_definition()
    );
    let mut green_td = o.runtime.task_definition.clone();
    green_td.container_definitions[0].image = new_image.clone();
    let green_td = TaskDefinition::from_json(&serde_json::to_string(&green_td)?)?;
    let green = LocalSettings::for_task(&green_td, &green_name, &tag, &content, &front_url);
    let swap = front::swap(&engine, &front, &green_td, &blue_name, &green, Duration::from_secs(180)).await?;
    // Readers keep reading green alone for a while: the swap is measured on both sides.
    let after = readers.sent() + 100;
    readers.until(after).await;
    let seen = readers.stop().await;
    ensure!(
        seen.failed == 0,
        "{} of {} requests failed during the swap: {:?}",
        seen.failed,
        seen.ok + seen.failed,
        seen.errors
    );
    ensure!(swap.drained && swap.blue_stopped, "blue was not drained and stopped: {swap:?}");
    r.done(
        "release (new revision, blue/green)",
        t,
        true,
        format!(
            "{} via {} → {}; {} requests, {} failed",
            rel.id,
            rel.via,
            new_td.rsplit('/').next().unwrap_or(&new_td),
            seen.ok + seen.failed,
            seen.failed
        ),
    )
    .await?;

    let t = r.start("the post survived");
    let back = admin.get_post(&post.id).await?;
    ensure!(back.title == post.title, "the post came back as {:?}", back.title);
    page(&post_url, "still here after it").await?;
    r.done("the post survived", t, false, format!("{} on {}", post.slug, swap.green.name)).await?;

    // What `cargo xtask logs` shows: both tasks' output, shipped as awslogs would, read back from the log group.
    let t = r.start("Ghost's logs through CloudWatch Logs");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&r.sdk);
    let family = ghost_runtime::RuntimeSpec::from_config(&r.cfg).family();
    let to = ghost_local::awslogs::Awslogs {
        group: &o.runtime.log_group,
        stream_prefix: ghost_runtime::ecs::LOG_STREAM_PREFIX,
        container: ghost_runtime::ecs::CONTAINER,
        family: &family,
    };
    let shipped = ghost_local::awslogs::ship(&engine, &logs, &to).await?;
    let lines = ghost_observe::logs::read_logs(&logs, &o.runtime.log_group, 0, &Default::default()).await?;
    let booted: BTreeSet<&str> =
        lines.iter().filter(|l| l.message.contains("Ghost booted")).map(|l| l.stream.as_str()).collect();
    ensure!(booted.len() == 2, "expected 'Ghost booted' from blue and green, found it in {booted:?}");
    ensure!(
        lines.iter().any(|l| l.message.contains("POST /ghost/api/admin/posts/")),
        "the post's request is not in {}",
        o.runtime.log_group
    );
    r.done(
        "Ghost's logs through CloudWatch Logs",
        t,
        true,
        format!("{shipped} events from 2 tasks in {}; both booted, the post's request logged", o.runtime.log_group),
    )
    .await?;

    let t = r.start("re-deploy");
    let again = r.deploy(Mode::Apply).await?;
    let calls = r.done("re-deploy", t, true, format!("{} unchanged", again.count(Action::Unchanged))).await?;
    let writes = calls.map(|c| c.writes()).unwrap_or_default();
    ensure!(again.is_noop() && writes.is_empty(), "the re-deploy changed something: {writes:?}");
    // The release left the listeners forwarding weighted (the original group at weight 0): the wiring still reads.
    let after = again.outputs.clone().context("the re-deploy returned no outputs")?;
    let failed: Vec<String> = verify::wiring(&r.sdk, &r.cfg, &after)
        .await?
        .into_iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.what, c.found))
        .collect();
    ensure!(failed.is_empty(), "wiring after the release: {}", failed.join("; "));

    if !args.keep {
        drop(front);
        for n in [&blue_name, &green_name] {
            runner::remove_container(&engine, n).await?;
        }
        let t = r.start("destroy (data kept)");
        let d = r.destroy(DataPolicy::Keep).await?;
        let kept: BTreeSet<String> =
            d.resources.iter().filter(|x| x.action == Action::Keep).map(|x| format!("{} {}", x.kind, x.name)).collect();
        let left: BTreeSet<String> = r.left().await?.into_iter().collect();
        let stray: Vec<&String> = left.difference(&kept).collect();
        ensure!(stray.is_empty(), "destroy left more than the retained data: {stray:?}");
        let kept_list = kept.iter().cloned().collect::<Vec<_>>().join(", ");
        r.done("destroy (data kept)", t, true, format!("{} deleted; left: {kept_list}", d.count(Action::Delete)))
            .await?;

        let t = r.start("destroy --delete-data");
        let d = r.destroy(DataPolicy::Delete).await?;
        let left = r.left().await?;
        ensure!(left.is_empty(), "destroy --delete-data left {left:?}");
        let _ = std::fs::remove_dir_all(&content);
        r.done("destroy --delete-data", t, true, format!("{} deleted; nothing left", d.count(Action::Delete))).await?;
    }

    Ok(Summary {
        stack,
        phases: r.phases,
        resources_created: created,
        wiring_checks: checks,
        swap: seen,
        wall_s: all.elapsed().as_secs_f64(),
        kept_url: args.keep.then(|| swap.green.url.clone()),
    })
}

async fn page(url: &str, text: &str) -> Result<()> {
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build()?;
    let res = http.get(url).send().await?;
    let status = res.status();
    let body = res.text().await?;
    if !status.is_success() || !body.contains(text) {
        bail!(
            "GET {url}: HTTP {status}, {} bytes, {text:?} {}",
            body.len(),
            if body.contains(text) { "found" } else { "missing" }
        );
    }
    Ok(())
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\ne2e of stack {}: passed in {:.1} s", self.stack, self.wall_s)?;
        writeln!(f, "  {:<36} {:>8} {:>7} {:>9}  result", "phase", "wall s", "calls", "mutating")?;
        for p in &self.phases {
            let (calls, mutating) = p.calls.map_or(("-".into(), "-".into()), |(c, m)| (c.to_string(), m.to_string()));
            writeln!(f, "  {:<36} {:>8.1} {calls:>7} {mutating:>9}  {}", p.name, p.wall_s, p.result)?;
        }
        write!(
            f,
            "  resources created: {}; wiring checks: {} ok; failed requests during the swap: {} of {}",
            self.resources_created,
            self.wiring_checks.iter().filter(|c| c.ok).count(),
            self.swap.failed,
            self.swap.ok + self.swap.failed
        )?;
        if let Some(url) = &self.kept_url {
            write!(
                f,
                "\n  kept (--keep): the stack on the emulator and Ghost (green) at {url}/; the next e2e run starts by removing them"
            )?;
        }
        Ok(())
    }
}
