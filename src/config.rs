//! `kushim.toml`: strict (an unknown key is an error naming the file, line and key), every field
//! optional with a documented default. Secrets never live in this struct as plain strings: the
//! database URL is a [`DatabaseUrl`], which prints without its password.

use std::{
    fs,
    path::{Path, PathBuf},
    str::FromStr,
};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{checks::Thresholds, store::DatabaseUrl};

/// The file `kushim init` writes and `kushim` reads by default.
pub const DEFAULT_PATH: &str = "kushim.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the store lives. Default `kushim.db` (SQLite) in the working directory; the
    /// `DATABASE_URL` environment variable and `--database-url` take precedence.
    pub database_url: Option<String>,
    /// A directory of control files replacing the built-in catalog.
    pub catalog_dir: Option<PathBuf>,
    pub scope: Scope,
    /// Check thresholds; every one has a documented default.
    pub checks: Thresholds,
    pub github: Option<GitHubConfig>,
    pub aws: Option<AwsConfig>,
    pub okta: Option<OktaConfig>,
    /// `[jobs]`: the background engine of `kushim serve`.
    pub jobs: JobsConfig,
    /// `[schedules.NAME]`: changes to the default schedules, or new ones.
    pub schedules: std::collections::BTreeMap<String, ScheduleConfig>,
    pub jira: Option<JiraConfig>,
    pub slack: Option<SlackConfig>,
}

/// `[github]`. Each setting may come from the environment instead (named beside it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubConfig {
    /// The organisation login (`GITHUB_ORG`).
    pub org: Option<String>,
    /// REST base URL (`GITHUB_API_URL`); GitHub Enterprise Server: `https://HOST/api/v3`.
    pub api_url: Option<String>,
    /// A file holding a token; otherwise `GITHUB_TOKEN`.
    pub token_file: Option<PathBuf>,
    /// GitHub App authentication instead of a token (`GITHUB_APP_ID`).
    pub app_id: Option<u64>,
    /// The App's private key, PEM (`GITHUB_APP_PRIVATE_KEY_PATH`).
    pub app_private_key_file: Option<PathBuf>,
    /// The App's installation on the organisation (`GITHUB_APP_INSTALLATION_ID`).
    pub installation_id: Option<u64>,
}

/// `[aws]`. Credentials, region and endpoint come from the standard AWS chain and environment
/// (`AWS_PROFILE`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Accounts reached by assuming a role; empty means the account of the default credentials.
    #[serde(default)]
    pub accounts: Vec<AwsAccountConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsAccountConfig {
    /// A name for people (`prod`).
    pub name: String,
    /// The read-only role Kushim assumes in that account.
    pub role_arn: String,
    pub external_id: Option<String>,
}

/// `[okta]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OktaConfig {
    /// `https://YOUR-ORG.okta.com` (`OKTA_ORG_URL`).
    pub org_url: Option<String>,
    /// A file holding an API token; otherwise `OKTA_API_TOKEN` (sent as `SSWS`).
    pub token_file: Option<PathBuf>,
    /// OAuth 2.0 service app instead of an API token (`OKTA_CLIENT_ID`).
    pub client_id: Option<String>,
    /// The service app's private key, PEM (`OKTA_PRIVATE_KEY_PATH`).
    pub private_key_file: Option<PathBuf>,
    /// The key id (`kid`) registered for that key, if any (`OKTA_KEY_ID`).
    pub key_id: Option<String>,
}

/// `[jobs]`. Every setting has a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// The team's timezone (IANA name) for schedules that do not name their own. Default UTC.
    pub timezone: Option<String>,
    /// How long a worker's claim on a job lasts before another replica may take the job over
    /// (renewed while the job runs). Default 60.
    pub lease_seconds: Option<u64>,
    /// A control that changes state again within this many minutes of its last alert updates
    /// that alert instead of posting a new one. Default 60.
    pub flap_window_minutes: Option<u64>,
    /// How often each replica's scheduler looks for due occurrences, 1 to 60. A schedule that
    /// fires more often than this runs only its latest occurrence per tick. Default 5.
    pub tick_seconds: Option<u64>,
    /// Evidence payloads older than this many days are dropped by the weekly
    /// `evidence-retention` schedule (hashes, findings and history stay). 0 keeps them
    /// forever. Default 400: a 12-month SOC 2 Type II window and the audit after it.
    pub evidence_retention_days: Option<u64>,
}

impl JobsConfig {
    pub fn timezone(&self) -> &str {
        self.timezone.as_deref().unwrap_or("UTC")
    }

    pub fn lease(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(self.lease_seconds.unwrap_or(60).clamp(5, 3600) as i64)
    }

    /// `None` when evidence is kept forever.
    pub fn evidence_retention(&self) -> Option<chrono::TimeDelta> {
        match self.evidence_retention_days.unwrap_or(400) {
            0 => None,
            days => Some(chrono::TimeDelta::days(days.min(100 * 366) as i64)),
        }
    }

