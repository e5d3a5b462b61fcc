//! Build-lens resources against mocked AWS responses (no network): absent → create; present and equal → zero
//! writes; drifted → the one update; and, per kind, that every field its create call sets is compared.
//! A call no rule answers panics, so a write the test did not expect fails it.

use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineOutput;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesOutput;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository};
use aws_sdk_s3::types::{
    BucketVersioningStatus, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use aws_smithy_mocks::{Rule, mock};
use ghost_core::reconcile::testing::assert_every_field_compared;
use ghost_core::{Action, Config, Env, Mode, mock_sdk};

use crate::spec::CicdSpec;
use crate::{Cicd, bucket, build, deploy, pipeline, registry, source};

macro_rules! always {
    ($op:expr, $out:expr) => {
        mock!($op).sequence().output($out).repeatedly().build()
    };
}

#[derive(Default)]
struct Rules<'a> {
    ecr: Vec<&'a Rule>,
    s3: Vec<&'a Rule>,
    codepipeline: Vec<&'a Rule>,
    codecommit: Vec<&'a Rule>,
}

fn cicd(r: Rules<'_>, mode: Mode) -> Cicd {
    let none: [&Rule; 0] = [];
    Cicd {
        ecr: mock_sdk!(aws_sdk_ecr, r.ecr),
        codecommit: mock_sdk!(aws_sdk_codecommit, r.codecommit),
        connections: mock_sdk!(aws_sdk_codeconnections, none),
        s3: mock_sdk!(aws_sdk_s3, r.s3),
        codebuild: mock_sdk!(aws_sdk_codebuild, none),
        codedeploy: mock_sdk!(aws_sdk_codedeploy, none),
        codepipeline: mock_sdk!(aws_sdk_codepipeline, r.codepipeline),
        events: mock_sdk!(aws_sdk_eventbridge, none),
        iam: mock_sdk!(aws_sdk_iam, none),
        logs: mock_sdk!(aws_sdk_cloudwatchlogs, none),
        ecs: mock_sdk!(aws_sdk_ecs, none),
        sts: mock_sdk!(aws_sdk_sts, none),
        env: Env::new("ghost", mode),
    }
}

fn spec(edits: &[(&str, &str)]) -> CicdSpec {
    let mut text = include_str!("../../../fixtures/ghost.toml").to_string();
    for (from, to) in edits {
        text = text.replace(from, to);
    }
    CicdSpec::from_config(&Config::parse(&text, "test").unwrap(), "123456789012")
}

// --- the artifact bucket ------------------------------------------------------------------------------------

/// The bucket's reads, answering as a bucket deployed by this lens does, versioning as given.
fn bucket_reads(spec: &CicdSpec, versioning: BucketVersioningStatus) -> Vec<Rule> {
    use aws_sdk_s3::operation::*;
    let policy = bucket::bucket_policy(spec).to_json();
    let stack = spec.names.stack().to_string();
    vec![
        always!(aws_sdk_s3::Client::head_bucket, || head_bucket::HeadBucketOutput::builder().build()),
        always!(aws_sdk_s3::Client::get_bucket_versioning, move || {
            get_bucket_versioning::GetBucketVersioningOutput::builder().status(versioning.clone()).build()
        }),
        always!(aws_sdk_s3::Client::get_bucket_encryption, || {
            let default =
                ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256).build().unwrap();
            let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build();
            get_bucket_encryption::GetBucketEncryptionOutput::builder()
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap(),
                )
                .build()
        }),
        always!(aws_sdk_s3::Client::get_public_access_block, || {
            let all = PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build();
            get_public_access_block::GetPublicAccessBlockOutput::builder()
                .public_access_block_configuration(all)
                .build()
        }),
        always!(aws_sdk_s3::Client::get_bucket_policy, move || {
            get_bucket_policy::GetBucketPolicyOutput::builder().policy(policy.clone()).build()
        }),
        always!(aws_sdk_s3::Client::get_bucket_tagging, move || {
            let tag =
                aws_sdk_s3::types::Tag::builder().key(ghost_core::TAG_STACK).value(stack.clone()).build().unwrap();
            get_bucket_tagging::GetBucketTaggingOutput::builder().tag_set(tag).build().unwrap()
        }),
    ]
}

