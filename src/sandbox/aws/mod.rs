//! The AWS sandbox: a simulated organisation ([`world`]) served by an in-process IAM and STS
//! endpoint ([`server`]) that aws-sdk-iam is pointed at, as tests and `kushim demo` do:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use kushim::sandbox::aws::{self, world::generated_world};
//! let fake = aws::start(generated_world(150)).await?;
//! let collection = kushim::integrations::aws::collect_with(
//!     &fake.sdk_config(),
//!     &Default::default(),
//!     &Default::default(),
//! )
//! .await;
//! # Ok(()) }
//! ```
//!
//! Below, the snapshot-level generator for the evaluation benchmark: [`generated`] builds an
//! [`AwsSnapshot`] of about the requested number of IAM resources (users, groups, roles and
//! customer managed policies), spread over accounts of about 500 each.
//!
//! Everything follows from indexes, so the same size always gives the same snapshot, and the mix
//! of good and bad configuration is fixed: every 7th user lacks MFA, every 11th holds two active
//! keys, every 10th policy allows `*:*`, every 3rd account has no password policy, and so on.
//! Dates are laid out before [`as_of`]; judge the snapshot at that time
//! (`CheckContext::new(as_of())`) to get the intended mix.

pub mod server;
pub mod world;

pub use server::{FakeIam, start};
pub use world::{AwsAccountWorld, AwsWorld, generated_world};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::as_of;
use crate::integrations::Gaps;
use crate::integrations::aws::{
    AccessKeyColumns, AccountPasswordPolicy, AccountSummary, AttachedPolicy, AuthorizationDetails,
    AwsAccount, AwsSnapshot, CertColumns, CredentialReport, CredentialReportRow, IamGroup, IamRole,
    IamUser, InlinePolicy, ManagedPolicy, PART_CREDENTIAL_REPORT, PasswordPolicy, ReportCell,
    SupportAccessRole, VirtualMfaDevice,
};

/// IAM resources (users, groups, roles, customer managed policies) per generated account.
const ACCOUNT_SIZE: usize = 500;

const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const SUPPORT_ACCESS: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

/// A synthetic organisation of about `resources` IAM resources.
pub fn generated(resources: usize) -> AwsSnapshot {
    let count = resources.div_ceil(ACCOUNT_SIZE).max(1);
    let accounts = (0..count)
        .map(|index| {
            let budget = if index + 1 == count {
                resources.saturating_sub(index * ACCOUNT_SIZE)
            } else {
                ACCOUNT_SIZE
            };
            account(index, budget)
        })
        .collect();
    AwsSnapshot { accounts, gaps: Gaps::default() }
}

