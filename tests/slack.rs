//! The Slack endpoints as Slack meets them: the real router on a random loopback port over a fresh
//! SQLite store, reached with a real HTTP client and signed requests.

mod support;

use std::{net::SocketAddr, sync::Arc};

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use kushim::{
    config::{Config, Secret},
    engine::Engine,
    integrations::Integration,
    sandbox,
    server::{self, AppState},
    store::{Backend, Store},
};
use serde_json::Value;
use sha2::Sha256;
use support::TestDb;
use tokio::sync::oneshot;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// A running bot; dropping it stops the server.
struct Bot {
    addr: SocketAddr,
    http: reqwest::Client,
    now: DateTime<Utc>,
    store: Store,
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
        let db = TestDb::new(Backend::Sqlite).await;
        let store = db.store().await;
        let engine = Engine::new(store.clone(), &Config::default()).expect("the catalog loads");
        if collected {
            let snapshot = sandbox::generated_org(600, now);
            for integration in Integration::ALL {
                engine.ingest(integration, &snapshot, now).await.expect("ingest");
            }
        }
        let state = AppState::new(engine, Secret::new(SECRET), Arc::new(move || now));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Bot { addr, http: reqwest::Client::new(), now, store, stop: Some(stop), served, _db: db }
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
        let mut request = self
            .http
            .post(self.url("/slack/commands"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into());
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

    /// `/kushim <text>` as Slack sends it; expects a 200 JSON reply.
    async fn command(&self, text: &str) -> Value {
        let body = slash_body(text);
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
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", "ignored")
        .append_pair("team_id", "T1")
        .append_pair("channel_id", "C1")
        .append_pair("user_id", "U1")
        .append_pair("command", "/kushim")
        .append_pair("text", text)
        .append_pair("response_url", "https://hooks.slack.com/commands/T1/1/x")
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
                out.extend(item["text"].as_str().map(str::to_owned));
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
async fn controls_lists_within_block_kit_limits() {
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
    assert!(all_text(&reply).contains("• `AC-01` "));
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
async fn commands_not_built_yet_say_so() {
    let bot = Bot::started().await;
    let reply = bot.command("collect github").await;
    assert_eq!(only_sentence(&reply), "`/kushim collect` is not available in this version yet.");
    let reply = bot.command("exceptions").await;
    assert_eq!(only_sentence(&reply), "`/kushim exceptions` is not available in this version yet.");
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
