//! What Kushim reads from an Okta org, and how it fills [`OktaSnapshot`]; plus `kushim doctor`'s
//! Okta checks. The calls, in order; one per user who can sign in dominates, the rest are a few
//! dozen (838 calls in all for the 1 000-user sandbox org, 810 of them factor listings):
//!
//! 1. `GET /.well-known/okta-organization`: Classic or Identity Engine.
//! 2. `GET /api/v1/users?search=status eq "STAGED" or … or status eq "DEPROVISIONED"`: every
//!    user, because the plain listing omits DEPROVISIONED ones; 200 a page.
//! 3. `GET /api/v1/users/{id}/factors` for each user who can sign in, four at a time.
//! 4. When some users are DEPROVISIONED or SUSPENDED: `GET /api/v1/apps`, then
//!    `GET /api/v1/apps/{id}/users` per app (app-centric: the apps bucket is small), joined on
//!    those users' ids.
//! 5. `GET /api/v1/policies?type=PASSWORD|OKTA_SIGN_ON|ACCESS_POLICY` (no ACCESS_POLICY on
//!    Classic) and `GET /api/v1/policies/{id}/rules` for the sign-on and access policies.
//! 6. `GET /api/v1/iam/assignees/users`, then per admin `GET /api/v1/users/{id}/roles` (direct
//!    grants) and `…/groups`, and `GET /api/v1/groups/{id}/roles` once per group.
//! 7. `GET /api/v1/api-tokens` and `GET /api/v1/logStreams`.
//!
//! A part that fails becomes a gap with the reason, and everything else is kept. Rejected
//! credentials, or an org that cannot be reached before anything worked, fail the collection
//! as a whole: nothing collected with them could be trusted.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use futures_util::{StreamExt, stream};
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use super::client::{
    API_TOKENS, APP_USERS, APPS, CONCURRENCY, Endpoint, FACTORS, GROUP_ROLES, LOG_STREAMS, ORG,
    OktaClient, POLICIES, POLICY_RULES, ROLE_ASSIGNEES, USER_GROUPS, USER_ROLES, USERS, next_link,
};
use super::wire;
use super::{
    AccessPolicy, AppAssignment, OktaAdmin, OktaPipeline, OktaSnapshot, OktaUser,
    PART_ACCESS_POLICIES, PART_ADMIN_ROLES, PART_API_TOKENS, PART_APP_ASSIGNMENTS, PART_FACTORS,
    PART_LOG_STREAMS, PART_ORG, PART_PASSWORD_POLICIES, PART_SIGN_ON_POLICIES, PART_USERS,
    RoleGrant, RoleSource, SignOnPolicy, UserStatus, rules_gap_key,
};
use crate::config::OktaSettings;
use crate::integrations::{
    Integration,
    collect::{ApiCalls, CollectError, Collection, Diagnosis, RetryPolicy},
};

/// Every user status Okta documents (`UserStatus`). Searching for all of them is the one way to
/// list DEPROVISIONED users along with the rest in a single paged listing.
const ALL_STATUSES: &str = "status eq \"STAGED\" or status eq \"PROVISIONED\" or status eq \
     \"ACTIVE\" or status eq \"RECOVERY\" or status eq \"PASSWORD_EXPIRED\" or status eq \
     \"LOCKED_OUT\" or status eq \"SUSPENDED\" or status eq \"DEPROVISIONED\"";

/// Collects one Okta org. Never fails as a function: a collection that cannot be made at all is
/// `Source::Failed` with the reason.
pub async fn collect(settings: &OktaSettings, policy: &RetryPolicy) -> Collection<OktaSnapshot> {
    let started_at = Utc::now();
    let calls = ApiCalls::default();
    let span = tracing::info_span!("okta.collect", integration = "okta", org = %settings.org_url);
    let result = async {
        let client = OktaClient::new(settings, *policy, calls.clone())?;
        gather(&client, settings.org_url.trim_end_matches('/')).await
    }
    .instrument(span)
    .await;
    Collection::concluded(Integration::Okta, result, &calls, started_at)
}

