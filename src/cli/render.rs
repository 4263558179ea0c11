//! The CLI's human output: aligned tables, with colour only on a terminal (and never when
//! `NO_COLOR` is set). Every function returns the text, so tests read exactly what people see.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::NOTHING};

use crate::views::{CollectView, ControlDetail, ControlLine, StatusView};
use crate::{
    checks::{Finding, Outcome},
    controls::{CheckStatus, ControlState},
    integrations::collect::Diagnosis,
    store::VerifyReport,
};

/// Whether to colour output.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    pub colour: bool,
}

impl Painter {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    pub fn for_stdout() -> Self {
        use std::io::IsTerminal;
        Painter {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, text: &str, style: Style) -> String {
        if self.colour { format!("{style}{text}{style:#}") } else { text.to_owned() }
    }

    fn bold(&self, text: &str) -> String {
        self.paint(text, Style::new().bold())
    }

    fn table(&self) -> Table {
        let mut table = Table::new();
        // Cells carry their own ANSI styling (comfy-table's `custom_styling` measures widths
        // without it), so one painter colours tables and prose alike.
        table.load_preset(NOTHING).set_content_arrangement(ContentArrangement::Disabled);
        table
    }

    fn state(&self, state: ControlState) -> String {
        self.paint(state.as_str(), state_style(state))
    }

