//! The national library's storage (docs/cloud-library-design.md, part A), called as the
//! runtime, the confirmation page and the operator pages will call it, on a real host's
//! database and blob store (SQLite, or PostgreSQL with MAILLAGE_TEST_DATABASE=postgres):
//! a proposal is published only once its author confirms it, in its structure, within
//! its hour, once; other structures read the copy (the owner's name, never its
//! `source_ref`), a file even after the module deleted its blob (in the local folder and
//! in an S3 bucket); refusals; one library per module; withdrawal, new versions, hiding;
//! the search (folded word prefixes, title and tag hits first, tag filter, pages by
//! cursor).

use bytes::Bytes;
use futures_util::StreamExt;
use maillage::identity::Account;
use maillage::library::{
    self, Caller, ConfirmError, ContentKind, LibraryError, Licence, PendingContent, Proposal,
    ProposalContent, ProposalLookup, SearchSpec, TagCount, VersionOf,
};
use maillage::storage::blobs::{BlobStore, SweepReport};
use maillage::storage::{Db, PluginScope, now_secs};
use maillage::tenancy::Role;
use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;

use crate::support::{Host, create_bucket, s3_endpoint, s3_object_status};

/// The module whose library these tests fill.
pub(crate) const MODULE: &str = "documents";

pub(crate) const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A host with structures A and B, a coordinator in each.
pub(crate) struct World {
    pub(crate) host: Host,
    pub(crate) a: i64,
    pub(crate) b: i64,
    pub(crate) alice: Account,
    pub(crate) bruno: Account,
}

impl World {
    pub(crate) async fn new() -> World {
        World::on(Host::new().await).await
    }

    /// Structures A and B and their coordinators on `host` (one on an S3 bucket, say).
    pub(crate) async fn on(host: Host) -> World {
        let a = host.structure("cpts-a", &[]).await.id;
        let b = host.structure("cpts-b", &[]).await.id;
        let alice = host
            .account(
                "cpts-a",
                "alice@cpts-a.fr",
                "Alice Coord",
                Role::Coordinator,
            )
            .await;
        let bruno = host
            .account(
                "cpts-b",
                "bruno@cpts-b.fr",
                "Bruno Coord",
                Role::Coordinator,
            )
            .await;
        World {
            host,
            a,
            b,
            alice,
            bruno,
        }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.host.state.db
    }

    pub(crate) async fn conn(&self) -> PoolConnection<sqlx::Any> {
        self.db().pool().acquire().await.unwrap()
    }

    /// The acting member of `structure_id`, allowed to publish (a coordinator in a POST).
    pub(crate) fn publisher(&self, structure_id: i64, account: &Account) -> Caller {
        Caller {
            structure_id,
            module_id: MODULE.into(),
            account_id: Some(account.id),
            may_publish: true,
        }
    }

    pub(crate) async fn propose(
        &self,
        caller: &Caller,
        proposal: &Proposal,
    ) -> Result<String, LibraryError> {
        let mut conn = self.conn().await;
        library::propose(&mut conn, caller, proposal).await
    }

    pub(crate) async fn confirm(
        &self,
        structure_id: i64,
        account_id: i64,
        token: &str,
    ) -> ConfirmResult {
        library::confirm(
            self.db(),
            &self.host.state.blobs,
            structure_id,
            account_id,
            token,
        )
        .await
    }

    /// Proposed and confirmed by `caller`'s member: the entry's id.
    pub(crate) async fn publish(&self, caller: &Caller, proposal: &Proposal) -> i64 {
        let token = self.propose(caller, proposal).await.expect("proposed");
        let account = caller.account_id.expect("an acting member");
        self.confirm(caller.structure_id, account, &token)
            .await
            .expect("published")
            .entry_id
    }

    /// One of the module's blobs in `structure_id`, as `blobs.put` stores it.
    pub(crate) async fn blob(
        &self,
        structure_id: i64,
        module: &str,
    ) -> maillage::storage::blobs::BlobInfo {
        let scope = PluginScope {
            structure_id,
            plugin_id: module.into(),
        };
        let mut conn = self.conn().await;
        self.host
            .state
            .blobs
            .put(
                &mut conn,
                &scope,
                "protocole.pdf",
                "application/pdf",
                Bytes::from_static(PDF),
            )
            .await
            .unwrap()
    }

    async fn actions(&self, structure_id: Option<i64>) -> Vec<(String, String)> {
        self.db()
            .audit_entries(structure_id, 200)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.actor))
            .collect()
    }
}

pub(crate) type ConfirmResult = Result<library::Published, ConfirmError>;

