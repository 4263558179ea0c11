//! `kushim doctor` for GitHub: tries the credential, then one small request per permission the
//! collection needs, and says for each whether it works and, if not, which scope (token) or
//! permission (GitHub App) to add.

use serde_json::{Value, json};

use super::{
    client::{Client, Credential, Endpoint},
    collector::{
        AUDIT_LOG, GQL_MEMBERS, GQL_REPOS, MEMBERS_2FA, ORG, ORG_HOOKS, ORG_WORKFLOW, OUTSIDE_2FA,
        REPO, REPO_HOOKS, REPO_WORKFLOW, RULESETS, SECRET_ALERTS,
    },
};
use crate::{
    config::GitHubSettings,
    integrations::{
        Integration,
        collect::{ApiCalls, CollectError, Diagnosis, RetryPolicy},
    },
};

/// The GitHub App permissions the collection reads with, as keys of the installation token's
/// `permissions` map, and what each is for.
const APP_PERMISSIONS: &[(&str, &str)] = &[
    ("members", "members, owners and two-factor status"),
    ("organization_administration", "organisation settings, Actions defaults and the audit log"),
    ("organization_hooks", "organisation webhooks"),
    ("administration", "branch protection, repository security settings and Actions defaults"),
    ("metadata", "repositories and rulesets"),
    ("contents", "recent commits"),
    ("pull_requests", "reviews of recent changes"),
    ("repository_hooks", "repository webhooks"),
    ("vulnerability_alerts", "Dependabot alerts"),
    ("secret_scanning_alerts", "secret-scanning alerts"),
];

/// Checks the configured credential and every permission the collection uses.
pub async fn doctor(settings: &GitHubSettings, policy: &RetryPolicy) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let client = match Client::connect(settings, policy, ApiCalls::default()).await {
        Ok(client) => client,
        Err(error) => {
            out.push(diagnosis("credentials accepted", false, error.to_string()));
            return out;
        }
    };
    if let Credential::App { app_id, installation_id } = client.credential {
        out.push(diagnosis(
            "GitHub App installation token issued",
            true,
            format!("App {app_id}, installation {installation_id}"),
        ));
        for (permission, purpose) in APP_PERMISSIONS {
            let granted = client.app_permissions.get(*permission);
            out.push(diagnosis(
                &format!("App permission {permission}: read"),
                granted.is_some(),
                match granted {
                    Some(level) => format!("granted ({level}): {purpose}"),
                    None => format!(
                        "not granted: add {permission}: read to App {app_id} (needed for {purpose}) \
                         and approve it in the organisation"
                    ),
                },
            ));
        }
    }

    let org = settings.org.as_str();
    let organisation = match client.get(&ORG, &format!("/orgs/{org}")).await {
        Ok(reply) if reply.status.is_success() => {
            let scopes = reply
                .headers
                .get("x-oauth-scopes")
                .and_then(|v| v.to_str().ok())
                .map(|s| format!("; token scopes: {}", if s.is_empty() { "none" } else { s }))
                .unwrap_or_default();
            out.push(diagnosis(
                &format!("organisation {org} readable ({})", client.credential.requirement(&ORG)),
                true,
                format!("GET /orgs/{org} answered{scopes}"),
            ));
            reply.json::<Value>(&ORG).ok()
        }
        Ok(reply) => {
            out.push(diagnosis(
                &format!("organisation {org} readable"),
                false,
                format!("{}; check `org` (GITHUB_ORG)", reply.unexpected(&ORG)),
            ));
            return out;
        }
        Err(error) => {
            let stop = matches!(error, CollectError::Unauthorized { .. });
            out.push(diagnosis("credentials accepted", false, error.to_string()));
            if stop {
                return out;
            }
            None
        }
    };
    if let Some(organisation) = organisation {
        let owner = !organisation["two_factor_requirement_enabled"].is_null();
        out.push(diagnosis(
            "organisation owner settings visible",
            owner,
            if owner {
                "2FA requirement and base permission are readable".to_string()
            } else {
                format!(
                    "GitHub hides the 2FA requirement and base permission from non-owners: use an \
                     owner's token, or an App with {}",
                    ORG.app_permission
                )
            },
        ));
    }

    out.push(
        graphql_probe(&client, &GQL_MEMBERS, "OrgMembers", super::graphql::ORG_MEMBERS, org).await,
    );
    let probes: [(&Endpoint, String, &str); 6] = [
        (
            &MEMBERS_2FA,
            format!("/orgs/{org}/members?filter=2fa_disabled&per_page=1"),
            "members without 2FA",
        ),
        (
            &OUTSIDE_2FA,
            format!("/orgs/{org}/outside_collaborators?filter=2fa_disabled&per_page=1"),
            "outside collaborators without 2FA",
        ),
        (&ORG_HOOKS, format!("/orgs/{org}/hooks?per_page=1"), "organisation webhooks"),
        (
            &ORG_WORKFLOW,
            format!("/orgs/{org}/actions/permissions/workflow"),
            "organisation Actions defaults",
        ),
        (
            &SECRET_ALERTS,
            format!("/orgs/{org}/secret-scanning/alerts?state=open&per_page=1"),
            "secret-scanning alerts",
        ),
        (&AUDIT_LOG, format!("/orgs/{org}/audit-log?per_page=1"), "audit log"),
    ];
    for (endpoint, path, what) in probes {
        out.push(rest_probe(&client, endpoint, &path, what).await);
    }

    let first_repo = match client
        .graphql::<Value>(
            &GQL_REPOS,
            "OrgRepos",
            super::graphql::ORG_REPOS,
            json!({ "org": org, "first": 1, "after": null, "commits": 1, "page": 1 }),
        )
        .await
    {
        Ok(reply) if reply.errors.is_empty() => {
            let name = reply.data["organization"]["repositories"]["nodes"][0]["nameWithOwner"]
                .as_str()
                .map(str::to_string);
            out.push(diagnosis(
                &format!("repositories readable ({})", client.credential.requirement(&GQL_REPOS)),
                true,
                match &name {
                    Some(name) => {
                        format!("protection, alerts and collaborators of {name} readable")
                    }
                    None => "the organisation has no repositories visible to the credential".into(),
                },
            ));
            name
        }
        Ok(reply) => {
            let messages: Vec<&str> = reply.errors.iter().map(|e| e.message.as_str()).collect();
            out.push(diagnosis(
                &format!("repositories readable ({})", client.credential.requirement(&GQL_REPOS)),
                false,
                format!("GitHub left parts out: {}", messages.join("; ")),
            ));
            reply.data["organization"]["repositories"]["nodes"][0]["nameWithOwner"]
                .as_str()
                .map(str::to_string)
        }
        Err(error) => {
            out.push(diagnosis(
                &format!("repositories readable ({})", client.credential.requirement(&GQL_REPOS)),
                false,
                error.to_string(),
            ));
            None
        }
    };
    let Some(repo) = first_repo else { return out };
    out.push(match client.get(&REPO, &format!("/repos/{repo}")).await {
        Ok(reply) if reply.status.is_success() => {
            let visible =
                reply.json::<Value>(&REPO).is_ok_and(|r| !r["security_and_analysis"].is_null());
            diagnosis(
                &format!("repository security settings ({})", client.credential.requirement(&REPO)),
                visible,
                if visible {
                    format!("security_and_analysis of {repo} readable")
                } else {
                    format!(
                        "GitHub returns security_and_analysis of {repo} only to repository admins: \
                         give the credential admin access ({})",
                        REPO.app_permission
                    )
                },
            )
        }
        Ok(reply) => {
            diagnosis("repository security settings", false, reply.unexpected(&REPO).to_string())
        }
        Err(error) => diagnosis("repository security settings", false, error.to_string()),
    });
    let probes: [(&Endpoint, String, &str); 3] = [
        (&REPO_HOOKS, format!("/repos/{repo}/hooks?per_page=1"), "repository webhooks"),
        (
            &REPO_WORKFLOW,
            format!("/repos/{repo}/actions/permissions/workflow"),
            "repository Actions defaults",
        ),
        (&RULESETS, format!("/repos/{repo}/rulesets?includes_parents=true&per_page=1"), "rulesets"),
    ];
    for (endpoint, path, what) in probes {
        out.push(rest_probe(&client, endpoint, &path, what).await);
    }
    out
}

