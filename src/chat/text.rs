//! Every sentence a person reads in chat, in one place, so wording is reviewed together and each
//! change shows up as a diff in the tests below.
//!
//! Text is written in the markup Slack and Discord share (`code` in backticks, `*bold*`), and
//! reads fine as plain text in the terminal. Escaping for a platform (Slack's `&`, `<`, `>`) is
//! the renderer's job, not this module's.

use crate::chat::commands::{
    ArgumentKind, ArgumentSpec, CommandName, CommandSet, Group, ParseError, Role,
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

#[cfg(test)]
mod tests;
