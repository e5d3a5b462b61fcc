//! Run-lens resources against mocked AWS responses (no network): absent → create; present and equal → zero
//! writes; drifted → the update. Clients other than the one under test have no rules: any call to them panics.

use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::types::{Tag as EcsTag, TaskDefinition, TaskDefinitionStatus};
use aws_sdk_elasticloadbalancingv2::operation::describe_target_group_attributes::DescribeTargetGroupAttributesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::types::{Matcher, TargetGroup, TargetGroupAttribute};
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::types::{AttachedPolicy, Role};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use ghost_core::{Action, Config, Env, Mode};

use crate::efs::EfsOut;
use crate::spec::RuntimeSpec;
use ghost_aws::iam;

use crate::{Runtime, ecs, lb};

macro_rules! always {
    ($op:expr, $out:expr) => {
        mock!($op).sequence().output($out).repeatedly().build()
    };
}

#[derive(Default)]
struct Rules<'a> {
    iam: Vec<&'a Rule>,
    elb: Vec<&'a Rule>,
    ecs: Vec<&'a Rule>,
    logs: Vec<&'a Rule>,
}

fn rt(r: Rules<'_>) -> Runtime {
    Runtime {
        elb: mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, &r.elb),
        efs: mock_client!(aws_sdk_efs, RuleMode::MatchAny, &[]),
        backup: mock_client!(aws_sdk_backup, RuleMode::MatchAny, &[]),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, &r.iam),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &r.ecs),
        logs: mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, &r.logs),
        autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, &[]),
        rds: mock_client!(aws_sdk_rds, RuleMode::MatchAny, &[]),
        sts: mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[]),
        env: Env::new("ghost", Mode::Apply),
    }
}

/// A runtime whose clients answer nothing (any call panics): for the pure parts of a kind (views, updates).
pub(crate) fn offline() -> Runtime {
    rt(Rules::default())
}

/// One public subnet and the security groups, as the network lens hands them over.
fn net_out() -> ghost_net::NetworkOut {
    ghost_net::NetworkOut {
        vpc_id: "vpc-1".into(),
        availability_zones: vec![],
        public_subnets: vec!["subnet-a".into()],
        private_subnets: vec![],
        internet_gateway: "igw-1".into(),
        nat_gateway: None,
        sg_alb: "sg-alb".into(),
        sg_task: "sg-task".into(),
        sg_efs: "sg-efs".into(),
        sg_db: None,
    }
}

fn spec() -> RuntimeSpec {
    let cfg = Config::parse(include_str!("../../../fixtures/ghost.toml"), "sample").unwrap();
    RuntimeSpec::from_config(&cfg)
}

// --- IAM ----------------------------------------------------------------------------------------------------

fn role(trust: &str) -> Role {
    Role::builder()
        .role_name("ghost-exec")
        .path("/")
        .role_id("AROA1")
        .arn("arn:aws:iam::123456789012:role/ghost-exec")
        .create_date(aws_smithy_types::DateTime::from_secs(0))
        .assume_role_policy_document(trust)
        .description("Ghost stack ghost: execution-role")
        .build()
        .unwrap()
}

fn attached(arns: &[&str]) -> ListAttachedRolePoliciesOutput {
    ListAttachedRolePoliciesOutput::builder()
        .set_attached_policies(Some(arns.iter().map(|a| AttachedPolicy::builder().policy_arn(*a).build()).collect()))
        .build()
}

fn iam_writes() -> [Rule; 3] {
    use aws_sdk_iam::operation::*;
    [
        always!(aws_sdk_iam::Client::create_role, || create_role::CreateRoleOutput::builder().role(role("{}")).build()),
        always!(aws_sdk_iam::Client::attach_role_policy, || attach_role_policy::AttachRolePolicyOutput::builder()
            .build()),
        always!(aws_sdk_iam::Client::update_assume_role_policy, || {
            update_assume_role_policy::UpdateAssumeRolePolicyOutput::builder().build()
        }),
    ]
}

#[tokio::test]
async fn role_absent_is_created_with_its_managed_policy() {
    let get = mock!(aws_sdk_iam::Client::get_role).then_error(|| {
        aws_sdk_iam::operation::get_role::GetRoleError::NoSuchEntityException(
            // As IAM sends it: the modeled error carries the wire code the lens tolerates.
            aws_sdk_iam::types::error::NoSuchEntityException::builder()
                .meta(aws_smithy_types::error::ErrorMetadata::builder().code("NoSuchEntity").build())
                .build(),
        )
    });
    let [create, attach, update] = iam_writes();
    let r = rt(Rules { iam: vec![&get, &create, &attach, &update], ..Default::default() });
    let out = iam::ensure_role(&r.iam, &r.env, &ecs::execution_role(&spec(), None)).await.unwrap();
    assert_eq!(out.action(), Action::Create);
    assert_eq!((create.num_calls(), attach.num_calls(), update.num_calls()), (1, 1, 0));
}