    pub fn tick(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.tick_seconds.unwrap_or(5).clamp(1, 60))
    }

    pub fn flap_window(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::minutes(self.flap_window_minutes.unwrap_or(60).min(7 * 24 * 60) as i64)
    }
}

/// `[schedules.NAME]`: for a default schedule only the keys given change it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Seconds first: `sec min hour day month weekday`, e.g. "0 0 9 * * Mon-Fri".
    pub cron: Option<String>,
    /// IANA name; default `[jobs] timezone`.
    pub timezone: Option<String>,
    /// The job to run: collect, evaluate, digest, exception_sweep, evidence_reminders, jira_sync,
    /// evidence_retention.
    pub job: Option<String>,
    /// For `collect`: only this integration (github, aws, okta, jira, slack); default all
    /// configured.
    pub integration: Option<String>,
    /// `false` turns a default schedule off.
    pub enabled: Option<bool>,
}

/// `[jira]`: where remediation tickets go and what they look like. The site and account may
/// come from the environment instead (named beside each key); the token always does (or a file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraConfig {
    /// `https://YOUR-SITE.atlassian.net` (`JIRA_URL`).
    pub url: Option<String>,
    /// The Atlassian account the API token belongs to (`JIRA_EMAIL`).
    pub email: Option<String>,
    /// A file holding the API token; otherwise `JIRA_API_TOKEN`.
    pub token_file: Option<PathBuf>,
    /// The project tickets are created in. Default `SEC`.
    pub project: String,
    /// Default `Task`.
    pub issue_type: String,
    /// Labels added to every ticket besides Kushim's own (`kushim`, `kushim-<control>`, …).
    pub labels: Vec<String>,
    /// Component names set on every ticket.
    pub components: Vec<String>,
    /// Jira priority name by control severity.
    pub priority: BySeverity<String>,
    /// Days until a ticket is due, by control severity.
    pub due_days: BySeverity<u32>,
    /// Severities whose failing controls get a ticket without anyone asking.
    pub auto_create: Vec<crate::catalog::Severity>,
    /// What a regression does to the closed ticket: `reopen` it, or open a `new_linked` one
    /// (also the fallback when the workflow has no way back from done).
    pub reopen: ReopenPolicy,
}

impl Default for JiraConfig {
    fn default() -> Self {
        use crate::catalog::Severity;
        JiraConfig {
            url: None,
            email: None,
            token_file: None,
            project: "SEC".into(),
            issue_type: "Task".into(),
            labels: Vec::new(),
            components: Vec::new(),
            priority: BySeverity {
                critical: "Highest".into(),
                high: "High".into(),
                medium: "Medium".into(),
                low: "Low".into(),
            },
            due_days: BySeverity { critical: 7, high: 30, medium: 90, low: 180 },
            auto_create: vec![Severity::Critical, Severity::High],
            reopen: ReopenPolicy::Reopen,
        }
    }
}

/// One value per control severity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BySeverity<T> {
    pub critical: T,
    pub high: T,
    pub medium: T,
    pub low: T,
}

impl<T> BySeverity<T> {
    pub fn get(&self, severity: crate::catalog::Severity) -> &T {
        use crate::catalog::Severity;
        match severity {
            Severity::Critical => &self.critical,
            Severity::High => &self.high,
            Severity::Medium => &self.medium,
            Severity::Low => &self.low,
        }
    }
}

/// `[jira] reopen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReopenPolicy {
    Reopen,
    NewLinked,
}

/// Jira settings, resolved from `[jira]` and the environment.
#[derive(Debug, Clone)]
pub struct JiraSettings {
    /// The site URL without a trailing slash.
    pub url: String,
    pub email: String,
    pub token: Secret,
    pub tickets: JiraConfig,
}

impl JiraSettings {
    pub fn new(url: String, email: String, token: Secret, tickets: JiraConfig) -> Self {
        JiraSettings { url: url.trim_end_matches('/').to_owned(), email, token, tickets }
    }
}

