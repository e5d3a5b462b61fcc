//! ECR repository for the site image: scan on push, immutable tags (images are tagged by commit id, so a tag
//! always means one build), AES-256 encryption and a lifecycle policy keeping the last N images.

use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_ecr::operation::get_lifecycle_policy::GetLifecyclePolicyError;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Repository, Tag,
};
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AbsentExt, Action, AwsResultExt, Change, DataPolicy, Error as CoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::spec::CicdSpec;
use crate::{Cicd, Result};

const KIND: &str = "ecr-repository";
const NOT_FOUND: &[&str] = &["RepositoryNotFoundException"];

/// The lifecycle policy: expire everything beyond the newest `keep` images.
pub fn lifecycle_policy(keep: u32) -> Value {
    json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("keep the last {keep} images"),
            "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep },
            "action": { "type": "expire" }
        }]
    })
}

/// An image manifest without layers: what `put_placeholder_image` records.
const PLACEHOLDER_MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;

/// Records an image under `tag` in the stack's repository, as the build's `docker push` would. The emulator runs
/// no build, so the end-to-end flow and the tests stand in for it with an image of no layers.
pub async fn put_placeholder_image(c: &Cicd, spec: &CicdSpec, tag: &str) -> Result<()> {
    let name = spec.image_repository();
    c.ecr
        .put_image()
        .repository_name(&name)
        .image_tag(tag)
        .image_manifest(PLACEHOLDER_MANIFEST)
        .send()
        .await
        .aws("PutImage", &name)?;
    Ok(())
}

pub async fn find_repository(c: &Cicd, name: &str) -> Result<Option<Repository>> {
    let got = c.ecr.describe_repositories().repository_names(name).send().await;
    let got =
        got.absent_when(DescribeRepositoriesError::is_repository_not_found_exception, "DescribeRepositories", name)?;
    Ok(got.and_then(|o| o.repositories.unwrap_or_default().into_iter().next()))
}

/// What CreateRepository and PutLifecyclePolicy set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryView {
    pub scan_on_push: bool,
    pub tag_mutability: String,
    /// `AES256` or `KMS`: fixed at creation.
    pub encryption: String,
    /// The lifecycle policy, parsed (ECR hands it back re-serialised); `None` when there is none.
    pub lifecycle: Option<Value>,
}

