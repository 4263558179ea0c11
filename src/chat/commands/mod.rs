//! The `/kushim` commands: defined once as data in `commands/*.toml` ([`CommandSet`]), parsed into
//! the typed [`Command`] by [`parse`] and [`parse_mention`].
//!
//! Parsing never writes prose: a mistake is a structured [`ParseError`], and
//! [`crate::chat::text`] is the one place that turns it into a sentence.

mod parse;
mod spec;

use serde::Deserialize;

pub use parse::{parse, parse_mention};
pub use spec::{
    ArgumentKind, ArgumentSpec, CommandFileError, CommandSet, CommandSpec, Group, Role,
};

/// A command a person typed, checked against the command files and the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The posture at a glance: score, controls per state, the top failing controls.
    Status,
    /// Controls with their state, narrowed by `filter` (`all` when omitted).
    Controls { filter: ControlsFilter },
    /// One control explained: checks, failing resources, evidence, ticket, exception.
    Control { id: String },
    /// The evidence behind one control: collected records and uploaded documents.
    Evidence { id: String },
    /// Collect now from one integration, or from every configured one when `None`.
    Collect { integration: Option<crate::integrations::Integration> },
    /// Open the Jira ticket for a failing control, or show the open one.
    Ticket { id: String },
    /// Request an exception for a control; the bot answers with a form (a modal).
    Except { id: String },
    /// Exceptions awaiting approval, active, and expiring soon.
    Exceptions,
    /// A preview of the digest, shown only to the person who asked.
    Digest,
    /// Post `feed` to `channel` from now on.
    Subscribe { channel: ChannelRef, feed: Feed },
    /// Stop posting `feed` to `channel`.
    Unsubscribe { channel: ChannelRef, feed: Feed },
    /// The background job queue, and the jobs that gave up (for admins).
    Jobs,
    /// The command listing, or one command explained.
    Help { command: Option<CommandName> },
}

/// The name of each command: one per variant of [`Command`] and one per file in `commands/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandName {
    Status,
    Controls,
    Control,
    Evidence,
    Digest,
    Collect,
    Ticket,
    Except,
    Exceptions,
    Subscribe,
    Unsubscribe,
    Jobs,
    Help,
}

/// Which controls `/kushim controls` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlsFilter {
    All,
    Failing,
    /// Controls mapped to this criterion, as the catalog spells it (`CC6.1`).
    Criterion(String),
}

/// What a channel subscription posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feed {
    /// A message when a control starts failing, updated in place as it changes.
    Alerts,
    /// The periodic posture summary.
    Digest,
}

/// A channel as a person named it. Slack sends a picked channel as `<#C123ABC|name>`; people also
/// type `#name` or paste an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRef {
    /// A channel id, with the name when the mention carried one.
    Id { id: String, name: Option<String> },
    /// A channel typed as `#name` (lowercased); the bot looks its id up.
    Name(String),
}

/// What was wrong with a command line. Each variant carries what a reply needs to help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The first word is no command (also for `help <word>`).
    UnknownCommand { typed: String, did_you_mean: Vec<String> },
    /// A required argument was left out.
    MissingArgument { command: CommandName, argument: String, usage: String },
    /// No control has this id.
    UnknownControl { typed: String, suggestions: Vec<String> },
    /// No Trust Services Criterion has this id.
    UnknownCriterion { typed: String },
    /// A word that is none of the argument's allowed ones.
    InvalidChoice { command: CommandName, argument: String, typed: String, allowed: Vec<String> },
    /// More words than the command takes; `extra` is everything left over.
    UnexpectedArgument { command: CommandName, extra: String, usage: String },
    /// Not a channel mention, `#name`, or channel id.
    InvalidChannel { command: CommandName, typed: String },
}

impl CommandName {
    pub const ALL: [CommandName; 13] = [
        CommandName::Status,
        CommandName::Controls,
        CommandName::Control,
        CommandName::Evidence,
        CommandName::Digest,
        CommandName::Collect,
        CommandName::Ticket,
        CommandName::Except,
        CommandName::Exceptions,
        CommandName::Subscribe,
        CommandName::Unsubscribe,
        CommandName::Jobs,
        CommandName::Help,
    ];

    /// The word typed after `/kushim`.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandName::Status => "status",
            CommandName::Controls => "controls",
            CommandName::Control => "control",
            CommandName::Evidence => "evidence",
            CommandName::Digest => "digest",
            CommandName::Collect => "collect",
            CommandName::Ticket => "ticket",
            CommandName::Except => "except",
            CommandName::Exceptions => "exceptions",
            CommandName::Subscribe => "subscribe",
            CommandName::Unsubscribe => "unsubscribe",
            CommandName::Jobs => "jobs",
            CommandName::Help => "help",
        }
    }

    /// The command's file: summary, usage, role, arguments, examples.
    pub fn spec(self) -> &'static CommandSpec {
        CommandSet::builtin().get(self)
    }
}

impl Command {
    pub fn name(&self) -> CommandName {
        match self {
            Command::Status => CommandName::Status,
            Command::Controls { .. } => CommandName::Controls,
            Command::Control { .. } => CommandName::Control,
            Command::Evidence { .. } => CommandName::Evidence,
            Command::Collect { .. } => CommandName::Collect,
            Command::Ticket { .. } => CommandName::Ticket,
            Command::Except { .. } => CommandName::Except,
            Command::Exceptions => CommandName::Exceptions,
            Command::Digest => CommandName::Digest,
            Command::Subscribe { .. } => CommandName::Subscribe,
            Command::Unsubscribe { .. } => CommandName::Unsubscribe,
            Command::Jobs => CommandName::Jobs,
            Command::Help { .. } => CommandName::Help,
        }
    }

    /// The least role that may run it.
    pub fn role(&self) -> Role {
        self.name().spec().role
    }
}

#[cfg(test)]
mod tests;
