//! From a line of text to a [`Command`]. The generic part binds words to the arguments a command's
//! file declares; [`build`] turns the bound values into the typed variant.

use std::collections::BTreeMap;

use super::{
    ArgumentKind, ArgumentSpec, ChannelRef, Command, CommandName, CommandSet, CommandSpec,
    ControlsFilter, Feed, ParseError,
};
use crate::{catalog::Catalog, integrations::Integration};

/// Parses the text of a slash command (what follows `/kushim`) or of a mention.
///
/// Grammar, words separated by any whitespace:
///
/// ```text
/// line     := [ "/kushim" ] [ command { argument } ]
/// command  := a command name, any case            (nothing at all means `help`)
/// argument := as the command's file declares, in order; optional ones may be left out
/// ```
///
/// Control ids come back as the catalog spells them (`ac-01` → `AC-01`).
pub fn parse(text: &str, catalog: &Catalog) -> Result<Command, ParseError> {
    let commands = CommandSet::builtin();
    let mut words = text.split_whitespace().peekable();
    // Tolerated so `@Kushim /kushim status` and a console line typed with the prefix both work.
    words.next_if(|w| w.eq_ignore_ascii_case("/kushim"));
    let Some(first) = words.next() else {
        return Ok(Command::Help { command: None });
    };
    let spec = commands.find(first).ok_or_else(|| unknown_command(commands, first))?;

    let mut values = BTreeMap::new();
    for argument in &spec.arguments {
        let value = match words.next() {
            Some(word) => bind(spec, argument, argument.kind, word, commands, catalog)?,
            None if argument.required => {
                return Err(ParseError::MissingArgument {
                    command: spec.name,
                    argument: argument.name.clone(),
                    usage: spec.usage.clone(),
                });
            }
            None => match &argument.default {
                Some(word) => Value::Choice(word.clone()),
                None => continue,
            },
        };
        values.insert(argument.name.as_str(), value);
    }
    let extra: Vec<&str> = words.collect();
    if !extra.is_empty() {
        return Err(ParseError::UnexpectedArgument {
            command: spec.name,
            extra: extra.join(" "),
            usage: spec.usage.clone(),
        });
    }
    Ok(build(spec.name, Bound(values)))
}

/// Parses a message that mentions the bot, such as `<@U0KUSHIM> status`: the command is what
/// follows the first mention of `bot_user_id`. `None` when the bot is not mentioned.
///
/// Accepts Slack's `<@U0KUSHIM>` (and the older `<@U0KUSHIM|kushim>`) and Discord's `<@123>` and
/// `<@!123>`. Words before the mention are ignored (`hey <@U0KUSHIM> status`), and so is a `:` or
/// `,` right after it.
pub fn parse_mention(
    text: &str,
    bot_user_id: &str,
    catalog: &Catalog,
) -> Option<Result<Command, ParseError>> {
    let mut rest = text;
    loop {
        let start = rest.find("<@")?;
        let after = &rest[start + 2..];
        let end = after.find('>')?;
        let inside = &after[..end];
        let id = inside.strip_prefix('!').unwrap_or(inside);
        let id = id.split_once('|').map_or(id, |(id, _)| id);
        rest = &after[end + 1..];
        if id == bot_user_id {
            let command =
                rest.trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == ',');
            return Some(parse(command, catalog));
        }
    }
}

/// A word bound to an argument, typed by the argument's kind.
enum Value {
    Control(String),
    Criterion(String),
    Integration(Integration),
    Channel(ChannelRef),
    /// One of the allowed words, lowercase.
    Choice(String),
    Command(CommandName),
}

fn bind(
    spec: &CommandSpec,
    argument: &ArgumentSpec,
    kind: ArgumentKind,
    word: &str,
    commands: &CommandSet,
    catalog: &Catalog,
) -> Result<Value, ParseError> {
    let lower = word.to_lowercase();
    let invalid_choice = || ParseError::InvalidChoice {
        command: spec.name,
        argument: argument.name.clone(),
        typed: word.to_owned(),
        allowed: argument.allowed.clone(),
    };
    match kind {
        ArgumentKind::ControlId => match catalog.control(word) {
            Some(control) => Ok(Value::Control(control.id.clone())),
            None => Err(ParseError::UnknownControl {
                typed: word.to_owned(),
                suggestions: catalog.suggest(word).into_iter().map(str::to_owned).collect(),
            }),
        },
        ArgumentKind::Criterion => match catalog.criterion(word) {
            Some(criterion) => Ok(Value::Criterion(criterion.id.clone())),
            None => Err(ParseError::UnknownCriterion { typed: word.to_owned() }),
        },
        ArgumentKind::Integration => match Integration::parse(&lower) {
            Some(integration) if argument.allowed.contains(&lower) => {
                Ok(Value::Integration(integration))
            }
            _ => Err(invalid_choice()),
        },
        ArgumentKind::Channel => parse_channel(word).map(Value::Channel).ok_or_else(|| {
            ParseError::InvalidChannel { command: spec.name, typed: word.to_owned() }
        }),
        ArgumentKind::Choice if argument.allowed.contains(&lower) => Ok(Value::Choice(lower)),
        // Allowed words are letters; criterion ids always carry a digit (CC6.1, A1.2). So a word
        // with a digit was meant as the alternative, and its error is the more helpful one.
        ArgumentKind::Choice => match argument.also {
            Some(also) if word.chars().any(|c| c.is_ascii_digit()) => {
                bind(spec, argument, also, word, commands, catalog)
            }
            _ => Err(invalid_choice()),
        },
        ArgumentKind::Command => match commands.find(word) {
            Some(named) => Ok(Value::Command(named.name)),
            None => Err(unknown_command(commands, word)),
        },
    }
}

