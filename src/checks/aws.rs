//! AWS IAM checks (reference: shared/reference/checks.md §1.3 and the table in §6).
//!
//! Every check walks the accounts of an [`AwsSnapshot`]. Account-level checks give one verdict per
//! account (`aws-account:<id>`), user-level checks one per IAM user they judge
//! (`iam-user:<id>/<name>`), the policy check one per policy (`iam-policy:<id>/<name>`,
//! `iam-inline-policy:<id>/<kind>/<owner>/<name>`). An account missing a part a check needs gets
//! `error` with the collector's reason, never a pass; a snapshot-wide gap adds one `error` for
//! `aws-accounts`.
//!
//! Root checks read `GetAccountSummary`, as Steampipe does and checks.md recommends: it is fresher
//! than the credential report (which IAM may reuse for four hours) and it exists where the report
//! has no `<root_account>` row (moto). Only `root_not_used` needs the root row, for last-use dates.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::checks::{CheckContext, CheckDef, Judge, Verdict};
use crate::integrations::aws::{
    AccessKeyColumns, AccountPasswordPolicy, AttachedPolicy, AuthorizationDetails, AwsAccount,
    AwsSnapshot, CredentialReport, CredentialReportRow, IamGroup, IamUser, InlinePolicy,
    ManagedPolicy, PART_ACCOUNT_SUMMARY, PART_AUTHORIZATION_DETAILS, PART_CREDENTIAL_REPORT,
    PART_PASSWORD_POLICY, PART_SUPPORT_ACCESS_ROLES, PART_VIRTUAL_MFA_DEVICES, PasswordPolicy,
    ReportCell,
};

pub const CHECKS: &[CheckDef] = &[
    CheckDef { id: "aws.iam.root_mfa", title: "Root user has MFA", judge: Judge::Aws(root_mfa) },
    CheckDef {
        id: "aws.iam.root_hardware_mfa",
        title: "Root user's MFA is a hardware device",
        judge: Judge::Aws(root_hardware_mfa),
    },
    CheckDef {
        id: "aws.iam.root_no_access_keys",
        title: "Root user has no access keys",
        judge: Judge::Aws(root_no_access_keys),
    },
    CheckDef {
        id: "aws.iam.root_not_used",
        title: "Root user not used recently",
        judge: Judge::Aws(root_not_used),
    },
    CheckDef {
        id: "aws.iam.console_users_mfa",
        title: "IAM users with a console password have MFA",
        judge: Judge::Aws(console_users_mfa),
    },
    CheckDef {
        id: "aws.iam.admin_users_mfa",
        title: "IAM users with administrator access have MFA",
        judge: Judge::Aws(admin_users_mfa),
    },
    CheckDef {
        id: "aws.iam.access_keys_rotated_90d",
        title: "Active access keys are rotated",
        judge: Judge::Aws(access_keys_rotated),
    },
    CheckDef {
        id: "aws.iam.access_keys_unused_45d",
        title: "Active access keys are in use",
        judge: Judge::Aws(access_keys_unused),
    },
    CheckDef {
        id: "aws.iam.console_unused_45d",
        title: "Console passwords are in use",
        judge: Judge::Aws(console_unused),
    },
    CheckDef {
        id: "aws.iam.single_active_key",
        title: "IAM users have at most one active access key",
        judge: Judge::Aws(single_active_key),
    },
    CheckDef {
        id: "aws.iam.no_unused_setup_key",
        title: "Console users hold no never-used access key",
        judge: Judge::Aws(no_unused_setup_key),
    },
    CheckDef {
        id: "aws.iam.password_policy",
        title: "Account password policy is strong",
        judge: Judge::Aws(password_policy),
    },
    CheckDef {
        id: "aws.iam.no_user_policies",
        title: "IAM users get permissions only through groups or roles",
        judge: Judge::Aws(no_user_policies),
    },
    CheckDef {
        id: "aws.iam.no_star_star_policies",
        title: "No attached policy allows every action on every resource",
        judge: Judge::Aws(no_star_star_policies),
    },
    CheckDef {
        id: "aws.iam.no_user_admin_access",
        title: "No IAM user has AdministratorAccess attached directly",
        judge: Judge::Aws(no_user_admin_access),
    },
    CheckDef {
        id: "aws.iam.support_role",
        title: "A role holds AWSSupportAccess for incident support",
        judge: Judge::Aws(support_role),
    },
];

/// The `[checks.aws]` section of `kushim.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsThresholds {
    /// Days an active access key may go without rotation. Default 90 (CIS; Prowler
    /// `iam_rotate_access_key_90_days`).
    pub key_max_age_days: u32,
    /// Days an active access key may go unused (or, never used, exist). Default 45 (CIS; Prowler
    /// `max_unused_access_keys_days`).
    pub unused_key_days: u32,
    /// Days a console password may go unused (or, never used, exist). Default 45 (CIS; Prowler
    /// `max_console_access_days`).
    pub unused_console_days: u32,
    /// Shortest minimum password length the policy may set. Default 14 (CIS).
    pub password_min_length: u32,
    /// Fewest previous passwords the policy must block from reuse. Default 24 (CIS; also IAM's
    /// maximum).
    pub password_reuse: u32,
    /// Longest password lifetime the policy may allow, in days. Default 90 (CIS); `false` in the
    /// config turns the requirement off, since NIST SP 800-63B advises against forced rotation.
    #[serde(deserialize_with = "days_or_false")]
    pub password_max_age_days: Option<u32>,
    /// Root used this many days ago or less fails. Default 1 (Prowler `maximum_access_days`).
    pub root_recent_use_days: u32,
}

impl Default for AwsThresholds {
    fn default() -> Self {
        Self {
            key_max_age_days: 90,
            unused_key_days: 45,
            unused_console_days: 45,
            password_min_length: 14,
            password_reuse: 24,
            password_max_age_days: Some(90),
            root_recent_use_days: 1,
        }
    }
}

/// TOML has no null, so an optional limit is a number of days or `false`.
fn days_or_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    struct DaysOrFalse;

    impl Visitor<'_> for DaysOrFalse {
        type Value = Option<u32>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number of days (1 or more), or false to turn the limit off")
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
            if value { Err(E::invalid_value(Unexpected::Bool(value), &self)) } else { Ok(None) }
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            match u32::try_from(value) {
                Ok(days) if days > 0 => Ok(Some(days)),
                _ => Err(E::invalid_value(Unexpected::Unsigned(value), &self)),
            }
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            match u64::try_from(value) {
                Ok(value) => self.visit_u64(value),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(value), &self)),
            }
        }
    }

    deserializer.deserialize_any(DaysOrFalse)
}

// ---------------------------------------------------------------------------------------------
// Root

fn root_mfa(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        let summary = need(account, PART_ACCOUNT_SUMMARY, account.account_summary.as_ref())?;
        let basis = summary_basis(account, "AccountMFAEnabled");
        let resource = account.resource();
        Ok(vec![match summary.account_mfa_enabled {
            Some(true) => Verdict::pass(resource, format!("the root user has MFA enabled{basis}")),
            Some(false) => Verdict::fail(
                resource,
                format!("the root user has no MFA device{basis}; enable MFA on root"),
            ),
            None => Verdict::error(resource, missing_summary_key("AccountMFAEnabled")),
        }])
    })
}

fn root_hardware_mfa(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        let summary = need(account, PART_ACCOUNT_SUMMARY, account.account_summary.as_ref())?;
        let basis = summary_basis(account, "AccountMFAEnabled");
        let resource = account.resource();
        match summary.account_mfa_enabled {
            None => {
                return Ok(vec![Verdict::error(
                    resource,
                    missing_summary_key("AccountMFAEnabled"),
                )]);
            }
            Some(false) => {
                return Ok(vec![Verdict::fail(
                    resource,
                    format!(
                        "the root user has no MFA device at all{basis}; enable a hardware MFA device on root"
                    ),
                )]);
            }
            Some(true) => {}
        }
        let devices =
            need(account, PART_VIRTUAL_MFA_DEVICES, account.virtual_mfa_devices.as_ref())?;
        // Prowler matches `"root" in User.Arn`; we match the account's root ARN exactly, in any
        // partition, so a user named "root" (`…:user/root`) is not mistaken for it.
        let root_suffix = format!(":iam::{}:root", account.account_id);
        let on_root = devices.iter().find(|device| {
            device
                .user_arn
                .as_deref()
                .is_some_and(|arn| arn.starts_with("arn:") && arn.ends_with(&root_suffix))
        });
        Ok(vec![match on_root {
            Some(device) => Verdict::fail(
                resource,
                format!(
                    "the root user's MFA is the virtual device {}; replace it with a hardware security key or token",
                    device.serial_number
                ),
            ),
            None => Verdict::pass(
                resource,
                format!(
                    "the root user has MFA enabled{basis} and no virtual MFA device is bound to root, so it is a hardware device"
                ),
            ),
        }])
    })
}

fn root_no_access_keys(snapshot: &AwsSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        let summary = need(account, PART_ACCOUNT_SUMMARY, account.account_summary.as_ref())?;
        let basis = summary_basis(account, "AccountAccessKeysPresent");
        let resource = account.resource();
        Ok(vec![match summary.account_access_keys_present {
            Some(false) => {
                Verdict::pass(resource, format!("the root user has no access keys{basis}"))
            }
            Some(true) => {
                // The report's root row, when there, says which key and when it was last used.
                let detail = root_row(account)
                    .map(|row| {
                        row.access_keys()
                            .into_iter()
                            .filter(|(_, key)| key.active)
                            .map(|(number, key)| {
                                format!(
                                    "; access key {number} is active, {}",
                                    last_use(key, ctx.now)
                                )
                            })
                            .collect::<String>()
                    })
                    .unwrap_or_default();
                Verdict::fail(
                    resource,
                    format!(
                        "the root user has an access key{basis}{detail}; delete root's access keys and use IAM roles instead"
                    ),
                )
            }
            None => Verdict::error(resource, missing_summary_key("AccountAccessKeysPresent")),
        }])
    })
}

fn root_not_used(snapshot: &AwsSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let limit = ctx.thresholds.aws.root_recent_use_days;
    each_account(snapshot, |account| {
        let resource = account.resource();
        let why_no_row =
            match need(account, PART_CREDENTIAL_REPORT, account.credential_report.as_ref()) {
                Ok(CredentialReport { root: Some(row), .. }) => {
                    return Ok(vec![judge_root_use(resource, row, limit, ctx.now)]);
                }
                Ok(_) => "the credential report has no <root_account> row".to_owned(),
                Err(verdict) => verdict.reason,
            };
        // Without the root row the summary can still prove root unusable: no password, no keys
        // (as after centralised root access removed root's credentials). It has no last-use date.
        let summary = account
            .account_summary
            .as_ref()
            .filter(|_| account.gap(PART_ACCOUNT_SUMMARY).is_none());
        if let Some(summary) = summary
            && summary.account_password_present == Some(false)
            && summary.account_access_keys_present == Some(false)
        {
            return Ok(vec![Verdict::pass(
                resource,
                format!(
                    "the root user has no password and no access keys (GetAccountSummary), so it cannot be used; {why_no_row}"
                ),
            )]);
        }
        Ok(vec![Verdict::error(
            resource,
            format!(
                "{why_no_row}, so root's last use cannot be judged (GetAccountSummary records no last use)"
            ),
        )])
    })
}

