//! Delivery metrics on recorded histories (tests/fixtures/*.json) with answers worked out by hand.
//!
//! Every fixture is read over the same 30-day window, 2026-10-28T00:00Z to 2026-11-27T00:00Z. Golden outputs live
//! next to the fixtures; run with `BLESS=1` to rewrite them after an intended change, then review the diff.

use std::path::PathBuf;

use ghost_observe::metrics::{DeliveryMetrics, History, compute, render_table};

const WINDOW_START: i64 = 1_793_145_600; // 2026-10-28T00:00:00Z
const WINDOW_END: i64 = 1_795_737_600; // 2026-11-27T00:00:00Z
const DAYS: f64 = 30.0;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn metrics(name: &str) -> DeliveryMetrics {
    let path = fixture(&format!("{name}.json"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let history = History::from_json(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    compute(&history, WINDOW_START, WINDOW_END)
}

fn golden(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", path.display()));
    assert_eq!(actual, expected, "{} differs (BLESS=1 rewrites it); actual:\n{actual}", path.display());
}

fn assert_rate(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
}

#[test]
fn empty_history_is_no_data_everywhere() {
    let m = metrics("empty");

    assert_eq!(m.deployment_frequency.count, 0);
    assert_eq!(m.deployment_frequency.per_day, 0.0);
    assert_eq!(m.deployment_frequency.per_week, 0.0);
    assert_eq!(m.deployment_frequency.samples, 0);
    assert_eq!(
        m.deployment_frequency.derivation,
        "no data: no deployments between 2026-10-28 and 2026-11-27 (30 days)"
    );

    assert_eq!((m.lead_time_for_changes.median_s, m.lead_time_for_changes.p90_s), (None, None));
    assert_eq!(m.lead_time_for_changes.samples, 0);
    assert!(m.lead_time_for_changes.derivation.starts_with("no data: "), "{}", m.lead_time_for_changes.derivation);

    assert_eq!(m.change_failure_rate.rate, None);
    assert_eq!((m.change_failure_rate.failures, m.change_failure_rate.changes), (0, 0));
    assert_eq!(m.change_failure_rate.samples, 0);
    assert_eq!(
        m.change_failure_rate.derivation,
        "no data: no finished deployments between 2026-10-28 and 2026-11-27 (30 days)"
    );

    assert_eq!(m.time_to_restore.median_s, None);
    assert_eq!((m.time_to_restore.samples, m.time_to_restore.unrestored), (0, 0));
    assert_eq!(
        m.time_to_restore.derivation,
        "no data: no failed or rolled-back deployments between 2026-10-28 and 2026-11-27 (30 days)"
    );

    assert_eq!(m.executions.total, 0);
    golden("empty.table.txt", &render_table(&m));
}

/// A failed deployment, rolled back in place (no separate rollback record), then a successful one a day later.
#[test]
fn failed_and_rolled_back_then_restored() {
    let m = metrics("failed_then_restored");

    assert_eq!(m.deployment_frequency.count, 1);
    assert_rate(m.deployment_frequency.per_day, 1.0 / DAYS);
    assert_rate(m.deployment_frequency.per_week, 7.0 / DAYS);

    // CFR 1/2: the failed change and the successful one are both changes.
    assert_eq!((m.change_failure_rate.failures, m.change_failure_rate.changes), (1, 2));
    assert_eq!(m.change_failure_rate.rate, Some(0.5));
    assert_eq!(m.change_failure_rate.samples, 2);

    // Restore: d-2 completed (1793320200) - d-1 completed (1793233500).
    assert_eq!(m.time_to_restore.median_s, Some(86_700));
    assert_eq!((m.time_to_restore.samples, m.time_to_restore.unrestored), (1, 0));

    // Lead time: only the successful deployment; d-2 completed (1793320200) - e2's commit (1793317200).
    assert_eq!(m.lead_time_for_changes.median_s, Some(3_000));
    assert_eq!(m.lead_time_for_changes.p90_s, Some(3_000));
    assert_eq!(m.lead_time_for_changes.samples, 1);

    assert_eq!((m.executions.total, m.executions.succeeded, m.executions.failed), (2, 1, 1));

    golden("failed_then_restored.table.txt", &render_table(&m));
    golden("failed_then_restored.out.json", &(serde_json::to_string_pretty(&m).unwrap() + "\n"));
}

/// A CodeDeploy-style rollback is its own deployment: it restores service but is not a change. A rollback that
/// itself fails restores nothing.
#[test]
fn rollback_deployments_are_not_changes() {
    let m = metrics("rollback_deployment");

    // Changes d-1, d-2, d-3; counting the two rollbacks as changes would give 2 deployments and 2 of 5 (or 3 of 5).
    assert_eq!(m.deployment_frequency.count, 1);
    assert_eq!(
        m.deployment_frequency.derivation,
        "1 successful deployment between 2026-10-28 and 2026-11-27 (30 days); 2 rollback deployments not counted"
    );
    assert_eq!((m.change_failure_rate.failures, m.change_failure_rate.changes), (2, 3));
    assert_rate(m.change_failure_rate.rate.unwrap(), 2.0 / 3.0);

    // d-1 is restored by its rollback: 1793406300 - 1793405700 (not by d-2 a day later); d-3's rollback failed.
    assert_eq!(m.time_to_restore.median_s, Some(600));
    assert_eq!((m.time_to_restore.samples, m.time_to_restore.unrestored), (1, 1));
    assert_eq!(
        m.time_to_restore.derivation,
        "nearest-rank median over 1 failed or rolled-back deployment of the time from its end to the next \
         successful deployment's completion; 1 not restored yet"
    );

    assert_eq!(m.lead_time_for_changes.median_s, None);
    assert_eq!(
        m.lead_time_for_changes.derivation,
        "no data: no successful deployment in the window has a pipeline execution with a commit time; \
         skipped 1 successful deployment without a known commit time"
    );

    let table = render_table(&m);
    assert!(table.contains("66.7% (2 of 3)"), "{table}");
}

/// Records count in the window their own start falls in, [start, end): d0 was created before the window and
/// completed inside it (out); d1 at the start (in); d4 and e4 at or after the end (out); d3 is still running (not in
/// the failure rate). d2's pipeline waited for approval since before the window: the deployment counts, and its
/// lead time runs from its commit; its execution is not counted among the window's executions.
#[test]
fn records_spanning_the_window_edge() {
    let m = metrics("window_edge");

    assert_eq!(m.deployment_frequency.count, 2);
    assert_rate(m.deployment_frequency.per_day, 2.0 / DAYS);

    assert_eq!((m.change_failure_rate.failures, m.change_failure_rate.changes), (1, 3));
    assert_rate(m.change_failure_rate.rate.unwrap(), 1.0 / 3.0);
    assert_eq!(
        m.change_failure_rate.derivation,
        "1 of 3 finished deployments failed or were rolled back (rollback deployments are not changes); \
         1 in progress not counted"
    );

    // d1: 1793146800 - 1793145000; d2: 1794010800 - 1792971600.
    assert_eq!(m.lead_time_for_changes.median_s, Some(1_800));
    assert_eq!(m.lead_time_for_changes.p90_s, Some(1_039_200));
    assert_eq!(m.lead_time_for_changes.samples, 2);

    // d5 failed inside the window and was restored by d6 after it: 1795739400 - 1794874200.
    assert_eq!(m.time_to_restore.median_s, Some(865_200));
    assert_eq!((m.time_to_restore.samples, m.time_to_restore.unrestored), (1, 0));

    assert_eq!(m.executions.total, 2);
    assert_eq!((m.executions.succeeded, m.executions.in_progress), (1, 1));
}

/// Five successful deployments with commit times (lead times 2400, 8700, 1500, 88200, 4200 s) among others that
/// have none: a manual one, one whose execution has no commit time, one whose execution is missing, and one whose
/// commit time is after its completion.
#[test]
fn lead_time_from_commit_to_production() {
    let m = metrics("lead_time");

    assert_eq!(m.lead_time_for_changes.samples, 5);
    assert_eq!(m.lead_time_for_changes.median_s, Some(4_200));
    assert_eq!(m.lead_time_for_changes.p90_s, Some(88_200));
    assert_eq!(
        m.lead_time_for_changes.derivation,
        "nearest-rank median and p90 of commit-to-completion time over 5 successful deployments linked to a \
         pipeline execution with a commit time; skipped 3 successful deployments without a known commit time, \
         1 deployment committed after it completed (clock skew)"
    );

    assert_eq!(m.deployment_frequency.count, 9);
    assert_rate(m.deployment_frequency.per_week, 9.0 * 7.0 / DAYS);
    assert_eq!((m.change_failure_rate.failures, m.change_failure_rate.changes), (1, 10));
    // d8 failed; d10 is the next success: 1794010200 - 1793837700.
    assert_eq!(m.time_to_restore.median_s, Some(172_500));

    let e = m.executions;
    assert_eq!((e.total, e.succeeded, e.failed, e.superseded), (9, 7, 1, 1));

    let table = render_table(&m);
    assert!(table.contains("median 1h 10m, p90 1d 00h"), "{table}");
    assert!(table.contains("9 (0.30/day, 2.10/week)"), "{table}");
    assert!(table.contains("10% (1 of 10)"), "{table}");
}

#[test]
fn json_output_has_nulls_for_no_data() {
    let value = serde_json::to_value(metrics("empty")).unwrap();
    assert_eq!(value["change_failure_rate"]["rate"], serde_json::Value::Null);
    assert_eq!(value["lead_time_for_changes"]["median_s"], serde_json::Value::Null);
    assert_eq!(value["time_to_restore"]["median_s"], serde_json::Value::Null);
    assert_eq!(value["deployment_frequency"]["per_day"], 0.0);
    assert_eq!(value["window"]["start"], WINDOW_START);
}

#[test]
fn fixtures_round_trip() {
    for name in ["empty", "failed_then_restored", "rollback_deployment", "window_edge", "lead_time"] {
        let json = std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap();
        let history = History::from_json(&json).unwrap();
        let again = History::from_json(&serde_json::to_string(&history).unwrap()).unwrap();
        assert_eq!(history, again, "{name}");
    }
}
