//! A fake Slack Web API: `POST /api/<method>` with a JSON or form body (and `GET` with a query),
//! `Authorization: Bearer <bot token>`, answering in Slack's envelope (`{"ok": true, …}` or
//! `{"ok": false, "error": "…"}` with HTTP 200), 429 + `Retry-After` when a rate limit is
//! injected, and `POST /respond/<id>` standing in for the `response_url`s Slack hands out.
//!
//! It keeps what a test asserts on: every call in order, the messages in each channel (with
//! their `ts`, changed in place by `chat.update`), opened modals, published Home tabs.
//!
//! As an evidence source it answers `auth.test` and `users.list` (cursor-paged, `limit` honoured)
//! for a workspace of generated members. Two tokens work: the bot's, and [`ADMIN_TOKEN`], the
//! primary owner's user token with only `users:read`. As on Slack, members' `has_2fa` is shown
//! only to the admin, and deactivated members come without their role flags.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::integrations::slack::{SlackSnapshot, SlackUser};
use crate::sandbox::serve::{FakeServer, Fault, Recorder, with_faults};

/// The bot token the fake accepts unless told otherwise.
pub const BOT_TOKEN: &str = "xoxb-sandbox-kushim";
/// The app-level token `apps.connections.open` accepts (Socket Mode).
pub const APP_TOKEN: &str = "xapp-sandbox-kushim";
/// The primary owner's user token (`users:read` only): `users.list` shows it who has 2FA.
pub const ADMIN_TOKEN: &str = "xoxp-sandbox-admin";
/// How many members [`start`]'s workspace has.
pub const DEFAULT_MEMBERS: usize = 120;
/// The fake workspace.
pub const TEAM_ID: &str = "T0SANDBOX";
const BOT_USER_ID: &str = "UKUSHIMBOT";
const BOT_ID: &str = "BKUSHIM";

/// One Web API call (or `response_url` post) as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackCall {
    /// `chat.postMessage`, …, or `response_url` for posts to a response URL.
    pub method: String,
    /// The JSON body, or the form / query fields as a JSON object. For `response_url` calls
    /// the response id is in `"response_id"`.
    pub body: Value,
}

impl SlackCall {
    /// The fallback text and every text inside the blocks, joined by newlines: what a person
    /// would read.
    pub fn text(&self) -> String {
        let mut texts = Vec::new();
        if let Some(text) = self.body["text"].as_str() {
            texts.push(text.to_owned());
        }
        collect_texts(&self.body["blocks"], &mut texts);
        collect_texts(&self.body["view"]["blocks"], &mut texts);
        texts.join("\n")
    }

    /// The `action_id`s of the buttons in the message or view.
    pub fn buttons(&self) -> Vec<(String, String)> {
        let mut buttons = Vec::new();
        for blocks in [&self.body["blocks"], &self.body["view"]["blocks"]] {
            for block in blocks.as_array().into_iter().flatten() {
                for element in block["elements"].as_array().into_iter().flatten() {
                    if element["type"] == "button" {
                        buttons.push((
                            element["action_id"].as_str().unwrap_or_default().to_owned(),
                            element["value"].as_str().unwrap_or_default().to_owned(),
                        ));
                    }
                }
            }
        }
        buttons
    }
}

fn collect_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                out.push(text.clone());
            }
            for (key, child) in map {
                if key != "text" || child.is_object() {
                    collect_texts(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_texts(item, out)),
        _ => {}
    }
}

/// A message as it now stands in a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedMessage {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    /// The latest body (`chat.postMessage`, then each `chat.update`).
    pub body: Value,
    /// How many times `chat.update` changed it.
    pub updates: usize,
}

#[derive(Debug, Default)]
struct Workspace {
    bot_token: String,
    calls: Vec<SlackCall>,
    messages: Vec<PostedMessage>,
    next_ts: u64,
    /// Channels that answer `channel_not_found`.
    missing_channels: BTreeSet<String>,
    /// handle → (group id, member ids).
    user_groups: HashMap<String, (String, Vec<String>)>,
    /// The workspace's name, as `auth.test` says it.
    team_name: String,
    /// Everyone `users.list` returns, in order.
    members: Vec<SlackUser>,
}

