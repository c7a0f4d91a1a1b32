//! The national library's host pages (docs/cloud-library-design.md A.5, A.8, A.10), on a
//! real host (SQLite, or PostgreSQL with MAILLAGE_TEST_DATABASE=postgres), with
//! proposals stored as the runtime stores them (`library::propose`, see `library.rs`):
//! the confirmation page shows exactly what will be published (the Markdown source,
//! escaped) to its author only, in its structure, within its hour, while the author may
//! still publish; it publishes once, with the checkbox, the CSRF token and, in a browser,
//! a user's navigation; a file is checked (downloaded, unchanged) before it is copied.
//! Members of another structure where the module is enabled with "library" download a
//! published file; withdrawn or hidden: 410. Operators list, read, hide and show entries
//! again, from the pages and from `maillage admin library`.

use axum::body::Body;
use http::{Request, StatusCode, header};
use maillage::library::{self as lib, ProposalContent};
use maillage::storage::{PluginScope, now_secs};
use maillage::tenancy::Role;

use crate::library::{MODULE, PDF, World, markdown, reader};
use crate::support::{Client, Host, PASSWORD, form_encode, location, test_config};

/// What a browser sends with a form its user submitted by clicking.
const CLICKED: [(&str, &str); 4] = [
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-user", "?1"),
    ("sec-fetch-site", "same-origin"),
];

async fn signed_in<'a>(w: &'a World, email: &str) -> Client<'a> {
    let mut client = Client::new(&w.host);
    client.login(email, PASSWORD).await;
    client
}

/// A form POSTed with the client's cookies and CSRF token, and these extra headers.
async fn post_with(
    client: &mut Client<'_>,
    uri: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let token = client.csrf();
    let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
    all.extend_from_slice(fields);
    let mut request =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(cookies) = client.cookie_header() {
        request = request.header(header::COOKIE, cookies);
    }
    let (status, headers, body) = client
        .host
        .send(request.body(Body::from(form_encode(&all))).unwrap())
        .await;
    (status, location(&headers), body)
}

async fn entries(w: &World) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM library_entries")
        .fetch_one(w.db().pool())
        .await
        .unwrap()
}

async fn expire(w: &World, token: &str) {
    sqlx::query("UPDATE library_proposals SET expires_at = $1 WHERE token_hash = $2")
        .bind(now_secs() - 1)
        .bind(maillage::identity::secret_hash(token))
        .execute(w.db().pool())
        .await
        .unwrap();
}

/// The entry id of a `…?bibliotheque=publiee&entree={id}` location.
fn published_id(location: &str) -> i64 {
    location
        .split("entree=")
        .nth(1)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected location {location}"))
}

/// Whether the structure `viewer` sees the entry as hidden.
async fn hidden_for(w: &World, viewer: i64, id: i64) -> Option<String> {
    let mut conn = w.conn().await;
    lib::get(&mut conn, &reader(viewer), id)
        .await
        .unwrap()
        .expect("the entry")
        .hidden
        .map(|m| m.reason)
}

