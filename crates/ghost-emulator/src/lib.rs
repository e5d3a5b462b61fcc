//! The local AWS emulator, driven from Rust: a pinned moto in a venv outside the clone, wrapped by
//! `localstack/launcher.py` (call recorder, fault injection), served on 127.0.0.1:4566.
//!
//! It lives in its own small crate (not in ghost-local) because every lens's integration tests need it and none
//! of them should compile the Docker client to get it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ghost_emulator::Error> {
//! let emu = ghost_emulator::Emulator::from_env();
//! emu.up().await?;                       // venv + start if nothing answers; no-op when running
//! let calls = emu.calls(Some("AKIDTEST")).await?;
//! println!("{} mutating calls", calls.iter().filter(|c| c.mutating).count());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The launcher and its pinned requirements travel inside the crate, so an embedding tool needs no checkout.
const LAUNCHER: &str = include_str!("../../../localstack/launcher.py");
const REQUIREMENTS: &str = include_str!("../../../localstack/requirements.txt");

/// LocalStack's port, so `AWS_ENDPOINT_URL=http://127.0.0.1:4566` works for either emulator.
pub const DEFAULT_PORT: u16 = 4566;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "setting up the emulator's Python venv failed: {0}\n(needs python3 with the venv module and access to PyPI)"
    )]
    Venv(String),
    #[error("the emulator did not become ready on {url} within {waited_s}s; last lines of {log}:\n{tail}")]
    NotReady { url: String, waited_s: u64, log: String, tail: String },
    #[error(
        "port {port} answers but is not our emulator (no /_ghost/health); stop whatever listens there or set GHOST_EMULATOR_PORT"
    )]
    PortTaken { port: u16 },
    #[error("emulator request {what} failed: {source}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// One recorded AWS request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub key: String,
    pub service: String,
    pub action: String,
    pub mutating: bool,
    pub status: u16,
    #[serde(default)]
    pub injected: Option<String>,
    /// A REST call's operation (`CreateFileSystem` for `POST /2015-02-01/file-systems`), from the service model.
    #[serde(default)]
    pub operation: Option<String>,
    /// When the emulator received the call and when it answered (epoch seconds).
    #[serde(default)]
    pub at: f64,
    #[serde(default)]
    pub end: Option<f64>,
}

/// The emulator's lifecycle clock, as `GET /_ghost/clock` reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Clock {
    pub clock_factor: f64,
    pub aws_seconds: std::collections::BTreeMap<String, f64>,
}

/// The longest chain of calls each of which started after the one before it had been answered: how many
/// round trips in a row the caller made at least (its critical path through the API, in calls).
pub fn sequential_depth(calls: &[Call]) -> usize {
    let mut sorted: Vec<&Call> = calls.iter().filter(|c| c.end.is_some()).collect();
    sorted.sort_by(|a, b| a.at.total_cmp(&b.at));
    let mut depth = vec![1usize; sorted.len()];
    for i in 0..sorted.len() {
        for j in 0..i {
            if sorted[j].end.unwrap_or(f64::MAX) <= sorted[i].at {
                depth[i] = depth[i].max(depth[j] + 1);
            }
        }
    }
    depth.into_iter().max().unwrap_or(0)
}

/// What the emulator's fault-injecting front does to one caller's calls (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Faults {
    /// A crash at the k-th mutating call: later calls fail (`CrashAs::Error`), or the k-th is made and its answer
    /// lost and later ones dropped (`CrashAs::Drop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_after_mutating: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_as: Option<CrashAs>,
    /// The same crash, right after the first call of this action (`CreateLoadBalancer`): a process killed
    /// during whatever follows that call, such as its readiness wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_after_action: Option<String>,
    /// This fraction of calls is throttled (400 ThrottlingException / 429) or refused with a 503, except a call's
    /// last attempt; seeded by `transient_seed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transient_fraction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transient_seed: Option<u64>,
    /// Every attempt of every call of this action (or REST operation) is throttled, the last one too: the SDK's
    /// retries run out and the caller gets the throttling error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_action: Option<String>,
    /// Added to every call before it is handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// The lifecycle clock's factor for resources this caller creates (AWS's durations times it), instead of the
    /// launcher's: a test holds one resource in its pending state as long as it needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_factor: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashAs {
    /// A non-retryable AWS error (`InjectedCrash`) for every call after the k-th write.
    Error,
    /// The k-th write is made and its connection dropped unanswered; every later call is dropped unprocessed.
    Drop,
}