/// Whose token a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Bot,
    /// The primary owner's user token: `users:read` and nothing else.
    Admin,
}

#[derive(Clone)]
struct Shared {
    workspace: Arc<Mutex<Workspace>>,
    called: Arc<Notify>,
    sockets: Arc<Mutex<Sockets>>,
    socket_event: Arc<Notify>,
    /// Where `apps.connections.open` points clients: `ws://127.0.0.1:PORT/socket`.
    socket_url: Arc<Mutex<String>>,
}

/// Socket Mode connections and the acknowledgements they sent back.
#[derive(Default)]
struct Sockets {
    connections: Vec<tokio::sync::mpsc::UnboundedSender<String>>,
    /// envelope id → the `payload` of its acknowledgement (`null` when it had none).
    acks: HashMap<String, Value>,
}

/// A running fake Slack. Dropping it stops the server.
pub struct FakeSlack {
    server: FakeServer,
    pub recorder: Recorder,
    shared: Shared,
}

/// Serves a fake Slack workspace of [`DEFAULT_MEMBERS`] generated members on 127.0.0.1.
pub async fn start() -> std::io::Result<FakeSlack> {
    start_with(super::generated(DEFAULT_MEMBERS)).await
}

/// Serves a fake Slack workspace with `workspace`'s name and members on 127.0.0.1 (its id is
/// always [`TEAM_ID`]; its `sso_enforced` and `gaps` are not Slack's to say).
pub async fn start_with(workspace: SlackSnapshot) -> std::io::Result<FakeSlack> {
    let recorder = Recorder::default();
    let shared = Shared {
        workspace: Arc::new(Mutex::new(Workspace {
            bot_token: BOT_TOKEN.to_owned(),
            next_ts: 1,
            team_name: workspace.team_name,
            members: workspace.users,
            ..Workspace::default()
        })),
        called: Arc::new(Notify::new()),
        sockets: Arc::default(),
        socket_event: Arc::new(Notify::new()),
        socket_url: Arc::default(),
    };
    let router = Router::new()
        .route("/api/{method}", post(api_post).get(api_get))
        .route("/respond/{id}", post(respond))
        .route("/socket", axum::routing::get(socket))
        .with_state(shared.clone())
        .layer(middleware::from_fn({
            let recorder = recorder.clone();
            move |request: Request, next: Next| {
                with_faults(recorder.clone(), render_fault, request, next)
            }
        }));
    let server = FakeServer::start(router).await?;
    *shared.socket_url.lock().expect("socket url") = format!("ws://{}/socket", server.addr());
    Ok(FakeSlack { server, recorder, shared })
}

