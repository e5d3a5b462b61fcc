//! The build lens's commands: render the site repository, release (pipeline or a given image), roll back, and
//! the recent release history. Each reads the deployed stack through a plan (reads only), so it acts on what
//! AWS has, never on guesses.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use ghost_cicd::release::{self, ReleaseOut};
use ghost_cicd::{Cicd, CicdSpec, site};
use ghost_core::wait::Bound;
use ghost_core::{Env, Mode};
use ghost_stack::StackOutputs;

use crate::stack::{load, session};
use crate::{Output, StackArgs};

/// The deployed stack's outputs (an error naming what is missing if it is not deployed).
async fn deployed(args: &StackArgs) -> Result<(ghost_core::Config, crate::stack::Session, StackOutputs)> {
    let cfg = load(args)?;
    let s = session(args, &cfg).await?;
    let outputs = ghost_stack::operate::deployed(&cfg, &s.sdk).await?;
    Ok((cfg, s, outputs))
}

async fn lens(cfg: &ghost_core::Config, s: &crate::stack::Session) -> Result<(Cicd, CicdSpec)> {
    let env = Env::new(&cfg.stack.name, Mode::Apply).with_observer(crate::output::progress_observer());
    Ok(ghost_stack::operate::cicd(cfg, &s.sdk, env).await?)
}

pub(crate) async fn site_render(args: &StackArgs, dir: &Path) -> Result<()> {
    let (cfg, s, outputs) = deployed(args).await?;
    let (_, spec) = lens(&cfg, &s).await?;
    let files = site::render(&outputs.runtime.task_definition, &spec);
    let written = site::write(dir, &files).with_context(|| format!("writing {}", dir.display()))?;
    for p in &written {
        println!("wrote {}", p.display());
    }
    println!(
        "\nnext: commit these files to {} (branch {}) and push; the pipeline {} builds and releases them.\n  git -C {} init && git -C {} add . && git -C {} commit -m 'Ghost site' && git -C {} push {} HEAD:{}",
        cfg.pipeline.repository,
        cfg.pipeline.branch,
        outputs.cicd.pipeline,
        dir.display(),
        dir.display(),
        dir.display(),
        dir.display(),
        outputs.cicd.source,
        cfg.pipeline.branch
    );
    Ok(())
}

fn bound(timeout_minutes: u64) -> Bound {
    Bound::new(Duration::from_secs(timeout_minutes * 60), Duration::from_secs(5))
}

fn print_release(out: &ReleaseOut, output: Output) -> Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(out)?),
        Output::Text => {
            println!("{} {}: {}", out.via, out.id, out.status);
            if let Some(td) = &out.task_definition {
                println!("  task definition: {td}");
            }
            println!("  watch: {}", out.console);
        }
    }
    Ok(())
}

pub(crate) async fn release(args: &StackArgs, image: Option<&str>, timeout_minutes: u64) -> Result<()> {
    if let Some(image) = image.filter(|i| release::image_id(i).is_none()) {
        return Err(ghost_core::ConfigError::argument(
            "--image",
            image,
            "an image reference with a tag or a digest, e.g. <account>.dkr.ecr.<region>.amazonaws.com/<stack>-blog:<commit>",
        )
        .into());
    }
    let (cfg, s, outputs) = deployed(args).await?;
    let (c, spec) = lens(&cfg, &s).await?;
    let out = match image {
        Some(image) => {
            release::release_image(&c, &spec, &outputs.runtime.task_definition, image, &bound(timeout_minutes)).await
        }
        None => release::start_pipeline(&c, &spec, &bound(timeout_minutes)).await,
    };
    print_release(&out.map_err(|e| still_running(e, "; `cargo xtask rollback` stops it"))?, args.output)
}

/// A wait that ran out is not a failure: the deployment goes on without us. Say so, and how to follow it.
fn still_running(err: ghost_cicd::Error, then: &str) -> anyhow::Error {
    match err {
        ghost_cicd::Error::Core(ghost_core::Error::WaitTimeout { .. }) => anyhow::anyhow!(
            "{err}\n  it is still running: follow it at that link or with `cargo xtask status`{then}; \
             --timeout-minutes waits longer"
        ),
        err => err.into(),
    }
}

