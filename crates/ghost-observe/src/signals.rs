//! What we watch, defined once: each metric (namespace, name, dimensions, statistic) that the alarms and the
//! dashboard both use, derived from the deployed resources, so an alarm and its graph can never disagree.

use ghost_core::config::{AlarmThresholds, ThroughputMode};
use serde::Serialize;
use serde_json::{Value, json};

/// One CloudWatch metric with the statistic we read it by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub namespace: &'static str,
    pub name: &'static str,
    /// (name, value), in CloudWatch's order.
    pub dimensions: Vec<(&'static str, String)>,
    /// `Sum`, `Average`, `Maximum`, `Minimum` or an extended statistic such as `p95`.
    pub stat: &'static str,
    pub period_s: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
}

/// One alarm: a metric, a threshold and how many periods must breach.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmDef {
    /// `<stack>-<suffix>`.
    pub name: String,
    pub description: String,
    pub metric: Metric,
    pub comparison: Comparison,
    pub threshold: f64,
    pub evaluation_periods: i32,
    /// `notBreaching` where no data means nothing is wrong (no requests, no tasks yet); `breaching` where
    /// silence itself is the failure.
    pub treat_missing: &'static str,
    /// Whether CodeDeploy rolls a deployment back when this alarm fires (a bad release shows as errors and
    /// unhealthy hosts, not as database storage).
    pub rolls_back: bool,
}