/// Every write the bucket kind can make, in the order of [`bucket::BucketUpdate`] after the create.
fn bucket_writes() -> Vec<Rule> {
    use aws_sdk_s3::operation::*;
    vec![
        always!(aws_sdk_s3::Client::create_bucket, || create_bucket::CreateBucketOutput::builder().build()),
        always!(aws_sdk_s3::Client::put_public_access_block, || {
            put_public_access_block::PutPublicAccessBlockOutput::builder().build()
        }),
        always!(aws_sdk_s3::Client::put_bucket_versioning, || {
            put_bucket_versioning::PutBucketVersioningOutput::builder().build()
        }),
        always!(aws_sdk_s3::Client::put_bucket_encryption, || {
            put_bucket_encryption::PutBucketEncryptionOutput::builder().build()
        }),
        always!(aws_sdk_s3::Client::put_bucket_policy, || put_bucket_policy::PutBucketPolicyOutput::builder().build()),
        always!(aws_sdk_s3::Client::put_bucket_tagging, || {
            put_bucket_tagging::PutBucketTaggingOutput::builder().build()
        }),
    ]
}

fn calls(rules: &[Rule]) -> Vec<usize> {
    rules.iter().map(Rule::num_calls).collect()
}

#[tokio::test]
async fn an_absent_bucket_is_created_with_every_setting_once_public_access_blocked_first() {
    let head = mock!(aws_sdk_s3::Client::head_bucket).then_error(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketError::NotFound(
            aws_sdk_s3::types::error::NotFound::builder().build(),
        )
    });
    let writes = bucket_writes();
    let c = cicd(Rules { s3: std::iter::once(&head).chain(&writes).collect(), ..Default::default() }, Mode::Apply);
    let spec = spec(&[]);
    let out = reconcile(&c, &bucket::ArtifactBucket::new(&c, &spec)).await;
    assert_eq!(out, Action::Create);
    assert_eq!(calls(&writes), [1, 1, 1, 1, 1, 1]);
    let order = bucket::ArtifactBucket::new(&c, &spec);
    let fresh = bucket::BucketView {
        versioning: false,
        encryption: None,
        public_access_blocked: false,
        policy: None,
        stack_tag: None,
    };
    let updates = ghost_core::reconcile::Resource::updates(&order, &order.desired, &fresh).unwrap();
    assert_eq!(updates[0], bucket::BucketUpdate::PublicAccessBlock, "no policy may meet an open bucket");
}

#[tokio::test]
async fn a_bucket_as_deployed_gets_no_write_and_suspended_versioning_gets_one() {
    let spec = spec(&[]);
    for (status, action, versioning_puts) in [
        (BucketVersioningStatus::Enabled, Action::Unchanged, 0),
        (BucketVersioningStatus::Suspended, Action::Update, 1),
    ] {
        let reads = bucket_reads(&spec, status);
        let writes = bucket_writes();
        let rules = reads.iter().chain(&writes).collect();
        let c = cicd(Rules { s3: rules, ..Default::default() }, Mode::Apply);
        assert_eq!(reconcile(&c, &bucket::ArtifactBucket::new(&c, &spec)).await, action);
        assert_eq!(calls(&writes), [0, 0, versioning_puts, 0, 0, 0]);
    }
}

