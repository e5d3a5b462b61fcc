//! Runs an ECS task definition as a local container, by the ensure contract.
//!
//! The container has a deterministic name, host networking, Ghost bound to 127.0.0.1 on a free port
//! (`server__host`, `server__port`, `url`), the task's environment, its secrets resolved from local values,
//! and each EFS volume mapped to a host folder. A label carries a hash of the whole spec: `ensure_container`
//! finds the container by name, compares that hash, and creates, replaces or leaves it (zero writes when
//! unchanged). Readiness is `GET /ghost/api/admin/site/` answering 200, polled with a bound.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures::StreamExt;
use ghost_core::wait::{Bound, Poll, poll_until};
use ghost_core::{Change, Outcome};
use serde::Serialize;

use crate::engine::Engine;
use crate::error::{Error, Result, docker, io, is_not_found};
use crate::taskdef::TaskDefinition;

const LABEL_SPEC: &str = "ghost-local.spec";
const LABEL_PORT: &str = "ghost-local.port";
const LABEL_FAMILY: &str = "ghost-local.family";

/// Local values for what the task definition leaves to AWS.
#[derive(Debug, Clone, Default)]
pub struct LocalSettings {
    /// The container's name (deterministic: `ghost-local-<stack>-<slot>`).
    pub name: String,
    /// The image to run instead of the task definition's (an ECR URI means nothing locally).
    pub image: Option<String>,
    /// Host port for Ghost; `None` keeps the port of an existing container, else picks a free one.
    pub port: Option<u16>,
    /// Task volume name -> host folder standing in for EFS.
    pub volumes: BTreeMap<String, PathBuf>,
    /// Secret values by `valueFrom` (ARN) or by the secret's env name.
    pub secrets: BTreeMap<String, String>,
    /// Extra environment, applied last (e.g. `security__staffDeviceVerification=false`).
    pub env: BTreeMap<String, String>,
    /// Which container of the task definition (default: the first essential one).
    pub container: Option<String>,
}

