//! What Kushim fetches from each AWS account, and how it fills the [`AwsSnapshot`].
//!
//! Per account, about ten requests whatever its size (checks.md §1.1): the credential report
//! (generate, poll, get) gives every user's password, MFA and access-key state; then
//! `GetAccountSummary`, `GetAccountPasswordPolicy`, `ListVirtualMFADevices`,
//! `GetAccountAuthorizationDetails` (users, groups, roles and customer managed policies with
//! their documents) and `ListEntitiesForPolicy(AWSSupportAccess)`. No call is made per user.
//!
//! Each part that fails becomes that account's gap with the reason; each account that cannot be
//! entered (`sts:AssumeRole` fails) becomes an account holding only that gap. Accounts are
//! collected a few at a time; within an account the report is polled while the other calls run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use aws_config::SdkConfig;
use aws_sdk_iam::types::{AssignmentStatusType, EntityType, ReportStateType, SummaryKeyType};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use tracing::Instrument;

use super::client::{self, Call, Identity, Transport};
use super::{
    AccountPasswordPolicy, AccountSummary, AttachedPolicy, AuthorizationDetails, AwsAccount,
    AwsSnapshot, CredentialReport, IamGroup, IamRole, IamUser, InlinePolicy, ManagedPolicy,
    PART_ACCOUNT, PART_ACCOUNT_SUMMARY, PART_AUTHORIZATION_DETAILS, PART_CREDENTIAL_REPORT,
    PART_PASSWORD_POLICY, PART_SUPPORT_ACCESS_ROLES, PART_VIRTUAL_MFA_DEVICES, PasswordPolicy,
    SupportAccessRole, VirtualMfaDevice, report,
};
use crate::config::{AwsAccountConfig, AwsSettings};
use crate::integrations::collect::{Attempt, CollectError, Collection, Diagnosis, RetryPolicy};
use crate::integrations::{Gaps, Integration, Source};

const AWS: Integration = Integration::Aws;

/// Accounts collected at once. IAM publishes no rate limit and throttles at a low, account-wide
/// rate, so a few accounts in parallel (each making its calls mostly in sequence) keep well under
/// the 10–20 requests a second that checks.md §1.4 budgets.
const ACCOUNT_CONCURRENCY: usize = 3;

/// How many times the credential report is polled before the part is given up. With the default
/// policy the waits grow from half a second to 30 s: about two minutes in all, while IAM usually
/// needs seconds.
const REPORT_POLLS: u32 = 10;

/// `MaxItems` for every paginated call: IAM's maximum, so large accounts need few pages.
const PAGE_SIZE: i32 = 1000;

/// The session name Kushim's assumed-role sessions carry, visible in the accounts' CloudTrail.
const SESSION_NAME: &str = "kushim";

/// Collects every configured account (or, with none configured, the account of the environment's
/// credentials) using the standard AWS environment; see [`super::environment`].
pub async fn collect(settings: &AwsSettings, policy: &RetryPolicy) -> Collection<AwsSnapshot> {
    collect_with(&client::environment().await, settings, policy).await
}

/// [`collect`] on an explicit AWS configuration (the sandbox's, a test's).
pub async fn collect_with(
    base: &SdkConfig,
    settings: &AwsSettings,
    policy: &RetryPolicy,
) -> Collection<AwsSnapshot> {
    let started_at = Utc::now();
    let transport = Transport::new(policy);
    let source = collect_accounts(base, settings, &transport)
        .instrument(tracing::info_span!("collect", integration = %AWS))
        .await;
    tracing::info!(integration = %AWS, api_calls = transport.calls.total(), "collection finished");
    Collection { source, api_calls: transport.calls.total(), started_at, finished_at: Utc::now() }
}

async fn collect_accounts(
    base: &SdkConfig,
    settings: &AwsSettings,
    transport: &Transport,
) -> Source<AwsSnapshot> {
    let sts = transport.sts(base);
    let accounts = if settings.accounts.is_empty() {
        // Nothing configured: the credentials' own account, which must therefore be reachable.
        match client::caller_identity(&sts, transport).await {
            Ok(identity) => {
                vec![collect_account(&transport.iam(base, None), &identity, transport).await]
            }
            Err(error) => {
                return Source::Failed { reason: error.to_string(), observed_at: Utc::now() };
            }
        }
    } else {
        stream::iter(&settings.accounts)
            .map(|account| enter_and_collect(base, &sts, account, transport))
            .buffered(ACCOUNT_CONCURRENCY)
            .collect()
            .await
    };
    Source::Collected {
        data: AwsSnapshot { accounts, gaps: Gaps::default() },
        observed_at: Utc::now(),
    }
}

