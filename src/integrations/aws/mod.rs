//! AWS IAM snapshot: what Kushim saw in each AWS account it assumed a role into.
//!
//! One [`AwsSnapshot`] covers several accounts. For each [`AwsAccount`] it holds the parsed
//! credential report (root row kept apart from the IAM users), the `GetAccountSummary` flags, the
//! account password policy, the virtual MFA devices, the `GetAccountAuthorizationDetails` data
//! (users, groups, roles, customer managed policies with their documents) and the roles that hold
//! `AWSSupportAccess`. It is Kushim's normalised form of those API answers, not their raw JSON:
//! the collector fills it, `crate::checks::aws` judges it.
//!
//! A part that could not be fetched is `None` and has its reason in [`AwsAccount::gaps`] under
//! one of the `PART_*` names below; a part that is present is complete.
//!
//! - `client` — the SDK clients (standard AWS environment, retries, timeouts, request counting)
//!   and the translation of SDK errors into actionable [`CollectError`](super::collect::CollectError)s.
//! - `collector` — [`collect`] and [`doctor`]: which calls fill which part.
//! - `report` — the credential report's CSV, parsed as documented.

mod client;
mod collector;
mod report;

pub use client::environment;
pub use collector::{collect, collect_with, doctor, doctor_with};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::integrations::Gaps;

/// Gap key in [`AwsSnapshot::gaps`]: the list of accounts itself (for example Organizations
/// `ListAccounts`) could not be read, so accounts may be missing from [`AwsSnapshot::accounts`].
pub const PART_ACCOUNTS: &str = "accounts";
/// Gap key in [`AwsAccount::gaps`]: the account could not be entered at all (`sts:AssumeRole`
/// failed); every part of it is missing, for this reason.
pub const PART_ACCOUNT: &str = "account";
/// Gap key for [`AwsAccount::credential_report`] (`GenerateCredentialReport` /
/// `GetCredentialReport`, e.g. `ReportInProgress` after polling gave up).
pub const PART_CREDENTIAL_REPORT: &str = "credential_report";
/// Gap key for [`AwsAccount::account_summary`] (`GetAccountSummary`).
pub const PART_ACCOUNT_SUMMARY: &str = "account_summary";
/// Gap key for [`AwsAccount::password_policy`] (`GetAccountPasswordPolicy`; `NoSuchEntity` is
/// not a gap, it is [`AccountPasswordPolicy::NotSet`]).
pub const PART_PASSWORD_POLICY: &str = "password_policy";
/// Gap key for [`AwsAccount::virtual_mfa_devices`] (`ListVirtualMFADevices`).
pub const PART_VIRTUAL_MFA_DEVICES: &str = "virtual_mfa_devices";
/// Gap key for [`AwsAccount::authorization_details`] (`GetAccountAuthorizationDetails`, all
/// pages).
pub const PART_AUTHORIZATION_DETAILS: &str = "authorization_details";
/// Gap key for [`AwsAccount::support_access_roles`] (`ListEntitiesForPolicy` on
/// `AWSSupportAccess`).
pub const PART_SUPPORT_ACCESS_ROLES: &str = "support_access_roles";

/// Every AWS account Kushim collected in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwsSnapshot {
    /// One entry per configured account, including accounts that could not be entered (those
    /// carry a [`PART_ACCOUNT`] gap).
    pub accounts: Vec<AwsAccount>,
    /// Collection-wide parts that could not be fetched, keyed by [`PART_ACCOUNTS`].
    pub gaps: Gaps,
}

