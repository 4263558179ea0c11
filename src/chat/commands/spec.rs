//! The command files (`commands/*.toml`) as data: loaded, validated, and kept in listing order.
//! Every problem names the file it is in; unknown keys are errors (the TOML parser names the key).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::LazyLock,
};

use serde::{Deserialize, Serialize};

use super::CommandName;
use crate::integrations::Integration;

include!(concat!(env!("OUT_DIR"), "/builtin_commands.rs"));

/// Discord's limit on a command or option description; summaries and argument help feed those.
const MAX_DESCRIPTION: usize = 100;
/// Discord's limit on a command or option name.
const MAX_NAME: usize = 32;

/// The least role that may run a command. Roles are ordered: each one may do what those before it
/// may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the posture.
    Viewer,
    /// Acts on failing controls: collects, opens tickets, requests exceptions.
    Responder,
    /// Approves or rejects exception requests.
    Approver,
    /// Configures where Kushim posts.
    Admin,
}

/// Where `/kushim help` lists a command, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Posture,
    Remediation,
    Channels,
    Operations,
    Help,
}

/// What an argument accepts, and so how it is parsed and offered on each platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgumentKind {
    /// A control id from the catalog, any case.
    ControlId,
    /// A Trust Services Criterion, such as CC6.1.
    Criterion,
    /// One of the argument's `allowed` integrations.
    Integration,
    /// A channel: a platform mention, `#name`, or a bare channel id.
    Channel,
    /// One of the argument's `allowed` words.
    Choice,
    /// The name of another command.
    Command,
}

/// One command, as its file defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: CommandName,
    pub group: Group,
    /// One line, at most 100 characters.
    pub summary: String,
    /// `/kushim NAME` and a token per argument, e.g. `/kushim control <ID>`.
    pub usage: String,
    pub role: Role,
    /// Positional, required ones first.
    pub arguments: Vec<ArgumentSpec>,
    /// Full command lines, each parsed by a test.
    pub examples: Vec<String>,
    /// The file that defined it, for error messages.
    pub file: String,
}

/// One positional argument of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentSpec {
    /// Lowercase, at most 32 characters: it is also the Discord option's name.
    pub name: String,
    pub kind: ArgumentKind,
    pub required: bool,
    /// The accepted words of a `choice` or `integration` argument, lowercase.
    pub allowed: Vec<String>,
    /// What else a `choice` accepts when no allowed word matches (`controls CC6.1`).
    pub also: Option<ArgumentKind>,
    /// What an omitted optional `choice` means.
    pub default: Option<String>,
    /// One line, at most 100 characters.
    pub help: String,
}

