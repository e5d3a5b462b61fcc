//! `cargo xtask bench`: a benchmark (not a timed test) on an emulator of its own, reset before every run —
//! a) a cold full deploy against the seed tutorial's own procedure (`bench/seed_cli.sh`: its AWS CLI commands in
//!    order, with awscli from PyPI) for the same resources (2 AZs, public tasks, SQLite, CodeDeploy: the sample);
//! b) a no-op re-deploy; c) a cold deploy with latency added to every call, against the sequential depth of the
//!    calls (the longest chain of calls that each waited for the one before: the critical path) × that latency;
//! d) a plan of the deployed stack — these four with the emulator's lifecycle clock off, so they measure calls;
//! e) under AWS's timing, once: a cold deploy and a destroy `--delete-data` of the seed's shape and of the
//!    production-shaped sample with AWS's durations × `--clock-factor`, converted back to AWS seconds (wall ÷
//!    factor), each against the lower bound its resource graph forces ([`crate::graph`]), and the seed's procedure
//!    on AWS's own durations (factor 1: its CLI's start-up is real time). Medians of `--runs`, as a table and JSON (`--output json`). Before each timed run the
//!    emulator is reset and its service backends warmed by a read-only plan under another key.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use ghost_core::aws::{AwsOptions, sdk_config};
use ghost_core::{Config, DataPolicy, Env, Mode};
use ghost_emulator::{Call, CallSummary, Emulator, Faults, ghost_home, sequential_depth};
use serde::Serialize;

use crate::graph::{self, Durations};

/// awscli from PyPI, pinned, in a venv of its own next to the emulator's.
const AWSCLI: &str = "awscli==1.46.3";
const PORT: u16 = 4590;
const SEED_KEY: &str = "testing";
const OUR_KEY: &str = "BENCH";

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Runs of each measurement; the results are medians.
    pub runs: usize,
    /// Latency added to every call in measurement c.
    pub latency_ms: u64,
    /// The seed's procedure (the tutorial's AWS CLI commands).
    pub seed_script: PathBuf,
    /// No per-run progress lines on stderr.
    pub quiet: bool,
    /// The lifecycle clock's factor for measurement e (AWS seconds → wall seconds); 0 skips it.
    pub clock_factor: f64,
    /// The production-shaped sample measurement e deploys beside the seed's shape.
    pub production_config: PathBuf,
}

#[derive(Debug, Default, Serialize)]
struct Samples {
    seed_s: Vec<f64>,
    seed_calls: usize,
    cold_s: Vec<f64>,
    cold: Option<CallSummary>,
    noop_s: Vec<f64>,
    noop_calls: usize,
    noop_mutating: usize,
    latency_s: Vec<f64>,
    depth: Vec<usize>,
    plan_s: Vec<f64>,
    plan_calls: usize,
}

/// The medians of a benchmark run.
#[derive(Debug, Serialize)]
pub struct Results {
    pub date: String,
    pub machine: String,
    pub runs: usize,
    pub latency_ms: u64,
    pub seed_cold_s: f64,
    pub seed_calls: usize,
    pub cold_s: f64,
    pub cold_calls: usize,
    pub cold_mutating: usize,
    pub speedup_vs_seed: f64,
    pub noop_s: f64,
    pub noop_calls: usize,
    pub noop_mutating: usize,
    pub latency_cold_s: f64,
    pub critical_path_calls: usize,
    pub critical_path_s: f64,
    pub latency_ratio: f64,
    pub plan_s: f64,
    pub plan_calls: usize,
    /// Measurement e: the clock factor and one row per sample.
    pub clock_factor: f64,
    pub aws_timing: Vec<AwsTiming>,
}

