use super::{spec::BUILTIN_COMMAND_FILES, *};
use crate::{catalog::Catalog, integrations::Integration};

fn catalog() -> Catalog {
    Catalog::builtin().expect("the built-in catalog is valid")
}

fn parsed(text: &str) -> Result<Command, ParseError> {
    parse(text, &catalog())
}

fn builtin_files() -> Vec<(String, String)> {
    BUILTIN_COMMAND_FILES
        .iter()
        .map(|(name, text)| (format!("commands/{name}"), (*text).to_owned()))
        .collect()
}

/// The built-in files with one of them replaced by `text`.
fn files_with(name: &str, text: &str) -> Vec<(String, String)> {
    let file = format!("commands/{name}");
    let mut files: Vec<_> = builtin_files().into_iter().filter(|(f, _)| f != &file).collect();
    files.push((file, text.to_owned()));
    files
}

fn problems(files: Vec<(String, String)>) -> Vec<String> {
    match CommandSet::from_files(files) {
        Err(CommandFileError::Invalid { problems }) => problems,
        other => panic!("expected validation problems, got {other:?}"),
    }
}

const VALID_HELP: &str = r#"
name = "help"
group = "help"
summary = "List what Kushim can do, or explain one command"
usage = "/kushim help [command]"
role = "viewer"
examples = ["/kushim help"]

[[argument]]
name = "command"
kind = "command"
required = false
help = "The command to explain"
"#;

#[test]
fn the_builtin_command_files_are_valid() {
    let set = CommandSet::from_files(builtin_files()).expect("commands/*.toml are valid");
    assert_eq!(set.all().len(), CommandName::ALL.len());
}

#[test]
fn every_command_name_has_a_file_named_after_it_and_every_file_a_name() {
    let files: Vec<&str> = BUILTIN_COMMAND_FILES.iter().map(|(name, _)| *name).collect();
    let mut expected: Vec<String> =
        CommandName::ALL.iter().map(|name| format!("{}.toml", name.as_str())).collect();
    expected.sort();
    assert_eq!(files, expected);
    for name in CommandName::ALL {
        assert_eq!(name.spec().name, name);
        assert_eq!(name.spec().file, format!("commands/{}.toml", name.as_str()));
    }
}

#[test]
fn a_file_for_a_command_with_no_typed_variant_is_an_error_naming_the_file() {
    let text = VALID_HELP.replace("name = \"help\"", "name = \"deploy\"");
    let error = CommandSet::from_files(files_with("deploy.toml", &text)).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("commands/deploy.toml: "), "{message}");
    assert!(message.contains("unknown variant `deploy`"), "{message}");
}

#[test]
fn an_unknown_key_is_an_error_naming_the_file_and_the_key() {
    let text = VALID_HELP.replace("role = \"viewer\"", "role = \"viewer\"\nalias = \"h\"");
    let message = CommandSet::from_files(files_with("help.toml", &text)).unwrap_err().to_string();
    assert!(message.starts_with("commands/help.toml: "), "{message}");
    assert!(message.contains("unknown field `alias`"), "{message}");

    let text = VALID_HELP.replace("required = false", "required = false\noptional = true");
    let message = CommandSet::from_files(files_with("help.toml", &text)).unwrap_err().to_string();
    assert!(message.starts_with("commands/help.toml: "), "{message}");
    assert!(message.contains("unknown field `optional`"), "{message}");
}

#[test]
fn a_missing_or_duplicated_file_is_named() {
    let files: Vec<_> =
        builtin_files().into_iter().filter(|(f, _)| f != "commands/digest.toml").collect();
    assert_eq!(problems(files), ["commands/digest.toml is missing: every command needs a file"]);

    let mut files = builtin_files();
    files.push(("commands/help-again.toml".into(), VALID_HELP.into()));
    assert_eq!(
        problems(files),
        ["commands/help-again.toml: command help is already defined in commands/help.toml"]
    );
}

