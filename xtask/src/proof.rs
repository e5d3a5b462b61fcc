//! `cargo xtask e2e` and `cargo xtask bench`: the arguments of ghost_e2e's scenario and benchmark, and their
//! output (the summary table, or JSON).

use std::path::PathBuf;

use anyhow::Result;
use ghost_e2e::bench::{self, BenchOptions};
use ghost_e2e::e2e::{self, E2eOptions};

use crate::Output;

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct E2eArgs {
    /// The config to prove (default: the sample fixtures/ghost.toml). Its stack and source repository are
    /// renamed after --stack, so a stack deployed from the same config is never touched.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The stack name this run uses.
    #[arg(long, default_value = "e2e")]
    stack: String,
    /// Stop after the re-deploy: leave the stack, Ghost and the front's containers in place.
    #[arg(long)]
    keep: bool,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BenchArgs {
    /// Runs of each measurement; the table shows medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Latency added to every call in measurement c.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// The seed's procedure (the tutorial's AWS CLI commands).
    #[arg(long, default_value = "bench/seed_cli.sh")]
    seed_script: PathBuf,
    /// Measurement e's lifecycle clock factor (AWS seconds → wall seconds); 0 skips it.
    #[arg(long, default_value_t = 0.2)]
    clock_factor: f64,
    /// The production-shaped sample measurement e deploys beside the seed's shape.
    #[arg(long, default_value = "fixtures/samples/private-mysql-https.toml")]
    production_config: PathBuf,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

fn print<T: serde::Serialize + std::fmt::Display>(value: &T, output: Output) -> Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Output::Text => println!("{value}"),
    }
    Ok(())
}

pub(crate) async fn e2e(args: E2eArgs) -> Result<()> {
    let quiet = args.output == Output::Json;
    let opts = E2eOptions { config: args.config, stack: args.stack, keep: args.keep, quiet };
    print(&e2e::run(&opts).await?, args.output)
}

pub(crate) async fn bench(args: BenchArgs) -> Result<()> {
    let quiet = args.output == Output::Json;
    let opts = BenchOptions {
        runs: args.runs,
        latency_ms: args.latency_ms,
        seed_script: args.seed_script,
        quiet,
        clock_factor: args.clock_factor,
        production_config: args.production_config,
    };
    print(&bench::run(&opts).await?, args.output)
}
