//! The local harness: a real Ghost 6 container, built offline and driven through the Docker Engine API.
//!
//! - [`engine`]: find a Docker engine, or install and start one (Debian, root), API version negotiated.
//! - [`image`]: build the Ghost image offline from `fixtures/ghost-image/`, cached by a content hash.
//! - [`taskdef`]: the subset of an ECS task definition (API JSON shape) that the harness runs.
//! - [`runner`]: run a task definition as a container (host networking, 127.0.0.1, a host folder for EFS).
//! - [`admin`]: a Ghost Admin API client (setup, session, posts, Admin API key JWT).
//! - [`front`]: a local front standing in for the ALB listener, and the blue/green swap.

pub mod admin;
pub mod engine;
pub mod error;
pub mod front;
pub mod image;
pub mod runner;
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