impl FakeSlack {
    /// The Web API base URL to configure (`SLACK_API_URL`): `http://127.0.0.1:PORT/api`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.server.url())
    }

    /// Evidence settings that read this workspace with `token` ([`ADMIN_TOKEN`] or
    /// [`BOT_TOKEN`]), named as if it came from `SLACK_EVIDENCE_TOKEN`.
    pub fn evidence_settings(&self, token: &str) -> crate::config::SlackEvidenceSettings {
        crate::config::SlackEvidenceSettings {
            api_url: self.api_url(),
            token: crate::config::Secret::new(token),
            token_source: "SLACK_EVIDENCE_TOKEN".to_owned(),
            sso_enforced: None,
        }
    }

    /// The members `users.list` returns, in order.
    pub fn members(&self) -> Vec<SlackUser> {
        self.workspace().members.clone()
    }

    /// A `response_url` as Slack would put in a command or click.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/respond/{id}", self.server.url())
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<SlackCall> {
        self.workspace().calls.clone()
    }

    /// The calls of one method, in order.
    pub fn calls_to(&self, method: &str) -> Vec<SlackCall> {
        self.calls().into_iter().filter(|call| call.method == method).collect()
    }

    /// The messages in `channel` as they now stand, oldest first.
    pub fn messages_in(&self, channel: &str) -> Vec<PostedMessage> {
        self.workspace().messages.iter().filter(|m| m.channel == channel).cloned().collect()
    }

    /// Waits until `method` has been called `count` times in all and returns those calls. Panics
    /// after ten seconds with what was called instead: a test waits on an event, not a sleep.
    pub async fn wait_for(&self, method: &str, count: usize) -> Vec<SlackCall> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.shared.called.notified();
            let calls = self.calls_to(method);
            if calls.len() >= count {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let seen: Vec<String> = self.calls().into_iter().map(|c| c.method).collect();
                panic!("waited 10 s for {count} × {method}; Slack saw {seen:?}");
            }
        }
    }

    /// Deletes a message as a person in the channel would: `chat.update` then answers
    /// `message_not_found`.
    pub fn delete_message(&self, channel: &str, ts: &str) {
        self.workspace().messages.retain(|m| !(m.channel == channel && m.ts == ts));
    }

    /// Makes `chat.postMessage` and friends answer `channel_not_found` for `channel`.
    pub fn remove_channel(&self, channel: &str) {
        self.workspace().missing_channels.insert(channel.to_owned());
    }

    /// Adds a user group `@handle` with these members.
    pub fn add_user_group(&self, handle: &str, members: &[&str]) {
        let mut workspace = self.workspace();
        let id = format!("S{:08}", workspace.user_groups.len() + 1);
        workspace
            .user_groups
            .insert(handle.to_owned(), (id, members.iter().map(|m| m.to_string()).collect()));
    }

    /// The next `times` calls of `method` answer 429 with `Retry-After: seconds`.
    pub fn rate_limit(&self, method: &str, retry_after_seconds: u64, times: u32) {
        self.recorder.inject(
            &format!("/api/{method}"),
            Fault::RateLimited { retry_after_seconds },
            Some(times),
        );
    }

    /// Delivers a Socket Mode envelope of `kind` (`slash_commands`, `interactive`,
    /// `events_api`) over the first open connection and returns the `payload` of Kushim's
    /// acknowledgement (`null` for a bare one). Waits up to ten seconds for a connection and for
    /// the acknowledgement.
    pub async fn deliver_over_socket(&self, kind: &str, payload: Value) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let envelope_id = format!("envelope-{}", uuid::Uuid::new_v4());
        let envelope = json!({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": 0,
            "retry_reason": "",
        })
        .to_string();
        let mut sent = false;
        loop {
            let waiting = self.shared.socket_event.notified();
            {
                let mut sockets = self.shared.sockets.lock().expect("sockets");
                if let Some(ack) = sockets.acks.remove(&envelope_id) {
                    return ack;
                }
                if !sent {
                    sockets.connections.retain(|c| !c.is_closed());
                    if let Some(connection) = sockets.connections.first() {
                        sent = connection.send(envelope.clone()).is_ok();
                    }
                }
            }
            if tokio::time::timeout_at(deadline, waiting).await.is_err() {
                panic!("no Socket Mode acknowledgement of {kind} within 10 s (sent: {sent})");
            }
        }
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }

    fn workspace(&self) -> std::sync::MutexGuard<'_, Workspace> {
        self.shared.workspace.lock().expect("fake Slack workspace")
    }
}

fn render_fault(fault: &Fault) -> Option<Response> {
    Some(match fault {
        Fault::RateLimited { retry_after_seconds } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({ "ok": false, "error": "ratelimited" })),
            )
                .into_response();
            response.headers_mut().insert(
                "retry-after",
                HeaderValue::from_str(&retry_after_seconds.to_string()).expect("a number"),
            );
            response
        }
        Fault::ServerError(status) => StatusCode::from_u16(*status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Fault::Unauthorized => {
            Json(json!({ "ok": false, "error": "invalid_auth" })).into_response()
        }
        Fault::Forbidden => Json(json!({ "ok": false, "error": "missing_scope" })).into_response(),
        Fault::Malformed => (StatusCode::OK, "<html>maintenance</html>").into_response(),
        Fault::Slow(_) => return None,
    })
}

