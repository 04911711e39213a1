//! A local double of Meta's Graph API `/{version}/{pixel}/events`: it
//! checks requests as Meta does, answers with Meta's shapes and codes,
//! deduplicates, keeps what it received, and can be told to fail.
//!
//! Besides Meta's route it serves, for tests and people:
//! - `GET /`: a Test Events page, like Meta's, listing what arrives, live;
//! - `GET /_double/events`: every event received, as JSON;
//! - `GET /_double/requests`: every request and the answer given;
//! - `GET /_double/stats`: how much it keeps and how much it dropped;
//! - `POST /_double/faults`: queue failures (`[{"status":503,"code":2,"times":2}]`);
//! - `POST /_double/reset`: forget everything.
//!
//! It is a server on a developer's machine, so it defends itself as one: a
//! request body cap, a header-read timeout, a bound on open connections, no
//! busy loop when accepting fails, control endpoints that refuse
//! cross-origin and foreign-`Host` requests (a web page the developer visits
//! cannot reconfigure it), and bounded storage that says what it dropped.
//!
//! ```no_run
//! use graph_double::{DoubleConfig, GraphDouble};
//!
//! # async fn example() -> anyhow::Result<()> {
//! let double = GraphDouble::start("127.0.0.1:0".parse()?, DoubleConfig::default()).await?;
//! println!("POST events to {}/v24.0/<pixel id>/events", double.url());
//! // ... run the action with its requests redirected there, then:
//! for event in double.received() {
//!     println!("{} {:?} deduplicated: {}", event.event_name, event.event_id, event.deduplicated);
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod json;

use anyhow::Result;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use json::Json;

/// The Test Events page, served at `/`: received events, live.
const TEST_EVENTS_PAGE: &str = include_str!("test_events.html");

/// The token the double accepts when none is configured.
pub const DEFAULT_TOKEN: &str = "double-token";

const MAX_EVENTS: usize = 1000;
/// Largest request body read; a full 1,000-event batch is about 2.4 MB.
pub const MAX_BODY: usize = 16 << 20;
/// Time a client has to send a request's headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;
const MAX_AGE: i64 = 7 * 86_400;
const MAX_AHEAD: i64 = 60;
const DEDUP_WINDOW: i64 = 48 * 3600;
const HASHED: [&str; 10] = [
    "em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country",
];
const UNHASHED: [&str; 14] = [
    "client_ip_address",
    "client_user_agent",
    "fbc",
    "fbp",
    "subscription_id",
    "fb_login_id",
    "lead_id",
    "anon_id",
    "madid",
    "page_id",
    "page_scoped_user_id",
    "ctwa_clid",
    "ig_account_id",
    "ig_sid",
];
const ACTION_SOURCES: [&str; 9] = [
    "website",
    "email",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
];

/// What the double accepts.
#[derive(Debug, Clone)]
pub struct DoubleConfig {
    /// Access tokens that are valid.
    pub tokens: Vec<String>,
    /// Pixel ids that exist; `None` accepts any id made of digits.
    pub pixels: Option<Vec<String>>,
    /// Random failures, for reliability tests.
    pub chaos: Chaos,
    /// Received events and requests kept, each; older ones are dropped and
    /// counted.
    pub max_kept: usize,
    /// The secret of the tokens' app, when it has "Require App Secret" on:
    /// every request must then carry, in its body, `appsecret_proof`, the
    /// HMAC-SHA256 of its token keyed by this secret, in hex.
    pub app_secret: Option<String>,
}

impl Default for DoubleConfig {
    fn default() -> Self {
        DoubleConfig {
            tokens: vec![DEFAULT_TOKEN.to_string()],
            pixels: None,
            chaos: Chaos::default(),
            max_kept: 100_000,
            app_secret: None,
        }
    }
}

/// What the double keeps and what it dropped to stay bounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Received events kept.
    pub kept_events: usize,
    /// Received events dropped, oldest first, past `max_kept`.
    pub dropped_events: u64,
    /// Requests kept.
    pub kept_requests: usize,
    /// Requests dropped past `max_kept`.
    pub dropped_requests: u64,
    /// Event ids remembered for deduplication.
    pub dedup_keys: usize,
}