#[tokio::test]
async fn role_equal_makes_zero_writes_and_a_changed_trust_is_updated() {
    let want = ecs::execution_role(&spec(), None);
    for (trust, action, updates) in
        [(want.trust.to_json(), Action::Unchanged, 0), (iam_trust("ec2.amazonaws.com"), Action::Update, 1)]
    {
        let get = mock!(aws_sdk_iam::Client::get_role)
            .sequence()
            .output(move || GetRoleOutput::builder().role(role(&trust)).build())
            .repeatedly()
            .build();
        let list = always!(aws_sdk_iam::Client::list_attached_role_policies, || attached(&[ecs::ECS_EXECUTION_POLICY]));
        let [create, attach, update] = iam_writes();
        let r = rt(Rules { iam: vec![&get, &list, &create, &attach, &update], ..Default::default() });
        let out = iam::ensure_role(&r.iam, &r.env, &want).await.unwrap();
        assert_eq!(out.action(), action);
        assert_eq!((create.num_calls(), attach.num_calls(), update.num_calls()), (0, 0, updates));
    }
}

fn iam_trust(service: &str) -> String {
    ghost_aws::policy::PolicyDocument::trust(service).to_json()
}

// --- target group -------------------------------------------------------------------------------------------

fn target_group(path: &str) -> TargetGroup {
    use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
    TargetGroup::builder()
        .target_group_arn("arn:tg/blue")
        .protocol(ProtocolEnum::Http)
        .port(lb::GHOST_PORT)
        .vpc_id("vpc-1")
        .target_type(TargetTypeEnum::Ip)
        .health_check_protocol(ProtocolEnum::Http)
        .health_check_timeout_seconds(5)
        .health_check_path(path)
        .matcher(Matcher::builder().http_code(lb::HEALTH_MATCHER).build())
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(3)
        .health_check_interval_seconds(15)
        .build()
}

fn tg_rules(found: Option<TargetGroup>) -> [Rule; 5] {
    use aws_sdk_elasticloadbalancingv2::operation::*;
    [
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups)
            .sequence()
            .output(move || {
                DescribeTargetGroupsOutput::builder().set_target_groups(found.clone().map(|t| vec![t])).build()
            })
            .repeatedly()
            .build(),
        always!(aws_sdk_elasticloadbalancingv2::Client::describe_target_group_attributes, || {
            DescribeTargetGroupAttributesOutput::builder()
                .attributes(
                    TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value("30").build(),
                )
                .build()
        }),
        always!(aws_sdk_elasticloadbalancingv2::Client::create_target_group, || {
            create_target_group::CreateTargetGroupOutput::builder().target_groups(target_group(lb::HEALTH_PATH)).build()
        }),
        always!(aws_sdk_elasticloadbalancingv2::Client::modify_target_group, || {
            modify_target_group::ModifyTargetGroupOutput::builder().build()
        }),
        always!(aws_sdk_elasticloadbalancingv2::Client::modify_target_group_attributes, || {
            modify_target_group_attributes::ModifyTargetGroupAttributesOutput::builder().build()
        }),
    ]
}

#[tokio::test]
async fn target_group_absent_equal_and_drifted() {
    let cases = [
        (None, Action::Create, (1, 0, 1)),
        (Some(target_group(lb::HEALTH_PATH)), Action::Unchanged, (0, 0, 0)),
        (Some(target_group("/")), Action::Update, (0, 1, 0)),
    ];
    for (found, action, (creates, modifies, attrs)) in cases {
        let [describe, attributes, create, modify, set_attrs] = tg_rules(found);
        let r = rt(Rules { elb: vec![&describe, &attributes, &create, &modify, &set_attrs], ..Default::default() });
        let out = lb::ensure_target_group(&r, "blue", "vpc-1").await.unwrap();
        assert_eq!(out.action(), action);
        assert_eq!((create.num_calls(), modify.num_calls(), set_attrs.num_calls()), (creates, modifies, attrs));
    }
}

