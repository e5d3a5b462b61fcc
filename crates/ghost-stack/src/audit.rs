//! The security audit: the stack's desired state checked against the rules a reviewer would apply, from the
//! same builders the lenses deploy with (so what is audited is what is deployed), and the settings fixed at
//! creation read back from AWS where the resources exist.
//!
//! Rules: no wildcard action in any policy we write; `*` as a resource only for actions IAM cannot scope
//! ([`star_only`], listed in the report); roles trusted by one AWS service; managed policies only the AWS ones
//! the lenses name; the internet (0.0.0.0/0, ::/0) only on the load balancer's 80/443; EFS encrypted, TLS-only,
//! IAM-authorised and mounted through the access point; the artifact bucket TLS-only, public access blocked,
//! encrypted; ECR scanning on push with immutable tags; RDS encrypted, private, deletion-protected; secrets never in
//! the task's plain environment or its log configuration.

use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use ghost_aws::iam::RoleSpec;
use ghost_aws::policy::{Effect, PolicyDocument};
use ghost_cicd::CicdSpec;
use ghost_core::config::{Deployment, Source};
use ghost_core::{AbsentExt, AwsResultExt, Config, is_planned};
use ghost_net::spec::{NetworkSpec, RuleSource, SgRole, SgSpec};
use ghost_runtime::RuntimeSpec;
use ghost_runtime::ecs::{self, TaskDef};
use serde::Serialize;

use crate::StackOutputs;

/// Actions IAM offers no resource-level permission for, so `*` is the only resource they take: the build
/// lens's ([`ghost_cicd::roles::STAR_ONLY`]) and the load balancer reads of ECS-native blue/green.
pub fn star_only(action: &str) -> bool {
    ghost_cicd::roles::STAR_ONLY.contains(&action) || ecs::ELB_READ.contains(&action)
}

/// AWS managed policies a lens attaches, each for a documented reason (ECS pulling images and writing logs;
/// CodeDeploy shifting an ECS service).
pub const MANAGED: &[&str] = &[ghost_runtime::ecs::ECS_EXECUTION_POLICY, ghost_cicd::roles::CODEDEPLOY_ECS_POLICY];

/// Names that mark a secret when they appear in a plain environment variable.
const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token", "private_key", "api_key", "apikey"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `iam`, `network`, `efs`, `s3`, `ecr`, `rds`, `secrets`.
    pub area: &'static str,
    pub resource: String,
    pub problem: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    /// What was checked, one line each, so a clean report shows its coverage.
    pub checked: Vec<String>,
    /// `role: action` pairs allowed on `*` because IAM requires it.
    pub star_resources: Vec<String>,
    pub findings: Vec<Finding>,
}

impl Audit {
    fn find(&mut self, area: &'static str, resource: &str, problem: impl Into<String>) {
        self.findings.push(Finding { area, resource: resource.to_string(), problem: problem.into() });
    }
}

/// Every role the stack creates, as the lenses build them from the config and the outputs.
pub fn roles(cfg: &Config, account: &str, o: &StackOutputs) -> Vec<RoleSpec> {
    let rt = RuntimeSpec::from_config(cfg);
    let mut v =
        vec![ecs::execution_role(&rt, o.runtime.database.as_ref()), ecs::task_role(&rt, &o.runtime.file_system)];
    if cfg.pipeline.deployment == Deployment::Ecs {
        v.push(ecs::ecs_lb_role(&rt, &o.runtime.load_balancer));
    }
    let spec = CicdSpec::from_config(cfg, account);
    let connection = o.cicd.connection.as_ref().map(|c| c.arn.as_str());
    v.push(ghost_cicd::roles::codebuild_role(&spec));
    v.push(ghost_cicd::roles::pipeline_role(&spec, &o.runtime, connection));
    if cfg.pipeline.deployment == Deployment::Codedeploy {
        v.push(ghost_cicd::roles::codedeploy_role(&spec));
    }
    if cfg.pipeline.source == Source::Codecommit {
        v.push(ghost_cicd::roles::events_role(&spec));
    }
    v
}