/// Failures the double injects at random into `/events` requests.
#[derive(Debug, Clone, Default)]
pub struct Chaos {
    /// Share of requests that fail (0 to 1).
    pub rate: f64,
    /// The kinds drawn from, evenly; empty means all.
    pub kinds: Vec<ChaosKind>,
    /// Added to every `/events` answer.
    pub latency: std::time::Duration,
    /// Seed of the draws, for reproducible runs.
    pub seed: u64,
}

/// One kind of injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChaosKind {
    /// HTTP 500 with Meta's transient error (code 2).
    ServerError,
    /// HTTP 503 with an HTML page, as a proxy sends.
    Unavailable,
    /// HTTP 429 with Meta's rate-limit code 17.
    RateLimited,
    /// The connection is closed without an answer.
    Drop,
    /// The events are accepted, then the answer is cut halfway.
    Cut,
    /// HTTP 400 with subcode 2804050: a permanent refusal.
    Refused,
}

impl ChaosKind {
    /// Every kind.
    pub const ALL: [ChaosKind; 6] = [
        ChaosKind::ServerError,
        ChaosKind::Unavailable,
        ChaosKind::RateLimited,
        ChaosKind::Drop,
        ChaosKind::Cut,
        ChaosKind::Refused,
    ];

    /// Parses `500`, `503`, `429`, `drop`, `cut`, `400`.
    pub fn parse(s: &str) -> Option<ChaosKind> {
        Some(match s {
            "500" => ChaosKind::ServerError,
            "503" => ChaosKind::Unavailable,
            "429" => ChaosKind::RateLimited,
            "drop" => ChaosKind::Drop,
            "cut" => ChaosKind::Cut,
            "400" => ChaosKind::Refused,
            _ => return None,
        })
    }
}

/// An answer the double gives instead of the real one, `times` times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// HTTP status.
    pub status: u16,
    /// Meta error code; with no code the body is an HTML error page, as a
    /// proxy in front of Meta would send.
    #[serde(default)]
    pub code: Option<i32>,
    /// Meta error subcode.
    #[serde(default)]
    pub subcode: Option<i32>,
    /// `is_transient`.
    #[serde(default)]
    pub is_transient: bool,
    /// Error message.
    #[serde(default)]
    pub message: Option<String>,
    /// How many requests get this answer.
    #[serde(default = "one")]
    pub times: u32,
    /// When set, the fault answers every request that carries an event with
    /// this `event_id` instead (as Meta refuses a whole batch for one bad
    /// event), for as long as the double runs; `times` is ignored.
    #[serde(default)]
    pub when_event_id: Option<String>,
    /// With `when_event_id`: only while that event carries this
    /// `user_data` key, as Meta refuses an event for one value (a click id
    /// it reads as malformed) and takes it once the value is left out.
    #[serde(default)]
    pub when_user_data: Option<String>,
}

fn one() -> u32 {
    1
}

/// One event the double accepted: the event as a JSON value (`E`), or as
/// the JSON text the double keeps it as until it is asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceivedEvent<E = Value> {
    /// The pixel it was sent to.
    pub pixel_id: String,
    /// `event_name`.
    pub event_name: String,
    /// `event_id`, when given.
    pub event_id: Option<String>,
    /// Unix seconds of receipt.
    pub received_at: i64,
    /// Whether an earlier event had the same name and id (Meta keeps the first).
    pub deduplicated: bool,
    /// The request's `test_event_code`.
    pub test_event_code: Option<String>,
    /// The request's trace id.
    pub fbtrace_id: String,
    /// The event as received.
    pub event: E,
}

/// One request and the double's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Unix seconds.
    pub at: i64,
    /// Method and path, without query.
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// Number of events in the request.
    pub events: usize,
    /// The error answered, if any.
    pub error: Option<Value>,
    /// Trace id answered.
    pub fbtrace_id: String,
}

type DedupKey = (String, String, String);

/// An accepted event as the double keeps it: its JSON text as it arrived,
/// read into a value only when someone asks for it.
type Kept = ReceivedEvent<Box<RawValue>>;

impl Kept {
    fn received(&self) -> ReceivedEvent {
        ReceivedEvent {
            pixel_id: self.pixel_id.clone(),
            event_name: self.event_name.clone(),
            event_id: self.event_id.clone(),
            received_at: self.received_at,
            deduplicated: self.deduplicated,
            test_event_code: self.test_event_code.clone(),
            fbtrace_id: self.fbtrace_id.clone(),
            event: serde_json::from_str(self.event.get()).expect("kept text is JSON"),
        }
    }
}

