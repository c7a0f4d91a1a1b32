//! The web edge as the browser sees it: modules never receive the member's credentials,
//! every response carries the strict CSP and security headers, static files are
//! content-hashed, cached and compressed, modules' assets are served under
//! `/assets/{module}/{version}/…`, and the PWA files are there.

use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use maillage::tenancy::Role;
use tower::ServiceExt;

use crate::support::Host;

/// A request sent by a signed-in member with every header a browser, a proxy or an
/// attacker may add: the module sees only the allowed ones, and still knows the member.
#[tokio::test]
async fn modules_never_receive_cookies_credentials_or_proxy_headers() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    let member = host.member("cpts-a", Role::Member).await;
    let cookies = member.cookie_header().expect("signed in");
    let request = Request::get("/cpts-a/listener/headers")
        .header(header::COOKIE, &cookies)
        .header(header::AUTHORIZATION, "Bearer secret-token")
        .header(header::PROXY_AUTHORIZATION, "Basic c2VjcmV0")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "for=203.0.113.9")
        .header("x-maillage-base", "/autre-structure/listener")
        .header("x-csrf-token", "a-token")
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_LANGUAGE, "fr-FR")
        .header(header::IF_NONE_MATCH, "\"v1\"")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = host.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let echo: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap())
        .collect();
    for forbidden in [
        "cookie",
        "authorization",
        "proxy-authorization",
        "x-forwarded-for",
        "x-forwarded-proto",
        "forwarded",
        "x-csrf-token",
    ] {
        assert!(
            !names.contains(&forbidden),
            "{forbidden} reached the module: {names:?}"
        );
    }
    assert!(
        !body.contains("secret") && !body.contains("maillage_session"),
        "no credential reached the module: {body}"
    );
    for kept in ["accept", "accept-language", "if-none-match"] {
        assert!(
            names.contains(&kept),
            "{kept} should reach the module: {names:?}"
        );
    }
    // The host's own base path, not the one the browser claimed.
    assert_eq!(echo["base"], "/cpts-a/listener");
    // Who the member is comes from the WIT context.
    assert!(
        echo["user"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Membre"),
        "{echo}"
    );
}

fn csp(headers: &http::HeaderMap) -> &str {
    headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Every kind of response: host pages, module pages, module JSON, errors, static files.
#[tokio::test]
async fn every_response_carries_the_strict_policy_and_security_headers() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls", "listener"]).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    for uri in [
        "/connexion",
        "/cpts-a/",
        "/cpts-a/polls/",
        "/cpts-a/listener/items",
        "/cpts-a/inconnu/",
        "/n-existe-pas",
        "/compte",
        "/manifest.webmanifest",
    ] {
        let (status, headers, _) = member.get_with_headers(uri).await;
        assert!(status.as_u16() < 500, "{uri}: {status}");
        let policy = csp(&headers);
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(
                policy.contains(directive),
                "{uri}: {directive} missing in {policy:?}"
            );
        }
        assert!(
            !policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"),
            "{uri}: {policy}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{uri}");
        assert!(headers.contains_key("permissions-policy"), "{uri}");
    }
}

/// Host pages and module pages carry no inline script, no event handler attribute and
/// no style attribute: the policy would block them, so none may be needed.
#[tokio::test]
async fn pages_hold_no_inline_script_handler_or_style() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls", "directory"]).await;
    let mut admin = host.member("cpts-a", Role::Admin).await;
    let mut anonymous = crate::support::Client::new(&host);
    let (_, login) = anonymous.get("/connexion").await;
    let (_, forgot) = anonymous.get("/mot-de-passe-oublie").await;
    let mut pages = vec![("/connexion", login), ("/mot-de-passe-oublie", forgot)];
    for uri in [
        "/cpts-a/",
        "/cpts-a/polls/",
        "/cpts-a/polls/new",
        "/cpts-a/annuaire/",
        "/cpts-a/annuaire/ma-fiche",
        "/cpts-a/annuaire/import",
        "/cpts-a/admin/",
        "/cpts-a/admin/modules",
        "/cpts-a/groupes/",
        "/compte",
        "/hors-ligne",
    ] {
        let (status, page) = admin.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        pages.push((uri, page));
    }
    for (uri, page) in pages {
        assert!(page.contains("</html>"), "{uri}: {page}");
        let lower = page.to_lowercase();
        let mut rest = lower.as_str();
        while let Some(at) = rest.find("<script") {
            let tag_end = rest[at..].find('>').unwrap() + at;
            assert!(
                rest[at..tag_end].contains(" src="),
                "{uri}: inline script {}",
                &rest[at..(tag_end + 40).min(rest.len())]
            );
            rest = &rest[tag_end..];
        }
        for attribute in [
            " onclick=",
            " onload=",
            " onsubmit=",
            " onchange=",
            " style=",
        ] {
            assert!(!lower.contains(attribute), "{uri}: {attribute} in the page");
        }
    }
}