#[test]
fn validation_lists_every_problem_of_a_file() {
    let text = r#"
name = "subscribe"
group = "channels"
summary = "Post alerts or the digest to a channel, and this summary goes on for far too long for Discord to show"
usage = "/kushim subscribe [#channel]"
role = "admin"
examples = ["subscribe #security alerts"]

[[argument]]
name = "Channel"
kind = "channel"
required = false
allowed = ["general"]
help = "The channel"

[[argument]]
name = "feed"
kind = "choice"
allowed = ["alerts", "Digest"]
also = "channel"
default = "alerts"
required = true
help = ""
"#;
    assert_eq!(
        problems(files_with("subscribe.toml", text)),
        [
            "commands/subscribe.toml: summary is 101 characters; at most 100 fit a Discord description",
            "commands/subscribe.toml: example \"subscribe #security alerts\" must start with `/kushim subscribe`",
            "commands/subscribe.toml: argument \"Channel\": name must be lowercase letters, digits, `-` or `_`, at most 32 characters",
            "commands/subscribe.toml: argument \"Channel\": only choice and integration arguments take `allowed`",
            "commands/subscribe.toml: argument \"feed\": a required argument cannot follow an optional one: they are positional",
            "commands/subscribe.toml: argument \"feed\": help must not be empty",
            "commands/subscribe.toml: argument \"feed\": allowed word \"Digest\" must be lowercase letters or `-`",
            "commands/subscribe.toml: argument \"feed\": `also` may only be \"criterion\"",
            "commands/subscribe.toml: argument \"feed\": only optional choice arguments take a `default`",
            "commands/subscribe.toml: usage shows 1 argument(s) but 2 are defined",
        ]
    );
}

#[test]
fn usage_brackets_must_match_whether_an_argument_is_required() {
    let text = VALID_HELP.replace("[command]", "command");
    assert_eq!(
        problems(files_with("help.toml", &text)),
        [
            "commands/help.toml: usage token `command` for argument \"command\" should be in [brackets]"
        ]
    );
    let text = VALID_HELP.replace(
        "kind = \"command\"",
        "kind = \"integration\"\nallowed = [\"github\", \"gitlab\"]",
    );
    assert_eq!(
        problems(files_with("help.toml", &text)),
        ["commands/help.toml: argument \"command\": \"gitlab\" is not an integration Kushim knows"]
    );
}

#[test]
fn every_example_parses_to_its_own_command() {
    let catalog = catalog();
    for spec in CommandSet::builtin().all() {
        for example in &spec.examples {
            match parse(example, &catalog) {
                Ok(command) => assert_eq!(command.name(), spec.name, "{example}"),
                Err(error) => {
                    panic!("{}: example {example:?} does not parse: {error:?}", spec.file)
                }
            }
        }
    }
}

/// Words each kind of argument accepts, one of each form.
fn samples(argument: &ArgumentSpec) -> Vec<String> {
    let mut words: Vec<String> = match argument.kind {
        ArgumentKind::ControlId => vec!["AC-01".into(), "gov-01".into()],
        ArgumentKind::Criterion => vec!["CC6.1".into()],
        ArgumentKind::Channel => {
            vec!["<#C123ABC|security>".into(), "#security".into(), "C123ABC".into()]
        }
        ArgumentKind::Integration | ArgumentKind::Choice => argument.allowed.clone(),
        ArgumentKind::Command => CommandName::ALL.iter().map(|n| n.as_str().into()).collect(),
    };
    if argument.also == Some(ArgumentKind::Criterion) {
        words.push("cc6.1".into());
    }
    words
}

/// The typed variant reads every argument its file declares, in every form, and only those: a
/// file and its variant cannot disagree (the parser would panic on a mismatch).
#[test]
fn every_argument_of_every_file_is_understood_by_its_variant() {
    let catalog = catalog();
    for spec in CommandSet::builtin().all() {
        let mut lines = vec![spec.name.as_str().to_owned()];
        for argument in &spec.arguments {
            let filled = lines.clone();
            lines = samples(argument)
                .iter()
                .flat_map(|word| filled.iter().map(move |line| format!("{line} {word}")))
                .collect();
            if !argument.required {
                lines.extend(filled);
            }
        }
        for line in lines {
            let parsed = parse(&line, &catalog);
            assert!(parsed.as_ref().is_ok_and(|c| c.name() == spec.name), "{line}: {parsed:?}");
        }
    }
}

