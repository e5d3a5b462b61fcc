//! The pipeline's artifact bucket: versioned, encrypted (SSE-S3), public access blocked, and a policy denying
//! any request not made over TLS. Destroy empties and removes it only when it holds nothing but this
//! pipeline's own artifacts, or with `DataPolicy::Delete`.

use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use ghost_aws::policy::{self, Effect, PolicyDocument, Statement};
use ghost_core::error::absent_if;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AbsentExt, Action, AwsResultExt, DataPolicy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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

pub async fn bucket_exists(c: &Cicd, name: &str) -> Result<bool> {
    let got = c.s3.head_bucket().bucket(name).send().await;
    Ok(got.absent_when(HeadBucketError::is_not_found, "HeadBucket", name)?.is_some())
}

/// What CreateBucket and the bucket's Put* calls set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketView {
    pub versioning: bool,
    /// The default encryption's algorithm (`AES256`); `None` when none is set.
    pub encryption: Option<String>,
    /// All four public-access blocks on.
    pub public_access_blocked: bool,
    /// The bucket policy, canonical (S3 hands it back re-serialised); `None` when there is none.
    pub policy: Option<Value>,
    /// The `ghost:stack` tag's value.
    pub stack_tag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketUpdate {
    Versioning,
    Encryption,
    PublicAccessBlock,
    Policy,
    Tags,
}

/// The artifact bucket as a kind of the reconcile core.
#[derive(Debug)]
pub struct ArtifactBucket<'a> {
    pub c: &'a Cicd,
    pub spec: &'a CicdSpec,
    pub name: String,
    pub desired: BucketView,
}

impl<'a> ArtifactBucket<'a> {
    pub fn new(c: &'a Cicd, spec: &'a CicdSpec) -> Self {
        let desired = BucketView {
            versioning: true,
            encryption: Some(ServerSideEncryption::Aes256.as_str().into()),
            public_access_blocked: true,
            policy: Some(bucket_policy(spec).canonical()),
            stack_tag: Some(spec.names.stack().to_string()),
        };
        Self { c, spec, name: spec.bucket(), desired }
    }
}

