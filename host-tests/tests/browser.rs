//! Browser journeys in real headless Chromium (Debian `chromium` + `chromium-driver`)
//! against the real server on a TCP port, with mail through a real SMTP sink:
//! invite → set password → failed login → login → enable a module → use it → logout,
//! and the same pages at phone width.

use std::time::Duration;

use maillage::mail::sink::SmtpSink;
use maillage::tenancy::{Role, StructureKind};

use crate::identity::link_in_host;
use crate::support::{PASSWORD, fresh_dir, local_in, test_config, wasm};
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
    db.set_membership(structure.id, admin.id, Role::Admin)
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
    db.set_membership(other.id, nadia.id, Role::Member)
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
            "document.getElementById('slot0').value = arguments[0];\
             document.getElementById('slot1').value = arguments[1];\
             document.getElementById('deadline').value = arguments[2];",
            vec![
                local_in(10, 20, 0, "Europe/Paris").into(),
                local_in(11, 12, 30, "Europe/Paris").into(),
                local_in(5, 18, 0, "Europe/Paris").into(),
            ],
        );
        b.find("main form button[type=submit]").click();
        b.wait_for_text("Réunion de lancement");
        b.find("input[name=c-s1][value=oui]").click();
        b.find("input[name=c-s2][value=non]").click();
        b.find("main form[action$='/answer'] button").click();
        // Back on the poll, her answer counted in the first slot.
        b.wait_for_text("1 oui, 0 si besoin");
        assert!(
            b.find("td.best").text().contains("Meilleur"),
            "the slot with a oui is the best"
        );

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
        // She answered: the widget no longer lists the poll as waiting for her.
        assert!(
            b.body_text().contains("Aucun sondage en attente."),
            "the dashboard widget shows nothing left to answer"
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

/// The page shown raised no console error (no CSP violation either) and, at phone
/// width, scrolls only vertically.
fn assert_clean_and_fitting(b: &Browser, what: &str, width: u32) {
    let errors = b.console_errors();
    assert!(errors.is_empty(), "{what} at {width} px: {errors:?}");
    let fits = b.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        vec![],
    );
    if fits != serde_json::Value::Bool(true) {
        // Name what sticks out, for whoever fixes the page.
        let wide = b.execute(
            "return Array.from(document.querySelectorAll('main *'))\
               .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
               .slice(-5).map(e => e.tagName.toLowerCase() + '.' + e.className).join(' ');",
            vec![],
        );
        panic!("{what} scrolls sideways at {width} px: {wide}");
    }
}

