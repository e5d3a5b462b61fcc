//! The four delivery (DORA) metrics, computed from a recorded [`History`] of pipeline executions and deployments.
//!
//! Pure: no clock, no AWS. The caller reads CodePipeline `ListPipelineExecutions` (plus each source revision's
//! commit time when known) and CodeDeploy `BatchGetDeployments` or the ECS service's deployments into a
//! [`History`], picks a window (usually [`parse_since`] back from now), and calls [`compute`]. Every figure carries
//! its sample count and one sentence saying how it was derived, so a number is never shown without its basis.
//!
//! Rules, in one place:
//! - A record belongs to the window when its own start does: a deployment by `created`, a pipeline execution by
//!   `started`, in `[window_start, window_end)`. A deployment created before the window is out even if it
//!   completed inside it.
//! - Every deployment is a production deployment (the stack has one environment). A deployment that is itself a
//!   rollback (`rollback_of` set) is not a change: it counts towards restoring service, never towards frequency or
//!   the failure rate.
//! - Deployment frequency: successful changes. Change failure rate: changes that failed or were rolled back, over
//!   finished changes (in-progress ones are not yet either).
//! - Lead time: from the commit time of the execution a successful change came from to the change's completion.
//!   The execution is looked up in the whole history: the commit time belongs to the change, whenever its pipeline
//!   started.
//! - Time to restore: from a failed change's end (its creation if it has none) to the earliest completion of a
//!   successful deployment created no earlier than it (rollbacks included), looked for in the whole history; a
//!   failure with none is "not restored" and not in the median.
//! - Median and p90 are nearest-rank: always an observed value (the lower middle one for an even count).

use std::fmt;

use serde::{Deserialize, Serialize};

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid duration {input:?}: {reason}; expected a whole number followed by one unit: \
         s (seconds), m (minutes), h (hours), d (days) or w (weeks), e.g. 30d"
    )]
    Since { input: String, reason: &'static str },
    #[error("cannot read the delivery history: {source}")]
    History {
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Status of a CodePipeline execution, as `ListPipelineExecutions` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecStatus {
    Succeeded,
    Failed,
    Stopped,
    Superseded,
    InProgress,
    Cancelled,
}

/// One pipeline execution: when it ran and, when known, the commit it built and that commit's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineExecution {
    pub id: String,
    pub status: ExecStatus,
    /// Epoch seconds.
    pub started: i64,
    #[serde(default)]
    pub ended: Option<i64>,
    #[serde(default)]
    pub commit: Option<String>,
    /// Epoch seconds of the source revision's commit.
    #[serde(default)]
    pub commit_time: Option<i64>,
}

/// Status of a deployment (CodeDeploy's, or an ECS service deployment's rollout state), reduced to what the metrics
/// need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeployStatus {
    Succeeded,
    Failed,
    Stopped,
    InProgress,
}

/// One production deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub id: String,
    pub status: DeployStatus,
    /// Epoch seconds.
    pub created: i64,
    #[serde(default)]
    pub completed: Option<i64>,
    /// This deployment was rolled back (automatically or by hand).
    #[serde(default)]
    pub rolled_back: bool,
    /// This deployment *is* a rollback, of the deployment with this id.
    #[serde(default)]
    pub rollback_of: Option<String>,
    /// The pipeline execution that started it, when there is one.
    #[serde(default)]
    pub execution_id: Option<String>,
}

impl Deployment {
    fn is_change(&self) -> bool {
        self.rollback_of.is_none()
    }

    fn is_finished(&self) -> bool {
        self.status != DeployStatus::InProgress
    }

    fn is_failure(&self) -> bool {
        self.is_finished() && (self.status == DeployStatus::Failed || self.rolled_back)
    }
}

/// Everything the metrics are computed from: a recorded history, serialisable so it can be kept as a fixture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    #[serde(default)]
    pub executions: Vec<PipelineExecution>,
    #[serde(default)]
    pub deployments: Vec<Deployment>,
}

