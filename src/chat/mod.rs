//! Chat: how Kushim talks — commands, replies, platforms.
//!
//! - [`actions`] — the buttons on Kushim's messages and who may press them.
//! - [`bot`] — what the bot does for a command, a click or a form, whatever the transport.
//! - [`roles`] — who may do what, from `[slack.roles]`.
//! - [`commands`] — the `/kushim` commands, defined once in `commands/*.toml`: the typed
//!   [`commands::Command`], its parser, and structured parse errors.
//! - [`text`] — every sentence a person reads in chat: help, and the answer to each parse error.
//! - [`reply`] — replies as blocks: arranges those sentences into Slack's Block Kit, within its
//!   limits, escaping every text.
//! - [`slack`] — Slack's Web API: post, update, modals, App Home, `response_url`.
//! - [`manifest`] — the Slack app manifest and the Discord command definitions, generated from the
//!   same command files (checked in under `manifest/`).

pub mod actions;
pub mod bot;
pub mod commands;
pub mod manifest;
pub mod reply;
pub mod roles;
pub mod slack;
pub mod text;
