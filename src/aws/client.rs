//! SDK clients for one region, over one HTTP/TLS stack.
//!
//! Credentials and region come from the standard chain of `aws-config`: environment
//! variables, the shared config/credentials files (profiles, SSO, `credential_process`),
//! OIDC web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, which is what
//! `aws-actions/configure-aws-credentials` sets up), then container and instance roles.
//! `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_<SERVICE>`) are honoured by the same chain.
//!
//! The HTTP client is `aws-smithy-http-client` on hyper 1 with rustls and the *ring*
//! crypto provider, set explicitly, so no `aws-lc-sys` (cmake) and no OpenSSL are built.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::config::Credentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// How to reach AWS. Everything unset comes from the standard chain.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// Region (`eu-west-1`); default from `AWS_REGION` / the profile.
    pub region: Option<String>,
    /// Endpoint for every service (a local emulator); default from `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// Fixed credentials (tests); default: the standard chain.
    pub credentials: Option<Credentials>,
}

impl std::fmt::Debug for ClientOptions {
    // Never print credentials, not even through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("credentials", &self.credentials.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// The clients tailgate uses, sharing one config and one connection pool.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// CloudFormation (stacks).
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// CloudWatch Logs (REPORT lines).
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// X-Ray (trace summaries).
    pub xray: aws_sdk_xray::Client,
    /// Resource Groups Tagging API (the cleanup sweep).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// S3 (packaged code and templates). Path-style addressing when the endpoint is
    /// not AWS's (an emulator on 127.0.0.1 has no bucket subdomains).
    pub s3: aws_sdk_s3::Client,
    /// The endpoint override in force (`AWS_ENDPOINT_URL`), if any.
    pub endpoint: Option<String>,
    /// The region in force, when known.
    pub region: Option<String>,
}

/// The HTTPS client every AWS call goes through: hyper 1 + rustls + ring.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Resolve the shared SDK config from the standard chain and `options`.
pub async fn sdk_config(options: &ClientOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some(credentials) = &options.credentials {
        loader = loader.credentials_provider(credentials.clone());
    }
    loader.load().await
}

impl AwsClients {
    /// Clients from the standard chain, with `options` on top.
    pub async fn load(options: &ClientOptions) -> AwsClients {
        AwsClients::from_config(&sdk_config(options).await)
    }

    /// Clients from a resolved config.
    pub fn from_config(config: &SdkConfig) -> AwsClients {
        AwsClients {
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            xray: aws_sdk_xray::Client::new(config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(config)
                    .force_path_style(config.endpoint_url().is_some())
                    .build(),
            ),
            endpoint: config.endpoint_url().map(str::to_string),
            region: config.region().map(|r| r.to_string()),
        }
    }
}