/// `[slack]`: how `kushim serve` talks to Slack. Secrets come from the environment (named beside
/// each) or from a file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// `http` (Slack posts to `kushim serve`'s public URL) or `socket` (Kushim connects out to
    /// Slack over Socket Mode, for teams without a public URL; needs the app-level token).
    #[serde(default)]
    pub mode: SlackMode,
    /// The Web API base URL (`SLACK_API_URL`); default `https://slack.com/api`.
    pub api_url: Option<String>,
    /// A file holding the signing secret; otherwise `SLACK_SIGNING_SECRET`.
    pub signing_secret_file: Option<PathBuf>,
    /// A file holding the bot token (`xoxb-…`); otherwise `SLACK_BOT_TOKEN`.
    pub bot_token_file: Option<PathBuf>,
    /// A file holding the app-level token (`xapp-…`, Socket Mode); otherwise `SLACK_APP_TOKEN`.
    pub app_token_file: Option<PathBuf>,
    /// A file holding the token `kushim collect` reads the workspace's members with; otherwise
    /// `SLACK_EVIDENCE_TOKEN`. Without either, Slack is not collected. A user token (`xoxp-…`)
    /// of a workspace admin or owner with `users:read`: Slack shows members' 2FA (`has_2fa`)
    /// only to admins and owners (with any other token the 2FA check reports `error`). The bot
    /// token is not used for this on purpose: it cannot see 2FA, so it would only turn the
    /// check, and the controls it backs, to errored.
    pub evidence_token_file: Option<PathBuf>,
    /// Whether the workspace requires SAML SSO to sign in, as you declare it: outside Enterprise
    /// Grid Slack's Web API does not say. `true` lets admins without Slack's own 2FA pass (the
    /// identity provider's MFA protects their sign-in). Unset: unknown, and 2FA decides.
    pub sso_enforced: Option<bool>,
    /// Who may do what. Everyone else in the workspace is a viewer.
    #[serde(default)]
    pub roles: SlackRoles,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlackMode {
    #[default]
    Http,
    Socket,
}

/// `[slack.roles]`: Slack user ids (`U0123ABCD`) and user-group handles (`@security`). Each role
/// may do what the roles below it may: admin > approver > responder > viewer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackRoles {
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default)]
    pub responders: Vec<String>,
}

/// Slack's own Web API.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// Slack settings, resolved from `[slack]` and the environment.
#[derive(Debug, Clone)]
pub struct SlackSettings {
    pub mode: SlackMode,
    pub api_url: String,
    pub signing_secret: Option<Secret>,
    pub bot_token: Option<Secret>,
    pub app_token: Option<Secret>,
    pub roles: SlackRoles,
}

/// Slack as an evidence source (the members behind `slack.admins_2fa`), resolved from
/// `[slack]` and the environment.
#[derive(Debug, Clone)]
pub struct SlackEvidenceSettings {
    /// The Web API base URL without a trailing slash, shared with the bot (`SLACK_API_URL`).
    pub api_url: String,
    pub token: Secret,
    /// Where the token came from (`SLACK_EVIDENCE_TOKEN`, `[slack] bot_token_file`, …), named in
    /// what to fix when Slack refuses it.
    pub token_source: String,
    /// `[slack] sso_enforced`, as the operator declared it.
    pub sso_enforced: Option<bool>,
}

/// A secret value: never printed, logged or serialised. Only [`Secret::expose`] reveals it,
/// at the one place it is sent.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Ok(Secret::new(text.trim()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where settings that may live in the environment are looked up; tests pass a map.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, ignoring empty values.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// GitHub settings, resolved from `[github]` and the environment.
#[derive(Debug, Clone)]
pub struct GitHubSettings {
    pub org: String,
    pub api_url: String,
    pub auth: GitHubAuth,
}

#[derive(Debug, Clone)]
pub enum GitHubAuth {
    Token(Secret),
    App { app_id: u64, private_key: Secret, installation_id: u64 },
}

/// AWS settings: which accounts to collect.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub accounts: Vec<AwsAccountConfig>,
}

/// Okta settings, resolved from `[okta]` and the environment.
#[derive(Debug, Clone)]
pub struct OktaSettings {
    pub org_url: String,
    pub auth: OktaAuth,
}

#[derive(Debug, Clone)]
pub enum OktaAuth {
    /// `Authorization: SSWS <token>`.
    ApiToken(Secret),
    /// OAuth 2.0 client credentials with a private-key JWT client assertion.
    PrivateKeyJwt { client_id: String, private_key: Secret, key_id: Option<String> },
}

/// Which controls apply to this organisation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scope {
    /// Controls that do not apply, each with the reason an auditor will read.
    pub exclude: Vec<Exclusion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub control: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// A loaded configuration and where it came from.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    /// `None` when no file was found and the defaults apply.
    pub path: Option<PathBuf>,
}

