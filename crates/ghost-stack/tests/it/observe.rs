//! The operate lens inside the whole stack, against the emulator (CloudWatch through the launcher's CBOR
//! bridge): alarms, topic, notification rules and dashboard read back equal to what was asked and reference
//! this stack's resources; CodeDeploy rolls back on the alarms that signal a bad release; destroy removes them.

use ghost_core::Action;
use ghost_core::DataPolicy;

use super::{Harness, actions};

#[tokio::test]
async fn alarms_topic_rules_and_dashboard_read_back_and_reference_this_stacks_resources() {
    let h = Harness::new("ob", &[("notify_emails = []", "notify_emails = [\"ops@example.com\"]")]).await;
    let out = h.deploy().await.outputs.unwrap();
    let (obs, rt) = (&out.observe, &out.runtime);
    let stack = &h.cfg.stack.name;

    // Alarms: exactly the ones asked for, each to the topic, each on a dimension of this stack.
    let cw = aws_sdk_cloudwatch::Client::new(&h.sdk);
    let got = cw.describe_alarms().alarm_name_prefix(format!("{stack}-")).send().await.unwrap();
    let mut names: Vec<&str> = got.metric_alarms().iter().filter_map(|a| a.alarm_name()).collect();
    names.sort();
    let mut want: Vec<&str> = obs.alarms.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(obs.alarms.len(), 9, "sqlite + bursting EFS: 9 alarms ({:?})", obs.alarms);
    let alb = rt.load_balancer.alb_arn.split_once(":loadbalancer/").unwrap().1;
    for a in got.metric_alarms() {
        assert_eq!(a.alarm_actions(), std::slice::from_ref(&obs.topic_arn), "{:?}", a.alarm_name());
        for d in a.dimensions() {
            let v = d.value().unwrap();
            let ours = match d.name().unwrap() {
                "LoadBalancer" => v == alb,
                "TargetGroup" => {
                    rt.load_balancer.blue_target_group.ends_with(v) || rt.load_balancer.green_target_group.ends_with(v)
                }
                "ClusterName" => v == stack,
                "ServiceName" => rt.service_arn.ends_with(&format!("/{v}")),
                "FileSystemId" => v == rt.file_system.file_system_id,
                other => panic!("unexpected dimension {other}"),
            };
            assert!(ours, "{:?}: {:?}={v} is not this stack's", a.alarm_name(), d.name());
        }
    }
    let p95 = got.metric_alarms().iter().find(|a| a.alarm_name() == Some(&format!("{stack}-latency-p95"))).unwrap();
    assert_eq!(p95.extended_statistic(), Some("p95"));
    assert_eq!(p95.threshold(), Some(2.0));

    // CodeDeploy watches the release alarms and rolls back on them.
    let cd = aws_sdk_codedeploy::Client::new(&h.sdk);
    let (app, group) = out.cicd.codedeploy.clone().unwrap();
    let g = cd.get_deployment_group().application_name(app).deployment_group_name(group).send().await.unwrap();
    let g = g.deployment_group_info().unwrap();
    let mut watched: Vec<&str> = g.alarm_configuration().unwrap().alarms().iter().filter_map(|a| a.name()).collect();
    watched.sort();
    let mut rollback: Vec<&str> = obs.rollback_alarms.iter().map(String::as_str).collect();
    rollback.sort();
    assert_eq!(watched, rollback);
    assert!(g.auto_rollback_configuration().unwrap().events().iter().any(|e| e.as_str() == "DEPLOYMENT_STOP_ON_ALARM"));

    // Topic: encrypted with the stack's own key, publishable only by alarms and EventBridge of this account; the
    // subscription exists.
    let sns = aws_sdk_sns::Client::new(&h.sdk);
    let attrs = sns.get_topic_attributes().topic_arn(&obs.topic_arn).send().await.unwrap();
    let attrs = attrs.attributes().unwrap();
    assert_eq!(attrs["KmsMasterKeyId"], format!("alias/{stack}-alerts"));
    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let key = kms.describe_key().key_id(&attrs["KmsMasterKeyId"]).send().await.unwrap();
    assert_eq!(key.key_metadata().unwrap().arn(), Some(obs.alert_key.as_str()));
    assert!(attrs["Policy"].contains("events.amazonaws.com") && attrs["Policy"].contains("aws:SourceAccount"));
    let subs = sns.list_subscriptions_by_topic().topic_arn(&obs.topic_arn).send().await.unwrap();
    assert_eq!(subs.subscriptions()[0].endpoint(), Some("ops@example.com"));

    // Notification rules send to the topic.
    let events = aws_sdk_eventbridge::Client::new(&h.sdk);
    for rule in &obs.rules {
        let t = events.list_targets_by_rule().rule(rule).send().await.unwrap();
        assert_eq!(t.targets()[0].arn(), obs.topic_arn, "{rule}");
    }

    // The dashboard is the generated body, and every metric on it names this stack's resources.
    let body = cw.get_dashboard().dashboard_name(&obs.dashboard).send().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(body.dashboard_body().unwrap()).unwrap();
    let text = body.to_string();
    assert!(text.contains(alb) && text.contains(&rt.file_system.file_system_id), "{text}");
    for w in body["widgets"].as_array().unwrap() {
        for m in w["properties"]["metrics"].as_array().unwrap() {
            let dims: Vec<&str> = m.as_array().unwrap()[2..].iter().filter_map(|v| v.as_str()).collect();
            for pair in dims.chunks(2) {
                let v = pair[1];
                assert!(
                    v == alb
                        || v == stack
                        || rt.service_arn.ends_with(&format!("/{v}"))
                        || v == rt.file_system.file_system_id
                        || rt.load_balancer.blue_target_group.ends_with(v)
                        || rt.load_balancer.green_target_group.ends_with(v),
                    "{}: {v} is not this stack's",
                    w["properties"]["title"]
                );
            }
        }
    }

    // An alarm's action reaches the topic through its key (the emulator refuses alias/aws/sns as AWS does).
    let delivery = ghost_stack::operate::test_alerts(&h.cfg, &h.sdk).await.unwrap();
    assert!(delivery.delivered, "{delivery:?}");
    assert!(delivery.history.starts_with("Successfully executed action"), "{delivery:?}");

    h.calls().await;
    let again = h.deploy().await;
    assert!(again.is_noop(), "{:?}", actions(&again));
    assert_eq!(h.calls().await.mutating, 0);

    let gone = h.destroy(DataPolicy::Delete).await;
    for kind in ["cloudwatch-alarm", "cloudwatch-dashboard", "sns-topic", "eventbridge-rule", "kms-key"] {
        assert!(
            gone.resources.iter().any(|r| r.kind == kind && r.action == Action::Delete),
            "{kind}: {:?}",
            actions(&gone)
        );
    }
    assert!(
        cw.describe_alarms().alarm_name_prefix(format!("{stack}-")).send().await.unwrap().metric_alarms().is_empty()
    );
    let key = kms.describe_key().key_id(&obs.alert_key).send().await.unwrap();
    assert_eq!(key.key_metadata().unwrap().key_state().map(|s| s.as_str()), Some("PendingDeletion"));
    assert!(kms.describe_key().key_id(format!("alias/{stack}-alerts")).send().await.is_err(), "the alias is gone");
    h.calls().await;
    h.destroy(DataPolicy::Delete).await;
    assert_eq!(h.calls().await.mutating, 0, "second destroy must not write");
}

