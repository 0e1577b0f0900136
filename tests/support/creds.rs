//! Test credentials and clients pointed at a local endpoint (moto or a fake).

use aws_sdk_cloudformation::config::Credentials;
use tailgate::aws::{AwsClients, ClientOptions};

/// The secret of the test credentials; no error or log may ever contain it.
pub const TEST_SECRET: &str = "tailgate-test-secret-Zq8vW3";

/// Static test credentials.
pub fn test_credentials() -> Credentials {
    Credentials::new(
        "AKIATAILGATETEST",
        TEST_SECRET,
        None,
        None,
        "tailgate-tests",
    )
}

/// Clients pointed at `endpoint` with the test credentials, in us-east-1.
pub async fn clients_for(endpoint: &str) -> AwsClients {
    AwsClients::load(&ClientOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.to_string()),
        credentials: Some(test_credentials()),
    })
    .await
}