impl LocalSettings {
    /// How the harness runs a stack's task definition: each volume a folder under `content_root`, each secret
    /// from `GHOST_LOCAL_SECRET_<env name>` or a placeholder (nothing here sends mail), Ghost knowing `url` as
    /// its own, and a MySQL task definition on SQLite (see [`crate::sqlite_fallback`]).
    pub fn for_task(td: &TaskDefinition, name: &str, image: &str, content_root: &std::path::Path, url: &str) -> Self {
        let secrets = td
            .container(None)
            .map(|c| {
                c.secrets
                    .iter()
                    .map(|s| {
                        let v = std::env::var(format!("GHOST_LOCAL_SECRET_{}", s.name))
                            .unwrap_or_else(|_| format!("local-placeholder-{}", s.name));
                        (s.value_from.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut env = crate::local_env();
        env.insert("url".into(), url.to_string());
        env.extend(crate::sqlite_fallback(td).unwrap_or_default());
        Self {
            name: name.to_string(),
            image: Some(image.to_string()),
            port: None,
            volumes: td.volumes.iter().map(|v| (v.name.clone(), content_root.join(&v.name))).collect(),
            secrets,
            env,
            container: None,
        }
    }
}

/// The container as it should be; its hash goes into a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub family: String,
    pub image: String,
    pub port: u16,
    pub env: BTreeMap<String, String>,
    /// `host:container[:ro]`
    pub binds: Vec<String>,
    pub health: Option<Vec<String>>,
    pub health_times_s: [i64; 4],
    pub stop_timeout_s: i32,
}

impl ContainerSpec {
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("spec serializes");
        format!("{:016x}", ghost_emulator::fnv1a(&json))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Secrets never go to labels or logs: the hash covers them, the label holds only the hash.
    fn env_list(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// A running Ghost container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Running {
    pub name: String,
    pub id: String,
    pub url: String,
    pub port: u16,
}

impl std::fmt::Display for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.name, self.url)
    }
}

/// What the engine has under a name.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: String,
    pub running: bool,
    pub exit_code: Option<i64>,
    pub labels: HashMap<String, String>,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    Ok(l.local_addr().map_err(io("finding a free port"))?.port())
}

/// Turns a task definition and local settings into the container spec.
pub fn spec(td: &TaskDefinition, s: &LocalSettings, port: u16) -> Result<ContainerSpec> {
    let c = td.container(s.container.as_deref())?;
    let mut env: BTreeMap<String, String> =
        c.environment.iter().map(|kv| (kv.name.clone(), kv.value.clone())).collect();
    for sec in &c.secrets {
        let v = s.secrets.get(&sec.value_from).or_else(|| s.secrets.get(&sec.name)).ok_or_else(|| {
            Error::TaskDef(format!("secret {} (valueFrom {}) has no local value", sec.name, sec.value_from))
        })?;
        env.insert(sec.name.clone(), v.clone());
    }
    // Host networking: Ghost listens on loopback only, on our port, and knows its URL.
    env.insert("server__host".into(), "127.0.0.1".into());
    env.insert("server__port".into(), port.to_string());
    env.insert("url".into(), format!("http://127.0.0.1:{port}"));
    for (k, v) in &s.env {
        env.insert(k.clone(), v.clone());
    }
    let mut binds = Vec::new();
    for mp in &c.mount_points {
        let host = s.volumes.get(&mp.source_volume).ok_or_else(|| {
            let kind = td
                .volume(&mp.source_volume)
                .and_then(|v| v.efs_volume_configuration.as_ref())
                .map_or("volume", |_| "EFS volume");
            Error::TaskDef(format!(
                "{kind} {} (mounted at {}) has no local folder",
                mp.source_volume, mp.container_path
            ))
        })?;
        let ro = if mp.read_only == Some(true) { ":ro" } else { "" };
        binds.push(format!("{}:{}{ro}", host.display(), mp.container_path));
    }
    let hc = c.health_check.as_ref();
    Ok(ContainerSpec {
        name: s.name.clone(),
        family: td.family.clone(),
        image: s.image.clone().unwrap_or_else(|| c.image.clone()),
        port,
        env,
        binds,
        health: hc.map(|h| h.command.clone()),
        health_times_s: [
            hc.and_then(|h| h.interval).unwrap_or(30),
            hc.and_then(|h| h.timeout).unwrap_or(5),
            hc.and_then(|h| h.retries).unwrap_or(3),
            hc.and_then(|h| h.start_period).unwrap_or(0),
        ],
        stop_timeout_s: c.stop_timeout.unwrap_or(30),
    })
}

/// The container with this name, if any.
pub async fn find_container(engine: &Engine, name: &str) -> Result<Option<Found>> {
    match engine.docker.inspect_container(name, None).await {
        Ok(c) => {
            let state = c.state.unwrap_or_default();
            Ok(Some(Found {
                id: c.id.unwrap_or_default(),
                running: state.running.unwrap_or(false),
                exit_code: state.exit_code,
                labels: c.config.and_then(|c| c.labels).unwrap_or_default(),
            }))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(docker("inspect container", name)(e)),
    }
}

/// What differs between the desired spec and a found container.
pub fn diff(spec: &ContainerSpec, found: &Found) -> Vec<Change> {
    let mut changes = Vec::new();
    let have = found.labels.get(LABEL_SPEC).map_or("none", String::as_str);
    let want = spec.hash();
    if have != want {
        changes.push(Change::new("spec", have, want));
    }
    if !found.running {
        changes.push(Change::new("running", false, true));
    }
    changes
}

/// Ensures the task runs as container `settings.name`: Created, Updated (replaced or restarted) or Unchanged
/// (no write call). Does not wait for Ghost; see [`wait_ready`].
pub async fn ensure_container(
    engine: &Engine,
    td: &TaskDefinition,
    settings: &LocalSettings,
) -> Result<Outcome<Running>> {
    let found = find_container(engine, &settings.name).await?;
    let port = match (settings.port, &found) {
        (Some(p), _) => p,
        (None, Some(f)) => match f.labels.get(LABEL_PORT).and_then(|p| p.parse().ok()) {
            Some(p) => p,
            None => free_port()?,
        },
        (None, None) => free_port()?,
    };
    let spec = spec(td, settings, port)?;
    let running = |id: String| Running { name: spec.name.clone(), id, url: spec.url(), port };
    let Some(found) = found else {
        let id = create_and_start(engine, &spec).await?;
        return Ok(Outcome::Created(running(id)));
    };
    let changes = diff(&spec, &found);
    if changes.is_empty() {
        return Ok(Outcome::Unchanged(running(found.id)));
    }
    let id = if changes.iter().any(|c| c.field == "spec") {
        remove_container(engine, &spec.name).await?;
        create_and_start(engine, &spec).await?
    } else {
        engine.docker.start_container(&spec.name, None).await.map_err(docker("start container", &spec.name))?;
        found.id
    };
    Ok(Outcome::Updated(running(id), changes))
}

async fn create_and_start(engine: &Engine, spec: &ContainerSpec) -> Result<String> {
    for b in &spec.binds {
        let host = b.split(':').next().unwrap_or_default();
        std::fs::create_dir_all(host).map_err(io(format!("creating {host}")))?;
    }
    let secs = |s: i64| s * 1_000_000_000;
    let [interval, timeout, retries, start] = spec.health_times_s;
    let labels = HashMap::from([
        (LABEL_SPEC.to_string(), spec.hash()),
        (LABEL_PORT.to_string(), spec.port.to_string()),
        (LABEL_FAMILY.to_string(), spec.family.clone()),
    ]);
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(spec.env_list()),
        labels: Some(labels),
        stop_timeout: Some(i64::from(spec.stop_timeout_s)),
        healthcheck: spec.health.as_ref().map(|test| HealthConfig {
            test: Some(test.clone()),
            interval: Some(secs(interval)),
            timeout: Some(secs(timeout)),
            retries: Some(retries),
            start_period: Some(secs(start)),
            start_interval: None,
        }),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            binds: Some(spec.binds.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default().name(&spec.name).build();
    let created =
        engine.docker.create_container(Some(opts), body).await.map_err(docker("create container", &spec.name))?;
    engine.docker.start_container(&spec.name, None).await.map_err(docker("start container", &spec.name))?;
    Ok(created.id)
}

/// Stops the container (SIGTERM, then SIGKILL after its stop timeout). Absent or stopped is success.
pub async fn stop_container(engine: &Engine, name: &str) -> Result<bool> {
    let Some(found) = find_container(engine, name).await? else {
        return Ok(false);
    };
    if !found.running {
        return Ok(false);
    }
    let opts = StopContainerOptionsBuilder::default().t(30).build();
    match engine.docker.stop_container(&found.id, Some(opts)).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(false),
        Err(e) => Err(docker("stop container", name)(e)),
    }
}

/// Removes the container (forced: a running one is killed). "Not found" is success. Returns whether one went.
pub async fn remove_container(engine: &Engine, name: &str) -> Result<bool> {
    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
    match engine.docker.remove_container(name, Some(opts)).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(docker("remove container", name)(e)),
    }
}

/// The container's last log lines (stdout and stderr).
pub async fn logs(engine: &Engine, name: &str, lines: usize) -> String {
    let opts = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&lines.to_string()).build();
    let mut s = engine.docker.logs(name, Some(opts));
    let mut out = String::new();
    while let Some(Ok(chunk)) = s.next().await {
        out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    out
}

/// The container's log lines from `since_s` (epoch seconds) on, each prefixed by the engine with its RFC 3339 time
/// (`2026-11-28T07:44:02.123456789Z message`): what an awslogs driver would ship.
pub async fn timestamped_logs(engine: &Engine, name: &str, since_s: i64) -> Result<Vec<String>> {
    let since = i32::try_from(since_s.max(0)).unwrap_or(i32::MAX);
    let opts = LogsOptionsBuilder::default().stdout(true).stderr(true).timestamps(true).since(since).build();
    let mut s = engine.docker.logs(name, Some(opts));
    let mut text = String::new();
    while let Some(chunk) = s.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.map_err(docker("read logs of", name))?.into_bytes()));
    }
    Ok(text.lines().map(str::to_string).collect())
}