async fn api_post(
    State(shared): State<Shared>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = if is_json {
        match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(_) => return Json(json!({ "ok": false, "error": "invalid_json" })).into_response(),
        }
    } else {
        form_fields(url::form_urlencoded::parse(&body))
    };
    call(&shared, &method, &headers, body)
}

async fn api_get(
    State(shared): State<Shared>,
    Path(method): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let body = form_fields(query.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())));
    call(&shared, &method, &headers, body)
}

fn form_fields<'a>(
    fields: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) -> Value {
    Value::Object(fields.map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect())
}

/// A Socket Mode connection: says hello, forwards envelopes, records acknowledgements.
async fn socket(
    State(shared): State<Shared>,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    use axum::extract::ws::Message;
    upgrade.on_upgrade(move |mut socket| async move {
        let hello = json!({
            "type": "hello", "num_connections": 1,
            "debug_info": { "host": "applink-sandbox", "build_number": 1, "approximate_connection_time": 18060 },
            "connection_info": { "app_id": "AKUSHIM" },
        });
        if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
            return;
        }
        let (outgoing, mut envelopes) = tokio::sync::mpsc::unbounded_channel::<String>();
        shared.sockets.lock().expect("sockets").connections.push(outgoing);
        shared.socket_event.notify_waiters();
        loop {
            tokio::select! {
                envelope = envelopes.recv() => {
                    let Some(envelope) = envelope else { break };
                    if socket.send(Message::Text(envelope.into())).await.is_err() {
                        break;
                    }
                }
                message = socket.recv() => {
                    match message {
                        Some(Ok(Message::Text(text))) => {
                            if let Ok(ack) = serde_json::from_str::<Value>(&text)
                                && let Some(id) = ack["envelope_id"].as_str()
                            {
                                let payload = ack.get("payload").cloned().unwrap_or(Value::Null);
                                shared.sockets.lock().expect("sockets").acks.insert(id.to_owned(), payload);
                                shared.socket_event.notify_waiters();
                            }
                        }
                        Some(Ok(Message::Ping(data))) => {
                            let _ = socket.send(Message::Pong(data)).await;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    }
                }
            }
        }
    })
}

async fn respond(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(mut body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    body["response_id"] = json!(id);
    record(&shared, SlackCall { method: "response_url".into(), body });
    Json(json!({ "ok": true })).into_response()
}

fn record(shared: &Shared, call: SlackCall) {
    shared.workspace.lock().expect("fake Slack workspace").calls.push(call);
    shared.called.notify_waiters();
}

fn call(shared: &Shared, method: &str, headers: &HeaderMap, body: Value) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if method == "apps.connections.open" {
        if token != Some(APP_TOKEN) {
            return Json(json!({ "ok": false, "error": "invalid_auth" })).into_response();
        }
        let url = shared.socket_url.lock().expect("socket url").clone();
        record(shared, SlackCall { method: method.to_owned(), body });
        return Json(json!({ "ok": true, "url": url })).into_response();
    }
    let answer = {
        let mut workspace = shared.workspace.lock().expect("fake Slack workspace");
        let caller = match token {
            None => return Json(refused("not_authed")).into_response(),
            Some(token) if token == workspace.bot_token => Caller::Bot,
            Some(ADMIN_TOKEN) => Caller::Admin,
            Some(_) => return Json(refused("invalid_auth")).into_response(),
        };
        if caller == Caller::Admin && !matches!(method, "auth.test" | "users.list") {
            return Json(json!({
                "ok": false, "error": "missing_scope", "needed": "chat:write",
                "provided": "users:read",
            }))
            .into_response();
        }
        workspace.answer(method, &body, caller)
    };
    record(shared, SlackCall { method: method.to_owned(), body });
    Json(answer).into_response()
}

fn refused(error: &str) -> Value {
    json!({ "ok": false, "error": error })
}

