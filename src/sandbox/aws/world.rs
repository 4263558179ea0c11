//! The simulated AWS organisation the IAM fake serves: accounts with a root user, IAM users,
//! groups, roles, customer managed policies and a password policy, built so a test reads like a
//! story:
//!
//! ```
//! use kushim::sandbox::aws::world::AwsAccountWorld;
//!
//! let world = AwsAccountWorld::new("123456789012")
//!     .with_user("alice", |u| u.console().without_mfa().key_rotated_days_ago(120))
//!     .with_group("admins", |g| g.admin())
//!     .with_user("bob", |u| u.console().virtual_mfa().in_group("admins"));
//! ```
//!
//! Times are days before the account's `as_of` (now, unless set), so the same world judged at
//! its `as_of` always gives the same findings. A new account is a well-kept one: root has a
//! hardware MFA device, no access keys and was last used 100 days ago, and the password policy
//! is CIS-strong. Stories add the problems.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::integrations::aws::PasswordPolicy;

/// The AWS managed policy that grants everything.
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
/// The AWS managed policy for opening AWS Support cases (checks.md `aws.iam.support_role`).
pub const AWS_SUPPORT_ACCESS: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";
/// The AWS managed read-only audit policy Kushim's own role should hold.
pub const SECURITY_AUDIT: &str = "arn:aws:iam::aws:policy/SecurityAudit";

/// Every account the fake serves. The first is the home account: the sandbox credentials belong
/// to its IAM user `kushim`, and the other accounts are entered by assuming their roles.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsWorld {
    pub accounts: Vec<AwsAccountWorld>,
}

impl AwsWorld {
    pub fn new(home: AwsAccountWorld) -> AwsWorld {
        AwsWorld { accounts: vec![home] }
    }

    /// Another account, reachable through a role marked [`RoleBuilder::assumable_by_kushim`].
    pub fn with_account(mut self, account: AwsAccountWorld) -> AwsWorld {
        self.accounts.push(account);
        self
    }

    pub fn home(&self) -> &AwsAccountWorld {
        &self.accounts[0]
    }

    pub fn account(&self, account_id: &str) -> Option<&AwsAccountWorld> {
        self.accounts.iter().find(|account| account.account_id == account_id)
    }
}

impl From<AwsAccountWorld> for AwsWorld {
    fn from(home: AwsAccountWorld) -> AwsWorld {
        AwsWorld::new(home)
    }
}

/// One AWS account.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsAccountWorld {
    /// 12 digits.
    pub account_id: String,
    /// The moment the account's data describes; every "days ago" counts back from it.
    pub as_of: DateTime<Utc>,
    pub root: RootUser,
    pub users: Vec<WorldUser>,
    pub groups: Vec<WorldGroup>,
    pub roles: Vec<WorldRole>,
    /// Customer managed policies.
    pub policies: Vec<WorldPolicy>,
    /// `None`: no custom policy (`GetAccountPasswordPolicy` answers `NoSuchEntity`).
    pub password_policy: Option<PasswordPolicy>,
    pub report: ReportBehaviour,
    /// The most items the fake puts on one page of a paginated answer, whatever `MaxItems` asks
    /// (IAM may return fewer than `MaxItems` with `IsTruncated=true`).
    pub page_size: usize,
}

