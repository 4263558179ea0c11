//! What the collector fetches and how it fills a [`GitHubSnapshot`].
//!
//! Order of a run: `GET /orgs/{org}` first (it proves the credential and the organisation name,
//! so a wrong token fails the run once rather than every part), then the organisation parts and
//! the batched GraphQL repository pages side by side, then the per-repository REST calls and the
//! audit log, fanned out under the client's global limit of concurrent requests. A part that
//! fails lands in `gaps` with the reason and leaves its field `None`; everything else is kept.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use super::{
    AlertSeverity, BasePermission, BypassActor, ClassicProtection, ClassicRule, Collaborator,
    DefaultBranch, DependabotAlert, GitHubSnapshot, Member, OrgRole, OrgSettings, PART_AUDIT_LOG,
    PART_BRANCH_PROTECTION, PART_DEPENDABOT_ALERTS, PART_DEPENDABOT_STATUS, PART_MEMBERS,
    PART_MEMBERS_2FA, PART_ORG_SETTINGS, PART_ORG_WEBHOOKS, PART_ORG_WORKFLOW_PERMISSIONS,
    PART_OUTSIDE_COLLABORATORS, PART_OUTSIDE_COLLABORATORS_2FA, PART_RECENT_COMMITS,
    PART_REPO_WEBHOOKS, PART_REPO_WORKFLOW_PERMISSIONS, PART_REPOSITORIES, PART_RULESETS,
    PART_SECRET_SCANNING_ALERTS, PART_SECURITY_AND_ANALYSIS, RecentCommit, RepoPermission,
    Repository, Ruleset, RulesetEnforcement, RulesetRule, SecretScanningAlert, SecurityAndAnalysis,
    Visibility, Webhook, WorkflowPermissions, WorkflowTokenPermission,
    client::{Client, Endpoint, GraphqlError, ListError, MAX_CONCURRENT_REQUESTS},
    etag::EtagCache,
    graphql::{self as gql, PAGE, RECENT_COMMITS, REPO_PAGE},
    repo_gap_key,
};
use crate::{
    config::GitHubSettings,
    integrations::{
        Gaps, Integration, Source,
        collect::{ApiCalls, CollectError, Collection, RetryPolicy},
    },
};

const GH: Integration = Integration::GitHub;

// The calls, with the classic scope and the App permission GitHub documents for each.
pub(crate) const ORG: Endpoint = Endpoint {
    call: "GET /orgs/{org}",
    scope: "read:org",
    app_permission: "organization_administration: read",
};
pub(crate) const MEMBERS_2FA: Endpoint = Endpoint {
    call: "GET /orgs/{org}/members?filter=2fa_disabled",
    scope: "read:org",
    app_permission: "members: read",
};
pub(crate) const OUTSIDE_2FA: Endpoint = Endpoint {
    call: "GET /orgs/{org}/outside_collaborators?filter=2fa_disabled",
    scope: "read:org",
    app_permission: "members: read",
};
pub(crate) const ORG_HOOKS: Endpoint = Endpoint {
    call: "GET /orgs/{org}/hooks",
    scope: "admin:org_hook",
    app_permission: "organization_hooks: read",
};
pub(crate) const ORG_WORKFLOW: Endpoint = Endpoint {
    call: "GET /orgs/{org}/actions/permissions/workflow",
    scope: "admin:org",
    app_permission: "organization_administration: read",
};
pub(crate) const SECRET_ALERTS: Endpoint = Endpoint {
    call: "GET /orgs/{org}/secret-scanning/alerts",
    scope: "security_events",
    app_permission: "secret_scanning_alerts: read",
};
pub(crate) const AUDIT_LOG: Endpoint = Endpoint {
    call: "GET /orgs/{org}/audit-log",
    scope: "read:audit_log",
    app_permission: "organization_administration: read",
};
pub(crate) const REPO: Endpoint = Endpoint {
    call: "GET /repos/{owner}/{repo}",
    scope: "repo",
    app_permission: "administration: read",
};
pub(crate) const REPO_HOOKS: Endpoint = Endpoint {
    call: "GET /repos/{owner}/{repo}/hooks",
    scope: "read:repo_hook",
    app_permission: "repository_hooks: read",
};
pub(crate) const REPO_WORKFLOW: Endpoint = Endpoint {
    call: "GET /repos/{owner}/{repo}/actions/permissions/workflow",
    scope: "repo",
    app_permission: "administration: read",
};
pub(crate) const RULESETS: Endpoint = Endpoint {
    call: "GET /repos/{owner}/{repo}/rulesets",
    scope: "repo",
    app_permission: "metadata: read",
};
pub(crate) const RULESET: Endpoint = Endpoint {
    call: "GET /repos/{owner}/{repo}/rulesets/{ruleset_id}",
    scope: "repo",
    app_permission: "metadata: read",
};
pub(crate) const PROTECTION: Endpoint = Endpoint {
    call: "GET /repos/{owner}/{repo}/branches/{branch}/protection",
    scope: "repo",
    app_permission: "administration: read",
};
pub(crate) const GQL_REPOS: Endpoint = Endpoint {
    call: "GraphQL organization.repositories",
    scope: "repo",
    app_permission: "metadata: read (with contents, administration and dependabot_alerts: read)",
};
pub(crate) const GQL_MEMBERS: Endpoint = Endpoint {
    call: "GraphQL organization.membersWithRole",
    scope: "read:org",
    app_permission: "members: read",
};
const GQL_ALERTS: Endpoint = Endpoint {
    call: "GraphQL repository.vulnerabilityAlerts",
    scope: "repo",
    app_permission: "vulnerability_alerts: read",
};
const GQL_COLLABORATORS: Endpoint = Endpoint {
    call: "GraphQL repository.collaborators",
    scope: "repo",
    app_permission: "metadata: read",
};

/// The audit log keeps 180 days; asking for that window explicitly matters, since without a
/// `created` qualifier the API searches only the last three months.
const AUDIT_LOG_DAYS: i64 = 180;

