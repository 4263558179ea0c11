//! An in-process IAM (and STS) endpoint serving an [`AwsWorld`] in the AWS Query protocol, as
//! aws-sdk-iam and aws-sdk-sts speak it: `POST /` with a form body `Action=…&Version=…`, XML
//! answers `<XxxResponse xmlns=…><XxxResult>…</XxxResult><ResponseMetadata>…` and XML errors
//! `<ErrorResponse><Error><Type>…<Code>…<Message>…</Error><RequestId>…` with IAM's statuses
//! (the IAM API reference, "Common Errors" and each action's Errors section).
//!
//! Requests are signed with SigV4; the fake reads the access key from the `Authorization`
//! header (it does not verify signatures) and answers `InvalidClientTokenId` for a key it never
//! issued. The sandbox key belongs to the home account's user `kushim`; `sts:AssumeRole` into a
//! role marked assumable issues session keys for that role's account.
//!
//! Query-protocol requests all go to `/`, so the fake logs each as `/{Action}?{other
//! parameters}`: faults are injected by action (`recorder.inject("/GetAccountSummary", …)`) and
//! the log reads by action. Faults render as IAM renders them: throttling is HTTP 400
//! `Throttling` ("Rate exceeded"; IAM sends no `Retry-After`), bad credentials 403
//! `ExpiredToken`, a missing permission 403 `AccessDenied` naming the action.

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    sync::{Arc, Mutex},
};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::world::{AccessKey, AwsAccountWorld, AwsWorld, MfaDevice, WorldUser};
use crate::integrations::aws::PasswordPolicy;
use crate::sandbox::serve::{FakeServer, Fault, Recorder};

/// The sandbox's own access key: the home account's IAM user `kushim`.
pub const SANDBOX_ACCESS_KEY_ID: &str = "AKIAKUSHIMSANDBOX001";
pub const SANDBOX_SECRET_ACCESS_KEY: &str = "kushim-sandbox-secret-access-key";

const IAM_VERSION: &str = "2010-05-08";
const STS_VERSION: &str = "2011-06-15";
const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The exact header of the credential report (IAM User Guide; checks.md §1.2).
const REPORT_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A running IAM fake. Dropping it stops the server.
pub struct FakeIam {
    pub server: FakeServer,
    pub recorder: Recorder,
    home_account: String,
}

impl FakeIam {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// An AWS configuration pointed at the fake with the sandbox credentials, for
    /// `kushim::integrations::aws::collect_with`.
    pub fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_with(SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY)
    }

    /// The same with other credentials (a key the fake never issued is rejected).
    pub fn sdk_config_with(&self, access_key_id: &str, secret_access_key: &str) -> SdkConfig {
        let credentials =
            Credentials::new(access_key_id, secret_access_key, None, None, "kushim-sandbox");
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .endpoint_url(self.url())
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build()
    }

    /// The home account's id (the account of [`FakeIam::sdk_config`]'s credentials).
    pub fn home_account(&self) -> &str {
        &self.home_account
    }

    /// How many requests named `action` the fake received (retries included).
    pub fn requests_for(&self, action: &str) -> usize {
        let path = format!("/{action}");
        self.recorder
            .requests()
            .iter()
            .filter(|request| request.uri.split('?').next() == Some(path.as_str()))
            .count()
    }
}

/// Serves `world` on 127.0.0.1 at a port the OS picks.
pub async fn start(world: impl Into<AwsWorld>) -> std::io::Result<FakeIam> {
    let world = world.into();
    let recorder = Recorder::default();
    let home_account = world.home().account_id.clone();
    let state = Arc::new(Fake { recorder: recorder.clone(), state: Mutex::new(Live::new(world)) });
    let router = Router::new().fallback(handle).with_state(state);
    let server = FakeServer::start(router).await?;
    Ok(FakeIam { server, recorder, home_account })
}

struct Fake {
    recorder: Recorder,
    state: Mutex<Live>,
}

/// The world and what has happened to it since the fake started.
struct Live {
    world: AwsWorld,
    reports: HashMap<String, Report>,
    /// Accounts whose report has already expired once (see `ReportBehaviour::expires_once`).
    expired: HashSet<String>,
    /// Session access key → the session.
    sessions: HashMap<String, Session>,
}

impl Live {
    fn new(world: AwsWorld) -> Live {
        Live { world, reports: HashMap::new(), expired: HashSet::new(), sessions: HashMap::new() }
    }
}

#[derive(Debug, Clone, Copy)]
enum Report {
    InProgress { remaining: u32 },
    Complete,
}

#[derive(Debug, Clone)]
struct Session {
    account_id: String,
    role_name: String,
    session_name: String,
    token: String,
}

/// Who signed a request.
#[derive(Debug, Clone)]
struct Caller {
    account_id: String,
    arn: String,
    user_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Sts,
}

