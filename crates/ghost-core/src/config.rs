//! The user's contract: one TOML file describing a stack.
//!
//! Parsing is strict (`deny_unknown_fields`) and validation runs before any AWS call, collecting every problem at
//! once so a user fixes the file in one pass. Each problem names the key, the bad value and what is allowed.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::naming::Names;

/// A whole stack, as written in `ghost.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub stack: StackConfig,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub ghost: GhostConfig,
    #[serde(default)]
    pub load_balancer: LoadBalancerConfig,
    #[serde(default)]
    pub efs: EfsConfig,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub observe: ObserveConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    /// Resource-name prefix and the value of the `ghost:stack` tag.
    pub name: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    pub cidr: String,
    pub availability_zones: u8,
    pub task_subnets: TaskSubnets,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self { cidr: "10.0.0.0/16".into(), availability_zones: 2, task_subnets: TaskSubnets::Public }
    }
}

/// Where ECS tasks run: the seed's public subnets (no NAT cost) or private subnets behind a NAT gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskSubnets {
    Public,
    Private,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GhostConfig {
    pub image: String,
    pub url: String,
    pub cpu: u32,
    pub memory: u32,
    pub desired_count: u32,
    /// Ghost supports one instance per site; more than one is an explicit, loudly-warned opt-in.
    pub allow_multiple_writers: bool,
    pub database: Database,
    /// The cluster's default capacity provider for the service.
    pub capacity_provider: CapacityProvider,
    /// RDS instance class with database = "mysql".
    pub db_instance_class: String,
}

