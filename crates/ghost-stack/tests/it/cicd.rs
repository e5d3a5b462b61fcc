//! The build lens inside the whole stack, against the emulator: both deployment modes converge, re-deploy with
//! zero writes, a pipeline-only change writes only the pipeline, the rendered taskdef.json is the registered task
//! definition, a direct release is current for the next deploy (an unpushed image is refused first), a release in
//! flight times out naming where to look and rollback stops it, and destroy keeps what holds the user's data.

use ghost_cicd::site;
use ghost_core::DataPolicy;
use ghost_core::{Action, Mode};
use serde_json::{Value, json};

use super::{Harness, actions};

/// The registered task definition in the ECS API JSON shape, reading the fields the run lens sets.
fn registered_json(td: &aws_sdk_ecs::types::TaskDefinition) -> Value {
    let c = &td.container_definitions()[0];
    let hc = c.health_check().unwrap();
    let log = c.log_configuration().unwrap();
    let mut options: Vec<(&String, &String)> = log.options().map(|o| o.iter().collect()).unwrap_or_default();
    options.sort();
    let mut env: Vec<Value> =
        c.environment().iter().map(|kv| json!({"name": kv.name(), "value": kv.value()})).collect();
    env.sort_by_key(|v| v["name"].to_string());
    let mut secrets: Vec<Value> =
        c.secrets().iter().map(|s| json!({"name": s.name(), "valueFrom": s.value_from()})).collect();
    secrets.sort_by_key(|v| v["name"].to_string());
    let v = &td.volumes()[0];
    let efs = v.efs_volume_configuration().unwrap();
    json!({
        "family": td.family(),
        "executionRoleArn": td.execution_role_arn(),
        "taskRoleArn": td.task_role_arn(),
        "networkMode": td.network_mode().map(|n| n.as_str()),
        "requiresCompatibilities": td.requires_compatibilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "cpu": td.cpu(),
        "memory": td.memory(),
        "containerDefinitions": [{
            "name": c.name(),
            "image": c.image(),
            "essential": c.essential(),
            "portMappings": c.port_mappings().iter().map(|p| json!({"containerPort": p.container_port(), "protocol": p.protocol().map(|p| p.as_str())})).collect::<Vec<_>>(),
            "environment": env,
            "secrets": secrets,
            "mountPoints": c.mount_points().iter().map(|m| json!({"sourceVolume": m.source_volume(), "containerPath": m.container_path(), "readOnly": m.read_only()})).collect::<Vec<_>>(),
            "logConfiguration": {"logDriver": log.log_driver().as_str(), "options": options.into_iter().collect::<std::collections::BTreeMap<_, _>>()},
            "healthCheck": {"command": hc.command(), "interval": hc.interval(), "timeout": hc.timeout(), "retries": hc.retries(), "startPeriod": hc.start_period()},
            "stopTimeout": c.stop_timeout(),
        }],
        "volumes": [{
            "name": v.name(),
            "efsVolumeConfiguration": {
                "fileSystemId": efs.file_system_id(),
                "transitEncryption": efs.transit_encryption().map(|t| t.as_str()),
                "authorizationConfig": {
                    "accessPointId": efs.authorization_config().and_then(|a| a.access_point_id()),
                    "iam": efs.authorization_config().and_then(|a| a.iam()).map(|i| i.as_str()),
                }
            }
        }],
    })
}