/// The demo under the strict policy in real Chromium: every page of every module renders
/// with no console error and no violation report, fits a phone's width, the import
/// progress polls through htmx, and the app is installable. A module page that holds an
/// inline script and an `onclick=` renders, but neither runs, and the browser reports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_under_the_content_security_policy() {
    use std::sync::atomic::Ordering;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let dir = fresh_dir();
    let mut config = test_config(&dir);
    config.plugin_deadline_ms = 10_000;
    config.plugin_output_mib = 8;
    let state = maillage::open(&config).await.unwrap();
    maillage::demo::seed(&state).await.unwrap();
    let demo = state
        .db
        .structure_by_slug("cpts-demo")
        .await
        .unwrap()
        .unwrap();
    let hostile = state
        .registry
        .install(&wasm("fixture_listener"))
        .await
        .unwrap();
    let granted: Vec<String> = hostile
        .manifest()
        .capabilities
        .iter()
        .map(|c| c.to_string())
        .collect();
    state
        .db
        .enable_module(
            demo.id,
            &hostile.manifest().id,
            &hostile.manifest().version.to_string(),
            &granted,
        )
        .await
        .unwrap();
    let server = tokio::spawn(maillage::serve(state.clone(), listener));

    let url = base.clone();
    let reports = state.clone();
    tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let b = driver.browser();
        log_in(
            &b,
            &url,
            "admin@demo.maillage.fr",
            maillage::demo::DEMO_PASSWORD,
        );
        b.wait_for_text("Choisissez votre structure");
        let pages = [
            ("/cpts-demo/", "Tableau de bord"),
            ("/cpts-demo/polls/", "Sondages"),
            ("/cpts-demo/polls/new", "Nouveau sondage"),
            ("/cpts-demo/annuaire/", "Résultats"),
            ("/cpts-demo/annuaire/ma-fiche", "Ma fiche"),
            ("/cpts-demo/annuaire/import", "Importer l’extrait RPPS"),
            ("/cpts-demo/annuaire/communication", "Communication"),
            ("/cpts-demo/agenda/", "soins non programmés"),
            (
                "/cpts-demo/agenda/mes-reunions",
                "Réunion plénière de la CPTS",
            ),
            ("/cpts-demo/projets/", "Soins non programmés"),
            ("/cpts-demo/projets/projet-de-sante", "Mission 6"),
            ("/cpts-demo/projets/mes-taches", "Mes tâches"),
            ("/cpts-demo/projets/missions", "Missions du projet de santé"),
            ("/cpts-demo/projets/temps", "Temps passé par projet"),
            (
                "/cpts-demo/projets/annonces",
                "Assemblée générale de la CPTS",
            ),
            ("/cpts-demo/projets/annonces/nouvelle", "Nouvelle annonce"),
            ("/cpts-demo/projets/preferences", "Mes notifications"),
            ("/cpts-demo/projets/reglages", "Réglages des projets"),
            ("/cpts-demo/projets/nouveau", "Nouveau projet"),
            ("/cpts-demo/documents/", "Soins non programmés"),
            ("/cpts-demo/documents/reglages", "Limites des documents"),
            (
                "/cpts-demo/documents/bibliotheque",
                "Fiche réflexe soins non programmés",
            ),
            ("/msp-cayenne/documents/bibliotheque", "CPTS Démo (CPTS)"),
            ("/cpts-littoral/documents/bibliotheque", "CPTS Démo (CPTS)"),
            ("/cpts-demo/indemnites/mon-compte", "Mes indemnités"),
            ("/cpts-demo/groupes/", "Groupes"),
            ("/cpts-demo/admin/", "Membres"),
            ("/cpts-demo/admin/modules", "Modules"),
            ("/compte", "Mon compte"),
        ];
        for width in [1280, 390] {
            b.set_window_size(width, 900);
            for (path, text) in pages {
                b.goto(&format!("{url}{path}"));
                b.wait_for_text(text);
                assert_clean_and_fitting(&b, path, width);
            }
        }
        // A project's page (tasks, time, thread) and one of its tasks (the time form),
        // reached by their links.
        for width in [1280, 390] {
            b.set_window_size(width, 900);
            b.goto(&format!("{url}/cpts-demo/projets/"));
            b.find("li.projet[data-etat='en-cours'] h3 a").click();
            b.wait_for_text("Temps passé sur le projet");
            assert_clean_and_fitting(&b, "a project page", width);
            b.find("table.taches tr[data-tache] td a").click();
            b.wait_for_text("Temps passé :");
            assert_clean_and_fitting(&b, "a task page", width);
        }
        // A project's documents and one document (preview, versions, comments), reached
        // by their links.
        for width in [1280, 390] {
            b.set_window_size(width, 900);
            b.goto(&format!("{url}/cpts-demo/documents/"));
            b.find("li.projet[data-documents]:not([data-documents='0']) a")
                .click();
            b.wait_for_text("Fiche réflexe SNP");
            assert_clean_and_fitting(&b, "a project's documents", width);
            b.find("table.documents tr.document[data-versions='2'] a")
                .click();
            b.wait_for_text("Historique des versions");
            b.wait_for_text("Publié dans la bibliothèque nationale (version 1, le ");
            assert_clean_and_fitting(&b, "a document page", width);
        }
        // The national library from the other structure: an entry (the text at its
        // version 2, rendered) and the PDF, reached by their links.
        for width in [1280, 390] {
            b.set_window_size(width, 900);
            b.goto(&format!("{url}/msp-cayenne/documents/bibliotheque"));
            b.find("li.entree[data-version='2'] h2 a").click();
            b.wait_for_text("Publié par CPTS Démo (CPTS)");
            b.find("div.markdown table");
            b.wait_for_text("Permanence du samedi précisée");
            assert_clean_and_fitting(&b, "a text of the national library", width);
            b.goto(&format!(
                "{url}/msp-cayenne/documents/bibliotheque?q=afficher"
            ));
            b.find("li.entree[data-version='1'] h2 a").click();
            b.find("a.button.telecharger");
            assert_clean_and_fitting(&b, "a file of the national library", width);
        }
        // A poll of one's own: created in the form, then its page at both widths.
        b.set_window_size(1280, 900);
        b.goto(&format!("{url}/cpts-demo/polls/new"));
        b.find("#title").send_keys("Réunion sous politique stricte");
        b.execute(
            "document.getElementById('slot0').value = arguments[0];\
             document.getElementById('slot1').value = arguments[1];\
             document.getElementById('deadline').value = arguments[2];",
            vec![
                local_in(10, 20, 0, "Europe/Paris").into(),
                local_in(11, 12, 30, "Europe/Paris").into(),
                local_in(5, 18, 0, "Europe/Paris").into(),
            ],
        );
        b.find("main form button[type=submit]").click();
        b.wait_for_text("Réunion sous politique stricte");
        b.find("table.results");
        for width in [1280, 390] {
            b.set_window_size(width, 900);
            b.goto(&b.current_url());
            b.wait_for_text("Réunion sous politique stricte");
            assert_clean_and_fitting(&b, "the poll page", width);
        }
        // A fiche, reached as a member would.
        b.set_window_size(1280, 900);
        b.goto(&format!("{url}/cpts-demo/annuaire/"));
        b.find("main a[href*='/annuaire/p/']").click();
        b.wait_for_text("Statut");
        assert!(b.console_errors().is_empty());
        assert_eq!(
            reports.csp_reports.load(Ordering::Relaxed),
            0,
            "no page of the demo violates the policy"
        );

        // The hostile fixture: the page renders, its inline script and handler do not run.
        b.goto(&format!("{url}/cpts-demo/listener/hostile"));
        b.wait_for_text("Page hostile");
        let ran = b.execute(
            "return [document.title, !!document.getElementById('inline-ran')];",
            vec![],
        );
        assert!(
            !ran[0].as_str().unwrap_or_default().contains("pwned") && ran[1] == false,
            "the inline script ran: {ran}"
        );
        b.find("#hostile-button").click();
        let clicked = b.execute("return !!document.getElementById('onclick-ran');", vec![]);
        assert_eq!(
            clicked,
            serde_json::Value::Bool(false),
            "the onclick handler ran"
        );
        let errors = b.console_errors();
        assert!(
            errors.iter().any(|e| e.contains("Content Security Policy")),
            "Chromium reports the blocked script: {errors:?}"
        );
        let reported = (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            reports.csp_reports.load(Ordering::Relaxed) > 0
        });
        assert!(reported, "the violation reached /csp-rapport");

        // Installable: manifest, icons, service worker.
        b.goto(&format!("{url}/cpts-demo/"));
        b.wait_for_text("Tableau de bord");
        let registered = b.execute_async(
            "const done = arguments[arguments.length - 1];\
             navigator.serviceWorker.ready.then(() => done(true), () => done(false));",
        );
        assert_eq!(
            registered,
            serde_json::Value::Bool(true),
            "the service worker is active"
        );
        let installability = b.cdp("Page.getInstallabilityErrors", serde_json::json!({}));
        assert_eq!(
            installability["installabilityErrors"],
            serde_json::json!([]),
            "Chromium finds the app installable"
        );
        drop(b);
        drop(driver);
    })
    .await
    .unwrap();
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The indemnities in real Chromium: the coordinator records and closes a meeting's
/// attendance, the lines appear (the server's own dispatcher delivers the closing), the
/// member reads hers in « Mon compte », the treasurer approves both lines at once and
/// the export link answers a workbook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_attendance_becomes_indemnities_approved_and_exported_in_chromium() {
    use crate::indemnity;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let host = indemnity::indemnity_host().await;
    let w = indemnity::world(&host).await;
    let mut tom = indemnity::signed_in(&host, "tom@a.test").await;
    indemnity::forfait(&host, &mut tom, "2024-01-01", &indemnity::FORFAIT).await;
    let mut claire = indemnity::signed_in(&host, "claire@a.test").await;
    // Under way since half an hour: the attendance may be recorded and closed.
    let meeting = indemnity::meeting(
        &mut claire,
        "Groupe BPCO vu dans Chromium",
        &w.bpco,
        &indemnity::paris_minutes_ago(30),
        "",
    )
    .await;
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));
    let (anne, remi) = (indemnity::key(w.anne), indemnity::key(w.remi));

    let url = base.clone();
    let problems = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let b = driver.browser();
        let mut problems: Vec<String> = Vec::new();
        let mut check = |b: &Browser, what: &str| {
            let errors = b.console_errors();
            if !errors.is_empty() {
                problems.push(format!("{what}: {errors:?}"));
            }
        };

        // 1. The coordinator records who came and closes the attendance.
        log_in(&b, &url, "claire@a.test", PASSWORD);
        b.wait_for_text("Bonjour Claire Coordinatrice");
        b.goto(&format!("{url}/cpts-a/agenda/r/{meeting}/emargement"));
        b.wait_for_text("Feuille d’émargement");
        for key in [&anne, &remi] {
            b.find(&format!("input[name=present][value='{key}']"))
                .click();
        }
        b.find("form.register button[type=submit]").click();
        b.wait_for_text("L’émargement est enregistré.");
        // The shell asks to confirm the closing; the test answers yes.
        b.execute("window.confirm = function () { return true; };", vec![]);
        b.find("form[action$='/cloturer'] button").click();
        b.wait_for_text("L’émargement est clos");
        check(&b, "the closed sheet");
        log_out(&b);

        // 2. The member's lines appear in « Mon compte » once the closing is delivered.
        log_in(&b, &url, "anne@a.test", PASSWORD);
        b.wait_for_text("Bonjour Anne Active");
        let mine = format!("{url}/cpts-a/indemnites/mon-compte");
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            b.goto(&mine);
            b.wait_for_text("Mes indemnités");
            if b.body_text().contains("80,00") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no indemnity after 90 s:\n{}",
                b.body_text()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        let project = b.find("table.mon-compte tr.projet").text();
        assert!(
            project.contains("Parcours BPCO") && project.contains("80,00"),
            "{project}"
        );
        check(&b, "« Mon compte » of the module");
        b.goto(&format!("{url}/compte"));
        b.wait_for_text("Mes indemnités");
        b.wait_for_text("80,00 €");
        check(&b, "the host's « Mon compte »");
        log_out(&b);

        // 3. The treasurer approves both lines at once, then exports them.
        log_in(&b, &url, "tom@a.test", PASSWORD);
        b.wait_for_text("Bonjour Tom Trésorier");
        b.goto(&format!("{url}/cpts-a/indemnites/tresorerie"));
        b.wait_for_text("Trésorerie");
        let selected = b.execute(
            "var boxes = document.querySelectorAll('form#approbation input[name=ligne]');\
             boxes.forEach(function (box) { box.checked = true; });\
             return boxes.length;",
            vec![],
        );
        assert_eq!(selected, serde_json::json!(2), "two draft lines to approve");
        b.find("form#approbation button[type=submit]").click();
        b.wait_for_text("Les lignes sont approuvées.");
        let approved = b.execute(
            "return document.querySelectorAll('tr[data-ligne][data-statut=approuve]').length;",
            vec![],
        );
        assert_eq!(approved, serde_json::json!(2), "both lines approved");
        check(&b, "the treasurer's page");
        let export = b.execute_async(
            "const done = arguments[arguments.length - 1];\
             const link = document.querySelector('a.export-xlsx');\
             fetch(link.href, { credentials: 'same-origin' }).then(function (r) {\
               return r.arrayBuffer().then(function (bytes) {\
                 const b = new Uint8Array(bytes);\
                 done([r.status, r.headers.get('content-type'), b.length > 2 && b[0] === 0x50 && b[1] === 0x4b]);\
               });\
             }, function (e) { done(['échec', String(e), false]); });",
        );
        assert_eq!(export[0], serde_json::json!(200), "{export}");
        assert_eq!(
            export[1],
            serde_json::json!("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            "{export}"
        );
        assert_eq!(export[2], serde_json::json!(true), "a zip (xlsx) body: {export}");
        // 4. The treasurer's page on a phone: the filters (the missions' long names
        // included) wrap instead of widening the page.
        b.set_window_size(390, 844);
        b.goto(&format!("{url}/cpts-a/indemnites/tresorerie"));
        b.wait_for_text("Trésorerie");
        let fits = b.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        );
        if fits != serde_json::Value::Bool(true) {
            problems.push("the treasurer's page scrolls sideways at 390 px".into());
        }
        drop(b);
        drop(driver);
        problems
    })
    .await
    .unwrap();
    server.abort();
    assert!(problems.is_empty(), "{problems:?}");
    // What the browser did is what the ledger holds.
    let lines = indemnity::ledger(&mut tom, "").await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.status == "approuve"), "{lines:?}");
}

