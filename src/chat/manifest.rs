//! The Slack app manifest and the Discord command definitions, generated from the command files so
//! the platforms offer exactly what the parser accepts. Both are checked in (`manifest/slack.json`,
//! `manifest/discord.json`) and a test fails when they drift; `kushim manifest slack|discord`
//! prints them.

use serde_json::{Value, json};

use crate::chat::{
    commands::{ArgumentKind, ArgumentSpec, CommandSet, CommandSpec},
    text,
};

/// The bot token's scopes, each for a reason.
const SLACK_BOT_SCOPES: &[&str] = &[
    // The /kushim slash command.
    "commands",
    // Replies, alerts and digests, and updating them in place.
    "chat:write",
    // Posting to a subscribed public channel without being invited first.
    "chat:write.public",
    // `@Kushim <command>` mentions.
    "app_mentions:read",
    // Who typed or clicked: roles and the audit log.
    "users:read",
    // Roles granted to user groups.
    "usergroups:read",
    // Direct messages, such as an exception awaiting an approver.
    "im:write",
    // Finding the channel typed as `#name` in `/kushim subscribe`.
    "channels:read",
];

/// The events Kushim subscribes to.
const SLACK_BOT_EVENTS: &[&str] = &["app_home_opened", "app_mention"];

/// Discord application command and option types.
const DISCORD_CHAT_INPUT: u8 = 1;
const DISCORD_SUB_COMMAND: u8 = 1;
const DISCORD_STRING: u8 = 3;
const DISCORD_CHANNEL: u8 = 7;
/// Discord channel types a subscription may post to: text and announcement channels.
const DISCORD_POSTABLE_CHANNELS: [u8; 2] = [0, 5];

/// The Slack app manifest (major version 1) for a server reachable at `base_url`, which
/// serves `/slack/commands`, `/slack/events` and `/slack/interactions`.
pub fn slack_manifest(base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": text::APP_NAME,
            "description": text::APP_DESCRIPTION,
            "long_description": text::APP_LONG_DESCRIPTION,
            "background_color": "#1f3a5f",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": true,
                "messages_tab_enabled": true,
                // Kushim writes to people there (approvals); it does not read direct messages.
                "messages_tab_read_only_enabled": true,
            },
            "bot_user": { "display_name": text::APP_NAME, "always_online": true },
            "slash_commands": [{
                "command": "/kushim",
                "url": format!("{base}/slack/commands"),
                "description": text::COMMAND_DESCRIPTION,
                "usage_hint": usage_hint(),
                // Escaped, a channel picked from Slack's list arrives as `<#C123ABC|security>`:
                // its id, which is what Kushim posts to. A channel typed as `#security` without
                // picking it gets a reply asking to pick it.
                "should_escape": true,
            }],
        },
        "oauth_config": { "scopes": { "bot": SLACK_BOT_SCOPES } },
        "settings": {
            "event_subscriptions": {
                "request_url": format!("{base}/slack/events"),
                "bot_events": SLACK_BOT_EVENTS,
            },
            "interactivity": {
                "is_enabled": true,
                "request_url": format!("{base}/slack/interactions"),
            },
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false,
        },
    })
}

/// Every command's usage without the `/kushim` Slack already shows:
/// `status, controls [failing|all|<criterion>], control <ID>, …`.
fn usage_hint() -> String {
    let usages: Vec<&str> = CommandSet::builtin()
        .all()
        .iter()
        .map(|spec| spec.usage.trim_start_matches("/kushim ").trim())
        .collect();
    usages.join(", ")
}

/// Discord's application commands, as the bulk-overwrite endpoint takes them: one `kushim`
/// chat-input command with a sub-command per command file and typed options for its arguments.
pub fn discord_commands() -> Value {
    let subcommands: Vec<Value> =
        CommandSet::builtin().all().iter().map(discord_subcommand).collect();
    json!([{
        "name": "kushim",
        "type": DISCORD_CHAT_INPUT,
        "description": text::COMMAND_DESCRIPTION,
        "options": subcommands,
    }])
}

fn discord_subcommand(spec: &CommandSpec) -> Value {
    let mut subcommand = json!({
        "type": DISCORD_SUB_COMMAND,
        "name": spec.name.as_str(),
        "description": spec.summary,
    });
    if !spec.arguments.is_empty() {
        let options: Vec<Value> = spec.arguments.iter().map(discord_option).collect();
        subcommand["options"] = Value::Array(options);
    }
    subcommand
}

fn discord_option(argument: &ArgumentSpec) -> Value {
    let channel = argument.kind == ArgumentKind::Channel;
    let mut option = json!({
        "type": if channel { DISCORD_CHANNEL } else { DISCORD_STRING },
        "name": argument.name,
        "description": argument.help,
        "required": argument.required,
    });
    if channel {
        option["channel_types"] = json!(DISCORD_POSTABLE_CHANNELS);
    }
    // Choices restrict the option to exactly these words, so a choice that also takes a
    // criterion stays free text.
    let choices: Vec<&str> = match argument.kind {
        ArgumentKind::Choice | ArgumentKind::Integration if argument.also.is_none() => {
            argument.allowed.iter().map(String::as_str).collect()
        }
        ArgumentKind::Command => {
            CommandSet::builtin().all().iter().map(|spec| spec.name.as_str()).collect()
        }
        _ => Vec::new(),
    };
    if !choices.is_empty() {
        option["choices"] =
            choices.iter().map(|word| json!({ "name": word, "value": word })).collect();
    }
    option
}

/// The JSON as the checked-in files hold it: what `kushim manifest` prints and the drift test
/// compares.
pub fn to_file_text(manifest: &Value) -> String {
    let mut text = serde_json::to_string_pretty(manifest).expect("a JSON value serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
