//! Module-scoped files: `/{structure}/fichiers/{module}/{id}` streams a blob only once the
//! module's `files.may-read` export (WIT 0.2.5) said that the acting member may read it.
//! A refusal, a trap and an unknown id answer the same 404; a component without the
//! export (built against an older WIT) keeps the legacy rule, membership.

use http::StatusCode;
use maillage::storage::PluginScope;
use maillage::tenancy::Role;

use crate::indemnity::{
    A, closed_meeting, deliver, forfait_world, indemnity_host, key, paris_minutes_ago, rows,
    signed_in,
};
use crate::support::Host;

/// The path of the first download link of the module `module` in `page`.
fn file_link(page: &str, slug: &str, module: &str) -> String {
    let prefix = format!("/{slug}/fichiers/{module}/");
    let at = page
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link to a file in {page}"));
    let rest = &page[at..];
    rest[..rest.find('"').expect("a closing quote")].to_string()
}

#[tokio::test]
async fn an_expense_note_is_read_by_its_member_and_the_treasurer_only() {
    let host = indemnity_host().await;
    let (w, mut tom, mut claire) = forfait_world(&host).await;
    closed_meeting(
        &mut claire,
        "Groupe BPCO des justificatifs",
        &w.bpco,
        &paris_minutes_ago(10),
        &[(key(w.anne), 90), (key(w.remi), 120)],
    )
    .await;
    deliver(&host, w.sid).await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, page) = anne.get(&format!("{A}/mon-compte")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let line = rows(&page)[0].id.clone();
    let (status, page) = anne.get(&format!("{A}/lignes/{line}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let token = anne.csrf();
    let (status, _, body) = anne
        .post_upload_form(
            &format!("{A}/lignes/{line}/note"),
            &token,
            ("fichier", "train Lyon.pdf", "application/pdf", pdf),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = anne.get(&format!("{A}/lignes/{line}")).await;
    let note = file_link(&page, "cpts-a", "indemnites");

    // Its member and the treasurer download it.
    let (status, _, bytes) = anne.get_bytes(&note).await;
    assert_eq!(status, StatusCode::OK, "the line's member reads {note}");
    assert_eq!(bytes, pdf.to_vec());
    let (status, _, bytes) = tom.get_bytes(&note).await;
    assert_eq!(status, StatusCode::OK, "the treasurer reads {note}");
    assert_eq!(bytes, pdf.to_vec());

    // Another member of the structure, by id: as if it did not exist. So for a
    // coordinator, and for an admin who does not hold the treasurer's role (the line
    // itself is not theirs to read either).
    for email in ["remi@a.test", "adele@a.test"] {
        let mut other = signed_in(&host, email).await;
        let (status, _, bytes) = other.get_bytes(&note).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{email} reads {note}");
        assert!(
            !bytes.windows(4).any(|window| window == b"%PDF"),
            "no byte of the note reaches {email}"
        );
    }
    let (status, _) = claire.get(&note).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the coordinator");
    // An unknown id answers the same.
    let (status, _) = anne
        .get("/cpts-a/fichiers/indemnites/01ARZ3NDEKTSV4RRFFQ69G5FAV")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another structure: neither through A's path nor through its own, even as its admin.
    host.structure("cpts-b", &["indemnity"]).await;
    let mut stranger = host.member("cpts-b", Role::Admin).await;
    let (status, _) = stranger.get(&note).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = stranger
        .get(&note.replacen("/cpts-a/", "/cpts-b/", 1))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_module_decides_who_reads_its_files_and_a_trap_is_a_404() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    host.structure("cpts-b", &["listener"]).await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let mut admin = host.member("cpts-a", Role::Admin).await;
    let mut stranger = host.member("cpts-b", Role::Admin).await;
    let mut paths = Vec::new();
    for name in ["ouvert.txt", "prive-bilan.txt", "piege.txt"] {
        let (status, _, body) = member
            .post_body(
                &format!("/cpts-a/listener/blob?name={name}"),
                "text/plain; charset=utf-8",
                format!("contenu de {name}").into_bytes(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let stored: serde_json::Value = serde_json::from_str(&body).unwrap();
        paths.push(stored["path"].as_str().unwrap().to_string());
    }
    let [open, private, trap] = [&paths[0], &paths[1], &paths[2]];

    // A file the module lets every member read.
    let (status, body) = member.get(open).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "contenu de ouvert.txt");
    // One it keeps for admins: 404 for a member, even the one who sent it; 200 for an admin.
    let (status, body) = member.get(private).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("contenu de"), "{body}");
    let (status, body) = admin.get(private).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "contenu de prive-bilan.txt");
    // The module traps while answering: refused (404, like a refusal), and the host goes on.
    let (status, body) = admin.get(trap).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("contenu de"), "{body}");
    let (status, _) = admin.get(open).await;
    assert_eq!(status, StatusCode::OK, "the next download is served");

    // Another structure's admin: not through A's path, not through its own slug.
    for path in [open, private] {
        let (status, _) = stranger.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let (status, _) = stranger
            .get(&path.replacen("/cpts-a/", "/cpts-b/", 1))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} through cpts-b");
    }
}

#[tokio::test]
async fn a_component_without_the_files_export_keeps_membership_access() {
    // Built against WIT 0.2.0: no `files` export, so the legacy rule holds (any member
    // of the structure downloads the module's files by id; nobody else).
    let host = Host::new().await;
    host.structure("cpts-a", &["compat"]).await;
    host.structure("cpts-b", &["compat"]).await;
    let scope = PluginScope {
        structure_id: host.structure_id("cpts-a").await,
        plugin_id: "compat".into(),
    };
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    let info = host
        .state
        .blobs
        .put(
            &mut conn,
            &scope,
            "compte-rendu.txt",
            "text/plain",
            bytes::Bytes::from_static(b"compte rendu"),
        )
        .await
        .unwrap();
    drop(conn);
    let path = format!("/cpts-a/fichiers/compat/{}", info.id);
    let mut member = host.member("cpts-a", Role::Member).await;
    let (status, body) = member.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "compte rendu");
    let mut stranger = host.member("cpts-b", Role::Admin).await;
    let (status, _) = stranger.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = stranger
        .get(&format!("/cpts-b/fichiers/compat/{}", info.id))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Uploads too: the module says who may send it files (`files.may-upload`), before the
/// host reads a byte; the listener refuses a member called « Lecteur … ».
#[tokio::test]
async fn a_module_decides_who_sends_it_files() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    let sid = host.structure_id("cpts-a").await;
    host.account("cpts-a", "lecteur@a.test", "Lecteur seul", Role::Member)
        .await;
    let mut reader = crate::support::Client::new(&host);
    reader
        .login("lecteur@a.test", crate::support::PASSWORD)
        .await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let body = crate::blobs::multipart("note.txt", "text/plain", b"contenu");
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM blobs WHERE structure_id = $1")
            .bind(sid)
            .fetch_one(host.state.db.pool())
            .await
            .unwrap()
    };
    let (status, _, answer) = reader
        .post_body(
            "/cpts-a/fichiers/listener",
            "multipart/form-data; boundary=XyZ",
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer.contains("Vous ne pouvez pas déposer"), "{answer}");
    assert_eq!(stored().await, 0, "nothing stored");
    let (status, _, answer) = member
        .post_body(
            "/cpts-a/fichiers/listener",
            "multipart/form-data; boundary=XyZ",
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(stored().await, 1);
}