fn account(index: usize, budget: usize) -> AwsAccount {
    let id = format!("{:012}", 210_000_000_000_usize + index);
    let now = as_of();
    let group_count = (budget / 25).max(1);
    let policy_count = (budget / 10).max(1);
    let role_count = (budget / 10).max(1);
    let user_count = budget.saturating_sub(group_count + policy_count + role_count);
    let has_support_role = index.is_multiple_of(2);

    let mut attachments = vec![0_u32; policy_count];
    let mut attach = |number: usize| {
        attachments[number] += 1;
        attached(
            &format!("policy-{number:04}"),
            &format!("arn:aws:iam::{id}:policy/policy-{number:04}"),
        )
    };

    let groups: Vec<IamGroup> = (0..group_count)
        .map(|g| {
            let (name, policies) = if g == 0 {
                ("admins".to_owned(), vec![attached("AdministratorAccess", ADMINISTRATOR_ACCESS)])
            } else {
                (format!("team-{g:03}"), vec![attach(g * 3 % policy_count)])
            };
            let inline = if g % 9 == 4 { vec![inline("team-extra", g % 18 == 4)] } else { vec![] };
            IamGroup {
                arn: format!("arn:aws:iam::{id}:group/{name}"),
                group_name: name,
                attached_managed_policies: policies,
                inline_policies: inline,
            }
        })
        .collect();

    let roles: Vec<IamRole> = (0..role_count)
        .map(|r| {
            let (name, policies) = if r == 0 && has_support_role {
                ("support".to_owned(), vec![attached("AWSSupportAccess", SUPPORT_ACCESS)])
            } else {
                (format!("role-{r:04}"), vec![attach(r * 7 % policy_count)])
            };
            let inline = if r % 6 == 3 { vec![inline("role-inline", r % 12 == 3)] } else { vec![] };
            IamRole {
                arn: format!("arn:aws:iam::{id}:role/{name}"),
                role_name: name,
                attached_managed_policies: policies,
                inline_policies: inline,
            }
        })
        .collect();

    let users: Vec<IamUser> = (0..user_count)
        .map(|j| {
            let name = user_name(j);
            let mut policies = Vec::new();
            if j.is_multiple_of(13) {
                policies.push(attached("AdministratorAccess", ADMINISTRATOR_ACCESS));
            }
            if j.is_multiple_of(17) {
                policies.push(attach(j % policy_count));
            }
            let inline = if j.is_multiple_of(23) {
                vec![inline("user-inline", j.is_multiple_of(46))]
            } else {
                vec![]
            };
            let group_names = if j.is_multiple_of(19) {
                vec![]
            } else {
                vec![groups[j % group_count].group_name.clone()]
            };
            IamUser {
                arn: format!("arn:aws:iam::{id}:user/{name}"),
                user_id: format!("AIDA{index:04}{j:012}"),
                user_name: name,
                create_date: user_created(j),
                attached_managed_policies: policies,
                inline_policies: inline,
                group_names,
            }
        })
        .collect();

    let policies = attachments
        .iter()
        .enumerate()
        .map(|(p, count)| ManagedPolicy {
            policy_name: format!("policy-{p:04}"),
            arn: format!("arn:aws:iam::{id}:policy/policy-{p:04}"),
            attachment_count: *count,
            default_version_id: format!("v{}", 1 + p % 3),
            document: managed_document(p),
        })
        .collect();

    let root_mfa = index % 4 != 1;
    let root_keys = index % 5 == 2;
    let mut devices: Vec<VirtualMfaDevice> = (0..user_count)
        .filter(|j| !j.is_multiple_of(7) && j.is_multiple_of(2))
        .map(|j| VirtualMfaDevice {
            serial_number: format!("arn:aws:iam::{id}:mfa/{}", user_name(j)),
            user_arn: Some(format!("arn:aws:iam::{id}:user/{}", user_name(j))),
            enable_date: Some(user_created(j) + Duration::days(1)),
        })
        .collect();
    if root_mfa && index.is_multiple_of(3) {
        devices.push(VirtualMfaDevice {
            serial_number: format!("arn:aws:iam::{id}:mfa/root-account-mfa-device"),
            user_arn: Some(format!("arn:aws:iam::{id}:root")),
            enable_date: Some(now - Duration::days(700)),
        });
    }

    let mut gaps = Gaps::default();
    // Every 7th account's report never completed, as when polling gives up on ReportInProgress.
    let credential_report = if index % 7 == 6 {
        gaps.insert(
            PART_CREDENTIAL_REPORT.to_owned(),
            "GetCredentialReport still answered ReportInProgress after 5 attempts".to_owned(),
        );
        None
    } else {
        Some(CredentialReport {
            generated_at: now - Duration::hours(2),
            // Every 6th account's report has no root row, as moto's never does.
            root: (index % 6 != 5).then(|| root_row(&id, index, root_mfa, root_keys)),
            users: (0..user_count).map(|j| user_row(&id, j)).collect(),
        })
    };

    AwsAccount {
        credential_report,
        account_summary: Some(AccountSummary {
            account_mfa_enabled: Some(root_mfa),
            account_access_keys_present: Some(root_keys),
            account_password_present: Some(true),
            account_signing_certificates_present: Some(false),
            users: u32::try_from(user_count).ok(),
            mfa_devices_in_use: u32::try_from(devices.len()).ok(),
        }),
        password_policy: Some(password_policy(index)),
        virtual_mfa_devices: Some(devices),
        authorization_details: Some(AuthorizationDetails { users, groups, roles, policies }),
        support_access_roles: Some(if has_support_role {
            vec![SupportAccessRole {
                role_name: "support".to_owned(),
                role_id: format!("AROA{index:016}"),
            }]
        } else {
            vec![]
        }),
        gaps,
        account_id: id,
    }
}

