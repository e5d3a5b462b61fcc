//! The local target: Ghost on this machine, run from the ECS task definition as a real container, with a host
//! folder standing in for EFS and a background front process standing in for the load balancer's listener (it
//! outlives the command that started it, as a listener outlives a deploy). `up` and `down` are idempotent:
//! a second `up` with the same task definition changes nothing.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ghost_core::{Action, Outcome};

use crate::error::io;
use crate::image::{self, Recipe};
use crate::runner::{self, LocalSettings};
use crate::taskdef::TaskDefinition;
use crate::{Engine, Error, Result, ghost_home};

pub fn container_name(stack: &str) -> String {
    format!("ghost-local-{stack}")
}

/// The stack's content folder (EFS's stand-in), the front's state and its log.
pub fn content_root(stack: &str) -> PathBuf {
    ghost_home().join("local").join(stack)
}

/// How to start the front in its own process: `program args… --port P --upstream U` must run
/// [`crate::front::Front::start`] until it is killed (`cargo xtask local front` does).
#[derive(Debug, Clone)]
pub struct FrontLauncher {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// The background front of a stack: which process, on which port, forwarding where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrontState {
    pub pid: u32,
    pub port: u16,
    pub upstream: u16,
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

/// Keeps a front process forwarding `port` to `upstream` in the background. Unchanged when one already does;
/// replaced when it forwards elsewhere.
async fn ensure_front(stack: &str, port: u16, upstream: u16, launcher: &FrontLauncher) -> Result<Outcome<FrontState>> {
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
    let root = content_root(stack);
    std::fs::create_dir_all(&root).map_err(io(format!("creating {}", root.display())))?;
    let log = std::fs::File::create(root.join("front.log")).map_err(io("the front's log"))?;
    let child = std::process::Command::new(&launcher.program)
        .args(&launcher.args)
        .args(["--port", &port.to_string(), "--upstream", &upstream.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(io("the front's log"))?)
        .stderr(log)
        // Its own process group: a Ctrl-C in this terminal later does not take the blog down.
        .process_group(0)
        .spawn()
        .map_err(io(format!("starting the local front ({})", launcher.program.display())))?;
    let state = FrontState { pid: child.id(), port, upstream };
    let json = serde_json::to_string(&state).expect("the front's state serialises");
    std::fs::write(front_file(stack), json).map_err(io("the front's state"))?;
    let t = Instant::now();
    while !answers(port).await {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(Error::Io {
                what: format!(
                    "the local front did not start on 127.0.0.1:{port} (see {})",
                    root.join("front.log").display()
                ),
                source: std::io::ErrorKind::TimedOut.into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(if replaced { Outcome::Updated(state, vec![]) } else { Outcome::Created(state) })
}

/// What `up` did and where to look.
#[derive(Debug, Clone)]
pub struct Up {
    pub stack: String,
    pub container: Action,
    pub front: Action,
    pub boot: Duration,
    pub total: Duration,
    /// The front's URL: Ghost's own URL, as on AWS it is the load balancer's.
    pub url: String,
    pub run: runner::Running,
    pub volumes: Vec<(String, PathBuf)>,
    /// The task definition asks for RDS MySQL and none runs here: Ghost runs on SQLite in the content folder.
    pub sqlite_fallback: bool,
}

/// Runs a task definition (ECS API JSON) as Ghost on this machine: engine (installed and started if needed),
/// image (built once), container, front. `progress` hears each step as it completes.
pub async fn up(
    stack: &str,
    port: Option<u16>,
    task_definition_json: &str,
    launcher: &FrontLauncher,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Up> {
    let home = ghost_home();
    let t = Instant::now();
    let engine = Engine::connect_or_start(&home).await?;
    let started = if engine.started { ", started now" } else { "" };
    progress(format!("engine: {} (API {}{started})", engine.endpoint, engine.api_version));
    let img = image::ensure_image(&engine, &Recipe::default(), &home).await?;
    let verb = if matches!(img, Outcome::Created(_)) { "built" } else { "present" };
    progress(format!("image: {} ({verb})", img.id()));
    let td = TaskDefinition::from_json(task_definition_json)?;
    let front = front_port(stack)?;
    let url = format!("http://127.0.0.1:{front}");
    let settings = LocalSettings {
        port,
        ..LocalSettings::for_task(&td, &container_name(stack), &img.id().tag, &content_root(stack), &url)
    };
    let out = runner::ensure_container(&engine, &td, &settings).await?;
    let container = out.action();
    let run = out.into_id();
    let boot = runner::wait_ready(&engine, &run, Duration::from_secs(180)).await?;
    let front = ensure_front(stack, front, run.port, launcher).await?.action();
    Ok(Up {
        stack: stack.to_string(),
        container,
        front,
        boot,
        total: t.elapsed(),
        url,
        run,
        volumes: settings.volumes.into_iter().collect(),
        sqlite_fallback: crate::sqlite_fallback(&td).is_some(),
    })
}

impl std::fmt::Display for Up {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (url, noop) = (&self.url, self.container == Action::Unchanged && self.front == Action::Unchanged);
        if self.sqlite_fallback {
            writeln!(
                f,
                "database: the task definition uses RDS MySQL, and there is no MySQL server here: this local Ghost runs on SQLite in the content folder"
            )?;
        }
        writeln!(
            f,
            "Ghost is up (container {}, front {}, ready after {:.1} s, {:.0} s in all){}",
            self.container,
            self.front,
            self.boot.as_secs_f64(),
            self.total.as_secs_f64(),
            if noop { ": nothing to do, it already runs this task definition" } else { "" }
        )?;
        writeln!(f, "  url:       {url}/   (the local front, standing for the load balancer's listener)")?;
        writeln!(f, "  admin:     {url}/ghost/")?;
        writeln!(f, "  container: {} (Ghost itself on 127.0.0.1:{})", self.run.name, self.run.port)?;
        for (name, dir) in &self.volumes {
            writeln!(f, "  content:   {} (volume {name})", dir.display())?;
        }
        let log = content_root(&self.stack).join("front.log");
        writeln!(f, "  logs:      docker logs {}; the front's in {}", self.run.name, log.display())?;
        write!(f, "  stop:      cargo xtask local down --stack {} (the content stays)", self.stack)
    }
}

/// What `down` found and did.
#[derive(Debug, Clone)]
pub struct Down {
    pub container: String,
    /// `None`: no Docker engine runs, so no container can.
    pub removed: Option<bool>,
    pub front_stopped: bool,
    pub content: PathBuf,
    pub content_exists: bool,
    pub content_deleted: bool,
}

/// Stops a stack's local Ghost, container and front, as deleting the ECS service stops its tasks. The content
/// folder (standing in for EFS) stays unless `delete_content`. Starts no engine to do it.
pub async fn down(stack: &str, delete_content: bool) -> Result<Down> {
    let container = container_name(stack);
    let removed = match crate::engine::running_engine().await {
        Some(engine) => Some(runner::remove_container(&engine, &container).await?),
        None => None,
    };
    let front_stopped = stop_front(stack);
    let content = content_root(stack);
    let content_exists = content.exists();
    let content_deleted = delete_content && content_exists;
    if content_deleted {
        std::fs::remove_dir_all(&content).map_err(io(format!("deleting {}", content.display())))?;
    }
    Ok(Down { container, removed, front_stopped, content, content_exists, content_deleted })
}

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.removed {
            Some(true) => write!(f, "removed {}", self.container)?,
            Some(false) => write!(f, "no container {}", self.container)?,
            None => write!(f, "no Docker engine running: no local container to remove")?,
        }
        if self.front_stopped {
            write!(f, "\nstopped the local front")?;
        }
        match (self.content_exists, self.content_deleted) {
            (_, true) => write!(f, "\ncontent deleted: {}", self.content.display()),
            (true, false) => write!(f, "\ncontent kept in {}", self.content.display()),
            (false, _) => Ok(()),
        }
    }
}

/// Engine, image and containers, as found (nothing started).
#[derive(Debug, Clone)]
pub struct Status {
    /// Endpoint and API version; `None` when no engine runs.
    pub engine: Option<(String, String)>,
    pub image_tag: String,
    pub image: Option<String>,
    pub containers: Vec<runner::Listed>,
}

pub async fn status() -> Result<Status> {
    let recipe = Recipe::default();
    let Some(engine) = crate::engine::running_engine().await else {
        return Ok(Status { engine: None, image_tag: recipe.tag(), image: None, containers: vec![] });
    };
    let image = image::find_image(&engine, &recipe.tag()).await?.map(|i| i.to_string());
    let containers = runner::list_ours(&engine).await?;
    Ok(Status {
        engine: Some((engine.endpoint.clone(), engine.api_version.clone())),
        image_tag: recipe.tag(),
        image,
        containers,
    })
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some((endpoint, api)) = &self.engine else {
            return write!(f, "engine: not running (cargo xtask local up starts it)");
        };
        writeln!(f, "engine: {endpoint} (API {api})")?;
        match &self.image {
            Some(i) => writeln!(f, "image:  {i}")?,
            None => writeln!(f, "image:  {} not built yet", self.image_tag)?,
        }
        if self.containers.is_empty() {
            return write!(f, "containers: none");
        }
        let rows: Vec<String> = self
            .containers
            .iter()
            .map(|c| {
                let url = c.port.map(|p| format!("http://127.0.0.1:{p}/")).unwrap_or_default();
                let state = if c.running { "running" } else { "stopped" };
                format!("  {:<28} {state:<8} {url}", c.name)
            })
            .collect();
        write!(f, "{}", rows.join("\n"))
    }
}