/// One collection run: the snapshot being filled and whether the credentials ever worked.
struct Run<'a> {
    client: &'a OktaClient,
    snapshot: OktaSnapshot,
    /// An authenticated call succeeded, so the credentials and the org URL are good.
    reached: bool,
    first_error: Option<CollectError>,
}

impl Run<'_> {
    /// Records a failed part as a gap, or ends the run when the failure concerns everything.
    fn gap(&mut self, part: &str, error: CollectError) -> Result<(), CollectError> {
        let fatal = match &error {
            CollectError::Unauthorized { .. } | CollectError::NotConfigured { .. } => true,
            CollectError::Transport { .. } => !self.reached,
            _ => false,
        };
        if fatal {
            return Err(error);
        }
        self.note(part, error.to_string());
        self.first_error.get_or_insert(error);
        Ok(())
    }

    /// Records why (part of) a part is missing.
    fn note(&mut self, part: &str, reason: String) {
        tracing::warn!(part, %reason, "Okta data not collected");
        self.snapshot.gaps.insert(part.to_string(), reason);
    }

    /// Checks a per-item error for what must end the run; other errors stay with their item.
    fn check_fatal(&self, error: &CollectError) -> Result<(), CollectError> {
        match error {
            CollectError::Unauthorized { .. } | CollectError::NotConfigured { .. } => {
                Err(error.clone())
            }
            _ => Ok(()),
        }
    }
}

async fn gather(client: &OktaClient, org_url: &str) -> Result<OktaSnapshot, CollectError> {
    let mut run = Run {
        client,
        snapshot: OktaSnapshot { org_url: org_url.to_string(), ..OktaSnapshot::default() },
        reached: false,
        first_error: None,
    };
    org(&mut run).await?;
    users(&mut run).await?;
    password_policies(&mut run).await?;
    sign_on_policies(&mut run).await?;
    access_policies(&mut run).await?;
    admins(&mut run).await?;
    match client.list(&API_TOKENS, client.url("/api/v1/api-tokens", &[("limit", "200")])).await {
        Ok(tokens) => {
            run.reached = true;
            run.snapshot.api_tokens =
                tokens.into_iter().map(|t: wire::WireApiToken| t.into()).collect();
        }
        Err(error) => run.gap(PART_API_TOKENS, error)?,
    }
    match client.list(&LOG_STREAMS, client.url("/api/v1/logStreams", &[("limit", "200")])).await {
        Ok(streams) => {
            run.reached = true;
            run.snapshot.log_streams =
                streams.into_iter().map(|s: wire::WireLogStream| s.into()).collect();
        }
        Err(error) => run.gap(PART_LOG_STREAMS, error)?,
    }
    if !run.reached {
        // Not one authenticated call worked: there is nothing to judge, only a reason.
        if let Some(error) = run.first_error {
            return Err(error);
        }
    }
    Ok(run.snapshot)
}

/// `{org}/api/v1/<segments…>?query`, each segment percent-encoded (ids come from Okta's answers).
fn resource(client: &OktaClient, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = client.url("/", query);
    url.path_segments_mut().expect("an http(s) URL has path segments").clear().extend(segments);
    url
}

async fn org(run: &mut Run<'_>) -> Result<(), CollectError> {
    let url = run.client.url("/.well-known/okta-organization", &[]);
    match run.client.get_json::<wire::OrgMetadata>(&ORG, &url).await {
        Ok((metadata, _)) => match metadata.pipeline() {
            Ok(pipeline) => run.snapshot.pipeline = Some(pipeline),
            Err(detail) => run.gap(
                PART_ORG,
                CollectError::Malformed {
                    integration: Integration::Okta,
                    call: ORG.call.to_string(),
                    detail,
                },
            )?,
        },
        Err(error) => run.gap(PART_ORG, error)?,
    }
    Ok(())
}

async fn users(run: &mut Run<'_>) -> Result<(), CollectError> {
    let url = run.client.url("/api/v1/users", &[("search", ALL_STATUSES), ("limit", "200")]);
    let listed: Vec<wire::User> = match run.client.list(&USERS, url).await {
        Ok(users) => users,
        Err(error) => return run.gap(PART_USERS, error),
    };
    run.reached = true;
    let mut seen = HashSet::new();
    run.snapshot.users = listed
        .into_iter()
        .filter(|user| seen.insert(user.id.clone()))
        .map(OktaUser::from)
        .collect();
    factors(run).await?;
    app_assignments(run).await
}