#[tokio::test]
async fn codedeploy_pipeline_converges_and_only_a_pipeline_change_writes_the_pipeline() {
    let h = Harness::new("cd", &[]).await;
    let out = h.deploy().await.outputs.unwrap();
    let cicd = &out.cicd;
    let (app, group) = cicd.codedeploy.clone().expect("codedeploy mode");

    // Read back the wiring: deployment group → the two target groups, both listeners, the service.
    let cd = aws_sdk_codedeploy::Client::new(&h.sdk);
    let g = cd.get_deployment_group().application_name(&app).deployment_group_name(&group).send().await.unwrap();
    let g = g.deployment_group_info().unwrap();
    let pair = &g.load_balancer_info().unwrap().target_group_pair_info_list()[0];
    let names: Vec<&str> = pair.target_groups().iter().filter_map(|t| t.name()).collect();
    assert_eq!(names, [format!("{}-blue", h.cfg.stack.name), format!("{}-green", h.cfg.stack.name)]);
    assert_eq!(
        pair.prod_traffic_route().unwrap().listener_arns(),
        std::slice::from_ref(&out.runtime.load_balancer.production_listener)
    );
    assert_eq!(
        pair.test_traffic_route().unwrap().listener_arns(),
        std::slice::from_ref(&out.runtime.load_balancer.test_listener)
    );
    assert!(g.auto_rollback_configuration().unwrap().enabled());
    assert_eq!(g.ecs_services()[0].service_name(), Some(format!("{}-blog", h.cfg.stack.name).as_str()));

    // Pipeline stages → the build project and the deployment group.
    let cp = aws_sdk_codepipeline::Client::new(&h.sdk);
    let p = cp.get_pipeline().name(&cicd.pipeline).send().await.unwrap().pipeline.unwrap();
    let stages: Vec<&str> = p.stages().iter().map(|s| s.name()).collect();
    assert_eq!(stages, ["Source", "Build", "Deploy"]);
    assert_eq!(p.pipeline_type().map(|t| t.as_str()), Some("V2"));
    let config = |stage: usize, key: &str| p.stages()[stage].actions()[0].configuration().unwrap()[key].clone();
    assert_eq!(config(1, "ProjectName"), cicd.build_project);
    assert_eq!(config(2, "DeploymentGroupName"), group);
    assert_eq!(config(0, "BranchName"), "main");

    // CodeBuild: privileged, pushes to our repository, logs to its group.
    let cb = aws_sdk_codebuild::Client::new(&h.sdk);
    let proj = cb.batch_get_projects().names(&cicd.build_project).send().await.unwrap();
    let proj = &proj.projects()[0];
    let env = proj.environment().unwrap();
    assert_eq!(env.privileged_mode(), Some(true));
    assert!(
        env.environment_variables()
            .iter()
            .any(|v| v.name() == "REPOSITORY_URI" && v.value() == cicd.image_repository_uri)
    );

    // ECR: scan on push, immutable tags, the lifecycle policy.
    let ecr = aws_sdk_ecr::Client::new(&h.sdk);
    let repo = ecr.describe_repositories().repository_names(format!("{}-blog", h.cfg.stack.name)).send().await.unwrap();
    let repo = &repo.repositories()[0];
    assert_eq!(repo.image_tag_mutability().map(|m| m.as_str()), Some("IMMUTABLE"));
    assert!(repo.image_scanning_configuration().unwrap().scan_on_push());

    // The bucket denies plain HTTP; the EventBridge rule starts exactly this pipeline.
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&h.sdk).force_path_style(true).build());
    let policy = s3.get_bucket_policy().bucket(&cicd.artifact_bucket).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
    let events = aws_sdk_eventbridge::Client::new(&h.sdk);
    let targets = events.list_targets_by_rule().rule(format!("{}-source-push", h.cfg.stack.name)).send().await.unwrap();
    assert_eq!(targets.targets()[0].arn(), cicd.pipeline_arn);

    // The site repository's taskdef.json is the registered task definition, image aside.
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    let td = ecs.describe_task_definition().task_definition(&out.runtime.task_definition_arn).send().await.unwrap();
    let mut rendered = site::taskdef_json(&out.runtime.task_definition);
    assert_eq!(rendered["containerDefinitions"][0]["image"], site::IMAGE_PLACEHOLDER);
    rendered["containerDefinitions"][0]["image"] = json!(h.cfg.ghost.image);
    assert_eq!(rendered, registered_json(td.task_definition().unwrap()));
    let cold = h.calls().await;

    let again = h.deploy().await;
    assert!(again.is_noop(), "{:?}", actions(&again));
    let warm = h.calls().await;
    assert_eq!(warm.mutating, 0, "re-deploy wrote: {:?}", warm.writes());
    println!(
        "with the build lens: cold deploy {} calls ({} mutating); re-deploy {} calls (0 mutating)",
        cold.total, cold.mutating, warm.total
    );

    // A pipeline-only change: plan names the pipeline alone, deploy writes only it.
    let mut cfg = h.cfg.clone();
    cfg.pipeline.approval = true;
    let approve = Harness { cfg, ..h };
    let plan = approve.run(Mode::Plan).await.unwrap();
    let changed: Vec<_> = plan.resources.iter().filter(|r| r.action.is_change()).map(|r| r.kind.as_str()).collect();
    assert_eq!(changed, ["codepipeline"]);
    approve.calls().await;
    approve.deploy().await;
    assert_eq!(approve.calls().await.writes(), ["codepipeline:UpdatePipeline x1"]);

    // A branch change moves the pipeline's source and the push rule, nothing else.
    let mut cfg = approve.cfg.clone();
    cfg.pipeline.branch = "release".into();
    let branch = Harness { cfg, ..approve };
    branch.deploy().await;
    assert_eq!(branch.calls().await.writes(), ["codepipeline:UpdatePipeline x1", "events:PutRule x1"]);

    // A direct release registers the run lens's definition with the new image; the next deploy sees it as current.
    let image = format!("{}:0123456789ab", cicd.image_repository_uri);
    let c = ghost_cicd::Cicd::new(&branch.sdk, ghost_core::Env::new(&branch.cfg.stack.name, Mode::Apply));
    let spec = ghost_cicd::CicdSpec::from_config(&branch.cfg, &c.account().await.unwrap());
    let bound = ghost_core::wait::Bound::new(std::time::Duration::from_secs(30), std::time::Duration::from_millis(200));
    // A tag nobody pushed is refused before anything is registered; once the build's push is there, it goes out.
    branch.calls().await;
    let missing = ghost_cicd::release::release_image(&c, &spec, &out.runtime.task_definition, &image, &bound).await;
    let err = missing.expect_err("an unpushed tag").to_string();
    assert!(err.contains("not in ECR repository") && err.contains("list-images"), "{err}");
    assert_eq!(branch.calls().await.mutating, 0);
    ghost_cicd::registry::put_placeholder_image(&c, &spec, "0123456789ab").await.unwrap();
    let released =
        ghost_cicd::release::release_image(&c, &spec, &out.runtime.task_definition, &image, &bound).await.unwrap();
    assert_eq!(released.via, "codedeploy");
    // The release ends when production traffic has moved; CodeDeploy keeps the original task set for the
    // termination wait, and the deployment stays InProgress until then.
    assert_eq!(released.status, ghost_cicd::release::TRAFFIC_SHIFTED);
    assert!(released.note.as_deref().is_some_and(|n| n.contains("5-minute termination wait")), "{released:?}");
    let cd = aws_sdk_codedeploy::Client::new(&branch.sdk);
    let info = cd.get_deployment().deployment_id(&released.id).send().await.unwrap().deployment_info.unwrap();
    assert_eq!(info.status().map(|s| s.as_str()), Some("InProgress"));
    // The listeners now forward weighted (the original at weight 0): a re-deploy reads them as deployed and
    // writes nothing, and the wiring check reads the live group through the weights.
    branch.calls().await;
    let after = branch.deploy().await;
    assert!(after.is_noop(), "{:?}", actions(&after));
    assert_eq!(branch.calls().await.mutating, 0);
    let o = after.outputs.clone().unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&branch.sdk);
    let prod = elb.describe_listeners().listener_arns(&o.runtime.load_balancer.production_listener).send().await;
    let prod = prod.unwrap().listeners()[0].default_actions()[0].clone();
    assert!(prod.target_group_arn().is_none() && prod.forward_config().is_some(), "{prod:?}");
    assert_eq!(o.runtime.load_balancer.live_target_group, o.runtime.load_balancer.green_target_group);
    let checks = ghost_stack::verify::wiring(&branch.sdk, &branch.cfg, &o).await.unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| !c.ok).map(|c| format!("{}: {}", c.what, c.found)).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let ended = ghost_core::wait::poll_until("the termination wait", &bound, || async {
        let d = cd.get_deployment().deployment_id(&released.id).send().await.unwrap();
        let status = d.deployment_info().and_then(|i| i.status()).map(|s| s.as_str().to_string()).unwrap();
        Ok::<_, ghost_core::Error>(if status == "Succeeded" {
            ghost_core::wait::Poll::Ready(status)
        } else {
            ghost_core::wait::Poll::Pending(status)
        })
    })
    .await;
    assert_eq!(ended.unwrap(), "Succeeded");
    // Rollback with nothing in flight: the revision before the one the service runs, through CodeDeploy.
    let back = ghost_cicd::release::rollback(&c, &spec, &bound).await.unwrap();
    assert_eq!(back.via, "codedeploy");
    assert_eq!(back.task_definition.as_deref(), Some(out.runtime.task_definition_arn.as_str()), "back to revision 1");
    let history = ghost_cicd::release::history(&c, &spec, 5).await.unwrap();
    assert_eq!(history.deployments.len(), 2, "{history:?}");

    // Destroy: the repository holding an image is kept (and said), then goes with --delete-data.
    let gone = branch.destroy(DataPolicy::Keep).await;
    assert!(
        gone.resources.iter().any(|r| r.kind == "ecr-repository" && r.action == Action::Keep),
        "{:?}",
        actions(&gone)
    );
    assert!(gone.resources.iter().any(|r| r.kind == "codepipeline" && r.action == Action::Delete));
    assert!(
        gone.resources.iter().any(|r| r.kind == "s3-bucket" && r.action == Action::Delete),
        "only our artifacts: removed"
    );
    branch.calls().await;
    branch.destroy(DataPolicy::Keep).await;
    assert_eq!(branch.calls().await.mutating, 0, "second destroy must not write");
    let last = branch.destroy(DataPolicy::Delete).await;
    assert!(last.resources.iter().any(|r| r.kind == "ecr-repository" && r.action == Action::Delete));
    branch.destroy(DataPolicy::Delete).await;
}