impl History {
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|source| Error::History { source })
    }
}

/// The half-open window `[start, end)` in epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

impl Window {
    fn contains(self, t: i64) -> bool {
        self.start <= t && t < self.end
    }

    fn seconds(self) -> i64 {
        (self.end - self.start).max(0)
    }

    /// "between 2026-10-28 and 2026-11-27 (30 days)".
    fn describe(self) -> String {
        format!("between {} and {} ({})", format_date(self.start), format_date(self.end), format_span(self.seconds()))
    }
}

/// The four delivery metrics over one window, plus what the pipeline did in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryMetrics {
    pub window: Window,
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time_for_changes: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub time_to_restore: TimeToRestore,
    pub executions: ExecutionCounts,
}

/// Successful production changes in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentFrequency {
    pub count: usize,
    pub per_day: f64,
    pub per_week: f64,
    pub samples: usize,
    pub derivation: String,
}

/// Commit to production, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadTime {
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub samples: usize,
    pub derivation: String,
}

/// Failed or rolled-back changes over finished changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeFailureRate {
    pub failures: usize,
    pub changes: usize,
    /// `failures / changes`, `None` when there is no finished change.
    pub rate: Option<f64>,
    pub samples: usize,
    pub derivation: String,
}

/// From a failed change to the next successful deployment, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeToRestore {
    pub median_s: Option<i64>,
    /// Failures with no later successful deployment in the history.
    pub unrestored: usize,
    pub samples: usize,
    pub derivation: String,
}

/// Pipeline executions started in the window, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExecutionCounts {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub stopped: usize,
    pub superseded: usize,
    pub cancelled: usize,
    pub in_progress: usize,
}

/// The four metrics over the records whose start falls in `[window_start, window_end)` (see the module rules).
pub fn compute(history: &History, window_start: i64, window_end: i64) -> DeliveryMetrics {
    let window = Window { start: window_start, end: window_end };
    let in_window: Vec<&Deployment> = history.deployments.iter().filter(|d| window.contains(d.created)).collect();
    let changes: Vec<&Deployment> = in_window.iter().copied().filter(|d| d.is_change()).collect();
    let rollbacks = in_window.len() - changes.len();
    let successes: Vec<&Deployment> = changes.iter().copied().filter(|d| d.status == DeployStatus::Succeeded).collect();

    DeliveryMetrics {
        window,
        deployment_frequency: frequency(window, in_window.len(), successes.len(), rollbacks),
        lead_time_for_changes: lead_time(history, &successes),
        change_failure_rate: failure_rate(window, &changes),
        time_to_restore: restore(window, history, &changes),
        executions: execution_counts(window, history),
    }
}

fn frequency(window: Window, deployments: usize, count: usize, rollbacks: usize) -> DeploymentFrequency {
    let seconds = window.seconds();
    let rate = |unit: i64| if seconds > 0 { count as f64 * unit as f64 / seconds as f64 } else { 0.0 };
    let not_counted = if rollbacks > 0 {
        format!("; {} not counted", plural(rollbacks, "rollback deployment"))
    } else {
        String::new()
    };
    let derivation = if deployments == 0 {
        format!("no data: no deployments {}", window.describe())
    } else if count == 0 {
        format!(
            "no successful deployments among {} {}{not_counted}",
            plural(deployments, "deployment"),
            window.describe()
        )
    } else {
        format!("{} {}{not_counted}", plural(count, "successful deployment"), window.describe())
    };
    DeploymentFrequency { count, per_day: rate(DAY), per_week: rate(WEEK), samples: count, derivation }
}