/// The JSON text of each event of a request the checks accepted, in order.
fn event_texts(body: &[u8]) -> Vec<Box<RawValue>> {
    #[derive(Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        data: Vec<&'a RawValue>,
    }
    match serde_json::from_slice::<Data>(body) {
        Ok(d) => d.data.into_iter().map(RawValue::to_owned).collect(),
        // `data` given twice: as with every other key, the last one counts.
        Err(_) => serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|mut v| v.get_mut("data").map(Value::take))
            .and_then(|d| match d {
                Value::Array(events) => Some(events),
                _ => None,
            })
            .unwrap_or_default()
            .iter()
            .map(|e| serde_json::value::to_raw_value(e).expect("a JSON value serialises"))
            .collect(),
    }
}

#[derive(Default)]
struct State {
    received: VecDeque<Kept>,
    requests: VecDeque<RequestRecord>,
    faults: VecDeque<Fault>,
    first_seen: HashMap<DedupKey, i64>,
    /// Dedup keys in the order they were first seen, to forget the oldest.
    seen_order: VecDeque<(DedupKey, i64)>,
    counter: u64,
    rng: u64,
    targeted: Vec<Fault>,
    max_kept: usize,
    stats: Stats,
}

impl State {
    fn keep_event(&mut self, event: Kept) {
        if self.received.len() >= self.max_kept.max(1) {
            self.received.pop_front();
            self.stats.dropped_events += 1;
        }
        self.received.push_back(event);
    }

    fn keep_request(&mut self, request: RequestRecord) {
        if self.requests.len() >= self.max_kept.max(1) {
            self.requests.pop_front();
            self.stats.dropped_requests += 1;
        }
        self.requests.push_back(request);
    }

    /// Whether an event with this key arrived within the deduplication
    /// window; remembers it otherwise. Keys older than the window, and the
    /// oldest past ten times `max_kept`, are forgotten.
    fn seen_before(&mut self, key: DedupKey, at: i64) -> bool {
        while let Some((old, first)) = self.seen_order.front() {
            let expired = at - first > DEDUP_WINDOW;
            if !expired && self.seen_order.len() < self.max_kept.max(1).saturating_mul(10) {
                break;
            }
            if self.first_seen.get(old) == Some(first) {
                self.first_seen.remove(old);
            }
            self.seen_order.pop_front();
        }
        match self.first_seen.get(&key) {
            Some(first) if at - first <= DEDUP_WINDOW => true,
            _ => {
                self.first_seen.insert(key.clone(), at);
                self.seen_order.push_back((key, at));
                false
            }
        }
    }

    fn stats(&self) -> Stats {
        Stats {
            kept_events: self.received.len(),
            kept_requests: self.requests.len(),
            dedup_keys: self.first_seen.len(),
            ..self.stats
        }
    }

    fn queue(&mut self, fault: Fault) {
        if fault.when_event_id.is_some() {
            self.targeted.push(fault);
        } else {
            self.faults.push_back(fault);
        }
    }

