//! Finding or starting a Docker engine.
//!
//! Order: `DOCKER_HOST` when set (used as given, never replaced), else the default socket
//! `/var/run/docker.sock`, else — on Debian as root — install `docker.io` and start `dockerd` in the
//! background with its pid and log under GHOST_HOME. The engine we start has no bridge (`--bridge=none`,
//! no iptables): every container uses host networking, so nothing is ever sent to a docker bridge address.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bollard::Docker;
use ghost_emulator::runs;

use crate::error::{Error, Result, io, tail};

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Where dockerd keeps its own pid (its default `--pidfile`).
const DOCKERD_PID_FILE: &str = "/var/run/docker.pid";
/// Where the containerd that dockerd runs keeps its pid.
const CONTAINERD_PID_FILE: &str = "/var/run/docker/containerd/containerd.pid";
/// Seconds bollard waits for one engine request (image builds stream for minutes, so this is generous).
const REQUEST_TIMEOUT_S: u64 = 1800;

/// A connected engine, API version negotiated.
#[derive(Debug, Clone)]
pub struct Engine {
    pub docker: Docker,
    /// The API version agreed with the engine (`1.41` for Debian's docker.io).
    pub api_version: String,
    /// Where we connected.
    pub endpoint: String,
    /// Whether this call started the engine (as opposed to finding it running).
    pub started: bool,
}

/// Where the engine we start keeps its pid and log.
#[derive(Debug, Clone)]
pub struct EnginePaths {
    pub pid: PathBuf,
    pub log: PathBuf,
    pub data_root: Option<PathBuf>,
}

impl EnginePaths {
    pub fn under(home: &Path) -> Self {
        Self { pid: home.join("dockerd.pid"), log: home.join("dockerd.log"), data_root: None }
    }
}

impl Engine {
    /// Connects to a running engine, or starts one where we may (Debian, root). See the module docs.
    pub async fn connect_or_start(home: &Path) -> Result<Self> {
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            return Self::connect_to(&host).await;
        }
        if let Ok(engine) = connect_socket(DEFAULT_SOCKET).await {
            return Ok(engine);
        }
        let paths = EnginePaths::under(home);
        fs::create_dir_all(home).map_err(io(format!("creating {}", home.display())))?;
        // One starter at a time: tests in parallel all call this.
        let lock_path = home.join("dockerd.lock");
        let lock = fs::File::create(&lock_path).map_err(io(format!("creating {}", lock_path.display())))?;
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
            .await
            .expect("lock task")
            .map_err(io("locking the engine start"))?;
        let res = async {
            if let Ok(engine) = connect_socket(DEFAULT_SOCKET).await {
                return Ok(engine);
            }
            let child = match our_dockerd(&paths) {
                Some(_) => None,
                None => Some(start_dockerd(&paths).await?),
            };
            let engine = wait_socket(&paths, child, Duration::from_secs(90)).await?;
            Ok(Engine { started: true, ..engine })
        }
        .await;
        drop(lock);
        res
    }

    /// Connects to the engine at `host` (`unix:///path` or `tcp://host:port`), starting nothing: used as given
    /// for `DOCKER_HOST`.
    pub async fn connect_to(host: &str) -> Result<Self> {
        connect_host(host).await.map_err(|e| Error::NoEngine {
            tried: format!("DOCKER_HOST={host}: {e}"),
            hint: "start that engine or unset DOCKER_HOST".into(),
        })
    }

    /// True when the engine answers a ping.
    pub async fn is_up(&self) -> bool {
        self.docker.ping().await.is_ok()
    }
}

/// The engine answering on DOCKER_HOST or the default socket, if one does (nothing is started).
pub async fn running_engine() -> Option<Engine> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) => connect_host(&host).await.ok(),
        Err(_) => connect_socket(DEFAULT_SOCKET).await.ok(),
    }
}

async fn connect_host(host: &str) -> std::result::Result<Engine, String> {
    let docker = if let Some(path) = host.strip_prefix("unix://") {
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_S, bollard::API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_http(host, REQUEST_TIMEOUT_S, bollard::API_DEFAULT_VERSION)
    }
    .map_err(|e| e.to_string())?;
    finish(docker, host).await
}

async fn connect_socket(path: &str) -> std::result::Result<Engine, String> {
    let docker =
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_S, bollard::API_DEFAULT_VERSION).map_err(|e| e.to_string())?;
    finish(docker, &format!("unix://{path}")).await
}

async fn finish(docker: Docker, endpoint: &str) -> std::result::Result<Engine, String> {
    let docker = tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version())
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    docker.ping().await.map_err(|e| e.to_string())?;
    let api_version = docker.client_version().to_string();
    Ok(Engine { docker, api_version, endpoint: endpoint.into(), started: false })
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(bin)).find(|p| p.is_file()))
}

/// The pid of the dockerd we started earlier, if it still runs.
pub(crate) fn our_dockerd(paths: &EnginePaths) -> Option<u32> {
    let pid: u32 = fs::read_to_string(&paths.pid).ok()?.trim().parse().ok()?;
    runs(pid, "dockerd").then_some(pid)
}

