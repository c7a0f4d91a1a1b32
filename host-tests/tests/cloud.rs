//! The documents module (`plugins/cloud`, module id `documents`,
//! docs/cloud-contract.md) end to end, through the real host and the real component:
//! who adds, versions, comments and reads a project's documents (référents and
//! coordinators add, active members deposit new versions, guests read and comment,
//! members of other groups read an open project's documents but not a closed one's,
//! other structures see nothing), versions kept byte for byte and restored as a new
//! version (on the local folder and on an S3 bucket), named versions apart, an HTML file served as a download, hostile names kept as text only, the
//! per-file limit and the quota (and the host's own limits) refusing in French with
//! nothing kept, comments with @mentions mailed without their text, and the projects
//! module's page of a project listing its group's documents (`document.saved`), those
//! added before it was enabled once a coordinator republishes them.

use http::StatusCode;
use maillage::groups::GroupRole;
use maillage::tenancy::Role;

use crate::support::{Client, Host, PASSWORD, create_bucket, location, s3_endpoint};

/// The module in structure A, and in structure B.
const A: &str = "/cpts-a/documents";
const B: &str = "/cpts-b/documents";
/// Where the host serves the module's files in A.
const FILES: &str = "/cpts-a/fichiers/documents/";

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

const ONLY_MANAGERS: &str =
    "Seuls les référents et les coordinateurs ajoutent des documents à ce projet.";
const ONLY_MEMBERS_VERSION: &str =
    "Seuls les membres du projet déposent de nouvelles versions de ses documents.";
const ONLY_MEMBERS_COMMENT: &str = "Seuls les membres du projet commentent ses documents.";

/// Generous limits: a debug build on two cores, files parsed in the guest. Also the
/// documents' Chromium journey's (`browser.rs`).
pub(crate) async fn cloud_host() -> Host {
    Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.plugin_output_mib = 8;
    })
    .await
}

/// A browser of `email` (password [`PASSWORD`]), signed in. Also the Markdown texts'
/// tests (`documents_merge.rs`, `browser.rs`).
pub(crate) async fn signed_in<'a>(host: &'a Host, email: &str) -> Client<'a> {
    let mut client = Client::new(host);
    client.login(email, PASSWORD).await;
    client
}

/// Structure A (and B, with the module too) and A's projects.
pub(crate) struct World {
    pub(crate) sid: i64,
    /// Open group « Soins non programmés »: Rémi référent, Anne active, Gustave invité.
    pub(crate) open: String,
    /// Closed group « Prévention santé mentale »: the same people.
    pub(crate) closed: String,
    /// Open group « Diabète »: Rémi référent, Oscar active (in no other group).
    pub(crate) other: String,
}

/// Claire coordinates A (in no group), Adèle administers it; Bob is a member of B.
pub(crate) async fn world(host: &Host) -> World {
    let a = host.structure("cpts-a", &["cloud"]).await;
    host.structure("cpts-b", &["cloud"]).await;
    host.account(
        "cpts-a",
        "claire@a.test",
        "Claire Coordinatrice",
        Role::Coordinator,
    )
    .await;
    host.account("cpts-a", "adele@a.test", "Adèle Admin", Role::Admin)
        .await;
    let person =
        |email: &'static str, name: &'static str| host.account("cpts-a", email, name, Role::Member);
    let remi = person("remi@a.test", "Rémi Référent").await;
    let anne = person("anne@a.test", "Anne Active").await;
    let gus = person("gus@a.test", "Gustave Invité").await;
    let oscar = person("oscar@a.test", "Oscar Ailleurs").await;
    host.account("cpts-b", "bob@b.test", "Bob Bailleul", Role::Member)
        .await;
    let db = &host.state.db;
    let mut ids = Vec::new();
    for (name, open) in [
        ("Soins non programmés", true),
        ("Prévention santé mentale", false),
        ("Diabète", true),
    ] {
        ids.push(
            db.create_group(a.id, name, "", open, remi.id)
                .await
                .unwrap(),
        );
    }
    for &id in &ids[..2] {
        let group = db
            .group(a.id, id, remi.id)
            .await
            .unwrap()
            .expect("the group");
        db.set_group_member(&group, anne.id, GroupRole::Active)
            .await
            .unwrap();
        db.set_group_member(&group, gus.id, GroupRole::Guest)
            .await
            .unwrap();
    }
    let group = db
        .group(a.id, ids[2], remi.id)
        .await
        .unwrap()
        .expect("the group");
    db.set_group_member(&group, oscar.id, GroupRole::Active)
        .await
        .unwrap();
    World {
        sid: a.id,
        open: ids[0].to_string(),
        closed: ids[1].to_string(),
        other: ids[2].to_string(),
    }
}

/// A plain `multipart/form-data` form as a browser without JavaScript posts it: the
/// `csrf` field first, then `fields`, then the files (field, file name, declared type,
/// content). Returns status, Location and body. Also the isolation matrix's (B's
/// documents seeded, and A's people posting files at them).
pub(crate) async fn post_multipart(
    client: &mut Client<'_>,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &str, &[u8])],
) -> (StatusCode, Option<String>, String) {
    let boundary = "----MaillageDocumentsBoundary7MA4";
    let mut body: Vec<u8> = Vec::new();
    let token = client.csrf();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n")
            .as_bytes(),
    );
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (field, file_name, content_type, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let request = http::Request::post(path)
        .header(
            http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(
            http::header::COOKIE,
            client.cookie_header().expect("signed in"),
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    let (status, headers, body) = client.host.send(request).await;
    (status, location(&headers), body)
}

/// Adds documents to the project `group` (its root, or `folder`), one per file, through
/// the module's own multipart form. Also the streamed uploads' tests.
pub(crate) async fn add(
    client: &mut Client<'_>,
    group: &str,
    folder: &str,
    files: &[(&str, &[u8])],
) -> (StatusCode, Option<String>, String) {
    let files: Vec<(&str, &str, &str, &[u8])> = files
        .iter()
        .map(|(name, content)| ("fichiers", *name, "application/octet-stream", *content))
        .collect();
    post_multipart(
        client,
        &format!("{A}/g/{group}/documents"),
        &[("dossier", folder)],
        &files,
    )
    .await
}

/// Deposits a new version of a document, named `label` ("" for none).
async fn new_version(
    client: &mut Client<'_>,
    document: &str,
    name: &str,
    content: &[u8],
    label: &str,
) -> (StatusCode, Option<String>, String) {
    post_multipart(
        client,
        &format!("{A}/d/{document}/versions"),
        &[("libelle", label)],
        &[("fichier", name, "application/octet-stream", content)],
    )
    .await
}

/// The ids of the documents a folder page lists, in order.
pub(crate) fn document_ids(page: &str) -> Vec<String> {
    let marker = "<tr class=\"document\" data-document=\"";
    page.match_indices(marker)
        .map(|(at, _)| {
            let rest = &page[at + marker.len()..];
            rest[..rest.find('"').expect("a closing quote")].to_string()
        })
        .collect()
}

/// The id of the document a folder page lists as `name` (as the page writes it).
pub(crate) fn document_named(page: &str, name: &str) -> String {
    let link = format!(">{name}</a>");
    let at = page
        .find(&link)
        .unwrap_or_else(|| panic!("no document {name} in {page}"));
    let marker = "data-document=\"";
    let start = page[..at].rfind(marker).expect("its row") + marker.len();
    let end = start + page[start..].find('"').expect("a closing quote");
    page[start..end].to_string()
}

/// The value of attribute `name` in the first tag after `marker`.
fn attr_after(page: &str, marker: &str, name: &str) -> String {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {page}"));
    let rest = &page[at..];
    let needle = format!("{name}=\"");
    let start = rest
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} after {marker}"))
        + needle.len();
    rest[start..start + rest[start..].find('"').expect("a closing quote")].to_string()
}

/// The row of version `number` on a document's page.
fn version_row(page: &str, number: i64) -> &str {
    let marker = format!("data-version=\"{number}\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no version {number} in {page}"));
    let start = page[..at].rfind("<tr").expect("the row");
    let end = at + page[at..].find("</tr>").expect("the end of the row");
    &page[start..end]
}