async fn raw_get(host: &Host, uri: &str, gzip: bool) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri);
    if gzip {
        request = request.header(header::ACCEPT_ENCODING, "gzip");
    }
    let response = host
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

/// The layout links its files by content hash; those are cached for a year, compressed
/// for browsers that accept it; unknown names answer 404.
#[tokio::test]
async fn static_files_are_fingerprinted_cached_and_compressed() {
    let host = Host::new().await;
    let (_, login) = crate::support::Client::new(&host).get("/connexion").await;
    let css = login
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap_or_default())
        .find(|href| href.starts_with("/static/maillage.") && href.ends_with(".css"))
        .unwrap_or_else(|| panic!("no hashed stylesheet in {login}"))
        .to_string();
    assert_ne!(css, "/static/maillage.css");
    let (status, headers, plain) = raw_get(&host, &css, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let (_, headers, packed) = raw_get(&host, &css, true).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(packed.len() < plain.len());
    assert_eq!(
        gunzip_with_python(&packed),
        plain,
        "gzip decodes to the file"
    );
    // htmx is offered to every page, from this origin.
    assert!(login.contains("/static/vendor/htmx-2.0.11.min."), "{login}");
    assert_eq!(
        raw_get(&host, "/static/inconnu.css", false).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        raw_get(&host, "/static/../Cargo.toml", false).await.0,
        StatusCode::NOT_FOUND
    );
}

/// Decodes a gzip member with Python's zlib (the test command has python3): a real,
/// independent decoder rather than the one that encoded it.
fn gunzip_with_python(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, gzip; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "gzip stream refused by Python");
    out.stdout
}