#[tokio::test]
async fn ecs_native_pipeline_deploys_redeploys_with_zero_writes_and_destroys_twice() {
    let h = Harness::new("ce", &[("deployment = \"codedeploy\"", "deployment = \"ecs\"")]).await;
    let out = h.deploy().await.outputs.unwrap();
    assert!(out.cicd.codedeploy.is_none());
    let cp = aws_sdk_codepipeline::Client::new(&h.sdk);
    let p = cp.get_pipeline().name(&out.cicd.pipeline).send().await.unwrap().pipeline.unwrap();
    let deploy = &p.stages()[2].actions()[0];
    assert_eq!(deploy.action_type_id().unwrap().provider(), "ECS");
    assert_eq!(deploy.configuration().unwrap()["ServiceName"], format!("{}-blog", h.cfg.stack.name));
    h.calls().await;
    let again = h.deploy().await;
    assert!(again.is_noop(), "{:?}", actions(&again));
    assert_eq!(h.calls().await.mutating, 0);
    let gone = h.destroy(DataPolicy::Keep).await;
    assert!(!gone.resources.iter().any(|r| r.kind.starts_with("codedeploy")), "{:?}", actions(&gone));
    h.calls().await;
    h.destroy(DataPolicy::Keep).await;
    assert_eq!(h.calls().await.mutating, 0);
    h.destroy(DataPolicy::Delete).await;
}

