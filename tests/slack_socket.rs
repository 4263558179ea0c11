//! Socket Mode: Kushim opens the connection itself (`apps.connections.open` with the app-level
//! token) and answers slash commands, forms and events arriving as envelopes, with the same
//! handlers as the HTTP endpoints. The fake Slack plays Slack's side of the WebSocket.

mod support;

use std::sync::Arc;

use chrono::Utc;
use kushim::{
    chat::{bot::Bot, roles::Roles, slack::SlackWebApi},
    collection::Targets,
    config::{Config, Secret, SlackRoles},
    engine::Engine,
    sandbox::slack::{
        self,
        server::{APP_TOKEN, BOT_TOKEN},
    },
    server::socket,
    store::Backend,
};
use serde_json::json;
use support::TestDb;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn commands_forms_and_events_arrive_over_socket_mode() {
    kushim::chat::slack::install_crypto_provider();
    let db = TestDb::new(Backend::Sqlite).await;
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let fake = slack::start().await.unwrap();
    let client = SlackWebApi::new(&fake.api_url(), &Secret::new(BOT_TOKEN)).unwrap();
    let roles =
        Roles::new(&SlackRoles { responders: vec!["URESPONDER".into()], ..SlackRoles::default() });
    let bot = Bot::new(engine, Some(client.clone()), roles, Targets::default(), Arc::new(Utc::now));
    let stop = CancellationToken::new();
    let running = tokio::spawn({
        let (bot, stop) = (bot.clone(), stop.clone());
        async move { socket::run(bot, &client, &Secret::new(APP_TOKEN), stop.cancelled_owned()).await }
    });

    // A slash command is answered in the acknowledgement itself.
    let ack = fake
        .deliver_over_socket("slash_commands", json!({
            "token": "x", "team_id": "T1", "team_domain": "acme", "channel_id": "C1",
            "channel_name": "security", "user_id": "U1", "user_name": "ann", "command": "/kushim",
            "text": "status", "api_app_id": "A1", "is_enterprise_install": "false",
            "response_url": fake.response_url("socket-cmd"), "trigger_id": "1.2.3",
        }))
        .await;
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    assert!(ack["text"].as_str().unwrap().starts_with("SOC 2 posture: "), "{ack}");
    let connection = &fake.calls_to("apps.connections.open")[0];
    assert_eq!(connection.method, "apps.connections.open");

    // A form with errors gets them back in the acknowledgement.
    let ack = fake
        .deliver_over_socket("interactive", json!({
            "type": "view_submission", "team": { "id": "T1", "domain": "acme" },
            "user": { "id": "URESPONDER", "team_id": "T1" }, "api_app_id": "A1", "token": "x",
            "trigger_id": "1.2.3",
            "view": {
                "id": "V1", "team_id": "T1", "type": "modal", "callback_id": "exception_request",
                "private_metadata": "AC-02|C1", "hash": "h", "app_id": "A1", "bot_id": "B1",
                "title": { "type": "plain_text", "text": "Request exception" },
                "blocks": [],
                "state": { "values": {
                    "reason": { "value": { "type": "plain_text_input", "value": "" } },
                    "expires_on": { "value": { "type": "datepicker", "selected_date": "2099-01-01" } },
                } },
            },
        }))
        .await;
    assert_eq!(ack["response_action"], "errors", "{ack}");
    assert!(ack["errors"]["reason"].as_str().unwrap().contains("Say why"), "{ack}");

    // A mention arrives as an Events API envelope and is answered in its thread.
    fake.deliver_over_socket("events_api", json!({
        "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": "Ev0SOCKET1", "event_time": 1750000000,
        "event": {
            "type": "app_mention", "user": "U1", "text": "<@UKUSHIMBOT> help",
            "ts": "1750000000.000300", "channel": "C1", "event_ts": "1750000000.000300",
        },
        "authorizations": [{ "team_id": "T1", "user_id": "UKUSHIMBOT", "is_bot": true, "is_enterprise_install": false }],
    }))
    .await;
    let answer = &fake.wait_for("chat.postMessage", 1).await[0];
    assert_eq!(answer.body["thread_ts"], "1750000000.000300");
    assert!(answer.text().contains("Here is what I can do."), "{}", answer.text());

    stop.cancel();
    running.await.unwrap().expect("Socket Mode stops cleanly");
}