/// The first link to one of the module's files in `html`.
fn file_link(html: &str) -> String {
    let at = html
        .find(FILES)
        .unwrap_or_else(|| panic!("no link to a file in {html}"));
    let rest = &html[at..];
    rest[..rest.find('"').expect("a closing quote")].to_string()
}

/// A section of a page, by its class.
fn section<'p>(page: &'p str, class: &str) -> &'p str {
    let marker = format!("<section class=\"{class}\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no section {class} in {page}"));
    let end = at
        + page[at..]
            .find("</section>")
            .expect("the end of the section");
    &page[at..end]
}

/// The module's files the host keeps for structure `sid`.
pub(crate) async fn blob_count(host: &Host, sid: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM blobs WHERE structure_id = $1 AND plugin_id = 'documents'",
    )
    .bind(sid)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap()
}

/// The names the host keeps with the module's files (those downloads propose).
async fn blob_names(host: &Host, sid: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM blobs WHERE structure_id = $1 AND plugin_id = 'documents'")
        .bind(sid)
        .fetch_all(host.state.db.pool())
        .await
        .unwrap()
}

/// The `document.saved` payloads the module published in structure `sid` about
/// `document`, in order.
async fn saved_events(host: &Host, sid: i64, document: &str) -> Vec<serde_json::Value> {
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM event_outbox WHERE topic = 'document.saved' AND structure_id = $1 AND source_plugin = 'documents' ORDER BY id",
    )
    .bind(sid)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    payloads
        .iter()
        .map(|p| serde_json::from_str::<serde_json::Value>(p).expect("a JSON payload"))
        .filter(|p| p["document"] == document)
        .collect()
}

/// Runs the dispatcher until every `document.saved` of structure `sid` reached the
/// projects module; a refusal or a fault of that module fails the test with its error.
pub(crate) async fn deliver_documents(host: &Host, sid: i64) {
    deliver_documents_after(host, sid, 0).await;
}

/// Like [`deliver_documents`], for the events after event `after` only (those before it
/// were fanned out when the projects module was not enabled).
async fn deliver_documents_after(host: &Host, sid: i64, after: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        maillage::events::dispatch(&host.state)
            .await
            .expect("a dispatch round");
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT e.id, d.status, d.last_error FROM event_outbox e
             LEFT JOIN event_deliveries d ON d.event_id = e.id AND d.plugin_id = 'projets'
             WHERE e.structure_id = $1 AND e.topic = 'document.saved' AND e.id > $2
             ORDER BY e.id",
        )
        .bind(sid)
        .bind(after)
        .fetch_all(host.state.db.pool())
        .await
        .unwrap();
        assert!(
            !rows.is_empty(),
            "the documents module published no document.saved"
        );
        if let Some((id, _, _)) = rows.iter().find(|r| r.1.is_none()) {
            panic!(
                "event {id} (document.saved) was not given to the projects module: is it enabled, does it subscribe?"
            );
        }
        if let Some((id, status, Some(error))) = rows
            .iter()
            .find(|r| r.1.as_deref() != Some("delivered") && r.2.is_some())
        {
            panic!("the projects module did not take event {id} ({status:?}): {error}");
        }
        if rows.iter().all(|r| r.1.as_deref() == Some("delivered")) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "document.saved still undelivered after 120 s: {rows:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The id of structure `sid`'s latest event (0 when none).
async fn last_event(host: &Host, sid: i64) -> i64 {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM event_outbox WHERE structure_id = $1")
            .bind(sid)
            .fetch_one(host.state.db.pool())
            .await
            .unwrap();
    id.unwrap_or(0)
}

/// Every `document.saved` payload the module published in structure `sid` after event
/// `after`, in order.
async fn saved_after(host: &Host, sid: i64, after: i64) -> Vec<serde_json::Value> {
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM event_outbox WHERE topic = 'document.saved' AND structure_id = $1 AND source_plugin = 'documents' AND id > $2 ORDER BY id",
    )
    .bind(sid)
    .bind(after)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    payloads
        .iter()
        .map(|p| serde_json::from_str::<serde_json::Value>(p).expect("a JSON payload"))
        .collect()
}

/// The mails of the structure's outbox to `to` whose subject holds `subject`.
async fn mails(host: &Host, sid: i64, to: &str, subject: &str) -> Vec<String> {
    host.state
        .db
        .outbox(Some(sid), 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to == to && m.subject.contains(subject))
        .map(|m| m.body)
        .collect()
}

/// One file of an upload form's `fichiers`: (field, name, declared type, content).
fn file<'a>(
    name: &'a str,
    declared: &'a str,
    content: &'a [u8],
) -> (&'a str, &'a str, &'a str, &'a [u8]) {
    ("fichiers", name, declared, content)
}

async fn download(client: &mut Client<'_>, path: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    client.get_bytes(path).await
}

