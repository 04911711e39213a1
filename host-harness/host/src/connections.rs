//! Connections to the Graph API kept open between requests.
//!
//! Opening one costs a TCP handshake, and to Meta a TLS handshake on top
//! (several round trips and a key exchange); a run sends thousands of
//! requests to one origin. So an answered connection goes back to its
//! origin's idle list and the next request takes it, for at most
//! [`IDLE_FOR`] and while the server keeps it open. A request that finds
//! its reused connection closed or reset under it before any answer goes
//! once more, on a new connection: if the server did read it, Meta keeps
//! one event per event id, so nothing is counted twice.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

type HttpError = wasmtime_wasi_http::Error;

/// How long an idle connection is kept: below the keep-alive of common
/// servers and load balancers, so that the server rarely closes it first.
pub(crate) const IDLE_FOR: Duration = Duration::from_secs(30);

/// Idle connections kept per origin, at most.
const MAX_IDLE_PER_ORIGIN: usize = 64;

/// The host's clocks on one exchange.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// To open the connection (TCP, TLS and HTTP handshakes).
    pub connect: Duration,
    /// From the request sent to the answer's head.
    pub first_byte: Duration,
    /// Between two pieces of the answer's body.
    pub between_bytes: Duration,
}

/// A request to send: its head, without scheme and authority, and its body.
pub(crate) struct Outgoing<'a> {
    /// Method, path and headers (the `Host` header included).
    pub head: &'a http::request::Parts,
    /// The body.
    pub body: Bytes,
}

/// An answer read whole.
pub(crate) struct Answer {
    /// Status and headers.
    pub head: http::response::Parts,
    /// The body, at most the cap given.
    pub body: Bytes,
}

/// The idle connections of an engine, by origin.
#[derive(Default)]
pub(crate) struct Connections {
    idle: Mutex<HashMap<String, Vec<Idle>>>,
    tls: OnceLock<tokio_rustls::TlsConnector>,
}

struct Idle {
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

/// Why an exchange failed: what the guest is told, and what the record
/// of the exchange says.
#[derive(Debug)]
pub(crate) struct Failed {
    /// The error the guest receives.
    pub error: HttpError,
    /// The same, in words.
    pub detail: String,
}

impl From<HttpError> for Failed {
    fn from(error: HttpError) -> Self {
        Failed {
            detail: error.to_string(),
            error,
        }
    }
}

impl Failed {
    /// The answer's body could not be read whole.
    fn answer(why: impl std::fmt::Display) -> Self {
        Failed {
            error: HttpError::HttpResponseIncomplete,
            detail: format!("the answer was cut, too slow or too large: {why}"),
        }
    }
}

/// How one exchange on one connection ended.
enum Tried {
    /// Answered; the connection, and whether it may serve again.
    Answered(Answer, SendRequest<Full<Bytes>>, bool),
    /// The connection was closed before the request was answered.
    Closed(Failed),
    Failed(Failed),
}

impl Connections {
    /// Sends `request` to `uri`'s origin on an idle connection or a new
    /// one, and reads the answer whole (at most `max_answer` bytes).
    pub async fn send(
        self: &Arc<Self>,
        uri: &http::Uri,
        request: Outgoing<'_>,
        timeouts: Timeouts,
        max_answer: usize,
    ) -> Result<Answer, Failed> {
        let origin = Origin::of(uri)?;
        if let Some(sender) = self.take(&origin.key) {
            match exchange(sender, &request, timeouts, max_answer).await {
                Tried::Answered(answer, sender, keep) => {
                    if keep {
                        self.put(origin.key, sender);
                    }
                    return Ok(answer);
                }
                Tried::Failed(e) => return Err(e),
                // Closed under it: once more on a new connection.
                Tried::Closed(_) => {}
            }
        }
        let sender = self.connect(&origin, timeouts.connect).await?;
        match exchange(sender, &request, timeouts, max_answer).await {
            Tried::Answered(answer, sender, keep) => {
                if keep {
                    self.put(origin.key, sender);
                }
                Ok(answer)
            }
            Tried::Closed(e) | Tried::Failed(e) => Err(e),
        }
    }

