//! The local Ghost's awslogs driver. On ECS the task definition's `awslogs` log configuration ships Ghost's output
//! to CloudWatch Logs; a local container has no such driver. So before `logs --target local` reads the group (and
//! in the e2e), what the stack's local containers printed since their stream's last event is put into the same
//! group under the stream name awslogs uses (`<prefix>/<container>/<task id>`), and then read back the way AWS is.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use ghost_core::AwsResultExt;

use crate::{Engine, Result};

/// PutLogEvents takes at most 10,000 events (and 1 MB) per call.
const BATCH: usize = 5_000;

/// Where a task definition's awslogs configuration sends a container's output.
#[derive(Debug, Clone, Copy)]
pub struct Awslogs<'a> {
    pub group: &'a str,
    /// `awslogs-stream-prefix`.
    pub stream_prefix: &'a str,
    /// The container's name in the task definition.
    pub container: &'a str,
    /// The task definition family whose local containers are shipped.
    pub family: &'a str,
}

impl Awslogs<'_> {
    /// A container's stream, `<prefix>/<container>/<task id>`: an ECS task id is 32 hex digits, as is the head
    /// of a container id.
    pub fn stream_name(&self, container_id: &str) -> String {
        format!("{}/{}/{}", self.stream_prefix, self.container, &container_id[..container_id.len().min(32)])
    }
}

/// `2026-11-28T07:44:02.123456789Z message` (docker's timestamped line) as (epoch ms, message).
pub fn parse_line(line: &str) -> Option<(i64, String)> {
    let (stamp, message) = line.split_once(' ').unwrap_or((line, ""));
    let t = DateTime::from_str(stamp, DateTimeFormat::DateTime).ok()?;
    let ms = t.to_millis().ok()?;
    Some((ms, message.to_string()))
}

/// Ships the new output of every local container running a revision of the family into the group; returns how
/// many events went. Nothing happens without such containers.
pub async fn ship(engine: &Engine, logs: &Client, to: &Awslogs<'_>) -> Result<usize> {
    let (group, mut shipped) = (to.group, 0);
    let ours = crate::runner::list_ours(engine).await?;
    for c in ours.iter().filter(|c| c.family.as_deref() == Some(to.family)) {
        let stream = to.stream_name(&c.id);
        let last = last_event_ms(logs, group, &stream).await?;
        let since_s = last.map_or(0, |ms| ms / 1000);
        let lines = crate::runner::timestamped_logs(engine, &c.name, since_s).await?;
        let events: Vec<InputLogEvent> = lines
            .iter()
            .filter_map(|l| parse_line(l))
            .filter(|(ms, message)| last.is_none_or(|last| *ms > last) && !message.is_empty())
            .map(|(ms, message)| InputLogEvent::builder().timestamp(ms).message(message).build())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| crate::Error::TaskDef(format!("a log event: {e}")))?;
        if events.is_empty() {
            continue;
        }
        if last.is_none() {
            logs.create_log_stream()
                .log_group_name(group)
                .log_stream_name(&stream)
                .send()
                .await
                .aws("CreateLogStream", &stream)?;
        }
        for batch in events.chunks(BATCH) {
            logs.put_log_events()
                .log_group_name(group)
                .log_stream_name(&stream)
                .set_log_events(Some(batch.to_vec()))
                .send()
                .await
                .aws("PutLogEvents", &stream)?;
        }
        shipped += events.len();
    }
    Ok(shipped)
}

/// The newest event's time in `stream`; `None` when the stream does not exist yet.
async fn last_event_ms(logs: &Client, group: &str, stream: &str) -> Result<Option<i64>> {
    let found = logs
        .describe_log_streams()
        .log_group_name(group)
        .log_stream_name_prefix(stream)
        .send()
        .await
        .aws("DescribeLogStreams", stream)?;
    Ok(found
        .log_streams()
        .iter()
        .find(|s| s.log_stream_name() == Some(stream))
        .map(|s| s.last_event_timestamp().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_timestamped_lines_become_events() {
        let (ms, message) =
            parse_line("2026-11-28T07:44:02.123456789Z [2026-11-28 07:44:02] INFO Ghost booted in 2.1s")
                .expect("a timestamped line");
        assert_eq!(ms, 1_795_851_842_123);
        assert_eq!(message, "[2026-11-28 07:44:02] INFO Ghost booted in 2.1s");
        assert_eq!(parse_line("not a time"), None);
        let to = Awslogs { group: "/ecs/ghost", stream_prefix: "ghost", container: "ghost", family: "ghost" };
        assert_eq!(to.stream_name(&"ab".repeat(32)), format!("ghost/ghost/{}", "ab".repeat(16)));
    }
}