/// The deployed resources the metrics are about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Watched {
    pub stack: String,
    pub region: String,
    /// `app/<name>/<id>`: the ALB's CloudWatch dimension (the tail of its ARN).
    pub load_balancer: String,
    /// Blue and green, each with its `targetgroup/<name>/<id>`. The colour is carried, not read from the name: in
    /// a plan the groups do not exist yet and their dimensions are placeholders.
    pub target_groups: [(&'static str, String); 2],
    pub cluster: String,
    pub service: String,
    pub file_system: String,
    pub throughput_mode: ThroughputMode,
    pub db_instance: Option<String>,
}

/// The CloudWatch dimension of an ELB ARN: everything after `loadbalancer/` (ALB) or the `targetgroup/...` part.
pub fn elb_dimension(arn: &str) -> String {
    match arn.split_once(":loadbalancer/") {
        Some((_, tail)) => tail.to_string(),
        None => arn.rsplit_once(':').map(|(_, t)| t.to_string()).unwrap_or_else(|| arn.to_string()),
    }
}

const FIVE_MIN: i32 = 300;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

impl Watched {
    fn alb(&self, name: &'static str, stat: &'static str) -> Metric {
        Metric {
            namespace: "AWS/ApplicationELB",
            name,
            dimensions: vec![("LoadBalancer", self.load_balancer.clone())],
            stat,
            period_s: FIVE_MIN,
        }
    }

    fn target_group(&self, tg: &str, name: &'static str, stat: &'static str, period_s: i32) -> Metric {
        Metric {
            namespace: "AWS/ApplicationELB",
            name,
            dimensions: vec![("TargetGroup", tg.to_string()), ("LoadBalancer", self.load_balancer.clone())],
            stat,
            period_s,
        }
    }

    fn ecs(&self, namespace: &'static str, name: &'static str, stat: &'static str) -> Metric {
        Metric {
            namespace,
            name,
            dimensions: vec![("ClusterName", self.cluster.clone()), ("ServiceName", self.service.clone())],
            stat,
            period_s: FIVE_MIN,
        }
    }

    fn rds(&self, db: &str, name: &'static str, stat: &'static str) -> Metric {
        Metric {
            namespace: "AWS/RDS",
            name,
            dimensions: vec![("DBInstanceIdentifier", db.to_string())],
            stat,
            period_s: FIVE_MIN,
        }
    }

    fn efs(&self, name: &'static str, stat: &'static str) -> Metric {
        Metric {
            namespace: "AWS/EFS",
            name,
            dimensions: vec![("FileSystemId", self.file_system.clone())],
            stat,
            period_s: FIVE_MIN,
        }
    }

    /// Every alarm for this stack, named `<stack>-<what>`.
    pub fn alarms(&self, t: &AlarmThresholds) -> Vec<AlarmDef> {
        let name = |s: &str| format!("{}-{s}", self.stack);
        let alarm =
            |suffix: &str, description: String, metric: Metric, comparison, threshold, treat_missing, rolls_back| {
                AlarmDef {
                    name: name(suffix),
                    description,
                    metric,
                    comparison,
                    threshold,
                    evaluation_periods: 1,
                    treat_missing,
                    rolls_back,
                }
            };
        let mut out = vec![
            alarm(
                "alb-5xx",
                format!("The load balancer answered 5xx more than {} times in 5 minutes", t.http_5xx_per_5min),
                self.alb("HTTPCode_ELB_5XX_Count", "Sum"),
                Comparison::GreaterThanThreshold,
                f64::from(t.http_5xx_per_5min),
                "notBreaching",
                true,
            ),
            alarm(
                "target-5xx",
                format!("Ghost answered 5xx more than {} times in 5 minutes", t.http_5xx_per_5min),
                self.alb("HTTPCode_Target_5XX_Count", "Sum"),
                Comparison::GreaterThanThreshold,
                f64::from(t.http_5xx_per_5min),
                "notBreaching",
                true,
            ),
            alarm(
                "latency-p95",
                format!("p95 response time above {} s over 5 minutes", t.latency_p95_seconds),
                self.alb("TargetResponseTime", "p95"),
                Comparison::GreaterThanThreshold,
                t.latency_p95_seconds,
                "notBreaching",
                false,
            ),
        ];
        for (color, tg) in &self.target_groups {
            out.push(alarm(
                &format!("unhealthy-{color}"),
                format!("A {color} target failed its health check"),
                self.target_group(tg, "UnHealthyHostCount", "Maximum", 60),
                Comparison::GreaterThanThreshold,
                0.0,
                "notBreaching",
                true,
            ));
        }
        out.push(alarm(
            "cpu-high",
            format!("Ghost's CPU above {} %", t.cpu_percent),
            self.ecs("AWS/ECS", "CPUUtilization", "Average"),
            Comparison::GreaterThanThreshold,
            f64::from(t.cpu_percent),
            "notBreaching",
            false,
        ));
        out.push(alarm(
            "memory-high",
            format!("Ghost's memory above {} %", t.memory_percent),
            self.ecs("AWS/ECS", "MemoryUtilization", "Average"),
            Comparison::GreaterThanThreshold,
            f64::from(t.memory_percent),
            "notBreaching",
            false,
        ));
        out.push(alarm(
            "tasks-missing",
            "Fewer tasks running than desired (Container Insights)".into(),
            self.ecs("ECS/ContainerInsights", "RunningTaskCount", "Minimum"),
            Comparison::LessThanThreshold,
            1.0,
            // Not "breaching": Container Insights has no data point for a service in its first minutes, so a
            // new alarm would go to ALARM on every first deploy. "missing" keeps the alarm where it is until
            // data arrives (CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data"); a
            // service with no running task still reports RunningTaskCount 0.
            "missing",
            false,
        ));
        if self.throughput_mode == ThroughputMode::Bursting {
            out.push(alarm(
                "efs-burst-credits",
                format!(
                    "EFS burst credits below {} GiB: throughput will drop to the baseline",
                    t.efs_burst_credits_gib
                ),
                self.efs("BurstCreditBalance", "Minimum"),
                Comparison::LessThanThreshold,
                f64::from(t.efs_burst_credits_gib) * GIB,
                "notBreaching",
                false,
            ));
        }
        if let Some(db) = &self.db_instance {
            out.push(alarm(
                "db-cpu-high",
                format!("Database CPU above {} %", t.db_cpu_percent),
                self.rds(db, "CPUUtilization", "Average"),
                Comparison::GreaterThanThreshold,
                f64::from(t.db_cpu_percent),
                "notBreaching",
                false,
            ));
            out.push(alarm(
                "db-storage-low",
                format!("Database free storage below {} GiB", t.db_free_storage_gib),
                self.rds(db, "FreeStorageSpace", "Minimum"),
                Comparison::LessThanThreshold,
                f64::from(t.db_free_storage_gib) * GIB,
                "notBreaching",
                false,
            ));
            out.push(alarm(
                "db-connections-high",
                format!("More than {} database connections", t.db_connections),
                self.rds(db, "DatabaseConnections", "Maximum"),
                Comparison::GreaterThanThreshold,
                f64::from(t.db_connections),
                "notBreaching",
                false,
            ));
        }
        out
    }

    /// The dashboard body: one graph per concern, from the same metric definitions as the alarms (plus the
    /// request count and 4xx, which have no alarm), with each alarm's threshold drawn where there is one.
    pub fn dashboard(&self, t: &AlarmThresholds) -> Value {
        let alarms = self.alarms(t);
        let series = |m: &Metric, label: &str| {
            let mut row: Vec<Value> = vec![json!(m.namespace), json!(m.name)];
            for (k, v) in &m.dimensions {
                row.push(json!(k));
                row.push(json!(v));
            }
            row.push(json!({ "stat": m.stat, "period": m.period_s, "label": label }));
            Value::Array(row)
        };
        let by = |suffix: &str| alarms.iter().find(|a| a.name.ends_with(&format!("-{suffix}"))).cloned();
        let mut widgets = Vec::new();
        let mut graph = |title: &str, metrics: Vec<Value>, threshold: Option<f64>| {
            let (x, y) = ((widgets.len() % 2) as i64 * 12, (widgets.len() / 2) as i64 * 6);
            let mut props = json!({
                "title": title, "region": self.region, "view": "timeSeries", "stacked": false, "metrics": metrics
            });
            if let Some(v) = threshold {
                props["annotations"] = json!({ "horizontal": [{ "label": "alarm", "value": v }] });
            }
            widgets.push(json!({ "type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": props }));
        };
        let a5 = by("alb-5xx").expect("alb-5xx");
        let t5 = by("target-5xx").expect("target-5xx");
        graph(
            "Requests and errors",
            vec![
                series(&self.alb("RequestCount", "Sum"), "requests"),
                series(&self.alb("HTTPCode_Target_4XX_Count", "Sum"), "4xx (Ghost)"),
                series(&a5.metric, "5xx (load balancer)"),
                series(&t5.metric, "5xx (Ghost)"),
            ],
            Some(a5.threshold),
        );
        let p95 = by("latency-p95").expect("latency-p95");
        let mut p50 = p95.metric.clone();
        p50.stat = "p50";
        let mut p99 = p95.metric.clone();
        p99.stat = "p99";
        graph(
            "Response time (s)",
            vec![series(&p50, "p50"), series(&p95.metric, "p95"), series(&p99, "p99")],
            Some(p95.threshold),
        );
        let healthy: Vec<Value> = self
            .target_groups
            .iter()
            .flat_map(|(color, tg)| {
                [
                    series(&self.target_group(tg, "HealthyHostCount", "Minimum", 60), &format!("healthy {color}")),
                    series(&self.target_group(tg, "UnHealthyHostCount", "Maximum", 60), &format!("unhealthy {color}")),
                ]
            })
            .collect();
        graph("Targets", healthy, None);
        let (cpu, mem, tasks) =
            (by("cpu-high").expect("cpu"), by("memory-high").expect("memory"), by("tasks-missing").expect("tasks"));
        graph(
            "Ghost CPU and memory (%)",
            vec![series(&cpu.metric, "CPU"), series(&mem.metric, "memory")],
            Some(cpu.threshold),
        );
        graph("Running tasks", vec![series(&tasks.metric, "running")], None);
        let mut efs = vec![
            series(&self.efs("DataReadIOBytes", "Sum"), "read bytes"),
            series(&self.efs("DataWriteIOBytes", "Sum"), "write bytes"),
        ];
        if let Some(b) = by("efs-burst-credits") {
            efs.push(series(&b.metric, "burst credits"));
        }
        graph("Content file system (EFS)", efs, None);
        if let (Some(c), Some(s), Some(n)) = (by("db-cpu-high"), by("db-storage-low"), by("db-connections-high")) {
            graph("Database CPU (%)", vec![series(&c.metric, "CPU")], Some(c.threshold));
            graph("Database", vec![series(&s.metric, "free storage (bytes)"), series(&n.metric, "connections")], None);
        }
        json!({ "widgets": widgets })
    }
}
