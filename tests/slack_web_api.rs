//! The Slack Web API client (slack-morphism underneath) against the fake Slack: what it posts is
//! what Slack would receive, and Slack's refusals come back as errors that say what to fix.

use std::time::Duration;

use kushim::{
    chat::{
        actions::Action,
        reply::{Block, Button, Reply},
        slack::{MessageRef, SlackApiError, SlackWebApi},
    },
    config::Secret,
    sandbox::slack::{self, FakeSlack},
};
use serde_json::json;

async fn slack_and_client() -> (FakeSlack, SlackWebApi) {
    let fake = slack::start().await.expect("the fake Slack starts");
    let api = SlackWebApi::new(&fake.api_url(), &Secret::new(slack::server::BOT_TOKEN))
        .expect("a client");
    (fake, api)
}

fn alert(text: &str) -> Reply {
    Reply {
        fallback: text.into(),
        blocks: vec![
            Block::Section { text: text.into(), fields: vec![] },
            Block::Actions(vec![Button::new(Action::Ticket, "AC-02")]),
        ],
    }
}

#[tokio::test]
async fn a_posted_message_can_be_updated_in_place() {
    let (fake, api) = slack_and_client().await;

    let posted = api.post_message("C0ALERTS", &alert("AC-02 is failing"), None).await.unwrap();
    api.update_message(&posted, &alert("AC-02 is passing again")).await.unwrap();

    let messages = fake.messages_in("C0ALERTS");
    assert_eq!(messages.len(), 1, "updated, not posted twice");
    assert_eq!(messages[0].ts, posted.ts);
    assert_eq!(messages[0].updates, 1);
    let update = &fake.calls_to("chat.update")[0];
    assert!(update.text().contains("AC-02 is passing again"), "{}", update.text());
    assert_eq!(update.buttons(), [("ticket".to_string(), "AC-02".to_string())]);
    let auth = fake.recorder.requests()[0].authorization.clone();
    assert_eq!(auth.as_deref(), Some("Bearer xoxb-sandbox-kushim"));
}

#[tokio::test]
async fn a_rate_limit_comes_back_with_slacks_retry_after() {
    let (fake, api) = slack_and_client().await;
    fake.rate_limit("chat.postMessage", 7, 1);

    let error = api.post_message("C1", &alert("x"), None).await.unwrap_err();
    assert!(
        matches!(error, SlackApiError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{error}"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    api.post_message("C1", &alert("x"), None).await.expect("the next try goes through");
}

#[tokio::test]
async fn refusals_say_what_to_fix() {
    let (fake, _) = slack_and_client().await;
    let wrong_token = SlackWebApi::new(&fake.api_url(), &Secret::new("xoxb-wrong")).unwrap();
    let error = wrong_token.post_message("C1", &alert("x"), None).await.unwrap_err();
    assert!(error.to_string().contains("invalid_auth"), "{error}");
    assert!(error.to_string().contains("SLACK_BOT_TOKEN"), "{error}");
    assert!(!error.to_string().contains("xoxb-wrong"), "the token is never printed: {error}");

    let (fake, api) = slack_and_client().await;
    fake.remove_channel("C0GONE");
    let error = api.post_message("C0GONE", &alert("x"), None).await.unwrap_err();
    assert!(error.to_string().contains("channel_not_found"), "{error}");
    let missing = MessageRef { channel: "C1".into(), ts: "1.000001".into() };
    let error = api.update_message(&missing, &alert("x")).await.unwrap_err();
    assert!(error.to_string().contains("message_not_found"), "{error}");
}

#[tokio::test]
async fn modals_home_tabs_and_response_urls_reach_slack() {
    let (fake, api) = slack_and_client().await;
    let modal = json!({
        "type": "modal", "callback_id": "exception_request", "private_metadata": "AC-02",
        "title": { "type": "plain_text", "text": "Request exception" },
        "submit": { "type": "plain_text", "text": "Request" },
        "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "Why?" } }],
    });
    api.open_view("trigger-1", modal).await.unwrap();
    let home = json!({ "type": "home", "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "Score 72" } }] });
    api.publish_home("U1", home).await.unwrap();
    api.respond(&fake.response_url("r1"), &alert("done"), true).await.unwrap();

    assert_eq!(fake.calls_to("views.open")[0].body["view"]["private_metadata"], "AC-02");
    assert_eq!(fake.calls_to("views.publish")[0].body["user_id"], "U1");
    let response = &fake.calls_to("response_url")[0];
    assert_eq!(response.body["replace_original"], true);
    assert!(response.text().contains("done"));
}

#[tokio::test]
async fn a_response_url_elsewhere_is_not_followed() {
    let (fake, api) = slack_and_client().await;
    for url in
        ["http://169.254.169.254/latest/meta-data", "https://evil.example/hooks", "not a url"]
    {
        let error = api.respond(url, &alert("x"), false).await.unwrap_err();
        assert!(matches!(error, SlackApiError::ForeignResponseUrl(_)), "{url}: {error}");
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn user_groups_resolve_to_their_members() {
    let (fake, api) = slack_and_client().await;
    fake.add_user_group("security-leads", &["U1", "U2"]);
    assert_eq!(api.user_group_members("security-leads").await.unwrap(), ["U1", "U2"]);
    assert!(api.user_group_members("nobody").await.unwrap().is_empty());
}