impl Config {
    /// Reads `path` if given (it must exist), else `./kushim.toml` if present, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
        let (path, required) = match path {
            Some(path) => (path.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_PATH), false),
        };
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if !required && error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded::default());
            }
            Err(source) => {
                return Err(ConfigError::Read { path: path.display().to_string(), source });
            }
        };
        let config = Config::parse(&text, &path)?;
        Ok(Loaded { config, path: Some(path) })
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let path_text = path.display().to_string();
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path_text.clone(), message: e.to_string() })?;
        for exclusion in &config.scope.exclude {
            if exclusion.reason.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    path: path_text,
                    message: format!(
                        "[scope] exclude: control {} needs a reason",
                        exclusion.control
                    ),
                });
            }
        }
        Ok(config)
    }

    /// GitHub settings, or `None` when GitHub is not configured at all.
    pub fn github(&self, env: Env<'_>) -> Result<Option<GitHubSettings>, ConfigError> {
        let section = self.github.clone().unwrap_or_default();
        let org = section.org.or_else(|| env("GITHUB_ORG"));
        let app_id = section.app_id.or_else(|| env("GITHUB_APP_ID").and_then(|v| v.parse().ok()));
        let token = match &section.token_file {
            Some(path) => Some(Secret::from_file(path)?),
            None => env("GITHUB_TOKEN").map(Secret::new),
        };
        if self.github.is_none() && org.is_none() && token.is_none() && app_id.is_none() {
            return Ok(None);
        }
        let invalid = |message: &str| ConfigError::Invalid {
            path: "[github]".into(),
            message: message.into(),
        };
        let org =
            org.ok_or_else(|| invalid("set `org` (or GITHUB_ORG) to the organisation's login"))?;
        let api_url = section
            .api_url
            .or_else(|| env("GITHUB_API_URL"))
            .unwrap_or_else(|| "https://api.github.com".into());
        let auth = match (app_id, token) {
            (Some(app_id), _) => {
                let key_path = section
                    .app_private_key_file
                    .or_else(|| env("GITHUB_APP_PRIVATE_KEY_PATH").map(PathBuf::from))
                    .ok_or_else(|| invalid("a GitHub App needs `app_private_key_file` (or GITHUB_APP_PRIVATE_KEY_PATH)"))?;
                let installation_id = section
                    .installation_id
                    .or_else(|| env("GITHUB_APP_INSTALLATION_ID").and_then(|v| v.parse().ok()))
                    .ok_or_else(|| {
                        invalid(
                            "a GitHub App needs `installation_id` (or GITHUB_APP_INSTALLATION_ID)",
                        )
                    })?;
                GitHubAuth::App {
                    app_id,
                    private_key: Secret::from_file(&key_path)?,
                    installation_id,
                }
            }
            (None, Some(token)) => GitHubAuth::Token(token),
            (None, None) => {
                return Err(invalid(
                    "set GITHUB_TOKEN (or `token_file`), or a GitHub App (`app_id`, …)",
                ));
            }
        };
        Ok(Some(GitHubSettings { org, api_url, auth }))
    }

    /// AWS settings, or `None` when neither `[aws]` nor any AWS credential setting is present.
    pub fn aws(&self, env: Env<'_>) -> Option<AwsSettings> {
        const CREDENTIAL_HINTS: [&str; 4] = [
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ];
        match &self.aws {
            Some(section) => Some(AwsSettings { accounts: section.accounts.clone() }),
            None if CREDENTIAL_HINTS.iter().any(|name| env(name).is_some()) => {
                Some(AwsSettings::default())
            }
            None => None,
        }
    }

    /// Okta settings, or `None` when Okta is not configured at all.
    pub fn okta(&self, env: Env<'_>) -> Result<Option<OktaSettings>, ConfigError> {
        let section = self.okta.clone().unwrap_or_default();
        let org_url = section.org_url.or_else(|| env("OKTA_ORG_URL"));
        let client_id = section.client_id.or_else(|| env("OKTA_CLIENT_ID"));
        let token = match &section.token_file {
            Some(path) => Some(Secret::from_file(path)?),
            None => env("OKTA_API_TOKEN").map(Secret::new),
        };
        if self.okta.is_none() && org_url.is_none() && token.is_none() && client_id.is_none() {
            return Ok(None);
        }
        let invalid =
            |message: &str| ConfigError::Invalid { path: "[okta]".into(), message: message.into() };
        let org_url = org_url.ok_or_else(|| {
            invalid("set `org_url` (or OKTA_ORG_URL), e.g. https://acme.okta.com")
        })?;
        let auth = match (client_id, token) {
            (Some(client_id), _) => {
                let key_path = section
                    .private_key_file
                    .or_else(|| env("OKTA_PRIVATE_KEY_PATH").map(PathBuf::from))
                    .ok_or_else(|| invalid("an OAuth service app needs `private_key_file` (or OKTA_PRIVATE_KEY_PATH)"))?;
                OktaAuth::PrivateKeyJwt {
                    client_id,
                    private_key: Secret::from_file(&key_path)?,
                    key_id: section.key_id.or_else(|| env("OKTA_KEY_ID")),
                }
            }
            (None, Some(token)) => OktaAuth::ApiToken(token),
            (None, None) => {
                return Err(invalid(
                    "set OKTA_API_TOKEN (or `token_file`), or an OAuth service app (`client_id`, …)",
                ));
            }
        };
        Ok(Some(OktaSettings { org_url, auth }))
    }

    /// Jira settings, or `None` when Jira is not configured at all.
    pub fn jira(&self, env: Env<'_>) -> Result<Option<JiraSettings>, ConfigError> {
        let section = self.jira.clone().unwrap_or_default();
        let url = section.url.clone().or_else(|| env("JIRA_URL"));
        let email = section.email.clone().or_else(|| env("JIRA_EMAIL"));
        let token = match &section.token_file {
            Some(path) => Some(Secret::from_file(path)?),
            None => env("JIRA_API_TOKEN").map(Secret::new),
        };
        if self.jira.is_none() && url.is_none() && token.is_none() {
            return Ok(None);
        }
        let invalid =
            |message: &str| ConfigError::Invalid { path: "[jira]".into(), message: message.into() };
        let url =
            url.ok_or_else(|| invalid("set `url` (or JIRA_URL), e.g. https://acme.atlassian.net"))?;
        let email = email.ok_or_else(|| {
            invalid("set `email` (or JIRA_EMAIL) to the account the API token belongs to")
        })?;
        let token = token.ok_or_else(|| {
            invalid("set JIRA_API_TOKEN (or `token_file`) to an API token from id.atlassian.com")
        })?;
        if section.project.trim().is_empty() || section.issue_type.trim().is_empty() {
            return Err(invalid("`project` and `issue_type` cannot be empty"));
        }
        Ok(Some(JiraSettings::new(url, email, token, section)))
    }

    /// Slack settings; every part is optional here, `kushim serve` says which it needs.
    pub fn slack(&self, env: Env<'_>) -> Result<SlackSettings, ConfigError> {
        let section = self.slack.clone().unwrap_or_default();
        let secret = |file: &Option<PathBuf>, name: &str| match file {
            Some(path) => Secret::from_file(path).map(Some),
            None => Ok(env(name).map(|value| Secret::new(value.trim()))),
        };
        Ok(SlackSettings {
            mode: section.mode,
            api_url: self.slack_api_url(env),
            signing_secret: secret(&section.signing_secret_file, "SLACK_SIGNING_SECRET")?,
            bot_token: secret(&section.bot_token_file, "SLACK_BOT_TOKEN")?,
            app_token: secret(&section.app_token_file, "SLACK_APP_TOKEN")?,
            roles: section.roles,
        })
    }

    /// The Web API base URL, bot and evidence alike: `[slack] api_url`, then `SLACK_API_URL`,
    /// then Slack's own; without a trailing slash.
    fn slack_api_url(&self, env: Env<'_>) -> String {
        let configured = self.slack.as_ref().and_then(|section| section.api_url.clone());
        let url =
            configured.or_else(|| env("SLACK_API_URL")).unwrap_or_else(|| SLACK_API_URL.to_owned());
        url.trim_end_matches('/').to_owned()
    }

    /// Slack evidence settings, or `None` when no evidence token is set (`[slack]
    /// evidence_token_file`, then `SLACK_EVIDENCE_TOKEN`; never the bot token).
    pub fn slack_evidence(
        &self,
        env: Env<'_>,
    ) -> Result<Option<SlackEvidenceSettings>, ConfigError> {
        let section = self.slack.clone().unwrap_or_default();
        let found = match &section.evidence_token_file {
            Some(path) => Some((Secret::from_file(path)?, "[slack] evidence_token_file")),
            None => env("SLACK_EVIDENCE_TOKEN")
                .map(|value| (Secret::new(value.trim()), "SLACK_EVIDENCE_TOKEN")),
        };
        Ok(found.map(|(token, source)| SlackEvidenceSettings {
            api_url: self.slack_api_url(env),
            token,
            token_source: source.to_owned(),
            sso_enforced: section.sso_enforced,
        }))
    }

    /// The database to use: `--database-url` / `DATABASE_URL` first, then the file, then
    /// `kushim.db`.
    pub fn database_url(
        &self,
        from_cli_or_env: Option<&str>,
    ) -> Result<DatabaseUrl, crate::store::StoreError> {
        match from_cli_or_env.or(self.database_url.as_deref()) {
            Some(text) => DatabaseUrl::from_str(text),
            None => Ok(DatabaseUrl::default_sqlite()),
        }
    }
}

