//! Shared foundation of the Ghost-on-ECS toolkit: the config contract and its validation, naming and tags,
//! the ensure [`Outcome`], the journal [`Env`], the AWS SDK configuration and a bounded poll helper.
//!
//! Every lens follows one contract for every resource:
//! `find_x -> Option<X>`, `diff(spec, &x) -> Vec<Change>`, `ensure_x -> Outcome` (zero writes when unchanged),
//! `delete_x` (not found is success).

pub mod aws;
pub mod config;
pub mod env;
pub mod error;
pub mod naming;
pub mod outcome;
pub mod reconcile;
pub mod wait;

pub use config::{Config, ConfigError};
pub use env::{Env, Event, Mode, Observer, Record, Warning, is_planned, planned_id};
pub use error::{AwsResultExt, Error, Result};
pub use naming::{Names, TAG_COMPONENT, TAG_NAME, TAG_STACK, Tag};
pub use outcome::{Action, Change, Outcome};