async fn factors(run: &mut Run<'_>) -> Result<(), CollectError> {
    let client = run.client;
    let wanted: Vec<(usize, String)> = run
        .snapshot
        .users
        .iter()
        .enumerate()
        .filter(|(_, user)| user.status.can_sign_in())
        .map(|(index, user)| (index, user.id.clone()))
        .collect();
    // Once Okta denies one user's factors it denies them all; stop asking.
    let denied: std::sync::OnceLock<CollectError> = std::sync::OnceLock::new();
    let results: Vec<(usize, Result<Vec<wire::UserFactor>, CollectError>)> =
        stream::iter(wanted.iter().map(|(index, id)| {
            let denied = &denied;
            async move {
                if let Some(error) = denied.get() {
                    return (*index, Err(error.clone()));
                }
                let url = resource(client, &["api", "v1", "users", id, "factors"], &[]);
                let result = client.list(&FACTORS, url).await;
                if let Err(error @ CollectError::Forbidden { .. }) = &result {
                    let _ = denied.set(error.clone());
                }
                (*index, result)
            }
        }))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let attempted = results.len();
    let mut failures = Vec::new();
    for (index, result) in results {
        match result {
            Ok(factors) => {
                run.reached = true;
                run.snapshot.users[index].factors =
                    Some(factors.into_iter().map(Into::into).collect());
            }
            Err(error) => {
                run.check_fatal(&error)?;
                failures.push((index, error));
            }
        }
    }
    if let Some(summary) = summarise(&failures, attempted, "users' factors", |index| {
        run.snapshot.users[*index].login.clone()
    }) {
        run.note(PART_FACTORS, summary);
    }
    Ok(())
}

/// The gap text for a fan-out in which some items failed: the error itself when all failed,
/// otherwise how many failed and the first one, named.
fn summarise<K: Ord>(
    failures: &[(K, CollectError)],
    attempted: usize,
    what: &str,
    name: impl Fn(&K) -> String,
) -> Option<String> {
    let (key, first) = failures.iter().min_by(|a, b| a.0.cmp(&b.0))?;
    if failures.len() == attempted {
        return Some(first.to_string());
    }
    Some(format!(
        "{} of {attempted} {what} could not be read; {}: {first}",
        failures.len(),
        name(key)
    ))
}

async fn app_assignments(run: &mut Run<'_>) -> Result<(), CollectError> {
    let client = run.client;
    let leavers: HashSet<String> = run
        .snapshot
        .users
        .iter()
        .filter(|user| matches!(user.status, UserStatus::Deprovisioned | UserStatus::Suspended))
        .map(|user| user.id.clone())
        .collect();
    if leavers.is_empty() {
        return Ok(());
    }
    let apps: Vec<wire::Application> =
        match client.list(&APPS, client.url("/api/v1/apps", &[("limit", "200")])).await {
            Ok(apps) => apps,
            Err(error) => return run.gap(PART_APP_ASSIGNMENTS, error),
        };
    let results: Vec<(usize, Result<Vec<wire::AppUser>, CollectError>)> =
        stream::iter(apps.iter().enumerate().map(|(index, app)| async move {
            let url =
                resource(client, &["api", "v1", "apps", &app.id, "users"], &[("limit", "500")]);
            (index, client.list(&APP_USERS, url).await)
        }))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut by_app: BTreeMap<usize, Vec<wire::AppUser>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (index, result) in results {
        match result {
            Ok(users) => {
                by_app.insert(index, users);
            }
            Err(error) => {
                run.check_fatal(&error)?;
                failures.push((index, error));
            }
        }
    }
    let mut assigned: HashMap<&str, Vec<AppAssignment>> = HashMap::new();
    for (index, users) in &by_app {
        let app = &apps[*index];
        for user in users.iter().filter(|user| leavers.contains(&user.id)) {
            assigned
                .entry(user.id.as_str())
                .or_default()
                .push(AppAssignment { app_id: app.id.clone(), app_label: app.label() });
        }
    }
    let complete = failures.is_empty();
    for user in run.snapshot.users.iter_mut().filter(|user| leavers.contains(&user.id)) {
        user.app_assignments = match assigned.remove(user.id.as_str()) {
            Some(apps) => Some(apps),
            // With an app unread, "assigned to nothing" cannot be shown.
            None if complete => Some(Vec::new()),
            None => None,
        };
    }
    if !by_app.is_empty() {
        run.reached = true;
    }
    if let Some(summary) =
        summarise(&failures, apps.len(), "apps' assignments", |index| apps[*index].label())
    {
        run.note(PART_APP_ASSIGNMENTS, summary);
    }
    Ok(())
}