async fn rest_probe(client: &Client, endpoint: &Endpoint, path: &str, what: &str) -> Diagnosis {
    let check = format!("read {what} ({})", client.credential.requirement(endpoint));
    match client.get(endpoint, path).await {
        Ok(reply) if reply.status.is_success() => {
            diagnosis(&check, true, format!("{} answered", endpoint.call))
        }
        Ok(reply) if endpoint == &AUDIT_LOG && reply.status == http::StatusCode::NOT_FOUND => {
            diagnosis(
                &check,
                true,
                "no audit log API (the organisation is not on GitHub Enterprise Cloud), so \
             gh.org.stale_members does not apply"
                    .to_string(),
            )
        }
        Ok(reply) if reply.status == http::StatusCode::NOT_FOUND && endpoint == &RULESETS => {
            diagnosis(&check, true, "rulesets are not available on this plan".to_string())
        }
        Ok(reply) => diagnosis(&check, false, reply.unexpected(endpoint).to_string()),
        Err(error) => diagnosis(&check, false, error.to_string()),
    }
}

async fn graphql_probe(
    client: &Client,
    endpoint: &Endpoint,
    operation: &str,
    query: &str,
    org: &str,
) -> Diagnosis {
    let check = format!("read members and owners ({})", client.credential.requirement(endpoint));
    match client
        .graphql::<Value>(
            endpoint,
            operation,
            query,
            json!({ "org": org, "first": 1, "after": null }),
        )
        .await
    {
        Ok(reply) if reply.errors.is_empty() && !reply.data["organization"].is_null() => {
            diagnosis(&check, true, format!("{} answered", endpoint.call))
        }
        Ok(reply) => diagnosis(
            &check,
            false,
            reply.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "),
        ),
        Err(error) => diagnosis(&check, false, error.to_string()),
    }
}

fn diagnosis(check: &str, ok: bool, detail: String) -> Diagnosis {
    Diagnosis { integration: Integration::GitHub, check: check.to_string(), ok, detail }
}