impl Default for GhostConfig {
    fn default() -> Self {
        Self {
            image: "ghost:6".into(),
            url: "http://localhost".into(),
            cpu: 256,
            memory: 512,
            desired_count: 1,
            allow_multiple_writers: false,
            database: Database::Sqlite,
            capacity_provider: CapacityProvider::Fargate,
            db_instance_class: "db.t4g.micro".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    /// Ghost's SQLite file on EFS: cheap, single writer (the seed).
    Sqlite,
    /// RDS MySQL 8, Multi-AZ, credentials in Secrets Manager: the production mode.
    Mysql,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadBalancerConfig {
    /// When set: HTTPS on 443 and 80 redirects to it.
    pub certificate_arn: String,
    /// Port of the blue/green test listener (green is verified there before traffic moves).
    pub test_listener_port: u16,
    /// Who may reach the test listener; nobody by default, never the whole internet.
    pub admin_cidrs: Vec<String>,
}

impl Default for LoadBalancerConfig {
    fn default() -> Self {
        Self { certificate_arn: String::new(), test_listener_port: 8080, admin_cidrs: Vec::new() }
    }
}

/// Ghost's content file system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EfsConfig {
    pub throughput_mode: ThroughputMode,
    pub performance_mode: PerformanceMode,
}

impl Default for EfsConfig {
    fn default() -> Self {
        Self { throughput_mode: ThroughputMode::Bursting, performance_mode: PerformanceMode::GeneralPurpose }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThroughputMode {
    /// Credits accrue with size: cheapest for a small blog (the seed).
    Bursting,
    /// Pay per use, no credits to run out of.
    Elastic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerformanceMode {
    GeneralPurpose,
    MaxIo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityProvider {
    /// On-demand Fargate (the seed).
    Fargate,
    /// Spot Fargate: about 70% cheaper, tasks can be reclaimed with two minutes' notice.
    FargateSpot,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    pub source: Source,
    pub repository: String,
    pub branch: String,
    pub deployment: Deployment,
    /// A manual-approval stage between build and deploy.
    pub approval: bool,
    /// How many images the ECR lifecycle policy keeps (older ones expire).
    pub keep_images: u32,
    /// Minutes the old (blue) tasks keep running after traffic moved, for an instant rollback (CodeDeploy).
    pub blue_termination_wait_minutes: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            source: Source::Codecommit,
            repository: "ghost-blog".into(),
            branch: "main".into(),
            deployment: Deployment::Codedeploy,
            approval: false,
            keep_images: 20,
            blue_termination_wait_minutes: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Codecommit,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deployment {
    Codedeploy,
    Ecs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObserveConfig {
    pub notify_emails: Vec<String>,
    pub log_retention_days: u32,
    pub alarms: AlarmThresholds,
}

impl Default for ObserveConfig {
    fn default() -> Self {
        Self { notify_emails: Vec::new(), log_retention_days: 30, alarms: AlarmThresholds::default() }
    }
}

/// When each alarm fires (`[observe.alarms]`). Defaults suit one small Ghost task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlarmThresholds {
    /// 5xx answers (load balancer's own, and Ghost's) in 5 minutes.
    pub http_5xx_per_5min: u32,
    /// p95 of Ghost's response time over 5 minutes.
    pub latency_p95_seconds: f64,
    pub cpu_percent: u32,
    pub memory_percent: u32,
    /// EFS burst credits (bursting mode) below this many GiB.
    pub efs_burst_credits_gib: u32,
    pub db_cpu_percent: u32,
    pub db_free_storage_gib: u32,
    pub db_connections: u32,
}

impl Default for AlarmThresholds {
    fn default() -> Self {
        Self {
            http_5xx_per_5min: 10,
            latency_p95_seconds: 2.0,
            cpu_percent: 80,
            memory_percent: 80,
            efs_burst_credits_gib: 200,
            db_cpu_percent: 80,
            db_free_storage_gib: 2,
            db_connections: 50,
        }
    }
}

/// One thing wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Dotted TOML key, e.g. `network.cidr`.
    pub key: String,
    /// The offending value as written (empty for syntax errors).
    pub value: String,
    /// What would be accepted, or how to fix it.
    pub allowed: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.key, self.allowed)
        } else {
            write!(f, "{} = {}: {}", self.key, self.value, self.allowed)
        }
    }
}

/// Why a config could not be used. Every variant means "nothing was called".
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {origin}:\n{}", list(.problems))]
    Invalid { origin: String, problems: Vec<Problem> },
}

impl ConfigError {
    /// A bad command-line value (exit code 2, like a bad config): `key` is the flag.
    pub fn argument(key: &str, value: &str, allowed: &str) -> Self {
        Self::Invalid {
            origin: "(command line)".into(),
            problems: vec![Problem { key: key.into(), value: value.into(), allowed: allowed.into() }],
        }
    }

    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Read { .. } => &[],
            Self::Invalid { problems, .. } => problems,
        }
    }
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

/// CloudWatch Logs accepts exactly these retention periods (PutRetentionPolicy).
pub const LOG_RETENTION_DAYS: &[u32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// Fargate's valid task sizes: cpu units → allowed memory (MiB) as (min, max, step).
const FARGATE_SIZES: &[(u32, u32, u32, u32)] = &[
    (256, 512, 2048, 0), // 512, 1024, 2048 (special-cased below)
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Ghost runs as one process per site; a cap keeps an opt-in to more from becoming a cost accident.
pub const MAX_DESIRED_COUNT: u32 = 10;

fn fargate_memory_ok(cpu: u32, memory: u32) -> Option<bool> {
    let &(_, min, max, step) = FARGATE_SIZES.iter().find(|(c, ..)| *c == cpu)?;
    if cpu == 256 {
        return Some(matches!(memory, 512 | 1024 | 2048));
    }
    Some(memory >= min && memory <= max && (memory - min).is_multiple_of(step))
}

fn fargate_memory_allowed(cpu: u32) -> String {
    match FARGATE_SIZES.iter().find(|(c, ..)| *c == cpu) {
        Some((256, ..)) => "512, 1024 or 2048 for cpu = 256".into(),
        Some(&(c, min, max, step)) => format!("{min}..={max} in steps of {step} for cpu = {c}"),
        None => String::new(),
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let invalid = |problems| ConfigError::Invalid { origin: origin.to_string(), problems };
        let de = toml::de::Deserializer::parse(text).map_err(|e| invalid(vec![syntax_problem(text, &e)]))?;
        let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let mut problem = syntax_problem(text, &inner);
            let known = path != "." && !path.is_empty();
            problem.key = match (known, missing_field(inner.message())) {
                (true, Some(field)) => format!("{path}.{field}"),
                (true, None) => path,
                (false, _) => problem.key,
            };
            invalid(vec![problem])
        })?;
        let problems = cfg.validate();
        if problems.is_empty() { Ok(cfg) } else { Err(invalid(problems)) }
    }

    /// Every rule of the contract; empty means valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: &str, value: &dyn fmt::Display, allowed: &str| {
            out.push(Problem { key: key.into(), value: value.to_string(), allowed: allowed.into() });
        };
        let q = |s: &str| format!("{s:?}");

