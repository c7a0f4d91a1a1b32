//! Accounts end to end: invitation mail over a real SMTP conversation, choosing a
//! password, login by e-mail or username, sessions, throttling, password reset and
//! change, the mail outbox's retries.

use std::time::Duration;

use http::StatusCode;
use maillage::mail::sink::SmtpSink;
use maillage::tenancy::Role;

use crate::support::{Client, Host, PASSWORD};

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

/// The path of the first link to `base` in a mail body.
pub fn link_in_host(body: &str, base: &str) -> String {
    let start = body
        .find(&format!("{base}/"))
        .unwrap_or_else(|| panic!("no link to {base} in {body}"));
    let link: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches(base).to_string()
}

fn link_in(body: &str) -> String {
    link_in_host(body, "http://maillage.test")
}

fn session_cookie(set_cookies: &[String]) -> Option<&String> {
    set_cookies
        .iter()
        .find(|c| c.starts_with("maillage_session=") || c.starts_with("__Host-maillage_session="))
}

#[tokio::test]
async fn an_invitation_mail_leads_to_a_password_and_a_login() {
    let (host, sink) = host_with_sink().await;
    host.structure("cpts-a", &["polls"]).await;
    let mut admin = host.member("cpts-a", Role::Admin).await;
    let (status, location, body) = admin
        .post_form(
            "/cpts-a/admin/invitations",
            &[
                ("nom", "Nadia Infirmière"),
                ("courriel", "nadia@exemple.fr"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.as_deref(), Some("/cpts-a/admin/?ok=invitation"));
    // Inviting the same person twice is refused in French.
    let (status, _, body) = admin
        .post_form(
            "/cpts-a/admin/invitations",
            &[
                ("nom", "Nadia"),
                ("courriel", "NADIA@exemple.fr"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("fait déjà partie de la structure"));

    assert_eq!(host.state.mailer.deliver_due().await.unwrap(), 1);
    let mails = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["nadia@exemple.fr"]);
    assert!(
        mails[0]
            .body()
            .contains("vous invite à rejoindre Structure cpts-a")
    );
    let link = link_in(mails[0].body());
    assert!(link.starts_with("/mot-de-passe/"), "{link}");

    // Not yet able to log in: no password.
    let mut nadia = Client::new(&host);
    let (status, _, _) = nadia.try_login("nadia@exemple.fr", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, page) = nadia.get(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Bienvenue, Nadia Infirmière"));
    let (status, _, page) = nadia
        .post_form(&link, &[("nouveau", "court"), ("confirmation", "court")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("au moins 10 caractères"));
    let (status, _, page) = nadia
        .post_form(
            &link,
            &[
                ("nouveau", "une phrase secrète"),
                ("confirmation", "une autre phrase"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("ne correspondent pas"));
    let (status, location, _) = nadia
        .post_form(
            &link,
            &[
                ("nouveau", "une phrase secrète"),
                ("confirmation", "une phrase secrète"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/connexion?message=mot-de-passe"));
    // Single use.
    let (status, page) = nadia.get(&link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Lien invalide ou expiré"));

    nadia.login("nadia@exemple.fr", "une phrase secrète").await;
    // She picks a username and can log in with it from now on.
    let (status, _, page) = nadia
        .post_form("/compte/identifiant", &[("identifiant", "Nadia Inf")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("n’est pas valable"));
    let (status, location, _) = nadia
        .post_form("/compte/identifiant", &[("identifiant", "nadia.inf")])
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/compte?ok=identifiant"))
    );
    let mut again = Client::new(&host);
    again.login("nadia.inf", "une phrase secrète").await;
    let (status, _, page) = admin
        .post_form("/compte/identifiant", &[("identifiant", "nadia.inf")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("déjà pris"));
    let (status, location, _) = nadia.get_full("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "one structure: straight in");
    assert_eq!(location.as_deref(), Some("/cpts-a/"));
    let (status, home) = nadia.get("/cpts-a/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Bonjour Nadia Infirmière, vous êtes membre"));

    // The admin sees the invitation in the audit log and the sent mail in the outbox.
    let (_, journal) = admin.get("/cpts-a/admin/journal").await;
    assert!(journal.contains("member.invite") && journal.contains("nadia@exemple.fr"));
    let (_, outbox) = admin.get("/cpts-a/admin/courriels").await;
    assert!(outbox.contains("nadia@exemple.fr") && outbox.contains("Envoyé"));
    assert!(
        !outbox.contains("/mot-de-passe/"),
        "links are not shown to admins"
    );
}

#[tokio::test]
async fn login_by_email_or_username_remember_me_rotation_and_logout() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    let db = &host.state.db;
    let account = db
        .create_account("Claire@Exemple.fr", Some("claire"), "Claire Kiné")
        .await
        .unwrap();
    db.set_password(account.id, PASSWORD).await.unwrap();
    db.set_membership(host.structure_id("cpts-a").await, account.id, Role::Member)
        .await
        .unwrap();

    // Username, and e-mail in another case, both work.
    let mut c = Client::new(&host);
    c.login("claire", PASSWORD).await;
    let first = c.cookies["maillage_session"].clone();
    c.login("claire@exemple.fr", PASSWORD).await;
    let second = c.cookies["maillage_session"].clone();
    assert_ne!(first, second, "a new session id at every login");
    let mut stale = Client::new(&host);
    stale.cookies.insert("maillage_session".into(), first);
    let (status, location, _) = stale.get_full("/cpts-a/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the old session ended");
    assert!(location.unwrap().starts_with("/connexion?suite="));

    // Browser session without Max-Age; "Se souvenir de moi" lasts 30 days.
    let (_, headers, _) = host
        .send(
            http::Request::post("/connexion")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", format!("maillage_csrf={}", "a".repeat(48)))
                .body(axum::body::Body::from(format!(
                    "csrf={}&identifiant=claire&mot_de_passe={PASSWORD}&souvenir=1",
                    "a".repeat(48)
                )))
                .unwrap(),
        )
        .await;
    let cookies: Vec<String> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let remembered = session_cookie(&cookies).expect("session cookie");
    assert!(
        remembered.contains("Max-Age=2592000") && remembered.contains("HttpOnly"),
        "{remembered}"
    );
    assert!(remembered.contains("SameSite=Lax") && !remembered.contains("Secure"));

    // Logout ends the session on the server, not only in the browser.
    let session = c.cookies["maillage_session"].clone();
    let (status, location, _) = c.post_form("/deconnexion", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/connexion?message=deconnecte"));
    assert!(!c.cookies.contains_key("maillage_session"));
    let mut replay = Client::new(&host);
    replay.cookies.insert("maillage_session".into(), session);
    assert_eq!(replay.get("/cpts-a/").await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn cookies_are_secure_behind_tls() {
    let host = Host::with_config(|c| c.cookie_secure = true).await;
    let (_, headers, _) = host
        .send(
            http::Request::get("/connexion")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let csrf = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        csrf.starts_with("__Host-maillage_csrf=") && csrf.contains("; Secure"),
        "{csrf}"
    );
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_per_address() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "victime@exemple.fr", "Victime", Role::Member)
        .await;
    host.account("cpts-a", "autre@exemple.fr", "Autre", Role::Member)
        .await;
    let mut attacker = Client::new(&host);
    for _ in 0..5 {
        let (status, _, page) = attacker.try_login("victime@exemple.fr", "mauvais").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("Identifiant ou mot de passe incorrect."));
        assert!(
            page.contains("value=\"victime@exemple.fr\""),
            "the login is kept in the form"
        );
    }
    // Even the right password is refused now, with a French explanation.
    let (status, _, page) = attacker.try_login("victime@exemple.fr", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Trop de tentatives"));
    // Another account is not locked by it.
    Client::new(&host).login("autre@exemple.fr", PASSWORD).await;

    // Per address: many logins guessed from one address lock that address out.
    for i in 0..20 {
        attacker
            .try_login(&format!("inconnu{i}@exemple.fr"), "x")
            .await;
    }
    let (status, _, _) = Client::new(&host)
        .try_login("autre@exemple.fr", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_forgotten_password_link_is_single_use_and_expires() {
    let (host, sink) = host_with_sink().await;
    host.structure("cpts-a", &[]).await;
    host.account("cpts-a", "oubli@exemple.fr", "Odile Oubli", Role::Member)
        .await;
    let mut c = Client::new(&host);
    c.get("/mot-de-passe-oublie").await;
    let (status, _, unknown) = c
        .post_form(
            "/mot-de-passe-oublie",
            &[("identifiant", "personne@exemple.fr")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, known) = c
        .post_form(
            "/mot-de-passe-oublie",
            &[("identifiant", "oubli@exemple.fr")],
        )
        .await;
    assert!(known.contains("Si un compte correspond"));
    assert_eq!(
        unknown, known,
        "the same page either way: no account enumeration"
    );
    assert_eq!(
        host.state.mailer.deliver_due().await.unwrap(),
        1,
        "one mail, for the real account"
    );
    let mail = &sink.wait_for(1, Duration::from_secs(5)).await[0];
    let link = link_in(mail.body());

    let (status, _, _) = c
        .post_form(
            &link,
            &[
                ("nouveau", "nouvelle phrase longue"),
                ("confirmation", "nouvelle phrase longue"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        c.try_login("oubli@exemple.fr", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    c.login("oubli@exemple.fr", "nouvelle phrase longue").await;
    assert_eq!(c.get(&link).await.0, StatusCode::NOT_FOUND, "single use");

    // An expired link is refused and changes nothing.
    let mut d = Client::new(&host);
    d.get("/connexion").await;
    d.post_form(
        "/mot-de-passe-oublie",
        &[("identifiant", "oubli@exemple.fr")],
    )
    .await;
    host.state.mailer.deliver_due().await.unwrap();
    let mail = &sink.wait_for(2, Duration::from_secs(5)).await[1];
    let expired = link_in(mail.body());
    sqlx::query("UPDATE account_tokens SET expires_at = 0 WHERE used_at IS NULL")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    let (status, _, page) = d
        .post_form(
            &expired,
            &[
                ("nouveau", "encore une autre phrase"),
                ("confirmation", "encore une autre phrase"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Lien invalide ou expiré"));
    d.login("oubli@exemple.fr", "nouvelle phrase longue").await;

    // Each request sends a mail: an address asking too often is told to wait.
    let mut statuses = Vec::new();
    for _ in 0..maillage::identity::MAX_RESETS_PER_ADDRESS {
        let (status, _, page) = d
            .post_form(
                "/mot-de-passe-oublie",
                &[("identifiant", "oubli@exemple.fr")],
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(page.contains("Trop de demandes de réinitialisation"));
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account(
        "cpts-a",
        "deux@exemple.fr",
        "Deux Navigateurs",
        Role::Member,
    )
    .await;
    let mut laptop = Client::new(&host);
    laptop.login("deux@exemple.fr", PASSWORD).await;
    let mut phone = Client::new(&host);
    phone.login("deux@exemple.fr", PASSWORD).await;

    let (status, _, page) = laptop
        .post_form(
            "/compte/mot-de-passe",
            &[
                ("actuel", "faux"),
                ("nouveau", "phrase toute neuve"),
                ("confirmation", "phrase toute neuve"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Le mot de passe actuel est incorrect."));
    let (status, location, _) = laptop
        .post_form(
            "/compte/mot-de-passe",
            &[
                ("actuel", PASSWORD),
                ("nouveau", "phrase toute neuve"),
                ("confirmation", "phrase toute neuve"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/compte?ok=1"));
    let (status, page) = laptop.get("/compte?ok=1").await;
    assert_eq!(status, StatusCode::OK, "this browser stays signed in");
    assert!(page.contains("Votre mot de passe a été changé."));
    assert_eq!(
        phone.get("/cpts-a/").await.0,
        StatusCode::SEE_OTHER,
        "the other one is signed out"
    );
}

#[tokio::test]
async fn the_outbox_retries_with_backoff_until_the_smtp_server_answers() {
    // A port with nothing listening (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = Host::with_config(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let structure = host.structure("cpts-a", &[]).await;
    let mailer = &host.state.mailer;
    let id = mailer
        .enqueue(
            Some(structure.id),
            "dest@exemple.fr",
            "Compte rendu de réunion",
            "Bonjour,\nvoici le compte rendu.\n",
        )
        .await
        .unwrap();
    let before = maillage::storage::now_secs();
    assert_eq!(mailer.deliver_due().await.unwrap(), 0);
    let mail = host
        .state
        .db
        .outbox(Some(structure.id), 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (mail.id, mail.status.as_str(), mail.attempts),
        (id, "pending", 1)
    );
    assert!(mail.last_error.is_some());
    assert!(
        mail.next_attempt_at >= before + 30,
        "first retry after 30 s"
    );
    // Not due yet: no second attempt.
    assert_eq!(mailer.deliver_due().await.unwrap(), 0);
    assert_eq!(
        host.state.db.outbox(Some(structure.id), 10).await.unwrap()[0].attempts,
        1
    );
    assert_eq!(maillage::mail::backoff_secs(2), 60);
    assert_eq!(maillage::mail::backoff_secs(20), 3600);

    // The server comes up and the retry is due: delivered, over a real SMTP conversation.
    let sink = SmtpSink::start(format!("127.0.0.1:{port}").parse().unwrap(), None)
        .await
        .unwrap();
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = 0")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(mailer.deliver_due().await.unwrap(), 1);
    let received = sink.wait_for(1, Duration::from_secs(5)).await;
    assert!(received[0].body().contains("voici le compte rendu."));
    let mail = host
        .state
        .db
        .outbox(Some(structure.id), 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((mail.status.as_str(), mail.attempts), ("sent", 2));

    // After the last attempt a mail is marked failed; an admin can queue it again.
    sqlx::query("UPDATE mail_outbox SET status = 'failed'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    let mut admin = host.member("cpts-a", Role::Admin).await;
    let (status, _, _) = admin
        .post_form(&format!("/cpts-a/admin/courriels/{id}/relancer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        host.state.db.outbox(Some(structure.id), 10).await.unwrap()[0].status,
        "pending"
    );
}
