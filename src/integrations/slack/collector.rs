//! The Slack evidence collector and `kushim doctor`'s Slack lines: the workspace's members, their
//! roles and their 2FA become the [`SlackSnapshot`] that `slack.admins_2fa` judges.
//!
//! The calls, through slack-morphism's client (the bot's [`SlackWebApi`], so the same URL rules
//! apply) with the evidence token:
//!
//! 1. `auth.test`: the workspace's id and name, and whether the token works at all. A refusal
//!    here fails the collection as a whole: nothing read with that token could be trusted.
//! 2. `users.list?limit=200`, following `response_metadata.next_cursor` until it comes back
//!    empty (Tier 2: about 20 calls a minute; deactivated members and bots included). When the
//!    listing fails, the part `users` becomes a gap saying what to fix, and the check reports
//!    `error` instead of judging a partial list.
//!
//! Slack returns `has_2fa` only to tokens of admins and owners. With the bot token every admin
//! reads as "2FA unknown", which the check reports as an error that names the fix.

use std::{collections::HashSet, future::Future};

use chrono::Utc;
use slack_morphism::{
    SlackUser as WireUser,
    api::{SlackApiAuthTestResponse, SlackApiUsersListRequest, SlackApiUsersListResponse},
    errors::SlackClientError,
    prelude::{ClientResult, SlackCursorId, ValueStruct},
};
use tracing::Instrument;

use super::{PART_USERS, SlackSnapshot, SlackUser};
use crate::chat::slack::SlackWebApi;
use crate::config::SlackEvidenceSettings;
use crate::integrations::{
    Integration,
    collect::{ApiCalls, Attempt, CollectError, Collection, Diagnosis, RetryPolicy},
};

/// Members per `users.list` page: Slack asks for a limit under 1,000 and recommends 200.
pub const PAGE_SIZE: u16 = 200;

const AUTH_TEST: &str = "auth.test";
const USERS_LIST: &str = "users.list";

/// Collects one Slack workspace. Never fails as a function: a collection that cannot be made at
/// all is `Source::Failed` with the reason.
pub async fn collect(
    settings: &SlackEvidenceSettings,
    policy: &RetryPolicy,
) -> Collection<SlackSnapshot> {
    let started_at = Utc::now();
    let calls = ApiCalls::default();
    let span = tracing::info_span!(
        "slack.collect",
        integration = "slack",
        token = %settings.token_source
    );
    let result = async {
        let client = Client::new(settings, *policy, calls.clone())?;
        gather(&client, settings).await
    }
    .instrument(span)
    .await;
    Collection::concluded(Integration::Slack, result, &calls, started_at)
}

async fn gather(
    client: &Client,
    settings: &SlackEvidenceSettings,
) -> Result<SlackSnapshot, CollectError> {
    let identity = client.auth_test().await?;
    let mut snapshot = SlackSnapshot {
        team_id: identity.team_id.to_string(),
        team_name: identity.team,
        users: Vec::new(),
        sso_enforced: settings.sso_enforced,
        gaps: Default::default(),
    };
    match client.members().await {
        Ok(users) => snapshot.users = users,
        Err(error) => {
            tracing::warn!(%error, "Slack members could not be listed");
            snapshot.gaps.insert(PART_USERS.to_owned(), error.to_string());
        }
    }
    Ok(snapshot)
}

