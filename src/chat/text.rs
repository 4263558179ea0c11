//! Every sentence a person reads in chat, in one place, so wording is reviewed together and each
//! change shows up as a diff in the tests below.
//!
//! Text is written in the markup Slack and Discord share (`code` in backticks, `*bold*`), and
//! reads fine as plain text in the terminal. Escaping for a platform (Slack's `&`, `<`, `>`) is
//! the renderer's job, not this module's.

use chrono::{DateTime, Utc};

use crate::{
    chat::{
        actions::Action,
        commands::{
            ArgumentKind, ArgumentSpec, CommandName, CommandSet, ControlsFilter, Group, ParseError,
            Role,
        },
    },
    checks::Finding,
    controls::{CheckSummary, ControlState},
    integrations::Integration,
    store::{ExceptionDecision, ExceptionRecord, ManualEvidenceRecord},
    views::{ControlDetail, ControlLine, EvidenceLine},
};

/// The app's name in Slack and Discord.
pub(crate) const APP_NAME: &str = "Kushim";

/// Slack's short app description (at most 140 characters).
pub(crate) const APP_DESCRIPTION: &str =
    "SOC 2 compliance that watches your real systems and answers in chat";

/// Slack's long app description (175 to 4,000 characters).
pub(crate) const APP_LONG_DESCRIPTION: &str = "Kushim keeps your SOC 2 controls honest. It \
    collects evidence from GitHub, AWS and Okta, judges each control, and keeps a tamper-evident \
    ledger of what it saw. In Slack it tells you where you stand (`/kushim status`), explains a \
    failing control, opens the Jira ticket, and takes exception requests to your approvers.";

/// The `/kushim` command's description in Slack and Discord (Discord allows 100 characters).
pub(crate) const COMMAND_DESCRIPTION: &str =
    "Ask Kushim about your SOC 2 posture, controls and evidence";

/// The reply to `/kushim help`: the listing, or one command explained.
pub fn help(command: Option<CommandName>) -> String {
    match command {
        None => listing(),
        Some(name) => command_help(name),
    }
}

/// Every command, by group, with its usage and summary.
fn listing() -> String {
    let mut out = String::from(
        "Here is what I can do. `/kushim help <command>` explains one; you can also mention me, \
         like `@Kushim status`.\n",
    );
    let mut group = None;
    for spec in CommandSet::builtin().all() {
        if group != Some(spec.group) {
            group = Some(spec.group);
            out.push_str(&format!("\n*{}*\n", group_title(spec.group)));
        }
        out.push_str(&format!("• `{}` — {}\n", spec.usage, spec.summary));
    }
    out
}

fn group_title(group: Group) -> &'static str {
    match group {
        Group::Posture => "Posture",
        Group::Remediation => "Remediation",
        Group::Channels => "Channels",
        Group::Operations => "Operations",
        Group::Help => "Help",
    }
}

/// One command: usage, summary, arguments, who may run it, examples.
fn command_help(name: CommandName) -> String {
    let spec = name.spec();
    let mut out = format!("`{}`\n{}\n", spec.usage, spec.summary);
    if !spec.arguments.is_empty() {
        out.push('\n');
        for argument in &spec.arguments {
            let required = if argument.required { "required" } else { "optional" };
            out.push_str(&format!("• `{}` ({required}): {}\n", argument.name, argument.help));
        }
    }
    out.push_str(&format!("\n{}\n", who_may_run(spec.role)));
    let examples: Vec<String> = spec.examples.iter().map(|e| format!("`{e}`")).collect();
    let label = if examples.len() == 1 { "Example" } else { "Examples" };
    out.push_str(&format!("{label}: {}\n", examples.join(", ")));
    out
}

fn who_may_run(role: Role) -> &'static str {
    match role {
        Role::Viewer => "Anyone with a Kushim role can run it.",
        Role::Responder => "Responders, approvers and admins can run it.",
        Role::Approver => "Approvers and admins can run it.",
        Role::Admin => "Only admins can run it.",
    }
}

