//! The Slack endpoints as Slack meets them: the real router on a random loopback port over a fresh
//! SQLite store, reached with a real HTTP client and signed requests; what the bot posts back
//! goes through the real Slack client to the fake Slack, where the tests read it.

mod support;

use std::{net::SocketAddr, sync::Arc};

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use kushim::{
    chat::{bot, roles::Roles, slack::SlackWebApi},
    collection::Targets,
    config::{Config, Secret, SlackRoles},
    engine::Engine,
    integrations::Integration,
    sandbox::{self, slack::FakeSlack},
    server::{self, AppState},
    store::{Backend, Store},
};
use serde_json::{Value, json};
use sha2::Sha256;
use support::TestDb;
use tokio::sync::oneshot;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// Users by role, as `[slack.roles]` names them; anyone else (`U1`) is a viewer.
const ADMIN: &str = "UADMIN";
const APPROVER: &str = "UAPPROVER";
const GROUP_APPROVER: &str = "UGROUPAPPROVER";
const RESPONDER: &str = "URESPONDER";
const VIEWER: &str = "U1";
const CHANNEL: &str = "C0SECURITY";

/// A running Kushim with a fake Slack beside it; dropping it stops the server.
struct Bot {
    addr: SocketAddr,
    http: reqwest::Client,
    now: DateTime<Utc>,
    store: Store,
    bot: bot::Bot,
    slack: FakeSlack,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    _db: TestDb,
}

impl Bot {
    /// A bot whose clock reads `now`, over an empty store.
    async fn at(now: DateTime<Utc>) -> Bot {
        Bot::over(now, false).await
    }

    /// A bot that has collected a generated organisation with its usual problems.
    async fn with_an_organisation() -> Bot {
        Bot::over(Utc::now(), true).await
    }

    async fn over(now: DateTime<Utc>, collected: bool) -> Bot {
        Bot::over_with(now, collected, Targets::default()).await
    }

    /// A bot that collects from `targets` when asked.
    async fn over_with(now: DateTime<Utc>, collected: bool, targets: Targets) -> Bot {
        let db = TestDb::new(Backend::Sqlite).await;
        let store = db.store().await;
        let engine = Engine::new(store.clone(), &Config::default()).expect("the catalog loads");
        if collected {
            let snapshot = sandbox::generated_org(600, now);
            for integration in Integration::ALL {
                engine.ingest(integration, &snapshot, now).await.expect("ingest");
            }
        }
        let slack = sandbox::slack::start().await.expect("the fake Slack starts");
        slack.add_user_group("security-leads", &[GROUP_APPROVER]);
        let client =
            SlackWebApi::new(&slack.api_url(), &Secret::new(sandbox::slack::server::BOT_TOKEN))
                .expect("a Slack client");
        let roles = Roles::new(&SlackRoles {
            admins: vec![ADMIN.into()],
            approvers: vec![APPROVER.into(), "@security-leads".into()],
            responders: vec![RESPONDER.into()],
        });
        let bot = bot::Bot::new(engine, Some(client), roles, targets, Arc::new(move || now));
        let state = AppState::new(bot.clone(), Secret::new(SECRET));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Bot {
            addr,
            http: reqwest::Client::new(),
            now,
            store,
            bot,
            slack,
            stop: Some(stop),
            served,
            _db: db,
        }
    }