/// What `kushim init` writes: every setting, commented with its default.
pub const EXAMPLE: &str = r#"# Kushim configuration. Every setting is optional; the values shown are the defaults.
# Unknown keys are errors, so a typo never silently does nothing.
# Secrets do not belong here: pass them in the environment (DATABASE_URL, …).

# Where evidence is stored: a SQLite file, or postgres://user@host/db for several replicas.
# DATABASE_URL and --database-url take precedence.
# database_url = "kushim.db"

# Use your own copy of the control catalog instead of the built-in one
# (copy manifest/controls/ from the Kushim repository and edit it).
# catalog_dir = "controls"

[scope]
# Controls that do not apply to you, with the reason your auditor will read.
# exclude = [
#   { control = "PHY-01", reason = "Fully remote company; data centres are AWS's (carve-out)" },
# ]

# GitHub: a token with read:org and repo (or admin:org for 2FA data) in GITHUB_TOKEN,
# or a GitHub App installed on the organisation.
# [github]
# org = "acme"                                   # GITHUB_ORG
# api_url = "https://api.github.com"             # GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3)
# token_file = "/run/secrets/github-token"       # instead of GITHUB_TOKEN
# app_id = 12345                                 # GITHUB_APP_ID
# app_private_key_file = "/run/secrets/app.pem"  # GITHUB_APP_PRIVATE_KEY_PATH
# installation_id = 67890                        # GITHUB_APP_INSTALLATION_ID