/// One AWS account, as seen through the role Kushim assumed into it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwsAccount {
    /// The 12-digit account id (`sts:GetCallerIdentity` → `Account` after assuming the role).
    pub account_id: String,
    /// `GenerateCredentialReport` (polled until `State=COMPLETE`) then `GetCredentialReport` →
    /// `Content`, parsed. `None` when it could not be fetched (see [`PART_CREDENTIAL_REPORT`]).
    pub credential_report: Option<CredentialReport>,
    /// `GetAccountSummary` → `SummaryMap`. `None` when it could not be fetched.
    pub account_summary: Option<AccountSummary>,
    /// `GetAccountPasswordPolicy` → `PasswordPolicy`, or [`AccountPasswordPolicy::NotSet`] on
    /// `NoSuchEntity`. `None` when it could not be fetched (e.g. access denied).
    pub password_policy: Option<AccountPasswordPolicy>,
    /// `ListVirtualMFADevices` (AssignmentStatus `Any`, all pages) → `VirtualMFADevices`. `None`
    /// when it could not be fetched.
    pub virtual_mfa_devices: Option<Vec<VirtualMfaDevice>>,
    /// `GetAccountAuthorizationDetails` with `Filter=User,Group,Role,LocalManagedPolicy`, all
    /// pages merged. `None` when any page could not be fetched.
    pub authorization_details: Option<AuthorizationDetails>,
    /// `ListEntitiesForPolicy(PolicyArn=arn:<partition>:iam::aws:policy/AWSSupportAccess,
    /// EntityFilter=Role)` → `PolicyRoles`. `None` when it could not be fetched.
    pub support_access_roles: Option<Vec<SupportAccessRole>>,
    /// Parts of this account that could not be fetched, keyed by the `PART_*` names.
    pub gaps: Gaps,
}

impl AwsAccount {
    /// The resource string for the account itself: `aws-account:123456789012`.
    pub fn resource(&self) -> String {
        format!("aws-account:{}", self.account_id)
    }

    /// Why `part` is missing, if it is: its own gap, or the whole account's ([`PART_ACCOUNT`]).
    pub fn gap(&self, part: &str) -> Option<&str> {
        self.gaps.get(part).or_else(|| self.gaps.get(PART_ACCOUNT)).map(String::as_str)
    }
}

/// The parsed credential report of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialReport {
    /// `GetCredentialReport` → `GeneratedTime`. The report may be up to four hours old: IAM
    /// reuses a report generated within the last four hours.
    pub generated_at: DateTime<Utc>,
    /// The row whose `user` is `<root_account>`. `None` when the report has no such row (moto
    /// never emits one); root checks then rely on [`AccountSummary`].
    pub root: Option<CredentialReportRow>,
    /// Every other row, one per IAM user, in report order.
    pub users: Vec<CredentialReportRow>,
}

/// One CSV row of the credential report. Field names are the CSV column names; booleans are the
/// documented `TRUE`/`FALSE` (compared case-insensitively, IAM actually writes `true`/`false`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialReportRow {
    /// `user`: the friendly user name, `<root_account>` for the root row.
    pub user: String,
    /// `arn`: the user's ARN (`arn:aws:iam::123456789012:root` for the root row).
    pub arn: String,
    /// `user_creation_time`.
    pub user_creation_time: DateTime<Utc>,
    /// `password_enabled`: `true`/`false` for users; always `not_supported` for root.
    pub password_enabled: ReportCell<bool>,
    /// `password_last_used`: a time, `no_information` (never used, or not since tracking began on
    /// 2014-10-20), or `N/A` (no password).
    pub password_last_used: ReportCell<DateTime<Utc>>,
    /// `password_last_changed`: a time, `N/A` (no password); always `not_supported` for root.
    pub password_last_changed: ReportCell<DateTime<Utc>>,
    /// `password_next_rotation`: a time when the password policy expires passwords, otherwise
    /// `N/A`; always `not_supported` for root (and moto writes `not_supported` for everyone).
    pub password_next_rotation: ReportCell<DateTime<Utc>>,
    /// `mfa_active`: an MFA device of any kind is enabled for the user.
    pub mfa_active: bool,
    /// `access_key_1_*` columns.
    pub access_key_1: AccessKeyColumns,
    /// `access_key_2_*` columns.
    pub access_key_2: AccessKeyColumns,
    /// `cert_1_*` columns.
    pub cert_1: CertColumns,
    /// `cert_2_*` columns.
    pub cert_2: CertColumns,
}

impl CredentialReportRow {
    /// Both access-key slots with their number (1, 2), as the report names them.
    pub fn access_keys(&self) -> [(u8, &AccessKeyColumns); 2] {
        [(1, &self.access_key_1), (2, &self.access_key_2)]
    }
}