    /// An idle connection to `origin` still open and young enough.
    fn take(&self, origin: &str) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(origin)?;
        while let Some(c) = list.pop() {
            if !c.sender.is_closed() && c.since.elapsed() < IDLE_FOR {
                return Some(c.sender);
            }
        }
        None
    }

    fn put(&self, origin: String, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(origin).or_default();
        list.retain(|c| !c.sender.is_closed() && c.since.elapsed() < IDLE_FOR);
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }

    /// Opens a connection: TCP, TLS for `https`, the HTTP/1.1 handshake,
    /// all within `timeout`. Its I/O runs on a task of its own until the
    /// last handle to it is dropped or the server closes it.
    async fn connect(
        &self,
        origin: &Origin,
        timeout: Duration,
    ) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        let open = async {
            let tcp = TcpStream::connect(&origin.address)
                .await
                .map_err(HttpError::Connect)?;
            let _ = tcp.set_nodelay(true);
            if origin.tls {
                let name = server_name(&origin.address)?;
                let tls = self
                    .tls
                    .get_or_init(tls_connector)
                    .connect(name, tcp)
                    .await
                    .map_err(HttpError::Tls)?;
                handshake(TokioIo::new(tls)).await
            } else {
                handshake(TokioIo::new(tcp)).await
            }
        };
        tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| HttpError::ConnectionTimeout)?
    }
}

/// The HTTP/1.1 handshake over `io`, its connection driven on a task.
async fn handshake<T>(io: T) -> Result<SendRequest<Full<Bytes>>, HttpError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake(io)
        .await?;
    tokio::spawn(async move {
        // Ends when the server closes the connection or no handle is left;
        // an error here reaches the request through its sender.
        let _ = connection.await;
    });
    Ok(sender)
}

/// One request and its whole answer on `sender`.
async fn exchange(
    mut sender: SendRequest<Full<Bytes>>,
    request: &Outgoing<'_>,
    timeouts: Timeouts,
    max_answer: usize,
) -> Tried {
    if sender.ready().await.is_err() {
        return Tried::Closed(HttpError::ConnectionTerminated.into());
    }
    let mut outgoing = http::Request::new(Full::new(request.body.clone()));
    *outgoing.method_mut() = request.head.method.clone();
    *outgoing.uri_mut() = request.head.uri.path_and_query().map_or_else(
        || http::Uri::from_static("/"),
        |pq| pq.as_str().parse().unwrap_or_default(),
    );
    *outgoing.headers_mut() = request.head.headers.clone();
    let response =
        match tokio::time::timeout(timeouts.first_byte, sender.send_request(outgoing)).await {
            Err(_) => return Tried::Failed(HttpError::ConnectionReadTimeout.into()),
            Ok(Err(e)) if closed_before_answer(&e) => {
                return Tried::Closed(HttpError::from(e).into());
            }
            Ok(Err(e)) => return Tried::Failed(HttpError::from(e).into()),
            Ok(Ok(r)) => r,
        };
    let (head, mut incoming) = response.into_parts();
    let mut body = bytes::BytesMut::new();
    loop {
        match tokio::time::timeout(timeouts.between_bytes, incoming.frame()).await {
            Err(_) => return Tried::Failed(Failed::answer("no data for too long")),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Tried::Failed(Failed::answer(e)),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if body.len() + data.len() > max_answer {
                        return Tried::Failed(Failed::answer(format!(
                            "longer than {max_answer} bytes"
                        )));
                    }
                    body.extend_from_slice(&data);
                }
            }
        }
    }
    let keep = !wants_close(&head.headers) && !wants_close(&request.head.headers);
    Tried::Answered(
        Answer {
            head,
            body: body.freeze(),
        },
        sender,
        keep,
    )
}