/// The answer to a command that did not parse: what was wrong, and where to look next.
pub fn parse_error(error: &ParseError) -> String {
    match error {
        ParseError::UnknownCommand { typed, did_you_mean } => match did_you_mean.as_slice() {
            [] => format!("I don't know {}. Try `/kushim help` to see what I can do.", code(typed)),
            names => format!(
                "I don't know {}. Did you mean {}? Try `/kushim help`.",
                code(typed),
                or_list(names.iter().map(|n| code(n)))
            ),
        },
        ParseError::MissingArgument { command, argument, usage } => format!(
            "`/kushim {}` needs {}. Usage: `{usage}`. {}",
            command.as_str(),
            describe(*command, argument),
            help_pointer(*command)
        ),
        ParseError::UnknownControl { typed, suggestions } => match suggestions.as_slice() {
            [] => format!(
                "I don't know the control {}. Try `/kushim controls` to see them all.",
                code(typed)
            ),
            ids => format!(
                "I don't know the control {}. Did you mean {}? Try `/kushim controls` to see \
                 them all.",
                code(typed),
                or_list(ids.iter().map(|id| code(id)))
            ),
        },
        ParseError::UnknownCriterion { typed } => format!(
            "I don't know the criterion {}. Criteria look like `CC6.1`, `A1.2`, `C1.1`, `PI1.3` \
             or `P4.2`. {}",
            code(typed),
            help_pointer(CommandName::Controls)
        ),
        ParseError::InvalidChoice { command, argument, typed, allowed } => format!(
            "`/kushim {}` doesn't take {}: use {}. {}",
            command.as_str(),
            code(typed),
            choices(allowed, argument_spec(*command, argument).and_then(|a| a.also)),
            help_pointer(*command)
        ),
        ParseError::UnexpectedArgument { command, extra, usage } => format!(
            "I didn't expect {} there. Usage: `{usage}`. {}",
            code(extra),
            help_pointer(*command)
        ),
        ParseError::InvalidChannel { command, typed } => format!(
            "I can't tell which channel {} is: type `#` and pick it from the list, like \
             `#security`. {}",
            code(typed),
            help_pointer(*command)
        ),
    }
}

fn help_pointer(command: CommandName) -> String {
    format!("Try `/kushim help {}`.", command.as_str())
}

fn argument_spec(command: CommandName, argument: &str) -> Option<&'static ArgumentSpec> {
    command.spec().arguments.iter().find(|a| a.name == argument)
}

/// What an argument wants, as a phrase: "a control id, such as `AC-01`", "`alerts` or `digest`".
fn describe(command: CommandName, argument: &str) -> String {
    match argument_spec(command, argument) {
        None => code(argument),
        Some(spec) if !spec.allowed.is_empty() => choices(&spec.allowed, spec.also),
        Some(spec) => kind_phrase(spec.kind).into(),
    }
}

/// A word of this kind, as a phrase.
fn kind_phrase(kind: ArgumentKind) -> &'static str {
    match kind {
        ArgumentKind::ControlId => "a control id, such as `AC-01`",
        ArgumentKind::Criterion => "a criterion, such as `CC6.1`",
        ArgumentKind::Channel => "a channel, such as `#security`",
        ArgumentKind::Command => "a command name, such as `status`",
        // Choices and integrations are described by their allowed words (see `choices`).
        ArgumentKind::Integration | ArgumentKind::Choice => "one of the words it lists",
    }
}

/// Allowed words and the alternative a choice also takes: "`failing`, `all` or a criterion,
/// such as `CC6.1`".
fn choices(allowed: &[String], also: Option<ArgumentKind>) -> String {
    let words = allowed.iter().map(|w| code(w));
    or_list(words.chain(also.map(|kind| kind_phrase(kind).to_owned())))
}

/// Quotes what a person typed as code: backticks inside would end the quote early, and a long
/// paste would crowd out the answer.
fn code(typed: &str) -> String {
    const MAX: usize = 40;
    let typed = typed.replace('`', "'");
    if typed.chars().count() > MAX {
        format!("`{}…`", typed.chars().take(MAX).collect::<String>())
    } else {
        format!("`{typed}`")
    }
}

/// "a", "a or b", "a, b or c".
fn or_list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The answer when answering failed inside Kushim; the details go to the server log only.
pub fn internal_error() -> String {
    "Something went wrong on my side while answering. The details are in Kushim's log; please \
     try again in a moment."
        .to_owned()
}

/// The answer when the work did not fit in the few seconds Slack waits for a reply.
pub fn too_slow() -> String {
    "That took longer than Slack lets me answer in. Please try again in a moment.".to_owned()
}

/// The closing line of a list cut short to fit one message.
pub fn and_more(count: usize) -> String {
    format!("…and {count} more")
}

/// The `/kushim status` header.
pub fn status_header(score: f64) -> String {
    format!("SOC 2 posture: {score:.1} / 100")
}

/// What the score covers and when it was computed.
pub fn status_summary(controls: usize, evaluated_at: DateTime<Utc>) -> String {
    format!("Across {controls} controls, evaluated {}.", evaluated_at.format("%Y-%m-%d %H:%M UTC"))
}

/// Said in `/kushim status` until the first collection.
pub fn no_evidence_yet() -> String {
    "No evidence has been collected yet, so automated controls show `no_evidence` and manual \
     controls `manual_due`."
        .to_owned()
}

