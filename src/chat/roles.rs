//! Who may do what: `[slack.roles]` lists Slack user ids and user-group handles per role; anyone
//! else is a viewer. Every command and click is checked against the clicker's role at the
//! moment of the click, never against anything carried in the message.
//!
//! Group memberships are fetched from Slack (`usergroups.users.list`) and kept for a few minutes,
//! so a person removed from `@security-leads` loses approval rights within that time. When Slack
//! cannot be asked, group members are treated as viewers: a lookup failure never grants a role.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{
    chat::{commands::Role, slack::SlackWebApi},
    config::SlackRoles,
};

/// How long a group's member list is trusted.
const GROUP_CACHE_FOR: Duration = Duration::from_secs(300);

/// The configured roles, resolved against Slack when they name groups.
pub struct Roles {
    /// Highest role first, so the first match is a person's role.
    grants: Vec<(Role, Vec<Grantee>)>,
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Grantee {
    User(String),
    /// A user-group handle, without the `@`.
    Group(String),
}

impl Roles {
    pub fn new(config: &SlackRoles) -> Roles {
        let grantees = |entries: &[String]| -> Vec<Grantee> {
            entries
                .iter()
                .map(|entry| entry.trim())
                .filter(|entry| !entry.is_empty())
                .map(|entry| match entry.strip_prefix('@') {
                    Some(handle) => Grantee::Group(handle.to_owned()),
                    None => Grantee::User(entry.to_owned()),
                })
                .collect()
        };
        Roles {
            grants: vec![
                (Role::Admin, grantees(&config.admins)),
                (Role::Approver, grantees(&config.approvers)),
                (Role::Responder, grantees(&config.responders)),
            ],
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// `user`'s role now. `slack` resolves group handles; without it groups grant nothing.
    pub async fn role_of(&self, user: &str, slack: Option<&SlackWebApi>) -> Role {
        for (role, grantees) in &self.grants {
            for grantee in grantees {
                let member = match grantee {
                    Grantee::User(id) => id == user,
                    Grantee::Group(handle) => {
                        self.group_members(handle, slack).await.iter().any(|id| id == user)
                    }
                };
                if member {
                    return *role;
                }
            }
        }
        Role::Viewer
    }

    async fn group_members(&self, handle: &str, slack: Option<&SlackWebApi>) -> Vec<String> {
        if let Some((fetched, members)) = self.groups.lock().expect("group cache").get(handle)
            && fetched.elapsed() < GROUP_CACHE_FOR
        {
            return members.clone();
        }
        let Some(slack) = slack else { return Vec::new() };
        match slack.user_group_members(handle).await {
            Ok(members) => {
                self.groups
                    .lock()
                    .expect("group cache")
                    .insert(handle.to_owned(), (Instant::now(), members.clone()));
                members
            }
            Err(error) => {
                tracing::warn!(group = handle, %error, "cannot read a Slack user group; its members count as viewers");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(admins: &[&str], approvers: &[&str], responders: &[&str]) -> Roles {
        let list = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect();
        Roles::new(&SlackRoles {
            admins: list(admins),
            approvers: list(approvers),
            responders: list(responders),
        })
    }

    #[tokio::test]
    async fn listed_users_get_their_highest_role_and_everyone_else_views() {
        let roles = roles(&["UADMIN"], &["UAPPROVER", "UADMIN"], &["URESPONDER"]);
        assert_eq!(roles.role_of("UADMIN", None).await, Role::Admin);
        assert_eq!(roles.role_of("UAPPROVER", None).await, Role::Approver);
        assert_eq!(roles.role_of("URESPONDER", None).await, Role::Responder);
        assert_eq!(roles.role_of("USTRANGER", None).await, Role::Viewer);
    }

    #[tokio::test]
    async fn a_group_that_cannot_be_resolved_grants_nothing() {
        let roles = roles(&[], &["@security-leads"], &[]);
        assert_eq!(roles.role_of("U1", None).await, Role::Viewer);
    }
}
