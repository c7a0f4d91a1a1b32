//! Test harness: a host on a fresh data folder, with plugins installed from the build.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use maillage::config::Config;
use maillage::http::AppState;
use maillage::identity::Account;
use maillage::tenancy::{Role, Structure, StructureKind};
use tower::ServiceExt;

pub struct Host {
    pub state: AppState,
    pub router: Router,
    pub dir: PathBuf,
    /// The folder belongs to another host (see `Host::at`): leave it on drop.
    borrowed_dir: bool,
}

impl Drop for Host {
    fn drop(&mut self) {
        if !self.borrowed_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn wasm(name: &str) -> Vec<u8> {
    let path = PathBuf::from(maillage::PLUGIN_BUILD_DIR).join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "fixture {} missing ({e}); core/build.rs builds it",
            path.display()
        )
    })
}

pub fn fresh_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    // The time part keeps names (and PostgreSQL schemas) unique across runs.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 100_000_000)
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "maillage-test-{}-{started}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The backend under test: `MAILLAGE_TEST_DATABASE=postgres` runs the suite against the
/// PostgreSQL server (`MAILLAGE_TEST_POSTGRES_URL`, default the local `test` database),
/// each host in its own schema; otherwise each host has its own SQLite file.
pub fn on_postgres() -> bool {
    std::env::var("MAILLAGE_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

pub fn postgres_url() -> String {
    std::env::var("MAILLAGE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Tight limits so fault tests run fast. On PostgreSQL the schema is named after the
/// data folder, so a second host on the same folder (`Host::at`) shares the database.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config::with_data_dir(dir);
    if on_postgres() {
        let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("x");
        config.database_url = Some(postgres_url());
        config.database_schema = Some(format!("t_{}", folder.replace('-', "_")));
    }
    config.plugin_deadline_ms = 300;
    config.plugin_memory_mib = 32;
    config.plugin_output_mib = 1;
    config
}

/// Password of every account the tests create.
pub const PASSWORD: &str = "mot-de-passe-de-test";

impl Host {
    /// Hands an event straight to module `module_id` of structure `sid`, as the
    /// dispatcher would (a forged or repeated delivery), and returns the module's answer.
    pub async fn deliver_event(
        &self,
        sid: i64,
        module_id: &str,
        event: maillage::storage::StoredEvent,
    ) -> Result<Result<(), String>, maillage::plugins::Fault> {
        let structure = self
            .state
            .db
            .structure(sid)
            .await
            .unwrap()
            .expect("the structure");
        let module = self
            .state
            .db
            .enabled_module(sid, module_id)
            .await
            .unwrap()
            .expect("the module is enabled");
        let plugin = self
            .state
            .registry
            .get(module_id, &module.version)
            .await
            .unwrap();
        let granted = plugin.effective_capabilities(&module.granted);
        let ctx = maillage::plugins::CallContext::anonymous(
            &structure,
            module_id,
            &event.idempotency_key,
            "",
        );
        self.state
            .registry
            .runtime()
            .deliver_event(&plugin, ctx, granted, event)
            .await
    }

    pub async fn new() -> Host {
        Host::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Host {
        let dir = fresh_dir();
        let mut config = test_config(&dir);
        adjust(&mut config);
        let state = maillage::open(&config).await.expect("host opens");
        let router = maillage::http::app(state.clone());
        Host {
            state,
            router,
            dir,
            borrowed_dir: false,
        }
    }

    /// Stops this host but keeps its data folder, for a next host (`Host::at`).
    pub fn stop_keeping_data(mut self) -> PathBuf {
        self.borrowed_dir = true;
        self.dir.clone()
    }

    /// A second host on an existing data folder (another process's, in crash tests).
    pub async fn at(dir: PathBuf) -> Host {
        let state = maillage::open(&test_config(&dir))
            .await
            .expect("host opens");
        let router = maillage::http::app(state.clone());
        Host {
            state,
            router,
            dir,
            borrowed_dir: true,
        }
    }

    /// A structure with these modules enabled and every capability they ask granted.
    pub async fn structure(&self, slug: &str, modules: &[&str]) -> Structure {
        let s = self
            .state
            .db
            .create_structure(
                slug,
                &format!("Structure {slug}"),
                StructureKind::Cpts,
                "Europe/Paris",
            )
            .await
            .unwrap();
        for module in modules {
            let file = match *module {
                "faulty" => "fixture_faulty",
                "legacy" => "fixture_legacy_wit",
                "compat" => "fixture_wit_0_2_0",
                "listener" => "fixture_listener",
                other => other,
            };
            let plugin = self
                .state
                .registry
                .install(&wasm(file))
                .await
                .expect("install");
            let m = plugin.manifest();
            let granted: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
            self.state
                .db
                .enable_module(s.id, &m.id, &m.version.to_string(), &granted)
                .await
                .unwrap();
        }
        s
    }

    /// Like [`Host::structure`], in the IANA time zone `zone` (one the host supports).
    pub async fn structure_in_zone(&self, slug: &str, zone: &str, modules: &[&str]) -> Structure {
        let s = self.structure(slug, modules).await;
        self.state
            .db
            .update_structure(s.id, &s.name, zone, "")
            .await
            .unwrap();
        self.state
            .db
            .structure(s.id)
            .await
            .unwrap()
            .expect("structure exists")
    }

    pub async fn structure_id(&self, slug: &str) -> i64 {
        self.state
            .db
            .structure_by_slug(slug)
            .await
            .unwrap()
            .expect("structure exists")
            .id
    }

    /// An account with a password, member of `slug` with `role`.
    pub async fn account(&self, slug: &str, email: &str, name: &str, role: Role) -> Account {
        let db = &self.state.db;
        let account = match db.account_by_login(email).await.unwrap() {
            Some(a) => a,
            None => {
                let a = db.create_account(email, None, name).await.unwrap();
                db.set_password(a.id, PASSWORD).await.unwrap();
                a
            }
        };
        let id = self.structure_id(slug).await;
        db.set_membership(id, account.id, role).await.unwrap();
        account
    }

    /// A signed-in browser of a new platform operator (no structure).
    pub async fn operator(&self, email: &str, name: &str) -> Client<'_> {
        let db = &self.state.db;
        let account = db.create_account(email, None, name).await.unwrap();
        db.set_password(account.id, PASSWORD).await.unwrap();
        db.set_platform_operator(account.id, true).await.unwrap();
        let mut client = Client::new(self);
        client.login(email, PASSWORD).await;
        client
    }

    /// A signed-in browser of a new member of `slug` with `role`.
    pub async fn member(&self, slug: &str, role: Role) -> Client<'_> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let email = format!("{}-{n}@{slug}.test", role.as_str());
        self.account(slug, &email, &format!("{} {n}", role.label()), role)
            .await;
        let mut client = Client::new(self);
        client.login(&email, PASSWORD).await;
        client
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }
}

/// A browser-like client: keeps its cookies (session, CSRF) and sends them back.
pub struct Client<'a> {
    pub host: &'a Host,
    pub cookies: BTreeMap<String, String>,
}

impl<'a> Client<'a> {
    pub fn new(host: &'a Host) -> Self {
        Client {
            host,
            cookies: BTreeMap::new(),
        }
    }

    fn remember(&mut self, headers: &http::HeaderMap) {
        for set in headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            if set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub async fn get(&mut self, uri: &str) -> (StatusCode, String) {
        let (status, _, body) = self.get_full(uri).await;
        (status, body)
    }

    /// GET returning the Location header too.
    pub async fn get_full(&mut self, uri: &str) -> (StatusCode, Option<String>, String) {
        let mut req = Request::get(uri);
        if let Some(c) = self.cookie_header() {
            req = req.header(http::header::COOKIE, c);
        }
        let (status, headers, body) = self.host.send(req.body(Body::empty()).unwrap()).await;
        self.remember(&headers);
        (status, location(&headers), body)
    }

    pub fn csrf(&self) -> String {
        self.cookies
            .get("maillage_csrf")
            .cloned()
            .expect("visit a page first")
    }

    /// Logs in through the login form; panics if it fails.
    pub async fn login(&mut self, login: &str, password: &str) {
        let (status, location, body) = self.try_login(login, password).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "login of {login} failed: {body}"
        );
        assert!(location.is_some());
    }

    pub async fn try_login(
        &mut self,
        login: &str,
        password: &str,
    ) -> (StatusCode, Option<String>, String) {
        self.get("/connexion").await;
        self.post_form(
            "/connexion",
            &[("identifiant", login), ("mot_de_passe", password)],
        )
        .await
    }

    /// POSTs a form with the CSRF token added; returns status, Location and body.
    pub async fn post_form(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        if !self.cookies.contains_key("maillage_csrf") {
            self.get("/connexion").await;
        }
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(uri, &all).await
    }

    pub async fn post_raw(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let body = form_encode(fields);
        let mut req = Request::post(uri).header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
        if let Some(c) = self.cookie_header() {
            req = req.header(http::header::COOKIE, c);
        }
        let (status, headers, body) = self.host.send(req.body(Body::from(body)).unwrap()).await;
        self.remember(&headers);
        (status, location(&headers), body)
    }
}

impl Client<'_> {
    /// POST of a raw body (a file upload, JSON), with the CSRF token in its header.
    /// Returns status, headers and body.
    pub async fn post_body(
        &mut self,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, http::HeaderMap, String) {
        if !self.cookies.contains_key("maillage_csrf") {
            self.get("/connexion").await;
        }
        let mut req = Request::post(uri)
            .header(http::header::CONTENT_TYPE, content_type)
            .header("x-csrf-token", self.csrf());
        if let Some(c) = self.cookie_header() {
            req = req.header(http::header::COOKIE, c);
        }
        let (status, headers, body) = self.host.send(req.body(Body::from(body)).unwrap()).await;
        self.remember(&headers);
        (status, headers, body)
    }

    /// A plain HTML upload form posted without JavaScript: `multipart/form-data` whose
    /// first part is the `csrf` field holding `token`, then the file, and no header.
    pub async fn post_upload_form(
        &mut self,
        uri: &str,
        token: &str,
        file: (&str, &str, &str, &[u8]),
    ) -> (StatusCode, Option<String>, String) {
        let (field, name, content_type, content) = file;
        let boundary = "----MaillageFormBoundary7MA4YWxk";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = Request::post(uri).header(
            http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(c) = self.cookie_header() {
            req = req.header(http::header::COOKIE, c);
        }
        let (status, headers, body) = self.host.send(req.body(Body::from(body)).unwrap()).await;
        self.remember(&headers);
        (status, location(&headers), body)
    }

    /// GET returning the headers too.
    pub async fn get_with_headers(&mut self, uri: &str) -> (StatusCode, http::HeaderMap, String) {
        let mut req = Request::get(uri);
        if let Some(c) = self.cookie_header() {
            req = req.header(http::header::COOKIE, c);
        }
        self.host.send(req.body(Body::empty()).unwrap()).await
    }
}

impl Client<'_> {
    /// GET of a download: status, headers and the body as bytes (a workbook, an image).
    pub async fn get_bytes(&mut self, uri: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        if let Some(c) = self.cookie_header() {
            req = req.header(http::header::COOKIE, c);
        }
        let response = self
            .host
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        self.remember(&headers);
        (status, headers, body.to_vec())
    }
}