/// The service the stack lock lives in (the stack itself makes no SSM resource).
const LOCK_SERVICE: &str = "ssm";

/// Calls grouped by service and action, for `cargo xtask emulator calls` and test assertions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallSummary {
    pub total: usize,
    /// Writes to the stack's AWS resources: every mutating call but the stack lock's.
    pub mutating: usize,
    /// The stack lock's writes (SSM: taking and giving back the lock, two per writing run), counted apart so
    /// "zero writes" keeps meaning "no resource was touched".
    pub lock: usize,
    /// Calls the fault-injecting front failed (each one a retry for the SDK, or the end of a crashed run).
    pub injected: usize,
    /// `service:Action` -> how often, and whether it writes.
    pub by_action: BTreeMap<String, ActionCount>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActionCount {
    pub calls: usize,
    pub mutating: bool,
}

impl CallSummary {
    pub fn of(calls: &[Call]) -> Self {
        let mut s = Self { total: calls.len(), ..Self::default() };
        for c in calls {
            let lock = c.mutating && c.service == LOCK_SERVICE;
            s.lock += usize::from(lock);
            s.mutating += usize::from(c.mutating && !lock);
            s.injected += usize::from(c.injected.is_some());
            let e = s.by_action.entry(format!("{}:{}", c.service, c.action)).or_default();
            e.calls += 1;
            e.mutating = c.mutating;
        }
        s
    }

    /// The mutating (service, action) pairs but the stack lock's, for a readable assertion message.
    pub fn writes(&self) -> Vec<String> {
        let lock = format!("{LOCK_SERVICE}:");
        self.by_action
            .iter()
            .filter(|(a, c)| c.mutating && !a.starts_with(&lock))
            .map(|(a, c)| format!("{a} x{}", c.calls))
            .collect()
    }
}

impl std::fmt::Display for CallSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:<52} {:>6}  kind", "service:action", "calls")?;
        for (action, c) in &self.by_action {
            writeln!(f, "{action:<52} {:>6}  {}", c.calls, if c.mutating { "write" } else { "read" })?;
        }
        write!(f, "total {} calls, {} mutating, {} for the stack lock", self.total, self.mutating, self.lock)
    }
}

/// A handle on the emulator: where it listens and where its venv, pid and log live.
#[derive(Debug, Clone)]
pub struct Emulator {
    port: u16,
    home: PathBuf,
    http: reqwest::Client,
}

/// Whether [`Emulator::up`] started it or found it running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Started {
    AlreadyRunning,
    Started,
}

impl Emulator {
    /// Port from `GHOST_EMULATOR_PORT` (default 4566); state under `GHOST_HOME` (default `~/.cache/ghost-ecs`).
    pub fn from_env() -> Self {
        let port = std::env::var("GHOST_EMULATOR_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT);
        Self::new(port, ghost_home())
    }

    pub fn new(port: u16, home: PathBuf) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .expect("a plain HTTP client builds");
        Self { port, home, http }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.home.join(format!("emulator-{}.log", self.port))
    }

    fn pid_path(&self) -> PathBuf {
        self.home.join(format!("emulator-{}.pid", self.port))
    }

    /// The venv is keyed by the requirements' content, so changing a pin builds a fresh one.
    pub fn venv_dir(&self) -> PathBuf {
        self.home.join(format!("venv-{:016x}", fnv1a(REQUIREMENTS.as_bytes())))
    }

    /// True when our launcher, of this very build, answers its health probe.
    pub async fn is_up(&self) -> bool {
        matches!(self.probe().await, Probe::Ours { current: true })
    }

    async fn probe(&self) -> Probe {
        let res = self.http.get(format!("{}/_ghost/health", self.url())).timeout(Duration::from_secs(2)).send().await;
        match res {
            Ok(r) if r.status().is_success() => {
                let health: serde_json::Value = r.json().await.unwrap_or_default();
                Probe::Ours { current: health["build"].as_str() == Some(build().as_str()) }
            }
            Ok(_) => Probe::Foreign,
            Err(e) if e.is_connect() => Probe::Nothing,
            Err(_) => Probe::Foreign,
        }
    }

