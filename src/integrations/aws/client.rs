//! How Kushim talks to AWS: the SDK clients (IAM and STS) built from the standard AWS
//! configuration, with Kushim's retry policy, per-attempt timeouts and request counting, and the
//! translation of SDK errors into [`CollectError`]s that say what to fix.
//!
//! Retries are the SDK's own standard mode (jittered exponential backoff, throttling and 5xx
//! classified by the SDK), with Kushim's attempt count and delays. IAM sends no `Retry-After` or
//! rate-limit headers (a throttled call is HTTP 400 `Throttling: Rate exceeded`), so there is no
//! server-given wait to honour beyond what the SDK's classifiers already read.

use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region, SdkConfig, meta::region::RegionProviderChain};
use aws_sdk_iam::config::{
    ConfigBag, Credentials, Intercept, RuntimeComponents,
    interceptors::BeforeTransmitInterceptorContextRef,
    retry::{RetryConfig, RetryPartition},
    timeout::TimeoutConfig,
};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use crate::integrations::Integration;
use crate::integrations::collect::{ApiCalls, CollectError, RetryPolicy};

const AWS: Integration = Integration::Aws;

/// IAM is a global service; its endpoint and SigV4 scope live in us-east-1, so that is the region
/// when the environment names none.
const DEFAULT_REGION: &str = "us-east-1";

/// The AWS managed policy whose grants cover every call Kushim makes.
pub(crate) const SECURITY_AUDIT: &str = "arn:aws:iam::aws:policy/SecurityAudit";

/// The AWS configuration of the environment, as every AWS tool reads it: the default credential
/// chain (`AWS_ACCESS_KEY_ID`…, `AWS_PROFILE`, SSO, web identity, container and instance
/// credentials), `AWS_REGION`, and endpoint overrides (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL_STS`).
pub async fn environment() -> SdkConfig {
    let region =
        RegionProviderChain::default_provider().or_else(Region::from_static(DEFAULT_REGION));
    aws_config::defaults(BehaviorVersion::latest()).region(region).load().await
}

/// What every client of one run shares: the retry policy, the request count, and the SDK retry
/// partition (its retry-quota token bucket), kept per run so one run's throttling storm cannot
/// starve the retries of another run in the same process.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub(crate) policy: RetryPolicy,
    pub(crate) calls: ApiCalls,
    partition: String,
}

impl Transport {
    pub(crate) fn new(policy: &RetryPolicy) -> Transport {
        Transport {
            policy: *policy,
            calls: ApiCalls::default(),
            partition: format!("kushim-aws-{}", uuid::Uuid::new_v4()),
        }
    }

    fn retry(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.policy.max_attempts.max(1))
            .with_initial_backoff(self.policy.base_delay)
            .with_max_backoff(self.policy.max_delay)
    }

    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.policy.request_timeout)
            .operation_attempt_timeout(self.policy.request_timeout)
            .build()
    }

    /// An IAM client on `base`, signing with `credentials` when given (an assumed role) and with
    /// the base credential chain otherwise.
    pub(crate) fn iam(
        &self,
        base: &SdkConfig,
        credentials: Option<Credentials>,
    ) -> aws_sdk_iam::Client {
        let mut config = aws_sdk_iam::config::Builder::from(base)
            .retry_config(self.retry())
            .timeout_config(self.timeouts())
            .retry_partition(RetryPartition::new(self.partition.clone()))
            .interceptor(CountRequests(self.calls.clone()));
        if let Some(credentials) = credentials {
            config = config.credentials_provider(credentials);
        }
        aws_sdk_iam::Client::from_conf(config.build())
    }

    /// An STS client on `base` (the base credentials), for `GetCallerIdentity` and `AssumeRole`.
    pub(crate) fn sts(&self, base: &SdkConfig) -> aws_sdk_sts::Client {
        let config = aws_sdk_sts::config::Builder::from(base)
            .retry_config(self.retry())
            .timeout_config(self.timeouts())
            .retry_partition(aws_sdk_sts::config::retry::RetryPartition::new(
                self.partition.clone(),
            ))
            .interceptor(CountRequests(self.calls.clone()))
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }
}

/// Counts every HTTP request the SDK sends, retries included. `read_before_transmit` runs once
/// per attempt, right before the request goes on the wire (after signing), so attempts that never
/// leave the process (no credentials found) are not counted.
#[derive(Debug)]
struct CountRequests(ApiCalls);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "KushimApiCalls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.record();
        Ok(())
    }
}

