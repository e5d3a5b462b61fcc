//! AWS primitives every lens shares, below the lenses and above `ghost-core`: IAM roles and their policy
//! documents, CloudWatch log groups and EventBridge rules. Each is a kind of the reconcile core, so the run,
//! build and operate lenses own roles, log groups and rules through one code path and never depend on each
//! other for them.

pub mod events;
pub mod iam;
pub mod logs;
pub mod policy;