fn user_name(j: usize) -> String {
    format!("user-{j:05}")
}

fn user_created(j: usize) -> DateTime<Utc> {
    as_of() - days(120 + j % 400)
}

fn days(count: usize) -> Duration {
    Duration::days(i64::try_from(count).unwrap_or_default())
}

fn user_row(id: &str, j: usize) -> CredentialReportRow {
    let now = as_of();
    let created = user_created(j);
    let console = !j.is_multiple_of(3);
    let key_1 = match j % 4 {
        0 | 2 => AccessKeyColumns {
            active: true,
            last_rotated: ReportCell::Value(now - days(j * 13 % 200)),
            // Every 5th user never used the key (`N/A`).
            last_used_date: if j.is_multiple_of(5) {
                ReportCell::NotApplicable
            } else {
                ReportCell::Value(now - days(j * 3 % 90) - Duration::hours(3))
            },
            last_used_region: ReportCell::Value("eu-west-1".to_owned()),
            last_used_service: ReportCell::Value("s3".to_owned()),
        },
        // An old key, deactivated long ago.
        1 => AccessKeyColumns {
            active: false,
            last_rotated: ReportCell::Value(now - days(400)),
            last_used_date: ReportCell::Value(now - days(300)),
            last_used_region: ReportCell::NotApplicable,
            last_used_service: ReportCell::Value("iam".to_owned()),
        },
        _ => no_key(),
    };
    let key_2 = if j.is_multiple_of(11) {
        AccessKeyColumns {
            active: true,
            last_rotated: ReportCell::Value(now - days(j % 60)),
            last_used_date: ReportCell::Value(now - days(j % 10)),
            last_used_region: ReportCell::Value("us-east-1".to_owned()),
            last_used_service: ReportCell::Value("sts".to_owned()),
        }
    } else {
        no_key()
    };
    CredentialReportRow {
        user: user_name(j),
        arn: format!("arn:aws:iam::{id}:user/{}", user_name(j)),
        user_creation_time: created,
        password_enabled: ReportCell::Value(console),
        password_last_used: match (console, j % 10) {
            (false, _) => ReportCell::NotApplicable,
            (true, 1) => ReportCell::NoInformation,
            (true, _) => ReportCell::Value(now - days(j * 5 % 120) - Duration::hours(1)),
        },
        password_last_changed: if console {
            ReportCell::Value(created)
        } else {
            ReportCell::NotApplicable
        },
        password_next_rotation: ReportCell::NotApplicable,
        mfa_active: !j.is_multiple_of(7),
        access_key_1: key_1,
        access_key_2: key_2,
        cert_1: no_cert(),
        cert_2: no_cert(),
    }
}

