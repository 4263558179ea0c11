//! The daily digest: one short message per subscribed channel that reads well on a phone —
//! the score and its change since yesterday, a 14-day sparkline, what started failing and what
//! was fixed in the last day, collections that failed, exceptions running out within a week,
//! manual evidence due, and (from the Jira integration, through [`DigestInputs::open_tickets`])
//! open remediation tickets. Each list is one section, cut with "…and N more", so the message
//! stays far inside Block Kit's 50 blocks and 3,000 characters a section.
//!
//! The trend is replayed from the stored transitions: a control's state at any moment is the
//! target of its newest transition before it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use super::alerts::{EvidenceDue, evidence_due, expiring_exceptions};
use crate::{
    catalog::Catalog,
    chat::{
        reply::{Block, Reply, list_blocks},
        text,
    },
    controls::{ControlState, posture},
    engine::Refresh,
    outbox::MessageBody,
    store::{CollectionRunRecord, NewMessage, Store, StoreError, Subscription},
};

/// Outbox kind of the digest.
pub const DIGEST: &str = "digest";
/// Days in the trend.
pub const TREND_DAYS: i64 = 14;
/// Lines shown per list before "…and N more".
const LINES_SHOWN: usize = 8;

/// Everything a digest says, gathered from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestInputs {
    /// The day it is for, in the team's timezone.
    pub date: NaiveDate,
    pub score: f64,
    /// The score 24 hours earlier, if anything had been assessed then.
    pub yesterday: Option<f64>,
    /// Daily scores, oldest first, ending with today's; days before the first assessment are
    /// left out.
    pub trend: Vec<f64>,
    /// `(control id, title, state)` of controls that went bad in the last day and are still
    /// bad (the alerts and `/kushim control` give the reasons; a digest stays short).
    pub newly_failing: Vec<(String, String, ControlState)>,
    /// `(control id, title)` of controls fixed in the last day.
    pub fixed: Vec<(String, String)>,
    pub failed_collections: Vec<CollectionRunRecord>,
    /// `(control id, expires at)`.
    pub expiring_exceptions: Vec<(String, DateTime<Utc>)>,
    pub evidence_due: Vec<EvidenceDue>,
    /// Open remediation tickets, those past their due date (the SLA) first, then oldest first.
    pub open_tickets: Vec<OpenTicket>,
}

/// One open remediation ticket as the digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTicket {
    pub key: String,
    pub control_id: String,
    pub opened_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
}

impl OpenTicket {
    fn is_late(&self, today: NaiveDate) -> bool {
        self.due_date.is_some_and(|due| due < today)
    }
}

fn is_bad(state: ControlState) -> bool {
    matches!(state, ControlState::Failing | ControlState::Errored | ControlState::Stale)
}

/// Gathers a digest as of `now`, from a refresh made at `now`.
pub async fn gather(
    store: &Store,
    catalog: &Catalog,
    refresh: &Refresh,
    timezone: Tz,
    now: DateTime<Utc>,
) -> Result<DigestInputs, StoreError> {
    let current: HashMap<String, ControlState> =
        refresh.assessments.iter().map(|a| (a.control_id.clone(), a.state)).collect();
    let transitions = store.transitions_until(now).await?;
    let score_at = |at: DateTime<Utc>| -> Option<f64> {
        let mut states: HashMap<&str, ControlState> = HashMap::new();
        for t in transitions.iter().take_while(|t| t.at <= at) {
            if let Some(state) = ControlState::parse(&t.to_state) {
                states.insert(&t.control_id, state);
            }
        }
        (!states.is_empty()).then(|| posture(catalog, |id| states.get(id).copied()).overall.score)
    };
    let score = posture(catalog, |id| current.get(id).copied()).overall.score;
    let mut trend: Vec<f64> =
        (1..TREND_DAYS).rev().filter_map(|days| score_at(now - TimeDelta::days(days))).collect();
    trend.push(score);

    let day_ago = now - TimeDelta::days(1);
    let mut newly_failing = Vec::new();
    let mut fixed = Vec::new();
    for control in catalog.controls() {
        let changed_today: Vec<_> =
            transitions.iter().filter(|t| t.control_id == control.id && t.at > day_ago).collect();
        let Some(state) = current.get(&control.id).copied() else { continue };
        let went_bad =
            changed_today.iter().any(|t| ControlState::parse(&t.to_state).is_some_and(is_bad));
        let was_bad = changed_today
            .iter()
            .any(|t| t.from_state.as_deref().and_then(ControlState::parse).is_some_and(is_bad));
        if went_bad && is_bad(state) {
            newly_failing.push((control.id.clone(), control.title.clone(), state));
        } else if was_bad && state.is_satisfied() {
            fixed.push((control.id.clone(), control.title.clone()));
        }
    }

    let failed_collections = store
        .collection_runs(200)
        .await?
        .into_iter()
        .filter(|run| run.outcome == "failed" && run.finished_at > day_ago)
        .collect();
    let exceptions = store.exceptions().await?;
    let expiring_exceptions = expiring_exceptions(&exceptions, now)
        .into_iter()
        .map(|e| (e.control_id.clone(), e.expires_at))
        .collect();
    let evidence_due = evidence_due(store, catalog, &current, now).await?;
    Ok(DigestInputs {
        date: now.with_timezone(&timezone).date_naive(),
        score,
        yesterday: score_at(day_ago),
        trend,
        newly_failing,
        fixed,
        failed_collections,
        expiring_exceptions,
        evidence_due,
        open_tickets: open_tickets(store, now).await?,
    })
}