# AWS: the standard credential chain and environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, …)
# with read-only IAM access (the SecurityAudit managed policy). Several accounts by role assumption:
# [aws]
# accounts = [
#   { name = "prod", role_arn = "arn:aws:iam::111111111111:role/kushim-audit", external_id = "kushim" },
# ]

# Okta: an API token of a read-only administrator in OKTA_API_TOKEN, or an OAuth 2.0 service app
# with the okta.*.read scopes and a private key.
# [okta]
# org_url = "https://acme.okta.com"              # OKTA_ORG_URL
# token_file = "/run/secrets/okta-token"         # instead of OKTA_API_TOKEN
# client_id = "0oa1example"                      # OKTA_CLIENT_ID
# private_key_file = "/run/secrets/okta.pem"     # OKTA_PRIVATE_KEY_PATH
# key_id = "kid-1"                               # OKTA_KEY_ID

# Jira: remediation tickets for failing controls. JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN (an API
# token from id.atlassian.com); `kushim serve` also takes Jira webhooks at /jira/webhook, signed
# with JIRA_WEBHOOK_SECRET.
# [jira]
# url = "https://acme.atlassian.net"             # JIRA_URL
# email = "kushim@acme.com"                      # JIRA_EMAIL
# token_file = "/run/secrets/jira-token"         # instead of JIRA_API_TOKEN
# project = "SEC"
# issue_type = "Task"
# labels = []                                    # extra labels on every ticket
# components = []
# priority = { critical = "Highest", high = "High", medium = "Medium", low = "Low" }
# due_days = { critical = 7, high = 30, medium = 90, low = 180 }
# auto_create = ["critical", "high"]             # severities ticketed without anyone asking
# reopen = "reopen"                              # or "new_linked": a new ticket linked to the closed one

# Slack: `kushim serve` needs SLACK_SIGNING_SECRET (Basic Information) and SLACK_BOT_TOKEN
# (OAuth & Permissions, xoxb-…). `kushim manifest slack --base-url https://YOUR-HOST` prints the app
# manifest to create the app with.
# [slack]
# mode = "http"                                  # or "socket": no public URL, needs SLACK_APP_TOKEN (xapp-…)
# api_url = "https://slack.com/api"              # SLACK_API_URL
# signing_secret_file = "/run/secrets/slack-signing-secret"   # instead of SLACK_SIGNING_SECRET
# bot_token_file = "/run/secrets/slack-bot-token"             # instead of SLACK_BOT_TOKEN
# app_token_file = "/run/secrets/slack-app-token"             # instead of SLACK_APP_TOKEN
#
# Evidence for slack.admins_2fa: `kushim collect` lists the workspace's members with
# SLACK_EVIDENCE_TOKEN (not the bot token). Slack shows who has 2FA only to admins and owners,
# so give it a user token (xoxp-…) of a workspace admin with users:read.
# evidence_token_file = "/run/secrets/slack-evidence-token"   # instead of SLACK_EVIDENCE_TOKEN
# sso_enforced = true                           # only if the workspace requires SAML SSO (Slack's API does not say); unset: unknown
#
# Who may do what, by Slack user id or user-group handle. Everyone else may only look (viewer).
# Responders collect, open tickets, snooze and request exceptions; approvers also decide
# exceptions; admins also choose the channels Kushim posts to.
# [slack.roles]
# admins = ["U0123ADMIN"]
# approvers = ["@security-leads"]
# responders = ["@engineering"]

[checks.aws]
# key_max_age_days = 90          # active access keys older than this fail
# unused_key_days = 45           # active keys unused (or never used) for longer than this fail
# unused_console_days = 45       # console passwords unused for longer than this fail
# password_min_length = 14
# password_reuse = 24
# password_max_age_days = 90     # or false: do not require expiry (NIST 800-63B advises against it)
# root_recent_use_days = 1       # the root user used within this many days fails

[checks.github]
# max_owners = 3
# required_approvals = 1
# require_up_to_date_branches = false
# require_signed_commits = false
# recent_commits = 30            # how many default-branch commits must have approved reviews
# vuln_sla_critical_days = 15    # open critical Dependabot alerts older than this fail
# vuln_sla_high_days = 30
# secret_alert_max_age_days = 7
# stale_member_days = 180        # Enterprise Cloud only (needs the audit log)
# stale_admin_days = 90
# public_repo_allowlist = []     # public repositories that are meant to be public, "org/repo"