        // stack
        let name = &self.stack.name;
        let name_ok = (1..=20).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.ends_with('-')
            && !name.contains("--");
        if !name_ok {
            bad(
                "stack.name",
                &q(name),
                "1-20 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-' and without '--'",
            );
        } else {
            for (what, derived, limit) in Names::new(name).length_checked() {
                if derived.len() > limit {
                    bad(
                        "stack.name",
                        &q(name),
                        &format!("derived {what} name {derived:?} exceeds AWS's {limit} characters"),
                    );
                }
            }
        }
        if !region_ok(&self.stack.region) {
            bad("stack.region", &q(&self.stack.region), "an AWS region code such as \"eu-west-2\" or \"us-east-1\"");
        }

        // network
        let n = &self.network;
        match n.cidr.parse::<Ipv4Net>() {
            Err(_) => bad("network.cidr", &q(&n.cidr), "an IPv4 CIDR block such as \"10.0.0.0/16\""),
            Ok(net) if !(16..=24).contains(&net.prefix_len()) => bad(
                "network.cidr",
                &q(&n.cidr),
                "a prefix length between /16 and /24 (AWS VPC limits, room for 6 subnets)",
            ),
            Ok(net) if net.network() != net.addr() => {
                bad("network.cidr", &q(&n.cidr), &format!("the network address of the block, i.e. \"{}\"", net.trunc()))
            }
            Ok(net) if !is_private(net) => bad(
                "network.cidr",
                &q(&n.cidr),
                "a private range (RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, or 100.64.0.0/10)",
            ),
            Ok(_) => {}
        }
        if !(2..=3).contains(&n.availability_zones) {
            bad("network.availability_zones", &n.availability_zones, "2 or 3");
        }

        // ghost
        let g = &self.ghost;
        if g.image.trim().is_empty() || g.image.chars().any(char::is_whitespace) {
            bad("ghost.image", &q(&g.image), "a container image reference such as \"ghost:6\"");
        }
        if !url_ok(&g.url) {
            bad("ghost.url", &q(&g.url), "an absolute http:// or https:// URL such as \"https://blog.example.com\"");
        }
        match fargate_memory_ok(g.cpu, g.memory) {
            None => bad("ghost.cpu", &g.cpu, "one of Fargate's cpu sizes: 256, 512, 1024, 2048, 4096, 8192, 16384"),
            Some(false) => bad("ghost.memory", &g.memory, &fargate_memory_allowed(g.cpu)),
            Some(true) => {}
        }
        if g.desired_count == 0 || g.desired_count > MAX_DESIRED_COUNT {
            bad("ghost.desired_count", &g.desired_count, &format!("1..={MAX_DESIRED_COUNT}"));
        } else if g.desired_count > 1 && g.database == Database::Sqlite {
            bad(
                "ghost.desired_count",
                &g.desired_count,
                "1 with database = \"sqlite\": SQLite on EFS corrupts with more than one writer",
            );
        } else if g.desired_count > 1 && !g.allow_multiple_writers {
            bad(
                "ghost.desired_count",
                &g.desired_count,
                "1: Ghost supports one instance per site; set ghost.allow_multiple_writers = true to opt in anyway",
            );
        }

