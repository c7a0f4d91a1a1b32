//! Browser journeys in real headless Chromium (Debian `chromium` + `chromium-driver`)
//! against the real server on a TCP port, with mail through a real SMTP sink:
//! invite → set password → failed login → login → enable a module → use it → logout,
//! and the same pages at phone width.

use std::time::Duration;

use maillage::mail::sink::SmtpSink;
use maillage::tenancy::{Role, StructureKind};

use crate::identity::link_in_host;
use crate::support::{PASSWORD, fresh_dir, test_config, wasm};
use crate::webdriver::{Browser, Chromedriver};

/// Logs in through the form, from wherever the browser is.
fn log_in(b: &Browser, base: &str, login: &str, password: &str) {
    b.goto(&format!("{base}/connexion"));
    let field = b.find("#identifiant");
    field.clear();
    field.send_keys(login);
    b.find("#mot_de_passe").send_keys(password);
    b.find("main form button[type=submit]").click();
}

fn log_out(b: &Browser) {
    b.find("form[action='/deconnexion'] button").click();
    b.wait_for_text("Vous êtes déconnecté(e).");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_set_password_login_enable_a_module_use_it_and_log_out() {
    let sink = SmtpSink::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let dir = fresh_dir();
    let mut config = test_config(&dir);
    config.plugin_deadline_ms = 5000;
    config.smtp_url = Some(format!("smtp://{}", sink.addr()));
    config.public_url = Some(base.clone());
    let state = maillage::open(&config).await.unwrap();
    let db = &state.db;
    let structure = db
        .create_structure(
            "cpts-web",
            "CPTS du Web",
            StructureKind::Cpts,
            "Europe/Paris",
        )
        .await
        .unwrap();
    let admin = db
        .create_account("admin@web.test", None, "Adèle Admin")
        .await
        .unwrap();
    db.set_password(admin.id, PASSWORD).await.unwrap();
    db.set_membership(structure.id, admin.id, Role::Admin, false)
        .await
        .unwrap();
    // Installed on the platform, not yet enabled for the structure.
    state.registry.install(&wasm("polls")).await.unwrap();
    let server = tokio::spawn(maillage::serve(state.clone(), listener));

    // 1. The admin signs in and invites a colleague as admin, then signs out.
    let url = base.clone();
    let driver = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let b = driver.browser();
        b.goto(&format!("{url}/cpts-web/"));
        assert!(
            b.current_url().contains("/connexion?suite="),
            "anonymous visitors are sent to the login page"
        );
        b.find("#identifiant").send_keys("admin@web.test");
        b.find("#mot_de_passe").send_keys(PASSWORD);
        b.find("main form button[type=submit]").click();
        b.wait_for_text("Bonjour Adèle Admin");
        assert!(
            b.current_url().ends_with("/cpts-web/"),
            "back where the visit started"
        );
        b.find("header nav a[href='/cpts-web/admin/']").click();
        b.find("#nom").send_keys("Nadia Nouvelle");
        b.find("#courriel").send_keys("nadia@web.test");
        b.execute("document.getElementById('role').value = 'admin';", vec![]);
        b.find("form[action$='/admin/invitations'] button").click();
        b.wait_for_text("L’invitation a été envoyée.");
        b.wait_for_text("Invitation en attente");
        log_out(&b);
        drop(b);
        driver
    })
    .await
    .unwrap();

    // 2. The invitation arrives by SMTP (the server's own sender delivers it).
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 1, "the invitation mail was delivered");
    assert_eq!(mails[0].to, ["nadia@web.test"]);
    let link = format!("{base}{}", link_in_host(mails[0].body(), &base));
    // Nadia also belongs to a second structure: the header shows the structure switcher.
    let other = db
        .create_structure(
            "msp-voisine",
            "Maison de santé pluriprofessionnelle voisine",
            StructureKind::Msp,
            "Europe/Paris",
        )
        .await
        .unwrap();
    let nadia = db
        .account_by_login("nadia@web.test")
        .await
        .unwrap()
        .unwrap();
    db.set_membership(other.id, nadia.id, Role::Member, false)
        .await
        .unwrap();

    // 3. Nadia sets her password, fails once, signs in, enables polls, uses it, signs out.
    let url = base.clone();
    let driver = tokio::task::spawn_blocking(move || {
        let b = driver.browser();
        b.goto(&link);
        b.wait_for_text("Bienvenue, Nadia Nouvelle");
        b.find("#nouveau").send_keys("ma phrase de passe");
        b.find("#confirmation").send_keys("ma phrase de passe");
        b.find("main form button[type=submit]").click();
        b.wait_for_text("Votre mot de passe est enregistré.");

        log_in(&b, &url, "nadia@web.test", "pas le bon");
        b.wait_for_text("Identifiant ou mot de passe incorrect.");
        assert_eq!(
            b.find("[role=alert]").text(),
            "Identifiant ou mot de passe incorrect."
        );
        log_in(&b, &url, "nadia@web.test", "ma phrase de passe");
        // Two structures: she picks one with the switcher.
        b.wait_for_text("Choisissez votre structure");
        b.execute(
            "document.getElementById('structure-switch').value = 'cpts-web';",
            vec![],
        );
        b.find("form.switcher button").click();
        b.wait_for_text("Bonjour Nadia Nouvelle, vous êtes administrateur");

        b.goto(&format!("{url}/cpts-web/admin/modules"));
        b.wait_for_text("Sondages de date");
        b.find("#module-polls button[value=activer]").click();
        b.wait_for_text("Le module a été mis à jour.");
        b.find("header nav a[href='/cpts-web/polls/']").click();
        b.wait_for_text("Aucun sondage pour le moment.");
        b.find("main a.button").click();
        b.find("#title").send_keys("Réunion de lancement");
        b.execute(
            "document.getElementById('slot0').value = '2026-12-03T20:00';\
             document.getElementById('slot1').value = '2026-12-04T12:30';",
            vec![],
        );
        b.find("main form button[type=submit]").click();
        b.wait_for_text("jeudi 3 décembre 2026");
        b.find("input[name=c0][value=oui]").click();
        b.find("input[name=c1][value=non]").click();
        b.find("main form[action$='/answer'] button").click();
        b.wait_for_text("Nadia Nouvelle");
        let best = b.find("td.best").text();
        assert!(best.contains("1 oui"), "{best}");

        // Phone width: the same pages fit without horizontal scrolling.
        b.set_window_size(390, 844);
        b.goto(&format!("{url}/cpts-web/"));
        b.wait_for_text("Tableau de bord");
        let fits = b.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        );
        assert_eq!(
            fits,
            serde_json::Value::Bool(true),
            "the dashboard fits a phone screen"
        );
        assert!(
            b.body_text().contains("Réunion de lancement"),
            "the dashboard widget lists the poll"
        );

        log_out(&b);
        b.goto(&format!("{url}/cpts-web/polls/"));
        assert!(
            b.current_url().contains("/connexion"),
            "signed out for real"
        );
        drop(b);
        driver
    })
    .await
    .unwrap();
    drop(driver);
    server.abort();

    let actions: Vec<String> = state
        .db
        .audit_entries(Some(structure.id), 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"member.invite".to_string())
            && actions.contains(&"module.enable".to_string()),
        "{actions:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