#[tokio::test]
async fn objects_delete_objects_refused_are_named_and_the_bucket_is_not_deleted() {
    use aws_sdk_s3::operation::*;
    use aws_sdk_s3::types::{Error as S3ObjectError, ObjectVersion};
    let spec = spec(&[]);
    let head = always!(aws_sdk_s3::Client::head_bucket, || head_bucket::HeadBucketOutput::builder().build());
    let list = always!(aws_sdk_s3::Client::list_object_versions, || {
        let v = |k: &str| ObjectVersion::builder().key(k).version_id("v1").build();
        list_object_versions::ListObjectVersionsOutput::builder()
            .versions(v("uploads/a.png"))
            .versions(v("uploads/b.png"))
            .build()
    });
    // DeleteObjects answers 200 with the one it could not delete in Errors.
    let delete = always!(aws_sdk_s3::Client::delete_objects, || {
        let refused = S3ObjectError::builder()
            .key("uploads/b.png")
            .version_id("v1")
            .code("AccessDenied")
            .message("Access Denied because object protected by object lock.")
            .build();
        delete_objects::DeleteObjectsOutput::builder().errors(refused).build()
    });
    let delete_bucket =
        always!(aws_sdk_s3::Client::delete_bucket, || delete_bucket::DeleteBucketOutput::builder().build());
    let c = cicd(Rules { s3: vec![&head, &list, &delete, &delete_bucket], ..Default::default() }, Mode::Apply);
    let err = bucket::delete_bucket(&c, &spec, ghost_core::DataPolicy::Delete).await.unwrap_err().to_string();
    assert!(err.contains("uploads/b.png (version v1): AccessDenied"), "{err}");
    assert!(err.contains("refused to delete 1 object(s)"), "{err}");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(delete_bucket.num_calls(), 0, "a bucket still holding objects is not deleted");
}

// --- the image repository -----------------------------------------------------------------------------------

fn repository(mutability: ImageTagMutability) -> DescribeRepositoriesOutput {
    let repo = Repository::builder()
        .repository_name("ghost-blog")
        .repository_uri("123456789012.dkr.ecr.eu-west-2.amazonaws.com/ghost-blog")
        .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
        .image_tag_mutability(mutability)
        .build();
    DescribeRepositoriesOutput::builder().repositories(repo).build()
}

#[tokio::test]
async fn a_repository_without_its_lifecycle_policy_gets_only_that_policy() {
    use aws_sdk_ecr::operation::*;
    let spec = spec(&[]);
    let keep = spec.keep_images;
    for (policy, mutability, action, puts) in [
        (true, ImageTagMutability::Immutable, Action::Unchanged, [0, 0, 0]),
        (false, ImageTagMutability::Immutable, Action::Update, [1, 0, 0]),
        (true, ImageTagMutability::Mutable, Action::Update, [0, 1, 0]),
    ] {
        let describe = always!(aws_sdk_ecr::Client::describe_repositories, move || repository(mutability.clone()));
        let get = if policy {
            always!(aws_sdk_ecr::Client::get_lifecycle_policy, move || {
                get_lifecycle_policy::GetLifecyclePolicyOutput::builder()
                    .lifecycle_policy_text(registry::lifecycle_policy(keep).to_string())
                    .build()
            })
        } else {
            mock!(aws_sdk_ecr::Client::get_lifecycle_policy).then_error(|| {
                get_lifecycle_policy::GetLifecyclePolicyError::LifecyclePolicyNotFoundException(
                    aws_sdk_ecr::types::error::LifecyclePolicyNotFoundException::builder().build(),
                )
            })
        };
        let writes = [
            always!(aws_sdk_ecr::Client::put_lifecycle_policy, || {
                put_lifecycle_policy::PutLifecyclePolicyOutput::builder().build()
            }),
            always!(aws_sdk_ecr::Client::put_image_tag_mutability, || {
                put_image_tag_mutability::PutImageTagMutabilityOutput::builder().build()
            }),
            always!(aws_sdk_ecr::Client::put_image_scanning_configuration, || {
                put_image_scanning_configuration::PutImageScanningConfigurationOutput::builder().build()
            }),
        ];
        let rules = [&describe, &get].into_iter().chain(&writes).collect();
        let c = cicd(Rules { ecr: rules, ..Default::default() }, Mode::Apply);
        assert_eq!(reconcile(&c, &registry::ImageRepository::new(&c, &spec)).await, action);
        assert_eq!(calls(&writes), puts);
    }
}

