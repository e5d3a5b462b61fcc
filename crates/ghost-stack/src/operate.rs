//! Reading a deployed stack as a whole, for the commands that act on one (release, rollback, site render) and
//! for status and the delivery metrics: what an embedding tool calls instead of re-composing the lenses.

use aws_types::SdkConfig;
use ghost_cicd::release::{self, History};
use ghost_cicd::{Cicd, CicdSpec};
use ghost_core::{Config, Env, Mode, is_planned};
use ghost_observe::metrics::DeliveryMetrics;
use ghost_observe::status::{ResourcesState, StatusReport};
use ghost_observe::{Observe, ObserveSpec};
use ghost_runtime::Runtime;
use serde::Serialize;

use crate::{Error, Result, StackOutputs};

/// The deployed stack's outputs, read by a plan (reads only); [`Error::NotDeployed`] when it is not, or only
/// partly, deployed.
pub async fn deployed(cfg: &Config, sdk: &SdkConfig) -> Result<StackOutputs> {
    let report = crate::deploy(cfg, sdk, &Env::new(&cfg.stack.name, Mode::Plan)).await?;
    let missing = ResourcesState::from_plan(&report.resources).missing;
    match report.outputs {
        Some(outputs) if !is_planned(&outputs.runtime.task_definition_arn) && missing.is_empty() => Ok(outputs),
        _ => Err(Error::NotDeployed { stack: cfg.stack.name.clone(), total: report.resources.len(), missing }),
    }
}

/// The build lens of a stack, with its account read from STS.
pub async fn cicd(cfg: &Config, sdk: &SdkConfig, env: Env) -> Result<(Cicd, CicdSpec)> {
    let c = Cicd::new(sdk, env);
    let spec = CicdSpec::from_config(cfg, &c.account().await?);
    Ok((c, spec))
}

/// The stack on one screen, then its recent history.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub status: StatusReport,
    pub history: History,
}

/// The live state (load balancer, targets, service, alarms, subscriptions), every resource as a plan reads it
/// (so status and plan never disagree) and the last `last` executions and deployments.
pub async fn status(cfg: &Config, sdk: &SdkConfig, last: i32) -> Result<Status> {
    let env = Env::new(&cfg.stack.name, Mode::Plan);
    let (c, spec) = cicd(cfg, sdk, env.clone()).await?;
    let (o, rt) = (Observe::new(sdk, env.clone()), Runtime::new(sdk, env));
    let ospec = ObserveSpec::from_config(cfg, &spec.account);
    let mut status = ghost_observe::status::read_status(&o, &rt, &c, &ospec, &spec).await?;
    let plan = crate::deploy(cfg, sdk, &Env::new(&cfg.stack.name, Mode::Plan)).await?;
    status.resources = Some(ResourcesState::from_plan(&plan.resources));
    let history = release::history(&c, &spec, last).await?;
    Ok(Status { status, history })
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n{}", ghost_observe::status::render_status(&self.status), self.history)
    }
}

/// Sets one alarm to ALARM and reads whether its action reached the alert topic ([`ghost_observe::alerts`]).
/// CloudWatch writes the history line within seconds; two minutes bound the wait.
pub async fn test_alerts(cfg: &Config, sdk: &SdkConfig) -> Result<ghost_observe::alerts::Delivery> {
    let (_, spec) = cicd(cfg, sdk, Env::new(&cfg.stack.name, Mode::Plan)).await?;
    let o = Observe::new(sdk, Env::new(&cfg.stack.name, Mode::Apply));
    let ospec = ObserveSpec::from_config(cfg, &spec.account);
    let bound = ghost_core::wait::Bound::new(std::time::Duration::from_secs(120), std::time::Duration::from_secs(5));
    Ok(ghost_observe::alerts::test_delivery(&o, &ospec, &bound).await?)
}

/// The four delivery metrics over `[start, end]` (epoch seconds), from the pipeline's and the deployments'
/// history.
pub async fn metrics(cfg: &Config, sdk: &SdkConfig, start: i64, end: i64) -> Result<DeliveryMetrics> {
    let (c, spec) = cicd(cfg, sdk, Env::new(&cfg.stack.name, Mode::Plan)).await?;
    let history = ghost_observe::history::read_history(&c, &spec, start).await?;
    Ok(ghost_observe::metrics::compute(&history, start, end))
}