/// Collects one organisation. Never fails as a call: a collection that cannot start (bad
/// credentials, unknown organisation) comes back as `Source::Failed` with the reason, a part that
/// fails as a gap. `etags` holds the conditional-request cache; the caller keeps it between runs.
pub async fn collect(
    settings: &GitHubSettings,
    policy: &RetryPolicy,
    etags: &EtagCache,
) -> Collection<GitHubSnapshot> {
    let started_at = Utc::now();
    let calls = ApiCalls::default();
    let span = tracing::info_span!("collect", integration = "github", org = %settings.org);
    let source = async {
        match run(settings, policy, etags, calls.clone()).await {
            Ok(data) => Source::Collected { data, observed_at: Utc::now() },
            Err(error) => {
                tracing::warn!(%error, "github collection failed");
                etags.end_run();
                Source::Failed { reason: error.to_string(), observed_at: Utc::now() }
            }
        }
    }
    .instrument(span)
    .await;
    Collection { source, api_calls: calls.total(), started_at, finished_at: Utc::now() }
}

async fn run(
    settings: &GitHubSettings,
    policy: &RetryPolicy,
    etags: &EtagCache,
    calls: ApiCalls,
) -> Result<GitHubSnapshot, CollectError> {
    let client = Client::connect(settings, policy, calls).await?;
    let org = settings.org.as_str();
    let mut snapshot = GitHubSnapshot { org: org.to_string(), ..GitHubSnapshot::default() };
    let mut gaps = Gaps::new();

    match org_settings(&client, org, etags).await {
        Ok(settings) => snapshot.settings = Some(settings),
        // Rejected credentials, or a GitHub that cannot be reached at all: nothing else would
        // work either, so the run fails as a whole instead of as a gap per part.
        Err(
            error @ (CollectError::Unauthorized { .. }
            | CollectError::NotConfigured { .. }
            | CollectError::Transport { .. }
            | CollectError::Timeout { .. }),
        ) => {
            return Err(error);
        }
        Err(CollectError::Server { status: 404, .. }) => {
            return Err(CollectError::NotConfigured {
                integration: GH,
                what: format!(
                    "organisation {org:?} does not exist or is not visible to the credential; \
                     check `org` (GITHUB_ORG)"
                ),
            });
        }
        Err(error) => {
            gaps.insert(PART_ORG_SETTINGS.into(), error.to_string());
        }
    }

    let (members, members_2fa, outside_2fa, hooks, workflow, secret_alerts, listed) = tokio::join!(
        members(&client, org),
        two_factor_disabled(
            &client,
            &MEMBERS_2FA,
            format!("/orgs/{org}/members?filter=2fa_disabled&per_page=100")
        ),
        two_factor_disabled(
            &client,
            &OUTSIDE_2FA,
            format!("/orgs/{org}/outside_collaborators?filter=2fa_disabled&per_page=100")
        ),
        org_webhooks(&client, org, etags),
        workflow_permissions(
            &client,
            &ORG_WORKFLOW,
            format!("/orgs/{org}/actions/permissions/workflow"),
            etags
        ),
        secret_scanning_alerts(&client, org),
        repositories(&client, org),
    );
    snapshot.members_2fa_disabled = keep(members_2fa, PART_MEMBERS_2FA, &mut gaps);
    snapshot.outside_collaborators_2fa_disabled =
        keep(outside_2fa, PART_OUTSIDE_COLLABORATORS_2FA, &mut gaps);
    snapshot.webhooks = keep(hooks, PART_ORG_WEBHOOKS, &mut gaps);
    snapshot.workflow_permissions = keep(workflow, PART_ORG_WORKFLOW_PERMISSIONS, &mut gaps);
    let secret_alerts = keep(secret_alerts, PART_SECRET_SCANNING_ALERTS, &mut gaps);
    let members = keep(members, PART_MEMBERS, &mut gaps);

    let Listed { mut repos, gaps: repo_gaps, complete } = listed;
    gaps.extend(repo_gaps);
    let (audit, extras) = tokio::join!(
        audit_log(&client, org, members.as_deref()),
        stream::iter(repos.iter().filter(|r| !r.repo.is_archived))
            .map(|listed| repo_extras(&client, listed, etags))
            .buffer_unordered(MAX_CONCURRENT_REQUESTS)
            .collect::<Vec<_>>(),
    );
    let mut extras: BTreeMap<String, Extras> =
        extras.into_iter().map(|e| (e.name_with_owner.clone(), e)).collect();

    match (members, audit) {
        (members, Audit::Unavailable) => {
            snapshot.audit_log_available = Some(false);
            snapshot.members = members;
        }
        (Some(mut members), Audit::Read(last_active)) => {
            for member in &mut members {
                member.last_active = last_active.get(&member.login).copied().flatten();
            }
            snapshot.audit_log_available = Some(true);
            snapshot.members = Some(members);
        }
        (members, Audit::Failed(reason)) => {
            gaps.insert(PART_AUDIT_LOG.into(), reason);
            snapshot.members = members;
        }
        (None, Audit::Read(_)) => {}
    }

    for listed in &mut repos {
        let name = listed.repo.name_with_owner.clone();
        if let Some(alerts) = &secret_alerts {
            listed.repo.secret_scanning_alerts =
                Some(alerts.get(&name).cloned().unwrap_or_default());
        }
        let Some(extra) = extras.remove(&name) else { continue };
        let repo = &mut listed.repo;
        repo.security_and_analysis = keep(
            extra.security_and_analysis,
            &repo_gap_key(PART_SECURITY_AND_ANALYSIS, &name),
            &mut gaps,
        )
        .flatten();
        repo.webhooks = keep(extra.webhooks, &repo_gap_key(PART_REPO_WEBHOOKS, &name), &mut gaps);
        repo.workflow_permissions =
            keep(extra.workflow, &repo_gap_key(PART_REPO_WORKFLOW_PERMISSIONS, &name), &mut gaps);
        if let Some(branch) = &mut repo.default_branch {
            if let Some(protection) =
                keep(extra.protection, &repo_gap_key(PART_BRANCH_PROTECTION, &name), &mut gaps)
            {
                branch.protection = protection;
            }
            branch.rulesets =
                keep(extra.rulesets, &repo_gap_key(PART_RULESETS, &name), &mut gaps).flatten();
        }
    }
    snapshot.repos = repos.into_iter().map(|listed| listed.repo).collect();
    snapshot.gaps = gaps;

    if complete {
        etags.keep_only_touched();
    } else {
        etags.end_run();
    }
    tracing::info!(
        api_calls = client.calls.total(),
        not_modified = client.not_modified(),
        repositories = snapshot.repos.len(),
        gaps = snapshot.gaps.len(),
        "github collection finished"
    );
    Ok(snapshot)
}

/// The value of a part, or `None` with its failure recorded under `part`.
fn keep<T>(result: Result<T, CollectError>, part: &str, gaps: &mut Gaps) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(part, %error, "github part not collected");
            gaps.insert(part.to_string(), error.to_string());
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Organisation parts