/// The S3-compatible test server (moto) the test command started, if any.
pub fn s3_endpoint() -> Option<String> {
    std::env::var("MAILLAGE_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
}

/// Creates a bucket on the S3 test server (moto accepts unsigned requests).
pub async fn create_bucket(endpoint: &str, bucket: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("S3 test server reachable");
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "bucket creation: {answer}"
    );
}

/// The status a real S3 client (boto3, installed with moto in `target/test-tools/moto`)
/// gets for a HEAD of `key` in `bucket`: 200 when the object is there, 404 when not.
pub async fn s3_object_status(endpoint: &str, bucket: &str, key: &str) -> u16 {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target/test-tools/moto/bin/python");
    let script = "import sys, boto3, botocore\n\
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n\
try:\n    s3.head_object(Bucket=sys.argv[2], Key=sys.argv[3]); print(200)\n\
except botocore.exceptions.ClientError as e:\n    print(e.response['Error']['Code'])\n";
    let out = std::process::Command::new(&python)
        .args(["-c", script, endpoint, bucket, key])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} does not run ({e}): the test command installs moto and boto3 there",
                python.display()
            )
        });
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.parse()
        .unwrap_or_else(|_| panic!("unexpected answer from boto3: {text}"))
}

pub fn location(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `application/x-www-form-urlencoded` of `fields` (also a query string).
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// "YYYY-MM-DDTHH:MM" in `zone`, `days` from today at `hour`:`minute`, as a member types
/// it in a `datetime-local` field (jiff: real zones).
pub fn local_in(days: i64, hour: i8, minute: i8, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).expect("a known zone");
    let today = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    let day = today
        .checked_add(jiff::Span::new().days(days))
        .expect("a date in range");
    format!(
        "{:04}-{:02}-{:02}T{hour:02}:{minute:02}",
        day.year(),
        day.month(),
        day.day()
    )
}