/// The validated command files, in listing order (by group, then by [`CommandName::ALL`]).
#[derive(Debug, Clone)]
pub struct CommandSet {
    specs: Vec<CommandSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandFileError {
    /// Not TOML, or not the expected shape (an unknown key, a name with no typed variant, …).
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("the command files are invalid:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    name: CommandName,
    group: Group,
    summary: String,
    usage: String,
    role: Role,
    examples: Vec<String>,
    #[serde(default, rename = "argument")]
    arguments: Vec<RawArgument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArgument {
    name: String,
    kind: ArgumentKind,
    required: bool,
    #[serde(default)]
    allowed: Vec<String>,
    also: Option<ArgumentKind>,
    default: Option<String>,
    help: String,
}

static BUILTIN: LazyLock<CommandSet> = LazyLock::new(|| {
    let files = BUILTIN_COMMAND_FILES
        .iter()
        .map(|(name, text)| (format!("commands/{name}"), (*text).to_owned()));
    // The files are compiled in and validated by a test, so this cannot fail in a built binary.
    CommandSet::from_files(files).unwrap_or_else(|error| panic!("{error}"))
});

impl CommandSet {
    /// The commands compiled into this binary.
    pub fn builtin() -> &'static CommandSet {
        &BUILTIN
    }

    /// Parses and validates command files given as (file name, TOML text).
    pub(crate) fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<CommandSet, CommandFileError> {
        let mut specs: Vec<CommandSpec> = Vec::new();
        let mut problems = Vec::new();
        // Name → defining file, including files that fail validation, so a broken file is
        // reported as broken rather than as missing.
        let mut defined: BTreeMap<CommandName, String> = BTreeMap::new();
        for (file, text) in files {
            let raw: RawCommand = toml::from_str(&text).map_err(|e| CommandFileError::Parse {
                file: file.clone(),
                message: e.to_string(),
            })?;
            if let Some(first) = defined.insert(raw.name, file.clone()) {
                problems.push(format!(
                    "{file}: command {} is already defined in {first}",
                    raw.name.as_str()
                ));
                continue;
            }
            match validate(raw, &file) {
                Ok(spec) => specs.push(spec),
                Err(messages) => {
                    problems.extend(messages.into_iter().map(|m| format!("{file}: {m}")))
                }
            }
        }
        for name in CommandName::ALL {
            if !defined.contains_key(&name) {
                problems.push(format!(
                    "commands/{}.toml is missing: every command needs a file",
                    name.as_str()
                ));
            }
        }
        if !problems.is_empty() {
            return Err(CommandFileError::Invalid { problems });
        }
        specs.sort_by_key(|s| (s.group, s.name));
        Ok(CommandSet { specs })
    }

    /// Every command, in listing order.
    pub fn all(&self) -> &[CommandSpec] {
        &self.specs
    }

    pub fn get(&self, name: CommandName) -> &CommandSpec {
        self.specs.iter().find(|s| s.name == name).expect("every command has a file (validated)")
    }

    /// The command named `typed`, any case.
    pub fn find(&self, typed: &str) -> Option<&CommandSpec> {
        self.specs.iter().find(|s| s.name.as_str().eq_ignore_ascii_case(typed))
    }

    /// Command names closest to a mistyped one, best first, for "did you mean" answers.
    pub fn suggest(&self, typed: &str) -> Vec<&'static str> {
        let typed = typed.to_lowercase();
        crate::suggest::closest(
            self.specs
                .iter()
                .map(|s| (strsim::jaro_winkler(&typed, s.name.as_str()), s.name.as_str())),
        )
    }
}

/// Turns a raw file into a command, or lists everything wrong with it.
fn validate(raw: RawCommand, file: &str) -> Result<CommandSpec, Vec<String>> {
    let mut problems = Vec::new();
    let name = raw.name.as_str();
    let prefix = format!("/kushim {name}");

    check_line("summary", &raw.summary, &mut problems);
    let usage_tokens: Vec<&str> = match raw.usage.strip_prefix(&prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with(' ') => rest.split_whitespace().collect(),
        _ => {
            problems.push(format!("usage must start with `{prefix}`"));
            Vec::new()
        }
    };
    if raw.examples.is_empty() {
        problems.push("examples must list at least one command line".into());
    }
    for example in &raw.examples {
        if !(example == &prefix || example.starts_with(&format!("{prefix} "))) {
            problems.push(format!("example {example:?} must start with `{prefix}`"));
        }
    }

    let mut seen = BTreeSet::new();
    let mut optional_seen = false;
    for argument in &raw.arguments {
        let problem = |message: String| format!("argument {:?}: {message}", argument.name);
        let mut argument_problems = Vec::new();
        if !is_valid_name(&argument.name) {
            argument_problems.push(format!(
                "name must be lowercase letters, digits, `-` or `_`, at most {MAX_NAME} characters"
            ));
        }
        if !seen.insert(argument.name.as_str()) {
            argument_problems.push("is defined twice".into());
        }
        if argument.required && optional_seen {
            argument_problems.push(
                "a required argument cannot follow an optional one: they are positional".into(),
            );
        }
        optional_seen |= !argument.required;
        check_line("help", &argument.help, &mut argument_problems);
        check_kind(argument, &mut argument_problems);
        problems.extend(argument_problems.into_iter().map(problem));
    }
    if usage_tokens.len() != raw.arguments.len() {
        problems.push(format!(
            "usage shows {} argument(s) but {} are defined",
            usage_tokens.len(),
            raw.arguments.len()
        ));
    } else {
        for (token, argument) in usage_tokens.iter().zip(&raw.arguments) {
            let bracketed = token.starts_with('[') && token.ends_with(']');
            if bracketed == argument.required {
                let should = if argument.required { "not be" } else { "be" };
                problems.push(format!(
                    "usage token `{token}` for argument {:?} should {should} in [brackets]",
                    argument.name
                ));
            }
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CommandSpec {
        name: raw.name,
        group: raw.group,
        summary: raw.summary,
        usage: raw.usage,
        role: raw.role,
        arguments: raw
            .arguments
            .into_iter()
            .map(|a| ArgumentSpec {
                name: a.name,
                kind: a.kind,
                required: a.required,
                allowed: a.allowed,
                also: a.also,
                default: a.default,
                help: a.help,
            })
            .collect(),
        examples: raw.examples,
        file: file.to_owned(),
    })
}

/// The keys that only some kinds take (`allowed`, `also`, `default`) are where they belong.
fn check_kind(argument: &RawArgument, problems: &mut Vec<String>) {
    let takes_allowed = matches!(argument.kind, ArgumentKind::Choice | ArgumentKind::Integration);
    if takes_allowed && argument.allowed.is_empty() {
        problems.push("`allowed` must list the accepted words".into());
    }
    if !takes_allowed && !argument.allowed.is_empty() {
        problems.push("only choice and integration arguments take `allowed`".into());
    }
    for word in &argument.allowed {
        if word.is_empty() || word.chars().any(|c| !(c.is_ascii_lowercase() || c == '-')) {
            problems.push(format!("allowed word {word:?} must be lowercase letters or `-`"));
        }
        if argument.kind == ArgumentKind::Integration && Integration::parse(word).is_none() {
            problems.push(format!("{word:?} is not an integration Kushim knows"));
        }
    }
    match (argument.kind, argument.also) {
        (_, None) => {}
        (ArgumentKind::Choice, Some(ArgumentKind::Criterion)) => {}
        (ArgumentKind::Choice, Some(_)) => {
            problems.push("`also` may only be \"criterion\"".into());
        }
        (_, Some(_)) => problems.push("only choice arguments take `also`".into()),
    }
    if let Some(default) = &argument.default {
        if argument.kind != ArgumentKind::Choice || argument.required {
            problems.push("only optional choice arguments take a `default`".into());
        } else if !argument.allowed.contains(default) {
            problems.push(format!("default {default:?} is not one of `allowed`"));
        }
    }
}

fn check_line(field: &str, value: &str, problems: &mut Vec<String>) {
    if value.trim().is_empty() {
        problems.push(format!("{field} must not be empty"));
    }
    if value.contains('\n') {
        problems.push(format!("{field} must be one line"));
    }
    if value.chars().count() > MAX_DESCRIPTION {
        problems.push(format!(
            "{field} is {} characters; at most {MAX_DESCRIPTION} fit a Discord description",
            value.chars().count()
        ));
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