impl Workspace {
    fn answer(&mut self, method: &str, body: &Value, caller: Caller) -> Value {
        let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
        match method {
            "auth.test" => {
                let url = format!("https://{}.slack.com/", self.team_name);
                match caller {
                    Caller::Bot => json!({
                        "ok": true, "url": url, "team": self.team_name, "user": "kushim",
                        "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID,
                        "is_enterprise_install": false,
                    }),
                    Caller::Admin => {
                        let owner = self.members.iter().find(|m| m.is_primary_owner);
                        json!({
                            "ok": true, "url": url, "team": self.team_name,
                            "user": owner.map_or("owner", |m| m.name.as_str()),
                            "team_id": TEAM_ID,
                            "user_id": owner.map_or("U0OWNER", |m| m.id.as_str()),
                            "is_enterprise_install": false,
                        })
                    }
                }
            }
            "users.list" => self.users_list(&field("limit"), &field("cursor"), caller),
            "chat.postMessage" => {
                let channel = field("channel");
                if let Some(error) = self.channel_error(&channel) {
                    return refused(error);
                }
                if body["text"].is_null() && body["blocks"].is_null() {
                    return refused("no_text");
                }
                let ts = self.next_ts();
                self.messages.push(PostedMessage {
                    channel: channel.clone(),
                    ts: ts.clone(),
                    thread_ts: body["thread_ts"].as_str().map(str::to_owned),
                    body: body.clone(),
                    updates: 0,
                });
                json!({ "ok": true, "channel": channel, "ts": ts, "message": bot_message(body, &ts) })
            }
            "chat.update" => {
                let (channel, ts) = (field("channel"), field("ts"));
                if let Some(error) = self.channel_error(&channel) {
                    return refused(error);
                }
                let Some(message) =
                    self.messages.iter_mut().find(|m| m.channel == channel && m.ts == ts)
                else {
                    return refused("message_not_found");
                };
                message.body = body.clone();
                message.updates += 1;
                json!({
                    "ok": true, "channel": channel, "ts": ts, "text": body["text"],
                    "message": bot_message(body, &ts),
                })
            }
            "conversations.history" => {
                // Newest first, as Slack answers; metadata only when asked for.
                let channel = field("channel");
                if let Some(error) = self.channel_error(&channel) {
                    return refused(error);
                }
                let with_metadata = field("include_all_metadata") == "true";
                let messages: Vec<Value> = self
                    .messages
                    .iter()
                    .rev()
                    .filter(|m| m.channel == channel && m.thread_ts.is_none())
                    .map(|m| {
                        let mut message = bot_message(&m.body, &m.ts);
                        if with_metadata && !m.body["metadata"].is_null() {
                            message["metadata"] = m.body["metadata"].clone();
                        }
                        message
                    })
                    .collect();
                json!({ "ok": true, "messages": messages, "has_more": false })
            }
            "chat.postEphemeral" => {
                let channel = field("channel");
                if let Some(error) = self.channel_error(&channel) {
                    return refused(error);
                }
                if field("user").is_empty() {
                    return refused("user_not_in_channel");
                }
                json!({ "ok": true, "message_ts": self.next_ts() })
            }
            "views.open" | "views.publish" => {
                if method == "views.open" && field("trigger_id").is_empty() {
                    return refused("invalid_trigger_id");
                }
                if method == "views.publish" && field("user_id").is_empty() {
                    return refused("invalid_arguments");
                }
                let mut view = body["view"].clone();
                if !view.is_object() {
                    return refused("invalid_arguments");
                }
                let id = format!("V{:08}", self.next_ts);
                self.next_ts += 1;
                view["id"] = json!(id);
                view["team_id"] = json!(TEAM_ID);
                view["hash"] = json!(format!("{id}.hash"));
                view["app_id"] = json!("AKUSHIM");
                view["bot_id"] = json!(BOT_ID);
                view["state"] = json!({ "values": {} });
                json!({ "ok": true, "view": view })
            }
            "usergroups.list" => {
                let groups: Vec<Value> = self
                    .user_groups
                    .iter()
                    .map(|(handle, (id, members))| {
                        json!({
                            "id": id, "team_id": TEAM_ID, "is_usergroup": true,
                            "name": handle, "description": "", "handle": handle,
                            "is_external": false, "date_create": 1_700_000_000,
                            "date_update": 1_700_000_000, "date_delete": 0,
                            "auto_type": null, "created_by": "U00000001",
                            "updated_by": "U00000001", "deleted_by": null,
                            "prefs": { "channels": [], "groups": [] },
                            "user_count": members.len(),
                        })
                    })
                    .collect();
                json!({ "ok": true, "usergroups": groups })
            }
            "usergroups.users.list" => {
                let id = field("usergroup");
                match self.user_groups.values().find(|(group_id, _)| *group_id == id) {
                    Some((_, members)) => json!({ "ok": true, "users": members }),
                    None => refused("no_such_subteam"),
                }
            }
            _ => refused("unknown_method"),
        }
    }

