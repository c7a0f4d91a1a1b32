//! The shell's static files: compiled into the binary, served under content-hashed
//! names (`/static/maillage.3f9a….css`) with year-long immutable caching, so that a new
//! release is fetched at once and an unchanged file never again. Also the web app
//! manifest, the service worker and its offline page (the PWA shell).

use std::sync::LazyLock;

use maud::{DOCTYPE, Markup, html};
use sha2::{Digest, Sha256};

/// One file of `core/static/`.
pub struct StaticFile {
    /// Path below `/static/`, unhashed.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// The shell's stylesheet.
pub const STYLESHEET: &str = "maillage.css";
/// The shell's script (service worker registration, confirmations).
pub const SCRIPT: &str = "maillage.js";
/// htmx, vendored (0BSD, `static/vendor/htmx-LICENSE.txt`), offered to every module:
/// `hx-get`, `hx-post`, `hx-trigger`… work on every page. Configured by the layout's
/// `htmx-config` meta: no eval, no injected indicator styles (strict CSP).
pub const HTMX: &str = "vendor/htmx-2.0.11.min.js";
pub const FAVICON: &str = "icons/icon.svg";

const FILES: &[StaticFile] = &[
    StaticFile {
        name: STYLESHEET,
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/maillage.css"),
    },
    StaticFile {
        name: SCRIPT,
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/maillage.js"),
    },
    StaticFile {
        name: HTMX,
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/vendor/htmx-2.0.11.min.js"),
    },
    StaticFile {
        name: FAVICON,
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/icons/icon.svg"),
    },
    StaticFile {
        name: "icons/icon-192.png",
        content_type: "image/png",
        body: include_bytes!("../../static/icons/icon-192.png"),
    },
    StaticFile {
        name: "icons/icon-512.png",
        content_type: "image/png",
        body: include_bytes!("../../static/icons/icon-512.png"),
    },
];

/// `name` with the first 16 hex digits of its SHA-256 before the extension.
pub fn hashed_name(name: &str, body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

/// (hashed name, file), computed once.
static TABLE: LazyLock<Vec<(String, &'static StaticFile)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|f| (hashed_name(f.name, f.body), f))
        .collect()
});

/// The URL of a static file under its content-hashed name.
pub fn static_url(name: &str) -> String {
    TABLE
        .iter()
        .find(|(_, f)| f.name == name)
        .map(|(hashed, _)| format!("/static/{hashed}"))
        .unwrap_or_else(|| {
            debug_assert!(false, "unknown static file {name}");
            format!("/static/{name}")
        })
}

/// A file by the path below `/static/`: its hashed name (immutable) or its plain name
/// (for old links: cached briefly). The bool tells which.
pub fn lookup(path: &str) -> Option<(&'static StaticFile, bool)> {
    TABLE.iter().find_map(|(hashed, f)| {
        if hashed == path {
            Some((*f, true))
        } else if f.name == path {
            Some((*f, false))
        } else {
            None
        }
    })
}

/// Where the offline page lives; precached by the service worker.
pub const OFFLINE_PATH: &str = "/hors-ligne";

/// The service worker (served at `/sw.js`, scope `/`). It precaches the shell's static
/// files and the offline page, answers those from its cache, and lets every other
/// request go to the network: **a member's pages are never cached**; a page that
/// cannot be reached offline shows the French offline page instead.
pub fn service_worker() -> String {
    let shell: Vec<String> = FILES
        .iter()
        .map(|f| static_url(f.name))
        .chain([OFFLINE_PATH.to_string()])
        .collect();
    let version = hashed_name("shell", shell.join(" ").as_bytes());
    let list = serde_json::to_string(&shell).unwrap_or_else(|_| "[]".into());
    format!(
        r#""use strict";
// Maillage service worker: caches only the shell's static files and the offline page.
const CACHE = {cache};
const SHELL = {list};
const OFFLINE = {offline};
self.addEventListener("install", (event) => {{
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
}});
self.addEventListener("activate", (event) => {{
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
}});
self.addEventListener("fetch", (event) => {{
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname !== OFFLINE && SHELL.includes(url.pathname)) {{
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }}
  if (request.mode === "navigate") {{
    // Network only: a member's pages never enter the cache.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE)));
  }}
}});
"#,
        cache = serde_json::Value::from(format!("maillage-{version}")),
        offline = serde_json::Value::from(OFFLINE_PATH),
    )
}

/// The web app manifest (`/manifest.webmanifest`): installable on phones and desktops.
pub fn web_manifest() -> String {
    serde_json::json!({
        "name": "Maillage",
        "short_name": "Maillage",
        "description": "Coordination des CPTS et des MSP : réunions, sondages, annuaire, projets, documents.",
        "lang": "fr",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f8fb",
        "theme_color": "#0b5fa5",
        "icons": [
            {"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": static_url(FAVICON), "sizes": "any", "type": "image/svg+xml"}
        ]
    })
    .to_string()
}

/// What every page's `<head>` links: stylesheet, favicon, manifest, scripts.
pub fn head_links() -> Markup {
    html! {
        link rel="stylesheet" href=(static_url(STYLESHEET));
        link rel="icon" href=(static_url(FAVICON)) type="image/svg+xml";
        link rel="apple-touch-icon" href=(static_url("icons/icon-192.png"));
        link rel="manifest" href="/manifest.webmanifest";
        meta name="theme-color" content="#0b5fa5";
        meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
        script src=(static_url(HTMX)) defer {}
        script src=(static_url(SCRIPT)) defer {}
    }
}

/// The page the service worker shows when the network is gone.
pub fn offline_page() -> Markup {
    html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Hors ligne · Maillage" }
                link rel="stylesheet" href=(static_url(STYLESHEET));
                link rel="icon" href=(static_url(FAVICON)) type="image/svg+xml";
            }
            body {
                header.top { a.brand href="/" { "Maillage" } }
                main #contenu {
                    h1 { "Vous êtes hors ligne" }
                    p { "Maillage n’est pas joignable pour le moment. Vérifiez votre connexion, puis réessayez." }
                    p { "Pour protéger les données de santé, aucune page personnelle n’est conservée sur cet appareil." }
                    p { a.button href="/" { "Réessayer" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_urls_change_with_the_content() {
        let a = hashed_name("maillage.css", b"body{}");
        let b = hashed_name("maillage.css", b"body{color:red}");
        assert!(
            a.starts_with("maillage.") && a.ends_with(".css") && a.len() == 29,
            "{a}"
        );
        assert_ne!(a, b);
        let url = static_url(STYLESHEET);
        let (file, immutable) = lookup(url.trim_start_matches("/static/")).unwrap();
        assert!(immutable);
        assert_eq!(file.name, STYLESHEET);
        assert!(!lookup(STYLESHEET).unwrap().1);
        assert!(lookup("../Cargo.toml").is_none());
    }
}