    fn state_cell(&self, state: ControlState) -> Cell {
        Cell::new(self.state(state))
    }
}

/// Keeps a table cell to one readable line.
fn clip(text: &str, max: usize) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.chars().count() <= max {
        first_line.to_owned()
    } else {
        let kept: String = first_line.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

fn trim_table(table: &Table) -> String {
    table.to_string().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

pub fn status(view: &StatusView, painter: Painter) -> String {
    let mut out = String::new();
    let overall = &view.posture.overall;
    let _ = writeln!(
        out,
        "{} {} / 100 across {} controls (evaluated {})",
        painter.bold("SOC 2 posture:"),
        painter.bold(&format!("{:.1}", overall.score)),
        overall.controls,
        view.evaluated_at.format("%Y-%m-%d %H:%M UTC")
    );
    if !view.has_collected_evidence {
        let _ = writeln!(
            out,
            "No evidence has been collected yet, so automated controls show no_evidence and manual \
             controls manual_due.\nUpload documents with `kushim evidence add <CONTROL> --file F --note \"…\"`."
        );
    }

    out.push('\n');
    let mut states = painter.table();
    states.set_header(vec!["STATE", "CONTROLS"]);
    for (state, count) in &overall.states {
        states.add_row(vec![
            painter.state_cell(*state),
            Cell::new(count).set_alignment(CellAlignment::Right),
        ]);
    }
    out.push_str(&trim_table(&states));
    out.push_str("\n\n");

    let mut categories = painter.table();
    categories.set_header(vec![
        "CATEGORY",
        "SCORE",
        "CONTROLS",
        "PASSING",
        "FAILING",
        "NEEDS EVIDENCE",
    ]);
    for category in &view.posture.categories {
        let tally = &category.tally;
        let count = |states: &[ControlState]| {
            states.iter().map(|s| tally.states.get(s).copied().unwrap_or(0)).sum::<usize>()
        };
        categories.add_row(vec![
            Cell::new(category.category.as_str()),
            Cell::new(format!("{:.1}", tally.score)).set_alignment(CellAlignment::Right),
            Cell::new(tally.controls).set_alignment(CellAlignment::Right),
            Cell::new(count(&[ControlState::Passing, ControlState::ManualOk]))
                .set_alignment(CellAlignment::Right),
            Cell::new(count(&[ControlState::Failing, ControlState::Errored]))
                .set_alignment(CellAlignment::Right),
            Cell::new(count(&[
                ControlState::NoEvidence,
                ControlState::Stale,
                ControlState::ManualDue,
            ]))
            .set_alignment(CellAlignment::Right),
        ]);
    }
    out.push_str(&trim_table(&categories));
    out.push('\n');

    if !view.attention.is_empty() {
        const SHOWN: usize = 10;
        let _ = writeln!(
            out,
            "\n{}",
            painter.bold(&format!("Needs attention ({}):", view.attention.len()))
        );
        out.push_str(&control_table(view.attention.iter().take(SHOWN), painter));
        out.push('\n');
        if view.attention.len() > SHOWN {
            let _ = writeln!(
                out,
                "… and {} more: `kushim controls` lists every control, `kushim control <ID>` explains one.",
                view.attention.len() - SHOWN
            );
        }
    }
    out
}

fn control_table<'a>(lines: impl Iterator<Item = &'a ControlLine>, painter: Painter) -> String {
    let mut table = painter.table();
    table.set_header(vec!["ID", "STATE", "SEVERITY", "KIND", "CRITERIA", "TITLE"]);
    for line in lines {
        table.add_row(vec![
            Cell::new(&line.id),
            painter.state_cell(line.state),
            Cell::new(line.severity.as_str()),
            Cell::new(line.kind.as_str()),
            Cell::new(clip(&line.criteria.join(","), 24)),
            Cell::new(clip(&line.title, 60)),
        ]);
    }
    trim_table(&table)
}

pub fn controls(lines: &[ControlLine], painter: Painter) -> String {
    if lines.is_empty() {
        return "No controls match.\n".into();
    }
    format!("{}\n{} controls\n", control_table(lines.iter(), painter), lines.len())
}

/// `SEC-1 (In Progress), assigned to Dana, due 2026-12-02 — https://…/browse/SEC-1`.
pub fn ticket_line(ticket: &crate::views::TicketLine) -> String {
    if ticket.pending {
        return "being created in Jira".into();
    }
    let mut line = format!("{} ({})", ticket.key, ticket.status);
    match &ticket.assignee {
        Some(who) => line.push_str(&format!(", assigned to {who}")),
        None => line.push_str(", unassigned"),
    }
    if let Some(due) = ticket.due_date {
        line.push_str(&format!(", due {due}"));
    }
    if ticket.flagged {
        line.push_str(", CLOSED IN JIRA WHILE THE CONTROL STILL FAILS");
    }
    if let Some(url) = &ticket.url {
        line.push_str(&format!(" — {url}"));
    }
    line
}

/// What `kushim ticket <ID>` did.
pub fn ticket_outcome(outcome: &crate::remediation::TicketOutcome) -> String {
    use crate::remediation::TicketOutcome;
    match outcome {
        TicketOutcome::Created(t) => format!(
            "Opened {} for {} in Jira: {}\nDue {}. Kushim comments when the failing resources change and closes it when the control passes.\n",
            t.key,
            t.control_id,
            t.url,
            t.due_date.map_or("-".into(), |d| d.to_string())
        ),
        TicketOutcome::AlreadyExists(t) => format!(
            "{} already has {} ({}{}): {}\n",
            t.control_id,
            t.key,
            t.status,
            if t.flagged { ", closed in Jira while the control still fails" } else { "" },
            t.url
        ),
        TicketOutcome::BeingCreated { control_id } => format!(
            "A ticket for {control_id} is being created by another request; run this again in a minute to see it.\n"
        ),
    }
}

pub fn control(detail: &ControlDetail, painter: Painter) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", painter.bold(&detail.id), painter.bold(&detail.title));
    let _ = writeln!(out, "State:     {} — {}", painter.state(detail.state), detail.reason);
    let _ = writeln!(
        out,
        "Kind:      {}   Severity: {}   Owner: {}",
        detail.kind.as_str(),
        detail.severity,
        detail.owner
    );
    if let Some(freshness) = &detail.freshness {
        let _ = writeln!(out, "Freshness: automated evidence older than {freshness} is stale");
    }
    if let Some(ticket) = &detail.ticket {
        let _ = writeln!(out, "Ticket:    {}", ticket_line(ticket));
    }
    let _ = writeln!(out, "\n{}", detail.description);

    let _ = writeln!(out, "\n{}", painter.bold("Trust Services Criteria"));
    for criterion in &detail.criteria {
        let _ = writeln!(out, "  {:<6} {}", criterion.id, criterion.title);
    }

    if !detail.checks.is_empty() {
        let _ = writeln!(out, "\n{}", painter.bold("Checks"));
        let mut table = painter.table();
        table.set_header(vec!["CHECK", "STATUS", "PASS", "FAIL", "ERROR", "N/A", "OBSERVED"]);
        for check in &detail.checks {
            let right = |n: usize| Cell::new(n).set_alignment(CellAlignment::Right);
            table.add_row(vec![
                Cell::new(&check.check_id),
                Cell::new(check_status(check.status)),
                right(check.passed),
                right(check.failed),
                right(check.errored),
                right(check.not_applicable),
                Cell::new(
                    check
                        .observed_at
                        .map_or("never".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                ),
            ]);
        }
        out.push_str(&indent(&trim_table(&table)));
        out.push('\n');
    }

    if !detail.problems.is_empty() {
        let _ = writeln!(out, "\n{}", painter.bold("Failing resources"));
        for finding in &detail.problems {
            let marker = if finding.outcome == Outcome::Error { "error" } else { "fail " };
            let _ = writeln!(
                out,
                "  {marker} {}  {} — {}",
                finding.check_id, finding.resource, finding.reason
            );
        }
        if detail.problems_not_shown > 0 {
            let _ = writeln!(
                out,
                "  … and {} more (`--json` lists the first {} too)",
                detail.problems_not_shown,
                detail.problems.len()
            );
        }
    }

    if let Some(expected) = &detail.evidence_expected {
        let _ = writeln!(out, "\n{}", painter.bold("Manual evidence"));
        let every = detail.evidence_every.as_deref().unwrap_or("?");
        let _ = writeln!(out, "  Expected every {every}: {expected}");
        if detail.manual_evidence.is_empty() {
            let _ = writeln!(
                out,
                "  None uploaded yet: kushim evidence add {} --file <FILE> --note \"…\"",
                detail.id
            );
        }
        for m in &detail.manual_evidence {
            let _ = writeln!(
                out,
                "  {}  {} ({} bytes) by {}, due {}  sha256:{}",
                m.submitted_at.format("%Y-%m-%d"),
                m.file_name,
                m.size_bytes,
                m.submitted_by,
                m.due_at.format("%Y-%m-%d"),
                m.content_sha256
            );
            if !m.note.is_empty() {
                let _ = writeln!(out, "      {}", m.note);
            }
        }
    }

    if !detail.evidence.is_empty() {
        let _ = writeln!(out, "\n{}", painter.bold("Collected evidence (ledger)"));
        for e in &detail.evidence {
            let _ = writeln!(
                out,
                "  #{} {} {} observed {}  sha256:{}",
                e.seq,
                e.source,
                e.kind,
                e.observed_at.format("%Y-%m-%d %H:%M"),
                e.payload_sha256
            );
        }
    }

    if !detail.exceptions.is_empty() {
        let _ = writeln!(out, "\n{}", painter.bold("Exceptions"));
        for x in &detail.exceptions {
            let decision = x.decision.map_or("requested", |d| d.as_str());
            let _ = writeln!(
                out,
                "  #{} {decision}, expires {}: {} (requested by {})",
                x.seq,
                x.expires_at.format("%Y-%m-%d"),
                x.reason,
                x.requested_by
            );
        }
    }

    if !detail.history.is_empty() {
        let _ = writeln!(out, "\n{}", painter.bold("History"));
        for t in &detail.history {
            let _ = writeln!(
                out,
                "  {}  {} → {}  {}",
                t.at.format("%Y-%m-%d %H:%M"),
                t.from.as_deref().unwrap_or("(new)"),
                t.to,
                clip(&t.reason, 100)
            );
        }
    }

    let _ = writeln!(out, "\n{}", painter.bold("Remediation"));
    out.push_str(&indent(&detail.remediation));
    out.push('\n');
    out
}

pub fn findings(findings: &[Finding], painter: Painter) -> String {
    if findings.is_empty() {
        return "No findings match. Automated checks report findings once a collection has run \
                (`kushim collect`, or try `kushim demo`).\n"
            .into();
    }
    let mut table = painter.table();
    table.set_header(vec!["CHECK", "OUTCOME", "RESOURCE", "REASON", "OBSERVED"]);
    for finding in findings {
        let style = match finding.outcome {
            Outcome::Fail => Style::new().fg_color(Some(AnsiColor::Red.into())),
            Outcome::Error => Style::new().fg_color(Some(AnsiColor::Magenta.into())),
            Outcome::Pass => Style::new().fg_color(Some(AnsiColor::Green.into())),
            Outcome::NotApplicable => Style::new().fg_color(Some(AnsiColor::BrightBlack.into())),
        };
        table.add_row(vec![
            Cell::new(&finding.check_id),
            Cell::new(painter.paint(finding.outcome.as_str(), style)),
            Cell::new(clip(&finding.resource, 48)),
            Cell::new(clip(&finding.reason, 90)),
            Cell::new(finding.observed_at.format("%Y-%m-%d %H:%M").to_string()),
        ]);
    }
    format!("{}\n{} findings\n", trim_table(&table), findings.len())
}

/// The Jira ticket events of a collection, one line each.
fn ticket_events(events: &[crate::remediation::TicketEvent], painter: Painter) -> String {
    let mut out = String::new();
    if events.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n{}", painter.bold("Jira tickets:"));
    for event in events {
        let _ = writeln!(
            out,
            "  {:<20} {:<8} {:<8} {}",
            event.kind.as_str(),
            event.control_id,
            event.key,
            event.detail
        );
    }
    out
}

pub fn collect(view: &CollectView, painter: Painter) -> String {
    let mut table = painter.table();
    table.set_header(vec!["INTEGRATION", "OUTCOME", "API CALLS", "FINDINGS", "SECONDS"]);
    for run in &view.runs {
        let outcome = if run.outcome == "collected" {
            painter.paint(&run.outcome, Style::new().fg_color(Some(AnsiColor::Green.into())))
        } else {
            painter.paint(&run.outcome, Style::new().bold().fg_color(Some(AnsiColor::Red.into())))
        };
        table.add_row(vec![
            Cell::new(&run.integration),
            Cell::new(outcome),
            Cell::new(run.api_calls).set_alignment(CellAlignment::Right),
            Cell::new(run.findings).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.1}", run.seconds)).set_alignment(CellAlignment::Right),
        ]);
    }
    let mut out = format!("{}\n", trim_table(&table));
    for run in view.runs.iter().filter(|run| !run.detail.is_empty()) {
        let _ =
            writeln!(out, "\n{} {}: {}", painter.bold(&run.integration), run.outcome, run.detail);
    }
    if view.first_assessed > 0 {
        let _ = writeln!(out, "\nFirst assessment of {} controls.", view.first_assessed);
    } else if view.changes.is_empty() {
        out.push_str("\nNo control changed state.\n");
    } else {
        let _ = writeln!(
            out,
            "\n{}",
            painter.bold(&format!("{} controls changed state:", view.changes.len()))
        );
        for change in &view.changes {
            let to = ControlState::parse(&change.to)
                .map_or_else(|| change.to.clone(), |s| painter.state(s));
            let _ = writeln!(
                out,
                "  {:<7} {} → {}  {}",
                change.control_id,
                change.from.as_deref().unwrap_or("(new)"),
                to,
                clip(&change.reason, 90)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nPosture score: {:.1} / 100. `kushim status` for the whole picture.",
        view.score
    );
    out.push_str(&ticket_events(&view.ticket_events, painter));
    out
}

pub fn doctor(diagnoses: &[Diagnosis], painter: Painter) -> String {
    let mut out = String::new();
    for d in diagnoses {
        let mark = if d.ok {
            painter.paint("ok  ", Style::new().fg_color(Some(AnsiColor::Green.into())))
        } else {
            painter.paint("FAIL", Style::new().bold().fg_color(Some(AnsiColor::Red.into())))
        };
        let _ = writeln!(out, "{mark} {:<7} {} — {}", d.integration.as_str(), d.check, d.detail);
    }
    let failed = diagnoses.iter().filter(|d| !d.ok).count();
    let _ = writeln!(
        out,
        "\n{}",
        if failed == 0 {
            "Every credential and permission Kushim needs is in place.".to_owned()
        } else {
            format!("{failed} problem(s) to fix before collecting.")
        }
    );
    out
}

pub fn verify(report: &VerifyReport, painter: Painter) -> String {
    let mut out = String::new();
    let mut table = painter.table();
    table.set_header(vec!["CHAIN", "RECORDS", "RESULT"]);
    for chain in &report.chains {
        let result = match &chain.broken {
            None => Cell::new("intact"),
            Some(broken) => {
                let text = format!("BROKEN at record {}: {}", broken.seq, broken.problem);
                Cell::new(painter.paint(&text, Style::new().fg_color(Some(AnsiColor::Red.into()))))
            }
        };
        table.add_row(vec![
            Cell::new(&chain.chain),
            Cell::new(chain.records).set_alignment(CellAlignment::Right),
            result,
        ]);
    }
    out.push_str(&trim_table(&table));
    out.push('\n');
    for control in &report.state_mismatches {
        let _ = writeln!(out, "control_states: {control} does not match its newest transition");
    }
    let verdict = if report.intact() {
        painter.paint(
            "The evidence store is intact.",
            Style::new().fg_color(Some(AnsiColor::Green.into())),
        )
    } else {
        let first = report
            .chains
            .iter()
            .find_map(|c| c.broken.as_ref().map(|b| format!("{} record {}", c.chain, b.seq)))
            .unwrap_or_else(|| "control_states".into());
        painter.paint(
            &format!("TAMPERING DETECTED: the first broken record is {first}."),
            Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        )
    };
    let _ = writeln!(out, "{verdict}");
    out
}

fn state_style(state: ControlState) -> Style {
    let colour = match state {
        ControlState::Failing => AnsiColor::Red,
        ControlState::Errored => AnsiColor::Magenta,
        ControlState::Stale | ControlState::ManualDue => AnsiColor::Yellow,
        ControlState::NoEvidence | ControlState::NotApplicable => AnsiColor::BrightBlack,
        ControlState::Excepted => AnsiColor::Cyan,
        ControlState::Passing | ControlState::ManualOk => AnsiColor::Green,
    };
    Style::new().bold().fg_color(Some(colour.into()))
}

fn check_status(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Failing => "failing",
        CheckStatus::Errored => "errored",
        CheckStatus::Stale => "stale",
        CheckStatus::Missing => "no evidence",
        CheckStatus::NotApplicable => "n/a",
        CheckStatus::Passing => "passing",
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| if line.is_empty() { String::new() } else { format!("  {line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `kushim jobs`: queue depth per kind, then the jobs, dead ones with their error.
pub fn jobs(
    depth: &[crate::store::QueueDepth],
    jobs: &[crate::store::Job],
    painter: Painter,
) -> String {
    use crate::store::JobStatus;
    if jobs.is_empty() && depth.is_empty() {
        return "No jobs yet. `kushim serve` runs the schedules (see [schedules] in `kushim init`).\n"
            .into();
    }
    let mut queues = painter.table();
    queues.set_header(vec!["KIND", "QUEUED", "RUNNING", "DONE", "DEAD"]);
    let mut kinds: Vec<&str> = depth.iter().map(|d| d.kind.as_str()).collect();
    kinds.dedup();
    for kind in kinds {
        let count = |status: JobStatus| {
            depth
                .iter()
                .find(|d| d.kind == kind && d.status == status)
                .map_or(0, |d| d.jobs)
                .to_string()
        };
        queues.add_row(vec![
            Cell::new(kind),
            Cell::new(count(JobStatus::Queued)),
            Cell::new(count(JobStatus::Running)),
            Cell::new(count(JobStatus::Done)),
            Cell::new(painter.paint(
                &count(JobStatus::Dead),
                Style::new().fg_color(Some(AnsiColor::Red.into())),
            )),
        ]);
    }
    let mut table = painter.table();
    table.set_header(vec!["ID", "KIND", "STATUS", "ATTEMPTS", "RUN AT", "KEY", "LAST ERROR"]);
    for job in jobs {
        let style = match job.status {
            JobStatus::Dead => Style::new().fg_color(Some(AnsiColor::Red.into())),
            JobStatus::Running => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            JobStatus::Queued => Style::new(),
            JobStatus::Done => Style::new().fg_color(Some(AnsiColor::Green.into())),
        };
        table.add_row(vec![
            Cell::new(job.id),
            Cell::new(&job.kind),
            Cell::new(painter.paint(job.status.as_str(), style)),
            Cell::new(format!("{}/{}", job.attempts, job.max_attempts)),
            Cell::new(job.run_at.format("%Y-%m-%d %H:%M:%S").to_string()),
            Cell::new(clip(&job.idempotency_key, 40)),
            Cell::new(clip(job.last_error.as_deref().unwrap_or(""), 90)),
        ]);
    }
    format!("{}\n\n{}\n{} jobs shown\n", trim_table(&queues), trim_table(&table), jobs.len())
}
