//! Socket Mode: for teams without a public URL, Kushim connects out to Slack over a WebSocket
//! (`apps.connections.open` with the app-level token, `xapp-…`) and receives the same slash
//! commands, interactions and events it would over HTTP. Every envelope is handed to the same
//! handlers as the HTTP endpoints ([`super::slack`]); slack-morphism keeps the connection up
//! (reconnecting, pinging) and acknowledges each envelope with the handler's answer.
//!
//! Requests arriving this way are not signed: the connection itself, opened with the app-level
//! token over TLS, is what proves they come from Slack.

use std::{future::Future, sync::Arc};

use slack_morphism::prelude::*;

use super::slack::{self, EventAnswer, EventDelivery, Interaction, InteractionAnswer};
use crate::{
    chat::{
        bot::{Asker, Bot},
        reply::Reply,
        slack::SlackWebApi,
    },
    config::Secret,
};

#[derive(Debug, thiserror::Error)]
pub enum SocketModeError {
    #[error(
        "cannot open a Socket Mode connection (check SLACK_APP_TOKEN, an xapp- token with connections:write): {0}"
    )]
    Connect(String),
}

/// Listens for Slack over Socket Mode until `shutdown` completes, then closes the connections
/// and lets acknowledged work finish.
pub async fn run(
    bot: Bot,
    slack: &SlackWebApi,
    app_token: &Secret,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SocketModeError> {
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(slack.client())
            .with_error_handler(on_error)
            .with_user_state(bot.clone()),
    );
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    let listener = SlackClientSocketModeListener::new(
        &SlackClientSocketModeConfig::new(),
        environment,
        callbacks,
    );
    listener
        .listen_for(&SlackApiToken::new(app_token.expose().to_owned().into()))
        .await
        .map_err(|error| SocketModeError::Connect(error.to_string()))?;
    listener.start().await;
    tracing::info!("connected to Slack over Socket Mode");
    shutdown.await;
    listener.shutdown().await;
    bot.drain().await;
    Ok(())
}

fn on_error(
    error: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackHyperClient>,
    _states: SlackClientEventsUserState,
) -> HttpStatusCode {
    tracing::warn!(%error, "a Socket Mode envelope could not be handled");
    HttpStatusCode::OK
}

async fn bot_of(states: &SlackClientEventsUserState) -> Option<Bot> {
    states.read().await.get_user_state::<Bot>().cloned()
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let bot = bot_of(&states).await.ok_or("the bot is not set up")?;
    let asker = Asker {
        user: event.user_id.to_string(),
        channel: event.channel_id.to_string(),
        response_url: Some(event.response_url.value().to_string()),
        trigger_id: Some(event.trigger_id.to_string()),
    };
    let span = tracing::info_span!("slash_command", transport = "socket", user = %asker.user, channel = %asker.channel);
    let reply = tracing::Instrument::instrument(
        bot.command(&asker, event.text.as_deref().unwrap_or_default()),
        span,
    )
    .await;
    Ok(command_response(&reply)?)
}

fn command_response(reply: &Reply) -> Result<SlackCommandEventResponse, serde_json::Error> {
    let blocks: Vec<SlackBlock> = serde_json::from_value(reply.slack_blocks().into())?;
    let content = SlackMessageContent::new().with_text(reply.slack_fallback()).with_blocks(blocks);
    Ok(SlackCommandEventResponse::new(content)
        .with_response_type(SlackMessageResponseType::Ephemeral))
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let bot = bot_of(&states).await.ok_or("the bot is not set up")?;
    // Back to Slack's own JSON, then through the same reader as the HTTP endpoint.
    let interaction: Interaction = serde_json::from_value(serde_json::to_value(&event)?)?;
    Ok(match slack::handle_interaction(&bot, interaction).await {
        InteractionAnswer::Ack | InteractionAnswer::Malformed(_) => SlackInteractionResponse::Empty,
        InteractionAnswer::FormErrors(errors) => {
            let errors = errors.into_iter().map(|(block, text)| (block.to_owned(), text)).collect();
            SlackViewSubmissionResponse::Errors(SlackViewSubmissionErrorsResponse::new(errors))
                .into()
        }
    })
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let bot = bot_of(&states).await.ok_or("the bot is not set up")?;
    let mut payload = serde_json::to_value(&event)?;
    payload["type"] = "event_callback".into();
    let delivery: EventDelivery = serde_json::from_value(payload)?;
    match slack::handle_event(&bot, delivery).await {
        EventAnswer::RetryLater => Err("the event could not be recorded; Slack will retry".into()),
        EventAnswer::Ack | EventAnswer::Challenge(_) => Ok(()),
    }
}