/// A poll deadline a month ahead, as the form wants it (tests that only need a poll).
pub static POLL_DEADLINE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| local_in(30, 18, 0, "Europe/Paris"));

/// Rows of a `;`-separated CSV, read by Python's `csv` module (a real reader, not
/// ours): BOM removed, quotes undone, empty lines left out.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    use std::io::Write;
    let script = "import csv, io, json, sys\n\
                  text = sys.stdin.buffer.read().decode('utf-8-sig')\n\
                  rows = [r for r in csv.reader(io.StringIO(text, newline=''), delimiter=';') if any(r)]\n\
                  print(json.dumps(rows))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("the CSV is written to Python");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "Python's csv module refused the export"
    );
    serde_json::from_slice(&out.stdout).expect("rows as JSON")
}

/// Every sheet of a workbook as openpyxl reads it: `{sheet: [[cell…]…]}`, each cell as
/// JSON (numbers stay numbers, empty cells are null); `prefix` names the temporary file.
pub fn read_workbook(bytes: &[u8], prefix: &str) -> serde_json::Value {
    let script = r#"
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1])
out = {}
for sheet in book.worksheets:
    out[sheet.title] = [
        [v if v is None or isinstance(v, (bool, int, float, str)) else str(v) for v in row]
        for row in sheet.iter_rows(values_only=True)
    ]