pub fn audit_role(a: &mut Audit, role: &RoleSpec) {
    for st in &role.trust.statement {
        let service = st.principal.as_ref().and_then(|p| p.get("Service")).and_then(|s| s.as_str());
        if st.effect == Effect::Allow && !service.is_some_and(|s| s.ends_with(".amazonaws.com")) {
            a.find("iam", &role.name, format!("trusted by {:?}, not one AWS service", st.principal));
        }
    }
    for m in &role.managed {
        if !MANAGED.contains(&m.as_str()) {
            a.find("iam", &role.name, format!("managed policy {m} is not one the lenses document"));
        }
    }
    let Some((name, doc)) = &role.inline else {
        a.checked.push(format!("iam role {}: trust, {} managed policies", role.name, role.managed.len()));
        return;
    };
    audit_allow_statements(a, &format!("{}/{name}", role.name), doc);
    a.checked.push(format!("iam role {}: trust, {} statements", role.name, doc.statement.len()));
}

fn audit_allow_statements(a: &mut Audit, owner: &str, doc: &PolicyDocument) {
    for st in doc.statement.iter().filter(|s| s.effect == Effect::Allow) {
        for action in st.action.iter().filter(|x| x.contains('*')) {
            a.find("iam", owner, format!("wildcard action {action}"));
        }
        let resources = st.resource.clone().unwrap_or_default();
        if resources.iter().any(|r| r == "*") {
            for action in &st.action {
                if star_only(action) {
                    a.star_resources.push(format!("{owner}: {action}"));
                } else {
                    a.find("iam", owner, format!("{action} on * (IAM can scope it to the stack's resources)"));
                }
            }
        }
    }
}

/// The internet reaches the load balancer on 80 (and 443) and nothing else.
pub fn audit_security_groups(a: &mut Audit, groups: &[SgSpec]) {
    for g in groups {
        for r in &g.rules {
            let RuleSource::Cidr(cidr) = &r.from else { continue };
            let world = cidr == "0.0.0.0/0" || cidr == "::/0";
            if world && !(g.role == SgRole::Alb && (r.port == 80 || r.port == 443)) {
                a.find("network", &g.name, format!("port {} open to {cidr}", r.port));
            }
        }
        a.checked.push(format!("security group {}: {} rules", g.name, g.rules.len()));
    }
}

/// Secrets come from Secrets Manager (`secrets`), never the plain environment or the log options; the content
/// volume is EFS with TLS in transit, IAM authorisation and the access point.
pub fn audit_task_definition(a: &mut Audit, td: &TaskDef) {
    for c in &td.container_definitions {
        for (k, v) in &c.environment {
            let lower = k.to_lowercase();
            if SECRET_WORDS.iter().any(|w| lower.contains(w)) && !v.is_empty() {
                a.find("secrets", &td.family, format!("{k} is a plain environment variable; use secrets"));
            }
        }
        for (k, from) in &c.secrets {
            if !from.starts_with("arn:aws:secretsmanager:") && !from.starts_with("arn:aws:ssm:") {
                a.find("secrets", &td.family, format!("secret {k} comes from {from}, not Secrets Manager or SSM"));
            }
        }
        let options = c.log_configuration.get("options").map(|o| o.to_string()).unwrap_or_default().to_lowercase();
        if SECRET_WORDS.iter().any(|w| options.contains(w)) {
            a.find("secrets", &td.family, "the log configuration carries a secret-like option");
        }
    }
    for v in &td.volumes {
        let name = v["name"].as_str().unwrap_or_default();
        let efs = &v["efsVolumeConfiguration"];
        if efs.is_null() {
            continue;
        }
        if efs["transitEncryption"] != "ENABLED" {
            a.find("efs", &td.family, format!("volume {name}: no TLS in transit"));
        }
        if efs["authorizationConfig"]["iam"] != "ENABLED" {
            a.find("efs", &td.family, format!("volume {name}: no IAM authorisation"));
        }
        if efs["authorizationConfig"]["accessPointId"].as_str().unwrap_or_default().is_empty() {
            a.find("efs", &td.family, format!("volume {name}: not mounted through an access point"));
        }
    }
    a.checked.push(format!("task definition {}: environment, secrets, logs, volumes", td.family));
}

