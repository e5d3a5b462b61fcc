//! ECR repository for the site image: scan on push, immutable tags (images are tagged by commit id, so a tag
//! always means one build), AES-256 encryption and a lifecycle policy keeping the last N images.

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Repository, Tag,
};
use ghost_core::DataPolicy;
use ghost_core::error::absent_if;
use ghost_core::{Action, AwsResultExt, Change, Outcome};
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
    let got = c.ecr.describe_repositories().repository_names(name).send().await.aws("DescribeRepositories", name);
    Ok(absent_if(got, NOT_FOUND)?.and_then(|o| o.repositories.unwrap_or_default().into_iter().next()))
}

pub fn diff_repository(repo: &Repository) -> Vec<Change> {
    let mut changes = Vec::new();
    if !repo.image_scanning_configuration().is_some_and(|s| s.scan_on_push()) {
        changes.push(Change::new("scan_on_push", false, true));
    }
    if repo.image_tag_mutability() != Some(&ImageTagMutability::Immutable) {
        let have = repo.image_tag_mutability().map(|m| m.as_str()).unwrap_or("?");
        changes.push(Change::new("image_tag_mutability", have, "IMMUTABLE"));
    }
    changes
}

/// Returns the repository URI.
pub async fn ensure_repository(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    let name = spec.image_repository();
    let policy = lifecycle_policy(spec.keep_images);
    let out = c
        .env
        .track::<_, crate::Error, _>(KIND, &name, async {
            let Some(repo) = find_repository(c, &name).await? else {
                if c.env.is_plan() {
                    return Ok(Outcome::Created(spec.ecr_uri()));
                }
                let tags = c
                    .env
                    .names
                    .tags("image-repository", &name)
                    .into_iter()
                    .map(|t| Tag::builder().key(t.key).value(t.value).build().expect("key and value"));
                let out = c
                    .ecr
                    .create_repository()
                    .repository_name(&name)
                    .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
                    .image_tag_mutability(ImageTagMutability::Immutable)
                    .encryption_configuration(
                        EncryptionConfiguration::builder()
                            .encryption_type(EncryptionType::Aes256)
                            .build()
                            .expect("type set"),
                    )
                    .set_tags(Some(tags.collect()))
                    .send()
                    .await
                    .aws("CreateRepository", &name)?;
                put_lifecycle(c, &name, &policy).await?;
                let uri = out.repository.and_then(|r| r.repository_uri).unwrap_or_else(|| spec.ecr_uri());
                return Ok(Outcome::Created(uri));
            };
            let mut changes = diff_repository(&repo);
            let got = c.ecr.get_lifecycle_policy().repository_name(&name).send().await.aws("GetLifecyclePolicy", &name);
            let have = absent_if(got, &["LifecyclePolicyNotFoundException"])?
                .and_then(|p| p.lifecycle_policy_text)
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            if have.as_ref() != Some(&policy) {
                changes.push(Change::new(
                    "lifecycle policy",
                    "differs",
                    format!("keep the last {} images", spec.keep_images),
                ));
            }
            if !changes.is_empty() && !c.env.is_plan() {
                apply(c, &name, &repo, have.as_ref() != Some(&policy), &policy).await?;
            }
            Ok(Outcome::from_changes(repo.repository_uri.unwrap_or_else(|| spec.ecr_uri()), changes))
        })
        .await?;
    Ok(out.into_id())
}

async fn put_lifecycle(c: &Cicd, name: &str, policy: &Value) -> Result<()> {
    c.ecr
        .put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(policy.to_string())
        .send()
        .await
        .aws("PutLifecyclePolicy", name)?;
    Ok(())
}

async fn apply(c: &Cicd, name: &str, repo: &Repository, lifecycle: bool, policy: &Value) -> Result<()> {
    if !repo.image_scanning_configuration().is_some_and(|s| s.scan_on_push()) {
        c.ecr
            .put_image_scanning_configuration()
            .repository_name(name)
            .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(true).build())
            .send()
            .await
            .aws("PutImageScanningConfiguration", name)?;
    }
    if repo.image_tag_mutability() != Some(&ImageTagMutability::Immutable) {
        c.ecr
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::Immutable)
            .send()
            .await
            .aws("PutImageTagMutability", name)?;
    }
    if lifecycle {
        put_lifecycle(c, name, policy).await?;
    }
    Ok(())
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