async fn open_tickets(store: &Store, now: DateTime<Utc>) -> Result<Vec<OpenTicket>, StoreError> {
    let mut tickets: Vec<OpenTicket> = store
        .open_tickets()
        .await?
        .into_iter()
        .filter_map(|link| {
            Some(OpenTicket {
                key: link.issue_key?,
                control_id: link.control_id,
                opened_at: link.opened_at,
                due_date: link.due_date,
            })
        })
        .collect();
    late_first(&mut tickets, now.date_naive());
    Ok(tickets)
}

/// Tickets past their due date first; a stable sort, so each group keeps its order.
fn late_first(tickets: &mut [OpenTicket], today: NaiveDate) {
    tickets.sort_by_key(|ticket| !ticket.is_late(today));
}

/// The digest message.
pub fn digest(inputs: &DigestInputs, now: DateTime<Utc>) -> Reply {
    let header = text::digest_header(inputs.date);
    let change = inputs.yesterday.map(|before| inputs.score - before);
    let mut blocks = vec![
        Block::Header(header.clone()),
        Block::Section {
            text: text::digest_score(inputs.score, change, &sparkline(&inputs.trend)),
            fields: vec![],
        },
    ];
    let mut section = |title: String, lines: Vec<String>| {
        if lines.is_empty() {
            return false;
        }
        let mut shown: Vec<String> = lines.iter().take(LINES_SHOWN).cloned().collect();
        if lines.len() > LINES_SHOWN {
            shown.push(text::and_more(lines.len() - LINES_SHOWN));
        }
        blocks.extend(list_blocks(Some(title), &shown, 1));
        true
    };
    let mut said = false;
    said |= section(
        text::digest_newly_failing_title(),
        inputs
            .newly_failing
            .iter()
            .map(|(id, title, state)| format!("• `{id}` {title} — *{}*", state.as_str()))
            .collect(),
    );
    said |= section(
        text::digest_fixed_title(),
        inputs.fixed.iter().map(|(id, title)| format!("• `{id}` {title}")).collect(),
    );
    said |= section(
        text::digest_collections_title(),
        inputs
            .failed_collections
            .iter()
            .map(|run| text::collection_failed_line(&run.integration, run.finished_at, &run.detail))
            .collect(),
    );
    said |= section(
        text::digest_exceptions_title(),
        inputs
            .expiring_exceptions
            .iter()
            .map(|(id, at)| text::expiring_exception_line(id, *at))
            .collect(),
    );
    said |= section(
        text::digest_evidence_title(),
        inputs
            .evidence_due
            .iter()
            .map(|d| text::evidence_due_line(&d.control_id, &d.title, &d.owner, d.due_at, now))
            .collect(),
    );
    let today = now.date_naive();
    let late = inputs.open_tickets.iter().filter(|t| t.is_late(today)).count();
    said |= section(
        text::digest_tickets_title(inputs.open_tickets.len(), late),
        inputs
            .open_tickets
            .iter()
            .map(|t| text::open_ticket_line(&t.key, &t.control_id, t.opened_at, t.due_date, now))
            .collect(),
    );
    if !said {
        blocks.push(Block::Section { text: text::digest_quiet(), fields: vec![] });
    }
    blocks.push(Block::Context(text::digest_footer()));
    Reply { fallback: header, blocks }
}