#[derive(Deserialize)]
struct OrgWire {
    two_factor_requirement_enabled: Option<bool>,
    default_repository_permission: Option<String>,
    members_can_create_public_repositories: Option<bool>,
}

async fn org_settings(
    client: &Client,
    org: &str,
    etags: &EtagCache,
) -> Result<OrgSettings, CollectError> {
    let (reply, _) = client.get_cached(&ORG, &format!("/orgs/{org}"), etags).await?;
    let wire: OrgWire = reply.json(&ORG)?;
    let default_repository_permission = match wire.default_repository_permission.as_deref() {
        None => None,
        Some("none") => Some(BasePermission::NoAccess),
        Some("read") => Some(BasePermission::Read),
        Some("write") => Some(BasePermission::Write),
        Some("admin") => Some(BasePermission::Admin),
        Some(other) => {
            return Err(malformed(
                &ORG,
                format!("unknown default_repository_permission {other:?}"),
            ));
        }
    };
    Ok(OrgSettings {
        two_factor_requirement_enabled: wire.two_factor_requirement_enabled,
        default_repository_permission,
        members_can_create_public_repositories: wire.members_can_create_public_repositories,
    })
}

async fn members(client: &Client, org: &str) -> Result<Vec<Member>, CollectError> {
    let mut members = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let reply = client
            .graphql::<gql::OrgData<gql::MembersWithRole>>(
                &GQL_MEMBERS,
                "OrgMembers",
                gql::ORG_MEMBERS,
                json!({ "org": org, "first": PAGE, "after": after }),
            )
            .await?;
        note_cost("OrgMembers", reply.data.rate_limit.as_ref());
        let organization =
            reply.data.organization.ok_or_else(|| graphql_errors(&GQL_MEMBERS, &reply.errors))?;
        let connection = organization.members_with_role;
        for edge in connection.edges.into_iter().flatten() {
            let Some(node) = edge.node else { continue };
            let role = match edge.role.as_str() {
                "ADMIN" => OrgRole::Admin,
                "MEMBER" => OrgRole::Member,
                other => return Err(malformed(&GQL_MEMBERS, format!("unknown role {other:?}"))),
            };
            members.push(Member { login: node.login, role, last_active: None });
        }
        match next_cursor(&connection.page_info) {
            Some(cursor) => after = Some(cursor),
            None => return Ok(members),
        }
    }
}

/// The logins of a `filter=2fa_disabled` list. GitHub lets only owners use the filter and
/// answers others with 422 (or 403).
async fn two_factor_disabled(
    client: &Client,
    endpoint: &Endpoint,
    path: String,
) -> Result<Vec<String>, CollectError> {
    match client.get_all::<gql::Login>(endpoint, &path, None).await {
        Ok(users) => Ok(users.into_iter().map(|u| u.login).collect()),
        Err(ListError::Status(reply)) if reply.status == StatusCode::UNPROCESSABLE_ENTITY => {
            Err(CollectError::Forbidden {
                integration: GH,
                call: endpoint.call.to_string(),
                missing: "organisation owner rights (only owners may use filter=2fa_disabled)"
                    .into(),
                detail: reply.message(),
            })
        }
        Err(error) => Err(error.into_error(endpoint)),
    }
}

#[derive(Deserialize)]
struct HookWire {
    id: u64,
    #[serde(default)]
    active: bool,
    config: HookConfigWire,
}

#[derive(Deserialize)]
struct HookConfigWire {
    url: Option<String>,
    secret: Option<String>,
    /// A string ("0"/"1") in GitHub's documentation, sometimes a number in practice.
    insecure_ssl: Option<Value>,
}

fn webhook(wire: HookWire) -> Webhook {
    let insecure_ssl = match wire.config.insecure_ssl {
        Some(Value::String(text)) => text,
        Some(Value::Number(number)) => number.to_string(),
        // GitHub's documented default.
        _ => "0".to_string(),
    };
    Webhook {
        id: wire.id,
        url: wire.config.url.unwrap_or_default(),
        active: wire.active,
        secret: wire.config.secret,
        insecure_ssl,
    }
}

async fn org_webhooks(
    client: &Client,
    org: &str,
    etags: &EtagCache,
) -> Result<Vec<Webhook>, CollectError> {
    let hooks = client
        .get_all::<HookWire>(&ORG_HOOKS, &format!("/orgs/{org}/hooks?per_page=100"), Some(etags))
        .await
        .map_err(|e| e.into_error(&ORG_HOOKS))?;
    Ok(hooks.into_iter().map(webhook).collect())
}

#[derive(Deserialize)]
struct WorkflowWire {
    default_workflow_permissions: String,
    can_approve_pull_request_reviews: bool,
}

async fn workflow_permissions(
    client: &Client,
    endpoint: &Endpoint,
    path: String,
    etags: &EtagCache,
) -> Result<WorkflowPermissions, CollectError> {
    let (reply, _) = client.get_cached(endpoint, &path, etags).await?;
    let wire: WorkflowWire = reply.json(endpoint)?;
    let default_workflow_permissions = match wire.default_workflow_permissions.as_str() {
        "read" => WorkflowTokenPermission::Read,
        "write" => WorkflowTokenPermission::Write,
        other => {
            return Err(malformed(
                endpoint,
                format!("unknown default_workflow_permissions {other:?}"),
            ));
        }
    };
    Ok(WorkflowPermissions {
        default_workflow_permissions,
        can_approve_pull_request_reviews: wire.can_approve_pull_request_reviews,
    })
}

#[derive(Deserialize)]
struct SecretAlertWire {
    number: u64,
    created_at: String,
    secret_type: String,
    repository: RepoRefWire,
}

#[derive(Deserialize)]
struct RepoRefWire {
    full_name: String,
}

/// Open secret-scanning alerts of the whole organisation, by repository `full_name`.
async fn secret_scanning_alerts(
    client: &Client,
    org: &str,
) -> Result<BTreeMap<String, Vec<SecretScanningAlert>>, CollectError> {
    let alerts = client
        .get_all::<SecretAlertWire>(
            &SECRET_ALERTS,
            &format!("/orgs/{org}/secret-scanning/alerts?state=open&per_page=100"),
            None,
        )
        .await
        .map_err(|e| e.into_error(&SECRET_ALERTS))?;
    let mut by_repo: BTreeMap<String, Vec<SecretScanningAlert>> = BTreeMap::new();
    for alert in alerts {
        by_repo.entry(alert.repository.full_name).or_default().push(SecretScanningAlert {
            number: alert.number,
            secret_type: alert.secret_type,
            created_at: timestamp(&SECRET_ALERTS, &alert.created_at)?,
        });
    }
    Ok(by_repo)
}