/// Measurement e for one sample, in AWS seconds (wall seconds ÷ the clock factor).
#[derive(Debug, Clone, Serialize)]
pub struct AwsTiming {
    pub sample: String,
    pub resources: usize,
    /// The median round trip of the deploy's calls.
    pub call_s: f64,
    pub deploy_s: f64,
    pub deploy_bound: graph::Bound,
    pub deploy_ratio: f64,
    /// The deploy's measured sequential depth (calls in a row), against `deploy_bound.calls`.
    pub deploy_depth: usize,
    pub destroy_s: f64,
    pub destroy_bound: graph::Bound,
    pub destroy_ratio: f64,
    pub destroy_depth: usize,
    /// The seed's CLI procedure on AWS's own durations, wall seconds (the seed's shape only).
    pub seed_s: Option<f64>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// The awscli venv: created with `python3 -m venv` and pip on first use (PyPI), reused after.
fn ensure_awscli(home: &Path) -> Result<PathBuf> {
    let venv = home.join(format!("awscli-{}", AWSCLI.trim_start_matches("awscli==")));
    let aws = venv.join("bin/aws");
    // Compiled once: with PYTHONDONTWRITEBYTECODE set (as on our CI machines) every command would otherwise
    // compile botocore again, about a second each, and the seed's procedure would be timed on that.
    let compiled = venv.join(".compiled");
    if aws.exists() && compiled.exists() {
        return Ok(aws);
    }
    if !aws.exists() {
        eprintln!("installing {AWSCLI} into {} (once)", venv.display());
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status()?.success()
            && Command::new(venv.join("bin/pip")).args(["install", "--quiet", AWSCLI]).status()?.success();
        ensure!(ok && aws.exists(), "could not install {AWSCLI} into {}", venv.display());
    }
    let ok = Command::new(venv.join("bin/python"))
        .args(["-m", "compileall", "-q"])
        .arg(venv.join("lib"))
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .status()?
        .success();
    ensure!(ok, "could not compile {AWSCLI}'s modules in {}", venv.display());
    std::fs::write(&compiled, "")?;
    Ok(aws)
}

pub async fn run(args: &BenchOptions) -> Result<Results> {
    ensure!(args.runs >= 1, "--runs must be at least 1");
    if !args.seed_script.exists() {
        bail!(
            "no seed procedure at {} (run from the repository root, or pass --seed-script)",
            args.seed_script.display()
        );
    }
    let home = ghost_home();
    let aws = ensure_awscli(&home)?;
    let emu = Emulator::new(PORT, home.clone());
    emu.up().await.context("the benchmark's emulator")?;
    let mut cfg = Config::load(Path::new("fixtures/ghost.toml"))?;
    cfg.stack.name = "bench".into();
    cfg.pipeline.repository = "bench-site".into();
    let sdk = sdk_config(&AwsOptions::emulator(&emu.url(), &cfg.stack.region, OUR_KEY)).await;
    let warm_sdk = sdk_config(&AwsOptions::emulator(&emu.url(), &cfg.stack.region, "WARMUP")).await;
    let env = || Env::new(&cfg.stack.name, Mode::Apply);
    // After a reset the emulator builds each service's backend on its first call (EC2 loads its catalogues: about
    // a second). Neither procedure should pay for that: a plan (reads in every service either one uses) under
    // another key warms them before each timed run.
    let reset = || reset_and_warm(&emu, &warm_sdk, &cfg, &[(OUR_KEY, 0.0), (SEED_KEY, 0.0), ("WARMUP", 0.0)]);
    let mut s = Samples::default();

    for i in 1..=args.runs {
        // a) the seed's procedure
        reset().await?;
        let t = Instant::now();
        let out = Command::new("bash")
            .arg(&args.seed_script)
            .env("EP", emu.url())
            .env("AWS", &aws)
            .output()
            .context("running the seed procedure")?;
        let seed_s = t.elapsed().as_secs_f64();
        ensure!(out.status.success(), "the seed procedure failed: {}", String::from_utf8_lossy(&out.stderr));
        s.seed_s.push(seed_s);
        s.seed_calls = emu.calls(Some(SEED_KEY)).await?.len();

        // a) ours, b) no-op, d) plan
        reset().await?;
        let t = Instant::now();
        ghost_stack::deploy(&cfg, &sdk, &env()).await.context("cold deploy")?;
        s.cold_s.push(t.elapsed().as_secs_f64());
        s.cold = Some(CallSummary::of(&emu.calls(Some(OUR_KEY)).await?));
        emu.clear_calls(Some(OUR_KEY)).await?;
        let t = Instant::now();
        let noop = ghost_stack::deploy(&cfg, &sdk, &env()).await.context("re-deploy")?;
        s.noop_s.push(t.elapsed().as_secs_f64());
        let c = CallSummary::of(&emu.calls(Some(OUR_KEY)).await?);
        ensure!(noop.is_noop() && c.mutating == 0, "the re-deploy wrote: {:?}", c.writes());
        (s.noop_calls, s.noop_mutating) = (c.total, c.mutating);
        emu.clear_calls(Some(OUR_KEY)).await?;
        let t = Instant::now();
        ghost_stack::deploy(&cfg, &sdk, &Env::new(&cfg.stack.name, Mode::Plan)).await.context("plan")?;
        s.plan_s.push(t.elapsed().as_secs_f64());
        s.plan_calls = emu.calls(Some(OUR_KEY)).await?.len();

        // c) with latency on every call
        reset().await?;
        emu.faults(
            OUR_KEY,
            &Faults { latency_ms: Some(args.latency_ms), clock_factor: Some(0.0), ..Faults::default() },
        )
        .await?;
        let t = Instant::now();
        let res = ghost_stack::deploy(&cfg, &sdk, &env()).await;
        s.latency_s.push(t.elapsed().as_secs_f64());
        emu.clear_faults(OUR_KEY).await?;
        res.context("cold deploy with latency")?;
        s.depth.push(sequential_depth(&emu.calls(Some(OUR_KEY)).await?));
        if !args.quiet {
            eprintln!(
                "run {i}/{}: seed {seed_s:.1} s, cold {:.2} s, no-op {:.2} s, plan {:.2} s, with {} ms/call {:.2} s (depth {})",
                args.runs,
                s.cold_s[i - 1],
                s.noop_s[i - 1],
                s.plan_s[i - 1],
                args.latency_ms,
                s.latency_s[i - 1],
                s.depth[i - 1]
            );
        }
    }
    let mut aws_timing = Vec::new();
    if args.clock_factor > 0.0 {
        let mut production = Config::load(&args.production_config)?;
        production.stack.name = "bench-prod".into();
        production.pipeline.repository = "bench-prod-site".into();
        let timed = Timed { emu: &emu, sdk: &sdk, warm: &warm_sdk, factor: args.clock_factor, quiet: args.quiet };
        let seed = Some(Seed { script: args.seed_script.as_path(), aws: aws.as_path() });
        aws_timing.push(timed.run("seed's shape (fixtures/ghost.toml)", &cfg, seed).await?);
        let name = format!("production-shaped ({})", args.production_config.display());
        aws_timing.push(timed.run(&name, &production, None).await?);
    }
    emu.reset().await?;
    let _ = emu.down().await;

    let cold = s.cold.clone().unwrap_or_default();
    let depth = {
        let mut d = s.depth.clone();
        d.sort();
        d[d.len() / 2]
    };
    let critical_path_s = depth as f64 * Duration::from_millis(args.latency_ms).as_secs_f64();
    let r = Results {
        date: chrono_free_today(),
        machine: machine(),
        runs: args.runs,
        latency_ms: args.latency_ms,
        seed_cold_s: median(&s.seed_s),
        seed_calls: s.seed_calls,
        cold_s: median(&s.cold_s),
        cold_calls: cold.total,
        cold_mutating: cold.mutating,
        speedup_vs_seed: median(&s.seed_s) / median(&s.cold_s),
        noop_s: median(&s.noop_s),
        noop_calls: s.noop_calls,
        noop_mutating: s.noop_mutating,
        latency_cold_s: median(&s.latency_s),
        critical_path_calls: depth,
        critical_path_s,
        latency_ratio: median(&s.latency_s) / critical_path_s,
        plan_s: median(&s.plan_s),
        plan_calls: s.plan_calls,
        clock_factor: args.clock_factor,
        aws_timing,
    };
    Ok(r)
}

impl std::fmt::Display for Results {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self;
        writeln!(
            f,
            "\nbenchmark, {} ({}), medians of {} runs, emulator on 127.0.0.1:{PORT}",
            r.date, r.machine, r.runs
        )?;
        writeln!(f, "  {:<44} {:>10} {:>7} {:>9}  against", "measurement", "wall", "calls", "mutating")?;
        writeln!(
            f,
            "  {:<44} {:>8.2} s {:>7} {:>9}  seed CLI procedure {:.1} s, {} calls → {:.0}× faster",
            "a) cold deploy (the seed's shape)",
            r.cold_s,
            r.cold_calls,
            r.cold_mutating,
            r.seed_cold_s,
            r.seed_calls,
            r.speedup_vs_seed
        )?;
        writeln!(f, "  {:<44} {:>8.2} s {:>7} {:>9}", "b) no-op re-deploy", r.noop_s, r.noop_calls, r.noop_mutating)?;
        writeln!(
            f,
            "  {:<44} {:>8.2} s {:>7} {:>9}  critical path {} calls × {} ms = {:.1} s → {:.2}×",
            format!("c) cold deploy, {} ms per call", r.latency_ms),
            r.latency_cold_s,
            r.cold_calls,
            r.cold_mutating,
            r.critical_path_calls,
            r.latency_ms,
            r.critical_path_s,
            r.latency_ratio
        )?;
        write!(f, "  {:<44} {:>8.2} s {:>7} {:>9}", "d) plan of the deployed stack", r.plan_s, r.plan_calls, 0)?;
        if r.aws_timing.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\n\ne) under AWS's timing (lifecycle clock × {}; AWS seconds = wall ÷ factor), against the resource graph's lower bound",
            r.clock_factor
        )?;
        for t in &r.aws_timing {
            writeln!(f, "  {} — {} resources, median round trip {:.2} s", t.sample, t.resources, t.call_s)?;
            let line = |what: &str, s: f64, b: &graph::Bound, ratio: f64, depth: usize| {
                format!(
                    "    {what:<8} {s:>6.0} s  bound {:>4.0} s ({}) → {ratio:.2}×; {depth} calls in a row, graph minimum {}",
                    b.seconds,
                    b.path.join(" → "),
                    b.calls
                )
            };
            writeln!(f, "{}", line("deploy", t.deploy_s, &t.deploy_bound, t.deploy_ratio, t.deploy_depth))?;
            writeln!(f, "{}", line("destroy", t.destroy_s, &t.destroy_bound, t.destroy_ratio, t.destroy_depth))?;
            if let Some(seed) = t.seed_s {
                writeln!(
                    f,
                    "    seed's CLI procedure on AWS's durations (factor 1): {seed:.0} s → ours {:.2}× faster",
                    seed / t.deploy_s
                )?;
            }
        }
        Ok(())
    }
}