        let class = &g.db_instance_class;
        let class_ok = class.strip_prefix("db.").is_some_and(|rest| {
            rest.split('.').count() == 2
                && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.')
        });
        if !class_ok {
            bad(
                "ghost.db_instance_class",
                &q(class),
                "an RDS instance class such as \"db.t4g.micro\" or \"db.m7g.large\"",
            );
        }

        // load balancer
        let cert = &self.load_balancer.certificate_arn;
        if !cert.is_empty() {
            match acm_region(cert) {
                None => bad(
                    "load_balancer.certificate_arn",
                    &q(cert),
                    "empty, or an ACM certificate ARN: arn:aws:acm:<region>:<12-digit account>:certificate/<id>",
                ),
                Some(r) if r != self.stack.region => bad(
                    "load_balancer.certificate_arn",
                    &q(cert),
                    &format!(
                        "a certificate in the stack's region {:?} (an ALB cannot use one from {r:?})",
                        self.stack.region
                    ),
                ),
                Some(_) => {}
            }
        }

        let lb = &self.load_balancer;
        if lb.test_listener_port < 1024 || [2368, 2049, 3306].contains(&lb.test_listener_port) {
            bad(
                "load_balancer.test_listener_port",
                &lb.test_listener_port,
                "a port from 1024 to 65535 other than Ghost's 2368, NFS's 2049 and MySQL's 3306 (80 and 443 are production)",
            );
        }
        for (i, c) in lb.admin_cidrs.iter().enumerate() {
            match c.parse::<Ipv4Net>() {
                Err(_) => bad(
                    &format!("load_balancer.admin_cidrs[{i}]"),
                    &q(c),
                    "an IPv4 CIDR block such as \"203.0.113.0/24\"",
                ),
                Ok(n) if n.prefix_len() == 0 => bad(
                    &format!("load_balancer.admin_cidrs[{i}]"),
                    &q(c),
                    "a specific range: the test listener serves unreleased versions and must never be open to the internet",
                ),
                Ok(_) => {}
            }
        }

        // pipeline
        let p = &self.pipeline;
        let name_ok = |n: &str| {
            (1..=100).contains(&n.len())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && !n.ends_with(".git")
        };
        match p.source {
            Source::Codecommit if !name_ok(&p.repository) => bad(
                "pipeline.repository",
                &q(&p.repository),
                "1-100 characters of A-Z, a-z, 0-9, '-', '_', '.' (no .git suffix)",
            ),
            Source::Github if !p.repository.split_once('/').is_some_and(|(o, r)| name_ok(o) && name_ok(r)) => bad(
                "pipeline.repository",
                &q(&p.repository),
                "with source = \"github\": the repository as \"owner/name\", e.g. \"acme/blog\"",
            ),
            _ => {}
        }
        if !(1..=1000).contains(&p.keep_images) {
            bad("pipeline.keep_images", &p.keep_images, "1 to 1000 images kept in the ECR repository");
        }
        if p.blue_termination_wait_minutes > 2880 {
            bad(
                "pipeline.blue_termination_wait_minutes",
                &p.blue_termination_wait_minutes,
                "0 to 2880 minutes (CodeDeploy's limit, two days)",
            );
        }
        if !branch_ok(&p.branch) {
            bad(
                "pipeline.branch",
                &q(&p.branch),
                "a git branch name such as \"main\" (no spaces, '..', '~', '^', ':' or leading '-')",
            );
        }