/// dockerd refuses to start while its pid file names a live process, and waits in vain for a containerd whose
/// pid file does. After a machine-level kill those pids may since belong to anything (or to a zombie), so a
/// pid file that names no running dockerd / containerd is removed.
fn clear_stale_pid_files() {
    for (file, program) in [(DOCKERD_PID_FILE, "dockerd"), (CONTAINERD_PID_FILE, "containerd")] {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        if !text.trim().parse().is_ok_and(|pid| runs(pid, program)) {
            eprintln!("engine: removing the stale {file} (pid {}, no {program})", text.trim());
            let _ = fs::remove_file(file);
        }
    }
}

/// Installs docker.io when dockerd is missing (Debian, root only), then starts dockerd in its own process group.
async fn start_dockerd(paths: &EnginePaths) -> Result<Child> {
    let debian = Path::new("/etc/debian_version").exists();
    if which("dockerd").is_none() {
        if !(debian && is_root()) {
            return Err(Error::NoEngine {
                tried: format!("DOCKER_HOST unset, {DEFAULT_SOCKET} does not answer"),
                hint: "install and start a Docker engine (Debian: `apt-get install docker.io`), or set DOCKER_HOST"
                    .into(),
            });
        }
        let log = paths.log.with_file_name("apt-docker.log");
        eprintln!("engine: installing docker.io with apt-get (once; log {})", log.display());
        let log2 = log.clone();
        let ok = tokio::task::spawn_blocking(move || -> Result<bool> {
            let apt = |args: &[&str]| -> Result<bool> {
                let out = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log2)
                    .map_err(io(format!("opening {}", log2.display())))?;
                let err = out.try_clone().map_err(io("cloning the log handle"))?;
                Command::new("apt-get")
                    .args(args)
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .status()
                    .map(|s| s.success())
                    .map_err(io("running apt-get"))
            };
            let install = ["install", "-y", "--no-install-recommends", "docker.io"];
            Ok(apt(&install)? || (apt(&["update"])? && apt(&install)?))
        })
        .await
        .expect("apt task")?;
        if !ok || which("dockerd").is_none() {
            return Err(Error::EngineStart {
                step: "apt-get install docker.io",
                message: "apt-get failed".into(),
                tail: tail(&log, 15),
                log,
            });
        }
    }
    clear_stale_pid_files();
    eprintln!("engine: starting dockerd (log {}, pid file {})", paths.log.display(), paths.pid.display());
    use std::os::unix::process::CommandExt;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .map_err(io(format!("opening {}", paths.log.display())))?;
    let err = log.try_clone().map_err(io("cloning the log handle"))?;
    let mut cmd = Command::new("dockerd");
    cmd.args([
        "--host",
        &format!("unix://{DEFAULT_SOCKET}"),
        // No docker bridge, no NAT rules: containers use host networking only.
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
    ]);
    if let Some(root) = &paths.data_root {
        cmd.arg("--data-root").arg(root);
    }
    let child =
        cmd.stdin(Stdio::null()).stdout(log).stderr(err).current_dir("/").process_group(0).spawn().map_err(|e| {
            Error::EngineStart {
                step: "spawn dockerd",
                message: e.to_string(),
                log: paths.log.clone(),
                tail: String::new(),
            }
        })?;
    fs::write(&paths.pid, child.id().to_string()).map_err(io("writing dockerd.pid"))?;
    Ok(child)
}

/// Waits for the engine's socket. With the `child` we just spawned, its exit is read from the child itself
/// (not from /proc, which can lag a fresh spawn); without, from the recorded pid of an earlier start.
async fn wait_socket(paths: &EnginePaths, mut child: Option<Child>, max: Duration) -> Result<Engine> {
    let start = Instant::now();
    let mut last = String::from("not started");
    while start.elapsed() < max {
        match connect_socket(DEFAULT_SOCKET).await {
            Ok(e) => return Ok(e),
            Err(e) => last = e,
        }
        let exited = match child.as_mut() {
            Some(c) => c.try_wait().ok().flatten().map(|status| format!("dockerd {status}")),
            None => our_dockerd(paths).is_none().then(|| "the dockerd of an earlier start is gone".to_string()),
        };
        if let Some(exited) = exited {
            return Err(Error::EngineStart {
                step: "dockerd exited",
                message: format!("{exited}; last answer on {DEFAULT_SOCKET}: {last}"),
                log: paths.log.clone(),
                tail: tail(&paths.log, 15),
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(Error::EngineStart {
        step: "wait for the engine socket",
        message: format!("no answer on {DEFAULT_SOCKET} within {}s: {last}", max.as_secs()),
        log: paths.log.clone(),
        tail: tail(&paths.log, 15),
    })
}

/// Stops the dockerd we started (by its recorded pid, checked to be dockerd). Returns whether one was stopped.
pub async fn stop_our_engine(home: &Path) -> bool {
    let paths = EnginePaths::under(home);
    let Some(pid) = our_dockerd(&paths) else {
        return false;
    };
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let start = Instant::now();
    while our_dockerd(&paths).is_some() && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if our_dockerd(&paths).is_some() {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let _ = fs::remove_file(&paths.pid);
    true
}
