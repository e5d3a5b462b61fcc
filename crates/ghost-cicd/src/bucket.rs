//! The pipeline's artifact bucket: versioned, encrypted (SSE-S3), public access blocked, and a policy denying
//! any request not made over TLS. Destroy empties and removes it only when it holds nothing but this
//! pipeline's own artifacts, or with `DataPolicy::Delete`.

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use ghost_aws::policy::{Effect, PolicyDocument, Statement};
use ghost_core::DataPolicy;
use ghost_core::error::absent_if;
use ghost_core::{Action, AwsResultExt, Change, Outcome};
use serde_json::json;

use crate::spec::CicdSpec;
use crate::{Cicd, Result};

const KIND: &str = "s3-bucket";

/// Deny every request that is not over TLS, whoever makes it.
pub fn bucket_policy(spec: &CicdSpec) -> PolicyDocument {
    PolicyDocument::new(vec![Statement {
        sid: Some("DenyInsecureTransport".into()),
        effect: Effect::Deny,
        principal: Some(json!("*")),
        action: vec!["s3:*".into()],
        resource: Some(vec![spec.bucket_arn(), format!("{}/*", spec.bucket_arn())]),
        condition: Some(json!({ "Bool": { "aws:SecureTransport": "false" } })),
    }])
}

/// CodePipeline keeps a pipeline's artifacts under the first 20 characters of its name.
pub fn artifact_prefix(spec: &CicdSpec) -> String {
    let name = spec.pipeline();
    format!("{}/", &name[..name.len().min(20)])
}

/// What the bucket's settings are (None: not set).
#[derive(Debug, Default)]
pub struct FoundBucket {
    pub versioning: bool,
    pub encrypted: bool,
    pub public_access_blocked: bool,
    pub policy: Option<String>,
    pub tagged: bool,
}

pub async fn bucket_exists(c: &Cicd, name: &str) -> Result<bool> {
    let got = c.s3.head_bucket().bucket(name).send().await.aws("HeadBucket", name);
    Ok(absent_if(got, &["NotFound", "NoSuchBucket"])?.is_some())
}

pub async fn find_bucket(c: &Cicd, name: &str) -> Result<Option<FoundBucket>> {
    if !bucket_exists(c, name).await? {
        return Ok(None);
    }
    let versioning = c.s3.get_bucket_versioning().bucket(name).send().await.aws("GetBucketVersioning", name)?;
    let encryption = c.s3.get_bucket_encryption().bucket(name).send().await.aws("GetBucketEncryption", name);
    let encryption = absent_if(encryption, &["ServerSideEncryptionConfigurationNotFoundError"])?;
    let pab = c.s3.get_public_access_block().bucket(name).send().await.aws("GetPublicAccessBlock", name);
    let pab = absent_if(pab, &["NoSuchPublicAccessBlockConfiguration"])?;
    let policy = c.s3.get_bucket_policy().bucket(name).send().await.aws("GetBucketPolicy", name);
    let policy = absent_if(policy, &["NoSuchBucketPolicy"])?.and_then(|p| p.policy);
    let tags = c.s3.get_bucket_tagging().bucket(name).send().await.aws("GetBucketTagging", name);
    let tags = absent_if(tags, &["NoSuchTagSet", "NoSuchTagSetError"])?;
    Ok(Some(FoundBucket {
        versioning: versioning.status() == Some(&BucketVersioningStatus::Enabled),
        encrypted: encryption
            .and_then(|e| e.server_side_encryption_configuration)
            .is_some_and(|c| !c.rules().is_empty()),
        public_access_blocked: pab.and_then(|p| p.public_access_block_configuration).is_some_and(|p| {
            p.block_public_acls() == Some(true)
                && p.ignore_public_acls() == Some(true)
                && p.block_public_policy() == Some(true)
                && p.restrict_public_buckets() == Some(true)
        }),
        policy,
        tagged: tags.is_some_and(|t| t.tag_set().iter().any(|t| t.key() == ghost_core::TAG_STACK)),
    }))
}

pub fn diff_bucket(spec: &CicdSpec, found: &FoundBucket) -> Vec<Change> {
    let mut changes = Vec::new();
    if !found.versioning {
        changes.push(Change::new("versioning", "off", "Enabled"));
    }
    if !found.encrypted {
        changes.push(Change::new("encryption", "(none)", "AES256"));
    }
    if !found.public_access_blocked {
        changes.push(Change::new("public access block", "partial", "all four blocked"));
    }
    if !found.policy.as_deref().is_some_and(|p| bucket_policy(spec).same_as(p)) {
        changes.push(Change::new(
            "bucket policy",
            if found.policy.is_some() { "differs" } else { "(none)" },
            "TLS only",
        ));
    }
    if !found.tagged {
        changes.push(Change::new("tags", "(none)", "ghost:stack"));
    }
    changes
}

