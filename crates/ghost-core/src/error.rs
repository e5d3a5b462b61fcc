//! Errors every lens shares: a failed AWS call (with its resource and AWS error code), a bounded wait that ran
//! out, and a desired change AWS cannot make in place.

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::waiters::error::WaiterError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{operation} for {resource} failed: {}{message}", code_prefix(.code))]
    Aws {
        operation: &'static str,
        resource: String,
        /// The AWS error code (`InvalidVpcID.NotFound`, `ThrottlingException`, ...) when the service sent one.
        code: Option<String>,
        message: String,
        #[source]
        source: BoxError,
    },
    #[error("gave up waiting for {what} after {waited_s}s (last state: {last})")]
    WaitTimeout { what: String, waited_s: u64, last: String },
    #[error("{what} reached a terminal state: {state}")]
    WaitFailed { what: String, state: String },
    #[error("{resource}: {change} cannot be changed in place; {remedy}")]
    NeedsReplacement { resource: String, change: crate::Change, remedy: String },
    #[error("{resource}: {message}")]
    Conflict { resource: String, message: String },
    /// Something this toolkit guarantees did not hold: a bug to report, not an input to fix.
    #[error("{resource}: {message} (an internal invariant; please report it)")]
    Invariant { resource: String, message: String },
}

fn code_prefix(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!("{c}: ")).unwrap_or_default()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The AWS error code, if this is a service error that carried one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// True when the error is an AWS error with one of these codes.
    pub fn is_code(&self, codes: &[&str]) -> bool {
        self.code().is_some_and(|c| codes.contains(&c))
    }

    /// The AWS error's message ("" for errors of our own).
    pub fn message(&self) -> &str {
        match self {
            Self::Aws { message, .. } => message,
            _ => "",
        }
    }
}

/// Attaches the operation and resource to an SDK result, keeping the typed SDK error as the source.
pub trait AwsResultExt<T> {
    fn aws(self, operation: &'static str, resource: &str) -> Result<T>;
}

impl<T, E, R> AwsResultExt<T> for std::result::Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    fn aws(self, operation: &'static str, resource: &str) -> Result<T> {
        self.map_err(|err| {
            let code = err.code().map(str::to_string);
            let message = match err.message() {
                Some(m) => m.to_string(),
                None => DisplayErrorContext(&err).to_string(),
            };
            Error::Aws { operation, resource: resource.to_string(), code, message, source: Box::new(err) }
        })
    }
}

/// Reads the SDK's typed "not found" service error as absence (`Ok(None)`), the `find_*` convention; every
/// other error, a `ClientException` included, stays an error. Prefer it to [`absent_if`], which matches codes
/// as strings and is left for errors a service does not model.
pub trait AbsentExt<T, E> {
    fn absent_when(self, is_absent: impl Fn(&E) -> bool, operation: &'static str, resource: &str) -> Result<Option<T>>;
}

impl<T, E, R> AbsentExt<T, E> for std::result::Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    fn absent_when(self, is_absent: impl Fn(&E) -> bool, operation: &'static str, resource: &str) -> Result<Option<T>> {
        match self {
            Err(e) if e.as_service_error().is_some_and(&is_absent) => Ok(None),
            other => other.aws(operation, resource).map(Some),
        }
    }
}

/// Turns "not found" into `Ok(None)`: the `find_*` convention (absent is not an error).
pub fn absent_if<T>(res: Result<T>, not_found: &[&str]) -> Result<Option<T>> {
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_code(not_found) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Turns "not found" into success: the `delete_*` convention.
pub fn gone_if(res: Result<()>, not_found: &[&str]) -> Result<()> {
    absent_if(res, not_found).map(|_| ())
}

/// Maps an SDK waiter's error: running out of time is a [`Error::WaitTimeout`], anything else (a failure
/// state, a failed poll) a [`Error::WaitFailed`] with the full error chain.
pub fn waiter_error<O, E>(what: &str, err: WaiterError<O, E>) -> Error
where
    O: Debug,
    E: StdError + 'static,
{
    match err {
        WaiterError::ExceededMaxWait(m) => {
            Error::WaitTimeout { what: what.into(), waited_s: m.elapsed().as_secs(), last: "not ready".into() }
        }
        other => Error::WaitFailed { what: what.into(), state: DisplayErrorContext(&other).to_string() },
    }
}