fn lead_time(history: &History, successes: &[&Deployment]) -> LeadTime {
    let mut samples = Vec::new();
    let mut without_commit = 0;
    let mut negative = 0;
    for d in successes {
        let commit_time = d
            .execution_id
            .as_deref()
            .and_then(|id| history.executions.iter().find(|e| e.id == id))
            .and_then(|e| e.commit_time);
        match (commit_time, d.completed) {
            (Some(commit), Some(done)) if done >= commit => samples.push(done - commit),
            (Some(_), Some(_)) => negative += 1,
            _ => without_commit += 1,
        }
    }
    samples.sort_unstable();
    let mut skipped = Vec::new();
    if without_commit > 0 {
        skipped.push(format!("{} without a known commit time", plural(without_commit, "successful deployment")));
    }
    if negative > 0 {
        skipped.push(format!("{} committed after it completed (clock skew)", plural(negative, "deployment")));
    }
    let skipped = if skipped.is_empty() { String::new() } else { format!("; skipped {}", skipped.join(", ")) };
    let derivation = if samples.is_empty() {
        format!("no data: no successful deployment in the window has a pipeline execution with a commit time{skipped}")
    } else {
        format!(
            "nearest-rank median and p90 of commit-to-completion time over {} linked to a pipeline execution \
             with a commit time{skipped}",
            plural(samples.len(), "successful deployment"),
        )
    };
    LeadTime { median_s: percentile(&samples, 50), p90_s: percentile(&samples, 90), samples: samples.len(), derivation }
}

fn failure_rate(window: Window, changes: &[&Deployment]) -> ChangeFailureRate {
    let finished = changes.iter().filter(|d| d.is_finished()).count();
    let failures = changes.iter().filter(|d| d.is_failure()).count();
    let in_progress = changes.len() - finished;
    let pending = if in_progress > 0 { format!("; {in_progress} in progress not counted") } else { String::new() };
    let derivation = if finished == 0 {
        format!("no data: no finished deployments {}{pending}", window.describe())
    } else {
        format!(
            "{failures} of {} failed or were rolled back (rollback deployments are not changes){pending}",
            plural(finished, "finished deployment"),
        )
    };
    ChangeFailureRate {
        failures,
        changes: finished,
        rate: (finished > 0).then(|| failures as f64 / finished as f64),
        samples: finished,
        derivation,
    }
}

fn restore(window: Window, history: &History, changes: &[&Deployment]) -> TimeToRestore {
    let mut samples = Vec::new();
    let mut unrestored = 0;
    for failed in changes.iter().filter(|d| d.is_failure()) {
        let failed_at = failed.completed.unwrap_or(failed.created);
        let restored_at = history
            .deployments
            .iter()
            .filter(|d| d.id != failed.id && d.status == DeployStatus::Succeeded && d.created >= failed.created)
            .filter_map(|d| d.completed)
            .filter(|&done| done >= failed_at)
            .min();
        match restored_at {
            Some(done) => samples.push(done - failed_at),
            None => unrestored += 1,
        }
    }
    samples.sort_unstable();
    let open = if unrestored > 0 { format!("; {unrestored} not restored yet") } else { String::new() };
    let derivation = match (samples.len(), unrestored) {
        (0, 0) => format!("no data: no failed or rolled-back deployments {}", window.describe()),
        (0, _) => format!("no data: {} and none restored yet", plural(unrestored, "failed or rolled-back deployment")),
        (n, _) => format!(
            "nearest-rank median over {} of the time from its end to the next successful deployment's \
             completion{open}",
            plural(n, "failed or rolled-back deployment"),
        ),
    };
    TimeToRestore { median_s: percentile(&samples, 50), unrestored, samples: samples.len(), derivation }
}

