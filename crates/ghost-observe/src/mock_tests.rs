//! Operate-lens resources against mocked AWS responses (no network): absent → create; present and equal →
//! zero writes; drifted → the one update; and, per kind, that every field its create call sets is compared.
//! A call no rule answers panics, so a write the test did not expect fails it.

use std::collections::HashMap;

use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_smithy_mocks::{Rule, mock};
use ghost_core::config::ThroughputMode;
use ghost_core::reconcile::ensure;
use ghost_core::reconcile::testing::assert_every_field_compared;
use ghost_core::{Action, Config, Env, Mode, mock_sdk};

use crate::alarms::{self, AlarmView};
use crate::key::{self, AlertKey};
use crate::signals::Watched;
use crate::topic;
use crate::{Observe, ObserveSpec, dashboard};

macro_rules! always {
    ($op:expr, $out:expr) => {
        mock!($op).sequence().output($out).repeatedly().build()
    };
}

fn observe(cloudwatch: &[&Rule], sns: &[&Rule]) -> Observe {
    observe_with_kms(cloudwatch, sns, &[])
}

fn observe_with_kms(cloudwatch: &[&Rule], sns: &[&Rule], kms: &[&Rule]) -> Observe {
    let none: [&Rule; 0] = [];
    Observe {
        cloudwatch: mock_sdk!(aws_sdk_cloudwatch, cloudwatch),
        sns: mock_sdk!(aws_sdk_sns, sns),
        events: mock_sdk!(aws_sdk_eventbridge, none),
        kms: mock_sdk!(aws_sdk_kms, kms),
        env: Env::new("ghost", Mode::Apply),
    }
}

fn spec() -> ObserveSpec {
    let cfg = Config::parse(include_str!("../../../fixtures/ghost.toml"), "sample").unwrap();
    ObserveSpec::from_config(&cfg, "123456789012")
}

fn watched(spec: &ObserveSpec) -> Watched {
    Watched {
        stack: spec.names.stack().into(),
        region: spec.region.clone(),
        load_balancer: "app/ghost/1".into(),
        target_groups: [("blue", "targetgroup/ghost-blue/1".into()), ("green", "targetgroup/ghost-green/2".into())],
        cluster: spec.names.stack().into(),
        service: spec.service.clone(),
        file_system: "fs-1".into(),
        throughput_mode: ThroughputMode::Bursting,
        db_instance: Some("ghost-db".into()),
    }
}

const TOPIC: &str = "arn:aws:sns:eu-west-2:123456789012:ghost-alerts";

// --- the alert topic ----------------------------------------------------------------------------------------

fn topic_reads(attributes: HashMap<String, String>) -> [Rule; 2] {
    use aws_sdk_sns::operation::*;
    [
        always!(aws_sdk_sns::Client::list_topics, || list_topics::ListTopicsOutput::builder()
            .topics(aws_sdk_sns::types::Topic::builder().topic_arn(TOPIC).build())
            .build()),
        always!(aws_sdk_sns::Client::get_topic_attributes, move || {
            get_topic_attributes::GetTopicAttributesOutput::builder().set_attributes(Some(attributes.clone())).build()
        }),
    ]
}

fn set_attributes() -> Rule {
    always!(aws_sdk_sns::Client::set_topic_attributes, || {
        aws_sdk_sns::operation::set_topic_attributes::SetTopicAttributesOutput::builder().build()
    })
}

#[tokio::test]
async fn the_topic_as_deployed_gets_no_write_and_a_topic_without_its_key_gets_one() {
    let spec = spec();
    assert!(spec.topic_arn() == TOPIC.replace("eu-west-2", &spec.region), "the ARN is SNS's documented form");
    let policy = topic::topic_policy(&spec, &spec.topic_arn()).to_json();
    let ours = key::alias(&spec);
    for (key, action, sets) in [(Some(ours.as_str()), Action::Unchanged, 0), (Some("alias/aws/sns"), Action::Update, 1)]
    {
        let mut attributes = HashMap::from([("Policy".to_string(), policy.clone())]);
        if let Some(key) = key {
            attributes.insert("KmsMasterKeyId".into(), key.into());
        }
        let [list, get] = topic_reads(attributes);
        let set = set_attributes();
        let o = observe(&[], &[&list, &get, &set]);
        let t = topic::Topic::new(&o, &spec);
        assert_eq!(ensure(&o.env, &t).await.unwrap().action(), action);
        assert_eq!(set.num_calls(), sets);
    }
}