// --- the pipeline ------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_pipeline_as_declared_gets_no_write_and_an_approval_stage_added_is_one_update() {
    let role = "arn:aws:iam::123456789012:role/ghost-pipeline";
    let deployed = spec(&[]);
    for (want, action, updates) in
        [(spec(&[]), Action::Unchanged, 0), (spec(&[("approval = false", "approval = true")]), Action::Update, 1)]
    {
        assert!(want.approval || !deployed.approval, "the fixture deploys without approval");
        let found = pipeline::declaration(&deployed, role, "bucket", None);
        let get = always!(aws_sdk_codepipeline::Client::get_pipeline, move || {
            GetPipelineOutput::builder().pipeline(found.clone()).build()
        });
        let update = always!(aws_sdk_codepipeline::Client::update_pipeline, || {
            aws_sdk_codepipeline::operation::update_pipeline::UpdatePipelineOutput::builder().build()
        });
        let c = cicd(Rules { codepipeline: vec![&get, &update], ..Default::default() }, Mode::Apply);
        let p = pipeline::Pipeline::new(&c, &want, pipeline::declaration(&want, role, "bucket", None));
        assert_eq!(reconcile(&c, &p).await, action);
        assert_eq!(update.num_calls(), updates);
    }
}

#[tokio::test]
async fn a_new_pipeline_with_nothing_to_build_has_its_first_run_stopped_and_one_with_a_commit_runs() {
    use aws_sdk_codecommit::operation::get_branch::{GetBranchError, GetBranchOutput};
    use aws_sdk_codepipeline::operation::{
        create_pipeline::CreatePipelineOutput, get_pipeline::GetPipelineError,
        list_pipeline_executions::ListPipelineExecutionsOutput, stop_pipeline_execution::StopPipelineExecutionOutput,
    };
    use aws_sdk_codepipeline::types::{
        ExecutionTrigger, PipelineExecutionStatus, PipelineExecutionSummary, TriggerType,
    };
    let spec = spec(&[]);
    for (has_commit, stops) in [(false, 1), (true, 0)] {
        let get = mock!(aws_sdk_codepipeline::Client::get_pipeline).then_error(|| {
            GetPipelineError::PipelineNotFoundException(
                aws_sdk_codepipeline::types::error::PipelineNotFoundException::builder().build(),
            )
        });
        let create = always!(aws_sdk_codepipeline::Client::create_pipeline, || CreatePipelineOutput::builder().build());
        // What CodePipeline answers right after the create: the run it started, still at Source.
        let list = always!(aws_sdk_codepipeline::Client::list_pipeline_executions, || {
            let trigger = ExecutionTrigger::builder().trigger_type(TriggerType::CreatePipeline).build();
            let run = PipelineExecutionSummary::builder()
                .pipeline_execution_id("run-1")
                .status(PipelineExecutionStatus::InProgress)
                .trigger(trigger)
                .build();
            ListPipelineExecutionsOutput::builder().pipeline_execution_summaries(run).build()
        });
        let stop = always!(aws_sdk_codepipeline::Client::stop_pipeline_execution, || {
            StopPipelineExecutionOutput::builder().pipeline_execution_id("run-1").build()
        });
        let branch = if has_commit {
            always!(aws_sdk_codecommit::Client::get_branch, || GetBranchOutput::builder().build())
        } else {
            mock!(aws_sdk_codecommit::Client::get_branch).then_error(|| {
                GetBranchError::BranchDoesNotExistException(
                    aws_sdk_codecommit::types::error::BranchDoesNotExistException::builder()
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("BranchDoesNotExistException")
                                .build(),
                        )
                        .build(),
                )
            })
        };
        let rules =
            Rules { codepipeline: vec![&get, &create, &list, &stop], codecommit: vec![&branch], ..Default::default() };
        let c = cicd(rules, Mode::Apply);
        pipeline::ensure_pipeline(&c, &spec, "arn:aws:iam::123456789012:role/p", "bucket", None).await.unwrap();
        assert_eq!((create.num_calls(), stop.num_calls()), (1, stops), "has a commit: {has_commit}");
        let warned = c.env.warnings().iter().any(|w| w.message.contains("nothing to build yet"));
        assert_eq!(warned, !has_commit, "{:?}", c.env.warnings());
    }
}