/// The `access_key_N_*` columns of one credential-report row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyColumns {
    /// `access_key_N_active`: the key exists and its status is `Active`.
    pub active: bool,
    /// `access_key_N_last_rotated`: when the key was created or last changed; `N/A` when there is
    /// no such key.
    pub last_rotated: ReportCell<DateTime<Utc>>,
    /// `access_key_N_last_used_date`: `N/A` when there is no key, it was never used, or it was
    /// last used before tracking began on 2015-04-22. Uses within 15 minutes record only the
    /// first.
    pub last_used_date: ReportCell<DateTime<Utc>>,
    /// `access_key_N_last_used_region`: `N/A` as above, and for non-regional services such as S3.
    pub last_used_region: ReportCell<String>,
    /// `access_key_N_last_used_service`: the service namespace (`s3`, `ec2`), or `N/A` as above.
    pub last_used_service: ReportCell<String>,
}

/// The `cert_N_*` columns of one credential-report row (X.509 signing certificates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertColumns {
    /// `cert_N_active`.
    pub active: bool,
    /// `cert_N_last_rotated`: `N/A` when there is no such certificate.
    pub last_rotated: ReportCell<DateTime<Utc>>,
}

/// One credential-report cell: a value, or one of the sentinels the report writes instead. Which
/// sentinel a column may hold is documented on the column; the collector maps the literal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportCell<T> {
    Value(T),
    /// `N/A`: not applicable (no password, no key, never used, …).
    NotApplicable,
    /// `no_information`: nothing recorded (a password never used, or not since 2014-10-20).
    NoInformation,
    /// `not_supported`: the column does not apply to this principal (root's password fields).
    NotSupported,
}

impl<T> ReportCell<T> {
    /// The value, when the cell holds one rather than a sentinel.
    pub fn value(&self) -> Option<&T> {
        match self {
            ReportCell::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The sentinel exactly as the report writes it, or `None` for a value.
    pub fn sentinel(&self) -> Option<&'static str> {
        match self {
            ReportCell::Value(_) => None,
            ReportCell::NotApplicable => Some("N/A"),
            ReportCell::NoInformation => Some("no_information"),
            ReportCell::NotSupported => Some("not_supported"),
        }
    }
}

/// The root-related entries of `GetAccountSummary` → `SummaryMap`. Each is `None` when the key is
/// absent from the map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// `AccountMFAEnabled`: 1 when the root user has an MFA device (`true` here).
    pub account_mfa_enabled: Option<bool>,
    /// `AccountAccessKeysPresent`: 1 when the root user has at least one access key.
    pub account_access_keys_present: Option<bool>,
    /// `AccountPasswordPresent`: 1 when the root user has a password (0 after centralised root
    /// access removed it).
    pub account_password_present: Option<bool>,
    /// `AccountSigningCertificatesPresent`: 1 when the root user has a signing certificate.
    pub account_signing_certificates_present: Option<bool>,
    /// `Users`: number of IAM users.
    pub users: Option<u32>,
    /// `MFADevicesInUse`: MFA devices assigned to a user (root included).
    pub mfa_devices_in_use: Option<u32>,
}

/// The account password policy, or its documented absence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountPasswordPolicy {
    /// `GetAccountPasswordPolicy` answered `NoSuchEntity`: no custom policy is set, and IAM
    /// applies the AWS default (8–128 characters, at least three character types, no reuse
    /// prevention, no expiry).
    NotSet,
    /// The custom policy in force.
    Set(PasswordPolicy),
}

/// `GetAccountPasswordPolicy` → `PasswordPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// `MinimumPasswordLength` (6–128); `None` when omitted.
    pub minimum_password_length: Option<u32>,
    /// `RequireSymbols`.
    pub require_symbols: bool,
    /// `RequireNumbers`.
    pub require_numbers: bool,
    /// `RequireUppercaseCharacters`.
    pub require_uppercase_characters: bool,
    /// `RequireLowercaseCharacters`.
    pub require_lowercase_characters: bool,
    /// `AllowUsersToChangePassword`.
    pub allow_users_to_change_password: bool,
    /// `ExpirePasswords`: true when `MaxPasswordAge` is set above 0.
    pub expire_passwords: bool,
    /// `MaxPasswordAge` in days (1–1095); `None` when omitted (passwords never expire).
    pub max_password_age: Option<u32>,
    /// `PasswordReusePrevention`: how many previous passwords cannot be reused (1–24); `None`
    /// when omitted (reuse allowed).
    pub password_reuse_prevention: Option<u32>,
    /// `HardExpiry`; `None` when omitted.
    pub hard_expiry: Option<bool>,
}

