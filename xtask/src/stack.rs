//! deploy / plan / destroy: load and validate the config (exit 2 before any call), pick the target, run the
//! stack, render the report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ghost_core::aws::{AwsOptions, sdk_config};
use ghost_core::{Config, Env, Mode};
use ghost_emulator::{CallSummary, Emulator};

use crate::{Output, StackArgs, Target, output};

const DEFAULT_CONFIG: &str = "ghost.toml";
const SAMPLE_CONFIG: &str = "fixtures/ghost.toml";

/// The config file to use: the one given, else ./ghost.toml, else the sample (said plainly).
fn config_path(args: &StackArgs) -> PathBuf {
    if let Some(p) = &args.config {
        return p.clone();
    }
    if Path::new(DEFAULT_CONFIG).exists() {
        return PathBuf::from(DEFAULT_CONFIG);
    }
    eprintln!("no ./{DEFAULT_CONFIG}: using the sample {SAMPLE_CONFIG} (copy it to {DEFAULT_CONFIG} to make it yours)");
    PathBuf::from(SAMPLE_CONFIG)
}

/// A validated config; errors are `ConfigError`, which main maps to exit code 2.
pub(crate) fn load(args: &StackArgs) -> Result<Config> {
    Ok(Config::load(&config_path(args))?)
}

/// How this run talks to AWS; for the local target, also the emulator handle and this run's access key (the
/// emulator's recorder counts calls by key, so each run can report its own).
pub(crate) struct Session {
    pub(crate) sdk: ghost_core::aws::SdkConfig,
    recorder: Option<(Emulator, String)>,
}

pub(crate) async fn session(args: &StackArgs, cfg: &Config) -> Result<Session> {
    match args.target {
        Target::Local => {
            let emu = Emulator::from_env();
            emu.up().await.context("starting the local emulator")?;
            let key = format!("GHOST{}", std::process::id());
            let opts = AwsOptions::emulator(&emu.url(), &cfg.stack.region, &key);
            Ok(Session { sdk: sdk_config(&opts).await, recorder: Some((emu, key)) })
        }
        Target::Aws => {
            let opts = AwsOptions {
                profile: args.profile.clone(),
                region: Some(cfg.stack.region.clone()),
                ..Default::default()
            };
            Ok(Session { sdk: sdk_config(&opts).await, recorder: None })
        }
    }
}

impl Session {
    async fn calls(&self) -> Option<CallSummary> {
        let (emu, key) = self.recorder.as_ref()?;
        emu.calls(Some(key)).await.ok().map(|c| CallSummary::of(&c))
    }
}

fn lock_options(args: &StackArgs) -> ghost_stack::LockOptions {
    ghost_stack::LockOptions { wait: std::time::Duration::from_secs(args.lock_wait), break_lock: args.break_lock }
}

/// Live progress goes to stderr, so with --output json stdout carries only the JSON document.
fn env_for(cfg: &Config, mode: Mode) -> Env {
    Env::new(&cfg.stack.name, mode).with_observer(output::progress_observer())
}

pub(crate) async fn deploy(args: &StackArgs, mode: Mode) -> Result<()> {
    let cfg = load(args)?;
    let s = session(args, &cfg).await?;
    let env = env_for(&cfg, mode);
    let res = ghost_stack::deploy_with(&cfg, &s.sdk, &env, &lock_options(args)).await;
    let calls = s.calls().await;
    let report = res.context(if mode == Mode::Plan { "plan failed" } else { "deploy failed" })?;
    output::report(&report, calls.as_ref(), args.output);
    let local = args.target == Target::Local;
    if mode == Mode::Apply && args.output == Output::Text {
        output::next_steps(&report, local);
    }
    // The emulator runs no task: locally, the registered task definition runs as a real Ghost container, with a
    // host folder standing in for EFS.
    if mode == Mode::Apply
        && local
        && !args.no_ghost
        && let Some(o) = &report.outputs
    {
        let json = serde_json::to_string(&o.runtime.task_definition)?;
        eprintln!("\nrunning the service's task definition as Ghost on this machine (skip with --no-ghost)");
        crate::local::up(&cfg.stack.name, None, &json, args.output == Output::Json)
            .await
            .context("running Ghost locally")?;
    }
    Ok(())
}

pub(crate) async fn destroy(args: &StackArgs, dry_run: bool, delete_data: bool) -> Result<()> {
    let cfg = load(args)?;
    let s = session(args, &cfg).await?;
    let env = env_for(&cfg, if dry_run { Mode::Plan } else { Mode::Apply });
    let data = if delete_data { ghost_core::DataPolicy::Delete } else { ghost_core::DataPolicy::Keep };
    let res = ghost_stack::destroy_with(&cfg, &s.sdk, &env, data, &lock_options(args)).await;
    let calls = s.calls().await;
    let report = res.context("destroy failed")?;
    output::report(&report, calls.as_ref(), args.output);
    // The service is gone, so its local stand-in stops too; its content folder follows the data rule.
    if !dry_run && args.target == Target::Local {
        let json = args.output == Output::Json;
        let header = format!("\nthe local Ghost of {}:", cfg.stack.name);
        if json {
            eprintln!("{header}")
        } else {
            println!("{header}")
        }
        crate::local::down(&cfg.stack.name, delete_data, json).await.context("stopping the local Ghost")?;
    }
    Ok(())
}