/// The seed's procedure: its script and the AWS CLI it runs.
#[derive(Clone, Copy)]
struct Seed<'a> {
    script: &'a Path,
    aws: &'a Path,
}

/// Measurement e: deploys and destroys on the lifecycle clock at `factor`.
struct Timed<'a> {
    emu: &'a Emulator,
    sdk: &'a aws_config::SdkConfig,
    warm: &'a aws_config::SdkConfig,
    factor: f64,
    quiet: bool,
}

/// Our polls and retries on the emulator's clock while it lives (`ghost_core::wait::set_pace`): wall ÷ factor is
/// then the run on AWS's timeline, our 15 s pauses included, instead of charging each pause ÷ factor.
struct Paced;

impl Paced {
    fn at(factor: f64) -> Self {
        ghost_core::wait::set_pace(factor);
        Paced
    }
}

impl Drop for Paced {
    fn drop(&mut self) {
        ghost_core::wait::set_pace(1.0);
    }
}

impl Timed<'_> {
    async fn reset(&self, cfg: &Config, key: &str, factor: f64) -> Result<()> {
        reset_and_warm(self.emu, self.warm, cfg, &[(key, factor)]).await
    }

    async fn run(&self, sample: &str, cfg: &Config, seed: Option<Seed<'_>>) -> Result<AwsTiming> {
        let f = self.factor;
        self.reset(cfg, OUR_KEY, f).await?;
        let mut cfg = cfg.clone();
        if !cfg.load_balancer.certificate_arn.is_empty() {
            // The load balancer checks that the certificate exists, as AWS does.
            let acm = aws_sdk_acm::Client::new(self.sdk);
            let cert = acm.request_certificate().domain_name("blog.example.com").send().await?;
            cfg.load_balancer.certificate_arn = cert.certificate_arn().unwrap_or_default().to_string();
        }
        let env = Env::new(&cfg.stack.name, Mode::Apply);
        let paced = Paced::at(f);
        let t = Instant::now();
        let report =
            ghost_stack::deploy(&cfg, self.sdk, &env).await.with_context(|| format!("{sample}: cold deploy"))?;
        let deploy_s = t.elapsed().as_secs_f64() / f;
        let calls = self.emu.calls(Some(OUR_KEY)).await?;
        // Where the time went: the deploy's calls as the recorder saw them, for a reader of the bound's gap.
        let timeline = ghost_home().join(format!("bench-{}-deploy-calls.json", cfg.stack.name));
        std::fs::write(&timeline, serde_json::to_vec(&calls)?)?;
        let call_s = median_round_trip(&calls) / f;
        let deploy_depth = sequential_depth(&calls);
        let kinds = report.resources.iter().map(|r| r.kind.clone()).collect();
        let clock = self.emu.clock().await?;
        let deregistration: f64 = ghost_runtime::lb::DEREGISTRATION_DELAY_S.parse()?;
        // The database lens always asks for Multi-AZ (a database that survives an AZ loss).
        let durations = Durations::from_clock(&clock.aws_seconds, true, deregistration)?;
        let deploy_bound = graph::bound(&graph::DEPLOY, &kinds, &durations, call_s)?;

        self.emu.clear_calls(Some(OUR_KEY)).await?;
        let t = Instant::now();
        ghost_stack::destroy(&cfg, self.sdk, &env, DataPolicy::Delete)
            .await
            .with_context(|| format!("{sample}: destroy"))?;
        let destroy_s = t.elapsed().as_secs_f64() / f;
        drop(paced);
        let destroy_depth = sequential_depth(&self.emu.calls(Some(OUR_KEY)).await?);
        let destroy_bound = graph::bound(&graph::DESTROY, &kinds, &durations, call_s)?;

        let seed_s = match seed {
            Some(seed) => {
                // On AWS's own durations (factor 1): each CLI command's start (a second or more, a new Python
                // process) is real time, which no factor may scale, and the waits overlap it as they would on AWS.
                self.reset(&cfg, SEED_KEY, 1.0).await?;
                let t = Instant::now();
                let out = Command::new("bash")
                    .arg(seed.script)
                    .env("EP", self.emu.url())
                    .env("AWS", seed.aws)
                    .env("FACTOR", "1")
                    .output()
                    .context("running the seed procedure")?;
                ensure!(out.status.success(), "the seed procedure failed: {}", String::from_utf8_lossy(&out.stderr));
                Some(t.elapsed().as_secs_f64())
            }
            None => None,
        };
        let row = AwsTiming {
            sample: sample.to_string(),
            resources: report.resources.len(),
            call_s,
            deploy_s,
            deploy_ratio: deploy_s / deploy_bound.seconds,
            deploy_bound,
            deploy_depth,
            destroy_s,
            destroy_ratio: destroy_s / destroy_bound.seconds,
            destroy_bound,
            destroy_depth,
            seed_s,
        };
        if !self.quiet {
            eprintln!(
                "e) {sample}: deploy {:.0} s (bound {:.0} s, {:.2}×), destroy {:.0} s (bound {:.0} s, {:.2}×){}",
                row.deploy_s,
                row.deploy_bound.seconds,
                row.deploy_ratio,
                row.destroy_s,
                row.destroy_bound.seconds,
                row.destroy_ratio,
                row.seed_s.map(|s| format!(", seed procedure {s:.0} s")).unwrap_or_default()
            );
        }
        Ok(row)
    }
}

/// Resets the emulator, sets each key's clock factor, and warms the service backends (see [`run`]).
async fn reset_and_warm(
    emu: &Emulator,
    warm: &aws_config::SdkConfig,
    cfg: &Config,
    clocks: &[(&str, f64)],
) -> Result<()> {
    emu.reset().await?;
    for (key, factor) in clocks {
        emu.faults(key, &Faults { clock_factor: Some(*factor), ..Faults::default() }).await?;
    }
    ghost_stack::deploy(cfg, warm, &Env::new(&cfg.stack.name, Mode::Plan)).await.context("warm-up plan")?;
    Ok(())
}

/// The median of the calls' round trips (answered calls only), in wall seconds.
fn median_round_trip(calls: &[Call]) -> f64 {
    let trips: Vec<f64> = calls.iter().filter_map(|c| c.end.map(|e| e - c.at)).collect();
    median(&trips)
}

fn chrono_free_today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    format!("{cpus} cores, {mem}")
}