#[tokio::test]
async fn an_absent_topic_is_created_with_its_key_then_given_its_policy() {
    use aws_sdk_sns::operation::*;
    let list = always!(aws_sdk_sns::Client::list_topics, || list_topics::ListTopicsOutput::builder().build());
    let create = always!(aws_sdk_sns::Client::create_topic, || create_topic::CreateTopicOutput::builder()
        .topic_arn(TOPIC)
        .build());
    let set = set_attributes();
    let o = observe(&[], &[&list, &create, &set]);
    let spec = spec();
    assert_eq!(ensure(&o.env, &topic::Topic::new(&o, &spec)).await.unwrap().action(), Action::Create);
    assert_eq!((create.num_calls(), set.num_calls()), (1, 1));
}

// --- the topic's key --------------------------------------------------------------------------------------

const KEY_ARN: &str = "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn metadata(state: aws_sdk_kms::types::KeyState) -> aws_sdk_kms::types::KeyMetadata {
    aws_sdk_kms::types::KeyMetadata::builder()
        .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
        .arn(KEY_ARN)
        .key_state(state)
        .build()
        .unwrap()
}

/// KMS as it answers for a key reached by the alias (`aliased`) or only by its tags, in `state`.
fn key_reads(aliased: bool, state: aws_sdk_kms::types::KeyState, policy: String) -> Vec<Rule> {
    use aws_sdk_kms::operation::*;
    use aws_sdk_kms::types::{KeyListEntry, Tag};
    let spec = spec();
    let alias = key::alias(&spec);
    let tags: Vec<Tag> = spec
        .names
        .tags("alert-key", &alias)
        .into_iter()
        .map(|t| Tag::builder().tag_key(t.key).tag_value(t.value).build().unwrap())
        .collect();
    let st = state.clone();
    vec![
        mock!(aws_sdk_kms::Client::describe_key)
            .match_requests(move |r| r.key_id() == Some(alias.as_str()) && !aliased)
            .then_error(|| {
                describe_key::DescribeKeyError::NotFoundException(
                    aws_sdk_kms::types::error::NotFoundException::builder().message("Alias is not found.").build(),
                )
            }),
        always!(aws_sdk_kms::Client::describe_key, move || describe_key::DescribeKeyOutput::builder()
            .key_metadata(metadata(st.clone()))
            .build()),
        always!(aws_sdk_kms::Client::list_keys, || list_keys::ListKeysOutput::builder()
            .keys(KeyListEntry::builder().key_id("1234abcd-12ab-34cd-56ef-1234567890ab").key_arn(KEY_ARN).build())
            .build()),
        always!(aws_sdk_kms::Client::list_resource_tags, move || list_resource_tags::ListResourceTagsOutput::builder()
            .set_tags(Some(tags.clone()))
            .build()),
        always!(aws_sdk_kms::Client::get_key_policy, move || get_key_policy::GetKeyPolicyOutput::builder()
            .policy(policy.clone())
            .build()),
    ]
}

macro_rules! kms_write {
    ($op:expr, $out:expr) => {
        always!($op, $out)
    };
}

