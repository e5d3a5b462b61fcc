//! The build lens's service roles, each scoped to this stack's resources. `*` appears only where IAM has no
//! resource-level permissions for the action (listed in [`STAR_ONLY`]).

use ghost_aws::iam::RoleSpec;
use ghost_aws::policy::{PolicyDocument, Statement};
use ghost_core::config::{Deployment, Source};
use ghost_runtime::RuntimeOut;
use serde_json::json;

use crate::spec::CicdSpec;

/// AWS managed policy CodeDeploy needs for ECS blue/green (update services, shift listeners, manage task sets).
pub const CODEDEPLOY_ECS_POLICY: &str = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS";

/// Actions that support no resource-level permission in IAM, so `*` is the only resource they accept.
pub const STAR_ONLY: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:DescribeTasks",
    "ecs:ListTasks",
];

fn artifacts(spec: &CicdSpec, write: bool) -> Vec<Statement> {
    let mut object = vec!["s3:GetObject", "s3:GetObjectVersion"];
    if write {
        object.push("s3:PutObject");
    }
    vec![
        Statement::allow(&object, vec![format!("{}/*", spec.bucket_arn())]).sid("Artifacts"),
        Statement::allow(
            &["s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:GetBucketAcl"],
            vec![spec.bucket_arn()],
        )
        .sid("ArtifactBucket"),
    ]
}

/// CodeBuild: its own log group, push to its own repository, the artifact bucket, and (CodeCommit) pull.
pub fn codebuild_role(spec: &CicdSpec) -> RoleSpec {
    let mut statements = vec![
        Statement::allow(
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![spec.build_log_group_arn(), format!("{}:*", spec.build_log_group_arn())],
        )
        .sid("BuildLogs"),
        Statement::allow(&["ecr:GetAuthorizationToken"], vec!["*".into()]).sid("RegistryLogin"),
        Statement::allow(
            &[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ],
            vec![spec.ecr_arn()],
        )
        .sid("PushImage"),
    ];
    statements.extend(artifacts(spec, true));
    if spec.source == Source::Codecommit {
        statements.push(Statement::allow(&["codecommit:GitPull"], vec![spec.codecommit_arn()]).sid("SourcePull"));
    }
    RoleSpec {
        name: spec.codebuild_role(),
        component: "codebuild-role",
        trust: PolicyDocument::trust("codebuild.amazonaws.com"),
        managed: vec![],
        inline: Some(("build".into(), PolicyDocument::new(statements))),
    }
}

/// CodeDeploy (deployment = "codedeploy"): the AWS managed ECS policy, as the seed attaches.
pub fn codedeploy_role(spec: &CicdSpec) -> RoleSpec {
    RoleSpec {
        name: spec.codedeploy_role(),
        component: "codedeploy-role",
        trust: PolicyDocument::trust("codedeploy.amazonaws.com"),
        managed: vec![CODEDEPLOY_ECS_POLICY.into()],
        inline: None,
    }
}

/// CodePipeline: read the source, run the build, deploy (CodeDeploy or ECS) and pass only the task's roles.
pub fn pipeline_role(spec: &CicdSpec, runtime: &RuntimeOut, connection: Option<&str>) -> RoleSpec {
    let task_roles = [runtime.execution_role_arn.as_str(), runtime.task_role_arn.as_str()];
    pipeline_role_for(spec, task_roles, &runtime.service_arn, connection)
}

