//! `cargo xtask audit`: ghost_stack::audit's report of a stack (desired state, plus what is fixed at creation
//! where deployed). Findings exit 1.

use anyhow::{Result, bail};

use crate::stack::{load, session};
use crate::{Output, StackArgs};

pub(crate) async fn run(args: &StackArgs) -> Result<()> {
    let cfg = load(args)?;
    let s = session(args, &cfg).await?;
    let a = ghost_stack::audit::run(&cfg, &s.sdk).await?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&a)?),
        Output::Text => println!("audit of stack {} ({} checks):\n{a}", cfg.stack.name, a.checked.len()),
    }
    if !a.findings.is_empty() {
        bail!("{} security findings in stack {}", a.findings.len(), cfg.stack.name);
    }
    Ok(())
}
