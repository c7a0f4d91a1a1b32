//! Streamed uploads into the documents module (issue 20, items 1 and 7;
//! docs/cloud-contract.md, « Files in, with JavaScript »): a file bigger than what the
//! host hands a module (`MAILLAGE_BODY_LIMIT_MIB`) goes to the host's streamed route
//! `POST /{s}/fichiers/documents` — its content type taken from its first bytes by the
//! host — then a deposit (`POST /g/{g}/deposes`, `POST /d/{d}/versions/depose`) makes it a
//! document or a version under the module's own checks, no byte of it through the
//! module's memory. A refused deposit deletes the blobs it listed that no version uses;
//! an uploaded blob nobody deposited is read by nobody.

use http::StatusCode;
use maillage::storage::PluginScope;
use maillage::tenancy::Role;

use crate::cloud::{add, blob_count, cloud_host, document_ids, document_named, signed_in, world};
use crate::support::{Client, Host};

/// The module in structure A.
const A: &str = "/cpts-a/documents";
/// The host's streamed upload route for the module's files in A.
const UPLOAD: &str = "/cpts-a/fichiers/documents";
/// Bigger than the host's module body limit (16 MiB by default), within its blob limit
/// (25 MiB by default).
const BIG: usize = 24 << 20;

const PDF_V1: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PDF_V2: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n% relu\n";
const HTML: &[u8] = b"<html><body><script>alert(document.cookie)</script></body></html>";

/// Sends a file to the host's streamed route as `documents.js` does (multipart, the
/// `csrf` field first, then the file as `fichier`): the status and the JSON answer.
async fn send(
    client: &mut Client<'_>,
    name: &str,
    declared: &str,
    content: &[u8],
) -> (StatusCode, serde_json::Value) {
    let token = client.csrf();
    let (status, _, body) = client
        .post_upload_form(UPLOAD, &token, ("fichier", name, declared, content))
        .await;
    let answer =
        serde_json::from_str(&body).unwrap_or_else(|_| serde_json::json!({ "page": body }));
    (status, answer)
}

/// The blob id of the host's 201 answer.
fn id_of(answer: &serde_json::Value) -> String {
    answer["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no blob id in {answer}"))
        .to_string()
}

/// Where the host serves blob `id` of the module in A.
fn file_path(id: &str) -> String {
    format!("{UPLOAD}/{id}")
}

/// Whether the host keeps a `blobs` row of id `id`, in any structure.
async fn blob_row(host: &Host, id: &str) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM blobs WHERE id = $1")
        .bind(id)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
        > 0
}