    /// Starts the emulator unless it already answers. Safe to call from many tests at once: a file lock makes
    /// one of them start it and the others wait for it.
    pub async fn up(&self) -> Result<Started> {
        match self.probe().await {
            Probe::Ours { current: true } => return Ok(Started::AlreadyRunning),
            Probe::Foreign => return Err(Error::PortTaken { port: self.port }),
            Probe::Ours { current: false } | Probe::Nothing => {}
        }
        fs::create_dir_all(&self.home).map_err(io(format!("creating {}", self.home.display())))?;
        let lock_path = self.home.join(format!("emulator-{}.lock", self.port));
        let lock = File::create(&lock_path).map_err(io(format!("creating {}", lock_path.display())))?;
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
            .await
            .expect("lock task")
            .map_err(io("locking the emulator start"))?;
        let res = async {
            match self.probe().await {
                Probe::Ours { current: true } => return Ok(Started::AlreadyRunning),
                Probe::Ours { current: false } => {
                    // An emulator from another version of the launcher (e.g. before a pull): its extensions
                    // differ from what this code expects. Replace it; its state goes with it.
                    eprintln!("emulator: replacing a running emulator of another launcher build (its state is lost)");
                    self.stop_listener().await;
                }
                _ => {}
            }
            let python = self.ensure_venv().await?;
            self.spawn(&python)?;
            self.wait_ready(Duration::from_secs(90)).await?;
            Ok(Started::Started)
        }
        .await;
        drop(lock);
        res
    }