/// One entry of `ListVirtualMFADevices` → `VirtualMFADevices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualMfaDevice {
    /// `SerialNumber`: the device ARN, e.g. `arn:aws:iam::123456789012:mfa/root-account-mfa-device`.
    pub serial_number: String,
    /// `User.Arn`: the principal the device is bound to (`arn:aws:iam::123456789012:root` for
    /// root); `None` when the device is not assigned.
    pub user_arn: Option<String>,
    /// `EnableDate`; `None` when not assigned.
    pub enable_date: Option<DateTime<Utc>>,
}

/// `GetAccountAuthorizationDetails`, all pages merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationDetails {
    /// `UserDetailList`.
    pub users: Vec<IamUser>,
    /// `GroupDetailList`.
    pub groups: Vec<IamGroup>,
    /// `RoleDetailList`.
    pub roles: Vec<IamRole>,
    /// `Policies` (customer managed only: `Filter=LocalManagedPolicy`). AWS managed policies are
    /// recognised by ARN, not by document.
    pub policies: Vec<ManagedPolicy>,
}

/// One entry of `UserDetailList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamUser {
    /// `UserName`.
    pub user_name: String,
    /// `UserId`.
    pub user_id: String,
    /// `Arn`.
    pub arn: String,
    /// `CreateDate`.
    pub create_date: DateTime<Utc>,
    /// `AttachedManagedPolicies`: managed policies attached to the user directly.
    pub attached_managed_policies: Vec<AttachedPolicy>,
    /// `UserPolicyList`: the user's inline policies, documents URL-decoded and parsed.
    pub inline_policies: Vec<InlinePolicy>,
    /// `GroupList`: names of the groups the user belongs to.
    pub group_names: Vec<String>,
}

/// One entry of `GroupDetailList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamGroup {
    /// `GroupName`.
    pub group_name: String,
    /// `Arn`.
    pub arn: String,
    /// `AttachedManagedPolicies`.
    pub attached_managed_policies: Vec<AttachedPolicy>,
    /// `GroupPolicyList`, documents URL-decoded and parsed.
    pub inline_policies: Vec<InlinePolicy>,
}

/// One entry of `RoleDetailList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamRole {
    /// `RoleName`.
    pub role_name: String,
    /// `Arn`.
    pub arn: String,
    /// `AttachedManagedPolicies`.
    pub attached_managed_policies: Vec<AttachedPolicy>,
    /// `RolePolicyList`, documents URL-decoded and parsed.
    pub inline_policies: Vec<InlinePolicy>,
}

/// One entry of an `AttachedManagedPolicies` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicy {
    /// `PolicyName`.
    pub policy_name: String,
    /// `PolicyArn`: `arn:aws:iam::aws:policy/…` for AWS managed policies, the account id in place
    /// of `aws` for customer managed ones.
    pub policy_arn: String,
}

/// One inline policy (`UserPolicyList` / `GroupPolicyList` / `RolePolicyList` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlinePolicy {
    /// `PolicyName`.
    pub policy_name: String,
    /// `PolicyDocument`, URL-decoded and parsed as JSON.
    pub document: serde_json::Value,
}

/// One entry of `Policies` (a customer managed policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    /// `PolicyName`.
    pub policy_name: String,
    /// `Arn`.
    pub arn: String,
    /// `AttachmentCount`: users, groups and roles the policy is attached to.
    pub attachment_count: u32,
    /// `DefaultVersionId`.
    pub default_version_id: String,
    /// `PolicyVersionList[IsDefaultVersion=true].Document`, URL-decoded and parsed as JSON.
    pub document: serde_json::Value,
}

/// One entry of `ListEntitiesForPolicy` → `PolicyRoles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportAccessRole {
    /// `RoleName`.
    pub role_name: String,
    /// `RoleId`.
    pub role_id: String,
}
