//! `cargo xtask local up | down | status`: the local target (ghost_local::target) from the command line.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use ghost_local::target::{self, FrontLauncher};

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
    /// The local front on its own (deploy starts it in the background): forwards 127.0.0.1:PORT to UPSTREAM.
    #[command(hide = true)]
    Front {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        upstream: u16,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LocalArgs {
    /// Names the container (ghost-local-<stack>) and the content folder.
    #[arg(long, default_value = "ghost")]
    stack: String,
}

/// With `deploy --output json`, stdout carries only the JSON document: where to look goes to stderr.
fn say(to_stderr: bool, text: &dyn std::fmt::Display) {
    if to_stderr { eprintln!("{text}") } else { println!("{text}") }
}

/// Runs a task definition (ECS API JSON) as Ghost on this machine and prints where to look.
pub(crate) async fn up(stack: &str, port: Option<u16>, task_definition_json: &str, to_stderr: bool) -> Result<()> {
    let launcher = FrontLauncher { program: std::env::current_exe()?, args: vec!["local".into(), "front".into()] };
    let up = target::up(stack, port, task_definition_json, &launcher, &|line| eprintln!("{line}")).await?;
    say(to_stderr, &up);
    Ok(())
}

pub(crate) async fn down(stack: &str, delete_content: bool, to_stderr: bool) -> Result<()> {
    say(to_stderr, &target::down(stack, delete_content).await?);
    Ok(())
}

pub(crate) async fn run(cmd: LocalCmd) -> Result<()> {
    match cmd {
        LocalCmd::Up { args, port, task_definition } => {
            let json = match &task_definition {
                Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
                None => ghost_local::SAMPLE_TASK_DEFINITION.to_string(),
            };
            up(&args.stack, port, &json, false).await?;
        }
        LocalCmd::Down { args, engine: stop_engine } => {
            down(&args.stack, false, false).await?;
            if stop_engine {
                let stopped = ghost_local::engine::stop_our_engine(&ghost_local::ghost_home()).await;
                println!("{}", if stopped { "engine stopped" } else { "no engine of ours was running" });
            }
        }
        LocalCmd::Front { port, upstream } => {
            let front = ghost_local::front::Front::start(port, upstream).await?;
            eprintln!("front {} → 127.0.0.1:{upstream}", front.url());
            tokio::signal::ctrl_c().await?;
        }
        LocalCmd::Status => println!("{}", target::status().await?),
    }
    Ok(())
}