enum Audit {
    /// The organisation is not on Enterprise Cloud (GitHub answers 404).
    Unavailable,
    /// Newest event per member login (None: no event in the retention window).
    Read(BTreeMap<String, Option<DateTime<Utc>>>),
    Failed(String),
}

#[derive(Deserialize)]
struct AuditEventWire {
    #[serde(rename = "@timestamp")]
    timestamp: Option<i64>,
    created_at: Option<i64>,
}

/// Each member's newest audit-log event. The first member's query also tells whether the API
/// exists for this organisation at all; the rest fan out only if it does.
async fn audit_log(client: &Client, org: &str, members: Option<&[Member]>) -> Audit {
    let Some(members) = members else {
        // Without members there is nobody to look up; still find out whether the log exists.
        return match last_event(client, org, None).await {
            Ok(None) => Audit::Unavailable,
            Ok(Some(_)) => Audit::Failed(
                "the member list could not be collected, so no member's activity was read".into(),
            ),
            Err(error) => Audit::Failed(error.to_string()),
        };
    };
    let Some(first) = members.first() else {
        return match last_event(client, org, None).await {
            Ok(None) => Audit::Unavailable,
            Ok(Some(_)) => Audit::Read(BTreeMap::new()),
            Err(error) => Audit::Failed(error.to_string()),
        };
    };
    let mut seen = BTreeMap::new();
    match last_event(client, org, Some(&first.login)).await {
        Ok(None) => return Audit::Unavailable,
        Ok(Some(at)) => {
            seen.insert(first.login.clone(), at);
        }
        Err(error) => return Audit::Failed(error.to_string()),
    }
    let rest: Vec<_> = stream::iter(&members[1..])
        .map(|member| async move {
            (member.login.clone(), last_event(client, org, Some(&member.login)).await)
        })
        .buffer_unordered(MAX_CONCURRENT_REQUESTS)
        .collect()
        .await;
    for (login, result) in rest {
        match result {
            Ok(Some(at)) => {
                seen.insert(login, at);
            }
            Ok(None) => {
                return Audit::Failed(format!(
                    "{} answered 404 for {login} after answering for others",
                    AUDIT_LOG.call
                ));
            }
            Err(error) => return Audit::Failed(error.to_string()),
        }
    }
    Audit::Read(seen)
}

/// `Ok(None)`: no audit log (404). `Ok(Some(None))`: no event by this actor in 180 days.
async fn last_event(
    client: &Client,
    org: &str,
    actor: Option<&str>,
) -> Result<Option<Option<DateTime<Utc>>>, CollectError> {
    let since = (Utc::now() - TimeDelta::days(AUDIT_LOG_DAYS)).format("%Y-%m-%d");
    // Built before the request: the serializer is not Send, and collections run on the
    // background workers' threads.
    let query = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(actor) = actor {
            query.append_pair("phrase", &format!("actor:{actor} created:>={since}"));
        }
        query.append_pair("include", "all").append_pair("per_page", "1");
        query.finish()
    };
    let reply = client.get(&AUDIT_LOG, &format!("/orgs/{org}/audit-log?{query}")).await?;
    if reply.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let events: Vec<AuditEventWire> = reply.json(&AUDIT_LOG)?;
    let newest = events.first().and_then(|e| e.timestamp.or(e.created_at));
    Ok(Some(newest.and_then(DateTime::<Utc>::from_timestamp_millis)))
}

// ---------------------------------------------------------------------------------------------
// Repositories from GraphQL

/// A repository as GraphQL described it, with what the REST pass needs to finish it.
struct ListedRepo {
    repo: Repository,
    /// `viewerPermission == ADMIN`: a null `branchProtectionRule` then means "unprotected".
    viewer_is_admin: bool,
    /// GraphQL returned a classic rule.
    has_rule: bool,
}

struct Listed {
    repos: Vec<ListedRepo>,
    gaps: Gaps,
    /// Every page of the list was read.
    complete: bool,
}

async fn repositories(client: &Client, org: &str) -> Listed {
    let mut listed = Listed { repos: Vec::new(), gaps: Gaps::new(), complete: true };
    if let Err(error) = active_repositories(client, org, &mut listed).await {
        listed.complete = false;
        let reason = if listed.repos.is_empty() {
            error.to_string()
        } else {
            format!("the list stops after {} repositories: {error}", listed.repos.len())
        };
        listed.gaps.insert(PART_REPOSITORIES.into(), reason);
        return listed;
    }
    if let Err(error) = archived_repositories(client, org, &mut listed).await {
        listed.complete = false;
        listed
            .gaps
            .insert(PART_REPOSITORIES.into(), format!("archived repositories not listed: {error}"));
    }
    listed
}

async fn active_repositories(
    client: &Client,
    org: &str,
    listed: &mut Listed,
) -> Result<(), CollectError> {
    let mut after: Option<String> = None;
    loop {
        let reply = client
            .graphql::<gql::OrgData<gql::Repositories<gql::RepoNode>>>(
                &GQL_REPOS,
                "OrgRepos",
                gql::ORG_REPOS,
                json!({ "org": org, "first": REPO_PAGE, "after": after, "commits": RECENT_COMMITS, "page": PAGE }),
            )
            .await?;
        note_cost("OrgRepos", reply.data.rate_limit.as_ref());
        let organization =
            reply.data.organization.ok_or_else(|| graphql_errors(&GQL_REPOS, &reply.errors))?;
        let connection = organization.repositories;
        let names: Vec<Option<String>> = connection
            .nodes
            .iter()
            .map(|n| n.as_ref().map(|n| n.name_with_owner.clone()))
            .collect();
        for error in &reply.errors {
            record_repo_error(error, &names, &mut listed.gaps);
        }
        for node in connection.nodes.into_iter().flatten() {
            let repo = repository(client, node, &mut listed.gaps).await;
            listed.repos.push(repo);
        }
        match next_cursor(&connection.page_info) {
            Some(cursor) => after = Some(cursor),
            None => return Ok(()),
        }
    }
}

