//! Replies as data, rendered to Slack's Block Kit. The sentences come from [`crate::chat::text`];
//! this module only arranges them into blocks, keeps within Block Kit's limits, and escapes text
//! for Slack.
//!
//! Escaping happens here, once, on every text: Slack reads `<…>` as a mention or link and `&` as
//! the start of an entity, so a typed `<!channel>` would otherwise ping a whole channel.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::{
    chat::{
        actions::Action,
        bot::{self, COMPENSATING_BLOCK, EXCEPTION_FORM, EXPIRY_BLOCK, REASON_BLOCK},
        commands::ControlsFilter,
        text,
    },
    controls::ControlState,
    store::{ExceptionRecord, Job, JobStatus, QueueDepth},
    views::{CollectView, ControlDetail, ControlLine, StatusView},
};

/// Block Kit: blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Block Kit: characters in a section's text.
pub const MAX_TEXT: usize = 3000;
/// Block Kit: characters in one field of a section.
pub const MAX_FIELD: usize = 2000;
/// Block Kit: fields in one section.
pub const MAX_FIELDS: usize = 10;
/// Block Kit: characters in a header's plain text.
pub const MAX_HEADER: usize = 150;
/// Controls that need attention listed in `/kushim status`; the rest are counted.
const ATTENTION_SHOWN: usize = 5;

/// Block Kit: elements in one actions block.
pub const MAX_BUTTONS: usize = 25;
/// Block Kit: characters in a button's label.
pub const MAX_BUTTON_LABEL: usize = 75;

/// One piece of a reply. Texts are kept as written (unescaped) until [`Reply::to_slack`].
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Header(String),
    Section {
        text: String,
        fields: Vec<String>,
    },
    Context(String),
    Divider,
    /// A row of buttons.
    Actions(Vec<Button>),
}

/// A button. Its value is a short reference to server-side state (a control id, an exception
/// number, a page), never data the server trusts: every click is looked up and re-authorised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: Action,
    pub value: String,
    pub style: ButtonStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Default,
    Primary,
    Danger,
}

impl Button {
    pub fn new(action: Action, value: impl Into<String>) -> Button {
        Button {
            label: text::button_label(action),
            action,
            value: value.into(),
            style: ButtonStyle::Default,
        }
    }

    pub fn styled(self, style: ButtonStyle) -> Button {
        Button { style, ..self }
    }
}

/// What the bot answers, shown only to the person who asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The notification and screen-reader text; Slack shows it where blocks cannot be shown.
    pub fallback: String,
    pub blocks: Vec<Block>,
}

impl Reply {
    /// A reply of one sentence.
    pub fn sentence(sentence: String) -> Reply {
        Reply {
            blocks: vec![Block::Section { text: sentence.clone(), fields: vec![] }],
            fallback: sentence,
        }
    }

    /// The ephemeral slash-command response body Slack expects, within Block Kit's limits.
    pub fn to_slack(&self) -> Value {
        json!({
            "response_type": "ephemeral",
            "text": self.slack_fallback(),
            "blocks": self.slack_blocks(),
        })
    }

    /// The blocks as Block Kit JSON, at most [`MAX_BLOCKS`] of them: what does not fit is
    /// counted in a closing context line.
    pub fn slack_blocks(&self) -> Vec<Value> {
        let mut blocks: Vec<Value> = self.blocks.iter().map(render_block).collect();
        if blocks.len() > MAX_BLOCKS {
            let dropped = blocks.len() - (MAX_BLOCKS - 1);
            blocks.truncate(MAX_BLOCKS - 1);
            blocks.push(render_block(&Block::Context(text::and_more(dropped))));
        }
        blocks
    }

    /// The message's `text`: what notifications and screen readers show.
    pub fn slack_fallback(&self) -> String {
        clip(&self.fallback, MAX_TEXT)
    }

    /// The reply as plain text, for the terminal (`kushim demo`) and for tests to read: headers
    /// underlined, fields and list lines one per line, buttons in brackets.
    pub fn to_plain_text(&self) -> String {
        plain(&self.plain_blocks())
    }