print(json.dumps(out, ensure_ascii=False))
"#;
    let stdout = run_openpyxl(bytes, prefix, script, "");
    serde_json::from_slice(&stdout).expect("openpyxl's sheets as JSON")
}

/// Runs `script` in the test command's Python (`target/test-tools/py`, with openpyxl)
/// on `bytes` written to a temporary workbook `maillage-{prefix}-….xlsx` (its path is
/// `sys.argv[1]`); the script's standard output. `what` completes the failure message.
pub fn run_openpyxl(bytes: &[u8], prefix: &str, script: &str, what: &str) -> Vec<u8> {
    static N: AtomicU32 = AtomicU32::new(0);
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target/test-tools/py/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the test command installs openpyxl there \
         (python3 -m venv target/test-tools/py && target/test-tools/py/bin/pip install openpyxl)",
        python.display()
    );
    let file = std::env::temp_dir().join(format!(
        "maillage-{prefix}-{}-{}.xlsx",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&file, bytes).expect("the workbook is written to a temporary file");
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python runs");
    let _ = std::fs::remove_file(file);
    assert!(
        output.status.success(),
        "openpyxl cannot read the export as a workbook{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The meeting id in the Location after a meeting of the agenda was created.
pub fn meeting_id(location: &str) -> String {
    location
        .split("/r/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("unexpected location {location}"))
        .to_string()
}
