//! Publishing a confirmed proposal: the file copied first, then one write transaction
//! (entry, version, tags, search row, the proposal deleted, the audit entry).

use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::propose::{ProposalRow, StoredFile, load};
use super::search::write_search_row;
use super::{FileInfo, LibraryError, head_folded, new_object_key};
use crate::audit::{AuditRecord, audit_in};
use crate::identity::secret_hash;
use crate::storage::blobs::BlobStore;
use crate::storage::collections::fold;
use crate::storage::{Backend, Db, PluginScope, StorageError, now_secs};

/// A published version: where its author goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub entry_id: i64,
    /// 1 for a new entry.
    pub version: u32,
    pub module_id: String,
    pub return_path: String,
}

impl Published {
    /// `/{structure}/{module}{return_path}?bibliotheque=publiee&entree={id}`.
    pub fn location(&self, structure_slug: &str) -> String {
        super::return_location(
            structure_slug,
            &self.module_id,
            &self.return_path,
            &format!("bibliotheque=publiee&entree={}", self.entry_id),
        )
    }
}

/// Why a confirmation did not publish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    /// No such proposal for this account in this structure, or already used (404).
    #[error("no such proposal")]
    NotFound,
    /// Past its hour (410).
    #[error("proposal expired")]
    Expired,
    /// The module's blob is gone or its content changed since the proposal (409).
    #[error("the proposed file changed or was deleted")]
    FileChanged,
    /// The entry of a new version was withdrawn or hidden since the proposal (409).
    #[error("the entry was withdrawn or hidden meanwhile")]
    EntryChanged,
    /// The database or the store failed (500); the reason is for the log.
    #[error("publication failed: {0}")]
    Unavailable(String),
}

impl ConfirmError {
    /// A French sentence for the page.
    pub fn french(&self) -> &'static str {
        match self {
            ConfirmError::NotFound => "Cette proposition n’existe pas ou a déjà été traitée.",
            ConfirmError::Expired => "Cette proposition a expiré. Recommencez depuis le document.",
            ConfirmError::FileChanged => {
                "Le fichier a été modifié ou supprimé depuis la proposition. Recommencez."
            }
            ConfirmError::EntryChanged => "Ce document a été retiré ou masqué entre-temps.",
            ConfirmError::Unavailable(_) => {
                "La publication a échoué. Réessayez dans quelques instants."
            }
        }
    }
}

impl From<LibraryError> for ConfirmError {
    fn from(e: LibraryError) -> Self {
        match e {
            LibraryError::NotFound => ConfirmError::NotFound,
            LibraryError::Withdrawn(_) | LibraryError::Hidden => ConfirmError::EntryChanged,
            other => ConfirmError::Unavailable(other.to_string()),
        }
    }
}

impl From<StorageError> for ConfirmError {
    fn from(e: StorageError) -> Self {
        ConfirmError::Unavailable(e.to_string())
    }
}

impl From<sqlx::Error> for ConfirmError {
    fn from(e: sqlx::Error) -> Self {
        ConfirmError::Unavailable(e.to_string())
    }
}

/// Publishes the proposal behind `token` as `account_id` in `structure_id` (the host's
/// confirmation page, once the viewer's right to publish and the checkbox were
/// checked). A file is copied first, outside any transaction (a large copy never holds
/// SQLite's writer); then one write transaction claims the proposal (deleting it),
/// inserts or updates the entry, inserts version n+1, replaces the tag rows and the
/// search row, and writes the audit entry `library.publish` or `library.version` in
/// the owner's journal. If anything fails after the copy, the copy is queued for
/// erasure. Concurrent confirmations of one token publish once (the others: `NotFound`).
pub async fn confirm(
    db: &Db,
    blobs: &BlobStore,
    structure_id: i64,
    account_id: i64,
    token: &str,
) -> Result<Published, ConfirmError> {
    let proposal = checked_proposal(db, structure_id, account_id, token).await?;
    let copied = match &proposal.stored.file {
        Some(file) => {
            let key = new_object_key(&proposal.module_id);
            let scope = PluginScope {
                structure_id,
                plugin_id: proposal.module_id.clone(),
            };
            if !blobs.copy_to_library(&scope, &file.blob_id, &key).await? {
                return Err(ConfirmError::FileChanged);
            }
            Some(key)
        }
        None => None,
    };
    let published = publish(db, &proposal, token, copied.as_deref()).await;
    if published.is_err()
        && let Some(key) = &copied
    {
        forget_copy(db, blobs, key).await;
    }
    published
}