// --- log group ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn log_group_with_other_retention_is_updated_equal_is_left_alone() {
    for (days, writes) in [(30, 0), (7, 1)] {
        let describe = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .sequence()
            .output(move || {
                DescribeLogGroupsOutput::builder()
                    .log_groups(LogGroup::builder().log_group_name("/ecs/ghost").retention_in_days(days).build())
                    .build()
            })
            .repeatedly()
            .build();
        let put = always!(aws_sdk_cloudwatchlogs::Client::put_retention_policy, || {
            aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyOutput::builder().build()
        });
        let r = rt(Rules { logs: vec![&describe, &put], ..Default::default() });
        ecs::ensure_log_group(&r, &spec()).await.unwrap();
        assert_eq!(put.num_calls(), writes, "retention {days}");
    }
}

// --- task definition ----------------------------------------------------------------------------------------

fn refs_fs() -> EfsOut {
    EfsOut {
        file_system_id: "fs-1".into(),
        file_system_arn: "arn:efs/fs-1".into(),
        access_point_id: "fsap-1".into(),
        access_point_arn: "arn:efs/fsap-1".into(),
        mount_targets: vec![],
    }
}

#[tokio::test]
async fn task_definition_registers_a_revision_only_when_its_content_changes() {
    let fs = refs_fs();
    let refs = ecs::TaskRefs {
        execution_role: "arn:exec",
        task_role: "arn:task",
        file_system: &fs,
        log_group: "/ecs/ghost",
        database: None,
    };
    let td = ecs::task_def(&spec(), &refs).unwrap();
    let (hash, image) = (ecs::content_hash(&td), td.container_definitions[0].image.clone());
    for (tag, registers) in [(hash.clone(), 0), ("0000000000000000".to_string(), 1)] {
        let image = image.clone();
        let describe = mock!(aws_sdk_ecs::Client::describe_task_definition)
            .sequence()
            .output(move || {
                let ghost = aws_sdk_ecs::types::ContainerDefinition::builder().name(ecs::CONTAINER).image(&image);
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(
                        TaskDefinition::builder()
                            .task_definition_arn("arn:td/ghost-blog:1")
                            .status(TaskDefinitionStatus::Active)
                            .container_definitions(ghost.build())
                            .build(),
                    )
                    .tags(EcsTag::builder().key("ghost:spec-hash").value(tag.clone()).build())
                    .build()
            })
            .repeatedly()
            .build();
        let register = always!(aws_sdk_ecs::Client::register_task_definition, || {
            RegisterTaskDefinitionOutput::builder()
                .task_definition(TaskDefinition::builder().task_definition_arn("arn:td/ghost-blog:2").build())
                .build()
        });
        let family = spec().family();
        let list = always!(aws_sdk_ecs::Client::list_task_definitions, move || {
            aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput::builder()
                .task_definition_arns(format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1"))
                .build()
        });
        let r = rt(Rules { ecs: vec![&list, &describe, &register], ..Default::default() });
        let (arn, _) = ecs::ensure_task_definition(&r, &spec(), &refs).await.unwrap();
        assert_eq!(register.num_calls(), registers);
        assert_eq!(arn, if registers == 0 { "arn:td/ghost-blog:1" } else { "arn:td/ghost-blog:2" });
    }
}

#[test]
fn the_task_definition_mounts_efs_with_tls_and_iam_through_the_access_point() {
    let fs = refs_fs();
    let refs = ecs::TaskRefs {
        execution_role: "arn:exec",
        task_role: "arn:task",
        file_system: &fs,
        log_group: "/ecs/ghost",
        database: None,
    };
    let td = serde_json::to_value(ecs::task_def(&spec(), &refs).unwrap()).unwrap();
    let efs = &td["volumes"][0]["efsVolumeConfiguration"];
    assert_eq!(efs["transitEncryption"], "ENABLED");
    assert_eq!(efs["authorizationConfig"]["iam"], "ENABLED");
    assert_eq!(efs["authorizationConfig"]["accessPointId"], "fsap-1");
    assert_eq!(td["containerDefinitions"][0]["mountPoints"][0]["containerPath"], "/var/lib/ghost/content");
    assert_eq!(td["networkMode"], "awsvpc");
    // ECS's list shapes, not maps: the JSON is valid input for register-task-definition.
    let env = td["containerDefinitions"][0]["environment"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "database__client" && e["value"] == "sqlite3"), "{env:?}");
}

