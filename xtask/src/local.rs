//! `cargo xtask local up | down | status`: Ghost on this machine, run from the ECS task definition as a real
//! container (ghost-local), with a host folder standing in for EFS.

use std::os::unix::process::CommandExt;
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

fn container_name(stack: &str) -> String {
    format!("ghost-local-{stack}")
}

fn content_root(stack: &str) -> PathBuf {
    ghost_home().join("local").join(stack)
}

/// The background front of a stack: which process, on which port, forwarding where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct FrontState {
    pid: u32,
    port: u16,
    upstream: u16,
}

fn front_file(stack: &str) -> PathBuf {
    content_root(stack).join("front.json")
}

fn read_front(stack: &str) -> Option<FrontState> {
    serde_json::from_str(&std::fs::read_to_string(front_file(stack)).ok()?).ok()
}

fn alive(pid: u32) -> bool {
    ghost_emulator::runs(pid, "front")
}

async fn answers(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
}

fn stop_front(stack: &str) -> bool {
    let Some(f) = read_front(stack) else { return false };
    let _ = std::fs::remove_file(front_file(stack));
    if alive(f.pid) {
        let _ = std::process::Command::new("kill").arg(f.pid.to_string()).status();
        return true;
    }
    false
}

/// The front's port for a stack: the one it had (so the blog's URL survives re-runs), else a free one.
fn front_port(stack: &str) -> Result<u16> {
    Ok(match read_front(stack) {
        Some(f) => f.port,
        None => runner::free_port()?,
    })
}

/// Keeps a front process forwarding `port` to `upstream` in the background, standing for the ALB listener
/// after this command ends. Unchanged when one already does; replaced when it forwards elsewhere.
async fn ensure_front(stack: &str, port: u16, upstream: u16) -> Result<Outcome<FrontState>> {
    if let Some(f) = read_front(stack)
        && alive(f.pid)
        && f.port == port
        && f.upstream == upstream
        && answers(port).await
    {
        return Ok(Outcome::Unchanged(f));
    }
    let replaced = stop_front(stack);
    // Let a replaced front release the port.
    for _ in 0..50 {
        if !answers(port).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::create_dir_all(content_root(stack))?;
    let log = std::fs::File::create(content_root(stack).join("front.log"))?;
    let child = std::process::Command::new(std::env::current_exe()?)
        .args(["local", "front", "--port", &port.to_string(), "--upstream", &upstream.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C in this terminal later does not take the blog down.
        .process_group(0)
        .spawn()
        .context("starting the local front")?;
    let state = FrontState { pid: child.id(), port, upstream };
    std::fs::write(front_file(stack), serde_json::to_string(&state)?)?;
    let t = Instant::now();
    while !answers(port).await {
        anyhow::ensure!(t.elapsed() < Duration::from_secs(10), "the local front did not start on 127.0.0.1:{port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(if replaced { Outcome::Updated(state, vec![]) } else { Outcome::Created(state) })
}

/// Runs a task definition (ECS API JSON) as Ghost on this machine and prints where to look.
pub(crate) async fn up(stack: &str, port: Option<u16>, task_definition_json: &str, to_stderr: bool) -> Result<()> {
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
    // Ghost knows the front's URL as its own, as on AWS it knows the load balancer's.
    let front = front_port(stack)?;
    let url = format!("http://127.0.0.1:{front}");
    if ghost_local::sqlite_fallback(&td).is_some() {
        eprintln!(
            "database: the task definition uses RDS MySQL, and there is no MySQL server here: this local Ghost runs on SQLite in the content folder"
        );
    }
    let settings = LocalSettings {
        port,
        ..LocalSettings::for_task(&td, &container_name(stack), &img.id().tag, &content_root(stack), &url)
    };
    let out = runner::ensure_container(&engine, &td, &settings).await?;
    let action = out.action();
    let run = out.into_id();
    let boot = runner::wait_ready(&engine, &run, Duration::from_secs(180)).await?;
    let front = ensure_front(stack, front, run.port).await?;
    let noop = action == ghost_core::Action::Unchanged && front.action() == ghost_core::Action::Unchanged;
    // With `deploy --output json`, stdout carries only the JSON document: where to look goes to stderr.
    macro_rules! say {
        ($($t:tt)*) => {
            if to_stderr { eprintln!($($t)*) } else { println!($($t)*) }
        };
    }
    say!(
        "Ghost is up (container {action}, front {}, ready after {:.1} s, {:.0} s in all){}",
        front.action(),
        boot.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        if noop { ": nothing to do, it already runs this task definition" } else { "" }
    );
    say!("  url:       {url}/   (the local front, standing for the load balancer's listener)");
    say!("  admin:     {url}/ghost/");
    say!("  container: {} (Ghost itself on 127.0.0.1:{})", run.name, run.port);
    for (name, dir) in &settings.volumes {
        say!("  content:   {} (volume {name})", dir.display());
    }
    say!("  logs:      docker logs {}; the front's in {}", run.name, content_root(stack).join("front.log").display());
    say!("  stop:      cargo xtask local down --stack {stack} (the content stays)");
    Ok(())
}

/// Stops a stack's local Ghost, container and front, as deleting the ECS service stops its tasks. The content
/// folder (standing in for EFS) stays unless `delete_content`. Starts no engine to do it.
pub(crate) async fn down(stack: &str, delete_content: bool, to_stderr: bool) -> Result<()> {
    let say = |line: String| if to_stderr { eprintln!("{line}") } else { println!("{line}") };
    let name = container_name(stack);
    if let Some(engine) = ghost_local::engine::running_engine().await {
        let removed = runner::remove_container(&engine, &name).await?;
        say(if removed { format!("removed {name}") } else { format!("no container {name}") });
    } else {
        say("no Docker engine running: no local container to remove".into());
    }
    if stop_front(stack) {
        say("stopped the local front".into());
    }
    let root = content_root(stack);
    if delete_content && root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("deleting {}", root.display()))?;
        say(format!("content deleted: {}", root.display()));
    } else if root.exists() {
        say(format!("content kept in {}", root.display()));
    }
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
            up(&args.stack, port, &json, false).await?;
        }
        LocalCmd::Down { args, engine: stop_engine } => {
            down(&args.stack, false, false).await?;
            if stop_engine {
                let stopped = ghost_local::engine::stop_our_engine(&home).await;
                println!("{}", if stopped { "engine stopped" } else { "no engine of ours was running" });
            }
        }
        LocalCmd::Front { port, upstream } => {
            let front = ghost_local::front::Front::start(port, upstream).await?;
            eprintln!("front {} → 127.0.0.1:{upstream}", front.url());
            tokio::signal::ctrl_c().await?;
        }
        LocalCmd::Status => {
            let Some(engine) = ghost_local::engine::running_engine().await else {
                println!("engine: not running (cargo xtask local up starts it)");
                return Ok(());
            };
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