/// Whether `e` says the connection was gone before any answer came: closed
/// by the server, or reset. A server, or a load balancer before it, that
/// has dropped an idle connection on its side resets it when the next
/// request arrives, and the reset reaches the request as an I/O error.
fn closed_before_answer(e: &hyper::Error) -> bool {
    use std::io::ErrorKind;
    if e.is_canceled() || e.is_closed() || e.is_incomplete_message() {
        return true;
    }
    std::error::Error::source(e)
        .and_then(|cause| cause.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            matches!(
                io.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            )
        })
}

/// Whether `Connection: close` is among `headers`.
fn wants_close(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

/// Where a request goes: scheme, host and port.
struct Origin {
    /// `host:port`.
    address: String,
    tls: bool,
    /// The key of its idle list.
    key: String,
}

impl Origin {
    fn of(uri: &http::Uri) -> Result<Origin, HttpError> {
        let authority = uri.authority().ok_or(HttpError::HttpRequestUriInvalid)?;
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let address = match authority.port_u16() {
            Some(_) => authority.as_str().to_string(),
            None => format!("{}:{}", authority.host(), if tls { 443 } else { 80 }),
        };
        let key = format!("{}://{address}", if tls { "https" } else { "http" });
        Ok(Origin { address, tls, key })
    }
}

/// The name a TLS certificate must carry for `address` (`host:port`).
fn server_name(
    address: &str,
) -> Result<tokio_rustls::rustls::pki_types::ServerName<'static>, HttpError> {
    use tokio_rustls::rustls::pki_types::ServerName;
    if let Ok(addr) = address.parse::<std::net::SocketAddr>() {
        return Ok(ServerName::from(addr.ip()));
    }
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|_| HttpError::HttpRequestUriInvalid)
}

/// TLS with the Mozilla roots, as wasmtime's own sender uses; built once.
fn tls_connector() -> tokio_rustls::TlsConnector {
    connector_trusting(tokio_rustls::rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    })
}