[checks.okta]
# accept_weak_factors = false    # count sms, call, email and security questions as MFA
# mfa_exemptions = []            # logins judged elsewhere (e.g. federated from another IdP)
# password_profile = "standard"  # or "stig" (Okta IDaaS STIG V1R2)
# max_session_lifetime_minutes = 1080
# max_session_idle_minutes = 15
# inactive_days = 90
# max_super_admins = 3

[checks.jira]
# grace_days = 0                 # days past the due date before a remediation ticket counts as overdue

# The background engine of `kushim serve`: schedules, job leases, alert damping.
[jobs]
# timezone = "UTC"               # the team's timezone, for schedules without their own
# lease_seconds = 60             # a crashed replica's job is taken over after this long
# flap_window_minutes = 60       # a control changing again within this updates its alert in place
# tick_seconds = 5               # how often each replica's scheduler looks for due occurrences
# evidence_retention_days = 400  # older evidence payloads are dropped (hashes kept); 0 keeps all

# Schedules: cron is seconds first (sec min hour day month weekday); name weekdays (Mon-Fri),
# since numbers run 1 = Sunday. Defaults: collect-<integration> every 4 hours, evaluate hourly,
# digest 09:00 Mon-Fri, exception-sweep 08:00 daily, evidence-reminders Monday 10:00,
# evidence-retention Sunday 04:30.
# A table named like a default changes only what it sets; `enabled = false` turns it off.
# [schedules.digest]
# cron = "0 0 9 * * Mon-Fri"
# timezone = "Europe/Berlin"
# job = "digest"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("kushim.toml"))
    }

    #[test]
    fn an_empty_file_means_the_defaults() {
        let config = parse("").unwrap();
        assert!(config.database_url.is_none());
        assert!(config.scope.exclude.is_empty());
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_key() {
        let error =
            parse("database_url = \"x.db\"\n\n[scope]\nexclued = []\n").unwrap_err().to_string();
        assert!(error.starts_with("kushim.toml: "), "{error}");
        assert!(error.contains("line 4"), "{error}");
        assert!(error.contains("exclued"), "{error}");
    }

    #[test]
    fn an_exclusion_needs_a_reason() {
        let error =
            parse("[scope]\nexclude = [{ control = \"PHY-01\", reason = \" \" }]\n").unwrap_err();
        assert!(error.to_string().contains("PHY-01 needs a reason"), "{error}");
    }

    #[test]
    fn the_command_line_database_url_wins_over_the_file() {
        let config = parse("database_url = \"from-file.db\"\n").unwrap();
        assert_eq!(config.database_url(None).unwrap().expose(), "sqlite://from-file.db?mode=rwc");
        assert_eq!(
            config.database_url(Some("cli.db")).unwrap().expose(),
            "sqlite://cli.db?mode=rwc"
        );
    }

    #[test]
    fn the_example_written_by_init_is_valid() {
        parse(EXAMPLE).unwrap();
    }

    #[test]
    fn the_defaults_shown_in_the_example_are_the_real_ones() {
        // Uncommenting every `# key = value` line and `# [section]` of the example must parse
        // (so every key shown exists) and give the defaults (so the comments cannot drift).
        let uncommented: String = EXAMPLE
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') && rest.ends_with(']') => rest,
                Some(rest)
                    if rest
                        .split_once(" = ")
                        .is_some_and(|(k, v)| !k.contains(' ') && v != "[") =>
                {
                    rest
                }
                _ => line,
            })
            .map(|line| line.split(" #").next().unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n");
        let config = parse(&uncommented).unwrap();
        assert_eq!(format!("{:?}", config.checks), format!("{:?}", Thresholds::default()));
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn integrations_without_any_setting_are_not_configured() {
        let config = parse("").unwrap();
        let nothing = env(&[]);
        assert!(config.github(&nothing).unwrap().is_none());
        assert!(config.aws(&nothing).is_none());
        assert!(config.okta(&nothing).unwrap().is_none());
    }

    #[test]
    fn github_comes_from_the_conventional_environment() {
        let config = parse("").unwrap();
        let github = config
            .github(&env(&[
                ("GITHUB_TOKEN", "ghp_secret"),
                ("GITHUB_ORG", "acme"),
                ("GITHUB_API_URL", "http://127.0.0.1:9/api/v3"),
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (github.org.as_str(), github.api_url.as_str()),
            ("acme", "http://127.0.0.1:9/api/v3")
        );
        assert!(matches!(&github.auth, GitHubAuth::Token(token) if token.expose() == "ghp_secret"));
        assert!(!format!("{github:?}").contains("ghp_secret"), "secrets never print");
    }

    #[test]
    fn a_half_configured_integration_says_what_is_missing() {
        let config = parse("").unwrap();
        let error = config.github(&env(&[("GITHUB_TOKEN", "ghp_x")])).unwrap_err().to_string();
        assert!(error.contains("GITHUB_ORG"), "{error}");
        let error = parse("[okta]\norg_url = \"https://acme.okta.com\"\n")
            .unwrap()
            .okta(&env(&[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("OKTA_API_TOKEN"), "{error}");
    }

    #[test]
    fn okta_and_aws_resolve_from_file_and_environment() {
        let config = parse("[okta]\norg_url = \"https://acme.okta.com\"\n\n[aws]\naccounts = [{ name = \"prod\", role_arn = \"arn:aws:iam::1:role/r\" }]\n").unwrap();
        let okta = config.okta(&env(&[("OKTA_API_TOKEN", "00abc")])).unwrap().unwrap();
        assert!(matches!(&okta.auth, OktaAuth::ApiToken(token) if token.expose() == "00abc"));
        assert_eq!(config.aws(&env(&[])).unwrap().accounts[0].name, "prod");
        assert!(
            parse("").unwrap().aws(&env(&[("AWS_PROFILE", "audit")])).is_some(),
            "the standard AWS environment is enough"
        );
    }

    #[test]
    fn jira_comes_from_the_environment_and_the_ticket_settings_from_the_file() {
        let config = parse(
            "[jira]\nproject = \"OPS\"\nauto_create = [\"critical\"]\nreopen = \"new_linked\"\n\
             due_days = { critical = 3, high = 14, medium = 60, low = 120 }\n",
        )
        .unwrap();
        let jira = config
            .jira(&env(&[
                ("JIRA_URL", "https://acme.atlassian.net/"),
                ("JIRA_EMAIL", "bot@acme.com"),
                ("JIRA_API_TOKEN", "ATATT-secret"),
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(jira.url, "https://acme.atlassian.net");
        assert_eq!(jira.tickets.project, "OPS");
        assert_eq!(jira.tickets.reopen, ReopenPolicy::NewLinked);
        assert_eq!(*jira.tickets.due_days.get(crate::catalog::Severity::High), 14);
        assert_eq!(jira.tickets.priority.get(crate::catalog::Severity::Critical), "Highest");
        assert!(!format!("{jira:?}").contains("ATATT-secret"), "secrets never print");
        assert!(parse("").unwrap().jira(&env(&[])).unwrap().is_none());
    }

    #[test]
    fn slack_evidence_needs_its_own_token_and_never_takes_the_bots() {
        let config = parse("[slack]\nsso_enforced = true\n").unwrap();
        assert!(config.slack_evidence(&env(&[])).unwrap().is_none(), "no token, no collection");
        let bot_only = config.slack_evidence(&env(&[("SLACK_BOT_TOKEN", "xoxb-bot")])).unwrap();
        assert!(bot_only.is_none(), "a bot token cannot see 2FA: Slack stays uncollected");

        let evidence = config
            .slack_evidence(&env(&[
                ("SLACK_EVIDENCE_TOKEN", "xoxp-admin"),
                ("SLACK_API_URL", "http://127.0.0.1:9/api/"),
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(evidence.api_url, "http://127.0.0.1:9/api");
        assert_eq!(evidence.sso_enforced, Some(true));

        let admin = config
            .slack_evidence(&env(&[
                ("SLACK_BOT_TOKEN", "xoxb-bot"),
                ("SLACK_EVIDENCE_TOKEN", "xoxp-admin-secret"),
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(admin.token.expose(), "xoxp-admin-secret");
        assert_eq!(admin.token_source, "SLACK_EVIDENCE_TOKEN");
        assert_eq!(admin.api_url, SLACK_API_URL);
        assert!(!format!("{admin:?}").contains("xoxp-admin-secret"), "secrets never print");
    }

    #[test]
    fn the_slack_evidence_token_file_wins_and_an_unknown_slack_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("evidence-token");
        fs::write(&file, "xoxp-from-file\n").unwrap();
        let config =
            parse(&format!("[slack]\nevidence_token_file = {:?}\n", file.display().to_string()))
                .unwrap();
        let settings =
            config.slack_evidence(&env(&[("SLACK_EVIDENCE_TOKEN", "xoxp-env")])).unwrap().unwrap();
        assert_eq!(settings.token.expose(), "xoxp-from-file");
        assert_eq!(settings.token_source, "[slack] evidence_token_file");
        assert_eq!(settings.sso_enforced, None);

        let error = parse("[slack]\nsso_enforce = true\n").unwrap_err().to_string();
        assert!(error.contains("sso_enforce"), "{error}");
    }

    #[test]
    fn a_half_configured_jira_says_what_is_missing() {
        let error =
            parse("").unwrap().jira(&env(&[("JIRA_URL", "https://a.atlassian.net")])).unwrap_err();
        assert!(error.to_string().contains("JIRA_EMAIL"), "{error}");
        let error = parse("[jira]\nreopen = \"sometimes\"\n").unwrap_err().to_string();
        assert!(error.contains("sometimes"), "{error}");
        let error = parse("[jira]\nauto_create = [\"urgent\"]\n").unwrap_err().to_string();
        assert!(error.contains("urgent"), "{error}");
    }
}
