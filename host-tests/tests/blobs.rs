//! Blobs: a module stores files through WIT `blobs`; members of its structure download
//! them streamed; other structures cannot. A deleted file's bytes leave the store through
//! the durable erasure sweep. Runs on the local folder and, when the test command started
//! one, on an S3-compatible server (moto).

use std::path::PathBuf;

use http::StatusCode;
use maillage::config::Config;
use maillage::storage::PluginScope;
use maillage::storage::blobs::SweepReport;
use maillage::tenancy::Role;

use crate::support::{Client, Host, create_bucket, s3_endpoint, s3_object_status};

async fn exercise(host: &Host) {
    host.structure("cpts-a", &["listener"]).await;
    host.structure("cpts-b", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let mut b = host.member("cpts-b", Role::Member).await;

    let text = "Compte rendu — réunion d’Évreux\n".repeat(2000);
    let (status, _, body) = a
        .post_body(
            "/cpts-a/listener/blob?name=compte-rendu%20%C3%A9t%C3%A9.txt",
            "text/plain; charset=utf-8",
            text.clone().into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stored["size"], text.len());
    let id = stored["id"].as_str().unwrap().to_string();
    let path = stored["path"].as_str().unwrap().to_string();
    assert_eq!(path, format!("/cpts-a/fichiers/listener/{id}"));

    // Read back through the import, and downloaded through the host, streamed.
    let (status, body) = a.get(&format!("/cpts-a/listener/blob/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let back: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(back["text"].as_str().unwrap(), text);
    let (status, headers, body) = a.get_with_headers(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, text);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("inline;")
            && disposition.contains("filename*=UTF-8''compte%2Drendu%20%C3%A9t%C3%A9%2Etxt"),
        "{disposition}"
    );

    // Another structure: neither its member through its own slug, nor through A's.
    let (status, _) = b.get(&format!("/cpts-b/fichiers/listener/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = b.get(&format!("/cpts-b/listener/blob/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = b.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Anonymous visitors are sent to the login page.
    let (status, _, _) = crate::support::Client::new(host).get_full(&path).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Stored HTML is never rendered inline in the platform's origin.
    let (_, _, body) = a
        .post_body(
            "/cpts-a/listener/blob?name=page.html",
            "text/html",
            b"<script>alert(1)</script>".to_vec(),
        )
        .await;
    let html: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (_, headers, _) = a.get_with_headers(html["path"].as_str().unwrap()).await;
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    // Over the size limit (1 MiB here), and with a bad content type: refused, nothing kept.
    let (status, _, body) = a
        .post_body(
            "/cpts-a/listener/blob?name=big.bin",
            "application/octet-stream",
            vec![7u8; (1 << 20) + 1],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("larger than the limit"), "{body}");
    let (status, _, _) = a
        .post_body("/cpts-a/listener/blob?name=x", "pas un type", b"x".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM blobs")
        .fetch_one(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(kept, 2);

    // Browser uploads (multipart) stream through the host into the module's files; the
    // module then reads them through its import.
    let photo = vec![0x89u8; 700 << 10];
    let (status, _, answer) = a
        .post_body(
            "/cpts-a/fichiers/listener",
            "multipart/form-data; boundary=XyZ",
            multipart("portrait été.png", "image/png", &photo),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let uploaded: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(uploaded["size"], photo.len());
    assert_eq!(uploaded["name"], "portrait été.png");
    let (status, body) = a
        .get(&format!(
            "/cpts-a/listener/blob/{}",
            uploaded["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&format!("\"size\":{}", photo.len())),
        "{body}"
    );
    // Over the limit: refused in French, nothing kept.
    let (status, _, answer) = a
        .post_body(
            "/cpts-a/fichiers/listener",
            "multipart/form-data; boundary=XyZ",
            multipart(
                "gros.bin",
                "application/octet-stream",
                &vec![0u8; (1 << 20) + 10],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(answer.contains("dépasse la taille autorisée"), "{answer}");
    // Another structure's member cannot upload into A's module.
    let (status, _, _) = b
        .post_body(
            "/cpts-a/fichiers/listener",
            "multipart/form-data; boundary=XyZ",
            multipart("x.txt", "text/plain", b"x"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM blobs")
        .fetch_one(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(kept, 3);

    // Deleting forgets it: no more download.
    let (status, _, body) = a
        .post_body(
            &format!("/cpts-a/listener/blob/{id}/delete"),
            "text/plain",
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("true"));
    let (status, _) = a.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Streamed upload (the host API under uploads): chunks beyond the limit abort it.
    let scope = PluginScope {
        structure_id: host.structure_id("cpts-a").await,
        plugin_id: "listener".into(),
    };
    let chunks = |n: usize| {
        futures_stream(
            (0..n).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![1u8; 256 << 10]))),
        )
    };
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    let info = host
        .state
        .blobs
        .put_stream(&mut conn, &scope, "scan.pdf", "application/pdf", chunks(3))
        .await
        .unwrap();
    assert_eq!(info.size, 3 * (256 << 10));
    let back = host
        .state
        .blobs
        .get(&mut conn, &scope, &info.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), 3 * (256 << 10));
    let refused = host
        .state
        .blobs
        .put_stream(&mut conn, &scope, "huge.pdf", "application/pdf", chunks(5))
        .await;
    assert!(refused.is_err(), "5 × 256 KiB is over the 1 MiB limit");
    let other = PluginScope {
        structure_id: host.structure_id("cpts-b").await,
        plugin_id: "listener".into(),
    };
    assert!(
        host.state
            .blobs
            .get(&mut conn, &other, &info.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub(crate) fn multipart(name: &str, content_type: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    body
}

fn futures_stream<I>(items: I) -> impl futures_util::Stream<Item = I::Item> + Unpin
where
    I: Iterator,
{
    futures_util::stream::iter(items)
}

fn small_blobs(config: &mut Config) {
    config.blob_limit_mib = 1;
}

#[tokio::test]
async fn files_are_stored_scoped_streamed_and_limited_in_the_local_folder() {
    let host = Host::with_config(small_blobs).await;
    exercise(&host).await;
    assert!(host.dir.join("blobs").exists());
}

#[tokio::test]
async fn files_are_stored_scoped_streamed_and_limited_in_an_s3_bucket() {
    let Some(endpoint) = s3_endpoint() else {
        panic!(
            "MAILLAGE_TEST_S3_ENDPOINT is not set: run the suite with scripts/test.sh, which starts moto"
        );
    };
    let bucket = format!(
        "maillage-test-{}",
        std::process::id() as u64 * 1000 + rand_suffix()
    );
    create_bucket(&endpoint, &bucket).await;
    let host = Host::with_config(|c| {
        small_blobs(c);
        c.s3_bucket = Some(bucket.clone());
        c.s3_endpoint = Some(endpoint.clone());
    })
    .await;
    exercise(&host).await;
    // Nothing went to the local folder: the bucket served every read.
    assert!(!host.dir.join("blobs").exists());
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 % 1000)
        .unwrap_or(0)
}

/// Stateless hosts: a package the operator installed through one host is served by
/// another host that shares only the database and the bucket (its own data folder).
#[tokio::test]
async fn a_package_installed_on_one_host_is_served_by_another() {
    if !crate::support::on_postgres() {
        // Several hosts need a shared database: this runs in the PostgreSQL pass.
        return;
    }
    let endpoint = s3_endpoint().expect("the test command starts moto");
    let bucket = format!("maillage-pkg-{}{}", std::process::id(), rand_suffix());
    create_bucket(&endpoint, &bucket).await;
    let shared = |c: &mut Config| {
        c.s3_bucket = Some(bucket.clone());
        c.s3_endpoint = Some(endpoint.clone());
    };
    let first = Host::with_config(shared).await;
    let schema = crate::support::test_config(&first.dir).database_schema;
    // The listener is not bundled: only an upload brings it.
    first.structure("cpts-a", &["listener"]).await;
    let second = Host::with_config(|c| {
        shared(c);
        c.database_schema = schema.clone();
    })
    .await;
    assert_ne!(first.dir, second.dir);
    let sha = first
        .state
        .registry
        .get("listener", "0.1.0")
        .await
        .unwrap()
        .sha256()
        .to_string();
    let local_copy = second.dir.join("plugins").join(format!("{sha}.wasm"));
    assert!(
        !local_copy.exists(),
        "the second host has no local copy yet"
    );
    let mut member = second.member("cpts-a", Role::Member).await;
    let (status, page) = member.get("/cpts-a/listener/").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("événement(s) reçu(s)"), "{page}");
    assert!(local_copy.exists(), "fetched from the bucket and kept");
}

#[tokio::test]
async fn uploads_need_the_csrf_token_and_the_blobs_grant() {
    let host = Host::with_config(small_blobs).await;
    host.structure("cpts-a", &["listener", "polls"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    // No token: refused before anything is read.
    let request = http::Request::post("/cpts-a/fichiers/listener")
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .header("cookie", a.cookie_header().unwrap())
        .body(axum::body::Body::from(multipart(
            "x.txt",
            "text/plain",
            b"x",
        )))
        .unwrap();
    let (status, _, _) = host.send(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Polls is not granted "blobs": no files for it.
    let (status, _, answer) = a
        .post_body(
            "/cpts-a/fichiers/polls",
            "multipart/form-data; boundary=XyZ",
            multipart("x.txt", "text/plain", b"x"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM blobs")
        .fetch_one(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(kept, 0);
}

// Erasure: a deleted file's bytes leave the store (issue 21, item 6).

/// Uploads `text` through the listener module of `cpts-a`; the blob's id.
async fn upload(client: &mut Client<'_>, name: &str, text: &str) -> String {
    let (status, _, body) = client
        .post_body(
            &format!("/cpts-a/listener/blob?name={name}"),
            "text/plain",
            text.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored: serde_json::Value = serde_json::from_str(&body).unwrap();
    stored["id"].as_str().unwrap().to_string()
}

/// Deletes the blob through the module, in a call that commits.
async fn delete_through_module(client: &mut Client<'_>, id: &str) {
    let (status, _, body) = client
        .post_body(
            &format!("/cpts-a/listener/blob/{id}/delete"),
            "text/plain",
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"deleted\":true"), "{body}");
}

/// The blob's file in the data folder's local blob store.
fn local_object(host: &Host, structure_id: i64, id: &str) -> PathBuf {
    host.dir
        .join("blobs")
        .join(structure_id.to_string())
        .join("listener")
        .join(id)
}

async fn queued_erasures(host: &Host) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM blob_erasures")
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

async fn blob_rows(host: &Host) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM blobs")
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

async fn sweep(host: &Host) -> SweepReport {
    host.state
        .blobs
        .sweep_erasures(&host.state.db, 100)
        .await
        .expect("the sweep runs")
}

#[tokio::test]
async fn a_deleted_file_leaves_the_local_folder_and_a_rolled_back_delete_keeps_it() {
    let host = Host::with_config(small_blobs).await;
    let structure = host.structure("cpts-a", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let kept = upload(&mut a, "garde.txt", "à garder").await;
    let erased = upload(&mut a, "efface.txt", "à effacer").await;
    let kept_file = local_object(&host, structure.id, &kept);
    let erased_file = local_object(&host, structure.id, &erased);
    assert!(kept_file.is_file() && erased_file.is_file());

    // A delete in a call that fails (503): rolled back, nothing queued, nothing erased.
    let (status, _, body) = a
        .post_body(
            &format!("/cpts-a/listener/blob/{kept}/delete-then-fail"),
            "text/plain",
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(queued_erasures(&host).await, 0);

    // A committed delete: queued in the call's transaction, the file waits for the sweep.
    delete_through_module(&mut a, &erased).await;
    assert_eq!(queued_erasures(&host).await, 1);
    assert!(erased_file.is_file(), "the object stays until the sweep");
    assert_eq!(
        sweep(&host).await,
        SweepReport {
            erased: 1,
            failed: 0
        }
    );
    assert!(!erased_file.exists(), "the sweep removed the file");
    assert_eq!(queued_erasures(&host).await, 0);
    assert_eq!(sweep(&host).await, SweepReport::default());

    // The rolled-back one: its row, its file and its download are all there.
    assert_eq!(blob_rows(&host).await, 1);
    assert!(kept_file.is_file());
    let (status, body) = a.get(&format!("/cpts-a/fichiers/listener/{kept}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "à garder");
    // Deleting an unknown id queues nothing.
    let (status, _, body) = a
        .post_body(
            &format!("/cpts-a/listener/blob/{erased}/delete"),
            "text/plain",
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"deleted\":false"), "{body}");
    assert_eq!(queued_erasures(&host).await, 0);
}

/// The host stops after the delete committed and before any sweep ran (a test host runs
/// no background loop): the erasure is queued in the database, and the next host on the
/// same data folder erases the file as it starts.
#[tokio::test]
async fn a_delete_committed_before_a_stop_is_erased_when_the_host_starts_again() {
    let host = Host::with_config(small_blobs).await;
    let structure = host.structure("cpts-a", &["listener"]).await;
    let file = {
        let mut a = host.member("cpts-a", Role::Member).await;
        let id = upload(&mut a, "avant-arret.txt", "contenu").await;
        delete_through_module(&mut a, &id).await;
        local_object(&host, structure.id, &id)
    };
    assert_eq!(queued_erasures(&host).await, 1);
    let dir = host.stop_keeping_data();
    assert!(file.is_file(), "no sweep ran before the stop");

    let host = Host::at(dir.clone()).await;
    assert!(
        !file.exists(),
        "the restarted host erased the file at startup"
    );
    assert_eq!(queued_erasures(&host).await, 0);
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file already gone (the sweep crashed after deleting it, or an operator removed it)
/// counts as erased: its queue row goes, no endless retry. A file the store cannot delete
/// stays queued with its reason, and goes at the next sweep once it can.
#[tokio::test]
async fn a_missing_file_counts_as_erased_and_a_failing_one_is_retried() {
    let host = Host::with_config(small_blobs).await;
    let structure = host.structure("cpts-a", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let missing = upload(&mut a, "disparu.txt", "contenu").await;
    let stuck = upload(&mut a, "coince.txt", "contenu").await;
    delete_through_module(&mut a, &missing).await;
    delete_through_module(&mut a, &stuck).await;
    assert_eq!(queued_erasures(&host).await, 2);

    // Removed by hand before the sweep.
    let missing_file = local_object(&host, structure.id, &missing);
    std::fs::remove_file(&missing_file).unwrap();
    // A folder (not empty) where the file was: the store cannot delete it.
    let stuck_file = local_object(&host, structure.id, &stuck);
    std::fs::remove_file(&stuck_file).unwrap();
    std::fs::create_dir_all(stuck_file.join("dedans")).unwrap();

    assert_eq!(
        sweep(&host).await,
        SweepReport {
            erased: 1,
            failed: 1
        }
    );
    let left: Vec<(String, i64, Option<String>)> =
        sqlx::query_as("SELECT object_key, attempts, last_error FROM blob_erasures")
            .fetch_all(host.state.db.pool())
            .await
            .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    let (key, attempts, error) = &left[0];
    assert_eq!(key, &format!("{}/listener/{stuck}", structure.id));
    assert_eq!(*attempts, 1);
    assert!(error.as_deref().is_some_and(|e| !e.is_empty()), "{error:?}");

    std::fs::remove_dir_all(&stuck_file).unwrap();
    std::fs::write(&stuck_file, "contenu").unwrap();
    assert_eq!(
        sweep(&host).await,
        SweepReport {
            erased: 1,
            failed: 0
        }
    );
    assert!(!stuck_file.exists());
    assert_eq!(queued_erasures(&host).await, 0);
    assert_eq!(blob_rows(&host).await, 0);
}

#[tokio::test]
async fn a_deleted_file_leaves_the_s3_bucket() {
    let Some(endpoint) = s3_endpoint() else {
        panic!(
            "MAILLAGE_TEST_S3_ENDPOINT is not set: run the suite with scripts/test.sh, which starts moto"
        );
    };
    let bucket = format!("maillage-erase-{}{}", std::process::id(), rand_suffix());
    create_bucket(&endpoint, &bucket).await;
    let host = Host::with_config(|c| {
        small_blobs(c);
        c.s3_bucket = Some(bucket.clone());
        c.s3_endpoint = Some(endpoint.clone());
    })
    .await;
    let structure = host.structure("cpts-a", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let id = upload(&mut a, "dans-le-seau.txt", "contenu").await;
    let key = format!("{}/listener/{id}", structure.id);
    assert_eq!(s3_object_status(&endpoint, &bucket, &key).await, 200);

    delete_through_module(&mut a, &id).await;
    assert_eq!(queued_erasures(&host).await, 1);
    assert_eq!(
        s3_object_status(&endpoint, &bucket, &key).await,
        200,
        "the object stays until the sweep"
    );
    assert_eq!(
        sweep(&host).await,
        SweepReport {
            erased: 1,
            failed: 0
        }
    );
    assert_eq!(s3_object_status(&endpoint, &bucket, &key).await, 404);
    assert_eq!(queued_erasures(&host).await, 0);
    assert!(!host.dir.join("blobs").exists());
}