/// The title above the controls-per-state fields.
pub fn state_counts_title() -> String {
    "*Controls per state*".to_owned()
}

/// One state and how many controls are in it, as a Block Kit field.
pub fn state_count(state: ControlState, count: usize) -> String {
    format!("*{}*\n{count}", state.as_str())
}

/// The title above the controls that need a person.
pub fn attention_title() -> String {
    "*Needs attention*".to_owned()
}

/// Said when no control needs a person.
pub fn all_clear() -> String {
    "Nothing needs attention: every control is passing, excepted or not applicable.".to_owned()
}

/// One control in a list.
pub fn control_line(line: &ControlLine) -> String {
    format!("• `{}` {} — *{}*: {}", line.id, line.title, line.state.as_str(), line.reason)
}

/// The `/kushim controls` header.
pub fn controls_header(filter: &ControlsFilter, count: usize) -> String {
    match filter {
        ControlsFilter::All => format!("All controls ({count})"),
        ControlsFilter::Failing => format!("Failing controls ({count})"),
        ControlsFilter::Criterion(id) => format!("Controls for {id} ({count})"),
    }
}

/// Said when `/kushim controls` finds nothing.
pub fn no_controls(filter: &ControlsFilter) -> String {
    match filter {
        ControlsFilter::All => "The catalog has no controls.".to_owned(),
        ControlsFilter::Failing => "No control is failing.".to_owned(),
        ControlsFilter::Criterion(id) => format!("No control maps to {}.", code(id)),
    }
}

/// The `/kushim control <ID>` header.
pub fn control_header(detail: &ControlDetail) -> String {
    format!("{} — {}", detail.id, detail.title)
}

/// The state and why, first thing under the header.
pub fn control_state(detail: &ControlDetail) -> String {
    format!("*{}*: {}", detail.state.as_str(), detail.reason)
}

/// The facts shown side by side under a control's state.
pub fn control_fields(detail: &ControlDetail) -> Vec<String> {
    let criteria: Vec<&str> = detail.criteria.iter().map(|c| c.id.as_str()).collect();
    vec![
        format!("*Severity*\n{}", detail.severity.as_str()),
        format!("*Kind*\n{}", serde_plain(&detail.kind)),
        format!("*Owner*\n{}", detail.owner),
        format!("*Criteria*\n{}", criteria.join(", ")),
    ]
    .into_iter()
    .chain(detail.ticket.as_ref().map(ticket_field))
    .collect()
}

/// A control's Jira ticket, beside its other facts.
pub fn ticket_field(ticket: &crate::views::TicketLine) -> String {
    if ticket.pending {
        return "*Jira ticket*\nbeing created".to_owned();
    }
    let mut text = format!("*Jira ticket*\n{} — {}", ticket.key, ticket.status);
    text.push_str(&format!(", {}", ticket.assignee.as_deref().unwrap_or("unassigned")));
    if let Some(due) = ticket.due_date {
        text.push_str(&format!(", due {due}"));
    }
    if ticket.flagged {
        text.push_str("\n*closed in Jira while the control still fails*");
    }
    if let Some(url) = &ticket.url {
        text.push_str(&format!("\n{url}"));
    }
    text
}

/// The title above a control's checks.
pub fn checks_title() -> String {
    "*Checks*".to_owned()
}

/// One check of a control.
pub fn check_line(check: &CheckSummary) -> String {
    let status = serde_plain(&check.status);
    let mut line = format!(
        "• `{}` — *{status}* ({} passed, {} failed)",
        check.check_id, check.passed, check.failed
    );
    if let Some(problem) = &check.first_problem {
        line.push_str(&format!(": {problem}"));
    }
    line
}

/// The title above a control's failing resources.
pub fn problems_title() -> String {
    "*Failing resources*".to_owned()
}

/// One failing or erroring resource.
pub fn problem_line(finding: &Finding) -> String {
    format!("• `{}` ({}): {}", finding.resource, finding.check_id, finding.reason)
}

/// How to fix a control.
pub fn remediation(text: &str) -> String {
    format!("*Remediation*\n{text}")
}

/// Said to someone whose role does not allow a command or a button.
pub fn not_allowed(needs: Role) -> String {
    format!(
        "Sorry, that needs the *{}* role. {} Ask a Kushim admin to add you under \
         `[slack.roles]`.",
        role_name(needs),
        who_may_run(needs)
    )
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Responder => "responder",
        Role::Approver => "approver",
        Role::Admin => "admin",
    }
}

/// A button whose reference no longer resolves (a control renamed, an exception gone).
pub fn stale_button() -> String {
    "That button refers to something I no longer have. Run the command again for a fresh one."
        .to_owned()
}