/// A resource policy that denies every request without TLS.
fn denies_plain_transport(doc: &PolicyDocument) -> bool {
    doc.statement.iter().any(|s| {
        s.effect == Effect::Deny && s.condition.as_ref().is_some_and(|c| c["Bool"]["aws:SecureTransport"] == "false")
    })
}

pub fn audit_resource_policies(a: &mut Audit, cfg: &Config, account: &str, o: &StackOutputs) {
    let efs = ghost_runtime::efs::file_system_policy(&o.runtime.file_system, &o.runtime.task_role_arn);
    if !denies_plain_transport(&efs) {
        a.find("efs", &o.runtime.file_system.file_system_id, "the file-system policy does not deny non-TLS access");
    }
    audit_allow_statements(a, "efs file-system policy", &efs);
    let spec = CicdSpec::from_config(cfg, account);
    let bucket = ghost_cicd::bucket::bucket_policy(&spec);
    if !denies_plain_transport(&bucket) {
        a.find("s3", &spec.bucket(), "the bucket policy does not deny non-TLS access");
    }
    a.checked.push("efs file-system policy: TLS only, the task role through the access point".into());
    a.checked.push(format!("s3 bucket policy {}: TLS only", spec.bucket()));
}

/// The whole desired state: roles, security groups, the task definition, the resource policies.
/// The whole audit of a stack: its desired state from a plan (reads only), then the settings fixed at creation
/// read back where it is deployed.
pub async fn run(cfg: &Config, sdk: &aws_types::SdkConfig) -> crate::Result<Audit> {
    let env = ghost_core::Env::new(&cfg.stack.name, ghost_core::Mode::Plan);
    let report = crate::deploy(cfg, sdk, &env).await?;
    let Some(outputs) = report.outputs else {
        return Err(ghost_core::Error::Invariant {
            resource: cfg.stack.name.clone(),
            message: "a plan returned no outputs".into(),
        }
        .into());
    };
    let account = ghost_cicd::Cicd::new(sdk, env).account().await?;
    let mut a = audit_desired(cfg, &account, &outputs);
    audit_live(&mut a, sdk, cfg, &account, &outputs).await?;
    Ok(a)
}

impl std::fmt::Display for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.checked {
            writeln!(f, "  checked  {c}")?;
        }
        writeln!(f, "`*` as a resource, only where IAM offers no resource-level permission:")?;
        for s in &self.star_resources {
            writeln!(f, "  allowed  {s}")?;
        }
        for x in &self.findings {
            writeln!(f, "  FINDING  [{}] {}: {}", x.area, x.resource, x.problem)?;
        }
        if !self.checked.iter().any(|c| c.ends_with("(live)")) {
            writeln!(
                f,
                "  (not deployed here: the settings fixed at creation — encryption, public access, scanning, RDS — are read back once it is)"
            )?;
        }
        write!(f, "{} findings", self.findings.len())
    }
}

pub fn audit_desired(cfg: &Config, account: &str, o: &StackOutputs) -> Audit {
    let mut a = Audit::default();
    for role in roles(cfg, account, o) {
        audit_role(&mut a, &role);
    }
    audit_security_groups(&mut a, &NetworkSpec::from_config(cfg).security_groups());
    audit_task_definition(&mut a, &o.runtime.task_definition);
    audit_resource_policies(&mut a, cfg, account, o);
    a
}

/// A setting the audit could not read is a finding (not verified), never a pass.
fn unreadable(a: &mut Audit, area: &'static str, resource: &str, what: &str, err: &ghost_core::Error) {
    a.find(area, resource, format!("{what} could not be read, so it is not verified: {err}"));
}