#[test]
fn commands_parse_into_typed_values_with_ids_as_the_catalog_spells_them() {
    let channel = |id: &str, name: Option<&str>| ChannelRef::Id {
        id: id.into(),
        name: name.map(str::to_owned),
    };
    let cases: Vec<(&str, Command)> = vec![
        ("", Command::Help { command: None }),
        (" \t ", Command::Help { command: None }),
        ("status", Command::Status),
        ("  STATUS  ", Command::Status),
        ("/kushim status", Command::Status),
        ("controls", Command::Controls { filter: ControlsFilter::All }),
        ("controls Failing", Command::Controls { filter: ControlsFilter::Failing }),
        ("controls all", Command::Controls { filter: ControlsFilter::All }),
        ("controls cc6.1", Command::Controls { filter: ControlsFilter::Criterion("CC6.1".into()) }),
        ("Control ac-01", Command::Control { id: "AC-01".into() }),
        ("evidence gov-01", Command::Evidence { id: "GOV-01".into() }),
        ("collect", Command::Collect { integration: None }),
        ("collect GitHub", Command::Collect { integration: Some(Integration::GitHub) }),
        ("collect okta", Command::Collect { integration: Some(Integration::Okta) }),
        ("collect slack", Command::Collect { integration: Some(Integration::Slack) }),
        ("ticket AC-01", Command::Ticket { id: "AC-01".into() }),
        ("except vm-03", Command::Except { id: "VM-03".into() }),
        ("exceptions", Command::Exceptions),
        ("digest", Command::Digest),
        (
            "subscribe <#C123ABC|security> alerts",
            Command::Subscribe {
                channel: channel("C123ABC", Some("security")),
                feed: Feed::Alerts,
            },
        ),
        (
            "subscribe <#C123ABC|> DIGEST",
            Command::Subscribe { channel: channel("C123ABC", None), feed: Feed::Digest },
        ),
        (
            "subscribe #Security digest",
            Command::Subscribe { channel: ChannelRef::Name("security".into()), feed: Feed::Digest },
        ),
        (
            "subscribe   G0PRIVATE1   alerts",
            Command::Subscribe { channel: channel("G0PRIVATE1", None), feed: Feed::Alerts },
        ),
        (
            "unsubscribe <#C123ABC> alerts",
            Command::Unsubscribe { channel: channel("C123ABC", None), feed: Feed::Alerts },
        ),
        ("help", Command::Help { command: None }),
        ("help Control", Command::Help { command: Some(CommandName::Control) }),
    ];
    for (text, expected) in cases {
        assert_eq!(parsed(text), Ok(expected), "{text:?}");
    }
}