/// The root user's credentials, as the credential report and `GetAccountSummary` show them.
#[derive(Debug, Clone, PartialEq)]
pub struct RootUser {
    pub created: DateTime<Utc>,
    pub password: bool,
    pub password_last_used: Option<DateTime<Utc>>,
    pub mfa: Option<MfaDevice>,
    pub access_keys: Vec<AccessKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaDevice {
    /// An authenticator app: listed by `ListVirtualMFADevices`.
    Virtual,
    /// A hardware token or security key: not a virtual device.
    Hardware,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorldUser {
    pub name: String,
    pub created: DateTime<Utc>,
    pub console: Option<Console>,
    pub mfa: Option<MfaDevice>,
    /// At most two, as IAM allows; the report's `access_key_1` is the first.
    pub access_keys: Vec<AccessKey>,
    pub groups: Vec<String>,
    /// ARNs of managed policies attached to the user directly.
    pub attached_policies: Vec<String>,
    pub inline_policies: Vec<(String, Value)>,
}

/// A console password (login profile).
#[derive(Debug, Clone, PartialEq)]
pub struct Console {
    pub changed: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessKey {
    pub active: bool,
    /// Creation or last rotation.
    pub rotated: DateTime<Utc>,
    pub last_used: Option<KeyUse>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyUse {
    pub at: DateTime<Utc>,
    /// `None` for non-regional services such as S3 (the report writes `N/A`).
    pub region: Option<String>,
    pub service: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorldGroup {
    pub name: String,
    pub attached_policies: Vec<String>,
    pub inline_policies: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorldRole {
    pub name: String,
    pub attached_policies: Vec<String>,
    pub inline_policies: Vec<(String, Value)>,
    /// `Some` when the role's trust policy lets the home account's `kushim` user assume it,
    /// holding the `sts:ExternalId` it requires (if any).
    pub kushim_trust: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorldPolicy {
    pub name: String,
    pub document: Value,
}

/// How the credential report behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBehaviour {
    /// Polls (`GenerateCredentialReport` or `GetCredentialReport`) answered "in progress" after
    /// the first `GenerateCredentialReport` started the report.
    pub polls_until_complete: u32,
    /// The report's content is cut off in the middle of its last row, as a broken download.
    pub truncated: bool,
    /// The first `GetCredentialReport` of a finished report answers `ReportExpired` (410), as
    /// when the report aged out between generating and fetching it.
    pub expires_once: bool,
}

impl AwsAccountWorld {
    /// A well-kept account holding no IAM users yet, as of now.
    pub fn new(account_id: &str) -> AwsAccountWorld {
        let now = Utc::now();
        AwsAccountWorld {
            account_id: account_id.to_owned(),
            as_of: now,
            root: RootUser {
                created: now - Duration::days(1_000),
                password: true,
                password_last_used: Some(now - Duration::days(100)),
                mfa: Some(MfaDevice::Hardware),
                access_keys: Vec::new(),
            },
            users: Vec::new(),
            groups: Vec::new(),
            roles: Vec::new(),
            policies: Vec::new(),
            password_policy: Some(strong_password_policy()),
            report: ReportBehaviour::default(),
            page_size: 100,
        }
    }

    /// Moves the account's "now", keeping every age: a user created 10 days ago still is.
    pub fn as_of(mut self, as_of: DateTime<Utc>) -> AwsAccountWorld {
        let shift = as_of - self.as_of;
        let move_time = |time: &mut DateTime<Utc>| *time += shift;
        self.as_of = as_of;
        move_time(&mut self.root.created);
        self.root.password_last_used.iter_mut().for_each(move_time);
        let keys = self
            .root
            .access_keys
            .iter_mut()
            .chain(self.users.iter_mut().flat_map(|u| u.access_keys.iter_mut()));
        for key in keys {
            move_time(&mut key.rotated);
            if let Some(used) = &mut key.last_used {
                move_time(&mut used.at);
            }
        }
        for user in &mut self.users {
            move_time(&mut user.created);
            if let Some(console) = &mut user.console {
                move_time(&mut console.changed);
                console.last_used.iter_mut().for_each(move_time);
            }
        }
        self
    }

    pub fn root(mut self, build: impl FnOnce(RootBuilder) -> RootBuilder) -> AwsAccountWorld {
        let builder = RootBuilder { root: self.root, now: self.as_of };
        self.root = build(builder).root;
        self
    }

    pub fn with_user(
        mut self,
        name: &str,
        build: impl FnOnce(UserBuilder) -> UserBuilder,
    ) -> AwsAccountWorld {
        let builder = UserBuilder {
            user: WorldUser {
                name: name.to_owned(),
                created: self.as_of - Duration::days(365),
                console: None,
                mfa: None,
                access_keys: Vec::new(),
                groups: Vec::new(),
                attached_policies: Vec::new(),
                inline_policies: Vec::new(),
            },
            console: None,
            keys: Vec::new(),
            now: self.as_of,
        };
        self.users.push(build(builder).finish());
        self
    }

    pub fn with_group(
        mut self,
        name: &str,
        build: impl FnOnce(GroupBuilder) -> GroupBuilder,
    ) -> AwsAccountWorld {
        let group = WorldGroup {
            name: name.to_owned(),
            attached_policies: Vec::new(),
            inline_policies: Vec::new(),
        };
        self.groups.push(build(GroupBuilder(group)).0);
        self
    }

    pub fn with_role(
        mut self,
        name: &str,
        build: impl FnOnce(RoleBuilder) -> RoleBuilder,
    ) -> AwsAccountWorld {
        let role = WorldRole {
            name: name.to_owned(),
            attached_policies: Vec::new(),
            inline_policies: Vec::new(),
            kushim_trust: None,
        };
        self.roles.push(build(RoleBuilder(role)).0);
        self
    }

    /// A customer managed policy; attach it by [`AwsAccountWorld::policy_arn`].
    pub fn with_policy(mut self, name: &str, document: Value) -> AwsAccountWorld {
        self.policies.push(WorldPolicy { name: name.to_owned(), document });
        self
    }

    pub fn with_password_policy(mut self, policy: PasswordPolicy) -> AwsAccountWorld {
        self.password_policy = Some(policy);
        self
    }

    /// No custom password policy: IAM applies the AWS default.
    pub fn without_password_policy(mut self) -> AwsAccountWorld {
        self.password_policy = None;
        self
    }

    /// The report answers "in progress" to this many polls before it is ready.
    pub fn report_ready_after(mut self, polls: u32) -> AwsAccountWorld {
        self.report.polls_until_complete = polls;
        self
    }

    /// The first fetch of the finished report finds it expired, so it must be generated again.
    pub fn report_expires_once(mut self) -> AwsAccountWorld {
        self.report.expires_once = true;
        self
    }

    /// The report's content breaks off in the middle of its last row.
    pub fn truncated_report(mut self) -> AwsAccountWorld {
        self.report.truncated = true;
        self
    }

    pub fn page_size(mut self, items: usize) -> AwsAccountWorld {
        self.page_size = items.max(1);
        self
    }

    /// The ARN of this account's customer managed policy `name`.
    pub fn policy_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:policy/{name}", self.account_id)
    }

    /// The ARN of this account's role `name`, as `[aws] accounts` would name it.
    pub fn role_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account_id)
    }
}

/// CIS: 14 characters, all four character classes, 24 remembered, 90-day expiry.
pub fn strong_password_policy() -> PasswordPolicy {
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

/// A policy document allowing `*` on `*`.
pub fn allow_everything() -> Value {
    json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "*", "Resource": "*" }] })
}