impl Service {
    fn namespace(self) -> &'static str {
        match self {
            Service::Iam => IAM_NAMESPACE,
            Service::Sts => STS_NAMESPACE,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }
}

/// One request, decoded.
struct Call {
    service: Service,
    action: String,
    params: HashMap<String, String>,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// `Name.member.1`, `Name.member.2`, … in order.
    fn members(&self, name: &str) -> Vec<&str> {
        (1..).map_while(|index| self.param(&format!("{name}.member.{index}"))).collect()
    }
}

async fn handle(State(fake): State<Arc<Fake>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let mut params: Vec<(String, String)> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    params.extend(
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned(),
    );
    let action = params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone());
    let version = params.iter().find(|(k, _)| k == "Version").map(|(_, v)| v.clone());

    // Log the request under its action, so faults and assertions can name it.
    let rest = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(k, _)| k != "Action" && k != "Version"))
        .finish();
    let logged_uri = match (&action, rest.is_empty()) {
        (Some(action), true) => format!("/{action}"),
        (Some(action), false) => format!("/{action}?{rest}"),
        (None, _) => parts.uri.to_string(),
    };
    let mut logged = Request::builder().method(parts.method.clone()).uri(logged_uri);
    for (name, value) in &parts.headers {
        logged = logged.header(name, value);
    }
    let fault = match logged.body(Body::empty()) {
        Ok(logged) => fake.recorder.observe(&logged),
        Err(_) => None,
    };

    let service = match version.as_deref() {
        Some(STS_VERSION) => Service::Sts,
        _ => Service::Iam,
    };
    let Some(action) = action else {
        return error(service, StatusCode::BAD_REQUEST, "MissingAction", "Missing Action");
    };
    if version.as_deref() != Some(IAM_VERSION) && version.as_deref() != Some(STS_VERSION) {
        return error(
            service,
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            &format!("Unsupported Version {}", version.unwrap_or_default()),
        );
    }
    let call = Call { service, action, params: params.into_iter().collect() };

    if let Some(fault) = fault {
        let caller = fake.caller(&parts.headers, call.service).ok();
        match render_fault(&fault, &call, caller.as_ref()) {
            Some(response) => return response,
            None => {
                if let Fault::Slow(delay) = fault {
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
    let caller = match fake.caller(&parts.headers, call.service) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let mut live = fake.state.lock().expect("fake state");
    match call.service {
        Service::Sts => sts(&mut live, &call, &caller),
        Service::Iam => iam(&mut live, &call, &caller),
    }
}

impl Fake {
    /// The signer of a request, from the SigV4 `Authorization` header.
    fn caller(&self, headers: &HeaderMap, service: Service) -> Result<Caller, Box<Response>> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let Some(authorization) = header("authorization") else {
            return Err(Box::new(error(
                service,
                StatusCode::FORBIDDEN,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            )));
        };
        let access_key = authorization
            .split("Credential=")
            .nth(1)
            .and_then(|credential| credential.split('/').next())
            .unwrap_or_default();
        let invalid = || {
            Box::new(error(
                service,
                StatusCode::FORBIDDEN,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ))
        };
        let live = self.state.lock().expect("fake state");
        if access_key == SANDBOX_ACCESS_KEY_ID {
            let account_id = live.world.home().account_id.clone();
            return Ok(Caller {
                arn: format!("arn:aws:iam::{account_id}:user/kushim"),
                user_id: "AIDAKUSHIMSANDBOX0001".into(),
                account_id,
            });
        }
        let session = live.sessions.get(access_key).ok_or_else(invalid)?;
        if header("x-amz-security-token") != Some(session.token.as_str()) {
            return Err(invalid());
        }
        Ok(Caller {
            arn: format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                session.account_id, session.role_name, session.session_name
            ),
            user_id: format!("AROAKUSHIM{}:{}", session.role_name.len(), session.session_name),
            account_id: session.account_id.clone(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/xml"),
            (header::HeaderName::from_static("x-amzn-requestid"), request_id),
        ],
        body,
    )
        .into_response()
}

/// `<{Action}Response><{Action}Result>{result}</…><ResponseMetadata>…`.
fn ok(call: &Call, result: &str) -> Response {
    let id = request_id();
    let action = &call.action;
    let body = format!(
        "<{action}Response xmlns=\"{ns}\">\n  <{action}Result>{result}</{action}Result>\n  <ResponseMetadata>\n    <RequestId>{id}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
        ns = call.service.namespace(),
    );
    xml_response(StatusCode::OK, body, &id)
}

fn error(service: Service, status: StatusCode, code: &str, message: &str) -> Response {
    let id = request_id();
    // 5xx are the service's fault, everything else the sender's.
    let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{ns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>{id}</RequestId>\n</ErrorResponse>\n",
        ns = service.namespace(),
        message = escape(message),
    );
    xml_response(status, body, &id)
}

/// The answer an injected fault gives; `None` for slowness, which only delays the real answer.
fn render_fault(fault: &Fault, call: &Call, caller: Option<&Caller>) -> Option<Response> {
    let service = call.service;
    Some(match fault {
        Fault::RateLimited { .. } => {
            error(service, StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
        }
        Fault::ServerError(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (code, message) = match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    ("ServiceUnavailable", "Service is unable to handle request.")
                }
                StatusCode::INTERNAL_SERVER_ERROR => (
                    "ServiceFailure",
                    "The request processing has failed because of an unknown error, exception or failure.",
                ),
                _ => ("InternalFailure", "The request processing has failed."),
            };
            error(service, status, code, message)
        }
        Fault::Unauthorized => error(
            service,
            StatusCode::FORBIDDEN,
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
        Fault::Forbidden => {
            let arn = caller.map_or("arn:aws:iam::000000000000:user/unknown", |c| c.arn.as_str());
            let action = format!("{}:{}", service.prefix(), call.action);
            error(
                service,
                StatusCode::FORBIDDEN,
                "AccessDenied",
                &format!(
                    "User: {arn} is not authorized to perform: {action} on resource: * because no identity-based policy allows the {action} action"
                ),
            )
        }
        Fault::Malformed => {
            // What a captive portal or a misconfigured proxy answers in place of the API.
            let id = request_id();
            let body = "<html><head><title>Sign in</title></head><body>Please sign in to continue.</body></html>\n";
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/html"),
                    (header::HeaderName::from_static("x-amzn-requestid"), id.as_str()),
                ],
                body,
            )
                .into_response()
        }
        Fault::Slow(_) => return None,
    })
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Percent-encoding of RFC 3986 (unreserved characters kept), as IAM encodes policy documents.
fn url_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `<name>value</name>`, escaped.
fn el(name: &str, value: impl std::fmt::Display) -> String {
    format!("<{name}>{}</{name}>", escape(&value.to_string()))
}

fn members<T>(name: &str, items: &[T], render: impl Fn(&T) -> String) -> String {
    let inner: String =
        items.iter().map(|item| format!("<member>{}</member>", render(item))).collect();
    format!("<{name}>{inner}</{name}>")
}

// ---------------------------------------------------------------------------------------------
// Paging

/// The slice of `items` one page holds, and the marker of the next page.
fn page<'a, T>(
    call: &Call,
    items: &'a [T],
    page_size: usize,
) -> Result<(&'a [T], Option<String>), Box<Response>> {
    let invalid = |message: &str| {
        Box::new(error(call.service, StatusCode::BAD_REQUEST, "ValidationError", message))
    };
    let max_items = match call.param("MaxItems") {
        None => 100,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=1000) => n,
            _ => {
                return Err(invalid(
                    "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000",
                ));
            }
        },
    };
    let start = match call.param("Marker") {
        None => 0,
        Some(marker) => base64::engine::general_purpose::STANDARD
            .decode(marker)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix("kushim-fake:").and_then(|n| n.parse().ok()))
            .filter(|start| *start <= items.len())
            .ok_or_else(|| invalid("Invalid Marker"))?,
    };
    let end = (start + max_items.min(page_size)).min(items.len());
    let next = (end < items.len())
        .then(|| base64::engine::general_purpose::STANDARD.encode(format!("kushim-fake:{end}")));
    Ok((&items[start..end], next))
}

