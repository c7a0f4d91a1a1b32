//! Blobs: file contents in an object store (a local folder by default, an S3-compatible
//! bucket by configuration), metadata in the `blobs` table scoped per (structure,
//! plugin). Objects are keyed `{structure}/{plugin}/{id}`; a plugin never names a key.
//!
//! Deleting a blob deletes its row and queues its object key in `blob_erasures`, both in
//! the caller's transaction; `sweep_erasures` (at startup and periodically while the
//! server serves) then deletes the objects from the store. Platform objects
//! (`platform/…`, plugin packages) are never queued.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::Digest;
use sqlx::{AnyConnection, Row};

use super::{Db, PluginScope, Result, StorageError, now_secs};

/// What one erasure sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Objects deleted from the store, or found already gone; their queue rows are removed.
    pub erased: u64,
    /// Objects the store failed to delete: kept queued (attempts + 1, the error recorded).
    pub failed: u64,
}

/// Longest `last_error` kept for a failed erasure, in characters.
const MAX_ERROR_CHARS: usize = 1000;
/// Part uploads of one streamed blob in flight at once (`put_stream`'s back-pressure).
const MAX_PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub created_at: i64,
}

/// Where blob contents live.
#[derive(Debug, Clone)]
pub enum BlobBackend {
    Local(std::path::PathBuf),
    S3 {
        bucket: String,
        endpoint: Option<String>,
        region: String,
    },
}

#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Largest content accepted, in bytes.
    pub limit: u64,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.store)
    }
}

fn object_error(e: object_store::Error) -> StorageError {
    StorageError::Blob(e.to_string())
}

/// `type/subtype`, optionally followed by parameters (`; charset=utf-8`).
fn valid_content_type(ct: &str) -> bool {
    let (essence, params) = ct.split_once(';').unwrap_or((ct, ""));
    if ct.len() > 200 || !params.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return false;
    }
    let mut parts = essence.trim().splitn(2, '/');
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!((parts.next(), parts.next()), (Some(a), Some(b)) if ok(a) && ok(b))
}

/// Bytes of an upload read before its content type is decided ([`upload_content_type`]).
pub const SNIFF_BYTES: usize = 512;

const OCTET_STREAM: &str = "application/octet-stream";

/// The content type stored for a file sent to the host's upload route
/// (`POST /{structure}/fichiers/{module}`), from its first bytes (`head`, up to
/// [`SNIFF_BYTES`]) and the type the client declared — never the client's word for a
/// type a browser renders (issue 20: « content type sniffed from the bytes, never trusted
/// from the client »):
///
/// - PDF (`%PDF-`), PNG, JPEG, GIF and WebP by their signatures, whatever was declared.
///   These signatures mirror `files::sniff` of the documents module
///   (plugins/cloud/src/files.rs), which the host cannot call: keep both in step.
/// - Otherwise the declared type, when it is well formed and not one browsers render or
///   run in the page's origin (`renders_in_browser`: images, text, PDF, HTML, SVG, XML,
///   JavaScript, multipart and message bodies) — an Office file keeps its type, a zip its
///   own.
/// - Anything else `application/octet-stream`, which the download route always serves as
///   an attachment.
pub fn upload_content_type(head: &[u8], declared: &str) -> String {
    if head.starts_with(b"%PDF-") {
        return "application/pdf".into();
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return "image/png".into();
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return "image/jpeg".into();
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return "image/gif".into();
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return "image/webp".into();
    }
    let declared = declared.trim();
    if declared.is_empty() || !valid_content_type(declared) || renders_in_browser(declared) {
        return OCTET_STREAM.into();
    }
    declared.to_string()
}

/// Whether a browser may render a content type inline, or run it, in the page's origin:
/// what an upload must not be stored as on the client's word alone.
fn renders_in_browser(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("image/")
        || essence.starts_with("text/")
        || essence.starts_with("multipart/")
        || essence.starts_with("message/")
        || essence == "application/pdf"
        // XML documents (`application/xml`, `…+xml`), not every type whose name holds
        // the letters (the office formats' `vnd.openxmlformats-…` are zip archives).
        || essence.split('/').nth(1).is_some_and(|subtype| subtype == "xml" || subtype.ends_with("+xml"))
        || ["html", "svg", "javascript", "ecmascript"]
            .iter()
            .any(|word| essence.contains(word))
}

