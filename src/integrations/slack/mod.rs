//! Slack, as an evidence source: the workspace's members and their roles and 2FA state, and
//! whether the workspace requires SSO, normalised for `crate::checks::slack`.
//!
//! Parts that could not be fetched are recorded in `gaps` under the `PART_*` names below.
//!
//! [`collect`] and [`doctor`] read the workspace through the bot's Web API client
//! (`collector.rs`: `auth.test`, then `users.list` page by page); `sandbox::slack` serves a fake
//! workspace that answers them.

mod collector;

pub use collector::{PAGE_SIZE, collect, doctor};

use serde::{Deserialize, Serialize};

use crate::integrations::Gaps;

/// `users.list` as a whole.
pub const PART_USERS: &str = "users";

/// One Slack workspace's members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlackSnapshot {
    /// `auth.test` → `team_id`, e.g. `T01ABCDEF`.
    pub team_id: String,
    /// `auth.test` → `team`, the workspace name.
    pub team_name: String,
    /// `users.list` (Tier 2, cursor-paginated, `limit=200`) → `members[]`, bots and deactivated
    /// members included.
    pub users: Vec<SlackUser>,
    /// Whether the workspace requires SAML SSO to sign in. `None` when unknown: outside
    /// Enterprise Grid (`admin.users.list` → `has_sso` per user) the Web API exposes no such
    /// setting, so the collector fills it only from what it can read or the operator declares.
    pub sso_enforced: Option<bool>,
    /// Parts that could not be fetched, keyed by the `PART_*` constants of this module.
    pub gaps: Gaps,
}

/// One member (`users.list` → `members[]`). Slack omits the boolean flags on some members
/// (deactivated ones, bots); the collector reads a missing flag as false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackUser {
    /// `id`, e.g. `U01ABCDEF`.
    pub id: String,
    /// `name`, the member's handle.
    pub name: String,
    /// `is_admin`: workspace admin (owners are admins too).
    pub is_admin: bool,
    /// `is_owner`: workspace owner.
    pub is_owner: bool,
    /// `is_primary_owner`: the one primary owner.
    pub is_primary_owner: bool,
    /// `is_bot`: a bot user (Slackbot itself is `USLACKBOT` with `is_bot` false).
    pub is_bot: bool,
    /// `deleted`: deactivated.
    pub deleted: bool,
    /// `is_restricted`: multi-channel guest.
    pub is_restricted: bool,
    /// `is_ultra_restricted`: single-channel guest.
    pub is_ultra_restricted: bool,
    /// `has_2fa`: whether the member turned on two-factor authentication. Slack returns it only
    /// to tokens of workspace admins and owners; `None` when it was absent.
    pub has_2fa: Option<bool>,
}