#[tokio::test]
async fn mysql_adds_the_database_alarms_and_dropping_it_removes_them() {
    let h = Harness::new("obdb", &[("database = \"sqlite\"", "database = \"mysql\"")]).await;
    let out = h.deploy().await.outputs.unwrap();
    let db: Vec<&String> = out.observe.alarms.iter().filter(|a| a.contains("-db-")).collect();
    assert_eq!(db.len(), 3, "{:?}", out.observe.alarms);
    h.destroy(DataPolicy::Delete).await;
}

#[tokio::test]
async fn delivery_history_status_and_logs_read_the_emulators_records() {
    let h = Harness::new("obh", &[]).await;
    let out = h.deploy().await.outputs.unwrap();
    let env = ghost_core::Env::new(&h.cfg.stack.name, ghost_core::Mode::Apply);
    let c = ghost_cicd::Cicd::new(&h.sdk, env.clone());
    let spec = ghost_cicd::CicdSpec::from_config(&h.cfg, &c.account().await.unwrap());
    let bound = ghost_core::wait::Bound::new(std::time::Duration::from_secs(30), std::time::Duration::from_millis(200));
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 - 60;
    // The deploy stopped the execution CodePipeline starts on creation (the repository was empty); a push gives
    // the pipeline something to build, and each execution runs Source, Build and Deploy on the clock.
    let codecommit = aws_sdk_codecommit::Client::new(&h.sdk);
    let dockerfile = aws_sdk_codecommit::primitives::Blob::new(b"FROM ghost:6-alpine\n".to_vec());
    let push = codecommit.put_file().repository_name(&spec.repository).branch_name(&spec.branch);
    push.file_path("Dockerfile").file_content(dockerfile).send().await.unwrap();
    ghost_cicd::release::start_pipeline(&c, &spec, &bound).await.unwrap();
    ghost_cicd::release::start_pipeline(&c, &spec, &bound).await.unwrap();
    for tag in ["aaaaaaaaaaaa", "bbbbbbbbbbbb"] {
        ghost_cicd::registry::put_placeholder_image(&c, &spec, tag).await.unwrap();
        let image = format!("{}:{tag}", out.cicd.image_repository_uri);
        ghost_cicd::release::release_image(&c, &spec, &out.runtime.task_definition, &image, &bound).await.unwrap();
    }
    // A release returns at the traffic shift; CodeDeploy calls it Succeeded after the blue termination wait.
    let waited = std::time::Instant::now();
    let history = loop {
        let history = ghost_observe::history::read_history(&c, &spec, since).await.unwrap();
        let done = history.deployments.iter().all(|d| d.status == ghost_observe::metrics::DeployStatus::Succeeded);
        if done || waited.elapsed() > std::time::Duration::from_secs(30) {
            break history;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let statuses: Vec<_> = history.executions.iter().map(|e| e.status).collect();
    use ghost_observe::metrics::ExecStatus;
    assert_eq!(statuses, [ExecStatus::Succeeded, ExecStatus::Succeeded, ExecStatus::Stopped], "{history:?}");
    // Each execution's event went through the pipeline rule to the topic and was delivered (AWS/Events counts
    // a delivery the topic's key refuses as a FailedInvocation).
    let rule = out.observe.rules.iter().find(|r| r.ends_with("pipeline-events")).unwrap();
    let cw = aws_sdk_cloudwatch::Client::new(&h.sdk);
    let now = std::time::SystemTime::now();
    let sum = |metric: &'static str| {
        let req = cw.get_metric_statistics().namespace("AWS/Events").metric_name(metric).period(60);
        let req = req.dimensions(aws_sdk_cloudwatch::types::Dimension::builder().name("RuleName").value(rule).build());
        let req = req.statistics(aws_sdk_cloudwatch::types::Statistic::Sum);
        let req = req.start_time((now - std::time::Duration::from_secs(600)).into());
        let req = req.end_time((now + std::time::Duration::from_secs(60)).into());
        async move { req.send().await.unwrap().datapoints().iter().filter_map(|d| d.sum()).sum::<f64>() }
    };
    assert_eq!((sum("Invocations").await, sum("FailedInvocations").await), (2.0, 0.0));
    assert_eq!(history.deployments.len(), 2, "{history:?}");
    let end = since + 3600;
    let m = ghost_observe::metrics::compute(&history, since, end);
    assert_eq!(m.deployment_frequency.count, 2);
    assert_eq!(m.change_failure_rate.failures, 0);
    assert_eq!(m.executions.total, 3, "the two runs and the stopped one the pipeline's creation started");

    // status: the balancer, the service and the nine alarms, read back.
    let o = ghost_observe::Observe::new(&h.sdk, env.clone());
    let rt = ghost_runtime::Runtime::new(&h.sdk, env.clone());
    let ospec = ghost_observe::ObserveSpec::from_config(&h.cfg, &spec.account);
    let report = ghost_observe::status::read_status(&o, &rt, &c, &ospec, &spec).await.unwrap();
    assert_eq!(report.load_balancer, "active");
    assert_eq!(report.service.map(|s| s.1), Some(1));
    assert_eq!(report.alarms_total, 9);
    assert_eq!(report.target_groups.iter().filter(|t| t.live).count(), 1);
    assert!(report.last_deployment.is_some() && report.last_execution.is_some());

    // logs: an event written to the service's group comes back, rendered.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&h.sdk);
    let group = &out.runtime.log_group;
    logs.create_log_stream().log_group_name(group).log_stream_name("ghost/ghost/abc123").send().await.unwrap();
    let now_ms = (since + 60) * 1000;
    let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
        .timestamp(now_ms)
        .message("Ghost booted")
        .build()
        .unwrap();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("ghost/ghost/abc123")
        .log_events(event)
        .send()
        .await
        .unwrap();
    let lines = ghost_observe::logs::read_logs(&logs, group, now_ms - 1000, &Default::default()).await.unwrap();
    assert_eq!(lines.len(), 1);
    assert!(ghost_observe::logs::render_line(&lines[0]).ends_with("abc123       Ghost booted"));
    h.destroy(DataPolicy::Delete).await;
}