impl BlobStore {
    pub fn open(backend: &BlobBackend, limit: u64) -> Result<BlobStore> {
        let store: Arc<dyn ObjectStore> = match backend {
            BlobBackend::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StorageError::Invalid(format!("cannot create {}: {e}", dir.display()))
                })?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(object_error)?,
                )
            }
            BlobBackend::S3 {
                bucket,
                endpoint,
                region,
            } => {
                // Credentials from the usual AWS_* variables.
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(region);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                Arc::new(builder.build().map_err(object_error)?)
            }
        };
        Ok(BlobStore { store, limit })
    }

    /// Stores a platform object (a plugin package) under `platform/{name}`; no metadata.
    pub async fn put_platform(&self, name: &str, content: Bytes) -> Result<()> {
        self.store
            .put(
                &ObjectPath::from(format!("platform/{name}")),
                PutPayload::from_bytes(content),
            )
            .await
            .map_err(object_error)?;
        Ok(())
    }

    /// A platform object, or none.
    pub async fn get_platform(&self, name: &str) -> Result<Option<Bytes>> {
        match self
            .store
            .get(&ObjectPath::from(format!("platform/{name}")))
            .await
        {
            Ok(result) => Ok(Some(result.bytes().await.map_err(object_error)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object_error(e)),
        }
    }

    /// The object key of a plugin's blob, as text (what `blob_erasures` stores).
    fn key_text(scope: &PluginScope, id: &str) -> String {
        format!("{}/{}/{}", scope.structure_id, scope.plugin_id, id)
    }

    fn key(scope: &PluginScope, id: &str) -> ObjectPath {
        ObjectPath::from(Self::key_text(scope, id))
    }

    fn check(&self, name: &str, content_type: &str, size: u64) -> Result<()> {
        if name.trim().is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
            return Err(StorageError::Invalid(
                "file name must be 1..=255 printable bytes".into(),
            ));
        }
        if !valid_content_type(content_type) {
            return Err(StorageError::Invalid(format!(
                "invalid content type {content_type:?}"
            )));
        }
        if size > self.limit {
            return Err(StorageError::TooLarge(self.limit));
        }
        Ok(())
    }

    /// Stores `content` and records it in `conn` (the caller's transaction): if that
    /// transaction rolls back, the object stays unreferenced and invisible.
    pub async fn put(
        &self,
        conn: &mut AnyConnection,
        scope: &PluginScope,
        name: &str,
        content_type: &str,
        content: Bytes,
    ) -> Result<BlobInfo> {
        self.check(name, content_type, content.len() as u64)?;
        let id = new_blob_id();
        let sha256 = hex(&sha2::Sha256::digest(&content));
        let size = content.len() as u64;
        self.store
            .put(&Self::key(scope, &id), PutPayload::from_bytes(content))
            .await
            .map_err(object_error)?;
        self.record(conn, scope, id, name, content_type, size, sha256)
            .await
    }

    /// Streams `chunks` into the store, stopping at the size limit (the partial upload
    /// is aborted), then records the blob.
    pub async fn put_stream<S, E>(
        &self,
        conn: &mut AnyConnection,
        scope: &PluginScope,
        name: &str,
        content_type: &str,
        chunks: S,
    ) -> Result<BlobInfo>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.check(name, content_type, 0)?;
        let id = new_blob_id();
        let key = Self::key(scope, &id);
        let upload = self.store.put_multipart(&key).await.map_err(object_error)?;
        let (size, sha256) = write_stream(upload, chunks, self.limit).await?;
        self.record(conn, scope, id, name, content_type, size, sha256)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        conn: &mut AnyConnection,
        scope: &PluginScope,
        id: String,
        name: &str,
        content_type: &str,
        size: u64,
        sha256: String,
    ) -> Result<BlobInfo> {
        let created_at = now_secs();
        sqlx::query(
            "INSERT INTO blobs (structure_id, plugin_id, id, name, content_type, size, sha256, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(scope.structure_id)
        .bind(&scope.plugin_id)
        .bind(&id)
        .bind(name)
        .bind(content_type)
        .bind(size as i64)
        .bind(&sha256)
        .bind(created_at)
        .execute(conn)
        .await?;
        Ok(BlobInfo {
            id,
            name: name.to_string(),
            content_type: content_type.to_string(),
            size,
            sha256,
            created_at,
        })
    }

    pub async fn info(
        &self,
        conn: &mut AnyConnection,
        scope: &PluginScope,
        id: &str,
    ) -> Result<Option<BlobInfo>> {
        let row = sqlx::query(
            "SELECT id, name, content_type, size, sha256, created_at FROM blobs
             WHERE structure_id = $1 AND plugin_id = $2 AND id = $3",
        )
        .bind(scope.structure_id)
        .bind(&scope.plugin_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| BlobInfo {
            id: r.get(0),
            name: r.get(1),
            content_type: r.get(2),
            size: r.get::<i64, _>(3) as u64,
            sha256: r.get(4),
            created_at: r.get(5),
        }))
    }

    pub async fn get(
        &self,
        conn: &mut AnyConnection,
        scope: &PluginScope,
        id: &str,
    ) -> Result<Option<Bytes>> {
        if self.info(conn, scope, id).await?.is_none() {
            return Ok(None);
        }
        let result = self
            .store
            .get(&Self::key(scope, id))
            .await
            .map_err(object_error)?;
        Ok(Some(result.bytes().await.map_err(object_error)?))
    }

    /// The content as a stream of chunks, for HTTP downloads.
    pub async fn stream(
        &self,
        conn: &mut AnyConnection,
        scope: &PluginScope,
        id: &str,
    ) -> Result<
        Option<(
            BlobInfo,
            impl Stream<Item = std::result::Result<Bytes, object_store::Error>> + use<>,
        )>,
    > {
        let Some(info) = self.info(conn, scope, id).await? else {
            return Ok(None);
        };
        let result = self
            .store
            .get(&Self::key(scope, id))
            .await
            .map_err(object_error)?;
        Ok(Some((info, result.into_stream())))
    }

    /// Forgets the blob in `conn`'s transaction and, in that same transaction, queues its
    /// object in `blob_erasures`. The object itself is deleted by the next
    /// [`BlobStore::sweep_erasures`], after the commit: deleting it now would lose it if
    /// the transaction rolls back, and a rolled-back call queues nothing. A committed
    /// delete always leaves its erasure queued, so a crash before the sweep only delays it.
    pub async fn delete(
        &self,
        conn: &mut AnyConnection,
        scope: &PluginScope,
        id: &str,
    ) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM blobs WHERE structure_id = $1 AND plugin_id = $2 AND id = $3")
                .bind(scope.structure_id)
                .bind(&scope.plugin_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Only the key of the row just deleted: a plugin cannot queue any other object.
        sqlx::query(
            "INSERT INTO blob_erasures (object_key, queued_at) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(Self::key_text(scope, id))
        .bind(now_secs())
        .execute(conn)
        .await?;
        Ok(true)
    }

    /// Erases up to `limit` queued objects from the store, on `db`'s pool (outside any
    /// plugin call). Least-tried first, then oldest: objects that keep failing do not hold
    /// back newer ones. Each object is deleted, then its queue row; an object already gone
    /// counts as erased (a crash between the two, or a file removed by hand). Any other
    /// store error keeps the row, with `attempts` incremented and the error recorded, and
    /// the sweep goes on with the next key. A database error stops the sweep.
    pub async fn sweep_erasures(&self, db: &Db, limit: u32) -> Result<SweepReport> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT object_key FROM blob_erasures
             ORDER BY attempts, queued_at, object_key LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(db.pool())
        .await?;
        let mut report = SweepReport::default();
        for key in keys {
            let outcome = if key.starts_with("platform/") {
                // Never queued by `delete`; refused all the same.
                Err("platform objects are never erased by the blob sweep".to_string())
            } else {
                match self.store.delete(&ObjectPath::from(key.as_str())).await {
                    Ok(()) => Ok(()),
                    Err(object_store::Error::NotFound { .. }) => {
                        tracing::debug!(key = %key, "blob object already gone; erasure done");
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            };
            match outcome {
                Ok(()) => {
                    sqlx::query("DELETE FROM blob_erasures WHERE object_key = $1")
                        .bind(&key)
                        .execute(db.pool())
                        .await?;
                    report.erased += 1;
                }
                Err(error) => {
                    tracing::warn!(
                        key = %key,
                        %error,
                        "blob object not erased; kept queued for the next sweep"
                    );
                    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
                    sqlx::query(
                        "UPDATE blob_erasures SET attempts = attempts + 1, last_error = $1
                         WHERE object_key = $2",
                    )
                    .bind(error)
                    .bind(&key)
                    .execute(db.pool())
                    .await?;
                    report.failed += 1;
                }
            }
        }
        if report.erased > 0 || report.failed > 0 {
            tracing::info!(
                erased = report.erased,
                failed = report.failed,
                "blob erasure sweep"
            );
        }
        Ok(report)
    }
}

/// Streams `chunks` into a multipart upload with back-pressure, stopping at `limit`
/// bytes (the partial upload is aborted); the size and hex SHA-256 written.
///
/// `WriteMultipart::write` starts a part upload every chunk size (5 MiB) whatever is
/// in flight, so a store slower than the client would make the whole upload resident:
/// waiting for capacity first keeps at most [`MAX_PARTS_IN_FLIGHT`] parts in flight,
/// about three chunk sizes of memory per upload.
async fn write_stream<S, E>(
    upload: Box<dyn object_store::MultipartUpload>,
    mut chunks: S,
    limit: u64,
) -> Result<(u64, String)>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut writer = object_store::WriteMultipart::new(upload);
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(StorageError::Invalid(format!("upload interrupted: {e}")));
            }
        };
        size += chunk.len() as u64;
        if size > limit {
            let _ = writer.abort().await;
            return Err(StorageError::TooLarge(limit));
        }
        hasher.update(&chunk);
        if let Err(e) = writer.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await {
            let _ = writer.abort().await;
            return Err(object_error(e));
        }
        writer.write(&chunk);
    }
    writer.finish().await.map_err(object_error)?;
    Ok((size, hex(&hasher.finalize())))
}