/// Scores 0–100 as bars on an absolute scale, so a small change looks small.
pub fn sparkline(scores: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    scores
        .iter()
        .map(|score| {
            let index = (score.clamp(0.0, 100.0) / 100.0 * 7.0).round() as usize;
            BARS[index.min(7)]
        })
        .collect()
}

/// Queues today's digest to every channel subscribed to digests (a second run the same day
/// edits the message instead of posting another).
pub async fn queue_digests(
    store: &Store,
    inputs: &DigestInputs,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let channels = store.subscribers(Subscription::Digest).await?;
    let body = MessageBody::from_reply(&digest(inputs, now)).to_json();
    let mut queued = 0;
    for channel in channels {
        let message = NewMessage {
            channel,
            kind: DIGEST.to_owned(),
            key: inputs.date.to_string(),
            body: body.clone(),
            new_message_if_older_than: None,
        };
        if store.enqueue_message(&message, now).await? != crate::store::Enqueued::Unchanged {
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> DigestInputs {
        DigestInputs {
            date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            score: 72.5,
            yesterday: Some(70.0),
            trend: vec![60.0, 65.0, 70.0, 72.5],
            newly_failing: vec![],
            fixed: vec![],
            failed_collections: vec![],
            expiring_exceptions: vec![],
            evidence_due: vec![],
            open_tickets: vec![],
        }
    }

    #[test]
    fn the_sparkline_uses_an_absolute_scale() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0, 72.5, 150.0]), "▁▅█▆█");
    }

    #[test]
    fn a_quiet_day_says_so_with_the_score_and_trend() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z").unwrap().with_timezone(&Utc);
        let plain = digest(&inputs(), now).to_plain_text();
        assert!(plain.starts_with("SOC 2 daily digest, Wed 25 Nov 2026\n"), "{plain}");
        assert!(
            plain.contains("Posture *72.5 / 100* (up 2.5 since yesterday)\n14 days: `▅▆▆▆`"),
            "{plain}"
        );
        assert!(plain.contains("Nothing changed since yesterday"), "{plain}");
    }

    #[test]
    fn a_busy_day_stays_within_slacks_limits() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z").unwrap().with_timezone(&Utc);
        let mut busy = inputs();
        busy.newly_failing = (0..60)
            .map(|n| {
                (
                    format!("AC-{n:02}"),
                    "A control with a long title ".repeat(3),
                    ControlState::Failing,
                )
            })
            .collect();
        busy.fixed = (0..30).map(|n| (format!("CM-{n:02}"), "Fixed".into())).collect();
        busy.open_tickets = vec![OpenTicket {
            key: "KUSH-1".into(),
            control_id: "AC-02".into(),
            opened_at: now - TimeDelta::days(12),
            due_date: NaiveDate::from_ymd_opt(2026, 11, 20),
        }];
        let reply = digest(&busy, now);
        let slack = reply.to_slack();
        let blocks = slack["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 12, "{} blocks", blocks.len());
        for block in blocks {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(text.chars().count() <= 3000);
            }
        }
        let plain = reply.to_plain_text();
        assert!(plain.contains("…and 52 more"), "{plain}");
        assert!(
            plain.contains(
                "*Open remediation tickets* (1, 1 past due)\n• KUSH-1 `AC-02` — 12 days old, *5 days past due*"
            ),
            "{plain}"
        );
    }

    #[test]
    fn open_tickets_past_their_due_date_come_first_then_the_oldest() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z").unwrap().with_timezone(&Utc);
        let ticket = |key: &str, age_days: i64, due: Option<(u32, u32)>| OpenTicket {
            key: key.into(),
            control_id: "CM-01".into(),
            opened_at: now - TimeDelta::days(age_days),
            due_date: due.and_then(|(m, d)| NaiveDate::from_ymd_opt(2026, m, d)),
        };
        let mut busy = inputs();
        // As the store lists them: oldest first.
        let mut tickets = vec![
            ticket("SEC-1", 30, None),
            ticket("SEC-2", 20, Some((12, 1))),
            ticket("SEC-3", 9, Some((11, 24))),
        ];
        late_first(&mut tickets, now.date_naive());
        busy.open_tickets = tickets;
        let plain = digest(&busy, now).to_plain_text();
        assert!(
            plain.contains(
                "*Open remediation tickets* (3, 1 past due)\n\
                 • SEC-3 `CM-01` — 9 days old, *1 day past due*\n\
                 • SEC-1 `CM-01` — 30 days old\n\
                 • SEC-2 `CM-01` — 20 days old, due 2026-12-01"
            ),
            "{plain}"
        );
    }
}