/// Waits until Ghost answers `GET /ghost/api/admin/site/` with 200; fails fast when the container exits, and
/// with the container's last log lines when the bound runs out.
pub async fn wait_ready(engine: &Engine, run: &Running, max: Duration) -> Result<Duration> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a plain HTTP client builds");
    let url = format!("{}/ghost/api/admin/site/", run.url);
    let t = std::time::Instant::now();
    let bound = Bound::new(max, Duration::from_millis(500));
    let res = poll_until(&format!("Ghost in {}", run.name), &bound, || {
        let http = http.clone();
        let url = url.clone();
        async move {
            match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(Poll::Ready(())),
                Ok(r) => Ok(Poll::Pending(format!("HTTP {}", r.status()))),
                Err(e) => {
                    // Not listening yet: is the container still there?
                    match find_container(engine, &run.name).await {
                        Ok(Some(f)) if !f.running => {
                            Ok(Poll::Failed(format!("the container exited with code {}", f.exit_code.unwrap_or(-1))))
                        }
                        Ok(None) => Ok(Poll::Failed("the container is gone".into())),
                        _ => Ok(Poll::Pending(format!("not answering: {e}"))),
                    }
                }
            }
        }
    })
    .await;
    match res {
        Ok(()) => Ok(t.elapsed()),
        Err(ghost_core::Error::WaitTimeout { waited_s, last, .. }) => Err(Error::NotHealthy {
            container: run.name.clone(),
            url,
            waited_s,
            last,
            logs: logs(engine, &run.name, 30).await,
        }),
        Err(ghost_core::Error::WaitFailed { state, .. }) => Err(Error::NotHealthy {
            container: run.name.clone(),
            url,
            waited_s: t.elapsed().as_secs(),
            last: state,
            logs: logs(engine, &run.name, 30).await,
        }),
        Err(e) => Err(e.into()),
    }
}