/// The token, the member listing and the 2FA visibility, each with what to fix; and what the
/// operator declared about SSO.
pub async fn doctor(settings: &SlackEvidenceSettings, policy: &RetryPolicy) -> Vec<Diagnosis> {
    let line = |check: &str, result: Result<String, String>| Diagnosis {
        integration: Integration::Slack,
        check: check.to_owned(),
        ok: result.is_ok(),
        detail: result.unwrap_or_else(|e| e),
    };
    let client = match Client::new(settings, *policy, ApiCalls::default()) {
        Ok(client) => client,
        Err(error) => return vec![line("API URL", Err(error.to_string()))],
    };
    let source = &settings.token_source;
    let identity = match client.auth_test().await {
        Ok(identity) => identity,
        Err(error) => return vec![line("token accepted (auth.test)", Err(error.to_string()))],
    };
    let mut lines = Vec::new();
    let bot_token = identity.bot_id.is_some();
    lines.push(line(
        "token accepted (auth.test)",
        Ok(format!(
            "workspace {} ({}), {} token from {source}",
            identity.team,
            identity.team_id,
            if bot_token { "a bot" } else { "a user" }
        )),
    ));
    let page = match client.users_page(None).await {
        Ok(page) => page,
        Err(error) => {
            lines.push(line("list members (users.list, users:read)", Err(error.to_string())));
            return lines;
        }
    };
    lines.push(line(
        "list members (users.list, users:read)",
        Ok(format!("{} members on the first page", page.members.len())),
    ));
    let sees_2fa = page.members.iter().any(|member| member.flags.has_2fa.is_some());
    lines.push(line(
        "see who has 2FA (has_2fa)",
        if sees_2fa {
            Ok("visible: the token belongs to a workspace admin or owner".to_owned())
        } else {
            Err(format!(
                "token cannot see has_2fa: use an admin's user token (xoxp-… with users:read) in \
                 SLACK_EVIDENCE_TOKEN{}",
                if bot_token {
                    format!(
                        "; {source} is a bot token, and Slack shows 2FA only to admins and owners"
                    )
                } else {
                    format!("; the user behind {source} is not a workspace admin or owner")
                }
            ))
        },
    ));
    lines.push(line(
        "SSO requirement ([slack] sso_enforced)",
        Ok(match settings.sso_enforced {
            Some(true) => "declared required: admins without Slack's 2FA pass on the identity \
                           provider's MFA"
                .to_owned(),
            Some(false) => "declared not required: every admin needs Slack's 2FA".to_owned(),
            None => "not declared: every admin needs Slack's 2FA (set sso_enforced = true if \
                     the workspace requires SAML SSO)"
                .to_owned(),
        }),
    ));
    lines
}

/// The Web API with the evidence token, retrying what the policy allows and counting calls.
struct Client {
    api: SlackWebApi,
    policy: RetryPolicy,
    calls: ApiCalls,
    /// Named in what to fix when Slack refuses the token.
    token_source: String,
}

impl Client {
    fn new(
        settings: &SlackEvidenceSettings,
        policy: RetryPolicy,
        calls: ApiCalls,
    ) -> Result<Client, CollectError> {
        let api = SlackWebApi::new(&settings.api_url, &settings.token).map_err(|error| {
            CollectError::NotConfigured {
                integration: Integration::Slack,
                what: format!("{error} (SLACK_API_URL or [slack] api_url)"),
            }
        })?;
        Ok(Client { api, policy, calls, token_source: settings.token_source.clone() })
    }

    async fn auth_test(&self) -> Result<SlackApiAuthTestResponse, CollectError> {
        self.policy
            .run(|| self.attempt(AUTH_TEST, async { self.api.session().auth_test().await }))
            .await
    }

    /// One page of members, from `cursor` (`None`: the first page).
    async fn users_page(
        &self,
        cursor: Option<&SlackCursorId>,
    ) -> Result<SlackApiUsersListResponse, CollectError> {
        let request =
            SlackApiUsersListRequest::new().with_limit(PAGE_SIZE).opt_cursor(cursor.cloned());
        self.policy
            .run(|| {
                self.attempt(USERS_LIST, async { self.api.session().users_list(&request).await })
            })
            .await
    }

    /// Every member, page after page until Slack's cursor comes back empty.
    async fn members(&self) -> Result<Vec<SlackUser>, CollectError> {
        let mut users = Vec::new();
        let mut cursor: Option<SlackCursorId> = None;
        let mut seen = HashSet::new();
        loop {
            let page = self.users_page(cursor.as_ref()).await?;
            users.extend(page.members.iter().map(member));
            let next = page
                .response_metadata
                .and_then(|metadata| metadata.next_cursor)
                .filter(|next| !next.value().is_empty());
            match next {
                None => return Ok(users),
                Some(next) if !seen.insert(next.value().clone()) => {
                    return Err(CollectError::Malformed {
                        integration: Integration::Slack,
                        call: USERS_LIST.to_owned(),
                        detail: format!(
                            "the cursor {:?} came back twice, so the listing would never end",
                            next.value()
                        ),
                    });
                }
                Some(next) => cursor = Some(next),
            }
        }
    }