fn execution_counts(window: Window, history: &History) -> ExecutionCounts {
    let mut counts = ExecutionCounts::default();
    for e in history.executions.iter().filter(|e| window.contains(e.started)) {
        counts.total += 1;
        *match e.status {
            ExecStatus::Succeeded => &mut counts.succeeded,
            ExecStatus::Failed => &mut counts.failed,
            ExecStatus::Stopped => &mut counts.stopped,
            ExecStatus::Superseded => &mut counts.superseded,
            ExecStatus::Cancelled => &mut counts.cancelled,
            ExecStatus::InProgress => &mut counts.in_progress,
        } += 1;
    }
    counts
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `pct`% of the values at or below it.
fn percentile(sorted: &[i64], pct: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A `--since` argument in seconds; a bad value is invalid input (exit 2) naming the accepted forms.
pub fn since_argument(since: &str) -> std::result::Result<u64, ghost_core::ConfigError> {
    parse_since(since).map_err(|_| {
        ghost_core::ConfigError::argument(
            "--since",
            since,
            "a whole number and one unit: s, m, h, d or w (e.g. 10m, 30d)",
        )
    })
}

/// Parses a look-back like `30d`, `12h`, `10m`, `90s` or `2w` into seconds.
pub fn parse_since(s: &str) -> Result<u64> {
    let err = |reason| Error::Since { input: s.to_owned(), reason };
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = t.split_at(digits);
    if number.is_empty() {
        return Err(err(if t.is_empty() { "empty" } else { "no number" }));
    }
    let unit: u64 = match unit {
        "s" => 1,
        "m" => MINUTE as u64,
        "h" => HOUR as u64,
        "d" => DAY as u64,
        "w" => WEEK as u64,
        "" => return Err(err("no unit")),
        _ => return Err(err("unknown unit")),
    };
    let n: u64 = number.parse().map_err(|_| err("number too large"))?;
    if n == 0 {
        return Err(err("must be greater than zero"));
    }
    // Kept within i64 so `now - since` can never overflow on the caller's side.
    n.checked_mul(unit).filter(|&secs| secs <= i64::MAX as u64).ok_or_else(|| err("number too large"))
}

/// A duration for people: `45s`, `5m 30s`, `2h 05m`, `3d 04h`.
pub fn format_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (minute, hour, day) = (MINUTE as u64, HOUR as u64, DAY as u64);
    let body = if s < minute {
        format!("{s}s")
    } else if s < hour {
        format!("{}m {:02}s", s / minute, s % minute)
    } else if s < day {
        format!("{}h {:02}m", s / hour, s % hour / minute)
    } else {
        format!("{}d {:02}h", s / day, s % day / hour)
    };
    format!("{sign}{body}")
}

/// A window's length: `30 days`, `1 day`, or [`format_duration`] when not whole days.
fn format_span(seconds: i64) -> String {
    match seconds {
        DAY => "1 day".to_owned(),
        s if s > 0 && s % DAY == 0 => format!("{} days", s / DAY),
        s => format_duration(s),
    }
}

/// `YYYY-MM-DD` (UTC) of an epoch-seconds instant.
pub fn format_date(epoch_seconds: i64) -> String {
    let (y, m, d) = civil_from_days(epoch_seconds.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era, [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The metrics as a fixed-width text table: metric, value, samples, how derived; then the pipeline's executions.
pub fn render_table(m: &DeliveryMetrics) -> String {
    let none = || "no data".to_owned();
    let f = &m.deployment_frequency;
    let lead = &m.lead_time_for_changes;
    let cfr = &m.change_failure_rate;
    let ttr = &m.time_to_restore;
    let rows = [
        (
            "deployment frequency",
            format!("{} ({:.2}/day, {:.2}/week)", f.count, f.per_day, f.per_week),
            f.samples,
            &f.derivation,
        ),
        (
            "lead time for changes",
            match (lead.median_s, lead.p90_s) {
                (Some(median), Some(p90)) => {
                    format!("median {}, p90 {}", format_duration(median), format_duration(p90))
                }
                _ => none(),
            },
            lead.samples,
            &lead.derivation,
        ),
        (
            "change failure rate",
            cfr.rate
                .map_or_else(none, |rate| format!("{} ({} of {})", format_percent(rate), cfr.failures, cfr.changes)),
            cfr.samples,
            &cfr.derivation,
        ),
        (
            "time to restore",
            ttr.median_s.map_or_else(none, |median| format!("median {}", format_duration(median))),
            ttr.samples,
            &ttr.derivation,
        ),
    ];
    let header = ("metric", "value", "samples", "how derived");
    let metric_w = rows.iter().map(|r| r.0.len()).chain([header.0.len()]).max().unwrap_or(0);
    let value_w = rows.iter().map(|r| r.1.len()).chain([header.1.len()]).max().unwrap_or(0);
    let samples_w = header.2.len();

    let mut out = format!("delivery metrics {}\n", m.window.describe());
    let mut line = |a: &str, b: &str, c: &str, d: &str| {
        out.push_str(&format!("{a:<metric_w$}  {b:<value_w$}  {c:>samples_w$}  {d}\n"));
    };
    line(header.0, header.1, header.2, header.3);
    for (metric, value, samples, derivation) in &rows {
        line(metric, value, &samples.to_string(), derivation);
    }
    out.push_str(&format!("pipeline executions started in the window: {}\n", describe_executions(&m.executions)));
    out
}

fn format_percent(rate: f64) -> String {
    let pct = rate * 100.0;
    if pct.fract() == 0.0 { format!("{pct:.0}%") } else { format!("{pct:.1}%") }
}

fn describe_executions(c: &ExecutionCounts) -> String {
    let parts: Vec<String> = [
        (c.succeeded, "succeeded"),
        (c.failed, "failed"),
        (c.stopped, "stopped"),
        (c.superseded, "superseded"),
        (c.cancelled, "cancelled"),
        (c.in_progress, "in progress"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() { c.total.to_string() } else { format!("{} ({})", c.total, parts.join(", ")) }
}

impl fmt::Display for DeliveryMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_table(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_since_accepts_every_unit() {
        assert_eq!(parse_since("90s").unwrap(), 90);
        assert_eq!(parse_since("10m").unwrap(), 600);
        assert_eq!(parse_since("12h").unwrap(), 43_200);
        assert_eq!(parse_since("30d").unwrap(), 2_592_000);
        assert_eq!(parse_since("2w").unwrap(), 1_209_600);
        assert_eq!(parse_since(" 1d ").unwrap(), 86_400);
    }

    #[test]
    fn parse_since_rejects_with_the_allowed_units() {
        for (input, reason) in [
            ("", "empty"),
            ("d", "no number"),
            ("30", "no unit"),
            ("30y", "unknown unit"),
            ("30D", "unknown unit"),
            ("1.5h", "unknown unit"),
            ("-3d", "no number"),
            ("+3d", "no number"),
            ("3 d", "unknown unit"),
            ("0d", "must be greater than zero"),
            ("99999999999999999999s", "number too large"),
            ("9999999999999999w", "number too large"),
        ] {
            let err = parse_since(input).unwrap_err();
            let Error::Since { reason: got, .. } = &err else { panic!("{input:?}: {err}") };
            assert_eq!(*got, reason, "{input:?}");
            let text = err.to_string();
            assert!(text.contains(&format!("{input:?}")), "{text}");
            assert!(text.contains("s (seconds), m (minutes), h (hours), d (days) or w (weeks)"), "{text}");
        }
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(59), "59s");
        assert_eq!(format_duration(60), "1m 00s");
        assert_eq!(format_duration(330), "5m 30s");
        assert_eq!(format_duration(7_500), "2h 05m");
        assert_eq!(format_duration(86_399), "23h 59m");
        assert_eq!(format_duration(86_400 * 3 + 4 * 3_600 + 59), "3d 04h");
        assert_eq!(format_duration(-90), "-1m 30s");
        assert_eq!(format_span(86_400), "1 day");
        assert_eq!(format_span(30 * 86_400), "30 days");
        assert_eq!(format_span(43_200), "12h 00m");
    }

    #[test]
    fn dates_from_epoch_seconds() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_date(-86_400), "1969-12-31");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_date(1_709_164_800), "2024-02-29");
        assert_eq!(format_date(1_709_164_800 - 1), "2024-02-28");
        assert_eq!(format_date(1_793_145_600), "2026-10-28");
        assert_eq!(format_date(1_795_737_600 - 1), "2026-11-26");
        assert_eq!(format_date(253_402_300_799), "9999-12-31");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2], 50), Some(1));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 90), Some(4));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90), Some(10));
    }

    fn deployment(id: &str, status: DeployStatus, created: i64, completed: Option<i64>) -> Deployment {
        Deployment {
            id: id.to_owned(),
            status,
            created,
            completed,
            rolled_back: false,
            rollback_of: None,
            execution_id: None,
        }
    }

    #[test]
    fn a_failure_never_followed_by_success_is_not_restored() {
        let history = History {
            executions: vec![],
            deployments: vec![
                deployment("ok", DeployStatus::Succeeded, 100, Some(200)),
                deployment("bad", DeployStatus::Failed, 300, Some(400)),
                // Started before the failed one (and finished after it): not the *next* deployment, not a restore.
                deployment("earlier", DeployStatus::Succeeded, 250, Some(450)),
            ],
        };
        let m = compute(&history, 0, 1_000);
        assert_eq!(m.change_failure_rate.rate, Some(1.0 / 3.0));
        assert_eq!(m.time_to_restore.median_s, None);
        assert_eq!(m.time_to_restore.unrestored, 1);
        assert_eq!(m.time_to_restore.samples, 0);
        assert_eq!(m.time_to_restore.derivation, "no data: 1 failed or rolled-back deployment and none restored yet");
    }

    #[test]
    fn an_empty_or_inverted_window_has_zero_rates() {
        let history = History {
            executions: vec![],
            deployments: vec![deployment("ok", DeployStatus::Succeeded, 100, Some(200))],
        };
        for (start, end) in [(100, 100), (200, 100)] {
            let m = compute(&history, start, end);
            assert_eq!(m.deployment_frequency.count, 0);
            assert_eq!(m.deployment_frequency.per_day, 0.0);
            assert_eq!(m.deployment_frequency.per_week, 0.0);
            assert!(m.deployment_frequency.per_day.is_finite());
        }
    }

    #[test]
    fn deployments_without_a_success_are_data_not_no_data() {
        let history = History {
            executions: vec![],
            deployments: vec![
                deployment("bad", DeployStatus::Failed, 100, Some(200)),
                deployment("running", DeployStatus::InProgress, 300, None),
            ],
        };
        let m = compute(&history, 0, 2 * DAY);
        assert_eq!(m.deployment_frequency.count, 0);
        assert_eq!(
            m.deployment_frequency.derivation,
            "no successful deployments among 2 deployments between 1970-01-01 and 1970-01-03 (2 days)"
        );
        assert_eq!((m.change_failure_rate.failures, m.change_failure_rate.changes), (1, 1));
    }

    #[test]
    fn a_succeeded_deployment_later_rolled_back_is_a_failure_and_a_deployment() {
        let mut rolled = deployment("a", DeployStatus::Succeeded, 100, Some(200));
        rolled.rolled_back = true;
        let history = History { executions: vec![], deployments: vec![rolled] };
        let m = compute(&history, 0, 1_000);
        assert_eq!(m.deployment_frequency.count, 1);
        assert_eq!((m.change_failure_rate.failures, m.change_failure_rate.changes), (1, 1));
        assert_eq!(m.time_to_restore.unrestored, 1);
    }

    #[test]
    fn history_json_rejects_unknown_fields() {
        let err = History::from_json(r#"{"deployments": [], "deploymentz": []}"#).unwrap_err();
        assert!(err.to_string().contains("deploymentz"), "{err}");
        assert_eq!(History::from_json("{}").unwrap(), History::default());
    }
}