/// The content type the host stored with blob `id`.
async fn stored_type(host: &Host, id: &str) -> String {
    sqlx::query_scalar("SELECT content_type FROM blobs WHERE id = $1")
        .bind(id)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

/// Deposits blobs as new documents at the root of project `group`, as the script's
/// plain form does: status, Location and body.
async fn deposit(
    client: &mut Client<'_>,
    group: &str,
    ids: &[&str],
) -> (StatusCode, Option<String>, String) {
    let mut fields: Vec<(&str, &str)> = vec![("dossier", "")];
    fields.extend(ids.iter().map(|id| ("blob", *id)));
    client
        .post_form(&format!("{A}/g/{group}/deposes"), &fields)
        .await
}

/// Deposits blob `id` as a new version of `document`, named `label` ("" for none).
async fn deposit_version(
    client: &mut Client<'_>,
    document: &str,
    id: &str,
    label: &str,
) -> (StatusCode, Option<String>, String) {
    client
        .post_form(
            &format!("{A}/d/{document}/versions/depose"),
            &[("libelle", label), ("blob", id)],
        )
        .await
}

/// A header's value as text ("" when absent).
fn header(headers: &http::HeaderMap, name: http::header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn a_file_over_the_modules_body_limit_streams_to_the_host_and_becomes_a_document() {
    let host = cloud_host().await;
    assert!(
        host.state.body_limit < BIG,
        "the file is bigger than what a module is handed"
    );
    assert!(
        host.state.blobs.limit > BIG as u64,
        "the host's blob limit takes it"
    );
    let w = world(&host).await;
    let mut adele = signed_in(&host, "adele@a.test").await;
    let (status, _, body) = adele
        .post_form(
            &format!("{A}/reglages"),
            &[("limite_fichier_mo", "100"), ("quota_mo", "1024")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let mut remi = signed_in(&host, "remi@a.test").await;
    // No signature a browser renders: the declared type is kept.
    let big: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    const ODT: &str = "application/vnd.oasis.opendocument.text";

    // The module's own multipart form: over the host's body limit, refused before the
    // module runs, nothing kept.
    let (status, _, body) = add(&mut remi, &w.open, "", &[("rapport annuel.odt", &big)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("Le contenu envoyé est trop volumineux."),
        "{body}"
    );
    assert_eq!(blob_count(&host, w.sid).await, 0);

    // The host's streamed route: 201 with what it wrote; nobody reads it yet.
    let (status, sent) = send(&mut remi, "rapport annuel.odt", ODT, &big).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["size"], BIG);
    assert_eq!(sent["name"], "rapport annuel.odt");
    assert_eq!(sent["content_type"], ODT);
    let big_id = id_of(&sent);
    assert_eq!(sent["path"], file_path(&big_id));
    assert_eq!(stored_type(&host, &big_id).await, ODT);
    let (status, _, bytes) = remi.get_bytes(&file_path(&big_id)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an unattached file is read by nobody"
    );
    assert!(bytes.len() < 1 << 20);

    // The deposit: 303 like the form, the document listed at version 1, downloaded
    // byte for byte with the stored type.
    let (status, location, body) = deposit(&mut remi, &w.open, &[&big_id]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("{A}/g/{}?ok=ajout&n=1", w.open).as_str())
    );
    let (_, page) = remi.get(location.as_deref().unwrap()).await;
    assert!(page.contains("Les documents sont ajoutés."), "{page}");
    let listed = document_ids(&page);
    assert_eq!(listed.len(), 1, "{page}");
    let document = document_named(&page, "rapport annuel.odt");
    assert!(page.contains("data-octets=\"25165824\""), "{page}");
    let (status, doc_page) = remi.get(&format!("{A}/d/{document}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc_page.contains("Texte OpenDocument"), "{doc_page}");
    assert!(
        doc_page.contains("data-version-actuelle=\"1\""),
        "{doc_page}"
    );
    assert!(doc_page.contains(&file_path(&big_id)), "{doc_page}");
    // The page's script, and the routes it uses, on the forms.
    assert!(
        doc_page.contains("<script src=\"/assets/documents/"),
        "{doc_page}"
    );
    assert!(
        doc_page.contains(&format!("data-envoi=\"{UPLOAD}\""))
            && doc_page.contains(&format!("data-depot=\"{A}/d/{document}/versions/depose\"")),
        "{doc_page}"
    );
    assert!(
        page.contains(&format!("data-depot=\"{A}/g/{}/deposes\"", w.open)),
        "{page}"
    );
    let (status, headers, bytes) = remi.get_bytes(&file_path(&big_id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, http::header::CONTENT_TYPE), ODT);
    assert!(
        header(&headers, http::header::CONTENT_DISPOSITION).starts_with("attachment;"),
        "{headers:?}"
    );
    assert_eq!(bytes.len(), BIG);
    assert!(bytes == big, "the download is the file, byte for byte");
    drop(bytes);

    // An attached blob deposited again, as a document or a version: 422, and kept.
    let (status, _, body) = deposit(&mut remi, &w.open, &[&big_id]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("déjà enregistré dans un document"), "{body}");
    let (status, _, body) = deposit_version(&mut remi, &document, &big_id, "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("déjà enregistré dans un document"), "{body}");
    assert!(blob_row(&host, &big_id).await, "the attached file is kept");
    let (status, _, _) = remi.get_bytes(&file_path(&big_id)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(document_ids(&page), listed, "nothing added");

    // Over the quota (25 Mo, 24 used): refused in French, the blob deleted, nothing
    // listed.
    let (status, _, body) = adele
        .post_form(
            &format!("{A}/reglages"),
            &[("limite_fichier_mo", "100"), ("quota_mo", "25")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let two = vec![b'z'; 2 << 20];
    let (status, sent) = send(&mut remi, "annexe.bin", "application/octet-stream", &two).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let over = id_of(&sent);
    assert!(blob_row(&host, &over).await);
    let (status, _, body) = deposit(&mut remi, &w.open, &[&over]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("L’espace des documents de la structure est plein"),
        "{body}"
    );
    assert!(!blob_row(&host, &over).await, "the refused file is deleted");
    let (status, _, _) = remi.get_bytes(&file_path(&over)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(document_ids(&page), listed, "nothing added");

    // Over the per-file limit (1 Mo): 413 as the form's, the blob deleted.
    let (status, _, body) = adele
        .post_form(
            &format!("{A}/reglages"),
            &[("limite_fichier_mo", "1"), ("quota_mo", "1024")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, sent) = send(&mut remi, "annexe.bin", "application/octet-stream", &two).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let too_big = id_of(&sent);
    let (status, _, body) = deposit(&mut remi, &w.open, &[&too_big]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("dépasse la taille maximale de 1 Mo par fichier"),
        "{body}"
    );
    assert!(
        !blob_row(&host, &too_big).await,
        "the refused file is deleted"
    );
    assert_eq!(
        blob_count(&host, w.sid).await,
        1,
        "only the document's file"
    );
}

#[tokio::test]
async fn uploads_are_typed_by_their_bytes_and_deposits_take_only_free_blobs_of_the_structure() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;

    // A PDF declared as HTML is stored as a PDF, served inline once deposited.
    let (status, sent) = send(&mut remi, "compte-rendu.pdf", "text/html", PDF_V1).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["content_type"], "application/pdf");
    let v1 = id_of(&sent);
    assert_eq!(stored_type(&host, &v1).await, "application/pdf");
    // HTML declared as a PNG is stored as bytes: a download, never rendered.
    let (status, sent) = send(&mut remi, "page.html", "image/png", HTML).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let page_html = id_of(&sent);
    assert_eq!(
        stored_type(&host, &page_html).await,
        "application/octet-stream"
    );
    let (status, _, body) = deposit(&mut remi, &w.open, &[&v1, &page_html]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(document_ids(&page).len(), 2, "{page}");
    let document = document_named(&page, "compte-rendu.pdf");
    let (status, headers, bytes) = remi.get_bytes(&file_path(&v1)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF_V1.to_vec());
    assert_eq!(
        header(&headers, http::header::CONTENT_TYPE),
        "application/pdf"
    );
    assert!(header(&headers, http::header::CONTENT_DISPOSITION).starts_with("inline;"));
    let (status, headers, bytes) = remi.get_bytes(&file_path(&page_html)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, HTML.to_vec());
    assert_eq!(
        header(&headers, http::header::CONTENT_TYPE),
        "application/octet-stream"
    );
    assert!(
        header(&headers, http::header::CONTENT_DISPOSITION).starts_with("attachment;"),
        "{headers:?}"
    );
    assert_eq!(
        header(&headers, http::header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );

    // Structure B's blob, by id: not found in A's scope (422), and B keeps it.
    let scope_b = PluginScope {
        structure_id: host.structure_id("cpts-b").await,
        plugin_id: "documents".into(),
    };
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    let theirs = host
        .state
        .blobs
        .put(
            &mut conn,
            &scope_b,
            "b.pdf",
            "application/pdf",
            bytes::Bytes::from_static(PDF_V2),
        )
        .await
        .unwrap();
    drop(conn);
    let (status, _, body) = deposit(&mut remi, &w.open, &[&theirs.id]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("Fichier introuvable : renvoyez-le."),
        "{body}"
    );
    assert!(blob_row(&host, &theirs.id).await, "B's file is B's");
    let (status, _, body) = deposit(&mut remi, &w.open, &["inconnu"]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, page) = remi.get(&format!("{A}/g/{}", w.open)).await;
    assert_eq!(document_ids(&page).len(), 2, "nothing added");

    // Who sends files to the host's route: not an invité, nor a member in no group
    // (403 before a byte is read); a membre actif and the coordinator do.
    let before = blob_count(&host, w.sid).await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let (status, answer) = send(&mut gus, "note.pdf", "application/pdf", PDF_V2).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("Vous ne pouvez pas déposer")),
        "{answer}"
    );
    host.account("cpts-a", "nina@a.test", "Nina Sans-Groupe", Role::Member)
        .await;
    let mut nina = signed_in(&host, "nina@a.test").await;
    let (status, answer) = send(&mut nina, "note.pdf", "application/pdf", PDF_V2).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(blob_count(&host, w.sid).await, before, "nothing stored");
    let mut claire = signed_in(&host, "claire@a.test").await;
    let (status, answer) = send(&mut claire, "note.pdf", "application/pdf", PDF_V2).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, _, body) = deposit(&mut claire, &w.closed, &[&id_of(&answer)]).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the coordinator adds: {body}"
    );

    // A membre actif sends a file, but adds no document: 403, the file deleted.
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, answer) = send(&mut anne, "ajout.pdf", "application/pdf", PDF_V2).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let refused = id_of(&answer);
    let (status, _, body) = deposit(&mut anne, &w.open, &[&refused]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("Seuls les référents et les coordinateurs ajoutent des documents"),
        "{body}"
    );
    assert!(
        !blob_row(&host, &refused).await,
        "the refused file is deleted"
    );

    // She deposits a new version from a streamed file: version 2, version 1 kept.
    let (status, answer) = send(&mut anne, "compte-rendu relu.pdf", "text/plain", PDF_V2).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let v2 = id_of(&answer);
    let (status, location, body) = deposit_version(&mut anne, &document, &v2, "Relue").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("{A}/d/{document}?ok=version").as_str())
    );
    let (_, doc_page) = anne.get(&format!("{A}/d/{document}")).await;
    assert!(
        doc_page.contains("data-version-actuelle=\"2\""),
        "{doc_page}"
    );
    assert!(doc_page.contains("Relue"), "{doc_page}");
    assert!(doc_page.contains("compte-rendu relu.pdf"), "{doc_page}");
    assert!(
        doc_page.contains(&file_path(&v1)),
        "version 1 listed: {doc_page}"
    );
    let (status, headers, bytes) = anne.get_bytes(&file_path(&v2)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PDF_V2.to_vec());
    assert_eq!(
        header(&headers, http::header::CONTENT_TYPE),
        "application/pdf"
    );
    let (status, _, bytes) = anne.get_bytes(&file_path(&v1)).await;
    assert_eq!(status, StatusCode::OK, "version 1 still downloads");
    assert_eq!(bytes, PDF_V1.to_vec());

    // An invité deposits no version: 403, and the blob listed (a free one) deleted.
    let (status, answer) = send(&mut anne, "encore.pdf", "application/pdf", PDF_V2).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let listed = id_of(&answer);
    let (status, _, body) = deposit_version(&mut gus, &document, &listed, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("Seuls les membres du projet déposent de nouvelles versions"),
        "{body}"
    );
    assert!(
        !blob_row(&host, &listed).await,
        "the refused file is deleted"
    );
    let (_, doc_page) = anne.get(&format!("{A}/d/{document}")).await;
    assert!(
        doc_page.contains("data-version-actuelle=\"2\""),
        "{doc_page}"
    );
}