    fn plain_blocks(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Header(text) => {
                    out.push_str(text);
                    out.push('\n');
                    out.push_str(&"=".repeat(text.chars().count()));
                    out.push('\n');
                }
                Block::Section { text, fields } => {
                    out.push_str(text);
                    out.push('\n');
                    for field in fields {
                        out.push_str("  ");
                        out.push_str(&field.replace('\n', " "));
                        out.push('\n');
                    }
                }
                Block::Context(text) => {
                    out.push_str(text);
                    out.push('\n');
                }
                Block::Divider => out.push_str("---\n"),
                Block::Actions(buttons) => {
                    let labels: Vec<String> =
                        buttons.iter().map(|b| format!("[{}]", b.label)).collect();
                    out.push_str(&labels.join(" "));
                    out.push('\n');
                }
            }
        }
        out
    }
}

fn render_block(block: &Block) -> Value {
    match block {
        Block::Header(text) => json!({
            "type": "header",
            "text": { "type": "plain_text", "text": clip(text, MAX_HEADER) },
        }),
        Block::Section { text, fields } => {
            let mut section = json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": clip(text, MAX_TEXT) },
            });
            if !fields.is_empty() {
                section["fields"] = fields
                    .iter()
                    .take(MAX_FIELDS)
                    .map(|f| json!({ "type": "mrkdwn", "text": clip(f, MAX_FIELD) }))
                    .collect();
            }
            section
        }
        Block::Context(text) => json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": clip(text, MAX_TEXT) }],
        }),
        Block::Divider => json!({ "type": "divider" }),
        Block::Actions(buttons) => json!({
            "type": "actions",
            "elements": buttons.iter().take(MAX_BUTTONS).map(render_button).collect::<Vec<_>>(),
        }),
    }
}

fn render_button(button: &Button) -> Value {
    let mut element = json!({
        "type": "button",
        // Plain text is not mrkdwn: nothing to escape, only the length to keep.
        "text": { "type": "plain_text", "text": clip_plain(&button.label, MAX_BUTTON_LABEL) },
        "action_id": button.action.as_str(),
        "value": button.value,
    });
    match button.style {
        ButtonStyle::Default => {}
        ButtonStyle::Primary => element["style"] = json!("primary"),
        ButtonStyle::Danger => element["style"] = json!("danger"),
    }
    element
}

fn clip_plain(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(max - 1).collect();
    kept.push('…');
    kept
}

/// Escapes the three characters Slack gives meaning to in message text; the mentions written
/// by [`text::mention_user`] (and only those) become Slack's `<@U123>`.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(text::MENTION_OPEN, "<@")
        .replace(text::MENTION_CLOSE, ">")
        .replace(text::LINK_OPEN, "<")
        .replace(text::LINK_CLOSE, ">")
}

