//! The service's log events (`cargo xtask logs [--follow] [--since 10m]`): FilterLogEvents over the service's
//! log group, one line per event.

use std::collections::HashSet;

use ghost_core::AwsResultExt;
use serde::Serialize;

use crate::Result;
use crate::metrics::civil_from_days;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub timestamp_ms: i64,
    pub stream: String,
    pub message: String,
    pub id: String,
}

/// A follow's cursor over one log group: each read returns only the events not returned before.
#[derive(Debug, Clone)]
pub struct Tail {
    pub group: String,
    start_ms: i64,
    seen: HashSet<String>,
}

impl Tail {
    /// From `since_s` seconds before now.
    pub fn since(group: &str, since_s: u64) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let start_ms = now_ms - i64::try_from(since_s).unwrap_or(0).saturating_mul(1000);
        Self { group: group.into(), start_ms, seen: HashSet::new() }
    }

    /// The events since the last read, oldest first. FilterLogEvents' start time is inclusive, so the next read
    /// starts at the newest event's millisecond and skips the ids already returned.
    pub async fn next(&mut self, logs: &aws_sdk_cloudwatchlogs::Client) -> Result<Vec<LogLine>> {
        let lines = read_logs(logs, &self.group, self.start_ms, &self.seen).await?;
        for l in &lines {
            self.start_ms = self.start_ms.max(l.timestamp_ms);
            self.seen.insert(l.id.clone());
        }
        Ok(lines)
    }
}

/// Events of `group` from `start_ms` on (oldest first), skipping the ids in `seen` (a follow's overlap).
pub async fn read_logs(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    start_ms: i64,
    seen: &HashSet<String>,
) -> Result<Vec<LogLine>> {
    let pages = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(start_ms)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut out = Vec::new();
    for page in pages {
        for e in page.aws("FilterLogEvents", group)?.events() {
            let id = e.event_id().unwrap_or_default().to_string();
            if seen.contains(&id) {
                continue;
            }
            out.push(LogLine {
                timestamp_ms: e.timestamp().unwrap_or_default(),
                stream: e.log_stream_name().unwrap_or_default().into(),
                message: e.message().unwrap_or_default().trim_end().into(),
                id,
            });
        }
    }
    out.sort_by_key(|l| l.timestamp_ms);
    Ok(out)
}

/// `2026-11-28T01:02:03.456Z` from epoch milliseconds.
pub fn format_timestamp(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// One event as a line: time, the task (the stream's last part), the message.
pub fn render_line(l: &LogLine) -> String {
    let task = l.stream.rsplit('/').next().unwrap_or(&l.stream);
    let task = &task[..task.len().min(12)];
    format!("{} {task:<12} {}", format_timestamp(l.timestamp_ms), l.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_render_as_time_task_message() {
        let lines = [
            LogLine {
                timestamp_ms: 1_795_827_316_123,
                stream: "ghost/ghost/0f3c1d2e4b5a69788796a5b4c3d2e1f0".into(),
                message: "[2026-11-28 00:55:16] INFO Ghost booted in 1.234s".into(),
                id: "1".into(),
            },
            LogLine { timestamp_ms: 0, stream: "short".into(), message: "epoch".into(), id: "2".into() },
        ];
        let text: Vec<String> = lines.iter().map(render_line).collect();
        let golden = include_str!("../tests/golden/logs.txt");
        assert_eq!(text.join("\n") + "\n", golden);
    }
}
