//! moto (PyPI `moto[server]`), an IAM emulator written independently of Kushim, started on
//! 127.0.0.1 for one test and seeded through aws-sdk-iam itself.
//!
//! Found as `KUSHIM_MOTO_SERVER`, else `.venv/bin/moto_server` (where CI installs it), else
//! `moto_server` on `PATH`. When none is there, [`Moto::start`] says loudly on stderr that the
//! moto tests were NOT RUN and returns `None`.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_iam::types::StatusType;
use kushim::sandbox::aws::world::{AwsAccountWorld, MfaDevice};

/// A running `moto_server`, killed on drop.
pub struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    /// Starts moto on a free port and waits until it answers; `None` (after saying so) when it is
    /// not installed.
    pub fn start(test: &str) -> Option<Moto> {
        let Some(program) = find() else {
            // Written to the process's stderr directly, past the test harness's capture, so
            // nobody mistakes a skipped suite for a passing one.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** moto test `{test}` NOT RUN: moto_server not found. Install it with \
                 `python3 -m venv .venv && .venv/bin/pip install 'moto[server]'`, or set \
                 KUSHIM_MOTO_SERVER to its path. ***\n"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // AWS managed policies (AdministratorAccess, AWSSupportAccess) exist only if loaded.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// An AWS configuration pointed at moto (which accepts any credentials).
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "moto",
            )))
            .build()
    }

    /// Creates `world` in moto through the IAM API, as a person would: users, login profiles,
    /// access keys, MFA devices, groups, roles, policies and the password policy. What IAM's API
    /// cannot set (the root user, ages, last use) stays as moto has it.
    pub async fn seed(&self, world: &AwsAccountWorld) {
        let iam = aws_sdk_iam::Client::new(&self.sdk_config());
        if let Some(policy) = &world.password_policy {
            let number = |value: Option<u32>| value.map(|v| i32::try_from(v).unwrap());
            iam.update_account_password_policy()
                .set_minimum_password_length(number(policy.minimum_password_length))
                .require_symbols(policy.require_symbols)
                .require_numbers(policy.require_numbers)
                .require_uppercase_characters(policy.require_uppercase_characters)
                .require_lowercase_characters(policy.require_lowercase_characters)
                .allow_users_to_change_password(policy.allow_users_to_change_password)
                .set_max_password_age(number(policy.max_password_age))
                .set_password_reuse_prevention(number(policy.password_reuse_prevention))
                .set_hard_expiry(policy.hard_expiry)
                .send()
                .await
                .expect("UpdateAccountPasswordPolicy");
        }
        for policy in &world.policies {
            iam.create_policy()
                .policy_name(&policy.name)
                .policy_document(policy.document.to_string())
                .send()
                .await
                .expect("CreatePolicy");
        }
        for group in &world.groups {
            iam.create_group().group_name(&group.name).send().await.expect("CreateGroup");
            for arn in &group.attached_policies {
                iam.attach_group_policy()
                    .group_name(&group.name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .expect("AttachGroupPolicy");
            }
            for (name, document) in &group.inline_policies {
                iam.put_group_policy()
                    .group_name(&group.name)
                    .policy_name(name)
                    .policy_document(document.to_string())
                    .send()
                    .await
                    .expect("PutGroupPolicy");
            }
        }
        for user in &world.users {
            let name = user.name.as_str();
            iam.create_user().user_name(name).send().await.expect("CreateUser");
            if user.console.is_some() {
                iam.create_login_profile()
                    .user_name(name)
                    .password("Correct-Horse-Battery-9")
                    .send()
                    .await
                    .expect("CreateLoginProfile");
            }
            let serial = match user.mfa {
                None => None,
                Some(MfaDevice::Hardware) => Some(format!("GAHT{:08}", name.len())),
                Some(MfaDevice::Virtual) => {
                    let device = iam
                        .create_virtual_mfa_device()
                        .virtual_mfa_device_name(name)
                        .send()
                        .await
                        .expect("CreateVirtualMFADevice");
                    device.virtual_mfa_device().map(|d| d.serial_number().to_owned())
                }
            };
            if let Some(serial) = serial {
                iam.enable_mfa_device()
                    .user_name(name)
                    .serial_number(serial)
                    .authentication_code1("123456")
                    .authentication_code2("654321")
                    .send()
                    .await
                    .expect("EnableMFADevice");
            }
            for key in &user.access_keys {
                let created =
                    iam.create_access_key().user_name(name).send().await.expect("CreateAccessKey");
                if !key.active {
                    let id = created.access_key().map(|k| k.access_key_id().to_owned());
                    iam.update_access_key()
                        .user_name(name)
                        .set_access_key_id(id)
                        .status(StatusType::Inactive)
                        .send()
                        .await
                        .expect("UpdateAccessKey");
                }
            }
            for group in &user.groups {
                iam.add_user_to_group()
                    .user_name(name)
                    .group_name(group)
                    .send()
                    .await
                    .expect("AddUserToGroup");
            }
            for arn in &user.attached_policies {
                iam.attach_user_policy()
                    .user_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .expect("AttachUserPolicy");
            }
            for (policy, document) in &user.inline_policies {
                iam.put_user_policy()
                    .user_name(name)
                    .policy_name(policy)
                    .policy_document(document.to_string())
                    .send()
                    .await
                    .expect("PutUserPolicy");
            }
        }
        for role in &world.roles {
            let trust = serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "AWS": format!("arn:aws:iam::{}:root", world.account_id) },
                    "Action": "sts:AssumeRole"
                }]
            });
            iam.create_role()
                .role_name(&role.name)
                .assume_role_policy_document(trust.to_string())
                .send()
                .await
                .expect("CreateRole");
            for arn in &role.attached_policies {
                iam.attach_role_policy()
                    .role_name(&role.name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .expect("AttachRolePolicy");
            }
            for (policy, document) in &role.inline_policies {
                iam.put_role_policy()
                    .role_name(&role.name)
                    .policy_name(policy)
                    .policy_document(document.to_string())
                    .send()
                    .await
                    .expect("PutRolePolicy");
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUSHIM_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}