/// The projects module in real Chromium: a member adds a task on the project page, logs
/// « 1 h 30 » on it and writes in the thread, while a second member, on the project page
/// already, sees the message arrive without reloading (the htmx poller asks every 5 s);
/// the next message is counted on that member's dashboard (« Discussions non lues »).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_message_appears_live_in_a_second_browser() {
    use crate::support::{Client, Host};
    use maillage::groups::GroupRole;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let host = Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.plugin_output_mib = 8;
    })
    .await;
    let structure = host.structure("cpts-a", &["projects"]).await;
    let claire = host
        .account(
            "cpts-a",
            "claire@a.test",
            "Claire Coordinatrice",
            Role::Coordinator,
        )
        .await;
    let anne = host
        .account("cpts-a", "anne@a.test", "Anne Active", Role::Member)
        .await;
    let marc = host
        .account("cpts-a", "marc@a.test", "Marc Médecin", Role::Member)
        .await;
    // An open group where both are membres actifs, made a project by the coordinator.
    let db = &host.state.db;
    let group = db
        .create_group(structure.id, "Soins non programmés", "", true, claire.id)
        .await
        .unwrap();
    let bound = db
        .group(structure.id, group, claire.id)
        .await
        .unwrap()
        .expect("the group");
    for member in [&anne, &marc] {
        db.set_group_member(&bound, member.id, GroupRole::Active)
            .await
            .unwrap();
    }
    let group = group.to_string();
    let mut coordinator = Client::new(&host);
    coordinator.login("claire@a.test", PASSWORD).await;
    let (status, location, body) = coordinator
        .post_form(
            "/cpts-a/projets/nouveau",
            &[
                ("groupe", group.as_str()),
                ("numero", "1.2"),
                ("mission", "1"),
                ("description", "Organiser la réponse aux demandes de soins."),
                ("objectifs", ""),
                ("date_debut", "2026-01-05"),
                ("date_fin", ""),
                ("coordinateur", ""),
            ],
        )
        .await;
    assert_eq!(status, http::StatusCode::SEE_OTHER, "the project: {body}");
    assert!(
        location.as_deref().is_some_and(|l| l.contains("ok=cree")),
        "{location:?}"
    );
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));

    let url = base.clone();
    let project = format!("{base}/cpts-a/projets/p/{group}");
    let problems = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let mut problems: Vec<String> = Vec::new();
        let post = "section#discussion form[action$='/fil'] button[type=submit]";

        // 1. Marc is on the project page before anything is written.
        let marc = driver.browser();
        log_in(&marc, &url, "marc@a.test", PASSWORD);
        marc.wait_for_text("Bonjour Marc Médecin");
        marc.goto(&project);
        marc.wait_for_text("Aucun message pour le moment.");
        marc.find("div#fil-suivi[hx-trigger='every 5s']");
        // Gone if the page were loaded again.
        marc.execute("window.pageSansRechargement = true;", vec![]);

        // 2. Anne adds a task, logs 1 h 30 on it, comes back and writes.
        let anne = driver.browser();
        log_in(&anne, &url, "anne@a.test", PASSWORD);
        anne.wait_for_text("Bonjour Anne Active");
        anne.goto(&project);
        // The form is folded under « Ajouter une tâche ».
        anne.find("details.nouvelle-tache summary").click();
        anne.find("form.tache #tache-titre")
            .send_keys("Préparer la fiche réflexe");
        anne.find("form.tache button[type=submit]").click();
        anne.wait_for_text("La tâche est créée.");
        anne.find("table.taches tr[data-tache] td a").click();
        anne.find("form.temps #temps-duree").send_keys("1 h 30");
        anne.find("form.temps button[type=submit]").click();
        anne.wait_for_text("Le temps passé est enregistré.");
        anne.find("table.saisies span.duree[data-minutes='90']");
        anne.goto(&project);
        let message = "La fiche réflexe est prête à relire.";
        anne.find("#discussion-texte").send_keys(message);
        anne.find(post).click();
        anne.wait_for_text("La discussion est à jour.");
        anne.wait_for_text(message);

        // 3. Marc sees it arrive without reloading (two polling periods are 10 s),
        // marked new, and the empty-thread line goes.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !marc.body_text().contains(message) {
            assert!(
                std::time::Instant::now() < deadline,
                "the message did not reach Marc's page within 30 s:\n{}",
                marc.body_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_eq!(
            marc.execute("return window.pageSansRechargement === true;", vec![]),
            serde_json::Value::Bool(true),
            "Marc's page was loaded again"
        );
        marc.find("ol#fil-messages li.thread-message.non-lu");
        if marc.body_text().contains("Aucun message pour le moment.") {
            problems.push("the empty-thread line stayed on Marc's page".into());
        }
        let errors = marc.console_errors();
        if !errors.is_empty() {
            problems.push(format!("Marc's live page: {errors:?}"));
        }

        // 4. Read by the poller: on his dashboard, only the next message is counted.
        marc.goto(&format!("{url}/cpts-a/"));
        marc.wait_for_text("Discussions non lues");
        marc.wait_for_text("Aucun message non lu.");
        anne.find("#discussion-texte")
            .send_keys("Relecture prévue jeudi.");
        anne.find(post).click();
        anne.find("ol#fil-messages > li.thread-message + li.thread-message");
        anne.wait_for_text("Relecture prévue jeudi.");
        marc.goto(&format!("{url}/cpts-a/"));
        marc.wait_for_text("Discussions non lues");
        marc.find("div.widget-fils span.non-lus[data-count='1']");
        drop(anne);
        drop(marc);
        drop(driver);
        problems
    })
    .await
    .unwrap();
    server.abort();
    assert!(problems.is_empty(), "{problems:?}");
}