/// A module's declared asset is served under its content-hashed name, with year-long
/// caching and its own type; a wrong hash, an undeclared file, an uninstalled module,
/// or an asset of a type that could render as a page answer 404.
#[tokio::test]
async fn module_assets_are_served_by_content_hash_and_type() {
    let host = Host::new().await;
    host.structure("cpts-a", &["directory", "listener"]).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let (_, page) = member.get("/cpts-a/annuaire/").await;
    let css = page
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap_or_default())
        .find(|href| href.starts_with("/assets/annuaire/"))
        .unwrap_or_else(|| panic!("the directory links no asset: {page}"))
        .to_string();
    assert!(css.ends_with(".css"), "{css}");
    let (status, headers, body) = raw_get(&host, &css, false).await;
    assert_eq!(status, StatusCode::OK, "{css}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(
        String::from_utf8_lossy(&body).contains(".chip"),
        "the directory's styles"
    );
    assert!(csp(&headers).contains("script-src 'self'"));
    // The same file under a stale hash is not served (it would be cached for a year).
    let stale = {
        let (stem, ext) = css.rsplit_once('.').unwrap();
        let (name, _) = stem.rsplit_once('.').unwrap();
        format!("{name}.0000000000000000.{ext}")
    };
    assert_eq!(raw_get(&host, &stale, false).await.0, StatusCode::NOT_FOUND);
    for uri in [
        "/assets/annuaire/0.3.1/inconnu.0000000000000000.js",
        "/assets/inconnu/1.0.0/x.0000000000000000.js",
        "/assets/annuaire/9.9.9/annuaire.0000000000000000.css",
        // The listener fixture declares an HTML "asset": the host refuses its type.
        &listener_asset(&host).await,
    ] {
        assert_eq!(
            raw_get(&host, uri, false).await.0,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

async fn listener_asset(host: &Host) -> String {
    let mut member = host.member("cpts-a", Role::Member).await;
    let (_, body) = member.get("/cpts-a/listener/asset-url").await;
    let url: serde_json::Value = serde_json::from_str(&body).unwrap();
    url["page"].as_str().unwrap().to_string()
}

/// The PWA shell: a manifest with icons, a service worker that precaches only static
/// files and the offline page, and that offline page.
#[tokio::test]
async fn the_app_manifest_service_worker_and_offline_page() {
    let host = Host::new().await;
    let (status, headers, body) = raw_get(&host, "/manifest.webmanifest", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/manifest+json");
    let manifest: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["lang"], "fr");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().unwrap();
    let big = icons
        .iter()
        .find(|i| i["sizes"] == "512x512")
        .expect("a 512 px icon");
    let (status, headers, png) = raw_get(&host, big["src"].as_str().unwrap(), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 512);

    let (status, headers, sw) = raw_get(&host, "/sw.js", false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let sw = String::from_utf8(sw).unwrap();
    let list_start = sw.find("const SHELL = ").unwrap() + "const SHELL = ".len();
    let list_end = sw[list_start..].find(";\n").unwrap() + list_start;
    let shell: Vec<String> = serde_json::from_str(&sw[list_start..list_end]).unwrap();
    assert!(shell.contains(&"/hors-ligne".to_string()));
    assert!(
        shell
            .iter()
            .all(|u| u.starts_with("/static/") || u == "/hors-ligne"),
        "only the shell is precached: {shell:?}"
    );
    assert!(
        sw.contains("request.mode === \"navigate\""),
        "pages: network only"
    );

    let (status, _, offline) = raw_get(&host, "/hors-ligne", false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&offline).contains("Vous êtes hors ligne"));
}

/// Browsers' violation reports are accepted without a CSRF token, counted, and a huge
/// or anonymous report changes nothing else.
#[tokio::test]
async fn violation_reports_are_counted() {
    let host = Host::new().await;
    let report = serde_json::json!({ "csp-report": {
        "document-uri": "http://localhost/cpts-a/",
        "violated-directive": "script-src-elem",
        "blocked-uri": "inline",
    }});
    let request = Request::post("/csp-rapport")
        .header(header::CONTENT_TYPE, "application/csp-report")
        .body(Body::from(report.to_string()))
        .unwrap();
    let (status, _, _) = host.send(request).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        host.state
            .csp_reports
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let request = Request::post("/csp-rapport")
        .header(header::CONTENT_TYPE, "application/csp-report")
        .body(Body::from(vec![b'x'; 64 << 10]))
        .unwrap();
    let (status, _, _) = host.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// What a hostile member or a doctored extract may type: markup, both quotes.
const HOSTILE: &str = "<script>alert(\"x'y\")</script><img src=x onerror=alert(1)>";

/// Every free-text field of polls and the directory (and the account's own name) takes
/// `HOSTILE` and shows it back as text: escaped, never as markup.
#[tokio::test]
async fn hostile_text_in_every_free_field_comes_back_inert() {
    use crate::directory::{MEDECIN, directory_structure, extract, import, line};
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000").await;
    let polls = host
        .state
        .registry
        .install(&crate::support::wasm("polls"))
        .await
        .unwrap();
    let granted: Vec<String> = polls
        .manifest()
        .capabilities
        .iter()
        .map(|c| c.to_string())
        .collect();
    host.state
        .db
        .enable_module(
            structure.id,
            "polls",
            &polls.manifest().version.to_string(),
            &granted,
        )
        .await
        .unwrap();
    let escaped =
        "&lt;script&gt;alert(&quot;x'y&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";
    let inert = |uri: &str, page: &str, expect_text: bool| {
        assert!(
            !page.contains("<script>alert") && !page.contains("<img src=x"),
            "{uri}: hostile markup came back as markup:\n{page}"
        );
        if expect_text {
            assert!(
                page.contains(escaped),
                "{uri}: the text is not shown escaped:\n{page}"
            );
        }
    };

    // A member whose own name is hostile, linked to a professional whose extract
    // fields are hostile too.
    let mut rpps_line = line(
        "10000000001",
        (HOSTILE, HOSTILE),
        MEDECIN,
        HOSTILE,
        "74000",
        "",
    );
    rpps_line = rpps_line.replacen("|ANNECY|", &format!("|{HOSTILE}|"), 1);
    import(&host, &structure, extract(&[rpps_line]).as_bytes())
        .await
        .unwrap();
    let mallory_account = host
        .account("cpts-a", "mallory@test.fr", HOSTILE, Role::Coordinator)
        .await;
    crate::directory::grant_manager(&host, "cpts-a", mallory_account.id).await;
    let mut mallory = crate::support::Client::new(&host);
    mallory
        .login("mallory@test.fr", crate::support::PASSWORD)
        .await;

    // Polls: title, description, the answering member's name.
    mallory.get("/cpts-a/polls/new").await;
    let (status, location, body) = mallory
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", HOSTILE),
                ("description", HOSTILE),
                ("slot", &crate::support::local_in(10, 20, 0, "Europe/Paris")),
                (
                    "slot",
                    &crate::support::local_in(11, 12, 30, "Europe/Paris"),
                ),
                (
                    "deadline",
                    &crate::support::local_in(5, 18, 0, "Europe/Paris"),
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let poll = location.unwrap();
    mallory
        .post_form(
            &format!("{poll}/answer"),
            &[("c-s1", "oui"), ("c-s2", "non"), ("comment", HOSTILE)],
        )
        .await;
    for uri in [poll.as_str(), "/cpts-a/polls/", "/cpts-a/"] {
        let (_, page) = mallory.get(uri).await;
        inert(uri, &page, true);
    }

    // Directory: the extract's names, specialty and commune; the search box; the link;
    // the private note; every fiche field.
    let (_, page) = mallory.get("/cpts-a/annuaire/").await;
    inert("search", &page, true);
    let id = page
        .split("/annuaire/p/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the professional is listed")
        .to_string();
    let hostile_query: String =
        crate::support::form_encode(&[("nom", HOSTILE), ("specialite", HOSTILE)]);
    let (_, page) = mallory
        .get(&format!("/cpts-a/annuaire/?{hostile_query}"))
        .await;
    inert("search with hostile criteria", &page, true);
    let (status, _, _) = mallory
        .post_form(
            &format!("/cpts-a/annuaire/p/{id}/note"),
            &[("note", HOSTILE)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    mallory
        .post_form("/cpts-a/annuaire/ma-fiche/lien", &[("rpps", "10000000001")])
        .await;
    // Another gestionnaire approves the link (its page shows the hostile names too).
    let mut gestion = crate::directory::manager(&host, "cpts-a", "gestion@test.fr").await;
    let (_, requests) = gestion.get("/cpts-a/annuaire/demandes").await;
    inert("link requests", &requests, true);
    let request = requests
        .split("/annuaire/demandes/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("Mallory's request is listed")
        .to_string();
    let (status, _, _) = gestion
        .post_form(
            &format!("/cpts-a/annuaire/demandes/{request}/approuver"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let email = format!("a@b.fr{HOSTILE}");
    let mut fiche: Vec<(&str, &str)> = [
        "phone",
        "appointment",
        "website",
        "activity",
        "specialties",
        "care",
        "equipment",
    ]
    .into_iter()
    .map(|f| (f, HOSTILE))
    .collect();
    fiche.push(("email", email.as_str()));
    let (status, _, body) = mallory
        .post_form("/cpts-a/annuaire/ma-fiche/pro", &fiche)
        .await;
    assert!(status.is_redirection(), "{status}: {body}");
    for uri in [
        format!("/cpts-a/annuaire/p/{id}"),
        "/cpts-a/annuaire/ma-fiche".to_string(),
        "/cpts-a/annuaire/communication".to_string(),
        "/compte".to_string(),
    ] {
        let (status, page) = mallory.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        inert(&uri, &page, true);
    }
}

/// The navigation marks one entry as the current page: the module's entry the page is
/// under (« Mes réunions » on its page, « Réunions » on a meeting's).
#[tokio::test]
async fn the_navigation_marks_only_the_entry_of_the_page() {
    let host = Host::with_config(|c| c.plugin_deadline_ms = 5000).await;
    host.structure("cpts-a", &["agenda"]).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    for (uri, label) in [
        ("/cpts-a/agenda/", "Réunions"),
        ("/cpts-a/agenda/mes-reunions", "Mes réunions"),
        ("/cpts-a/agenda/mois", "Réunions"),
    ] {
        let (status, page) = member.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let nav = &page[..page.find("</nav>").expect("a navigation")];
        assert_eq!(
            nav.matches("aria-current=\"page\"").count(),
            1,
            "{uri}: {nav}"
        );
        assert!(
            nav.contains(&format!("aria-current=\"page\">{label}</a>")),
            "{uri}: {nav}"
        );
    }
}
