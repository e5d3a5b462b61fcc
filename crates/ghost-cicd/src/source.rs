//! The site's source: a CodeCommit repository (the seed), or a GitHub repository reached through a
//! CodeConnections connection. A new connection stays PENDING until a person completes the GitHub handshake
//! in the console; we report it with the link and never wait for it.

use ghost_core::DataPolicy;
use ghost_core::config::Source;
use ghost_core::error::absent_if;
use ghost_core::{Action, AwsResultExt, Outcome};
use serde::Serialize;

use crate::spec::CicdSpec;
use crate::{Cicd, Result};

const REPO: &str = "codecommit-repository";
const CONNECTION: &str = "codeconnection";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionOut {
    pub arn: String,
    pub status: String,
    /// Where a person completes the handshake while the status is PENDING.
    pub console: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceOut {
    pub clone_url: String,
    pub connection: Option<ConnectionOut>,
}

pub async fn ensure_source(c: &Cicd, spec: &CicdSpec) -> Result<SourceOut> {
    match spec.source {
        Source::Codecommit => {
            let url = ensure_codecommit(c, spec).await?;
            Ok(SourceOut { clone_url: url, connection: None })
        }
        Source::Github => {
            let conn = ensure_connection(c, spec).await?;
            Ok(SourceOut { clone_url: format!("https://github.com/{}.git", spec.repository), connection: Some(conn) })
        }
    }
}

async fn find_codecommit(c: &Cicd, name: &str) -> Result<Option<aws_sdk_codecommit::types::RepositoryMetadata>> {
    let got = c.codecommit.get_repository().repository_name(name).send().await.aws("GetRepository", name);
    Ok(absent_if(got, &["RepositoryDoesNotExistException"])?.and_then(|o| o.repository_metadata))
}

fn clone_url(spec: &CicdSpec) -> String {
    format!("https://git-codecommit.{}.amazonaws.com/v1/repos/{}", spec.region, spec.repository)
}

/// Returns the HTTPS clone URL.
pub async fn ensure_codecommit(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    let name = &spec.repository;
    let out = c
        .env
        .track::<_, crate::Error, _>(REPO, name, async {
            if let Some(repo) = find_codecommit(c, name).await? {
                return Ok(Outcome::Unchanged(repo.clone_url_http.unwrap_or_else(|| clone_url(spec))));
            }
            if c.env.is_plan() {
                return Ok(Outcome::Created(clone_url(spec)));
            }
            let tags = c.env.names.tags("source-repository", name).into_iter().map(|t| (t.key, t.value));
            let out = c
                .codecommit
                .create_repository()
                .repository_name(name)
                .repository_description(format!(
                    "Ghost site of stack {}: a push builds and releases it",
                    spec.names.stack()
                ))
                .set_tags(Some(tags.collect()))
                .send()
                .await
                .aws("CreateRepository", name)?;
            let url = out.repository_metadata.and_then(|m| m.clone_url_http).unwrap_or_else(|| clone_url(spec));
            Ok(Outcome::Created(url))
        })
        .await?;
    Ok(out.into_id())
}

/// Found by name among the account's connections (names are unique per account and region).
pub async fn find_connection(c: &Cicd, name: &str) -> Result<Option<aws_sdk_codeconnections::types::Connection>> {
    let mut token = None;
    loop {
        let page = c
            .connections
            .list_connections()
            .provider_type_filter(aws_sdk_codeconnections::types::ProviderType::Github)
            .set_next_token(token)
            .send()
            .await
            .aws("ListConnections", name)?;
        if let Some(conn) = page.connections().iter().find(|c| c.connection_name() == Some(name)) {
            return Ok(Some(conn.clone()));
        }
        token = page.next_token;
        if token.is_none() {
            return Ok(None);
        }
    }
}

pub async fn ensure_connection(c: &Cicd, spec: &CicdSpec) -> Result<ConnectionOut> {
    let name = spec.connection();
    // A new connection is always PENDING; an existing one says where its handshake is.
    let mut status = "PENDING".to_string();
    let out = c
        .env
        .track::<_, crate::Error, _>(CONNECTION, &name, async {
            if let Some(conn) = find_connection(c, &name).await? {
                status = conn.connection_status().map(|s| s.as_str().to_string()).unwrap_or_default();
                return Ok(Outcome::Unchanged(conn.connection_arn.unwrap_or_default()));
            }
            if c.env.is_plan() {
                return Ok(Outcome::Created(ghost_core::planned_id(CONNECTION)));
            }
            let tags = c.env.names.tags("source-connection", &name).into_iter().map(|t| {
                aws_sdk_codeconnections::types::Tag::builder().key(t.key).value(t.value).build().expect("key and value")
            });
            let out = c
                .connections
                .create_connection()
                .connection_name(&name)
                .provider_type(aws_sdk_codeconnections::types::ProviderType::Github)
                .set_tags(Some(tags.collect()))
                .send()
                .await
                .aws("CreateConnection", &name)?;
            Ok(Outcome::Created(out.connection_arn))
        })
        .await?;
    let arn = out.into_id();
    let console = spec.connections_console();
    if status == "PENDING" {
        c.env.warn(
            CONNECTION,
            &name,
            format!(
                "PENDING: complete the GitHub handshake at {console} (until then the pipeline cannot read {})",
                spec.repository
            ),
        );
    }
    Ok(ConnectionOut { arn, status, console })
}

/// A CodeCommit repository holding commits is the user's source: kept unless `DataPolicy::Delete`. An empty
/// one (no default branch yet) goes. A connection holds nothing and goes.
pub async fn delete_source(c: &Cicd, spec: &CicdSpec, data: DataPolicy) -> Result<()> {
    let name = spec.connection();
    if let Some(conn) = find_connection(c, &name).await? {
        let arn = conn.connection_arn.unwrap_or_default();
        c.env
            .delete(CONNECTION, &name, &arn, &["ResourceNotFoundException"], || async {
                c.connections
                    .delete_connection()
                    .connection_arn(&arn)
                    .send()
                    .await
                    .map(|_| ())
                    .aws("DeleteConnection", &name)
            })
            .await?;
    }
    if spec.source != Source::Codecommit {
        return Ok(());
    }
    let name = &spec.repository;
    let Some(repo) = find_codecommit(c, name).await? else { return Ok(()) };
    let id = repo.arn.clone().unwrap_or_else(|| name.clone());
    if repo.default_branch.is_some() && data == DataPolicy::Keep {
        c.env.note(REPO, name, Action::Keep, &id, "holds the site's commits; destroy --delete-data removes it");
        return Ok(());
    }
    c.env
        .delete(REPO, name, &id, &["RepositoryDoesNotExistException"], || async {
            c.codecommit
                .delete_repository()
                .repository_name(name)
                .send()
                .await
                .map(|_| ())
                .aws("DeleteRepository", name)
        })
        .await?;
    Ok(())
}