fn header(headers: &http::HeaderMap, name: http::header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn referents_add_members_deposit_versions_guests_read_and_closed_projects_stay_closed() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;

    // A référent sees the form and adds two documents in one form.
    let (status, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("class=\"ajout-documents stack\""), "{page}");
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    assert!(
        page.contains("multiple"),
        "several files in one form: {page}"
    );
    let (status, location, body) = add(
        &mut remi,
        &w.open,
        "",
        &[
            ("protocole.txt", b"Protocole, version 1"),
            ("affiche.pdf", PDF),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=ajout")));
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(document_ids(&page).len(), 2, "{page}");
    let protocole = document_named(&page, "protocole.txt");
    let affiche = document_named(&page, "affiche.pdf");
    assert_eq!(blob_count(&host, w.sid).await, 2);

    // The coordinator, in no group, adds to the closed project.
    let mut claire = signed_in(&host, "claire@a.test").await;
    let (status, _, body) = add(
        &mut claire,
        &w.closed,
        "",
        &[("plan.txt", b"Plan d'action")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = claire.get(&format!("{A}/g/{}", w.closed)).await;
    let plan = document_named(&page, "plan.txt");
    let (_, page) = claire.get(&format!("{A}/d/{plan}")).await;
    let plan_file = attr_after(&page, "class=\"button telecharger\"", "href");
    assert!(plan_file.starts_with(FILES), "{plan_file}");
    assert_eq!(blob_count(&host, w.sid).await, 3);

    // An active member does not add: no form, and the route refuses in French, keeping
    // nothing.
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (_, page) = anne.get(&format!("{A}/g/{}", w.open)).await;
    assert!(!page.contains("ajout-documents"), "{page}");
    let (status, _, body) = add(&mut anne, &w.open, "", &[("intrus.txt", b"non")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains(ONLY_MANAGERS), "{body}");
    assert_eq!(blob_count(&host, w.sid).await, 3);
    // She deposits a new version and comments.
    let (_, page) = anne.get(&format!("{A}/d/{protocole}")).await;
    assert!(page.contains("class=\"nouvelle-version stack\""), "{page}");
    let (status, location, body) = new_version(
        &mut anne,
        &protocole,
        "protocole.txt",
        b"Protocole, version 2",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=version")));
    let (status, _, body) = anne
        .post_form(
            &format!("{A}/d/{protocole}/fil"),
            &[("texte", "Relu, deux coquilles corrigées.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = anne.get(&format!("{A}/d/{protocole}")).await;
    assert!(page.contains("data-version-actuelle=\"2\""), "{page}");
    assert!(page.contains("Relu, deux coquilles corrigées."), "{page}");

    // A guest reads, downloads and comments (« lecture et commentaires »): no new
    // version, no restore, no named version, no document.
    let mut gus = signed_in(&host, "gus@a.test").await;
    let (_, folder_page) = gus.get(&format!("{A}/g/{}", w.open)).await;
    assert!(!folder_page.contains("ajout-documents"), "{folder_page}");
    assert!(
        folder_page.contains("vous pouvez lire ses documents et les commenter"),
        "{folder_page}"
    );
    let (status, page) = gus.get(&format!("{A}/d/{protocole}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(!page.contains("nouvelle-version"), "{page}");
    assert!(!page.contains("restaurer"), "{page}");
    assert!(!page.contains("class=\"nommer\""), "{page}");
    assert!(
        page.contains(&format!("action=\"{A}/d/{protocole}/fil\"")),
        "the comment form: {page}"
    );
    assert!(page.contains("id=\"discussion-texte\""), "{page}");
    let current = attr_after(&page, "class=\"button telecharger\"", "href");
    let (status, _, bytes) = download(&mut gus, &current).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, b"Protocole, version 2".to_vec());
    let (status, _, body) = new_version(
        &mut gus,
        &protocole,
        "protocole.txt",
        b"version de Gustave",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains(ONLY_MEMBERS_VERSION), "{body}");
    let (status, _, body) = gus
        .post_form(&format!("{A}/d/{protocole}/versions/1/restaurer"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("Seuls les membres du projet restaurent une version de ses documents."),
        "{body}"
    );
    let (status, _, body) = gus
        .post_form(
            &format!("{A}/d/{protocole}/versions/1/nommer"),
            &[("libelle", "Version de Gustave")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("Seuls les membres du projet nomment les versions de ses documents."),
        "{body}"
    );
    let (status, location, body) = gus
        .post_form(&format!("{A}/d/{protocole}/fil"), &[("texte", "Je passe.")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a guest comments: {body}");
    assert!(
        location.is_some_and(|l| l.contains("ok=commentaire#message-")),
        "{body}"
    );
    let (status, _, _) = add(&mut gus, &w.open, "", &[("invite.txt", b"non")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = gus.get(&format!("{A}/d/{protocole}")).await;
    assert!(page.contains("data-version-actuelle=\"2\""), "{page}");
    assert!(!page.contains("Version de Gustave"), "{page}");
    assert!(page.contains("Je passe."), "{page}");
    assert_eq!(blob_count(&host, w.sid).await, 4);

    // A member of another group reads the open project, not the closed one, which does
    // not exist for him: its page, its documents, their files, its forms.
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let (_, home) = oscar.get(&format!("{A}/")).await;
    assert!(
        home.contains(&format!("data-groupe=\"{}\"", w.open)),
        "{home}"
    );
    assert!(
        home.contains(&format!("data-groupe=\"{}\"", w.other)),
        "{home}"
    );
    assert!(
        !home.contains(&format!("data-groupe=\"{}\"", w.closed)),
        "{home}"
    );
    assert!(!home.contains("Prévention santé mentale"), "{home}");
    let (status, page) = oscar.get(&format!("{A}/d/{affiche}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _, bytes) = download(&mut oscar, &file_link(&page)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF.to_vec());
    for path in [
        format!("{A}/g/{}", w.closed),
        format!("{A}/d/{plan}"),
        plan_file.clone(),
    ] {
        let (status, _, bytes) = download(&mut oscar, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!bytes.windows(13).any(|w| w == b"Plan d'action"), "{path}");
    }
    let (status, _, _) = add(&mut oscar, &w.closed, "", &[("x.txt", b"x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = new_version(&mut oscar, &plan, "plan.txt", b"x", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = oscar
        .post_form(&format!("{A}/d/{plan}/fil"), &[("texte", "x")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // On the open project he is not a member: he reads, he does not comment (no form,
    // and the route refuses).
    let (_, page) = oscar.get(&format!("{A}/d/{affiche}")).await;
    assert!(!page.contains("id=\"discussion-texte\""), "{page}");
    let (status, _, body) = oscar
        .post_form(&format!("{A}/d/{affiche}/fil"), &[("texte", "Bravo")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains(ONLY_MEMBERS_COMMENT), "{body}");
    assert_eq!(blob_count(&host, w.sid).await, 4);

    // Another structure: nothing of A, through A's paths or its own.
    let mut bob = signed_in(&host, "bob@b.test").await;
    let blob = plan_file.trim_start_matches(FILES).to_string();
    for path in [
        format!("{A}/"),
        format!("{A}/g/{}", w.open),
        format!("{A}/d/{protocole}"),
        format!("{B}/g/{}", w.open),
        format!("{B}/d/{protocole}"),
        format!("{B}/d/{plan}"),
        plan_file.clone(),
        format!("/cpts-b/fichiers/documents/{blob}"),
    ] {
        let (status, _, bytes) = download(&mut bob, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!bytes.windows(13).any(|w| w == b"Plan d'action"), "{path}");
    }
    let (status, _, _) = post_multipart(
        &mut bob,
        &format!("{B}/d/{protocole}/versions"),
        &[],
        &[("fichier", "x.txt", "text/plain", b"x")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Forged ids: as if they did not exist.
    for path in [
        format!("{A}/g/999999"),
        format!("{A}/g/abc"),
        format!("{A}/g/{}%2F..", w.open),
        format!("{A}/d/inconnu"),
        format!("{A}/d/{protocole}/x"),
        format!("{A}/g/{}?dossier=inconnu", w.open),
    ] {
        let (status, _) = remi.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _, _) = add(&mut remi, "999999", "", &[("x.txt", b"x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = add(&mut remi, &w.open, "inconnu", &[("x.txt", b"x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a folder of no project");
    assert_eq!(blob_count(&host, w.sid).await, 4);

    // The host's own (streamed) upload route: not for an invité, who adds nothing
    // anywhere (`files.may-upload`; the deposits themselves are `cloud_streaming.rs`'s).
    let token = gus.csrf();
    let (status, _, body) = gus
        .post_upload_form(
            "/cpts-a/fichiers/documents",
            &token,
            ("fichier", "direct.txt", "text/plain", b"direct"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(blob_count(&host, w.sid).await, 4);

    // An archived project is read-only, for its référent too.
    let db = &host.state.db;
    let open: i64 = w.open.parse().unwrap();
    let remi_id = db
        .account_by_login("remi@a.test")
        .await
        .unwrap()
        .unwrap()
        .id;
    let group = db.group(w.sid, open, remi_id).await.unwrap().unwrap();
    db.set_group_archived(&group, true).await.unwrap();
    let (status, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("ajout-documents"), "{page}");
    let (status, _, body) = add(&mut remi, &w.open, "", &[("tard.txt", b"trop tard")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("Ce projet est archivé"), "{body}");
    let (status, _, _) = new_version(&mut anne, &protocole, "p.txt", b"trop tard", "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(blob_count(&host, w.sid).await, 4);
}

/// Where the host under test keeps the files: the versions test runs on both.
enum Store {
    /// The data folder's `blobs/` (the suite's default).
    Local,
    /// A bucket of the S3-compatible test server (moto).
    S3 { endpoint: String, bucket: String },
}

impl Store {
    /// The keys (`{structure}/documents/{blob}`) of the module's objects of structure
    /// `sid` the store holds, sorted: read from the folder, or listed in the bucket by a
    /// real S3 client (boto3).
    async fn objects(&self, host: &Host, sid: i64) -> Vec<String> {
        let prefix = format!("{sid}/documents/");
        let mut keys: Vec<String> = match self {
            Store::Local => {
                let dir = host
                    .dir
                    .join("blobs")
                    .join(sid.to_string())
                    .join("documents");
                match std::fs::read_dir(&dir) {
                    Ok(entries) => entries
                        .map(|e| e.expect("a blob folder entry").file_name())
                        .map(|name| format!("{prefix}{}", name.to_string_lossy()))
                        .collect(),
                    // No file stored yet: no folder.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                    Err(e) => panic!("{}: {e}", dir.display()),
                }
            }
            Store::S3 { endpoint, bucket } => s3_keys(endpoint, bucket, &prefix),
        };
        keys.sort();
        keys
    }
}

/// The keys under `prefix` in `bucket`, listed by boto3 (installed with moto in
/// `target/test-tools/moto`, as `support::s3_object_status` uses it).
fn s3_keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target/test-tools/moto/bin/python");
    let script = r#"import sys, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
    for o in page.get('Contents', []):
        print(o['Key'])
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", script, endpoint, bucket, prefix])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} does not run ({e}): the test command installs moto and boto3 there",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The object keys the host's `blobs` table says the module's files of `sid` have,
/// sorted.
async fn blob_keys(host: &Host, sid: i64) -> Vec<String> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM blobs WHERE structure_id = $1 AND plugin_id = 'documents'",
    )
    .bind(sid)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    let mut keys: Vec<String> = ids
        .iter()
        .map(|id| format!("{sid}/documents/{id}"))
        .collect();
    keys.sort();
    keys
}

/// The module's `versions` records in structure `sid`.
async fn version_records(host: &Host, sid: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM c_documents__versions WHERE structure_id = $1")
        .bind(sid)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

/// The versions test's host: [`cloud_host`]'s limits, the host's blob limit at 1 MiB
/// (below the module's 10 Mo: the file the host refuses), and `store`'s backend.
async fn versions_host(store: &Store) -> Host {
    Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.plugin_output_mib = 8;
        c.blob_limit_mib = 1;
        if let Store::S3 { endpoint, bucket } = store {
            c.s3_bucket = Some(bucket.clone());
            c.s3_endpoint = Some(endpoint.clone());
        }
    })
    .await
}

#[tokio::test]
async fn every_version_is_kept_and_restoring_one_makes_a_new_version() {
    let store = Store::Local;
    let host = versions_host(&store).await;
    versions_are_kept_and_restored(&host, &store).await;
    assert!(host.dir.join("blobs").exists());
}

#[tokio::test]
async fn every_version_is_kept_and_restored_in_an_s3_bucket() {
    let Some(endpoint) = s3_endpoint() else {
        // No S3-compatible server: the test command (scripts/test.sh) starts moto and sets
        // MAILLAGE_TEST_S3_ENDPOINT; a plain `cargo test` runs the local-folder variant
        // above only.
        eprintln!("MAILLAGE_TEST_S3_ENDPOINT is not set: the documents' S3 test is skipped");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1_000_000)
        .unwrap_or(0);
    let bucket = format!("maillage-documents-{}-{nanos}", std::process::id());
    create_bucket(&endpoint, &bucket).await;
    let store = Store::S3 { endpoint, bucket };
    let host = versions_host(&store).await;
    versions_are_kept_and_restored(&host, &store).await;
    // Nothing went to the local folder: the bucket holds every version and served every
    // download.
    assert!(!host.dir.join("blobs").exists());
}

/// Versions by two people read back byte for byte, a named version apart, restoring
/// version 1 as a new version with its bytes (no file added), what may not be restored,
/// and a file the host refuses keeping nothing (no version record, no object, no blob
/// row) — on the store `store` names, which [`Store::objects`] reads directly.
async fn versions_are_kept_and_restored(host: &Host, store: &Store) {
    let w = world(host).await;
    let mut remi = signed_in(host, "remi@a.test").await;
    let mut anne = signed_in(host, "anne@a.test").await;
    let v1: &[u8] = b"Protocole, version 1";
    let v2: &[u8] = b"Protocole, version 2 (relue par Anne)";
    let v3: &[u8] = b"Protocole, version 3\x00\xff binaire";
    let (status, _, body) = add(&mut remi, &w.open, "", &[("protocole.txt", v1)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    let doc = document_named(&page, "protocole.txt");
    let (status, _, body) = new_version(&mut anne, &doc, "protocole.txt", v2, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _, body) = new_version(&mut remi, &doc, "protocole-v3.bin", v3, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // Who, when, size, and the bytes of each version as they were sent.
    let (_, page) = anne.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("data-version-actuelle=\"3\""), "{page}");
    for (n, bytes, by) in [
        (1, v1, "Rémi Référent"),
        (2, v2, "Anne Active"),
        (3, v3, "Rémi Référent"),
    ] {
        let row = version_row(&page, n);
        assert!(row.contains(by), "version {n}: {row}");
        assert!(row.contains("class=\"quand\""), "{row}");
        let (status, _, got) = download(&mut anne, &file_link(row)).await;
        assert_eq!(status, StatusCode::OK, "version {n}");
        assert_eq!(got, bytes.to_vec(), "version {n} reads back byte for byte");
    }
    assert!(version_row(&page, 3).contains("data-actuelle=\"true\""));
    assert!(version_row(&page, 1).contains("data-actuelle=\"false\""));
    let current = attr_after(&page, "class=\"button telecharger\"", "href");
    assert_eq!(download(&mut anne, &current).await.2, v3.to_vec());
    assert_eq!(blob_count(host, w.sid).await, 3);

    // A named version is kept apart from the automatic history.
    let (status, location, body) = anne
        .post_form(
            &format!("{A}/d/{doc}/versions/1/nommer"),
            &[("libelle", "Validée en réunion du 12 mars")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=nommee")));
    let (_, page) = anne.get(&format!("{A}/d/{doc}")).await;
    let named = section(&page, "versions-nommees");
    assert!(named.contains("data-version=\"1\""), "{named}");
    assert!(named.contains("Validée en réunion du 12 mars"), "{named}");
    assert!(!named.contains("data-version=\"2\""), "{named}");
    let history = section(&page, "historique");
    assert!(!history.contains("data-version=\"1\""), "{history}");
    assert!(history.contains("data-version=\"2\""), "{history}");

    // Restoring version 1 makes version 4 with its bytes; nothing is lost, nothing stored.
    let (status, location, body) = anne
        .post_form(&format!("{A}/d/{doc}/versions/1/restaurer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("ok=restauree")));
    let (_, page) = anne.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("data-version-actuelle=\"4\""), "{page}");
    let row = version_row(&page, 4);
    assert!(row.contains("data-actuelle=\"true\""), "{row}");
    assert!(row.contains("data-restauree-de=\"1\""), "{row}");
    assert!(row.contains("Anne Active"), "{row}");
    assert_eq!(download(&mut anne, &file_link(row)).await.2, v1.to_vec());
    let current = attr_after(&page, "class=\"button telecharger\"", "href");
    assert_eq!(download(&mut anne, &current).await.2, v1.to_vec());
    for (n, bytes) in [(1, v1), (2, v2), (3, v3)] {
        let (status, _, got) = download(&mut anne, &file_link(version_row(&page, n))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got, bytes.to_vec(), "version {n} is still there");
    }
    assert_eq!(blob_count(host, w.sid).await, 3, "a restore stores no file");
    // Each new version, the restore included, told the projects module's copy.
    let events = saved_events(host, w.sid, &doc).await;
    let numbers: Vec<i64> = events
        .iter()
        .filter_map(|e| e["version"].as_i64())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4], "{events:?}");
    assert!(
        events
            .windows(2)
            .all(|pair| pair[0]["sequence"].as_i64() < pair[1]["sequence"].as_i64()),
        "{events:?}"
    );
    let last = &events[3];
    assert_eq!(last["group_id"], w.open.as_str());
    assert_eq!(last["path"], format!("/d/{doc}").as_str());
    assert_eq!(last["by_name"], "Anne Active");
    assert_eq!(last["name"], "protocole.txt");
    assert_eq!(last["size"].as_i64(), Some(v1.len() as i64));
    assert_eq!(last["deleted"], false);
    let (_, group_page) = anne.get(&format!("{A}/g/{}", w.open)).await;
    assert!(group_page.contains("data-versions=\"4\""), "{group_page}");

    // What cannot be restored: the current version, an unknown one, by a guest.
    let (status, _, body) = anne
        .post_form(&format!("{A}/d/{doc}/versions/4/restaurer"), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    for n in ["99", "0", "abc"] {
        let (status, _, _) = anne
            .post_form(&format!("{A}/d/{doc}/versions/{n}/restaurer"), &[])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "version {n}");
    }
    let mut gus = signed_in(host, "gus@a.test").await;
    let (status, _, body) = gus
        .post_form(&format!("{A}/d/{doc}/versions/2/restaurer"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, _) = gus
        .post_form(
            &format!("{A}/d/{doc}/versions/2/nommer"),
            &[("libelle", "Par Gustave")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = anne.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("data-version-actuelle=\"4\""), "{page}");
    assert!(!page.contains("Par Gustave"), "{page}");
    assert_eq!(
        saved_events(host, w.sid, &doc).await.len(),
        4,
        "a refusal publishes nothing"
    );

    // A version named as it is deposited; a name taken off puts it back in the history.
    let (status, _, body) = new_version(
        &mut remi,
        &doc,
        "protocole.txt",
        b"Protocole final",
        "Envoyée à l’ARS",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _, _) = anne
        .post_form(
            &format!("{A}/d/{doc}/versions/1/nommer"),
            &[("libelle", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = anne.get(&format!("{A}/d/{doc}")).await;
    let named = section(&page, "versions-nommees");
    assert!(named.contains("data-version=\"5\""), "{named}");
    assert!(named.contains("Envoyée à l’ARS"), "{named}");
    assert!(!named.contains("data-version=\"1\""), "{named}");
    assert!(section(&page, "historique").contains("data-version=\"1\""));
    assert_eq!(blob_count(host, w.sid).await, 4);
    assert_eq!(
        store.objects(host, w.sid).await,
        blob_keys(host, w.sid).await,
        "one object per file, four files for five versions"
    );

    // A file over the host's blob limit: 413 in French, no version record, no object.
    let objects = store.objects(host, w.sid).await;
    let big = vec![b'x'; (1 << 20) + (1 << 19)];
    let (status, _, body) = new_version(&mut anne, &doc, "gros.bin", &big, "").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("Un fichier dépasse la taille maximale que la plateforme accepte."),
        "{body}"
    );
    assert_eq!(version_records(host, w.sid).await, 5);
    assert_eq!(blob_count(host, w.sid).await, 4);
    assert_eq!(
        store.objects(host, w.sid).await,
        objects,
        "no object stored"
    );
    let (_, page) = anne.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("data-version-actuelle=\"5\""), "{page}");
    assert!(!page.contains("data-version=\"6\""), "{page}");
    // With a small file in the same form: the small one, stored first, is deleted in the
    // same call, and its object erased by the host's sweep.
    let (status, _, body) = add(
        &mut remi,
        &w.open,
        "",
        &[("petit.txt", b"petit"), ("gros.bin", &big)],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(blob_count(host, w.sid).await, 4);
    assert_eq!(version_records(host, w.sid).await, 5);
    host.state
        .blobs
        .sweep_erasures(&host.state.db, 100)
        .await
        .expect("the sweep runs");
    assert_eq!(store.objects(host, w.sid).await, objects, "nothing kept");
    let (_, group_page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(
        document_ids(&group_page),
        std::slice::from_ref(&doc),
        "{group_page}"
    );
    assert_eq!(
        saved_events(host, w.sid, &doc).await.len(),
        5,
        "a refusal publishes nothing"
    );
}

#[tokio::test]
async fn html_is_a_download_images_and_pdfs_preview_and_hostile_names_stay_text() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let html: &[u8] = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let files: Vec<(&str, &str, &str, &[u8])> = vec![
        file("page.html", "text/html", html),
        file("piege.txt", "text/plain", b"<script>alert(1)</script>"),
        file(
            "<img src=x onerror=alert(1)>.txt",
            "text/plain",
            b"nom hostile",
        ),
        file("../../etc/passwd", "text/plain", b"root:x:0:0"),
        file("%2e%2e%2fsecret.txt", "text/plain", b"pourcentages"),
        file("/etc/shadow", "text/plain", b"chemin absolu"),
        file("C:\\Windows\\win.ini", "text/plain", b"chemin windows"),
        file("nul\u{0}.txt", "text/plain", b"octet nul"),
        file("photo.png", "text/plain", PNG),
        file("compte rendu.pdf", "application/octet-stream", PDF),
    ];
    let (status, _, body) = post_multipart(
        &mut remi,
        &format!("{A}/g/{}/documents", w.open),
        &[("dossier", "")],
        &files,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(document_ids(&page).len(), files.len(), "{page}");

    // Names are text: escaped, never markup, never a path.
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;.txt"),
        "{page}"
    );
    assert!(!page.contains("<img src=x"), "{page}");
    for shown in [
        "../../etc/passwd",
        "%2e%2e%2fsecret.txt",
        "/etc/shadow",
        "C:\\Windows\\win.ini",
        "nul.txt",
    ] {
        document_named(&page, shown);
    }
    assert!(!page.contains('\u{0}'), "no NUL reaches a page");
    for name in blob_names(&host, w.sid).await {
        assert!(
            !name.contains('/') && !name.contains('\\') && !name.contains('\u{0}'),
            "the stored name {name:?} holds no path"
        );
        assert!(!name.starts_with('.'), "{name:?}");
    }
    let passwd = document_named(&page, "../../etc/passwd");
    let (_, doc_page) = remi.get(&format!("{A}/d/{passwd}")).await;
    let (status, headers, bytes) = download(
        &mut remi,
        &attr_after(&doc_page, "class=\"button telecharger\"", "href"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, b"root:x:0:0".to_vec());
    let disposition = header(&headers, http::header::CONTENT_DISPOSITION);
    let upper = disposition.to_ascii_uppercase();
    assert!(
        !disposition.contains('/') && !upper.contains("%2F") && !upper.contains("%5C"),
        "{disposition}"
    );

    // HTML, even declared so, and text that is markup: downloads, never inline.
    for name in ["page.html", "piege.txt"] {
        let id = document_named(&page, name);
        let (_, doc_page) = remi.get(&format!("{A}/d/{id}")).await;
        assert!(doc_page.contains("pas-d-apercu"), "{doc_page}");
        assert!(!doc_page.contains("class=\"apercu\""), "{doc_page}");
        let (status, headers, bytes) = download(
            &mut remi,
            &attr_after(&doc_page, "class=\"button telecharger\"", "href"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            header(&headers, http::header::CONTENT_DISPOSITION).starts_with("attachment"),
            "{name}: {headers:?}"
        );
        let content_type = header(&headers, http::header::CONTENT_TYPE);
        assert_eq!(content_type, "application/octet-stream", "{name}");
        assert!(!bytes.is_empty());
    }
    let (_, doc_page) = remi
        .get(&format!("{A}/d/{}", document_named(&page, "page.html")))
        .await;
    let link = attr_after(&doc_page, "class=\"button telecharger\"", "href");
    let (_, headers, bytes) = download(&mut remi, &link).await;
    assert_eq!(bytes, html.to_vec());
    assert_eq!(
        header(&headers, http::header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );

    // An image (declared text) is one, previewed in the page; a PDF opens in a new tab.
    let photo = document_named(&page, "photo.png");
    let (_, doc_page) = remi.get(&format!("{A}/d/{photo}")).await;
    let src = attr_after(&doc_page, "<figure class=\"apercu\"", "src");
    assert!(src.starts_with(FILES), "{doc_page}");
    let (status, headers, bytes) = download(&mut remi, &src).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PNG.to_vec());
    assert_eq!(header(&headers, http::header::CONTENT_TYPE), "image/png");
    assert!(header(&headers, http::header::CONTENT_DISPOSITION).starts_with("inline"));
    let pdf = document_named(&page, "compte rendu.pdf");
    let (_, doc_page) = remi.get(&format!("{A}/d/{pdf}")).await;
    let preview = attr_after(&doc_page, "class=\"button apercu\"", "href");
    assert_eq!(
        attr_after(&doc_page, "class=\"button apercu\"", "target"),
        "_blank"
    );
    let (status, headers, bytes) = download(&mut remi, &preview).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF.to_vec());
    assert_eq!(
        header(&headers, http::header::CONTENT_TYPE),
        "application/pdf"
    );
    assert!(header(&headers, http::header::CONTENT_DISPOSITION).starts_with("inline"));
}

#[tokio::test]
async fn the_file_limit_and_the_quota_refuse_in_french_and_keep_nothing() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut adele = signed_in(&host, "adele@a.test").await;

    // Only admins set the limits; a bad value changes nothing.
    let (status, _, body) = remi
        .post_form(
            &format!("{A}/reglages"),
            &[("limite_fichier_mo", "500"), ("quota_mo", "500")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = adele
        .post_form(
            &format!("{A}/reglages"),
            &[("limite_fichier_mo", "0"), ("quota_mo", "2")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("La taille maximale d’un fichier doit être"),
        "{body}"
    );
    let (status, _, body) = adele
        .post_form(
            &format!("{A}/reglages"),
            &[("limite_fichier_mo", "1"), ("quota_mo", "2")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = adele.get(&format!("{A}/reglages")).await;
    assert_eq!(attr_after(&page, "id=\"limite_fichier_mo\"", "value"), "1");
    assert_eq!(attr_after(&page, "id=\"quota_mo\"", "value"), "2");

    // One file over the limit, alone or with a good one: 413 in French, nothing kept.
    let big = vec![b'x'; (1 << 20) + (1 << 19)];
    let (status, _, body) = add(&mut remi, &w.open, "", &[("gros.bin", &big)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains(
            "Le fichier « gros.bin » (1,5 Mo) dépasse la taille maximale de 1 Mo par fichier"
        ),
        "{body}"
    );
    let (status, _, body) = add(
        &mut remi,
        &w.open,
        "",
        &[("petit.txt", b"petit"), ("gros.bin", &big)],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(blob_count(&host, w.sid).await, 0);
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert!(document_ids(&page).is_empty(), "{page}");
    // An empty file, or none.
    let (status, _, body) = add(&mut remi, &w.open, "", &[("vide.txt", b"")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _, body) = post_multipart(
        &mut remi,
        &format!("{A}/g/{}/documents", w.open),
        &[("dossier", "")],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Choisissez au moins un fichier."), "{body}");
    assert_eq!(blob_count(&host, w.sid).await, 0);

    // The quota: every version counts, a restore does not; past it, nothing is kept.
    let part = vec![b'y'; 900 << 10];
    for name in ["a.bin", "b.bin"] {
        let (status, _, body) = add(&mut remi, &w.open, "", &[(name, &part)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{name}: {body}");
    }
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    let a = document_named(&page, "a.bin");
    let (status, _, body) = new_version(&mut remi, &a, "a.bin", &[b'z'; 10 << 10], "").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let used = (900 << 10) * 2 + (10 << 10);
    let (_, settings) = adele.get(&format!("{A}/reglages")).await;
    assert_eq!(
        attr_after(&settings, "class=\"usage\"", "data-octets"),
        used.to_string()
    );
    let (status, _, body) = remi
        .post_form(&format!("{A}/d/{a}/versions/1/restaurer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, settings) = adele.get(&format!("{A}/reglages")).await;
    assert_eq!(
        attr_after(&settings, "class=\"usage\"", "data-octets"),
        used.to_string(),
        "a restore takes no space"
    );
    let (status, _, body) = add(&mut remi, &w.open, "", &[("c.bin", &part)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("L’espace des documents de la structure est plein"),
        "{body}"
    );
    let (status, _, body) = new_version(&mut remi, &a, "a.bin", &part, "").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(blob_count(&host, w.sid).await, 3);
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(document_ids(&page).len(), 2, "{page}");
    assert!(page.contains("data-versions=\"3\""), "{page}");
}

#[tokio::test]
async fn a_body_over_the_hosts_limit_is_refused_before_the_module_runs() {
    // The host's request body limit: refused before the module runs.
    let host = Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.body_limit_mib = 1;
    })
    .await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let big = vec![b'x'; (1 << 20) + (1 << 19)];
    let (status, _, body) = add(&mut remi, &w.open, "", &[("gros.bin", &big)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("Le contenu envoyé est trop volumineux."),
        "{body}"
    );
    assert_eq!(blob_count(&host, w.sid).await, 0);
}

#[tokio::test]
async fn a_file_over_the_hosts_blob_limit_takes_the_other_files_of_its_form_with_it() {
    // The host's blob limit, below the module's: the file it refuses takes the files
    // already stored by the same form with it.
    let big = vec![b'x'; (1 << 20) + (1 << 19)];
    let host = Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
        c.blob_limit_mib = 1;
    })
    .await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let (status, _, body) = add(
        &mut remi,
        &w.open,
        "",
        &[("petit.txt", b"petit"), ("gros.bin", &big)],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("Un fichier dépasse la taille maximale que la plateforme accepte."),
        "{body}"
    );
    assert_eq!(blob_count(&host, w.sid).await, 0);
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert!(document_ids(&page).is_empty(), "{page}");
}

#[tokio::test]
async fn folders_hold_documents_within_their_project() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let (status, location, body) = remi
        .post_form(
            &format!("{A}/g/{}/dossiers", w.open),
            &[("nom", "Comptes rendus"), ("parent", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("the new folder");
    let folder = location
        .split("dossier=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("the folder's id")
        .to_string();
    let (status, _, body) = add(
        &mut remi,
        &w.open,
        &folder,
        &[("cr-mars.txt", b"Compte rendu")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, root) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert!(
        root.contains(&format!("data-dossier=\"{folder}\" data-documents=\"1\"")),
        "{root}"
    );
    assert!(
        document_ids(&root).is_empty(),
        "the document is in its folder: {root}"
    );
    let (status, inside) = remi
        .get(&format!("{A}/g/{}?dossier={folder}", w.open))
        .await;
    assert_eq!(status, StatusCode::OK);
    let cr = document_named(&inside, "cr-mars.txt");
    let events = saved_events(&host, w.sid, &cr).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["folder"], "Comptes rendus");

    // The same name again in the same place (case and accents aside): refused.
    let (status, _, body) = remi
        .post_form(
            &format!("{A}/g/{}/dossiers", w.open),
            &[("nom", "comptes RENDUS"), ("parent", "")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("Un dossier de ce nom existe déjà à cet endroit."),
        "{body}"
    );
    // A folder of another project, given as the place of a document or a folder: none.
    let (status, _, _) = add(&mut remi, &w.other, &folder, &[("x.txt", b"x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = remi
        .get(&format!("{A}/g/{}?dossier={folder}", w.other))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Members do not create folders.
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, _, body) = anne
        .post_form(
            &format!("{A}/g/{}/dossiers", w.open),
            &[("nom", "Le mien"), ("parent", "")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains(
            "Seuls les référents et les coordinateurs créent des dossiers dans ce projet."
        ),
        "{body}"
    );
    let (_, root) = anne.get(&format!("{A}/g/{}", w.open)).await;
    assert!(!root.contains("Le mien"), "{root}");
    assert_eq!(blob_count(&host, w.sid).await, 1);
}

#[tokio::test]
async fn comments_mention_people_by_mail_without_their_text() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let (status, _, body) = add(&mut remi, &w.open, "", &[("cr-patient-dupont.txt", b"CR")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    let doc = document_named(&page, "cr-patient-dupont.txt");

    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, location, body) = anne
        .post_form(
            &format!("{A}/d/{doc}/fil"),
            &[(
                "texte",
                "Bonjour @Rémi Référent, pouvez-vous relire la page 2 ?",
            )],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.is_some_and(|l| l.contains("#message-")));
    let (_, page) = remi.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("pouvez-vous relire la page 2"), "{page}");
    let (_, group_page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert!(
        group_page.contains("data-commentaires=\"1\""),
        "{group_page}"
    );

    let mailed = mails(&host, w.sid, "remi@a.test", "mentionné").await;
    assert_eq!(mailed.len(), 1, "{mailed:?}");
    let mail = &mailed[0];
    assert!(mail.contains("Anne Active"), "{mail}");
    assert!(
        mail.contains(&format!("/cpts-a/documents/d/{doc}#message-")),
        "{mail}"
    );
    assert!(!mail.contains("relire"), "no text of the comment: {mail}");
    assert!(!mail.contains("dupont"), "no name of the document: {mail}");
    assert!(mail.contains("aucune donnée de santé"), "{mail}");
    assert!(
        mails(&host, w.sid, "anne@a.test", "mentionné")
            .await
            .is_empty()
    );

    // The author edits; a référent deletes; a guest does neither to another's comment.
    let at = page.find("id=\"message-").expect("the comment");
    let id_start = at + "id=\"message-".len();
    let message = page[id_start..id_start + page[id_start..].find('"').unwrap()].to_string();
    let mut gus = signed_in(&host, "gus@a.test").await;
    let (status, _, _) = gus
        .post_form(&format!("{A}/d/{doc}/fil/{message}/supprimer"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = gus
        .post_form(
            &format!("{A}/d/{doc}/fil/{message}/modifier"),
            &[("texte", "Réécrit par Gustave")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A guest comments (mentioning works for him too), edits and deletes his own.
    let (status, location, body) = gus
        .post_form(
            &format!("{A}/d/{doc}/fil"),
            &[("texte", "Merci @Anne Active, je relis la page 3.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let own = location
        .as_deref()
        .and_then(|l| l.split("#message-").nth(1))
        .expect("the guest's comment's anchor")
        .to_string();
    assert_eq!(
        mails(&host, w.sid, "anne@a.test", "mentionné").await.len(),
        1,
        "the guest's mention is mailed"
    );
    let (status, _, body) = gus
        .post_form(
            &format!("{A}/d/{doc}/fil/{own}/modifier"),
            &[("texte", "Page 3 relue.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = remi.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("Page 3 relue."), "{page}");
    assert!(!page.contains("Réécrit par Gustave"), "{page}");
    let (status, _, body) = gus
        .post_form(&format!("{A}/d/{doc}/fil/{own}/supprimer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = remi.get(&format!("{A}/d/{doc}")).await;
    assert!(!page.contains("Page 3 relue."), "{page}");
    let (status, _, body) = anne
        .post_form(
            &format!("{A}/d/{doc}/fil/{message}/modifier"),
            &[("texte", "Relu : tout est bon.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = gus.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("Relu : tout est bon."), "{page}");
    let (status, _, body) = remi
        .post_form(&format!("{A}/d/{doc}/fil/{message}/supprimer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = gus.get(&format!("{A}/d/{doc}")).await;
    assert!(!page.contains("Relu : tout est bon."), "{page}");
    let (_, group_page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert!(
        group_page.contains("data-commentaires=\"0\""),
        "{group_page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projects_page_lists_the_documents_of_its_group_at_their_latest_version() {
    use crate::projects::{count, first, listed_documents, page, project_path};
    let host = cloud_host().await;
    // Both modules in A: Claire made the projects of the open and the closed group, whose
    // référent is Rémi; Anne is active in both, Oscar in none.
    let w = crate::projects::world(&host, &["projects", "cloud"]).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;

    // Nothing added yet: no « Documents » section on the project page.
    let p = page(&mut oscar, &project_path(&w.open)).await;
    assert_eq!(count(&p, "section#documents"), 0, "{p}");

    // The référent adds a document to the open project's group, then a new version; and
    // another document to the closed project's group.
    let name = "compte-rendu-comite-snp.pdf";
    let (status, _, body) = add(&mut remi, &w.open, "", &[(name, PDF)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, folder) = remi.get(&format!("{A}/g/{}", w.open)).await;
    let minutes = document_named(&folder, name);
    let mut second = PDF.to_vec();
    second.extend_from_slice(b"% relu par le groupe de travail\n");
    let (status, _, body) = new_version(&mut remi, &minutes, name, &second, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let secret = "plan-confidentiel.txt";
    let (status, _, body) = add(&mut remi, &w.closed, "", &[(secret, b"Plan d'action")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, folder) = remi.get(&format!("{A}/g/{}", w.closed)).await;
    let confidential = document_named(&folder, secret);
    assert_eq!(saved_events(&host, w.sid, &minutes).await.len(), 2);

    deliver_documents(&host, w.sid).await;

    // The open project's page lists it once, its name linking to its page in the
    // documents module, at version 2, by Rémi; and links to all the group's documents.
    assert_eq!(
        listed_documents(&mut oscar, &w.open).await,
        vec![(minutes.clone(), name.to_string())]
    );
    let p = page(&mut oscar, &project_path(&w.open)).await;
    let item = first(&p, "section#documents li[data-document]");
    let link = item.first("a").get("href");
    assert_eq!(link, format!("{A}/d/{minutes}"), "{}", item.html);
    assert_eq!(
        item.first("span.version").text(),
        "version 2",
        "{}",
        item.html
    );
    assert!(item.text().contains("Rémi Référent"), "{}", item.html);
    assert_eq!(
        first(&p, "section#documents a.tous-documents").get("href"),
        format!("{A}/g/{}", w.open)
    );
    let (status, document_page) = oscar.get(&link).await;
    assert_eq!(status, StatusCode::OK, "{document_page}");
    assert!(
        document_page.contains("data-version-actuelle=\"2\""),
        "{document_page}"
    );

    // The closed group's document is not on the open project's page; it is on its own
    // project's page, for its members only.
    assert!(
        !p.contains(&confidential) && !p.contains(secret),
        "the closed group's document on another project's page: {p}"
    );
    assert_eq!(
        listed_documents(&mut anne, &w.closed).await,
        vec![(confidential.clone(), secret.to_string())]
    );
    let (status, body) = oscar.get(&project_path(&w.closed)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains(&confidential) && !body.contains(secret));
}

/// Documents added while only the documents module was enabled never reached a projects
/// module enabled later; a coordinator's « Republier les documents aux autres modules »
/// gives it each document once, at its current version, with the payload its last save
/// published (but `saved_at`); pressing it again changes nothing; a member sees no
/// button and is refused, nothing published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republishing_gives_a_projects_module_enabled_later_every_document_once() {
    use crate::projects::{all, count, listed_documents, page, project_path};
    let host = cloud_host().await;
    // Only the documents module in A.
    let w = world(&host).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;

    // In the open project: a document in a folder, and one at the root given a second
    // version; in the closed project, one more.
    let (status, location, body) = remi
        .post_form(
            &format!("{A}/g/{}/dossiers", w.open),
            &[("nom", "Comptes rendus"), ("parent", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("the new folder");
    let folder = location
        .split("dossier=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("the folder's id")
        .to_string();
    let minutes_name = "cr-comite-mars.txt";
    let (status, _, body) = add(
        &mut remi,
        &w.open,
        &folder,
        &[(minutes_name, b"Compte rendu du comite")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, inside) = remi
        .get(&format!("{A}/g/{}?dossier={folder}", w.open))
        .await;
    let minutes = document_named(&inside, minutes_name);
    let plan_name = "plan-d-action.pdf";
    let (status, _, body) = add(&mut remi, &w.open, "", &[(plan_name, PDF)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, root) = remi.get(&format!("{A}/g/{}", w.open)).await;
    let plan = document_named(&root, plan_name);
    let mut second = PDF.to_vec();
    second.extend_from_slice(b"% relu par le groupe de travail\n");
    let (status, _, body) = new_version(&mut remi, &plan, plan_name, &second, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let secret_name = "plan-confidentiel.txt";
    let (status, _, body) = add(&mut remi, &w.closed, "", &[(secret_name, b"Plan d'action")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, closed_root) = remi.get(&format!("{A}/g/{}", w.closed)).await;
    let secret = document_named(&closed_root, secret_name);

    // Fanned out while no module subscribes: nobody receives them, ever.
    maillage::events::dispatch(&host.state)
        .await
        .expect("a dispatch round");
    let originals = saved_after(&host, w.sid, 0).await;
    assert_eq!(
        originals.len(),
        4,
        "three documents and a version: {originals:?}"
    );

    // The projects module, enabled now, and a project for each group: no document.
    let plugin = host
        .state
        .registry
        .install(&crate::support::wasm("projects"))
        .await
        .expect("install");
    let m = plugin.manifest();
    let granted: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
    host.state
        .db
        .enable_module(w.sid, &m.id, &m.version.to_string(), &granted)
        .await
        .unwrap();
    for (group, numero, mission) in [(&w.open, "1.2", "1"), (&w.closed, "3.1", "3")] {
        let (status, _, body) =
            crate::projects::create_project(&mut claire, group, numero, mission, &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "project {numero}: {body}");
    }
    for group in [&w.open, &w.closed] {
        let p = page(&mut claire, &project_path(group)).await;
        assert_eq!(
            count(&p, "section#documents"),
            0,
            "nothing reached the projects module yet: {p}"
        );
    }

    // A member sees no button and is refused; nothing is published.
    let action = format!("action=\"{A}/republier\"");
    let (status, home) = anne.get(&format!("{A}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!home.contains(&action), "no button for a member: {home}");
    let before = last_event(&host, w.sid).await;
    let (status, _, body) = anne.post_form(&format!("{A}/republier"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("Seuls les coordinateurs republient les documents aux autres modules."),
        "{body}"
    );
    assert_eq!(last_event(&host, w.sid).await, before, "nothing published");

    // The coordinator republishes: one event per document, as last saved.
    let (status, home) = claire.get(&format!("{A}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains(&action), "the coordinator's button: {home}");
    assert!(home.contains("Republier les documents aux autres modules"));
    let mut open_expected = vec![
        (minutes.clone(), minutes_name.to_string()),
        (plan.clone(), plan_name.to_string()),
    ];
    open_expected.sort();
    for round in 1..=2 {
        let before = last_event(&host, w.sid).await;
        let (status, location, body) = claire.post_form(&format!("{A}/republier"), &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "round {round}: {body}");
        let location = location.expect("back to « Documents »");
        assert_eq!(location, format!("{A}/?ok=republie&n=3"), "round {round}");
        let (status, home) = claire.get(&location).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            home.contains("3 documents republiés aux autres modules."),
            "round {round}: {home}"
        );
        let republished = saved_after(&host, w.sid, before).await;
        let mut ids: Vec<&str> = republished
            .iter()
            .map(|p| p["document"].as_str().expect("the document's id"))
            .collect();
        ids.sort_unstable();
        let mut wanted = vec![minutes.as_str(), plan.as_str(), secret.as_str()];
        wanted.sort_unstable();
        assert_eq!(ids, wanted, "round {round}: each document once");
        for payload in &republished {
            let id = payload["document"].as_str().unwrap();
            let last = originals
                .iter()
                .rev()
                .find(|p| p["document"] == id)
                .expect("an original event");
            let strip = |p: &serde_json::Value| {
                let mut p = p.clone();
                let saved_at = p
                    .as_object_mut()
                    .unwrap()
                    .remove("saved_at")
                    .and_then(|s| s.as_i64())
                    .expect("saved_at");
                (p, saved_at)
            };
            let (now_sent, saved_at) = strip(payload);
            let (then_sent, then_at) = strip(last);
            assert_eq!(now_sent, then_sent, "round {round}: {id}");
            assert!(saved_at >= then_at, "round {round}: {id}");
        }
        let plan_sent = republished
            .iter()
            .find(|p| p["document"] == plan.as_str())
            .unwrap();
        assert_eq!(plan_sent["version"], 2, "{plan_sent}");
        assert_eq!(plan_sent["sequence"], 2, "{plan_sent}");
        let minutes_sent = republished
            .iter()
            .find(|p| p["document"] == minutes.as_str())
            .unwrap();
        assert_eq!(minutes_sent["folder"], "Comptes rendus", "{minutes_sent}");

        deliver_documents_after(&host, w.sid, before).await;
        let mut listed = listed_documents(&mut claire, &w.open).await;
        listed.sort();
        assert_eq!(listed, open_expected, "round {round}: each document once");
        let p = page(&mut claire, &project_path(&w.open)).await;
        for li in all(&p, "section#documents li[data-document]") {
            let version = li.first("span.version").text();
            if li.get("data-document") == plan {
                assert_eq!(version, "version 2", "round {round}: {}", li.html);
            } else {
                assert_eq!(version, "version 1", "round {round}: {}", li.html);
                assert!(li.text().contains("Comptes rendus"), "{}", li.html);
            }
        }
        assert_eq!(
            listed_documents(&mut anne, &w.closed).await,
            vec![(secret.clone(), secret_name.to_string())],
            "round {round}"
        );
    }

    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE structure_id = $1 AND action = 'documents.republier'",
    )
    .bind(w.sid)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 2);
}