/// `/kushim except` answered while the form opens.
pub fn exception_form_opening(control_id: &str) -> String {
    format!("Opening the exception form for `{control_id}`…")
}

/// The form could not be opened (Slack's trigger expired, or Slack is unreachable).
pub fn form_failed() -> String {
    "I could not open the exception form. Please try again.".to_owned()
}

/// `/kushim collect` with nothing configured to collect from.
pub fn nothing_to_collect(only: Option<Integration>) -> String {
    match only {
        Some(integration) => format!(
            "{} is not configured here, so there is nothing to collect. `kushim doctor` on the \
             server says what is missing.",
            integration.display_name()
        ),
        None => "No integration is configured, so there is nothing to collect. `kushim doctor` \
                 on the server says what is missing."
            .to_owned(),
    }
}

/// `/kushim collect` started.
pub fn collecting(integrations: &[Integration]) -> String {
    let names: Vec<&str> = integrations.iter().map(|i| i.display_name()).collect();
    format!("Collecting evidence from {}… I will post the result here.", names.join(", "))
}

/// `/kushim collect` queued as a job.
pub fn collect_queued(integrations: &[Integration], job: i64) -> String {
    let names: Vec<&str> = integrations.iter().map(|i| i.display_name()).collect();
    format!(
        "Queued job #{job}: collecting evidence from {}. I will tell you here when it is done; \
         controls that change state are posted to the alert channels.",
        names.join(", ")
    )
}

pub fn collect_job_done(job: i64, score: f64) -> String {
    format!(
        "Job #{job} finished: evidence collected and every control re-assessed. Posture now {score:.1} / 100."
    )
}

pub fn collect_job_failed(job: i64, error: &str) -> String {
    format!("Job #{job} gave up after its retries: {error}. `kushim jobs` on the server shows it.")
}

pub fn collect_job_still_running(job: i64) -> String {
    format!("Job #{job} is still queued or running; `kushim jobs` on the server shows where it is.")
}

/// The header of a finished collection's report.
pub fn collected_header(score: f64) -> String {
    format!("Collection finished — posture {score:.1} / 100")
}

/// One integration's run in a collection report.
pub fn run_line(integration: &str, outcome: &str, api_calls: i64, detail: &str) -> String {
    if detail.is_empty() {
        format!("• *{integration}*: {outcome} ({api_calls} API calls)")
    } else {
        format!("• *{integration}*: {outcome} ({api_calls} API calls) — {detail}")
    }
}

/// One control whose state a collection changed.
pub fn change_line(control_id: &str, from: &str, to: &str) -> String {
    format!("• `{control_id}` {from} → *{to}*")
}

/// Said when a collection changed no control's state.
pub fn no_changes() -> String {
    "No control changed state.".to_owned()
}

/// The note on a control's card after a snooze.
pub fn snoozed_by(user: &str, until: DateTime<Utc>) -> String {
    format!("🔕 {} snoozed alerts until {}.", mention_user(user), until.format("%Y-%m-%d"))
}

/// Said when a re-check starts.
pub fn rechecking(control_id: &str) -> String {
    format!("Re-checking `{control_id}`: collecting its evidence again…")
}

/// The note on a control's card after a re-check.
pub fn rechecked_by(user: &str, at: DateTime<Utc>) -> String {
    format!("🔄 Re-checked by {} at {}.", mention_user(user), at.format("%Y-%m-%d %H:%M UTC"))
}