fn root_row(id: &str, index: usize, mfa: bool, keys: bool) -> CredentialReportRow {
    let now = as_of();
    CredentialReportRow {
        user: "<root_account>".to_owned(),
        arn: format!("arn:aws:iam::{id}:root"),
        user_creation_time: now - days(1_500),
        password_enabled: ReportCell::NotSupported,
        // Every 4th account signed in as root three hours ago.
        password_last_used: if index.is_multiple_of(4) {
            ReportCell::Value(now - Duration::hours(3))
        } else {
            ReportCell::Value(now - days(10 + index))
        },
        password_last_changed: ReportCell::NotSupported,
        password_next_rotation: ReportCell::NotSupported,
        mfa_active: mfa,
        access_key_1: if keys {
            AccessKeyColumns {
                active: true,
                last_rotated: ReportCell::Value(now - days(500)),
                last_used_date: ReportCell::Value(now - days(20)),
                last_used_region: ReportCell::Value("us-east-1".to_owned()),
                last_used_service: ReportCell::Value("ec2".to_owned()),
            }
        } else {
            no_key()
        },
        access_key_2: no_key(),
        cert_1: no_cert(),
        cert_2: no_cert(),
    }
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

fn password_policy(index: usize) -> AccountPasswordPolicy {
    match index % 3 {
        0 => AccountPasswordPolicy::NotSet,
        1 => AccountPasswordPolicy::Set(PasswordPolicy {
            minimum_password_length: Some(8),
            require_lowercase_characters: true,
            require_numbers: true,
            allow_users_to_change_password: true,
            ..PasswordPolicy::default()
        }),
        _ => AccountPasswordPolicy::Set(PasswordPolicy {
            minimum_password_length: Some(16),
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            allow_users_to_change_password: true,
            expire_passwords: true,
            max_password_age: Some(90),
            password_reuse_prevention: Some(24),
            hard_expiry: Some(false),
        }),
    }
}

fn attached(name: &str, arn: &str) -> AttachedPolicy {
    AttachedPolicy { policy_name: name.to_owned(), policy_arn: arn.to_owned() }
}

fn inline(name: &str, star_star: bool) -> InlinePolicy {
    let document = if star_star {
        json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": ["*"], "Resource": ["*"] }] })
    } else {
        json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*" }] })
    };
    InlinePolicy { policy_name: name.to_owned(), document }
}

/// Every 10th policy allows `*:*`, one in ten uses `NotAction`, one in ten is cancelled by a
/// blanket Deny; the rest are scoped.
fn managed_document(p: usize) -> Value {
    match p % 10 {
        0 => {
            json!({ "Version": "2012-10-17", "Statement": { "Effect": "Allow", "Action": "*", "Resource": "*" } })
        }
        5 => json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*" }]
        }),
        7 => json!({
            "Version": "2012-10-17",
            "Statement": [
                { "Effect": "Allow", "Action": "*", "Resource": "*" },
                { "Sid": "Quarantine", "Effect": "Deny", "Action": "*", "Resource": "*" }
            ]
        }),
        _ => json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "Read",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [format!("arn:aws:s3:::bucket-{p}"), format!("arn:aws:s3:::bucket-{p}/*")]
            }]
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::aws::CHECKS;
    use crate::checks::{CheckContext, Judge, Outcome};

    fn resource_count(snapshot: &AwsSnapshot) -> usize {
        snapshot
            .accounts
            .iter()
            .filter_map(|account| account.authorization_details.as_ref())
            .map(|details| {
                details.users.len()
                    + details.groups.len()
                    + details.roles.len()
                    + details.policies.len()
            })
            .sum()
    }

    #[test]
    fn produces_about_the_requested_number_of_resources() {
        for requested in [500, 2_500, 10_000] {
            let count = resource_count(&generated(requested));
            assert!(
                count.abs_diff(requested) <= requested / 20,
                "asked for {requested} resources, got {count}"
            );
        }
        assert_eq!(generated(10_000).accounts.len(), 20);
    }

    #[test]
    fn is_deterministic() {
        assert_eq!(generated(3_000), generated(3_000));
    }

    #[test]
    fn survives_a_json_round_trip() {
        // Snapshots are stored as JSON in the evidence ledger and read back for judging.
        let snapshot = generated(1_200);
        let json = serde_json::to_string(&snapshot).expect("serialises");
        let back: AwsSnapshot = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, snapshot);
    }

    #[test]
    fn every_check_finds_both_passes_and_failures() {
        let snapshot = generated(10_000);
        let ctx = CheckContext::new(as_of());
        for check in CHECKS {
            let Judge::Aws(run) = check.judge else { panic!("{} is not an AWS check", check.id) };
            let verdicts = run(&snapshot, &ctx);
            for outcome in [Outcome::Pass, Outcome::Fail] {
                assert!(
                    verdicts.iter().any(|verdict| verdict.outcome == outcome),
                    "{} gave no {outcome} over the generated organisation",
                    check.id
                );
            }
        }
    }
}