/// A narrow, read-only policy document.
pub fn read_bucket(bucket: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")]
        }]
    })
}

fn days_before(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - Duration::days(i64::from(days))
}

pub struct RootBuilder {
    root: RootUser,
    now: DateTime<Utc>,
}

impl RootBuilder {
    pub fn without_mfa(mut self) -> RootBuilder {
        self.root.mfa = None;
        self
    }

    pub fn virtual_mfa(mut self) -> RootBuilder {
        self.root.mfa = Some(MfaDevice::Virtual);
        self
    }

    pub fn hardware_mfa(mut self) -> RootBuilder {
        self.root.mfa = Some(MfaDevice::Hardware);
        self
    }

    /// An active root access key, last used `days` ago.
    pub fn access_key_used_days_ago(mut self, days: u32) -> RootBuilder {
        let used = days_before(self.now, days);
        self.root.access_keys.push(AccessKey {
            active: true,
            rotated: days_before(self.now, 700),
            last_used: Some(KeyUse {
                at: used,
                region: Some("us-east-1".into()),
                service: "ec2".into(),
            }),
        });
        self
    }

    /// Root signed in to the console `days` ago (0: today).
    pub fn signed_in_days_ago(mut self, days: u32) -> RootBuilder {
        self.root.password_last_used = Some(days_before(self.now, days) - Duration::hours(1));
        self
    }