/// The documents module in real Chromium: a référent chooses two files with the file
/// picker (a PDF and a text; the page's script, `documents.js`, sends each to the host's
/// streamed route, then deposits them), sees both listed, opens the PDF's page (the
/// preview opens in a new tab), posts a comment, deposits a new version through the same
/// kind of form, then restores version 1 (the shell's confirmation answered yes): three
/// versions, the current one version 1's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_added_commented_versioned_and_restored_in_chromium() {
    use crate::cloud;
    const PDF_V1: &str =
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Structure A with the documents module: Rémi is the référent of the open project
    // « Soins non programmés ».
    let host = cloud::cloud_host().await;
    let w = cloud::world(&host).await;
    // The files the picker chooses, as on a member's disk.
    let files = fresh_dir();
    std::fs::create_dir_all(&files).unwrap();
    let pdf = files.join("compte-rendu-comite.pdf");
    let text = files.join("notes-reunion.txt");
    let pdf_v2 = files.join("compte-rendu-comite-relu.pdf");
    std::fs::write(&pdf, PDF_V1).unwrap();
    std::fs::write(&text, "Notes de la réunion du comité de pilotage.\n").unwrap();
    std::fs::write(&pdf_v2, format!("{PDF_V1}% relu par le groupe\n")).unwrap();
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));

    let url = base.clone();
    let group = w.open.clone();
    let (pdf_path, text_path, pdf_v2_path) = (
        pdf.display().to_string(),
        text.display().to_string(),
        pdf_v2.display().to_string(),
    );
    let problems = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let b = driver.browser();
        let mut problems: Vec<String> = Vec::new();
        let mut check = |b: &Browser, what: &str| {
            let errors = b.console_errors();
            if !errors.is_empty() {
                problems.push(format!("{what}: {errors:?}"));
            }
        };
        let count = |b: &Browser, css: &str| {
            b.execute(
                "return document.querySelectorAll(arguments[0]).length;",
                vec![css.into()],
            )
        };

        // 1. The référent opens the project's documents and chooses two files at once.
        log_in(&b, &url, "remi@a.test", PASSWORD);
        b.wait_for_text("Bonjour Rémi Référent");
        b.goto(&format!("{url}/cpts-a/documents/"));
        b.find(&format!("li.projet[data-groupe='{group}'] a"))
            .click();
        b.wait_for_text("Aucun document dans ce dossier.");
        // Several paths, one a line: how WebDriver fills an `input type=file multiple`.
        b.find("form.ajout-documents input[type=file][name=fichiers]")
            .send_keys(&format!("{pdf_path}\n{text_path}"));
        b.find("form.ajout-documents button[type=submit]").click();
        b.wait_for_text("Les documents sont ajoutés.");
        b.wait_for_text("compte-rendu-comite.pdf");
        b.wait_for_text("notes-reunion.txt");
        assert_eq!(
            count(&b, "table.documents tr.document[data-versions='1']"),
            serde_json::json!(2),
            "both files listed, each at version 1"
        );
        check(&b, "the project's documents");

        // 2. The PDF's page: its kind, the preview in a new tab, the comment form.
        let link = b.execute(
            "var name = arguments[0];\
             var link = Array.from(document.querySelectorAll('table.documents td.nom a'))\
               .find(function (a) { return a.textContent === name; });\
             return link ? link.href : null;",
            vec!["compte-rendu-comite.pdf".into()],
        );
        let link = link
            .as_str()
            .unwrap_or_else(|| panic!("no link to the PDF:\n{}", b.body_text()))
            .to_string();
        b.goto(&link);
        b.wait_for_text("Document PDF");
        b.find("header.document[data-version-actuelle='1']");
        b.find("a.button.apercu[target='_blank'][rel=noopener]");
        let comment = "Relu en comité : rien à redire.";
        b.find("#commentaires #discussion-texte").send_keys(comment);
        b.find("#commentaires form[action$='/fil'] button[type=submit]")
            .click();
        b.wait_for_text("Les commentaires sont à jour.");
        let posted = b.find("#commentaires li.thread-message").text();
        assert!(posted.contains(comment), "{posted}");
        check(&b, "the document page with its comment");

        // 3. A new version, chosen with the picker of the version form.
        b.find("form.nouvelle-version input[type=file][name=fichier]")
            .send_keys(&pdf_v2_path);
        b.find("form.nouvelle-version button[type=submit]").click();
        b.wait_for_text("La nouvelle version est déposée");
        b.find("header.document[data-version-actuelle='2']");
        b.wait_for_text("version 2 du");
        assert_eq!(
            count(&b, "table.versions tr.version"),
            serde_json::json!(2),
            "two versions"
        );
        b.find("tr.version[data-version='2'][data-actuelle='true']");

        // 4. Restoring version 1 (the shell asks to confirm; the test answers yes).
        b.execute("window.confirm = function () { return true; };", vec![]);
        b.find("tr.version[data-version='1'] form[action$='/restaurer'] button[type=submit]")
            .click();
        b.wait_for_text("La version est restaurée");
        b.find("header.document[data-version-actuelle='3']");
        b.find("tr.version[data-version='3'][data-actuelle='true'][data-restauree-de='1']");
        assert_eq!(
            count(&b, "table.versions tr.version"),
            serde_json::json!(3),
            "three versions, none lost"
        );
        b.wait_for_text("Restauration de la version 1");
        // The current version's download is version 1's bytes.
        let current = b.execute_async(
            "const done = arguments[arguments.length - 1];\
             const link = document.querySelector('a.button.telecharger');\
             fetch(link.href, { credentials: 'same-origin' }).then(function (r) {\
               return r.text().then(function (body) { done([r.status, body]); });\
             }, function (e) { done(['échec', String(e)]); });",
        );
        assert_eq!(current, serde_json::json!([200, PDF_V1]), "{current}");
        check(&b, "the document page after the restore");
        drop(b);
        drop(driver);
        problems
    })
    .await
    .unwrap();
    server.abort();
    let _ = std::fs::remove_dir_all(&files);
    assert!(problems.is_empty(), "{problems:?}");
}

