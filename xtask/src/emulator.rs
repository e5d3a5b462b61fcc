//! `cargo xtask emulator up | down | reset | calls`.

use anyhow::Result;
use clap::Subcommand;
use ghost_emulator::{CallSummary, Emulator, Started};

#[derive(Debug, Subcommand)]
pub(crate) enum EmulatorCmd {
    /// Start it (installing its venv the first time); no-op when it already answers.
    Up,
    /// Stop the emulator this project started (by its recorded pid).
    Down,
    /// Forget every resource, recorded call and fault.
    Reset,
    /// Recorded API calls by service and action, with the mutating count: the instrument for "zero writes".
    Calls {
        /// Only the calls made with this access key id (each deploy uses its own; see its output).
        #[arg(long)]
        key: Option<String>,
        /// Forget the recorded calls after printing them.
        #[arg(long)]
        clear: bool,
        #[arg(long, value_enum, default_value_t = crate::Output::Text)]
        output: crate::Output,
    },
}

pub(crate) async fn run(cmd: EmulatorCmd) -> Result<()> {
    let emu = Emulator::from_env();
    match cmd {
        EmulatorCmd::Up => {
            let how = emu.up().await?;
            let verb = if how == Started::Started { "started" } else { "already running" };
            println!("emulator {verb} on {} (log {})", emu.url(), emu.log_path().display());
            println!("use it from any AWS tool: AWS_ENDPOINT_URL={}", emu.url());
        }
        EmulatorCmd::Down => {
            let stopped = emu.down().await?;
            println!("{}", if stopped { "emulator stopped" } else { "no emulator of ours was running" });
        }
        EmulatorCmd::Reset => {
            emu.reset().await?;
            println!("emulator reset: no resources, no recorded calls");
        }
        EmulatorCmd::Calls { key, clear, output } => {
            let calls = emu.calls(key.as_deref()).await?;
            let summary = CallSummary::of(&calls);
            match output {
                crate::Output::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
                crate::Output::Text => println!("{summary}"),
            }
            if clear {
                emu.clear_calls(key.as_deref()).await?;
            }
        }
    }
    Ok(())
}