/// Assumes the account's role and collects it; a role that cannot be assumed leaves an account
/// holding only the [`PART_ACCOUNT`] gap.
async fn enter_and_collect(
    base: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &AwsAccountConfig,
    transport: &Transport,
) -> AwsAccount {
    let span = tracing::info_span!("account", integration = %AWS, name = %account.name);
    async {
        let assumed = client::assume_role(
            sts,
            transport,
            &account.role_arn,
            account.external_id.as_deref(),
            SESSION_NAME,
        )
        .await;
        match assumed {
            Ok((credentials, identity)) => {
                collect_account(&transport.iam(base, Some(credentials)), &identity, transport).await
            }
            Err(error) => {
                tracing::warn!(%error, "cannot enter the account");
                AwsAccount {
                    // A role ARN names its own account: arn:aws:iam::<account>:role/<name>.
                    account_id: account
                        .role_arn
                        .split(':')
                        .nth(4)
                        .filter(|id| !id.is_empty())
                        .unwrap_or(&account.name)
                        .to_owned(),
                    gaps: Gaps::from([(
                        PART_ACCOUNT.to_owned(),
                        format!("account {} could not be entered: {error}", account.name),
                    )]),
                    ..AwsAccount::default()
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// Every part of one account, each independently: a failed part is a gap, the rest is kept.
async fn collect_account(
    iam: &aws_sdk_iam::Client,
    identity: &Identity,
    transport: &Transport,
) -> AwsAccount {
    let span = tracing::info_span!("iam", integration = %AWS, account = %identity.account_id);
    async {
        let policy = &transport.policy;
        // The report takes IAM a while to generate; the other calls run meanwhile.
        let (credential_report, others) = tokio::join!(credential_report(iam, policy), async {
            (
                account_summary(iam, policy).await,
                password_policy(iam, policy).await,
                virtual_mfa_devices(iam, policy).await,
                authorization_details(iam, policy).await,
                support_access_roles(iam, policy, identity.partition()).await,
            )
        });
        let (account_summary, password_policy, virtual_mfa_devices, details, support) = others;
        let mut gaps = Gaps::default();
        AwsAccount {
            account_id: identity.account_id.clone(),
            credential_report: keep(&mut gaps, PART_CREDENTIAL_REPORT, credential_report),
            account_summary: keep(&mut gaps, PART_ACCOUNT_SUMMARY, account_summary),
            password_policy: keep(&mut gaps, PART_PASSWORD_POLICY, password_policy),
            virtual_mfa_devices: keep(&mut gaps, PART_VIRTUAL_MFA_DEVICES, virtual_mfa_devices),
            authorization_details: keep(&mut gaps, PART_AUTHORIZATION_DETAILS, details),
            support_access_roles: keep(&mut gaps, PART_SUPPORT_ACCESS_ROLES, support),
            gaps,
        }
    }
    .instrument(span)
    .await
}

/// A part's value, or its gap with the reason.
fn keep<T>(gaps: &mut Gaps, part: &str, result: Result<T, CollectError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(part, %error, "part of the account is missing");
            gaps.insert(part.to_owned(), error.to_string());
            None
        }
    }
}

/// Runs one call (or one paginated series) in a span naming it, mapping its SDK error.
macro_rules! call {
    ($operation:literal, $policy:expr, $send:expr) => {{
        let call = Call::iam($operation);
        async { $send.await.map_err(|error| client::classify(&call, &error, $policy)) }
            .instrument(tracing::info_span!("call", integration = %AWS, call = $operation))
            .await
    }};
}

/// `GenerateCredentialReport`, then `GetCredentialReport` until the report is there, parsed.
///
/// IAM reuses a report younger than four hours, so the first `GenerateCredentialReport` often
/// answers `COMPLETE`. Otherwise it answers `STARTED` (or `INPROGRESS`), and after a wait
/// `GetCredentialReport` answers `ReportInProgress` (404) until the report is written; a report that expired or
/// vanished meanwhile (`ReportExpired`, `ReportNotPresent`, 410) is generated again. Polling waits
/// with the retry policy's backoff and gives up after [`REPORT_POLLS`] rounds.
async fn credential_report(
    iam: &aws_sdk_iam::Client,
    policy: &RetryPolicy,
) -> Result<CredentialReport, CollectError> {
    let started = Instant::now();
    let polls = RetryPolicy { max_attempts: REPORT_POLLS, ..*policy };
    let generate = AtomicBool::new(true);
    let still_generating = |state: &str| Attempt::Retry {
        error: CollectError::Timeout {
            integration: AWS,
            call: format!(
                "the credential report (still {state} after {REPORT_POLLS} polls; try again in a few minutes)"
            ),
            seconds: started.elapsed().as_secs(),
        },
        after: None,
    };
    let output = polls
        .run(|| async {
            if generate.swap(false, Ordering::Relaxed) {
                let generated = call!(
                    "GenerateCredentialReport",
                    policy,
                    iam.generate_credential_report().send()
                )
                .map_err(Attempt::Fail)?;
                // STARTED or INPROGRESS: give IAM a moment before asking for the report.
                if let Some(state) = generated.state()
                    && *state != ReportStateType::Complete
                {
                    return Err(still_generating(state.as_str()));
                }
            }
            let call = Call::iam("GetCredentialReport");
            let got = iam
                .get_credential_report()
                .send()
                .instrument(
                    tracing::info_span!("call", integration = %AWS, call = "GetCredentialReport"),
                )
                .await;
            match got {
                Ok(output) => Ok(output),
                Err(error) => match client::code(&error) {
                    Some("ReportInProgress") => Err(still_generating("ReportInProgress")),
                    Some(code @ ("ReportNotPresent" | "ReportExpired")) => {
                        generate.store(true, Ordering::Relaxed);
                        Err(still_generating(code))
                    }
                    _ => Err(Attempt::Fail(client::classify(&call, &error, policy))),
                },
            }
        })
        .await?;
    let malformed = |detail: String| CollectError::Malformed {
        integration: AWS,
        call: "GetCredentialReport".into(),
        detail,
    };
    let generated_at = output
        .generated_time()
        .and_then(to_utc)
        .ok_or_else(|| malformed("the answer has no GeneratedTime".into()))?;
    let content = output.content().ok_or_else(|| malformed("the answer has no Content".into()))?;
    report::parse(content.as_ref(), generated_at).map_err(malformed)
}

async fn account_summary(
    iam: &aws_sdk_iam::Client,
    policy: &RetryPolicy,
) -> Result<AccountSummary, CollectError> {
    let output = call!("GetAccountSummary", policy, iam.get_account_summary().send())?;
    let map = output.summary_map().cloned().unwrap_or_default();
    let flag = |key: SummaryKeyType| map.get(&key).map(|value| *value > 0);
    let count = |key: SummaryKeyType| map.get(&key).and_then(|value| u32::try_from(*value).ok());
    Ok(AccountSummary {
        account_mfa_enabled: flag(SummaryKeyType::AccountMfaEnabled),
        account_access_keys_present: flag(SummaryKeyType::AccountAccessKeysPresent),
        account_password_present: flag(SummaryKeyType::AccountPasswordPresent),
        account_signing_certificates_present: flag(
            SummaryKeyType::AccountSigningCertificatesPresent,
        ),
        users: count(SummaryKeyType::Users),
        mfa_devices_in_use: count(SummaryKeyType::MfaDevicesInUse),
    })
}

/// `NoSuchEntity` is an answer, not a failure: no custom policy, so the AWS default applies.
async fn password_policy(
    iam: &aws_sdk_iam::Client,
    policy: &RetryPolicy,
) -> Result<AccountPasswordPolicy, CollectError> {
    let call = Call::iam("GetAccountPasswordPolicy");
    let result = iam
        .get_account_password_policy()
        .send()
        .instrument(
            tracing::info_span!("call", integration = %AWS, call = "GetAccountPasswordPolicy"),
        )
        .await;
    let output = match result {
        Ok(output) => output,
        Err(error) if client::code(&error) == Some("NoSuchEntity") => {
            return Ok(AccountPasswordPolicy::NotSet);
        }
        Err(error) => return Err(client::classify(&call, &error, policy)),
    };
    let Some(found) = output.password_policy() else {
        return Err(CollectError::Malformed {
            integration: AWS,
            call: call.name,
            detail: "the answer has no PasswordPolicy".into(),
        });
    };
    let number = |value: Option<i32>| value.and_then(|v| u32::try_from(v).ok());
    // `MaxPasswordAge` 0 is IAM's "passwords never expire" (UpdateAccountPasswordPolicy's
    // default); AWS omits the element then, moto writes 0. Both mean no expiry.
    let max_age = number(found.max_password_age()).filter(|days| *days > 0);
    Ok(AccountPasswordPolicy::Set(PasswordPolicy {
        minimum_password_length: number(found.minimum_password_length()),
        require_symbols: found.require_symbols(),
        require_numbers: found.require_numbers(),
        require_uppercase_characters: found.require_uppercase_characters(),
        require_lowercase_characters: found.require_lowercase_characters(),
        allow_users_to_change_password: found.allow_users_to_change_password(),
        expire_passwords: found.expire_passwords(),
        max_password_age: max_age,
        password_reuse_prevention: number(found.password_reuse_prevention()),
        hard_expiry: found.hard_expiry(),
    }))
}

async fn virtual_mfa_devices(
    iam: &aws_sdk_iam::Client,
    policy: &RetryPolicy,
) -> Result<Vec<VirtualMfaDevice>, CollectError> {
    let pages: Vec<_> = call!(
        "ListVirtualMFADevices",
        policy,
        iam.list_virtual_mfa_devices()
            .assignment_status(AssignmentStatusType::Any)
            .max_items(PAGE_SIZE)
            .into_paginator()
            .send()
            .try_collect()
    )?;
    Ok(pages
        .iter()
        .flat_map(|page| page.virtual_mfa_devices())
        .map(|device| VirtualMfaDevice {
            serial_number: device.serial_number().to_owned(),
            user_arn: device.user().map(|user| user.arn().to_owned()),
            enable_date: device.enable_date().and_then(to_utc),
        })
        .collect())
}

/// `GetAccountAuthorizationDetails` with every filter the checks need, all pages merged. AWS
/// managed policies are left out (`AWSManagedPolicy`): checks recognise them by ARN, and their
/// documents would multiply the pages.
async fn authorization_details(
    iam: &aws_sdk_iam::Client,
    policy: &RetryPolicy,
) -> Result<AuthorizationDetails, CollectError> {
    let pages: Vec<_> = call!(
        "GetAccountAuthorizationDetails",
        policy,
        iam.get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Group)
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .max_items(PAGE_SIZE)
            .into_paginator()
            .send()
            .try_collect()
    )?;
    let malformed = |detail: String| CollectError::Malformed {
        integration: AWS,
        call: "GetAccountAuthorizationDetails".into(),
        detail,
    };
    let mut details = AuthorizationDetails::default();
    for page in &pages {
        for user in page.user_detail_list() {
            let name = user.user_name().unwrap_or_default();
            details.users.push(IamUser {
                user_name: name.to_owned(),
                user_id: user.user_id().unwrap_or_default().to_owned(),
                arn: user.arn().unwrap_or_default().to_owned(),
                create_date: user
                    .create_date()
                    .and_then(to_utc)
                    .ok_or_else(|| malformed(format!("user {name} has no CreateDate")))?,
                attached_managed_policies: attached(user.attached_managed_policies()),
                inline_policies: inline(user.user_policy_list(), &format!("user {name}"))
                    .map_err(malformed)?,
                group_names: user.group_list().to_vec(),
            });
        }
        for group in page.group_detail_list() {
            let name = group.group_name().unwrap_or_default();
            details.groups.push(IamGroup {
                group_name: name.to_owned(),
                arn: group.arn().unwrap_or_default().to_owned(),
                attached_managed_policies: attached(group.attached_managed_policies()),
                inline_policies: inline(group.group_policy_list(), &format!("group {name}"))
                    .map_err(malformed)?,
            });
        }
        for role in page.role_detail_list() {
            let name = role.role_name().unwrap_or_default();
            details.roles.push(IamRole {
                role_name: name.to_owned(),
                arn: role.arn().unwrap_or_default().to_owned(),
                attached_managed_policies: attached(role.attached_managed_policies()),
                inline_policies: inline(role.role_policy_list(), &format!("role {name}"))
                    .map_err(malformed)?,
            });
        }
        for managed in page.policies() {
            let arn = managed.arn().unwrap_or_default();
            // The name is the ARN's last segment (`…:policy/path/name`); moto 5 leaves
            // `PolicyName` out of these entries, AWS sends both.
            let name =
                managed.policy_name().unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default());
            let default_version = managed.default_version_id().unwrap_or_default();
            // The document in force is the default version's.
            let document = managed
                .policy_version_list()
                .iter()
                .find(|version| {
                    version.is_default_version() || version.version_id() == Some(default_version)
                })
                .and_then(|version| version.document())
                .ok_or_else(|| {
                    malformed(format!("policy {name} has no document for its default version"))
                })?;
            details.policies.push(ManagedPolicy {
                policy_name: name.to_owned(),
                arn: arn.to_owned(),
                attachment_count: managed
                    .attachment_count()
                    .and_then(|count| u32::try_from(count).ok())
                    .unwrap_or_default(),
                default_version_id: default_version.to_owned(),
                document: policy_document(document)
                    .map_err(|error| malformed(format!("policy {name}: {error}")))?,
            });
        }
    }
    Ok(details)
}

/// `ListEntitiesForPolicy` on `AWSSupportAccess`, roles only, in the account's partition.
async fn support_access_roles(
    iam: &aws_sdk_iam::Client,
    policy: &RetryPolicy,
    partition: &str,
) -> Result<Vec<SupportAccessRole>, CollectError> {
    let pages: Vec<_> = call!(
        "ListEntitiesForPolicy",
        policy,
        iam.list_entities_for_policy()
            .policy_arn(format!("arn:{partition}:iam::aws:policy/AWSSupportAccess"))
            .entity_filter(EntityType::Role)
            .max_items(PAGE_SIZE)
            .into_paginator()
            .send()
            .try_collect()
    )?;
    Ok(pages
        .iter()
        .flat_map(|page| page.policy_roles())
        .map(|role| SupportAccessRole {
            role_name: role.role_name().unwrap_or_default().to_owned(),
            role_id: role.role_id().unwrap_or_default().to_owned(),
        })
        .collect())
}

fn attached(policies: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<AttachedPolicy> {
    policies
        .iter()
        .map(|policy| AttachedPolicy {
            policy_name: policy.policy_name().unwrap_or_default().to_owned(),
            policy_arn: policy.policy_arn().unwrap_or_default().to_owned(),
        })
        .collect()
}

fn inline(
    policies: &[aws_sdk_iam::types::PolicyDetail],
    owner: &str,
) -> Result<Vec<InlinePolicy>, String> {
    policies
        .iter()
        .map(|policy| {
            let name = policy.policy_name().unwrap_or_default();
            let document = policy.policy_document().unwrap_or_default();
            Ok(InlinePolicy {
                policy_name: name.to_owned(),
                document: policy_document(document)
                    .map_err(|error| format!("{owner}'s inline policy {name}: {error}"))?,
            })
        })
        .collect()
}

/// IAM returns policy documents URL-encoded (RFC 3986, as the API reference says of every
/// `PolicyDocument`); the SDK passes them through as they came. A document that already reads as
/// JSON (some emulators skip the encoding) is taken as it is: an encoded one starts with `%7B`.
fn policy_document(text: &str) -> Result<serde_json::Value, String> {
    let trimmed = text.trim_start();
    let json = if trimmed.starts_with('{') { trimmed.to_owned() } else { percent_decode(text)? };
    serde_json::from_str(&json).map_err(|error| format!("the policy document is not JSON: {error}"))
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes
                .get(index + 1..index + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding at byte {index}"))?;
            decoded.push(hex);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| "the decoded policy document is not UTF-8".to_owned())
}

fn to_utc(time: &aws_sdk_iam::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// Tries the credentials, each role and each permission a collection needs, and says exactly
/// what is missing, using the standard AWS environment.
pub async fn doctor(settings: &AwsSettings, policy: &RetryPolicy) -> Vec<Diagnosis> {
    doctor_with(&client::environment().await, settings, policy).await
}

/// [`doctor`] on an explicit AWS configuration.
pub async fn doctor_with(
    base: &SdkConfig,
    settings: &AwsSettings,
    policy: &RetryPolicy,
) -> Vec<Diagnosis> {
    let transport = Transport::new(policy);
    let sts = transport.sts(base);
    let span = tracing::info_span!("doctor", integration = %AWS);
    async {
        // Nothing else can work without credentials, so a rejection ends the diagnosis here.
        let caller = match client::caller_identity(&sts, &transport).await {
            Ok(identity) => identity,
            Err(error) => return vec![diagnosis(CREDENTIALS_CHECK.into(), Err(error))],
        };
        let mut diagnoses =
            vec![diagnosis(CREDENTIALS_CHECK.into(), Ok(format!("signed in as {}", caller.arn)))];
        let mut targets = Vec::new();
        if settings.accounts.is_empty() {
            targets.push((format!("account {}", caller.account_id), caller, None));
        }
        for account in &settings.accounts {
            let label = format!("account {} ({})", account.name, account.role_arn);
            let assumed = client::assume_role(
                &sts,
                &transport,
                &account.role_arn,
                account.external_id.as_deref(),
                SESSION_NAME,
            )
            .await;
            let check = format!("{label}: sts:AssumeRole");
            match assumed {
                Ok((credentials, identity)) => {
                    diagnoses.push(diagnosis(check, Ok(format!("assumed as {}", identity.arn))));
                    targets.push((label, identity, Some(credentials)));
                }
                Err(error) => diagnoses.push(diagnosis(check, Err(error))),
            }
        }
        for (label, identity, credentials) in targets {
            let iam = transport.iam(base, credentials);
            for (action, result) in probe_permissions(&iam, &identity, policy).await {
                let result = result.map(|()| format!("allowed for {}", identity.arn));
                diagnoses.push(diagnosis(format!("{label}: {action}"), result));
            }
        }
        diagnoses
    }
    .instrument(span)
    .await
}

const CREDENTIALS_CHECK: &str = "credentials accepted (sts:GetCallerIdentity)";

fn diagnosis(check: String, result: Result<String, CollectError>) -> Diagnosis {
    match result {
        Ok(detail) => Diagnosis { integration: AWS, check, ok: true, detail },
        Err(error) => Diagnosis { integration: AWS, check, ok: false, detail: error.to_string() },
    }
}

/// One cheap request per IAM action a collection needs. An answer that proves the call was
/// allowed counts as allowed, even when it is an error such as `ReportNotPresent` or
/// `NoSuchEntity`.
async fn probe_permissions(
    iam: &aws_sdk_iam::Client,
    identity: &Identity,
    policy: &RetryPolicy,
) -> Vec<(&'static str, Result<(), CollectError>)> {
    fn allowed<T, E>(
        operation: &str,
        result: Result<T, aws_sdk_iam::error::SdkError<E>>,
        policy: &RetryPolicy,
        answers: &[&str],
    ) -> Result<(), CollectError>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        match result {
            Ok(_) => Ok(()),
            Err(error) if client::code(&error).is_some_and(|code| answers.contains(&code)) => {
                Ok(())
            }
            Err(error) => Err(client::classify(&Call::iam(operation), &error, policy)),
        }
    }
    let report_answers = ["ReportNotPresent", "ReportInProgress", "ReportExpired"];
    vec![
        (
            "iam:GenerateCredentialReport",
            allowed(
                "GenerateCredentialReport",
                iam.generate_credential_report().send().await,
                policy,
                &[],
            ),
        ),
        (
            "iam:GetCredentialReport",
            allowed(
                "GetCredentialReport",
                iam.get_credential_report().send().await,
                policy,
                &report_answers,
            ),
        ),
        (
            "iam:GetAccountSummary",
            allowed("GetAccountSummary", iam.get_account_summary().send().await, policy, &[]),
        ),
        (
            "iam:GetAccountPasswordPolicy",
            allowed(
                "GetAccountPasswordPolicy",
                iam.get_account_password_policy().send().await,
                policy,
                &["NoSuchEntity"],
            ),
        ),
        (
            "iam:ListVirtualMFADevices",
            allowed(
                "ListVirtualMFADevices",
                iam.list_virtual_mfa_devices().max_items(1).send().await,
                policy,
                &[],
            ),
        ),
        (
            "iam:GetAccountAuthorizationDetails",
            allowed(
                "GetAccountAuthorizationDetails",
                iam.get_account_authorization_details()
                    .filter(EntityType::User)
                    .max_items(1)
                    .send()
                    .await,
                policy,
                &[],
            ),
        ),
        (
            "iam:ListEntitiesForPolicy",
            allowed(
                "ListEntitiesForPolicy",
                iam.list_entities_for_policy()
                    .policy_arn(format!(
                        "arn:{}:iam::aws:policy/AWSSupportAccess",
                        identity.partition()
                    ))
                    .entity_filter(EntityType::Role)
                    .max_items(1)
                    .send()
                    .await,
                policy,
                &[],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn policy_documents_are_url_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%20b%2Bc%22%7D%5D%7D";
        assert_eq!(
            policy_document(encoded).unwrap(),
            json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::a b+c" }] })
        );
        assert_eq!(policy_document(" {\"a\": \"100%\"}").unwrap(), json!({ "a": "100%" }));
        assert!(policy_document("%7B%2").unwrap_err().contains("percent-encoding"));
        assert!(policy_document("%7Bnot json").unwrap_err().contains("not JSON"));
    }
}
