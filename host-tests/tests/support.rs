//! Test harness: a host on a fresh data folder, with plugins installed from the build.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use maillage::config::Config;
use maillage::http::AppState;
use maillage::tenancy::{Structure, StructureKind};
use tower::ServiceExt;

pub struct Host {
    pub state: AppState,
    pub router: Router,
    pub dir: PathBuf,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
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
    let dir = std::env::temp_dir().join(format!(
        "maillage-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Tight limits so fault tests run fast.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config::with_data_dir(dir);
    config.plugin_deadline_ms = 300;
    config.plugin_memory_mib = 32;
    config.plugin_output_mib = 1;
    config
}

impl Host {
    pub async fn new() -> Host {
        let dir = fresh_dir();
        let state = maillage::open(&test_config(&dir))
            .await
            .expect("host opens");
        let router = maillage::http::app(state.clone());
        Host { state, router, dir }
    }

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
                other => other,
            };
            let plugin = self
                .state
                .registry
                .install(&wasm(file))
                .await
                .expect("install");
            self.state
                .db
                .enable_module(
                    s.id,
                    &plugin.manifest().id,
                    &plugin.manifest().version.to_string(),
                )
                .await
                .unwrap();
        }
        s
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

    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        let (status, _, body) = self
            .send(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        (status, body)
    }
}

/// A browser-like client: keeps the CSRF cookie and sends it back with forms.
pub struct Client<'a> {
    pub host: &'a Host,
    pub cookie: Option<String>,
}

impl<'a> Client<'a> {
    pub fn new(host: &'a Host) -> Self {
        Client { host, cookie: None }
    }

    fn remember(&mut self, headers: &http::HeaderMap) {
        if let Some(set) = headers
            .get(http::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
        {
            self.cookie = set.split(';').next().map(str::to_string);
        }
    }

    pub async fn get(&mut self, uri: &str) -> (StatusCode, String) {
        let mut req = Request::get(uri);
        if let Some(c) = &self.cookie {
            req = req.header(http::header::COOKIE, c);
        }
        let (status, headers, body) = self.host.send(req.body(Body::empty()).unwrap()).await;
        self.remember(&headers);
        (status, body)
    }

    pub fn csrf(&self) -> String {
        self.cookie
            .as_ref()
            .and_then(|c| c.split_once('='))
            .map(|(_, v)| v.to_string())
            .expect("visit a page first")
    }

    /// POSTs a form with the CSRF token added; returns status, Location and body.
    pub async fn post_form(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
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
        if let Some(c) = &self.cookie {
            req = req.header(http::header::COOKIE, c);
        }
        let (status, headers, body) = self.host.send(req.body(Body::from(body)).unwrap()).await;
        self.remember(&headers);
        let location = headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, location, body)
    }
}

fn form_encode(fields: &[(&str, &str)]) -> String {
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