#[tokio::test]
async fn a_plan_reads_the_bucket_and_writes_nothing_even_when_it_drifted() {
    let spec = spec(&[]);
    let reads = bucket_reads(&spec, BucketVersioningStatus::Suspended);
    let c = cicd(Rules { s3: reads.iter().collect(), ..Default::default() }, Mode::Plan);
    assert_eq!(reconcile(&c, &bucket::ArtifactBucket::new(&c, &spec)).await, Action::Update);
}

async fn reconcile<R>(c: &Cicd, r: &R) -> Action
where
    R: ghost_core::reconcile::Resource,
    R::Error: std::fmt::Debug,
{
    ghost_core::reconcile::ensure(&c.env, r).await.unwrap().action()
}

// --- field coverage, one test per kind ------------------------------------------------------------------------

#[test]
fn every_field_of_each_build_lens_kind_is_compared() {
    let c = cicd(Rules::default(), Mode::Plan);
    let spec = spec(&[]);
    let repo = registry::ImageRepository::new(&c, &spec);
    assert_every_field_compared(&repo, std::slice::from_ref(&repo.desired));
    let b = bucket::ArtifactBucket::new(&c, &spec);
    assert_every_field_compared(&b, std::slice::from_ref(&b.desired));
    let role = "arn:aws:iam::123456789012:role/ghost-build";
    let project = build::BuildProject {
        c: &c,
        name: spec.project(),
        desired: build::ProjectView::desired(&spec, "123456789012.dkr.ecr.eu-west-2.amazonaws.com/ghost-blog", role),
    };
    assert_every_field_compared(&project, std::slice::from_ref(&project.desired));
    let app = deploy::Application {
        c: &c,
        name: spec.application(),
        desired: deploy::ApplicationView { compute_platform: "ECS".into() },
    };
    assert_every_field_compared(&app, std::slice::from_ref(&app.desired));
    let group = deploy::DeploymentGroup {
        c: &c,
        application: spec.application(),
        name: spec.deployment_group(),
        desired: deploy::GroupView {
            service_role: "arn:aws:iam::123456789012:role/ghost-codedeploy".into(),
            deployment_config: "CodeDeployDefault.ECSAllAtOnce".into(),
            style: "BLUE_GREEN/WITH_TRAFFIC_CONTROL".into(),
            termination_wait_minutes: 5,
            target_groups: vec!["ghost-blue".into(), "ghost-green".into()],
            production_listener: "arn:listener/prod".into(),
            test_listener: "arn:listener/test".into(),
            cluster: "ghost".into(),
            service: "ghost-blog".into(),
            rollback_events: vec!["DEPLOYMENT_FAILURE".into(), "DEPLOYMENT_STOP_ON_ALARM".into()],
            alarms: vec!["ghost-5xx".into()],
        },
    };
    assert_every_field_compared(&group, std::slice::from_ref(&group.desired));
    for s in [spec.clone(), self::spec(&[("approval = false", "approval = true")])] {
        let p = pipeline::Pipeline::new(&c, &s, pipeline::declaration(&s, role, "bucket", None));
        assert_every_field_compared(&p, std::slice::from_ref(&p.desired));
    }
    let repo = source::CodecommitRepository {
        c: &c,
        spec: &spec,
        desired: source::RepositoryView { description: "Ghost site".into() },
    };
    assert_every_field_compared(&repo, std::slice::from_ref(&repo.desired));
    let conn = source::Connection { c: &c, spec: &spec, desired: source::ConnectionView { provider: "GitHub".into() } };
    assert_every_field_compared(&conn, std::slice::from_ref(&conn.desired));
}
