//! The isolation matrix: every route × every role × (own structure, other structure).
//! Nothing of another structure is ever shown, and no request changes it; inside its
//! own structure each role gets exactly the pages its role allows. The modules are in
//! it too: polls (with its routes since 0.3.0: edit, close, exports, widget), the
//! agenda (every page and action, aimed at the other structure's meetings) and the
//! indemnities (every page, export and treasurer action, aimed at the other structure's
//! line; its own rule set is offered to nobody else; a treasurer of A among the actors),
//! the projects (every page, export and action, aimed at B's project, task, time
//! entry, action and message) and the documents (every page and form, uploads
//! included, aimed at B's document, its versions, folder and comment, and B's files
//! through both structures' download routes; B's Markdown text, its revisions and its
//! publishing forms). The national library is the one place where B's data is read
//! from A, by design: what B published (not the text's other revisions, not its
//! document) is read by every member of A, where A enabled the documents module with
//! "library"; its pending proposal, its withdrawal and its moderation stay B's and the
//! platform operators' (404 or 403 from A, 422 for an operator's bad form).

use http::StatusCode;
use maillage::tenancy::Role;

use crate::support::{Client, Host, PASSWORD, meeting_id};

/// Marker present in every piece of structure B's data.
const SECRET: &str = "SECRET-B";

/// Ids of structure B's data, to aim requests at.
struct Target {
    poll: String,
    group: i64,
    person: i64,
    request: i64,
    mail: i64,
    /// A professional of B's directory.
    professional: String,
    /// The link request (approved) of B's person for that professional.
    link: String,
    /// B's meetings: one to come (answered, with an external guest, a compte-rendu and a
    /// message in its thread), one under way (signed), one closed (signed, recorded on
    /// the sheet, closed).
    meeting: String,
    current: String,
    closed: String,
    /// The message of the coming meeting's thread.
    message: String,
    /// The feed token of B's person (« Mon compte » revokes it).
    feed: i64,
    /// A line of B's indemnities (from its closed meeting).
    line: String,
    /// B's project task (on B's closed group, the project's id being the group's), its
    /// time entry, its action and its thread message.
    task: String,
    entry: String,
    action: String,
    project_message: String,
    /// B's announcement.
    announcement: String,
    /// B's document (in a folder of B's project, two versions, the second named), its
    /// folder, its comment, and the files of its versions (blob ids).
    document: String,
    folder: String,
    comment: String,
    blobs: Vec<String>,
    /// B's Markdown text (two revisions, the second published), the file document B
    /// published, their library entries, and the token of B's proposal of a new version
    /// of that file, not confirmed (see [`publish_library`]).
    text: String,
    shared: String,
    library_text: String,
    library_file: String,
    proposal: String,
}

/// What a structure published in the national library through its documents module.
struct Library {
    text: String,
    shared: String,
    text_entry: String,
    file_entry: String,
    proposal: String,
}

/// The title and the text of the revision a structure publishes, and its shared file:
/// what every member of every structure reads (no marker of B's data in them).
const LIBRARY_TEXT_TITLE: &str = "Conduite à tenir partagée";
const LIBRARY_TEXT: &str =
    "# Conduite à tenir\n\nAppeler le médecin traitant, puis la régulation du SAS.\n";
const LIBRARY_FILE_NAME: &str = "fiche-partagee.txt";
const LIBRARY_FILE: &str = "Fiche partagée : qui appeler, et quand.\n";

/// Proposes `doc` of the documents module at `base` (e.g. "/cpts-b") to the national
/// library, as `client`, with the publish form's `fields`: the host's confirmation page
/// it leads to.
async fn propose_document(
    client: &mut Client<'_>,
    base: &str,
    doc: &str,
    fields: &[(&str, &str)],
) -> String {
    let (status, location, body) = client
        .post_form(&format!("{base}/documents/d/{doc}/publier"), fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "proposing {doc}: {body}");
    let page = location.expect("the host's confirmation page");
    assert!(
        page.starts_with(&format!("{base}/bibliotheque/confirmer/")),
        "{page}"
    );
    page
}

/// Confirms the proposal of the host's page `page` as its author: the entry published.
async fn confirm_proposal(client: &mut Client<'_>, page: &str) -> String {
    let (status, location, body) = client.post_form(page, &[("verifie", "oui")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "confirming {page}: {body}");
    let back = location.expect("back to the document");
    let entry = back
        .split("entree=")
        .nth(1)
        .unwrap_or_else(|| panic!("no entry in {back}"));
    assert!(
        !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit()),
        "{back}"
    );
    entry.to_string()
}