fn policies_url(client: &OktaClient, kind: &str) -> Url {
    client.url("/api/v1/policies", &[("type", kind), ("limit", "200")])
}

async fn password_policies(run: &mut Run<'_>) -> Result<(), CollectError> {
    let url = policies_url(run.client, "PASSWORD");
    match run
        .client
        .list::<wire::Policy<wire::PasswordConditions, wire::PasswordSettings>>(&POLICIES, url)
        .await
    {
        Ok(policies) => {
            run.reached = true;
            run.snapshot.password_policies = policies.into_iter().map(Into::into).collect();
            Ok(())
        }
        Err(error) => run.gap(PART_PASSWORD_POLICIES, error),
    }
}

type Listing<T> = Result<Vec<T>, CollectError>;

/// The rules of each policy, four policies at a time; a policy whose rules fail keeps `None`
/// and its own gap (see [`rules_gap_key`]).
async fn rules<A: DeserializeOwned>(
    run: &mut Run<'_>,
    part: &str,
    policy_ids: &[String],
) -> Result<Vec<Option<Vec<wire::Rule<A>>>>, CollectError> {
    let client = run.client;
    let results: Vec<(usize, Listing<wire::Rule<A>>)> =
        stream::iter(policy_ids.iter().enumerate().map(|(index, id)| async move {
            let url =
                resource(client, &["api", "v1", "policies", id, "rules"], &[("limit", "100")]);
            (index, client.list(&POLICY_RULES, url).await)
        }))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut rules: Vec<Option<Vec<wire::Rule<A>>>> = policy_ids.iter().map(|_| None).collect();
    for (index, result) in results {
        match result {
            Ok(found) => rules[index] = Some(found),
            Err(error) => {
                run.check_fatal(&error)?;
                run.gap(&rules_gap_key(part, &policy_ids[index]), error)?;
            }
        }
    }
    Ok(rules)
}

async fn sign_on_policies(run: &mut Run<'_>) -> Result<(), CollectError> {
    let url = policies_url(run.client, "OKTA_SIGN_ON");
    let policies: Vec<wire::Policy> = match run.client.list(&POLICIES, url).await {
        Ok(policies) => policies,
        Err(error) => return run.gap(PART_SIGN_ON_POLICIES, error),
    };
    run.reached = true;
    let ids: Vec<String> = policies.iter().map(|p| p.id.clone()).collect();
    let rules = rules::<wire::SignOnActions>(run, PART_SIGN_ON_POLICIES, &ids).await?;
    run.snapshot.sign_on_policies = policies
        .into_iter()
        .zip(rules)
        .map(|(policy, rules)| SignOnPolicy {
            status: policy.lifecycle(),
            id: policy.id,
            name: policy.name,
            priority: policy.priority,
            rules: rules.map(|rules| rules.into_iter().map(Into::into).collect()),
        })
        .collect();
    Ok(())
}

async fn access_policies(run: &mut Run<'_>) -> Result<(), CollectError> {
    // App sign-in policies exist on Identity Engine only; Classic orgs have none to list.
    if run.snapshot.pipeline == Some(OktaPipeline::Classic) {
        return Ok(());
    }
    let url = policies_url(run.client, "ACCESS_POLICY");
    let policies: Vec<wire::Policy> = match run.client.list(&POLICIES, url).await {
        Ok(policies) => policies,
        Err(error) => return run.gap(PART_ACCESS_POLICIES, error),
    };
    run.reached = true;
    let ids: Vec<String> = policies.iter().map(|p| p.id.clone()).collect();
    let rules = rules::<wire::AccessActions>(run, PART_ACCESS_POLICIES, &ids).await?;
    run.snapshot.access_policies = policies
        .into_iter()
        .zip(rules)
        .map(|(policy, rules)| AccessPolicy {
            status: policy.lifecycle(),
            id: policy.id,
            name: policy.name,
            rules: rules.map(|rules| rules.into_iter().map(Into::into).collect()),
        })
        .collect();
    Ok(())
}