impl Resource for ArtifactBucket<'_> {
    type View = BucketView;
    type Out = String;
    type Update = BucketUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &BucketView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.name.clone()
    }
    async fn find(&self) -> Result<Option<Live<BucketView, String>>> {
        let (s3, name) = (&self.c.s3, self.name.as_str());
        if !bucket_exists(self.c, name).await? {
            return Ok(None);
        }
        let versioning = s3.get_bucket_versioning().bucket(name).send().await.aws("GetBucketVersioning", name)?;
        // S3 models none of these "not set" answers as a typed error: their codes are the documented ones.
        let encryption = s3.get_bucket_encryption().bucket(name).send().await.aws("GetBucketEncryption", name);
        let encryption = absent_if(encryption, &["ServerSideEncryptionConfigurationNotFoundError"])?;
        let pab = s3.get_public_access_block().bucket(name).send().await.aws("GetPublicAccessBlock", name);
        let pab = absent_if(pab, &["NoSuchPublicAccessBlockConfiguration"])?;
        let policy = s3.get_bucket_policy().bucket(name).send().await.aws("GetBucketPolicy", name);
        let policy = absent_if(policy, &["NoSuchBucketPolicy"])?.and_then(|p| p.policy);
        let tags = s3.get_bucket_tagging().bucket(name).send().await.aws("GetBucketTagging", name);
        let tags = absent_if(tags, &["NoSuchTagSet", "NoSuchTagSetError"])?;
        let view = BucketView {
            versioning: versioning.status() == Some(&BucketVersioningStatus::Enabled),
            encryption: encryption
                .and_then(|e| e.server_side_encryption_configuration)
                .and_then(|c| c.rules.into_iter().next())
                .and_then(|r| r.apply_server_side_encryption_by_default)
                .map(|d| d.sse_algorithm.as_str().to_string()),
            public_access_blocked: pab.and_then(|p| p.public_access_block_configuration).is_some_and(|p| {
                p.block_public_acls() == Some(true)
                    && p.ignore_public_acls() == Some(true)
                    && p.block_public_policy() == Some(true)
                    && p.restrict_public_buckets() == Some(true)
            }),
            policy: policy.map(|p| policy::canonical(&p)),
            stack_tag: tags
                .and_then(|t| t.tag_set.into_iter().find(|t| t.key() == ghost_core::TAG_STACK).map(|t| t.value)),
        };
        Ok(Some(Live::ready(view, name.to_string())))
    }
    async fn create(&self, d: &BucketView) -> Result<String> {
        let name = &self.name;
        let mut req = self.c.s3.create_bucket().bucket(name);
        // us-east-1 is the one region that takes no location constraint.
        if self.spec.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.spec.region.as_str()))
                    .build(),
            );
        }
        req.send().await.aws("CreateBucket", name)?;
        let fresh = BucketView {
            versioning: false,
            encryption: None,
            public_access_blocked: false,
            policy: None,
            stack_tag: None,
        };
        for u in self.updates(d, &fresh)? {
            self.update(name, u).await?;
        }
        Ok(name.clone())
    }
    fn updates(&self, d: &BucketView, l: &BucketView) -> Result<Vec<BucketUpdate>> {
        // The public-access block goes first: the policy that follows must never meet an open bucket.
        let u = [
            (d.public_access_blocked != l.public_access_blocked, BucketUpdate::PublicAccessBlock),
            (d.versioning != l.versioning, BucketUpdate::Versioning),
            (d.encryption != l.encryption, BucketUpdate::Encryption),
            (d.policy != l.policy, BucketUpdate::Policy),
            (d.stack_tag != l.stack_tag, BucketUpdate::Tags),
        ];
        Ok(reconcile::when(u))
    }
    async fn update(&self, _: &String, u: BucketUpdate) -> Result<()> {
        let (s3, name, d) = (&self.c.s3, self.name.as_str(), &self.desired);
        match u {
            BucketUpdate::PublicAccessBlock => {
                let on = d.public_access_blocked;
                let block = PublicAccessBlockConfiguration::builder()
                    .block_public_acls(on)
                    .ignore_public_acls(on)
                    .block_public_policy(on)
                    .restrict_public_buckets(on)
                    .build();
                let req = s3.put_public_access_block().bucket(name).public_access_block_configuration(block);
                req.send().await.aws("PutPublicAccessBlock", name)?;
            }
            BucketUpdate::Versioning => {
                let status =
                    if d.versioning { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
                let config = VersioningConfiguration::builder().status(status).build();
                s3.put_bucket_versioning()
                    .bucket(name)
                    .versioning_configuration(config)
                    .send()
                    .await
                    .aws("PutBucketVersioning", name)?;
            }
            BucketUpdate::Encryption => match &d.encryption {
                Some(algorithm) => {
                    let rule = ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::from(algorithm.as_str()))
                                .build()
                                .expect("algorithm set"),
                        )
                        .build();
                    let config = ServerSideEncryptionConfiguration::builder().rules(rule).build().expect("rules set");
                    let req = s3.put_bucket_encryption().bucket(name).server_side_encryption_configuration(config);
                    req.send().await.aws("PutBucketEncryption", name)?;
                }
                None => {
                    s3.delete_bucket_encryption().bucket(name).send().await.aws("DeleteBucketEncryption", name)?;
                }
            },
            BucketUpdate::Policy => {
                // Sent as written: the view holds the canonical form only for comparing.
                let policy = bucket_policy(self.spec);
                s3.put_bucket_policy()
                    .bucket(name)
                    .policy(policy.to_json())
                    .send()
                    .await
                    .aws("PutBucketPolicy", name)?;
            }
            BucketUpdate::Tags => {
                let tags = self.c.env.names.tags("artifact-bucket", name).into_iter();
                let tags = tags.map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value"));
                let tagging = Tagging::builder().set_tag_set(Some(tags.collect())).build().expect("tag set");
                s3.put_bucket_tagging().bucket(name).tagging(tagging).send().await.aws("PutBucketTagging", name)?;
            }
        }
        Ok(())
    }
}

/// Returns the bucket name.
pub async fn ensure_bucket(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    Ok(reconcile::ensure(&c.env, &ArtifactBucket::new(c, spec)).await?.into_id())
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
                let out =
                    c.s3.delete_objects().bucket(&name).delete(delete).send().await.aws("DeleteObjects", &name)?;
                refused_deletes(&name, out.errors())?;
            }
            c.s3.delete_bucket().bucket(&name).send().await.map(|_| ()).aws("DeleteBucket", &name)
        })
        .await?;
    Ok(())
}

/// DeleteObjects answers 200 even when it deletes none of them: each object it could not delete is an entry in
/// `Errors` (S3 API Reference, DeleteObjects: "the result of the delete operation for each object"), and the
/// bucket's delete would then fail with BucketNotEmpty without saying why. Name them instead.
fn refused_deletes(bucket: &str, errors: &[aws_sdk_s3::types::Error]) -> ghost_core::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = errors
        .iter()
        .take(3)
        .map(|e| {
            let version = e.version_id().map(|v| format!(" (version {v})")).unwrap_or_default();
            let code = e.code().unwrap_or("?");
            let message = e.message().map(|m| format!(": {m}")).unwrap_or_default();
            format!("{}{version}: {code}{message}", e.key().unwrap_or("?"))
        })
        .collect();
    let more = errors.len().saturating_sub(shown.len());
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    Err(ghost_core::Error::Conflict {
        resource: format!("bucket {bucket}"),
        message: format!(
            "S3 refused to delete {} object(s): {}{more}; the bucket is kept. Fix what refused them (often an \
             object lock or a bucket policy denying s3:DeleteObject) and run destroy again",
            errors.len(),
            shown.join("; ")
        ),
    })
}
