//! The site's source: a CodeCommit repository (the seed), or a GitHub repository reached through a
//! CodeConnections connection. A new connection stays PENDING until a person completes the GitHub handshake
//! in the console; we report it with the link and never wait for it.

use aws_sdk_codecommit::operation::get_repository::GetRepositoryError;
use ghost_core::config::Source;
use ghost_core::reconcile::{self, Live, Resource};
use ghost_core::{AbsentExt, Action, AwsResultExt, Change, DataPolicy, Error as CoreError};
use serde::{Deserialize, Serialize};

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

impl std::fmt::Display for ConnectionOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.arn)
    }
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
    let got = c.codecommit.get_repository().repository_name(name).send().await;
    let absent = GetRepositoryError::is_repository_does_not_exist_exception;
    Ok(got.absent_when(absent, "GetRepository", name)?.and_then(|o| o.repository_metadata))
}

fn clone_url(spec: &CicdSpec) -> String {
    format!("https://git-codecommit.{}.amazonaws.com/v1/repos/{}", spec.region, spec.repository)
}

/// What CreateRepository sets (tags aside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryView {
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptionUpdate;

/// The CodeCommit repository as a kind of the reconcile core.
#[derive(Debug)]
pub struct CodecommitRepository<'a> {
    pub c: &'a Cicd,
    pub spec: &'a CicdSpec,
    pub desired: RepositoryView,
}

impl Resource for CodecommitRepository<'_> {
    type View = RepositoryView;
    type Out = String;
    type Update = DescriptionUpdate;
    type Error = crate::Error;
    const KIND: &'static str = REPO;

    fn name(&self) -> String {
        self.spec.repository.clone()
    }
    fn desired(&self) -> &RepositoryView {
        &self.desired
    }
    fn planned(&self) -> String {
        clone_url(self.spec)
    }
    async fn find(&self) -> Result<Option<Live<RepositoryView, String>>> {
        let found = find_codecommit(self.c, &self.spec.repository).await?;
        Ok(found.map(|repo| {
            let view = RepositoryView { description: repo.repository_description.unwrap_or_default() };
            Live::ready(view, repo.clone_url_http.unwrap_or_else(|| clone_url(self.spec)))
        }))
    }
    async fn create(&self, d: &RepositoryView) -> Result<String> {
        let name = &self.spec.repository;
        let tags = self.c.env.names.tags("source-repository", name).into_iter().map(|t| (t.key, t.value));
        let out = self
            .c
            .codecommit
            .create_repository()
            .repository_name(name)
            .repository_description(&d.description)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .aws("CreateRepository", name)?;
        Ok(out.repository_metadata.and_then(|m| m.clone_url_http).unwrap_or_else(|| clone_url(self.spec)))
    }
    fn updates(&self, d: &RepositoryView, l: &RepositoryView) -> Result<Vec<DescriptionUpdate>> {
        Ok(reconcile::when([(d != l, DescriptionUpdate)]))
    }
    async fn update(&self, _: &String, _: DescriptionUpdate) -> Result<()> {
        let name = &self.spec.repository;
        let req = self.c.codecommit.update_repository_description().repository_name(name);
        req.repository_description(&self.desired.description).send().await.aws("UpdateRepositoryDescription", name)?;
        Ok(())
    }
}

/// Returns the HTTPS clone URL.
pub async fn ensure_codecommit(c: &Cicd, spec: &CicdSpec) -> Result<String> {
    let description = format!("Ghost site of stack {}: a push builds and releases it", spec.names.stack());
    let repo = CodecommitRepository { c, spec, desired: RepositoryView { description } };
    Ok(reconcile::ensure(&c.env, &repo).await?.into_id())
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

/// What CreateConnection sets (tags aside): the provider, fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub provider: String,
}

/// The GitHub connection as a kind of the reconcile core. PENDING is not a wait: only a person completes the
/// handshake, so it is reported, never waited for.
#[derive(Debug)]
pub struct Connection<'a> {
    pub c: &'a Cicd,
    pub spec: &'a CicdSpec,
    pub desired: ConnectionView,
}

impl Resource for Connection<'_> {
    type View = ConnectionView;
    type Out = ConnectionOut;
    type Update = std::convert::Infallible;
    type Error = crate::Error;
    const KIND: &'static str = CONNECTION;

    fn name(&self) -> String {
        self.spec.connection()
    }
    fn desired(&self) -> &ConnectionView {
        &self.desired
    }
    fn planned(&self) -> ConnectionOut {
        ConnectionOut {
            arn: ghost_core::planned_id(CONNECTION),
            status: "PENDING".into(),
            console: self.spec.connections_console(),
        }
    }
    async fn find(&self) -> Result<Option<Live<ConnectionView, ConnectionOut>>> {
        let found = find_connection(self.c, &self.spec.connection()).await?;
        Ok(found.map(|conn| {
            let view =
                ConnectionView { provider: conn.provider_type().map(|p| p.as_str()).unwrap_or_default().to_string() };
            let out = ConnectionOut {
                status: conn.connection_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                arn: conn.connection_arn.unwrap_or_default(),
                console: self.spec.connections_console(),
            };
            Live::ready(view, out)
        }))
    }
    async fn create(&self, d: &ConnectionView) -> Result<ConnectionOut> {
        let name = self.spec.connection();
        let tags = self.c.env.names.tags("source-connection", &name).into_iter().map(|t| {
            aws_sdk_codeconnections::types::Tag::builder().key(t.key).value(t.value).build().expect("key and value")
        });
        let out = self
            .c
            .connections
            .create_connection()
            .connection_name(&name)
            .provider_type(aws_sdk_codeconnections::types::ProviderType::from(d.provider.as_str()))
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .aws("CreateConnection", &name)?;
        // A new connection is always PENDING.
        Ok(ConnectionOut { arn: out.connection_arn, ..self.planned() })
    }
    fn updates(&self, d: &ConnectionView, l: &ConnectionView) -> Result<Vec<std::convert::Infallible>> {
        Err(CoreError::NeedsReplacement {
            resource: format!("{CONNECTION} {}", self.spec.connection()),
            change: Change::new("provider", &l.provider, &d.provider),
            remedy: "a connection's provider is fixed at creation: delete the connection and deploy again (the \
                     new one needs the GitHub handshake again)"
                .into(),
        }
        .into())
    }
    async fn update(&self, _: &ConnectionOut, u: std::convert::Infallible) -> Result<()> {
        match u {}
    }
}

pub async fn ensure_connection(c: &Cicd, spec: &CicdSpec) -> Result<ConnectionOut> {
    let desired =
        ConnectionView { provider: aws_sdk_codeconnections::types::ProviderType::Github.as_str().to_string() };
    let conn = reconcile::ensure(&c.env, &Connection { c, spec, desired }).await?.into_id();
    if conn.status == "PENDING" {
        c.env.warn(
            CONNECTION,
            &spec.connection(),
            format!(
                "PENDING: complete the GitHub handshake at {} (until then the pipeline cannot read {})",
                conn.console, spec.repository
            ),
        );
    }
    Ok(conn)
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