pub(crate) async fn rollback(args: &StackArgs, timeout_minutes: u64) -> Result<()> {
    let (cfg, s, _) = deployed(args).await?;
    let (c, spec) = lens(&cfg, &s).await?;
    let out = release::rollback(&c, &spec, &bound(timeout_minutes)).await;
    print_release(&out.map_err(|e| still_running(e, ""))?, args.output)
}

/// The stack's state on one screen, then the last executions and deployments.
pub(crate) async fn status(args: &StackArgs, last: i32) -> Result<()> {
    let cfg = load(args)?;
    let s = session(args, &cfg).await?;
    let status = ghost_stack::operate::status(&cfg, &s.sdk, last).await?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&status)?),
        Output::Text => print!("{status}"),
    }
    Ok(())
}

/// `--since` in seconds; a bad value is invalid input (exit 2).
fn since_seconds(since: &str) -> Result<u64, ghost_core::ConfigError> {
    ghost_observe::metrics::parse_since(since).map_err(|_| {
        ghost_core::ConfigError::argument(
            "--since",
            since,
            "a whole number and one unit: s, m, h, d or w (e.g. 10m, 30d)",
        )
    })
}

/// The service's log events since `since` ago; with `follow`, keeps polling every 2 s until interrupted.
pub(crate) async fn logs(args: &StackArgs, since: &str, follow: bool) -> Result<()> {
    let cfg = load(args)?;
    let window = since_seconds(since)?;
    let s = session(args, &cfg).await?;
    let client = aws_sdk_cloudwatchlogs::Client::new(&s.sdk);
    let group = ghost_runtime::RuntimeSpec::from_config(&cfg).log_group();
    let now_ms = || {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    };
    let mut start = now_ms() - i64::try_from(window).unwrap_or(0) * 1000;
    let mut seen = std::collections::HashSet::new();
    // Locally no awslogs driver runs: ship the local Ghost's output to the group first (when Docker is up).
    let engine = match args.target {
        crate::Target::Local => ghost_local::engine::running_engine().await,
        crate::Target::Aws => None,
    };
    let family = ghost_runtime::RuntimeSpec::from_config(&cfg).family();
    let to = ghost_local::awslogs::Awslogs {
        group: &group,
        stream_prefix: ghost_runtime::ecs::LOG_STREAM_PREFIX,
        container: ghost_runtime::ecs::CONTAINER,
        family: &family,
    };
    loop {
        if let Some(engine) = &engine {
            ghost_local::awslogs::ship(engine, &client, &to).await?;
        }
        let lines = ghost_observe::logs::read_logs(&client, &group, start, &seen).await?;
        for l in &lines {
            match args.output {
                Output::Json => println!("{}", serde_json::to_string(l)?),
                Output::Text => println!("{}", ghost_observe::logs::render_line(l)),
            }
            start = start.max(l.timestamp_ms);
            seen.insert(l.id.clone());
        }
        if !follow {
            if lines.is_empty() && args.output == Output::Text {
                eprintln!("no events in {group} in the last {since}");
            }
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// The four delivery metrics over the last `since`, from the pipeline's and the deployments' history.
pub(crate) async fn metrics(args: &StackArgs, since: &str) -> Result<()> {
    let cfg = load(args)?;
    let window = since_seconds(since)?;
    let s = session(args, &cfg).await?;
    let end =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let m = ghost_stack::operate::metrics(&cfg, &s.sdk, end - i64::try_from(window).unwrap_or(0), end).await?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&m)?),
        Output::Text => print!("{}", ghost_observe::metrics::render_table(&m)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::still_running;

    #[test]
    fn a_wait_that_ran_out_says_the_deployment_is_still_running_and_how_to_follow_it() {
        let timeout = ghost_core::Error::WaitTimeout {
            what: "CodeDeploy deployment d-1 (https://console/d-1)".into(),
            waited_s: 600,
            last: "InProgress".into(),
        };
        let text = still_running(timeout.into(), "; `cargo xtask rollback` stops it").to_string();
        assert!(text.starts_with("gave up waiting for CodeDeploy deployment d-1 (https://console/d-1)"), "{text}");
        assert!(text.contains("still running") && text.contains("cargo xtask status"), "{text}");
        assert!(text.contains("cargo xtask rollback"), "{text}");
        // Any other error passes through as it was.
        let failed = ghost_core::Error::WaitFailed { what: "deployment d-2".into(), state: "Failed".into() };
        assert!(!still_running(failed.into(), "").to_string().contains("still running"));
    }
}
