//! Building the AWS SDK configuration from the standard chain: profile, region, `AWS_ENDPOINT_URL`, and the
//! SDK's standard retry mode. One place, so every client of every lens behaves alike.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
pub use aws_types::SdkConfig;
use aws_types::region::Region;
use serde::Serialize;

/// Where and as whom to call AWS. Every field falls back to the standard AWS environment/profile chain.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Any endpoint (an emulator, a proxy). `AWS_ENDPOINT_URL` is honoured when this is `None`.
    pub endpoint_url: Option<String>,
    /// Static credentials, for emulators; `None` uses the standard credential chain.
    #[serde(skip)]
    pub static_credentials: Option<(String, String)>,
    /// Attempts per call including the first (standard retry mode with backoff and jitter).
    pub max_attempts: Option<u32>,
    /// The retry backoff's base (the SDK's default is 1 s); tests that crash on purpose shorten it.
    pub initial_backoff: Option<std::time::Duration>,
}

impl AwsOptions {
    /// Options for an emulator at `endpoint`, calling as `access_key` (the emulator's recorder groups calls by it).
    pub fn emulator(endpoint: &str, region: &str, access_key: &str) -> Self {
        Self {
            profile: None,
            region: Some(region.to_string()),
            endpoint_url: Some(endpoint.to_string()),
            static_credentials: Some((access_key.to_string(), "testing".to_string())),
            max_attempts: None,
            initial_backoff: None,
        }
    }
}

/// Default attempts per call: the SDK's standard mode uses 3; deploys make many calls, so one more transient
/// fault per call is absorbed without failing the whole run.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

pub async fn sdk_config(opts: &AwsOptions) -> SdkConfig {
    let mut retry = RetryConfig::standard().with_max_attempts(opts.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS));
    if let Some(b) = opts.initial_backoff {
        retry = retry.with_initial_backoff(b);
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry);
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    if let Some((key, secret)) = &opts.static_credentials {
        loader = loader.credentials_provider(Credentials::new(key, secret, None, None, "ghost-static"));
    }
    loader.load().await
}

/// The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, `aws` elsewhere.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
