//! The national library through the documents module (`plugins/cloud`, module id
//! `documents`, docs/cloud-contract.md « National library »), end to end on the real
//! host with the real component, on SQLite and PostgreSQL: A's coordinator publishes a
//! text from the module's form, confirms it on the host's page and comes back to the
//! document; a member of B finds it in B's « Bibliothèque nationale » under A's name and
//! reads it rendered, read-only; nobody else publishes or withdraws (B's coordinator
//! 404, A's membre actif 403, a GET proposes nothing, a refused form neither); a
//! published file downloads from B with the same bytes; a new version keeps the first
//! readable; a withdrawal leaves a tombstone (410) found only with `retires=1`; the
//! module role `bibliotheque` publishes like a coordinator.

use http::StatusCode;
use maillage::tenancy::Role;

use crate::cloud::{World, cloud_host, post_multipart, signed_in, world};
use crate::documents_merge::create_text;
use crate::support::{Client, Host};

/// The module in structure A, and in structure B.
const A: &str = "/cpts-a/documents";
const B: &str = "/cpts-b/documents";
/// Where the host sends A's members to confirm a proposal.
const CONFIRM: &str = "/cpts-a/bibliotheque/confirmer/";
/// How the library names structure A (`Host::structure` names it « Structure {slug} »).
const A_NAME: &str = "Structure cpts-a (CPTS)";

const TITLE: &str = "Protocole de coordination des soins";
const DESCRIPTION: &str = "Qui appelle qui, et quand.";
/// The protocol's first text: its bold words must come out rendered.
const PROTOCOL: &str = "# Conduite à tenir\n\n\
Le secrétariat propose un **créneau dédié** du jour.\n\n\
La régulation du SAS prend le relais le samedi.\n";
const SATURDAY: &str = "La régulation du SAS prend le relais le samedi.";
/// Its second text: a line only version 2 has.
const SUNDAY: &str = "Une permanence du dimanche est ouverte.";
const NOTE: &str = "Permanence du dimanche ajoutée.";

/// A PDF with bytes that are not UTF-8, to compare byte for byte.
const PDF: &[u8] =
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

const ONLY_PUBLISHERS: &str =
    "Seuls les coordinateurs et les membres chargés de la bibliothèque publient des documents.";

/// `cloud::world` (Claire coordinates A, Anne is a membre actif of its open project, Bob
/// a member of B), with Berthe coordinating B.
async fn library_world(host: &Host) -> World {
    let w = world(host).await;
    host.account(
        "cpts-b",
        "berthe@b.test",
        "Berthe Coordinatrice",
        Role::Coordinator,
    )
    .await;
    w
}

/// Proposals waiting for their confirmation, every structure's.
async fn proposals(host: &Host) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM library_proposals")
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

/// The library's entries, every structure's.
async fn entries(host: &Host) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM library_entries")
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

/// Every `<form …>` opening tag of a page.
fn form_tags(page: &str) -> Vec<&str> {
    page.match_indices("<form")
        .map(|(at, _)| &page[at..at + page[at..].find('>').expect("the end of the tag")])
        .collect()
}

/// A page a reader cannot change anything from: its only forms are the layout's logout
/// and GET forms (the search).
fn read_only(page: &str) -> bool {
    form_tags(page)
        .iter()
        .all(|tag| tag.contains("action=\"/deconnexion\"") || tag.contains("method=\"get\""))
}

/// The id of the document a folder page lists as `name`.
fn document_named(page: &str, name: &str) -> String {
    let at = page
        .find(&format!(">{name}</a>"))
        .unwrap_or_else(|| panic!("no document {name} in {page}"));
    let marker = "data-document=\"";
    let start = page[..at].rfind(marker).expect("its row") + marker.len();
    let end = start + page[start..].find('"').expect("a closing quote");
    page[start..end].to_string()
}

/// The path of the first link in `page` starting with `prefix`.
fn link_starting(page: &str, prefix: &str) -> String {
    let at = page
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix} in {page}"))
        + "href=\"".len();
    page[at..at + page[at..].find('"').expect("a closing quote")].to_string()
}

/// Posts the module's publish form of A's document `doc`: must be a 303 to the host's
/// confirmation page, which is returned.
async fn propose(client: &mut Client<'_>, doc: &str, fields: &[(&str, &str)]) -> String {
    let (status, location, body) = client
        .post_form(&format!("{A}/d/{doc}/publier"), fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "proposing {doc}: {body}");
    let page = location.expect("the host's confirmation page");
    assert!(page.starts_with(CONFIRM), "{page}");
    page
}