#[tokio::test]
async fn a_github_source_reports_the_pending_handshake_and_never_waits() {
    let h = Harness::new(
        "gh",
        &[
            ("source = \"codecommit\"", "source = \"github\""),
            ("repository = \"ghost-blog\"", "repository = \"acme/blog\""),
        ],
    )
    .await;
    let report = h.deploy().await;
    let out = report.outputs.clone().unwrap();
    let conn = out.cicd.connection.clone().expect("a connection");
    assert_eq!(conn.status, "PENDING");
    assert!(
        report.warnings.iter().any(|w| w.message.contains("PENDING") && w.message.contains("console.aws.amazon.com")),
        "{:?}",
        report.warnings
    );
    let cp = aws_sdk_codepipeline::Client::new(&h.sdk);
    let p = cp.get_pipeline().name(&out.cicd.pipeline).send().await.unwrap().pipeline.unwrap();
    assert_eq!(p.triggers()[0].git_configuration().unwrap().source_action_name(), "Source");
    assert_eq!(p.stages()[0].actions()[0].configuration().unwrap()["ConnectionArn"], conn.arn);
    h.calls().await;
    assert!(h.deploy().await.is_noop());
    assert_eq!(h.calls().await.mutating, 0);
    h.destroy(DataPolicy::Keep).await;
    h.calls().await;
    h.destroy(DataPolicy::Keep).await;
    assert_eq!(h.calls().await.mutating, 0);
}

