//! Operate lens: the team sees the state of the blog and of its delivery without opening a console.
//!
//! Today this crate holds the pure core of the delivery metrics ([`metrics`]): the four DORA figures computed from a
//! recorded CodePipeline execution history and CodeDeploy/ECS deployment history, each with how it was derived.
//! The AWS-facing parts of the lens — reading that history, Container Insights and log groups, the alarm topic and
//! alarms, pipeline notifications, the dashboard and `cargo xtask status`/`logs` — come later and plug into the
//! same ensure contract as the other lenses.

pub mod metrics;
