//! Hardening (issue 21): what probing the demo as an attacker found — open redirects,
//! anyone locking anyone out, throttling races, the unthrottled password check on
//! « Mon compte », refusals that told accounts apart, members added without their
//! consent, anonymous bodies buffered in full, CSRF tokens not bound to the session,
//! forms with too many fields — plus session hygiene (purge, « Se déconnecter de tous
//! les appareils ») and clients behind a trusted reverse proxy.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{HeaderMap, Request, StatusCode, header};
use maillage::config::TrustedProxies;
use maillage::identity::{
    MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS, TokenPurpose, purge_expired, secret_hash,
};
use maillage::mail::sink::SmtpSink;
use maillage::tenancy::Role;

use crate::identity::link_in_host;
use crate::support::{Client, Host, PASSWORD};

/// A browser at a given TCP peer, optionally sending forwarding headers. The router is
/// called in process, so the peer is given as `ConnectInfo`, as `maillage::serve` does.
struct Peer<'h> {
    host: &'h Host,
    addr: SocketAddr,
    headers: Vec<(String, String)>,
    cookies: BTreeMap<String, String>,
}

impl<'h> Peer<'h> {
    fn new(host: &'h Host, addr: &str) -> Self {
        Peer {
            host,
            addr: addr.parse().expect("a socket address"),
            headers: Vec::new(),
            cookies: BTreeMap::new(),
        }
    }

    /// Sends `name: value` with every request from now on (replacing an earlier value).
    fn header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    async fn send(
        &mut self,
        builder: http::request::Builder,
        body: Body,
    ) -> (StatusCode, HeaderMap, String) {
        let mut builder = builder;
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header(header::COOKIE, cookie);
        }
        let mut request = builder.body(body).unwrap();
        request.extensions_mut().insert(ConnectInfo(self.addr));
        let (status, headers, body) = self.host.send(request).await;
        for set in set_cookies(&headers) {
            let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            if set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        (status, headers, body)
    }

    async fn get(&mut self, uri: &str) -> (StatusCode, HeaderMap, String) {
        self.send(Request::get(uri), Body::empty()).await
    }

    fn csrf(&self) -> String {
        self.cookies
            .get("maillage_csrf")
            .or_else(|| self.cookies.get("__Host-maillage_csrf"))
            .cloned()
            .expect("visit a page first")
    }

    async fn post_form(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        if !self.cookies.keys().any(|k| k.ends_with("maillage_csrf")) {
            self.get("/connexion").await;
        }
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let body = crate::support::form_encode(&all);
        let request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let (status, headers, body) = self.send(request, Body::from(body)).await;
        (status, crate::support::location(&headers), body)
    }