/// [`pipeline_role`] from the three run-lens ARNs it is scoped to.
pub fn pipeline_role_for(
    spec: &CicdSpec,
    task_roles: [&str; 2],
    service_arn: &str,
    connection: Option<&str>,
) -> RoleSpec {
    let mut statements = artifacts(spec, true);
    match (spec.source, connection) {
        (Source::Codecommit, _) => statements.push(
            Statement::allow(
                &[
                    "codecommit:GetBranch",
                    "codecommit:GetCommit",
                    "codecommit:UploadArchive",
                    "codecommit:GetUploadArchiveStatus",
                    "codecommit:CancelUploadArchive",
                ],
                vec![spec.codecommit_arn()],
            )
            .sid("Source"),
        ),
        (Source::Github, Some(arn)) => statements.push(
            Statement::allow(
                &["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                vec![arn.into()],
            )
            .sid("Source"),
        ),
        (Source::Github, None) => {}
    }
    statements.push(
        Statement::allow(&["codebuild:StartBuild", "codebuild:BatchGetBuilds"], vec![spec.project_arn()]).sid("Build"),
    );
    statements.push(
        Statement::allow(&["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"], vec!["*".into()])
            .sid("TaskDefinition"),
    );
    statements.push(
        Statement::allow(&["iam:PassRole"], task_roles.iter().map(|r| r.to_string()).collect())
            .sid("PassTaskRoles")
            .condition(json!({ "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } })),
    );
    match spec.deployment {
        Deployment::Codedeploy => statements.push(
            Statement::allow(
                &[
                    "codedeploy:CreateDeployment",
                    "codedeploy:GetDeployment",
                    "codedeploy:GetApplication",
                    "codedeploy:GetApplicationRevision",
                    "codedeploy:RegisterApplicationRevision",
                    "codedeploy:GetDeploymentConfig",
                ],
                vec![spec.application_arn(), spec.deployment_group_arn(), spec.deployment_config_arn()],
            )
            .sid("Deploy"),
        ),
        Deployment::Ecs => {
            statements.push(
                Statement::allow(&["ecs:DescribeServices", "ecs:UpdateService"], vec![service_arn.to_string()])
                    .sid("Deploy"),
            );
            statements
                .push(Statement::allow(&["ecs:DescribeTasks", "ecs:ListTasks"], vec!["*".into()]).sid("DeployWatch"));
        }
    }
    RoleSpec {
        name: spec.pipeline_role(),
        component: "codepipeline-role",
        trust: PolicyDocument::trust("codepipeline.amazonaws.com"),
        managed: vec![],
        inline: Some(("pipeline".into(), PolicyDocument::new(statements))),
    }
}

/// EventBridge (CodeCommit source): start exactly this pipeline on a push.
pub fn events_role(spec: &CicdSpec) -> RoleSpec {
    RoleSpec {
        name: spec.events_role(),
        component: "events-role",
        trust: PolicyDocument::trust("events.amazonaws.com"),
        managed: vec![],
        inline: Some((
            "start-pipeline".into(),
            PolicyDocument::new(vec![
                Statement::allow(&["codepipeline:StartPipelineExecution"], vec![spec.pipeline_arn()])
                    .sid("StartPipeline"),
            ]),
        )),
    }
}

#[cfg(test)]
mod tests {
    use ghost_core::Config;

    use super::*;

    fn spec(edits: &[(&str, &str)]) -> CicdSpec {
        let mut text = include_str!("../../../fixtures/ghost.toml").to_string();
        for (from, to) in edits {
            text = text.replace(from, to);
        }
        CicdSpec::from_config(&Config::parse(&text, "test").unwrap(), "123456789012")
    }

    fn roles(spec: &CicdSpec) -> Vec<RoleSpec> {
        let pass = ["arn:aws:iam::123456789012:role/ghost-exec", "arn:aws:iam::123456789012:role/ghost-task"];
        let service = "arn:aws:ecs:eu-west-2:123456789012:service/ghost/ghost-blog";
        let connection = "arn:aws:codeconnections:eu-west-2:123456789012:connection/ghost-github";
        vec![codebuild_role(spec), pipeline_role_for(spec, pass, service, Some(connection)), events_role(spec)]
    }

    /// Every statement: `*` only for the actions IAM cannot scope, otherwise resources of this stack.
    fn assert_scoped(role: &RoleSpec, stack: &str) {
        // The one resource that is AWS's, not the stack's: the predefined deployment configuration it uses.
        let aws_owned = "deploymentconfig:CodeDeployDefault.ECSAllAtOnce";
        let (_, doc) = role.inline.as_ref().expect("inline policy");
        for st in &doc.statement {
            assert!(st.action.iter().all(|a| !a.contains('*')), "{}: wildcard action in {:?}", role.name, st.action);
            let resources = st.resource.as_ref().expect("resources");
            if resources.iter().any(|r| r == "*") {
                assert_eq!(resources, &["*"], "{}: * mixed with others", role.name);
                for a in &st.action {
                    assert!(STAR_ONLY.contains(&a.as_str()), "{}: {a} on * but IAM can scope it", role.name);
                }
            } else {
                for r in resources {
                    let ours = r.contains(stack) || r.ends_with(aws_owned);
                    assert!(ours, "{}: {r} is not one of stack {stack}'s resources", role.name);
                }
            }
        }
    }

    #[test]
    fn every_role_is_scoped_to_the_stack_except_where_iam_requires_star() {
        for edits in [
            vec![],
            vec![("deployment = \"codedeploy\"", "deployment = \"ecs\"")],
            vec![
                ("source = \"codecommit\"", "source = \"github\""),
                ("repository = \"ghost-blog\"", "repository = \"acme/ghost-blog\""),
            ],
        ] {
            let spec = spec(&edits);
            for role in roles(&spec) {
                assert_scoped(&role, "ghost");
            }
        }
    }

    #[test]
    fn a_policy_with_an_unscoped_resource_is_caught() {
        let mut role = codebuild_role(&spec(&[]));
        let (_, doc) = role.inline.as_mut().unwrap();
        doc.statement.push(Statement::allow(&["s3:GetObject"], vec!["*".into()]));
        let caught = std::panic::catch_unwind(|| assert_scoped(&role, "ghost"));
        assert!(caught.is_err(), "s3:GetObject on * must be refused");
    }

    #[test]
    fn the_pipeline_passes_only_the_task_roles_and_only_to_ecs_tasks() {
        let spec = spec(&[]);
        let role = &roles(&spec)[1];
        let (_, doc) = role.inline.as_ref().unwrap();
        let pass = doc.statement.iter().find(|s| s.action == ["iam:PassRole"]).expect("PassRole statement");
        assert_eq!(pass.resource.as_ref().unwrap().len(), 2);
        assert_eq!(pass.condition.as_ref().unwrap()["StringEquals"]["iam:PassedToService"], "ecs-tasks.amazonaws.com");
        assert!(codedeploy_role(&spec).managed == [CODEDEPLOY_ECS_POLICY]);
    }
}
