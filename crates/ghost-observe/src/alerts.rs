//! Proving that an alert arrives: the one test AWS offers for an alarm's actions is SetAlarmState ("use this to
//! test alarm actions", CloudWatch API reference), and the alarm's history tells whether the action ran
//! ("Successfully executed action …") or why not ("Failed to execute action … Received error: …"). Nothing at
//! configuration time fails for a topic CloudWatch cannot use (its key, its policy): only this shows it.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{HistoryItemType, StateValue};
use aws_smithy_types::DateTime;
use ghost_core::AwsResultExt;
use ghost_core::wait::{Bound, Poll, poll_until};
use serde::Serialize;

use crate::{Observe, ObserveSpec, Result, alarms, topic};

/// What the delivery test found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub alarm: String,
    pub topic: String,
    pub delivered: bool,
    /// The history line CloudWatch wrote for the action.
    pub history: String,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.delivered { "delivered" } else { "NOT delivered" };
        writeln!(f, "alert test: {} set to ALARM; its action to {}: {verdict}", self.alarm, self.topic)?;
        writeln!(f, "  alarm history: {}", self.history)?;
        write!(f, "  the alarm returns to its real state at its next evaluation")
    }
}

pub const REASON: &str = "Alert delivery test (cargo xtask alerts-test): the alarm returns to its real state at its \
                          next evaluation";

/// Sets one of the stack's alarms that sends to the alert topic and is not in ALARM to ALARM, and reads what
/// CloudWatch did with its action. Every subscriber gets the alert: that is the test.
pub async fn test_delivery(o: &Observe, spec: &ObserveSpec, bound: &Bound) -> Result<Delivery> {
    let topic = topic::find_topic(o, &spec.topic()).await?.ok_or_else(|| not_deployed(spec, "the alert topic"))?;
    let mut found: Vec<_> = alarms::find_alarms(o, spec).await?.into_values().collect();
    found.sort_by(|a, b| a.alarm_name().cmp(&b.alarm_name()));
    let alarm = found
        .iter()
        .filter(|a| a.alarm_actions().iter().any(|x| x == &topic))
        .find(|a| a.state_value() != Some(&StateValue::Alarm))
        .and_then(|a| a.alarm_name())
        .ok_or_else(|| not_deployed(spec, "an alarm sending to the alert topic and not in ALARM"))?
        .to_string();
    // History timestamps are CloudWatch's clock: a second of slack for ours.
    let since = DateTime::from(SystemTime::now() - Duration::from_secs(1));
    let cw = &o.cloudwatch;
    let req = cw.set_alarm_state().alarm_name(&alarm).state_value(StateValue::Alarm).state_reason(REASON);
    req.send().await.aws("SetAlarmState", &alarm)?;
    let history = poll_until(&format!("the action of alarm {alarm} in its history"), bound, || async {
        let req = cw.describe_alarm_history().alarm_name(&alarm).history_item_type(HistoryItemType::Action);
        let page = req.start_date(since).send().await.aws("DescribeAlarmHistory", &alarm)?;
        let item = page.alarm_history_items().iter().filter_map(|i| i.history_summary()).find(|s| s.contains(&topic));
        Ok(match item {
            Some(line) => Poll::Ready(line.to_string()),
            None => Poll::Pending("no action in the history yet".into()),
        })
    })
    .await?;
    let delivered = history.starts_with("Successfully executed action");
    Ok(Delivery { alarm, topic, delivered, history })
}

fn not_deployed(spec: &ObserveSpec, what: &str) -> crate::Error {
    ghost_core::Error::Conflict {
        resource: format!("stack {}", spec.names.stack()),
        message: format!("no {what}: deploy it first"),
    }
    .into()
}