async fn archived_repositories(
    client: &Client,
    org: &str,
    listed: &mut Listed,
) -> Result<(), CollectError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ArchivedNode {
        name_with_owner: String,
        visibility: String,
        #[serde(default)]
        is_fork: bool,
    }
    let mut after: Option<String> = None;
    loop {
        let reply = client
            .graphql::<gql::OrgData<gql::Repositories<ArchivedNode>>>(
                &GQL_REPOS,
                "OrgArchivedRepos",
                gql::ORG_ARCHIVED_REPOS,
                json!({ "org": org, "first": PAGE, "after": after }),
            )
            .await?;
        note_cost("OrgArchivedRepos", reply.data.rate_limit.as_ref());
        let organization =
            reply.data.organization.ok_or_else(|| graphql_errors(&GQL_REPOS, &reply.errors))?;
        for node in organization.repositories.nodes.into_iter().flatten() {
            listed.repos.push(ListedRepo {
                repo: Repository {
                    visibility: visibility(&GQL_REPOS, &node.visibility)?,
                    name_with_owner: node.name_with_owner,
                    is_archived: true,
                    is_fork: node.is_fork,
                    ..Repository::default()
                },
                viewer_is_admin: false,
                has_rule: false,
            });
        }
        match next_cursor(&organization.repositories.page_info) {
            Some(cursor) => after = Some(cursor),
            None => return Ok(()),
        }
    }
}

/// A GraphQL error about one field of one repository (`path: [organization, repositories,
/// nodes, 3, collaborators]`) becomes that repository's gap; one without a repository to pin it
/// on becomes a gap of the whole list.
fn record_repo_error(error: &GraphqlError, names: &[Option<String>], gaps: &mut Gaps) {
    let index = error.path.get(3).and_then(Value::as_u64).map(|i| i as usize);
    let field = error.path.get(4).and_then(Value::as_str).unwrap_or("");
    let deeper: Vec<&str> = error.path.iter().skip(5).filter_map(Value::as_str).collect();
    let reason = format!("GitHub GraphQL: {}", error.message);
    let Some(Some(name)) = index.and_then(|i| names.get(i)) else {
        gaps.insert(PART_REPOSITORIES.into(), reason);
        return;
    };
    let part = match field {
        "collaborators" => PART_OUTSIDE_COLLABORATORS,
        "vulnerabilityAlerts" => PART_DEPENDABOT_ALERTS,
        "hasVulnerabilityAlertsEnabled" => PART_DEPENDABOT_STATUS,
        "defaultBranchRef" if deeper.contains(&"branchProtectionRule") => PART_BRANCH_PROTECTION,
        "defaultBranchRef" => PART_RECENT_COMMITS,
        _ => PART_REPOSITORIES,
    };
    gaps.insert(repo_gap_key(part, name), reason);
}

async fn repository(client: &Client, node: gql::RepoNode, gaps: &mut Gaps) -> ListedRepo {
    let name = node.name_with_owner.clone();
    let mut gap = |part: &str, error: CollectError| {
        gaps.insert(repo_gap_key(part, &name), error.to_string());
    };
    let visibility = visibility(&GQL_REPOS, &node.visibility).unwrap_or_else(|error| {
        // An unknown visibility must not read as private: call it public so the allow-list
        // check looks at it, and say why.
        gap(PART_REPOSITORIES, error);
        Visibility::Public
    });
    let has_rule =
        node.default_branch_ref.as_ref().is_some_and(|r| r.branch_protection_rule.is_some());
    let default_branch = node.default_branch_ref.map(|branch| {
        let recent_commits = match branch.target.and_then(|t| t.history) {
            Some(history) => match recent_commits(history) {
                Ok(commits) => Some(commits),
                Err(error) => {
                    gap(PART_RECENT_COMMITS, error);
                    None
                }
            },
            None => None,
        };
        DefaultBranch {
            name: branch.name,
            protection: match branch.branch_protection_rule {
                Some(rule) => ClassicProtection::Protected(classic_rule(rule)),
                // Settled by the REST pass (see `protection`).
                None => ClassicProtection::NoPermission,
            },
            rulesets: None,
            recent_commits,
        }
    });
    let owner_name = name.split_once('/').map(|(o, n)| (o.to_string(), n.to_string()));
    let dependabot_alerts = match (node.vulnerability_alerts, &owner_name) {
        (Some(first), Some((owner, repo))) => {
            match dependabot_alerts(client, owner, repo, first).await {
                Ok(alerts) => Some(alerts),
                Err(error) => {
                    gap(PART_DEPENDABOT_ALERTS, error);
                    None
                }
            }
        }
        _ => None,
    };
    let outside_collaborators = match (node.collaborators, &owner_name) {
        (Some(first), Some((owner, repo))) => match collaborators(client, owner, repo, first).await
        {
            Ok(people) => Some(people),
            Err(error) => {
                gap(PART_OUTSIDE_COLLABORATORS, error);
                None
            }
        },
        _ => None,
    };
    ListedRepo {
        viewer_is_admin: node.viewer_permission.as_deref() == Some("ADMIN"),
        has_rule,
        repo: Repository {
            name_with_owner: name.clone(),
            visibility,
            is_archived: node.is_archived,
            is_fork: node.is_fork,
            default_branch,
            security_and_analysis: None,
            dependabot_alerts_enabled: node.has_vulnerability_alerts_enabled,
            dependabot_alerts,
            secret_scanning_alerts: None,
            outside_collaborators,
            webhooks: None,
            workflow_permissions: None,
        },
    }
}

fn classic_rule(rule: gql::ProtectionRule) -> ClassicRule {
    ClassicRule {
        requires_approving_reviews: rule.requires_approving_reviews,
        required_approving_review_count: if rule.requires_approving_reviews {
            rule.required_approving_review_count.unwrap_or(0)
        } else {
            0
        },
        dismisses_stale_reviews: rule.dismisses_stale_reviews,
        requires_code_owner_reviews: rule.requires_code_owner_reviews,
        is_admin_enforced: rule.is_admin_enforced,
        requires_status_checks: rule.requires_status_checks,
        required_status_checks: rule
            .required_status_check_contexts
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect(),
        requires_strict_status_checks: rule.requires_strict_status_checks,
        requires_commit_signatures: rule.requires_commit_signatures,
        allows_force_pushes: rule.allows_force_pushes,
        allows_deletions: rule.allows_deletions,
    }
}

