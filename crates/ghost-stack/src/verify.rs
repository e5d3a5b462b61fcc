//! Wiring, read back from AWS: not "does each resource exist" (a re-deploy's zero-change diff proves that) but
//! "is each resource connected to the right other one" — the listener to the live target group, the service to
//! its group, subnets and security group, the mount targets to the private subnets, the security-group chain,
//! the pipeline's stages to the build project and the deployment target. `cargo xtask e2e` prints every check.

use aws_sdk_ec2::types::{Filter, IpPermission};
use ghost_core::AwsResultExt;
use ghost_core::config::{Deployment, TaskSubnets};
use serde::Serialize;

use crate::{Config, StackOutputs};

/// One wiring check: what was compared, whether it held, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub found: String,
}

fn check(what: impl Into<String>, ok: bool, found: impl Into<String>) -> Check {
    Check { what: what.into(), ok, found: found.into() }
}

/// `targetgroup/<name>/<id>` → `<name>`: what a person recognises in the report.
fn tg_name(arn: &str) -> String {
    arn.rsplit('/').nth(1).unwrap_or(arn).to_string()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// True when `group` lets `source` in on `port` (TCP).
fn allows(perms: &[IpPermission], source: &str, port: i32) -> bool {
    perms.iter().any(|p| {
        p.from_port().is_some_and(|f| f <= port)
            && p.to_port().is_some_and(|t| t >= port)
            && p.user_id_group_pairs().iter().any(|g| g.group_id() == Some(source))
    })
}

fn world_ports(perms: &[IpPermission]) -> Vec<i32> {
    let mut v: Vec<i32> = perms
        .iter()
        .filter(|p| p.ip_ranges().iter().any(|r| r.cidr_ip() == Some("0.0.0.0/0")))
        .filter_map(|p| p.from_port())
        .collect();
    v.sort();
    v
}

/// Reads the deployed stack's wiring back and compares it with the outputs of the deploy that made it.
pub async fn wiring(sdk: &aws_types::SdkConfig, cfg: &Config, o: &StackOutputs) -> ghost_core::Result<Vec<Check>> {
    let (net, rt, ci) = (&o.network, &o.runtime, &o.cicd);
    let lb = &rt.load_balancer;
    let mut checks = Vec::new();

    // Listeners → target groups.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let listeners =
        elb.describe_listeners().load_balancer_arn(&lb.alb_arn).send().await.aws("DescribeListeners", &lb.alb_arn)?;
    let forward_of = |arn: &str| {
        listeners
            .listeners()
            .iter()
            .find(|l| l.listener_arn() == Some(arn))
            // After a CodeDeploy release a listener forwards weighted, the original group at weight 0.
            .and_then(ghost_runtime::lb::forward_target)
            .unwrap_or_default()
    };
    let live = forward_of(&lb.production_listener);
    checks.push(check(
        "production listener → live target group",
        live == lb.live_target_group || lb.production_rule.is_some(),
        tg_name(&live),
    ));
    let test = forward_of(&lb.test_listener);
    let pair = [lb.blue_target_group.as_str(), lb.green_target_group.as_str()];
    checks.push(check(
        "test listener → one of the blue/green target groups",
        pair.contains(&test.as_str()) || lb.test_rule.is_some(),
        tg_name(&test),
    ));

    // Service → target group, subnets, security group.
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let svc = ecs
        .describe_services()
        .cluster(&rt.cluster_arn)
        .services(&rt.service_arn)
        .send()
        .await
        .aws("DescribeServices", &rt.service_arn)?;
    let svc = svc.services().first();
    let svc_tg = svc.and_then(|s| s.load_balancers().first()).and_then(|l| l.target_group_arn()).unwrap_or_default();
    checks.push(check("service → a blue/green target group", pair.contains(&svc_tg), tg_name(svc_tg)));
    let vpc_cfg = svc.and_then(|s| s.network_configuration()).and_then(|n| n.awsvpc_configuration());
    let want_subnets = match cfg.network.task_subnets {
        TaskSubnets::Public => &net.public_subnets,
        TaskSubnets::Private => &net.private_subnets,
    };
    let got_subnets = sorted(vpc_cfg.map(|v| v.subnets().to_vec()).unwrap_or_default());
    checks.push(check(
        format!("service → the {:?} subnets", cfg.network.task_subnets).to_lowercase(),
        got_subnets == sorted(want_subnets.clone()),
        got_subnets.join(","),
    ));
    let got_sgs = vpc_cfg.map(|v| v.security_groups().to_vec()).unwrap_or_default();
    checks.push(check("service → the task security group", got_sgs == [net.sg_task.clone()], got_sgs.join(",")));
    let svc_td = svc.and_then(|s| s.task_definition()).unwrap_or_default();
    checks.push(check(
        "service → the registered task definition",
        svc_td == rt.task_definition_arn,
        svc_td.rsplit('/').next().unwrap_or(svc_td),
    ));

    // Mount targets → the private subnets, behind the EFS security group.
    let efs = aws_sdk_efs::Client::new(sdk);
    let fs = &rt.file_system.file_system_id;
    let mts = efs.describe_mount_targets().file_system_id(fs).send().await.aws("DescribeMountTargets", fs)?;
    let mt_subnets = sorted(mts.mount_targets().iter().map(|m| m.subnet_id().to_string()).collect());
    checks.push(check(
        "mount targets → the private subnets",
        mt_subnets == sorted(net.private_subnets.clone()),
        mt_subnets.join(","),
    ));
    let mut mt_sgs = Vec::new();
    for m in mts.mount_targets() {
        let id = m.mount_target_id();
        let sgs = efs
            .describe_mount_target_security_groups()
            .mount_target_id(id)
            .send()
            .await
            .aws("DescribeMountTargetSecurityGroups", id)?;
        mt_sgs.extend(sgs.security_groups().iter().cloned());
    }
    mt_sgs.dedup();
    checks.push(check("mount targets → the EFS security group", mt_sgs == [net.sg_efs.clone()], mt_sgs.join(",")));

    // The security-group chain: world → ALB → task → EFS (→ database).
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let groups = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(&net.vpc_id).build())
        .send()
        .await
        .aws("DescribeSecurityGroups", &net.vpc_id)?;
    let perms = |id: &str| {
        groups
            .security_groups()
            .iter()
            .find(|g| g.group_id() == Some(id))
            .map(|g| g.ip_permissions().to_vec())
            .unwrap_or_default()
    };
    let alb_world = world_ports(&perms(&net.sg_alb));
    let want_world = if cfg.load_balancer.certificate_arn.is_empty() { vec![80] } else { vec![80, 443] };
    checks.push(check(
        "internet → ALB security group (80/443 only)",
        alb_world == want_world,
        format!("{alb_world:?}"),
    ));
    let port = rt.task_definition.container_definitions.first().and_then(|c| c.port_mappings.first());
    let port = port.and_then(|p| p["containerPort"].as_i64()).unwrap_or(2368) as i32;
    checks.push(check(
        format!("ALB security group → task security group on {port}"),
        allows(&perms(&net.sg_task), &net.sg_alb, port),
        net.sg_task.clone(),
    ));
    checks.push(check(
        "task security group → EFS security group on 2049",
        allows(&perms(&net.sg_efs), &net.sg_task, 2049),
        net.sg_efs.clone(),
    ));
    checks.push(check(
        "nothing else reaches the task or EFS security groups from the internet",
        world_ports(&perms(&net.sg_task)).is_empty() && world_ports(&perms(&net.sg_efs)).is_empty(),
        "",
    ));
    if let (Some(db), Some(sg_db)) = (&rt.database, &net.sg_db) {
        checks.push(check(
            format!("task security group → database security group on {}", db.port),
            allows(&perms(sg_db), &net.sg_task, db.port),
            sg_db.clone(),
        ));
    }

    // Pipeline stages → the source, the build project, the deployment target.
    let cp = aws_sdk_codepipeline::Client::new(sdk);
    let p = cp.get_pipeline().name(&ci.pipeline).send().await.aws("GetPipeline", &ci.pipeline)?;
    let stages = p.pipeline().map(|p| p.stages().to_vec()).unwrap_or_default();
    let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
    let conf = |stage: &str, key: &str| {
        stages
            .iter()
            .find(|s| s.name() == stage)
            .and_then(|s| s.actions().first())
            .and_then(|a| a.configuration())
            .and_then(|c| c.get(key).cloned())
            .unwrap_or_default()
    };
    let want_stages: Vec<&str> = if cfg.pipeline.approval {
        vec!["Source", "Build", "Approval", "Deploy"]
    } else {
        vec!["Source", "Build", "Deploy"]
    };
    checks.push(check("pipeline stages", names == want_stages, names.join(" → ")));
    let project = conf("Build", "ProjectName");
    checks.push(check("pipeline Build → the build project", project == ci.build_project, project));
    match (cfg.pipeline.deployment, &ci.codedeploy) {
        (Deployment::Codedeploy, Some((app, group))) => {
            let got = (conf("Deploy", "ApplicationName"), conf("Deploy", "DeploymentGroupName"));
            checks.push(check(
                "pipeline Deploy → the CodeDeploy application and group",
                &got.0 == app && &got.1 == group,
                format!("{} / {}", got.0, got.1),
            ));
            let cd = aws_sdk_codedeploy::Client::new(sdk);
            let g = cd
                .get_deployment_group()
                .application_name(app)
                .deployment_group_name(group)
                .send()
                .await
                .aws("GetDeploymentGroup", group)?;
            let info = g.deployment_group_info();
            let tgs = sorted(
                info.and_then(|i| i.load_balancer_info())
                    .and_then(|l| l.target_group_pair_info_list().first())
                    .map(|p| p.target_groups().iter().filter_map(|t| t.name().map(String::from)).collect())
                    .unwrap_or_default(),
            );
            let want = sorted(pair.iter().map(|a| tg_name(a)).collect());
            checks.push(check("deployment group → the blue and green target groups", tgs == want, tgs.join(",")));
            let svc_name =
                info.and_then(|i| i.ecs_services().first()).and_then(|s| s.service_name()).unwrap_or_default();
            checks.push(check(
                "deployment group → the service",
                rt.service_arn.ends_with(&format!("/{svc_name}")),
                svc_name,
            ));
        }
        _ => {
            let got = (conf("Deploy", "ClusterName"), conf("Deploy", "ServiceName"));
            checks.push(check(
                "pipeline Deploy → the cluster and service",
                rt.cluster_arn.ends_with(&format!("/{}", got.0)) && rt.service_arn.ends_with(&format!("/{}", got.1)),
                format!("{} / {}", got.0, got.1),
            ));
        }
    }

    // Alert topic → a key its publishers can use (nothing fails at configuration time when they cannot).
    let observe = ghost_observe::Observe::new(sdk, ghost_core::Env::new(&cfg.stack.name, ghost_core::Mode::Plan));
    let (ok, found) = ghost_observe::key::publishers_can_use(&observe, &o.observe.topic_arn).await?;
    checks.push(check("alert topic → a key CloudWatch alarms and EventBridge may use", ok, found));
    Ok(checks)
}
