//! A small HTTP/1.1 client, and just enough of the W3C WebDriver protocol to drive Debian's headless Chromium through
//! chromedriver from a test: a session, navigation, scripts, key presses, cookies and
//! screenshots.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where chromedriver is (`CHROMEDRIVER` overrides; `make test` installs Debian's).
fn chromedriver_path() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_string())
}

fn chromium_path() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// A chromedriver process, killed on drop.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let path = chromedriver_path();
        let mut child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {path} ({e}): run `make setup-browser` (Debian's chromium and chromium-driver)")
            });
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let started = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("started successfully"));
        assert!(started, "chromedriver did not start");
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub struct Browser {
    port: u16,
    session: String,
}

/// An answer's header lines: names in lower case, in the order sent.
pub type Headers = Vec<(String, String)>;

/// The first value of header `name` (lower case), if the answer has it.
pub fn header<'h>(headers: &'h Headers, name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; the status code and the body. Reads exactly
/// Content-Length bytes (chromedriver keeps connections open).
pub async fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let (status, _, body) = http_with(port, method, path, &[], body).await;
    (status, body)
}

/// As [`http`], with `headers` added to the request; answers the status, the answer's
/// headers and its body. An answer without Content-Length (a 204, a redirect) is read to
/// the end of the connection, which the request asks the server to close.
pub async fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Headers, String) {
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("the HTTP server answers");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
            payload.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(payload.as_bytes()).await.expect("write");
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse::<u16>().ok())
                    .expect("a status code");
                let answer_headers: Headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    })
                    .collect();
                let length = header(&answer_headers, "content-length")
                    .map(|v| v.parse::<usize>().expect("a numeric Content-Length"));
                let body = match length {
                    Some(length) => {
                        while buffer.len() < end + 4 + length {
                            let n = stream.read(&mut chunk).await.expect("read");
                            assert!(n > 0, "the connection closed early");
                            buffer.extend_from_slice(&chunk[..n]);
                        }
                        buffer[end + 4..end + 4 + length].to_vec()
                    }
                    None => {
                        stream
                            .read_to_end(&mut buffer)
                            .await
                            .expect("read to the end");
                        let rest = buffer[end + 4..].to_vec();
                        if header(&answer_headers, "transfer-encoding") == Some("chunked") {
                            dechunk(&rest)
                        } else {
                            rest
                        }
                    }
                };
                return (
                    status,
                    answer_headers,
                    String::from_utf8_lossy(&body).to_string(),
                );
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the connection closed before an answer");
            buffer.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(60), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer in 60 s"))
}

/// A chunked body, whole, as its bytes.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// A WebDriver command; its `value`.
async fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    try_request(port, method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// A WebDriver command; its `value`, or the error chromedriver answered.
async fn try_request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let (status, body) = http(port, method, path, body).await;
    let value: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {status}\n{body}"))?;
    if status == 200 {
        Ok(value["value"].clone())
    } else {
        Err(value.to_string())
    }
}

impl Browser {
    /// A headless Chromium window of `width` x `height`.
    pub async fn open(driver: &Driver, width: u32, height: u32) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_path(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-dev-shm-usage", format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let value = request(driver.port, "POST", "/session", Some(&caps)).await;
        let session = value["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        Browser {
            port: driver.port,
            session,
        }
    }

    async fn call(&self, method: &str, command: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{command}", self.session);
        request(self.port, method, &path, body.as_ref()).await
    }

    /// The URL the window shows.
    pub async fn url(&self) -> String {
        let url = self.call("GET", "/url", None).await;
        url.as_str().expect("a URL").to_string()
    }

    /// The cookies the browser holds for the page's site, HttpOnly ones included (as
    /// WebDriver objects: `name`, `value`, `httpOnly`, `sameSite`, ...).
    pub async fn cookies(&self) -> Vec<Value> {
        let cookies = self.call("GET", "/cookie", None).await;
        cookies.as_array().expect("a list of cookies").clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Polls `script` until it returns true (at most `within`).
    pub async fn wait_for(&self, what: &str, script: &str, within: Duration) {
        let until = Instant::now() + within;
        let path = format!("/session/{}/execute/sync", self.session);
        let body = json!({ "script": script, "args": [] });
        loop {
            // A script that fails (the page is between two documents while it navigates)
            // has not seen the condition yet: it is asked again.
            let answer = try_request(self.port, "POST", &path, Some(&body)).await;
            if answer == Ok(Value::Bool(true)) {
                return;
            }
            if Instant::now() > until {
                let page = self.eval("return document.body.innerText", json!([])).await;
                panic!(
                    "waited {within:?} for {what} (last answer {answer:?}); the page reads:\n{page}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses and releases each key in turn, as a person at the keyboard would (WebDriver
    /// key values: "\u{E00C}" is Escape).
    pub async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|k| {
                [
                    json!({"type": "keyDown", "value": k.to_string()}),
                    json!({"type": "keyUp", "value": k.to_string()}),
                ]
            })
            .collect();
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.call("POST", "/actions", Some(body)).await;
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call("GET", "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64 text"))
            .expect("base64")
    }

    pub async fn close(self) {
        self.call("DELETE", "", None).await;
    }
}

/// On the review screen's login page at `base` (`http://host:port/`): types `token` into
/// its field and submits the form with Enter, as a person would.
pub async fn submit_token(browser: &Browser, base: &str, token: &str) {
    browser.goto(&format!("{base}login")).await;
    browser
        .wait_for(
            "the login form",
            "return document.readyState === 'complete' && document.getElementById('token') !== null",
            Duration::from_secs(30),
        )
        .await;
    browser
        .eval("document.getElementById('token').focus()", json!([]))
        .await;
    browser.keys(&format!("{token}\u{E007}")).await;
}

/// Logs in to the review screen at `base` with `token`, and waits until the screen is open
/// and says who is logged in.
pub async fn log_in(browser: &Browser, base: &str, token: &str) {
    submit_token(browser, base, token).await;
    browser
        .wait_for(
            "the review screen after logging in",
            "return location.pathname === '/' && document.getElementById('principal') !== null
               && document.getElementById('principal').textContent !== ''",
            Duration::from_secs(30),
        )
        .await;
}
