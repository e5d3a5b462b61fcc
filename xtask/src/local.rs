//! `cargo xtask local up | down | status`: Ghost on this machine, run from the ECS task definition as a real
//! container (ghost-local), with a host folder standing in for EFS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Subcommand;
use ghost_core::Outcome;
use ghost_local::image::{self, Recipe};
use ghost_local::runner::{self, LocalSettings};
use ghost_local::taskdef::TaskDefinition;
use ghost_local::{Engine, ghost_home};

#[derive(Debug, Subcommand)]
pub(crate) enum LocalCmd {
    /// Start Ghost: engine (installed and started if needed), image (built once, ~4-5 min), container.
    Up {
        #[command(flatten)]
        args: LocalArgs,
        /// Host port for Ghost (default: the running container's, else a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Task definition JSON in the ECS API shape (default: fixtures/ghost-image/taskdef.json).
        #[arg(long)]
        task_definition: Option<PathBuf>,
    },
    /// Remove the Ghost container; the content folder stays.
    Down {
        #[command(flatten)]
        args: LocalArgs,
        /// Also stop the Docker engine, if this project started it.
        #[arg(long)]
        engine: bool,
    },
    /// Engine, image and containers.
    Status,
}

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LocalArgs {
    /// Names the container (ghost-local-<stack>) and the content folder.
    #[arg(long, default_value = "ghost")]
    stack: String,
}

fn container_name(stack: &str) -> String {
    format!("ghost-local-{stack}")
}

fn content_root(stack: &str) -> PathBuf {
    ghost_home().join("local").join(stack)
}

/// Runs a task definition (ECS API JSON) as Ghost on this machine and prints where to look.
pub(crate) async fn up(stack: &str, port: Option<u16>, task_definition_json: &str) -> Result<()> {
    let home = ghost_home();
    let t = Instant::now();
    let engine = Engine::connect_or_start(&home).await?;
    eprintln!(
        "engine: {} (API {}{})",
        engine.endpoint,
        engine.api_version,
        if engine.started { ", started now" } else { "" }
    );
    let img = image::ensure_image(&engine, &Recipe::default(), &home).await?;
    let verb = if matches!(img, Outcome::Created(_)) { "built" } else { "present" };
    eprintln!("image: {} ({verb})", img.id());
    let td = TaskDefinition::from_json(task_definition_json)?;
    let root = content_root(stack);
    let volumes: BTreeMap<String, PathBuf> = td.volumes.iter().map(|v| (v.name.clone(), root.join(&v.name))).collect();
    // Secrets: GHOST_LOCAL_SECRET_<env name> when set, else a placeholder (nothing here sends mail).
    let c = td.container(None)?;
    let secrets: BTreeMap<String, String> = c
        .secrets
        .iter()
        .map(|s| {
            let v = std::env::var(format!("GHOST_LOCAL_SECRET_{}", s.name))
                .unwrap_or_else(|_| format!("local-placeholder-{}", s.name));
            (s.value_from.clone(), v)
        })
        .collect();
    let settings = LocalSettings {
        name: container_name(stack),
        image: Some(img.id().tag.clone()),
        port,
        volumes: volumes.clone(),
        secrets,
        env: ghost_local::local_env(),
        container: None,
    };
    let out = runner::ensure_container(&engine, &td, &settings).await?;
    let action = out.action();
    let run = out.into_id();
    let boot = runner::wait_ready(&engine, &run, Duration::from_secs(180)).await?;
    println!(
        "Ghost is up ({action}, ready after {:.1} s, {:.0} s in all)",
        boot.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    println!("  url:       {}/", run.url);
    println!("  admin:     {}/ghost/", run.url);
    for (name, dir) in &volumes {
        println!("  content:   {} (volume {name})", dir.display());
    }
    println!("  container: {} (logs: docker logs {})", run.name, run.name);
    Ok(())
}

pub(crate) async fn run(cmd: LocalCmd) -> Result<()> {
    let home = ghost_home();
    match cmd {
        LocalCmd::Up { args, port, task_definition } => {
            let json = match &task_definition {
                Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
                None => ghost_local::SAMPLE_TASK_DEFINITION.to_string(),
            };
            up(&args.stack, port, &json).await?;
        }
        LocalCmd::Down { args, engine: stop_engine } => {
            let name = container_name(&args.stack);
            if ghost_local::engine::engine_reachable().await {
                let engine = Engine::connect_or_start(&home).await?;
                let removed = runner::remove_container(&engine, &name).await?;
                println!("{}", if removed { format!("removed {name}") } else { format!("no container {name}") });
            } else {
                println!("no Docker engine running: nothing to remove");
            }
            println!("content kept in {}", content_root(&args.stack).display());
            if stop_engine {
                let stopped = ghost_local::engine::stop_our_engine(&home).await;
                println!("{}", if stopped { "engine stopped" } else { "no engine of ours was running" });
            }
        }
        LocalCmd::Status => {
            if !ghost_local::engine::engine_reachable().await {
                println!("engine: not running (cargo xtask local up starts it)");
                return Ok(());
            }
            let engine = Engine::connect_or_start(&home).await?;
            println!("engine: {} (API {})", engine.endpoint, engine.api_version);
            let recipe = Recipe::default();
            match image::find_image(&engine, &recipe.tag()).await? {
                Some(i) => println!("image:  {i}"),
                None => println!("image:  {} not built yet", recipe.tag()),
            }
            let list = runner::list_ours(&engine).await?;
            if list.is_empty() {
                println!("containers: none");
            }
            for c in list {
                let url = c.port.map(|p| format!("http://127.0.0.1:{p}/")).unwrap_or_default();
                let state = if c.running { "running" } else { "stopped" };
                println!("  {:<28} {state:<8} {url}", c.name);
            }
        }
    }
    Ok(())
}
