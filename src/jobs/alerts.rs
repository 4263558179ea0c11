//! Alerts: what the channels subscribed to `alerts` hear when a control changes state, and the
//! other nudges the background engine sends there (exceptions running out, manual evidence due).
//!
//! One message per control and channel, keyed by the control id in the outbox: a control that
//! starts failing gets a new message; while it stays bad (failing, errored, stale) and when it
//! is fixed, that same message is edited in place. Flapping is damped: a control that goes bad
//! again within the flap window of its last alert edits that alert too, noting how often it
//! changed, instead of posting again. A control's first assessment alerts nobody (the digest
//! reports the starting point), and a snoozed control opens no new alert until the snooze ends.

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    catalog::{Catalog, Control},
    chat::{
        actions::Action,
        reply::{Block, Button, ButtonStyle, Reply},
        text,
    },
    controls::ControlState,
    outbox::MessageBody,
    store::{ExceptionRecord, NewMessage, Store, StoreError, Subscription, TransitionRecord},
};

/// Outbox kinds of what this module queues.
pub const ALERT: &str = "alert";
pub const EXCEPTION_EXPIRING: &str = "exception_expiring";
pub const EVIDENCE_REMINDER: &str = "evidence_reminder";
pub const DEAD_JOB: &str = "dead_job";

/// Exceptions expiring within this are warned about.
pub const EXPIRY_WARNING: TimeDelta = TimeDelta::days(7);

/// The states that alert.
fn is_bad(state: ControlState) -> bool {
    matches!(state, ControlState::Failing | ControlState::Errored | ControlState::Stale)
}

/// What a transition does to a control's alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    /// The control went bad: a new message (unless within the flap window of the last one).
    Open,
    /// The control was bad and changed again (worse, better, fixed): edit the message.
    Update,
    Ignore,
}

pub fn action_for(transition: &TransitionRecord) -> AlertAction {
    let to = ControlState::parse(&transition.to_state);
    let from = transition.from_state.as_deref().and_then(ControlState::parse);
    match (from, to) {
        (None, _) | (_, None) => AlertAction::Ignore,
        (Some(from), Some(_)) if is_bad(from) => AlertAction::Update,
        (Some(_), Some(to)) if is_bad(to) => AlertAction::Open,
        _ => AlertAction::Ignore,
    }
}

/// The alert about `control` after `transition`. `recent_changes` counts its state changes within
/// the flap window (this one included).
pub fn alert(
    control: &Control,
    transition: &TransitionRecord,
    recent_changes: usize,
    flap_window: TimeDelta,
) -> Reply {
    let state = ControlState::parse(&transition.to_state).unwrap_or(ControlState::Errored);
    let header = text::alert_header(&control.id, &control.title, state);
    let mut blocks = vec![
        Block::Header(header.clone()),
        Block::Section {
            text: text::alert_change(transition.from_state.as_deref(), state, &transition.reason),
            fields: text::alert_fields(control.severity.as_str(), &control.owner, transition.at),
        },
    ];
    if recent_changes >= 3 {
        blocks
            .push(Block::Context(text::alert_flapping(recent_changes, flap_window.num_minutes())));
    }
    if is_bad(state) {
        let id = control.id.clone();
        blocks.push(Block::Actions(vec![
            Button::new(Action::Ticket, id.clone()).styled(ButtonStyle::Primary),
            Button::new(Action::RequestException, id.clone()),
            Button::new(Action::Snooze, id.clone()),
            Button::new(Action::Recheck, id),
        ]));
    }
    Reply { fallback: header, blocks }
}