fn recent_commits(history: gql::History) -> Result<Vec<RecentCommit>, CollectError> {
    history
        .nodes
        .into_iter()
        .flatten()
        .map(|commit| {
            let login =
                commit.author.as_ref().and_then(|a| a.user.as_ref()).map(|u| u.login.clone());
            let name = commit.author.as_ref().and_then(|a| a.name.clone()).unwrap_or_default();
            // Bots are not `User`s, so GitHub leaves `author.user` null for them; their git
            // author name carries the `[bot]` suffix.
            let author_is_bot = login.as_deref().unwrap_or(&name).ends_with("[bot]");
            let pull_request = commit
                .associated_pull_requests
                .and_then(|prs| prs.nodes.into_iter().flatten().next());
            let approved = pull_request.as_ref().is_some_and(|pr| {
                let author = pr.author.as_ref().map(|a| a.login.as_str());
                pr.reviews.as_ref().is_some_and(|reviews| {
                    reviews.nodes.iter().flatten().any(|review| {
                        review.author.as_ref().map(|a| a.login.as_str()) != author
                            || author.is_none()
                    })
                })
            });
            Ok(RecentCommit {
                committed_at: timestamp(&GQL_REPOS, &commit.committed_date)?,
                oid: commit.oid,
                author: login,
                author_is_bot,
                pull_request: pull_request.map(|pr| pr.number),
                approved,
            })
        })
        .collect()
}

/// All open alerts: the page `OrgRepos` carried, then `RepoAlerts` pages while there are more.
async fn dependabot_alerts(
    client: &Client,
    owner: &str,
    name: &str,
    first: gql::Nodes<gql::AlertNode>,
) -> Result<Vec<DependabotAlert>, CollectError> {
    let mut alerts = Vec::new();
    let mut page = first;
    loop {
        for node in page.nodes.into_iter().flatten() {
            let severity = node.security_vulnerability.map(|v| v.severity).unwrap_or_default();
            let severity = match severity.as_str() {
                "LOW" => AlertSeverity::Low,
                "MODERATE" => AlertSeverity::Medium,
                "HIGH" => AlertSeverity::High,
                "CRITICAL" => AlertSeverity::Critical,
                other => {
                    return Err(malformed(
                        &GQL_ALERTS,
                        format!("alert #{} has unknown severity {other:?}", node.number),
                    ));
                }
            };
            alerts.push(DependabotAlert {
                number: node.number,
                severity,
                created_at: timestamp(&GQL_ALERTS, &node.created_at)?,
            });
        }
        let Some(after) = next_cursor(&page.page_info) else { return Ok(alerts) };
        let reply = client
            .graphql::<gql::RepoData<gql::RepoAlerts>>(
                &GQL_ALERTS,
                "RepoAlerts",
                gql::REPO_ALERTS,
                json!({ "owner": owner, "name": name, "first": PAGE, "after": after }),
            )
            .await?;
        note_cost("RepoAlerts", reply.data.rate_limit.as_ref());
        page = reply
            .data
            .repository
            .and_then(|r| r.vulnerability_alerts)
            .ok_or_else(|| graphql_errors(&GQL_ALERTS, &reply.errors))?;
    }
}

/// All outside collaborators: the page `OrgRepos` carried, then `RepoCollaborators` pages.
async fn collaborators(
    client: &Client,
    owner: &str,
    name: &str,
    first: gql::Edges<gql::CollaboratorEdge>,
) -> Result<Vec<Collaborator>, CollectError> {
    let mut people = Vec::new();
    let mut page = first;
    loop {
        for edge in page.edges.into_iter().flatten() {
            let Some(node) = edge.node else { continue };
            let permission = match edge.permission.as_str() {
                "READ" => RepoPermission::Read,
                "TRIAGE" => RepoPermission::Triage,
                "WRITE" => RepoPermission::Write,
                "MAINTAIN" => RepoPermission::Maintain,
                "ADMIN" => RepoPermission::Admin,
                other => {
                    return Err(malformed(
                        &GQL_COLLABORATORS,
                        format!("unknown permission {other:?}"),
                    ));
                }
            };
            people.push(Collaborator { login: node.login, permission });
        }
        let Some(after) = next_cursor(&page.page_info) else { return Ok(people) };
        let reply = client
            .graphql::<gql::RepoData<gql::RepoCollaborators>>(
                &GQL_COLLABORATORS,
                "RepoCollaborators",
                gql::REPO_COLLABORATORS,
                json!({ "owner": owner, "name": name, "first": PAGE, "after": after }),
            )
            .await?;
        note_cost("RepoCollaborators", reply.data.rate_limit.as_ref());
        page = reply
            .data
            .repository
            .and_then(|r| r.collaborators)
            .ok_or_else(|| graphql_errors(&GQL_COLLABORATORS, &reply.errors))?;
    }
}

// ---------------------------------------------------------------------------------------------
// Repositories: the REST pass

/// What the REST pass found for one repository. `Ok(None)` for security_and_analysis means
/// GitHub did not include it (the token is not a repository admin); for rulesets, that the
/// repository has no default branch.
struct Extras {
    name_with_owner: String,
    security_and_analysis: Result<Option<SecurityAndAnalysis>, CollectError>,
    webhooks: Result<Vec<Webhook>, CollectError>,
    workflow: Result<WorkflowPermissions, CollectError>,
    protection: Result<ClassicProtection, CollectError>,
    rulesets: Result<Option<Vec<Ruleset>>, CollectError>,
}

async fn repo_extras(client: &Client, listed: &ListedRepo, etags: &EtagCache) -> Extras {
    let name = listed.repo.name_with_owner.as_str();
    let branch = listed.repo.default_branch.as_ref().map(|b| b.name.as_str());
    let span = tracing::debug_span!("repository", integration = "github", repo = name);
    async {
        let (security_and_analysis, webhooks, workflow, protection, rulesets) = tokio::join!(
            security_and_analysis(client, name, etags),
            repo_webhooks(client, name, etags),
            workflow_permissions(
                client,
                &REPO_WORKFLOW,
                format!("/repos/{name}/actions/permissions/workflow"),
                etags
            ),
            protection(client, listed, branch),
            async {
                match branch {
                    Some(branch) => rulesets(client, name, branch, etags).await,
                    None => Ok(None),
                }
            },
        );
        Extras {
            name_with_owner: name.to_string(),
            security_and_analysis,
            webhooks,
            workflow,
            protection,
            rulesets,
        }
    }
    .instrument(span)
    .await
}

#[derive(Deserialize)]
struct RepoWire {
    security_and_analysis: Option<SecurityAndAnalysisWire>,
}