fn judge_root_use(
    resource: String,
    row: &CredentialReportRow,
    limit: u32,
    now: DateTime<Utc>,
) -> Verdict {
    let uses = [
        ("console sign-in", &row.password_last_used),
        ("access key 1", &row.access_key_1.last_used_date),
        ("access key 2", &row.access_key_2.last_used_date),
    ];
    let latest = uses
        .into_iter()
        .filter_map(|(how, cell)| cell.value().map(|at| (how, *at)))
        .max_by_key(|(_, at)| *at);
    let Some((how, at)) = latest else {
        return Verdict::pass(
            resource,
            "the root user has no recorded use in the credential report",
        );
    };
    // Whole days, as Prowler's `iam_avoid_root_usage` (`(now - last).days <= maximum_access_days`):
    // with the default 1, a use 1 day 23 hours ago still fails.
    if days_since(now, at) <= i64::from(limit) {
        Verdict::fail(
            resource,
            format!(
                "the root user was used {} ({how}), within the last {}; use IAM roles or IAM Identity Center for daily work",
                ago(now, at),
                days(i64::from(limit))
            ),
        )
    } else {
        Verdict::pass(resource, format!("the root user was last used {} ({how})", ago(now, at)))
    }
}

/// The report's root row, when the report and the row are both there.
fn root_row(account: &AwsAccount) -> Option<&CredentialReportRow> {
    account
        .credential_report
        .as_ref()
        .filter(|_| account.gap(PART_CREDENTIAL_REPORT).is_none())
        .and_then(|report| report.root.as_ref())
}

/// Names the summary entry a root verdict rests on, and says so when the credential report
/// cannot corroborate it.
fn summary_basis(account: &AwsAccount, key: &str) -> String {
    if root_row(account).is_some() {
        format!(" (GetAccountSummary {key})")
    } else if account.credential_report.is_some() && account.gap(PART_CREDENTIAL_REPORT).is_none() {
        format!(" (GetAccountSummary {key} alone: the credential report has no <root_account> row)")
    } else {
        format!(" (GetAccountSummary {key} alone: the credential report is unavailable)")
    }
}

fn missing_summary_key(key: &str) -> String {
    format!("GetAccountSummary returned no {key} entry, so the root user cannot be judged")
}

// ---------------------------------------------------------------------------------------------
// IAM users, from the credential report

fn console_users_mfa(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        each_report_user(account, "no IAM user has a console password", |row, resource| {
            match console_password(row) {
                Err(reason) => Some(Verdict::error(resource, reason)),
                Ok(false) => None,
                Ok(true) if row.mfa_active => Some(Verdict::pass(
                    resource,
                    format!("{} has a console password and MFA enabled", row.user),
                )),
                Ok(true) => Some(Verdict::fail(
                    resource,
                    format!(
                        "{} has a console password and no MFA device; enable MFA or remove the password",
                        row.user
                    ),
                )),
            }
        })
    })
}

fn access_keys_rotated(snapshot: &AwsSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let limit = i64::from(ctx.thresholds.aws.key_max_age_days);
    each_account(snapshot, |account| {
        each_report_user(account, "no IAM user has an active access key", |row, resource| {
            let mut overdue = Vec::new();
            let mut current = Vec::new();
            // Inactive keys are skipped (Steampipe `iam_user_access_key_age_90`, Prowler): they
            // cannot sign requests, and reactivating one shows up here again.
            for (number, key) in active_keys(row) {
                let Some(rotated) = key.last_rotated.value() else {
                    return Some(unknown_key_date(resource, number, &key.last_rotated));
                };
                // `> limit` whole days, as Prowler (`.days > 90`).
                let text =
                    format!("access key {number} was last rotated {}", ago(ctx.now, *rotated));
                if days_since(ctx.now, *rotated) > limit {
                    overdue.push(text)
                } else {
                    current.push(text)
                }
            }
            if overdue.is_empty() && current.is_empty() {
                return None;
            }
            Some(if overdue.is_empty() {
                Verdict::pass(
                    resource,
                    format!("{} (limit {})", current.join(" and "), days(limit)),
                )
            } else {
                Verdict::fail(
                    resource,
                    format!("{} (limit {}); rotate it", overdue.join(" and "), days(limit)),
                )
            })
        })
    })
}

fn access_keys_unused(snapshot: &AwsSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let limit = i64::from(ctx.thresholds.aws.unused_key_days);
    each_account(snapshot, |account| {
        each_report_user(account, "no IAM user has an active access key", |row, resource| {
            let mut idle = Vec::new();
            let mut used = Vec::new();
            for (number, key) in active_keys(row) {
                let (since, text) = match key.last_used_date.value() {
                    Some(at) => {
                        (*at, format!("access key {number} was last used {}", ago(ctx.now, *at)))
                    }
                    // `N/A`: never used (or not since 2015-04-22). Steampipe's
                    // `iam_user_access_key_unused_45` fails such a key once it is older than the
                    // limit; Prowler skips it. We follow Steampipe (checks.md §6): an unused
                    // credential is exposure whatever its age.
                    None => match key.last_rotated.value() {
                        Some(at) => (
                            *at,
                            format!(
                                "access key {number} has never been used and was created {}",
                                ago(ctx.now, *at)
                            ),
                        ),
                        None => return Some(unknown_key_date(resource, number, &key.last_rotated)),
                    },
                };
                if days_since(ctx.now, since) > limit { idle.push(text) } else { used.push(text) }
            }
            if idle.is_empty() && used.is_empty() {
                return None;
            }
            Some(if idle.is_empty() {
                Verdict::pass(resource, format!("{} (limit {})", used.join(" and "), days(limit)))
            } else {
                Verdict::fail(
                    resource,
                    format!(
                        "{} (limit {}); deactivate keys that are not in use",
                        idle.join(" and "),
                        days(limit)
                    ),
                )
            })
        })
    })
}

fn console_unused(snapshot: &AwsSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let limit = i64::from(ctx.thresholds.aws.unused_console_days);
    each_account(snapshot, |account| {
        each_report_user(account, "no IAM user has a console password", |row, resource| {
            match console_password(row) {
                Err(reason) => return Some(Verdict::error(resource, reason)),
                Ok(false) => return None,
                Ok(true) => {}
            }
            let (since, text) = match row.password_last_used.value() {
                Some(at) => (*at, format!("{} last signed in {}", row.user, ago(ctx.now, *at))),
                // `no_information`: never signed in. Steampipe fails a never-used password once it
                // is older than the limit (Prowler passes it); the password's age is
                // `password_last_changed`, or the user's if that is missing.
                None => match row.password_last_changed.value() {
                    Some(at) => (
                        *at,
                        format!(
                            "{} has never signed in and the password was set {}",
                            row.user,
                            ago(ctx.now, *at)
                        ),
                    ),
                    None => (
                        row.user_creation_time,
                        format!(
                            "{} has never signed in and was created {}",
                            row.user,
                            ago(ctx.now, row.user_creation_time)
                        ),
                    ),
                },
            };
            Some(if days_since(ctx.now, since) > limit {
                Verdict::fail(
                    resource,
                    format!(
                        "{text} (limit {}); remove the console password if it is not needed",
                        days(limit)
                    ),
                )
            } else {
                Verdict::pass(resource, format!("{text} (limit {})", days(limit)))
            })
        })
    })
}

fn single_active_key(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        each_report_user(account, "no IAM user has an active access key", |row, resource| {
            match active_keys(row).count() {
                0 => None,
                1 => {
                    Some(Verdict::pass(resource, format!("{} has one active access key", row.user)))
                }
                _ => Some(Verdict::fail(
                    resource,
                    format!(
                        "both access keys of {} are active; deactivate the one no longer in use",
                        row.user
                    ),
                )),
            }
        })
    })
}

fn no_unused_setup_key(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        each_report_user(
            account,
            "no IAM user has both a console password and an active access key",
            |row, resource| {
                match console_password(row) {
                    Err(reason) => return Some(Verdict::error(resource, reason)),
                    Ok(false) => return None,
                    Ok(true) => {}
                }
                let keys: Vec<_> = active_keys(row).collect();
                if keys.is_empty() {
                    return None;
                }
                // Prowler `iam_user_no_setup_initial_access_key`: an active key whose
                // last_used_date is `N/A` on a console user was most likely created with the user
                // and never needed.
                let unused: Vec<String> = keys
                    .iter()
                    .filter(|(_, key)| key.last_used_date.value().is_none())
                    .map(|(number, _)| format!("access key {number}"))
                    .collect();
                Some(if unused.is_empty() {
                    Verdict::pass(
                        resource,
                        format!(
                            "every active access key of console user {} has been used",
                            row.user
                        ),
                    )
                } else {
                    Verdict::fail(
                        resource,
                        format!(
                            "console user {} holds {} that has never been used; delete it",
                            row.user,
                            unused.join(" and ")
                        ),
                    )
                })
            },
        )
    })
}

/// Runs `judge` over the IAM-user rows of the account's credential report (root is never among
/// them). `judge` returns `None` for a user outside the check's population; when no user is in
/// it, one `not_applicable` verdict says `nobody`.
fn each_report_user(
    account: &AwsAccount,
    nobody: &str,
    judge: impl Fn(&CredentialReportRow, String) -> Option<Verdict>,
) -> Result<Vec<Verdict>, Verdict> {
    let report = need(account, PART_CREDENTIAL_REPORT, account.credential_report.as_ref())?;
    if report.users.is_empty() {
        return Ok(vec![Verdict::not_applicable(
            account.resource(),
            "the account has no IAM users",
        )]);
    }
    let verdicts: Vec<Verdict> = report
        .users
        .iter()
        .filter_map(|row| judge(row, user_resource(account, &row.user)))
        .collect();
    if verdicts.is_empty() {
        Ok(vec![Verdict::not_applicable(account.resource(), nobody)])
    } else {
        Ok(verdicts)
    }
}

/// `password_enabled` of an IAM user's row. Only root's row is documented as `not_supported`, so
/// a sentinel here means the report cannot be trusted for this user.
fn console_password(row: &CredentialReportRow) -> Result<bool, String> {
    match row.password_enabled {
        ReportCell::Value(enabled) => Ok(enabled),
        ref other => Err(format!(
            "the credential report says password_enabled is {} for IAM user {}, expected true or false",
            other.sentinel().unwrap_or("not a boolean"),
            row.user
        )),
    }
}

fn active_keys(row: &CredentialReportRow) -> impl Iterator<Item = (u8, &AccessKeyColumns)> {
    row.access_keys().into_iter().filter(|(_, key)| key.active)
}

/// An active key without a `last_rotated` date: its age, and so the verdict, is unknown.
fn unknown_key_date(resource: String, number: u8, cell: &ReportCell<DateTime<Utc>>) -> Verdict {
    Verdict::error(
        resource,
        format!(
            "access key {number} is active but access_key_{number}_last_rotated is {}, so its age is unknown",
            cell.sentinel().unwrap_or("missing")
        ),
    )
}