#[tokio::test]
async fn the_key_as_deployed_gets_no_write_and_each_drift_its_one_repair() {
    use aws_sdk_kms::operation::*;
    use aws_sdk_kms::types::KeyState;
    let spec = spec();
    let policy = key::key_policy(&spec).to_json();
    // (found by alias, state, policy, action, [CreateAlias, CancelKeyDeletion, EnableKey, PutKeyPolicy])
    let cases = [
        (true, KeyState::Enabled, policy.clone(), Action::Unchanged, [0, 0, 0, 0]),
        (false, KeyState::Enabled, policy.clone(), Action::Update, [1, 0, 0, 0]),
        (true, KeyState::PendingDeletion, policy.clone(), Action::Update, [0, 1, 1, 0]),
        (true, KeyState::Disabled, policy.clone(), Action::Update, [0, 0, 1, 0]),
        (true, KeyState::Enabled, "{}".to_string(), Action::Update, [0, 0, 0, 1]),
    ];
    for (aliased, state, policy, action, writes) in cases {
        let reads = key_reads(aliased, state.clone(), policy);
        let alias =
            kms_write!(aws_sdk_kms::Client::create_alias, || create_alias::CreateAliasOutput::builder().build());
        let cancel = kms_write!(aws_sdk_kms::Client::cancel_key_deletion, || {
            cancel_key_deletion::CancelKeyDeletionOutput::builder().build()
        });
        let enable = kms_write!(aws_sdk_kms::Client::enable_key, || enable_key::EnableKeyOutput::builder().build());
        let put =
            kms_write!(aws_sdk_kms::Client::put_key_policy, || put_key_policy::PutKeyPolicyOutput::builder().build());
        let mut rules: Vec<&Rule> = reads.iter().collect();
        rules.extend([&alias, &cancel, &enable, &put]);
        let o = observe_with_kms(&[], &[], &rules);
        let got = ensure(&o.env, &AlertKey::new(&o, &spec)).await.unwrap();
        assert_eq!(got.action(), action, "{aliased} {state:?}");
        let counts = [alias.num_calls(), cancel.num_calls(), enable.num_calls(), put.num_calls()];
        assert_eq!(counts, writes, "{aliased} {state:?}");
    }
}

#[tokio::test]
async fn an_absent_key_is_created_with_its_policy_and_tags_then_aliased() {
    use aws_sdk_kms::operation::*;
    let spec = spec();
    let missing = mock!(aws_sdk_kms::Client::describe_key)
        .sequence()
        .error(|| {
            describe_key::DescribeKeyError::NotFoundException(
                aws_sdk_kms::types::error::NotFoundException::builder().build(),
            )
        })
        .repeatedly()
        .build();
    let none = always!(aws_sdk_kms::Client::list_keys, || list_keys::ListKeysOutput::builder().build());
    let wanted = key::key_policy(&spec);
    let create = mock!(aws_sdk_kms::Client::create_key)
        .match_requests(move |r| r.policy().is_some_and(|p| wanted.same_as(p)) && r.tags().len() == 3)
        .sequence()
        .output(|| {
            create_key::CreateKeyOutput::builder().key_metadata(metadata(aws_sdk_kms::types::KeyState::Enabled)).build()
        })
        .repeatedly()
        .build();
    let alias = key::alias(&spec);
    let aliased = mock!(aws_sdk_kms::Client::create_alias)
        .match_requests(move |r| r.alias_name() == Some(alias.as_str()) && r.target_key_id() == Some(KEY_ARN))
        .sequence()
        .output(|| create_alias::CreateAliasOutput::builder().build())
        .repeatedly()
        .build();
    let o = observe_with_kms(&[], &[], &[&missing, &none, &create, &aliased]);
    let got = ensure(&o.env, &AlertKey::new(&o, &spec)).await.unwrap();
    assert_eq!((got.action(), create.num_calls(), aliased.num_calls()), (Action::Create, 1, 1));
}