#[derive(Deserialize)]
struct SecurityAndAnalysisWire {
    secret_scanning: Option<StatusWire>,
    secret_scanning_push_protection: Option<StatusWire>,
    dependabot_security_updates: Option<StatusWire>,
}

#[derive(Deserialize)]
struct StatusWire {
    status: String,
}

fn enabled(status: &Option<StatusWire>) -> bool {
    status.as_ref().is_some_and(|s| s.status == "enabled")
}

async fn security_and_analysis(
    client: &Client,
    name: &str,
    etags: &EtagCache,
) -> Result<Option<SecurityAndAnalysis>, CollectError> {
    let (reply, _) = client.get_cached(&REPO, &format!("/repos/{name}"), etags).await?;
    let wire: RepoWire = reply.json(&REPO)?;
    Ok(wire.security_and_analysis.map(|s| SecurityAndAnalysis {
        secret_scanning: enabled(&s.secret_scanning),
        secret_scanning_push_protection: enabled(&s.secret_scanning_push_protection),
        dependabot_security_updates: enabled(&s.dependabot_security_updates),
    }))
}

async fn repo_webhooks(
    client: &Client,
    name: &str,
    etags: &EtagCache,
) -> Result<Vec<Webhook>, CollectError> {
    let hooks = client
        .get_all::<HookWire>(&REPO_HOOKS, &format!("/repos/{name}/hooks?per_page=100"), Some(etags))
        .await
        .map_err(|e| e.into_error(&REPO_HOOKS))?;
    Ok(hooks.into_iter().map(webhook).collect())
}

#[derive(Deserialize)]
struct ProtectionWire {
    required_status_checks: Option<StatusChecksWire>,
    enforce_admins: Option<EnabledWire>,
    required_pull_request_reviews: Option<ReviewsWire>,
    required_signatures: Option<EnabledWire>,
    allow_force_pushes: Option<EnabledWire>,
    allow_deletions: Option<EnabledWire>,
}

#[derive(Deserialize)]
struct StatusChecksWire {
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    contexts: Vec<String>,
}

#[derive(Deserialize)]
struct EnabledWire {
    enabled: bool,
}

#[derive(Deserialize)]
struct ReviewsWire {
    #[serde(default)]
    dismiss_stale_reviews: bool,
    #[serde(default)]
    require_code_owner_reviews: bool,
    required_approving_review_count: Option<u32>,
}

/// Classic protection. GraphQL's `branchProtectionRule` is null both for "unprotected" and
/// "may not read"; a repository admin reading null has the answer, anyone else asks REST the way
/// Legitify does: 404 "Branch not protected" is unprotected, any other 404 or a 403 is no
/// permission.
async fn protection(
    client: &Client,
    listed: &ListedRepo,
    branch: Option<&str>,
) -> Result<ClassicProtection, CollectError> {
    let current =
        listed.repo.default_branch.as_ref().map(|b| b.protection.clone()).unwrap_or_default();
    let Some(branch) = branch else { return Ok(current) };
    if listed.has_rule {
        return Ok(current);
    }
    if listed.viewer_is_admin {
        return Ok(ClassicProtection::NotProtected);
    }
    let encoded: String = url::form_urlencoded::byte_serialize(branch.as_bytes()).collect();
    let path = format!("/repos/{}/branches/{encoded}/protection", listed.repo.name_with_owner);
    let reply = match client.get(&PROTECTION, &path).await {
        Ok(reply) => reply,
        Err(CollectError::Forbidden { .. }) => return Ok(ClassicProtection::NoPermission),
        Err(error) => return Err(error),
    };
    if reply.status == StatusCode::NOT_FOUND {
        return Ok(if reply.message() == "Branch not protected" {
            ClassicProtection::NotProtected
        } else {
            ClassicProtection::NoPermission
        });
    }
    let wire: ProtectionWire = reply.json(&PROTECTION)?;
    let reviews = wire.required_pull_request_reviews;
    let checks = wire.required_status_checks;
    let on = |flag: &Option<EnabledWire>| flag.as_ref().is_some_and(|f| f.enabled);
    Ok(ClassicProtection::Protected(ClassicRule {
        requires_approving_reviews: reviews.is_some(),
        required_approving_review_count: reviews
            .as_ref()
            .and_then(|r| r.required_approving_review_count)
            .unwrap_or(0),
        dismisses_stale_reviews: reviews.as_ref().is_some_and(|r| r.dismiss_stale_reviews),
        requires_code_owner_reviews: reviews.as_ref().is_some_and(|r| r.require_code_owner_reviews),
        is_admin_enforced: on(&wire.enforce_admins),
        requires_status_checks: checks.is_some(),
        required_status_checks: checks.as_ref().map(|c| c.contexts.clone()).unwrap_or_default(),
        requires_strict_status_checks: checks.as_ref().is_some_and(|c| c.strict),
        requires_commit_signatures: on(&wire.required_signatures),
        allows_force_pushes: on(&wire.allow_force_pushes),
        allows_deletions: on(&wire.allow_deletions),
    }))
}

#[derive(Deserialize)]
struct RulesetSummaryWire {
    id: u64,
    target: Option<String>,
}

#[derive(Deserialize)]
struct RulesetWire {
    id: u64,
    name: String,
    enforcement: String,
    bypass_actors: Option<Vec<BypassActorWire>>,
    conditions: Option<ConditionsWire>,
    #[serde(default)]
    rules: Vec<RuleWire>,
}

#[derive(Deserialize)]
struct BypassActorWire {
    actor_id: Option<u64>,
    actor_type: String,
    bypass_mode: Option<String>,
}

#[derive(Deserialize)]
struct ConditionsWire {
    ref_name: Option<RefNameWire>,
}

#[derive(Deserialize)]
struct RefNameWire {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Deserialize)]
struct RuleWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    parameters: Value,
}