fn last_use(key: &AccessKeyColumns, now: DateTime<Utc>) -> String {
    match key.last_used_date.value() {
        Some(at) => format!("last used {}", ago(now, *at)),
        None => "never used".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// IAM users and policies, from GetAccountAuthorizationDetails

fn admin_users_mfa(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        let details =
            need(account, PART_AUTHORIZATION_DETAILS, account.authorization_details.as_ref())?;
        if details.users.is_empty() {
            return Ok(vec![Verdict::not_applicable(
                account.resource(),
                "the account has no IAM users",
            )]);
        }
        let report = need(account, PART_CREDENTIAL_REPORT, account.credential_report.as_ref())?;
        let rows: HashMap<&str, &CredentialReportRow> =
            report.users.iter().map(|row| (row.user.as_str(), row)).collect();
        let directory = Directory::new(details);
        let mut verdicts = Vec::new();
        for user in &details.users {
            let access = directory.admin_access(user);
            let resource = user_resource(account, &user.user_name);
            let row = rows.get(user.user_name.as_str());
            let name = &user.user_name;
            if access.grants.is_empty() {
                // A policy we could not read might make this user an admin; with MFA on it does
                // not matter, without it we cannot say.
                if !access.unknown.is_empty() && !row.is_some_and(|row| row.mfa_active) {
                    verdicts.push(Verdict::error(
                        resource,
                        format!(
                            "cannot tell whether {name} has administrator access: {}",
                            access.unknown.join("; ")
                        ),
                    ));
                }
                continue;
            }
            let grants = access.grants.join(", ");
            verdicts.push(match row {
                None => Verdict::error(
                    resource,
                    format!(
                        "{name} has administrator access ({grants}) but is missing from the credential report generated {}; generate a new report",
                        report.generated_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                ),
                Some(row) if row.mfa_active => Verdict::pass(
                    resource,
                    format!("{name} has administrator access ({grants}) and MFA enabled"),
                ),
                Some(_) => Verdict::fail(
                    resource,
                    format!(
                        "{name} has administrator access ({grants}) and no MFA device; enable MFA or remove the access"
                    ),
                ),
            });
        }
        if verdicts.is_empty() {
            verdicts.push(Verdict::not_applicable(
                account.resource(),
                "no IAM user has administrator access (AdministratorAccess or a policy allowing *:*, directly or through a group)",
            ));
        }
        Ok(verdicts)
    })
}

fn no_user_policies(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        each_gaad_user(account, |user, resource| {
            let direct: Vec<String> = user
                .attached_managed_policies
                .iter()
                .map(|policy| format!("{} (managed)", policy.policy_name))
                .chain(
                    user.inline_policies
                        .iter()
                        .map(|policy| format!("{} (inline)", policy.policy_name)),
                )
                .collect();
            if direct.is_empty() {
                Verdict::pass(
                    resource,
                    format!("{} gets permissions only through groups or roles", user.user_name),
                )
            } else {
                Verdict::fail(
                    resource,
                    format!(
                        "{} has policies attached directly: {}; grant them through a group or role instead",
                        user.user_name,
                        direct.join(", ")
                    ),
                )
            }
        })
    })
}

fn no_user_admin_access(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        each_gaad_user(account, |user, resource| {
            if user
                .attached_managed_policies
                .iter()
                .any(|policy| is_administrator_access(&policy.policy_arn))
            {
                Verdict::fail(
                    resource,
                    format!(
                        "{} has the AWS managed AdministratorAccess policy attached directly; grant admin through a group or role instead",
                        user.user_name
                    ),
                )
            } else {
                Verdict::pass(
                    resource,
                    format!("{} has no AdministratorAccess attached directly", user.user_name),
                )
            }
        })
    })
}

fn no_star_star_policies(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        let details =
            need(account, PART_AUTHORIZATION_DETAILS, account.authorization_details.as_ref())?;
        let id = &account.account_id;
        let mut verdicts = Vec::new();
        // Attached customer managed policies only (checks.md §6): an unattached policy grants
        // nothing, and AWS managed ones are AWS's to scope (AdministratorAccess on users is
        // `no_user_admin_access`).
        for policy in details.policies.iter().filter(|policy| policy.attachment_count > 0) {
            verdicts.push(judge_document(
                format!("iam-policy:{id}/{}", policy.policy_name),
                format!(
                    "customer managed policy {} (version {})",
                    policy.policy_name, policy.default_version_id
                ),
                &policy.document,
            ));
        }
        let owners = details
            .users
            .iter()
            .map(|user| ("user", &user.user_name, &user.inline_policies))
            .chain(
                details
                    .groups
                    .iter()
                    .map(|group| ("group", &group.group_name, &group.inline_policies)),
            )
            .chain(
                details.roles.iter().map(|role| ("role", &role.role_name, &role.inline_policies)),
            );
        for (kind, owner, inline) in owners {
            for policy in inline {
                verdicts.push(judge_document(
                    format!("iam-inline-policy:{id}/{kind}/{owner}/{}", policy.policy_name),
                    format!("inline policy {} of {kind} {owner}", policy.policy_name),
                    &policy.document,
                ));
            }
        }
        if verdicts.is_empty() {
            verdicts.push(Verdict::not_applicable(
                account.resource(),
                "the account has no attached customer managed policies and no inline policies",
            ));
        }
        Ok(verdicts)
    })
}

fn judge_document(resource: String, label: String, document: &Value) -> Verdict {
    match grants_star_star(document) {
        Ok(Some(statement)) => Verdict::fail(
            resource,
            format!(
                "{label} allows every action on every resource ({statement}); replace it with scoped permissions"
            ),
        ),
        Ok(None) => Verdict::pass(
            resource,
            format!("{label} does not allow every action on every resource"),
        ),
        Err(problem) => {
            Verdict::error(resource, format!("{label} cannot be read as a policy: {problem}"))
        }
    }
}

/// Runs `judge` once per user of the account's authorization details.
fn each_gaad_user(
    account: &AwsAccount,
    judge: impl Fn(&IamUser, String) -> Verdict,
) -> Result<Vec<Verdict>, Verdict> {
    let details =
        need(account, PART_AUTHORIZATION_DETAILS, account.authorization_details.as_ref())?;
    if details.users.is_empty() {
        return Ok(vec![Verdict::not_applicable(
            account.resource(),
            "the account has no IAM users",
        )]);
    }
    Ok(details
        .users
        .iter()
        .map(|user| judge(user, user_resource(account, &user.user_name)))
        .collect())
}

/// Groups and customer managed policies of one account, by name and ARN.
struct Directory<'a> {
    groups: HashMap<&'a str, &'a IamGroup>,
    policies: HashMap<&'a str, &'a ManagedPolicy>,
}

/// How a user comes to hold administrator access, and what could not be read.
#[derive(Default)]
struct AdminAccess {
    grants: Vec<String>,
    unknown: Vec<String>,
}

impl<'a> Directory<'a> {
    fn new(details: &'a AuthorizationDetails) -> Self {
        Self {
            groups: details.groups.iter().map(|group| (group.group_name.as_str(), group)).collect(),
            policies: details.policies.iter().map(|policy| (policy.arn.as_str(), policy)).collect(),
        }
    }

    /// Administrator access is the AWS managed AdministratorAccess policy or any customer
    /// managed or inline policy allowing `*:*`, on the user or on one of their groups. Other AWS
    /// managed policies are not read (their documents are not collected) and do not count.
    fn admin_access(&self, user: &IamUser) -> AdminAccess {
        let mut access = AdminAccess::default();
        self.collect(
            &mut access,
            &user.attached_managed_policies,
            &user.inline_policies,
            " attached directly",
        );
        for group_name in &user.group_names {
            match self.groups.get(group_name.as_str()) {
                Some(group) => self.collect(
                    &mut access,
                    &group.attached_managed_policies,
                    &group.inline_policies,
                    &format!(" via group {group_name}"),
                ),
                None => access
                    .unknown
                    .push(format!("group {group_name} is missing from the authorization details")),
            }
        }
        access
    }

    fn collect(
        &self,
        access: &mut AdminAccess,
        attached: &[AttachedPolicy],
        inline: &[InlinePolicy],
        via: &str,
    ) {
        for policy in attached {
            let name = &policy.policy_name;
            if is_administrator_access(&policy.policy_arn) {
                access.grants.push(format!("AdministratorAccess{via}"));
            } else if policy.policy_arn.contains(":iam::aws:policy/") {
                // Another AWS managed policy: see the doc comment of `admin_access`.
            } else {
                match self.policies.get(policy.policy_arn.as_str()) {
                    Some(managed) => match grants_star_star(&managed.document) {
                        Ok(Some(_)) => {
                            access.grants.push(format!("policy {name} allowing *:*{via}"))
                        }
                        Ok(None) => {}
                        Err(problem) => {
                            access.unknown.push(format!("policy {name}{via}: {problem}"))
                        }
                    },
                    None => access.unknown.push(format!(
                        "policy {name}{via} is missing from the authorization details"
                    )),
                }
            }
        }
        for policy in inline {
            let name = &policy.policy_name;
            match grants_star_star(&policy.document) {
                Ok(Some(_)) => {
                    access.grants.push(format!("inline policy {name} allowing *:*{via}"))
                }
                Ok(None) => {}
                Err(problem) => {
                    access.unknown.push(format!("inline policy {name}{via}: {problem}"))
                }
            }
        }
    }
}

/// The AWS managed AdministratorAccess policy, in any partition. Matched by ARN, not name, so a
/// customer policy that happens to be called "AdministratorAccess" is judged by its document.
fn is_administrator_access(policy_arn: &str) -> bool {
    policy_arn.starts_with("arn:") && policy_arn.ends_with(":iam::aws:policy/AdministratorAccess")
}

/// Whether a policy document allows every action on every resource. Returns the first statement
/// that does, `None` when none does, or why the document is not a readable policy.
///
/// Follows Prowler's `check_admin_access` (iam/lib/policy.py), which AWS Config's
/// `iam-policy-no-statements-with-admin-access` and Steampipe's `iam_policy_no_star_star` narrow
/// to a literal `Action "*"` on `Resource "*"`:
/// * an `Allow` statement counts when its `Resource` includes `*` (a string or any list element;
///   Prowler also accepts `*/*` and `*:*`) or it has a `NotResource` other than `*`;
/// * and its `Action` includes `*` or `*:*`, or it has a `NotAction` other than `*` (everything
///   but a few services is administrator access in practice: Prowler treats NotAction-only as `*`);
/// * conditions on an `Allow` are ignored, as by Prowler and AWS Config.
///
/// checks.md says "minus Deny", while Prowler collects Deny statements but never uses them. We
/// subtract only a Deny that removes everything (`Action "*"` on `Resource "*"`, unconditional):
/// a narrower Deny still leaves an administrator-grade grant.
fn grants_star_star(document: &Value) -> Result<Option<String>, String> {
    let Value::Object(document) = document else {
        return Err("the document is not a JSON object".to_owned());
    };
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        Some(_) => return Err("Statement is neither an object nor a list".to_owned()),
        None => return Err("the document has no Statement".to_owned()),
    };
    let mut grant = None;
    for (index, statement) in statements.into_iter().enumerate() {
        let Value::Object(statement) = statement else {
            return Err(format!("statement {} is not an object", index + 1));
        };
        let label = match statement.get("Sid").and_then(Value::as_str) {
            Some(sid) if !sid.is_empty() => format!("statement {sid:?}"),
            _ => format!("statement {}", index + 1),
        };
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow") => {
                if grant.is_none()
                    && allows_any_action(statement)
                    && reaches_any_resource(statement)
                {
                    grant = Some(label);
                }
            }
            Some("Deny") => {
                let everything = names_every(statement.get("Action"))
                    && names_every(statement.get("Resource"))
                    && !statement.contains_key("Condition");
                if everything {
                    return Ok(None);
                }
            }
            _ => return Err(format!("{label} has no Effect of Allow or Deny")),
        }
    }
    Ok(grant)
}

fn allows_any_action(statement: &Map<String, Value>) -> bool {
    match (statement.get("Action"), statement.get("NotAction")) {
        (Some(actions), _) => strings(actions).any(|action| action == "*" || action == "*:*"),
        (None, Some(excluded)) => !strings(excluded).any(|action| action == "*"),
        (None, None) => false,
    }
}

fn reaches_any_resource(statement: &Map<String, Value>) -> bool {
    match (statement.get("Resource"), statement.get("NotResource")) {
        (Some(resources), _) => {
            strings(resources).any(|resource| matches!(resource, "*" | "*/*" | "*:*"))
        }
        (None, Some(excluded)) => !strings(excluded).any(|resource| resource == "*"),
        (None, None) => false,
    }
}