/// Publishes A's document `doc` as `client`: the module's form posted, the host's page
/// read (it must show `shown`) and confirmed; back on the document with the banner.
/// Returns the entry's id.
async fn publish(
    client: &mut Client<'_>,
    doc: &str,
    fields: &[(&str, &str)],
    shown: &str,
) -> String {
    let page = propose(client, doc, fields).await;
    let (status, body) = client.get(&page).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(shown),
        "the confirmation page shows « {shown} »: {body}"
    );
    let (status, location, body) = client.post_form(&page, &[("verifie", "oui")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "confirming: {body}");
    let back = location.expect("back to the document");
    let prefix = format!("{A}/d/{doc}?bibliotheque=publiee&entree=");
    let entry = back
        .strip_prefix(prefix.as_str())
        .unwrap_or_else(|| panic!("unexpected location {back}"));
    assert!(
        !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit()),
        "{back}"
    );
    let (status, page) = client.get(&back).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Document publié dans la bibliothèque nationale."),
        "{page}"
    );
    entry.to_string()
}

/// The first version's fields.
fn first_version() -> Vec<(&'static str, &'static str)> {
    vec![
        ("titre", TITLE),
        ("description", DESCRIPTION),
        ("mots_cles", "coordination, SAS"),
        ("licence", "cc-by"),
        ("version", "1"),
    ]
}