    async fn try_login(
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
}

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

fn proxies(list: &str) -> Option<TrustedProxies> {
    Some(TrustedProxies::parse(list).expect("a valid proxy list"))
}

/// A host whose mail goes to a fresh local SMTP sink.
async fn host_with_sink() -> (Host, SmtpSink) {
    let sink = SmtpSink::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let smtp = format!("smtp://{}", sink.addr());
    let host = Host::with_config(|c| {
        c.smtp_url = Some(smtp);
        c.public_url = Some("http://maillage.test".into());
    })
    .await;
    (host, sink)
}

async fn count(host: &Host, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

// Item 10: found by probing the demo.

#[tokio::test]
async fn the_login_page_sends_back_to_local_paths_only() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "suite@exemple.fr", "Sam Suite", Role::Member)
        .await;
    let mut c = Client::new(&host);
    c.login("suite@exemple.fr", PASSWORD).await;
    for (suite, expected) in [
        // Browsers drop the TAB and read `//evil.example/`: another host.
        ("/%09/evil.example/", "/"),
        // Used to answer 500 (not a header value).
        ("/%0a", "/"),
        ("/%0d%0aSet-Cookie:%20x=1", "/"),
        ("//evil.example/", "/"),
        ("/%5C%5Cevil.example/", "/"),
        ("/%252F%252Fevil.example/", "/"),
        ("/%255C/evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("%2Fcpts-a%2F%3Fonglet%3D2", "/cpts-a/?onglet=2"),
    ] {
        let (status, location, body) = c.get_full(&format!("/connexion?suite={suite}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{suite}: {body}");
        assert_eq!(location.as_deref(), Some(expected), "{suite}");
    }
    // The login form's hidden field is checked the same way.
    let mut other = Client::new(&host);
    let (status, location, body) = other
        .post_form(
            "/connexion",
            &[
                ("identifiant", "suite@exemple.fr"),
                ("mot_de_passe", PASSWORD),
                ("suite", "/\t/evil.example/"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.as_deref(), Some("/"));
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_and_a_reset_lifts_the_wait() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    let owner = host
        .account(
            "cpts-a",
            "proprietaire@exemple.fr",
            "Paule Propriétaire",
            Role::Member,
        )
        .await;
    let mut attacker = Peer::new(&host, "198.51.100.66:40000");
    for _ in 0..MAX_FAILURES_PER_ACCOUNT {
        let (status, _, _) = attacker
            .try_login("proprietaire@exemple.fr", "mauvais")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // From the attacker's client even the right password has to wait now…
    let (status, _, page) = attacker
        .try_login("proprietaire@exemple.fr", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Trop de tentatives"));
    // …but the owner, on their own device, gets in at once.
    let mut own = Peer::new(&host, "203.0.113.10:50000");
    let (status, location, page) = own.try_login("proprietaire@exemple.fr", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location.as_deref(), Some("/"));

    // The owner mistypes on their own device until it waits too; choosing a new
    // password through the reset link lifts every wait on the account.
    let mut own_again = Peer::new(&host, "203.0.113.10:50001");
    for _ in 0..MAX_FAILURES_PER_ACCOUNT {
        let (status, _, _) = own_again
            .try_login("proprietaire@exemple.fr", "faute de frappe")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        own_again
            .try_login("proprietaire@exemple.fr", PASSWORD)
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let secret = host
        .state
        .db
        .issue_token(owner.id, TokenPurpose::Reset)
        .await
        .unwrap();
    let (status, _, page) = own_again
        .post_form(
            &format!("/mot-de-passe/{secret}"),
            &[
                ("nouveau", "une toute nouvelle phrase"),
                ("confirmation", "une toute nouvelle phrase"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(
        own_again
            .try_login("proprietaire@exemple.fr", "une toute nouvelle phrase")
            .await
            .0,
        StatusCode::SEE_OTHER,
        "the reset lifted the owner's wait"
    );
    assert_eq!(
        attacker
            .try_login("proprietaire@exemple.fr", "mauvais")
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the reset lifted every series of the account"
    );
}

#[tokio::test]
async fn simultaneous_wrong_logins_cannot_all_slip_through() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "cible@exemple.fr", "Cyril Cible", Role::Member)
        .await;
    // Eight browsers with their tokens, then eight wrong passwords at the same time.
    let mut clients: Vec<Client<'_>> = (0..8).map(|_| Client::new(&host)).collect();
    for c in &mut clients {
        c.get("/connexion").await;
    }
    let wrong = [
        ("identifiant", "cible@exemple.fr"),
        ("mot_de_passe", "mauvais"),
    ];
    let answers = futures_util::future::join_all(
        clients
            .iter_mut()
            .map(|c| c.post_form("/connexion", &wrong)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.0).collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + throttled, 8, "{statuses:?}");
    assert!(throttled >= 1, "{statuses:?}");
    assert!(
        checked <= MAX_FAILURES_PER_ACCOUNT as usize,
        "no more passwords checked than the free attempts: {statuses:?}"
    );

    // Likewise across accounts from one client (credential stuffing), on a fresh host.
    let host = Host::new().await;
    let logins: Vec<String> = (0..25).map(|i| format!("inconnu{i}@exemple.fr")).collect();
    let mut clients: Vec<Client<'_>> = logins.iter().map(|_| Client::new(&host)).collect();
    for c in &mut clients {
        c.get("/connexion").await;
    }
    let forms: Vec<[(&str, &str); 2]> = logins
        .iter()
        .map(|login| [("identifiant", login.as_str()), ("mot_de_passe", "x")])
        .collect();
    let answers = futures_util::future::join_all(
        clients
            .iter_mut()
            .zip(&forms)
            .map(|(c, fields)| c.post_form("/connexion", fields)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.0).collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        checked <= MAX_FAILURES_PER_ADDRESS as usize,
        "no more passwords checked than the client's free attempts: {statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
}

#[tokio::test]
async fn the_current_password_check_is_throttled_like_logins() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account(
        "cpts-a",
        "compte@exemple.fr",
        "Camille Compte",
        Role::Member,
    )
    .await;
    let mut c = Client::new(&host);
    c.login("compte@exemple.fr", PASSWORD).await;
    let change = |current: &'static str| {
        [
            ("actuel", current),
            ("nouveau", "phrase toute neuve"),
            ("confirmation", "phrase toute neuve"),
        ]
    };
    for _ in 0..MAX_FAILURES_PER_ACCOUNT {
        let (status, _, page) = c
            .post_form("/compte/mot-de-passe", &change("devinette"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("Le mot de passe actuel est incorrect."));
    }
    let (status, _, page) = c.post_form("/compte/mot-de-passe", &change(PASSWORD)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("Trop de tentatives"));
    // Nothing changed: the old password still opens the account (from another client).
    let (status, _, page) = Peer::new(&host, "203.0.113.20:1000")
        .try_login("compte@exemple.fr", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
}

#[tokio::test]
async fn every_login_refusal_looks_the_same() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "active@exemple.fr", "Alice Active", Role::Member)
        .await;
    // Invited, no password yet: used to answer in ~10 ms instead of an argon2 check.
    host.state
        .db
        .create_account("invitee@exemple.fr", None, "Inès Invitée")
        .await
        .unwrap();
    let mut c = Client::new(&host);
    let mut answers = Vec::new();
    for login in [
        "personne@exemple.fr",
        "active@exemple.fr",
        "invitee@exemple.fr",
    ] {
        let (status, _, page) = c.try_login(login, "une phrase quelconque").await;
        answers.push((status, page.replace(login, "IDENTIFIANT")));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(answers[0], answers[1], "unknown login and wrong password");
    assert_eq!(answers[1], answers[2], "wrong password and invited account");
    // The refusal path without a stored hash runs a real argon2 verification.
    assert!(!maillage::identity::verify_dummy(PASSWORD));
}

#[tokio::test]
async fn inviting_an_existing_account_waits_for_its_consent() {
    let (host, sink) = host_with_sink().await;
    let a = host.structure("cpts-a", &[]).await;
    host.structure("cpts-b", &[]).await;
    let berenice = host
        .account(
            "cpts-b",
            "berenice@exemple.fr",
            "Bérénice Secrète",
            Role::Member,
        )
        .await;
    let mut admin = host.member("cpts-a", Role::Admin).await;
    let (status, location, page) = admin
        .post_form(
            "/cpts-a/admin/invitations",
            &[
                ("nom", "Nom Inventé"),
                ("courriel", "berenice@exemple.fr"),
                ("role", "coordinator"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location.as_deref(), Some("/cpts-a/admin/?ok=invitation"));
    let (_, page) = admin.get("/cpts-a/admin/?ok=invitation").await;
    assert!(page.contains("L’invitation a été envoyée."));
    assert!(
        !page.contains("Bérénice") && !page.contains("Nom Inventé"),
        "the admin learns nothing about the account"
    );
    assert!(
        host.state
            .db
            .member(a.id, berenice.id)
            .await
            .unwrap()
            .is_none(),
        "not a member before accepting"
    );

    assert_eq!(host.state.mailer.deliver_due().await.unwrap(), 1);
    let mails = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails[0].to, ["berenice@exemple.fr"]);
    let link = link_in_host(mails[0].body(), "http://maillage.test");
    assert!(link.starts_with("/compte/invitations/"), "{link}");

    // Anonymous: the login page first.
    let mut bere = Client::new(&host);
    let (status, location, _) = bere.get_full(&link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().starts_with("/connexion?suite="));
    // Another account, even signed in, cannot use it.
    assert_eq!(admin.get(&link).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin.post_form(&link, &[]).await.0, StatusCode::NOT_FOUND);
    assert!(
        host.state
            .db
            .member(a.id, berenice.id)
            .await
            .unwrap()
            .is_none()
    );

    // Bérénice, signed in, sees what she is invited to and accepts.
    bere.login("berenice@exemple.fr", PASSWORD).await;
    let (status, page) = bere.get(&link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Structure cpts-a") && page.contains("Accepter l’invitation"));
    assert!(
        host.state
            .db
            .member(a.id, berenice.id)
            .await
            .unwrap()
            .is_none(),
        "opening the link is not accepting"
    );
    let (status, location, _) = bere.post_form(&link, &[]).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/cpts-a/"))
    );
    let member = host
        .state
        .db
        .member(a.id, berenice.id)
        .await
        .unwrap()
        .expect("a member once accepted");
    assert_eq!(member.role, Role::Coordinator);
    assert_eq!(
        bere.post_form(&link, &[]).await.0,
        StatusCode::NOT_FOUND,
        "single use"
    );
}

#[tokio::test]
async fn anonymous_posts_are_read_no_further_than_64_kib() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    let padding = "a".repeat(100 << 10);
    let big_login = [
        ("identifiant", "x@exemple.fr"),
        ("mot_de_passe", "y"),
        ("bourrage", padding.as_str()),
    ];
    let mut anonymous = Client::new(&host);
    let (status, _, page) = anonymous.post_form("/connexion", &big_login).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("trop volumineux"));
    // A made-up session cookie does not earn the members' limit.
    anonymous
        .cookies
        .insert("maillage_session".into(), "f".repeat(64));
    let (status, _, _) = anonymous.post_form("/connexion", &big_login).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Signed-in members keep the configured limit.
    let mut member = host.member("cpts-a", Role::Member).await;
    let (status, location, page) = member
        .post_form(
            "/compte/fuseau",
            &[("fuseau", ""), ("bourrage", padding.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location.as_deref(), Some("/compte?ok=fuseau"));
}

fn multipart(content: &[u8]) -> Vec<u8> {
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"note.txt\"\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    body
}

#[tokio::test]
async fn a_csrf_token_minted_anonymously_does_not_work_with_a_victims_session() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    let mut victim = host.member("cpts-a", Role::Member).await;
    let session = victim.cookies["maillage_session"].clone();
    let mut attacker = Client::new(&host);
    attacker.get("/connexion").await;
    let planted = attacker.csrf();
    let forged = Request::post("/compte/fuseau")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(
            header::COOKIE,
            format!("maillage_session={session}; maillage_csrf={planted}"),
        )
        .body(Body::from(format!(
            "csrf={planted}&fuseau=America%2FCayenne"
        )))
        .unwrap();
    let (status, _, page) = host.send(forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Formulaire expiré"));
    let time_zone = |host: &Host, session: String| {
        let db = host.state.db.clone();
        async move {
            db.session_account(&session)
                .await
                .unwrap()
                .expect("the victim's session is alive")
                .time_zone
        }
    };
    assert_eq!(time_zone(&host, session.clone()).await, None);

    // The token in the query: refused on an ordinary form…
    let token = victim.csrf();
    let in_query = Request::post(format!("/compte/fuseau?csrf={token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, victim.cookie_header().unwrap())
        .body(Body::from("fuseau=America%2FCayenne"))
        .unwrap();
    let (status, _, page) = host.send(in_query).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Formulaire expiré"));
    assert_eq!(time_zone(&host, session.clone()).await, None);
    // …still accepted on the upload route (a plain multipart form cannot set a header).
    let upload = Request::post(format!("/cpts-a/fichiers/listener?csrf={token}"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .header(header::COOKIE, victim.cookie_header().unwrap())
        .body(Body::from(multipart(b"bonjour")))
        .unwrap();
    let (status, _, page) = host.send(upload).await;
    assert!(!page.contains("Formulaire expiré"), "{status}: {page}");
    // And the victim's own token, in the form, works.
    let (status, _, page) = victim
        .post_form("/compte/fuseau", &[("fuseau", "America/Cayenne")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(
        time_zone(&host, session).await.as_deref(),
        Some("America/Cayenne")
    );
}

#[tokio::test]
async fn a_form_with_too_many_fields_is_refused_before_the_module() {
    let host = Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_output_mib = 8;
    })
    .await;
    host.structure("cpts-a", &["polls"]).await;
    let mut c = host.member("cpts-a", Role::Member).await;
    let mut fields = vec![("title", "Trop de créneaux")];
    fields.extend(std::iter::repeat_n(("slot", "2026-12-03T20:00"), 70_000));
    let (status, _, page) = c.post_form("/cpts-a/polls/new", &fields).await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        page.chars().take(500).collect::<String>()
    );
    assert!(page.contains("trop de champs"));
    let (_, list) = c.get("/cpts-a/polls/").await;
    assert!(!list.contains("Trop de créneaux"));
}

// Item 7: session hygiene.

#[tokio::test]
async fn expired_sessions_and_spent_tokens_are_purged() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    let db = &host.state.db;
    let account = host
        .account("cpts-a", "menage@exemple.fr", "Mina Ménage", Role::Member)
        .await;
    // A used link, an expired one, a live one.
    let used = db
        .issue_token(account.id, TokenPurpose::Reset)
        .await
        .unwrap();
    db.redeem_token(&used, "une phrase de passe neuve")
        .await
        .unwrap()
        .expect("redeemed");
    let expired = db
        .issue_token(account.id, TokenPurpose::Reset)
        .await
        .unwrap();
    let live = db
        .issue_token(account.id, TokenPurpose::Reset)
        .await
        .unwrap();
    sqlx::query("UPDATE account_tokens SET expires_at = 0 WHERE token_hash = $1")
        .bind(secret_hash(&expired))
        .execute(db.pool())
        .await
        .unwrap();
    // A session past its end, and a live one.
    let old = db.create_session(account.id, false).await.unwrap();
    let current = db.create_session(account.id, true).await.unwrap();
    sqlx::query("UPDATE sessions SET expires_at = 0 WHERE token_hash = $1")
        .bind(secret_hash(&old))
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(
        (
            count(&host, "sessions").await,
            count(&host, "account_tokens").await
        ),
        (2, 3)
    );

    assert_eq!(purge_expired(db).await.unwrap(), 3);
    assert_eq!(count(&host, "sessions").await, 1);
    assert_eq!(count(&host, "account_tokens").await, 1);
    assert!(db.session_account(&current).await.unwrap().is_some());
    assert!(db.token_account(&live).await.unwrap().is_some());
    assert_eq!(purge_expired(db).await.unwrap(), 0, "nothing left to purge");
}

#[tokio::test]
async fn signing_out_of_every_device_ends_every_session() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "partout@exemple.fr", "Pat Partout", Role::Member)
        .await;
    let mut laptop = Client::new(&host);
    laptop.login("partout@exemple.fr", PASSWORD).await;
    let mut phone = Client::new(&host);
    phone.login("partout@exemple.fr", PASSWORD).await;
    let laptop_session = laptop.cookies["maillage_session"].clone();
    let (_, page) = laptop.get("/compte").await;
    assert!(page.contains("Se déconnecter de tous les appareils"));

    let (status, location, _) = laptop.post_form("/compte/sessions/fermer", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("a redirect");
    assert!(location.starts_with("/connexion"), "{location}");
    assert!(!laptop.cookies.contains_key("maillage_session"));
    let (status, page) = laptop.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("de tous vos appareils"));
    assert_eq!(count(&host, "sessions").await, 0);
    // The other device is signed out too, and the old cookie opens nothing.
    assert_eq!(phone.get("/cpts-a/").await.0, StatusCode::SEE_OTHER);
    let mut replay = Client::new(&host);
    replay
        .cookies
        .insert("maillage_session".into(), laptop_session);
    let (status, location, _) = replay.get_full("/compte").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().starts_with("/connexion"));
}

// Item 1: behind a reverse proxy.

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_change_nothing() {
    let host = Host::with_config(|c| c.trusted_proxies = proxies("10.0.0.1")).await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "voisin@exemple.fr", "Victor Voisin", Role::Member)
        .await;
    let mut spoofer = Peer::new(&host, "198.51.100.7:41000");
    spoofer.header("x-forwarded-proto", "https");
    // Its scheme header does not make the cookies Secure…
    let (_, headers, _) = spoofer.get("/connexion").await;
    let cookies = set_cookies(&headers);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("maillage_csrf=") && !c.contains("Secure")),
        "{cookies:?}"
    );
    // …and a new X-Forwarded-For at every attempt does not escape the throttling.
    for i in 0..MAX_FAILURES_PER_ADDRESS {
        spoofer.header("x-forwarded-for", &format!("192.0.2.{i}"));
        let (status, _, _) = spoofer
            .try_login(&format!("inconnu{i}@exemple.fr"), "x")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    spoofer.header("x-forwarded-for", "192.0.2.200");
    spoofer.header("forwarded", "for=192.0.2.201");
    assert_eq!(
        spoofer.try_login("voisin@exemple.fr", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another peer is not held up.
    let (status, _, page) = Peer::new(&host, "198.51.100.8:41000")
        .try_login("voisin@exemple.fr", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_real_client_is_throttled_not_its_neighbours() {
    let host = Host::with_config(|c| c.trusted_proxies = proxies("10.0.0.0/8, fd00::/8")).await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "voisine@exemple.fr", "Vera Voisine", Role::Member)
        .await;
    // 20 failed logins from one client behind the proxy; what the client wrote on the
    // left of X-Forwarded-For changes every time, the proxy's right-most entry does not.
    let mut guesser = Peer::new(&host, "10.0.0.2:50000");
    for i in 0..MAX_FAILURES_PER_ADDRESS {
        guesser.header("x-forwarded-for", &format!("192.0.2.{i}, 203.0.113.5"));
        let (status, _, _) = guesser
            .try_login(&format!("inconnu{i}@exemple.fr"), "x")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    guesser.header("x-forwarded-for", "192.0.2.99, 203.0.113.5");
    assert_eq!(
        guesser.try_login("voisine@exemple.fr", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "that client is throttled"
    );
    // Through two trusted proxies in a row it is still that client.
    let mut chained = Peer::new(&host, "10.0.0.3:50000");
    chained.header("x-forwarded-for", "203.0.113.5, 10.0.0.9");
    assert_eq!(
        chained.try_login("voisine@exemple.fr", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Its neighbour behind the same proxy is not held up.
    let mut neighbour = Peer::new(&host, "10.0.0.2:50001");
    neighbour.header("x-forwarded-for", "203.0.113.9");
    let (status, _, page) = neighbour.try_login("voisine@exemple.fr", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    // Nor one behind an IPv6 proxy speaking RFC 7239 (and https: Secure cookies).
    let mut v6 = Peer::new(&host, "[fd00::1]:443");
    v6.header(
        "forwarded",
        "for=\"[2001:db8::7]:4711\";proto=https;by=\"[fd00::1]\"",
    );
    let (status, _, page) = v6.try_login("voisine@exemple.fr", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(
        v6.cookies.contains_key("__Host-maillage_session"),
        "{:?}",
        v6.cookies
    );
}

#[tokio::test]
async fn cookies_are_secure_when_a_trusted_proxy_says_https() {
    let host = Host::with_config(|c| c.trusted_proxies = proxies("127.0.0.1, ::1")).await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "tls@exemple.fr", "Théo Tls", Role::Member)
        .await;
    let mut browser = Peer::new(&host, "127.0.0.1:60000");
    browser.header("x-forwarded-for", "203.0.113.50");
    browser.header("x-forwarded-proto", "https");
    let (_, headers, _) = browser.get("/connexion").await;
    let cookies = set_cookies(&headers);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-maillage_csrf=") && c.contains("; Secure")),
        "{cookies:?}"
    );
    let (status, _, page) = browser
        .post_form(
            "/connexion",
            &[
                ("identifiant", "tls@exemple.fr"),
                ("mot_de_passe", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(browser.cookies.contains_key("__Host-maillage_session"));
    let (status, _, page) = browser.get("/compte").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Mon compte"));
    // Plain http through the same proxy: plain cookies.
    let mut plain = Peer::new(&host, "127.0.0.1:60001");
    plain.header("x-forwarded-proto", "http");
    let (_, headers, _) = plain.get("/connexion").await;
    let cookies = set_cookies(&headers);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("maillage_csrf=") && !c.contains("Secure")),
        "{cookies:?}"
    );
}