fn paging(next: &Option<String>) -> String {
    match next {
        Some(marker) => format!("<IsTruncated>true</IsTruncated>{}", el("Marker", marker)),
        None => "<IsTruncated>false</IsTruncated>".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// STS

fn sts(live: &mut Live, call: &Call, caller: &Caller) -> Response {
    match call.action.as_str() {
        "GetCallerIdentity" => ok(
            call,
            &format!(
                "{}{}{}",
                el("Arn", &caller.arn),
                el("UserId", &caller.user_id),
                el("Account", &caller.account_id)
            ),
        ),
        "AssumeRole" => assume_role(live, call, caller),
        other => unknown_action(call, other),
    }
}

fn assume_role(live: &mut Live, call: &Call, caller: &Caller) -> Response {
    let role_arn = call.param("RoleArn").unwrap_or_default();
    let session_name = call.param("RoleSessionName").unwrap_or_default().to_owned();
    let denied = || {
        error(
            Service::Sts,
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn
            ),
        )
    };
    let account_id = role_arn.split(':').nth(4).unwrap_or_default();
    let role_name = role_arn.rsplit('/').next().unwrap_or_default().to_owned();
    let trusted = live
        .world
        .account(account_id)
        .and_then(|account| account.roles.iter().find(|role| role.name == role_name))
        .and_then(|role| role.kushim_trust.clone());
    // Only the home account's kushim user is trusted, with the external id the trust policy sets.
    let home = live.world.home().account_id.clone();
    match trusted {
        Some(external_id)
            if caller.account_id == home
                && caller.arn.ends_with(":user/kushim")
                && external_id.as_deref().is_none_or(|id| call.param("ExternalId") == Some(id)) => {
        }
        _ => return denied(),
    }
    let serial = live.sessions.len() + 1;
    let access_key = format!("ASIAKUSHIM{account_id}{serial:04}");
    let token = format!("FwoGZXIvYXdzEKUSHIM{}", uuid::Uuid::new_v4().simple());
    live.sessions.insert(
        access_key.clone(),
        Session {
            account_id: account_id.to_owned(),
            role_name: role_name.clone(),
            session_name: session_name.clone(),
            token: token.clone(),
        },
    );
    // Real time, not the world's: the SDK judges expiry against the clock.
    let expiration = Utc::now() + Duration::hours(1);
    ok(
        call,
        &format!(
            "<Credentials>{}{}{}{}</Credentials><AssumedRoleUser>{}{}</AssumedRoleUser><PackedPolicySize>0</PackedPolicySize>",
            el("AccessKeyId", &access_key),
            el("SecretAccessKey", format!("fake-secret-{serial}")),
            el("SessionToken", &token),
            el("Expiration", time(expiration)),
            el("AssumedRoleId", format!("AROAKUSHIM{serial:08}:{session_name}")),
            el("Arn", format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}")),
        ),
    )
}

fn unknown_action(call: &Call, action: &str) -> Response {
    let version = match call.service {
        Service::Iam => IAM_VERSION,
        Service::Sts => STS_VERSION,
    };
    error(
        call.service,
        StatusCode::BAD_REQUEST,
        "InvalidAction",
        &format!("Could not find operation {action} for version {version}"),
    )
}

// ---------------------------------------------------------------------------------------------
// IAM

fn iam(live: &mut Live, call: &Call, caller: &Caller) -> Response {
    let Some(account) = live.world.account(&caller.account_id).cloned() else {
        return error(
            Service::Iam,
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        );
    };
    match call.action.as_str() {
        "GenerateCredentialReport" => generate_credential_report(live, call, &account),
        "GetCredentialReport" => get_credential_report(live, call, &account),
        "GetAccountSummary" => ok(call, &account_summary(&account)),
        "GetAccountPasswordPolicy" => match &account.password_policy {
            Some(policy) => ok(call, &password_policy(policy)),
            None => error(
                Service::Iam,
                StatusCode::NOT_FOUND,
                "NoSuchEntity",
                &format!(
                    "The Password Policy with domain name {} cannot be found.",
                    account.account_id
                ),
            ),
        },
        "ListVirtualMFADevices" => list_virtual_mfa_devices(call, &account),
        "GetAccountAuthorizationDetails" => authorization_details(call, &account),
        "ListEntitiesForPolicy" => list_entities_for_policy(call, &account),
        other => unknown_action(call, other),
    }
}

fn generate_credential_report(live: &mut Live, call: &Call, account: &AwsAccountWorld) -> Response {
    let polls = account.report.polls_until_complete;
    let (state, description) = match live.reports.get(&account.account_id).copied() {
        None => {
            let report =
                if polls == 0 { Report::Complete } else { Report::InProgress { remaining: polls } };
            live.reports.insert(account.account_id.clone(), report);
            ("STARTED", Some("No report exists. Starting a new report generation task"))
        }
        Some(Report::InProgress { remaining }) => {
            let next = advance(remaining);
            live.reports.insert(account.account_id.clone(), next);
            match next {
                Report::Complete => ("COMPLETE", None),
                Report::InProgress { .. } => ("INPROGRESS", None),
            }
        }
        Some(Report::Complete) => ("COMPLETE", None),
    };
    let description = description.map(|d| el("Description", d)).unwrap_or_default();
    ok(call, &format!("{description}{}", el("State", state)))
}

/// One poll's worth of progress.
fn advance(remaining: u32) -> Report {
    if remaining <= 1 { Report::Complete } else { Report::InProgress { remaining: remaining - 1 } }
}

fn get_credential_report(live: &mut Live, call: &Call, account: &AwsAccountWorld) -> Response {
    match live.reports.get(&account.account_id).copied() {
        None => error(
            Service::Iam,
            StatusCode::GONE,
            "ReportNotPresent",
            "Credential report not present. To generate a credential report, use GenerateCredentialReport.",
        ),
        Some(Report::InProgress { remaining }) => {
            live.reports.insert(account.account_id.clone(), advance(remaining));
            error(
                Service::Iam,
                StatusCode::NOT_FOUND,
                "ReportInProgress",
                "Credential report generation is in progress. Retry the request later.",
            )
        }
        Some(Report::Complete)
            if account.report.expires_once && live.expired.insert(account.account_id.clone()) =>
        {
            live.reports.remove(&account.account_id);
            error(
                Service::Iam,
                StatusCode::GONE,
                "ReportExpired",
                "The credential report is expired. To generate a new credential report, use GenerateCredentialReport.",
            )
        }
        Some(Report::Complete) => {
            let mut csv = credential_report_csv(account);
            if account.report.truncated {
                // Cut into the last row, as a download that broke off.
                let last_row = csv.rfind('\n').unwrap_or(0);
                let cut = last_row + (csv.len() - last_row) / 2;
                csv.truncate(cut);
            }
            let content = base64::engine::general_purpose::STANDARD.encode(csv);
            ok(
                call,
                &format!(
                    "{}{}{}",
                    el("Content", content),
                    el("ReportFormat", "text/csv"),
                    el("GeneratedTime", time(account.as_of)),
                ),
            )
        }
    }
}

/// The report's date format: `2014-10-20T17:44:43+00:00`.
fn report_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn key_columns(key: Option<&AccessKey>) -> String {
    let Some(key) = key else {
        return "false,N/A,N/A,N/A,N/A".to_owned();
    };
    let (used, region, service) = match &key.last_used {
        Some(used) => (
            report_time(used.at),
            used.region.clone().unwrap_or_else(|| "N/A".into()),
            used.service.clone(),
        ),
        None => ("N/A".into(), "N/A".into(), "N/A".into()),
    };
    format!("{},{},{used},{region},{service}", key.active, report_time(key.rotated))
}

/// The report as IAM writes it: header, the `<root_account>` row, one row per user, lines
/// separated by `\n`.
fn credential_report_csv(account: &AwsAccountWorld) -> String {
    let id = &account.account_id;
    let root = &account.root;
    let mut lines = vec![REPORT_HEADER.to_owned()];
    // Root's password columns are documented as `not_supported`, whatever its password state.
    lines.push(format!(
        "<root_account>,arn:aws:iam::{id}:root,{},not_supported,{},not_supported,not_supported,{},{},{},false,N/A,false,N/A",
        report_time(root.created),
        match (root.password, root.password_last_used) {
            (false, _) => "N/A".to_owned(),
            (true, Some(at)) => report_time(at),
            (true, None) => "no_information".to_owned(),
        },
        root.mfa.is_some(),
        key_columns(root.access_keys.first()),
        key_columns(root.access_keys.get(1)),
    ));
    let expiry = account
        .password_policy
        .as_ref()
        .and_then(|policy| policy.max_password_age)
        .filter(|_| account.password_policy.as_ref().is_some_and(|p| p.expire_passwords));
    for user in &account.users {
        let (enabled, last_used, changed, next_rotation) = match &user.console {
            None => ("false", "N/A".to_owned(), "N/A".to_owned(), "N/A".to_owned()),
            Some(console) => (
                "true",
                console.last_used.map_or_else(|| "no_information".to_owned(), report_time),
                report_time(console.changed),
                expiry.map_or_else(
                    || "N/A".to_owned(),
                    |days| report_time(console.changed + Duration::days(i64::from(days))),
                ),
            ),
        };
        lines.push(format!(
            "{},arn:aws:iam::{id}:user/{},{},{enabled},{last_used},{changed},{next_rotation},{},{},{},false,N/A,false,N/A",
            user.name,
            user.name,
            report_time(user.created),
            user.mfa.is_some(),
            key_columns(user.access_keys.first()),
            key_columns(user.access_keys.get(1)),
        ));
    }
    lines.join("\n")
}

fn account_summary(account: &AwsAccountWorld) -> String {
    let virtual_devices = virtual_devices(account);
    let with_mfa = account.users.iter().filter(|u| u.mfa.is_some()).count()
        + usize::from(account.root.mfa.is_some());
    let entries: [(&str, usize); 17] = [
        ("Users", account.users.len()),
        ("UsersQuota", 5000),
        ("Groups", account.groups.len()),
        ("GroupsQuota", 300),
        ("Roles", account.roles.len()),
        ("RolesQuota", 1000),
        ("Policies", account.policies.len()),
        ("PoliciesQuota", 1500),
        ("MFADevices", virtual_devices.len()),
        ("MFADevicesInUse", with_mfa),
        ("AccessKeysPerUserQuota", 2),
        ("GroupsPerUserQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("AccountMFAEnabled", usize::from(account.root.mfa.is_some())),
        ("AccountAccessKeysPresent", usize::from(!account.root.access_keys.is_empty())),
        ("AccountPasswordPresent", usize::from(account.root.password)),
        ("AccountSigningCertificatesPresent", 0),
    ];
    let inner: String = entries
        .iter()
        .map(|(key, value)| format!("<entry>{}{}</entry>", el("key", key), el("value", value)))
        .collect();
    format!("<SummaryMap>{inner}</SummaryMap>")
}

fn password_policy(policy: &PasswordPolicy) -> String {
    let mut xml = String::from("<PasswordPolicy>");
    if let Some(length) = policy.minimum_password_length {
        xml.push_str(&el("MinimumPasswordLength", length));
    }
    xml.push_str(&el("RequireSymbols", policy.require_symbols));
    xml.push_str(&el("RequireNumbers", policy.require_numbers));
    xml.push_str(&el("RequireUppercaseCharacters", policy.require_uppercase_characters));
    xml.push_str(&el("RequireLowercaseCharacters", policy.require_lowercase_characters));
    xml.push_str(&el("AllowUsersToChangePassword", policy.allow_users_to_change_password));
    xml.push_str(&el("ExpirePasswords", policy.expire_passwords));
    if let Some(age) = policy.max_password_age {
        xml.push_str(&el("MaxPasswordAge", age));
    }
    if let Some(reuse) = policy.password_reuse_prevention {
        xml.push_str(&el("PasswordReusePrevention", reuse));
    }
    if let Some(hard) = policy.hard_expiry {
        xml.push_str(&el("HardExpiry", hard));
    }
    xml.push_str("</PasswordPolicy>");
    xml
}

/// A virtual MFA device: serial, and the principal it is bound to.
struct VirtualDevice {
    serial: String,
    user: String,
}

fn virtual_devices(account: &AwsAccountWorld) -> Vec<VirtualDevice> {
    let id = &account.account_id;
    let mut devices = Vec::new();
    if account.root.mfa == Some(MfaDevice::Virtual) {
        devices.push(VirtualDevice {
            serial: format!("arn:aws:iam::{id}:mfa/root-account-mfa-device"),
            user: format!(
                "<User>{}{}{}</User>",
                el("UserId", id),
                el("Arn", format!("arn:aws:iam::{id}:root")),
                el("CreateDate", time(account.root.created)),
            ),
        });
    }
    for (index, user) in account.users.iter().enumerate() {
        if user.mfa == Some(MfaDevice::Virtual) {
            devices.push(VirtualDevice {
                serial: format!("arn:aws:iam::{id}:mfa/{}", user.name),
                user: format!("<User>{}</User>", user_fields(account, index, user)),
            });
        }
    }
    devices
}

fn list_virtual_mfa_devices(call: &Call, account: &AwsAccountWorld) -> Response {
    // Every device the fake knows is assigned; `Unassigned` therefore lists none.
    let devices = match call.param("AssignmentStatus") {
        Some("Unassigned") => Vec::new(),
        _ => virtual_devices(account),
    };
    let (items, next) = match page(call, &devices, account.page_size) {
        Ok(page) => page,
        Err(response) => return *response,
    };
    let enabled = time(account.as_of - Duration::days(30));
    let list = members("VirtualMFADevices", items, |device| {
        format!(
            "{}{}{}",
            el("SerialNumber", &device.serial),
            device.user,
            el("EnableDate", &enabled)
        )
    });
    ok(call, &format!("{list}{}", paging(&next)))
}

fn user_id(index: usize) -> String {
    format!("AIDAKUSHIM{index:011}")
}

fn user_fields(account: &AwsAccountWorld, index: usize, user: &WorldUser) -> String {
    format!(
        "{}{}{}{}{}",
        el("Path", "/"),
        el("UserName", &user.name),
        el("UserId", user_id(index)),
        el("Arn", format!("arn:aws:iam::{}:user/{}", account.account_id, user.name)),
        el("CreateDate", time(user.created)),
    )
}

/// The policy name in an ARN: `…:policy/path/Name` → `Name`.
fn policy_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn attached_policies(arns: &[String]) -> String {
    members("AttachedManagedPolicies", arns, |arn| {
        format!("{}{}", el("PolicyName", policy_name(arn)), el("PolicyArn", arn))
    })
}

fn inline_policies(list: &str, policies: &[(String, serde_json::Value)]) -> String {
    members(list, policies, |(name, document)| {
        format!(
            "{}{}",
            el("PolicyName", name),
            el("PolicyDocument", url_encode(&document.to_string()))
        )
    })
}

/// One `GetAccountAuthorizationDetails` item, rendered into its list.
enum Detail {
    User(String),
    Group(String),
    Role(String),
    Policy(String),
}

fn authorization_details(call: &Call, account: &AwsAccountWorld) -> Response {
    let filter = call.members("Filter");
    let wanted = |kind: &str| filter.is_empty() || filter.contains(&kind);
    let id = &account.account_id;
    let created = time(account.as_of - Duration::days(400));
    let mut items = Vec::new();
    if wanted("User") {
        for (index, user) in account.users.iter().enumerate() {
            items.push(Detail::User(format!(
                "{}{}{}{}<Tags/>",
                user_fields(account, index, user),
                inline_policies("UserPolicyList", &user.inline_policies),
                members("GroupList", &user.groups, |group| escape(group)),
                attached_policies(&user.attached_policies),
            )));
        }
    }
    if wanted("Group") {
        for (index, group) in account.groups.iter().enumerate() {
            items.push(Detail::Group(format!(
                "{}{}{}{}{}{}{}",
                el("Path", "/"),
                el("GroupName", &group.name),
                el("GroupId", format!("AGPAKUSHIM{index:011}")),
                el("Arn", format!("arn:aws:iam::{id}:group/{}", group.name)),
                el("CreateDate", &created),
                inline_policies("GroupPolicyList", &group.inline_policies),
                attached_policies(&group.attached_policies),
            )));
        }
    }
    if wanted("Role") {
        for (index, role) in account.roles.iter().enumerate() {
            let trust = serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "AWS": format!("arn:aws:iam::{}:user/kushim", account.account_id) },
                    "Action": "sts:AssumeRole"
                }]
            });
            items.push(Detail::Role(format!(
                "{}{}{}{}{}{}<InstanceProfileList/>{}{}<Tags/><RoleLastUsed/>",
                el("Path", "/"),
                el("RoleName", &role.name),
                el("RoleId", format!("AROAKUSHIM{index:011}")),
                el("Arn", format!("arn:aws:iam::{id}:role/{}", role.name)),
                el("CreateDate", &created),
                el("AssumeRolePolicyDocument", url_encode(&trust.to_string())),
                inline_policies("RolePolicyList", &role.inline_policies),
                attached_policies(&role.attached_policies),
            )));
        }
    }
    if wanted("LocalManagedPolicy") {
        for (index, policy) in account.policies.iter().enumerate() {
            let arn = account.policy_arn(&policy.name);
            items.push(Detail::Policy(format!(
                "{}{}{}{}{}{}{}{}{}{}<PolicyVersionList><member>{}{}{}{}</member></PolicyVersionList>",
                el("PolicyName", &policy.name),
                el("PolicyId", format!("ANPAKUSHIM{index:011}")),
                el("Arn", &arn),
                el("Path", "/"),
                el("DefaultVersionId", "v1"),
                el("AttachmentCount", attachments(account, &arn)),
                el("PermissionsBoundaryUsageCount", 0),
                el("IsAttachable", true),
                el("CreateDate", &created),
                el("UpdateDate", &created),
                el("Document", url_encode(&policy.document.to_string())),
                el("VersionId", "v1"),
                el("IsDefaultVersion", true),
                el("CreateDate", &created),
            )));
        }
    }
    let (items, next) = match page(call, &items, account.page_size) {
        Ok(page) => page,
        Err(response) => return *response,
    };
    let list = |name: &str, pick: fn(&Detail) -> Option<&String>| {
        let inner: String =
            items.iter().filter_map(pick).map(|xml| format!("<member>{xml}</member>")).collect();
        format!("<{name}>{inner}</{name}>")
    };
    ok(
        call,
        &format!(
            "{}{}{}{}{}",
            list("UserDetailList", |d| if let Detail::User(x) = d { Some(x) } else { None }),
            list("GroupDetailList", |d| if let Detail::Group(x) = d { Some(x) } else { None }),
            list("RoleDetailList", |d| if let Detail::Role(x) = d { Some(x) } else { None }),
            list("Policies", |d| if let Detail::Policy(x) = d { Some(x) } else { None }),
            paging(&next),
        ),
    )
}