/// The note on a control's card after a re-check that could not collect.
pub fn recheck_failed(user: &str, at: DateTime<Utc>, error: &str) -> String {
    format!(
        "⚠️ Re-check by {} at {} could not collect: {error}",
        mention_user(user),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// A ticket was asked for but Jira is not set up.
pub fn jira_not_configured(control_id: &str) -> String {
    format!(
        "I cannot open a ticket for `{control_id}`: Jira is not configured. Set JIRA_URL, \
         JIRA_EMAIL and JIRA_API_TOKEN (and `[jira] project`) on the server."
    )
}

/// A channel typed by name rather than picked from Slack's list.
pub fn pick_a_channel() -> String {
    "Pick the channel from Slack's list as you type `#`, so I get its id (and invite me there: \
     `/invite @Kushim`)."
        .to_owned()
}

/// After `/kushim subscribe` or `unsubscribe`.
pub fn subscription(channel: &str, feed: &str, subscribe: bool, changed: bool) -> String {
    let channel = format!("{LINK_OPEN}#{channel}{LINK_CLOSE}");
    match (subscribe, changed) {
        (true, true) => {
            format!("{channel} now gets the {feed}. Invite me there if I am not in it yet.")
        }
        (true, false) => format!("{channel} already gets the {feed}."),
        (false, true) => format!("{channel} no longer gets the {feed}."),
        (false, false) => format!("{channel} was not getting the {feed}."),
    }
}

/// A ticket event as posted to the alert channels.
pub fn ticket_event(kind: &str, key: &str, url: &str, control_id: &str, detail: &str) -> String {
    let what = match kind {
        "created" => "opened",
        "commented" => "updated: the failing resources changed",
        "closed" => "closed: the control passes again",
        "reopened" => "reopened: the control fails again",
        "overdue" => "is past its due date",
        "closed_while_failing" => "was closed in Jira while the control still fails",
        "action_failed" => "could not be updated in Jira",
        other => other,
    };
    let mut sentence = format!("🎫 {} for `{control_id}` {what}.", link(url, key));
    if !detail.is_empty() {
        sentence.push_str(&format!(" {detail}"));
    }
    sentence
}

/// Said while a ticket is being opened.
pub fn opening_ticket(control_id: &str) -> String {
    format!("Opening a Jira ticket for `{control_id}`…")
}

/// A link in Slack's `<url|label>` form; the renderer keeps it as a link.
fn link(url: &str, label: &str) -> String {
    format!("{LINK_OPEN}{url}|{label}{LINK_CLOSE}")
}

/// Opens a link written by [`link`] (rendered as `<`).
pub const LINK_OPEN: char = '\u{E002}';
/// Closes a link (rendered as `>`).
pub const LINK_CLOSE: char = '\u{E003}';

pub fn ticket_opened(key: &str, url: &str, control_id: &str) -> String {
    format!(
        "Opened {} for `{control_id}`. It closes itself when the control passes again.",
        link(url, key)
    )
}

pub fn ticket_opened_by(user: &str, key: &str, url: &str) -> String {
    format!("🎫 {} opened {}.", mention_user(user), link(url, key))
}

pub fn ticket_exists(key: &str, url: &str, status: &str, control_id: &str) -> String {
    format!("`{control_id}` is already tracked in {} ({status}).", link(url, key))
}

pub fn ticket_being_created(control_id: &str) -> String {
    format!(
        "A ticket for `{control_id}` is being created right now; it will show on the control in a moment."
    )
}

pub fn nothing_to_remediate(control_id: &str, state: &str) -> String {
    format!("`{control_id}` is {state}: there is nothing to open a ticket for.")
}

pub fn ticket_failed(control_id: &str, why: &str) -> String {
    format!("I could not open a Jira ticket for `{control_id}`: {why}")
}

/// Someone tried to approve or reject their own exception request.
pub fn cannot_decide_own_request() -> String {
    "You asked for this exception, so someone else has to decide it.".to_owned()
}

/// A second decision on an already decided request.
pub fn already_decided(decision: &str, by: &str) -> String {
    format!("This request was already {decision} by {}.", mention(by))
}

/// `slack:U123` as a Slack mention, other actors as written.
fn mention(actor: &str) -> String {
    match actor.strip_prefix("slack:") {
        Some(user) => mention_user(user),
        None => actor.to_owned(),
    }
}

/// Opens a mention of a user: the renderer turns it into Slack's `<@U123>` after escaping
/// everything else, so only mentions written here ping anyone.
pub const MENTION_OPEN: char = '\u{E000}';
/// Closes a mention.
pub const MENTION_CLOSE: char = '\u{E001}';

/// A Slack user, mentioned. Only a well-formed user id is mentioned; anything else is shown as
/// written (and escaped like all text).
pub fn mention_user(user: &str) -> String {
    if !user.is_empty() && user.chars().all(|c| c.is_ascii_alphanumeric()) {
        format!("{MENTION_OPEN}{user}{MENTION_CLOSE}")
    } else {
        user.to_owned()
    }
}

pub fn reason_required() -> String {
    "Say why the risk is acceptable: your auditor will read this.".to_owned()
}

pub fn expiry_required() -> String {
    "Pick the day the exception ends.".to_owned()
}

pub fn expiry_in_past() -> String {
    "The end date must be in the future.".to_owned()
}

pub fn expiry_too_far() -> String {
    "An exception can last at most a year; pick an earlier end date.".to_owned()
}

/// The exception form's title and labels.
pub fn exception_form_title() -> String {
    "Request exception".to_owned()
}

pub fn exception_form_intro(control_id: &str) -> String {
    format!(
        "Ask your approvers to accept the risk of `{control_id}` failing until a date. While \
         an approved exception lasts, the control counts as *excepted* (half credit)."
    )
}

pub fn reason_label() -> String {
    "Reason".to_owned()
}

pub fn expiry_label() -> String {
    "Ends on".to_owned()
}

pub fn compensating_label() -> String {
    "Compensating control (optional)".to_owned()
}

pub fn submit_label() -> String {
    "Request".to_owned()
}

pub fn cancel_label() -> String {
    "Cancel".to_owned()
}

/// The header of an exception request posted for approval.
pub fn exception_request_header(exception: &ExceptionRecord) -> String {
    format!("Exception request #{} for {}", exception.seq, exception.control_id)
}

/// An exception request's facts.
pub fn exception_request_body(exception: &ExceptionRecord) -> String {
    let mut text = format!(
        "{} asks to accept the risk until {}.\n*Reason*: {}",
        mention(&exception.requested_by),
        exception.expires_at.format("%Y-%m-%d"),
        exception.reason
    );
    if let Some(compensating) = &exception.compensating_control {
        text.push_str(&format!("\n*Compensating control*: {compensating}"));
    }
    text
}

/// Who decided an exception request, replacing its buttons.
pub fn exception_decided(exception: &ExceptionRecord) -> String {
    let by = exception.decided_by.as_deref().map(mention).unwrap_or_default();
    let at = exception.decided_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string());
    match exception.decision {
        Some(ExceptionDecision::Approved) => {
            format!("✅ Approved by {by} at {}.", at.unwrap_or_default())
        }
        Some(ExceptionDecision::Rejected) => {
            format!("❌ Rejected by {by} at {}.", at.unwrap_or_default())
        }
        Some(ExceptionDecision::Revoked) => {
            format!("Revoked by {by} at {}.", at.unwrap_or_default())
        }
        None => "Waiting for an approver.".to_owned(),
    }
}

/// One exception in `/kushim exceptions`.
pub fn exception_line(exception: &ExceptionRecord, now: DateTime<Utc>) -> String {
    let status = match exception.decision {
        None => "pending".to_owned(),
        Some(ExceptionDecision::Approved) if exception.expires_at <= now => "expired".to_owned(),
        Some(decision) => decision.as_str().to_owned(),
    };
    format!(
        "• #{} `{}` — *{status}*, until {}: {}",
        exception.seq,
        exception.control_id,
        exception.expires_at.format("%Y-%m-%d"),
        exception.reason
    )
}

pub fn exceptions_header(count: usize) -> String {
    format!("Risk exceptions ({count})")
}

pub fn no_exceptions() -> String {
    "No exception has been requested. `/kushim except <ID>` asks for one.".to_owned()
}

pub fn pending_title() -> String {
    "*Waiting for an approver*".to_owned()
}

pub fn expiring_title() -> String {
    "*Active, ending within 7 days*".to_owned()
}

/// The `/kushim evidence <ID>` header.
pub fn evidence_header(detail: &ControlDetail) -> String {
    format!("Evidence for {} — {}", detail.id, detail.title)
}

pub fn automated_evidence_title() -> String {
    "*Collected evidence* (hash-chained; `kushim verify` checks it)".to_owned()
}

/// One collected evidence record.
pub fn evidence_line(line: &EvidenceLine) -> String {
    format!(
        "• #{} {} ({}) collected {}, describes {} — sha256 `{}`",
        line.seq,
        line.source,
        line.kind,
        line.collected_at.format("%Y-%m-%d %H:%M UTC"),
        line.observed_at.format("%Y-%m-%d %H:%M UTC"),
        &line.payload_sha256[..line.payload_sha256.len().min(16)]
    )
}

pub fn manual_evidence_title() -> String {
    "*Uploaded evidence*".to_owned()
}

/// One uploaded document.
pub fn manual_evidence_line(record: &ManualEvidenceRecord) -> String {
    format!(
        "• `{}` by {} on {}, owner {}, due again {} — sha256 `{}`",
        record.file_name,
        mention(&record.submitted_by),
        record.submitted_at.format("%Y-%m-%d"),
        record.owner,
        record.due_at.format("%Y-%m-%d"),
        &record.content_sha256[..record.content_sha256.len().min(16)]
    )
}

pub fn no_evidence_for(detail: &ControlDetail) -> String {
    match detail.evidence_expected.as_deref() {
        Some(expected) => format!(
            "Nothing yet. Expected: {expected}. Upload it with `kushim evidence add {} FILE`.",
            detail.id
        ),
        None => "Nothing collected yet: `/kushim collect` gathers it.".to_owned(),
    }
}

/// The page position under a paged list.
pub fn page_position(from: usize, to: usize, total: usize) -> String {
    format!("Showing {from}–{to} of {total}.")
}

/// The App Home header.
pub fn home_header() -> String {
    "Kushim — SOC 2 posture".to_owned()
}

/// The score's last two weeks on the App Home.
pub fn home_trend(sparkline: &str) -> String {
    if sparkline.is_empty() {
        "Trend: not enough history yet.".to_owned()
    } else {
        format!("Last 14 days: {sparkline}")
    }
}

/// A control's open ticket beside it on the App Home.
pub fn home_ticket(key: &str) -> String {
    format!(" (ticket {key})")
}

/// The App Home's closing hint.
pub fn home_hint() -> String {
    "`/kushim help` lists every command. Buttons act on the control beside them.".to_owned()
}

/// An enum's snake_case name as its serde form has it (`no_evidence`, `high`), so chat and
/// `--json` use the same words.
fn serde_plain(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;

// --- What the background engine posts on its own: alerts, reminders, the daily digest. ---

/// An alert's header: the control and the state it is in now.
pub fn alert_header(control_id: &str, title: &str, now: ControlState) -> String {
    format!("{control_id} {title}: {}", now.as_str())
}

/// An alert's first line: what changed and why.
pub fn alert_change(from: Option<&str>, to: ControlState, reason: &str) -> String {
    let was = from.map(|from| format!(" (was {from})")).unwrap_or_default();
    match to {
        ControlState::Passing | ControlState::ManualOk => {
            format!("*Fixed*: now *{}*{was}. {reason}", to.as_str())
        }
        _ => format!("Now *{}*{was}: {reason}", to.as_str()),
    }
}

/// The facts beside an alert.
pub fn alert_fields(severity: &str, owner: &str, since: DateTime<Utc>) -> Vec<String> {
    vec![
        format!("*Severity*\n{severity}"),
        format!("*Owner*\n{owner}"),
        format!("*Since*\n{}", since.format("%Y-%m-%d %H:%M UTC")),
    ]
}

/// Under an alert whose control keeps changing state.
pub fn alert_flapping(changes: usize, window_minutes: i64) -> String {
    format!(
        "Changed state {changes} times in the last {window_minutes} minutes; this message is \
         updated in place instead of posting new ones."
    )
}

/// The header of a warning about an exception that runs out soon.
pub fn exception_expiring_header(control_id: &str, title: &str) -> String {
    format!("{control_id} {title}: exception expires soon")
}

/// What expires, when, and what happens then.
pub fn exception_expiring(expires_at: DateTime<Utc>, approved_by: &str, reason: &str) -> String {
    format!(
        "The risk exception approved by {approved_by} expires on *{}*. After that the control \
         counts with its real state again. Exception: {reason}",
        expires_at.format("%Y-%m-%d")
    )
}

/// The header of the weekly manual-evidence reminder.
pub fn evidence_reminder_header(count: usize) -> String {
    if count == 1 {
        "Manual evidence due: 1 control".to_owned()
    } else {
        format!("Manual evidence due: {count} controls")
    }
}

/// One control whose manual evidence is due, overdue or missing.
pub fn evidence_due_line(
    control_id: &str,
    title: &str,
    owner: &str,
    due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    let when = match due_at {
        None => "never submitted".to_owned(),
        Some(due) if due < now => format!("overdue since {}", due.format("%Y-%m-%d")),
        Some(due) => format!("due {}", due.format("%Y-%m-%d")),
    };
    format!("• `{control_id}` {title} — {when} (owner: {owner})")
}

/// How to hand in manual evidence.
pub fn evidence_reminder_hint() -> String {
    "Upload with `kushim evidence add <CONTROL> --file F --note \"…\"`.".to_owned()
}

/// The digest's header, dated in the team's timezone.
pub fn digest_header(date: chrono::NaiveDate) -> String {
    format!("SOC 2 daily digest, {}", date.format("%a %d %b %Y"))
}

/// The score, its change since yesterday and the 14-day trend.
pub fn digest_score(score: f64, change: Option<f64>, sparkline: &str) -> String {
    let change = match change {
        Some(delta) if delta > 0.05 => format!(" (up {delta:.1} since yesterday)"),
        Some(delta) if delta < -0.05 => format!(" (down {:.1} since yesterday)", -delta),
        Some(_) => " (unchanged since yesterday)".to_owned(),
        None => String::new(),
    };
    format!("Posture *{score:.1} / 100*{change}\n14 days: `{sparkline}`")
}

pub fn digest_newly_failing_title() -> String {
    "*Newly failing*".to_owned()
}

pub fn digest_fixed_title() -> String {
    "*Fixed*".to_owned()
}

pub fn digest_collections_title() -> String {
    "*Collections that failed*".to_owned()
}

/// One failed collection run.
pub fn collection_failed_line(integration: &str, at: DateTime<Utc>, detail: &str) -> String {
    format!("• {integration} at {}: {detail}", at.format("%H:%M UTC"))
}

pub fn digest_exceptions_title() -> String {
    "*Exceptions expiring within 7 days*".to_owned()
}

/// One exception that expires soon.
pub fn expiring_exception_line(control_id: &str, expires_at: DateTime<Utc>) -> String {
    format!("• `{control_id}` on {}", expires_at.format("%Y-%m-%d"))
}

pub fn digest_evidence_title() -> String {
    "*Manual evidence due*".to_owned()
}

pub fn digest_tickets_title(open: usize, late: usize) -> String {
    match late {
        0 => format!("*Open remediation tickets* ({open})"),
        late => format!("*Open remediation tickets* ({open}, {late} past due)"),
    }
}

/// One open ticket: its age, and its due date (the SLA) or how late it is.
pub fn open_ticket_line(
    key: &str,
    control_id: &str,
    opened_at: DateTime<Utc>,
    due: Option<chrono::NaiveDate>,
    now: DateTime<Utc>,
) -> String {
    let age = (now - opened_at).num_days().max(0);
    let age = match age {
        0 => "opened today".to_owned(),
        1 => "1 day old".to_owned(),
        days => format!("{days} days old"),
    };
    let today = now.date_naive();
    let sla = match due {
        Some(due) if due < today => match (today - due).num_days() {
            1 => ", *1 day past due*".to_owned(),
            days => format!(", *{days} days past due*"),
        },
        Some(due) => format!(", due {}", due.format("%Y-%m-%d")),
        None => String::new(),
    };
    format!("• {key} `{control_id}` — {age}{sla}")
}

/// Said in a digest when nothing changed and nothing is due.
pub fn digest_quiet() -> String {
    "Nothing changed since yesterday and nothing is due this week.".to_owned()
}

/// The header of the message about a job that gave up.
pub fn dead_job_header(kind: &str) -> String {
    format!("Background job failed: {kind}")
}

/// What failed, how often, and where to look.
pub fn dead_job(id: i64, attempts: i64, error: &str) -> String {
    format!(
        "Job #{id} failed {attempts} times and will not be retried on its own. Last error: \
         {}\nAn admin can run it again with *Retry* (or `kushim jobs retry {id}` on the server); \
         `/kushim jobs` lists every job that gave up.",
        clip(error, ERROR_SHOWN)
    )
}

/// Errors are cut to this many characters in chat; `kushim jobs` shows them whole.
const ERROR_SHOWN: usize = 400;

fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

pub fn jobs_header() -> String {
    "Background jobs".to_owned()
}

/// The queue at a glance: jobs per status.
pub fn jobs_summary(queued: i64, running: i64, dead: i64, done: i64) -> String {
    format!("*{queued}* queued · *{running}* running · *{dead}* gave up · *{done}* done")
}

pub fn no_dead_jobs() -> String {
    "No job has given up. A failed run is retried with backoff before a job is parked.".to_owned()
}

/// One job that gave up, in `/kushim jobs`.
pub fn dead_job_line(job: &crate::store::Job) -> String {
    let when = job.finished_at.unwrap_or(job.run_at).format("%Y-%m-%d %H:%M UTC");
    format!(
        "*#{} {}* `{}` — gave up after {} attempts, {when}\nLast error: {}",
        job.id,
        job.kind,
        job.payload,
        job.attempts,
        clip(job.last_error.as_deref().unwrap_or("none recorded"), ERROR_SHOWN)
    )
}

/// Said where a Retry was clicked.
pub fn job_requeued(user: &str, id: i64, at: DateTime<Utc>) -> String {
    format!(
        "🔁 {} queued job #{id} again at {}; the next free worker runs it.",
        mention_user(user),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// A Retry on a job that is no longer waiting for one.
pub fn job_not_dead(id: i64, status: &str) -> String {
    format!("Job #{id} is not waiting for a retry: it is {status}. `/kushim jobs` shows the queue.")
}

/// Under every digest.
pub fn digest_footer() -> String {
    "`/kushim status` for the full picture, `/kushim controls failing` for what to fix.".to_owned()
}

/// A button's label.
pub fn button_label(action: Action) -> String {
    match action {
        Action::Ticket => "Create Jira ticket",
        Action::RequestException => "Request exception",
        Action::ApproveException => "Approve",
        Action::RejectException => "Reject",
        Action::Snooze => "Snooze 7 days",
        Action::Recheck => "Re-check now",
        Action::ShowMore => "Show more",
        Action::RetryJob => "Retry",
    }
    .to_owned()
}