/// The resource when it exists; `None` when it does not (nothing fixed at creation to read yet) or when it could
/// not be read (then said as a finding).
fn unless_absent<T>(
    a: &mut Audit,
    area: &'static str,
    resource: &str,
    got: ghost_core::Result<Option<T>>,
) -> Option<T> {
    match got {
        Ok(found) => found,
        Err(e) => {
            unreadable(a, area, resource, "it", &e);
            None
        }
    }
}

/// The settings fixed at creation, read back where the resource exists (skipped, and said so, where not).
pub async fn audit_live(
    a: &mut Audit,
    sdk: &aws_types::SdkConfig,
    cfg: &Config,
    account: &str,
    o: &StackOutputs,
) -> ghost_core::Result<()> {
    let fs_id = &o.runtime.file_system.file_system_id;
    if !is_planned(fs_id) {
        let efs = aws_sdk_efs::Client::new(sdk);
        let got = efs.describe_file_systems().file_system_id(fs_id).send().await.aws("DescribeFileSystems", fs_id)?;
        if got.file_systems().first().is_none_or(|f| f.encrypted() != Some(true)) {
            a.find("efs", fs_id, "not encrypted at rest");
        }
        a.checked.push(format!("efs {fs_id}: encrypted at rest (live)"));
    }
    let spec = CicdSpec::from_config(cfg, account);
    let bucket = spec.bucket();
    let s3 = aws_sdk_s3::Client::new(sdk);
    let head = s3.head_bucket().bucket(&bucket).send().await;
    if unless_absent(a, "s3", &bucket, head.absent_when(HeadBucketError::is_not_found, "HeadBucket", &bucket)).is_some()
    {
        match s3.get_public_access_block().bucket(&bucket).send().await.aws("GetPublicAccessBlock", &bucket) {
            Ok(block) => {
                let c = block.public_access_block_configuration();
                let all = c.is_some_and(|c| {
                    [
                        c.block_public_acls(),
                        c.ignore_public_acls(),
                        c.block_public_policy(),
                        c.restrict_public_buckets(),
                    ]
                    .iter()
                    .all(|b| *b == Some(true))
                });
                if !all {
                    a.find("s3", &bucket, "public access is not blocked on all four settings");
                }
            }
            Err(e) => unreadable(a, "s3", &bucket, "the public access block", &e),
        }
        match s3.get_bucket_encryption().bucket(&bucket).send().await.aws("GetBucketEncryption", &bucket) {
            Ok(enc) => {
                if enc.server_side_encryption_configuration().is_none_or(|c| c.rules().is_empty()) {
                    a.find("s3", &bucket, "no default server-side encryption");
                }
            }
            Err(e) => unreadable(a, "s3", &bucket, "the default encryption", &e),
        }
        a.checked.push(format!("s3 {bucket}: public access blocked, SSE (live)"));
    }
    let ecr = aws_sdk_ecr::Client::new(sdk);
    let repo = spec.image_repository();
    let got = ecr.describe_repositories().repository_names(&repo).send().await;
    let got =
        got.absent_when(DescribeRepositoriesError::is_repository_not_found_exception, "DescribeRepositories", &repo);
    if let Some(r) = unless_absent(a, "ecr", &repo, got).and_then(|g| g.repositories().first().cloned()) {
        if !r.image_scanning_configuration().is_some_and(|s| s.scan_on_push()) {
            a.find("ecr", &repo, "images are not scanned on push");
        }
        if r.image_tag_mutability().map(|m| m.as_str()) != Some("IMMUTABLE") {
            a.find("ecr", &repo, "tags are mutable");
        }
        a.checked.push(format!("ecr {repo}: scan on push, immutable tags (live)"));
    }
    if let Some(db) = &o.runtime.database
        && !is_planned(&db.instance)
    {
        let rds = aws_sdk_rds::Client::new(sdk);
        let got = rds.describe_db_instances().db_instance_identifier(&db.instance).send().await;
        let got = got.absent_when(
            DescribeDBInstancesError::is_db_instance_not_found_fault,
            "DescribeDBInstances",
            &db.instance,
        );
        if let Some(i) = unless_absent(a, "rds", &db.instance, got).and_then(|g| g.db_instances().first().cloned()) {
            if i.storage_encrypted() != Some(true) {
                a.find("rds", &db.instance, "storage is not encrypted");
            }
            if i.publicly_accessible() == Some(true) {
                a.find("rds", &db.instance, "publicly accessible");
            }
            if i.deletion_protection() != Some(true) {
                a.find("rds", &db.instance, "no deletion protection");
            }
            a.checked.push(format!("rds {}: encrypted, private, deletion protection (live)", db.instance));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ghost_aws::policy::Statement;

    use super::*;

    fn role(statements: Vec<Statement>) -> RoleSpec {
        RoleSpec {
            name: "ghost-bad".into(),
            component: "test",
            trust: PolicyDocument::trust("ecs-tasks.amazonaws.com"),
            managed: vec![],
            inline: Some(("bad".into(), PolicyDocument::new(statements))),
        }
    }

    #[test]
    fn an_unreadable_setting_is_a_finding_and_an_absent_resource_is_not() {
        let mut a = Audit::default();
        let denied: ghost_core::Result<Option<()>> =
            Err(ghost_core::Error::Conflict { resource: "ghost-artifacts".into(), message: "AccessDenied".into() });
        assert_eq!(unless_absent(&mut a, "s3", "ghost-artifacts", denied), None);
        assert_eq!(unless_absent(&mut a, "ecr", "ghost-blog", Ok(None::<()>)), None);
        assert_eq!(a.findings.len(), 1, "{:?}", a.findings);
        assert!(a.findings[0].problem.contains("not verified"), "{:?}", a.findings);
    }

    #[test]
    fn a_deliberately_bad_policy_is_found() {
        let mut a = Audit::default();
        audit_role(
            &mut a,
            &role(vec![
                Statement::allow(&["s3:*"], vec!["arn:aws:s3:::ghost-artifacts".into()]),
                Statement::allow(&["s3:PutObject"], vec!["*".into()]),
                Statement::allow(&["ecr:GetAuthorizationToken"], vec!["*".into()]),
            ]),
        );
        let problems: Vec<&str> = a.findings.iter().map(|f| f.problem.as_str()).collect();
        assert_eq!(problems, ["wildcard action s3:*", "s3:PutObject on * (IAM can scope it to the stack's resources)"]);
        assert_eq!(a.star_resources, ["ghost-bad/bad: ecr:GetAuthorizationToken"]);
    }

    #[test]
    fn a_role_anyone_may_assume_or_an_unknown_managed_policy_is_found() {
        let mut r = role(vec![]);
        r.trust.statement[0].principal = Some(serde_json::json!({ "AWS": "*" }));
        r.managed.push("arn:aws:iam::aws:policy/AdministratorAccess".into());
        let mut a = Audit::default();
        audit_role(&mut a, &r);
        assert_eq!(a.findings.len(), 2, "{:?}", a.findings);
    }

    #[test]
    fn the_internet_only_reaches_the_load_balancers_web_ports() {
        let cfg = Config::parse(include_str!("../../../fixtures/ghost.toml"), "sample").unwrap();
        let mut groups = NetworkSpec::from_config(&cfg).security_groups();
        let mut a = Audit::default();
        audit_security_groups(&mut a, &groups);
        assert!(a.findings.is_empty(), "{:?}", a.findings);
        let task = groups.iter_mut().find(|g| g.role == SgRole::Task).unwrap();
        let mut open = task.rules[0].clone();
        open.port = 22;
        open.from = RuleSource::Cidr("0.0.0.0/0".into());
        task.rules.push(open);
        audit_security_groups(&mut a, &groups);
        assert_eq!(a.findings.len(), 1);
        assert!(a.findings[0].problem.contains("port 22 open to 0.0.0.0/0"), "{:?}", a.findings);
    }
}
