//! The double's Test Events page in headless Chromium, driven through
//! chromedriver (WebDriver): the page loads, an event is sent through the
//! real component, and it appears, live. `scripts/setup-browser` installs
//! Debian's chromium and chromium-driver (`make test` runs it).

use crate::common::*;
use action_host::EgressPolicy;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Driver {
    process: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (scripts/setup-browser)");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,800", format!("--user-data-dir={}", profile.path().display())]
        }}}});
        let (status, answer) = http_json("POST", &base, "/session", Some(&caps)).await;
        assert_eq!(status, 200, "no browser session: {answer}");
        let session = answer["value"]["sessionId"].as_str().unwrap().to_string();
        Driver {
            process,
            base,
            session,
            _profile: profile,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = http_json(
            method,
            &self.base,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        )
        .await;
        assert_eq!(status, 200, "{path}: {answer}");
        answer["value"].clone()
    }

    async fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Polls `script` until it returns something truthy.
    async fn wait_for(&self, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.script(script).await;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "timed out waiting for: {script}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Driver {
    /// A string only this driver's browser processes carry on their command
    /// line: its profile folder.
    fn marker(&self) -> String {
        format!("--user-data-dir={}", self._profile.path().display())
    }

    /// Ends the WebDriver session, which makes chromedriver close the
    /// browser, then stops chromedriver.
    fn quit(&mut self) {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        if let Ok(mut sock) = std::net::TcpStream::connect(addr) {
            let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                sock,
                "DELETE /session/{} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                self.session
            );
            let mut answer = Vec::new();
            let _ = sock.read_to_end(&mut answer);
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.quit();
        // A test that failed midway still leaves nothing behind.
        for pid in processes_with(&self.marker()) {
            // SAFETY: sending a signal has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// The processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then_some(pid)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_events_page_shows_events_as_they_arrive() {
    let double = double().await;
    let driver = Driver::start().await;
    driver
        .call(
            "POST",
            "/url",
            Some(json!({"url": format!("{}/", double.url())})),
        )
        .await;
    driver.wait_for("return document.title.startsWith('Test Events') && !document.getElementById('no-events').hidden").await;
    assert_eq!(
        driver
            .script("return document.querySelectorAll('#events tbody tr').length")
            .await,
        json!(0)
    );

    // An event through the real component, after the page loaded.
    let policy = Arc::new(EgressPolicy::graph(Some(double.url().parse().unwrap())));
    let exec = engine()
        .execute(
            policy.clone(),
            &settings(
                "Lead",
                json!({"action_source": "email", "test_event_code": "TEST42"}),
            ),
            &firing("browser-lead-1", "form_submitted", json!({})),
            &contact(),
        )
        .await;
    assert!(matches!(exec.result, Ok(Ok(_))), "{:?}", exec.result);
    let row = driver
        .wait_for("const r = document.querySelector('#events tr[data-event-id=\"browser-lead-1\"]'); return r && r.innerText")
        .await;
    let row = row.as_str().unwrap();
    for expected in [
        "Lead",
        "browser-lead-1",
        "em",
        "ph",
        "external_id",
        "processed",
        "TEST42",
    ] {
        assert!(
            row.contains(expected),
            "{expected} missing from the row: {row}"
        );
    }

    // The same event again is shown as deduplicated; a refused request as an error.
    let _ = engine()
        .execute(
            policy.clone(),
            &settings("Lead", json!({"action_source": "email"})),
            &firing("browser-lead-1", "form_submitted", json!({})),
            &contact(),
        )
        .await;
    let bad_token = json!({"pixel_id": "1", "access_token": "expired", "event": "Lead", "action_source": "email"}).to_string();
    let _ = engine()
        .execute(
            policy,
            &bad_token,
            &firing("browser-lead-2", "t", json!({})),
            &contact(),
        )
        .await;
    driver
        .wait_for("return document.querySelectorAll('#events tbody tr').length === 2")
        .await;
    let newest = driver
        .script("return document.querySelector('#events tbody tr').innerText")
        .await;
    assert!(
        newest.as_str().unwrap().contains("deduplicated"),
        "newest first: {newest}"
    );
    let error = driver
        .wait_for("const r = document.querySelector('#errors tbody tr'); return r && r.innerText")
        .await;
    assert!(error.as_str().unwrap().contains("code 190"), "{error}");

    if let Ok(path) = std::env::var("TEST_EVENTS_SCREENSHOT") {
        let png = driver.call("GET", "/screenshot", None).await;
        std::fs::write(path, base64_decode(png.as_str().unwrap())).unwrap();
    }

    // Ending the session closes the browser: the test leaves no process.
    let mut driver = driver;
    let marker = driver.marker();
    assert!(
        !processes_with(&marker).is_empty(),
        "the browser was found running"
    );
    driver.quit();
    let started = Instant::now();
    while !processes_with(&marker).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a browser process outlived its session: {:?}",
            processes_with(&marker)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        acc = (acc << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