#[tokio::test]
async fn a_release_in_flight_times_out_naming_it_and_rollback_stops_it() {
    let h = Harness::new("cdhold", &[]).await;
    let out = h.deploy().await.outputs.unwrap();
    let (app, _) = out.cicd.codedeploy.clone().unwrap();
    let c = ghost_cicd::Cicd::new(&h.sdk, ghost_core::Env::new(&h.cfg.stack.name, Mode::Apply));
    let spec = ghost_cicd::CicdSpec::from_config(&h.cfg, &c.account().await.unwrap());
    ghost_cicd::registry::put_placeholder_image(&c, &spec, "feedfacecafe").await.unwrap();
    let image = format!("{}:feedfacecafe", out.cicd.image_repository_uri);
    let short = ghost_core::wait::Bound::new(std::time::Duration::from_secs(1), std::time::Duration::from_millis(200));

    // The deployment stays in flight: the bounded wait gives up, naming it, its last state and its console page.
    h.emu.hold_codedeploy(&app, true).await.unwrap();
    let err = ghost_cicd::release::release_image(&c, &spec, &out.runtime.task_definition, &image, &short)
        .await
        .expect_err("a deployment that never ends");
    h.emu.hold_codedeploy(&app, false).await.unwrap();
    let ghost_cicd::Error::Core(ghost_core::Error::WaitTimeout { what, last, .. }) = &err else {
        panic!("not a timeout: {err}")
    };
    assert_eq!(last, "InProgress");
    assert!(what.contains("codesuite/codedeploy/deployments/"), "{what}");

    // rollback finds that deployment in flight and stops it with rollback; the service stays on revision 1.
    let back = ghost_cicd::release::rollback(&c, &spec, &short).await.unwrap();
    assert_eq!(back.via, "codedeploy");
    assert!(what.contains(&back.id), "rollback stopped {} but the timeout named {what}", back.id);
    assert!(back.status.starts_with("stopped with rollback"), "{}", back.status);
    let cd = aws_sdk_codedeploy::Client::new(&h.sdk);
    let d = cd.get_deployment().deployment_id(&back.id).send().await.unwrap();
    assert_eq!(d.deployment_info().unwrap().status().map(|s| s.as_str()), Some("Stopped"));
    let svc = ghost_cicd::release::service(&c, &spec).await.unwrap().unwrap();
    assert_eq!(svc.task_definition(), Some(out.runtime.task_definition_arn.as_str()));

    // A release whose traffic has moved can still be rolled back during the termination wait: the stop with
    // rollback reroutes production traffic to the original task set.
    let bound = ghost_core::wait::Bound::new(std::time::Duration::from_secs(30), std::time::Duration::from_millis(200));
    let moved = ghost_cicd::release::release_image(&c, &spec, &out.runtime.task_definition, &image, &bound).await;
    let moved = moved.unwrap();
    assert_eq!(moved.status, ghost_cicd::release::TRAFFIC_SHIFTED);
    let lb = &out.runtime.load_balancer;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&h.sdk);
    let live = || async {
        let l = elb.describe_listeners().listener_arns(&lb.production_listener).send().await.unwrap();
        ghost_runtime::lb::forward_target(&l.listeners()[0]).unwrap()
    };
    assert_eq!(live().await, lb.green_target_group);
    let back = ghost_cicd::release::rollback(&c, &spec, &short).await.unwrap();
    assert_eq!(back.id, moved.id, "the release in its termination wait is the one stopped");
    assert_eq!(live().await, lb.blue_target_group);
    let svc = ghost_cicd::release::service(&c, &spec).await.unwrap().unwrap();
    assert_eq!(svc.task_definition(), Some(out.runtime.task_definition_arn.as_str()));
    h.destroy(DataPolicy::Delete).await;
}