/// The proposal, still pending, whose blob (for a file) is the one proposed and whose
/// entry (for a new version) is neither withdrawn nor hidden. Read on a pooled
/// connection released before the copy; the transaction checks again what can change.
async fn checked_proposal(
    db: &Db,
    structure_id: i64,
    account_id: i64,
    token: &str,
) -> Result<ProposalRow, ConfirmError> {
    let mut conn = db.pool().acquire().await?;
    let Some(proposal) = load(&mut conn, structure_id, account_id, token).await? else {
        return Err(ConfirmError::NotFound);
    };
    if proposal.expires_at <= now_secs() {
        return Err(ConfirmError::Expired);
    }
    if let Some(file) = &proposal.stored.file {
        let sha256: Option<String> = sqlx::query_scalar(
            "SELECT sha256 FROM blobs WHERE structure_id = $1 AND plugin_id = $2 AND id = $3",
        )
        .bind(structure_id)
        .bind(&proposal.module_id)
        .bind(&file.blob_id)
        .fetch_optional(&mut *conn)
        .await?;
        if sha256.as_deref() != Some(file.sha256.as_str()) {
            return Err(ConfirmError::FileChanged);
        }
    }
    if let Some(entry_id) = proposal.new_version_of {
        entry_for_version(&mut conn, &proposal, entry_id, false).await?;
    }
    Ok(proposal)
}

/// The entry a new version goes to: its current version and title. Locked for the
/// transaction with `lock` (PostgreSQL `FOR NO KEY UPDATE`; SQLite's write transaction
/// already holds the database's write lock).
async fn entry_for_version(
    conn: &mut AnyConnection,
    proposal: &ProposalRow,
    entry_id: i64,
    lock: bool,
) -> Result<(i64, String), ConfirmError> {
    let lock = if lock && super::backend_of(conn) == Backend::Postgres {
        " FOR NO KEY UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT current_version, title, withdrawn_at, hidden_at FROM library_entries
         WHERE id = $1 AND module_id = $2 AND owner_structure_id = $3{lock}"
    ))
    .bind(entry_id)
    .bind(&proposal.module_id)
    .bind(proposal.structure_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(ConfirmError::EntryChanged);
    };
    let withdrawn: Option<i64> = row.try_get("withdrawn_at")?;
    let hidden: Option<i64> = row.try_get("hidden_at")?;
    if withdrawn.is_some() || hidden.is_some() {
        return Err(ConfirmError::EntryChanged);
    }
    Ok((row.try_get("current_version")?, row.try_get("title")?))
}