/// Users, groups and roles the policy `arn` is attached to.
fn attachments(account: &AwsAccountWorld, arn: &str) -> usize {
    let holds = |policies: &[String]| policies.iter().any(|p| p == arn);
    account.users.iter().filter(|u| holds(&u.attached_policies)).count()
        + account.groups.iter().filter(|g| holds(&g.attached_policies)).count()
        + account.roles.iter().filter(|r| holds(&r.attached_policies)).count()
}

fn list_entities_for_policy(call: &Call, account: &AwsAccountWorld) -> Response {
    let arn = call.param("PolicyArn").unwrap_or_default();
    let aws_managed = arn.starts_with("arn:aws:iam::aws:policy/");
    let local = account.policies.iter().any(|p| account.policy_arn(&p.name) == arn);
    if !aws_managed && !local {
        return error(
            Service::Iam,
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            &format!("Policy {arn} does not exist or is not attachable."),
        );
    }
    let filter = call.param("EntityFilter");
    let wanted = |kind: &str| filter.is_none_or(|f| f == kind);
    let holds = |policies: &[String]| policies.iter().any(|p| p == arn);
    // (list, name element, id element, name, id)
    let mut entities: Vec<(&str, &str, &str, String, String)> = Vec::new();
    if wanted("Group") {
        for (index, group) in account.groups.iter().enumerate() {
            if holds(&group.attached_policies) {
                entities.push((
                    "PolicyGroups",
                    "GroupName",
                    "GroupId",
                    group.name.clone(),
                    format!("AGPAKUSHIM{index:011}"),
                ));
            }
        }
    }
    if wanted("User") {
        for (index, user) in account.users.iter().enumerate() {
            if holds(&user.attached_policies) {
                entities.push((
                    "PolicyUsers",
                    "UserName",
                    "UserId",
                    user.name.clone(),
                    user_id(index),
                ));
            }
        }
    }
    if wanted("Role") {
        for (index, role) in account.roles.iter().enumerate() {
            if holds(&role.attached_policies) {
                entities.push((
                    "PolicyRoles",
                    "RoleName",
                    "RoleId",
                    role.name.clone(),
                    format!("AROAKUSHIM{index:011}"),
                ));
            }
        }
    }
    let (items, next) = match page(call, &entities, account.page_size) {
        Ok(page) => page,
        Err(response) => return *response,
    };
    let list = |list: &str| {
        let inner: String = items
            .iter()
            .filter(|(l, ..)| *l == list)
            .map(|(_, name_el, id_el, name, id)| {
                format!("<member>{}{}</member>", el(name_el, name), el(id_el, id))
            })
            .collect();
        format!("<{list}>{inner}</{list}>")
    };
    ok(
        call,
        &format!(
            "{}{}{}{}",
            list("PolicyGroups"),
            list("PolicyUsers"),
            list("PolicyRoles"),
            paging(&next)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::aws::world::AwsAccountWorld;

    /// Answers a raw body, for tests of the wire format itself.
    async fn post(fake: &FakeIam, body: &str, access_key: Option<&str>) -> (StatusCode, String) {
        let client = reqwest::Client::new();
        let mut request = client
            .post(fake.url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(key) = access_key {
            request = request.header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential={key}/20250601/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"),
        );
        }
        let response = request.send().await.expect("the fake answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
        (status, response.text().await.expect("a body"))
    }

    #[tokio::test]
    async fn answers_in_the_query_protocols_xml() {
        let fake =
            start(AwsAccountWorld::new("123456789012").without_password_policy()).await.unwrap();
        let (status, body) =
            post(&fake, "Action=GetAccountSummary&Version=2010-05-08", Some(SANDBOX_ACCESS_KEY_ID))
                .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with(
            "<GetAccountSummaryResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
        ));
        assert!(body.contains("<entry><key>AccountMFAEnabled</key><value>1</value></entry>"));
        assert!(body.contains("<ResponseMetadata>"));

        let (status, body) = post(
            &fake,
            "Action=GetAccountPasswordPolicy&Version=2010-05-08",
            Some(SANDBOX_ACCESS_KEY_ID),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("<Type>Sender</Type>") && body.contains("<Code>NoSuchEntity</Code>"));
        assert_eq!(fake.requests_for("GetAccountPasswordPolicy"), 1);
    }

    #[tokio::test]
    async fn refuses_unknown_keys_and_unsigned_requests() {
        let fake = start(AwsAccountWorld::new("123456789012")).await.unwrap();
        let (status, body) =
            post(&fake, "Action=GetAccountSummary&Version=2010-05-08", Some("AKIAUNKNOWN")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("InvalidClientTokenId"), "{body}");
        let (status, body) = post(&fake, "Action=GetAccountSummary&Version=2010-05-08", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("MissingAuthenticationToken"), "{body}");
        let (status, body) =
            post(&fake, "Action=ListUsers&Version=2010-05-08", Some(SANDBOX_ACCESS_KEY_ID)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("InvalidAction"), "{body}");
    }

    #[test]
    fn the_credential_report_has_the_documented_header_and_sentinels() {
        let account = AwsAccountWorld::new("123456789012")
            .with_user("alice", |u| u.console().unused_key())
            .with_user("svc", |u| u.key(|k| k.used_on_s3_days_ago(2)));
        let csv = credential_report_csv(&account);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], REPORT_HEADER);
        assert!(lines[1].starts_with("<root_account>,arn:aws:iam::123456789012:root,"));
        assert!(lines[1].contains(",not_supported,"));
        let alice: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(alice.len(), 22);
        assert_eq!((alice[3], alice[4], alice[10]), ("true", "no_information", "N/A"));
        let svc: Vec<&str> = lines[3].split(',').collect();
        assert_eq!((svc[3], svc[4], svc[11], svc[12]), ("false", "N/A", "N/A", "s3"));
    }

    #[test]
    fn policy_documents_are_percent_encoded_as_iam_does() {
        assert_eq!(url_encode("{\"a\": \"s3:*\"}"), "%7B%22a%22%3A%20%22s3%3A%2A%22%7D");
    }
}