        // observe
        for (i, email) in self.observe.notify_emails.iter().enumerate() {
            if !email_ok(email) {
                bad(&format!("observe.notify_emails[{i}]"), &q(email), "an email address such as \"ops@example.com\"");
            }
        }
        let a = &self.observe.alarms;
        for (key, v) in
            [("cpu_percent", a.cpu_percent), ("memory_percent", a.memory_percent), ("db_cpu_percent", a.db_cpu_percent)]
        {
            if !(1..=100).contains(&v) {
                bad(&format!("observe.alarms.{key}"), &v, "a percentage from 1 to 100");
            }
        }
        for (key, v) in [
            ("http_5xx_per_5min", a.http_5xx_per_5min),
            ("efs_burst_credits_gib", a.efs_burst_credits_gib),
            ("db_free_storage_gib", a.db_free_storage_gib),
            ("db_connections", a.db_connections),
        ] {
            if v == 0 {
                bad(&format!("observe.alarms.{key}"), &v, "a count of 1 or more (0 would alarm always or never)");
            }
        }
        if !(a.latency_p95_seconds > 0.0 && a.latency_p95_seconds <= 60.0) {
            bad("observe.alarms.latency_p95_seconds", &a.latency_p95_seconds, "seconds, above 0 and at most 60");
        }
        if !LOG_RETENTION_DAYS.contains(&self.observe.log_retention_days) {
            let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
            bad(
                "observe.log_retention_days",
                &self.observe.log_retention_days,
                &format!("one of CloudWatch Logs' retention periods: {}", allowed.join(", ")),
            );
        }
        out
    }

    /// The validated VPC block (call only on a validated config).
    pub fn vpc_cidr(&self) -> Ipv4Net {
        self.network.cidr.parse().expect("validated config has a valid cidr")
    }

    pub fn names(&self) -> Names {
        Names::new(&self.stack.name)
    }
}

fn syntax_problem(text: &str, e: &toml::de::Error) -> Problem {
    let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1));
    let msg = e.message().trim().to_string();
    let key = match (line, missing_field(&msg)) {
        (_, Some(field)) => field.to_string(),
        (Some(l), None) => key_at_line(text, l).unwrap_or_else(|| "(syntax)".into()),
        (None, None) => "(syntax)".into(),
    };
    let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
    Problem { key, value: String::new(), allowed: format!("{msg}{at}") }
}

/// serde's "missing field `name`": the key to name is the missing one.
fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `")?.split('`').next()
}

/// `section.key` for the `key = ...` on line `l` (1-based), from the last `[section]` header above it.
fn key_at_line(text: &str, l: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(l).collect();
    let key = lines.last()?.split_once('=')?.0.trim().to_string();
    let section = lines.iter().rev().find_map(|x| x.trim().strip_prefix('[')?.strip_suffix(']').map(str::trim));
    Some(section.map_or(key.clone(), |s| format!("{s}.{key}")))
}

fn region_ok(r: &str) -> bool {
    // e.g. eu-west-2, us-gov-west-1, ap-southeast-3, il-central-1
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

fn is_private(net: Ipv4Net) -> bool {
    let ranges: [(Ipv4Addr, u8); 4] = [
        (Ipv4Addr::new(10, 0, 0, 0), 8),
        (Ipv4Addr::new(172, 16, 0, 0), 12),
        (Ipv4Addr::new(192, 168, 0, 0), 16),
        (Ipv4Addr::new(100, 64, 0, 0), 10),
    ];
    ranges.iter().any(|&(a, p)| Ipv4Net::new(a, p).is_ok_and(|r| r.contains(&net)))
}

fn url_ok(u: &str) -> bool {
    let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit_once(':').map_or(host, |(h, port)| if port.parse::<u16>().is_ok() { h } else { "" });
            !host.is_empty()
                && !u.chars().any(char::is_whitespace)
                && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        }
        None => false,
    }
}

fn acm_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "acm"
        && region_ok(parts[3])
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("certificate/").is_some_and(|id| !id.is_empty());
    ok.then(|| parts[3])
}