/// Queues the alerts `transitions` call for, to every channel subscribed to alerts; returns
/// how many messages were created or changed.
pub async fn queue_alerts(
    store: &Store,
    catalog: &Catalog,
    transitions: &[TransitionRecord],
    flap_window: TimeDelta,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let channels = store.subscribers(Subscription::Alerts).await?;
    if channels.is_empty() {
        return Ok(0);
    }
    // A snoozed control posts nothing new; its existing alert is still kept up to date (an
    // edit notifies nobody).
    let snoozed: std::collections::HashSet<String> =
        store.active_snoozes(now).await?.into_iter().map(|s| s.control_id).collect();
    let mut queued = 0;
    for transition in transitions {
        let action = action_for(transition);
        let Some(control) = catalog.control(&transition.control_id) else { continue };
        if action == AlertAction::Ignore
            || (action == AlertAction::Open && snoozed.contains(&control.id))
        {
            continue;
        }
        let recent_changes = store
            .transitions_of(&control.id, 20)
            .await?
            .iter()
            .filter(|t| t.at > now - flap_window)
            .count();
        let body =
            MessageBody::from_reply(&alert(control, transition, recent_changes, flap_window));
        for channel in &channels {
            // Redrawn for the new state, the alert keeps showing the control's ticket.
            let mut body = body.clone();
            let existing = store.outbox_message(channel, ALERT, &control.id).await?;
            if let Some(line) = existing
                .and_then(|m| MessageBody::from_json(&m.body).ok())
                .as_ref()
                .and_then(ticket_line)
            {
                show_ticket(&mut body, &line);
            }
            let message = NewMessage {
                channel: channel.clone(),
                kind: ALERT.to_owned(),
                key: control.id.clone(),
                body: body.to_json(),
                new_message_if_older_than: (action == AlertAction::Open)
                    .then_some(now - flap_window),
            };
            if store.enqueue_message(&message, now).await? != crate::store::Enqueued::Unchanged {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Warns the alert channels, once per exception, about approved exceptions that expire within
/// [`EXPIRY_WARNING`].
pub async fn queue_exception_warnings(
    store: &Store,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let channels = store.subscribers(Subscription::Alerts).await?;
    let exceptions = store.exceptions().await?;
    let expiring = expiring_exceptions(&exceptions, now);
    let mut queued = 0;
    for exception in expiring {
        let Some(control) = catalog.control(&exception.control_id) else { continue };
        let header = text::exception_expiring_header(&control.id, &control.title);
        let reply = Reply {
            fallback: header.clone(),
            blocks: vec![
                Block::Header(header),
                Block::Section {
                    text: text::exception_expiring(
                        exception.expires_at,
                        exception.decided_by.as_deref().unwrap_or("-"),
                        &exception.reason,
                    ),
                    fields: vec![],
                },
            ],
        };
        let body = MessageBody::from_reply(&reply).to_json();
        for channel in &channels {
            let message = NewMessage {
                channel: channel.clone(),
                kind: EXCEPTION_EXPIRING.to_owned(),
                key: format!("exception:{}", exception.seq),
                body: body.clone(),
                new_message_if_older_than: None,
            };
            if store.enqueue_message(&message, now).await? != crate::store::Enqueued::Unchanged {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Approved exceptions still active that expire within [`EXPIRY_WARNING`], soonest first.
pub fn expiring_exceptions(
    exceptions: &[ExceptionRecord],
    now: DateTime<Utc>,
) -> Vec<&ExceptionRecord> {
    let mut expiring: Vec<&ExceptionRecord> = exceptions
        .iter()
        .filter(|e| e.is_active(now) && e.expires_at <= now + EXPIRY_WARNING)
        .collect();
    expiring.sort_by_key(|e| (e.expires_at, e.seq));
    expiring
}

/// One manual control whose evidence is due: its id, title, owner and due date (`None`: never
/// submitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceDue {
    pub control_id: String,
    pub title: String,
    pub owner: String,
    pub due_at: Option<DateTime<Utc>>,
}

/// Manual and hybrid controls in scope whose evidence is missing, overdue or due within a week.
pub async fn evidence_due(
    store: &Store,
    catalog: &Catalog,
    states: &std::collections::HashMap<String, ControlState>,
    now: DateTime<Utc>,
) -> Result<Vec<EvidenceDue>, StoreError> {
    let latest = store.latest_manual_evidence().await?;
    let mut due = Vec::new();
    for control in catalog.controls().iter().filter(|c| c.kind.has_manual_evidence()) {
        if states.get(&control.id) == Some(&ControlState::NotApplicable) {
            continue;
        }
        let record = latest.iter().find(|m| m.control_id == control.id);
        let due_at = record.map(|m| m.due_at);
        if due_at.is_none_or(|at| at <= now + TimeDelta::days(7)) {
            due.push(EvidenceDue {
                control_id: control.id.clone(),
                title: control.title.clone(),
                owner: record.map_or_else(|| control.owner.clone(), |m| m.owner.clone()),
                due_at,
            });
        }
    }
    due.sort_by_key(|d| (d.due_at.is_some(), d.due_at, d.control_id.clone()));
    Ok(due)
}

/// The weekly reminder about manual evidence, once per ISO week per alert channel.
pub async fn queue_evidence_reminders(
    store: &Store,
    catalog: &Catalog,
    states: &std::collections::HashMap<String, ControlState>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let channels = store.subscribers(Subscription::Alerts).await?;
    let due = evidence_due(store, catalog, states, now).await?;
    if channels.is_empty() || due.is_empty() {
        return Ok(0);
    }
    let header = text::evidence_reminder_header(due.len());
    let lines: Vec<String> = due
        .iter()
        .map(|d| text::evidence_due_line(&d.control_id, &d.title, &d.owner, d.due_at, now))
        .collect();
    let mut blocks = vec![Block::Header(header.clone())];
    blocks.extend(crate::chat::reply::list_blocks(None, &lines, 40));
    blocks.push(Block::Context(text::evidence_reminder_hint()));
    let body = MessageBody::from_reply(&Reply { fallback: header, blocks }).to_json();
    let week = now.format("%G-W%V").to_string();
    let mut queued = 0;
    for channel in &channels {
        let message = NewMessage {
            channel: channel.clone(),
            kind: EVIDENCE_REMINDER.to_owned(),
            key: week.clone(),
            body: body.clone(),
            new_message_if_older_than: None,
        };
        if store.enqueue_message(&message, now).await? != crate::store::Enqueued::Unchanged {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Tells the alert channels that a job failed its last attempt, with the error, once per job.
pub async fn queue_dead_job(
    store: &Store,
    job: &crate::store::Job,
    error: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let body = MessageBody::from_reply(&crate::chat::reply::dead_job(job, error, None)).to_json();
    let mut queued = 0;
    for channel in store.subscribers(Subscription::Alerts).await? {
        let message = NewMessage {
            channel,
            kind: DEAD_JOB.to_owned(),
            key: format!("job:{}", job.id),
            body: body.clone(),
            new_message_if_older_than: None,
        };
        if store.enqueue_message(&message, now).await? != crate::store::Enqueued::Unchanged {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Where an alert shows its ticket: a context block, replaced as the ticket moves on.
const TICKET_BLOCK: &str = "kushim-ticket";

/// The ticket line an alert shows, if it shows one.
fn ticket_line(body: &MessageBody) -> Option<String> {
    let blocks = body.blocks.as_array()?;
    let block = blocks.iter().find(|block| block["block_id"] == TICKET_BLOCK)?;
    block["elements"][0]["text"].as_str().map(str::to_owned)
}

/// Shows `line` as the alert's ticket line, above its buttons, replacing the one it had.
fn show_ticket(body: &mut MessageBody, line: &str) {
    let shown = ticket_line(body);
    let Some(blocks) = body.blocks.as_array_mut() else { return };
    blocks.retain(|block| block["block_id"] != TICKET_BLOCK);
    let ticket = serde_json::json!({
        "type": "context",
        "block_id": TICKET_BLOCK,
        "elements": [{ "type": "mrkdwn", "text": line }],
    });
    let at = blocks.iter().position(|block| block["type"] == "actions").unwrap_or(blocks.len());
    blocks.insert(at, ticket);
    // The plain-text fallback ends with the ticket line too.
    let plain = match &shown {
        Some(old) => body.plain.trim_end().strip_suffix(old.as_str()).unwrap_or(&body.plain),
        None => &body.plain,
    };
    body.plain = format!("{}\n{line}", plain.trim_end());
}

/// Edits the control's alert in `channel` (when there is one) to carry the ticket's latest
/// event: the same outbox row, so Slack sees an edit of the original message, not a new one.
async fn show_ticket_on_alert(
    store: &Store,
    channel: &str,
    control_id: &str,
    line: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(existing) = store.outbox_message(channel, ALERT, control_id).await? else {
        return Ok(0);
    };
    let Ok(mut body) = MessageBody::from_json(&existing.body) else { return Ok(0) };
    show_ticket(&mut body, line);
    let message = NewMessage {
        channel: channel.to_owned(),
        kind: ALERT.to_owned(),
        key: control_id.to_owned(),
        body: body.to_json(),
        new_message_if_older_than: None,
    };
    Ok(usize::from(
        store.enqueue_message(&message, now).await? != crate::store::Enqueued::Unchanged,
    ))
}

/// The outbox kind of a ticket-event message.
pub const TICKET_EVENT: &str = "ticket_event";

/// Posts each ticket event (created, commented, closed, reopened, overdue, closed while failing)
/// to the alert channels, one message per ticket edited in place as the ticket moves on, with
/// the ticket's link, and shows it on the control's alert there, edited in place. Returns how
/// many messages were queued or changed.
pub async fn queue_ticket_events(
    store: &Store,
    events: &[crate::remediation::TicketEvent],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let channels = store.subscribers(Subscription::Alerts).await?;
    let mut queued = 0;
    for event in events {
        let reply = Reply::sentence(text::ticket_event(
            event.kind.as_str(),
            &event.key,
            &event.url,
            &event.control_id,
            &event.detail,
        ));
        let body = MessageBody::from_reply(&reply).to_json();
        let ticket_line = reply.slack_fallback();
        for channel in &channels {
            queued +=
                show_ticket_on_alert(store, channel, &event.control_id, &ticket_line, now).await?;
            let message = NewMessage {
                channel: channel.clone(),
                kind: TICKET_EVENT.to_owned(),
                key: if event.key.is_empty() {
                    format!("ticket:{}", event.control_id)
                } else {
                    format!("ticket:{}", event.key)
                },
                body: body.clone(),
                new_message_if_older_than: None,
            };
            if store.enqueue_message(&message, now).await? != crate::store::Enqueued::Unchanged {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(from: Option<&str>, to: &str) -> TransitionRecord {
        TransitionRecord {
            seq: 1,
            control_id: "AC-02".into(),
            from_state: from.map(str::to_owned),
            to_state: to.into(),
            at: DateTime::UNIX_EPOCH,
            reason: "2 users without MFA".into(),
        }
    }

    #[test]
    fn going_bad_opens_an_alert_and_later_changes_update_it() {
        assert_eq!(action_for(&transition(Some("passing"), "failing")), AlertAction::Open);
        assert_eq!(action_for(&transition(Some("manual_ok"), "stale")), AlertAction::Open);
        assert_eq!(action_for(&transition(Some("failing"), "errored")), AlertAction::Update);
        assert_eq!(action_for(&transition(Some("failing"), "passing")), AlertAction::Update);
        assert_eq!(action_for(&transition(Some("stale"), "excepted")), AlertAction::Update);
        assert_eq!(
            action_for(&transition(None, "failing")),
            AlertAction::Ignore,
            "first assessment"
        );
        assert_eq!(action_for(&transition(Some("passing"), "manual_due")), AlertAction::Ignore);
    }

    #[test]
    fn a_failing_alert_offers_the_four_buttons_with_the_control_id() {
        let catalog = Catalog::builtin().unwrap();
        let control = catalog.control("AC-02").unwrap();
        let reply = alert(control, &transition(Some("passing"), "failing"), 1, TimeDelta::hours(1));
        let slack = reply.to_slack();
        let actions = slack["blocks"].as_array().unwrap().last().unwrap();
        assert_eq!(actions["type"], "actions");
        let ids: Vec<&str> = actions["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["action_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["ticket", "request_exception", "snooze", "recheck"]);
        assert!(actions["elements"].as_array().unwrap().iter().all(|b| b["value"] == "AC-02"));

        let fixed = alert(control, &transition(Some("failing"), "passing"), 1, TimeDelta::hours(1));
        assert!(
            !fixed.blocks.iter().any(|b| matches!(b, Block::Actions(_))),
            "nothing to do once fixed"
        );
        let plain = fixed.to_plain_text();
        assert!(plain.contains("*Fixed*: now *passing* (was failing)"), "{plain}");
    }

    #[test]
    fn a_flapping_control_says_so() {
        let catalog = Catalog::builtin().unwrap();
        let control = catalog.control("AC-02").unwrap();
        let reply = alert(control, &transition(Some("passing"), "failing"), 4, TimeDelta::hours(1));
        let plain = reply.to_plain_text();
        assert!(plain.contains("Changed state 4 times in the last 60 minutes"), "{plain}");
    }
}