    /// One page of members from `cursor` (Slack's own shape: base64 of `user:<next id>`), at
    /// most `limit` (none or 0: all of them, as Slack tries to; at most 1,000).
    fn users_list(&self, limit: &str, cursor: &str, caller: Caller) -> Value {
        use base64::Engine as _;
        let limit = match limit.trim() {
            "" => 0,
            text => match text.parse::<usize>() {
                Ok(limit) => limit,
                Err(_) => return refused("invalid_limit"),
            },
        };
        let limit = if limit == 0 { self.members.len() } else { limit.min(1000) };
        let start = if cursor.is_empty() {
            0
        } else {
            let next_id = base64::engine::general_purpose::STANDARD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| text.strip_prefix("user:").map(str::to_owned));
            match next_id.and_then(|id| self.members.iter().position(|m| m.id == id)) {
                Some(start) => start,
                None => return refused("invalid_cursor"),
            }
        };
        let end = (start + limit).min(self.members.len());
        let members: Vec<Value> = self.members[start..end]
            .iter()
            .map(|member| wire_member(member, caller == Caller::Admin))
            .collect();
        let next_cursor = match self.members.get(end) {
            Some(next) => {
                base64::engine::general_purpose::STANDARD.encode(format!("user:{}", next.id))
            }
            None => String::new(),
        };
        json!({
            "ok": true, "members": members, "cache_ts": 1_750_000_000,
            "response_metadata": { "next_cursor": next_cursor },
        })
    }

    fn channel_error(&self, channel: &str) -> Option<&'static str> {
        if channel.is_empty() || self.missing_channels.contains(channel) {
            Some("channel_not_found")
        } else {
            None
        }
    }

    /// Slack's message timestamps: unique per channel, `seconds.micros`.
    fn next_ts(&mut self) -> String {
        let ts = format!("1750000000.{:06}", self.next_ts);
        self.next_ts += 1;
        ts
    }
}

/// A `users.list` member as Slack sends it. Deactivated members come without their role and guest
/// flags; `has_2fa` only to an admin's token.
fn wire_member(member: &SlackUser, sees_2fa: bool) -> Value {
    let real_name = format!("Sandbox {}", member.name);
    let mut wire = json!({
        "id": member.id, "team_id": TEAM_ID, "name": member.name, "deleted": member.deleted,
        "color": "9f69e7", "real_name": real_name, "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time", "tz_offset": 0,
        "profile": {
            "real_name": real_name, "real_name_normalized": real_name,
            "display_name": member.name, "display_name_normalized": member.name,
        },
        "is_bot": member.is_bot, "is_app_user": false, "updated": 1_700_000_000,
    });
    if !member.deleted {
        wire["is_admin"] = json!(member.is_admin);
        wire["is_owner"] = json!(member.is_owner);
        wire["is_primary_owner"] = json!(member.is_primary_owner);
        wire["is_restricted"] = json!(member.is_restricted);
        wire["is_ultra_restricted"] = json!(member.is_ultra_restricted);
        if sees_2fa {
            wire["has_2fa"] = json!(member.has_2fa.unwrap_or(false));
        }
    }
    wire
}

/// The `message` object Slack returns for a message the bot posted.
fn bot_message(body: &Value, ts: &str) -> Value {
    json!({
        "type": "message", "subtype": "bot_message", "text": body["text"],
        "blocks": body["blocks"], "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
        "team": TEAM_ID,
    })
}