#[tokio::test]
async fn the_confirmation_page_shows_the_source_to_its_author_and_publishes_once() {
    let w = World::new().await;
    let alice = w.publisher(w.a, &w.alice);
    let text = "# Fiche réflexe\n\n<!-- x -->\nVoir [le protocole](https://exemple.fr/cible).\n";
    let token = w
        .propose(&alice, &markdown("Fiche réflexe", text))
        .await
        .unwrap();
    let page = lib::confirmation_path("cpts-a", &token);
    let mut browser = signed_in(&w, "alice@cpts-a.fr").await;

    // The source as it is: what rendering would hide is visible, escaped.
    let (status, body) = browser.get(&page).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Publier dans la bibliothèque nationale"));
    assert!(body.contains("&lt;!-- x --&gt;"), "{body}");
    assert!(!body.contains("<!-- x -->"));
    assert!(body.contains("https://exemple.fr/cible"));
    assert!(body.contains(&format!("{} caractères", text.chars().count())));
    assert!(body.contains("Structure cpts-a"));
    assert!(body.contains("Nouveau document"));
    assert!(body.contains("CC BY 4.0"));
    assert!(body.contains("aucune donnée de santé"));
    assert!(body.contains(r#"name="verifie""#));
    assert!(body.contains(&format!(r#"action="{page}/annuler""#)));

    // Another account, even a coordinator of the same structure: no such proposal.
    w.host
        .account(
            "cpts-a",
            "carla@cpts-a.fr",
            "Carla Coord",
            Role::Coordinator,
        )
        .await;
    let mut colleague = signed_in(&w, "carla@cpts-a.fr").await;
    assert_eq!(colleague.get(&page).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = colleague.post_form(&page, &[("verifie", "oui")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Its author in another of her structures: none either.
    w.host
        .account(
            "cpts-b",
            "alice@cpts-a.fr",
            "Alice Coord",
            Role::Coordinator,
        )
        .await;
    let elsewhere = lib::confirmation_path("cpts-b", &token);
    assert_eq!(browser.get(&elsewhere).await.0, StatusCode::NOT_FOUND);

    // Without the checkbox: the page again, nothing published.
    let (status, _, body) = post_with(&mut browser, &page, &[], &CLICKED).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Cochez la case pour confirmer votre relecture."));
    assert!(body.contains("&lt;!-- x --&gt;"));
    // Without the CSRF token, or sent by a script (fetch, or a form without a click).
    let (status, _, _) = browser.post_raw(&page, &[("verifie", "oui")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let fetched = [
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-dest", "empty"),
        ("sec-fetch-site", "same-origin"),
    ];
    let (status, _, _) = post_with(&mut browser, &page, &[("verifie", "oui")], &fetched).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let scripted = [
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
    ];
    let (status, _, _) = post_with(&mut browser, &page, &[("verifie", "oui")], &scripted).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(entries(&w).await, 0);

    // Confirmed by a click: back to the module, readable from B.
    let (status, location, body) =
        post_with(&mut browser, &page, &[("verifie", "oui")], &CLICKED).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("a location");
    assert!(
        location.starts_with("/cpts-a/documents/d/1?bibliotheque=publiee&entree="),
        "{location}"
    );
    let id = published_id(&location);
    {
        let mut conn = w.conn().await;
        let entry = lib::get(&mut conn, &reader(w.b), id)
            .await
            .unwrap()
            .expect("B reads A's entry");
        assert_eq!(entry.title, "Fiche réflexe");
        assert_eq!(entry.source_name, "Structure cpts-a");
        let content = lib::read(&mut conn, &reader(w.b), id, None).await.unwrap();
        assert_eq!(content.text.as_deref(), Some(text));
    }
    // Used: gone.
    let (status, _, _) = post_with(&mut browser, &page, &[("verifie", "oui")], &CLICKED).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get(&page).await.0, StatusCode::NOT_FOUND);
    assert_eq!(entries(&w).await, 1);

    // Expired: 410, nothing published.
    let token = w
        .propose(&alice, &markdown("Périmée", "Texte"))
        .await
        .unwrap();
    expire(&w, &token).await;
    let page = lib::confirmation_path("cpts-a", &token);
    let (status, body) = browser.get(&page).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(body.contains("Cette proposition a expiré. Recommencez depuis le document."));
    let (status, _, _) = post_with(&mut browser, &page, &[("verifie", "oui")], &CLICKED).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(entries(&w).await, 1);

    // Cancelled: back to the module; then unknown.
    let token = w
        .propose(&alice, &markdown("Annulée", "Texte"))
        .await
        .unwrap();
    let page = lib::confirmation_path("cpts-a", &token);
    let cancel = format!("{page}/annuler");
    let (status, location, _) = browser.post_form(&cancel, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/cpts-a/documents/d/1?bibliotheque=annulee")
    );
    assert_eq!(browser.get(&page).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        browser.post_form(&cancel, &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(entries(&w).await, 1);
}

#[tokio::test]
async fn rights_and_files_are_checked_and_published_files_download_elsewhere() {
    let w = World::new().await;

    // A member publishing with the module's role « bibliotheque », withdrawn meanwhile.
    let dora = w
        .host
        .account("cpts-a", "dora@cpts-a.fr", "Dora Membre", Role::Member)
        .await;
    maillage::people::grant_module_role(w.db(), w.a, dora.id, MODULE, "bibliotheque")
        .await
        .unwrap();
    let token = w
        .propose(
            &w.publisher(w.a, &dora),
            &markdown("Fiche de Dora", "Texte"),
        )
        .await
        .unwrap();
    let page = lib::confirmation_path("cpts-a", &token);
    let mut dora_browser = signed_in(&w, "dora@cpts-a.fr").await;
    assert_eq!(dora_browser.get(&page).await.0, StatusCode::OK);
    {
        let mut conn = w.conn().await;
        let withdrawn = maillage::people::set_module_role(
            &mut conn,
            w.a,
            dora.id,
            MODULE,
            "bibliotheque",
            false,
            dora.id,
            now_secs(),
        )
        .await
        .unwrap();
        assert!(withdrawn);
    }
    assert_eq!(dora_browser.get(&page).await.0, StatusCode::FORBIDDEN);
    let (status, _, _) = dora_browser.post_form(&page, &[("verifie", "oui")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(entries(&w).await, 0);

    // A file: described, downloadable by its author to check it; deleted by the
    // module before the confirmation: 409, nothing published.
    let alice = w.publisher(w.a, &w.alice);
    let mut browser = signed_in(&w, "alice@cpts-a.fr").await;
    let blob = w.blob(w.a, MODULE).await;
    let mut file = markdown("Protocole anticoagulants", "");
    file.content = ProposalContent::File {
        blob_id: blob.id.clone(),
    };
    let token = w.propose(&alice, &file).await.unwrap();
    let page = lib::confirmation_path("cpts-a", &token);
    let (status, body) = browser.get(&page).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("protocole.pdf"));
    assert!(body.contains("application/pdf"));
    assert!(body.contains("Télécharger pour vérifier"));
    assert!(body.contains(&format!("{page}/fichier")));
    let (status, headers, bytes) = browser.get_bytes(&format!("{page}/fichier")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(
        dora_browser.get_bytes(&format!("{page}/fichier")).await.0,
        StatusCode::NOT_FOUND
    );
    let scope_a = PluginScope {
        structure_id: w.a,
        plugin_id: MODULE.into(),
    };
    {
        let mut conn = w.conn().await;
        assert!(
            w.host
                .state
                .blobs
                .delete(&mut conn, &scope_a, &blob.id)
                .await
                .unwrap()
        );
    }
    let (status, _, body) = browser.post_form(&page, &[("verifie", "oui")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body.contains("Le fichier a été modifié ou supprimé depuis la proposition. Recommencez.")
    );
    assert_eq!(
        browser.get_bytes(&format!("{page}/fichier")).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(entries(&w).await, 0);

    // Published (a client without Sec-Fetch headers: the session and the token decide).
    let blob = w.blob(w.a, MODULE).await;
    file.content = ProposalContent::File {
        blob_id: blob.id.clone(),
    };
    let token = w.propose(&alice, &file).await.unwrap();
    let (status, location, body) = browser
        .post_form(
            &lib::confirmation_path("cpts-a", &token),
            &[("verifie", "oui")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let id = published_id(&location.expect("a location"));

    // B's members download it once B enabled the module with "library".
    let in_b = lib::download_path("cpts-b", MODULE, id, 1);
    let mut bruno = signed_in(&w, "bruno@cpts-b.fr").await;
    assert_eq!(bruno.get_bytes(&in_b).await.0, StatusCode::NOT_FOUND);
    enable_bundled(&w, w.b, "cloud", &["blobs"]).await;
    assert_eq!(bruno.get_bytes(&in_b).await.0, StatusCode::NOT_FOUND);
    enable_bundled(&w, w.b, "cloud", &["library"]).await;
    let (status, headers, bytes) = bruno.get_bytes(&in_b).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
    assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=3600");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        headers[header::CONTENT_LENGTH],
        PDF.len().to_string().as_str()
    );
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.contains("protocole.pdf"), "{disposition}");
    // Not through A, where the module is not enabled; not another module's library;
    // no second version.
    let in_a = lib::download_path("cpts-a", MODULE, id, 1);
    assert_eq!(browser.get_bytes(&in_a).await.0, StatusCode::NOT_FOUND);
    let other = enable_bundled(&w, w.b, "polls", &["library"]).await;
    let other_module = lib::download_path("cpts-b", &other, id, 1);
    assert_eq!(
        bruno.get_bytes(&other_module).await.0,
        StatusCode::NOT_FOUND
    );
    let second = lib::download_path("cpts-b", MODULE, id, 2);
    assert_eq!(bruno.get_bytes(&second).await.0, StatusCode::NOT_FOUND);

    // Hidden: 410; shown again: downloadable; withdrawn: 410 for good.
    let operator = w
        .db()
        .create_account("olga@plateforme.fr", None, "Olga Opératrice")
        .await
        .unwrap();
    lib::hide(
        w.db(),
        Some(&operator),
        id,
        "Données personnelles visibles.",
    )
    .await
    .unwrap();
    let (status, _, body) = bruno.get_bytes(&in_b).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(String::from_utf8_lossy(&body).contains("masqué par l’équipe de la plateforme"));
    lib::unhide(w.db(), Some(&operator), id).await.unwrap();
    assert_eq!(bruno.get_bytes(&in_b).await.0, StatusCode::OK);
    {
        let mut conn = w.conn().await;
        lib::withdraw(&mut conn, &alice, id).await.unwrap();
    }
    let (status, _, body) = bruno.get_bytes(&in_b).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        String::from_utf8_lossy(&body).contains("retiré de la bibliothèque nationale le"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

/// The flags of a command on `host`'s installation (its data folder and database).
fn installation(host: &Host) -> Vec<String> {
    let config = test_config(&host.dir);
    let mut args = vec!["--data-dir".to_string(), host.dir.display().to_string()];
    match (&config.database_url, &config.database_schema) {
        (Some(url), Some(schema)) => args.extend([
            "--database-url".to_string(),
            url.clone(),
            "--database-schema".to_string(),
            schema.clone(),
        ]),
        _ => args.extend([
            "--database-url".to_string(),
            format!("sqlite://{}", host.dir.join("maillage.sqlite3").display()),
        ]),
    }
    args
}

/// Runs `maillage ARGS… {installation}`: the error as text, and the command's report.
async fn cli(host: &Host, args: &[&str]) -> (Result<(), String>, String) {
    let all: Vec<String> = std::iter::once("maillage".to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .chain(installation(host))
        .collect();
    let (result, out) = maillage::cli::run_args_captured(all).await;
    (result.map_err(|e| format!("{e:#}")), out)
}

#[tokio::test]
async fn operators_hide_and_show_entries_from_the_pages_and_the_command_line() {
    let w = World::new().await;
    let alice = w.publisher(w.a, &w.alice);
    let text = "# Annuaire\n\n<!-- commentaire caché -->\nTexte.\n";
    let id = w
        .publish(&alice, &markdown("Annuaire des urgences", text))
        .await;
    let blob = w.blob(w.a, MODULE).await;
    let mut file = markdown("Protocole anticoagulants", "");
    file.content = ProposalContent::File {
        blob_id: blob.id.clone(),
    };
    let file_id = w.publish(&alice, &file).await;
    let list = "/plateforme/bibliotheque";
    let entry = format!("{list}/{id}");
    let hide = format!("{entry}/masquer");

    // Anonymous visitors go to the login page; members who are not operators: 403.
    let mut anonymous = Client::new(&w.host);
    let (status, location, _) = anonymous.get_full(list).await;
    assert!(status.is_redirection(), "{status}");
    assert!(location.unwrap_or_default().starts_with("/connexion"));
    let mut member = signed_in(&w, "alice@cpts-a.fr").await;
    assert_eq!(member.get(list).await.0, StatusCode::FORBIDDEN);
    assert_eq!(member.get(&entry).await.0, StatusCode::FORBIDDEN);
    let (status, _, _) = member
        .post_form(&hide, &[("motif", "Un motif assez long.")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(hidden_for(&w, w.b, id).await, None);

    // The list, its filters, an entry with its source and its file.
    let mut olga = w
        .host
        .operator("olga@plateforme.fr", "Olga Opératrice")
        .await;
    let (status, body) = olga.get("/plateforme/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"href="/plateforme/bibliotheque""#));
    let (status, body) = olga.get(list).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Annuaire des urgences"));
    assert!(body.contains("Protocole anticoagulants"));
    assert!(body.contains("Structure cpts-a"));
    assert!(body.contains(&format!(r#"href="{entry}""#)));
    let (_, body) = olga.get(&format!("{list}?q=annuaire")).await;
    assert!(body.contains("Annuaire des urgences"));
    assert!(!body.contains("Protocole anticoagulants"));
    let (_, body) = olga.get(&format!("{list}?module=autre")).await;
    assert!(!body.contains("Annuaire des urgences"));
    let (_, body) = olga.get(&format!("{list}?etat=masques")).await;
    assert!(!body.contains("Annuaire des urgences"));
    let (status, body) = olga.get(&entry).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("&lt;!-- commentaire caché --&gt;"));
    assert!(body.contains("doc-1"), "the module's reference: {body}");
    let file_path = format!("{list}/{file_id}/1/fichier");
    let (_, body) = olga.get(&format!("{list}/{file_id}")).await;
    assert!(body.contains(&file_path), "{body}");
    let (status, headers, bytes) = olga.get_bytes(&file_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF);
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(
        olga.get(&format!("{list}/{}", i64::MAX)).await.0,
        StatusCode::NOT_FOUND
    );

    // Hidden with a reason (too short: 422); the owner's coordinators are told.
    let (status, _, body) = olga.post_form(&hide, &[("motif", "Court")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Indiquez le motif (10"), "{body}");
    assert_eq!(hidden_for(&w, w.b, id).await, None);
    let reason = "Données de santé d’un patient dans le texte.";
    let (status, location, body) = olga.post_form(&hide, &[("motif", reason)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, Some(format!("{entry}?ok=masque")));
    assert_eq!(hidden_for(&w, w.b, id).await, Some(String::new()));
    assert_eq!(hidden_for(&w, w.a, id).await, Some(reason.to_string()));
    let outbox = w.db().outbox(Some(w.a), 20).await.unwrap();
    let told = outbox
        .iter()
        .find(|m| m.to == "alice@cpts-a.fr" && m.subject == lib::HIDDEN_MAIL_SUBJECT)
        .expect("the owner's coordinator is told");
    assert!(told.body.contains(reason));
    assert!(told.body.contains("Annuaire des urgences"));
    assert!(!told.body.contains("commentaire caché"));
    let (_, body) = olga.get(&format!("{list}?etat=masques")).await;
    assert!(body.contains("Annuaire des urgences"));
    let (_, body) = olga.get(&format!("{entry}?ok=masque")).await;
    assert!(body.contains("Rétablir"));
    assert!(body.contains("Données de santé"));

    // Shown again.
    let (status, location, _) = olga.post_form(&format!("{entry}/retablir"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, Some(format!("{entry}?ok=retabli")));
    assert_eq!(hidden_for(&w, w.b, id).await, None);
    let platform_log: Vec<(String, String)> = w
        .db()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor))
        .collect();
    for action in ["library.hide", "library.unhide"] {
        assert!(
            platform_log
                .iter()
                .any(|(a, actor)| a == action && actor.contains("Olga")),
            "{action}: {platform_log:?}"
        );
    }

    // The command line: list, hide, unhide, audited as the command line.
    let (result, out) = cli(&w.host, &["admin", "library", "list"]).await;
    result.unwrap();
    assert!(out.contains("Annuaire des urgences"), "{out}");
    assert!(out.contains("2 entries"), "{out}");
    let id_text = id.to_string();
    let (result, _) = cli(
        &w.host,
        &["admin", "library", "hide", &id_text, "--reason", "Court"],
    )
    .await;
    assert!(result.unwrap_err().contains("reason"));
    let (result, out) = cli(
        &w.host,
        &[
            "admin",
            "library",
            "hide",
            &id_text,
            "--reason",
            "Motif donné en ligne de commande.",
        ],
    )
    .await;
    result.unwrap();
    assert!(out.contains(&format!("hid entry {id}")), "{out}");
    assert!(hidden_for(&w, w.b, id).await.is_some());
    let (result, out) = cli(&w.host, &["admin", "library", "list"]).await;
    result.unwrap();
    assert!(!out.contains("Annuaire des urgences"), "{out}");
    assert!(out.contains("1 entry"), "{out}");
    let (result, out) = cli(&w.host, &["admin", "library", "list", "--hidden"]).await;
    result.unwrap();
    let line = out
        .lines()
        .find(|l| l.contains("Annuaire des urgences"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with(&id_text), "{line}");
    assert!(line.contains("hidden"), "{line}");
    let (result, out) = cli(&w.host, &["admin", "library", "unhide", &id_text]).await;
    result.unwrap();
    assert!(out.contains("visible again"), "{out}");
    assert_eq!(hidden_for(&w, w.b, id).await, None);
    let (result, _) = cli(&w.host, &["admin", "library", "unhide", "pas-un-id"]).await;
    assert!(result.is_err());
    let cli_hides = w
        .db()
        .audit_entries(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "library.hide" && e.actor.contains("CLI"))
        .count();
    assert_eq!(cli_hides, 1);
}

/// Installs the real component `wasm` (a plugin of plugins/) and enables it in
/// `structure` with exactly the capabilities `granted`; its module id.
async fn enable_bundled(w: &World, structure: i64, wasm: &str, granted: &[&str]) -> String {
    let plugin = w
        .host
        .state
        .registry
        .install(&crate::support::wasm(wasm))
        .await
        .expect("install");
    let m = plugin.manifest();
    let granted: Vec<String> = granted.iter().map(|c| c.to_string()).collect();
    w.db()
        .enable_module(structure, &m.id, &m.version.to_string(), &granted)
        .await
        .unwrap();
    m.id.clone()
}
