//! The local harness: a real Ghost 6 container, built offline and driven through the Docker Engine API.
//!
//! - [`engine`]: find a Docker engine, or install and start one (Debian, root), API version negotiated.
//! - [`image`]: build the Ghost image offline from `fixtures/ghost-image/`, cached by a content hash.
//! - [`taskdef`]: the subset of an ECS task definition (API JSON shape) that the harness runs.
//! - [`runner`]: run a task definition as a container (host networking, 127.0.0.1, a host folder for EFS).
//! - [`admin`]: a Ghost Admin API client (setup, session, posts, Admin API key JWT).
//! - [`front`]: a local front standing in for the ALB listener, and the blue/green swap.

pub mod admin;
pub mod awslogs;
pub mod engine;
pub mod error;
pub mod front;
pub mod image;
pub mod runner;
pub mod target;
pub mod taskdef;

pub use engine::Engine;
pub use error::{Error, Result};

/// `GHOST_HOME` (default `~/.cache/ghost-ecs`): state that outlives a clone.
pub fn ghost_home() -> std::path::PathBuf {
    ghost_emulator::ghost_home()
}

/// A sample task definition in the ECS API shape (what the run lens registers), for `xtask local` and tests.
pub const SAMPLE_TASK_DEFINITION: &str = include_str!("../../../fixtures/ghost-image/taskdef.json");

/// Settings every local run uses: the local image, staff device verification off (no email here).
pub fn local_env() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([("security__staffDeviceVerification".to_string(), "false".to_string())])
}

/// A task definition that talks to RDS MySQL finds no database server on this machine: locally, Ghost runs on
/// SQLite in the content folder instead (the caller says so). The overriding environment, or `None` when the
/// task definition is not a MySQL one.
pub fn sqlite_fallback(td: &taskdef::TaskDefinition) -> Option<std::collections::BTreeMap<String, String>> {
    let c = td.container(None).ok()?;
    let mysql = c.environment.iter().any(|kv| kv.name == "database__client" && kv.value == "mysql");
    let content = c.mount_points.first().map_or("/var/lib/ghost/content", |m| m.container_path.as_str());
    mysql.then(|| {
        std::collections::BTreeMap::from([
            ("database__client".to_string(), "sqlite3".to_string()),
            ("database__connection__filename".to_string(), format!("{content}/data/ghost.db")),
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mysql_task_definition_runs_on_sqlite_locally_and_a_sqlite_one_as_it_is() {
        let sqlite = taskdef::TaskDefinition::from_json(SAMPLE_TASK_DEFINITION).unwrap();
        assert_eq!(sqlite_fallback(&sqlite), None);
        let mysql = SAMPLE_TASK_DEFINITION.replace("\"sqlite3\"", "\"mysql\"");
        assert_ne!(mysql, SAMPLE_TASK_DEFINITION, "the sample names its client");
        let over = sqlite_fallback(&taskdef::TaskDefinition::from_json(&mysql).unwrap()).expect("a fallback");
        assert_eq!(over["database__client"], "sqlite3");
        assert!(over["database__connection__filename"].ends_with("/data/ghost.db"));
    }
}
