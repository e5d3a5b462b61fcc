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
    println!("\n{}", site::next_steps(&spec, dir, &outputs.cicd.source));
    Ok(())
}

fn bound(timeout_minutes: u64) -> Bound {
    Bound::new(Duration::from_secs(timeout_minutes * 60), Duration::from_secs(5))
}

fn print_release(out: &ReleaseOut, output: Output) -> Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(out)?),
        Output::Text => println!("{out}"),
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
    let out = out.map_err(|e| anyhow::anyhow!(release::still_running(e, "; `cargo xtask rollback` stops it")))?;
    print_release(&out, args.output)
}

pub(crate) async fn rollback(args: &StackArgs, timeout_minutes: u64) -> Result<()> {
    let (cfg, s, _) = deployed(args).await?;
    let (c, spec) = lens(&cfg, &s).await?;
    let out = release::rollback(&c, &spec, &bound(timeout_minutes)).await;
    print_release(&out.map_err(|e| anyhow::anyhow!(release::still_running(e, "")))?, args.output)
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

/// `cargo xtask alerts-test`: one alarm to ALARM, and what CloudWatch did with its action.
pub(crate) async fn alerts_test(args: &StackArgs) -> Result<()> {
    let cfg = load(args)?;
    let s = session(args, &cfg).await?;
    let delivery = ghost_stack::operate::test_alerts(&cfg, &s.sdk).await?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&delivery)?),
        Output::Text => println!("{delivery}"),
    }
    anyhow::ensure!(delivery.delivered, "the alert was not delivered: {}", delivery.history);
    Ok(())
}

/// The service's log events since `since` ago; with `follow`, keeps polling every 2 s until interrupted.
pub(crate) async fn logs(args: &StackArgs, since: &str, follow: bool) -> Result<()> {
    let cfg = load(args)?;
    let window = ghost_observe::metrics::since_argument(since)?;
    let s = session(args, &cfg).await?;
    let client = aws_sdk_cloudwatchlogs::Client::new(&s.sdk);
    let spec = ghost_runtime::RuntimeSpec::from_config(&cfg);
    let (group, family) = (spec.log_group(), spec.family());
    let mut tail = ghost_observe::logs::Tail::since(&group, window);
    // Locally no awslogs driver runs: ship the local Ghost's output to the group first (when Docker is up).
    let engine = match args.target {
        crate::Target::Local => ghost_local::engine::running_engine().await,
        crate::Target::Aws => None,
    };
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
        let lines = tail.next(&client).await?;
        for l in &lines {
            match args.output {
                Output::Json => println!("{}", serde_json::to_string(l)?),
                Output::Text => println!("{}", ghost_observe::logs::render_line(l)),
            }
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
    let window = ghost_observe::metrics::since_argument(since)?;
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
