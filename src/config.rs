//! `kushim.toml`: strict (an unknown key is an error naming the file, line and key), every field
//! optional with a documented default. Secrets never live in this struct as plain strings: the
//! database URL is a [`DatabaseUrl`], which prints without its password.

use std::{
    fs,
    path::{Path, PathBuf},
    str::FromStr,
};

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
        // Uncommenting every `# key = value` line of the example must parse and give the
        // defaults, so the comments cannot drift from the code.
        let uncommented: String = EXAMPLE
            .lines()
            .map(|line| match line.strip_prefix("# ") {
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
}
