//! Replies as data, rendered to Slack's Block Kit. The sentences come from [`crate::chat::text`];
//! this module only arranges them into blocks, keeps within Block Kit's limits, and escapes text
//! for Slack.
//!
//! Escaping happens here, once, on every text: Slack reads `<…>` as a mention or link and `&` as
//! the start of an entity, so a typed `<!channel>` would otherwise ping a whole channel.

use serde_json::{Value, json};

use crate::{
    chat::{actions::Action, commands::ControlsFilter, text},
    controls::ControlState,
    views::{ControlDetail, ControlLine, StatusView},
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

/// Escapes the three characters Slack gives meaning to in message text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The length Slack counts after escaping.
fn escaped_len(text: &str) -> usize {
    text.chars().map(escaped_char_len).sum()
}

fn escaped_char_len(c: char) -> usize {
    match c {
        '&' => 5,
        '<' | '>' => 4,
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

/// `/kushim controls …`: the matching controls, worst first within catalog order.
pub fn controls(filter: &ControlsFilter, lines: &[ControlLine]) -> Reply {
    let header = text::controls_header(filter, lines.len());
    let mut blocks = vec![Block::Header(header.clone())];
    if lines.is_empty() {
        blocks.push(Block::Section { text: text::no_controls(filter), fields: vec![] });
    } else {
        let texts: Vec<String> = lines.iter().map(text::control_line).collect();
        blocks.extend(list(None, &texts, MAX_BLOCKS - 1));
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
    Reply { fallback: header, blocks }
}

/// Lines packed into at most `max_sections` sections under an optional title, the rest counted
/// in "…and N more" (for messages built outside this module: alerts, digests).
pub fn list_blocks(title: Option<String>, lines: &[String], max_sections: usize) -> Vec<Block> {
    list(title, lines, max_sections)
}

#[cfg(test)]
mod tests;
