//! The buttons Kushim puts on its messages, by the `action_id` Slack sends back when one is
//! clicked. The button's `value` is a short reference (a control id, an exception number, a
//! page) that the handler looks up again; it is never trusted as data.

use crate::chat::commands::Role;

/// What a button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open (or show) the control's Jira remediation ticket. Value: control id.
    Ticket,
    /// Open the exception-request form. Value: control id.
    RequestException,
    /// Approve a pending exception request. Value: the exception's number.
    ApproveException,
    /// Reject a pending exception request. Value: the exception's number.
    RejectException,
    /// Silence the control's alerts for seven days. Value: control id.
    Snooze,
    /// Collect the control's evidence again and re-assess it. Value: control id.
    Recheck,
    /// The next page of a long list. Value: `<list>:<offset>`.
    ShowMore,
    /// Queue a job that gave up to run again, with its attempts back. Value: the job's id.
    RetryJob,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Ticket,
        Action::RequestException,
        Action::ApproveException,
        Action::RejectException,
        Action::Snooze,
        Action::Recheck,
        Action::ShowMore,
        Action::RetryJob,
    ];

    /// The `action_id` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Ticket => "ticket",
            Action::RequestException => "request_exception",
            Action::ApproveException => "approve_exception",
            Action::RejectException => "reject_exception",
            Action::Snooze => "snooze",
            Action::Recheck => "recheck",
            Action::ShowMore => "show_more",
            Action::RetryJob => "retry_job",
        }
    }

    pub fn from_id(id: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.as_str() == id)
    }

    /// The least role whose clicks are carried out.
    pub fn role(self) -> Role {
        match self {
            Action::ShowMore => Role::Viewer,
            Action::Ticket | Action::RequestException | Action::Snooze | Action::Recheck => {
                Role::Responder
            }
            Action::ApproveException | Action::RejectException => Role::Approver,
            Action::RetryJob => Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_round_trip_and_are_unique() {
        for action in Action::ALL {
            assert_eq!(Action::from_id(action.as_str()), Some(action));
        }
        let mut ids: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Action::ALL.len());
        assert_eq!(Action::from_id("drop_tables"), None);
    }

    #[test]
    fn only_approvers_decide_exceptions_and_anyone_may_page() {
        assert_eq!(Action::ApproveException.role(), Role::Approver);
        assert_eq!(Action::RejectException.role(), Role::Approver);
        assert_eq!(Action::Ticket.role(), Role::Responder);
        assert_eq!(Action::ShowMore.role(), Role::Viewer);
    }
}
