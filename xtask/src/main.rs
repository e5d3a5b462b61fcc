//! `cargo xtask`: the project's command line. Thin on purpose: the work lives in the library crates.
//!
//! Exit codes: 0 done, 1 failed while applying, 2 invalid input (nothing was called).

mod audit;
mod cicd;
mod emulator;
mod local;
mod output;
mod proof;
mod stack;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Ghost on ECS: deploy, plan and destroy a stack; run the emulator and the tests"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// More log output (-v info, -vv debug); RUST_LOG wins when set.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// The embedded emulator on 127.0.0.1 (started when nothing answers).
    Local,
    /// AWS through the standard credential chain; honours AWS_ENDPOINT_URL and AWS_PROFILE.
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    Text,
    Json,
}

/// Options shared by the stack commands.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StackArgs {
    /// The stack's config file (default: ./ghost.toml, else the sample fixtures/ghost.toml).
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Target::Local)]
    target: Target,
    /// AWS profile (target aws).
    #[arg(long)]
    profile: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// deploy --target local: skip running the task definition as a local Ghost container (no Docker needed).
    #[arg(long)]
    no_ghost: bool,
    /// deploy/destroy: seconds to wait for another run holding the stack lock before refusing.
    #[arg(long, default_value_t = 600)]
    lock_wait: u64,
    /// deploy/destroy: take the stack lock even if another run holds it (only when that run died).
    #[arg(long)]
    break_lock: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Bring the stack to the state the config describes (idempotent: a re-run changes nothing).
    Deploy(StackArgs),
    /// Show what deploy would create (+), update (~) or delete (-), changing nothing.
    Plan(StackArgs),
    /// Delete everything tagged with the stack, in reverse order.
    Destroy {
        #[command(flatten)]
        args: StackArgs,
        /// List what would be deleted, deleting nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the data stores (the EFS file system with Ghost's content). Without it they are kept.
        #[arg(long)]
        delete_data: bool,
    },
    /// The Ghost site repository: `site render DIR` writes its Dockerfile, buildspec.yml (and, with CodeDeploy,
    /// taskdef.json from the deployed task definition and appspec.yaml).
    Site {
        #[command(subcommand)]
        cmd: SiteCmd,
    },
    /// Start a release: the pipeline (default), or a given image directly (blue/green, with automatic rollback).
    Release {
        #[command(flatten)]
        args: StackArgs,
        /// Deploy this image (e.g. <account>.dkr.ecr.<region>.amazonaws.com/<stack>-blog:<commit>) without the pipeline.
        #[arg(long)]
        image: Option<String>,
        /// Give up waiting after this many minutes (the release keeps running; the message says where to look).
        #[arg(long, default_value_t = 30)]
        timeout_minutes: u64,
    },
    /// Stop the in-flight deployment with rollback, or roll back to the previous task-definition revision.
    Rollback {
        #[command(flatten)]
        args: StackArgs,
        #[arg(long, default_value_t = 30)]
        timeout_minutes: u64,
    },
    /// The service's log events (FilterLogEvents on its log group).
    Logs {
        #[command(flatten)]
        args: StackArgs,
        /// How far back: a number and s, m, h, d or w.
        #[arg(long, default_value = "10m")]
        since: String,
        /// Keep printing new events (every 2 s) until Ctrl-C.
        #[arg(long, short)]
        follow: bool,
    },
    /// The four delivery metrics (deployment frequency, lead time, change failure rate, time to restore).
    Metrics {
        #[command(flatten)]
        args: StackArgs,
        #[arg(long, default_value = "30d")]
        since: String,
    },
    /// Proves an alert arrives: sets one of the stack's alarms to ALARM (every subscriber gets the alert) and
    /// reads from the alarm's history whether CloudWatch delivered its action to the alert topic; exit 1 if not.
    AlertsTest(StackArgs),
    /// The stack on one screen (load balancer, targets, service, alarms, subscriptions), then the last pipeline
    /// executions and deployments.
    Status {
        #[command(flatten)]
        args: StackArgs,
        /// How many of each to show.
        #[arg(long, default_value_t = 5)]
        last: i32,
    },
    /// Security audit of the stack's desired state (IAM, security groups, EFS, S3, ECR, RDS, secrets) and of the
    /// settings fixed at creation where deployed; findings exit 1.
    Audit(StackArgs),
    /// Benchmark: cold deploy against the seed's CLI procedure, no-op re-deploy, deploy under injected latency
    /// against its critical path, plan; medians on an emulator of its own.
    Bench(proof::BenchArgs),
    /// The local AWS emulator (moto on 127.0.0.1:4566).
    Emulator {
        #[command(subcommand)]
        cmd: emulator::EmulatorCmd,
    },
    /// Ghost on this machine as a real container: up, down, status.
    Local {
        #[command(subcommand)]
        cmd: local::LocalCmd,
    },
    /// The whole flow from nothing, proved: emulator, deploy, wiring read back, Ghost from the registered task
    /// definition, a post, a blue/green release under load, re-deploy with zero writes, destroy to nothing.
    E2e(proof::E2eArgs),
    /// Run the test layers (unit, emulator integration, local Ghost, end to end), setting up what they need.
    Test(test::TestArgs),
}

#[derive(Debug, Subcommand)]
enum SiteCmd {
    /// Write the site repository's files into DIR (created if missing).
    Render {
        dir: PathBuf,
        #[command(flatten)]
        args: StackArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let res = rt.block_on(async {
        match cli.cmd {
            Cmd::Deploy(args) => stack::deploy(&args, ghost_core::Mode::Apply).await,
            Cmd::Plan(args) => stack::deploy(&args, ghost_core::Mode::Plan).await,
            Cmd::Destroy { args, dry_run, delete_data } => stack::destroy(&args, dry_run, delete_data).await,
            Cmd::Site { cmd: SiteCmd::Render { dir, args } } => cicd::site_render(&args, &dir).await,
            Cmd::Release { args, image, timeout_minutes } => {
                cicd::release(&args, image.as_deref(), timeout_minutes).await
            }
            Cmd::Rollback { args, timeout_minutes } => cicd::rollback(&args, timeout_minutes).await,
            Cmd::Status { args, last } => cicd::status(&args, last).await,
            Cmd::Logs { args, since, follow } => cicd::logs(&args, &since, follow).await,
            Cmd::Metrics { args, since } => cicd::metrics(&args, &since).await,
            Cmd::Audit(args) => audit::run(&args).await,
            Cmd::AlertsTest(args) => cicd::alerts_test(&args).await,
            Cmd::Bench(args) => proof::bench(args).await,
            Cmd::Emulator { cmd } => emulator::run(cmd).await,
            Cmd::Local { cmd } => local::run(cmd).await,
            Cmd::E2e(args) => proof::e2e(args).await,
            Cmd::Test(args) => test::run(args).await,
        }
    });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let invalid = err.downcast_ref::<ghost_core::ConfigError>().is_some();
            eprintln!("error: {err:#}");
            ExitCode::from(if invalid { 2 } else { 1 })
        }
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).without_time().init();
}