impl RepositoryView {
    pub fn desired(spec: &CicdSpec) -> Self {
        Self {
            scan_on_push: true,
            tag_mutability: ImageTagMutability::Immutable.as_str().into(),
            encryption: EncryptionType::Aes256.as_str().into(),
            lifecycle: Some(lifecycle_policy(spec.keep_images)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RepositoryUpdate {
    ScanOnPush(bool),
    TagMutability(String),
    Lifecycle(Option<Value>),
}

/// The stack's image repository as a kind of the reconcile core.
#[derive(Debug)]
pub struct ImageRepository<'a> {
    pub c: &'a Cicd,
    pub spec: &'a CicdSpec,
    pub name: String,
    pub desired: RepositoryView,
}

impl<'a> ImageRepository<'a> {
    pub fn new(c: &'a Cicd, spec: &'a CicdSpec) -> Self {
        Self { c, spec, name: spec.image_repository(), desired: RepositoryView::desired(spec) }
    }
}

impl Resource for ImageRepository<'_> {
    type View = RepositoryView;
    type Out = String;
    type Update = RepositoryUpdate;
    type Error = crate::Error;
    const KIND: &'static str = KIND;

    fn name(&self) -> String {
        self.name.clone()
    }
    fn desired(&self) -> &RepositoryView {
        &self.desired
    }
    fn planned(&self) -> String {
        self.spec.ecr_uri()
    }
    async fn find(&self) -> Result<Option<Live<RepositoryView, String>>> {
        let name = &self.name;
        let Some(repo) = find_repository(self.c, name).await? else { return Ok(None) };
        let got = self.c.ecr.get_lifecycle_policy().repository_name(name).send().await;
        let lifecycle = got
            .absent_when(GetLifecyclePolicyError::is_lifecycle_policy_not_found_exception, "GetLifecyclePolicy", name)?
            .and_then(|p| p.lifecycle_policy_text)
            .map(|t| serde_json::from_str::<Value>(&t).unwrap_or(Value::String(t)));
        let view = RepositoryView {
            scan_on_push: repo.image_scanning_configuration().is_some_and(|s| s.scan_on_push()),
            tag_mutability: repo.image_tag_mutability().map(|m| m.as_str()).unwrap_or_default().into(),
            // No encryption configuration reads as ECR's default, AES256.
            encryption: repo
                .encryption_configuration()
                .map(|e| e.encryption_type().as_str())
                .unwrap_or(EncryptionType::Aes256.as_str())
                .into(),
            lifecycle,
        };
        Ok(Some(Live::ready(view, repo.repository_uri.unwrap_or_else(|| self.spec.ecr_uri()))))
    }
    async fn create(&self, d: &RepositoryView) -> Result<String> {
        let name = &self.name;
        let tags = self.c.env.names.tags("image-repository", name).into_iter();
        let tags = tags.map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value"));
        let encryption = EncryptionConfiguration::builder()
            .encryption_type(EncryptionType::from(d.encryption.as_str()))
            .build()
            .expect("type set");
        let out = self
            .c
            .ecr
            .create_repository()
            .repository_name(name)
            .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(d.scan_on_push).build())
            .image_tag_mutability(ImageTagMutability::from(d.tag_mutability.as_str()))
            .encryption_configuration(encryption)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .aws("CreateRepository", name)?;
        let uri = out.repository.and_then(|r| r.repository_uri).unwrap_or_else(|| self.spec.ecr_uri());
        if d.lifecycle.is_some() {
            self.update(&uri, RepositoryUpdate::Lifecycle(d.lifecycle.clone())).await?;
        }
        Ok(uri)
    }
    fn updates(&self, d: &RepositoryView, l: &RepositoryView) -> Result<Vec<RepositoryUpdate>> {
        if d.encryption != l.encryption {
            return Err(CoreError::NeedsReplacement {
                resource: format!("{KIND} {}", self.name),
                change: Change::new("encryption", &l.encryption, &d.encryption),
                remedy: "ECR fixes a repository's encryption at creation: delete the repository (its images go \
                         with it) and deploy again"
                    .into(),
            }
            .into());
        }
        let mut u = Vec::new();
        if d.scan_on_push != l.scan_on_push {
            u.push(RepositoryUpdate::ScanOnPush(d.scan_on_push));
        }
        if d.tag_mutability != l.tag_mutability {
            u.push(RepositoryUpdate::TagMutability(d.tag_mutability.clone()));
        }
        if d.lifecycle != l.lifecycle {
            u.push(RepositoryUpdate::Lifecycle(d.lifecycle.clone()));
        }
        Ok(u)
    }
    async fn update(&self, _: &String, u: RepositoryUpdate) -> Result<()> {
        let (ecr, name) = (&self.c.ecr, &self.name);
        match u {
            RepositoryUpdate::ScanOnPush(on) => {
                let scan = ImageScanningConfiguration::builder().scan_on_push(on).build();
                let req =
                    ecr.put_image_scanning_configuration().repository_name(name).image_scanning_configuration(scan);
                req.send().await.aws("PutImageScanningConfiguration", name)?;
            }
            RepositoryUpdate::TagMutability(m) => {
                let req = ecr
                    .put_image_tag_mutability()
                    .repository_name(name)
                    .image_tag_mutability(ImageTagMutability::from(m.as_str()));
                req.send().await.aws("PutImageTagMutability", name)?;
            }
            RepositoryUpdate::Lifecycle(Some(policy)) => {
                let req = ecr.put_lifecycle_policy().repository_name(name).lifecycle_policy_text(policy.to_string());
                req.send().await.aws("PutLifecyclePolicy", name)?;
            }
            RepositoryUpdate::Lifecycle(None) => {
                ecr.delete_lifecycle_policy().repository_name(name).send().await.aws("DeleteLifecyclePolicy", name)?;
            }
        }
        Ok(())
    }
}

/// Returns the repository URI.
pub async fn ensure_repository(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    Ok(reconcile::ensure(&c.env, &ImageRepository::new(c, spec)).await?.into_id())
}

/// An empty repository goes; one holding images is kept (they are the deployable history) unless
/// `DataPolicy::Delete`.
pub async fn delete_repository(c: &Cicd, spec: &CicdSpec, data: DataPolicy) -> Result<()> {
    let name = spec.image_repository();
    let Some(repo) = find_repository(c, &name).await? else { return Ok(()) };
    let images = c
        .ecr
        .list_images()
        .repository_name(&name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListImages", &name)?
        .len();
    let id = repo.repository_arn.unwrap_or(name.clone());
    if images > 0 && data == DataPolicy::Keep {
        let why = format!("holds {images} image(s); destroy --delete-data removes them");
        c.env.note(KIND, &name, Action::Keep, &id, &why);
        return Ok(());
    }
    c.env
        .delete(KIND, &name, &id, NOT_FOUND, || async {
            c.ecr
                .delete_repository()
                .repository_name(&name)
                .force(images > 0)
                .send()
                .await
                .map(|_| ())
                .aws("DeleteRepository", &name)
        })
        .await?;
    Ok(())
}
