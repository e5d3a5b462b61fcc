//! Shared foundation of the Ghost-on-ECS toolkit: the config contract and its validation, naming and tags,
//! the ensure [`Outcome`], the journal [`Env`], the AWS SDK configuration and a bounded poll helper.
//!
//! Every lens follows one contract for every resource, written once in [`reconcile`]: find (with readiness) →
//! diff over the whole view → create or typed updates → [`Outcome`], zero writes when unchanged; delete treats
//! "not found" as success.

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
pub use error::{AbsentExt, AwsResultExt, Error, Result};
pub use naming::{Names, TAG_COMPONENT, TAG_NAME, TAG_STACK, Tag};
pub use outcome::{Action, Change, Outcome};

/// Whether destroy removes data stores too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPolicy {
    /// The file system survives and the database leaves a final snapshot (both reported as kept), so content
    /// is never lost by accident.
    Keep,
    Delete,
}

/// A client of `$sdk` answered by aws-smithy-mocks `$rules` (matched in any order; a call no rule matches
/// panics), built without the SDK's `test-util` feature so tests do not compile a second copy of each SDK
/// crate. The calling crate needs `aws-smithy-mocks` as a dev-dependency.
#[macro_export]
macro_rules! mock_sdk {
    ($sdk:ident, $rules:expr) => {{
        let mut interceptor =
            ::aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(::aws_smithy_mocks::RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version_latest()
                .region($sdk::config::Region::from_static("eu-west-2"))
                .credentials_provider($sdk::config::Credentials::new("KEY", "SECRET", None, None, "mock"))
                .http_client(::aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}