/// Who Kushim is in an account: `sts:GetCallerIdentity`, or the assumed-role user of
/// `sts:AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) account_id: String,
    pub(crate) arn: String,
}

impl Identity {
    fn from_arn(arn: &str) -> Option<Identity> {
        let account_id = arn.split(':').nth(4).filter(|id| !id.is_empty())?;
        Some(Identity { account_id: account_id.to_owned(), arn: arn.to_owned() })
    }

    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`) of the identity.
    pub(crate) fn partition(&self) -> &str {
        self.arn.split(':').nth(1).unwrap_or("aws")
    }
}

/// `sts:GetCallerIdentity` with the base credentials: proves they work and names the account.
pub(crate) async fn caller_identity(
    sts: &aws_sdk_sts::Client,
    transport: &Transport,
) -> Result<Identity, CollectError> {
    let call = Call::sts("GetCallerIdentity");
    let output = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| classify(&call, &error, &transport.policy))?;
    match (output.account(), output.arn()) {
        (Some(account_id), Some(arn)) => {
            Ok(Identity { account_id: account_id.to_owned(), arn: arn.to_owned() })
        }
        _ => Err(CollectError::Malformed {
            integration: AWS,
            call: call.name,
            detail: "the answer has no Account or Arn".into(),
        }),
    }
}

/// `sts:AssumeRole` into `role_arn` (with `external_id` when the role's trust policy asks for
/// one). The session is short-lived but outlasts a collection by far (one hour by default).
///
/// This calls STS through Kushim's own STS client rather than aws-config's `AssumeRoleProvider`,
/// which builds a private STS client: that client's requests could not be counted, and a failed
/// assumption would only surface (once per IAM call) deep inside each IAM error.
pub(crate) async fn assume_role(
    sts: &aws_sdk_sts::Client,
    transport: &Transport,
    role_arn: &str,
    external_id: Option<&str>,
    session_name: &str,
) -> Result<(Credentials, Identity), CollectError> {
    let call = Call::assume_role(role_arn);
    let output = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .set_external_id(external_id.map(str::to_owned))
        .send()
        .await
        .map_err(|error| classify(&call, &error, &transport.policy))?;
    let malformed = |what: &str| CollectError::Malformed {
        integration: AWS,
        call: call.name.clone(),
        detail: format!("the answer has no {what}"),
    };
    let credentials = output.credentials().ok_or_else(|| malformed("Credentials"))?;
    let identity = output
        .assumed_role_user()
        .and_then(|user| Identity::from_arn(user.arn()))
        .ok_or_else(|| malformed("AssumedRoleUser.Arn"))?;
    let expires = SystemTime::try_from(*credentials.expiration()).ok();
    let credentials = Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        expires,
        "kushim-assume-role",
    );
    Ok((credentials, identity))
}

/// One API call, as error messages name it, and the IAM permission it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    /// What people read: `GetAccountSummary`, `AssumeRole arn:aws:iam::…:role/audit`.
    pub(crate) name: String,
    /// The IAM action it needs: `iam:GetAccountSummary`, `sts:AssumeRole`.
    pub(crate) action: String,
}

impl Call {
    pub(crate) fn iam(operation: &str) -> Call {
        Call { name: operation.to_owned(), action: format!("iam:{operation}") }
    }

    fn sts(operation: &str) -> Call {
        Call { name: operation.to_owned(), action: format!("sts:{operation}") }
    }

    fn assume_role(role_arn: &str) -> Call {
        Call { name: format!("AssumeRole {role_arn}"), action: "sts:AssumeRole".to_owned() }
    }

    /// What a denial means is missing, and how to grant it.
    fn missing(&self) -> String {
        if self.action == "sts:AssumeRole" {
            "permission to assume the role: the caller's policies must allow sts:AssumeRole on it, \
             and the role's trust policy must trust the caller (with the configured external_id, \
             if its trust policy sets sts:ExternalId)"
                .to_owned()
        } else {
            format!(
                "the {} permission; attach the AWS managed policy SecurityAudit ({SECURITY_AUDIT}), \
                 which grants it, to the identity Kushim uses",
                self.action
            )
        }
    }
}

/// Turns an SDK error (after the SDK's own retries) into what a person can act on.
pub(crate) fn classify<E>(call: &Call, error: &SdkError<E>, policy: &RetryPolicy) -> CollectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let call_name = call.name.clone();
    match error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("UnknownError");
            let detail = match context.err().message() {
                Some(message) => format!("{code}: {message}"),
                None => code.to_owned(),
            };
            match code {
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                    CollectError::Unauthorized {
                        integration: AWS,
                        detail,
                        fix: "the session credentials have expired; renew them (`aws sso login`, \
                              or fetch a new session for AWS_SESSION_TOKEN / the profile) and run again"
                            .into(),
                    }
                }
                "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId"
                | "MissingAuthenticationToken" | "InvalidToken" => CollectError::Unauthorized {
                    integration: AWS,
                    detail,
                    fix: "the access key is unknown to AWS (deleted, deactivated or mistyped); set \
                          AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE to a valid key"
                        .into(),
                },
                "SignatureDoesNotMatch" | "IncompleteSignature" => CollectError::Unauthorized {
                    integration: AWS,
                    detail,
                    fix: "the secret access key does not belong to the access key id; check \
                          AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key"
                        .into(),
                },
                "AccessDenied" | "AccessDeniedException" => CollectError::Forbidden {
                    integration: AWS,
                    call: call_name,
                    missing: call.missing(),
                    detail,
                },
                "Throttling" | "ThrottlingException" | "RequestLimitExceeded"
                | "TooManyRequestsException" => CollectError::RateLimited {
                    integration: AWS,
                    call: call_name,
                    attempts: policy.max_attempts,
                    // IAM names no wait; a minute lets its token bucket refill.
                    retry_after_seconds: 60,
                },
                // A success status whose body the SDK could not read as the answer (an HTML
                // page from a proxy, a cut-off document) is surfaced as an unhandled error.
                _ if context.raw().status().is_success() => CollectError::Malformed {
                    integration: AWS,
                    call: call_name,
                    detail: format!(
                        "HTTP {} with a body that is not the documented XML answer ({})",
                        context.raw().status().as_u16(),
                        chain(error)
                    ),
                },
                _ => CollectError::Server {
                    integration: AWS,
                    call: call_name,
                    status: context.raw().status().as_u16(),
                    detail,
                },
            }
        }
        SdkError::TimeoutError(_) => timeout(call_name, policy),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => timeout(call_name, policy),
        SdkError::DispatchFailure(_) => CollectError::Transport {
            integration: AWS,
            call: call_name,
            detail: format!(
                "{}; check the network and any AWS_ENDPOINT_URL override",
                chain(error)
            ),
        },
        SdkError::ResponseError(_) => CollectError::Malformed {
            integration: AWS,
            call: call_name,
            detail: chain(error).to_string(),
        },
        // Raised before anything is sent: no credentials in the chain, no region, a bad endpoint.
        _ => CollectError::NotConfigured {
            integration: AWS,
            what: format!(
                "{call_name} could not be sent ({}); configure credentials (AWS_PROFILE, or \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or `aws sso login`)",
                chain(error)
            ),
        },
    }
}

/// An error and its causes, each as it displays itself (the SDK's own `DisplayErrorContext` adds
/// the raw HTTP response's debug form, which is not for people).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn timeout(call: String, policy: &RetryPolicy) -> CollectError {
    CollectError::Timeout { integration: AWS, call, seconds: policy.request_timeout.as_secs() }
}

/// The error code of a service error, for the answers that are data rather than failures
/// (`NoSuchEntity`, `ReportInProgress`).
pub(crate) fn code<E: ProvideErrorMetadata>(error: &SdkError<E>) -> Option<&str> {
    match error {
        SdkError::ServiceError(context) => context.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_name_their_account_and_partition() {
        let identity =
            Identity::from_arn("arn:aws-us-gov:sts::111122223333:assumed-role/audit/kushim")
                .unwrap();
        assert_eq!(identity.account_id, "111122223333");
        assert_eq!(identity.partition(), "aws-us-gov");
        assert_eq!(Identity::from_arn("not-an-arn"), None);
    }

    #[test]
    fn a_denied_iam_call_names_the_action_and_the_policy_that_grants_it() {
        let missing = Call::iam("GenerateCredentialReport").missing();
        assert!(missing.contains("iam:GenerateCredentialReport"), "{missing}");
        assert!(missing.contains("SecurityAudit"), "{missing}");
        let missing = Call::assume_role("arn:aws:iam::1:role/r").missing();
        assert!(missing.contains("trust policy"), "{missing}");
    }
}