#[test]
fn the_key_policy_grants_the_publishers_without_a_source_condition() {
    let doc: serde_json::Value = serde_json::from_str(&key::key_policy(&spec()).to_json()).unwrap();
    let grant = &doc["Statement"][1];
    assert_eq!(grant["Principal"]["Service"], serde_json::json!(["cloudwatch.amazonaws.com", "events.amazonaws.com"]));
    assert_eq!(grant["Action"], serde_json::json!(["kms:GenerateDataKey*", "kms:Decrypt"]));
    assert!(grant.get("Condition").is_none(), "EventBridge deliveries match no source condition");
    assert_eq!(doc["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::123456789012:root");
}

// --- alarms and the dashboard -------------------------------------------------------------------------------

/// An alarm as CloudWatch describes one PutMetricAlarm made from `v`.
fn described(name: &str, v: &AlarmView) -> MetricAlarm {
    let dims = v
        .dimensions
        .iter()
        .map(|d| aws_sdk_cloudwatch::types::Dimension::builder().name(&d.name).value(&d.value).build());
    let b = MetricAlarm::builder()
        .alarm_name(name)
        .alarm_description(&v.description)
        .namespace(&v.namespace)
        .metric_name(&v.metric)
        .set_dimensions(Some(dims.collect()))
        .period(v.period_s)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::from(v.comparison.as_str()))
        .threshold(v.threshold)
        .evaluation_periods(v.evaluation_periods)
        .treat_missing_data(&v.treat_missing_data)
        .set_alarm_actions(Some(v.alarm_actions.clone()))
        .set_ok_actions(Some(v.ok_actions.clone()));
    if v.statistic.starts_with('p') {
        b.extended_statistic(&v.statistic).build()
    } else {
        b.statistic(aws_sdk_cloudwatch::types::Statistic::from(v.statistic.as_str())).build()
    }
}

#[tokio::test]
async fn every_alarm_as_described_gets_no_write_and_a_changed_threshold_is_one_put() {
    let spec = spec();
    let wanted = watched(&spec).alarms(&spec.thresholds);
    assert!(wanted.len() >= 8, "the fixture's alarms");
    for (drift, puts) in [(false, 0), (true, 1)] {
        let alarms: Vec<MetricAlarm> = wanted
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut v = AlarmView::desired(w, TOPIC);
                if drift && i == 0 {
                    v.threshold = 999.0;
                }
                described(&w.name, &v)
            })
            .collect();
        let describe = always!(aws_sdk_cloudwatch::Client::describe_alarms, move || {
            aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder()
                .set_metric_alarms(Some(alarms.clone()))
                .build()
        });
        let put = always!(aws_sdk_cloudwatch::Client::put_metric_alarm, || {
            aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput::builder().build()
        });
        let o = observe(&[&describe, &put], &[]);
        let names = alarms::ensure_alarms(&o, &spec, &wanted, TOPIC).await.unwrap();
        assert_eq!(names.len(), wanted.len());
        assert_eq!(put.num_calls(), puts, "drift {drift}");
    }
}

#[tokio::test]
async fn the_dashboard_as_generated_gets_no_write() {
    let spec = spec();
    let body = watched(&spec).dashboard(&spec.thresholds);
    let found = body.to_string();
    let get = always!(aws_sdk_cloudwatch::Client::get_dashboard, move || {
        aws_sdk_cloudwatch::operation::get_dashboard::GetDashboardOutput::builder()
            .dashboard_body(found.clone())
            .build()
    });
    let o = observe(&[&get], &[]);
    let d = dashboard::Dashboard { o: &o, name: "ghost", desired: body };
    assert_eq!(ensure(&o.env, &d).await.unwrap().action(), Action::Unchanged);
}

// --- field coverage, one test per kind ------------------------------------------------------------------------

#[test]
fn every_field_of_each_operate_lens_kind_is_compared() {
    let o = observe(&[], &[]);
    let spec = spec();
    let t = topic::Topic::new(&o, &spec);
    assert_every_field_compared(&t, std::slice::from_ref(&t.desired));
    let k = AlertKey::new(&o, &spec);
    assert_every_field_compared(&k, std::slice::from_ref(&k.desired));
    let sub = topic::Subscription {
        o: &o,
        topic: TOPIC,
        email: "ops@example.com",
        found: None,
        desired: topic::SubscriptionView { protocol: "email".into() },
    };
    assert_every_field_compared(&sub, std::slice::from_ref(&sub.desired));
    for want in watched(&spec).alarms(&spec.thresholds) {
        let a = alarms::Alarm { o: &o, name: &want.name, found: None, desired: AlarmView::desired(&want, TOPIC) };
        assert_every_field_compared(&a, std::slice::from_ref(&a.desired));
    }
    let body = watched(&spec).dashboard(&spec.thresholds);
    let d = dashboard::Dashboard { o: &o, name: "ghost", desired: body };
    assert_every_field_compared(&d, std::slice::from_ref(&d.desired));
}