/// Prefix of the national library's objects (`crate::library`): `library/{module}/{random}`.
/// Never a plugin's key (those begin with a structure id), and no `blobs` row names one:
/// `library_versions.object_key` does.
pub const LIBRARY_PREFIX: &str = "library/";

fn check_library_key(key: &str) -> Result<()> {
    let ok = key.strip_prefix(LIBRARY_PREFIX).is_some_and(|rest| {
        !rest.is_empty() && !rest.split('/').any(|p| p.is_empty() || p == "..")
    });
    if ok {
        Ok(())
    } else {
        Err(StorageError::Invalid(format!(
            "not a library object key: {key:?}"
        )))
    }
}

/// The national library's copies of published files.
impl BlobStore {
    /// Copies the object of a plugin's blob to the library key `to`, inside the store
    /// (S3 copies on the server side, the local folder makes a hard link): no byte passes
    /// through the host. False when the blob's object is gone. Later changes to the blob
    /// (a delete, the sweep) leave the copy as it is.
    pub async fn copy_to_library(&self, scope: &PluginScope, id: &str, to: &str) -> Result<bool> {
        check_library_key(to)?;
        match self
            .store
            .copy(&Self::key(scope, id), &ObjectPath::from(to))
            .await
        {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(object_error(e)),
        }
    }

