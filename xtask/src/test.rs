//! `cargo xtask test`: every test layer, each named in the output, with what it needs set up first.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ghost_emulator::Emulator;

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TestArgs {
    /// Which layer to run.
    #[arg(long, value_enum, default_value_t = Layer::All)]
    layer: Layer,
    /// Passed to the test binaries (e.g. a test name filter).
    #[arg(last = true)]
    filter: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Layer {
    /// Unit tests: no network (SDK calls answered by aws-smithy-mocks).
    Unit,
    /// Integration tests against the local emulator (and the CLI contract tests).
    Integration,
    /// A real Ghost container (Docker engine and image set up by the tests; the first image build takes minutes).
    Local,
    /// `cargo xtask e2e`: the whole flow on the emulator and a real Ghost container.
    E2e,
    All,
}

pub(crate) async fn run(args: TestArgs) -> Result<()> {
    let mut results = Vec::new();
    if matches!(args.layer, Layer::Unit | Layer::All) {
        results.push(layer("layer 1: unit (no network)", &["--workspace", "--lib", "--bins"], &args.filter)?);
    }
    if matches!(args.layer, Layer::Integration | Layer::All) {
        let emu = Emulator::from_env();
        let t = Instant::now();
        emu.up().await.context("starting the emulator for the integration layer")?;
        println!("emulator ready on {} ({:.1} s)", emu.url(), t.elapsed().as_secs_f64());
        results.push(layer(
            "layer 2: emulator integration",
            // ghost-local's tests need Docker, not the emulator: they are layer 3.
            &["--workspace", "--exclude", "ghost-local", "--test", "*"],
            &args.filter,
        )?);
    }
    if matches!(args.layer, Layer::Local | Layer::E2e | Layer::All) {
        // One engine for layers 3 and 4, started first (so its start is timed and reported here) and stopped
        // again, by its recorded pid, when this run started it.
        let home = ghost_local::ghost_home();
        let t = Instant::now();
        let engine = ghost_local::Engine::connect_or_start(&home)
            .await
            .context("starting the Docker engine for the local layers")?;
        println!(
            "docker engine {} on {} (API {}, {:.1} s)",
            if engine.started { "started" } else { "found" },
            engine.endpoint,
            engine.api_version,
            t.elapsed().as_secs_f64()
        );
        let mut res = Ok(());
        if matches!(args.layer, Layer::Local | Layer::All) {
            res = layer("layer 3: local Ghost (docker)", &["-p", "ghost-local", "--test", "it"], &args.filter)
                .map(|r| results.push(r));
        }
        if res.is_ok() && matches!(args.layer, Layer::E2e | Layer::All) {
            res = e2e_layer().await.map(|r| results.push(r));
        }
        if engine.started && ghost_local::engine::stop_our_engine(&home).await {
            println!("docker engine stopped (this run started it)");
        }
        res?;
    }
    println!("\n== summary ==");
    for (name, secs) in &results {
        println!("  ok  {name:<40} {secs:>7.1} s");
    }
    Ok(())
}

fn layer(name: &str, selection: &[&str], filter: &[String]) -> Result<(String, f64)> {
    println!("\n== {name} ==");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let t = Instant::now();
    let mut cmd = Command::new(cargo);
    // --show-output: the crash-anywhere tests print their "k tried / k converged" figures.
    cmd.arg("test").args(selection).args(["--", "--show-output"]).args(filter);
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok((name.to_string(), t.elapsed().as_secs_f64()))
}

/// Layer 4: the whole flow, as `cargo xtask e2e` runs it (its own stack name, so a deployed stack is not touched).
async fn e2e_layer() -> Result<(String, f64)> {
    let name = "layer 4: end to end (cargo xtask e2e)";
    println!("\n== {name} ==");
    let t = Instant::now();
    let summary = ghost_e2e::e2e::run(&ghost_e2e::e2e::E2eOptions::for_tests())
        .await
        .with_context(|| format!("{name} failed"))?;
    println!("{summary}");
    Ok((name.to_string(), t.elapsed().as_secs_f64()))
}