    async fn started() -> Bot {
        Bot::at(Utc::now()).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self.http.get(self.url(path)).send().await.expect("the server answers");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts `body` to /slack/commands with these headers as they are.
    async fn post(&self, body: impl Into<String>, headers: &[(&str, &str)]) -> (u16, String) {
        self.post_to("/slack/commands", "application/x-www-form-urlencoded", body, headers).await
    }

    async fn post_to(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<String>,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut request =
            self.http.post(self.url(path)).header("content-type", content_type).body(body.into());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the server answers");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts `body` signed with the app's secret at `timestamp`.
    async fn post_signed_at(&self, body: &str, timestamp: i64) -> (u16, String) {
        let ts = timestamp.to_string();
        let signature = sign(SECRET, &ts, body);
        self.post(body, &[("x-slack-request-timestamp", &ts), ("x-slack-signature", &signature)])
            .await
    }

    /// Posts `body` to `path` signed now.
    async fn signed(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> (u16, String) {
        let ts = self.now.timestamp().to_string();
        let signature = sign(SECRET, &ts, body);
        let mut headers =
            vec![("x-slack-request-timestamp", ts.as_str()), ("x-slack-signature", &signature)];
        headers.extend_from_slice(extra);
        self.post_to(path, content_type, body, &headers).await
    }

    /// `/kushim <text>` typed by a viewer; expects a 200 JSON reply.
    async fn command(&self, text: &str) -> Value {
        self.command_as(VIEWER, text).await
    }

    /// `/kushim <text>` typed by `user`.
    async fn command_as(&self, user: &str, text: &str) -> Value {
        let body = slash_body_from(user, text, &self.slack.response_url("cmd"));
        let (status, reply) = self.post_signed_at(&body, self.now.timestamp()).await;
        assert_eq!(status, 200, "{reply}");
        serde_json::from_str(&reply).expect("a JSON reply")
    }

    async fn shut_down(mut self) {
        let _ = self.stop.take().expect("running").send(());
        (&mut self.served).await.expect("the server task").expect("a clean stop");
    }
}

fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn slash_body(text: &str) -> String {
    slash_body_from(VIEWER, text, "https://hooks.slack.com/commands/T1/1/x")
}

fn slash_body_from(user: &str, text: &str, response_url: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", "ignored")
        .append_pair("team_id", "T1")
        .append_pair("channel_id", CHANNEL)
        .append_pair("user_id", user)
        .append_pair("command", "/kushim")
        .append_pair("text", text)
        .append_pair("response_url", response_url)
        .append_pair("trigger_id", "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
        .finish()
}

/// Every text in a reply's blocks (section texts and fields, headers, context elements).
fn all_text(reply: &Value) -> String {
    let mut out = Vec::new();
    for block in reply["blocks"].as_array().expect("blocks") {
        if let Some(text) = block["text"]["text"].as_str() {
            out.push(text.to_owned());
        }
        for part in block["fields"].as_array().into_iter().chain(block["elements"].as_array()) {
            for item in part {
                // Context elements are texts; buttons carry a plain-text object.
                out.extend(
                    item["text"].as_str().or(item["text"]["text"].as_str()).map(str::to_owned),
                );
            }
        }
    }
    out.join("\n")
}

fn only_sentence(reply: &Value) -> &str {
    let blocks = reply["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 1, "{reply:#}");
    blocks[0]["text"]["text"].as_str().expect("a section text")
}

#[tokio::test]
async fn slacks_documented_example_is_accepted_at_its_own_time() {
    // docs.slack.dev/authentication/verifying-requests-from-slack, byte for byte.
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    let bot = Bot::at(Utc.timestamp_opt(1531420618, 0).unwrap()).await;
    let headers = [("x-slack-request-timestamp", "1531420618"), ("x-slack-signature", signature)];
    let (status, reply) = bot.post(body, &headers).await;
    assert_eq!(status, 200, "{reply}");
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["response_type"], "ephemeral");
    // An empty command line is a request for help.
    assert!(only_sentence(&reply).starts_with("Here is what I can do."), "{reply:#}");

    // The same request an hour later is a replay.
    let later = Bot::at(Utc.timestamp_opt(1531420618 + 3600, 0).unwrap()).await;
    assert_eq!(later.post(body, &headers).await, (401, "invalid Slack signature".into()));
    let later = Bot::at(Utc.timestamp_opt(1531420618 - 3600, 0).unwrap()).await;
    assert_eq!(later.post(body, &headers).await, (401, "invalid Slack signature".into()));
}

#[tokio::test]
async fn status_answers_with_the_score_shown_only_to_the_asker() {
    let bot = Bot::started().await;
    let reply = bot.command("status").await;
    assert_eq!(reply["response_type"], "ephemeral");
    assert_eq!(reply["blocks"][0]["type"], "header");
    let header = reply["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.starts_with("SOC 2 posture: ") && header.ends_with(" / 100"), "{header}");
    assert_eq!(reply["text"], header);
    let text = all_text(&reply);
    assert!(text.contains("Across 64 controls"), "{text}");
    assert!(text.contains("*Controls per state*"), "{text}");
    assert!(text.contains("*Needs attention*"), "{text}");
    assert!(text.contains("…and "), "only the top controls are listed: {text}");
}

#[tokio::test]
async fn control_explains_one_control() {
    let bot = Bot::started().await;
    let reply = bot.command("control ac-01").await;
    let header = reply["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.starts_with("AC-01 — "), "{header}");
    let text = all_text(&reply);
    for part in ["*Severity*", "*Owner*", "*Criteria*", "*Checks*"] {
        assert!(text.contains(part), "{part} in {text}");
    }
}

#[tokio::test]
async fn controls_page_within_block_kit_limits_and_show_more_brings_the_next_page() {
    let bot = Bot::started().await;
    let reply = bot.command("controls all").await;
    assert_eq!(reply["blocks"][0]["text"]["text"], "All controls (64)");
    let blocks = reply["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50);
    for block in blocks {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(text.chars().count() <= 3000);
        }
    }
    let text = all_text(&reply);
    assert!(text.contains("• `AC-01` ") && text.contains("Showing 1–20 of 64."), "{text}");
    let more = blocks.last().unwrap()["elements"][0].clone();
    assert_eq!(
        (more["action_id"].as_str(), more["value"].as_str()),
        (Some("show_more"), Some("controls:all:20"))
    );

    bot.click(VIEWER, "show_more", "controls:all:20", None).await;
    let page = &bot.slack.wait_for("response_url", 1).await[0];
    assert_eq!(page.body["replace_original"], true);
    assert!(page.text().contains("Showing 21–40 of 64."), "{}", page.text());
    assert!(!page.text().contains("`AC-01`"), "{}", page.text());

    let failing = bot.command("controls failing").await;
    assert_eq!(failing["blocks"][0]["text"]["text"], "Failing controls (0)");
    assert_eq!(failing["blocks"][1]["text"]["text"], "No control is failing.");
}

#[tokio::test]
async fn after_a_collection_failing_controls_are_listed_and_explained() {
    let bot = Bot::with_an_organisation().await;
    let status = all_text(&bot.command("status").await);
    assert!(!status.contains("No evidence has been collected yet"), "{status}");
    assert!(status.contains("*failing*"), "{status}");

    let failing = bot.command("controls failing").await;
    let header = failing["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.starts_with("Failing controls (") && header != "Failing controls (0)");
    let listed = all_text(&failing);
    let first = listed
        .split("• `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no control listed: {listed}"));
    assert!(listed.lines().all(|l| !l.starts_with("• ") || l.contains("— *failing*:")), "{listed}");

    let reply = bot.command(&format!("control {first}")).await;
    let text = all_text(&reply);
    for part in ["*failing*: ", "*Checks*", "*Failing resources*", "*Remediation*"] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(reply["blocks"].as_array().unwrap().len() <= 50);
}

#[tokio::test]
async fn a_typo_gets_the_did_you_mean_sentence() {
    let bot = Bot::started().await;
    let reply = bot.command("stauts").await;
    assert_eq!(reply["response_type"], "ephemeral");
    assert_eq!(
        only_sentence(&reply),
        "I don't know `stauts`. Did you mean `status`? Try `/kushim help`."
    );
}

#[tokio::test]
async fn digest_previews_the_daily_summary() {
    let bot = Bot::with_an_organisation().await;
    let reply = bot.command("digest").await;
    let text = all_text(&reply);
    assert!(reply["blocks"].as_array().unwrap().len() <= 50);
    assert!(text.contains("/ 100"), "{text}");
}

#[tokio::test]
async fn admins_subscribe_channels_picked_from_slacks_list() {
    let bot = Bot::started().await;
    let reply = bot.command_as(ADMIN, "subscribe <#C0ALERTS|security-alerts> alerts").await;
    assert_eq!(
        only_sentence(&reply),
        "<#C0ALERTS> now gets the alerts. Invite me there if I am not in it yet."
    );
    let again = bot.command_as(ADMIN, "subscribe <#C0ALERTS|security-alerts> alerts").await;
    assert_eq!(only_sentence(&again), "<#C0ALERTS> already gets the alerts.");
    assert_eq!(
        bot.store.subscribers(kushim::store::Subscription::Alerts).await.unwrap(),
        ["C0ALERTS"]
    );

    let typed = bot.command_as(ADMIN, "subscribe #security digest").await;
    assert!(only_sentence(&typed).starts_with("Pick the channel from Slack's list"), "{typed}");

    let refused = bot.command_as(RESPONDER, "unsubscribe <#C0ALERTS|security-alerts> alerts").await;
    assert!(
        only_sentence(&refused).starts_with("Sorry, that needs the *admin* role."),
        "{refused}"
    );
    let gone = bot.command_as(ADMIN, "unsubscribe <#C0ALERTS|security-alerts> alerts").await;
    assert_eq!(only_sentence(&gone), "<#C0ALERTS> no longer gets the alerts.");
    assert!(bot.store.subscribers(kushim::store::Subscription::Alerts).await.unwrap().is_empty());
    let audit = bot.audit_actions().await;
    assert!(audit.contains(&(format!("slack:{ADMIN}"), "subscribe".into(), "C0ALERTS".into())));
    assert!(audit.contains(&(
        format!("slack:{RESPONDER}"),
        "command.refused".into(),
        "unsubscribe".into()
    )));
}

#[tokio::test]
async fn a_typed_channel_mention_is_escaped_and_pings_nobody() {
    let bot = Bot::started().await;
    let reply = bot.command("<!channel> & <@U123>").await;
    let text = only_sentence(&reply);
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    assert!(!reply["text"].as_str().unwrap().contains("<!channel>"));
}

#[tokio::test]
async fn forged_stale_tampered_and_unsigned_requests_get_401() {
    let bot = Bot::started().await;
    let body = slash_body("status");
    let now = bot.now.timestamp();
    let ts = now.to_string();
    let refused = (401, "invalid Slack signature".to_owned());

    let forged = sign("not-the-secret", &ts, &body);
    let headers = [("x-slack-request-timestamp", ts.as_str()), ("x-slack-signature", &forged)];
    assert_eq!(bot.post(body.clone(), &headers).await, refused);

    assert_eq!(bot.post_signed_at(&body, now - 301).await, refused);
    assert_eq!(bot.post_signed_at(&body, now + 301).await, refused);

    let signature = sign(SECRET, &ts, &body);
    let headers = [("x-slack-request-timestamp", ts.as_str()), ("x-slack-signature", &signature)];
    assert_eq!(bot.post(slash_body("control AC-01"), &headers).await, refused);

    assert_eq!(bot.post(body.clone(), &[]).await, refused);
    assert_eq!(bot.post(body.clone(), &[("x-slack-signature", &signature)]).await, refused);
    assert_eq!(bot.post(body.clone(), &[("x-slack-request-timestamp", &ts)]).await, refused);
    assert_eq!(
        bot.post(body, &[("x-slack-request-timestamp", &ts), ("x-slack-signature", "v0=zz")]).await,
        refused
    );
}

#[tokio::test]
async fn an_oversized_body_gets_413_a_malformed_form_400_and_an_ssl_check_200() {
    let bot = Bot::started().await;
    let now = bot.now.timestamp();
    let huge = format!("{}&text={}", slash_body("status"), "a".repeat(70 * 1024));
    assert_eq!(bot.post_signed_at(&huge, now).await.0, 413);

    // Slack's certificate check carries no command and only wants a 200.
    assert_eq!(bot.post_signed_at("ssl_check=1&token=abc", now).await, (200, String::new()));

    let (status, reply) = bot.post_signed_at("text=status&user_id=U1", now).await;
    assert_eq!((status, reply.as_str()), (400, "the form has no `command` field"));
}

#[tokio::test]
async fn health_and_readiness() {
    let bot = Bot::started().await;
    assert_eq!(bot.get("/healthz").await, (200, "ok".into()));
    assert_eq!(bot.get("/readyz").await, (200, "ready".into()));
    // With the database gone the server is alive but not ready.
    bot.store.close().await;
    assert_eq!(bot.get("/healthz").await, (200, "ok".into()));
    assert_eq!(bot.get("/readyz").await, (503, "database unreachable".into()));
}

#[tokio::test]
async fn the_server_stops_cleanly_when_asked() {
    let bot = Bot::started().await;
    assert_eq!(bot.get("/healthz").await.0, 200);
    let addr = bot.addr;
    bot.shut_down().await;
    assert!(reqwest::get(format!("http://{addr}/healthz")).await.is_err());
}

// ----- interactions -----------------------------------------------------------------------------

impl Bot {
    /// `user` clicks the button `action_id` / `value` on the channel message at `message_ts`
    /// (an ephemeral message when `None`), as Slack posts it to /slack/interactions.
    async fn click(&self, user: &str, action_id: &str, value: &str, message_ts: Option<&str>) {
        let container = match message_ts {
            Some(ts) => {
                json!({ "type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": false })
            }
            None => {
                json!({ "type": "message", "message_ts": "1.1", "channel_id": CHANNEL, "is_ephemeral": true })
            }
        };
        let payload = json!({
            "type": "block_actions",
            "user": { "id": user, "username": "someone", "team_id": "T1" },
            "api_app_id": "A1", "token": "ignored", "team": { "id": "T1", "domain": "acme" },
            "container": container,
            "trigger_id": "12345.98765.abcd",
            "channel": { "id": CHANNEL, "name": "security" },
            "response_url": self.slack.response_url(&format!("click-{user}-{action_id}")),
            "actions": [{
                "type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                "text": { "type": "plain_text", "text": "x" }, "action_ts": "1750000000.1",
            }],
        });
        let (status, body) = self.interaction(&payload).await;
        assert_eq!(status, 200, "{body}");
        // Clicks are acknowledged at once and carried out after: wait for them to finish.
        self.bot.drain().await;
    }

    async fn interaction(&self, payload: &Value) -> (u16, String) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.signed("/slack/interactions", "application/x-www-form-urlencoded", &body, &[]).await
    }

    /// `user` submits the exception form for `control` with these answers.
    async fn submit_exception(
        &self,
        user: &str,
        control: &str,
        reason: &str,
        ends: &str,
    ) -> (u16, String) {
        let payload = json!({
            "type": "view_submission",
            "user": { "id": user },
            "view": {
                "id": "V1", "type": "modal", "callback_id": "exception_request",
                "private_metadata": format!("{control}|{CHANNEL}"),
                "state": { "values": {
                    "reason": { "value": { "type": "plain_text_input", "value": reason } },
                    "expires_on": { "value": { "type": "datepicker", "selected_date": ends } },
                    "compensating_control": { "value": { "type": "plain_text_input", "value": null } },
                } },
            },
        });
        let answer = self.interaction(&payload).await;
        self.bot.drain().await;
        answer
    }

    /// An Events API delivery; `retry` adds Slack's retry headers.
    async fn event(&self, payload: &Value, retry: Option<&str>) -> (u16, String) {
        let mut extra = vec![];
        if let Some(n) = retry {
            extra.push(("x-slack-retry-num", n));
            extra.push(("x-slack-retry-reason", "http_timeout"));
        }
        let answer =
            self.signed("/slack/events", "application/json", &payload.to_string(), &extra).await;
        self.bot.drain().await;
        answer
    }

    async fn audit_actions(&self) -> Vec<(String, String, String)> {
        let mut log = self.store.audit_log(100).await.unwrap();
        log.reverse();
        log.into_iter().map(|r| (r.actor, r.action, r.target)).collect()
    }

    /// A collect job that failed its only attempt with `error`, as a worker leaves it.
    async fn a_job_that_gave_up(&self, error: &str) -> kushim::store::Job {
        let request = kushim::jobs::JobRequest::Collect {
            integration: Some(kushim::integrations::Integration::Okta),
        };
        let mut job = request.to_job("schedule:collect-okta:1".into(), self.now);
        job.max_attempts = 1;
        self.store.enqueue_job(&job, self.now).await.unwrap();
        let claimed = self
            .store
            .claim_next_job("worker-1", self.now, chrono::TimeDelta::minutes(1))
            .await
            .unwrap()
            .expect("the job is due");
        let outcome =
            self.store.fail_job(claimed.id, "worker-1", self.now, error, self.now).await.unwrap();
        assert_eq!(outcome, kushim::store::FailOutcome::Dead);
        self.store.job(claimed.id).await.unwrap().unwrap()
    }

    /// The id of a failing control in the generated organisation.
    async fn a_failing_control(&self) -> String {
        let listed = all_text(&self.command("controls failing").await);
        listed
            .split("• `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .expect("a failing control")
            .to_owned()
    }

    /// Posts a message to the fake channel as Kushim would, returning its ts.
    async fn post_card(&self, control: &str) -> String {
        let reply = self.command(&format!("control {control}")).await;
        let api = SlackWebApi::new(
            &self.slack.api_url(),
            &Secret::new(sandbox::slack::server::BOT_TOKEN),
        )
        .unwrap();
        let reply =
            kushim::chat::reply::Reply::sentence(reply["text"].as_str().unwrap().to_owned());
        api.post_message(CHANNEL, &reply, None).await.unwrap().ts
    }
}

#[tokio::test]
async fn a_failing_control_carries_buttons_that_refer_to_it() {
    let bot = Bot::with_an_organisation().await;
    let failing = bot.a_failing_control().await;
    let reply = bot.command(&format!("control {failing}")).await;
    let actions = reply["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("buttons");
    let buttons: Vec<(&str, &str)> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["action_id"].as_str().unwrap(), b["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        buttons,
        [
            ("ticket", failing.as_str()),
            ("request_exception", failing.as_str()),
            ("snooze", failing.as_str()),
            ("recheck", failing.as_str())
        ]
    );
    let labels = all_text(&reply);
    for label in ["Create Jira ticket", "Request exception", "Snooze 7 days", "Re-check now"] {
        assert!(labels.contains(label), "{label} in {labels}");
    }
}

#[tokio::test]
async fn snooze_updates_the_message_in_place_and_is_audited() {
    let bot = Bot::with_an_organisation().await;
    let failing = bot.a_failing_control().await;
    let ts = bot.post_card(&failing).await;

    bot.click(RESPONDER, "snooze", &failing, Some(&ts)).await;

    let message = &bot.slack.messages_in(CHANNEL)[0];
    assert_eq!((message.ts.as_str(), message.updates), (ts.as_str(), 1), "updated, not reposted");
    let update = &bot.slack.calls_to("chat.update")[0];
    let until = (bot.now + chrono::TimeDelta::days(7)).format("%Y-%m-%d").to_string();
    assert!(
        update.text().contains(&format!("<@{RESPONDER}> snoozed alerts until {until}")),
        "{}",
        update.text()
    );
    let snoozes = bot.store.active_snoozes(bot.now).await.unwrap();
    assert_eq!(snoozes.len(), 1);
    assert_eq!(
        (snoozes[0].control_id.as_str(), snoozes[0].snoozed_by.as_str()),
        (failing.as_str(), RESPONDER)
    );
    assert!(bot.audit_actions().await.contains(&(
        format!("slack:{RESPONDER}"),
        "action.snooze".into(),
        failing.clone()
    )));
}

#[tokio::test]
async fn a_viewers_click_is_refused_privately_audited_and_changes_nothing() {
    let bot = Bot::with_an_organisation().await;
    let failing = bot.a_failing_control().await;
    let ts = bot.post_card(&failing).await;

    for action in ["snooze", "recheck", "ticket", "request_exception"] {
        bot.click(VIEWER, action, &failing, Some(&ts)).await;
    }

    assert!(bot.slack.calls_to("chat.update").is_empty());
    assert!(bot.slack.calls_to("views.open").is_empty());
    assert!(bot.store.active_snoozes(bot.now).await.unwrap().is_empty());
    let refusals = bot.slack.calls_to("response_url");
    assert_eq!(refusals.len(), 4);
    for refusal in &refusals {
        assert_ne!(refusal.body["replace_original"], true, "a refusal is a new ephemeral message");
        assert!(
            refusal.text().contains("Sorry, that needs the *responder* role."),
            "{}",
            refusal.text()
        );
    }
    let audit = bot.audit_actions().await;
    for action in ["snooze", "recheck", "ticket", "request_exception"] {
        let entry =
            (format!("slack:{VIEWER}"), format!("action.{action}.refused"), failing.clone());
        assert!(audit.contains(&entry), "{entry:?} in {audit:?}");
    }
}

#[tokio::test]
async fn an_exception_is_requested_in_a_form_and_decided_by_an_approver_only() {
    let bot = Bot::with_an_organisation().await;
    let failing = bot.a_failing_control().await;

    // The button opens the form.
    bot.click(RESPONDER, "request_exception", &failing, None).await;
    let form = &bot.slack.wait_for("views.open", 1).await[0];
    assert_eq!(form.body["trigger_id"], "12345.98765.abcd");
    assert_eq!(form.body["view"]["callback_id"], "exception_request");
    assert_eq!(form.body["view"]["private_metadata"], format!("{failing}|{CHANNEL}"));

    // A form without a reason, or ending in the past, is sent back with the field's error.
    let (status, answer) = bot.submit_exception(RESPONDER, &failing, "  ", "2099-01-01").await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["reason"].as_str().unwrap().contains("Say why"), "{answer}");
    let yesterday = (bot.now - chrono::TimeDelta::days(1)).format("%Y-%m-%d").to_string();
    let (_, answer) = bot.submit_exception(RESPONDER, &failing, "Vendor fix due", &yesterday).await;
    assert!(answer.contains("must be in the future"), "{answer}");
    assert!(bot.store.exceptions().await.unwrap().is_empty(), "nothing recorded");

    // A good form closes and posts the request for approval.
    let ends = (bot.now + chrono::TimeDelta::days(30)).format("%Y-%m-%d").to_string();
    assert_eq!(
        bot.submit_exception(RESPONDER, &failing, "Vendor fix due in March", &ends).await,
        (200, String::new())
    );
    let exception = bot.store.exceptions().await.unwrap()[0].clone();
    assert_eq!(
        (exception.control_id.as_str(), exception.requested_by.as_str()),
        (failing.as_str(), "slack:URESPONDER")
    );
    let request = &bot.slack.wait_for("chat.postMessage", 1).await[0];
    assert_eq!(request.body["channel"], CHANNEL);
    let seq = exception.seq.to_string();
    assert_eq!(
        request.buttons(),
        [
            ("approve_exception".to_string(), seq.clone()),
            ("reject_exception".to_string(), seq.clone())
        ]
    );
    let ts = bot.slack.messages_in(CHANNEL)[0].ts.clone();

    // Neither a responder nor the requester may decide it.
    bot.click(RESPONDER, "approve_exception", &seq, Some(&ts)).await;
    assert!(bot.store.exceptions().await.unwrap()[0].decision.is_none());
    let refusal = bot.slack.calls_to("response_url").pop().unwrap();
    assert!(refusal.text().contains("needs the *approver* role"), "{}", refusal.text());

    // An approver (here through the @security-leads group) approves; the message shows who.
    bot.click(GROUP_APPROVER, "approve_exception", &seq, Some(&ts)).await;
    let decided = bot.store.exceptions().await.unwrap()[0].clone();
    assert_eq!(decided.decided_by.as_deref(), Some("slack:UGROUPAPPROVER"));
    let update = bot.slack.calls_to("chat.update").pop().unwrap();
    assert!(
        update.text().contains(&format!("Approved by <@{GROUP_APPROVER}>")),
        "{}",
        update.text()
    );
    assert!(update.buttons().is_empty(), "the decision replaces the buttons");
    let state = all_text(&bot.command(&format!("control {failing}")).await);
    assert!(state.contains("*excepted*"), "{state}");

    // A second approver is told it is already decided; nothing changes.
    bot.click(APPROVER, "reject_exception", &seq, Some(&ts)).await;
    let told = bot.slack.calls_to("response_url").pop().unwrap();
    assert!(told.text().contains("already approved by <@UGROUPAPPROVER>"), "{}", told.text());
    assert_eq!(bot.store.exceptions().await.unwrap()[0].decision, decided.decision);
}

#[tokio::test]
async fn the_requester_cannot_approve_their_own_exception() {
    let bot = Bot::with_an_organisation().await;
    let failing = bot.a_failing_control().await;
    let ends = (bot.now + chrono::TimeDelta::days(30)).format("%Y-%m-%d").to_string();
    bot.submit_exception(ADMIN, &failing, "Accepted by the board", &ends).await;
    let seq = bot.store.exceptions().await.unwrap()[0].seq.to_string();

    bot.click(ADMIN, "approve_exception", &seq, None).await;

    assert!(bot.store.exceptions().await.unwrap()[0].decision.is_none());
    let told = bot.slack.calls_to("response_url").pop().unwrap();
    assert!(told.text().contains("someone else has to decide it"), "{}", told.text());
    assert!(
        bot.audit_actions()
            .await
            .iter()
            .any(|(_, action, _)| action == "exception.self_decision.refused")
    );
}

#[tokio::test]
async fn recheck_answers_at_once_and_redraws_the_card() {
    let bot = Bot::with_an_organisation().await;
    let failing = bot.a_failing_control().await;
    let ts = bot.post_card(&failing).await;

    bot.click(RESPONDER, "recheck", &failing, Some(&ts)).await;

    let ack = &bot.slack.calls_to("response_url")[0];
    assert!(ack.text().contains(&format!("Re-checking `{failing}`")), "{}", ack.text());
    let update = &bot.slack.calls_to("chat.update")[0];
    assert!(update.text().contains(&format!("Re-checked by <@{RESPONDER}>")), "{}", update.text());
    assert!(update.text().contains(&format!("*{failing} — ")), "{}", update.text());
}

#[tokio::test]
async fn a_stale_or_unknown_button_changes_nothing() {
    let bot = Bot::with_an_organisation().await;
    bot.click(RESPONDER, "snooze", "NO-SUCH-CONTROL", Some("1.2")).await;
    bot.click(APPROVER, "approve_exception", "99", Some("1.2")).await;
    bot.click(ADMIN, "drop_all_tables", "x", Some("1.2")).await;
    assert!(bot.store.active_snoozes(bot.now).await.unwrap().is_empty());
    assert!(bot.slack.calls_to("chat.update").is_empty());
    let told = bot.slack.calls_to("response_url");
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.iter().all(|t| t.text().contains("no longer have")));
}

#[tokio::test]
async fn malformed_unsigned_and_oversized_interactions_are_refused() {
    let bot = Bot::started().await;
    let (status, _) = bot
        .signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            "payload=%7Bnot-json",
            &[],
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = bot
        .signed("/slack/interactions", "application/x-www-form-urlencoded", "nothing=here", &[])
        .await;
    assert_eq!((status, body.as_str()), (400, "the form has no `payload` field"));
    let payload = format!("payload={}", "a".repeat(70 * 1024));
    assert_eq!(
        bot.signed("/slack/interactions", "application/x-www-form-urlencoded", &payload, &[])
            .await
            .0,
        413
    );
    let (status, _) = bot
        .post_to("/slack/interactions", "application/x-www-form-urlencoded", "payload=%7B%7D", &[])
        .await;
    assert_eq!(status, 401);
    let (status, _) = bot
        .post_to(
            "/slack/events",
            "application/json",
            r#"{"type":"url_verification","challenge":"x"}"#,
            &[],
        )
        .await;
    assert_eq!(status, 401);
    assert!(bot.slack.calls().is_empty());
}

// ----- commands that act ------------------------------------------------------------------------

#[tokio::test]
async fn except_opens_the_form_and_a_viewer_is_refused_and_audited() {
    let bot = Bot::with_an_organisation().await;
    let reply = bot.command_as(RESPONDER, "except AC-02").await;
    assert_eq!(only_sentence(&reply), "Opening the exception form for `AC-02`…");
    let form = &bot.slack.wait_for("views.open", 1).await[0];
    assert_eq!(form.body["view"]["private_metadata"], format!("AC-02|{CHANNEL}"));

    let refused = bot.command("except AC-02").await;
    assert!(
        only_sentence(&refused).starts_with("Sorry, that needs the *responder* role."),
        "{refused}"
    );
    assert!(bot.audit_actions().await.contains(&(
        format!("slack:{VIEWER}"),
        "command.refused".into(),
        "except".into()
    )));
    assert_eq!(bot.slack.calls_to("views.open").len(), 1);
}

#[tokio::test]
async fn collect_without_integrations_says_what_is_missing() {
    let bot = Bot::started().await;
    let reply = bot.command_as(RESPONDER, "collect github").await;
    assert!(only_sentence(&reply).starts_with("GitHub is not configured here"), "{reply}");
}

#[tokio::test]
async fn evidence_and_exceptions_list_what_the_store_holds() {
    let bot = Bot::with_an_organisation().await;
    let failing = bot.a_failing_control().await;
    let evidence = all_text(&bot.command(&format!("evidence {failing}")).await);
    assert!(
        evidence.contains("*Collected evidence*") && evidence.contains("sha256 `"),
        "{evidence}"
    );

    assert!(all_text(&bot.command("exceptions").await).contains("No exception has been requested"));
    let ends = (bot.now + chrono::TimeDelta::days(3)).format("%Y-%m-%d").to_string();
    bot.submit_exception(RESPONDER, &failing, "Migration this week", &ends).await;
    let listed = bot.command("exceptions").await;
    let text = all_text(&listed);
    assert!(
        text.contains("*Waiting for an approver*") && text.contains("Migration this week"),
        "{text}"
    );
    assert!(listed["blocks"].as_array().unwrap().iter().any(|b| b["type"] == "actions"));
}

// ----- events -----------------------------------------------------------------------------------

fn event_callback(event_id: &str, event: Value) -> Value {
    json!({
        "token": "ignored", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1750000000, "event": event,
        "authorizations": [{ "team_id": "T1", "user_id": "UKUSHIMBOT", "is_bot": true }],
    })
}

#[tokio::test]
async fn url_verification_echoes_the_challenge() {
    let bot = Bot::started().await;
    let (status, body) = bot.event(&json!({ "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification" }), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" })
    );
}

#[tokio::test]
async fn a_mention_is_answered_in_its_thread_once_however_often_slack_retries() {
    let bot = Bot::started().await;
    let mention = event_callback(
        "Ev0MENTION1",
        json!({
            "type": "app_mention", "user": VIEWER, "text": "<@UKUSHIMBOT> status",
            "ts": "1750000000.000200", "channel": CHANNEL, "event_ts": "1750000000.000200",
        }),
    );
    assert_eq!(bot.event(&mention, None).await.0, 200);
    assert_eq!(bot.event(&mention, Some("1")).await.0, 200);
    assert_eq!(bot.event(&mention, Some("2")).await.0, 200);

    let posts = bot.slack.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 1, "answered once");
    assert_eq!(posts[0].body["thread_ts"], "1750000000.000200");
    assert!(posts[0].text().contains("SOC 2 posture"), "{}", posts[0].text());
}

#[tokio::test]
async fn opening_the_app_home_publishes_the_dashboard() {
    let bot = Bot::with_an_organisation().await;
    let opened = event_callback(
        "Ev0HOME1",
        json!({ "type": "app_home_opened", "user": RESPONDER, "channel": "D1", "tab": "home", "event_ts": "1.0" }),
    );
    assert_eq!(bot.event(&opened, None).await.0, 200);
    let home = &bot.slack.wait_for("views.publish", 1).await[0];
    assert_eq!(home.body["user_id"], RESPONDER);
    assert_eq!(home.body["view"]["type"], "home");
    assert!(home.text().contains("SOC 2 posture"), "{}", home.text());
    assert!(
        home.text().contains("Last 14 days: ") || home.text().contains("Trend: "),
        "{}",
        home.text()
    );
    assert!(home.buttons().iter().any(|(action, _)| action == "ticket"), "{:?}", home.buttons());
    assert!(home.body["view"]["blocks"].as_array().unwrap().len() <= 50);
}

#[tokio::test]
async fn metrics_count_requests_commands_and_refusals() {
    let bot = Bot::started().await;
    bot.command("status").await;
    bot.post(slash_body("status"), &[]).await;
    let (status, metrics) = bot.get("/metrics").await;
    assert_eq!(status, 200);
    for series in [
        "kushim_http_request_duration_seconds_bucket{route=\"/slack/commands\",status=\"200\"",
        "kushim_commands_total{command=\"status\",outcome=\"ok\"}",
        "kushim_signature_failures_total{reason=\"missing\"}",
        "kushim_controls{state=\"no_evidence\"}",
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
}

// ----- Jira -------------------------------------------------------------------------------------

#[tokio::test]
async fn the_ticket_button_opens_one_jira_ticket_and_the_card_says_who() {
    use kushim::{
        config::JiraConfig,
        integrations::collect::RetryPolicy,
        remediation::{Remediation, control_label},
        sandbox::jira::{JiraSite, start},
    };
    let bot = Bot::with_an_organisation().await;
    let jira = start(JiraSite::default()).await.unwrap();
    let settings = kushim::config::JiraSettings {
        tickets: JiraConfig { auto_create: Vec::new(), ..JiraConfig::default() },
        ..jira.settings()
    };
    let url = settings.url.clone();
    bot.bot.set_remediation(
        Remediation::new(bot.bot.engine().clone(), settings, RetryPolicy::default()).unwrap(),
        &url,
    );
    let failing = bot.a_failing_control().await;
    let ts = bot.post_card(&failing).await;
    bot.command_as(ADMIN, "subscribe <#C0ALERTS|alerts> alerts").await;
    // The control's alert is already in that channel.
    let control = bot.bot.engine().control(&failing).unwrap().clone();
    let transition = bot.store.transitions_of(&failing, 1).await.unwrap().remove(0);
    let alert = kushim::jobs::alerts::alert(&control, &transition, 0, chrono::TimeDelta::hours(1));
    let alert = kushim::store::NewMessage {
        channel: "C0ALERTS".into(),
        kind: kushim::jobs::alerts::ALERT.into(),
        key: failing.clone(),
        body: kushim::outbox::MessageBody::from_reply(&alert).to_json(),
        new_message_if_older_than: None,
    };
    bot.store.enqueue_message(&alert, bot.now).await.unwrap();

    // A double click: one ticket.
    bot.click(RESPONDER, "ticket", &failing, Some(&ts)).await;
    bot.click(RESPONDER, "ticket", &failing, Some(&ts)).await;

    let label = control_label(&failing);
    let tickets: Vec<_> = jira.issues().into_iter().filter(|i| i.labels.contains(&label)).collect();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let key = tickets[0].key.clone();
    let update = &bot.slack.calls_to("chat.update")[0];
    assert!(
        update.text().contains(&format!("<@{RESPONDER}> opened <{url}/browse/{key}|{key}>")),
        "{}",
        update.text()
    );
    let second = bot.slack.calls_to("response_url").pop().unwrap();
    assert!(second.text().contains("already tracked in"), "{}", second.text());
    let detail = all_text(&bot.command(&format!("control {failing}")).await);
    assert!(detail.contains(&format!("*Jira ticket*\n{key}")), "{detail}");
    assert!(
        bot.audit_actions()
            .await
            .iter()
            .any(|(_, action, target)| action == "ticket.open" && *target == failing)
    );
    // The alert channel hears of it through the outbox, once.
    let queued: Vec<_> = bot
        .store
        .outbox_messages(Some("C0ALERTS"))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "ticket_event")
        .collect();
    assert_eq!(queued.len(), 1, "{queued:?}");
    // …and the control's original alert is edited to show it, not re-posted.
    let alerts: Vec<_> = bot
        .store
        .outbox_messages(Some("C0ALERTS"))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "alert")
        .collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].version, 2, "edited once");
    assert!(alerts[0].body.contains(&format!("|{key}>")), "{}", alerts[0].body);
    assert!(queued[0].body.contains(&format!("for `{failing}` opened")), "{}", queued[0].body);
}

#[tokio::test]
async fn collect_answers_at_once_and_reports_through_the_response_url() {
    let okta = sandbox::okta::start(sandbox::okta::generated_world(30)).await.unwrap();
    let targets = Targets { okta: Some(okta.settings()), ..Targets::default() };
    let bot = Bot::over_with(Utc::now(), false, targets).await;

    let reply = bot.command_as(RESPONDER, "collect").await;
    assert_eq!(
        only_sentence(&reply),
        "Collecting evidence from Okta… I will post the result here."
    );
    bot.bot.drain().await;

    let report = &bot.slack.wait_for("response_url", 1).await[0];
    assert_eq!(report.body["response_id"], "cmd");
    let text = report.text();
    assert!(text.contains("Collection finished — posture "), "{text}");
    assert!(text.contains("*okta*: collected ("), "{text}");
    assert!(
        bot.audit_actions().await.iter().any(|(actor, action, target)| actor == "slack:URESPONDER"
            && action == "collect"
            && target == "okta")
    );

    let refused = bot.command("collect").await;
    assert!(only_sentence(&refused).starts_with("Sorry, that needs the *responder* role."));
}

#[tokio::test]
async fn ticket_without_jira_says_what_to_set() {
    let bot = Bot::with_an_organisation().await;
    let reply = bot.command_as(RESPONDER, "ticket AC-02").await;
    assert!(only_sentence(&reply).contains("Jira is not configured. Set JIRA_URL"), "{reply}");
}

/// A bot as under `kushim serve` (chat collections queue jobs) with an Okta org to collect, and
/// a worker, as any replica's, to run what it queues.
async fn under_serve_with_okta()
-> (Bot, sandbox::okta::FakeOkta, kushim::jobs::worker::Worker<kushim::jobs::runner::Runner>) {
    use kushim::jobs::{
        self,
        worker::{Worker, WorkerSettings},
    };
    let okta = sandbox::okta::start(sandbox::okta::generated_world(30)).await.unwrap();
    let targets = Targets { okta: Some(okta.settings()), ..Targets::default() };
    let bot = Bot::over_with(Utc::now(), false, targets.clone()).await;
    bot.bot.use_job_queue();
    let clock: kushim::server::Clock = Arc::new(Utc::now);
    let runner =
        jobs::runner(bot.bot.engine(), &Config::default(), targets, clock.clone()).unwrap();
    let worker =
        Worker::new(bot.store.clone(), "test-worker", runner, clock, WorkerSettings::default());
    (bot, okta, worker)
}

#[tokio::test]
async fn under_serve_collect_queues_the_durable_job_and_reports_when_a_worker_finished_it() {
    let (bot, _okta, worker) = under_serve_with_okta().await;

    let reply = bot.command_as(RESPONDER, "collect okta").await;
    let sentence = only_sentence(&reply).to_owned();
    assert!(sentence.starts_with("Queued job #1: collecting evidence from Okta."), "{sentence}");
    let queued = bot.store.jobs(None, 10).await.unwrap();
    assert_eq!((queued[0].kind.as_str(), queued[0].status.as_str()), ("collect", "queued"));

    // A worker (any replica's) runs it; the asker then hears it is done.
    worker.run_once().await.expect("the job runs");
    bot.bot.drain().await;
    let done = &bot.slack.wait_for("response_url", 1).await[0];
    assert!(done.text().contains("Job #1 finished"), "{}", done.text());
    assert!(bot.store.latest_evidence().await.unwrap().iter().any(|e| e.source == "okta"));
}

#[tokio::test]
async fn under_serve_recheck_queues_a_collect_job_and_redraws_the_card_when_it_is_done() {
    let (bot, okta, worker) = under_serve_with_okta().await;
    // AC-07 is judged from Okta alone: its re-check collects Okta and nothing else.
    let ts = bot.post_card("AC-07").await;

    // The click queues a job; a worker (any replica's) runs it; then the card is redrawn.
    let a_worker_runs_the_queued_job = async {
        let job = loop {
            if let Some(job) = bot.store.jobs(None, 10).await.unwrap().pop() {
                break job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert_eq!(job.payload, r#"{"job":"collect","integration":"okta"}"#);
        assert!(okta.recorder.requests().is_empty(), "the click itself collects nothing");
        assert!(bot.slack.calls_to("chat.update").is_empty(), "nothing redrawn before the job ran");
        worker.run_once().await.expect("the job runs");
    };
    tokio::join!(bot.click(RESPONDER, "recheck", "AC-07", Some(&ts)), a_worker_runs_the_queued_job);

    let update = &bot.slack.calls_to("chat.update")[0];
    assert!(update.text().contains(&format!("Re-checked by <@{RESPONDER}>")), "{}", update.text());
    assert!(update.text().contains("*AC-07 — "), "{}", update.text());
    assert!(bot.store.latest_evidence().await.unwrap().iter().any(|e| e.source == "okta"));

    // Another click within the same second is answered by the same job.
    bot.click(APPROVER, "recheck", "AC-07", Some(&ts)).await;
    assert_eq!(bot.store.jobs(None, 10).await.unwrap().len(), 1);
    assert_eq!(bot.slack.calls_to("chat.update").len(), 2);
}

#[tokio::test]
async fn admins_see_the_jobs_that_gave_up_and_retry_them_from_chat() {
    use kushim::store::JobStatus;
    let bot = Bot::with_an_organisation().await;
    let dead = bot.a_job_that_gave_up("Okta answered 401: the API token was revoked").await;
    let id = dead.id.to_string();

    let refused = bot.command_as(RESPONDER, "jobs").await;
    assert!(only_sentence(&refused).contains("needs the *admin* role"), "{refused}");

    let listing = bot.command_as(ADMIN, "jobs").await;
    let text = all_text(&listing);
    assert!(text.contains("*0* queued · *0* running · *1* gave up · *0* done"), "{text}");
    assert!(text.contains(&format!("*#{id} collect*")), "{text}");
    assert!(text.contains("Last error: Okta answered 401: the API token was revoked"), "{text}");
    let retry = listing["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == "retry_job")
        .expect("a Retry button");
    assert_eq!(retry["value"], id.as_str(), "the button refers to the job by id");

    // A responder's click changes nothing; the admin's queues the job again, attempts back.
    bot.click(RESPONDER, "retry_job", &id, None).await;
    assert_eq!(bot.store.job(dead.id).await.unwrap().unwrap().status, JobStatus::Dead);
    bot.click(ADMIN, "retry_job", &id, None).await;
    let job = bot.store.job(dead.id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Queued, 0));
    let redrawn = bot.slack.calls_to("response_url").pop().unwrap();
    assert_eq!(redrawn.body["replace_original"], true, "the listing is redrawn in place");
    assert!(
        redrawn.text().contains(&format!("<@{ADMIN}> queued job #{id} again")),
        "{}",
        redrawn.text()
    );
    assert!(redrawn.text().contains("*0* gave up"), "{}", redrawn.text());

    // A second click (or another admin's) finds nothing to retry.
    bot.click(ADMIN, "retry_job", &id, None).await;
    let again = bot.slack.calls_to("response_url").pop().unwrap();
    assert!(again.text().contains("is not waiting for a retry: it is queued"), "{}", again.text());
    assert_eq!(bot.store.job(dead.id).await.unwrap().unwrap().attempts, 0);

    let audit = bot.audit_actions().await;
    let target = format!("job:{id}");
    assert!(audit.contains(&(format!("slack:{ADMIN}"), "action.retry_job".into(), target)));
    assert!(audit.contains(&(format!("slack:{RESPONDER}"), "action.retry_job.refused".into(), id)));
}

#[tokio::test]
async fn the_alert_about_a_job_that_gave_up_offers_retry_and_says_who_retried_it() {
    let bot = Bot::with_an_organisation().await;
    let error = "GitHub answered 502 five times";
    let dead = bot.a_job_that_gave_up(error).await;
    let alert = kushim::chat::reply::dead_job(&dead, error, None);
    let api =
        SlackWebApi::new(&bot.slack.api_url(), &Secret::new(sandbox::slack::server::BOT_TOKEN))
            .unwrap();
    let ts = api.post_message(CHANNEL, &alert, None).await.unwrap().ts;
    let posted = &bot.slack.messages_in(CHANNEL)[0];
    assert!(posted.body.to_string().contains("\"action_id\":\"retry_job\""), "{}", posted.body);

    bot.click(ADMIN, "retry_job", &dead.id.to_string(), Some(&ts)).await;

    let update = &bot.slack.calls_to("chat.update")[0];
    assert!(update.text().contains("Background job failed: collect"), "{}", update.text());
    assert!(update.text().contains(&format!("<@{ADMIN}> queued job #{} again", dead.id)));
    assert!(!update.body.to_string().contains("retry_job"), "the button is gone: {}", update.body);
}