/// Returns the bucket name.
pub async fn ensure_bucket(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    let name = spec.bucket();
    let out = c
        .env
        .track::<_, crate::Error, _>(KIND, &name, async {
            let Some(found) = find_bucket(c, &name).await? else {
                if c.env.is_plan() {
                    return Ok(Outcome::Created(name.clone()));
                }
                let mut req = c.s3.create_bucket().bucket(&name);
                // us-east-1 is the one region that takes no location constraint.
                if spec.region != "us-east-1" {
                    req = req.create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(spec.region.as_str()))
                            .build(),
                    );
                }
                req.send().await.aws("CreateBucket", &name)?;
                apply(c, spec, &name, &FoundBucket::default()).await?;
                return Ok(Outcome::Created(name.clone()));
            };
            let changes = diff_bucket(spec, &found);
            if !changes.is_empty() && !c.env.is_plan() {
                apply(c, spec, &name, &found).await?;
            }
            Ok(Outcome::from_changes(name.clone(), changes))
        })
        .await?;
    Ok(out.into_id())
}

async fn apply(c: &Cicd, spec: &CicdSpec, name: &str, found: &FoundBucket) -> Result<()> {
    if !found.public_access_blocked {
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        c.s3.put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(block)
            .send()
            .await
            .aws("PutPublicAccessBlock", name)?;
    }
    if !found.versioning {
        c.s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .aws("PutBucketVersioning", name)?;
    }
    if !found.encrypted {
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .expect("algorithm set"),
            )
            .build();
        c.s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder().rules(rule).build().expect("rules set"),
            )
            .send()
            .await
            .aws("PutBucketEncryption", name)?;
    }
    let policy = bucket_policy(spec);
    if !found.policy.as_deref().is_some_and(|p| policy.same_as(p)) {
        c.s3.put_bucket_policy().bucket(name).policy(policy.to_json()).send().await.aws("PutBucketPolicy", name)?;
    }
    if !found.tagged {
        let tags = c
            .env
            .names
            .tags("artifact-bucket", name)
            .into_iter()
            .map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value"));
        c.s3.put_bucket_tagging()
            .bucket(name)
            .tagging(Tagging::builder().set_tag_set(Some(tags.collect())).build().expect("tag set"))
            .send()
            .await
            .aws("PutBucketTagging", name)?;
    }
    Ok(())
}

/// Every object version and delete marker in the bucket.
async fn all_versions(c: &Cicd, name: &str) -> Result<Vec<ObjectIdentifier>> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page =
            c.s3.list_object_versions()
                .bucket(name)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .send()
                .await
                .aws("ListObjectVersions", name)?;
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id()));
        for (key, version) in versions.chain(markers) {
            if let Some(key) = key {
                out.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version.map(str::to_string))
                        .build()
                        .expect("key set"),
                );
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(out);
        }
        (key_marker, version_marker) = (page.next_key_marker, page.next_version_id_marker);
    }
}

pub async fn delete_bucket(c: &Cicd, spec: &CicdSpec, data: DataPolicy) -> Result<()> {
    let name = spec.bucket();
    if !bucket_exists(c, &name).await? {
        return Ok(());
    }
    let objects = all_versions(c, &name).await?;
    let prefix = artifact_prefix(spec);
    let foreign = objects.iter().filter(|o| !o.key().starts_with(&prefix)).count();
    if foreign > 0 && data == DataPolicy::Keep {
        let why = format!(
            "holds {foreign} object(s) that are not this pipeline's artifacts; destroy --delete-data removes them"
        );
        c.env.note(KIND, &name, Action::Keep, &name, &why);
        return Ok(());
    }
    c.env
        .delete(KIND, &name, &name, &["NoSuchBucket"], || async {
            for chunk in objects.chunks(1000) {
                let delete =
                    Delete::builder().set_objects(Some(chunk.to_vec())).quiet(true).build().expect("objects set");
                c.s3.delete_objects().bucket(&name).delete(delete).send().await.aws("DeleteObjects", &name)?;
            }
            c.s3.delete_bucket().bucket(&name).send().await.map(|_| ()).aws("DeleteBucket", &name)
        })
        .await?;
    Ok(())
}