    pub fn never_signed_in(mut self) -> RootBuilder {
        self.root.password_last_used = None;
        self
    }

    /// No password and no keys, as after centralised root access removed them.
    pub fn without_credentials(mut self) -> RootBuilder {
        self.root.password = false;
        self.root.password_last_used = None;
        self.root.access_keys.clear();
        self
    }
}

pub struct UserBuilder {
    user: WorldUser,
    /// The console password's last use, once `console` is set (`Some(None)`: never used).
    console: Option<Option<DateTime<Utc>>>,
    keys: Vec<KeyBuilder>,
    now: DateTime<Utc>,
}

impl UserBuilder {
    pub fn created_days_ago(mut self, days: u32) -> UserBuilder {
        self.user.created = days_before(self.now, days);
        self
    }

    /// A console password, never used to sign in.
    pub fn console(mut self) -> UserBuilder {
        self.console = Some(None);
        self
    }

    /// A console password last used `days` ago.
    pub fn console_used_days_ago(mut self, days: u32) -> UserBuilder {
        self.console = Some(Some(days_before(self.now, days) - Duration::hours(2)));
        self
    }

    /// No MFA device (the default; for stories that want to say so).
    pub fn without_mfa(mut self) -> UserBuilder {
        self.user.mfa = None;
        self
    }

    pub fn virtual_mfa(mut self) -> UserBuilder {
        self.user.mfa = Some(MfaDevice::Virtual);
        self
    }

    pub fn hardware_mfa(mut self) -> UserBuilder {
        self.user.mfa = Some(MfaDevice::Hardware);
        self
    }

    /// An access key described by `build` (active, created with the user, never used, unless
    /// said otherwise).
    pub fn key(mut self, build: impl FnOnce(KeyBuilder) -> KeyBuilder) -> UserBuilder {
        let key = KeyBuilder { active: true, rotated: None, last_used: None, now: self.now };
        self.keys.push(build(key));
        self
    }

    /// An active key last rotated `days` ago and in daily use (used yesterday).
    pub fn key_rotated_days_ago(self, days: u32) -> UserBuilder {
        self.key(|k| k.rotated_days_ago(days).used_days_ago(1))
    }

    /// An active key that was never used.
    pub fn unused_key(self) -> UserBuilder {
        self.key(|k| k)
    }

    /// A deactivated key.
    pub fn inactive_key(self) -> UserBuilder {
        self.key(KeyBuilder::inactive)
    }

    pub fn in_group(mut self, group: &str) -> UserBuilder {
        self.user.groups.push(group.to_owned());
        self
    }

    /// A managed policy (by ARN) attached to the user directly.
    pub fn with_policy(mut self, arn: &str) -> UserBuilder {
        self.user.attached_policies.push(arn.to_owned());
        self
    }

    /// `AdministratorAccess` attached to the user directly.
    pub fn admin(self) -> UserBuilder {
        self.with_policy(ADMINISTRATOR_ACCESS)
    }

    pub fn with_inline_policy(mut self, name: &str, document: Value) -> UserBuilder {
        self.user.inline_policies.push((name.to_owned(), document));
        self
    }

    fn finish(mut self) -> WorldUser {
        let created = self.user.created;
        self.user.console = self.console.map(|last_used| Console { changed: created, last_used });
        self.user.access_keys = self
            .keys
            .into_iter()
            .take(2)
            .map(|key| AccessKey {
                active: key.active,
                rotated: key.rotated.unwrap_or(created),
                last_used: key.last_used,
            })
            .collect();
        self.user
    }
}