    /// Creates the venv and installs the pinned requirements, once. Returns its python.
    pub async fn ensure_venv(&self) -> Result<PathBuf> {
        let venv = self.venv_dir();
        let python = venv.join("bin/python");
        let ready = venv.join(".ready");
        if ready.exists() && python.exists() {
            return Ok(python);
        }
        let req = self.home.join("requirements.txt");
        fs::write(&req, REQUIREMENTS).map_err(io("writing requirements.txt"))?;
        eprintln!("emulator: creating Python venv {} (once; pip install of the pinned moto)", venv.display());
        let venv_s = venv.display().to_string();
        let req_s = req.display().to_string();
        let python_s = python.display().to_string();
        tokio::task::spawn_blocking(move || -> Result<()> {
            run(Command::new(std::env::var("GHOST_PYTHON").unwrap_or_else(|_| "python3".into()))
                .args(["-m", "venv", "--clear", &venv_s]))?;
            run(Command::new(&python_s).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                &req_s,
            ]))
        })
        .await
        .expect("venv task")?;
        fs::write(&ready, REQUIREMENTS).map_err(io("marking the venv ready"))?;
        Ok(python)
    }

    fn spawn(&self, python: &Path) -> Result<()> {
        use std::os::unix::process::CommandExt;
        let launcher = self.home.join("launcher.py");
        fs::write(&launcher, LAUNCHER).map_err(io("writing launcher.py"))?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io(format!("opening {}", self.log_path().display())))?;
        let err = log.try_clone().map_err(io("cloning the log handle"))?;
        let child = Command::new(python)
            .arg(&launcher)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string(), "--build", &build()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            // moto's own recorder stays available (POST /moto-api/recorder/start-recording) but off: ours counts
            // every call already, and moto's appends every request body to a file without bound.
            .env("MOTO_RECORDER_FILEPATH", self.home.join("moto_recording"))
            // The emulator outlives the command (and the clone) that started it: never keep a cwd in the clone.
            .current_dir(&self.home)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            // Own process group: a Ctrl-C of the deploy that started it does not take the emulator down.
            .process_group(0)
            .spawn()
            .map_err(io(format!("starting {}", python.display())))?;
        fs::write(self.pid_path(), child.id().to_string()).map_err(io("writing the pid file"))?;
        Ok(())
    }

    async fn wait_ready(&self, max: Duration) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < max {
            if self.is_up().await {
                return Ok(());
            }
            if self.pid().is_some_and(|pid| !alive(pid)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(Error::NotReady {
            url: self.url(),
            waited_s: start.elapsed().as_secs(),
            log: self.log_path().display().to_string(),
            tail: tail(&self.log_path(), 20),
        })
    }

    fn pid(&self) -> Option<u32> {
        fs::read_to_string(self.pid_path()).ok()?.trim().parse().ok()
    }

    /// Stops the emulator we started (by its recorded pid, checked to be our launcher). No-op when not running.
    pub async fn down(&self) -> Result<bool> {
        let Some(pid) = self.pid() else {
            return Ok(false);
        };
        let ours = runs(pid, "launcher.py");
        let _ = fs::remove_file(self.pid_path());
        if !ours {
            return Ok(false);
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let start = Instant::now();
        while alive(pid) && start.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if alive(pid) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        Ok(true)
    }

    /// Stops whatever launcher listens on our port, by the pid its health probe reports (it may have been
    /// started from another GHOST_HOME, so our pid file may not know it).
    async fn stop_listener(&self) {
        let url = format!("{}/_ghost/health", self.url());
        let pid = match self.http.get(&url).send().await {
            Ok(r) => r.json::<serde_json::Value>().await.ok().and_then(|h| h["pid"].as_u64()),
            Err(_) => None,
        };
        if let Some(pid) = pid.and_then(|p| u32::try_from(p).ok()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let start = Instant::now();
            while alive(pid) && start.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let _ = fs::remove_file(self.pid_path());
    }

    /// Forgets every resource (moto's reset), the recorder and the faults.
    pub async fn reset(&self) -> Result<()> {
        self.post("/moto-api/reset", None).await.map(|_| ())
    }

    /// The lifecycle clock: the launcher's factor and AWS's seconds per phase (`nat-gateway/pending`, ...).
    pub async fn clock(&self) -> Result<Clock> {
        self.get("/_ghost/clock").await
    }

    /// Recorded calls, all or of one access key.
    pub async fn calls(&self, key: Option<&str>) -> Result<Vec<Call>> {
        self.get(&key.map_or("/_ghost/calls".to_string(), |k| format!("/_ghost/calls?key={k}"))).await
    }

    pub async fn clear_calls(&self, key: Option<&str>) -> Result<()> {
        let path = key.map_or("/_ghost/calls/clear".to_string(), |k| format!("/_ghost/calls/clear?key={k}"));
        self.post(&path, None).await.map(|_| ())
    }

    /// Lets `k` mutating calls of `key` through, then fails every later call of that key (a crash after call k).
    pub async fn crash_after(&self, key: &str, k: usize) -> Result<()> {
        self.faults(key, &Faults { crash_after_mutating: Some(k), ..Faults::default() }).await
    }

    /// Arms the fault-injecting front for the calls of `key` (see [`Faults`]); replaces what was armed before.
    pub async fn faults(&self, key: &str, faults: &Faults) -> Result<()> {
        let mut body = serde_json::to_value(faults).expect("faults serialize");
        body["key"] = key.into();
        self.post("/_ghost/faults", Some(body)).await.map(|_| ())
    }

    pub async fn clear_faults(&self, key: &str) -> Result<()> {
        let url = format!("{}/_ghost/faults?key={key}", self.url());
        self.http
            .delete(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|source| Error::Http { what: format!("DELETE {url}"), source })?;
        Ok(())
    }

    /// Runs the default EFS backup plan's nightly job now: a recovery point in aws/efs/automatic-backup-vault for
    /// every file system whose automatic backups are on. Returns the recovery points' ARNs.
    pub async fn run_automatic_backups(&self) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ran {
            recovery_points: Vec<String>,
        }
        let url = format!("{}/_ghost/backup/run", self.url());
        let ran: Ran = self
            .post("/_ghost/backup/run", None)
            .await?
            .json()
            .await
            .map_err(|source| Error::Http { what: format!("POST {url}"), source })?;
        Ok(ran.recovery_points)
    }

    /// Keeps new CodeDeploy deployments of `application` `InProgress` before their traffic shift (`on`): a
    /// release in flight, to time out on, stop or roll back.
    pub async fn hold_codedeploy(&self, application: &str, on: bool) -> Result<()> {
        self.post(&format!("/_ghost/codedeploy/hold?on={}&application={application}", u8::from(on)), None)
            .await
            .map(|_| ())
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = format!("{}{path}", self.url());
        let what = || format!("GET {url}");
        let resp = self.http.get(&url).send().await.map_err(|source| Error::Http { what: what(), source })?;
        resp.error_for_status()
            .map_err(|source| Error::Http { what: what(), source })?
            .json()
            .await
            .map_err(|source| Error::Http { what: what(), source })
    }

    async fn post(&self, path: &str, body: Option<serde_json::Value>) -> Result<reqwest::Response> {
        let url = format!("{}{path}", self.url());
        let mut req = self.http.post(&url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|source| Error::Http { what: format!("POST {url}"), source })
    }
}

enum Probe {
    /// Our launcher; `current` when it is this build.
    Ours {
        current: bool,
    },
    Foreign,
    Nothing,
}

/// Content hash of the launcher and its requirements: a running emulator of another build is replaced.
fn build() -> String {
    format!("{:016x}", fnv1a(format!("{LAUNCHER}{REQUIREMENTS}").as_bytes()))
}

/// `GHOST_HOME`, else `$HOME/.cache/ghost-ecs`: state that must outlive a clone (venv, caches, logs).
pub fn ghost_home() -> PathBuf {
    if let Ok(h) = std::env::var("GHOST_HOME") {
        return PathBuf::from(h);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache/ghost-ecs")
}

/// Whether `pid` is a running process whose command line names `program`: how the background processes we
/// start (emulator, dockerd, the local front) are recognised from their pid files. A zombie's command line is
/// empty, so an exited process not yet reaped (PID 1 here does not reap) does not count.
pub fn runs(pid: u32, program: &str) -> bool {
    fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(program))
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().map_err(|e| Error::Venv(format!("{cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Venv(format!("{cmd:?} exited with {}:\n{}", out.status, String::from_utf8_lossy(&out.stderr))))
    }
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; its state letter is Z.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return "(no log)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(8192)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// FNV-1a: a stable content hash for cache keys (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_or_a_missing_pid_is_not_a_running_program() {
        let me = std::process::id();
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        assert!(runs(me, &name), "this test process runs {name}");
        assert!(!runs(me, "dockerd"), "a pid running something else is not dockerd");
        assert!(!runs(u32::MAX, "dockerd"), "no such pid");

        // An exited child not yet reaped is a zombie: its pid still exists but it runs nothing.
        let mut child = Command::new("sleep").arg("0").spawn().unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")) {
            assert!(Instant::now() < deadline, "sleep 0 did not exit within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!runs(pid, "sleep"), "a zombie counts as not running");
        child.wait().unwrap();
    }

    #[test]
    fn summary_groups_and_counts_writes() {
        let call = |a: &str, m| Call {
            key: "k".into(),
            service: "ec2".into(),
            action: a.into(),
            mutating: m,
            status: 200,
            injected: None,
            operation: None,
            at: 0.0,
            end: None,
        };
        let s = CallSummary::of(&[call("DescribeVpcs", false), call("CreateVpc", true), call("DescribeVpcs", false)]);
        assert_eq!((s.total, s.mutating), (3, 1));
        assert_eq!(s.writes(), ["ec2:CreateVpc x1"]);
        assert_eq!(s.by_action["ec2:DescribeVpcs"], ActionCount { calls: 2, mutating: false });
    }

    #[test]
    fn sequential_depth_counts_calls_that_waited_for_each_other() {
        let call = |at: f64, end: f64| Call {
            key: "k".into(),
            service: "ec2".into(),
            action: "A".into(),
            mutating: false,
            status: 200,
            injected: None,
            operation: None,
            at,
            end: Some(end),
        };
        // Two concurrent calls, then one after both, then two concurrent again: three rounds.
        let calls = [call(0.0, 1.0), call(0.1, 1.1), call(1.2, 2.0), call(2.1, 3.0), call(2.1, 2.5)];
        assert_eq!(sequential_depth(&calls), 3);
        assert_eq!(sequential_depth(&[]), 0);
    }

    #[test]
    fn venv_key_follows_requirements() {
        assert_ne!(fnv1a(b"moto==5.2.5"), fnv1a(b"moto==5.2.4"));
    }
}