pub(crate) fn reader(structure_id: i64) -> Caller {
    Caller::reader(structure_id, MODULE)
}

pub(crate) fn markdown(title: &str, text: &str) -> Proposal {
    Proposal {
        new_version_of: None,
        title: title.into(),
        description: format!("À propos de « {title} »."),
        tags: Vec::new(),
        licence: Licence::CcBy,
        content: ProposalContent::Markdown(text.into()),
        note: String::new(),
        source_ref: "doc-1".into(),
        return_path: "/d/1".into(),
    }
}

fn words(text: &str) -> SearchSpec {
    SearchSpec {
        words: text.into(),
        limit: 50,
        ..SearchSpec::default()
    }
}

async fn found(conn: &mut AnyConnection, caller: &Caller, spec: &SearchSpec) -> Vec<i64> {
    library::search(conn, caller, spec)
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| e.id)
        .collect()
}

#[tokio::test]
async fn a_confirmed_proposal_is_read_everywhere_and_refusals_publish_nothing() {
    let w = World::new().await;
    let alice = w.publisher(w.a, &w.alice);

    // Proposed: only its author sees it, in its structure, exactly as it will be.
    let text = "# Fiche réflexe\n\n<!-- x -->\nAppeler le 15 en cas de doute.\n";
    let mut proposal = markdown("Fiche réflexe soins non programmés", text);
    proposal.tags = vec![
        " Urgences ".into(),
        "urgences".into(),
        "Soins non programmés".into(),
    ];
    let token = w.propose(&alice, &proposal).await.unwrap();
    match library::proposal_for(w.db(), w.a, w.alice.id, &token)
        .await
        .unwrap()
    {
        Some(ProposalLookup::Pending(p)) => {
            assert_eq!(p.content, PendingContent::Markdown(text.into()));
            assert_eq!(p.tags, ["Urgences", "Soins non programmés"]);
            assert_eq!(p.new_version_of, None);
            assert_eq!(p.module_id, MODULE);
            assert_eq!(p.licence, Licence::CcBy);
        }
        other => panic!("{other:?}"),
    }
    let colleague = w
        .host
        .account(
            "cpts-a",
            "carla@cpts-a.fr",
            "Carla Coord",
            Role::Coordinator,
        )
        .await;
    assert_eq!(
        library::proposal_for(w.db(), w.a, colleague.id, &token)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        w.confirm(w.a, colleague.id, &token).await,
        Err(ConfirmError::NotFound)
    );
    assert_eq!(
        library::proposal_for(w.db(), w.b, w.alice.id, &token)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        library::proposal_for(w.db(), w.a, w.alice.id, "pas-un-jeton")
            .await
            .unwrap(),
        None
    );

    // Confirmed: published once, then the token is spent.
    let published = w.confirm(w.a, w.alice.id, &token).await.unwrap();
    let id = published.entry_id;
    assert_eq!(published.version, 1);
    assert_eq!(
        published.location("cpts-a"),
        format!("/cpts-a/documents/d/1?bibliotheque=publiee&entree={id}")
    );
    assert_eq!(
        w.confirm(w.a, w.alice.id, &token).await,
        Err(ConfirmError::NotFound)
    );
    assert_eq!(
        library::proposal_for(w.db(), w.a, w.alice.id, &token)
            .await
            .unwrap(),
        None
    );
    assert!(
        w.actions(Some(w.a))
            .await
            .iter()
            .any(|(action, actor)| action == "library.publish" && actor.contains("Alice Coord"))
    );

    // Read from B: A's name and kind, the same text, no source_ref.
    let mut conn = w.conn().await;
    let b = reader(w.b);
    let entry = library::get(&mut conn, &b, id)
        .await
        .unwrap()
        .expect("B reads A's entry");
    assert_eq!(entry.title, "Fiche réflexe soins non programmés");
    assert_eq!(entry.source_name, "Structure cpts-a");
    assert_eq!(entry.source_kind, "CPTS");
    assert!(!entry.mine);
    assert_eq!(entry.source_ref, None);
    assert_eq!(entry.licence, Licence::CcBy);
    assert_eq!(entry.kind, ContentKind::Markdown);
    assert_eq!(entry.version, 1);
    assert_eq!(entry.tags, ["Urgences", "Soins non programmés"]);
    assert_eq!(entry.withdrawn_at, None);
    assert_eq!(entry.hidden, None);
    let content = library::read(&mut conn, &b, id, None).await.unwrap();
    assert_eq!(content.text.as_deref(), Some(text));
    assert_eq!(content.file, None);
    let own = library::get(&mut conn, &reader(w.a), id)
        .await
        .unwrap()
        .unwrap();
    assert!(own.mine);
    assert_eq!(own.source_ref.as_deref(), Some("doc-1"));
    let mine: Vec<i64> = library::mine_for(&mut conn, &reader(w.a), "doc-1")
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(mine, [id]);
    assert!(
        library::mine_for(&mut conn, &b, "doc-1")
            .await
            .unwrap()
            .is_empty()
    );

    // One library per module: another module, in any structure, sees none of it.
    for structure in [w.a, w.b] {
        let other = Caller::reader(structure, "autre");
        assert_eq!(library::get(&mut conn, &other, id).await.unwrap(), None);
        assert_eq!(
            library::read(&mut conn, &other, id, None).await,
            Err(LibraryError::NotFound)
        );
        assert_eq!(
            library::versions(&mut conn, &other, id).await,
            Err(LibraryError::NotFound)
        );
        assert!(found(&mut conn, &other, &words("")).await.is_empty());
        assert!(found(&mut conn, &other, &words("fiche")).await.is_empty());
        assert!(
            library::tags(&mut conn, &other, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    // A file: copied at confirmation, so B reads it even once A's module deleted its blob.
    let blob = w.blob(w.a, MODULE).await;
    let mut file = markdown("Protocole anticoagulants", "");
    file.content = ProposalContent::File {
        blob_id: blob.id.clone(),
    };
    let token = w.propose(&alice, &file).await.unwrap();
    match library::proposal_for(w.db(), w.a, w.alice.id, &token)
        .await
        .unwrap()
    {
        Some(ProposalLookup::Pending(p)) => match &p.content {
            PendingContent::File { blob_id, info } => {
                assert_eq!(blob_id, &blob.id);
                assert_eq!(info.name, "protocole.pdf");
                assert_eq!(info.sha256, blob.sha256);
                assert_eq!(info.size, PDF.len() as u64);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let file_id = w.confirm(w.a, w.alice.id, &token).await.unwrap().entry_id;
    let scope_a = PluginScope {
        structure_id: w.a,
        plugin_id: MODULE.into(),
    };
    let blobs = &w.host.state.blobs;
    assert!(blobs.delete(&mut conn, &scope_a, &blob.id).await.unwrap());
    blobs.sweep_erasures(w.db(), 100).await.unwrap();
    assert!(
        blobs
            .get(&mut conn, &scope_a, &blob.id)
            .await
            .unwrap()
            .is_none()
    );
    let entry = library::get(&mut conn, &b, file_id).await.unwrap().unwrap();
    match &entry.kind {
        ContentKind::File(info) => {
            assert_eq!(info.sha256, blob.sha256);
            assert_eq!(info.content_type, "application/pdf");
        }
        other => panic!("{other:?}"),
    }
    let content = library::read(&mut conn, &b, file_id, None).await.unwrap();
    assert_eq!(content.text, None);
    assert_eq!(content.file.map(|f| f.sha256), Some(blob.sha256.clone()));
    let object = library::file_object(&mut conn, MODULE, file_id, 1)
        .await
        .unwrap();
    assert!(object.object_key.starts_with("library/documents/"));
    assert_eq!(object.info.sha256, blob.sha256);
    let copy = blobs
        .library_object(&object.object_key)
        .await
        .unwrap()
        .expect("the library's copy");
    assert_eq!(&copy[..], PDF);
    let not_files = [("autre", file_id, 1), (MODULE, file_id, 2), (MODULE, id, 1)];
    for (module, entry_id, number) in not_files {
        assert_eq!(
            library::file_object(&mut conn, module, entry_id, number).await,
            Err(LibraryError::NotFound),
            "{module} {entry_id} {number}"
        );
    }

    // A blob deleted between the proposal and its confirmation: nothing is published.
    let gone = w.blob(w.a, MODULE).await;
    file.content = ProposalContent::File {
        blob_id: gone.id.clone(),
    };
    let token = w.propose(&alice, &file).await.unwrap();
    assert!(blobs.delete(&mut conn, &scope_a, &gone.id).await.unwrap());
    assert_eq!(
        w.confirm(w.a, w.alice.id, &token).await,
        Err(ConfirmError::FileChanged)
    );

    // Refused proposals.
    let p = markdown("Titre", "Texte");
    let not_allowed = Caller {
        may_publish: false,
        ..alice.clone()
    };
    let nobody = Caller {
        account_id: None,
        ..alice.clone()
    };
    for caller in [&not_allowed, &nobody] {
        assert_eq!(w.propose(caller, &p).await, Err(LibraryError::Denied));
    }
    let of_b = w.blob(w.b, MODULE).await;
    let of_another_module = w.blob(w.a, "autre").await;
    for blob_id in [of_b.id, of_another_module.id, "inconnu".to_string()] {
        let with_file = Proposal {
            content: ProposalContent::File { blob_id },
            ..p.clone()
        };
        assert_eq!(
            w.propose(&alice, &with_file).await,
            Err(LibraryError::Invalid("Fichier inconnu.".into()))
        );
    }
    let chars = |n: usize| "é".repeat(n);
    let refused = [
        Proposal {
            title: "  ".into(),
            ..p.clone()
        },
        Proposal {
            title: chars(201),
            ..p.clone()
        },
        Proposal {
            title: "Deux\nlignes".into(),
            ..p.clone()
        },
        Proposal {
            description: chars(2001),
            ..p.clone()
        },
        Proposal {
            tags: (0..11).map(|i| format!("mot {i}")).collect(),
            ..p.clone()
        },
        Proposal {
            tags: vec![chars(41)],
            ..p.clone()
        },
        Proposal {
            tags: vec![String::new()],
            ..p.clone()
        },
        Proposal {
            note: chars(501),
            ..p.clone()
        },
        Proposal {
            source_ref: chars(101),
            ..p.clone()
        },
        Proposal {
            content: ProposalContent::Markdown("x".repeat(256 * 1024 + 1)),
            ..p.clone()
        },
        Proposal {
            content: ProposalContent::Markdown("ligne\n".repeat(5001)),
            ..p.clone()
        },
        Proposal {
            return_path: "d/1".into(),
            ..p.clone()
        },
        Proposal {
            return_path: "//ailleurs.example/".into(),
            ..p.clone()
        },
        Proposal {
            return_path: "/\\ailleurs.example/".into(),
            ..p.clone()
        },
    ];
    for (i, proposal) in refused.iter().enumerate() {
        assert!(
            matches!(
                w.propose(&alice, proposal).await,
                Err(LibraryError::Invalid(_))
            ),
            "case {i} is refused"
        );
    }
    // At the limits: accepted (ten tags of 40 characters, duplicates merged first).
    let mut tags: Vec<String> = (0..10).map(|i| format!("{i}{}", chars(39))).collect();
    tags.push(tags[0].to_uppercase());
    let at_limits = Proposal {
        title: chars(200),
        description: chars(2000),
        tags,
        note: chars(500),
        source_ref: chars(100),
        content: ProposalContent::Markdown("ligne\n".repeat(5000)),
        ..p.clone()
    };
    assert!(w.propose(&alice, &at_limits).await.is_ok());
    // A new version of B's entry, or of no entry: not A's to change.
    let bruno = w.publisher(w.b, &w.bruno);
    let of_bruno = w
        .publish(&bruno, &markdown("Annuaire de la MSP", "Texte de B."))
        .await;
    for entry_id in [of_bruno, i64::MAX] {
        let version = Proposal {
            new_version_of: Some(entry_id),
            ..p.clone()
        };
        assert_eq!(
            w.propose(&alice, &version).await,
            Err(LibraryError::NotFound)
        );
    }

    // Expired: the page says so and nothing is published; cancelled: back to the module.
    let token = w.propose(&alice, &p).await.unwrap();
    sqlx::query("UPDATE library_proposals SET expires_at = $1 WHERE token_hash = $2")
        .bind(now_secs() - 1)
        .bind(maillage::identity::secret_hash(&token))
        .execute(w.db().pool())
        .await
        .unwrap();
    assert_eq!(
        library::proposal_for(w.db(), w.a, w.alice.id, &token)
            .await
            .unwrap(),
        Some(ProposalLookup::Expired)
    );
    assert_eq!(
        w.confirm(w.a, w.alice.id, &token).await,
        Err(ConfirmError::Expired)
    );
    assert_eq!(
        library::cancel(w.db(), w.a, colleague.id, &token)
            .await
            .unwrap(),
        None
    );
    let cancelled = library::cancel(w.db(), w.a, w.alice.id, &token)
        .await
        .unwrap()
        .expect("its author cancels it");
    assert_eq!(
        cancelled.location("cpts-a"),
        "/cpts-a/documents/d/1?bibliotheque=annulee"
    );
    assert_eq!(
        library::proposal_for(w.db(), w.a, w.alice.id, &token)
            .await
            .unwrap(),
        None
    );

    // Only the two confirmed entries of A, and B's, were published.
    let all = found(&mut conn, &reader(w.a), &words("")).await;
    assert_eq!(all, [of_bruno, file_id, id]);
}

/// Issue 20: on a host whose blobs live in an S3 bucket (moto), a confirmed file is
/// copied inside the bucket under `library/`, reads back byte for byte (whole and as the
/// download streams it) and outlives the erasure of the module's blob.
#[tokio::test]
async fn a_published_file_is_a_copy_in_an_s3_bucket() {
    let Some(endpoint) = s3_endpoint() else {
        panic!(
            "MAILLAGE_TEST_S3_ENDPOINT is not set: run the suite with scripts/test.sh, which starts moto"
        );
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1_000_000)
        .unwrap_or(0);
    let bucket = format!("maillage-library-{}-{nanos}", std::process::id());
    create_bucket(&endpoint, &bucket).await;
    let host = Host::with_config(|c| {
        c.s3_bucket = Some(bucket.clone());
        c.s3_endpoint = Some(endpoint.clone());
    })
    .await;
    let w = World::on(host).await;
    let blob = w.blob(w.a, MODULE).await;
    let mut file = markdown("Protocole anticoagulants", "");
    file.content = ProposalContent::File {
        blob_id: blob.id.clone(),
    };
    let file_id = w.publish(&w.publisher(w.a, &w.alice), &file).await;

    // Copied inside the bucket, under `library/`: the same bytes, the same SHA-256.
    let mut conn = w.conn().await;
    let object = library::file_object(&mut conn, MODULE, file_id, 1)
        .await
        .unwrap();
    assert!(
        object.object_key.starts_with("library/documents/"),
        "{}",
        object.object_key
    );
    assert_eq!(object.info.name, "protocole.pdf");
    assert_eq!(object.info.size, PDF.len() as u64);
    assert_eq!(object.info.sha256, blob.sha256);
    assert_eq!(
        s3_object_status(&endpoint, &bucket, &object.object_key).await,
        200
    );
    let blobs = &w.host.state.blobs;
    let copy = library_copy(blobs, &object.object_key)
        .await
        .expect("the library's copy");
    assert_eq!(copy, PDF, "the copy holds the published bytes");

    // A deletes its blob and the sweep erases its object: the copy stays, byte for byte.
    let scope_a = PluginScope {
        structure_id: w.a,
        plugin_id: MODULE.into(),
    };
    assert!(blobs.delete(&mut conn, &scope_a, &blob.id).await.unwrap());
    assert_eq!(
        blobs.sweep_erasures(w.db(), 100).await.unwrap(),
        SweepReport {
            erased: 1,
            failed: 0
        }
    );
    let original = format!("{}/{MODULE}/{}", w.a, blob.id);
    assert_eq!(s3_object_status(&endpoint, &bucket, &original).await, 404);
    assert_eq!(
        library_copy(blobs, &object.object_key).await.as_deref(),
        Some(PDF)
    );

    // B reads the file's version; nothing went to the local folder.
    let content = library::read(&mut conn, &reader(w.b), file_id, None)
        .await
        .unwrap();
    assert_eq!(content.number, 1);
    assert_eq!(content.text, None);
    assert_eq!(content.file, Some(object.info));
    assert!(!w.host.dir.join("blobs").exists());
}

/// Library object `key` as the download route streams it (checked against the object
/// read whole); none when the store has no such object.
async fn library_copy(blobs: &BlobStore, key: &str) -> Option<Vec<u8>> {
    let whole = blobs.library_object(key).await.unwrap()?;
    let stream = blobs
        .library_stream(key)
        .await
        .unwrap()
        .expect("streamed as it is read whole");
    let mut stream = std::pin::pin!(stream);
    let mut streamed: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.expect("a chunk of the object"));
    }
    assert_eq!(streamed, &whole[..], "{key}: streamed as read whole");
    Some(streamed)
}

#[tokio::test]
async fn versions_withdrawal_and_moderation() {
    let w = World::new().await;
    let alice = w.publisher(w.a, &w.alice);
    let bruno = w.publisher(w.b, &w.bruno);
    let (a, b) = (reader(w.a), reader(w.b));
    let v1_text = "Ancienne consigne : hydroxyzine le soir.";
    let id = w
        .publish(&alice, &markdown("Consignes canicule", v1_text))
        .await;

    // A new version: current for everyone, the first one still readable.
    let v2_text = "Nouvelle consigne : paracétamol si fièvre.";
    let mut v2 = markdown("Consignes canicule 2025", v2_text);
    v2.new_version_of = Some(id);
    v2.note = "Mise à jour de l’été.".into();
    v2.licence = Licence::Etalab;
    let token = w.propose(&alice, &v2).await.unwrap();
    match library::proposal_for(w.db(), w.a, w.alice.id, &token)
        .await
        .unwrap()
    {
        Some(ProposalLookup::Pending(p)) => assert_eq!(
            p.new_version_of,
            Some(VersionOf {
                entry_id: id,
                current_version: 1,
                title: "Consignes canicule".into(),
                withdrawn_at: None,
                hidden: false,
            })
        ),
        other => panic!("{other:?}"),
    }
    let published = w.confirm(w.a, w.alice.id, &token).await.unwrap();
    assert_eq!((published.entry_id, published.version), (id, 2));
    let mut conn = w.conn().await;
    let entry = library::get(&mut conn, &b, id).await.unwrap().unwrap();
    assert_eq!(entry.version, 2);
    assert_eq!(entry.title, "Consignes canicule 2025");
    assert_eq!(entry.licence, Licence::Etalab);
    assert!(entry.published_at >= entry.first_published_at);
    let versions = library::versions(&mut conn, &b, id).await.unwrap();
    let listed: Vec<(u32, &str)> = versions
        .iter()
        .map(|v| (v.number, v.note.as_str()))
        .collect();
    assert_eq!(listed, [(2, "Mise à jour de l’été."), (1, "")]);
    assert_eq!(
        library::read(&mut conn, &b, id, None)
            .await
            .unwrap()
            .text
            .as_deref(),
        Some(v2_text)
    );
    assert_eq!(
        library::read(&mut conn, &b, id, Some(1))
            .await
            .unwrap()
            .text
            .as_deref(),
        Some(v1_text)
    );
    assert_eq!(
        library::read(&mut conn, &b, id, Some(3)).await,
        Err(LibraryError::NotFound)
    );
    assert!(found(&mut conn, &b, &words("hydroxyzine")).await.is_empty());
    assert_eq!(found(&mut conn, &b, &words("paracetamol")).await, [id]);
    assert_eq!(found(&mut conn, &b, &words("canicule 2025")).await, [id]);
    assert!(
        w.actions(Some(w.a))
            .await
            .iter()
            .any(|(action, _)| action == "library.version")
    );

    // B cannot change A's entry, even with its id.
    assert_eq!(
        library::withdraw(&mut conn, &bruno, id).await,
        Err(LibraryError::NotFound)
    );
    let mut of_b = markdown("Reprise par B", "Texte");
    of_b.new_version_of = Some(id);
    assert_eq!(w.propose(&bruno, &of_b).await, Err(LibraryError::NotFound));

    // Hidden by an operator: B no longer finds it nor reads it, and gets no reason; A
    // sees the reason; both logs have it.
    let operator = w
        .db()
        .create_account("olga@plateforme.fr", None, "Olga Opératrice")
        .await
        .unwrap();
    w.db()
        .set_platform_operator(operator.id, true)
        .await
        .unwrap();
    // Ten characters is enough; then shown again at once.
    library::hide(w.db(), Some(&operator), id, "Trop court")
        .await
        .unwrap();
    library::unhide(w.db(), Some(&operator), id).await.unwrap();
    assert!(matches!(
        library::hide(w.db(), Some(&operator), id, "court").await,
        Err(LibraryError::Invalid(_))
    ));
    assert_eq!(
        library::hide(w.db(), Some(&operator), i64::MAX, "Motif assez long.").await,
        Err(LibraryError::NotFound)
    );
    let reason = "Données de santé publiées par erreur.";
    let hidden = library::hide(w.db(), Some(&operator), id, reason)
        .await
        .unwrap();
    assert_eq!(hidden.owner_structure_id, w.a);
    assert_eq!(hidden.module_id, MODULE);
    assert!(hidden.changed);
    assert!(found(&mut conn, &b, &words("paracetamol")).await.is_empty());
    assert!(found(&mut conn, &b, &words("")).await.is_empty());
    let seen = library::get(&mut conn, &b, id).await.unwrap().unwrap();
    assert_eq!(seen.hidden.map(|m| m.reason), Some(String::new()));
    assert_eq!(
        library::read(&mut conn, &b, id, None).await,
        Err(LibraryError::Hidden)
    );
    let own = library::get(&mut conn, &a, id).await.unwrap().unwrap();
    assert_eq!(own.hidden.map(|m| m.reason), Some(reason.to_string()));
    assert_eq!(found(&mut conn, &a, &words("paracetamol")).await, [id]);
    assert_eq!(
        library::read(&mut conn, &a, id, Some(1)).await,
        Err(LibraryError::Hidden)
    );
    assert_eq!(
        library::file_object(&mut conn, MODULE, id, 1).await,
        Err(LibraryError::Hidden)
    );
    let mut v3 = markdown("Consignes canicule 2026", "Texte");
    v3.new_version_of = Some(id);
    assert_eq!(w.propose(&alice, &v3).await, Err(LibraryError::Hidden));
    for log in [None, Some(w.a)] {
        let actions = w.actions(log).await;
        let hides = actions
            .iter()
            .filter(|(action, actor)| action == "library.hide" && actor.contains("Olga"))
            .count();
        assert_eq!(
            hides, 2,
            "{log:?}: hidden twice (the short reason, then this one)"
        );
    }

    // Shown again: B finds it; unhiding twice changes nothing more.
    assert!(
        library::unhide(w.db(), Some(&operator), id)
            .await
            .unwrap()
            .changed
    );
    assert!(
        !library::unhide(w.db(), Some(&operator), id)
            .await
            .unwrap()
            .changed
    );
    assert_eq!(found(&mut conn, &b, &words("paracetamol")).await, [id]);
    assert!(library::read(&mut conn, &b, id, None).await.is_ok());
    for log in [None, Some(w.a)] {
        let unhides = w
            .actions(log)
            .await
            .iter()
            .filter(|(action, _)| action == "library.unhide")
            .count();
        assert_eq!(unhides, 2, "{log:?}");
    }

    // Withdrawn by A: final, listed only on demand, no content; a pending new version
    // is not published.
    let token = w.propose(&alice, &v3).await.unwrap();
    let not_allowed = Caller {
        may_publish: false,
        ..alice.clone()
    };
    assert_eq!(
        library::withdraw(&mut conn, &not_allowed, id).await,
        Err(LibraryError::Denied)
    );
    library::withdraw(&mut conn, &alice, id).await.unwrap();
    let at = library::get(&mut conn, &b, id)
        .await
        .unwrap()
        .unwrap()
        .withdrawn_at
        .expect("withdrawn");
    for version in [None, Some(1), Some(2)] {
        assert_eq!(
            library::read(&mut conn, &b, id, version).await,
            Err(LibraryError::Withdrawn(at))
        );
    }
    assert_eq!(
        library::file_object(&mut conn, MODULE, id, 2).await,
        Err(LibraryError::Withdrawn(at))
    );
    assert!(found(&mut conn, &b, &words("paracetamol")).await.is_empty());
    let with_withdrawn = SearchSpec {
        include_withdrawn: true,
        ..words("paracetamol")
    };
    assert_eq!(found(&mut conn, &b, &with_withdrawn).await, [id]);
    assert_eq!(library::versions(&mut conn, &b, id).await.unwrap().len(), 2);
    assert_eq!(
        w.confirm(w.a, w.alice.id, &token).await,
        Err(ConfirmError::EntryChanged)
    );
    assert_eq!(
        library::get(&mut conn, &b, id)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
    library::withdraw(&mut conn, &alice, id).await.unwrap();
    let again = library::get(&mut conn, &b, id).await.unwrap().unwrap();
    assert_eq!(again.withdrawn_at, Some(at));
    let withdrawals = w
        .actions(Some(w.a))
        .await
        .iter()
        .filter(|(action, actor)| action == "library.withdraw" && actor.contains("Alice"))
        .count();
    assert_eq!(withdrawals, 1);
    assert_eq!(
        w.propose(&alice, &v3).await,
        Err(LibraryError::Withdrawn(at))
    );
}

#[tokio::test]
async fn search_folds_accents_ranks_title_hits_first_and_pages_by_cursor() {
    let w = World::new().await;
    let alice = w.publisher(w.a, &w.alice);
    let b = reader(w.b);
    let mut titled = markdown(
        "Diabète de type 2 : parcours",
        "Suivi trimestriel et examen des pieds.",
    );
    titled.tags = vec!["Parcours".into(), "Endocrinologie".into()];
    let e1 = w.publish(&alice, &titled).await;
    let e2 = w
        .publish(
            &alice,
            &markdown(
                "Fiche réflexe soins non programmés",
                "Penser au diabète gestationnel chez la femme enceinte.",
            ),
        )
        .await;
    let e3 = w
        .publish(
            &alice,
            &markdown("Insuffisance cardiaque", "Peser le patient chaque matin."),
        )
        .await;
    let mut conn = w.conn().await;

    // Accents and case folded; title and tag hits before text-only ones, though e2 is
    // newer; word prefixes, not substrings.
    assert_eq!(found(&mut conn, &b, &words("diabete")).await, [e1, e2]);
    assert_eq!(found(&mut conn, &b, &words("DIAB")).await, [e1, e2]);
    assert_eq!(found(&mut conn, &b, &words("endocrino")).await, [e1]);
    assert!(found(&mut conn, &b, &words("abete")).await.is_empty());
    // Every word must match (title, tags or text alike).
    assert_eq!(found(&mut conn, &b, &words("diabète parcours")).await, [e1]);
    assert_eq!(found(&mut conn, &b, &words("diabète enceinte")).await, [e2]);
    assert!(
        found(&mut conn, &b, &words("diabète cardiaque"))
            .await
            .is_empty()
    );
    // Stop words and one-letter words are ignored.
    assert_eq!(
        found(&mut conn, &b, &words("le diabète de la femme")).await,
        [e2]
    );
    assert_eq!(found(&mut conn, &b, &words("à l insuffisance")).await, [e3]);
    // No words: every entry, newest first.
    assert_eq!(found(&mut conn, &b, &words("")).await, [e3, e2, e1]);
    // The tag filter, alone or with words, accents and case ignored.
    let tagged = |text: &str, tag: &str| SearchSpec {
        tag: Some(tag.into()),
        ..words(text)
    };
    assert_eq!(found(&mut conn, &b, &tagged("", "PARCOURS")).await, [e1]);
    assert_eq!(
        found(&mut conn, &b, &tagged("diabete", "parcours")).await,
        [e1]
    );
    assert!(
        found(&mut conn, &b, &tagged("", "Cardiologie"))
            .await
            .is_empty()
    );
    let tags = library::tags(&mut conn, &b, 10).await.unwrap();
    assert!(
        tags.contains(&TagCount {
            tag: "parcours".into(),
            label: "Parcours".into(),
            count: 1,
        }),
        "{tags:?}"
    );

    // Three pages of three, by cursor, with no duplicate nor gap, though an entry is
    // published between the pages.
    let mut protocols = Vec::new();
    for n in 1..=7 {
        let title = format!("Protocole {n}");
        protocols.push(
            w.publish(&alice, &markdown(&title, "Texte du protocole."))
                .await,
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let spec = SearchSpec {
            limit: 3,
            cursor: cursor.clone(),
            ..words("protocole")
        };
        let page = library::search(&mut conn, &b, &spec).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|e| e.id));
        if pages == 1 {
            w.publish(&alice, &markdown("Protocole 8", "Publié entre deux pages."))
                .await;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    protocols.reverse();
    assert_eq!(pages, 3);
    assert_eq!(seen, protocols);

    // Only the structure's own entries with `mine`.
    let bruno = w.publisher(w.b, &w.bruno);
    let of_b = w
        .publish(&bruno, &markdown("Protocole de la MSP", "Texte."))
        .await;
    let mine = SearchSpec {
        mine: true,
        ..words("protocole")
    };
    assert_eq!(found(&mut conn, &b, &mine).await, [of_b]);
    assert_eq!(found(&mut conn, &reader(w.a), &mine).await.len(), 8);

    // Malformed cursors and limits out of range are refused.
    for cursor in ["abc", "1.2", "2.1.1", "1.x.1", "1.1.1.1"] {
        let spec = SearchSpec {
            cursor: Some(cursor.into()),
            ..words("protocole")
        };
        assert!(
            matches!(
                library::search(&mut conn, &b, &spec).await,
                Err(LibraryError::Invalid(_))
            ),
            "{cursor}"
        );
    }
    for limit in [0, 51] {
        let spec = SearchSpec {
            limit,
            ..words("protocole")
        };
        assert!(matches!(
            library::search(&mut conn, &b, &spec).await,
            Err(LibraryError::Invalid(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_cloud_smoke() {
    // Small sizes (a 5 MiB file, 300 entries, 20 searches): the benchmark checks its own
    // results (the file's size and SHA-256 as the host answers the upload, in its blob
    // row, through both downloads; every search page lists what `library::search`
    // finds; browsing fills a page); timings are printed, never asserted. On the
    // PostgreSQL run of the suite, PostgreSQL too (after SQLite).
    let postgres = crate::support::on_postgres().then(crate::support::postgres_url);
    maillage::bench::cloud(5, 300, 20, postgres)
        .await
        .expect("the cloud benchmark runs and its hashes and counts match");
}
