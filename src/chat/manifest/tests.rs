use std::{fs, path::Path};

use serde_json::{Value, json};

use super::*;
use crate::chat::commands::CommandName;

const BASE_URL: &str = "https://kushim.example.com";

fn repo_file(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn json_file(path: &str) -> Value {
    serde_json::from_str(&repo_file(path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

#[test]
fn the_checked_in_manifests_are_what_the_command_files_generate() {
    let cases = [
        (
            "manifest/slack.json",
            slack_manifest(BASE_URL),
            format!("cargo run -- manifest slack --base-url {BASE_URL} > manifest/slack.json"),
        ),
        (
            "manifest/discord.json",
            discord_commands(),
            "cargo run -- manifest discord > manifest/discord.json".to_owned(),
        ),
    ];
    for (path, generated, regenerate) in cases {
        assert!(
            repo_file(path) == to_file_text(&generated),
            "{path} is out of date with commands/ and src/chat/manifest.rs; regenerate it:\n\n    \
             {regenerate}\n"
        );
    }
}

/// Slack's official schema, offline: the top-level schema picks a versioned part by
/// `_metadata.major_version` and refers to it by its published URL, so the local copies are
/// registered under those URLs (as `shared/specs/slack-manifest/validate.py` does) and nothing is
/// fetched.
fn slack_schema_errors(manifest: &Value) -> Vec<String> {
    let dir = "tests/fixtures/slack-manifest-schema";
    let top = json_file(&format!("{dir}/manifest.schema.json"));
    let mut parts = Vec::new();
    for version in ["1.0.0", "2.0.0"] {
        let part = json_file(&format!("{dir}/manifest.schema.{version}.json"));
        for tag in ["v0.5.0", "main"] {
            let url = format!(
                "https://raw.githubusercontent.com/slackapi/manifest-schema/{tag}/schemas/manifest.schema.{version}.json"
            );
            parts.push((url, jsonschema::Resource::from_contents(part.clone())));
        }
    }
    let registry = jsonschema::Registry::new()
        .extend(parts)
        .and_then(|builder| builder.prepare())
        .expect("the schema parts register");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .with_registry(&registry)
        .offline()
        .build(&top)
        .expect("Slack's schema compiles");
    validator.iter_errors(manifest).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn the_slack_manifest_validates_against_slacks_official_schema() {
    let errors = slack_schema_errors(&json_file("manifest/slack.json"));
    assert!(errors.is_empty(), "manifest/slack.json is invalid:\n{}", errors.join("\n"));
}

/// The schema check is not vacuous: the same validator rejects what Slack would.
#[test]
fn the_slack_schema_check_rejects_a_broken_manifest() {
    let mut manifest = slack_manifest(BASE_URL);
    manifest["features"]["slash_commands"][0]["command"] = json!("kushim");
    assert!(!slack_schema_errors(&manifest).is_empty(), "a command without its slash");

    let mut manifest = slack_manifest(BASE_URL);
    manifest["settings"]["interactivity"] = json!({ "request_url": "https://x.example" });
    assert!(!slack_schema_errors(&manifest).is_empty(), "interactivity without is_enabled");
}

#[test]
fn the_slack_manifest_points_every_endpoint_at_the_base_url() {
    let manifest = slack_manifest("https://kushim.example.com/prefix/");
    let command = &manifest["features"]["slash_commands"][0];
    assert_eq!(command["url"], "https://kushim.example.com/prefix/slack/commands");
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["request_url"],
        "https://kushim.example.com/prefix/slack/events"
    );
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        "https://kushim.example.com/prefix/slack/interactions"
    );
    let hint = command["usage_hint"].as_str().expect("a usage hint");
    for name in CommandName::ALL {
        assert!(hint.contains(name.spec().usage.trim_start_matches("/kushim ")), "{hint}");
    }
}

/// Discord rejects a command whose names or descriptions break its limits, so they are checked
/// here rather than at registration.
#[test]
fn the_discord_commands_respect_discords_limits() {
    let commands = discord_commands();
    let commands = commands.as_array().expect("an array of commands");
    assert_eq!(commands.len(), 1, "one /kushim command");
    let kushim = &commands[0];
    assert_eq!(kushim["type"], 1, "CHAT_INPUT");

    let subcommands = kushim["options"].as_array().expect("sub-commands");
    assert_eq!(subcommands.len(), CommandName::ALL.len());
    assert!(subcommands.iter().all(|s| s["type"] == 1), "SUB_COMMAND");

    let mut combined = 0;
    check_discord_limits(kushim, &mut combined);
    assert!(combined <= 4000, "names, descriptions and choices total {combined} > 4000");
}

/// Checks one command or option and everything under it, adding up the characters that count
/// towards Discord's 4,000-character total.
fn check_discord_limits(item: &Value, combined: &mut usize) {
    let name = item["name"].as_str().expect("a name");
    let description = item["description"].as_str().expect("a description");
    assert!(
        (1..=32).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
        "name {name:?}"
    );
    assert!((1..=100).contains(&description.chars().count()), "description of {name}");
    *combined += name.chars().count() + description.chars().count();

    if let Some(choices) = item.get("choices").and_then(Value::as_array) {
        assert!(choices.len() <= 25, "choices of {name}");
        for choice in choices {
            let (choice_name, value) = (choice["name"].as_str(), choice["value"].as_str());
            let (choice_name, value) = (choice_name.expect("a name"), value.expect("a value"));
            assert!((1..=100).contains(&choice_name.chars().count()), "choice of {name}");
            assert!(value.chars().count() <= 100, "choice value of {name}");
            *combined += choice_name.chars().count() + value.chars().count();
        }
    }
    if let Some(options) = item.get("options").and_then(Value::as_array) {
        assert!(options.len() <= 25, "options of {name}");
        // Discord requires required options before optional ones.
        let required: Vec<bool> = options.iter().map(|o| o["required"] == true).collect();
        assert!(required.windows(2).all(|w| w[0] || !w[1]), "option order of {name}");
        for option in options {
            check_discord_limits(option, combined);
        }
    }
}

#[test]
fn discord_options_are_typed_by_argument_kind() {
    let commands = discord_commands();
    let subcommand = |name: &str| -> Value {
        commands[0]["options"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no sub-command {name}"))
    };
    assert_eq!(
        subcommand("subscribe")["options"],
        json!([
            {
                "type": 7,
                "name": "channel",
                "description": "The channel to post in, such as #security",
                "required": true,
                "channel_types": [0, 5],
            },
            {
                "type": 3,
                "name": "feed",
                "description": "alerts: controls as they start failing; digest: the periodic summary",
                "required": true,
                "choices": [
                    { "name": "alerts", "value": "alerts" },
                    { "name": "digest", "value": "digest" },
                ],
            },
        ])
    );
    // A choice that also takes a criterion cannot be limited to its words.
    let filter = &subcommand("controls")["options"][0];
    assert_eq!((filter["type"].clone(), filter.get("choices")), (json!(3), None));
    assert_eq!(subcommand("help")["options"][0]["choices"].as_array().map(Vec::len), Some(13));
    assert_eq!(subcommand("status").get("options"), None);
}