/// A container this harness made, as listed by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub name: String,
    pub id: String,
    pub running: bool,
    pub port: Option<u16>,
    pub family: Option<String>,
}

/// The containers this harness made (found by label), for status and teardown.
pub async fn list_ours(engine: &Engine) -> Result<Vec<Listed>> {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let filters = HashMap::from([("label".to_string(), vec![LABEL_SPEC.to_string()])]);
    let opts = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let list = engine.docker.list_containers(Some(opts)).await.map_err(docker("list containers", "ghost-local"))?;
    Ok(list
        .into_iter()
        .map(|c| {
            let labels = c.labels.unwrap_or_default();
            Listed {
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                id: c.id.unwrap_or_default(),
                running: c.state.is_some_and(|s| s.to_string() == "running"),
                port: labels.get(LABEL_PORT).and_then(|p| p.parse().ok()),
                family: labels.get(LABEL_FAMILY).cloned(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td() -> TaskDefinition {
        TaskDefinition::from_json(
            r#"{"family":"ghost","containerDefinitions":[{"name":"ghost","image":"ecr/ghost:6",
            "environment":[{"name":"database__client","value":"sqlite3"},{"name":"url","value":"https://blog.example"}],
            "secrets":[{"name":"mail__pass","valueFrom":"arn:aws:secretsmanager:x:1:secret:mail"}],
            "mountPoints":[{"sourceVolume":"content","containerPath":"/var/lib/ghost/content"}]}],
            "volumes":[{"name":"content","efsVolumeConfiguration":{"fileSystemId":"fs-1"}}]}"#,
        )
        .unwrap()
    }

    fn settings() -> LocalSettings {
        LocalSettings {
            name: "ghost-local-test-blue".into(),
            image: Some("ghost-local:6.65.0-abc".into()),
            volumes: BTreeMap::from([("content".into(), PathBuf::from("/tmp/content"))]),
            secrets: BTreeMap::from([("arn:aws:secretsmanager:x:1:secret:mail".into(), "s3cret".into())]),
            ..Default::default()
        }
    }

    #[test]
    fn spec_binds_loopback_maps_efs_and_resolves_secrets() {
        let s = spec(&td(), &settings(), 40123).unwrap();
        assert_eq!(s.env["server__host"], "127.0.0.1");
        assert_eq!(s.env["url"], "http://127.0.0.1:40123");
        assert_eq!(s.env["mail__pass"], "s3cret");
        assert_eq!(s.binds, ["/tmp/content:/var/lib/ghost/content"]);
        assert_eq!(s.image, "ghost-local:6.65.0-abc");
    }

    #[test]
    fn missing_local_values_are_named() {
        let mut st = settings();
        st.secrets.clear();
        let err = spec(&td(), &st, 1).unwrap_err().to_string();
        assert!(err.contains("mail__pass"), "{err}");
        let mut st = settings();
        st.volumes.clear();
        let err = spec(&td(), &st, 1).unwrap_err().to_string();
        assert!(err.contains("EFS volume content"), "{err}");
    }

    #[test]
    fn diff_is_empty_for_the_same_spec_and_names_changes() {
        let s = spec(&td(), &settings(), 40123).unwrap();
        let found = Found {
            id: "x".into(),
            running: true,
            exit_code: None,
            labels: HashMap::from([(LABEL_SPEC.to_string(), s.hash())]),
        };
        assert!(diff(&s, &found).is_empty());
        let other = spec(&td(), &settings(), 40124).unwrap();
        assert_eq!(diff(&other, &found)[0].field, "spec");
        let stopped = Found { running: false, ..found };
        assert_eq!(diff(&s, &stopped)[0].field, "running");
    }
}