    /// A library object's content in memory, or none (tests, small files).
    pub async fn library_object(&self, key: &str) -> Result<Option<Bytes>> {
        check_library_key(key)?;
        match self.store.get(&ObjectPath::from(key)).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(object_error)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object_error(e)),
        }
    }

    /// A library object as a stream of chunks, for downloads; none if it is gone.
    pub async fn library_stream(
        &self,
        key: &str,
    ) -> Result<Option<impl Stream<Item = std::result::Result<Bytes, object_store::Error>> + use<>>>
    {
        check_library_key(key)?;
        match self.store.get(&ObjectPath::from(key)).await {
            Ok(result) => Ok(Some(result.into_stream())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object_error(e)),
        }
    }

    /// Queues a library object in `blob_erasures` on `conn` (its own transaction for a
    /// copy whose publication failed; a purge's transaction), for the sweep to erase.
    pub async fn queue_library_erasure(&self, conn: &mut AnyConnection, key: &str) -> Result<()> {
        check_library_key(key)?;
        sqlx::query(
            "INSERT INTO blob_erasures (object_key, queued_at) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(key)
        .bind(now_secs())
        .execute(conn)
        .await?;
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_blob_id() -> String {
    let mut random = [0u8; 12];
    let _ = getrandom::getrandom(&mut random);
    hex(&random)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use object_store::{MultipartUpload, PutResult, UploadPart};

    use super::*;

    /// A store slower than its client: each part takes 20 ms; counts the parts in
    /// flight at once.
    #[derive(Debug, Default)]
    struct SlowParts {
        in_flight: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
        parts: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl MultipartUpload for SlowParts {
        fn put_part(&mut self, _data: PutPayload) -> UploadPart {
            let in_flight = self.in_flight.clone();
            let most = self.most.clone();
            self.parts.fetch_add(1, Ordering::SeqCst);
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
        }
        async fn complete(&mut self) -> object_store::Result<PutResult> {
            Ok(PutResult {
                e_tag: None,
                version: None,
            })
        }
        async fn abort(&mut self) -> object_store::Result<()> {
            Ok(())
        }
    }

    /// 64 MiB sent in 64 KiB chunks as fast as memory allows: without waiting for
    /// capacity, every 5 MiB part would start at once (13 in flight, the whole upload
    /// resident); with it, never more than two.
    #[tokio::test]
    async fn a_slow_store_holds_back_a_fast_upload() {
        let store = SlowParts::default();
        let (most, parts) = (store.most.clone(), store.parts.clone());
        let chunk = Bytes::from(vec![7u8; 64 * 1024]);
        let chunks = futures_util::stream::iter(
            (0..1024).map(|_| Ok::<_, std::convert::Infallible>(chunk.clone())),
        );
        let (size, sha256) = write_stream(Box::new(store), chunks, u64::MAX)
            .await
            .unwrap();
        assert_eq!(size, 64 * 1024 * 1024);
        assert_eq!(sha256.len(), 64);
        assert!(
            parts.load(Ordering::SeqCst) >= 12,
            "the upload went in parts"
        );
        let most = most.load(Ordering::SeqCst);
        assert!(
            most <= MAX_PARTS_IN_FLIGHT,
            "{most} parts in flight at once"
        );
    }

    /// The stored type of an upload: signatures first, then the declared type only when
    /// browsers would not render it.
    #[test]
    fn upload_types_come_from_the_bytes() {
        let t = upload_content_type;
        assert_eq!(t(b"%PDF-1.7\n...", "text/html"), "application/pdf");
        assert_eq!(t(b"\x89PNG\r\n\x1a\n\0\0", "text/plain"), "image/png");
        assert_eq!(t(&[0xFF, 0xD8, 0xFF, 0xE0], ""), "image/jpeg");
        assert_eq!(t(b"GIF89a...", "application/zip"), "image/gif");
        assert_eq!(t(b"RIFF\0\0\0\0WEBPVP8 ", "image/png"), "image/webp");
        // A truncated WebP header is not one.
        assert_eq!(
            t(b"RIFF\0\0\0\0WE", "image/webp"),
            "application/octet-stream"
        );
        for declared in [
            "image/png",
            "image/svg+xml",
            "text/html",
            "text/plain; charset=utf-8",
            "TEXT/HTML",
            "application/pdf",
            "application/xhtml+xml",
            "application/xml",
            "application/javascript",
            "multipart/related",
            "message/rfc822",
            "",
            "pas un type",
        ] {
            assert_eq!(
                t(b"<html><script>alert(1)</script>", declared),
                "application/octet-stream",
                "{declared}"
            );
        }
        assert_eq!(t(b"PK\x03\x04rest", "application/zip"), "application/zip");
        assert_eq!(
            t(
                b"PK\x03\x04rest",
                " application/vnd.openxmlformats-officedocument.wordprocessingml.document "
            ),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(t(b"", "application/zip"), "application/zip");
    }

    /// Over the limit: an error, the upload aborted.
    #[tokio::test]
    async fn over_the_limit_is_refused() {
        let chunk = Bytes::from(vec![1u8; 1024]);
        let chunks = futures_util::stream::iter(
            (0..10).map(|_| Ok::<_, std::convert::Infallible>(chunk.clone())),
        );
        let refused = write_stream(Box::new(SlowParts::default()), chunks, 4096).await;
        assert!(matches!(refused, Err(StorageError::TooLarge(4096))));
    }
}