fn connector_trusting(roots: tokio_rustls::rustls::RootCertStore) -> tokio_rustls::TlsConnector {
    let config = tokio_rustls::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on a free port that serves each connection it accepts with
    /// `connection`; counts connections accepted.
    async fn serve<F, Done>(connection: F) -> (String, Arc<std::sync::atomic::AtomicUsize>)
    where
        F: Fn(tokio::net::TcpStream) -> Done + Send + 'static,
        Done: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(connection(sock));
            }
        });
        (format!("http://{addr}/v24.0/1/events"), accepted)
    }

    /// Reads one request (a head and a 2-byte body) from `sock` into `got`
    /// and takes it off; false once the client closed.
    async fn read_request(sock: &mut tokio::net::TcpStream, got: &mut Vec<u8>) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n")
                && got.len() >= end + 4 + 2
            {
                got.drain(..end + 6);
                return true;
            }
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Answers 200 with `{}`.
    async fn answer(sock: &mut tokio::net::TcpStream) -> bool {
        let reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        sock.write_all(reply.as_bytes()).await.is_ok()
    }

    /// A server that answers every request on a connection with 200 and
    /// `{}`, closing each connection after `per_connection` requests;
    /// counts connections accepted.
    async fn server(per_connection: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        serve(move |mut sock| async move {
            let mut got = Vec::new();
            for _ in 0..per_connection {
                if !read_request(&mut sock, &mut got).await || !answer(&mut sock).await {
                    return;
                }
            }
        })
        .await
    }

    fn timeouts() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(2),
            first_byte: Duration::from_secs(2),
            between_bytes: Duration::from_secs(2),
        }
    }

    async fn post(connections: &Arc<Connections>, url: &str) -> Result<u16, Failed> {
        let uri: http::Uri = url.parse().unwrap();
        let (head, ()) = http::Request::post(uri.clone())
            .header(http::header::HOST, uri.authority().unwrap().as_str())
            .header(http::header::CONTENT_LENGTH, "2")
            .body(())
            .unwrap()
            .into_parts();
        let outgoing = Outgoing {
            head: &head,
            body: Bytes::from_static(b"{}"),
        };
        let answer = connections
            .send(&uri, outgoing, timeouts(), 1 << 20)
            .await?;
        assert_eq!(&answer.body[..], b"{}");
        Ok(answer.head.status.as_u16())
    }

    #[tokio::test]
    async fn requests_to_one_origin_share_a_connection() {
        let (url, accepted) = server(usize::MAX).await;
        let connections = Arc::new(Connections::default());
        for _ in 0..20 {
            assert_eq!(post(&connections, &url).await.unwrap(), 200);
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced_and_nothing_fails() {
        // The server closes every connection after two requests.
        let (url, accepted) = server(2).await;
        let connections = Arc::new(Connections::default());
        for _ in 0..10 {
            assert_eq!(post(&connections, &url).await.unwrap(), 200);
        }
        assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 5);
    }

    /// A server that answers the first request of each connection, then
    /// resets the connection when the next request arrives, as a load
    /// balancer does once it has dropped an idle connection on its side;
    /// counts connections accepted.
    async fn resetting_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        serve(|mut sock| async move {
            let mut got = Vec::new();
            if !read_request(&mut sock, &mut got).await || !answer(&mut sock).await {
                return;
            }
            // The next request's first bytes: a reset, no answer.
            if got.is_empty() && !matches!(sock.read(&mut [0u8; 64]).await, Ok(n) if n > 0) {
                return;
            }
            let _ = sock.set_zero_linger();
        })
        .await
    }

    #[tokio::test]
    async fn a_connection_reset_when_reused_is_replaced_and_nothing_fails() {
        let (url, accepted) = resetting_server().await;
        let connections = Arc::new(Connections::default());
        for i in 0..10 {
            match post(&connections, &url).await {
                Ok(status) => assert_eq!(status, 200, "request {i}"),
                Err(failed) => panic!("request {i} failed: {}", failed.detail),
            }
        }
        // Every request after the first found its kept connection reset,
        // and went once more on a new one.
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 10);
    }

    /// A self-signed certificate for `localhost` and 127.0.0.1 (valid
    /// until 2126) and its key: test material only.
    const CERTIFICATE: &str = include_str!("testdata/localhost.crt");
    const KEY: &str = include_str!("testdata/localhost.key");

    #[tokio::test]
    async fn tls_connections_are_verified_and_kept_alive() {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert = CertificateDer::from_pem_slice(CERTIFICATE.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
        let config = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = handshakes.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let answer = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from_static(b"{}"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), answer)
                        .await;
                });
            }
        });
        let url = format!("https://localhost:{port}/v24.0/1/events");

        // Trusting the certificate: one handshake serves every request.
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let trusting = Arc::new(Connections::default());
        let _ = trusting.tls.set(connector_trusting(roots));
        for _ in 0..10 {
            assert_eq!(post(&trusting, &url).await.unwrap(), 200);
        }
        assert_eq!(handshakes.load(std::sync::atomic::Ordering::SeqCst), 1);

        // With the Mozilla roots alone the certificate is refused, and
        // nothing is sent.
        let strict = Arc::new(Connections::default());
        let refused = post(&strict, &url).await.unwrap_err();
        assert!(matches!(refused.error, HttpError::Tls(_)), "{refused:?}");
        assert_eq!(handshakes.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn origins_and_certificate_names() {
        let o = Origin::of(&"https://graph.facebook.com/v24.0/1/events".parse().unwrap()).unwrap();
        assert_eq!(
            (o.address.as_str(), o.tls),
            ("graph.facebook.com:443", true)
        );
        let o = Origin::of(&"http://127.0.0.1:8080/x".parse().unwrap()).unwrap();
        assert_eq!((o.key.as_str(), o.tls), ("http://127.0.0.1:8080", false));
        assert!(server_name("graph.facebook.com:443").is_ok());
        assert!(server_name("127.0.0.1:443").is_ok());
    }
}