#[tokio::test]
async fn a_text_is_published_confirmed_and_read_by_another_structure_read_only() {
    let host = cloud_host().await;
    let w = library_world(&host).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let doc = create_text(&mut claire, A, &w.open, TITLE, PROTOCOL)
        .await
        .id;

    // Not yet published: the coordinator's page offers it.
    let (status, page) = claire.get(&format!("{A}/d/{doc}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<section class=\"bibliotheque\""), "{page}");
    assert!(
        page.contains(&format!("href=\"{A}/d/{doc}/publier\"")),
        "{page}"
    );
    assert!(page.contains("Publier dans la bibliothèque nationale"));
    assert!(!page.contains("Retirer de la bibliothèque"));

    // The form: prefilled, the latest revision chosen, no note for a first version. A
    // GET proposes nothing.
    let (status, form) = claire.get(&format!("{A}/d/{doc}/publier")).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(form.contains(&format!("value=\"{TITLE}\"")), "{form}");
    assert!(form.contains("<option value=\"cc-by\" selected"), "{form}");
    assert!(form.contains("<option value=\"1\" selected"), "{form}");
    assert!(form.contains("name=\"mots_cles\"") && form.contains("name=\"description\""));
    assert!(!form.contains("name=\"entree\"") && !form.contains("name=\"note\""));
    assert_eq!(proposals(&host).await, 0, "a GET proposes nothing");

    // Refused forms: shown again with the reason, nothing proposed.
    let long = "T".repeat(201);
    let mut fields: Vec<(&str, &str)> = first_version();
    fields[0] = ("titre", long.as_str());
    let (status, _, body) = claire
        .post_form(&format!("{A}/d/{doc}/publier"), &fields)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("Le titre ne doit pas dépasser 200 caractères."),
        "{body}"
    );
    assert!(body.contains("<form class=\"publier stack\""), "{body}");
    let mut fields: Vec<(&str, &str)> = first_version();
    fields[2] = ("mots_cles", "a, b, c, d, e, f, g, h, i, j, k");
    let (status, _, body) = claire
        .post_form(&format!("{A}/d/{doc}/publier"), &fields)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Indiquez 10 mots-clés au plus."), "{body}");
    let mut fields: Vec<(&str, &str)> = first_version();
    fields[4] = ("version", "7");
    let (status, _, body) = claire
        .post_form(&format!("{A}/d/{doc}/publier"), &fields)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("Choisissez la version du document à publier."),
        "{body}"
    );
    assert_eq!(proposals(&host).await, 0, "a refused form proposes nothing");

    // Proposed, confirmed on the host's page (the text as written), back on the page.
    let entry = publish(&mut claire, &doc, &first_version(), SATURDAY).await;
    assert_eq!(proposals(&host).await, 0, "the proposal is spent");
    assert_eq!(entries(&host).await, 1);
    let (_, page) = claire.get(&format!("{A}/d/{doc}")).await;
    assert!(
        page.contains("Publié dans la bibliothèque nationale (version 1, le "),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"{A}/bibliotheque/{entry}\"")));
    assert!(page.contains("Publier une nouvelle version"));
    assert!(page.contains("Retirer de la bibliothèque"));
    assert!(page.contains("Les membres des autres structures ne pourront plus le lire."));
    let (_, mine) = claire.get(&format!("{A}/bibliotheque?miens=1")).await;
    assert!(mine.contains(&format!("data-entree=\"{entry}\"")), "{mine}");

    // A member of B finds it under A's name, and reads it rendered, read-only.
    let mut bob = signed_in(&host, "bob@b.test").await;
    let (status, found) = bob.get(&format!("{B}/bibliotheque?q=coordination")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(
        found.contains(&format!("data-entree=\"{entry}\"")),
        "{found}"
    );
    assert!(found.contains(A_NAME) && found.contains(TITLE), "{found}");
    assert!(found.contains(DESCRIPTION), "{found}");
    let (_, listed) = bob.get(&format!("{B}/bibliotheque")).await;
    assert!(
        listed.contains(&format!("data-entree=\"{entry}\"")),
        "{listed}"
    );
    let (_, none) = bob.get(&format!("{B}/bibliotheque?q=introuvable")).await;
    assert!(
        none.contains("Aucun document ne correspond à votre recherche.")
            && !none.contains("data-entree="),
        "{none}"
    );
    let (_, theirs) = bob.get(&format!("{B}/bibliotheque?miens=1")).await;
    assert!(!theirs.contains("data-entree="), "not B's: {theirs}");
    let (status, read) = bob.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read.contains(&format!("Publié par {A_NAME}")), "{read}");
    assert!(read.contains("CC BY 4.0"), "{read}");
    assert!(
        read.contains("<strong>créneau dédié</strong>") && !read.contains("**créneau"),
        "rendered: {read}"
    );
    assert!(read.contains(SATURDAY));
    assert!(
        read_only(&read),
        "no form to change it: {:?}",
        form_tags(&read)
    );
    assert!(
        !read.contains("/publier") && !read.contains("/retirer"),
        "{read}"
    );
    assert!(
        !read.contains("document d’origine"),
        "B is not its source: {read}"
    );
    let (status, _) = bob.get(&format!("{B}/bibliotheque/{entry}/v/1")).await;
    assert_eq!(status, StatusCode::OK);

    // B's coordinator cannot reach A's document through B's module: 404 everywhere.
    let mut berthe = signed_in(&host, "berthe@b.test").await;
    let (status, _) = berthe.get(&format!("{B}/d/{doc}/publier")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = berthe
        .post_form(&format!("{B}/d/{doc}/publier"), &first_version())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = berthe
        .post_form(
            &format!("{B}/d/{doc}/retirer"),
            &[("entree", entry.as_str()), ("confirme", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, read) = berthe.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "she reads it as every member: {read}"
    );
    assert!(read_only(&read), "{:?}", form_tags(&read));

    // A's membre actif neither publishes nor withdraws, and sees no section.
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, body) = anne.get(&format!("{A}/d/{doc}/publier")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains(ONLY_PUBLISHERS), "{body}");
    let (status, _, body) = anne
        .post_form(&format!("{A}/d/{doc}/publier"), &first_version())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, _) = anne
        .post_form(
            &format!("{A}/d/{doc}/retirer"),
            &[("entree", entry.as_str()), ("confirme", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = anne.get(&format!("{A}/d/{doc}")).await;
    assert!(!page.contains("<section class=\"bibliotheque\""), "{page}");
    let (status, read) = anne.get(&format!("{A}/bibliotheque/{entry}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(proposals(&host).await, 0);
    assert_eq!(entries(&host).await, 1);
    // Still published, unchanged.
    let (status, _) = bob.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert_eq!(status, StatusCode::OK);

    // Unknown and malformed entries and versions.
    for path in [
        format!("{B}/bibliotheque/999999"),
        format!("{B}/bibliotheque/abc"),
        format!("{B}/bibliotheque/0"),
        format!("{B}/bibliotheque/{entry}/v/2"),
        format!("{B}/bibliotheque/{entry}/v/abc"),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_published_file_downloads_in_another_structure_with_the_same_bytes() {
    let host = cloud_host().await;
    let w = library_world(&host).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let (status, _, body) = post_multipart(
        &mut claire,
        &format!("{A}/g/{}/documents", w.open),
        &[("dossier", "")],
        &[("fichiers", "protocole-signe.pdf", "application/pdf", PDF)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, folder) = claire.get(&format!("{A}/g/{}", w.open)).await;
    let doc = document_named(&folder, "protocole-signe.pdf");

    // The form proposes the name without its extension and the file's version 1.
    let (status, form) = claire.get(&format!("{A}/d/{doc}/publier")).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(form.contains("value=\"protocole-signe\""), "{form}");
    assert!(form.contains("<option value=\"1\" selected"), "{form}");
    let entry = publish(
        &mut claire,
        &doc,
        &[
            ("titre", "Protocole signé"),
            ("description", ""),
            ("mots_cles", "protocole"),
            ("licence", "etalab"),
            ("version", "1"),
        ],
        "protocole-signe.pdf",
    )
    .await;

    // B reads it and downloads it from the host, byte for byte.
    let mut bob = signed_in(&host, "bob@b.test").await;
    let (status, read) = bob.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read.contains("Télécharger ("), "{read}");
    assert!(read.contains("Licence Ouverte 2.0 (Etalab)"), "{read}");
    assert!(read_only(&read), "{:?}", form_tags(&read));
    let link = link_starting(&read, "/cpts-b/fichiers/documents/bibliotheque/");
    assert_eq!(
        link,
        format!("/cpts-b/fichiers/documents/bibliotheque/{entry}/1")
    );
    let (status, _, bytes) = bob.get_bytes(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF, "the same bytes as A's file");
    let (status, found) = bob.get(&format!("{B}/bibliotheque?q=protocole")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        found.contains(&format!("data-entree=\"{entry}\"")),
        "{found}"
    );
    assert!(found.contains("Document PDF"), "{found}");
}

#[tokio::test]
async fn a_new_version_keeps_the_first_readable_and_a_withdrawal_leaves_a_tombstone() {
    let host = cloud_host().await;
    let w = library_world(&host).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let doc = create_text(&mut claire, A, &w.open, TITLE, PROTOCOL)
        .await
        .id;
    let entry = publish(&mut claire, &doc, &first_version(), SATURDAY).await;

    // The text changes (revision 2): the library's copy does not.
    let changed = PROTOCOL.replace(SATURDAY, SUNDAY);
    let (status, _, body) = claire
        .post_form(
            &format!("{A}/d/{doc}/modifier"),
            &[
                ("titre", TITLE),
                ("texte", changed.as_str()),
                ("resume", ""),
                ("base", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let mut bob = signed_in(&host, "bob@b.test").await;
    let (_, read) = bob.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert!(
        read.contains(SATURDAY) && !read.contains(SUNDAY),
        "a snapshot: {read}"
    );

    // The form for a new version: the entry, its fields, the note, revision 2 chosen.
    let (status, form) = claire.get(&format!("{A}/d/{doc}/publier")).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(
        form.contains(&format!("name=\"entree\" value=\"{entry}\"")),
        "{form}"
    );
    assert!(form.contains("name=\"note\""), "{form}");
    assert!(form.contains("<option value=\"2\" selected"), "{form}");
    assert!(form.contains(DESCRIPTION), "{form}");
    assert!(form.contains("value=\"coordination, SAS\""), "{form}");
    let second = |entree: &'static str| {
        vec![
            ("titre", TITLE),
            ("description", DESCRIPTION),
            ("mots_cles", "coordination, SAS"),
            ("licence", "cc-by"),
            ("version", "2"),
            ("note", NOTE),
            ("entree", entree),
        ]
    };
    // A form made for another state of the publication: 409, nothing proposed.
    for stale in ["", "999999"] {
        let (status, _, body) = claire
            .post_form(&format!("{A}/d/{doc}/publier"), &second(stale))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "entree={stale:?}: {body}");
    }
    assert_eq!(proposals(&host).await, 0);
    let mut fields: Vec<(&str, &str)> = second("");
    fields[6] = ("entree", entry.as_str());
    let again = publish(&mut claire, &doc, &fields, SUNDAY).await;
    assert_eq!(again, entry, "the same entry, a new version");
    let (_, page) = claire.get(&format!("{A}/d/{doc}")).await;
    assert!(
        page.contains("Publié dans la bibliothèque nationale (version 2, le "),
        "{page}"
    );

    // B reads version 2, its note, and version 1 still.
    let (status, read) = bob.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read.contains(SUNDAY) && !read.contains(SATURDAY), "{read}");
    assert!(read.contains("data-version=\"2\""), "{read}");
    assert!(read.contains(NOTE), "{read}");
    assert!(
        read.contains(&format!("href=\"{B}/bibliotheque/{entry}/v/1\"")),
        "{read}"
    );
    let (status, first) = bob.get(&format!("{B}/bibliotheque/{entry}/v/1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(
        first.contains(SATURDAY) && !first.contains(SUNDAY),
        "{first}"
    );
    assert!(
        first.contains("Ce n’est pas la version actuelle de ce document"),
        "{first}"
    );
    assert!(read_only(&first), "{:?}", form_tags(&first));
    let (status, _) = bob.get(&format!("{B}/bibliotheque/{entry}/v/3")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Withdrawing needs the checkbox (422, still published)…
    let (status, _, body) = claire
        .post_form(
            &format!("{A}/d/{doc}/retirer"),
            &[("entree", entry.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Cochez la case"), "{body}");
    let (status, _) = bob.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert_eq!(status, StatusCode::OK);
    // …and another document's entry is not this one's (404).
    let other = create_text(&mut claire, A, &w.open, "Autre texte", "Autre.\n")
        .await
        .id;
    let (status, _, _) = claire
        .post_form(
            &format!("{A}/d/{other}/retirer"),
            &[("entree", entry.as_str()), ("confirme", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, location, body) = claire
        .post_form(
            &format!("{A}/d/{doc}/retirer"),
            &[("entree", entry.as_str()), ("confirme", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("back to the document");
    assert_eq!(location, format!("{A}/d/{doc}?ok=retire"));
    let (_, page) = claire.get(&location).await;
    assert!(
        page.contains("Document retiré de la bibliothèque nationale."),
        "{page}"
    );
    assert!(page.contains("Retiré le "), "{page}");
    assert!(!page.contains("Retirer de la bibliothèque"), "{page}");
    assert!(
        page.contains("Publier dans la bibliothèque nationale"),
        "publishing again makes a new entry: {page}"
    );

    // B: a tombstone without content (410), every version.
    for path in [
        format!("{B}/bibliotheque/{entry}"),
        format!("{B}/bibliotheque/{entry}/v/1"),
    ] {
        let (status, gone) = bob.get(&path).await;
        assert_eq!(status, StatusCode::GONE, "{path}: {gone}");
        assert!(gone.contains("Retiré par Structure cpts-a le "), "{gone}");
        assert!(
            !gone.contains(SUNDAY)
                && !gone.contains(SATURDAY)
                && !gone.contains("class=\"markdown\""),
            "no content: {gone}"
        );
        assert!(gone.contains(TITLE), "its title stays: {gone}");
    }
    // The search shows it only with `retires=1`, « Retiré le ».
    let (_, found) = bob.get(&format!("{B}/bibliotheque?q=coordination")).await;
    assert!(
        !found.contains(&format!("data-entree=\"{entry}\"")),
        "{found}"
    );
    let (_, found) = bob
        .get(&format!("{B}/bibliotheque?q=coordination&retires=1"))
        .await;
    assert!(
        found.contains(&format!("data-entree=\"{entry}\"")),
        "{found}"
    );
    assert!(found.contains("data-etat=\"retiree\""), "{found}");
    assert!(found.contains("Retiré le "), "{found}");
    assert!(
        found.contains("name=\"retires\" value=\"1\" checked"),
        "{found}"
    );
}

#[tokio::test]
async fn the_module_role_bibliotheque_publishes_like_a_coordinator() {
    let host = cloud_host().await;
    let w = library_world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let doc = create_text(&mut remi, A, &w.open, TITLE, PROTOCOL).await.id;

    // A référent without the role: 403, no section.
    let (status, body) = remi.get(&format!("{A}/d/{doc}/publier")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains(ONLY_PUBLISHERS), "{body}");
    let (_, page) = remi.get(&format!("{A}/d/{doc}")).await;
    assert!(!page.contains("<section class=\"bibliotheque\""), "{page}");

    // Granted « Publication dans la bibliothèque nationale »: he publishes.
    let account = host
        .state
        .db
        .account_by_login("remi@a.test")
        .await
        .unwrap()
        .expect("Rémi");
    maillage::people::grant_module_role(
        &host.state.db,
        w.sid,
        account.id,
        "documents",
        "bibliotheque",
    )
    .await
    .unwrap();
    let (_, page) = remi.get(&format!("{A}/d/{doc}")).await;
    assert!(page.contains("<section class=\"bibliotheque\""), "{page}");
    let entry = publish(&mut remi, &doc, &first_version(), SATURDAY).await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let (status, read) = bob.get(&format!("{B}/bibliotheque/{entry}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read.contains(&format!("Publié par {A_NAME}")), "{read}");
    // The publisher's name is kept in A's journal only, never shown to readers.
    assert!(!read.contains("Rémi Référent"), "{read}");
}