pub struct KeyBuilder {
    active: bool,
    rotated: Option<DateTime<Utc>>,
    last_used: Option<KeyUse>,
    now: DateTime<Utc>,
}

impl KeyBuilder {
    pub fn rotated_days_ago(mut self, days: u32) -> KeyBuilder {
        self.rotated = Some(days_before(self.now, days));
        self
    }

    /// Last used `days` ago, from eu-west-1 against EC2.
    pub fn used_days_ago(mut self, days: u32) -> KeyBuilder {
        self.last_used = Some(KeyUse {
            at: days_before(self.now, days) - Duration::hours(3),
            region: Some("eu-west-1".into()),
            service: "ec2".into(),
        });
        self
    }

    /// Last used `days` ago against S3, which records no region.
    pub fn used_on_s3_days_ago(mut self, days: u32) -> KeyBuilder {
        self.last_used = Some(KeyUse {
            at: days_before(self.now, days) - Duration::hours(3),
            region: None,
            service: "s3".into(),
        });
        self
    }

    pub fn inactive(mut self) -> KeyBuilder {
        self.active = false;
        self
    }
}

pub struct GroupBuilder(WorldGroup);

impl GroupBuilder {
    pub fn with_policy(mut self, arn: &str) -> GroupBuilder {
        self.0.attached_policies.push(arn.to_owned());
        self
    }

    pub fn admin(self) -> GroupBuilder {
        self.with_policy(ADMINISTRATOR_ACCESS)
    }

    pub fn with_inline_policy(mut self, name: &str, document: Value) -> GroupBuilder {
        self.0.inline_policies.push((name.to_owned(), document));
        self
    }
}

pub struct RoleBuilder(WorldRole);

impl RoleBuilder {
    pub fn with_policy(mut self, arn: &str) -> RoleBuilder {
        self.0.attached_policies.push(arn.to_owned());
        self
    }

    /// `AWSSupportAccess` attached: the incident-support role.
    pub fn support(self) -> RoleBuilder {
        self.with_policy(AWS_SUPPORT_ACCESS)
    }

    pub fn with_inline_policy(mut self, name: &str, document: Value) -> RoleBuilder {
        self.0.inline_policies.push((name.to_owned(), document));
        self
    }

    /// The home account's `kushim` user may assume this role, presenting `external_id` when one
    /// is given. Also attaches `SecurityAudit`, as a real audit role would hold.
    pub fn assumable_by_kushim(mut self, external_id: Option<&str>) -> RoleBuilder {
        self.0.kushim_trust = Some(external_id.map(str::to_owned));
        self.with_policy(SECURITY_AUDIT)
    }
}