/// Collaborative Markdown in real Chromium (docs/cloud-library-design.md, B.7 item 8):
/// Anne and Rémi open the editor of the same text in two browsers; Anne saves; Rémi,
/// from his page still at version 1, saves the same line and sees « Conflit de
/// modification » with both lines between markers in the textarea; he removes the
/// markers and saves; the text's page shows his corrected text. No console error, no
/// CSP report, and a hostile Markdown text runs no script and links to no
/// `javascript:` URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_change_the_same_line_and_the_second_resolves_the_conflict_in_chromium() {
    use std::sync::atomic::Ordering;

    use crate::cloud;
    use crate::documents_merge::create_text;
    const MOUNT: &str = "/cpts-a/documents";
    const ANNE_LINE: &str = "Le cabinet ouvre de 9 h à 12 h 30.";
    const REMI_LINE: &str = "Le cabinet ouvre de 8 h 30 à 12 h.";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Structure A with the documents module: Rémi is the référent of the open project
    // « Soins non programmés », Anne a membre active.
    let host = cloud::cloud_host().await;
    let w = cloud::world(&host).await;
    let mut referent = cloud::signed_in(&host, "remi@a.test").await;
    let text = create_text(
        &mut referent,
        MOUNT,
        &w.open,
        "Permanence du samedi",
        "# Horaires\n\nLe cabinet ouvre de 9 h à 12 h.\n\n\
         Un médecin et une infirmière sont présents.\n",
    )
    .await;
    let hostile = create_text(
        &mut referent,
        MOUNT,
        &w.open,
        "Texte piégé",
        "<script>window.piege = 1;</script>\n\nUn [lien](javascript:window.piege=2) piégé.\n",
    )
    .await;
    let state = host.state.clone();
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));

    let url = base.clone();
    let (doc, hostile) = (text.id, hostile.id);
    let problems = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let mut problems: Vec<String> = Vec::new();
        // The conflict view answers 409 on purpose: Chromium's line about that status is
        // no problem; anything else is.
        let mut check = |b: &Browser, what: &str| {
            let errors: Vec<String> = b
                .console_errors()
                .into_iter()
                .filter(|e| !e.contains("status of 409"))
                .collect();
            if !errors.is_empty() {
                problems.push(format!("{what}: {errors:?}"));
            }
        };
        let editor = format!("{url}{MOUNT}/d/{doc}/modifier");
        let area = "textarea[name=texte]:not([readonly])";
        let save = "form:has(textarea[name=texte]:not([readonly])) button[type=submit]";
        let set_text = |b: &Browser, value: &str| {
            b.execute(
                "var t = document.querySelector(arguments[0]);\
                 t.value = arguments[1];\
                 t.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![area.into(), value.into()],
            );
        };
        let text_of = |b: &Browser| {
            b.execute(
                "return document.querySelector(arguments[0]).value;",
                vec![area.into()],
            )
            .as_str()
            .unwrap_or_default()
            .to_string()
        };

        // 1. Both open the editor at version 1.
        let anne = driver.browser();
        log_in(&anne, &url, "anne@a.test", PASSWORD);
        anne.wait_for_text("Bonjour Anne Active");
        anne.goto(&editor);
        anne.find("input[name=base][value='1']");
        let remi = driver.browser();
        log_in(&remi, &url, "remi@a.test", PASSWORD);
        remi.wait_for_text("Bonjour Rémi Référent");
        remi.goto(&editor);
        remi.find("input[name=base][value='1']");
        check(&anne, "Anne's editor");
        check(&remi, "Rémi's editor");

        // 2. Anne changes the opening hours and saves.
        let mine = text_of(&anne).replace("Le cabinet ouvre de 9 h à 12 h.", ANNE_LINE);
        set_text(&anne, &mine);
        anne.find(save).click();
        anne.wait_for_text("Modifications enregistrées.");
        anne.wait_for_text(ANNE_LINE);

        // 3. Rémi, still on version 1, changes the same line: the conflict view, nothing
        // lost, his line and hers between the markers.
        let his = text_of(&remi).replace("Le cabinet ouvre de 9 h à 12 h.", REMI_LINE);
        set_text(&remi, &his);
        remi.find(save).click();
        remi.wait_for_text("Conflit de modification");
        remi.find("input[name=base][value='2']");
        let proposal = text_of(&remi);
        for wanted in ["<<<<<<< Votre texte", "=======", ANNE_LINE, REMI_LINE] {
            assert!(
                proposal.lines().any(|l| l == wanted),
                "no line « {wanted} » in the proposal:\n{proposal}"
            );
        }
        assert!(
            proposal.lines().any(|l| l.starts_with(">>>>>>> Version 2")),
            "{proposal}"
        );
        check(&remi, "the conflict view");

        // 4. He removes the markers, keeping both lines, and saves.
        let corrected: String = proposal
            .lines()
            .filter(|l| {
                !(l.starts_with("<<<<<<< ") || *l == "=======" || l.starts_with(">>>>>>> "))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        set_text(&remi, &corrected);
        remi.find(save).click();
        remi.wait_for_text("Modifications enregistrées.");
        let shown = remi.find("div.markdown").text();
        assert!(
            shown.contains(ANNE_LINE) && shown.contains(REMI_LINE),
            "the corrected text: {shown}"
        );
        assert!(
            !shown.contains("<<<<<<<") && !shown.contains("======="),
            "{shown}"
        );
        remi.wait_for_text("Version 3");
        check(&remi, "the corrected text");

        // 5. A hostile text: its script is text, its javascript: link no link.
        remi.goto(&format!("{url}{MOUNT}/d/{hostile}"));
        remi.find("div.markdown");
        remi.wait_for_text("window.piege = 1;");
        let ran = remi.execute(
            "return [window.piege === undefined,\
              Array.from(document.links).filter(function (a) {\
                return a.protocol === 'javascript:'; }).length];",
            vec![],
        );
        assert_eq!(ran, serde_json::json!([true, 0]), "{ran}");
        check(&remi, "the hostile text");
        drop(anne);
        drop(remi);
        drop(driver);
        problems
    })
    .await
    .unwrap();
    server.abort();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        state.csp_reports.load(Ordering::Relaxed),
        0,
        "no page of the journey violates the policy"
    );
}