fn names_every(value: Option<&Value>) -> bool {
    value.is_some_and(|value| strings(value).any(|item| item == "*"))
}

/// A policy element that is one string or a list of strings (other items are ignored).
fn strings(value: &Value) -> impl Iterator<Item = &str> {
    let items: &[Value] = match value {
        Value::Array(items) => items,
        single => std::slice::from_ref(single),
    };
    items.iter().filter_map(Value::as_str)
}

// ---------------------------------------------------------------------------------------------
// Account settings

fn password_policy(snapshot: &AwsSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let thresholds = &ctx.thresholds.aws;
    each_account(snapshot, |account| {
        let policy = need(account, PART_PASSWORD_POLICY, account.password_policy.as_ref())?;
        let resource = account.resource();
        let wanted = wanted_policy(thresholds);
        Ok(vec![match policy {
            AccountPasswordPolicy::NotSet => Verdict::fail(
                resource,
                format!(
                    "no password policy is set, so the AWS default applies (minimum length 8, three of four character types, no reuse prevention, no expiry); set one requiring {wanted}"
                ),
            ),
            AccountPasswordPolicy::Set(policy) => {
                let shortfalls = password_shortfalls(policy, thresholds);
                if shortfalls.is_empty() {
                    Verdict::pass(resource, format!("the password policy meets the bar: {wanted}"))
                } else {
                    Verdict::fail(
                        resource,
                        format!(
                            "the password policy falls short: {}; require {wanted}",
                            shortfalls.join(", ")
                        ),
                    )
                }
            }
        }])
    })
}

fn wanted_policy(thresholds: &AwsThresholds) -> String {
    let mut wanted = format!(
        "at least {} characters, upper- and lowercase letters, numbers and symbols, and no reuse of the last {} passwords",
        thresholds.password_min_length, thresholds.password_reuse
    );
    if let Some(max_age) = thresholds.password_max_age_days {
        wanted.push_str(&format!(", with passwords expiring within {}", days(i64::from(max_age))));
    }
    wanted
}

fn password_shortfalls(policy: &PasswordPolicy, thresholds: &AwsThresholds) -> Vec<String> {
    let mut shortfalls = Vec::new();
    match policy.minimum_password_length {
        Some(length) if length >= thresholds.password_min_length => {}
        Some(length) => shortfalls.push(format!("minimum length {length}")),
        None => shortfalls.push("no minimum length".to_owned()),
    }
    // Steampipe requires `>= 24`, Prowler `== 24` (sic); the same thing at the default, since 24
    // is the most IAM accepts. We take `>=`, so a lower configured bar means "at least".
    match policy.password_reuse_prevention {
        Some(count) if count >= thresholds.password_reuse => {}
        Some(count) => {
            shortfalls.push(format!("reuse blocked for only the last {count} passwords"))
        }
        None => shortfalls.push("password reuse allowed".to_owned()),
    }
    let classes = [
        (policy.require_uppercase_characters, "uppercase letters"),
        (policy.require_lowercase_characters, "lowercase letters"),
        (policy.require_numbers, "numbers"),
        (policy.require_symbols, "symbols"),
    ];
    for (required, class) in classes {
        if !required {
            shortfalls.push(format!("{class} not required"));
        }
    }
    if let Some(limit) = thresholds.password_max_age_days {
        match policy.max_password_age.filter(|age| *age > 0) {
            Some(age) if age <= limit => {}
            Some(age) => {
                shortfalls.push(format!("passwords expire after {}", days(i64::from(age))))
            }
            None => shortfalls.push("passwords never expire".to_owned()),
        }
    }
    shortfalls
}

fn support_role(snapshot: &AwsSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    each_account(snapshot, |account| {
        let roles =
            need(account, PART_SUPPORT_ACCESS_ROLES, account.support_access_roles.as_ref())?;
        let resource = account.resource();
        Ok(vec![if roles.is_empty() {
            Verdict::fail(
                resource,
                "no IAM role has the AWSSupportAccess policy; create one so incidents can be raised with AWS Support",
            )
        } else {
            let names: Vec<&str> = roles.iter().map(|role| role.role_name.as_str()).collect();
            Verdict::pass(
                resource,
                format!("AWSSupportAccess is attached to role {}", names.join(", ")),
            )
        }])
    })
}

// ---------------------------------------------------------------------------------------------
// Shared

/// Judges every account and adds one error per snapshot-wide gap. `judge` returns the account's
/// verdicts (never none), or, through `?` on [`need`], the one error saying which part is missing.
/// A snapshot without accounts is an error, not "nothing to judge": the collector was configured
/// with some account, or there would be no snapshot.
fn each_account(
    snapshot: &AwsSnapshot,
    judge: impl Fn(&AwsAccount) -> Result<Vec<Verdict>, Verdict>,
) -> Vec<Verdict> {
    let mut verdicts: Vec<Verdict> = snapshot
        .gaps
        .iter()
        .map(|(part, reason)| {
            Verdict::error(
                "aws-accounts",
                format!("some AWS accounts may be missing ({part}): {reason}"),
            )
        })
        .collect();
    verdicts.extend(
        snapshot
            .accounts
            .iter()
            .flat_map(|account| judge(account).unwrap_or_else(|verdict| vec![verdict])),
    );
    if verdicts.is_empty() {
        verdicts.push(Verdict::error(
            "aws-accounts",
            "the snapshot holds no AWS accounts; check the accounts Kushim is configured to assume roles into",
        ));
    }
    verdicts
}

/// A part of `account`, or the `error` verdict saying why it is missing. A part listed in the
/// gaps is missing even if something was stored for it (e.g. a half-paged result).
fn need<'a, T>(account: &AwsAccount, part: &str, data: Option<&'a T>) -> Result<&'a T, Verdict> {
    let what = match part {
        PART_CREDENTIAL_REPORT => "the credential report",
        PART_ACCOUNT_SUMMARY => "GetAccountSummary",
        PART_PASSWORD_POLICY => "the password policy",
        PART_VIRTUAL_MFA_DEVICES => "the virtual MFA device list",
        PART_AUTHORIZATION_DETAILS => "GetAccountAuthorizationDetails",
        PART_SUPPORT_ACCESS_ROLES => "the roles holding AWSSupportAccess",
        other => other,
    };
    match (account.gap(part), data) {
        (Some(reason), _) => Err(Verdict::error(
            account.resource(),
            format!("{what} could not be fetched: {reason}"),
        )),
        (None, Some(data)) => Ok(data),
        (None, None) => {
            Err(Verdict::error(account.resource(), format!("{what} was not collected")))
        }
    }
}

fn user_resource(account: &AwsAccount, user: &str) -> String {
    format!("iam-user:{}/{user}", account.account_id)
}

/// Whole days from `then` to `now` (negative when `then` is later).
fn days_since(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    (now - then).num_days()
}

fn days(count: i64) -> String {
    if count == 1 { "1 day".to_owned() } else { format!("{count} days") }
}

