//! Operate lens: the team sees the state of the blog and of its delivery without opening a console, and hears
//! about failures. An alert topic encrypted with its own KMS key, with the configured email subscriptions, alarms on the load
//! balancer, Ghost, ECS, EFS and the database ([`signals`] defines each metric once, for the alarms and the
//! dashboard), EventBridge notifications of pipeline executions and failed deployments, and a dashboard. Every
//! resource follows the ensure contract of `ghost-core`. [`metrics`] computes the four delivery metrics from
//! the pipeline's own history. Container Insights and the log groups' retention are the run and build lenses'
//! (the cluster and the groups are theirs); this lens reads them back in `status`.

pub mod alarms;
pub mod alerts;
pub mod dashboard;
pub mod history;
pub mod key;
pub mod logs;
pub mod metrics;
pub mod notify;
pub mod signals;
pub mod status;
pub mod topic;

#[cfg(test)]
mod mock_tests;

use aws_types::SdkConfig;
use ghost_core::config::{AlarmThresholds, Deployment, ThroughputMode};
use ghost_core::{Config, Env, Names};
use ghost_runtime::RuntimeOut;
use serde::Serialize;

pub use signals::{AlarmDef, Watched};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] ghost_core::Error),
    #[error(transparent)]
    Cicd(#[from] ghost_cicd::Error),
    #[error(transparent)]
    Runtime(#[from] ghost_runtime::Error),
    #[error("{0}")]
    Metrics(#[from] metrics::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct Observe {
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub kms: aws_sdk_kms::Client,
    pub env: Env,
}

impl Observe {
    pub fn new(sdk: &SdkConfig, env: Env) -> Self {
        Self {
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            env,
        }
    }
}

/// The desired operate lens, from the config and the names of the build lens's pipeline and application.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObserveSpec {
    pub names: Names,
    pub region: String,
    pub account: String,
    pub emails: Vec<String>,
    pub thresholds: AlarmThresholds,
    pub throughput_mode: ThroughputMode,
    pub deployment: Deployment,
    pub pipeline: String,
    pub application: String,
    pub service: String,
    /// The service's ARN (for the ECS deployment-failure pattern); filled from the run lens's outputs.
    pub service_arn: String,
    /// The run lens's names (cluster, service, log group) that status and logs read.
    pub runtime: ghost_runtime::RuntimeSpec,
}

impl ObserveSpec {
    pub fn from_config(cfg: &Config, account: &str) -> Self {
        let cicd = ghost_cicd::CicdSpec::from_config(cfg, account);
        Self {
            names: cfg.names(),
            region: cfg.stack.region.clone(),
            account: account.to_string(),
            emails: cfg.observe.notify_emails.clone(),
            thresholds: cfg.observe.alarms.clone(),
            throughput_mode: cfg.efs.throughput_mode,
            deployment: cfg.pipeline.deployment,
            pipeline: cicd.pipeline(),
            application: cicd.application(),
            service: cicd.service.clone(),
            service_arn: String::new(),
            runtime: ghost_runtime::RuntimeSpec::from_config(cfg),
        }
    }

    pub fn topic(&self) -> String {
        self.names.of("alerts")
    }

    /// SNS names a topic `arn:<partition>:sns:<region>:<account>:<name>`: the policy the topic is created with
    /// is known before the topic is.
    pub fn topic_arn(&self) -> String {
        format!("arn:{}:sns:{}:{}:{}", self.partition(), self.region, self.account, self.topic())
    }

    pub fn partition(&self) -> &'static str {
        ghost_core::aws::partition(&self.region)
    }

    pub fn dashboard(&self) -> String {
        self.names.stack().to_string()
    }

    /// What the alarms and dashboard watch, from the run lens's outputs.
    pub fn watched(&self, runtime: &RuntimeOut) -> Watched {
        let lb = &runtime.load_balancer;
        Watched {
            stack: self.names.stack().to_string(),
            region: self.region.clone(),
            load_balancer: signals::elb_dimension(&lb.alb_arn),
            target_groups: [
                ("blue", signals::elb_dimension(&lb.blue_target_group)),
                ("green", signals::elb_dimension(&lb.green_target_group)),
            ],
            cluster: self.names.stack().to_string(),
            service: self.service.clone(),
            file_system: runtime.file_system.file_system_id.clone(),
            throughput_mode: self.throughput_mode,
            db_instance: runtime.database.as_ref().map(|d| d.instance.clone()),
        }
    }

    pub fn dashboard_url(&self) -> String {
        format!(
            "https://{0}.console.aws.amazon.com/cloudwatch/home?region={0}#dashboards/dashboard/{1}",
            self.region,
            self.dashboard()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObserveOut {
    pub topic_arn: String,
    /// The topic's KMS key (its ARN).
    pub alert_key: String,
    /// Emails that have not confirmed their subscription yet.
    pub pending_subscriptions: Vec<String>,
    pub alarms: Vec<String>,
    /// The alarms CodeDeploy watches during a deployment, rolling back when one fires.
    pub rollback_alarms: Vec<String>,
    pub rules: Vec<String>,
    pub dashboard: String,
    pub dashboard_url: String,
}

/// The key, then the topic it encrypts (the alarms and rules send to it), then alarms, notification rules and the
/// dashboard.
pub async fn ensure_observe(o: &Observe, spec: &ObserveSpec, runtime: &RuntimeOut) -> Result<ObserveOut> {
    let mut spec = spec.clone();
    spec.service_arn = runtime.service_arn.clone();
    let watched = spec.watched(runtime);
    let wanted = watched.alarms(&spec.thresholds);
    let (board, body) = (spec.dashboard(), watched.dashboard(&spec.thresholds));
    let alert_key = key::ensure_key(o, &spec).await?;
    let (topic_arn, pending) = topic::ensure_topic(o, &spec).await?;
    let (alarms, rules, dashboard) = tokio::try_join!(
        alarms::ensure_alarms(o, &spec, &wanted, &topic_arn),
        notify::ensure_notifications(o, &spec, &topic_arn),
        dashboard::ensure_dashboard(o, &board, &body),
    )?;
    Ok(ObserveOut {
        topic_arn,
        alert_key,
        pending_subscriptions: pending,
        alarms,
        rollback_alarms: wanted.iter().filter(|a| a.rolls_back).map(|a| a.name.clone()).collect(),
        rules,
        dashboard,
        dashboard_url: spec.dashboard_url(),
    })
}

/// Notifications, dashboard and alarms, then the topic (which holds nothing worth keeping) and its key.
pub async fn destroy_observe(o: &Observe, spec: &ObserveSpec) -> Result<()> {
    notify::delete_notifications(o, spec).await?;
    let board = spec.dashboard();
    tokio::try_join!(dashboard::delete_dashboard(o, &board), alarms::delete_alarms(o, spec))?;
    topic::delete_topic(o, spec).await?;
    key::delete_key(o, spec).await?;
    Ok(())
}