/// A deterministic account of `users` IAM users with a realistic mix of good and bad settings,
/// for the performance run and `kushim demo`, as of now:
///
/// - an `admins` group (AdministratorAccess), a `developers` group (a scoped customer policy) and
///   a `breakglass` group whose inline policy allows `*:*`;
/// - every 7th user has no MFA, and of the others every 4th uses a virtual device (the rest
///   hardware); every 3rd user has no console password, and every 9th last signed in 60 days ago;
/// - every other user holds an access key: every 5th of those keys is older than 90 days and
///   about every 3rd was never used; every 11th user holds a second active key;
/// - every 13th user has AdministratorAccess attached directly, and users are spread over the
///   groups (a tenth each in `admins` and `breakglass`);
/// - root has a virtual MFA device and no keys; the password policy is the weak 8-character one;
/// - a `support` role with AWSSupportAccess and the `kushim-audit` role.
pub fn generated_world(users: usize) -> AwsAccountWorld {
    let mut account = AwsAccountWorld::new("123456789012")
        .root(|r| r.virtual_mfa().signed_in_days_ago(35))
        .with_password_policy(PasswordPolicy {
            minimum_password_length: Some(8),
            require_lowercase_characters: true,
            require_numbers: true,
            allow_users_to_change_password: true,
            ..PasswordPolicy::default()
        })
        .with_policy("developer-access", read_bucket("acme-artifacts"))
        .with_role("support", RoleBuilder::support)
        .with_role("kushim-audit", |r| r.assumable_by_kushim(Some("kushim-sandbox")));
    let developer_policy = account.policy_arn("developer-access");
    account = account
        .with_group("admins", GroupBuilder::admin)
        .with_group("developers", |g| g.with_policy(&developer_policy))
        .with_group("breakglass", |g| g.with_inline_policy("everything", allow_everything()));
    for index in 0..users {
        let name = format!("user-{index:04}");
        let days = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        account = account.with_user(&name, |mut u| {
            u = u.created_days_ago(days(200 + index % 300));
            if !index.is_multiple_of(3) {
                u = if index % 9 == 4 {
                    u.console_used_days_ago(60)
                } else {
                    u.console_used_days_ago(days(index % 20))
                };
            }
            if !index.is_multiple_of(7) {
                u = if index % 4 == 1 { u.virtual_mfa() } else { u.hardware_mfa() };
            }
            if index % 2 == 0 {
                u = if index % 5 == 0 {
                    u.key_rotated_days_ago(days(120 + index % 60))
                } else if index % 6 == 2 {
                    u.unused_key()
                } else {
                    u.key_rotated_days_ago(days(10 + index % 70))
                };
            }
            if index % 11 == 3 {
                u = u.key(|k| k.rotated_days_ago(30).used_on_s3_days_ago(2));
            }
            if index % 13 == 6 {
                u = u.admin();
            }
            u.in_group(match index % 10 {
                0 => "admins",
                9 => "breakglass",
                _ => "developers",
            })
        });
    }
    account.page_size(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_reads_as_it_is_built() {
        let world = AwsAccountWorld::new("123456789012")
            .with_user("alice", |u| u.console().without_mfa().key_rotated_days_ago(120));
        let alice = &world.users[0];
        assert!(alice.console.as_ref().is_some_and(|c| c.last_used.is_none()));
        assert_eq!(alice.mfa, None);
        assert_eq!((world.as_of - alice.access_keys[0].rotated).num_days(), 120);
        assert!(alice.access_keys[0].last_used.is_some());
    }

    #[test]
    fn moving_the_accounts_now_keeps_every_age() {
        let world = AwsAccountWorld::new("123456789012")
            .with_user("bob", |u| u.created_days_ago(40).console_used_days_ago(3).unused_key());
        let later = world.as_of + Duration::days(1000);
        let moved = world.clone().as_of(later);
        let (before, after) = (&world.users[0], &moved.users[0]);
        assert_eq!(world.as_of - before.created, later - after.created);
        assert_eq!(
            world.as_of - before.access_keys[0].rotated,
            later - after.access_keys[0].rotated
        );
        assert_eq!(world.as_of - world.root.created, later - moved.root.created);
    }

    #[test]
    fn a_user_holds_at_most_two_keys() {
        let world = AwsAccountWorld::new("123456789012")
            .with_user("carol", |u| u.unused_key().unused_key().unused_key());
        assert_eq!(world.users[0].access_keys.len(), 2);
    }

    #[test]
    fn the_generated_world_is_the_requested_size_and_deterministic_in_shape() {
        let world = generated_world(150);
        assert_eq!(world.users.len(), 150);
        let shape = |w: &AwsAccountWorld| {
            w.users.iter().map(|u| (u.name.clone(), u.mfa, u.access_keys.len())).collect::<Vec<_>>()
        };
        assert_eq!(shape(&world), shape(&generated_world(150)));
        assert!(world.users.iter().any(|u| u.mfa.is_none()));
        assert!(world.users.iter().any(|u| u.access_keys.len() == 2));
    }
}
