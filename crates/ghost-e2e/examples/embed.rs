//! The README's "Embedding" section, compiled: a tool plans, deploys, reads the status of a stack and runs the
//! end-to-end proof through the library crates, with no command line in between.
//!
//! `cargo run -p ghost-e2e --example embed -- ghost.toml` (against the endpoint and credentials of the
//! environment: AWS, or `AWS_ENDPOINT_URL=http://127.0.0.1:4566` for a running emulator).

use ghost_core::aws::{AwsOptions, sdk_config};
use ghost_core::{Action, Config, Env, Mode};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "fixtures/ghost.toml".into());
    let cfg = Config::load(path.as_ref())?;
    let sdk = sdk_config(&AwsOptions { region: Some(cfg.stack.region.clone()), ..Default::default() }).await;

    // Plan: reads only, no lock.
    let plan = ghost_stack::deploy(&cfg, &sdk, &Env::new(&cfg.stack.name, Mode::Plan)).await?;
    for r in plan.resources.iter().filter(|r| r.action.is_change()) {
        println!("{} {} {}", r.action.symbol(), r.kind, r.name);
    }

    // Deploy: the same call in Apply mode, under the stack lock (waits up to 10 minutes for another run).
    let lock = ghost_stack::LockOptions { wait: std::time::Duration::from_secs(600), break_lock: false };
    let report = ghost_stack::deploy_with(&cfg, &sdk, &Env::new(&cfg.stack.name, Mode::Apply), &lock).await?;
    println!("{report}");
    if let Some(outputs) = &report.outputs {
        println!("{outputs}");
    }

    // Status: live state, every resource as a plan reads it, recent history.
    let status = ghost_stack::operate::status(&cfg, &sdk, 5).await?;
    println!("{status}");
    println!("{} resources in place", plan.count(Action::Unchanged));

    // The whole proof on this machine (its own emulator, stack and Ghost), when asked for.
    if std::env::var_os("GHOST_E2E").is_some() {
        let summary = ghost_e2e::e2e::run(&ghost_e2e::e2e::E2eOptions::for_tests()).await?;
        println!("{summary}");
    }
    Ok(())
}
