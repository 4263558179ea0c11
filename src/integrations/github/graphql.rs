//! The GraphQL queries the collector sends and the shapes of their answers (GitHub's GraphQL
//! schema, camelCase). One `OrgRepos` page carries 50 repositories with everything GraphQL knows
//! about them (checks.md §2.1); the other operations page what does not fit in it.

use serde::Deserialize;

/// Repositories per `OrgRepos` page (checks.md §2.1: about one rate-limit point per page).
pub const REPO_PAGE: u32 = 50;
/// Items per page of every other connection (GitHub's maximum).
pub const PAGE: u32 = 100;
/// Commits read per default branch: Scorecard's Code-Review window, and the default of
/// `checks.github.recent_commits`.
pub const RECENT_COMMITS: u32 = 30;

/// The batched repository query. Page sizes are variables so the answer's cost is what GitHub
/// computes from them; `after` is the cursor of the previous page.
pub const ORG_REPOS: &str = r#"query OrgRepos($org: String!, $first: Int!, $after: String, $commits: Int!, $page: Int!) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    repositories(first: $first, after: $after, isArchived: false, orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        nameWithOwner visibility isFork isArchived viewerPermission
        hasVulnerabilityAlertsEnabled
        defaultBranchRef {
          name
          branchProtectionRule {
            requiresApprovingReviews requiredApprovingReviewCount dismissesStaleReviews
            requiresCodeOwnerReviews isAdminEnforced requiresStatusChecks
            requiredStatusCheckContexts requiresStrictStatusChecks requiresCommitSignatures
            allowsForcePushes allowsDeletions
          }
          target {
            ... on Commit {
              history(first: $commits) {
                nodes {
                  oid committedDate
                  author { name user { login } }
                  associatedPullRequests(first: 1) {
                    nodes {
                      number
                      author { login }
                      reviews(first: 10, states: APPROVED) { nodes { author { login } } }
                    }
                  }
                }
              }
            }
          }
        }
        vulnerabilityAlerts(first: $page, states: [OPEN]) {
          pageInfo { hasNextPage endCursor }
          nodes { number createdAt securityVulnerability { severity } }
        }
        collaborators(affiliation: OUTSIDE, first: $page) {
          pageInfo { hasNextPage endCursor }
          edges { permission node { login } }
        }
      }
    }
  }
}"#;

/// Archived repositories: only named, so the checks can say they skipped them (and judge their
/// visibility).
pub const ORG_ARCHIVED_REPOS: &str = r#"query OrgArchivedRepos($org: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    repositories(first: $first, after: $after, isArchived: true, orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes { nameWithOwner visibility isFork isArchived }
    }
  }
}"#;

/// Members and their organisation role (`ADMIN` is an owner).
pub const ORG_MEMBERS: &str = r#"query OrgMembers($org: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  organization(login: $org) {
    membersWithRole(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { role node { login } }
    }
  }
}"#;

/// Further pages of one repository's open Dependabot alerts (more than fit in `OrgRepos`).
pub const REPO_ALERTS: &str = r#"query RepoAlerts($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    vulnerabilityAlerts(first: $first, after: $after, states: [OPEN]) {
      pageInfo { hasNextPage endCursor }
      nodes { number createdAt securityVulnerability { severity } }
    }
  }
}"#;

/// Further pages of one repository's outside collaborators.
pub const REPO_COLLABORATORS: &str = r#"query RepoCollaborators($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    collaborators(affiliation: OUTSIDE, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { permission node { login } }
    }
  }
}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub cost: u64,
    pub remaining: u64,
    pub reset_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// `nodes` may hold nulls: a node GitHub could not resolve is null, with an error naming it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nodes<T> {
    pub page_info: PageInfo,
    pub nodes: Vec<Option<T>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edges<T> {
    pub page_info: PageInfo,
    pub edges: Vec<Option<T>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgData<T> {
    pub rate_limit: Option<RateLimit>,
    /// Null when the organisation does not exist or is not visible (with a `NOT_FOUND` error).
    pub organization: Option<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoData<T> {
    pub rate_limit: Option<RateLimit>,
    pub repository: Option<T>,
}

#[derive(Debug, Deserialize)]
pub struct Repositories<T> {
    pub repositories: Nodes<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembersWithRole {
    pub members_with_role: Edges<MemberEdge>,
}

#[derive(Debug, Deserialize)]
pub struct MemberEdge {
    pub role: String,
    pub node: Option<Login>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub login: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoNode {
    pub name_with_owner: String,
    pub visibility: String,
    #[serde(default)]
    pub is_fork: bool,
    #[serde(default)]
    pub is_archived: bool,
    pub viewer_permission: Option<String>,
    pub has_vulnerability_alerts_enabled: Option<bool>,
    pub default_branch_ref: Option<RefNode>,
    pub vulnerability_alerts: Option<Nodes<AlertNode>>,
    pub collaborators: Option<Edges<CollaboratorEdge>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefNode {
    pub name: String,
    pub branch_protection_rule: Option<ProtectionRule>,
    pub target: Option<CommitNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectionRule {
    pub requires_approving_reviews: bool,
    pub required_approving_review_count: Option<u32>,
    pub dismisses_stale_reviews: bool,
    pub requires_code_owner_reviews: bool,
    pub is_admin_enforced: bool,
    pub requires_status_checks: bool,
    #[serde(default)]
    pub required_status_check_contexts: Option<Vec<Option<String>>>,
    pub requires_strict_status_checks: bool,
    pub requires_commit_signatures: bool,
    pub allows_force_pushes: bool,
    pub allows_deletions: bool,
}

/// `target` is a `GitObject`; only a `Commit` has `history` (a tag target would not).
#[derive(Debug, Deserialize)]
pub struct CommitNode {
    pub history: Option<History>,
}

/// `history` is read as one page of the newest commits, so it carries no `pageInfo`.
#[derive(Debug, Deserialize)]
pub struct History {
    pub nodes: Vec<Option<HistoryNode>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryNode {
    pub oid: String,
    pub committed_date: String,
    pub author: Option<GitActor>,
    pub associated_pull_requests: Option<PullRequests>,
}

#[derive(Debug, Deserialize)]
pub struct GitActor {
    pub name: Option<String>,
    pub user: Option<Login>,
}

#[derive(Debug, Deserialize)]
pub struct PullRequests {
    pub nodes: Vec<Option<PullRequestNode>>,
}

#[derive(Debug, Deserialize)]
pub struct PullRequestNode {
    pub number: u64,
    pub author: Option<Login>,
    pub reviews: Option<Reviews>,
}

#[derive(Debug, Deserialize)]
pub struct Reviews {
    pub nodes: Vec<Option<Review>>,
}

#[derive(Debug, Deserialize)]
pub struct Review {
    pub author: Option<Login>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertNode {
    pub number: u64,
    pub created_at: String,
    pub security_vulnerability: Option<Vulnerability>,
}

#[derive(Debug, Deserialize)]
pub struct Vulnerability {
    pub severity: String,
}

#[derive(Debug, Deserialize)]
pub struct CollaboratorEdge {
    pub permission: String,
    pub node: Option<Login>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoAlerts {
    pub vulnerability_alerts: Option<Nodes<AlertNode>>,
}

#[derive(Debug, Deserialize)]
pub struct RepoCollaborators {
    pub collaborators: Option<Edges<CollaboratorEdge>>,
}