/// Mentions as people read them in a terminal: `@U123`.
fn plain(text: &str) -> String {
    let text = text.replace(text::MENTION_OPEN, "@").replace(text::MENTION_CLOSE, "");
    // `<url|label>` reads as `label (url)`.
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(text::LINK_OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + text::LINK_OPEN.len_utf8()..];
        let end = after.find(text::LINK_CLOSE).unwrap_or(after.len());
        let (url, label) = after[..end].split_once('|').unwrap_or((&after[..end], ""));
        out.push_str(&format!("{label} ({url})"));
        rest = after.get(end + text::LINK_CLOSE.len_utf8()..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The length Slack counts after escaping.
fn escaped_len(text: &str) -> usize {
    text.chars().map(escaped_char_len).sum()
}

fn escaped_char_len(c: char) -> usize {
    match c {
        '&' => 5,
        '<' | '>' => 4,
        text::MENTION_OPEN => 2,
        _ => 1,
    }
}

/// Escapes `text` and cuts it to at most `max` characters, ending in `…` when cut. The cut is made
/// on the unescaped text so an entity like `&amp;` is never split.
fn clip(text: &str, max: usize) -> String {
    if escaped_len(text) <= max {
        return escape(text);
    }
    let mut kept = String::new();
    let mut len = 0;
    for c in text.chars() {
        let n = escaped_char_len(c);
        if len + n > max - 1 {
            break;
        }
        kept.push(c);
        len += n;
    }
    kept.push('…');
    escape(&kept)
}

/// Lines packed into as few sections as fit, at most `max_sections`; what does not fit is
/// counted in a closing "…and N more".
fn list(title: Option<String>, lines: &[String], max_sections: usize) -> Vec<Block> {
    // Room kept in the last section for the "…and N more" line.
    const RESERVE: usize = 40;
    let mut sections: Vec<String> = Vec::new();
    let mut current = title.unwrap_or_default();
    for (shown, line) in lines.iter().enumerate() {
        let fits = escaped_len(&current) + 1 + escaped_len(line) <= MAX_TEXT - RESERVE;
        if !fits && !current.is_empty() {
            if sections.len() + 1 == max_sections {
                current.push('\n');
                current.push_str(&text::and_more(lines.len() - shown));
                sections.push(current);
                return section_blocks(sections);
            }
            sections.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        sections.push(current);
    }
    section_blocks(sections)
}

fn section_blocks(texts: Vec<String>) -> Vec<Block> {
    texts.into_iter().map(|text| Block::Section { text, fields: vec![] }).collect()
}

/// `/kushim status`: the score, controls per state, and the top controls needing attention.
pub fn status(view: &StatusView) -> Reply {
    let overall = &view.posture.overall;
    let header = text::status_header(overall.score);
    let mut blocks = vec![
        Block::Header(header.clone()),
        Block::Section {
            text: text::status_summary(overall.controls, view.evaluated_at),
            fields: vec![],
        },
    ];
    if !view.has_collected_evidence {
        blocks.push(Block::Context(text::no_evidence_yet()));
    }
    // Only states some control is in, so the fields stay within Block Kit's ten.
    let fields: Vec<String> = overall
        .states
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(state, count)| text::state_count(*state, *count))
        .collect();
    if !fields.is_empty() {
        blocks.push(Block::Section { text: text::state_counts_title(), fields });
    }
    blocks.push(Block::Divider);
    if view.attention.is_empty() {
        blocks.push(Block::Section { text: text::all_clear(), fields: vec![] });
    } else {
        let mut lines: Vec<String> =
            view.attention.iter().take(ATTENTION_SHOWN).map(text::control_line).collect();
        if view.attention.len() > ATTENTION_SHOWN {
            lines.push(text::and_more(view.attention.len() - ATTENTION_SHOWN));
        }
        blocks.extend(list(Some(text::attention_title()), &lines, 1));
    }
    Reply { fallback: header, blocks }
}

/// `/kushim controls …`: the matching controls, worst first within catalog order, `page` lines
/// from `offset`, with "Show more" when more follow.
pub fn controls_page(
    filter: &ControlsFilter,
    lines: &[ControlLine],
    offset: usize,
    page: usize,
) -> Reply {
    let header = text::controls_header(filter, lines.len());
    let mut blocks = vec![Block::Header(header.clone())];
    if lines.is_empty() {
        blocks.push(Block::Section { text: text::no_controls(filter), fields: vec![] });
        return Reply { fallback: header, blocks };
    }
    let offset = offset.min(lines.len().saturating_sub(1));
    let end = (offset + page).min(lines.len());
    let texts: Vec<String> = lines[offset..end].iter().map(text::control_line).collect();
    blocks.extend(list(None, &texts, MAX_BLOCKS - 3));
    if offset > 0 || end < lines.len() {
        blocks.push(Block::Context(text::page_position(offset + 1, end, lines.len())));
    }
    if end < lines.len() {
        blocks.push(Block::Actions(vec![Button::new(
            Action::ShowMore,
            bot::page_value(filter, end),
        )]));
    }
    Reply { fallback: header, blocks }
}

/// `/kushim control <ID>`: state and reason, facts, checks, failing resources, remediation.
pub fn control(detail: &ControlDetail) -> Reply {
    let header = text::control_header(detail);
    let mut blocks = vec![
        Block::Header(header.clone()),
        Block::Section { text: text::control_state(detail), fields: text::control_fields(detail) },
    ];
    if !detail.checks.is_empty() {
        let lines: Vec<String> = detail.checks.iter().map(text::check_line).collect();
        blocks.extend(list(Some(text::checks_title()), &lines, 1));
    }
    if !detail.problems.is_empty() {
        let mut lines: Vec<String> = detail.problems.iter().map(text::problem_line).collect();
        if detail.problems_not_shown > 0 {
            lines.push(text::and_more(detail.problems_not_shown));
        }
        blocks.extend(list(Some(text::problems_title()), &lines, 1));
    }
    if detail.state != ControlState::Passing && !detail.remediation.is_empty() {
        blocks
            .push(Block::Section { text: text::remediation(&detail.remediation), fields: vec![] });
    }
    blocks.extend(control_buttons(&detail.id, detail.state));
    Reply { fallback: header, blocks }
}

/// Lines packed into at most `max_sections` sections under an optional title, the rest counted
/// in "…and N more" (for messages built outside this module: alerts, digests).
pub fn list_blocks(title: Option<String>, lines: &[String], max_sections: usize) -> Vec<Block> {
    list(title, lines, max_sections)
}

/// What a person can do about a control in this state: everything for a failing one, a
/// re-check for one whose evidence is missing, stale or errored, nothing otherwise.
fn control_buttons(control_id: &str, state: ControlState) -> Option<Block> {
    let buttons = match state {
        ControlState::Failing => vec![
            Button::new(Action::Ticket, control_id).styled(ButtonStyle::Primary),
            Button::new(Action::RequestException, control_id),
            Button::new(Action::Snooze, control_id),
            Button::new(Action::Recheck, control_id),
        ],
        ControlState::Errored | ControlState::Stale | ControlState::NoEvidence => {
            vec![Button::new(Action::Recheck, control_id), Button::new(Action::Snooze, control_id)]
        }
        _ => return None,
    };
    Some(Block::Actions(buttons))
}

/// A control in a few lines with its buttons: what an alert shows, and what a clicked message
/// becomes, with `note` saying who did what.
pub fn control_card(detail: &ControlDetail, note: Option<String>) -> Reply {
    let header = text::control_header(detail);
    let mut blocks = vec![Block::Section {
        text: format!("*{header}*\n{}", text::control_state(detail)),
        fields: vec![],
    }];
    if !detail.problems.is_empty() {
        let mut lines: Vec<String> =
            detail.problems.iter().take(3).map(text::problem_line).collect();
        let hidden = detail.problems.len().saturating_sub(3) + detail.problems_not_shown;
        if hidden > 0 {
            lines.push(text::and_more(hidden));
        }
        blocks.extend(list(None, &lines, 1));
    }
    if let Some(note) = note {
        blocks.push(Block::Context(note));
    }
    blocks.extend(control_buttons(&detail.id, detail.state));
    Reply { fallback: header, blocks }
}

/// `/kushim evidence <ID>`: the collected records the control is judged on and the uploaded
/// documents, with their hashes.
pub fn evidence(detail: &ControlDetail) -> Reply {
    let header = text::evidence_header(detail);
    let mut blocks = vec![Block::Header(header.clone())];
    if detail.evidence.is_empty() && detail.manual_evidence.is_empty() {
        blocks.push(Block::Section { text: text::no_evidence_for(detail), fields: vec![] });
    }
    if !detail.evidence.is_empty() {
        let lines: Vec<String> = detail.evidence.iter().map(text::evidence_line).collect();
        blocks.extend(list(Some(text::automated_evidence_title()), &lines, 10));
    }
    if !detail.manual_evidence.is_empty() {
        let lines: Vec<String> =
            detail.manual_evidence.iter().map(text::manual_evidence_line).collect();
        blocks.extend(list(Some(text::manual_evidence_title()), &lines, 10));
    }
    Reply { fallback: header, blocks }
}

/// The message about a job that gave up: with *Retry* until someone retried it, then the
/// `note` saying who did.
pub fn dead_job(job: &Job, error: &str, note: Option<String>) -> Reply {
    let header = text::dead_job_header(&job.kind);
    let mut blocks = vec![
        Block::Header(header.clone()),
        Block::Section { text: text::dead_job(job.id, job.attempts, error), fields: vec![] },
    ];
    blocks.push(match note {
        Some(note) => Block::Context(note),
        None => Block::Actions(vec![Button::new(Action::RetryJob, job.id.to_string())]),
    });
    Reply { fallback: header, blocks }
}

/// Jobs that gave up shown by `/kushim jobs`; two blocks each, within Slack's 50.
pub const DEAD_JOBS_SHOWN: usize = 10;

/// `/kushim jobs`: the queue per status, then the newest jobs that gave up, each with *Retry*.
pub fn jobs(depth: &[QueueDepth], dead: &[Job], note: Option<String>) -> Reply {
    let count = |status: JobStatus| -> i64 {
        depth.iter().filter(|d| d.status == status).map(|d| d.jobs).sum()
    };
    let header = text::jobs_header();
    let mut blocks = vec![Block::Header(header.clone())];
    if let Some(note) = note {
        blocks.push(Block::Context(note));
    }
    blocks.push(Block::Section {
        text: text::jobs_summary(
            count(JobStatus::Queued),
            count(JobStatus::Running),
            count(JobStatus::Dead),
            count(JobStatus::Done),
        ),
        fields: vec![],
    });
    if dead.is_empty() {
        blocks.push(Block::Section { text: text::no_dead_jobs(), fields: vec![] });
    }
    for job in dead.iter().take(DEAD_JOBS_SHOWN) {
        blocks.push(Block::Section { text: text::dead_job_line(job), fields: vec![] });
        blocks.push(Block::Actions(vec![Button::new(Action::RetryJob, job.id.to_string())]));
    }
    let dead_total = count(JobStatus::Dead);
    if dead_total > DEAD_JOBS_SHOWN as i64 {
        blocks.push(Block::Context(text::and_more(dead_total as usize - DEAD_JOBS_SHOWN)));
    }
    Reply { fallback: header, blocks }
}

/// `/kushim exceptions`: pending requests with Approve / Reject, those ending within a week,
/// then the rest.
pub fn exceptions(exceptions: &[ExceptionRecord], now: DateTime<Utc>) -> Reply {
    let header = text::exceptions_header(exceptions.len());
    let mut blocks = vec![Block::Header(header.clone())];
    if exceptions.is_empty() {
        blocks.push(Block::Section { text: text::no_exceptions(), fields: vec![] });
        return Reply { fallback: header, blocks };
    }
    let pending: Vec<&ExceptionRecord> =
        exceptions.iter().filter(|x| x.decision.is_none()).collect();
    if !pending.is_empty() {
        blocks.push(Block::Section { text: text::pending_title(), fields: vec![] });
        // Two blocks per request; room is kept for the other lists.
        for exception in pending.iter().take(15) {
            blocks.push(Block::Section {
                text: text::exception_line(exception, now),
                fields: vec![],
            });
            blocks.push(decision_buttons(exception.seq));
        }
        if pending.len() > 15 {
            blocks.push(Block::Context(text::and_more(pending.len() - 15)));
        }
    }
    let expiring: Vec<String> = exceptions
        .iter()
        .filter(|x| x.is_active(now) && x.expires_at <= now + TimeDelta::days(7))
        .map(|x| text::exception_line(x, now))
        .collect();
    if !expiring.is_empty() {
        blocks.extend(list(Some(text::expiring_title()), &expiring, 2));
    }
    let decided: Vec<String> = exceptions
        .iter()
        .filter(|x| x.decision.is_some())
        .map(|x| text::exception_line(x, now))
        .collect();
    if !decided.is_empty() {
        blocks.extend(list(None, &decided, 5));
    }
    Reply { fallback: header, blocks }
}

fn decision_buttons(seq: i64) -> Block {
    Block::Actions(vec![
        Button::new(Action::ApproveException, seq.to_string()).styled(ButtonStyle::Primary),
        Button::new(Action::RejectException, seq.to_string()).styled(ButtonStyle::Danger),
    ])
}

/// An exception request as posted for approval; once decided, the buttons give way to who
/// decided.
pub fn exception_request(exception: &ExceptionRecord) -> Reply {
    let header = text::exception_request_header(exception);
    let mut blocks = vec![Block::Section {
        text: format!("*{header}*\n{}", text::exception_request_body(exception)),
        fields: vec![],
    }];
    match exception.decision {
        None => blocks.push(decision_buttons(exception.seq)),
        Some(_) => blocks.push(Block::Context(text::exception_decided(exception))),
    }
    Reply { fallback: header, blocks }
}

/// The exception-request modal (`views.open`). `metadata` comes back on submission.
pub fn exception_form(control_id: &str, metadata: &str, today: NaiveDate) -> Value {
    let plain = |text: String| json!({ "type": "plain_text", "text": text });
    let default_end = today + TimeDelta::days(90);
    json!({
        "type": "modal",
        "callback_id": EXCEPTION_FORM,
        "private_metadata": metadata,
        "title": plain(text::exception_form_title()),
        "submit": plain(text::submit_label()),
        "close": plain(text::cancel_label()),
        "blocks": [
            {
                "type": "section",
                "text": { "type": "mrkdwn", "text": escape(&text::exception_form_intro(control_id)) },
            },
            {
                "type": "input", "block_id": REASON_BLOCK, "label": plain(text::reason_label()),
                "element": {
                    "type": "plain_text_input", "action_id": "value", "multiline": true,
                    "max_length": 2000,
                },
            },
            {
                "type": "input", "block_id": EXPIRY_BLOCK, "label": plain(text::expiry_label()),
                "element": {
                    "type": "datepicker", "action_id": "value",
                    "initial_date": default_end.format("%Y-%m-%d").to_string(),
                },
            },
            {
                "type": "input", "block_id": COMPENSATING_BLOCK, "optional": true,
                "label": plain(text::compensating_label()),
                "element": { "type": "plain_text_input", "action_id": "value", "max_length": 500 },
            },
        ],
    })
}

/// A finished collection, as a follow-up to `/kushim collect`.
pub fn collected(view: &CollectView) -> Reply {
    let header = text::collected_header(view.score);
    let runs: Vec<String> = view
        .runs
        .iter()
        .map(|run| text::run_line(&run.integration, &run.outcome, run.api_calls, &run.detail))
        .collect();
    let mut blocks = vec![Block::Header(header.clone())];
    blocks.extend(list(None, &runs, 2));
    if view.changes.is_empty() {
        blocks.push(Block::Context(text::no_changes()));
    } else {
        let changes: Vec<String> = view
            .changes
            .iter()
            .map(|c| text::change_line(&c.control_id, c.from.as_deref().unwrap_or("new"), &c.to))
            .collect();
        blocks.extend(list(None, &changes, 5));
    }
    Reply { fallback: header, blocks }
}

/// Controls needing attention listed on the App Home, each with its buttons.
pub const HOME_CONTROLS: usize = 10;

/// The App Home tab (`views.publish`): the score, the controls needing attention with their
/// buttons, and exception requests waiting or ending soon with theirs.
pub fn home(
    status: &StatusView,
    exceptions: &[ExceptionRecord],
    now: DateTime<Utc>,
    trend: &str,
    tickets: &std::collections::HashMap<String, String>,
) -> Value {
    let mut blocks = vec![
        Block::Header(text::home_header()),
        Block::Section {
            text: format!(
                "*{}*\n{}\n{}",
                text::status_header(status.posture.overall.score),
                text::home_trend(trend),
                text::status_summary(status.posture.overall.controls, status.evaluated_at)
            ),
            fields: vec![],
        },
        Block::Divider,
    ];
    if status.attention.is_empty() {
        blocks.push(Block::Section { text: text::all_clear(), fields: vec![] });
    } else {
        blocks.push(Block::Section { text: text::attention_title(), fields: vec![] });
    }
    for line in status.attention.iter().take(HOME_CONTROLS) {
        let mut text = text::control_line(line);
        if let Some(key) = tickets.get(&line.id) {
            text.push_str(&text::home_ticket(key));
        }
        blocks.push(Block::Section { text, fields: vec![] });
        blocks.extend(control_buttons(&line.id, line.state));
    }
    if status.attention.len() > HOME_CONTROLS {
        blocks.push(Block::Context(text::and_more(status.attention.len() - HOME_CONTROLS)));
    }
    let soon = now + TimeDelta::days(7);
    let waiting: Vec<&ExceptionRecord> = exceptions
        .iter()
        .filter(|x| x.decision.is_none() || (x.is_active(now) && x.expires_at <= soon))
        .take(5)
        .collect();
    if !waiting.is_empty() {
        blocks.push(Block::Divider);
        for exception in waiting {
            blocks.push(Block::Section {
                text: text::exception_line(exception, now),
                fields: vec![],
            });
            if exception.decision.is_none() {
                blocks.push(decision_buttons(exception.seq));
            }
        }
    }
    blocks.push(Block::Context(text::home_hint()));
    let reply = Reply { fallback: text::home_header(), blocks };
    json!({ "type": "home", "blocks": reply.slack_blocks() })
}

#[cfg(test)]
mod tests;
