//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use action_host::{ActionEngine, Limits, wit};
use host_harness::component::BUNDLED_COMPONENT;
use std::sync::{Arc, OnceLock};

/// The token the double accepts by default.
pub const TOKEN: &str = graph_double::DEFAULT_TOKEN;

/// The component built from this checkout, compiled once per test binary.
pub fn engine() -> Arc<ActionEngine> {
    static ENGINE: OnceLock<Arc<ActionEngine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            Arc::new(
                ActionEngine::new(BUNDLED_COMPONENT, Limits::default())
                    .expect("the component loads"),
            )
        })
        .clone()
}

/// The `host-harness` binary of this build, with the tests' shared cache of
/// compiled components.
pub fn harness_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_host-harness"));
    cmd.env(
        "HOST_HARNESS_CACHE",
        std::env::temp_dir().join("host-harness-test-cache"),
    );
    cmd
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A contact with every standard field, as a CRM would hold it.
pub fn contact() -> wit::Contact {
    wit::Contact {
        id: "c-1".into(),
        emails: vec![" John.Doe@Example.COM ".into()],
        phones: vec!["(650) 555-1212".into()],
        first_name: Some("Mary Ann".into()),
        last_name: Some("O'Brien".into()),
        gender: Some("Female".into()),
        date_of_birth: Some("05/26/1990".into()),
        city: Some("Menlo Park".into()),
        state: Some("California".into()),
        postal_code: Some("94025-1234".into()),
        country: Some("United States".into()),
        custom_fields: r#"{"tier":"gold"}"#.into(),
    }
}

/// A firing of `trigger_type` one minute ago with `data`.
pub fn firing(id: &str, trigger_type: &str, data: serde_json::Value) -> wit::Firing {
    wit::Firing {
        id: id.into(),
        trigger_type: trigger_type.into(),
        occurred_at: now() - 60,
        data: data.to_string(),
    }
}

/// Browser context every website event carries.
pub fn web(mut data: serde_json::Value) -> serde_json::Value {
    data["page"] = serde_json::json!({"url": "https://shop.example/thanks"});
    data["client"] =
        serde_json::json!({"user_agent": "Mozilla/5.0 (test)", "ip_address": "203.0.113.9"});
    data
}

/// Settings for `event` with the double's token.
pub fn settings(event: &str, extra: serde_json::Value) -> String {
    let mut s =
        serde_json::json!({"pixel_id": "1234567890", "access_token": TOKEN, "event": event});
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            s[k] = v;
        }
    }
    s.to_string()
}

/// SHA-256 hex.
pub fn sha(s: &str) -> String {
    send_conversion_event::normalize::sha256_hex(s)
}

/// POSTs `body` to `url` (plain HTTP on loopback) and returns the status
/// and body of the answer.
pub async fn post_raw(
    url: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let json = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (
        status,
        serde_json::from_str(json).unwrap_or(serde_json::Value::Null),
    )
}

/// A JSON request over plain HTTP on loopback: status and JSON answer.
pub async fn http_json(
    method: &str,
    base: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    // Read the head, then exactly content-length bytes: not every server
    // closes the connection when asked.
    let mut answer = Vec::new();
    let mut buf = [0u8; 16384];
    let (head_end, length) = loop {
        let n = sock.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection before answering");
        answer.extend_from_slice(&buf[..n]);
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while answer.len() < head_end + length {
        let n = sock.read(&mut buf).await.unwrap();
        assert!(n > 0, "the answer was cut");
        answer.extend_from_slice(&buf[..n]);
    }
    let status = String::from_utf8_lossy(&answer[9..12]).parse().unwrap();
    let json = &answer[head_end..head_end + length];
    (
        status,
        serde_json::from_slice(json).unwrap_or(serde_json::Value::Null),
    )
}

/// A server that accepts connections and never answers: its URL, and the
/// task holding the connections open.
pub async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (format!("http://{addr}"), hold)
}

/// A Graph API double with `config` on a free loopback port.
pub async fn double_with_config(config: graph_double::DoubleConfig) -> graph_double::GraphDouble {
    graph_double::GraphDouble::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

/// A Graph API double as Meta behaves, on a free loopback port.
pub async fn double() -> graph_double::GraphDouble {
    double_with_config(Default::default()).await
}