#[test]
fn policies_never_allow_a_wildcard_action_on_a_wildcard_resource_and_efs_denies_plain_nfs() {
    let spec = spec();
    let fs = refs_fs();
    let docs = [
        Some(ecs::execution_role(&spec, None).trust),
        ecs::task_role(&spec, &fs).inline.map(|(_, d)| d),
        Some(crate::efs::file_system_policy(&fs, "arn:aws:iam::123456789012:role/ghost-task")),
    ];
    for doc in docs.into_iter().flatten() {
        for s in &doc.statement {
            let wildcard_action = s.action.iter().any(|a| a == "*" || a.ends_with(":*"));
            let wildcard_resource = s.resource.as_ref().is_some_and(|r| r.iter().any(|x| x == "*"));
            let allow = s.effect == ghost_aws::policy::Effect::Allow;
            assert!(!(allow && wildcard_action && wildcard_resource), "{}", doc.to_json());
        }
    }
    let efs = crate::efs::file_system_policy(&fs, "arn:role").to_json();
    assert!(efs.contains(r#""Effect":"Deny""#) && efs.contains(r#""aws:SecureTransport":"false""#), "{efs}");
}

// --- listener -----------------------------------------------------------------------------------------------

fn listener(port: i32, tg: &str) -> aws_sdk_elasticloadbalancingv2::types::Listener {
    use aws_sdk_elasticloadbalancingv2::types::{Action as ElbAction, ActionTypeEnum, Listener, ProtocolEnum};
    Listener::builder()
        .listener_arn(format!("arn:listener/{port}"))
        .port(port)
        .protocol(ProtocolEnum::Http)
        .default_actions(ElbAction::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg).build())
        .build()
}

#[tokio::test]
async fn listener_absent_equal_and_pointing_elsewhere() {
    use aws_sdk_elasticloadbalancingv2::operation::{
        create_listener::CreateListenerOutput, modify_listener::ModifyListenerOutput,
    };
    let want = lb::ListenerSpec {
        port: 80,
        https_certificate: None,
        action: lb::ListenerAction::Forward("arn:tg/blue".into()),
    };
    let cases = [
        (vec![], Action::Create, (1, 0)),
        (vec![listener(80, "arn:tg/blue")], Action::Unchanged, (0, 0)),
        (vec![weighted(80, "arn:tg/blue", "arn:tg/green")], Action::Unchanged, (0, 0)),
        (vec![listener(80, "arn:tg/other")], Action::Update, (0, 1)),
    ];
    for (existing, action, (creates, modifies)) in cases {
        let create =
            always!(aws_sdk_elasticloadbalancingv2::Client::create_listener, || CreateListenerOutput::builder()
                .listeners(listener(80, "arn:tg/blue"))
                .build());
        let modify =
            always!(aws_sdk_elasticloadbalancingv2::Client::modify_listener, || ModifyListenerOutput::builder()
                .build());
        let r = rt(Rules { elb: vec![&create, &modify], ..Default::default() });
        let out = lb::ensure_listener(&r, "arn:alb", &existing, &want).await.unwrap();
        assert_eq!((out.action(), create.num_calls(), modify.num_calls()), (action, creates, modifies));
    }
}

#[test]
fn the_live_target_group_follows_the_production_listener() {
    let s = spec();
    assert_eq!(lb::live_target_group(&s, &[], "blue", "green"), "blue");
    assert_eq!(lb::live_target_group(&s, &[listener(80, "green"), listener(8080, "blue")], "blue", "green"), "green");
    let specs = lb::listener_specs(&s, "green", "blue");
    assert_eq!(specs[0].action, lb::ListenerAction::Forward("green".into()));
    assert_eq!(specs.last().unwrap().action, lb::ListenerAction::Forward("blue".into()));
}

/// A listener as CodeDeploy leaves it after a release: the replacement at weight 100, the original at 0.
fn weighted(port: i32, live: &str, original: &str) -> aws_sdk_elasticloadbalancingv2::types::Listener {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action as ElbAction, ActionTypeEnum, ForwardActionConfig, Listener, ProtocolEnum, TargetGroupTuple,
    };
    let tuple = |tg: &str, w: i32| TargetGroupTuple::builder().target_group_arn(tg).weight(w).build();
    let forward = ForwardActionConfig::builder().target_groups(tuple(live, 100)).target_groups(tuple(original, 0));
    Listener::builder()
        .listener_arn(format!("arn:listener/{port}"))
        .port(port)
        .protocol(ProtocolEnum::Http)
        .default_actions(ElbAction::builder().r#type(ActionTypeEnum::Forward).forward_config(forward.build()).build())
        .build()
}

#[test]
fn after_a_codedeploy_release_the_weighted_forwards_read_as_deployed() {
    let s = spec();
    let after = [weighted(80, "green", "blue"), weighted(8080, "green", "blue")];
    assert_eq!(lb::live_target_group(&s, &after, "blue", "green"), "green");
    // The test listener left on the replacement stays there; one forwarding outside the pair is brought back.
    assert_eq!(lb::test_target(&s, &after, ["blue", "green"], "blue"), "green");
    assert_eq!(lb::test_target(&s, &[listener(8080, "arn:tg/other")], ["blue", "green"], "blue"), "blue");
    assert_eq!(lb::test_target(&s, &[], ["blue", "green"], "blue"), "blue");
    let specs = lb::listener_specs(&s, "green", "green");
    assert_eq!(specs[0].action, lb::ListenerAction::Forward("green".into()));
}

// --- cluster ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn cluster_equal_makes_zero_writes_and_insights_off_is_turned_on() {
    use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
    use aws_sdk_ecs::types::{CapacityProviderStrategyItem, Cluster, ClusterSetting, ClusterSettingName};
    for (insights, updates) in [("enabled", 0), ("disabled", 1)] {
        let describe = mock!(aws_sdk_ecs::Client::describe_clusters)
            .sequence()
            .output(move || {
                DescribeClustersOutput::builder()
                    .clusters(
                        Cluster::builder()
                            .cluster_arn("arn:cluster/ghost")
                            .status("ACTIVE")
                            .settings(
                                ClusterSetting::builder()
                                    .name(ClusterSettingName::ContainerInsights)
                                    .value(insights)
                                    .build(),
                            )
                            .capacity_providers("FARGATE")
                            .capacity_providers("FARGATE_SPOT")
                            .default_capacity_provider_strategy(
                                CapacityProviderStrategyItem::builder()
                                    .capacity_provider("FARGATE")
                                    .weight(1)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
            })
            .repeatedly()
            .build();
        let update = always!(aws_sdk_ecs::Client::update_cluster, || {
            aws_sdk_ecs::operation::update_cluster::UpdateClusterOutput::builder().build()
        });
        let create = always!(aws_sdk_ecs::Client::create_cluster, || {
            aws_sdk_ecs::operation::create_cluster::CreateClusterOutput::builder().build()
        });
        let slr = always!(aws_sdk_iam::Client::get_role, || GetRoleOutput::builder().role(role("{}")).build());
        let r = rt(Rules { ecs: vec![&describe, &update, &create], iam: vec![&slr], ..Default::default() });
        ecs::ensure_cluster(&r, &spec()).await.unwrap();
        assert_eq!((update.num_calls(), create.num_calls()), (updates, 0), "insights {insights}");
    }
}

#[tokio::test]
async fn the_ecs_service_linked_role_is_made_before_the_cluster_when_the_account_lacks_it() {
    use aws_sdk_iam::operation::create_service_linked_role::CreateServiceLinkedRoleOutput;
    let absent = mock!(aws_sdk_iam::Client::get_role).then_error(|| {
        aws_sdk_iam::operation::get_role::GetRoleError::NoSuchEntityException(
            aws_sdk_iam::types::error::NoSuchEntityException::builder().message("no").build(),
        )
    });
    let made = mock!(aws_sdk_iam::Client::create_service_linked_role)
        .match_requests(|r| r.aws_service_name() == Some("ecs.amazonaws.com"))
        .then_output(|| CreateServiceLinkedRoleOutput::builder().role(role("{}")).build());
    let describe = always!(aws_sdk_ecs::Client::describe_clusters, || {
        aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput::builder().build()
    });
    let create = always!(aws_sdk_ecs::Client::create_cluster, || {
        aws_sdk_ecs::operation::create_cluster::CreateClusterOutput::builder()
            .cluster(aws_sdk_ecs::types::Cluster::builder().cluster_arn("arn:cluster/ghost").build())
            .build()
    });
    let r = rt(Rules { ecs: vec![&describe, &create], iam: vec![&absent, &made], ..Default::default() });
    ecs::ensure_cluster(&r, &spec()).await.unwrap();
    assert_eq!((made.num_calls(), create.num_calls()), (1, 1));
}

// --- access point -------------------------------------------------------------------------------------------

#[tokio::test]
async fn access_point_absent_is_created_as_uid_1000_and_equal_makes_zero_writes() {
    use aws_sdk_efs::operation::create_access_point::CreateAccessPointOutput;
    use aws_sdk_efs::operation::describe_access_points::DescribeAccessPointsOutput;
    use aws_sdk_efs::types::{AccessPointDescription, CreationInfo, LifeCycleState, PosixUser, RootDirectory};
    // As EFS describes one CreateAccessPoint made: available, with its creation info.
    let existing = AccessPointDescription::builder()
        .access_point_id("fsap-1")
        .access_point_arn("arn:fsap-1")
        .name("ghost-content-ap")
        .life_cycle_state(LifeCycleState::Available)
        .posix_user(PosixUser::builder().uid(1000).gid(1000).build().unwrap())
        .root_directory(
            RootDirectory::builder()
                .path("/ghost-data")
                .creation_info(
                    CreationInfo::builder().owner_uid(1000).owner_gid(1000).permissions("755").build().unwrap(),
                )
                .build(),
        )
        .build();
    for (before, action, creates) in [(None, Action::Create, 1), (Some(existing.clone()), Action::Unchanged, 0)] {
        let after = existing.clone();
        // Absent (or found) first; once created, the created one, which the core waits on until available.
        let describe = mock!(aws_sdk_efs::Client::describe_access_points)
            .sequence()
            .output(move || {
                DescribeAccessPointsOutput::builder().set_access_points(before.clone().map(|a| vec![a])).build()
            })
            .output(move || DescribeAccessPointsOutput::builder().access_points(after.clone()).build())
            .repeatedly()
            .build();
        let create = mock!(aws_sdk_efs::Client::create_access_point)
            .match_requests(|r| {
                r.posix_user().map(|p| p.uid()) == Some(1000)
                    && r.root_directory().and_then(|d| d.creation_info()).map(|c| c.permissions()) == Some("755")
            })
            .sequence()
            .output(|| {
                CreateAccessPointOutput::builder().access_point_id("fsap-2").access_point_arn("arn:fsap-2").build()
            })
            .repeatedly()
            .build();
        let mut r = rt(Rules::default());
        r.efs = mock_client!(aws_sdk_efs, RuleMode::MatchAny, [&describe, &create]);
        let out = crate::efs::ensure_access_point(&r, "fs-1").await.unwrap();
        assert_eq!((out.action(), create.num_calls()), (action, creates));
    }
}

// --- service ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn service_equal_makes_zero_writes_and_a_changed_count_is_updated() {
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
    use aws_sdk_ecs::types::{
        AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeploymentController,
        DeploymentControllerType, LoadBalancer, NetworkConfiguration, PropagateTags, Service,
    };
    let net = net_out();
    let lb = lb::LoadBalancerOut {
        alb_arn: "arn:alb".into(),
        alb_dns: "alb".into(),
        blue_target_group: "arn:tg/blue".into(),
        green_target_group: "arn:tg/green".into(),
        live_target_group: "arn:tg/blue".into(),
        production_listener: "arn:l/80".into(),
        test_listener: "arn:l/8080".into(),
        production_rule: None,
        test_rule: None,
        provisioning: false,
    };
    for (count, updates) in [(1, 0), (3, 1)] {
        let describe = mock!(aws_sdk_ecs::Client::describe_services)
            .sequence()
            .output(move || {
                DescribeServicesOutput::builder()
                    .services(
                        Service::builder()
                            .service_arn("arn:svc")
                            .status("ACTIVE")
                            .desired_count(count)
                            .task_definition("arn:td:1")
                            .network_configuration(
                                NetworkConfiguration::builder()
                                    .awsvpc_configuration(
                                        AwsVpcConfiguration::builder()
                                            .subnets("subnet-a")
                                            .security_groups("sg-task")
                                            .assign_public_ip(AssignPublicIp::Enabled)
                                            .build()
                                            .unwrap(),
                                    )
                                    .build(),
                            )
                            .capacity_provider_strategy(
                                CapacityProviderStrategyItem::builder()
                                    .capacity_provider("FARGATE")
                                    .weight(1)
                                    .build()
                                    .unwrap(),
                            )
                            .health_check_grace_period_seconds(ecs::HEALTH_GRACE_S)
                            .load_balancers(
                                LoadBalancer::builder()
                                    .target_group_arn("arn:tg/blue")
                                    .container_name(ecs::CONTAINER)
                                    .container_port(lb::GHOST_PORT)
                                    .build(),
                            )
                            .propagate_tags(PropagateTags::Service)
                            .deployment_controller(
                                DeploymentController::builder()
                                    .r#type(DeploymentControllerType::CodeDeploy)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
            })
            .repeatedly()
            .build();
        let update = always!(aws_sdk_ecs::Client::update_service, || UpdateServiceOutput::builder().build());
        let r = rt(Rules { ecs: vec![&describe, &update], ..Default::default() });
        ecs::ensure_service(&r, &spec(), &net, &lb, "arn:td:1", None).await.unwrap();
        assert_eq!(update.num_calls(), updates, "desired count {count}");
    }
}

// --- field coverage: every field each kind creates with is compared ----------------------------------------

#[test]
fn every_field_of_the_load_balancer_target_group_file_system_mount_target_and_subnet_group_is_compared() {
    use ghost_core::reconcile::testing::assert_every_field_compared;
    let r = offline();
    let alb = lb::AlbView {
        scheme: "internet-facing".into(),
        r#type: "application".into(),
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        security_groups: vec!["sg-alb".into()],
    };
    assert_every_field_compared(&lb::Alb { rt: &r, name: "ghost-alb".into(), desired: alb.clone() }, &[alb]);
    let fs = crate::efs::FileSystemView::desired(&spec());
    assert_every_field_compared(&crate::efs::FileSystem { rt: &r, desired: fs.clone() }, &[fs]);
    let mt = crate::efs::MountTargetView { security_groups: vec!["sg-efs".into()] };
    let target = crate::efs::MountTarget {
        rt: &r,
        file_system: "fs-1".into(),
        subnet: "subnet-a".into(),
        name: "ghost-mount-a".into(),
        desired: mt.clone(),
    };
    assert_every_field_compared(&target, &[mt]);
    let subnets = vec!["subnet-p1".to_string(), "subnet-p2".to_string()];
    let group = crate::rds::DbSubnetGroup { rt: &r, name: "ghost-db".into(), desired: subnets.clone() };
    assert_every_field_compared(&group, &[subnets]);
    let tg = lb::TargetGroupView::desired("vpc-1");
    assert_every_field_compared(&lb::TargetGroupKind { rt: &r, name: "ghost-blue".into(), desired: tg.clone() }, &[tg]);
}

#[test]
fn every_field_of_the_cluster_task_definition_scaling_access_point_efs_policy_listener_and_rule_is_compared() {
    use ghost_core::reconcile::testing::assert_every_field_compared;
    let r = offline();
    let spec = spec();
    let cluster = ecs::Cluster::new(&r, &spec);
    assert_every_field_compared(&cluster, std::slice::from_ref(&cluster.desired));
    let fs = refs_fs();
    let refs = ecs::TaskRefs {
        execution_role: "arn:exec",
        task_role: "arn:task",
        file_system: &fs,
        log_group: "/ecs/ghost",
        database: None,
    };
    let td = ecs::TaskDefinition::new(&r, &spec, ecs::task_def(&spec, &refs).unwrap());
    assert_every_field_compared(&td, std::slice::from_ref(&td.desired));
    let target = ecs::ScalableTarget {
        rt: &r,
        id: "service/ghost/ghost-blog".into(),
        desired: ecs::ScalableTargetView { min_capacity: 1, max_capacity: 1 },
    };
    assert_every_field_compared(&target, std::slice::from_ref(&target.desired));
    let policy = ecs::ScalingPolicy {
        rt: &r,
        resource_id: "service/ghost/ghost-blog".into(),
        name: "ghost-cpu75".into(),
        desired: ecs::ScalingPolicyView {
            policy_type: "TargetTrackingScaling".into(),
            metric: "ECSServiceAverageCPUUtilization".into(),
            target_value: 75.0,
            scale_in_cooldown_s: Some(60),
            scale_out_cooldown_s: Some(60),
        },
    };
    assert_every_field_compared(&policy, std::slice::from_ref(&policy.desired));
    let ap = crate::efs::AccessPoint::new(&r, "fs-1");
    assert_every_field_compared(&ap, std::slice::from_ref(&ap.desired));
    let efs_policy = crate::efs::FileSystemPolicy::new(&r, "fs-1", crate::efs::file_system_policy(&fs, "arn:task"));
    assert_every_field_compared(&efs_policy, std::slice::from_ref(&efs_policy.desired));
    for want in [
        lb::ListenerSpec {
            port: 443,
            https_certificate: Some("arn:acm/1".into()),
            action: lb::ListenerAction::Forward("arn:tg/blue".into()),
        },
        lb::ListenerSpec { port: 80, https_certificate: None, action: lb::ListenerAction::RedirectToHttps },
    ] {
        let l = lb::ListenerKind::new(&r, "arn:alb", &[], &want);
        assert_every_field_compared(&l, std::slice::from_ref(&l.desired));
    }
    let rule = lb::ListenerRule {
        rt: &r,
        listener: "arn:listener/prod",
        role: "production",
        desired: lb::RuleView { path_patterns: vec!["/*".into()], forward: "arn:tg/blue".into() },
    };
    assert_every_field_compared(&rule, std::slice::from_ref(&rule.desired));
}

/// A run killed while the load balancer was provisioning: the next run finds it provisioning and waits until
/// it is active, with zero writes, before listeners and the service are built on it.
#[tokio::test(start_paused = true)]
async fn a_provisioning_load_balancer_found_by_a_rerun_is_waited_for_with_zero_writes() {
    use aws_sdk_elasticloadbalancingv2::operation::create_load_balancer::CreateLoadBalancerOutput;
    use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
    use aws_sdk_elasticloadbalancingv2::types::{
        AvailabilityZone, LoadBalancer, LoadBalancerSchemeEnum, LoadBalancerState, LoadBalancerStateEnum,
        LoadBalancerTypeEnum,
    };
    let alb = |state: LoadBalancerStateEnum| {
        LoadBalancer::builder()
            .load_balancer_arn("arn:alb")
            .dns_name("alb.local")
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .r#type(LoadBalancerTypeEnum::Application)
            .availability_zones(AvailabilityZone::builder().subnet_id("subnet-a").build())
            .security_groups("sg-alb")
            .state(LoadBalancerState::builder().code(state).build())
            .build()
    };
    let describe = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
        .sequence()
        .output(move || {
            DescribeLoadBalancersOutput::builder().load_balancers(alb(LoadBalancerStateEnum::Provisioning)).build()
        })
        .times(2)
        .output(move || {
            DescribeLoadBalancersOutput::builder().load_balancers(alb(LoadBalancerStateEnum::Active)).build()
        })
        .repeatedly()
        .build();
    let create = always!(aws_sdk_elasticloadbalancingv2::Client::create_load_balancer, || {
        CreateLoadBalancerOutput::builder().build()
    });
    let r = rt(Rules { elb: vec![&describe, &create], ..Default::default() });
    let net = net_out();
    let (out, provisioning) = lb::ensure_alb(&r, &net).await.unwrap();
    assert!(!provisioning, "a found load balancer is waited for before the diff");
    assert_eq!(out.action(), Action::Unchanged);
    assert_eq!(out.id().detail, "alb.local");
    assert_eq!(describe.num_calls(), 3, "the provisioning find, one provisioning poll, then active");
    assert_eq!(create.num_calls(), 0);
}

/// A destroy killed while the database was deleting: the re-run finds it deleting, issues no second delete,
/// waits until it is gone and only then deletes its subnet group (which the instance holds until then).
#[tokio::test(start_paused = true)]
async fn a_database_found_deleting_by_a_rerun_is_waited_for_before_its_subnet_group_goes() {
    use aws_sdk_rds::operation::delete_db_subnet_group::DeleteDbSubnetGroupOutput;
    use aws_sdk_rds::operation::describe_db_instances::{DescribeDBInstancesError, DescribeDbInstancesOutput};
    use aws_sdk_rds::operation::describe_db_subnet_groups::DescribeDbSubnetGroupsOutput;
    use aws_sdk_rds::types::{DbInstance, DbSubnetGroup};
    let deleting = || {
        let db = DbInstance::builder().db_instance_identifier("ghost-db").db_instance_status("deleting").build();
        DescribeDbInstancesOutput::builder().db_instances(db).build()
    };
    let gone = || {
        DescribeDBInstancesError::DbInstanceNotFoundFault(
            aws_sdk_rds::types::error::DbInstanceNotFoundFault::builder()
                .meta(aws_smithy_types::error::ErrorMetadata::builder().code("DBInstanceNotFound").build())
                .build(),
        )
    };
    // Found deleting, still deleting on the waiter's first poll, then gone.
    let describe = mock!(aws_sdk_rds::Client::describe_db_instances)
        .sequence()
        .output(deleting)
        .output(deleting)
        .error(gone)
        .repeatedly()
        .build();
    let delete_instance = always!(aws_sdk_rds::Client::delete_db_instance, || {
        aws_sdk_rds::operation::delete_db_instance::DeleteDbInstanceOutput::builder().build()
    });
    let groups = always!(aws_sdk_rds::Client::describe_db_subnet_groups, || {
        DescribeDbSubnetGroupsOutput::builder()
            .db_subnet_groups(DbSubnetGroup::builder().db_subnet_group_name("ghost-db").build())
            .build()
    });
    let delete_group =
        always!(aws_sdk_rds::Client::delete_db_subnet_group, || DeleteDbSubnetGroupOutput::builder().build());
    let mut r = rt(Rules::default());
    r.rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&describe, &delete_instance, &groups, &delete_group]);
    crate::rds::delete_database(&r, &spec(), ghost_core::DataPolicy::Keep).await.unwrap();
    assert_eq!(delete_instance.num_calls(), 0, "a deleting database is not deleted again");
    assert!(describe.num_calls() >= 3, "the waiter polled until it was gone: {}", describe.num_calls());
    assert_eq!(delete_group.num_calls(), 1);
}
