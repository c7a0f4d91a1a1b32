//! Minimal blocking W3C WebDriver client for chromedriver, driving a headless Chromium
//! in browser tests. HTTP/1.1 is spoken by hand over `TcpStream`, one connection per
//! command, to keep the test crate free of an HTTP client dependency.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C web element identifier (spec constant).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// One request; returns the JSON reply.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> io::Result<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    // Generous: navigation commands block until the page has loaded.
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all((head + &body).as_bytes())?;
    let (mut raw, mut buf) = (Vec::new(), [0; 16384]);
    loop {
        let n = stream.read(&mut buf)?;
        raw.extend_from_slice(&buf[..n]);
        match reply_body(&raw, n == 0) {
            Some(body) => return Ok(serde_json::from_slice(&body)?),
            None if n == 0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            None => {}
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The body once `raw` holds the whole reply: chromedriver answers `Connection: close`
/// but keeps the socket open, so the end comes from the framing, not from EOF.
fn reply_body(raw: &[u8], eof: bool) -> Option<Vec<u8>> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let (mut chunked, mut length) = (false, None);
    for (name, value) in head.split("\r\n").filter_map(|l| l.split_once(':')) {
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let rest = &raw[end + 4..];
    match (chunked, length) {
        (true, _) => dechunk(rest),
        (false, Some(len)) => rest.get(..len).map(<[u8]>::to_vec),
        (false, None) => eof.then(|| rest.to_vec()),
    }
}

/// The decoded body, or None while it is incomplete (or malformed, then caught at EOF).
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = find(rest, b"\r\n")?;
        let size = std::str::from_utf8(&rest[..eol]).ok()?.split(';').next()?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// Retries `attempt` until it yields something or `timeout` passes.
fn poll<T>(timeout: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let found = attempt();
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        sleep(POLL);
    }
}

fn string(value: Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn by_css(css: &str) -> Option<Value> {
    Some(json!({ "using": "css selector", "value": css }))
}

/// A running chromedriver process, killed on drop.
pub struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts chromedriver (env MAILLAGE_CHROMEDRIVER, else /usr/bin/chromedriver, else PATH)
    /// and waits until it reports ready.
    pub fn start() -> Chromedriver {
        let path = std::env::var_os("MAILLAGE_CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.exists()))
            .unwrap_or_else(|| PathBuf::from("chromedriver"));
        // Racy in theory (the port is only known free when checked), good enough for tests.
        let listener = TcpListener::bind("127.0.0.1:0").expect("no free local port");
        let port = listener.local_addr().expect("no local address").port();
        drop(listener);
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start chromedriver `{}` ({e}): install the Debian packages \
                     `chromium chromium-driver` or set MAILLAGE_CHROMEDRIVER",
                    path.display()
                )
            });
        // Built before waiting so that a panic below still kills the child.
        let mut driver = Chromedriver { child, port };
        let ready = poll(Duration::from_secs(20), || {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver `{}` exited early: {status}", path.display());
            }
            let status = http(port, "GET", "/status", None).ok()?;
            (status["value"]["ready"] == true).then_some(())
        });
        assert!(ready.is_some(), "chromedriver not ready after 20 s");
        driver
    }

    /// A new headless Chromium session with a fresh profile.
    pub fn browser(&self) -> Browser {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("maillage-chromium-{}-{n}", std::process::id());
        let profile = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&profile).expect("cannot create a browser profile dir");
        // The network is closed: these flags stop Chromium's own outbound connections.
        let mut options = json!({ "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1280,900",
            format!("--user-data-dir={}", profile.display()),
        ]});
        let binary = std::env::var("MAILLAGE_CHROMIUM").ok();
        let default = Path::new("/usr/bin/chromium");
        if let Some(binary) =
            binary.or_else(|| default.exists().then(|| default.display().to_string()))
        {
            options["binary"] = binary.into();
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options,
            // The console is read back by `console_errors`.
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let reply = http(self.port, "POST", "/session", Some(&caps));
        let reply = reply.unwrap_or_else(|e| json!({ "error": e.to_string() }));
        let Some(session) = reply["value"]["sessionId"].as_str().map(str::to_owned) else {
            let _ = std::fs::remove_dir_all(&profile);
            panic!("cannot create a browser session: {reply}");
        };
        Browser {
            port: self.port,
            session,
            profile,
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session; closed (and its profile removed) on drop.
pub struct Browser {
    port: u16,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Sends a session command; `Err` holds the WebDriver error code and message.
    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("/session/{}{path}", self.session);
        let mut reply = http(self.port, method, &url, body.as_ref())
            .unwrap_or_else(|e| panic!("chromedriver {method} {path}: {e}"));
        let value = reply["value"].take();
        let message = value["message"].as_str().unwrap_or_default();
        match value["error"].as_str() {
            Some(error) => Err(format!("{error}: {message}")),
            None => Ok(value),
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_cmd(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}"))
    }

    fn element(&self, value: &Value) -> Element<'_> {
        let id = value[ELEMENT_KEY].as_str().map(str::to_owned);
        let id = id.unwrap_or_else(|| panic!("not an element: {value}"));
        Element { browser: self, id }
    }

    /// First match under `scope` ("" for the document), None if there is none yet.
    fn find_in(&self, scope: &str, css: &str) -> Option<Element<'_>> {
        match self.try_cmd("POST", &format!("{scope}/element"), by_css(css)) {
            Ok(value) => Some(self.element(&value)),
            Err(e) if e.starts_with("no such element") => None,
            Err(e) => panic!("finding `{css}`: {e}"),
        }
    }

    fn try_body_text(&self) -> Result<String, String> {
        let script = "return document.body ? document.body.innerText : '';";
        let body = json!({ "script": script, "args": [] });
        let text = self.try_cmd("POST", "/execute/sync", Some(body));
        text.map(string)
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn current_url(&self) -> String {
        string(self.cmd("GET", "/url", None))
    }

    /// Visible text of <body>.
    pub fn body_text(&self) -> String {
        self.try_body_text()
            .unwrap_or_else(|e| panic!("reading the page text: {e}"))
    }

    /// First element matching the CSS selector, waiting up to 5 s for it.
    pub fn find(&self, css: &str) -> Element<'_> {
        poll(WAIT, || self.find_in("", css)).unwrap_or_else(|| {
            let (url, text) = (self.current_url(), self.try_body_text().unwrap_or_default());
            panic!("no element matches `{css}` on {url} after 5 s; page text:\n{text}");
        })
    }

    /// Waits up to 5 s until the page text contains `needle`.
    pub fn wait_for_text(&self, needle: &str) {
        // Errors while a navigation is in flight just mean "not there yet".
        let text = || self.try_body_text().unwrap_or_default();
        if poll(WAIT, || text().contains(needle).then_some(())).is_none() {
            panic!(
                "text `{needle}` not found after 5 s; page text:\n{}",
                text()
            );
        }
    }

    pub fn set_window_size(&self, width: u32, height: u32) {
        let rect = json!({ "width": width, "height": height });
        self.cmd("POST", "/window/rect", Some(rect));
    }

    /// Runs asynchronous JavaScript: the script calls its last argument with the value.
    pub fn execute_async(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.cmd("POST", "/execute/async", Some(body))
    }

    /// Grants a permission (e.g. "clipboard-read") to the page's origin.
    pub fn grant(&self, permission: &str) {
        let body = json!({ "descriptor": { "name": permission }, "state": "granted" });
        self.cmd("POST", "/permissions", Some(body));
    }

    /// Messages the page logged at level SEVERE (errors, CSP violations) since the last
    /// call: chromedriver hands each log entry out once.
    pub fn console_errors(&self) -> Vec<String> {
        let entries = self.cmd("POST", "/se/log", Some(json!({ "type": "browser" })));
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// A Chrome DevTools Protocol command on the current page (e.g.
    /// `Page.getInstallabilityErrors`).
    pub fn cdp(&self, command: &str, params: Value) -> Value {
        let body = json!({ "cmd": command, "params": params });
        self.cmd("POST", "/goog/cdp/execute", Some(body))
    }

    /// Runs synchronous JavaScript and returns its value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        let body = json!({ "script": script, "args": args });
        self.cmd("POST", "/execute/sync", Some(body))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session);
        let _ = http(self.port, "DELETE", &path, None);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// An element of the current page, as a WebDriver reference.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        let path = format!("/element/{}{what}", self.id);
        self.browser.cmd(method, &path, body)
    }

    pub fn click(&self) {
        self.cmd("POST", "/click", Some(json!({})));
    }

    pub fn send_keys(&self, text: &str) {
        self.cmd("POST", "/value", Some(json!({ "text": text })));
    }

    pub fn clear(&self) {
        self.cmd("POST", "/clear", Some(json!({})));
    }

    pub fn text(&self) -> String {
        string(self.cmd("GET", "/text", None))
    }
}