    /// xorshift64*: reproducible draws from the configured seed.
    fn draw(&mut self) -> f64 {
        let mut x = self.rng.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A running double.
pub struct GraphDouble {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl GraphDouble {
    /// Starts serving on `listen` (port 0 picks a free one).
    pub async fn start(listen: SocketAddr, config: DoubleConfig) -> Result<GraphDouble> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state: Arc<Mutex<State>> = Arc::new(Mutex::new(State {
            rng: config.chaos.seed ^ 0x9E37_79B9_7F4A_7C15,
            max_kept: config.max_kept,
            ..State::default()
        }));
        let config = Arc::new(config);
        let shared = state.clone();
        let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let server = tokio::spawn(async move {
            loop {
                let Ok(permit) = connections.clone().acquire_owned().await else {
                    return;
                };
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of descriptors, or a connection reset before it
                        // was accepted: pause instead of spinning on it.
                        eprintln!("graph double: accepting a connection failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (state, config) = (shared.clone(), config.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (state, config) = (state.clone(), config.clone());
                        async move { handle(req, addr, &state, &config).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                    drop(permit);
                });
            }
        });
        Ok(GraphDouble {
            addr,
            state,
            server,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, to pass as `--graph-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every event accepted so far (the latest `max_kept`).
    pub fn received(&self) -> Vec<ReceivedEvent> {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .map(Kept::received)
            .collect()
    }

    /// Every request so far (the latest `max_kept`).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .cloned()
            .collect()
    }

    /// What it keeps and what it dropped.
    pub fn stats(&self) -> Stats {
        self.state.lock().unwrap().stats()
    }

    /// Forgets every event, request and queued fault.
    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap();
        let (rng, max_kept) = (s.rng, s.max_kept);
        *s = State {
            rng,
            max_kept,
            ..State::default()
        };
    }

    /// Queues a failure for the next requests.
    pub fn inject(&self, fault: Fault) {
        self.state.lock().unwrap().queue(fault);
    }
}

impl Drop for GraphDouble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

/// A Meta-shaped error.
struct MetaError {
    status: u16,
    code: i32,
    subcode: Option<i32>,
    error_type: &'static str,
    message: String,
    user_title: Option<&'static str>,
    user_msg: Option<String>,
    is_transient: bool,
}

impl MetaError {
    fn invalid(message: impl Into<String>) -> Self {
        MetaError {
            status: 400,
            code: 100,
            subcode: None,
            error_type: "OAuthException",
            message: message.into(),
            user_title: None,
            user_msg: None,
            is_transient: false,
        }
    }

    fn with_subcode(mut self, subcode: i32, title: &'static str, msg: impl Into<String>) -> Self {
        self.subcode = Some(subcode);
        self.user_title = Some(title);
        self.user_msg = Some(msg.into());
        self
    }

    fn body(&self, fbtrace_id: &str) -> Value {
        let mut e = json!({
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "is_transient": self.is_transient,
            "fbtrace_id": fbtrace_id,
        });
        if let Some(s) = self.subcode {
            e["error_subcode"] = json!(s);
        }
        if let Some(t) = self.user_title {
            e["error_user_title"] = json!(t);
        }
        if let Some(m) = &self.user_msg {
            e["error_user_msg"] = json!(m);
        }
        json!({ "error": e })
    }
}

fn trace_id(state: &mut State) -> String {
    state.counter += 1;
    let digest = Sha256::digest(format!("{}-{}", state.counter, now()).as_bytes());
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    digest
        .iter()
        .take(11)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Returned to hyper to close a connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    req: Request<Incoming>,
    own: SocketAddr,
    state: &Mutex<State>,
    config: &DoubleConfig,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let bearer = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if path.starts_with("/_double/")
        && method == Method::POST
        && let Some(why) = control_refusal(req.headers(), own)
    {
        return Ok(json_response(403, &json!({"error": why})));
    }
    let body = match http_body_util::Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let err = MetaError {
                status: 413,
                ..MetaError::invalid(format!(
                    "(#100) The request body is larger than {} MiB",
                    MAX_BODY >> 20
                ))
            };
            let trace = trace_id(&mut state.lock().unwrap());
            return Ok(json_response(413, &err.body(&trace)));
        }
        Err(_) => return Ok(json_response(400, &json!({"error": "unreadable body"}))),
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    Ok(match (&method, segments.as_slice()) {
        (&Method::GET, [""]) | (&Method::GET, ["_double", "test-events"]) => Response::builder()
            .header("content-type", "text/html; charset=utf-8")
            .body(Full::new(Bytes::from_static(TEST_EVENTS_PAGE.as_bytes())))
            .expect("valid response"),
        (&Method::GET, ["_double", "events"]) => {
            json_response(200, &json!(state.lock().unwrap().received))
        }
        (&Method::GET, ["_double", "requests"]) => {
            json_response(200, &json!(state.lock().unwrap().requests))
        }
        (&Method::GET, ["_double", "stats"]) => {
            json_response(200, &json!(state.lock().unwrap().stats()))
        }
        (&Method::POST, ["_double", "reset"]) => {
            let mut s = state.lock().unwrap();
            let (rng, max_kept) = (s.rng, s.max_kept);
            *s = State {
                rng,
                max_kept,
                ..State::default()
            };
            drop(s);
            json_response(200, &json!({"reset": true}))
        }
        (&Method::POST, ["_double", "faults"]) => {
            let faults: Result<Vec<Fault>, _> = serde_json::from_slice::<Vec<Fault>>(&body)
                .or_else(|_| serde_json::from_slice::<Fault>(&body).map(|f| vec![f]));
            match faults {
                Ok(f) => {
                    let n = f.len();
                    let mut s = state.lock().unwrap();
                    f.into_iter().for_each(|fault| s.queue(fault));
                    json_response(200, &json!({"queued": n}))
                }
                Err(e) => json_response(400, &json!({"error": e.to_string()})),
            }
        }
        (&Method::POST, [version, pixel, "events"]) if version.starts_with('v') => {
            let token = bearer.or_else(|| query_param(&query, "access_token"));
            if !config.chaos.latency.is_zero() {
                tokio::time::sleep(config.chaos.latency).await;
            }
            let chaos = {
                let mut s = state.lock().unwrap();
                let kinds = if config.chaos.kinds.is_empty() {
                    &ChaosKind::ALL[..]
                } else {
                    &config.chaos.kinds[..]
                };
                (config.chaos.rate > 0.0 && s.draw() < config.chaos.rate)
                    .then(|| kinds[((s.draw() * kinds.len() as f64) as usize).min(kinds.len() - 1)])
            };
            match chaos {
                None => events(state, config, pixel, token, &body),
                Some(kind) => chaotic(kind, state, config, pixel, token, &body).await?,
            }
        }
        _ => {
            let mut s = state.lock().unwrap();
            let trace = trace_id(&mut s);
            let err = MetaError {
                status: 400,
                code: 2500,
                subcode: None,
                error_type: "OAuthException",
                message: format!("Unknown path components: {path}"),
                user_title: None,
                user_msg: None,
                is_transient: false,
            };
            json_response(err.status, &err.body(&trace))
        }
    })
}

/// Why a control request (`POST /_double/...`) is refused, if it is: it
/// must name the double itself as its `Host` (a DNS-rebinding page names
/// its own), come from no other origin, and be JSON (which a cross-origin
/// page cannot send without a preflight the double never grants).
fn control_refusal(headers: &http::HeaderMap, own: SocketAddr) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let port = own.port();
    let own_host = |authority: &str| {
        let authority = authority.trim().to_ascii_lowercase();
        [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
            own.to_string(),
        ]
        .contains(&authority)
    };
    match header("host") {
        Some(h) if own_host(h) => {}
        other => {
            return Some(format!(
                "control requests must be addressed to the double itself (Host {}), not {}",
                own,
                other.unwrap_or("(none)")
            ));
        }
    }
    if let Some(origin) = header("origin") {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if !own_host(authority) {
            return Some(format!(
                "control requests from another origin ({origin}) are refused"
            ));
        }
    }
    if header("sec-fetch-site").is_some_and(|s| s == "cross-site" || s == "same-site") {
        return Some("cross-site control requests are refused".into());
    }
    let json = header("content-type").is_some_and(|t| {
        t.trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    if !json {
        return Some("control requests must be JSON (content-type: application/json)".into());
    }
    None
}

/// An `/events` answer spoiled by `kind`.
async fn chaotic(
    kind: ChaosKind,
    state: &Mutex<State>,
    config: &DoubleConfig,
    pixel: &str,
    token: Option<String>,
    body: &[u8],
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let fault = |status: u16, code: Option<i32>, subcode: Option<i32>, is_transient: bool| Fault {
        status,
        code,
        subcode,
        is_transient,
        message: None,
        times: 1,
        when_event_id: None,
        when_user_data: None,
    };
    match kind {
        ChaosKind::Drop => {
            let mut s = state.lock().unwrap();
            let trace = trace_id(&mut s);
            s.keep_request(RequestRecord {
                at: now(),
                path: format!("POST /{pixel}/events"),
                status: 0,
                events: 0,
                error: Some(json!({"chaos": "connection dropped"})),
                fbtrace_id: trace,
            });
            Err(DropConnection)
        }
        ChaosKind::Cut => {
            // Meta took the events; the client never learns it.
            let full = events(state, config, pixel, token, body);
            let (mut head, answer) = full.into_parts();
            let bytes = answer
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            head.headers
                .insert(http::header::CONTENT_LENGTH, bytes.len().into());
            Ok(Response::from_parts(
                head,
                Full::new(bytes.slice(..bytes.len() / 2)),
            ))
        }
        other => {
            let f = match other {
                ChaosKind::ServerError => fault(500, Some(2), None, true),
                ChaosKind::Unavailable => fault(503, None, None, false),
                ChaosKind::RateLimited => fault(429, Some(17), None, false),
                _ => fault(400, Some(100), Some(2804050), false),
            };
            let mut s = state.lock().unwrap();
            s.faults.push_front(f);
            drop(s);
            Ok(events(state, config, pixel, token, body))
        }
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")).map(str::to_string))
}

fn events(
    state: &Mutex<State>,
    config: &DoubleConfig,
    pixel: &str,
    header_token: Option<String>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    // Read before the lock is taken, and dropped after it is released
    // (locals drop in reverse order): reading a batch is most of the work.
    let parsed: Result<Json, _> = serde_json::from_slice(body);
    let mut s = state.lock().unwrap();
    let trace = trace_id(&mut s);
    let at = now();
    let n_events = parsed
        .as_ref()
        .ok()
        .and_then(|v| v.get("data"))
        .and_then(Json::as_array)
        .map_or(0, <[_]>::len);
    let path = format!("POST /{pixel}/events");

    let carried = |id: &str, key: Option<&str>| {
        parsed
            .as_ref()
            .ok()
            .and_then(|v| v.get("data"))
            .and_then(Json::as_array)
            .is_some_and(|events| {
                events.iter().any(|e| {
                    e.get("event_id").and_then(Json::as_str) == Some(id)
                        && key
                            .is_none_or(|k| e.get("user_data").is_some_and(|u| u.get(k).is_some()))
                })
            })
    };
    let targeted = s
        .targeted
        .iter()
        .find(|f| {
            f.when_event_id
                .as_deref()
                .is_some_and(|id| carried(id, f.when_user_data.as_deref()))
        })
        .cloned();
    if let Some(fault) = targeted.or_else(|| {
        let mut fault = s.faults.pop_front()?;
        if fault.times > 1 {
            fault.times -= 1;
            s.faults.push_front(fault.clone());
        }
        Some(fault)
    }) {
        let (response, error) = match fault.code {
            Some(code) => {
                let err = MetaError {
                    status: fault.status,
                    code,
                    subcode: fault.subcode,
                    error_type: "OAuthException",
                    message: fault
                        .message
                        .clone()
                        .unwrap_or_else(|| "An unexpected error has occurred.".into()),
                    user_title: None,
                    user_msg: None,
                    is_transient: fault.is_transient,
                };
                let body = err.body(&trace);
                (json_response(fault.status, &body), Some(body))
            }
            None => (
                Response::builder()
                    .status(fault.status)
                    .header("content-type", "text/html")
                    .body(Full::new(Bytes::from_static(
                        b"<html><body>Service Unavailable</body></html>",
                    )))
                    .expect("valid response"),
                Some(json!({"html": fault.status})),
            ),
        };
        s.keep_request(RequestRecord {
            at,
            path,
            status: fault.status,
            events: n_events,
            error,
            fbtrace_id: trace,
        });
        return response;
    }

    let doc = parsed.unwrap_or(Json::Null);
    let token = header_token.or_else(|| {
        doc.get("access_token")
            .and_then(Json::as_str)
            .map(str::to_string)
    });
    let verdict = check_request(config, pixel, token.as_deref(), &doc, at);
    match verdict {
        Err(err) => {
            let body = err.body(&trace);
            // The answer may quote the token, as Meta's does; what the double
            // keeps (and shows on its page) never does.
            let kept = match token.as_deref().filter(|t| !t.is_empty()) {
                Some(t) => serde_json::from_str(&body.to_string().replace(t, "[redacted]"))
                    .unwrap_or(Value::Null),
                None => body.clone(),
            };
            s.keep_request(RequestRecord {
                at,
                path,
                status: err.status,
                events: n_events,
                error: Some(kept),
                fbtrace_id: trace,
            });
            json_response(err.status, &body)
        }
        Ok(()) => {
            let test_event_code = doc
                .get("test_event_code")
                .and_then(Json::as_str)
                .map(str::to_string);
            let data = doc
                .get("data")
                .and_then(Json::as_array)
                .expect("check_request accepted a request without a data array");
            let texts = event_texts(body);
            assert_eq!(texts.len(), data.len(), "one text per event read");
            // Of a batch larger than what the double keeps, only the last
            // events are kept.
            let skipped = n_events.saturating_sub(s.max_kept.max(1));
            for (i, (event, text)) in data.iter().zip(texts).enumerate() {
                let event_name = event
                    .get("event_name")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string();
                let event_id = event.get("event_id").and_then(|v| match v {
                    Json::String(s) => Some(s.to_string()),
                    Json::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                let deduplicated = match &event_id {
                    Some(id) => {
                        s.seen_before((pixel.to_string(), event_name.clone(), id.clone()), at)
                    }
                    None => false,
                };
                if i < skipped {
                    s.stats.dropped_events += 1;
                    continue;
                }
                s.keep_event(Kept {
                    pixel_id: pixel.to_string(),
                    event_name,
                    event_id,
                    received_at: at,
                    deduplicated,
                    test_event_code: test_event_code.clone(),
                    fbtrace_id: trace.clone(),
                    event: text,
                });
            }
            s.keep_request(RequestRecord {
                at,
                path,
                status: 200,
                events: n_events,
                error: None,
                fbtrace_id: trace.clone(),
            });
            json_response(
                200,
                &json!({"events_received": n_events, "messages": [], "fbtrace_id": trace}),
            )
        }
    }
}

fn check_request(
    config: &DoubleConfig,
    pixel: &str,
    token: Option<&str>,
    doc: &Json,
    at: i64,
) -> Result<(), MetaError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(MetaError {
            code: 104,
            ..MetaError::invalid("An access token is required to request this resource.")
        });
    };
    if !config.tokens.iter().any(|t| t == token) {
        // Meta quotes a token it cannot parse back in its message.
        return Err(MetaError {
            code: 190,
            ..MetaError::invalid(format!("Malformed access token {token}"))
        });
    }
    if let Some(secret) = &config.app_secret {
        use hmac::{Hmac, Mac};
        let Some(proof) = doc.get("appsecret_proof").and_then(Json::as_str) else {
            return Err(MetaError::invalid(
                "API calls from the server require an appsecret_proof argument",
            ));
        };
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(token.as_bytes());
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !proof.eq_ignore_ascii_case(&expected) {
            return Err(MetaError::invalid(
                "Invalid appsecret_proof provided in the API argument",
            ));
        }
    }
    let pixel_known = pixel.bytes().all(|b| b.is_ascii_digit())
        && config
            .pixels
            .as_ref()
            .is_none_or(|p| p.iter().any(|x| x == pixel));
    if !pixel_known {
        return Err(MetaError::invalid(format!(
            "Unsupported post request. Object with ID '{pixel}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        ))
        .with_subcode(33, "Object does not exist", "Check the pixel id and the token's access to it."));
    }
    let Some(data) = doc.get("data").and_then(Json::as_array) else {
        return Err(MetaError::invalid("(#100) The parameter data is required"));
    };
    if data.is_empty() {
        return Err(MetaError::invalid(
            "(#100) The parameter data must not be empty",
        ));
    }
    if data.len() > MAX_EVENTS {
        return Err(MetaError::invalid(format!(
            "(#100) data: a request carries at most {MAX_EVENTS} events, this one has {}",
            data.len()
        )));
    }
    for (i, event) in data.iter().enumerate() {
        check_event(i, event, at)?;
    }
    Ok(())
}

/// Whether Meta reads `ip` as a client IP address: an IPv4 or IPv6 address,
/// or one with the appendix Meta's parameter builder puts after the values
/// it writes (`8.8.8.8.AQQAAQAA`: two or eight characters of base64url).
fn ip_address(ip: &str) -> bool {
    let appendix = |part: &str| {
        matches!(part.len(), 2 | 8)
            && part.as_bytes()[0].is_ascii_alphabetic()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    ip.parse::<std::net::IpAddr>().is_ok()
        || ip.rsplit_once('.').is_some_and(|(address, after)| {
            appendix(after) && address.parse::<std::net::IpAddr>().is_ok()
        })
}

fn check_event(i: usize, event: &Json, at: i64) -> Result<(), MetaError> {
    let invalid = |msg: String| MetaError::invalid(format!("(#100) data[{i}]: {msg}"));
    let Some(name) = event
        .get("event_name")
        .and_then(Json::as_str)
        .filter(|n| !n.is_empty())
    else {
        return Err(invalid("The parameter event_name is required".into()));
    };
    let Some(time) = event.get("event_time").and_then(Json::as_i64) else {
        return Err(invalid(
            "The parameter event_time is required and must be an integer (Unix seconds)".into(),
        ));
    };
    if at - time > MAX_AGE {
        return Err(invalid("event_time is too far in the past".into()).with_subcode(
            2804003,
            "Event Timestamp Too Old",
            "The timestamp for this event is too far in the past. Events need to be sent from your server within 7 days of when they occurred.",
        ));
    }
    if time - at > MAX_AHEAD {
        return Err(invalid("event_time is in the future".into()));
    }
    let source = event
        .get("action_source")
        .and_then(Json::as_str)
        .unwrap_or_default();
    if !ACTION_SOURCES.contains(&source) {
        return Err(invalid(format!(
            "action_source must be one of {}",
            ACTION_SOURCES.join(", ")
        )));
    }
    let Some(user_data) = event.get("user_data").filter(|u| u.is_object()) else {
        return Err(invalid("The parameter user_data is required".into()));
    };
    if source == "website" {
        let url_ok = event
            .get("event_source_url")
            .and_then(Json::as_str)
            .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
        if !url_ok {
            return Err(invalid(
                "event_source_url is required for website events".into(),
            ));
        }
        if user_data
            .get("client_user_agent")
            .and_then(Json::as_str)
            .is_none_or(|u| u.is_empty())
        {
            return Err(invalid(
                "client_user_agent is required for website events".into(),
            ));
        }
    }
    for key in HASHED {
        if let Some(v) = user_data.get(key) {
            let values: Vec<&Json> = match v {
                Json::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for v in values {
                let ok = v.as_str().is_some_and(|s| {
                    s.len() == 64
                        && s.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                });
                if !ok {
                    return Err(invalid(format!(
                        "user_data.{key} must be a SHA-256 hash (64 lowercase hex characters)"
                    )));
                }
            }
        }
    }
    for key in UNHASHED {
        if let Some(v) = user_data.get(key).and_then(Json::as_str)
            && v.len() == 64
            && v.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(invalid(format!("user_data.{key} must not be hashed")));
        }
    }
    if let Some(fbc) = user_data.get("fbc").and_then(Json::as_str) {
        let parts: Vec<&str> = fbc.splitn(4, '.').collect();
        let ok = parts.len() == 4
            && parts[0] == "fb"
            && parts[2].bytes().all(|b| b.is_ascii_digit())
            && !parts[3].is_empty();
        if !ok {
            return Err(invalid("user_data.fbc is malformed".into()).with_subcode(
                2804001,
                "Invalid fbc parameter",
                "The fbc value is not in the format fb.<subdomain index>.<creation time>.<fbclid>.",
            ));
        }
    }
    if let Some(ip) = user_data.get("client_ip_address").and_then(Json::as_str)
        && !ip_address(ip)
    {
        return Err(invalid(
            "user_data.client_ip_address is not a valid IP address".into(),
        ));
    }
    const IDENTIFYING: [&str; 6] = ["em", "ph", "external_id", "fbc", "fbp", "lead_id"];
    if !IDENTIFYING.iter().any(|k| user_data.get(k).is_some()) {
        return Err(
            invalid("too little customer information".into()).with_subcode(
                2804050,
                "Insufficient customer information",
                "Add customer information parameters such as em, ph or external_id.",
            ),
        );
    }
    if let Some(custom) = event.get("custom_data").filter(|c| c.is_object()) {
        if let Some(c) = custom.get("currency") {
            let ok = c
                .as_str()
                .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()));
            if !ok {
                return Err(invalid(
                    "custom_data.currency must be an ISO 4217 code".into(),
                ));
            }
        }
        if custom.get("value").is_some_and(|v| !v.is_number()) {
            return Err(invalid("custom_data.value must be a number".into()));
        }
    }
    if name == "Purchase" {
        let custom = event.get("custom_data");
        let value_ok = custom
            .and_then(|c| c.get("value"))
            .is_some_and(Json::is_number);
        let currency_ok = custom
            .and_then(|c| c.get("currency"))
            .and_then(Json::as_str)
            .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()));
        if !value_ok || !currency_ok {
            return Err(invalid(
                "Purchase events need custom_data.value and custom_data.currency".into(),
            )
            .with_subcode(
                2804009,
                "Missing Value or Currency",
                "Purchase events must include a value and a currency.",
            ));
        }
    }
    Ok(())
}