#[tokio::test]
async fn dropping_codecommit_and_codedeploy_deletes_the_push_rule_its_role_and_the_codedeploy_application() {
    let mut h = Harness::new("drop", &[]).await;
    let out = h.deploy().await.outputs.unwrap();
    let (rule, events_role) =
        (format!("{}-source-push", h.cfg.stack.name), format!("{}-events-role", h.cfg.stack.name));
    let events = aws_sdk_eventbridge::Client::new(&h.sdk);
    assert!(events.describe_rule().name(&rule).send().await.is_ok(), "the push rule exists after a CodeCommit deploy");

    // codecommit -> github: the plan names the rule and its role, the deploy deletes them.
    h.cfg.pipeline.source = ghost_core::config::Source::Github;
    h.cfg.pipeline.repository = "acme/blog".into();
    let plan = h.run(Mode::Plan).await.unwrap();
    let deletes: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| r.action == Action::Delete)
        .map(|r| format!("{} {}", r.kind, r.name))
        .collect();
    assert!(deletes.contains(&format!("eventbridge-rule {rule}")), "{deletes:?}");
    assert!(deletes.contains(&format!("iam-role {events_role}")), "{deletes:?}");
    h.deploy().await;
    assert!(events.describe_rule().name(&rule).send().await.is_err(), "the push rule is gone");
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    assert!(iam.get_role().role_name(&events_role).send().await.is_err(), "its role is gone");

    // codedeploy -> ecs, in the build lens (the service itself refuses the change until it is replaced): the
    // pipeline deploys through ECS, and the CodeDeploy application, group and role go.
    let (app, _) = out.cicd.codedeploy.clone().expect("a CodeDeploy application");
    h.cfg.pipeline.deployment = ghost_core::config::Deployment::Ecs;
    let c = ghost_cicd::Cicd::new(&h.sdk, ghost_core::Env::new(&h.cfg.stack.name, Mode::Apply));
    let spec = ghost_cicd::CicdSpec::from_config(&h.cfg, &c.account().await.unwrap());
    ghost_cicd::ensure_cicd(&c, &spec, &out.runtime).await.unwrap();
    let deleted: Vec<String> =
        c.env.records().iter().filter(|r| r.action == Action::Delete).map(|r| r.kind.clone()).collect();
    assert!(deleted.iter().any(|k| k == "codedeploy-application"), "{deleted:?}");
    let cd = aws_sdk_codedeploy::Client::new(&h.sdk);
    assert!(cd.get_application().application_name(&app).send().await.is_err(), "the application is gone");
    h.calls().await;
    ghost_cicd::ensure_cicd(&c, &spec, &out.runtime).await.unwrap();
    assert_eq!(h.calls().await.mutating, 0, "pruning is done once");
    h.destroy(DataPolicy::Delete).await;
}