/// The ids of every user holding a role; this listing pages in its body (`_links.next`).
async fn role_assignees(client: &OktaClient) -> Result<Vec<String>, CollectError> {
    let mut ids = Vec::new();
    let mut next = Some(client.url("/api/v1/iam/assignees/users", &[("limit", "100")]));
    while let Some(url) = next.take() {
        let (page, headers): (wire::RoleAssignedUsers, _) =
            client.get_json(&ROLE_ASSIGNEES, &url).await?;
        ids.extend(page.value.into_iter().map(|user| user.id));
        let link = next_link(&headers).or_else(|| page.links?.next.map(|next| next.href));
        next = client.next_page(&ROLE_ASSIGNEES, &url, link)?;
    }
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

type AdminDetail = (Vec<wire::RoleAssignment>, Vec<wire::Group>);

async fn admins(run: &mut Run<'_>) -> Result<(), CollectError> {
    match read_admins(run.client).await {
        Ok(admins) => {
            run.reached = true;
            run.snapshot.admins = admins;
            Ok(())
        }
        Err(error) => run.gap(PART_ADMIN_ROLES, error),
    }
}

/// Admins with their direct roles and the roles of their groups. Any failure fails the whole
/// part: a role listing with holes could hide a super admin.
async fn read_admins(client: &OktaClient) -> Result<Vec<OktaAdmin>, CollectError> {
    let ids = role_assignees(client).await?;
    let details: Vec<Result<(String, AdminDetail), CollectError>> =
        stream::iter(ids.iter().map(|id| async move {
            let roles = resource(client, &["api", "v1", "users", id, "roles"], &[]);
            let groups = resource(client, &["api", "v1", "users", id, "groups"], &[]);
            let roles = client.list(&USER_ROLES, roles).await?;
            let groups = client.list(&USER_GROUPS, groups).await?;
            Ok((id.clone(), (roles, groups)))
        }))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let details: Vec<(String, AdminDetail)> = details.into_iter().collect::<Result<_, _>>()?;
    let mut group_ids: Vec<String> = Vec::new();
    for (_, (_, groups)) in &details {
        for group in groups {
            if !group_ids.contains(&group.id) {
                group_ids.push(group.id.clone());
            }
        }
    }
    let group_roles: HashMap<String, Vec<wire::RoleAssignment>> =
        stream::iter(group_ids.into_iter().map(|id| async move {
            let url = resource(client, &["api", "v1", "groups", &id, "roles"], &[]);
            client.list(&GROUP_ROLES, url).await.map(|roles| (id, roles))
        }))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(details
        .into_iter()
        .map(|(user_id, (roles, groups))| {
            let mut grants: Vec<RoleGrant> = roles
                .into_iter()
                .filter(wire::RoleAssignment::is_direct)
                .map(|role| RoleGrant { role: role.role, via: RoleSource::Direct })
                .collect();
            for group in &groups {
                for role in group_roles.get(&group.id).into_iter().flatten() {
                    grants.push(RoleGrant {
                        role: role.role.clone(),
                        via: RoleSource::Group {
                            group_id: group.id.clone(),
                            group_name: group.name(),
                        },
                    });
                }
            }
            OktaAdmin { user_id, roles: grants }
        })
        .collect())
}

/// Tries the credentials and every permission a collection needs, cheaply (one small page per
/// permission), and says what to fix for each one that fails.
pub async fn doctor(settings: &OktaSettings, policy: &RetryPolicy) -> Vec<Diagnosis> {
    let span = tracing::info_span!("okta.doctor", integration = "okta", org = %settings.org_url);
    diagnose(settings, policy).instrument(span).await
}

fn diagnosis(check: impl Into<String>, result: Result<String, CollectError>) -> Diagnosis {
    let (ok, detail) = match result {
        Ok(detail) => (true, detail),
        Err(error) => (false, error.to_string()),
    };
    Diagnosis { integration: Integration::Okta, check: check.into(), ok, detail }
}

async fn diagnose(settings: &OktaSettings, policy: &RetryPolicy) -> Vec<Diagnosis> {
    let client = match OktaClient::new(settings, *policy, ApiCalls::default()) {
        Ok(client) => client,
        Err(error) => return vec![diagnosis("configuration", Err(error))],
    };
    let mut report = Vec::new();
    let url = client.url("/.well-known/okta-organization", &[]);
    let org =
        client.get_json::<wire::OrgMetadata>(&ORG, &url).await.map(|(metadata, _)| match metadata
            .pipeline()
        {
            Ok(OktaPipeline::Classic) => "Classic Engine org".to_string(),
            Ok(OktaPipeline::IdentityEngine) => "Identity Engine org".to_string(),
            Err(detail) => detail,
        });
    let unreachable =
        matches!(org, Err(CollectError::Transport { .. } | CollectError::Timeout { .. }));
    report.push(diagnosis(format!("reach the org at {}", client.base()), org));
    if unreachable {
        return report;
    }

    if let Some(app) = client.service_app() {
        let grant = app.grant(&client).await;
        let issued = grant.as_ref().map(|grant| {
            let mut detail = format!("access token issued for {}", grant.granted.join(", "));
            if !grant.refused.is_empty() {
                detail.push_str(&format!("; refused: {}", grant.refused.join(", ")));
            }
            detail
        });
        let failed = issued.is_err();
        report.push(diagnosis("service app token (private-key JWT)", issued.map_err(Clone::clone)));
        if failed {
            return report;
        }
    }

    let users_url = client.url("/api/v1/users", &[("limit", "1")]);
    let users = client.get_json::<Vec<wire::User>>(&USERS, &users_url).await;
    let accepted = if client.service_app().is_some() {
        "access token accepted"
    } else {
        "API token accepted (SSWS)"
    };
    match &users {
        Err(error @ CollectError::Unauthorized { .. }) => {
            report.push(diagnosis(accepted, Err(error.clone())));
            return report;
        }
        // A 403 still means Okta knew the credentials; other failures say nothing about them.
        Ok(_) | Err(CollectError::Forbidden { .. }) => {
            report.push(diagnosis(accepted, Ok("Okta accepted the credentials".into())));
        }
        Err(_) => {}
    }
    let first_user = users.as_ref().ok().and_then(|(users, _)| users.first()).map(|u| u.id.clone());
    report.push(diagnosis(
        permission(&USERS),
        users.map(|(users, _)| {
            if users.is_empty() { "no users visible".into() } else { "users visible".into() }
        }),
    ));
    if let Some(id) = first_user {
        let url = resource(&client, &["api", "v1", "users", &id, "factors"], &[]);
        let factors = client.get_json::<Vec<wire::UserFactor>>(&FACTORS, &url).await;
        report.push(diagnosis(permission(&FACTORS), factors.map(|_| "factors readable".into())));
    }
    let probes: [(&Endpoint, Url); 5] = [
        (&POLICIES, client.url("/api/v1/policies", &[("type", "PASSWORD"), ("limit", "1")])),
        (&ROLE_ASSIGNEES, client.url("/api/v1/iam/assignees/users", &[("limit", "1")])),
        (&APPS, client.url("/api/v1/apps", &[("limit", "1")])),
        (&API_TOKENS, client.url("/api/v1/api-tokens", &[("limit", "1")])),
        (&LOG_STREAMS, client.url("/api/v1/logStreams", &[("limit", "1")])),
    ];
    for (endpoint, url) in probes {
        let result = client.get_json::<serde::de::IgnoredAny>(endpoint, &url).await;
        report.push(diagnosis(permission(endpoint), result.map(|_| "readable".into())));
    }
    report
}

/// "read log streams (okta.logStreams.read)".
fn permission(endpoint: &Endpoint) -> String {
    format!("read {} ({})", endpoint.reads, endpoint.scope)
}