/// "134 days ago", "5 hours ago", for reasons.
fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let elapsed = now - then;
    if elapsed.num_days() >= 1 {
        format!("{} ago", days(elapsed.num_days()))
    } else if elapsed.num_hours() >= 1 {
        let hours = elapsed.num_hours();
        if hours == 1 { "1 hour ago".to_owned() } else { format!("{hours} hours ago") }
    } else if elapsed.num_minutes() >= 0 {
        "less than an hour ago".to_owned()
    } else {
        format!("at {} (after the time of judgement)", then.format("%Y-%m-%d %H:%M UTC"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    use super::*;
    use crate::checks::Outcome::{self, Error, Fail, NotApplicable, Pass};
    use crate::integrations::aws::{
        AccountSummary, CertColumns, IamRole, PART_ACCOUNT, PART_ACCOUNTS, SupportAccessRole,
        VirtualMfaDevice,
    };

    const ID: &str = "123456789012";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    fn days_ago(days: i64) -> DateTime<Utc> {
        now() - Duration::days(days)
    }

    fn hours_ago(hours: i64) -> DateTime<Utc> {
        now() - Duration::hours(hours)
    }

    fn ctx() -> CheckContext {
        CheckContext::new(now())
    }

    fn ctx_with(change: impl FnOnce(&mut AwsThresholds)) -> CheckContext {
        let mut ctx = ctx();
        change(&mut ctx.thresholds.aws);
        ctx
    }

    // --- Policy documents -------------------------------------------------------------------

    fn doc(statement: Value) -> Value {
        json!({ "Version": "2012-10-17", "Statement": statement })
    }

    fn star_star() -> Value {
        doc(json!({ "Effect": "Allow", "Action": "*", "Resource": "*" }))
    }

    fn scoped() -> Value {
        doc(
            json!([{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*" }]),
        )
    }

    fn aws_managed(name: &str) -> AttachedPolicy {
        AttachedPolicy {
            policy_name: name.into(),
            policy_arn: format!("arn:aws:iam::aws:policy/{name}"),
        }
    }

    fn customer_managed(name: &str) -> AttachedPolicy {
        AttachedPolicy {
            policy_name: name.into(),
            policy_arn: format!("arn:aws:iam::{ID}:policy/{name}"),
        }
    }

    fn inline_policy(name: &str, document: Value) -> InlinePolicy {
        InlinePolicy { policy_name: name.into(), document }
    }

    // --- Access keys -------------------------------------------------------------------------

    struct Key(AccessKeyColumns);

    /// An active key, rotated 10 days ago, used yesterday.
    fn key() -> Key {
        Key(AccessKeyColumns {
            active: true,
            last_rotated: ReportCell::Value(days_ago(10)),
            last_used_date: ReportCell::Value(days_ago(1)),
            last_used_region: ReportCell::Value("eu-west-1".into()),
            last_used_service: ReportCell::Value("s3".into()),
        })
    }

    fn no_key() -> AccessKeyColumns {
        AccessKeyColumns {
            active: false,
            last_rotated: ReportCell::NotApplicable,
            last_used_date: ReportCell::NotApplicable,
            last_used_region: ReportCell::NotApplicable,
            last_used_service: ReportCell::NotApplicable,
        }
    }

    fn no_cert() -> CertColumns {
        CertColumns { active: false, last_rotated: ReportCell::NotApplicable }
    }

    impl Key {
        fn rotated(mut self, days: i64) -> Self {
            self.0.last_rotated = ReportCell::Value(days_ago(days));
            self
        }

        fn rotation_unknown(mut self) -> Self {
            self.0.last_rotated = ReportCell::NotApplicable;
            self
        }

        fn used(self, days: i64) -> Self {
            self.used_at(days_ago(days))
        }

        fn used_at(mut self, at: DateTime<Utc>) -> Self {
            self.0.last_used_date = ReportCell::Value(at);
            self
        }

        /// `N/A` in the last-used columns, as the report writes for a never-used key.
        fn never_used(mut self) -> Self {
            self.0.last_used_date = ReportCell::NotApplicable;
            self.0.last_used_region = ReportCell::NotApplicable;
            self.0.last_used_service = ReportCell::NotApplicable;
            self
        }

        fn inactive(mut self) -> Self {
            self.0.active = false;
            self
        }
    }

    // --- Users -------------------------------------------------------------------------------

    /// One IAM user as both the credential report and GetAccountAuthorizationDetails see them.
    struct User {
        row: CredentialReportRow,
        iam: IamUser,
    }

    /// A console user with MFA, signed in two days ago, no keys, no groups, no policies.
    fn user(name: &str) -> User {
        let arn = format!("arn:aws:iam::{ID}:user/{name}");
        User {
            row: CredentialReportRow {
                user: name.into(),
                arn: arn.clone(),
                user_creation_time: days_ago(400),
                password_enabled: ReportCell::Value(true),
                password_last_used: ReportCell::Value(days_ago(2)),
                password_last_changed: ReportCell::Value(days_ago(300)),
                password_next_rotation: ReportCell::NotApplicable,
                mfa_active: true,
                access_key_1: no_key(),
                access_key_2: no_key(),
                cert_1: no_cert(),
                cert_2: no_cert(),
            },
            iam: IamUser {
                user_name: name.into(),
                user_id: format!("AIDA{name}"),
                arn,
                create_date: days_ago(400),
                attached_managed_policies: vec![],
                inline_policies: vec![],
                group_names: vec![],
            },
        }
    }

    impl User {
        fn api_only(mut self) -> Self {
            self.row.password_enabled = ReportCell::Value(false);
            self.row.password_last_used = ReportCell::NotApplicable;
            self.row.password_last_changed = ReportCell::NotApplicable;
            self
        }

        fn no_mfa(mut self) -> Self {
            self.row.mfa_active = false;
            self
        }

        fn password_enabled(mut self, cell: ReportCell<bool>) -> Self {
            self.row.password_enabled = cell;
            self
        }

        fn signed_in(mut self, days: i64) -> Self {
            self.row.password_last_used = ReportCell::Value(days_ago(days));
            self
        }

        /// `no_information` in password_last_used; the password was set `set` days ago.
        fn never_signed_in(mut self, set: i64) -> Self {
            self.row.password_last_used = ReportCell::NoInformation;
            self.row.password_last_changed = ReportCell::Value(days_ago(set));
            self
        }

        fn password_change_unknown(mut self) -> Self {
            self.row.password_last_changed = ReportCell::NotApplicable;
            self
        }

        fn created(mut self, days: i64) -> Self {
            self.row.user_creation_time = days_ago(days);
            self.iam.create_date = days_ago(days);
            self
        }

        fn key1(mut self, key: Key) -> Self {
            self.row.access_key_1 = key.0;
            self
        }

        fn key2(mut self, key: Key) -> Self {
            self.row.access_key_2 = key.0;
            self
        }

        fn in_group(mut self, group: &str) -> Self {
            self.iam.group_names.push(group.into());
            self
        }

        fn attach(mut self, policy: AttachedPolicy) -> Self {
            self.iam.attached_managed_policies.push(policy);
            self
        }

        fn inline(mut self, name: &str, document: Value) -> Self {
            self.iam.inline_policies.push(inline_policy(name, document));
            self
        }
    }

    // --- Accounts ----------------------------------------------------------------------------

    struct Account(AwsAccount);

    /// A clean account: root with hardware MFA, no root keys, root last used 30 days ago, a
    /// strong password policy, a support role, and no IAM users.
    fn account() -> Account {
        Account(AwsAccount {
            account_id: ID.into(),
            credential_report: Some(CredentialReport {
                generated_at: hours_ago(1),
                root: Some(CredentialReportRow {
                    user: "<root_account>".into(),
                    arn: format!("arn:aws:iam::{ID}:root"),
                    user_creation_time: days_ago(2_000),
                    password_enabled: ReportCell::NotSupported,
                    password_last_used: ReportCell::Value(days_ago(30)),
                    password_last_changed: ReportCell::NotSupported,
                    password_next_rotation: ReportCell::NotSupported,
                    mfa_active: true,
                    access_key_1: no_key(),
                    access_key_2: no_key(),
                    cert_1: no_cert(),
                    cert_2: no_cert(),
                }),
                users: vec![],
            }),
            account_summary: Some(AccountSummary {
                account_mfa_enabled: Some(true),
                account_access_keys_present: Some(false),
                account_password_present: Some(true),
                account_signing_certificates_present: Some(false),
                users: Some(0),
                mfa_devices_in_use: Some(1),
            }),
            password_policy: Some(AccountPasswordPolicy::Set(strong_policy())),
            virtual_mfa_devices: Some(vec![]),
            authorization_details: Some(AuthorizationDetails::default()),
            support_access_roles: Some(vec![SupportAccessRole {
                role_name: "support".into(),
                role_id: "AROASUPPORT".into(),
            }]),
            gaps: Default::default(),
        })
    }

    fn strong_policy() -> PasswordPolicy {
        PasswordPolicy {
            minimum_password_length: Some(14),
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            allow_users_to_change_password: true,
            expire_passwords: true,
            max_password_age: Some(90),
            password_reuse_prevention: Some(24),
            hard_expiry: Some(false),
        }
    }

    impl Account {
        fn report(&mut self) -> &mut CredentialReport {
            self.0.credential_report.as_mut().expect("add to the report before removing it")
        }

        fn details(&mut self) -> &mut AuthorizationDetails {
            self.0.authorization_details.as_mut().expect("add details before removing them")
        }

        fn root(&mut self) -> &mut CredentialReportRow {
            self.report().root.as_mut().expect("the root row was removed")
        }

        fn summary(&mut self) -> &mut AccountSummary {
            self.0.account_summary.as_mut().expect("the summary was removed")
        }

        fn with(mut self, user: User) -> Self {
            self.report().users.push(user.row);
            self.details().users.push(user.iam);
            self
        }

        /// A user GetAccountAuthorizationDetails lists but the (older) report does not.
        fn with_unreported(mut self, user: User) -> Self {
            self.details().users.push(user.iam);
            self
        }

        /// The part is missing and the collector says why.
        fn without(mut self, part: &str, reason: &str) -> Self {
            let account = &mut self.0;
            match part {
                PART_CREDENTIAL_REPORT => account.credential_report = None,
                PART_ACCOUNT_SUMMARY => account.account_summary = None,
                PART_PASSWORD_POLICY => account.password_policy = None,
                PART_VIRTUAL_MFA_DEVICES => account.virtual_mfa_devices = None,
                PART_AUTHORIZATION_DETAILS => account.authorization_details = None,
                PART_SUPPORT_ACCESS_ROLES => account.support_access_roles = None,
                PART_ACCOUNT => {
                    let id = account.account_id.clone();
                    *account = AwsAccount { account_id: id, ..AwsAccount::default() };
                }
                other => panic!("unknown part {other}"),
            }
            account.gaps.insert(part.into(), reason.into());
            self
        }

        /// moto's report: no `<root_account>` row.
        fn without_root_row(mut self) -> Self {
            self.report().root = None;
            self
        }

        fn root_mfa(mut self, enabled: Option<bool>) -> Self {
            self.summary().account_mfa_enabled = enabled;
            self
        }

        fn root_keys(mut self, present: Option<bool>) -> Self {
            self.summary().account_access_keys_present = present;
            self
        }

        fn root_password(mut self, present: bool) -> Self {
            self.summary().account_password_present = Some(present);
            self
        }

        fn root_key_in_report(mut self, key: Key) -> Self {
            self.root().access_key_1 = key.0;
            self
        }

        fn root_row_without_mfa(mut self) -> Self {
            self.root().mfa_active = false;
            self
        }

        fn root_password_used(mut self, cell: ReportCell<DateTime<Utc>>) -> Self {
            self.root().password_last_used = cell;
            self
        }

        fn virtual_mfa(mut self, serial: &str, user_arn: &str) -> Self {
            self.0.virtual_mfa_devices.as_mut().expect("device list removed").push(
                VirtualMfaDevice {
                    serial_number: serial.into(),
                    user_arn: Some(user_arn.into()),
                    enable_date: Some(days_ago(100)),
                },
            );
            self
        }

        fn password_policy(mut self, policy: AccountPasswordPolicy) -> Self {
            self.0.password_policy = Some(policy);
            self
        }

        fn group(
            mut self,
            name: &str,
            attached: Vec<AttachedPolicy>,
            inline: Vec<InlinePolicy>,
        ) -> Self {
            self.details().groups.push(IamGroup {
                group_name: name.into(),
                arn: format!("arn:aws:iam::{ID}:group/{name}"),
                attached_managed_policies: attached,
                inline_policies: inline,
            });
            self
        }

        fn role(mut self, name: &str, inline: Vec<InlinePolicy>) -> Self {
            self.details().roles.push(IamRole {
                role_name: name.into(),
                arn: format!("arn:aws:iam::{ID}:role/{name}"),
                attached_managed_policies: vec![],
                inline_policies: inline,
            });
            self
        }

        fn managed(mut self, name: &str, document: Value, attachments: u32) -> Self {
            self.details().policies.push(ManagedPolicy {
                policy_name: name.into(),
                arn: format!("arn:aws:iam::{ID}:policy/{name}"),
                attachment_count: attachments,
                default_version_id: "v1".into(),
                document,
            });
            self
        }

        fn support_roles(mut self, names: &[&str]) -> Self {
            self.0.support_access_roles = Some(
                names
                    .iter()
                    .map(|name| SupportAccessRole {
                        role_name: (*name).into(),
                        role_id: format!("AROA{name}"),
                    })
                    .collect(),
            );
            self
        }

        fn snapshot(self) -> AwsSnapshot {
            AwsSnapshot { accounts: vec![self.0], gaps: Default::default() }
        }
    }

    // --- Table runner ------------------------------------------------------------------------

    struct Row {
        name: &'static str,
        account: Account,
        expect: &'static [Outcome],
        /// A phrase one of the reasons must contain.
        says: &'static str,
    }

    fn row(
        name: &'static str,
        account: Account,
        expect: &'static [Outcome],
        says: &'static str,
    ) -> Row {
        Row { name, account, expect, says }
    }

    fn run(id: &str, snapshot: &AwsSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
        let check =
            CHECKS.iter().find(|check| check.id == id).unwrap_or_else(|| panic!("no check {id}"));
        let Judge::Aws(judge) = check.judge else { panic!("{id} is not an AWS check") };
        judge(snapshot, ctx)
    }

    fn table(id: &str, rows: Vec<Row>) {
        table_at(id, &ctx(), rows);
    }

    fn table_at(id: &str, ctx: &CheckContext, rows: Vec<Row>) {
        for row in rows {
            assert!(!row.says.is_empty(), "{id} / {}: give a phrase to look for", row.name);
            let verdicts = run(id, &row.account.snapshot(), ctx);
            let outcomes: Vec<Outcome> = verdicts.iter().map(|verdict| verdict.outcome).collect();
            assert_eq!(outcomes, row.expect, "{id} / {}: {verdicts:#?}", row.name);
            assert!(
                verdicts.iter().any(|verdict| verdict.reason.contains(row.says)),
                "{id} / {}: no reason says {:?}: {verdicts:#?}",
                row.name,
                row.says
            );
        }
    }

    // --- Registry and thresholds -------------------------------------------------------------

    #[test]
    fn check_ids_are_the_assigned_ones_unique_and_prefixed() {
        let ids: Vec<&str> = CHECKS.iter().map(|check| check.id).collect();
        assert_eq!(
            ids,
            [
                "aws.iam.root_mfa",
                "aws.iam.root_hardware_mfa",
                "aws.iam.root_no_access_keys",
                "aws.iam.root_not_used",
                "aws.iam.console_users_mfa",
                "aws.iam.admin_users_mfa",
                "aws.iam.access_keys_rotated_90d",
                "aws.iam.access_keys_unused_45d",
                "aws.iam.console_unused_45d",
                "aws.iam.single_active_key",
                "aws.iam.no_unused_setup_key",
                "aws.iam.password_policy",
                "aws.iam.no_user_policies",
                "aws.iam.no_star_star_policies",
                "aws.iam.no_user_admin_access",
                "aws.iam.support_role",
            ]
        );
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "duplicate check id");
        assert!(ids.iter().all(|id| id.starts_with("aws.")), "{ids:?}");
        assert!(CHECKS.iter().all(|check| matches!(check.judge, Judge::Aws(_))));
    }

    #[test]
    fn thresholds_default_to_the_documented_values() {
        let defaults = AwsThresholds::default();
        assert_eq!(defaults.key_max_age_days, 90);
        assert_eq!(defaults.unused_key_days, 45);
        assert_eq!(defaults.unused_console_days, 45);
        assert_eq!(defaults.password_min_length, 14);
        assert_eq!(defaults.password_reuse, 24);
        assert_eq!(defaults.password_max_age_days, Some(90));
        assert_eq!(defaults.root_recent_use_days, 1);
        let empty: AwsThresholds = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty, defaults);
    }

    #[test]
    fn password_expiry_is_a_number_of_days_or_false() {
        let parse = |value: Value| serde_json::from_value::<AwsThresholds>(value);
        assert_eq!(
            parse(json!({ "password_max_age_days": false })).unwrap().password_max_age_days,
            None
        );
        assert_eq!(
            parse(json!({ "password_max_age_days": 60 })).unwrap().password_max_age_days,
            Some(60)
        );
        assert!(parse(json!({ "password_max_age_days": true })).is_err());
        assert!(parse(json!({ "password_max_age_days": 0 })).is_err());
        assert!(parse(json!({ "password_max_age_days": -3 })).is_err());
        assert!(parse(json!({ "key_max_age": 30 })).is_err(), "unknown keys are rejected");
    }

    // --- Snapshot-wide behaviour ---------------------------------------------------------------

    #[test]
    fn no_accounts_is_an_error_for_every_check() {
        for check in CHECKS {
            let verdicts = run(check.id, &AwsSnapshot::default(), &ctx());
            assert_eq!(verdicts.len(), 1, "{}: {verdicts:?}", check.id);
            assert_eq!(verdicts[0].outcome, Error, "{}", check.id);
            assert!(verdicts[0].reason.contains("no AWS accounts"), "{}", check.id);
        }
    }

    #[test]
    fn a_snapshot_wide_gap_adds_an_error_beside_the_accounts_verdicts() {
        let mut snapshot = account().snapshot();
        snapshot.gaps.insert(PART_ACCOUNTS.into(), "organizations:ListAccounts denied".into());
        for check in CHECKS {
            let verdicts = run(check.id, &snapshot, &ctx());
            assert_eq!(verdicts[0].outcome, Error, "{}", check.id);
            assert_eq!(verdicts[0].resource, "aws-accounts");
            assert!(verdicts[0].reason.contains("ListAccounts denied"), "{}", check.id);
            assert!(verdicts.len() >= 2, "{}: the account is judged too", check.id);
        }
    }

    #[test]
    fn an_account_that_could_not_be_entered_is_an_error_for_every_check() {
        let snapshot = account().without(PART_ACCOUNT, "sts:AssumeRole was denied").snapshot();
        for check in CHECKS {
            let verdicts = run(check.id, &snapshot, &ctx());
            let outcomes: Vec<Outcome> = verdicts.iter().map(|verdict| verdict.outcome).collect();
            assert_eq!(outcomes, [Error], "{}: {verdicts:?}", check.id);
            assert!(verdicts[0].reason.contains("sts:AssumeRole was denied"), "{}", check.id);
            assert_eq!(verdicts[0].resource, format!("aws-account:{ID}"));
        }
    }

    #[test]
    fn each_account_is_judged_under_its_own_resource() {
        let mut other = account().root_mfa(Some(false)).0;
        other.account_id = "210987654321".into();
        let mut snapshot = account().snapshot();
        snapshot.accounts.push(other);
        let verdicts = run("aws.iam.root_mfa", &snapshot, &ctx());
        let judged: Vec<(&str, Outcome)> =
            verdicts.iter().map(|verdict| (verdict.resource.as_str(), verdict.outcome)).collect();
        assert_eq!(
            judged,
            [("aws-account:123456789012", Pass), ("aws-account:210987654321", Fail)]
        );
    }

    #[test]
    fn user_verdicts_name_the_account_and_the_user() {
        let snapshot = account().with(user("alice").no_mfa()).snapshot();
        let verdicts = run("aws.iam.console_users_mfa", &snapshot, &ctx());
        assert_eq!(verdicts[0].resource, "iam-user:123456789012/alice");
    }

    // --- Root --------------------------------------------------------------------------------

    #[test]
    fn root_mfa() {
        table(
            "aws.iam.root_mfa",
            vec![
                row(
                    "root has MFA",
                    account(),
                    &[Pass],
                    "MFA enabled (GetAccountSummary AccountMFAEnabled)",
                ),
                row(
                    "root has no MFA",
                    account().root_mfa(Some(false)),
                    &[Fail],
                    "root user has no MFA device",
                ),
                row(
                    "no root row (moto): the summary alone, and the reason says so",
                    account().without_root_row(),
                    &[Pass],
                    "alone: the credential report has no <root_account> row",
                ),
                row(
                    "no root row and no MFA",
                    account().without_root_row().root_mfa(Some(false)),
                    &[Fail],
                    "no <root_account> row",
                ),
                row(
                    "missing credential report does not stop the summary",
                    account().without(PART_CREDENTIAL_REPORT, "ReportInProgress"),
                    &[Pass],
                    "the credential report is unavailable",
                ),
                row(
                    "summary could not be fetched",
                    account()
                        .without(PART_ACCOUNT_SUMMARY, "AccessDenied on iam:GetAccountSummary"),
                    &[Error],
                    "AccessDenied on iam:GetAccountSummary",
                ),
                row(
                    "summary lacks the entry",
                    account().root_mfa(None),
                    &[Error],
                    "no AccountMFAEnabled entry",
                ),
            ],
        );
    }

    #[test]
    fn root_hardware_mfa() {
        let root_device = format!("arn:aws:iam::{ID}:mfa/root-account-mfa-device");
        let root_arn = format!("arn:aws:iam::{ID}:root");
        table(
            "aws.iam.root_hardware_mfa",
            vec![
                row(
                    "MFA on, no virtual device on root",
                    account().virtual_mfa(
                        "arn:aws:iam::123456789012:mfa/alice",
                        "arn:aws:iam::123456789012:user/alice",
                    ),
                    &[Pass],
                    "so it is a hardware device",
                ),
                row(
                    "virtual device bound to root",
                    account().virtual_mfa(&root_device, &root_arn),
                    &[Fail],
                    "virtual device arn:aws:iam::123456789012:mfa/root-account-mfa-device",
                ),
                row(
                    "virtual device on root in GovCloud",
                    account().virtual_mfa(
                        "arn:aws-us-gov:iam::123456789012:mfa/root-account-mfa-device",
                        "arn:aws-us-gov:iam::123456789012:root",
                    ),
                    &[Fail],
                    "replace it with a hardware",
                ),
                row(
                    "an IAM user named root is not the root user",
                    account().virtual_mfa(
                        "arn:aws:iam::123456789012:mfa/root",
                        "arn:aws:iam::123456789012:user/root",
                    ),
                    &[Pass],
                    "hardware device",
                ),
                row(
                    "no MFA at all",
                    account().root_mfa(Some(false)),
                    &[Fail],
                    "no MFA device at all",
                ),
                row(
                    "no root row: judged from the summary",
                    account().without_root_row(),
                    &[Pass],
                    "no <root_account> row",
                ),
                row(
                    "device list could not be fetched",
                    account().without(
                        PART_VIRTUAL_MFA_DEVICES,
                        "AccessDenied on iam:ListVirtualMFADevices",
                    ),
                    &[Error],
                    "iam:ListVirtualMFADevices",
                ),
                row(
                    "summary could not be fetched",
                    account().without(PART_ACCOUNT_SUMMARY, "Throttling"),
                    &[Error],
                    "GetAccountSummary could not be fetched: Throttling",
                ),
            ],
        );
    }

    #[test]
    fn root_no_access_keys() {
        table(
            "aws.iam.root_no_access_keys",
            vec![
                row(
                    "no root keys",
                    account(),
                    &[Pass],
                    "no access keys (GetAccountSummary AccountAccessKeysPresent)",
                ),
                row(
                    "root key present, detail from the root row",
                    account().root_keys(Some(true)).root_key_in_report(key().rotated(500).used(3)),
                    &[Fail],
                    "access key 1 is active, last used 3 days ago",
                ),
                row(
                    "root key never used",
                    account().root_keys(Some(true)).root_key_in_report(key().never_used()),
                    &[Fail],
                    "access key 1 is active, never used",
                ),
                row(
                    "no root row (moto): the summary alone, and the reason says so",
                    account().without_root_row().root_keys(Some(true)),
                    &[Fail],
                    "AccountAccessKeysPresent alone: the credential report has no <root_account> row",
                ),
                row(
                    "summary lacks the entry",
                    account().root_keys(None),
                    &[Error],
                    "no AccountAccessKeysPresent entry",
                ),
                row(
                    "summary could not be fetched",
                    account().without(PART_ACCOUNT_SUMMARY, "AccessDenied"),
                    &[Error],
                    "AccessDenied",
                ),
            ],
        );
    }

    #[test]
    fn root_not_used() {
        table(
            "aws.iam.root_not_used",
            vec![
                row(
                    "last sign-in 30 days ago",
                    account(),
                    &[Pass],
                    "last used 30 days ago (console sign-in)",
                ),
                row(
                    "signed in three hours ago",
                    account().root_password_used(ReportCell::Value(hours_ago(3))),
                    &[Fail],
                    "used 3 hours ago (console sign-in), within the last 1 day",
                ),
                row(
                    "a root key used 29 hours ago is within 1 day (whole days, as Prowler)",
                    account()
                        .root_key_in_report(key().used_at(hours_ago(29)).inactive())
                        .root_password_used(ReportCell::Value(days_ago(40))),
                    &[Fail],
                    "used 1 day ago (access key 1)",
                ),
                row(
                    "used two days ago",
                    account().root_password_used(ReportCell::Value(days_ago(2))),
                    &[Pass],
                    "last used 2 days ago",
                ),
                row(
                    "never used: no_information and no key use",
                    account().root_password_used(ReportCell::NoInformation),
                    &[Pass],
                    "no recorded use",
                ),
                row(
                    "root's not_supported password columns are not mistaken for use",
                    account().root_password_used(ReportCell::NotSupported),
                    &[Pass],
                    "no recorded use",
                ),
                row(
                    "no root row and root has a password: cannot judge",
                    account().without_root_row(),
                    &[Error],
                    "the credential report has no <root_account> row, so root's last use cannot be judged",
                ),
                row(
                    "no root row, but the summary shows root has no credentials",
                    account().without_root_row().root_password(false),
                    &[Pass],
                    "no password and no access keys (GetAccountSummary)",
                ),
                row(
                    "missing credential report",
                    account().without(PART_CREDENTIAL_REPORT, "ReportExpired"),
                    &[Error],
                    "the credential report could not be fetched: ReportExpired",
                ),
            ],
        );
        table_at(
            "aws.iam.root_not_used",
            &ctx_with(|t| t.root_recent_use_days = 7),
            vec![row(
                "a stricter window: used 3 days ago fails with 7",
                account().root_password_used(ReportCell::Value(days_ago(3))),
                &[Fail],
                "within the last 7 days",
            )],
        );
    }

    // --- Credential-report user checks -------------------------------------------------------

    #[test]
    fn console_users_mfa() {
        table(
            "aws.iam.console_users_mfa",
            vec![
                row(
                    "console user with MFA",
                    account().with(user("alice")),
                    &[Pass],
                    "alice has a console password and MFA",
                ),
                row(
                    "console user without MFA",
                    account().with(user("alice").no_mfa()),
                    &[Fail],
                    "alice has a console password and no MFA device",
                ),
                row(
                    "API-only user without MFA is out of scope",
                    account().with(user("bob").api_only().no_mfa()),
                    &[NotApplicable],
                    "no IAM user has a console password",
                ),
                row(
                    "one verdict per console user",
                    account()
                        .with(user("alice"))
                        .with(user("bob").no_mfa())
                        .with(user("carol").api_only()),
                    &[Pass, Fail],
                    "bob has a console password and no MFA",
                ),
                row(
                    "root is not judged here, even without MFA",
                    account().root_row_without_mfa().with(user("alice")),
                    &[Pass],
                    "alice has a console password and MFA",
                ),
                row("zero IAM users", account(), &[NotApplicable], "the account has no IAM users"),
                row(
                    "password_enabled not_supported on a user row",
                    account().with(user("alice").password_enabled(ReportCell::NotSupported)),
                    &[Error],
                    "password_enabled is not_supported for IAM user alice",
                ),
                row(
                    "missing credential report is an error, never a pass",
                    account()
                        .with(user("alice"))
                        .without(PART_CREDENTIAL_REPORT, "ReportNotPresent"),
                    &[Error],
                    "ReportNotPresent",
                ),
            ],
        );
    }

    #[test]
    fn access_keys_rotated() {
        table(
            "aws.iam.access_keys_rotated_90d",
            vec![
                row(
                    "key rotated 10 days ago",
                    account().with(user("alice").key1(key())),
                    &[Pass],
                    "access key 1 was last rotated 10 days ago (limit 90 days)",
                ),
                row(
                    "key rotated 134 days ago",
                    account().with(user("alice").key1(key().rotated(134))),
                    &[Fail],
                    "access key 1 was last rotated 134 days ago (limit 90 days); rotate it",
                ),
                row(
                    "exactly 90 days is still fine",
                    account().with(user("alice").key1(key().rotated(90))),
                    &[Pass],
                    "90 days ago",
                ),
                row(
                    "91 days is not",
                    account().with(user("alice").key1(key().rotated(91))),
                    &[Fail],
                    "91 days ago",
                ),
                row(
                    "an inactive old key is ignored",
                    account().with(user("alice").key1(key().rotated(400).inactive())),
                    &[NotApplicable],
                    "no IAM user has an active access key",
                ),
                row(
                    "inactive old key 1, fresh key 2",
                    account().with(
                        user("alice").key1(key().rotated(400).inactive()).key2(key().rotated(5)),
                    ),
                    &[Pass],
                    "access key 2 was last rotated 5 days ago",
                ),
                row(
                    "second key overdue",
                    account().with(user("alice").key1(key()).key2(key().rotated(200))),
                    &[Fail],
                    "access key 2 was last rotated 200 days ago",
                ),
                row(
                    "a never-used key is judged on rotation alone",
                    account().with(user("alice").key1(key().never_used())),
                    &[Pass],
                    "10 days ago",
                ),
                row(
                    "active key whose rotation date is N/A",
                    account().with(user("alice").key1(key().rotation_unknown())),
                    &[Error],
                    "access_key_1_last_rotated is N/A",
                ),
                row("zero IAM users", account(), &[NotApplicable], "no IAM users"),
                row(
                    "missing credential report",
                    account()
                        .with(user("alice").key1(key()))
                        .without(PART_CREDENTIAL_REPORT, "ReportExpired"),
                    &[Error],
                    "ReportExpired",
                ),
            ],
        );
        table_at(
            "aws.iam.access_keys_rotated_90d",
            &ctx_with(|t| t.key_max_age_days = 30),
            vec![row(
                "configured limit",
                account().with(user("alice").key1(key().rotated(45))),
                &[Fail],
                "(limit 30 days)",
            )],
        );
    }

    #[test]
    fn access_keys_unused() {
        table(
            "aws.iam.access_keys_unused_45d",
            vec![
                row(
                    "used three days ago",
                    account().with(user("alice").key1(key().used(3))),
                    &[Pass],
                    "access key 1 was last used 3 days ago (limit 45 days)",
                ),
                row(
                    "unused for 60 days",
                    account().with(user("alice").key1(key().rotated(100).used(60))),
                    &[Fail],
                    "access key 1 was last used 60 days ago (limit 45 days)",
                ),
                row(
                    "never used (N/A) and new",
                    account().with(user("alice").key1(key().never_used().rotated(10))),
                    &[Pass],
                    "access key 1 has never been used and was created 10 days ago",
                ),
                row(
                    "never used (N/A) and older than the limit",
                    account().with(user("alice").key1(key().never_used().rotated(60))),
                    &[Fail],
                    "access key 1 has never been used and was created 60 days ago",
                ),
                row(
                    "an inactive unused key is ignored",
                    account().with(user("alice").key1(key().never_used().rotated(300).inactive())),
                    &[NotApplicable],
                    "no IAM user has an active access key",
                ),
                row(
                    "never used and no creation date",
                    account().with(user("alice").key1(key().never_used().rotation_unknown())),
                    &[Error],
                    "its age is unknown",
                ),
                row("zero IAM users", account(), &[NotApplicable], "no IAM users"),
                row(
                    "missing credential report",
                    account().without(PART_CREDENTIAL_REPORT, "ReportInProgress"),
                    &[Error],
                    "ReportInProgress",
                ),
            ],
        );
    }

    #[test]
    fn console_unused() {
        table(
            "aws.iam.console_unused_45d",
            vec![
                row(
                    "signed in two days ago",
                    account().with(user("alice")),
                    &[Pass],
                    "alice last signed in 2 days ago",
                ),
                row(
                    "not signed in for 80 days",
                    account().with(user("alice").signed_in(80)),
                    &[Fail],
                    "alice last signed in 80 days ago (limit 45 days)",
                ),
                row(
                    "never signed in (no_information), password set 10 days ago",
                    account().with(user("alice").never_signed_in(10)),
                    &[Pass],
                    "alice has never signed in and the password was set 10 days ago",
                ),
                row(
                    "never signed in, password set 60 days ago",
                    account().with(user("alice").never_signed_in(60)),
                    &[Fail],
                    "the password was set 60 days ago (limit 45 days)",
                ),
                row(
                    "never signed in, no password date: the user's age",
                    account().with(
                        user("alice").never_signed_in(1).password_change_unknown().created(100),
                    ),
                    &[Fail],
                    "alice has never signed in and was created 100 days ago",
                ),
                row(
                    "API-only users are out of scope",
                    account().with(user("bob").api_only()),
                    &[NotApplicable],
                    "no IAM user has a console password",
                ),
                row("zero IAM users", account(), &[NotApplicable], "no IAM users"),
                row(
                    "missing credential report",
                    account().without(PART_CREDENTIAL_REPORT, "ReportExpired"),
                    &[Error],
                    "ReportExpired",
                ),
            ],
        );
    }

    #[test]
    fn single_active_key() {
        table(
            "aws.iam.single_active_key",
            vec![
                row(
                    "one active key",
                    account().with(user("alice").key1(key())),
                    &[Pass],
                    "alice has one active access key",
                ),
                row(
                    "two active keys",
                    account().with(user("alice").key1(key()).key2(key())),
                    &[Fail],
                    "both access keys of alice are active",
                ),
                row(
                    "one active, one inactive",
                    account().with(user("alice").key1(key().inactive()).key2(key())),
                    &[Pass],
                    "one active access key",
                ),
                row(
                    "no keys",
                    account().with(user("alice")),
                    &[NotApplicable],
                    "no IAM user has an active access key",
                ),
                row("zero IAM users", account(), &[NotApplicable], "no IAM users"),
                row(
                    "missing credential report",
                    account().without(PART_CREDENTIAL_REPORT, "ReportExpired"),
                    &[Error],
                    "ReportExpired",
                ),
            ],
        );
    }

    #[test]
    fn no_unused_setup_key() {
        table(
            "aws.iam.no_unused_setup_key",
            vec![
                row(
                    "console user whose key has been used",
                    account().with(user("alice").key1(key())),
                    &[Pass],
                    "every active access key of console user alice has been used",
                ),
                row(
                    "console user with a never-used key (N/A)",
                    account().with(user("alice").key1(key()).key2(key().never_used())),
                    &[Fail],
                    "console user alice holds access key 2 that has never been used",
                ),
                row(
                    "API-only user with a never-used key is out of scope",
                    account().with(user("bob").api_only().key1(key().never_used())),
                    &[NotApplicable],
                    "no IAM user has both a console password and an active access key",
                ),
                row(
                    "an inactive never-used key is ignored",
                    account().with(user("alice").key1(key().never_used().inactive())),
                    &[NotApplicable],
                    "no IAM user has both",
                ),
                row("zero IAM users", account(), &[NotApplicable], "no IAM users"),
                row(
                    "missing credential report",
                    account().without(PART_CREDENTIAL_REPORT, "ReportExpired"),
                    &[Error],
                    "ReportExpired",
                ),
            ],
        );
    }

    // --- Authorization-details checks --------------------------------------------------------

    #[test]
    fn admin_users_mfa() {
        table(
            "aws.iam.admin_users_mfa",
            vec![
                row(
                    "direct AdministratorAccess with MFA",
                    account().with(user("alice").attach(aws_managed("AdministratorAccess"))),
                    &[Pass],
                    "alice has administrator access (AdministratorAccess attached directly) and MFA enabled",
                ),
                row(
                    "admin through group membership, no MFA",
                    account()
                        .group("admins", vec![aws_managed("AdministratorAccess")], vec![])
                        .with(user("alice").in_group("admins").no_mfa()),
                    &[Fail],
                    "alice has administrator access (AdministratorAccess via group admins) and no MFA device",
                ),
                row(
                    "API-only admin without MFA also fails",
                    account()
                        .group("admins", vec![aws_managed("AdministratorAccess")], vec![])
                        .with(user("deploy").api_only().no_mfa().in_group("admins")),
                    &[Fail],
                    "deploy has administrator access",
                ),
                row(
                    "inline *:* on the user",
                    account().with(user("alice").no_mfa().inline("break-glass", star_star())),
                    &[Fail],
                    "inline policy break-glass allowing *:* attached directly",
                ),
                row(
                    "customer managed *:* through a group",
                    account()
                        .managed("everything", star_star(), 1)
                        .group("ops", vec![customer_managed("everything")], vec![])
                        .with(user("alice").in_group("ops").no_mfa()),
                    &[Fail],
                    "policy everything allowing *:* via group ops",
                ),
                row(
                    "a customer policy merely named AdministratorAccess is judged by its document",
                    account().managed("AdministratorAccess", scoped(), 1).with(
                        user("alice").no_mfa().attach(customer_managed("AdministratorAccess")),
                    ),
                    &[NotApplicable],
                    "no IAM user has administrator access",
                ),
                row(
                    "only non-admin users: one verdict per admin, here none",
                    account()
                        .group("readers", vec![aws_managed("ReadOnlyAccess")], vec![])
                        .with(user("alice").in_group("readers").no_mfa()),
                    &[NotApplicable],
                    "no IAM user has administrator access",
                ),
                row(
                    "admins and non-admins: only the admins are judged",
                    account()
                        .group("admins", vec![aws_managed("AdministratorAccess")], vec![])
                        .with(user("alice").in_group("admins"))
                        .with(user("bob").no_mfa()),
                    &[Pass],
                    "alice has administrator access",
                ),
                row("zero IAM users", account(), &[NotApplicable], "the account has no IAM users"),
                row(
                    "admin missing from an older credential report",
                    account()
                        .with_unreported(user("alice").attach(aws_managed("AdministratorAccess"))),
                    &[Error],
                    "missing from the credential report generated 2025-06-01 11:00 UTC",
                ),
                row(
                    "a group we could not see, and no MFA: cannot tell",
                    account().with(user("alice").in_group("ghosts").no_mfa()),
                    &[Error],
                    "cannot tell whether alice has administrator access: group ghosts is missing",
                ),
                row(
                    "a group we could not see, but MFA on: nothing to say",
                    account().with(user("alice").in_group("ghosts")),
                    &[NotApplicable],
                    "no IAM user has administrator access",
                ),
                row(
                    "authorization details could not be fetched",
                    account()
                        .with(user("alice"))
                        .without(PART_AUTHORIZATION_DETAILS, "AccessDenied"),
                    &[Error],
                    "GetAccountAuthorizationDetails could not be fetched: AccessDenied",
                ),
                row(
                    "missing credential report",
                    account()
                        .with(user("alice").attach(aws_managed("AdministratorAccess")))
                        .without(PART_CREDENTIAL_REPORT, "ReportInProgress"),
                    &[Error],
                    "ReportInProgress",
                ),
            ],
        );
    }

    #[test]
    fn no_user_policies() {
        table(
            "aws.iam.no_user_policies",
            vec![
                row(
                    "permissions through a group only",
                    account().with(user("alice").in_group("devs")),
                    &[Pass],
                    "alice gets permissions only through groups or roles",
                ),
                row(
                    "managed policy attached to the user",
                    account().with(user("alice").attach(aws_managed("ReadOnlyAccess"))),
                    &[Fail],
                    "alice has policies attached directly: ReadOnlyAccess (managed)",
                ),
                row(
                    "inline policy on the user",
                    account().with(user("alice").inline("s3-reports", scoped())),
                    &[Fail],
                    "s3-reports (inline)",
                ),
                row(
                    "one verdict per user",
                    account()
                        .with(user("alice"))
                        .with(user("bob").attach(aws_managed("AdministratorAccess"))),
                    &[Pass, Fail],
                    "bob has policies attached directly",
                ),
                row("zero IAM users", account(), &[NotApplicable], "the account has no IAM users"),
                row(
                    "authorization details could not be fetched",
                    account().without(PART_AUTHORIZATION_DETAILS, "Throttling"),
                    &[Error],
                    "Throttling",
                ),
            ],
        );
    }

    #[test]
    fn no_star_star_policies() {
        let attached = |document: Value| account().managed("p", document, 1);
        table(
            "aws.iam.no_star_star_policies",
            vec![
                row(
                    "Action \"*\" on Resource \"*\" as strings",
                    attached(star_star()),
                    &[Fail],
                    "customer managed policy p (version v1) allows every action on every resource (statement 1)",
                ),
                row(
                    "Action and Resource as lists",
                    attached(doc(
                        json!([{ "Sid": "Admin", "Effect": "Allow", "Action": ["*"], "Resource": ["*"] }]),
                    )),
                    &[Fail],
                    "statement \"Admin\"",
                ),
                row(
                    "\"*\" among other resources still covers everything",
                    attached(doc(
                        json!([{ "Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::a", "*"] }]),
                    )),
                    &[Fail],
                    "every action on every resource",
                ),
                row(
                    "Action \"*:*\" (Steampipe counts it)",
                    attached(doc(json!({ "Effect": "Allow", "Action": "*:*", "Resource": "*" }))),
                    &[Fail],
                    "every action",
                ),
                row(
                    "Allow with NotAction on everything (Prowler: administrator)",
                    attached(doc(
                        json!({ "Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*" }),
                    )),
                    &[Fail],
                    "every action",
                ),
                row(
                    "NotAction \"*\" allows nothing",
                    attached(doc(json!({ "Effect": "Allow", "NotAction": "*", "Resource": "*" }))),
                    &[Pass],
                    "does not allow every action",
                ),
                row(
                    "Action \"*\" with a NotResource",
                    attached(doc(
                        json!({ "Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::audit-logs/*" }),
                    )),
                    &[Fail],
                    "every action",
                ),
                row(
                    "a Deny statement of everything grants nothing",
                    attached(doc(json!({ "Effect": "Deny", "Action": "*", "Resource": "*" }))),
                    &[Pass],
                    "does not allow",
                ),
                row(
                    "an unconditional Deny of everything cancels the Allow",
                    attached(doc(json!([
                        { "Effect": "Allow", "Action": "*", "Resource": "*" },
                        { "Effect": "Deny", "Action": ["*"], "Resource": "*" }
                    ]))),
                    &[Pass],
                    "does not allow",
                ),
                row(
                    "a conditional Deny does not",
                    attached(doc(json!([
                        { "Effect": "Allow", "Action": "*", "Resource": "*" },
                        { "Effect": "Deny", "Action": "*", "Resource": "*",
                          "Condition": { "Bool": { "aws:MultiFactorAuthPresent": "false" } } }
                    ]))),
                    &[Fail],
                    "every action",
                ),
                row(
                    "a narrower Deny leaves an administrator grant",
                    attached(doc(json!([
                        { "Effect": "Allow", "Action": "*", "Resource": "*" },
                        { "Effect": "Deny", "Action": "iam:*", "Resource": "*" }
                    ]))),
                    &[Fail],
                    "every action",
                ),
                row(
                    "every action on one resource",
                    attached(doc(
                        json!({ "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::reports/*" }),
                    )),
                    &[Pass],
                    "does not allow",
                ),
                row(
                    "a whole service on every resource",
                    attached(doc(json!({ "Effect": "Allow", "Action": "s3:*", "Resource": "*" }))),
                    &[Pass],
                    "does not allow",
                ),
                row(
                    "an unattached policy is not judged",
                    account().managed("unused", star_star(), 0),
                    &[NotApplicable],
                    "no attached customer managed policies and no inline policies",
                ),
                row(
                    "inline policies of users, groups and roles",
                    account()
                        .with(user("alice").inline("mine", scoped()))
                        .group("ops", vec![], vec![inline_policy("ops-all", star_star())])
                        .role("deployer", vec![inline_policy("deploy", scoped())]),
                    &[Pass, Fail, Pass],
                    "inline policy ops-all of group ops allows every action",
                ),
                row(
                    "a document that is not JSON (left URL-encoded)",
                    attached(Value::String("%7B%22Statement%22%3A%5B%5D%7D".into())),
                    &[Error],
                    "cannot be read as a policy: the document is not a JSON object",
                ),
                row(
                    "a document without Statement",
                    attached(json!({ "Version": "2012-10-17" })),
                    &[Error],
                    "the document has no Statement",
                ),
                row(
                    "a statement without Effect",
                    attached(doc(json!([{ "Action": "*", "Resource": "*" }]))),
                    &[Error],
                    "statement 1 has no Effect of Allow or Deny",
                ),
                row(
                    "nothing attached",
                    account(),
                    &[NotApplicable],
                    "no attached customer managed policies",
                ),
                row(
                    "authorization details could not be fetched",
                    account().without(PART_AUTHORIZATION_DETAILS, "AccessDenied"),
                    &[Error],
                    "AccessDenied",
                ),
            ],
        );
        let verdicts = run(
            "aws.iam.no_star_star_policies",
            &account().role("deployer", vec![inline_policy("deploy", star_star())]).snapshot(),
            &ctx(),
        );
        assert_eq!(verdicts[0].resource, "iam-inline-policy:123456789012/role/deployer/deploy");
    }

    #[test]
    fn no_user_admin_access() {
        table(
            "aws.iam.no_user_admin_access",
            vec![
                row(
                    "AdministratorAccess attached to the user",
                    account().with(user("alice").attach(aws_managed("AdministratorAccess"))),
                    &[Fail],
                    "alice has the AWS managed AdministratorAccess policy attached directly",
                ),
                row(
                    "AdministratorAccess in another partition",
                    account().with(user("alice").attach(AttachedPolicy {
                        policy_name: "AdministratorAccess".into(),
                        policy_arn: "arn:aws-cn:iam::aws:policy/AdministratorAccess".into(),
                    })),
                    &[Fail],
                    "attached directly",
                ),
                row(
                    "admin through a group is fine here",
                    account()
                        .group("admins", vec![aws_managed("AdministratorAccess")], vec![])
                        .with(user("alice").in_group("admins")),
                    &[Pass],
                    "alice has no AdministratorAccess attached directly",
                ),
                row(
                    "a customer policy named AdministratorAccess is not the AWS one",
                    account().with(user("alice").attach(customer_managed("AdministratorAccess"))),
                    &[Pass],
                    "no AdministratorAccess attached directly",
                ),
                row("zero IAM users", account(), &[NotApplicable], "the account has no IAM users"),
                row(
                    "authorization details could not be fetched",
                    account().without(PART_AUTHORIZATION_DETAILS, "AccessDenied"),
                    &[Error],
                    "AccessDenied",
                ),
            ],
        );
    }

    // --- Account settings --------------------------------------------------------------------

    #[test]
    fn password_policy() {
        let set = |change: fn(&mut PasswordPolicy)| {
            let mut policy = strong_policy();
            change(&mut policy);
            account().password_policy(AccountPasswordPolicy::Set(policy))
        };
        table(
            "aws.iam.password_policy",
            vec![
                row("strong policy", account(), &[Pass], "meets the bar: at least 14 characters"),
                row(
                    "no policy (NoSuchEntity): the AWS default is named",
                    account().password_policy(AccountPasswordPolicy::NotSet),
                    &[Fail],
                    "no password policy is set, so the AWS default applies (minimum length 8",
                ),
                row(
                    "weak policy lists every shortfall",
                    account().password_policy(AccountPasswordPolicy::Set(PasswordPolicy {
                        minimum_password_length: Some(8),
                        ..PasswordPolicy::default()
                    })),
                    &[Fail],
                    "minimum length 8, password reuse allowed, uppercase letters not required, lowercase letters not required, numbers not required, symbols not required, passwords never expire",
                ),
                row(
                    "reuse too short",
                    set(|p| p.password_reuse_prevention = Some(5)),
                    &[Fail],
                    "reuse blocked for only the last 5 passwords",
                ),
                row(
                    "no minimum length",
                    set(|p| p.minimum_password_length = None),
                    &[Fail],
                    "no minimum length",
                ),
                row(
                    "expiry too long",
                    set(|p| p.max_password_age = Some(180)),
                    &[Fail],
                    "passwords expire after 180 days",
                ),
                row(
                    "symbols not required",
                    set(|p| p.require_symbols = false),
                    &[Fail],
                    "symbols not required",
                ),
                row(
                    "policy could not be fetched",
                    account().without(
                        PART_PASSWORD_POLICY,
                        "AccessDenied on iam:GetAccountPasswordPolicy",
                    ),
                    &[Error],
                    "the password policy could not be fetched: AccessDenied",
                ),
            ],
        );
        table_at(
            "aws.iam.password_policy",
            &ctx_with(|t| t.password_max_age_days = None),
            vec![row(
                "expiry not required when turned off",
                set(|p| p.max_password_age = None),
                &[Pass],
                "no reuse of the last 24 passwords",
            )],
        );
    }

    #[test]
    fn support_role() {
        table(
            "aws.iam.support_role",
            vec![
                row(
                    "a support role exists",
                    account(),
                    &[Pass],
                    "AWSSupportAccess is attached to role support",
                ),
                row(
                    "several roles",
                    account().support_roles(&["support", "oncall"]),
                    &[Pass],
                    "role support, oncall",
                ),
                row(
                    "no role holds it",
                    account().support_roles(&[]),
                    &[Fail],
                    "no IAM role has the AWSSupportAccess policy",
                ),
                row(
                    "could not be fetched",
                    account().without(
                        PART_SUPPORT_ACCESS_ROLES,
                        "AccessDenied on iam:ListEntitiesForPolicy",
                    ),
                    &[Error],
                    "iam:ListEntitiesForPolicy",
                ),
            ],
        );
    }
}
