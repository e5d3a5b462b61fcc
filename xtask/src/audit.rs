//! `cargo xtask audit`: the security audit of a stack's desired state (from a plan: reads only), plus the
//! settings fixed at creation read back where the stack is deployed. Findings exit 1.

use anyhow::{Context, Result, bail};
use ghost_cicd::Cicd;
use ghost_core::{Env, Mode};
use ghost_stack::audit;

use crate::stack::{load, session};
use crate::{Output, StackArgs};

pub(crate) async fn run(args: &StackArgs) -> Result<()> {
    let cfg = load(args)?;
    let s = session(args, &cfg).await?;
    let env = Env::new(&cfg.stack.name, Mode::Plan);
    let report = ghost_stack::deploy(&cfg, &s.sdk, &env).await.context("reading the stack (a plan: no writes)")?;
    let outputs = report.outputs.context("the plan returned no outputs")?;
    let account = Cicd::new(&s.sdk, env).account().await?;
    let mut a = audit::audit_desired(&cfg, &account, &outputs);
    audit::audit_live(&mut a, &s.sdk, &cfg, &account, &outputs).await?;
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&a)?);
    } else {
        println!("audit of stack {} ({} checks):", cfg.stack.name, a.checked.len());
        for c in &a.checked {
            println!("  checked  {c}");
        }
        println!("`*` as a resource, only where IAM offers no resource-level permission:");
        for s in &a.star_resources {
            println!("  allowed  {s}");
        }
        for f in &a.findings {
            println!("  FINDING  [{}] {}: {}", f.area, f.resource, f.problem);
        }
        if !a.checked.iter().any(|c| c.ends_with("(live)")) {
            println!(
                "  (not deployed here: the settings fixed at creation — encryption, public access, scanning, RDS — are read back once it is)"
            );
        }
        println!("{} findings", a.findings.len());
    }
    if !a.findings.is_empty() {
        bail!("{} security findings in stack {}", a.findings.len(), cfg.stack.name);
    }
    Ok(())
}