fn branch_ok(b: &str) -> bool {
    !b.is_empty()
        && b.len() <= 255
        && !b.starts_with('-')
        && !b.starts_with('/')
        && !b.ends_with('/')
        && !b.ends_with(".lock")
        && !b.contains("..")
        && !b.contains("//")
        && !b.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
}

fn email_ok(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../fixtures/ghost.toml");

    /// Every `key = value` line of the sample, as (line index, key).
    fn sample_keys() -> Vec<(usize, String)> {
        SAMPLE
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.starts_with('#') && !l.starts_with('[') && l.contains(" = "))
            .map(|(i, l)| (i, l.split(" = ").next().unwrap().to_string()))
            .collect()
    }

    fn any_toml_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("TOML has no NaN literal here", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
            any::<bool>().prop_map(|b| b.to_string()),
            "[a-z0-9./:-]{0,24}".prop_map(|s| format!("\"{s}\"")),
            proptest::collection::vec("[a-z@.]{0,12}", 0..3).prop_map(|v| format!("{v:?}")),
            Just("{ nested = 1 }".to_string()),
        ]
    }

    proptest::proptest! {
        /// Any bytes: parsing never panics, and a refusal always names where (a key, or the syntax).
        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,400}") {
            if let Err(e) = Config::parse(&text, "proptest") {
                proptest::prop_assert!(!e.problems().is_empty());
            }
        }

        /// The sample with any one key's value replaced by any TOML value: never a panic; either a valid config
        /// (which then validates clean) or a refusal naming that very key.
        #[test]
        fn any_one_wrong_value_is_refused_by_its_key(pick in 0usize..1000, value in any_toml_value()) {
            let keys = sample_keys();
            let (line, key) = &keys[pick % keys.len()];
            let text: Vec<String> = SAMPLE
                .lines()
                .enumerate()
                .map(|(i, l)| if i == *line { format!("{key} = {value}") } else { l.to_string() })
                .collect();
            match Config::parse(&text.join("\n"), "proptest") {
                Ok(cfg) => proptest::prop_assert!(cfg.validate().is_empty()),
                Err(e) => {
                    let named: Vec<String> = e.problems().iter().map(|p| p.key.clone()).collect();
                    // cpu and memory are valid only as a pair: a new cpu may be refused as the memory's problem.
                    let pair = key == "cpu" && named.iter().any(|k| k == "ghost.memory");
                    proptest::prop_assert!(
                        pair || named.iter().any(|k| k.contains(key.as_str())),
                        "{} = {} refused under {:?}", key, value, named
                    );
                }
            }
        }
    }

    fn problem_keys(text: &str) -> Vec<String> {
        match Config::parse(text, "test") {
            Ok(_) => vec![],
            Err(e) => e.problems().iter().map(|p| p.key.clone()).collect(),
        }
    }

    #[test]
    fn the_sample_validates() {
        let cfg = Config::parse(SAMPLE, "fixtures/ghost.toml").unwrap();
        assert_eq!(cfg.stack.name, "ghost");
        assert_eq!(cfg.network.availability_zones, 2);
    }

    #[test]
    fn a_minimal_config_takes_defaults() {
        let cfg = Config::parse("[stack]\nname = \"blog\"\nregion = \"eu-west-2\"\n", "t").unwrap();
        assert_eq!(cfg.ghost, GhostConfig::default());
        assert_eq!(cfg.network.cidr, "10.0.0.0/16");
    }

    #[test]
    fn unknown_keys_are_named() {
        assert_eq!(problem_keys("[stack]\nname = \"a\"\nregion = \"eu-west-2\"\nzone = 1\n"), ["stack.zone"]);
    }

    #[test]
    fn enum_values_name_the_key_and_choices() {
        let err = Config::parse("[stack]\nname=\"a\"\nregion=\"eu-west-2\"\n[network]\ntask_subnets=\"privat\"\n", "t")
            .unwrap_err();
        let p = &err.problems()[0];
        assert_eq!(p.key, "network.task_subnets");
        assert!(p.allowed.contains("public") && p.allowed.contains("private"), "{p}");
    }

    #[test]
    fn stack_names() {
        for ok in ["a", "ghost", "blog-2", "abcdefghijklmnopqrst"] {
            let t = format!("[stack]\nname = \"{ok}\"\nregion = \"eu-west-2\"\n");
            assert!(Config::parse(&t, "t").is_ok(), "{ok}");
        }
        for bad in ["", "Ghost", "1blog", "blog-", "a--b", "abcdefghijklmnopqrstu", "blog_1"] {
            let t = format!("[stack]\nname = \"{bad}\"\nregion = \"eu-west-2\"\n");
            assert_eq!(problem_keys(&t), ["stack.name"], "{bad}");
        }
    }

    #[test]
    fn cidr_rules() {
        for bad in ["10.0.0.0", "10.0.0.0/8", "10.0.0.0/25", "10.0.1.0/16", "8.8.0.0/16", "nope"] {
            let t = format!("[stack]\nname=\"a\"\nregion=\"eu-west-2\"\n[network]\ncidr=\"{bad}\"\n");
            assert_eq!(problem_keys(&t), ["network.cidr"], "{bad}");
        }
    }

    #[test]
    fn fargate_pairs() {
        assert_eq!(fargate_memory_ok(256, 512), Some(true));
        assert_eq!(fargate_memory_ok(256, 3072), Some(false));
        assert_eq!(fargate_memory_ok(512, 3072), Some(true));
        assert_eq!(fargate_memory_ok(1024, 1024), Some(false));
        assert_eq!(fargate_memory_ok(4096, 30720), Some(true));
        assert_eq!(fargate_memory_ok(8192, 20480), Some(true));
        assert_eq!(fargate_memory_ok(8192, 18432), Some(false));
        assert_eq!(fargate_memory_ok(300, 512), None);
    }

    #[test]
    fn single_writer_rule() {
        assert_eq!(
            problem_keys(&format!("{SAMPLE}\n").replace("desired_count = 1", "desired_count = 2")),
            ["ghost.desired_count"]
        );
        let mysql = SAMPLE.replace("database = \"sqlite\"", "database = \"mysql\"");
        let two = mysql.replace("desired_count = 1", "desired_count = 2");
        assert_eq!(problem_keys(&two), ["ghost.desired_count"]);
        let opted = two.replace("[ghost]", "[ghost]\nallow_multiple_writers = true");
        assert!(Config::parse(&opted, "t").is_ok());
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let t = "[stack]\nname=\"Bad\"\nregion=\"mars\"\n[network]\navailability_zones=4\n[observe]\nlog_retention_days=31\n";
        assert_eq!(
            problem_keys(t),
            ["stack.name", "stack.region", "network.availability_zones", "observe.log_retention_days"]
        );
    }

    #[test]
    fn certificate_must_be_acm_in_region() {
        let good = "arn:aws:acm:eu-west-2:123456789012:certificate/abc";
        let t = SAMPLE.replace("certificate_arn = \"\"", &format!("certificate_arn = \"{good}\""));
        assert!(Config::parse(&t, "t").is_ok());
        let other = t.replace("eu-west-2:1234", "us-east-1:1234");
        assert_eq!(problem_keys(&other), ["load_balancer.certificate_arn"]);
    }

    #[test]
    fn emails_and_urls() {
        assert!(email_ok("ops@example.com"));
        assert!(!email_ok("ops@example"));
        assert!(!email_ok("ops example.com"));
        assert!(url_ok("http://localhost"));
        assert!(url_ok("https://blog.example.com:8443/path"));
        assert!(!url_ok("ftp://x"));
        assert!(!url_ok("http://"));
    }
}