fn unknown_command(commands: &CommandSet, typed: &str) -> ParseError {
    ParseError::UnknownCommand {
        typed: typed.to_owned(),
        did_you_mean: commands.suggest(typed).into_iter().map(str::to_owned).collect(),
    }
}

/// `<#C123ABC|name>`, `<#C123ABC>` or `<#C123ABC|>` (Slack; Discord's `<#123>` too), `#name`, or a
/// bare Slack channel id (`C…` public, `G…` private: uppercase letters and digits).
fn parse_channel(word: &str) -> Option<ChannelRef> {
    if let Some(inside) = word.strip_prefix("<#").and_then(|w| w.strip_suffix('>')) {
        let (id, name) = inside.split_once('|').unwrap_or((inside, ""));
        let is_id = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric());
        return is_id.then(|| ChannelRef::Id {
            id: id.to_owned(),
            name: (!name.is_empty()).then(|| name.to_owned()),
        });
    }
    if let Some(name) = word.strip_prefix('#') {
        let is_name = !name.is_empty()
            && name.chars().count() <= 80
            && !name.chars().any(|c| matches!(c, '#' | '<' | '>' | '|' | '@'));
        return is_name.then(|| ChannelRef::Name(name.to_lowercase()));
    }
    let is_id = word.len() >= 7
        && word.starts_with(['C', 'G'])
        && word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    is_id.then(|| ChannelRef::Id { id: word.to_owned(), name: None })
}

/// The values bound to a command's arguments, by argument name.
struct Bound<'a>(BTreeMap<&'a str, Value>);

/// Builds the typed variant. The getters name the arguments as the command files do; a test
/// parses every argument of every file, so a file and its variant cannot disagree unnoticed, and
/// the files are compiled in.
fn build(name: CommandName, mut args: Bound<'_>) -> Command {
    let command = match name {
        CommandName::Status => Command::Status,
        CommandName::Controls => Command::Controls {
            filter: match args.take("filter") {
                Some(Value::Criterion(id)) => ControlsFilter::Criterion(id),
                Some(Value::Choice(word)) if word == "failing" => ControlsFilter::Failing,
                Some(Value::Choice(word)) if word == "all" => ControlsFilter::All,
                _ => mismatch(name, "filter"),
            },
        },
        CommandName::Control => Command::Control { id: args.control(name, "id") },
        CommandName::Evidence => Command::Evidence { id: args.control(name, "id") },
        CommandName::Collect => Command::Collect {
            integration: match args.take("integration") {
                Some(Value::Integration(integration)) => Some(integration),
                None => None,
                _ => mismatch(name, "integration"),
            },
        },
        CommandName::Ticket => Command::Ticket { id: args.control(name, "id") },
        CommandName::Except => Command::Except { id: args.control(name, "id") },
        CommandName::Exceptions => Command::Exceptions,
        CommandName::Digest => Command::Digest,
        CommandName::Subscribe => {
            Command::Subscribe { channel: args.channel(name), feed: args.feed(name) }
        }
        CommandName::Unsubscribe => {
            Command::Unsubscribe { channel: args.channel(name), feed: args.feed(name) }
        }
        CommandName::Jobs => Command::Jobs,
        CommandName::Help => Command::Help {
            command: match args.take("command") {
                Some(Value::Command(command)) => Some(command),
                None => None,
                _ => mismatch(name, "command"),
            },
        },
    };
    // An argument the variant did not take is a file that declares more than the code reads.
    if let Some(unread) = args.0.keys().next() {
        mismatch(name, unread);
    }
    command
}

impl Bound<'_> {
    fn take(&mut self, argument: &str) -> Option<Value> {
        self.0.remove(argument)
    }

    fn control(&mut self, command: CommandName, argument: &str) -> String {
        match self.take(argument) {
            Some(Value::Control(id)) => id,
            _ => mismatch(command, argument),
        }
    }

    fn channel(&mut self, command: CommandName) -> ChannelRef {
        match self.take("channel") {
            Some(Value::Channel(channel)) => channel,
            _ => mismatch(command, "channel"),
        }
    }

    fn feed(&mut self, command: CommandName) -> Feed {
        match self.take("feed") {
            Some(Value::Choice(word)) if word == "alerts" => Feed::Alerts,
            Some(Value::Choice(word)) if word == "digest" => Feed::Digest,
            _ => mismatch(command, "feed"),
        }
    }
}

fn mismatch(command: CommandName, argument: &str) -> ! {
    panic!("commands/{}.toml and Command disagree about argument {argument:?}", command.as_str())
}