/// In project `group` of structure `slug`, as `client` (a coordinator or an admin): a
/// Markdown text titled `title` whose first revision is `draft` and second
/// [`LIBRARY_TEXT`], that second revision published; a file published; and a new
/// version of that file proposed, not confirmed.
async fn publish_library(
    host: &Host,
    client: &mut Client<'_>,
    slug: &str,
    group: i64,
    title: &'static str,
    draft: &str,
) -> Library {
    let base = format!("/{slug}");
    let documents = format!("{base}/documents");
    let text =
        crate::documents_merge::create_text(client, &documents, &group.to_string(), title, draft)
            .await
            .id;
    let (status, _, body) = client
        .post_form(
            &format!("{documents}/d/{text}/modifier"),
            &[
                ("titre", title),
                ("texte", LIBRARY_TEXT),
                ("resume", ""),
                ("base", "1"),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the text's revision 2: {body}"
    );
    let (status, _, body) = crate::cloud::post_multipart(
        client,
        &format!("{documents}/g/{group}/documents"),
        &[("dossier", "")],
        &[(
            "fichiers",
            LIBRARY_FILE_NAME,
            "text/plain",
            LIBRARY_FILE.as_bytes(),
        )],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the shared file: {body}");
    let shared: String = sqlx::query_scalar(
        "SELECT id FROM c_documents__documents WHERE structure_id = $1 AND f_name = $2",
    )
    .bind(host.structure_id(slug).await)
    .bind(LIBRARY_FILE_NAME)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    let page = propose_document(
        client,
        &base,
        &text,
        &[
            ("titre", LIBRARY_TEXT_TITLE),
            ("description", "Qui appeler, et quand."),
            ("mots_cles", "partage"),
            ("licence", "cc-by"),
            ("version", "2"),
        ],
    )
    .await;
    let text_entry = confirm_proposal(client, &page).await;
    let page = propose_document(
        client,
        &base,
        &shared,
        &[
            ("titre", "Fiche partagée"),
            ("description", ""),
            ("mots_cles", "partage"),
            ("licence", "etalab"),
            ("version", "1"),
        ],
    )
    .await;
    let file_entry = confirm_proposal(client, &page).await;
    let page = propose_document(
        client,
        &base,
        &shared,
        &[
            ("entree", file_entry.as_str()),
            ("titre", "Fiche partagée"),
            ("description", ""),
            ("mots_cles", "partage"),
            ("licence", "etalab"),
            ("version", "1"),
            ("note", "Relue."),
        ],
    )
    .await;
    let proposal = page
        .rsplit('/')
        .next()
        .expect("the proposal's token")
        .to_string();
    Library {
        text,
        shared,
        text_entry,
        file_entry,
        proposal,
    }
}

/// Plugin calls of the agenda (mail with its `.ics`, QR codes) take longer than the
/// suite's tight default deadline in debug builds; the documents module reads uploads
/// in the guest's memory (as `tests/cloud.rs` gives it).
async fn matrix_host() -> Host {
    Host::with_config(|c| {
        c.plugin_deadline_ms = 5000;
        c.plugin_memory_mib = 64;
    })
    .await
}

/// A meeting of the whole of B planned by its person (an admin: a coordinator for the
/// agenda), with every member and an external guest invited; returns its id.
async fn b_meeting(c: &mut Client<'_>, what: &str, start: &str) -> String {
    let title = format!("{SECRET}-REUNION-{what}");
    let place = format!("{SECRET}-LIEU");
    let agenda = format!("{SECRET}-ORDRE-DU-JOUR");
    let guest = format!("{SECRET}-INVITE <invite-b@exemple.fr>");
    let (status, location, body) = c
        .post_form(
            "/cpts-b/agenda/nouvelle",
            &[
                ("titre", title.as_str()),
                ("groupe", ""),
                ("debut", start),
                ("fuseau", "Europe/Paris"),
                ("duree", "90"),
                ("lieu", place.as_str()),
                ("ordre_du_jour", agenda.as_str()),
                ("invites", "groupe"),
                ("externes", guest.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "B's meeting {what}: {body}");
    meeting_id(&location.expect("a redirect to the meeting"))
}

/// Structure B filled with marked data: a member, a closed group with a pending join
/// request, a poll, an invitation mail, a directory, meetings (answered, signed, recorded,
/// closed: its event is in B's outbox, with minutes and a thread) and a feed address.
async fn seed_b(host: &Host) -> Target {
    let b = host.structure_id("cpts-b").await;
    let db = &host.state.db;
    let person = host
        .account(
            "cpts-b",
            "secret-b@exemple.fr",
            &format!("{SECRET}-PERSONNE"),
            Role::Admin,
        )
        .await;
    let asker = host
        .account(
            "cpts-b",
            "asker-b@exemple.fr",
            &format!("{SECRET}-DEMANDEUR"),
            Role::Member,
        )
        .await;
    let group = db
        .create_group(b, &format!("{SECRET}-GROUPE"), SECRET, false, person.id)
        .await
        .unwrap();
    let g = db.group(b, group, person.id).await.unwrap().unwrap();
    db.request_join(&g, asker.id, SECRET).await.unwrap();
    let request = db.pending_requests(group).await.unwrap()[0].id;
    let mail = host
        .state
        .mailer
        .enqueue(
            Some(b),
            "secret-b@exemple.fr",
            &format!("{SECRET}-COURRIEL"),
            SECRET,
        )
        .await
        .unwrap();
    let mut c = Client::new(host);
    c.login("secret-b@exemple.fr", PASSWORD).await;
    let (status, location, _) = c
        .post_form(
            "/cpts-b/polls/new",
            &[
                ("title", &format!("{SECRET}-SONDAGE")),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let poll = location.unwrap().rsplit('/').next().unwrap().to_string();
    // B's directory: a professional with a status, a private note, a linked account.
    let structure = host.state.db.structure(b).await.unwrap().unwrap();
    let extract = crate::directory::extract(&[crate::directory::line(
        "19999999999",
        (&format!("{SECRET}-NOM"), "Prénom"),
        crate::directory::MEDECIN,
        "",
        "74000",
        "secret-b-pro@exemple.fr",
    )]);
    crate::directory::import(host, &structure, extract.as_bytes())
        .await
        .unwrap();
    let (_, page) = c.get("/cpts-b/annuaire/").await;
    let professional = crate::directory::professional_id(&page, &format!("Prénom {SECRET}-NOM"));
    for (route, field, value) in [
        ("statut", "statut", "adherent".to_string()),
        ("note", "note", format!("{SECRET}-NOTE")),
    ] {
        let (status, _, _) = c
            .post_form(
                &format!("/cpts-b/annuaire/p/{professional}/{route}"),
                &[(field, &value)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    c.post_form("/cpts-b/annuaire/ma-fiche/lien", &[("rpps", "19999999999")])
        .await;
    // B's admin approves their own request (an admin has nobody above them).
    let (_, requests) = c.get("/cpts-b/annuaire/demandes").await;
    let link = requests
        .split("/annuaire/demandes/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("B's link request is listed")
        .to_string();
    let (status, _, _) = c
        .post_form(&format!("/cpts-b/annuaire/demandes/{link}/approuver"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // B's indemnities: its person is the treasurer, with a rule set of B's own installed,
    // the default one in force, a cap of its own and a marked expense of its group.
    let mut conn = db.pool().acquire().await.unwrap();
    maillage::people::set_module_role(
        &mut conn,
        b,
        person.id,
        "indemnites",
        "tresorier",
        true,
        person.id,
        maillage::storage::now_secs(),
    )
    .await
    .unwrap();
    drop(conn);
    host.state
        .registry
        .rule_sets()
        .install(&crate::support::wasm("rules_faulty"), Some(b))
        .await
        .unwrap();
    let forfait = crate::indemnity::version_of(host, "forfait").await;
    let (group_text, expense) = (group.to_string(), format!("{SECRET}-DEPENSE"));
    for (route, fields) in [
        (
            "/cpts-b/indemnites/bareme",
            vec![
                ("bareme", "forfait"),
                ("version", forfait.as_str()),
                ("effet", "2024-01-01"),
            ],
        ),
        (
            "/cpts-b/indemnites/plafond",
            vec![("annee", "2026"), ("montant", "1234")],
        ),
        (
            "/cpts-b/indemnites/budgets",
            vec![
                ("action", "depense"),
                ("groupe", group_text.as_str()),
                ("libelle", expense.as_str()),
                ("montant", "12"),
                ("date", "2026-01-15"),
            ],
        ),
    ] {
        let (status, _, body) = c.post_form(route, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "seeding B: {route}: {body}");
    }
    // B's agenda: a meeting to come, one under way since yesterday, one closed.
    let paris = "Europe/Paris";
    let meeting = b_meeting(
        &mut c,
        "A-VENIR",
        &crate::support::local_in(10, 20, 0, paris),
    )
    .await;
    let current = b_meeting(
        &mut c,
        "EN-COURS",
        &crate::support::local_in(-1, 9, 0, paris),
    )
    .await;
    let closed = b_meeting(&mut c, "CLOSE", &crate::support::local_in(-2, 14, 0, paris)).await;
    let asker_key = format!("u{}", asker.id);
    let asker_duration = format!("duree-{asker_key}");
    let agenda = "/cpts-b/agenda";
    let steps: Vec<(String, Vec<(&str, String)>)> = vec![
        (
            format!("{agenda}/r/{meeting}/reponse"),
            vec![("reponse", "present".to_string())],
        ),
        (
            format!("{agenda}/r/{meeting}/compte-rendu"),
            vec![
                ("texte", format!("Décision : {SECRET}-DECISION")),
                ("version", "0".to_string()),
            ],
        ),
        (
            format!("{agenda}/r/{meeting}/fil"),
            vec![("texte", format!("{SECRET}-MESSAGE"))],
        ),
        (format!("{agenda}/r/{current}/signer"), vec![]),
        (format!("{agenda}/r/{closed}/signer"), vec![]),
        (
            format!("{agenda}/r/{closed}/emargement"),
            vec![
                ("liste", asker_key.clone()),
                ("present", asker_key.clone()),
                (asker_duration.as_str(), "45".to_string()),
                ("ajout_externe", format!("{SECRET}-EXTERNE")),
            ],
        ),
        (format!("{agenda}/r/{closed}/cloturer"), vec![]),
    ];
    for (route, fields) in &steps {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, body) = c.post_form(route, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "seeding B: {route}: {body}");
    }
    let (status, _) = c.get(&format!("{agenda}/mes-reunions")).await;
    assert_eq!(status, StatusCode::OK);
    // The closing reaches B's indemnities: lines marked with B's titles and names.
    crate::indemnity::deliver(host, b).await;
    let line: String = sqlx::query_scalar(
        "SELECT id FROM c_indemnites__lignes WHERE structure_id = $1 ORDER BY id",
    )
    .bind(b)
    .fetch_all(db.pool())
    .await
    .unwrap()
    .into_iter()
    .next()
    .expect("B's closed meeting made indemnity lines");
    let message: String =
        sqlx::query_scalar("SELECT id FROM c_agenda__thread_messages WHERE structure_id = $1")
            .bind(b)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let feed: i64 = sqlx::query_scalar("SELECT id FROM feed_tokens WHERE structure_id = $1")
        .bind(b)
        .fetch_one(db.pool())
        .await
        .unwrap();
    // B's project on its closed group: an action, a task with time spent, a message.
    let projets = format!("/cpts-b/projets/p/{group}");
    let group_id = group.to_string();
    for (route, fields) in [
        (
            "/cpts-b/projets/nouveau".to_string(),
            vec![
                ("groupe", group_id.clone()),
                ("numero", "9.9".to_string()),
                ("mission", "6".to_string()),
                ("description", format!("{SECRET}-PROJET")),
                ("objectifs", format!("{SECRET}-OBJECTIF")),
            ],
        ),
        (
            format!("{projets}/actions/nouvelle"),
            vec![("titre", format!("{SECRET}-ACTION"))],
        ),
        (
            format!("{projets}/taches"),
            vec![
                ("titre", format!("{SECRET}-TACHE")),
                ("assigne", person.id.to_string()),
            ],
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, body) = c.post_form(&route, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "seeding B: {route}: {body}");
    }
    let first = |table: &'static str| {
        let pool = db.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>(&format!(
                "SELECT id FROM {table} WHERE structure_id = $1 ORDER BY id"
            ))
            .bind(b)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let task = first("c_projets__tasks").await;
    let action = first("c_projets__actions").await;
    for (route, fields) in [
        (
            format!("{projets}/taches/{task}/temps"),
            vec![
                ("date", "2026-11-02".to_string()),
                ("duree", "1 h 30".to_string()),
                ("note", format!("{SECRET}-TEMPS")),
            ],
        ),
        (
            format!("{projets}/fil"),
            vec![("texte", format!("{SECRET}-FIL"))],
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, body) = c.post_form(&route, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "seeding B: {route}: {body}");
    }
    let (status, _, body) = c
        .post_form(
            "/cpts-b/projets/annonces/nouvelle",
            &[
                ("titre", &format!("{SECRET}-ANNONCE")),
                ("texte", &format!("{SECRET}-TEXTE-ANNONCE")),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "seeding B's announcement: {body}"
    );
    let announcement = first("c_projets__announcements").await;
    let entry = first("c_projets__time_entries").await;
    let project_message = first("c_projets__thread_messages").await;
    // B's documents, through the module's own forms: a folder of B's project, a document
    // in it (its file marked too), a second version named as it is deposited, a comment
    // and limits of B's own; their `document.saved` reach B's project page.
    let documents = "/cpts-b/documents";
    let folder_name = format!("{SECRET}-DOSSIER");
    let (status, location, body) = c
        .post_form(
            &format!("{documents}/g/{group}/dossiers"),
            &[("nom", folder_name.as_str()), ("parent", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "seeding B's folder: {body}");
    let folder = location
        .as_deref()
        .and_then(|l| l.split("dossier=").nth(1))
        .and_then(|rest| rest.split('&').next())
        .expect("the new folder's id")
        .to_string();
    let file_name = format!("{SECRET}-DOCUMENT.txt");
    let (first_bytes, second_bytes) = (
        format!("{SECRET}-CONTENU version 1"),
        format!("{SECRET}-CONTENU version 2"),
    );
    let (status, _, body) = crate::cloud::post_multipart(
        &mut c,
        &format!("{documents}/g/{group}/documents"),
        &[("dossier", folder.as_str())],
        &[(
            "fichiers",
            file_name.as_str(),
            "text/plain",
            first_bytes.as_bytes(),
        )],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "seeding B's document: {body}"
    );
    let document = first("c_documents__documents").await;
    let label = format!("{SECRET}-VERSION");
    let (status, _, body) = crate::cloud::post_multipart(
        &mut c,
        &format!("{documents}/d/{document}/versions"),
        &[("libelle", label.as_str())],
        &[(
            "fichier",
            file_name.as_str(),
            "text/plain",
            second_bytes.as_bytes(),
        )],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "seeding B's version: {body}");
    for (route, fields) in [
        (
            format!("{documents}/d/{document}/fil"),
            vec![("texte", format!("{SECRET}-COMMENTAIRE"))],
        ),
        (
            format!("{documents}/reglages"),
            vec![
                ("limite_fichier_mo", "5".to_string()),
                ("quota_mo", "100".to_string()),
            ],
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, body) = c.post_form(&route, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "seeding B: {route}: {body}");
    }
    let comment = first("c_documents__thread_messages").await;
    let blobs: Vec<String> = sqlx::query_scalar(
        "SELECT f_blob FROM c_documents__versions WHERE structure_id = $1 ORDER BY f_number",
    )
    .bind(b)
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(blobs.len(), 2, "B's document has two versions");
    // B's national library: a text of B's closed project (its first revision and its
    // title marked, its second published), a file published, a new version proposed.
    let library = publish_library(
        host,
        &mut c,
        "cpts-b",
        group,
        "SECRET-B-TEXTE",
        &format!("{SECRET}-BROUILLON\n"),
    )
    .await;
    crate::cloud::deliver_documents(host, b).await;
    let (status, page) = c.get(&format!("/cpts-b/projets/p/{group}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&file_name),
        "B's project page lists B's document: {page}"
    );
    Target {
        poll,
        group,
        person: person.id,
        request,
        mail,
        professional,
        link,
        meeting,
        current,
        closed,
        message,
        feed,
        line,
        task,
        entry,
        action,
        project_message,
        announcement,
        document,
        folder,
        comment,
        blobs,
        text: library.text,
        shared: library.shared,
        library_text: library.text_entry,
        library_file: library.file_entry,
        proposal: library.proposal,
    }
}

/// Everything structure B is made of, as rows: any change shows up here.
async fn snapshot_b(host: &Host) -> Vec<String> {
    let b = host.structure_id("cpts-b").await;
    let queries = [
        "SELECT name || '|' || time_zone || '|' || territory FROM structures WHERE id = $1",
        "SELECT account_id || '|' || role FROM memberships WHERE structure_id = $1 ORDER BY account_id",
        "SELECT id || '|' || name || '|' || open || '|' || archived FROM work_groups WHERE structure_id = $1 ORDER BY id",
        "SELECT group_id || '|' || account_id || '|' || role FROM group_members WHERE group_id IN (SELECT id FROM work_groups WHERE structure_id = $1) ORDER BY 1",
        "SELECT id || '|' || status FROM group_join_requests WHERE group_id IN (SELECT id FROM work_groups WHERE structure_id = $1) ORDER BY id",
        "SELECT plugin_id || '|' || version || '|' || granted FROM structure_modules WHERE structure_id = $1 ORDER BY plugin_id",
        "SELECT collection || '|' || doc_id || '|' || value FROM plugin_documents WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_title || '|' || COALESCE(f_group_id, '') || '|' || COALESCE(f_status, '') || '|' || COALESCE(f_chosen_slot, '') || '|' || COALESCE(CAST(f_deadline AS TEXT), '') || '|' || COALESCE(f_slots, '') || '|' || CAST(updated_at AS TEXT) FROM c_polls__polls WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_poll || '|' || f_participant || '|' || f_choices || '|' || COALESCE(f_comment, '') || '|' || CAST(updated_at AS TEXT) FROM c_polls__answers WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_title, '') || '|' || COALESCE(f_status, '') || '|' || COALESCE(f_attendance, '') || '|' || COALESCE(CAST(f_revision AS TEXT), '') || '|' || COALESCE(CAST(f_sequence AS TEXT), '') || '|' || COALESCE(CAST(f_start_at AS TEXT), '') || '|' || COALESCE(CAST(f_duration AS TEXT), '') || '|' || COALESCE(f_place, '') || '|' || COALESCE(f_agenda, '') || '|' || COALESCE(f_group_id, '') || '|' || COALESCE(f_reminder_timer, '') || '|' || CAST(updated_at AS TEXT) FROM c_agenda__meetings WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_meeting, '') || '|' || COALESCE(f_key, '') || '|' || COALESCE(f_user, '') || '|' || COALESCE(f_name, '') || '|' || COALESCE(f_answer, '') || '|' || COALESCE(CAST(f_answered_at AS TEXT), '') || '|' || COALESCE(CAST(f_late AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_agenda__invitations WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_meeting, '') || '|' || COALESCE(f_key, '') || '|' || COALESCE(f_name, '') || '|' || COALESCE(CAST(f_signed_at AS TEXT), '') || '|' || COALESCE(f_method, '') || '|' || COALESCE(CAST(f_arrival AS TEXT), '') || '|' || COALESCE(CAST(f_departure AS TEXT), '') || '|' || COALESCE(CAST(f_minutes AS TEXT), '') || '|' || COALESCE(f_recorded_by, '') || '|' || COALESCE(f_role, '') || '|' || CAST(updated_at AS TEXT) FROM c_agenda__attendance WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_meeting, '') || '|' || COALESCE(CAST(f_revision AS TEXT), '') || '|' || COALESCE(f_attendees, '') FROM c_agenda__closings WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_meeting, '') || '|' || COALESCE(f_action, '') || '|' || COALESCE(CAST(f_revision AS TEXT), '') || '|' || COALESCE(f_reason, '') FROM c_agenda__journal WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_meeting, '') || '|' || COALESCE(CAST(f_version AS TEXT), '') || '|' || COALESCE(f_text, '') FROM c_agenda__minutes WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_subject, '') || '|' || COALESCE(f_text, '') || '|' || COALESCE(CAST(f_edited AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_agenda__thread_messages WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || plugin_id || '|' || topic || '|' || status || '|' || CAST(due_at AS TEXT) FROM timers WHERE structure_id = $1 ORDER BY 1",
        "SELECT CAST(id AS TEXT) || '|' || CAST(account_id AS TEXT) || '|' || plugin_id || '|' || COALESCE(CAST(last_used_at AS TEXT), '') || '|' || COALESCE(CAST(revoked_at AS TEXT), '') FROM feed_tokens WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || name FROM blobs WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_rpps_id || '|' || f_status || '|' || COALESCE(f_user_id, '') || '|' || f_seen_in FROM c_annuaire__professionals WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_text FROM c_annuaire__notes WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_status || '|' || f_user_id FROM c_annuaire__link_requests WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_to_status FROM c_annuaire__status_history WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_kind FROM c_annuaire__fiches WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_number FROM c_annuaire__imports WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || status || '|' || attempts FROM mail_outbox WHERE structure_id = $1 ORDER BY id",
        "SELECT account_id || '|' || COALESCE(profession, '') || '|' || exercise_mode || '|' || CAST(employer_convention AS TEXT) || '|' || COALESCE(suggested_profession, '') FROM member_facts WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || account_id || '|' || start_date || '|' || COALESCE(end_date, '') || '|' || source FROM member_adhesions WHERE structure_id = $1 ORDER BY 1",
        "SELECT account_id || '|' || plugin_id || '|' || role FROM module_roles WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_status || '|' || CAST(f_amount AS TEXT) || '|' || COALESCE(f_decision, '') || '|' || COALESCE(f_payment_ref, '') || '|' || COALESCE(f_paid_on, '') || '|' || COALESCE(f_note_blob, '') || '|' || CAST(updated_at AS TEXT) FROM c_indemnites__lignes WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_meeting_id || '|' || CAST(f_revision AS TEXT) FROM c_indemnites__clotures WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_key || '|' || COALESCE(CAST(f_amount AS TEXT), '') || '|' || COALESCE(f_text, '') FROM c_indemnites__reglages WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_group_id || '|' || CAST(f_year AS TEXT) || '|' || CAST(f_fixed_planned AS TEXT) || '|' || CAST(f_variable_planned AS TEXT) FROM c_indemnites__budgets WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_label || '|' || CAST(f_amount AS TEXT) || '|' || f_date FROM c_indemnites__depenses WHERE structure_id = $1 ORDER BY 1",
        "SELECT CAST(id AS TEXT) || '|' || rule_set_id || '|' || version || '|' || settings || '|' || effective_from FROM rule_set_assignments WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || version || '|' || sha256 FROM rule_sets WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_group_id || '|' || COALESCE(f_numero, '') || '|' || f_mission || '|' || COALESCE(f_description, '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__projects WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_title || '|' || COALESCE(f_status, '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__actions WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_title || '|' || COALESCE(f_status, '') || '|' || f_due_sort || '|' || COALESCE(CAST(f_minutes AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__tasks WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_task || '|' || f_user || '|' || COALESCE(f_status, '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__task_assignees WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_person || '|' || f_date || '|' || CAST(f_minutes AS TEXT) || '|' || COALESCE(f_note, '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__time_entries WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_subject, '') || '|' || COALESCE(f_text, '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__thread_messages WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_code || '|' || f_label FROM c_projets__missions WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_title || '|' || f_text || '|' || COALESCE(CAST(f_mailed_at AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__announcements WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_subject FROM c_projets__group_mails WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_user || '|' || COALESCE(f_last_id, '') FROM c_projets__thread_reads WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_user || '|' || CAST(f_digest AS TEXT) || '|' || CAST(f_mention_mail AS TEXT) FROM c_projets__preferences WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_key || '|' || COALESCE(f_text, '') FROM c_projets__settings WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_meeting || '|' || COALESCE(f_title, '') FROM c_projets__group_meetings WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_document || '|' || COALESCE(f_name, '') || '|' || COALESCE(f_folder, '') || '|' || COALESCE(CAST(f_version AS TEXT), '') || '|' || COALESCE(CAST(f_deleted AS TEXT), '') || '|' || COALESCE(CAST(f_sequence AS TEXT), '') || '|' || COALESCE(CAST(f_saved_at AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_projets__group_documents WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_group_id || '|' || COALESCE(f_folder, '') || '|' || f_name || '|' || COALESCE(CAST(f_current AS TEXT), '') || '|' || f_blob || '|' || COALESCE(CAST(f_size AS TEXT), '') || '|' || COALESCE(f_content_type, '') || '|' || COALESCE(CAST(f_last_at AS TEXT), '') || '|' || COALESCE(f_last_by_name, '') || '|' || COALESCE(CAST(f_sequence AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_documents__documents WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_document || '|' || CAST(f_number AS TEXT) || '|' || f_blob || '|' || COALESCE(f_name, '') || '|' || COALESCE(CAST(f_size AS TEXT), '') || '|' || COALESCE(f_sha256, '') || '|' || COALESCE(f_label, '') || '|' || COALESCE(CAST(f_restored_from AS TEXT), '') || '|' || COALESCE(CAST(f_stored_bytes AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_documents__versions WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_group_id || '|' || COALESCE(f_parent, '') || '|' || f_name || '|' || f_name_key || '|' || CAST(updated_at AS TEXT) FROM c_documents__folders WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_key || '|' || COALESCE(CAST(f_value AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_documents__settings WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || COALESCE(f_subject, '') || '|' || COALESCE(f_text, '') || '|' || COALESCE(CAST(f_edited AS TEXT), '') || '|' || CAST(updated_at AS TEXT) FROM c_documents__thread_messages WHERE structure_id = $1 ORDER BY 1",
        // B's national library: its entries, their versions and tags, its proposals.
        "SELECT CAST(id AS TEXT) || '|' || title || '|' || description || '|' || tags || '|' || licence || '|' || CAST(current_version AS TEXT) || '|' || head_folded || '|' || CAST(updated_at AS TEXT) || '|' || COALESCE(CAST(withdrawn_at AS TEXT), '') || '|' || COALESCE(CAST(hidden_at AS TEXT), '') || '|' || COALESCE(hidden_reason, '') FROM library_entries WHERE owner_structure_id = $1 ORDER BY 1",
        "SELECT CAST(v.entry_id AS TEXT) || '|' || CAST(v.number AS TEXT) || '|' || v.title || '|' || v.note || '|' || COALESCE(v.body, '') || '|' || COALESCE(v.sha256, '') || '|' || COALESCE(v.object_key, '') || '|' || COALESCE(CAST(v.purged_at AS TEXT), '') FROM library_versions v JOIN library_entries e ON e.id = v.entry_id WHERE e.owner_structure_id = $1 ORDER BY 1",
        "SELECT t.tag || '|' || CAST(t.entry_id AS TEXT) || '|' || t.label FROM library_entry_tags t JOIN library_entries e ON e.id = t.entry_id WHERE e.owner_structure_id = $1 ORDER BY 1",
        "SELECT token_hash || '|' || CAST(account_id AS TEXT) || '|' || COALESCE(CAST(new_version_of AS TEXT), '') || '|' || payload || '|' || CAST(expires_at AS TEXT) FROM library_proposals WHERE structure_id = $1 ORDER BY 1",
        "SELECT CAST(count(*) AS TEXT) FROM audit_log WHERE structure_id = $1",
        "SELECT CAST(count(*) AS TEXT) FROM event_outbox WHERE structure_id = $1",
        "SELECT event_id || '|' || plugin_id || '|' || status || '|' || attempts FROM event_deliveries WHERE event_id IN (SELECT id FROM event_outbox WHERE structure_id = $1) ORDER BY 1",
    ];
    let mut rows = Vec::new();
    for q in queries {
        let found: Vec<String> = sqlx::query_scalar(q)
            .bind(b)
            .fetch_all(host.state.db.pool())
            .await
            .unwrap();
        rows.push(format!("{q} => {found:?}"));
    }
    rows
}

/// GET routes of a structure with the least role that may see them (the meetings are
/// of the whole structure: every member reads them; managing, the sheet and the QR code
/// are for coordinators, and members of no group plan no meeting).
fn get_routes(slug: &str, t: &Target) -> Vec<(String, Role)> {
    let base = format!("/{slug}");
    let agenda = format!("{base}/agenda");
    let mut routes = vec![
        (format!("{base}/"), Role::Member),
        (format!("{base}/groupes/"), Role::Member),
        (format!("{base}/polls/"), Role::Member),
        (format!("{base}/polls/new"), Role::Member),
        (format!("{base}/polls/p/{}", t.poll), Role::Member),
        (format!("{base}/groupes/{}", t.group), Role::Coordinator),
        (format!("{base}/admin/"), Role::Admin),
        (format!("{base}/admin/modules"), Role::Admin),
        (format!("{base}/admin/structure"), Role::Admin),
        (format!("{base}/admin/journal"), Role::Admin),
        (format!("{base}/admin/courriels"), Role::Admin),
        (format!("{base}/admin/evenements"), Role::Admin),
        // Polls, since 0.3.0.
        (format!("{base}/polls/widget"), Role::Member),
        (
            format!("{base}/polls/p/{}/modifier", t.poll),
            Role::Coordinator,
        ),
        (
            format!("{base}/polls/p/{}/export.csv", t.poll),
            Role::Member,
        ),
        (
            format!("{base}/polls/p/{}/export.xlsx", t.poll),
            Role::Member,
        ),
    ];
    routes.extend([
        (format!("{agenda}/"), Role::Member),
        (format!("{agenda}/mois"), Role::Member),
        (format!("{agenda}/mois?mois=2026-12"), Role::Member),
        (format!("{agenda}/semaine"), Role::Member),
        (format!("{agenda}/semaine?jour=2026-12-03"), Role::Member),
        (format!("{agenda}/mes-reunions"), Role::Member),
        (format!("{agenda}/widget"), Role::Member),
        (format!("{agenda}/flux"), Role::Member),
        (format!("{agenda}/nouvelle"), Role::Coordinator),
        (format!("{agenda}/r/{}", t.meeting), Role::Member),
        (
            format!("{agenda}/r/{}/invitation.ics", t.meeting),
            Role::Member,
        ),
        (
            format!("{agenda}/r/{}/compte-rendu", t.meeting),
            Role::Member,
        ),
        (
            format!("{agenda}/r/{}/compte-rendu?version=1", t.meeting),
            Role::Member,
        ),
        (
            format!("{agenda}/r/{}/modifier", t.meeting),
            Role::Coordinator,
        ),
        (format!("{agenda}/r/{}", t.current), Role::Member),
        (
            format!("{agenda}/r/{}/emargement", t.current),
            Role::Coordinator,
        ),
        (format!("{agenda}/r/{}/qr", t.current), Role::Coordinator),
        (
            format!("{agenda}/r/{}/qr/code", t.current),
            Role::Coordinator,
        ),
        (format!("{agenda}/r/{}", t.closed), Role::Member),
        (
            format!("{agenda}/r/{}/emargement", t.closed),
            Role::Coordinator,
        ),
    ]);
    routes
}

/// GET routes aimed at B's ids that no role of A may reach: the QR code's page of B's
/// meeting (for its invitees only), and A's own URLs carrying B's ids, which do not
/// exist in A.
fn b_id_get_routes(t: &Target) -> Vec<String> {
    let presence = |base: &str| format!("{base}/agenda/r/{}/presence/0000000000", t.current);
    let ids = [&t.poll, &t.meeting, &t.current, &t.closed];
    let mut routes = vec![
        presence("/cpts-b"),
        presence("/cpts-a"),
        format!("/cpts-b/admin/membres/{}", t.person),
        format!("/cpts-b/indemnites/lignes/{}", t.line),
        format!("/cpts-a/indemnites/lignes/{}", t.line),
        // B's project, folder and document through A's documents module.
        format!("/cpts-a/documents/g/{}", t.group),
        format!("/cpts-a/documents/g/{}?dossier={}", t.group, t.folder),
        format!("/cpts-a/documents/d/{}", t.document),
    ];
    // The files of B's document's versions, through B's download route and A's.
    for base in ["/cpts-b", "/cpts-a"] {
        for blob in &t.blobs {
            routes.push(format!("{base}/fichiers/documents/{blob}"));
        }
    }
    // B's text and publishing forms through A's documents module; B's pending proposal
    // through the host's page, in B and in A.
    routes.extend(
        texts_get_routes("cpts-a", t)
            .into_iter()
            .map(|(route, _)| route),
    );
    for slug in ["cpts-b", "cpts-a"] {
        routes.extend(confirmation_get_routes(slug, t));
    }
    routes.extend(
        get_routes("cpts-a", t)
            .into_iter()
            .map(|(route, _)| route)
            .filter(|route| ids.iter().any(|id| route.contains(id.as_str()))),
    );
    routes
}

/// The agenda's state-changing routes of the structure at `base`, aimed at B's
/// meetings, with plausible fields.
fn agenda_post_routes(base: &str, t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let agenda = format!("{base}/agenda");
    let (meeting, current, closed, message) = (&t.meeting, &t.current, &t.closed, &t.message);
    let person = format!("u{}", t.person);
    let s = |v: &str| v.to_string();
    vec![
        (
            format!("{agenda}/r/{meeting}/modifier"),
            vec![
                ("titre", s("Intrusion")),
                ("debut", s("2030-12-05T20:00")),
                ("fuseau", s("Europe/Paris")),
                ("duree", s("60")),
                ("externes", s("Intrus <intrus@exemple.fr>")),
            ],
        ),
        (format!("{agenda}/r/{meeting}/annuler"), vec![]),
        (
            format!("{agenda}/r/{meeting}/reponse"),
            vec![("reponse", s("absent"))],
        ),
        (format!("{agenda}/r/{current}/signer"), vec![]),
        (
            format!("{agenda}/r/{current}/signer"),
            vec![("code", s("0000000000"))],
        ),
        (
            format!("{agenda}/r/{current}/emargement"),
            vec![
                ("liste", person.clone()),
                ("present", person.clone()),
                ("ajout_externe", s("Intrus")),
            ],
        ),
        (format!("{agenda}/r/{current}/cloturer"), vec![]),
        (
            format!("{agenda}/r/{closed}/rouvrir"),
            vec![("motif", s("Intrusion"))],
        ),
        (
            format!("{agenda}/r/{meeting}/compte-rendu"),
            vec![("texte", s("Intrusion")), ("version", s("1"))],
        ),
        (
            format!("{agenda}/r/{meeting}/fil"),
            vec![("texte", s("Intrusion"))],
        ),
        (
            format!("{agenda}/r/{meeting}/fil/{message}/modifier"),
            vec![("texte", s("Intrusion"))],
        ),
        (
            format!("{agenda}/r/{meeting}/fil/{message}/supprimer"),
            vec![],
        ),
    ]
}

/// A's own forms naming B's group or B's person: refused (403 for those who may not
/// use the form, else 422), never accepted.
fn b_ids_in_a_forms(t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let (group, person) = (t.group.to_string(), t.person.to_string());
    let s = |v: &str| v.to_string();
    let meeting = |extra: [(&'static str, String); 2]| {
        let mut fields = vec![
            ("titre", s("Intrusion")),
            ("debut", s("2030-12-05T20:00")),
            ("fuseau", s("Europe/Paris")),
            ("duree", s("60")),
        ];
        fields.extend(extra);
        fields
    };
    let poll = |extra: [(&'static str, String); 2]| {
        let mut fields = vec![
            ("title", s("Intrusion")),
            ("slot", s("2026-12-03T20:00")),
            ("slot", s("2026-12-04T20:00")),
            ("deadline", crate::support::POLL_DEADLINE.clone()),
        ];
        fields.extend(extra);
        fields
    };
    vec![
        (
            "/cpts-a/agenda/nouvelle".to_string(),
            meeting([("groupe", group.clone()), ("invites", s("groupe"))]),
        ),
        (
            "/cpts-a/agenda/nouvelle".to_string(),
            meeting([("invites", s("choisis")), ("membre", person.clone())]),
        ),
        (
            "/cpts-a/polls/new".to_string(),
            poll([("audience", s("groupe")), ("group", group.clone())]),
        ),
        (
            "/cpts-a/polls/new".to_string(),
            poll([("audience", s("membres")), ("member", person.clone())]),
        ),
        // B's own rule set (the fixture `faulty-rules` 1.0.0) chosen or simulated in A,
        // and B's group given a budget or an expense in A.
        (
            "/cpts-a/indemnites/bareme".to_string(),
            vec![
                ("bareme", s("faulty-rules")),
                ("version", s("1.0.0")),
                ("effet", s("2024-01-01")),
                ("s-mode", s("ok")),
            ],
        ),
        (
            "/cpts-a/indemnites/bareme/simulation".to_string(),
            vec![
                ("bareme", s("faulty-rules")),
                ("version", s("1.0.0")),
                ("du", s("2024-01-01")),
                ("au", s("2030-12-31")),
            ],
        ),
        (
            "/cpts-a/indemnites/budgets".to_string(),
            vec![
                ("action", s("budget")),
                ("groupe", group.clone()),
                ("annee", s("2026")),
                ("part_fixe", s("1")),
            ],
        ),
        (
            "/cpts-a/indemnites/budgets".to_string(),
            vec![
                ("action", s("depense")),
                ("groupe", group.clone()),
                ("libelle", s("Intrusion")),
                ("montant", s("1")),
                ("date", s("2026-01-20")),
            ],
        ),
        // A project of A on B’s group.
        (
            "/cpts-a/projets/nouveau".to_string(),
            vec![("groupe", group.clone()), ("mission", s("1"))],
        ),
    ]
}

/// The directory's pages of a structure, aimed at B's professional.
fn directory_get_routes(slug: &str, t: &Target) -> Vec<String> {
    let base = format!("/{slug}/annuaire");
    vec![
        format!("{base}/"),
        format!("{base}/p/{}", t.professional),
        format!("{base}/ma-fiche"),
        format!("{base}/mon-compte"),
        format!("{base}/import"),
        format!("{base}/communication"),
        format!("{base}/?departs=1"),
    ]
}

/// The indemnities' pages of a structure (treasurer pages and exports included), aimed
/// at B's line and group.
fn indemnity_get_routes(slug: &str, t: &Target) -> Vec<String> {
    let base = format!("/{slug}/indemnites");
    // The version of the bundled rule set `forfait` and of the fixture `faulty-rules`.
    let simulation = "bareme=forfait&version=1.0.0&du=2024-01-01&au=2030-12-31";
    vec![
        format!("{base}/"),
        format!("{base}/mon-compte"),
        format!("{base}/mon-compte?annee=2024"),
        format!("{base}/mon-compte.xlsx"),
        format!("{base}/mon-compte/widget"),
        format!("{base}/tresorerie"),
        format!("{base}/tresorerie?par=projet"),
        format!("{base}/tresorerie?groupe={}", t.group),
        format!("{base}/tresorerie/export.csv"),
        format!("{base}/tresorerie/export.xlsx"),
        format!("{base}/lignes/{}", t.line),
        format!("{base}/bareme"),
        format!("{base}/bareme?bareme=faulty-rules&version=1.0.0"),
        format!("{base}/bareme/simulation"),
        format!("{base}/bareme/simulation?{simulation}"),
        format!("{base}/bareme/simulation.csv?{simulation}"),
        format!("{base}/plafond"),
        format!("{base}/budgets"),
        format!("{base}/budgets?annee=2026"),
    ]
}

/// The projects module's pages, B's project and its task, entry and action among them.
fn projects_get_routes(slug: &str, t: &Target) -> Vec<String> {
    let base = format!("/{slug}/projets");
    let p = format!("{base}/p/{}", t.group);
    vec![
        format!("{base}/"),
        format!("{base}/mes-projets"),
        format!("{base}/export.csv"),
        format!("{base}/export.xlsx"),
        format!("{base}/projet-de-sante"),
        format!("{base}/missions"),
        format!("{base}/nouveau"),
        format!("{base}/nouveau?groupe={}", t.group),
        format!("{base}/mes-taches"),
        format!("{base}/mes-taches.csv"),
        format!("{base}/mes-taches.xlsx"),
        format!("{base}/mon-temps"),
        format!("{base}/mon-temps.csv"),
        format!("{base}/mon-temps.xlsx"),
        format!("{base}/temps"),
        format!("{base}/temps.csv"),
        format!("{base}/temps.xlsx"),
        format!("{base}/preferences"),
        format!("{base}/reglages"),
        format!("{base}/widget/projets"),
        format!("{base}/widget/taches"),
        p.clone(),
        format!("{p}/modifier"),
        format!("{p}/actions/nouvelle"),
        format!("{p}/actions/{}/modifier", t.action),
        format!("{p}/taches/{}", t.task),
        format!("{p}/taches/{}/modifier", t.task),
        format!("{p}/temps"),
        format!("{p}/temps.csv"),
        format!("{p}/temps.xlsx"),
        format!("{p}/temps/{}/modifier", t.entry),
        format!("{p}/fil/suivi?apres=0."),
        format!("{p}/ecrire"),
        format!("{base}/annonces"),
        format!("{base}/annonces/nouvelle"),
        format!("{base}/annonces/{}/modifier", t.announcement),
        format!("{base}/widget/annonces"),
        format!("{base}/widget/fils"),
    ]
}

/// The projects module's state-changing routes aimed at B's project, through B's URLs
/// and A's.
fn projects_post_routes(t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let mut routes = Vec::new();
    let group = t.group.to_string();
    for base in ["/cpts-b/projets", "/cpts-a/projets"] {
        let p = format!("{base}/p/{}", t.group);
        let (task, entry, action, message) = (&t.task, &t.entry, &t.action, &t.project_message);
        routes.extend([
            (
                format!("{p}/modifier"),
                owned(&[("mission", "1"), ("numero", "1.1")]),
            ),
            (
                format!("{p}/actions/nouvelle"),
                owned(&[("titre", "Intrusion")]),
            ),
            (
                format!("{p}/actions/{action}/modifier"),
                owned(&[("titre", "Intrusion")]),
            ),
            (format!("{p}/actions/{action}/supprimer"), vec![]),
            (format!("{p}/taches"), owned(&[("titre", "Intrusion")])),
            (
                format!("{p}/taches/{task}/modifier"),
                owned(&[("titre", "Intrusion")]),
            ),
            (format!("{p}/taches/{task}/faite"), vec![]),
            (format!("{p}/taches/{task}/rouvrir"), vec![]),
            (format!("{p}/taches/{task}/supprimer"), vec![]),
            (
                format!("{p}/taches/{task}/temps"),
                owned(&[("date", "2026-11-03"), ("duree", "1 h")]),
            ),
            (
                format!("{p}/temps/{entry}/modifier"),
                owned(&[("date", "2026-11-03"), ("duree", "9 h")]),
            ),
            (format!("{p}/temps/{entry}/supprimer"), vec![]),
            (format!("{p}/fil"), owned(&[("texte", "Intrusion")])),
            (
                format!("{p}/fil/{message}/modifier"),
                owned(&[("texte", "Intrusion")]),
            ),
            (format!("{p}/fil/{message}/supprimer"), vec![]),
            // Membership through the module (WIT 0.2.6 `group-admin`).
            (format!("{p}/rejoindre"), owned(&[("message", "Intrusion")])),
            (format!("{p}/demandes/{}/accepter", t.request), vec![]),
            (format!("{p}/demandes/{}/refuser", t.request), vec![]),
            (
                format!("{p}/membres"),
                owned(&[("personne", &t.person.to_string()), ("role", "guest")]),
            ),
            (
                format!("{p}/membres/{}", t.person),
                owned(&[("role", "guest")]),
            ),
            (format!("{p}/membres/{}/retirer", t.person), vec![]),
            (format!("{p}/archiver"), owned(&[("archive", "1")])),
            (
                format!("{p}/ecrire"),
                owned(&[
                    ("objet", "Intrusion"),
                    ("message", "Intrusion"),
                    ("destinataires", "tous"),
                    ("sans-donnees-sante", "1"),
                ]),
            ),
            (
                format!("{base}/annonces/{}/modifier", t.announcement),
                owned(&[("titre", "Intrusion"), ("texte", "Intrusion")]),
            ),
            (
                format!("{base}/annonces/{}/envoyer", t.announcement),
                vec![],
            ),
            (
                format!("{base}/annonces/{}/supprimer", t.announcement),
                vec![],
            ),
        ]);
    }
    routes.extend([
        (
            "/cpts-b/projets/nouveau".to_string(),
            owned(&[("groupe", &group), ("mission", "1")]),
        ),
        (
            "/cpts-b/projets/missions".to_string(),
            owned(&[("label-1", "Intrusion")]),
        ),
        ("/cpts-b/projets/temps/republier".to_string(), vec![]),
        (
            "/cpts-b/projets/preferences".to_string(),
            owned(&[("digest", "1"), ("mention_mail", "0")]),
        ),
        (
            "/cpts-b/projets/reglages".to_string(),
            owned(&[("creation", "coordinateurs"), ("digest_hour", "9")]),
        ),
    ]);
    routes
}

/// Owned fields of a form.
fn owned(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// The documents module's pages of a structure, aimed at B's project, folder and
/// document.
fn documents_get_routes(slug: &str, t: &Target) -> Vec<String> {
    let base = format!("/{slug}/documents");
    let mut routes = vec![
        format!("{base}/"),
        format!("{base}/g/{}", t.group),
        format!("{base}/g/{}?dossier={}", t.group, t.folder),
        format!("{base}/d/{}", t.document),
        format!("{base}/d/{}?ok=version", t.document),
        format!("{base}/reglages"),
    ];
    routes.extend(
        texts_get_routes(slug, t)
            .into_iter()
            .map(|(route, _)| route),
    );
    routes.extend(library_read_routes(slug, t));
    routes
}

/// The documents module's Markdown text of `t` (two revisions) and the publishing forms
/// of it and of `t`'s shared file, with the least role that may see them when their
/// project is open: a member outside it reads the text, its history, revisions and
/// changes; only coordinators (and admins) edit it or publish.
fn texts_get_routes(slug: &str, t: &Target) -> Vec<(String, Role)> {
    let text = format!("/{slug}/documents/d/{}", t.text);
    vec![
        (text.clone(), Role::Member),
        (format!("{text}/historique"), Role::Member),
        (format!("{text}/v/1"), Role::Member),
        (format!("{text}/v/2"), Role::Member),
        (format!("{text}/v/2/diff"), Role::Member),
        (format!("{text}/modifier"), Role::Coordinator),
        (format!("{text}/publier"), Role::Coordinator),
        (
            format!("/{slug}/documents/d/{}/publier", t.shared),
            Role::Coordinator,
        ),
    ]
}

/// The national library as the documents module of `slug` shows it, and its published
/// file as the host serves it, aimed at `t`'s entries: read by every member of a
/// structure where the module is enabled with "library", whichever structure
/// published them.
fn library_read_routes(slug: &str, t: &Target) -> Vec<String> {
    let library = format!("/{slug}/documents/bibliotheque");
    vec![
        library.clone(),
        format!("{library}?q=partagee"),
        format!("{library}?etiquette=partage"),
        format!("{library}?retires=1"),
        format!("{library}?miens=1"),
        format!("{library}/{}", t.library_text),
        format!("{library}/{}/v/1", t.library_text),
        format!("{library}/{}", t.library_file),
        format!(
            "/{slug}/fichiers/documents/bibliotheque/{}/1",
            t.library_file
        ),
    ]
}

/// The host's confirmation page of `t`'s pending proposal, and its file, in `slug`:
/// for the proposal's author only, in its structure.
fn confirmation_get_routes(slug: &str, t: &Target) -> Vec<String> {
    let page = format!("/{slug}/bibliotheque/confirmer/{}", t.proposal);
    vec![page.clone(), format!("{page}/fichier")]
}

/// The platform's moderation of the library, aimed at `t`'s entries: operators only.
fn platform_library_get_routes(t: &Target) -> Vec<String> {
    let platform = "/plateforme/bibliotheque";
    vec![
        platform.to_string(),
        format!("{platform}?q=partagee"),
        format!("{platform}?etat=visibles&module=documents"),
        format!("{platform}/{}", t.library_text),
        format!("{platform}/{}", t.library_file),
        format!("{platform}/{}/1/fichier", t.library_file),
    ]
}

/// The platform's moderation forms aimed at `t`'s entries, none of which changes them:
/// hiding without a reason or with a short one (422 for an operator), showing again an
/// entry that is not hidden (303 for an operator, nothing changed).
fn platform_library_post_routes(t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let platform = "/plateforme/bibliotheque";
    vec![
        (
            format!("{platform}/{}/masquer", t.library_text),
            owned(&[("motif", "")]),
        ),
        (
            format!("{platform}/{}/masquer", t.library_file),
            owned(&[("motif", "Court.")]),
        ),
        (format!("{platform}/{}/retablir", t.library_text), vec![]),
    ]
}

/// The documents module's plain forms aimed at B's project, folder, document, versions
/// and comment, through B's URLs and A's; and B's limits.
fn documents_post_routes(t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let mut routes = Vec::new();
    for base in ["/cpts-b/documents", "/cpts-a/documents"] {
        let g = format!("{base}/g/{}", t.group);
        let d = format!("{base}/d/{}", t.document);
        let (folder, comment) = (t.folder.as_str(), t.comment.as_str());
        routes.extend([
            (
                format!("{g}/dossiers"),
                owned(&[("nom", "Intrusion"), ("parent", "")]),
            ),
            (
                format!("{g}/dossiers"),
                owned(&[("nom", "Intrusion"), ("parent", folder)]),
            ),
            (format!("{g}/documents"), owned(&[("dossier", folder)])),
            (format!("{d}/versions"), owned(&[("libelle", "Intrusion")])),
            (format!("{d}/versions/1/restaurer"), vec![]),
            (
                format!("{d}/versions/1/nommer"),
                owned(&[("libelle", "Intrusion")]),
            ),
            (format!("{d}/versions/2/nommer"), owned(&[("libelle", "")])),
            (format!("{d}/fil"), owned(&[("texte", "Intrusion")])),
            (
                format!("{d}/fil/{comment}/modifier"),
                owned(&[("texte", "Intrusion")]),
            ),
            (format!("{d}/fil/{comment}/supprimer"), vec![]),
        ]);
        // B's file, sent to the host's route, deposited in B's project or as a version
        // of B's document.
        let blob = t.blobs.first().map(String::as_str).unwrap_or_default();
        routes.extend([
            (
                format!("{g}/deposes"),
                owned(&[("dossier", ""), ("blob", blob)]),
            ),
            (
                format!("{d}/versions/depose"),
                owned(&[("blob", blob), ("libelle", "Intrusion")]),
            ),
        ]);
        // B's Markdown text, and the national library's forms of B's documents.
        let text = format!("{base}/d/{}", t.text);
        let shared = format!("{base}/d/{}", t.shared);
        let (text_entry, file_entry) = (t.library_text.as_str(), t.library_file.as_str());
        routes.extend([
            (
                format!("{g}/textes"),
                owned(&[
                    ("titre", "Intrusion"),
                    ("texte", "Intrusion"),
                    ("dossier", ""),
                ]),
            ),
            (
                format!("{text}/modifier"),
                owned(&[
                    ("titre", "Intrusion"),
                    ("texte", "Intrusion"),
                    ("resume", ""),
                    ("base", "2"),
                ]),
            ),
            (format!("{text}/v/1/restaurer"), vec![]),
            (
                format!("{text}/publier"),
                owned(&[
                    ("entree", text_entry),
                    ("titre", "Intrusion"),
                    ("description", ""),
                    ("mots_cles", ""),
                    ("licence", "cc-by"),
                    ("version", "2"),
                    ("note", "Intrusion"),
                ]),
            ),
            (
                format!("{shared}/publier"),
                owned(&[
                    ("entree", file_entry),
                    ("titre", "Intrusion"),
                    ("licence", "cc-by"),
                    ("version", "1"),
                ]),
            ),
            (
                format!("{text}/retirer"),
                owned(&[("entree", text_entry), ("confirme", "1")]),
            ),
            (
                format!("{shared}/retirer"),
                owned(&[("entree", file_entry), ("confirme", "1")]),
            ),
        ]);
    }
    // B's pending proposal confirmed or cancelled through the host's page, in B and in
    // A: only its author, in B, may.
    for base in ["/cpts-b", "/cpts-a"] {
        let page = format!("{base}/bibliotheque/confirmer/{}", t.proposal);
        routes.push((page.clone(), owned(&[("verifie", "oui")])));
        routes.push((format!("{page}/annuler"), vec![]));
    }
    routes.push((
        "/cpts-b/documents/reglages".to_string(),
        owned(&[("limite_fichier_mo", "1"), ("quota_mo", "1")]),
    ));
    routes
}

/// The documents module's upload forms (multipart, as a browser posts them) aimed at
/// B's project, folder and document, through B's URLs and A's: (route, fields, the
/// file's field).
/// A multipart form aimed at B: its route, its text fields and the name of its file field.
type UploadRoute = (String, Vec<(&'static str, String)>, &'static str);

fn documents_upload_routes(t: &Target) -> Vec<UploadRoute> {
    let mut routes = Vec::new();
    for base in ["/cpts-b/documents", "/cpts-a/documents"] {
        routes.extend([
            (
                format!("{base}/g/{}/documents", t.group),
                owned(&[("dossier", "")]),
                "fichiers",
            ),
            (
                format!("{base}/g/{}/documents", t.group),
                owned(&[("dossier", t.folder.as_str())]),
                "fichiers",
            ),
            (
                format!("{base}/d/{}/versions", t.document),
                owned(&[("libelle", "Intrusion")]),
                "fichier",
            ),
        ]);
    }
    routes
}

/// The indemnities' state-changing routes aimed at B's data: B's URLs, and B's line
/// through A's URLs.
fn indemnity_post_routes(t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let (line, group) = (t.line.as_str(), t.group.to_string());
    let mut routes = Vec::new();
    for base in ["/cpts-b/indemnites", "/cpts-a/indemnites"] {
        routes.extend([
            (format!("{base}/lignes/{line}/approuver"), vec![]),
            (
                format!("{base}/lignes/{line}/payer"),
                owned(&[("date", "2026-01-20"), ("reference", "Intrusion")]),
            ),
            (
                format!("{base}/lignes/{line}/decision"),
                owned(&[("decision", "refuser")]),
            ),
            (
                format!("{base}/lignes/{line}/note"),
                owned(&[("fichier", "Intrusion")]),
            ),
            (
                format!("{base}/tresorerie/approuver"),
                owned(&[("ligne", line)]),
            ),
        ]);
    }
    let b = "/cpts-b/indemnites";
    routes.extend([
        (
            format!("{b}/bareme"),
            owned(&[
                ("bareme", "forfait"),
                ("version", "1.0.0"),
                ("effet", "2024-01-01"),
                ("s-forfait_membre", "1000"),
            ]),
        ),
        (
            format!("{b}/bareme/simulation"),
            owned(&[
                ("bareme", "forfait"),
                ("version", "1.0.0"),
                ("du", "2024-01-01"),
                ("au", "2030-12-31"),
            ]),
        ),
        (
            format!("{b}/plafond"),
            owned(&[("annee", "2026"), ("montant", "1")]),
        ),
        (
            format!("{b}/budgets"),
            owned(&[
                ("action", "budget"),
                ("groupe", &group),
                ("annee", "2026"),
                ("part_fixe", "1"),
            ]),
        ),
        (
            format!("{b}/budgets"),
            owned(&[
                ("action", "depense"),
                ("groupe", &group),
                ("libelle", "Intrusion"),
                ("montant", "1"),
                ("date", "2026-01-20"),
            ]),
        ),
    ]);
    routes
}

/// State-changing routes aimed at structure B's data, with plausible fields.
fn post_routes(t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let b = "/cpts-b";
    let f = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let mut routes = vec![
        (
            format!("{b}/admin/invitations"),
            f(&[
                ("nom", "Intrus"),
                ("courriel", "intrus@exemple.fr"),
                ("role", "admin"),
            ]),
        ),
        (
            format!("{b}/admin/membres/{}", t.person),
            f(&[("role", "member")]),
        ),
        (format!("{b}/admin/membres/{}/retirer", t.person), vec![]),
        (format!("{b}/admin/membres/{}/relancer", t.person), vec![]),
        (
            format!("{b}/admin/membres/{}/fiche", t.person),
            f(&[("profession", "Intrus"), ("exercice", "liberal")]),
        ),
        (
            format!("{b}/admin/membres/{}/adhesions", t.person),
            f(&[("debut", "2026-01-01")]),
        ),
        (
            format!("{b}/admin/membres/{}/adhesions/1/supprimer", t.person),
            vec![],
        ),
        (
            format!("{b}/admin/membres/{}/roles", t.person),
            f(&[("role", "polls:tresorier")]),
        ),
        (
            format!("{b}/admin/modules/polls"),
            f(&[("action", "desactiver")]),
        ),
        (
            format!("{b}/admin/structure"),
            f(&[
                ("nom", "Piratée"),
                ("fuseau", "Europe/Paris"),
                ("territoire", ""),
            ]),
        ),
        (format!("{b}/admin/courriels/{}/relancer", t.mail), vec![]),
        (format!("{b}/admin/evenements/1/polls/relancer"), vec![]),
        (
            format!("{b}/groupes/"),
            f(&[("nom", "Intrusion"), ("visibilite", "ouvert")]),
        ),
        (
            format!("{b}/groupes/{}/demande", t.group),
            f(&[("message", "x")]),
        ),
        (
            format!("{b}/groupes/{}/membre", t.group),
            f(&[("personne", "1"), ("role", "referent")]),
        ),
        (
            format!("{b}/groupes/{}/archiver", t.group),
            f(&[("archive", "1")]),
        ),
        (
            format!("{b}/groupes/{}/demandes/{}/accepter", t.group, t.request),
            vec![],
        ),
        (
            format!("{b}/polls/new"),
            f(&[
                ("title", "Intrusion"),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ]),
        ),
        (
            format!("{b}/polls/p/{}/answer", t.poll),
            f(&[("name", "Intrus"), ("c-s1", "oui"), ("c-s2", "oui")]),
        ),
        (
            format!("{b}/annuaire/p/{}/statut", t.professional),
            f(&[("statut", "refus")]),
        ),
        (
            format!("{b}/annuaire/p/{}/note", t.professional),
            f(&[("note", "Intrus")]),
        ),
        (
            format!("{b}/annuaire/ma-fiche/lien"),
            f(&[("rpps", "19999999999")]),
        ),
        (format!("{b}/annuaire/ma-fiche/pro"), f(&[("phone", "0")])),
        (format!("{b}/annuaire/demandes/{}/refuser", t.link), vec![]),
        (
            format!("{b}/annuaire/demandes/{}/approuver", t.link),
            vec![],
        ),
        (format!("{b}/annuaire/p/{}/delier", t.professional), vec![]),
        (format!("{b}/annuaire/import/apply"), vec![]),
        (format!("{b}/imports/annuaire"), vec![]),
        // B's ids through A's own URLs.
        (
            format!("/cpts-a/admin/membres/{}", t.person),
            f(&[("role", "member")]),
        ),
        (
            format!("/cpts-a/admin/membres/{}/retirer", t.person),
            vec![],
        ),
        (
            format!("/cpts-a/admin/membres/{}/fiche", t.person),
            f(&[("profession", "Intrus"), ("exercice", "liberal")]),
        ),
        (
            format!("/cpts-a/admin/membres/{}/adhesions", t.person),
            f(&[("debut", "2026-01-01")]),
        ),
        (
            format!("/cpts-a/admin/membres/{}/adhesions/1/supprimer", t.person),
            vec![],
        ),
        (format!("/cpts-a/admin/membres/{}/roles", t.person), vec![]),
        (
            format!("/cpts-a/admin/courriels/{}/relancer", t.mail),
            vec![],
        ),
        (
            format!("/cpts-a/groupes/{}/archiver", t.group),
            f(&[("archive", "1")]),
        ),
        (
            format!(
                "/cpts-a/groupes/{}/demandes/{}/accepter",
                t.group, t.request
            ),
            vec![],
        ),
        (
            format!("/cpts-a/polls/p/{}/answer", t.poll),
            f(&[("name", "Intrus"), ("c-s1", "oui"), ("c-s2", "oui")]),
        ),
        (
            format!("/cpts-a/annuaire/p/{}/statut", t.professional),
            f(&[("statut", "refus")]),
        ),
        (
            format!("/cpts-a/annuaire/p/{}/note", t.professional),
            f(&[("note", "Intrus")]),
        ),
        (
            format!("/cpts-a/annuaire/p/{}/delier", t.professional),
            vec![],
        ),
    ];
    // Polls since 0.3.0, B's agenda, and B's feed address.
    let deadline = crate::support::POLL_DEADLINE.as_str();
    let edit_poll = f(&[
        ("title", "Intrusion"),
        ("deadline", deadline),
        ("keep", "s1"),
        ("keep", "s2"),
        ("confirm", "1"),
    ]);
    let close_poll = f(&[("slot", "s1"), ("confirm", "1")]);
    routes.extend([
        (
            format!("{b}/polls/p/{}/modifier", t.poll),
            edit_poll.clone(),
        ),
        (
            format!("{b}/polls/p/{}/cloturer", t.poll),
            close_poll.clone(),
        ),
        (format!("/cpts-a/polls/p/{}/modifier", t.poll), edit_poll),
        (format!("/cpts-a/polls/p/{}/cloturer", t.poll), close_poll),
        (
            format!("{b}/admin/modules/agenda"),
            f(&[("action", "desactiver")]),
        ),
        (
            format!("{b}/agenda/nouvelle"),
            f(&[
                ("titre", "Intrusion"),
                ("debut", "2030-12-05T20:00"),
                ("fuseau", "Europe/Paris"),
                ("duree", "60"),
            ]),
        ),
        (format!("/compte/flux/{}/revoquer", t.feed), vec![]),
        // B's meetings and documents republished to B's modules.
        (format!("{b}/agenda/republier"), vec![]),
        (format!("{b}/documents/republier"), vec![]),
    ]);
    routes.extend(agenda_post_routes(b, t));
    // B's meetings through A's own URLs.
    routes.extend(agenda_post_routes("/cpts-a", t));
    routes.extend(indemnity_post_routes(t));
    routes.extend(projects_post_routes(t));
    routes.extend(documents_post_routes(t));
    routes
}

#[tokio::test]
async fn no_route_shows_or_changes_another_structure() {
    let host = matrix_host().await;
    crate::directory::directory_structure(&host, "cpts-a", "74000").await;
    crate::directory::directory_structure(&host, "cpts-b", "74000").await;
    for slug in ["cpts-a", "cpts-b"] {
        let id = host.structure_id(slug).await;
        for module in ["polls", "agenda", "indemnity", "projects", "cloud"] {
            let plugin = host
                .state
                .registry
                .install(&crate::support::wasm(module))
                .await
                .unwrap();
            let m = plugin.manifest();
            let granted: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
            host.state
                .db
                .enable_module(id, &m.id, &m.version.to_string(), &granted)
                .await
                .unwrap();
        }
    }
    let target = seed_b(&host).await;
    let before = snapshot_b(&host).await;

    // Structure A's people, one per role, plus an anonymous visitor and an operator
    // who belongs to no structure.
    let mut actors: Vec<(String, Client<'_>)> = vec![("anonyme".into(), Client::new(&host))];
    for role in [Role::Member, Role::Coordinator, Role::Admin] {
        actors.push((
            format!("{} de A", role.as_str()),
            host.member("cpts-a", role).await,
        ));
    }
    let operator = host.operator("ops@exemple.fr", "Ops").await;
    actors.push(("opérateur".into(), operator));
    // A's treasurer (a module role): B's own rule set is not offered to them.
    let a = host.structure_id("cpts-a").await;
    let treasurer = host
        .account(
            "cpts-a",
            "tresorier-a@exemple.fr",
            "Trésorier de A",
            Role::Member,
        )
        .await;
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    maillage::people::set_module_role(
        &mut conn,
        a,
        treasurer.id,
        "indemnites",
        "tresorier",
        true,
        treasurer.id,
        maillage::storage::now_secs(),
    )
    .await
    .unwrap();
    drop(conn);
    let mut tresorier = Client::new(&host);
    tresorier.login("tresorier-a@exemple.fr", PASSWORD).await;
    for route in [
        "/cpts-a/indemnites/bareme",
        "/cpts-a/indemnites/bareme/simulation",
    ] {
        let (status, body) = tresorier.get(route).await;
        assert_eq!(status, StatusCode::OK, "{route}: {body}");
        assert!(body.contains("forfait"), "{route}: {body}");
        assert!(
            !body.contains("faulty-rules"),
            "A's treasurer is offered B's own rule set at {route}"
        );
    }
    actors.push(("trésorier de A".into(), tresorier));

    let mut checked = 0;
    for (who, client) in &mut actors {
        for (route, _) in get_routes("cpts-b", &target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.unwrap().starts_with("/connexion"),
                    "{who} GET {route}"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {route}");
            }
            checked += 1;
        }
        for route in directory_get_routes("cpts-b", &target) {
            let (status, _, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            let expected = if who == "anonyme" {
                StatusCode::SEE_OTHER
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, expected, "{who} GET {route}");
            checked += 1;
        }
        for route in directory_get_routes("cpts-a", &target) {
            let (_, body) = client.get(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            checked += 1;
        }
        for route in indemnity_get_routes("cpts-b", &target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.is_some_and(|l| l.starts_with("/connexion")),
                    "{who} GET {route}"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {route}");
            }
            checked += 1;
        }
        for route in indemnity_get_routes("cpts-a", &target) {
            let (_, body) = client.get(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            checked += 1;
        }
        for route in projects_get_routes("cpts-b", &target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.is_some_and(|l| l.starts_with("/connexion")),
                    "{who} GET {route}"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {route}");
            }
            checked += 1;
        }
        // A's projects pages, B's ids in them: nothing of B (404 for B's ids).
        for route in projects_get_routes("cpts-a", &target) {
            let (_, body) = client.get(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            checked += 1;
        }
        for route in documents_get_routes("cpts-b", &target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.is_some_and(|l| l.starts_with("/connexion")),
                    "{who} GET {route}"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {route}");
            }
            checked += 1;
        }
        // A's documents pages, B's ids in them: nothing of B (404 for B's ids, see
        // `b_id_get_routes`).
        for route in documents_get_routes("cpts-a", &target) {
            let (_, body) = client.get(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            checked += 1;
        }
        // The national library through A's documents module: what B published is read
        // by every member of A, by design (200), with nothing of B's own data; not by
        // anyone outside A.
        for route in library_read_routes("cpts-a", &target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.is_some_and(|l| l.starts_with("/connexion")),
                    "{who} GET {route}"
                );
            } else if who == "opérateur" {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {route}");
            } else {
                assert_eq!(status, StatusCode::OK, "{who} GET {route}: {body}");
            }
            checked += 1;
        }
        // The platform's moderation of B's entries: operators only; their forms here
        // change nothing (a reason refused, an entry not hidden shown again).
        for route in platform_library_get_routes(&target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.is_some_and(|l| l.starts_with("/connexion")),
                    "{who} GET {route}"
                );
            } else if who == "opérateur" {
                assert_eq!(status, StatusCode::OK, "{who} GET {route}: {body}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} GET {route}");
            }
            checked += 1;
        }
        for (route, fields) in platform_library_post_routes(&target) {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, location, body) = client.post_form(&route, &fields).await;
            assert!(!body.contains(SECRET), "{who} saw B's data posting {route}");
            let expected = if who == "anonyme" {
                StatusCode::SEE_OTHER
            } else if who != "opérateur" {
                StatusCode::FORBIDDEN
            } else if route.ends_with("/masquer") {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::SEE_OTHER
            };
            assert_eq!(status, expected, "{who} POST {route}: {body}");
            if who == "anonyme" {
                assert!(
                    location.is_some_and(|l| l.starts_with("/connexion")),
                    "{who} POST {route}"
                );
            }
            checked += 1;
        }
        // A's own pages never list B's data either.
        for (route, _) in get_routes("cpts-a", &target) {
            let (_, body) = client.get(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            checked += 1;
        }
        // B's ids lead nowhere, through B's URLs or A's.
        for route in b_id_get_routes(&target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.is_some_and(|l| l.starts_with("/connexion")),
                    "{who} GET {route}"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {route}");
            }
            checked += 1;
        }
        // A's forms naming B's group or person are refused.
        for (route, fields) in b_ids_in_a_forms(&target) {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, body) = client.post_form(&route, &fields).await;
            assert!(!body.contains(SECRET), "{who} saw B's data posting {route}");
            let refused = [
                StatusCode::NOT_FOUND,
                StatusCode::FORBIDDEN,
                StatusCode::UNPROCESSABLE_ENTITY,
            ];
            let expected = if who == "anonyme" {
                status == StatusCode::SEE_OTHER
            } else {
                refused.contains(&status)
            };
            assert!(expected, "{who} POST {route}: {status}");
            checked += 1;
        }
        for (route, fields) in post_routes(&target) {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, body) = client.post_form(&route, &fields).await;
            assert!(!body.contains(SECRET), "{who} saw B's data posting {route}");
            assert!(
                matches!(
                    status,
                    StatusCode::NOT_FOUND | StatusCode::SEE_OTHER | StatusCode::FORBIDDEN
                ),
                "{who} POST {route}: {status}"
            );
            if status == StatusCode::SEE_OTHER {
                // Only the login redirect of an anonymous visitor is acceptable.
                assert_eq!(who, "anonyme", "{who} POST {route} was accepted");
            }
            checked += 1;
        }
        // Files sent at B's documents as the module's forms send them (multipart, the
        // token first), and to the host's upload route of B's documents module.
        if !client.cookies.contains_key("maillage_csrf") {
            client.get("/connexion").await;
        }
        for (route, fields, field) in documents_upload_routes(&target) {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, body) = crate::cloud::post_multipart(
                client,
                &route,
                &fields,
                &[(
                    field,
                    "intrusion.txt",
                    "text/plain",
                    b"Intrusion".as_slice(),
                )],
            )
            .await;
            assert!(!body.contains(SECRET), "{who} saw B's data posting {route}");
            assert!(
                matches!(
                    status,
                    StatusCode::NOT_FOUND | StatusCode::SEE_OTHER | StatusCode::FORBIDDEN
                ),
                "{who} POST {route} (multipart): {status}"
            );
            if status == StatusCode::SEE_OTHER {
                assert_eq!(who, "anonyme", "{who} POST {route} was accepted");
            }
            checked += 1;
        }
        let token = client.csrf();
        let route = "/cpts-b/fichiers/documents";
        let (status, _, body) = client
            .post_upload_form(
                route,
                &token,
                ("fichier", "intrusion.txt", "text/plain", b"Intrusion"),
            )
            .await;
        assert!(!body.contains(SECRET), "{who} saw B's data posting {route}");
        assert!(
            matches!(
                status,
                StatusCode::NOT_FOUND | StatusCode::SEE_OTHER | StatusCode::FORBIDDEN
            ),
            "{who} POST {route}: {status}"
        );
        if status == StatusCode::SEE_OTHER {
            assert_eq!(who, "anonyme", "{who} POST {route} was accepted");
        }
        checked += 1;
    }
    assert_eq!(snapshot_b(&host).await, before, "structure B was changed");
    assert!(checked > 500, "{checked} requests checked");
}

#[tokio::test]
async fn inside_its_structure_each_role_gets_exactly_its_pages() {
    let host = matrix_host().await;
    host.structure("cpts-a", &["polls", "agenda", "cloud"])
        .await;
    let mut coordinator = host.member("cpts-a", Role::Coordinator).await;
    let (_, location, _) = coordinator
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", "Groupe fermé"), ("visibilite", "ferme")],
        )
        .await;
    let group: i64 = location
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (_, location, _) = coordinator
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", "Sondage A"),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    let poll = location.unwrap().rsplit('/').next().unwrap().to_string();
    // A meeting of the whole structure to come, with a first compte-rendu.
    let start = crate::support::local_in(10, 20, 0, "Europe/Paris");
    let (status, location, body) = coordinator
        .post_form(
            "/cpts-a/agenda/nouvelle",
            &[
                ("titre", "Réunion de A"),
                ("groupe", ""),
                ("debut", start.as_str()),
                ("fuseau", "Europe/Paris"),
                ("duree", "60"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let meeting = meeting_id(&location.unwrap());
    let (status, _, body) = coordinator
        .post_form(
            &format!("/cpts-a/agenda/r/{meeting}/compte-rendu"),
            &[("texte", "Décision : se revoir"), ("version", "0")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    // An open project with a text (two revisions) and a file, both published in the
    // national library, and a new version of the file proposed by this coordinator.
    let (_, location, _) = coordinator
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", "Groupe ouvert"), ("visibilite", "ouvert")],
        )
        .await;
    let open: i64 = location
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let library = publish_library(
        &host,
        &mut coordinator,
        "cpts-a",
        open,
        "Protocole de A",
        "# Protocole\n\nPremière version.\n",
    )
    .await;
    let target = Target {
        poll,
        group,
        person: 0,
        request: 0,
        mail: 0,
        professional: String::new(),
        link: String::new(),
        meeting: meeting.clone(),
        current: meeting.clone(),
        closed: meeting,
        message: String::new(),
        feed: 0,
        line: String::new(),
        task: String::new(),
        entry: String::new(),
        action: String::new(),
        project_message: String::new(),
        announcement: String::new(),
        document: String::new(),
        folder: String::new(),
        comment: String::new(),
        blobs: Vec::new(),
        text: library.text,
        shared: library.shared,
        library_text: library.text_entry,
        library_file: library.file_entry,
        proposal: library.proposal,
    };

    for role in [Role::Member, Role::Coordinator, Role::Admin] {
        let mut client = host.member("cpts-a", role).await;
        for (route, least) in get_routes("cpts-a", &target) {
            let (status, body) = client.get(&route).await;
            let expected = if role >= least {
                StatusCode::OK
            } else if route.contains("/groupes/") {
                // A closed group does not exist for those outside it.
                StatusCode::NOT_FOUND
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{} GET {route}", role.as_str());
            if status == StatusCode::FORBIDDEN {
                // The host's page, or the module's own refusal.
                if route.contains("/admin/") {
                    assert!(body.contains("Accès refusé"), "{route}");
                } else {
                    assert!(body.contains("role=\"alert\""), "{route}: {body}");
                }
            }
        }
        // The documents module's text and its publishing forms (403 below their role),
        // the national library (every member).
        let library: Vec<(String, Role)> = library_read_routes("cpts-a", &target)
            .into_iter()
            .map(|route| (route, Role::Member))
            .collect();
        for (route, least) in texts_get_routes("cpts-a", &target)
            .into_iter()
            .chain(library)
        {
            let (status, body) = client.get(&route).await;
            let expected = if role >= least {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{} GET {route}: {body}", role.as_str());
            if status == StatusCode::FORBIDDEN {
                assert!(body.contains("role=\"alert\""), "{route}: {body}");
            }
        }
        // Another member's proposal does not exist for them, whatever their role; the
        // platform's moderation is for operators.
        for route in confirmation_get_routes("cpts-a", &target) {
            let (status, _) = client.get(&route).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{} GET {route}",
                role.as_str()
            );
        }
        for route in platform_library_get_routes(&target) {
            let (status, _) = client.get(&route).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{} GET {route}",
                role.as_str()
            );
        }
        // The admin entry of the navigation shows only to admins.
        let (_, home) = client.get("/cpts-a/").await;
        assert_eq!(
            home.contains("href=\"/cpts-a/admin/\""),
            role == Role::Admin,
            "{}",
            role.as_str()
        );
    }
    // The proposal's author reads its page and its file; an operator, the moderation.
    for route in confirmation_get_routes("cpts-a", &target) {
        let (status, body) = coordinator.get(&route).await;
        assert_eq!(status, StatusCode::OK, "the author GET {route}: {body}");
    }
    let mut operator = host.operator("ops-a@exemple.fr", "Ops").await;
    for route in platform_library_get_routes(&target) {
        let (status, body) = operator.get(&route).await;
        assert_eq!(status, StatusCode::OK, "an operator GET {route}: {body}");
    }
}
