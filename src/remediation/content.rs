//! What a ticket says, in Atlassian Document Format: the control and its criteria, the failing
//! resources (capped, the rest counted), the catalog's remediation guidance, the evidence hashes
//! and the way back to Kushim. Comments on change, close and reopen are built here too, so all
//! ticket wording lives in one place.

use serde_json::{Value, json};

use crate::catalog::{Catalog, Control};
use crate::checks::Finding;
use crate::store::EvidenceRecord;

/// Failing resources listed in a ticket or comment before the rest are only counted.
pub const RESOURCES_LISTED: usize = 20;

/// Jira's limit on a summary.
const SUMMARY_MAX: usize = 255;

fn text(content: &str) -> Value {
    json!({"type": "text", "text": content})
}

fn code(content: &str) -> Value {
    json!({"type": "text", "text": content, "marks": [{"type": "code"}]})
}

fn paragraph(parts: Vec<Value>) -> Value {
    json!({"type": "paragraph", "content": parts})
}

fn heading(content: &str) -> Value {
    json!({"type": "heading", "attrs": {"level": 3}, "content": [text(content)]})
}

fn bullets(items: Vec<Vec<Value>>) -> Value {
    let items: Vec<Value> = items
        .into_iter()
        .map(|parts| json!({"type": "listItem", "content": [paragraph(parts)]}))
        .collect();
    json!({"type": "bulletList", "content": items})
}

fn doc(content: Vec<Value>) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

/// `[Kushim] CC-01: Title`, within Jira's 255 characters.
pub fn summary(control: &Control) -> String {
    let full = format!("[Kushim] {}: {}", control.id, control.title);
    match full.char_indices().nth(SUMMARY_MAX - 1) {
        Some((cut, _)) => format!("{}…", &full[..cut]),
        None => full,
    }
}

/// The failing resources as list items, capped with "and N more".
fn resource_items(failing: &[Finding]) -> Vec<Vec<Value>> {
    let mut items: Vec<Vec<Value>> = failing
        .iter()
        .take(RESOURCES_LISTED)
        .map(|f| vec![code(&f.resource), text(&format!(" ({}): {}", f.check_id, f.reason))])
        .collect();
    if failing.len() > RESOURCES_LISTED {
        items.push(vec![text(&format!("and {} more", failing.len() - RESOURCES_LISTED))]);
    }
    items
}

/// The ticket's description.
pub fn description(
    catalog: &Catalog,
    control: &Control,
    reason: &str,
    failing: &[Finding],
    evidence: &[EvidenceRecord],
) -> Value {
    let mut content = vec![
        paragraph(vec![
            text("Kushim found that control "),
            code(&control.id),
            text(&format!(
                " ({}, severity {}) is not met: {reason}",
                control.title, control.severity
            )),
        ]),
        heading("SOC 2 criteria"),
        bullets(
            control
                .criteria
                .iter()
                .map(|id| {
                    let title = catalog.criterion(id).map(|c| c.title.clone()).unwrap_or_default();
                    vec![code(id), text(&format!(" {title}"))]
                })
                .collect(),
        ),
        heading(&format!("Failing resources ({})", failing.len())),
    ];
    if failing.is_empty() {
        content.push(paragraph(vec![text("None listed: see the control's checks in Kushim.")]));
    } else {
        content.push(bullets(resource_items(failing)));
    }
    content.push(heading("How to fix"));
    content.push(paragraph(vec![text(control.remediation.trim())]));
    content.push(heading("Evidence"));
    if evidence.is_empty() {
        content.push(paragraph(vec![text("No collected evidence yet.")]));
    } else {
        content.push(bullets(
            evidence
                .iter()
                .map(|e| {
                    vec![
                        text(&format!(
                            "{} #{} collected {}: payload sha256 ",
                            e.source,
                            e.seq,
                            e.collected_at.format("%Y-%m-%d %H:%M UTC")
                        )),
                        code(&e.payload_sha256),
                        text(", record "),
                        code(&e.record_hash),
                    ]
                })
                .collect(),
        ));
    }
    content.push(paragraph(vec![
        text("Details and history: "),
        code(&format!("/kushim control {}", control.id)),
        text(
            ". Kushim comments here when the failing resources change, moves this ticket to done \
             when the control passes and reopens it if it fails again.",
        ),
    ]));
    doc(content)
}

/// The comment when the failing resources change.
pub fn changed_comment(failing: &[Finding]) -> Value {
    doc(vec![
        paragraph(vec![text(&format!(
            "The failing resources changed; {} now fail:",
            failing.len()
        ))]),
        bullets(resource_items(failing)),
    ])
}

/// The comment before Kushim moves the ticket to done.
pub fn passing_comment(control: &Control) -> Value {
    doc(vec![paragraph(vec![
        text("Control "),
        code(&control.id),
        text(" passes on fresh evidence; Kushim is closing this ticket."),
    ])])
}

/// The comment when a closed ticket is reopened.
pub fn regression_comment(control: &Control, failing: &[Finding]) -> Value {
    doc(vec![
        paragraph(vec![
            text("Control "),
            code(&control.id),
            text(" fails again; Kushim reopened this ticket."),
        ]),
        bullets(resource_items(failing)),
    ])
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::checks::Outcome;

    fn finding(i: usize) -> Finding {
        Finding {
            check_id: "gh.branch_protection".into(),
            outcome: Outcome::Fail,
            resource: format!("repo:acme/r{i}"),
            reason: "unprotected".into(),
            observed_at: Utc::now(),
        }
    }

    #[test]
    fn long_resource_lists_are_capped_and_the_rest_counted() {
        let failing: Vec<Finding> = (0..25).map(finding).collect();
        let comment = changed_comment(&failing);
        let items = comment.pointer("/content/1/content").and_then(Value::as_array).unwrap();
        assert_eq!(items.len(), RESOURCES_LISTED + 1);
        assert_eq!(
            items[RESOURCES_LISTED].pointer("/content/0/content/0/text").unwrap(),
            "and 5 more"
        );
    }

    #[test]
    fn every_ticket_body_is_an_adf_document() {
        let catalog = Catalog::builtin().unwrap();
        let control = &catalog.controls()[0];
        let body = description(&catalog, control, "1 failing", &[finding(1)], &[]);
        assert_eq!((body["type"].as_str(), body["version"].as_u64()), (Some("doc"), Some(1)));
        assert!(body.to_string().contains(&format!("/kushim control {}", control.id)));
        assert!(summary(control).starts_with(&format!("[Kushim] {}: ", control.id)));
    }
}