/// The national library in real Chromium (docs/cloud-contract.md, « National library »):
/// the coordinator of structure A uploads a PDF with the file picker, comments on it,
/// deposits a new version, then publishes it from the document's « Bibliothèque
/// nationale » section: the module's form, then the host's confirmation page (the box
/// ticked, « Publier »), back on the document with « Document publié dans la
/// bibliothèque nationale. ». A member of structure B, in a second browser, opens
/// « Bibliothèque nationale » from the navigation, reads the entry under A's name, with
/// no form to change it, and downloads version 2's bytes. No console error, no CSP
/// report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_published_to_the_national_library_and_read_elsewhere_in_chromium() {
    use std::sync::atomic::Ordering;

    use crate::cloud;
    const PDF_V1: &str =
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    const TITLE: &str = "Protocole de permanence du samedi";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Structures A and B with the documents module (library granted): Claire coordinates
    // A, Bob is a member of B.
    let host = cloud::cloud_host().await;
    let w = cloud::world(&host).await;
    let files = fresh_dir();
    std::fs::create_dir_all(&files).unwrap();
    let pdf = files.join("permanence-samedi.pdf");
    let pdf_v2 = files.join("permanence-samedi-relu.pdf");
    let second = format!("{PDF_V1}% relu par le groupe\n");
    std::fs::write(&pdf, PDF_V1).unwrap();
    std::fs::write(&pdf_v2, &second).unwrap();
    let state = host.state.clone();
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));

    let url = base.clone();
    let group = w.open.clone();
    let (pdf_path, pdf_v2_path) = (pdf.display().to_string(), pdf_v2.display().to_string());
    let problems = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let mut problems: Vec<String> = Vec::new();
        let mut check = |b: &Browser, what: &str| {
            let errors = b.console_errors();
            if !errors.is_empty() {
                problems.push(format!("{what}: {errors:?}"));
            }
        };

        // 1. The coordinator adds the PDF with the picker and opens its page.
        let claire = driver.browser();
        log_in(&claire, &url, "claire@a.test", PASSWORD);
        claire.wait_for_text("Bonjour Claire Coordinatrice");
        claire.goto(&format!("{url}/cpts-a/documents/g/{group}"));
        claire.wait_for_text("Aucun document dans ce dossier.");
        claire
            .find("form.ajout-documents input[type=file][name=fichiers]")
            .send_keys(&pdf_path);
        claire
            .find("form.ajout-documents button[type=submit]")
            .click();
        claire.wait_for_text("Les documents sont ajoutés.");
        claire.find("table.documents tr.document td.nom a").click();
        claire.wait_for_text("Document PDF");
        check(&claire, "the document page");

        // 2. A comment, then a new version.
        let comment = "À relire avant publication.";
        claire
            .find("#commentaires #discussion-texte")
            .send_keys(comment);
        claire
            .find("#commentaires form[action$='/fil'] button[type=submit]")
            .click();
        claire.wait_for_text("Les commentaires sont à jour.");
        claire
            .find("form.nouvelle-version input[type=file][name=fichier]")
            .send_keys(&pdf_v2_path);
        claire
            .find("form.nouvelle-version button[type=submit]")
            .click();
        claire.wait_for_text("La nouvelle version est déposée");
        claire.find("header.document[data-version-actuelle='2']");
        check(&claire, "the document at version 2");

        // 3. « Publier dans la bibliothèque nationale »: the module's form (version 2
        // chosen), then the host's confirmation page.
        claire.wait_for_text("Ce document n’est pas publié dans la bibliothèque nationale");
        claire.find("section.bibliotheque a.button.publier").click();
        claire.find("form.publier select[name=version] option[value='2'][selected]");
        let title = claire.find("#publier-titre");
        title.clear();
        title.send_keys(TITLE);
        claire
            .find("#publier-description")
            .send_keys("Qui assure la permanence, et comment la joindre.");
        claire
            .find("#publier-mots-cles")
            .send_keys("permanence, samedi");
        check(&claire, "the publish form");
        claire.find("form.publier button[type=submit]").click();
        claire.wait_for_text("J’ai relu ce document");
        assert!(
            claire
                .current_url()
                .contains("/cpts-a/bibliotheque/confirmer/"),
            "the host's page: {}",
            claire.current_url()
        );
        claire.wait_for_text("permanence-samedi-relu.pdf");
        check(&claire, "the host's confirmation page");
        claire.find("input[type=checkbox][name=verifie]").click();
        claire
            .find("form:has(input[name=verifie]) button[type=submit]")
            .click();
        claire.wait_for_text("Document publié dans la bibliothèque nationale.");
        claire.wait_for_text("Publié dans la bibliothèque nationale (version 1, le ");
        claire.find("section.bibliotheque form.retirer input[type=checkbox][name=confirme]");
        check(&claire, "the document once published");

        // 4. A member of B, in a second browser, reads it from « Bibliothèque nationale ».
        let bob = driver.browser();
        log_in(&bob, &url, "bob@b.test", PASSWORD);
        bob.wait_for_text("Bonjour Bob Bailleul");
        bob.find("header nav a[href='/cpts-b/documents/bibliotheque']")
            .click();
        bob.wait_for_text(TITLE);
        bob.wait_for_text("Structure cpts-a (CPTS)");
        check(&bob, "B's national library");
        bob.find("ul.entrees li.entree h2 a").click();
        bob.wait_for_text("Publié par Structure cpts-a (CPTS)");
        bob.wait_for_text("Qui assure la permanence, et comment la joindre.");
        let changes = bob.execute(
            "return Array.from(document.querySelectorAll('form'))\
               .filter(function (f) { return f.getAttribute('action') !== '/deconnexion'; })\
               .length;",
            vec![],
        );
        assert_eq!(changes, serde_json::json!(0), "no form to change it");
        let download = bob.execute_async(
            "const done = arguments[arguments.length - 1];\
             const link = document.querySelector('a.button.telecharger');\
             fetch(link.href, { credentials: 'same-origin' }).then(function (r) {\
               return r.text().then(function (body) { done([r.status, body]); });\
             }, function (e) { done(['échec', String(e)]); });",
        );
        assert_eq!(download, serde_json::json!([200, second]), "{download}");
        check(&bob, "the entry read from B");
        drop(bob);
        drop(claire);
        drop(driver);
        problems
    })
    .await
    .unwrap();
    server.abort();
    let _ = std::fs::remove_dir_all(&files);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        state.csp_reports.load(Ordering::Relaxed),
        0,
        "no page of the journey violates the policy"
    );
}
