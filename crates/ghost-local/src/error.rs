//! The crate's one error type: each variant names the step that failed and, where there is one, the log to read.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no Docker engine reachable ({tried}); {hint}\n(on Debian as root ghost-local installs docker.io and starts dockerd itself)"
    )]
    NoEngine { tried: String, hint: String },
    #[error("starting the Docker engine failed at step `{step}`: {message}\nlog: {}\n{tail}", log.display())]
    EngineStart { step: &'static str, message: String, log: PathBuf, tail: String },
    #[error("docker {op} {what} failed: {source}")]
    Docker {
        op: &'static str,
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("image build failed at step `{step}`: {message}\nlog: {}\n{tail}", log.display())]
    Build { step: &'static str, message: String, log: PathBuf, tail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid task definition: {0}")]
    TaskDef(String),
    #[error(
        "Ghost in container {container} did not become healthy on {url} within {waited_s}s (last: {last}); container logs (`docker logs {container}`), last lines:\n{logs}"
    )]
    NotHealthy { container: String, url: String, waited_s: u64, last: String, logs: String },
    #[error("Ghost {op} answered HTTP {status}: {message}")]
    Ghost {
        op: String,
        status: u16,
        /// Ghost's error type (`ValidationError`, `UnauthorizedError`, ...) when it sent one.
        kind: Option<String>,
        message: String,
    },
    #[error("HTTP {what} failed: {source}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(transparent)]
    Wait(#[from] ghost_core::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

pub(crate) fn docker(op: &'static str, what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
    let what = what.into();
    move |source| Error::Docker { op, what, source }
}

/// True when the engine answered 404 (absent is not an error for finds and deletes).
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// The last `lines` lines of a log file, for error messages.
pub(crate) fn tail(path: &std::path::Path, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return "(no log)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let s = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