#[test]
fn mistakes_parse_into_structured_errors() {
    let cases: Vec<(&str, ParseError)> = vec![
        (
            "stauts",
            ParseError::UnknownCommand {
                typed: "stauts".into(),
                did_you_mean: vec!["status".into()],
            },
        ),
        ("deploy", ParseError::UnknownCommand { typed: "deploy".into(), did_you_mean: vec![] }),
        (
            "help stauts",
            ParseError::UnknownCommand {
                typed: "stauts".into(),
                did_you_mean: vec!["status".into()],
            },
        ),
        (
            "control",
            ParseError::MissingArgument {
                command: CommandName::Control,
                argument: "id".into(),
                usage: "/kushim control <ID>".into(),
            },
        ),
        (
            "subscribe #security",
            ParseError::MissingArgument {
                command: CommandName::Subscribe,
                argument: "feed".into(),
                usage: "/kushim subscribe #channel alerts|digest".into(),
            },
        ),
        (
            "control AC-1",
            ParseError::UnknownControl {
                typed: "AC-1".into(),
                suggestions: catalog().suggest("AC-1").into_iter().map(str::to_owned).collect(),
            },
        ),
        ("controls CC9.9", ParseError::UnknownCriterion { typed: "CC9.9".into() }),
        (
            "controls failng",
            ParseError::InvalidChoice {
                command: CommandName::Controls,
                argument: "filter".into(),
                typed: "failng".into(),
                allowed: vec!["failing".into(), "all".into()],
            },
        ),
        (
            "collect jira",
            ParseError::InvalidChoice {
                command: CommandName::Collect,
                argument: "integration".into(),
                typed: "jira".into(),
                allowed: vec!["github".into(), "aws".into(), "okta".into(), "slack".into()],
            },
        ),
        (
            "subscribe #security alert",
            ParseError::InvalidChoice {
                command: CommandName::Subscribe,
                argument: "feed".into(),
                typed: "alert".into(),
                allowed: vec!["alerts".into(), "digest".into()],
            },
        ),
        (
            "status now",
            ParseError::UnexpectedArgument {
                command: CommandName::Status,
                extra: "now".into(),
                usage: "/kushim status".into(),
            },
        ),
        (
            "control AC-01   AC-02 please",
            ParseError::UnexpectedArgument {
                command: CommandName::Control,
                extra: "AC-02 please".into(),
                usage: "/kushim control <ID>".into(),
            },
        ),
        (
            "subscribe general alerts",
            ParseError::InvalidChannel { command: CommandName::Subscribe, typed: "general".into() },
        ),
        (
            "unsubscribe <#> alerts",
            ParseError::InvalidChannel { command: CommandName::Unsubscribe, typed: "<#>".into() },
        ),
        (
            "subscribe c123abc alerts",
            ParseError::InvalidChannel { command: CommandName::Subscribe, typed: "c123abc".into() },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parsed(text), Err(expected), "{text:?}");
    }
    assert!(!catalog().suggest("AC-1").is_empty(), "the AC-1 case shows suggestions");
}

#[test]
fn a_mention_of_the_bot_is_parsed_from_what_follows_it() {
    let catalog = catalog();
    let mention = |text: &str, bot: &str| parse_mention(text, bot, &catalog);
    assert_eq!(mention("<@U0KUSHIM> status", "U0KUSHIM"), Some(Ok(Command::Status)));
    assert_eq!(
        mention("hey <@U0KUSHIM>: control ac-01", "U0KUSHIM"),
        Some(Ok(Command::Control { id: "AC-01".into() }))
    );
    assert_eq!(mention("<@U0KUSHIM|kushim>,   digest", "U0KUSHIM"), Some(Ok(Command::Digest)));
    assert_eq!(
        mention("<@U0ALICE> can you ask <@U0KUSHIM> exceptions", "U0KUSHIM"),
        Some(Ok(Command::Exceptions))
    );
    assert_eq!(mention("<@U0KUSHIM>", "U0KUSHIM"), Some(Ok(Command::Help { command: None })));
    assert_eq!(mention("<@!4242> status", "4242"), Some(Ok(Command::Status)));
    assert_eq!(mention("<@4242> status", "4242"), Some(Ok(Command::Status)));
    assert_eq!(
        mention("<@U0KUSHIM> stauts", "U0KUSHIM"),
        Some(Err(ParseError::UnknownCommand {
            typed: "stauts".into(),
            did_you_mean: vec!["status".into()]
        }))
    );
    assert_eq!(mention("<@U0ALICE> status", "U0KUSHIM"), None);
    assert_eq!(mention("status", "U0KUSHIM"), None);
    assert_eq!(mention("<@U0KUSHIM status", "U0KUSHIM"), None);
}

#[test]
fn roles_come_from_the_files_and_are_ordered() {
    assert!(Role::Viewer < Role::Responder && Role::Approver < Role::Admin);
    assert_eq!(Command::Status.role(), Role::Viewer);
    assert_eq!(Command::Collect { integration: None }.role(), Role::Responder);
    assert_eq!(
        Command::Subscribe { channel: ChannelRef::Name("security".into()), feed: Feed::Alerts }
            .role(),
        Role::Admin
    );
}