/// The write transaction of [`confirm`].
async fn publish(
    db: &Db,
    proposal: &ProposalRow,
    token: &str,
    object_key: Option<&str>,
) -> Result<Published, ConfirmError> {
    let mut tx = db.begin_write().await?;
    // Claimed by deleting it: a second confirmation, even concurrent, finds nothing.
    let claimed: Option<i64> = sqlx::query_scalar(
        "DELETE FROM library_proposals
         WHERE token_hash = $1 AND structure_id = $2 AND account_id = $3
         RETURNING expires_at",
    )
    .bind(secret_hash(token))
    .bind(proposal.structure_id)
    .bind(proposal.account_id)
    .fetch_optional(&mut *tx)
    .await?;
    match claimed {
        None => return Err(ConfirmError::NotFound),
        Some(expires_at) if expires_at <= now_secs() => return Err(ConfirmError::Expired),
        Some(_) => {}
    }
    let now = now_secs();
    let stored = &proposal.stored;
    let head = head_folded(&stored.title, &stored.tags);
    let tags_json = serde_json::to_string(&stored.tags)
        .map_err(|e| ConfirmError::Unavailable(e.to_string()))?;
    let info = stored.file.as_ref().map(StoredFile::info);
    let version = VersionRow {
        title: &stored.title,
        description: &stored.description,
        tags: &stored.tags,
        tags_json: &tags_json,
        head: &head,
        licence: &stored.licence,
        note: &stored.note,
        markdown: stored.markdown.as_deref(),
        file: info.as_ref(),
        object_key,
        published_at: now,
        published_by: proposal.account_id,
    };
    let (entry_id, number, before) = match proposal.new_version_of {
        Some(entry_id) => {
            let (current, old_title) = entry_for_version(&mut tx, proposal, entry_id, true).await?;
            let number = current + 1;
            sqlx::query(
                "UPDATE library_entries SET current_version = $1, title = $2, description = $3,
                     tags = $4, licence = $5, kind = $6, head_folded = $7, updated_at = $8,
                     source_ref = $9
                 WHERE id = $10",
            )
            .bind(number)
            .bind(version.title)
            .bind(version.description)
            .bind(version.tags_json)
            .bind(version.licence)
            .bind(version.kind())
            .bind(version.head)
            .bind(now)
            .bind(&stored.source_ref)
            .bind(entry_id)
            .execute(&mut *tx)
            .await?;
            let before = json!({"version": current, "title": old_title});
            (entry_id, number, Some(before))
        }
        None => {
            let entry_id = insert_entry(
                &mut tx,
                &proposal.module_id,
                proposal.structure_id,
                &stored.source_ref,
                &version,
            )
            .await?;
            (entry_id, 1, None)
        }
    };
    write_version(
        &mut tx,
        &proposal.module_id,
        entry_id,
        number,
        &version,
        before.is_some(),
    )
    .await?;
    audit_publication(&mut tx, proposal, entry_id, number, before).await?;
    tx.commit().await?;
    Ok(Published {
        entry_id,
        version: u32::try_from(number).unwrap_or(u32::MAX),
        module_id: proposal.module_id.clone(),
        return_path: stored.return_path.clone(),
    })
}

/// A version as every publication writes it (a confirmed proposal, or the benchmark's
/// seeding, `super::seed`): its fields, its content, who published it and when.
pub(super) struct VersionRow<'a> {
    pub(super) title: &'a str,
    pub(super) description: &'a str,
    /// As given (cleaned by `propose`); folded into the tag rows.
    pub(super) tags: &'a [String],
    /// `tags` as the JSON array the entry and the version store.
    pub(super) tags_json: &'a str,
    /// [`head_folded`] of the title and the tags.
    pub(super) head: &'a str,
    /// As stored ([`super::Licence::as_str`]).
    pub(super) licence: &'a str,
    pub(super) note: &'a str,
    /// The Markdown text; none for a file.
    pub(super) markdown: Option<&'a str>,
    /// The file; none for a Markdown text.
    pub(super) file: Option<&'a FileInfo>,
    /// The host's copy of the file (`library/{module}/…`).
    pub(super) object_key: Option<&'a str>,
    /// Unix seconds.
    pub(super) published_at: i64,
    pub(super) published_by: i64,
}

impl VersionRow<'_> {
    /// As stored: "file" or "markdown".
    pub(super) fn kind(&self) -> &'static str {
        if self.file.is_some() {
            "file"
        } else {
            "markdown"
        }
    }
}

/// Inserts a new entry of `module_id` owned by `owner_structure_id`, its current
/// version 1 described by `version` (whose row [`write_version`] writes next).
pub(super) async fn insert_entry(
    conn: &mut AnyConnection,
    module_id: &str,
    owner_structure_id: i64,
    source_ref: &str,
    version: &VersionRow<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO library_entries (module_id, owner_structure_id, source_ref,
             current_version, title, description, tags, licence, kind, head_folded,
             first_published_at, updated_at)
         VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $10)
         RETURNING id",
    )
    .bind(module_id)
    .bind(owner_structure_id)
    .bind(source_ref)
    .bind(version.title)
    .bind(version.description)
    .bind(version.tags_json)
    .bind(version.licence)
    .bind(version.kind())
    .bind(version.head)
    .bind(version.published_at)
    .fetch_one(&mut *conn)
    .await
}