/// The branch rulesets (repository and organisation level) whose `ref_name` condition takes in
/// the default branch. 404 on the list: rulesets are not available on the plan, so there are
/// none. A 403 is a gap, not an empty list.
async fn rulesets(
    client: &Client,
    name: &str,
    branch: &str,
    etags: &EtagCache,
) -> Result<Option<Vec<Ruleset>>, CollectError> {
    let path = format!("/repos/{name}/rulesets?includes_parents=true&targets=branch&per_page=100");
    let summaries = match client.get_all::<RulesetSummaryWire>(&RULESETS, &path, Some(etags)).await
    {
        Ok(summaries) => summaries,
        Err(ListError::Status(reply)) if reply.status == StatusCode::NOT_FOUND => {
            return Ok(Some(Vec::new()));
        }
        Err(error) => return Err(error.into_error(&RULESETS)),
    };
    let mut rulesets = Vec::new();
    for summary in summaries.iter().filter(|s| s.target.as_deref().is_none_or(|t| t == "branch")) {
        let (reply, _) = client
            .get_cached(
                &RULESET,
                &format!("/repos/{name}/rulesets/{}?includes_parents=true", summary.id),
                etags,
            )
            .await?;
        let wire: RulesetWire = reply.json(&RULESET)?;
        // A branch ruleset without a ref_name condition targets nothing we can name; counting it
        // as protection could pass a check on a guess.
        let applies =
            wire.conditions.as_ref().and_then(|c| c.ref_name.as_ref()).is_some_and(|refs| {
                refs.include.iter().any(|p| ref_matches(p, branch))
                    && !refs.exclude.iter().any(|p| ref_matches(p, branch))
            });
        if applies {
            rulesets.push(ruleset(wire)?);
        }
    }
    Ok(Some(rulesets))
}

fn ruleset(wire: RulesetWire) -> Result<Ruleset, CollectError> {
    let enforcement = match wire.enforcement.as_str() {
        "active" => RulesetEnforcement::Active,
        "evaluate" => RulesetEnforcement::Evaluate,
        "disabled" => RulesetEnforcement::Disabled,
        other => {
            return Err(malformed(
                &RULESET,
                format!("ruleset {} has unknown enforcement {other:?}", wire.id),
            ));
        }
    };
    let rules = wire.rules.into_iter().map(|rule| {
        let p = &rule.parameters;
        let flag = |key: &str| p.get(key).and_then(Value::as_bool).unwrap_or(false);
        match rule.kind.as_str() {
            "pull_request" => RulesetRule::PullRequest {
                required_approving_review_count: p
                    .get("required_approving_review_count")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as u32,
                dismiss_stale_reviews_on_push: flag("dismiss_stale_reviews_on_push"),
                require_code_owner_review: flag("require_code_owner_review"),
                require_last_push_approval: flag("require_last_push_approval"),
            },
            "required_status_checks" => RulesetRule::RequiredStatusChecks {
                contexts: p
                    .get("required_status_checks")
                    .and_then(Value::as_array)
                    .map(|checks| {
                        checks
                            .iter()
                            .filter_map(|c| c.get("context")?.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                strict: flag("strict_required_status_checks_policy"),
            },
            "non_fast_forward" => RulesetRule::NonFastForward,
            "deletion" => RulesetRule::Deletion,
            "required_signatures" => RulesetRule::RequiredSignatures,
            "required_linear_history" => RulesetRule::RequiredLinearHistory,
            other => RulesetRule::Other { rule_type: other.to_string() },
        }
    });
    Ok(Ruleset {
        id: wire.id,
        name: wire.name,
        enforcement,
        bypass_actors: wire.bypass_actors.map(|actors| {
            actors
                .into_iter()
                .map(|a| BypassActor {
                    actor_type: a.actor_type,
                    actor_id: a.actor_id,
                    bypass_mode: a.bypass_mode.unwrap_or_else(|| "always".to_string()),
                })
                .collect()
        }),
        rules: rules.collect(),
    })
}

/// Whether a `ref_name` pattern takes in `branch`: `~DEFAULT_BRANCH` and `~ALL` (we only ask
/// about the default branch), or an fnmatch pattern over `refs/heads/…` where `*` stays within
/// one path segment and `**` crosses them.
fn ref_matches(pattern: &str, branch: &str) -> bool {
    match pattern {
        "~DEFAULT_BRANCH" | "~ALL" => true,
        pattern => glob(pattern.as_bytes(), format!("refs/heads/{branch}").as_bytes()),
    }
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        [b'*', rest @ ..] => (0..=text.len())
            .take_while(|&i| i == 0 || text[i - 1] != b'/')
            .any(|i| glob(rest, &text[i..])),
        [b'?', rest @ ..] => matches!(text, [c, tail @ ..] if *c != b'/' && glob(rest, tail)),
        [p, rest @ ..] => matches!(text, [c, tail @ ..] if c == p && glob(rest, tail)),
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn next_cursor(page: &gql::PageInfo) -> Option<String> {
    page.has_next_page.then(|| page.end_cursor.clone()).flatten()
}

fn note_cost(operation: &str, rate: Option<&gql::RateLimit>) {
    if let Some(rate) = rate {
        tracing::debug!(operation, cost = rate.cost, remaining = rate.remaining, reset_at = %rate.reset_at, "github graphql cost");
    }
}

/// The error for a GraphQL answer whose root object is null.
fn graphql_errors(endpoint: &Endpoint, errors: &[GraphqlError]) -> CollectError {
    let message = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
    if errors.iter().any(|e| e.kind.as_deref() == Some("NOT_FOUND")) {
        return CollectError::NotConfigured {
            integration: GH,
            what: format!("{message}; check `org` (GITHUB_ORG) and that the credential can see it"),
        };
    }
    malformed(endpoint, if message.is_empty() { "the answer has no data".into() } else { message })
}

fn visibility(endpoint: &Endpoint, text: &str) -> Result<Visibility, CollectError> {
    match text {
        "PUBLIC" => Ok(Visibility::Public),
        "PRIVATE" => Ok(Visibility::Private),
        "INTERNAL" => Ok(Visibility::Internal),
        other => Err(malformed(endpoint, format!("unknown visibility {other:?}"))),
    }
}

fn timestamp(endpoint: &Endpoint, text: &str) -> Result<DateTime<Utc>, CollectError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| malformed(endpoint, format!("{text:?} is not an ISO 8601 time ({e})")))
}

fn malformed(endpoint: &Endpoint, detail: String) -> CollectError {
    CollectError::Malformed { integration: GH, call: endpoint.call.to_string(), detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_ref_patterns_follow_fnmatch() {
        assert!(ref_matches("~DEFAULT_BRANCH", "main"));
        assert!(ref_matches("refs/heads/main", "main"));
        assert!(!ref_matches("refs/heads/main", "master"));
        assert!(ref_matches("refs/heads/*", "main"));
        assert!(!ref_matches("refs/heads/*", "release/1.0"));
        assert!(ref_matches("refs/heads/**", "release/1.0"));
        assert!(ref_matches("refs/heads/ma?n", "main"));
    }
}