    /// One request, counted, bounded by the policy's timeout, its failure classified.
    async fn attempt<T>(
        &self,
        method: &'static str,
        request: impl Future<Output = ClientResult<T>>,
    ) -> Result<T, Attempt> {
        self.calls.record();
        match tokio::time::timeout(self.policy.request_timeout, request).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(self.classify(method, error)),
            Err(_) => Err(Attempt::Retry {
                error: CollectError::Timeout {
                    integration: Integration::Slack,
                    call: method.to_owned(),
                    seconds: self.policy.request_timeout.as_secs(),
                },
                after: None,
            }),
        }
    }

    /// What a failure means and whether trying again can help. Slack refuses with HTTP 200 and
    /// `{"ok": false, "error": CODE}`; only rate limits (429 + `Retry-After`) and server trouble
    /// are worth another try.
    fn classify(&self, method: &'static str, error: SlackClientError) -> Attempt {
        let integration = Integration::Slack;
        let call = method.to_owned();
        match error {
            SlackClientError::RateLimitError(limit) => Attempt::Retry {
                error: CollectError::Server {
                    integration,
                    call,
                    status: 429,
                    detail: limit.code.unwrap_or_else(|| "ratelimited".to_owned()),
                },
                after: limit.retry_after,
            },
            SlackClientError::ApiError(api) => match api.code.as_str() {
                "invalid_auth" | "not_authed" | "token_revoked" | "token_expired"
                | "account_inactive" => Attempt::Fail(CollectError::Unauthorized {
                    integration,
                    detail: api.code,
                    fix: format!(
                        "check {}: a user token (xoxp-…) of a workspace admin with users:read",
                        self.token_source
                    ),
                }),
                "missing_scope" => Attempt::Fail(CollectError::Forbidden {
                    integration,
                    call,
                    missing: "the users:read scope".to_owned(),
                    detail: format!(
                        "missing_scope: add users:read to the app behind {} and reinstall it",
                        self.token_source
                    ),
                }),
                "ratelimited" => Attempt::Retry {
                    error: CollectError::Server {
                        integration,
                        call,
                        status: 429,
                        detail: api.code,
                    },
                    after: None,
                },
                "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                    Attempt::Retry {
                        error: CollectError::Server {
                            integration,
                            call,
                            status: 200,
                            detail: api.code,
                        },
                        after: None,
                    }
                }
                _ => Attempt::Fail(CollectError::Server {
                    integration,
                    call,
                    status: 200,
                    detail: api.code,
                }),
            },
            SlackClientError::HttpError(http) => {
                let error = CollectError::Server {
                    integration,
                    call,
                    status: http.status_code.as_u16(),
                    detail: http.status_code.canonical_reason().unwrap_or("error").to_owned(),
                };
                if http.status_code.is_server_error() {
                    Attempt::Retry { error, after: None }
                } else {
                    Attempt::Fail(error)
                }
            }
            SlackClientError::ProtocolError(protocol) => Attempt::Fail(CollectError::Malformed {
                integration,
                call,
                detail: protocol.to_string(),
            }),
            other => Attempt::Retry {
                error: CollectError::Transport { integration, call, detail: other.to_string() },
                after: None,
            },
        }
    }
}

/// A `users.list` member as the check sees it. Slack leaves the flags out on some members
/// (deactivated ones among them): a missing flag reads false. A missing `has_2fa` stays unknown.
fn member(user: &WireUser) -> SlackUser {
    let flag = |value: Option<bool>| value.unwrap_or(false);
    SlackUser {
        id: user.id.to_string(),
        name: user.name.clone().unwrap_or_else(|| user.id.to_string()),
        is_admin: flag(user.flags.is_admin),
        is_owner: flag(user.flags.is_owner),
        is_primary_owner: flag(user.flags.is_primary_owner),
        is_bot: flag(user.flags.is_bot),
        deleted: flag(user.deleted),
        is_restricted: flag(user.flags.is_restricted),
        is_ultra_restricted: flag(user.flags.is_ultra_restricted),
        has_2fa: user.flags.has_2fa,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(json: serde_json::Value) -> WireUser {
        serde_json::from_value(json).expect("a users.list member")
    }

    #[test]
    fn a_member_without_flags_reads_false_and_2fa_unknown() {
        let deactivated = member(&wire(serde_json::json!({
            "id": "U0GONE", "team_id": "T0ACME", "name": "gone", "deleted": true,
        })));
        assert_eq!(
            deactivated,
            SlackUser {
                id: "U0GONE".into(),
                name: "gone".into(),
                is_admin: false,
                is_owner: false,
                is_primary_owner: false,
                is_bot: false,
                deleted: true,
                is_restricted: false,
                is_ultra_restricted: false,
                has_2fa: None,
            }
        );
    }

    #[test]
    fn an_admin_seen_by_an_admin_token_keeps_every_flag() {
        let olga = member(&wire(serde_json::json!({
            "id": "U0OLGA", "team_id": "T0ACME", "name": "olga", "deleted": false,
            "real_name": "Olga", "is_admin": true, "is_owner": true, "is_primary_owner": true,
            "is_restricted": false, "is_ultra_restricted": false, "is_bot": false,
            "is_app_user": false, "updated": 1_748_736_000, "has_2fa": false,
        })));
        assert!(olga.is_admin && olga.is_owner && olga.is_primary_owner && !olga.deleted);
        assert_eq!(olga.has_2fa, Some(false));
    }
}