/// Writes version `number` of entry `entry_id` (the entry already says it is current):
/// its row, the entry's tag rows and its search row (the Markdown folded), replacing
/// the previous version's search row when `replacing`.
pub(super) async fn write_version(
    conn: &mut AnyConnection,
    module_id: &str,
    entry_id: i64,
    number: i64,
    version: &VersionRow<'_>,
    replacing: bool,
) -> Result<(), sqlx::Error> {
    let file = version.file;
    sqlx::query(
        "INSERT INTO library_versions (entry_id, number, title, description, tags, licence,
             note, kind, body, file_name, content_type, size, sha256, object_key,
             published_at, published_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(entry_id)
    .bind(number)
    .bind(version.title)
    .bind(version.description)
    .bind(version.tags_json)
    .bind(version.licence)
    .bind(version.note)
    .bind(version.kind())
    .bind(version.markdown)
    .bind(file.map(|f| f.name.as_str()))
    .bind(file.map(|f| f.content_type.as_str()))
    .bind(file.map(|f| f.size as i64))
    .bind(file.map(|f| f.sha256.as_str()))
    .bind(version.object_key)
    .bind(version.published_at)
    .bind(version.published_by)
    .execute(&mut *conn)
    .await?;
    replace_tags(conn, module_id, entry_id, version.tags).await?;
    let body = version.markdown.map(fold).unwrap_or_default();
    write_search_row(conn, entry_id, version.head.trim(), &body, replacing).await
}

/// The entry's tag rows become the version's tags (folded, with their label).
async fn replace_tags(
    conn: &mut AnyConnection,
    module_id: &str,
    entry_id: i64,
    tags: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM library_entry_tags WHERE entry_id = $1")
        .bind(entry_id)
        .execute(&mut *conn)
        .await?;
    for label in tags {
        sqlx::query(
            "INSERT INTO library_entry_tags (module_id, tag, entry_id, label)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(module_id)
        .bind(fold(label))
        .bind(entry_id)
        .bind(label)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// `library.publish` (a new entry) or `library.version`, in the owner's journal, as the
/// confirming account.
async fn audit_publication(
    conn: &mut AnyConnection,
    proposal: &ProposalRow,
    entry_id: i64,
    number: i64,
    before: Option<serde_json::Value>,
) -> Result<(), ConfirmError> {
    let stored = &proposal.stored;
    let actor = crate::identity::account_in(conn, proposal.account_id).await?;
    let mut after = json!({
        "version": number,
        "title": stored.title,
        "licence": stored.licence,
        "source_ref": stored.source_ref,
    });
    match (&stored.file, &stored.markdown) {
        (Some(file), _) => {
            after["kind"] = json!("file");
            after["file_name"] = json!(file.name);
            after["size"] = json!(file.size);
            after["sha256"] = json!(file.sha256);
        }
        (None, text) => {
            after["kind"] = json!("markdown");
            after["chars"] = json!(text.as_deref().map_or(0, |t| t.chars().count()));
        }
    }
    let action = if before.is_some() {
        "library.version"
    } else {
        "library.publish"
    };
    let target = format!("{}/{entry_id} « {} »", proposal.module_id, stored.title);
    let record = AuditRecord {
        actor: actor.as_ref(),
        structure_id: Some(proposal.structure_id),
        action,
        target: &target,
        before,
        after: Some(after),
    };
    audit_in(conn, record).await?;
    Ok(())
}

/// Queues the copy of a publication that failed, in a transaction of its own.
async fn forget_copy(db: &Db, blobs: &BlobStore, key: &str) {
    if let Err(e) = queue_copy(db, blobs, key).await {
        // The object stays an orphan: nothing references it.
        tracing::error!(
            key,
            error = %e,
            "library: the copy of a failed publication was not queued for erasure"
        );
    }
}

async fn queue_copy(db: &Db, blobs: &BlobStore, key: &str) -> crate::storage::Result<()> {
    let mut conn = db.pool().acquire().await?;
    blobs.queue_library_erasure(&mut conn, key).await
}
